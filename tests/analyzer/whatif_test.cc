// Overlays, whatif and recommend (spec whatif.md; overlay.h, whatif.h): every problem of an
// overlay located, in full text; whatif against a brute-force reference (each overlay also
// applied by hand to the topology's text, both analyzed, the findings and the diff
// compared); and recommend's claims re-measured by applying its written plan change by
// change, a spread's entries together, and measure_plan's against whatif of each prefix.
// Past 500 lines: the cases share the topologies and check_plan, kept in one place.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/generate.h"
#include "achilles/analyzer/loader.h"
#include "achilles/analyzer/overlay.h"
#include "achilles/analyzer/whatif.h"
#include "achilles/analyzer/writer.h"

namespace {

namespace analyzer = achilles::analyzer;
using analyzer::Analysis;
using analyzer::Topology;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string kShopPath = std::string(ACHILLES_TEST_DATA) + "/cli/shop.yaml";
const std::string kThreeTierPath = std::string(ACHILLES_TOPOLOGIES) + "/three-tier.yaml";

/// The message of the InputError that `f` throws, or "" if it throws none.
template <typename F>
std::string input_error(F f) {
  try {
    f();
  } catch (const analyzer::InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("every problem in the form of an overlay is reported at its line and column, in one run",
          "[overlay]") {
  const std::string text =
      "version: 2\n"
      "extra: 1\n"
      "changes:\n"
      "  - add_membr: {service: lb}\n"
      "  - scale: {service: web, capacity_factor: 0}\n"
      "  - set: {id: db-1}\n"
      "  - set: {id: db-1, availability: 1.5, capacity: \"x\", min_healthy: 1.5}\n"
      "  - move: {id: recs-1, domian: az1}\n"
      "  - add_dependency: {from: web, to: {id: db, mode: sometimes, calls: -1, timeout_ms: 0, "
      "retries: 3}}\n"
      "  - remove: web-1\n"
      "  - {set: {id: a, capacity: 1}, move: {id: b, domain: c}}\n"
      "  - just-a-string\n"
      "  - remove: {}\n";
  CHECK(input_error([&] { analyzer::load_overlay_text(text, "bad.yaml"); }) ==
        "bad.yaml:1:10: error: version must be 1, not 2\n"
        "bad.yaml:2:1: error: unknown key 'extra' at the top level (expected one of: version, "
        "changes)\n"
        "bad.yaml:4:5: error: change 1: unknown kind of change 'add_membr' (expected one of: "
        "add_member, set, scale, move, add_dependency, remove); did you mean 'add_member'?\n"
        "bad.yaml:5:44: error: change 2 (scale): capacity_factor must be positive, not 0\n"
        "bad.yaml:6:10: error: change 3 (set): nothing to set (expected one or more of: capacity, "
        "availability, min_healthy, domain, load, slo)\n"
        "bad.yaml:7:35: error: change 4 (set): availability 1.5 is outside (0, 1]\n"
        "bad.yaml:7:50: error: change 4 (set): 'capacity' must be a number, not a string\n"
        "bad.yaml:7:68: error: change 4 (set): min_healthy must be a whole number from 1, not "
        "1.5\n"
        "bad.yaml:8:11: error: change 5 (move): missing required key 'domain'\n"
        "bad.yaml:8:24: error: change 5 (move): unknown key 'domian' (expected one of: id, "
        "domain); did you mean 'domain'?\n"
        "bad.yaml:9:52: error: change 6 (add_dependency): mode must be 'hard' or 'soft', not "
        "'sometimes'\n"
        "bad.yaml:9:70: error: change 6 (add_dependency): calls must be 0 or more, not -1\n"
        "bad.yaml:9:86: error: change 6 (add_dependency): timeout_ms must be a whole number of "
        "milliseconds from 1 to 3600000, not 0\n"
        "bad.yaml:9:89: error: change 6 (add_dependency): unknown key 'retries' in 'to' (expected "
        "one of: id, mode, calls, timeout_ms)\n"
        "bad.yaml:10:13: error: change 7 (remove): must be a map {id}, not a string\n"
        "bad.yaml:11:5: error: change 8: a change must be a map with one key, the kind of change "
        "(one of: add_member, set, scale, move, add_dependency, remove), not a map with 2 keys\n"
        "bad.yaml:12:5: error: change 9: a change must be a map with one key, the kind of change "
        "(one of: add_member, set, scale, move, add_dependency, remove), not a string\n"
        "bad.yaml:13:13: error: change 10 (remove): missing required key 'id'");
}

TEST_CASE("an overlay is read through the YAML guard, and its syntax errors are located",
          "[overlay]") {
  CHECK(input_error(
            [] { analyzer::load_overlay_text("version: 1\nchanges: &a [*a]\n", "o.yaml"); }) ==
        "o.yaml:2:14: error: alias '*a' is inside the node its anchor is on: a node cannot "
        "contain itself");
  CHECK(input_error([] { analyzer::load_overlay_text("version: 1\nchanges: [\n", "o.yaml"); }) ==
        "o.yaml:3:1: error: syntax error: end of sequence flow not found");
  CHECK(input_error([] { analyzer::load_overlay_text("", "o.yaml"); }) ==
        "o.yaml: error: the file is empty (expected a map with keys version, changes)");
  CHECK(input_error([] {
          analyzer::load_overlay_text(R"({"version": 1, "changes": [{"remove": {"id": 3}}]})",
                                      "o.json");
        }) == "o.json:1:46: error: change 1 (remove): 'id' must be an id (a string), not a number");
}

TEST_CASE("every change that cannot apply to the topology is reported at its place in the overlay",
          "[overlay]") {
  const Topology shop = analyzer::load_topology(kShopPath);
  const std::string text =
      "version: 1\n"
      "changes:\n"
      "  - add_member: {service: webb, id: web-4, domain: az3}\n"
      "  - add_member: {service: web, id: web-1, like: db}\n"
      "  - add_member: {service: web, id: \"bad id\", domain: rack-1}\n"
      "  - set: {id: web-4, capacity: 10}\n"
      "  - set: {id: lb, availability: 0.9, min_healthy: 1, load: 5}\n"
      "  - set: {id: web, min_healthy: 4}\n"
      "  - scale: {service: lb, capacity_factor: 2}\n"
      "  - scale: {service: db-1, capacity_factor: 2}\n"
      "  - move: {id: web, domain: az2}\n"
      "  - move: {id: region, domain: rack-1}\n"
      "  - move: {id: web-1, domain: web}\n"
      "  - add_dependency: {from: web, to: db}\n"
      "  - add_dependency: {from: web, to: db}\n"
      "  - add_dependency: {from: www, to: nope}\n"
      "  - remove: {id: lb}\n"
      "  - remove: {id: rack-1}\n"
      "  - remove: {id: recs-1}\n"
      "  - remove: {id: web-2}\n"
      "  - remove: {id: web-3}\n"
      "  - set: {id: web-2, capacity: 5}\n"
      "  - add_member: {service: web, id: web-6, like: web-4}\n"
      "  - set: {id: web-6, capacity: 5}\n"
      "  - scale: {service: db, capacity_factor: 1e300}\n"
      "  - set: {id: db-1, capacity: 1e300}\n"
      "  - scale: {service: db, capacity_factor: 1e300}\n";
  const auto overlay = analyzer::load_overlay_text(text, "o.yaml");
  // web-4 (changes 4 and 21) is the id of a failed add_member: reported there, not again;
  // web-6 (change 22) that of one that failed on it.
  CHECK(input_error([&] { analyzer::apply_overlay(shop, overlay); }) ==
        "o.yaml:3:27: error: change 1 (add_member): service 'webb' does not exist; did you mean "
        "'web'?\n"
        "o.yaml:3:52: error: change 1 (add_member): domain 'az3' does not exist; did you mean "
        "'az1'?\n"
        "o.yaml:4:36: error: change 2 (add_member): id 'web-1' is already used by a component\n"
        "o.yaml:4:49: error: change 2 (add_member): like 'db' is a service, not a component\n"
        "o.yaml:5:36: error: change 3 (add_member): id 'bad id' is not valid (allowed: a letter or "
        "digit, then letters, digits and _ . : / @ -)\n"
        "o.yaml:7:33: error: change 5 (set): 'availability' does not apply to a service (only to "
        "components and domains)\n"
        "o.yaml:7:60: error: change 5 (set): 'load' does not apply to a service (only to "
        "entrypoints)\n"
        "o.yaml:8:33: error: change 6 (set): min_healthy 4 is outside 1..3 (service 'web' has 3 "
        "members)\n"
        "o.yaml:9:22: error: change 7 (scale): service 'lb' has no capacity to scale: neither it "
        "nor its members declare one\n"
        "o.yaml:10:22: error: change 8 (scale): service 'db-1' is a component, not a service\n"
        "o.yaml:11:16: error: change 9 (move): element 'web' is a service, not a component or "
        "domain\n"
        "o.yaml:12:32: error: change 10 (move): domain 'region' cannot move into 'rack-1', which "
        "it contains\n"
        "o.yaml:13:31: error: change 11 (move): domain 'web' is a service, not a domain\n"
        "o.yaml:15:37: error: change 13 (add_dependency): 'web' already depends on 'db'\n"
        "o.yaml:16:28: error: change 14 (add_dependency): from 'www' is an entrypoint, not a "
        "component or service\n"
        "o.yaml:16:37: error: change 14 (add_dependency): to 'nope' does not exist\n"
        "o.yaml:17:18: error: change 15 (remove): entrypoint 'www' sends its users to 'lb' (remove "
        "the entrypoint, or give it another target, first)\n"
        "o.yaml:18:18: error: change 16 (remove): domain 'rack-1' still holds component 'lb-1' "
        "(move it first)\n"
        "o.yaml:18:18: error: change 16 (remove): domain 'rack-1' still holds component 'web-1' "
        "(move it first)\n"
        "o.yaml:19:18: error: change 17 (remove): service 'recs' would have no member left "
        "(remove the service first)\n"
        "o.yaml:21:18: error: change 19 (remove): service 'web' would keep 1 member, fewer than "
        "its min_healthy 2 (lower its min_healthy first)\n"
        "o.yaml:22:15: error: change 20 (set): element 'web-2' was removed by an earlier change\n"
        "o.yaml:25:22: error: change 23 (scale): service 'db' has no capacity to scale: neither "
        "it nor its members declare one\n"
        "o.yaml:27:43: error: change 25 (scale): capacity_factor 1e+300 takes the capacity of "
        "'db-1' out of range (1e+300 times it)");
}

namespace {

/// One overlay and the same changes made by hand to the topology's text: (from, to)
/// replacements, each of which must match.
struct Case {
  std::string name;
  std::string changes;
  std::vector<std::pair<std::string, std::string>> edits;
};

std::string edited(std::string text, const Case& c) {
  for (const auto& [from, to] : c.edits) {
    size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    while (at != std::string::npos) {
      text.replace(at, from.size(), to);
      at = text.find(from, at + to.size());
    }
  }
  return text;
}

std::vector<std::string> ids(const Analysis& a) {
  std::vector<std::string> out;
  for (const auto& f : a.findings)
    out.push_back(f.id());
  std::sort(out.begin(), out.end());
  return out;
}

/// The findings (ids, messages, impacts), the utilization and the availabilities.
std::string fingerprint(const Analysis& a) {
  std::ostringstream out;
  for (const auto& f : a.findings) {
    out << f.id() << " " << f.message << " " << f.impact.components_down;
    for (auto e : f.impact.entrypoints_degraded)
      out << " " << e;
    out << "\n";
  }
  for (const auto& u : a.utilization)
    out << u.id << " " << u.utilization << "\n";
  for (const auto& e : a.availability)
    out << e.id << " " << e.availability << "\n";
  return out.str();
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"add_member",
       "  - add_member: {service: web, id: web-5, domain: rack-b2, like: web-1}\n",
       {{"  - {id: nfs-1,",
         "  - {id: web-5, kind: host, domain: rack-b2, capacity: 800, availability: 0.999, "
         "labels: {team: web, tier: web}}\n  - {id: nfs-1,"},
        {"members: [web-1, web-2, web-3, web-4]", "members: [web-1, web-2, web-3, web-4, web-5]"}}},
      {"remove",
       "  - remove: {id: app-3}\n",
       {{"  - {id: app-3, kind: host, domain: rack-b2, capacity: 900, availability: 0.999, "
         "labels: {team: app, tier: app}}\n",
         ""},
        {"members: [app-1, app-2, app-3]", "members: [app-1, app-2]"}}},
      {"scale",
       "  - scale: {service: app, capacity_factor: 1.5}\n",
       {{"capacity: 900", "capacity: 1350"}}},
      {"set",
       "  - set: {id: nfs-1, capacity: 5000, availability: 0.99999}\n",
       {{"domain: rack-a2, capacity: 3000, availability: 0.9995",
         "domain: rack-a2, capacity: 5000, availability: 0.99999"}}},
      {"set min_healthy and load",
       "  - set: {id: app, min_healthy: 1}\n  - set: {id: www, load: 3000}\n",
       {{"min_healthy: 2", "min_healthy: 1"}, {"load: 2000", "load: 3000"}}},
      {"move",
       "  - move: {id: web-4, domain: rack-b2}\n",
       {{"{id: web-4, kind: host, domain: rack-a2", "{id: web-4, kind: host, domain: rack-b2"}}},
      {"add_dependency",
       "  - add_dependency: {from: lb, to: {id: nfs-1, mode: soft}}\n",
       {{"    depends_on: [web]\n", "    depends_on: [web, {id: nfs-1, mode: soft}]\n"}}},
      {"remove a dependency target",
       "  - remove: {id: memcached-1}\n",
       {{"  - {id: memcached-1, kind: cache, domain: rack-b2, capacity: 20000, availability: "
         "0.999, labels: {team: app, tier: data}}\n",
         ""},
        {"      - {id: memcached-1, mode: soft, calls: 2}\n", ""}}},
  };
  return all;
}

}  // namespace

TEST_CASE("whatif equals a brute-force reference: the overlay applied by hand, both analyzed",
          "[overlay][whatif]") {
  const std::string text = slurp(kThreeTierPath);
  const Topology before = analyzer::load_topology_text(text, analyzer::Syntax::kYaml, "t.yaml");
  const Analysis a = analyzer::analyze(before, {});
  // Each case alone, then all of them in one overlay (the hand edits in the same order).
  std::vector<Case> all = cases();
  Case combined{"all", "", {}};
  for (const Case& c : cases()) {
    combined.changes += c.changes;
    combined.edits.insert(combined.edits.end(), c.edits.begin(), c.edits.end());
  }
  all.push_back(combined);
  size_t moved = 0;
  for (const Case& c : all) {
    SECTION(c.name) {
      const auto overlay =
          analyzer::load_overlay_text("version: 1\nchanges:\n" + c.changes, "o.yaml");
      const Topology after = analyzer::apply_overlay(before, overlay);
      const Topology hand =
          analyzer::load_topology_text(edited(text, c), analyzer::Syntax::kYaml, "hand.yaml");
      REQUIRE(after.size() == hand.size());
      const Analysis b = analyzer::analyze(after, {});
      const Analysis h = analyzer::analyze(hand, {});
      // The same findings, severities, messages and impacts.
      REQUIRE(b.findings.size() == h.findings.size());
      for (size_t i = 0; i < b.findings.size(); ++i) {
        CHECK(b.findings[i].id() == h.findings[i].id());
        CHECK(b.findings[i].severity == h.findings[i].severity);
        CHECK(b.findings[i].message == h.findings[i].message);
        CHECK(b.findings[i].impact.entrypoints_down == h.findings[i].impact.entrypoints_down);
      }
      REQUIRE(b.availability.size() == h.availability.size());
      for (size_t i = 0; i < b.availability.size(); ++i)
        CHECK(b.availability[i].availability ==
              Approx(h.availability[i].availability).epsilon(1e-12));
      // The diff, against set operations on the reference's ids.
      const auto d = analyzer::diff_analyses(a, b);
      const auto before_ids = ids(a), hand_ids = ids(h);
      std::vector<std::string> resolved, added, unchanged;
      std::set_difference(before_ids.begin(), before_ids.end(), hand_ids.begin(), hand_ids.end(),
                          std::back_inserter(resolved));
      std::set_difference(hand_ids.begin(), hand_ids.end(), before_ids.begin(), before_ids.end(),
                          std::back_inserter(added));
      std::set_intersection(before_ids.begin(), before_ids.end(), hand_ids.begin(), hand_ids.end(),
                            std::back_inserter(unchanged));
      CHECK(d.resolved == resolved);
      CHECK(d.added == added);
      CHECK(d.unchanged == unchanged);
      size_t critical = 0;
      for (const auto& f : h.findings)
        critical += f.severity == "critical";
      CHECK(d.after.critical == critical);
      CHECK(d.after.findings == h.findings.size());
      REQUIRE(d.availability.size() == h.availability.size());
      for (size_t i = 0; i < d.availability.size(); ++i) {
        CHECK(d.availability[i].id == h.availability[i].id);
        CHECK(*d.availability[i].before == a.availability[i].availability);
        CHECK(*d.availability[i].after == Approx(h.availability[i].availability).epsilon(1e-12));
      }
      // Every case changes the analysis (so that the comparison shows something).
      CHECK(fingerprint(h) != fingerprint(a));
      ++moved;
    }
  }
  CHECK(moved == 1);
}

TEST_CASE("a changed topology written out loads back to the same model, and overlays round-trip",
          "[overlay]") {
  const Topology before = analyzer::load_topology(kThreeTierPath);
  std::string changes;
  for (const Case& c : cases())
    changes += c.changes;
  const auto overlay = analyzer::load_overlay_text("version: 1\nchanges:\n" + changes, "o.yaml");
  const Topology after = analyzer::apply_overlay(before, overlay);
  std::ostringstream once, twice;
  analyzer::write_topology(after, analyzer::Syntax::kYaml, once);
  const Topology again =
      analyzer::load_topology_text(once.str(), analyzer::Syntax::kYaml, "again.yaml");
  analyzer::write_topology(again, analyzer::Syntax::kYaml, twice);
  CHECK(once.str() == twice.str());

  std::ostringstream written;
  analyzer::write_overlay(overlay, written);
  const auto read = analyzer::load_overlay_text(written.str(), "written.yaml");
  std::ostringstream rewritten;
  analyzer::write_overlay(read, rewritten);
  CHECK(written.str() == rewritten.str());
  REQUIRE(read.changes.size() == overlay.changes.size());
  std::ostringstream from_read;
  analyzer::write_topology(analyzer::apply_overlay(before, read), analyzer::Syntax::kYaml,
                           from_read);
  CHECK(from_read.str() == once.str());
}

namespace {

/// recommend's plan, re-measured: written as an overlay and read back, then applied change by
/// change to the original topology and analyzed; each step's counts and its resolved and
/// introduced findings must be what the plan says.
void check_plan(const Topology& topology, const analyzer::RecommendOptions& options,
                size_t at_least_steps) {
  const auto plan = analyzer::recommend(topology, options);
  REQUIRE(plan.steps.size() >= at_least_steps);
  CHECK(plan.steps.size() <= options.max_changes);
  std::ostringstream yaml;
  analyzer::write_overlay(analyzer::plan_overlay(plan, "t.yaml"), yaml);
  const auto overlay = analyzer::load_overlay_text(yaml.str(), "plan.yaml");
  REQUIRE(overlay.changes.size() == analyzer::plan_entries(plan));
  Analysis previous = analyzer::analyze(topology, options.analysis);
  CHECK(analyzer::harm_counts(previous).critical == plan.before.critical);
  std::vector<Topology> kept;  // each analysis holds views of its topology's ids
  kept.reserve(plan.steps.size());
  size_t entries = 0;
  for (size_t k = 1; k <= plan.steps.size(); ++k) {
    INFO("step " << k);
    entries += plan.steps[k - 1].changes.size();
    analyzer::Overlay prefix = overlay;
    prefix.changes.resize(entries);
    kept.push_back(analyzer::apply_overlay(topology, prefix));
    const Analysis now = analyzer::analyze(kept.back(), options.analysis);
    const auto d = analyzer::diff_analyses(previous, now);
    const auto& step = plan.steps[k - 1];
    CHECK(d.after.critical == step.after.critical);
    CHECK(d.after.high == step.after.high);
    CHECK(d.after.findings == step.after.findings);
    CHECK(d.after.entrypoint_losses == step.after.entrypoint_losses);
    CHECK(d.resolved == step.resolved);
    CHECK(d.added == step.introduced);
    // Each change helps: fewer critical findings, or as many and fewer entrypoints lost, or
    // as many of both and fewer high findings.
    const auto gain =
        std::make_tuple(long(d.before.critical) - long(d.after.critical),
                        long(d.before.entrypoint_losses) - long(d.after.entrypoint_losses),
                        long(d.before.high) - long(d.after.high));
    CHECK(gain > std::make_tuple(0L, 0L, 0L));
    previous = now;
  }
}

}  // namespace

TEST_CASE("recommend's claims hold when its written plan is applied and re-analyzed step by step",
          "[recommend]") {
  analyzer::RecommendOptions options;
  options.max_changes = 5;
  SECTION("three-tier") {
    check_plan(analyzer::load_topology(kThreeTierPath), options, 3);
  }
  SECTION("a generated estate of 400 components") {
    analyzer::GenerateOptions g;
    g.components = 400;
    g.seed = 3;
    check_plan(analyzer::generate_topology(g), options, 1);
  }
  SECTION("shop: with no other rack, lb's new member goes to the other zone") {
    const Topology t = analyzer::load_topology(kShopPath);
    const auto plan = analyzer::recommend(t, options);
    REQUIRE(!plan.steps.empty());
    CHECK(plan.steps[0].changes[0].kind == analyzer::ChangeKind::kAddMember);
    CHECK(plan.steps[0].changes[0].service == "lb");
    CHECK(plan.steps[0].changes[0].domain == "az2");
    CHECK(plan.steps[0].after.critical < plan.before.critical);
    check_plan(t, options, 1);
  }
  SECTION("only the kinds of change allowed") {
    options.allow = {analyzer::ChangeKind::kScale};
    const Topology t = analyzer::load_topology(kThreeTierPath);
    const auto plan = analyzer::recommend(t, options);
    REQUIRE(!plan.steps.empty());
    for (const auto& s : plan.steps)
      CHECK(s.changes[0].kind == analyzer::ChangeKind::kScale);
    check_plan(t, options, 1);
  }
}

TEST_CASE(
    "recommend spreads the services whose only members one zone holds, as one change of "
    "several entries, and whatif of the written plan shows the effect it claims",
    "[recommend]") {
  // z1 holds the only member of orders, stock and users, each on its own host: seven
  // critical findings (z1, h1 to h3, and the three members) that no change to one service
  // removes more than two of.
  const Topology t = analyzer::load_topology(std::string(ACHILLES_TEST_DATA) + "/cli/spread.yaml");
  analyzer::RecommendOptions options;
  options.max_changes = 1;
  const auto plan = analyzer::recommend(t, options);
  REQUIRE(plan.steps.size() == 1);
  const auto& step = plan.steps[0];
  CHECK(step.kind == "spread");
  CHECK(step.group == "domain_spof:z1");
  CHECK(step.reason ==
        "zone z1 holds every member of 3 services that lack redundancy (7 critical findings): "
        "give each a member outside it");
  REQUIRE(step.changes.size() == 3);
  const char* services[] = {"orders", "stock", "users"};
  for (size_t i = 0; i < 3; ++i) {
    INFO(services[i]);
    CHECK(analyzer::change_line(step.changes[i]) ==
          std::string("add_member: {service: \"") + services[i] + "\", id: \"" + services[i] +
              "-2\", domain: \"h4\", like: \"" + services[i] + "-1\"}");
  }
  CHECK(plan.before.critical == 7);
  CHECK(step.after.critical == 0);
  CHECK(step.resolved == std::vector<std::string>{
                             "domain_spof:h1", "domain_spof:h2", "domain_spof:h3", "domain_spof:z1",
                             "slo_risk:shop", "spof:orders-1", "spof:stock-1", "spof:users-1"});
  REQUIRE(plan.availability.size() == 1);
  CHECK(*plan.availability[0].after > *plan.availability[0].before);

  // The written plan: one numbered change of three entries, which whatif applies as it is.
  std::ostringstream yaml;
  analyzer::write_overlay(analyzer::plan_overlay(plan, "spread.yaml"), yaml);
  CHECK_THAT(yaml.str(),
             Catch::Contains("# 1. zone z1 holds every member of 3 services that lack redundancy "
                             "(7 critical findings): give each a member outside it\n"
                             "  #    one change of 3 entries, this one and the 2 below it, "
                             "measured together\n"));
  CHECK_THAT(yaml.str(), Catch::Contains("# 1. (entry 3 of 3)\n"));
  const auto overlay = analyzer::load_overlay_text(yaml.str(), "plan.yaml");
  REQUIRE(overlay.changes.size() == 3);
  const Topology after = analyzer::apply_overlay(t, overlay);
  const auto d = analyzer::diff_analyses(analyzer::analyze(t, options.analysis),
                                         analyzer::analyze(after, options.analysis));
  CHECK(d.after.critical == step.after.critical);
  CHECK(d.after.high == step.after.high);
  CHECK(d.after.findings == step.after.findings);
  CHECK(d.resolved == step.resolved);
  CHECK(d.added == step.introduced);
  REQUIRE(d.availability.size() == 1);
  CHECK(*d.availability[0].after == *plan.availability[0].after);

  // Without spreads, one change removes two of the seven.
  options.spreads_per_step = 0;
  const auto single = analyzer::recommend(t, options);
  REQUIRE(single.steps.size() == 1);
  CHECK(single.steps[0].kind == "add_member");
  CHECK(single.steps[0].after.critical == 5);

  options.spreads_per_step = 4;
  options.max_changes = 3;
  check_plan(t, options, 1);
}

TEST_CASE("measure_plan measures each entry of an overlay as whatif of its prefix does",
          "[recommend]") {
  const Topology t = analyzer::load_topology(std::string(ACHILLES_TEST_DATA) + "/cli/spread.yaml");
  const auto overlay = analyzer::load_overlay_text(
      "version: 1\nchanges:\n"
      "  - add_member: {service: orders, id: orders-2, domain: h4, like: orders-1}\n"
      "  - set: {id: lb-1, availability: 0.9999}\n"
      "  - add_member: {service: stock, id: stock-2, domain: h4, like: stock-1}\n",
      "hand.yaml");
  const analyzer::RecommendOptions options;
  const auto plan = analyzer::measure_plan(t, overlay, options);
  REQUIRE(plan.steps.size() == 3);
  CHECK(plan.analyses == 4);
  CHECK(plan.steps[1].kind == "set");
  CHECK(plan.steps[1].reason == "entry 2 of hand.yaml");
  Analysis previous = analyzer::analyze(t, options.analysis);
  std::vector<Topology> kept;
  kept.reserve(3);
  for (size_t k = 1; k <= 3; ++k) {
    INFO("entry " << k);
    analyzer::Overlay prefix = overlay;
    prefix.changes.resize(k);
    kept.push_back(analyzer::apply_overlay(t, prefix));
    const Analysis now = analyzer::analyze(kept.back(), options.analysis);
    const auto d = analyzer::diff_analyses(previous, now);
    CHECK(d.after.critical == plan.steps[k - 1].after.critical);
    CHECK(d.resolved == plan.steps[k - 1].resolved);
    CHECK(d.added == plan.steps[k - 1].introduced);
    previous = now;
  }
  CHECK(plan.steps[0].after.critical == 5);
  CHECK(plan.steps[1].after.critical == 5);
  CHECK(plan.steps[2].after.critical == 3);

  // An entry that does not apply is reported, located, before anything is analyzed.
  const auto bad = analyzer::load_overlay_text(
      "version: 1\nchanges:\n  - scale: {service: nope, capacity_factor: 2}\n", "bad.yaml");
  CHECK_THROWS_WITH(analyzer::measure_plan(t, bad, options),
                    Catch::Contains("bad.yaml:3:22: error: change 1 (scale): service 'nope' "
                                    "does not exist"));
}

TEST_CASE("a spread puts every new member outside the domain it spreads out of", "[recommend]") {
  // A review found a datacenter's spread placing new members on racks inside that datacenter
  // ("give each a member outside it", and nothing resolved) on three-tier.yaml, and a region's
  // on hosts of that region on kubernetes.yaml.
  for (const char* file : {"three-tier.yaml", "kubernetes.yaml", "microservices.yaml"}) {
    INFO(file);
    const Topology t = analyzer::load_topology(std::string(ACHILLES_TOPOLOGIES) + "/" + file);
    analyzer::RecommendOptions options;
    options.max_changes = 3;
    const auto plan = analyzer::recommend(t, options);
    for (const auto& step : plan.steps) {
      if (step.kind != "spread") continue;
      REQUIRE(step.group.rfind("domain_spof:", 0) == 0);
      const auto out_of = t.find(step.group.substr(std::string("domain_spof:").size()));
      REQUIRE(out_of);
      for (const auto& change : step.changes) {
        INFO(analyzer::change_line(change));
        const auto to = t.find(change.domain);
        REQUIRE(to);
        bool under = false;
        for (auto up = *to; up != analyzer::kNoElement && !under; up = t[up].parent)
          under = up == *out_of;
        CHECK_FALSE(under);
      }
      CHECK(step.after.critical <
            (&step == &plan.steps[0] ? plan.before.critical : (&step - 1)->after.critical));
    }
  }
}
