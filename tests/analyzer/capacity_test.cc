// Load (topology.md "Load"): spreading, calls, fixed points around cycles, unbounded cycles,
// overload, capacity_spof and the cascade.
#include <catch2/catch.hpp>

#include <cmath>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/capacity.h"
#include "reference/random_topology.h"
#include "reference/reference.h"
#include "support/builder.h"

using namespace achilles::analyzer;
using achilles::testing::Builder;

namespace {

void set(Topology& t, const std::string& id, std::optional<double> capacity,
         std::optional<double> load = std::nullopt) {
  t[*t.find(id)].capacity = capacity;
  if (load) t[*t.find(id)].load = load;
}

void calls(Topology& t, const std::string& from, const std::string& to, double c) {
  for (auto& d : t[*t.find(from)].depends_on)
    if (t[d.target].id == to) d.calls = c;
}

double load_of(const Topology& t, const std::vector<double>& loads, const std::string& id) {
  return loads[*t.find(id)];
}

const Finding* find(const Analysis& a, const std::string& id) {
  for (const auto& f : a.findings)
    if (f.id() == id) return &f;
  return nullptr;
}

// www (1000/s) -> lb-1 -> web {w1, w2} -> db (calls 2 from each web member).
Topology web(double c1, double c2) {
  auto t = Builder()
               .component("db")
               .component("w1", "", {"db"})
               .component("w2", "", {"db"})
               .service("web", {"w1", "w2"})
               .component("lb-1", "", {"web"})
               .entrypoint("www", "lb-1")
               .build();
  set(t, "www", std::nullopt, 1000);
  set(t, "w1", c1);
  set(t, "w2", c2);
  set(t, "lb-1", 5000);
  calls(t, "w1", "db", 2);
  calls(t, "w2", "db", 2);
  return t;
}

}  // namespace

TEST_CASE("A service spreads load in proportion to its members' capacities", "[load]") {
  auto t = web(100, 300);
  auto l = compute_loads(t, {});
  CHECK(load_of(t, l, "lb-1") == Approx(1000));
  CHECK(load_of(t, l, "w1") == Approx(250));
  CHECK(load_of(t, l, "w2") == Approx(750));
  CHECK(load_of(t, l, "db") == Approx(2000));
  CHECK(*capacity_of(t, *t.find("web")) == Approx(400));
}

TEST_CASE("A service spreads load evenly when a member has no capacity", "[load]") {
  auto t = web(100, 300);
  set(t, "w2", std::nullopt);
  auto l = compute_loads(t, {});
  CHECK(load_of(t, l, "w1") == Approx(500));
  CHECK(load_of(t, l, "w2") == Approx(500));
  CHECK_FALSE(capacity_of(t, *t.find("web")).has_value());
}

TEST_CASE("A failed member's share goes to the members that are not down", "[load]") {
  auto t = web(100, 300);
  std::vector<ElementId> failed{*t.find("w2")};
  auto l = compute_loads(t, failed);
  CHECK(load_of(t, l, "w1") == Approx(1000));
  CHECK(load_of(t, l, "w2") == 0);
  CHECK(load_of(t, l, "db") == Approx(2000));
}

TEST_CASE("Loads around a dependency cycle are its fixed point", "[load]") {
  auto t =
      Builder().component("a", "", {"b"}).component("b", "", {"a"}).entrypoint("e", "a").build();
  set(t, "e", std::nullopt, 100);
  calls(t, "a", "b", 0.5);
  auto l = compute_loads(t, {});
  // L_a = 100 + L_b, L_b = 0.5 L_a.
  CHECK(load_of(t, l, "a") == Approx(200));
  CHECK(load_of(t, l, "b") == Approx(100));
}

TEST_CASE("A cycle that sends back all it receives has unbounded loads, an overload", "[load]") {
  auto t = Builder()
               .component("a", "", {"b"})
               .component("b", "", {"a", "c"})
               .component("c")
               .entrypoint("e", "a")
               .build();
  set(t, "e", std::nullopt, 10);
  set(t, "a", 100);
  set(t, "c", 100);
  calls(t, "b", "c", 0.01);
  auto l = compute_loads(t, {});
  CHECK(std::isinf(load_of(t, l, "a")));
  CHECK(std::isinf(load_of(t, l, "b")));
  CHECK(std::isinf(load_of(t, l, "c")));
  auto analysis = analyze(t, AnalysisOptions{});
  const Finding* f = find(analysis, "overload:a");
  REQUIRE(f);
  CHECK(f->severity == "critical");
  CHECK(f->details["unbounded"] == true);
  CHECK(f->details["utilization"].is_null());
  CHECK(f->message ==
        "a receives unbounded load: a dependency cycle sends back as much load as it receives, "
        "or more");
}

TEST_CASE("Utilization above the threshold with nothing failed is an overload", "[load]") {
  auto t = web(600, 600);  // 500 each: 83%
  auto analysis = analyze(t, AnalysisOptions{});
  const Finding* f = find(analysis, "overload:w1");
  REQUIRE(f);
  CHECK(f->severity == "high");
  CHECK(f->message ==
        "w1 runs at 83% of its capacity (500 of 600 requests/s) with nothing failed, above the "
        "threshold of 80%");
  CHECK_FALSE(find(analysis, "overload:lb-1"));
  REQUIRE(analysis.utilization.size() == 4);  // lb-1, w1, w2, web (summed)
  CHECK(analysis.utilization[3].id == "web");
  CHECK(analysis.utilization[3].capacity == Approx(1200));
}

TEST_CASE("A failure that pushes a survivor above 100% is a capacity_spof", "[load]") {
  auto t = web(600, 600);
  auto analysis = analyze(t, AnalysisOptions{});
  const Finding* f = find(analysis, "capacity_spof:w1");
  REQUIRE(f);
  CHECK(f->severity == "high");
  CHECK(f->details["survivor"] == "w2");
  CHECK(f->details["utilization"].get<double>() == Approx(1000.0 / 600));
  CHECK(f->message == "losing w1 pushes w2 to 167% of its capacity");
  CHECK(f->explanation == std::vector<std::string>{"www", "lb-1", "web", "w2"});
  CHECK_FALSE(f->details.contains("cascade"));
  // db has no capacity and lb-1 headroom: nothing else.
  CHECK_FALSE(find(analysis, "capacity_spof:db"));
}

TEST_CASE("With --cascade the overloaded survivors fail in turn", "[load]") {
  auto t = web(600, 600);
  AnalysisOptions options;
  options.cascade = true;
  auto analysis = analyze(t, options);
  const Finding* f = find(analysis, "capacity_spof:w1");
  REQUIRE(f);
  CHECK(f->severity == "critical");
  CHECK(f->details["cascade"]["failed"] == std::vector<std::string>{"w2"});
  CHECK(f->details["cascade"]["entrypoints_down"] == std::vector<std::string>{"www"});
  CHECK(f->details["cascade"]["down"] == std::vector<std::string>{"lb-1", "w1", "w2", "web"});
  CHECK(f->impact.entrypoints_down == std::vector<std::string_view>{"www"});
  CHECK(f->message == "losing w1 pushes w2 to 167% of its capacity; the cascade takes down www");
}

TEST_CASE("A survivor already above 100% with nothing failed is no capacity_spof", "[load]") {
  auto t = web(400, 400);  // 125% each already
  auto analysis = analyze(t, AnalysisOptions{});
  CHECK_FALSE(find(analysis, "capacity_spof:w1"));
  CHECK(find(analysis, "overload:w1")->severity == "critical");
}

TEST_CASE("Incremental capacity findings match full recomputation on a layered topology",
          "[load]") {
  // Two tiers, each member with a capacity; every single failure compared with loads solved
  // from scratch for the same failure.
  auto t = Builder()
               .domain("r1")
               .domain("r2")
               .component("d1", "r1")
               .component("d2", "r2")
               .component("d3", "r2")
               .service("db", {"d1", "d2", "d3"}, 2)
               .component("a1", "r1", {"db"})
               .component("a2", "r2", {"db"})
               .component("a3", "r1", {"db", "a1"})
               .service("app", {"a1", "a2", "a3"})
               .entrypoint("e", "app")
               .build();
  set(t, "e", std::nullopt, 900);
  for (const char* id : {"d1", "d2", "d3"})
    set(t, id, 700);
  set(t, "a1", 200);
  set(t, "a2", 400);
  set(t, "a3", 600);
  auto analysis = analyze(t, AnalysisOptions{});
  for (const char* x : {"r1", "r2", "d1", "d2", "d3", "a1", "a2", "a3"}) {
    std::vector<ElementId> failed{*t.find(x)};
    auto l = compute_loads(t, failed);
    std::string worst;
    double worst_u = 0;
    auto base = compute_loads(t, {});
    for (const char* y : {"d1", "d2", "d3", "a1", "a2", "a3"}) {
      ElementId e = *t.find(y);
      double u = l[e] / *t[e].capacity;
      if (u > 1 + 1e-9 && base[e] / *t[e].capacity <= 1 + 1e-9 && u > worst_u)
        worst = y, worst_u = u;
    }
    const Finding* f = find(analysis, std::string("capacity_spof:") + x);
    INFO(x);
    if (worst.empty()) {
      CHECK_FALSE(f);
    } else {
      REQUIRE(f);
      CHECK(f->details["survivor"] == worst);
      CHECK(f->details["utilization"].get<double>() == Approx(worst_u));
    }
  }
}

// A naive reference: statuses from the brute-force evaluator, then L <- b + A L iterated over
// the whole topology until it stops changing (every `calls` is 0.5, so every cycle converges).
TEST_CASE("Loads under every single failure equal naive iteration on random topologies",
          "[load][property][slow]") {
  namespace reference = achilles::reference;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    Topology t = reference::random_topology(seed);
    for (auto& e : t.elements) {
      for (auto& d : e.depends_on)
        d.calls = 0.5;
      if (e.kind == ElementKind::kComponent && (seed + e.id.size()) % 3 != 0)
        e.capacity = 10.0 + static_cast<double>(e.id.back() - '0');
      if (e.kind == ElementKind::kEntrypoint) e.load = 100;
    }
    for (ElementId x = 0; x < t.size(); ++x) {
      if (t[x].kind != ElementKind::kComponent && t[x].kind != ElementKind::kDomain) continue;
      std::vector<ElementId> failed{x};
      auto s = reference::statuses(t, failed);
      auto down = [&](ElementId y) { return s[y] == Status::kDown; };
      std::vector<double> l(t.size(), 0.0), previous;
      for (int it = 0; it < 3000; ++it) {
        previous = l;
        std::vector<double> next(t.size(), 0.0);
        for (ElementId y = 0; y < t.size(); ++y) {
          const Element& e = t[y];
          if (down(y)) continue;
          if (e.kind == ElementKind::kEntrypoint) {
            next[y] += *e.load;
            next[e.target] += down(e.target) ? 0 : *e.load;
          }
          for (const auto& d : e.depends_on)
            if (!down(d.target)) next[d.target] += l[y] * d.calls;
          if (e.kind == ElementKind::kService) {
            bool by_cap = true;
            for (ElementId m : e.members)
              by_cap = by_cap && capacity_of(t, m).has_value();
            double den = 0;
            for (ElementId m : e.members)
              if (!down(m)) den += by_cap ? *capacity_of(t, m) : 1.0;
            for (ElementId m : e.members)
              if (!down(m)) next[m] += l[y] * (by_cap ? *capacity_of(t, m) : 1.0) / den;
          }
        }
        l.swap(next);
      }
      auto got = compute_loads(t, failed);
      for (ElementId y = 0; y < t.size(); ++y) {
        INFO("seed " << seed << " failing " << t[x].id << " at " << t[y].id << "\n"
                     << reference::to_yaml(t));
        // Still growing: a cycle that sends back as much as it receives, or more.
        if (l[y] > 1e15 || std::abs(l[y] - previous[y]) > 1e-9 * std::max(1.0, l[y]))
          CHECK(std::isinf(got[y]));
        else
          CHECK(got[y] == Approx(l[y]).epsilon(1e-9).margin(1e-9));
      }
    }
  }
}

// The capacity pass only solves the failures that its screen cannot rule out: every single
// failure is compared with the definition, from loads solved from scratch. Capacities are
// set just above and below each element's baseline load, so that many failures push
// something across 100% and many fall just short.
TEST_CASE("capacity_spof matches the definition on random topologies", "[load][property][slow]") {
  namespace reference = achilles::reference;
  constexpr double kFactors[] = {0.9, 1.02, 1.1, 1.35, 1.7, 2.5, 4.0};
  size_t found = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    Topology t = reference::random_topology(seed);
    for (auto& e : t.elements) {
      for (auto& d : e.depends_on)
        d.calls = 0.25 * static_cast<double>(1 + (seed + d.target) % 4);
      if (e.kind == ElementKind::kEntrypoint) e.load = 100;
    }
    // Capacities from the baseline loads: every component, and some services of their own.
    auto base = compute_loads(t, {});
    for (ElementId x = 0; x < t.size(); ++x) {
      Element& e = t[x];
      bool component = e.kind == ElementKind::kComponent;
      if (!component && !(e.kind == ElementKind::kService && (seed + x) % 4 == 0)) continue;
      if ((seed * 7 + x) % 9 == 0 || !std::isfinite(base[x])) continue;
      double factor = kFactors[(seed * 13 + x * 5) % std::size(kFactors)];
      e.capacity = std::max(1.0, base[x]) * factor;
    }
    base = compute_loads(t, {});
    AnalysisOptions options;
    options.order = 1;
    auto analysis = analyze(t, options);
    for (ElementId x = 0; x < t.size(); ++x) {
      if (t[x].kind != ElementKind::kComponent && t[x].kind != ElementKind::kDomain) continue;
      std::vector<ElementId> failed{x};
      auto s = reference::statuses(t, failed);
      auto loads = compute_loads(t, failed);
      std::string worst;
      double worst_u = 0;
      for (ElementId y = 0; y < t.size(); ++y) {
        const Element& e = t[y];
        bool judged = (e.kind == ElementKind::kComponent || e.kind == ElementKind::kService) &&
                      e.capacity && s[y] != Status::kDown;
        if (!judged) continue;
        double u = loads[y] / *e.capacity;
        if (u > 1 + 1e-9 && !(base[y] / *e.capacity > 1 + 1e-9) &&
            (worst.empty() || u > worst_u || (u == worst_u && e.id < worst)))
          worst = e.id, worst_u = u;
      }
      const Finding* f = find(analysis, "capacity_spof:" + t[x].id);
      INFO("seed " << seed << " failing " << t[x].id << "\n" << reference::to_yaml(t));
      if (worst.empty()) {
        CHECK_FALSE(f);
      } else {
        ++found;
        REQUIRE(f);
        CHECK(f->details["survivor"] == worst);
      }
    }
  }
  CHECK(found > 100);  // the test means something only if failures do cross 100%
}
