// Risk groups (spec whatif.md, "Risk groups"; analysis.h group_risks): the full groups of a
// small topology with every kind of group, by fix and by team, and, over many generated
// estates, that every finding is in exactly one group and the groups come most harmful first.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/generate.h"
#include "achilles/analyzer/harm.h"
#include "achilles/analyzer/loader.h"

namespace {

namespace analyzer = achilles::analyzer;
using achilles::analyzer::GroupBy;
using achilles::analyzer::Topology;
using nlohmann::json;

Topology load_text(const std::string& text) {
  std::string path = "/tmp/achilles-groups-test.yaml";
  std::ofstream(path) << text;
  auto t = analyzer::load_topology(path);
  std::remove(path.c_str());
  return t;
}

// web (two members in rack-a) lacks spread; nfs-1 and auth-1, cfg-1 (a loop) are needed by
// web but in no service; lb-1 is alone; web runs hot; www is below its objective.
const char* const kSmall =
    "version: 1\nname: groups\n"
    "domains:\n  - {id: rack-a, kind: rack}\n  - {id: rack-b, kind: rack}\n"
    "components:\n"
    "  - {id: lb-1, domain: rack-b, capacity: 1000, depends_on: [web], labels: {team: edge}}\n"
    "  - {id: web-1, domain: rack-a, capacity: 60, labels: {team: shop}}\n"
    "  - {id: web-2, domain: rack-a, capacity: 60, labels: {team: shop}}\n"
    "  - {id: nfs-1, domain: rack-b, availability: 0.99}\n"
    "  - {id: auth-1, depends_on: [cfg-1]}\n"
    "  - {id: cfg-1, depends_on: [auth-1]}\n"
    "services:\n"
    "  - {id: web, members: [web-1, web-2], min_healthy: 1, depends_on: [nfs-1, auth-1]}\n"
    "entrypoints:\n  - {id: www, target: lb-1, load: 100, slo: 0.999}\n";

json groups_of(const Topology& t, GroupBy by) {
  analyzer::AnalysisOptions o;
  o.group_by = by;
  return analyzer::to_json(t, analyzer::analyze(t, o))["groups"];
}

json group(std::string fix, std::string kind, std::string severity, json findings, json down,
           json degraded, std::string summary) {
  return {{"fix", fix},
          {"kind", kind},
          {"severity", severity},
          {"findings", findings},
          {"entrypoints_down", down},
          {"entrypoints_degraded", degraded},
          {"summary", summary}};
}

}  // namespace

TEST_CASE(
    "risk groups gather findings by the service without redundancy or spread, the "
    "component without a replica, the service without headroom, the loop and the "
    "entrypoint below its objective",
    "[groups]") {
  const Topology t = load_text(kSmall);
  const json none = json::array(), www = {"www"};
  // Ties in harm (web and auth-1: www down, 3 components and 1 service) go to the group
  // with more findings, then by fix.
  const json expected = {
      group("web", "redundancy", "critical", {"domain_spof:rack-a", "cut_set:web-1+web-2"}, www,
            none, "web lacks redundancy or spread: 2 findings, 1 entrypoint down"),
      // web fell because auth-1 fell, not through its members: auth-1 is what to change.
      group("auth-1", "redundancy", "critical", {"spof:auth-1"}, www, none,
            "auth-1 lacks redundancy or spread: 1 finding, 1 entrypoint down"),
      group("cfg-1", "redundancy", "critical", {"spof:cfg-1"}, www, none,
            "cfg-1 lacks redundancy or spread: 1 finding, 1 entrypoint down"),
      // rack-b is reached from lb-1, the component in it.
      group("lb-1", "redundancy", "critical", {"domain_spof:rack-b", "spof:lb-1"}, www, none,
            "lb-1 lacks redundancy or spread: 2 findings, 1 entrypoint down"),
      group("nfs-1", "redundancy", "critical", {"spof:nfs-1"}, www, none,
            "nfs-1 lacks redundancy or spread: 1 finding, 1 entrypoint down"),
      group("auth-1+cfg-1", "cycle", "high", {"cycle:auth-1+cfg-1"}, www, none,
            "the loop auth-1+cfg-1 cannot start cold: 1 finding, 1 entrypoint down"),
      // The members run out of capacity: their service is what to change.
      group("web", "capacity", "high",
            {"capacity_spof:web-1", "capacity_spof:web-2", "overload:web-1", "overload:web-2"},
            none, www, "web has no headroom: 4 findings, 1 entrypoint degraded"),
      group("www", "slo", "high", {"slo_risk:www"}, none, none,
            "www is below its objective: 1 finding"),
  };
  CHECK(groups_of(t, GroupBy::kFix).dump(1) == expected.dump(1));
}

TEST_CASE(
    "by team, risk groups gather findings by the labels.team of what to change, with a "
    "group for what has none",
    "[groups]") {
  const Topology t = load_text(kSmall);
  auto team = [](json name, json fixes, json findings, std::string summary) {
    return json{{"team", name},
                {"kind", "team"},
                {"severity", "critical"},
                {"fixes", fixes},
                {"findings", findings},
                {"entrypoints_down", {"www"}},
                {"entrypoints_degraded", json::array()},
                {"summary", summary}};
  };
  // web has no label of its own: its members' team. www has none: its target's.
  const json expected = {
      team("shop", {"web"},
           {"domain_spof:rack-a", "cut_set:web-1+web-2", "capacity_spof:web-1",
            "capacity_spof:web-2", "overload:web-1", "overload:web-2"},
           "team shop: 1 thing to change (web): 6 findings, 1 entrypoint down"),
      team(nullptr, {"auth-1", "cfg-1", "nfs-1", "auth-1+cfg-1"},
           {"spof:auth-1", "spof:cfg-1", "spof:nfs-1", "cycle:auth-1+cfg-1"},
           "no team label: 4 things to change (auth-1, cfg-1, nfs-1 and 1 more): 4 findings, 1 "
           "entrypoint down"),
      team("edge", {"lb-1", "www"}, {"domain_spof:rack-b", "spof:lb-1", "slo_risk:www"},
           "team edge: 2 things to change (lb-1, www): 3 findings, 1 entrypoint down"),
  };
  CHECK(groups_of(t, GroupBy::kTeam).dump(1) == expected.dump(1));
}

TEST_CASE("by team, a topology without team labels has one group, named as having none",
          "[groups]") {
  const Topology t = load_text(
      "version: 1\ncomponents:\n  - {id: lb-1, depends_on: [db-1]}\n  - {id: db-1}\n"
      "entrypoints:\n  - {id: www, target: lb-1}\n");
  const json expected = {{{"team", nullptr},
                          {"kind", "team"},
                          {"severity", "critical"},
                          {"fixes", {"db-1", "lb-1"}},
                          {"findings", {"spof:db-1", "spof:lb-1"}},
                          {"entrypoints_down", {"www"}},
                          {"entrypoints_degraded", json::array()},
                          {"summary",
                           "no team label: 2 things to change (db-1, lb-1): 2 findings, 1 "
                           "entrypoint down"}}};
  CHECK(groups_of(t, GroupBy::kTeam).dump(1) == expected.dump(1));
  // By fix, the same findings are two groups.
  CHECK(groups_of(t, GroupBy::kFix).size() == 2);
}

TEST_CASE("the streamed JSON writes the risk groups as the document does, by fix and by team",
          "[groups]") {
  const Topology t = load_text(kSmall);
  for (GroupBy by : {GroupBy::kFix, GroupBy::kTeam}) {
    analyzer::AnalysisOptions o;
    o.group_by = by;
    const auto a = analyzer::analyze(t, o);
    std::ostringstream streamed;
    analyzer::write_json(t, a, streamed);
    CHECK(streamed.str() == analyzer::to_json(t, a).dump(2));
  }
}

TEST_CASE("a topology without findings has no risk groups", "[groups]") {
  const Topology t = load_text(
      "version: 1\ncomponents:\n  - {id: a-1}\n  - {id: a-2}\n  - {id: a-3}\n"
      "services:\n  - {id: a, members: [a-1, a-2, a-3], min_healthy: 1}\n"
      "entrypoints:\n  - {id: www, target: a}\n");
  CHECK(groups_of(t, GroupBy::kFix) == json::array());
  CHECK(groups_of(t, GroupBy::kTeam) == json::array());
}

namespace {

// What the test expects of a group's harm, worked out from its findings alone.
analyzer::Harm expected_harm(const Topology& t, const analyzer::Analysis& a,
                             const analyzer::RiskGroup& g) {
  analyzer::Harm h{3, 0, 0, 0, false};
  std::set<std::string_view> down;
  for (size_t i : g.findings) {
    analyzer::Harm f = analyzer::harm_of(t, a.findings[i]);
    h.severity = std::min(h.severity, f.severity);
    h.services_down = std::max(h.services_down, f.services_down);
    h.components_down = std::max(h.components_down, f.components_down);
    h.stateful = h.stateful || f.stateful;
    down.insert(a.findings[i].impact.entrypoints_down.begin(),
                a.findings[i].impact.entrypoints_down.end());
  }
  h.entrypoints_down = down.size();
  return h;
}

void check_groups(const Topology& t, const analyzer::Analysis& a, GroupBy by,
                  const std::string& what) {
  INFO(what);
  std::vector<int> seen(a.findings.size(), 0);
  std::set<std::string> names;
  for (size_t g = 0; g < a.groups.size(); ++g) {
    const auto& group = a.groups[g];
    REQUIRE(!group.findings.empty());
    for (size_t i : group.findings) {
      REQUIRE(i < a.findings.size());
      ++seen[i];
      if (by == GroupBy::kFix) {
        // Each finding is in the group of its own key.
        auto [kind, fix] = analyzer::group_key(t, a.findings[i]);
        CHECK(kind == group.kind);
        CHECK(fix == group.fix);
      }
    }
    CHECK(names
              .insert(by == GroupBy::kFix ? group.kind + ":" + group.fix
                                          : (group.has_team ? "t" + group.team : "-"))
              .second);
    CHECK(group.severity == a.findings[group.findings.front()].severity);
    for (size_t k = 1; k < group.findings.size(); ++k)
      CHECK_FALSE(analyzer::more_harmful(analyzer::harm_of(t, a.findings[group.findings[k]]),
                                         analyzer::harm_of(t, a.findings[group.findings[k - 1]])));
    if (g > 0)
      CHECK_FALSE(
          analyzer::more_harmful(expected_harm(t, a, group), expected_harm(t, a, a.groups[g - 1])));
  }
  CHECK(std::count(seen.begin(), seen.end(), 1) == static_cast<long>(seen.size()));
}

}  // namespace

TEST_CASE(
    "on generated estates every finding is in exactly one risk group, and the groups "
    "come most harmful first",
    "[groups][slow]") {
  size_t findings = 0, groups = 0;
  for (uint64_t seed = 1; seed <= 24; ++seed) {
    analyzer::GenerateOptions g;
    g.components = 60 + 40 * seed;
    g.seed = seed;
    g.cycles = seed % 3 == 0;
    const Topology t = analyzer::generate_topology(g);
    for (GroupBy by : {GroupBy::kFix, GroupBy::kTeam}) {
      analyzer::AnalysisOptions o;
      o.group_by = by;
      const auto a = analyzer::analyze(t, o);
      check_groups(t, a, by,
                   "seed " + std::to_string(seed) + (by == GroupBy::kTeam ? " by team" : ""));
      if (by == GroupBy::kFix) findings += a.findings.size(), groups += a.groups.size();
    }
  }
  // The estates have findings to group, and grouping gathers them.
  CHECK(findings > 200);
  CHECK(groups < findings);
}
