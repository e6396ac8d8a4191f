// Writing topologies: what the writer produces loads back to an equal model.
#include <catch2/catch.hpp>
#include <random>
#include <sstream>
#include <string>

#include "achilles/analyzer/loader.h"
#include "achilles/analyzer/writer.h"

namespace achilles::analyzer::testing {
// In loader_test.cc: every field of a model except positions.
std::string model_dump(const Topology& t);
}  // namespace achilles::analyzer::testing

namespace {

using namespace achilles::analyzer;
using achilles::analyzer::testing::model_dump;

std::string write(const Topology& t, Syntax syntax) {
  std::ostringstream out;
  write_topology(t, syntax, out);
  return out.str();
}

Topology round_trip(const Topology& t, Syntax syntax) {
  return load_topology_text(write(t, syntax), syntax,
                            syntax == Syntax::kJson ? "w.json" : "w.yaml");
}

// "c3": built by appending (GCC 12 warns falsely about "c" + std::to_string(i)).
std::string name(char prefix, size_t i) {
  std::string s(1, prefix);
  s += std::to_string(i);
  return s;
}

Element element(std::string id, ElementKind kind, std::string type) {
  Element e;
  e.id = std::move(id);
  e.kind = kind;
  e.type = std::move(type);
  return e;
}

}  // namespace

TEST_CASE("The shop example written as JSON and as YAML loads back equal", "[writer]") {
  Topology shop = load_topology(std::string(ACHILLES_TEST_DATA) + "/shop.yaml");
  for (Syntax syntax : {Syntax::kJson, Syntax::kYaml}) {
    Topology back = round_trip(shop, syntax);
    REQUIRE(model_dump(back) == model_dump(shop));
  }
}

TEST_CASE("The JSON writer puts one element on a line", "[writer]") {
  Topology t;
  t.name = "tiny";
  t.add(element("r", ElementKind::kDomain, "rack"));
  auto c = element("c", ElementKind::kComponent, "component");
  c.domain = 0;
  c.capacity = 100;
  t.add(c);
  auto s = element("s", ElementKind::kService, "service");
  s.members = {1};
  s.depends_on = {{1, DepMode::kSoft, 0.5, {}}};
  t.add(s);
  auto e = element("www", ElementKind::kEntrypoint, "");
  e.target = 2;
  e.load = 10;
  t.add(e);
  REQUIRE(write(t, Syntax::kJson) ==
          "{\"version\": 1,\n"
          "\"name\": \"tiny\",\n"
          "\"domains\": [\n"
          "  {\"id\": \"r\", \"kind\": \"rack\"}\n],\n"
          "\"components\": [\n"
          "  {\"id\": \"c\", \"domain\": \"r\", \"capacity\": 100}\n],\n"
          "\"services\": [\n"
          "  {\"id\": \"s\", \"members\": [\"c\"], \"depends_on\": [{\"id\": \"c\", \"mode\": "
          "\"soft\", \"calls\": 0.5}]}\n],\n"
          "\"entrypoints\": [\n"
          "  {\"id\": \"www\", \"target\": \"s\", \"load\": 10}\n]}\n");
  REQUIRE(write(t, Syntax::kYaml) ==
          "version: 1\n"
          "name: \"tiny\"\n"
          "domains:\n"
          "  - {id: \"r\", kind: \"rack\"}\n"
          "components:\n"
          "  - {id: \"c\", domain: \"r\", capacity: 100}\n"
          "services:\n"
          "  - {id: \"s\", members: [\"c\"], depends_on: [{id: \"c\", mode: \"soft\", calls: "
          "0.5}]}\n"
          "entrypoints:\n"
          "  - {id: \"www\", target: \"s\", load: 10}\n");
}

TEST_CASE("Strings that need escaping survive a round trip in both syntaxes", "[writer]") {
  Topology t;
  t.name = "quote \" backslash \\ newline \n tab \t bell \x07 del \x7f colon: # hash \xc3\xa9";
  auto c = element("c", ElementKind::kComponent, "- not a list: [x] {y} 'z' & *a !b %c @d");
  c.labels = {
      {"key with spaces: and \"quotes\"", "null"}, {"true", "123"}, {"empty", ""}, {"~", "0x10"}};
  c.inject_target = {{"agent", "10.0.0.5:8474"}, {"cmdline", "a\\b\r\n"}};
  t.add(c);
  for (Syntax syntax : {Syntax::kJson, Syntax::kYaml}) {
    Topology back = round_trip(t, syntax);
    REQUIRE(back.name == t.name);
    REQUIRE(back[0].type == t[0].type);
    REQUIRE(back[0].labels == t[0].labels);
    REQUIRE(back[0].inject_target == t[0].inject_target);
  }
}

TEST_CASE("Numbers are written exactly and read back to the same double", "[writer]") {
  Topology t;
  const double values[] = {0.1, 1.0 / 3, 0.99995, 1e-7, 5000, 1e21, 123456789.125, 2.5e-300};
  for (size_t i = 0; i < std::size(values); ++i) {
    auto c = element(name('c', i), ElementKind::kComponent, "component");
    c.capacity = values[i];
    c.availability = values[i] <= 1 ? std::optional<double>(values[i]) : std::nullopt;
    t.add(c);
  }
  for (Syntax syntax : {Syntax::kJson, Syntax::kYaml}) {
    Topology back = round_trip(t, syntax);
    for (size_t i = 0; i < std::size(values); ++i) {
      REQUIRE(back[static_cast<ElementId>(i)].capacity == values[i]);
      REQUIRE(back[static_cast<ElementId>(i)].availability ==
              t[static_cast<ElementId>(i)].availability);
    }
  }
}

TEST_CASE("Random topologies round-trip through both syntaxes", "[writer]") {
  std::mt19937 rng(42);
  for (int round = 0; round < 30; ++round) {
    Topology t;
    t.name = "random-" + std::to_string(round);
    auto pick = [&](size_t n) { return static_cast<ElementId>(rng() % n); };
    size_t domains = 1 + rng() % 4, components = 1 + rng() % 8, services = rng() % 4;
    for (size_t i = 0; i < domains; ++i) {
      auto d = element(name('d', i), ElementKind::kDomain, i % 2 ? "zone" : "domain");
      if (i > 0 && rng() % 2) d.parent = pick(i);  // parents come first: no cycles
      if (rng() % 2) d.availability = 0.9 + 0.001 * (rng() % 100);
      t.add(d);
    }
    ElementId first_component = static_cast<ElementId>(t.size());
    for (size_t i = 0; i < components; ++i) {
      auto c = element(name('c', i), ElementKind::kComponent, rng() % 2 ? "host" : "component");
      if (rng() % 2) c.domain = pick(domains);
      if (rng() % 2) c.capacity = 1 + rng() % 1000;
      if (rng() % 3 == 0) c.labels = {{"team", name('t', rng() % 5)}};
      if (rng() % 3 == 0) c.inject_target = {{"port", std::to_string(rng() % 65536)}};
      t.add(c);
    }
    ElementId first_service = static_cast<ElementId>(t.size());
    for (size_t i = 0; i < services; ++i) {
      auto s = element(name('s', i), ElementKind::kService, "service");
      size_t n = 1 + rng() % components;
      for (size_t k = 0; k < n; ++k)
        s.members.push_back(first_component + static_cast<ElementId>(k));
      if (i > 0 && rng() % 2) s.members.push_back(first_service + pick(i));  // nested, acyclic
      s.min_healthy = 1 + static_cast<uint32_t>(rng() % s.members.size());
      if (rng() % 2) s.capacity = 0.5 * (1 + rng() % 100);
      t.add(s);
    }
    size_t callable = components + services;
    for (ElementId e = first_component; e < t.size(); ++e) {
      size_t deps = rng() % 3;
      for (size_t k = 0; k < deps; ++k)
        t[e].depends_on.push_back({first_component + pick(callable),
                                   rng() % 2 ? DepMode::kHard : DepMode::kSoft,
                                   rng() % 2 ? 1.0 : 0.25 * (rng() % 8),
                                   {}});
    }
    auto ep = element("www", ElementKind::kEntrypoint, "");
    ep.target = first_component + pick(callable);
    if (rng() % 2) ep.load = rng() % 5000;
    if (rng() % 2) ep.slo = 0.999;
    t.add(ep);
    for (Syntax syntax : {Syntax::kJson, Syntax::kYaml}) {
      INFO(write(t, syntax));
      REQUIRE(model_dump(round_trip(t, syntax)) == model_dump(t));
    }
  }
}
