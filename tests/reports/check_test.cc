// The pre-release gate: each rule, scopes, the baseline, and the policy file's errors.
#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/loader.h"
#include "achilles/common/diagnostic.h"
#include "achilles/reports/check.h"

namespace {

using achilles::analyzer::InputError;
using achilles::analyzer::Topology;
using nlohmann::json;
namespace reports = achilles::reports;

const std::string kData = REPORTS_TEST_DATA;

Topology gate() {
  return achilles::analyzer::load_topology(kData + "/gate.yaml");
}

/// A finding as analysis-json.md writes it.
json finding(const std::string& kind, std::vector<std::string> subject,
             std::vector<std::string> down, std::vector<std::string> degraded = {}) {
  std::string id = kind + ":";
  for (size_t i = 0; i < subject.size(); ++i)
    id += (i ? "+" : "") + subject[i];
  return {{"id", id},
          {"kind", kind},
          {"severity", down.empty() ? "high" : "critical"},
          {"subject", subject},
          {"message", id + " happens"},
          {"impact",
           {{"entrypoints_down", down},
            {"entrypoints_degraded", degraded},
            {"components_down", 1},
            {"services_down", 0}}},
          {"explanation", json::array({"www"})}};
}

json analysis_of(std::vector<json> findings, json entrypoints = json::array()) {
  return {{"schema", "achilles.analysis/v1"}, {"findings", findings}, {"entrypoints", entrypoints}};
}

reports::Policy policy(const std::string& text) {
  return reports::parse_policy(text, "policy.yaml");
}

/// The ids of the findings that break rule `r`.
std::vector<std::string> broken(const reports::CheckResult& result, size_t r) {
  std::vector<std::string> ids;
  for (size_t i : result.rules[r].breaking)
    ids.push_back(result.findings[i]["id"].get<std::string>());
  return ids;
}

using Ids = std::vector<std::string>;

}  // namespace

TEST_CASE("the default policy has the five rules of policy.md over every entrypoint",
          "[reports][check]") {
  auto p = reports::default_policy();
  REQUIRE(p.rules.size() == 5);
  CHECK(p.rules[0].title() == "no_spof");
  CHECK(p.rules[1].title() == "survive_domain_loss");
  CHECK(p.rules[2].title() == "no_capacity_spof");
  CHECK(p.rules[3].title() == "min_availability {value: slo}");
  CHECK(p.rules[4].title() == "no_cycle");
  for (const auto& r : p.rules)
    CHECK(r.entrypoint_labels.empty());
}

TEST_CASE("the default policy fails the gate on the real analysis of a topology with SPOFs",
          "[reports][check]") {
  auto t = gate();
  auto p = reports::default_policy();
  auto a = achilles::analyzer::analyze(t, reports::analysis_options_for(p));
  auto result = reports::check(t, achilles::analyzer::to_json(t, a), p, {});
  CHECK_FALSE(result.passed());
  CHECK(broken(result, 0) == Ids{"spof:batch-1", "spof:db-1", "spof:lb-1"});
  CHECK(broken(result, 1) == Ids{"domain_spof:az1", "domain_spof:az2", "domain_spof:region"});
  CHECK(result.rules[4].passed());
}

TEST_CASE(
    "no_spof is scoped by entrypoint labels: a SPOF counts when it takes one in scope "
    "down",
    "[reports][check]") {
  auto t = gate();
  auto a = analysis_of({finding("spof", {"lb-1"}, {"www"}), finding("spof", {"batch-1"}, {"batch"}),
                        finding("spof", {"web-1"}, {}, {"www"})});
  auto tier1 = policy("version: 1\nrules:\n  - no_spof: {entrypoints: {labels: {tier: \"1\"}}}\n");
  auto r1 = reports::check(t, a, tier1, {});
  CHECK(broken(r1, 0) == Ids{"spof:lb-1"});  // web-1 only degrades www: not a SPOF for it
  auto tier2 = policy("version: 1\nrules:\n  - no_spof: {entrypoints: {labels: {tier: '2'}}}\n");
  CHECK(broken(reports::check(t, a, tier2, {}), 0) == Ids{"spof:batch-1"});
  auto all = policy("version: 1\nrules:\n  - no_spof: {}\n");
  CHECK(broken(reports::check(t, a, all, {}), 0) == Ids{"spof:lb-1", "spof:batch-1", "spof:web-1"});
}

TEST_CASE("survive_domain_loss counts only domain SPOFs of its kind, or of every kind",
          "[reports][check]") {
  auto t = gate();
  auto a = analysis_of({finding("domain_spof", {"az1"}, {"www"}),
                        finding("domain_spof", {"region"}, {"www", "batch"}),
                        finding("spof", {"lb-1"}, {"www"})});
  auto zone = policy("version: 1\nrules:\n  - survive_domain_loss: {kind: zone}\n");
  CHECK(broken(reports::check(t, a, zone, {}), 0) == Ids{"domain_spof:az1"});
  auto region = policy("version: 1\nrules:\n  - survive_domain_loss: {kind: region}\n");
  CHECK(broken(reports::check(t, a, region, {}), 0) == Ids{"domain_spof:region"});
  auto any = policy("version: 1\nrules:\n  - survive_domain_loss\n");
  CHECK(broken(reports::check(t, a, any, {}), 0) == Ids{"domain_spof:az1", "domain_spof:region"});
}

TEST_CASE("no_cut_set counts cut sets up to max_order within its scope", "[reports][check]") {
  auto t = gate();
  auto a = analysis_of({finding("cut_set", {"web-1", "web-2"}, {"www"}),
                        finding("cut_set", {"az2", "db-1", "web-1"}, {"www"}),
                        finding("cut_set", {"az2", "lb-1"}, {"batch"})});
  auto two = policy(
      "version: 1\nrules:\n  - no_cut_set: {max_order: 2, entrypoints: {labels: {tier: '1'}}}\n");
  CHECK(broken(reports::check(t, a, two, {}), 0) == Ids{"cut_set:web-1+web-2"});
  auto three = policy("version: 1\nrules:\n  - no_cut_set: {max_order: 3}\n");
  CHECK(broken(reports::check(t, a, three, {}), 0) ==
        Ids{"cut_set:web-1+web-2", "cut_set:az2+db-1+web-1", "cut_set:az2+lb-1"});
  CHECK(reports::analysis_options_for(three).order == 3);
  CHECK(reports::analysis_options_for(reports::default_policy()).order == 1);
}

TEST_CASE("no_cut_set counts a grouped cut set by its `any`, not its subject's size",
          "[reports][check]") {
  auto t = gate();
  auto grouped = finding("cut_set", {"az2", "db-1", "lb-1", "web-1"}, {"www"});
  grouped["any"] = 2;
  grouped["count"] = 6;
  auto a = analysis_of({grouped});
  auto two = policy("version: 1\nrules:\n  - no_cut_set: {max_order: 2}\n");
  CHECK(broken(reports::check(t, a, two, {}), 0) == Ids{"cut_set:az2+db-1+lb-1+web-1"});
}

TEST_CASE("max_utilization counts overloads above its value, and lowers the threshold",
          "[reports][check]") {
  auto t = gate();
  auto hot = finding("overload", {"db-1"}, {}, {"www"});
  hot["utilization"] = 0.95;
  auto warm = finding("overload", {"web-1"}, {}, {"www"});
  warm["utilization"] = 0.75;
  auto a = analysis_of({hot, warm});
  auto p = policy("version: 1\nrules:\n  - max_utilization: {value: 0.9}\n");
  CHECK(broken(reports::check(t, a, p, {}), 0) == Ids{"overload:db-1"});
  auto low = policy("version: 1\nrules:\n  - max_utilization: {value: 0.7}\n");
  CHECK(broken(reports::check(t, a, low, {}), 0) == Ids{"overload:db-1", "overload:web-1"});
  CHECK(reports::analysis_options_for(low).threshold == Approx(0.7));
}

TEST_CASE(
    "no_capacity_spof and no_cycle count their kinds, degraded entrypoints included for "
    "capacity",
    "[reports][check]") {
  auto t = gate();
  auto a = analysis_of({finding("capacity_spof", {"web-1"}, {}, {"www"}),
                        finding("cycle", {"web-1", "web-2"}, {"www"}),
                        finding("spof", {"lb-1"}, {"www"})});
  auto p = policy(
      "version: 1\nrules:\n  - no_capacity_spof: {entrypoints: {labels: {tier: '1'}}}\n"
      "  - no_cycle: {}\n");
  auto r = reports::check(t, a, p, {});
  CHECK(broken(r, 0) == Ids{"capacity_spof:web-1"});
  CHECK(broken(r, 1) == Ids{"cycle:web-1+web-2"});
}

TEST_CASE(
    "min_availability: slo counts slo_risk findings; a number compares the computed "
    "availability",
    "[reports][check]") {
  auto t = gate();
  json eps = json::array({{{"id", "www"}, {"availability", 0.9990}, {"slo", 0.999}},
                          {{"id", "batch"}, {"availability", 0.99}}});
  auto a = analysis_of({finding("slo_risk", {"batch"}, {})}, eps);
  auto slo = policy("version: 1\nrules:\n  - min_availability: {value: slo}\n");
  CHECK(broken(reports::check(t, a, slo, {}), 0) == Ids{"slo_risk:batch"});
  auto scoped = policy(
      "version: 1\nrules:\n  - min_availability: {value: slo, entrypoints: {labels: "
      "{tier: '1'}}}\n");
  CHECK(reports::check(t, a, scoped, {}).passed());
  auto number = policy("version: 1\nrules:\n  - min_availability: {value: 0.995}\n");
  auto r = reports::check(t, a, number, {});
  REQUIRE(broken(r, 0) == Ids{"min_availability:batch"});
  CHECK(r.findings[r.rules[0].breaking[0]]["message"] ==
        "batch is available 0.99, below the policy's 0.995");
  // Without computed availabilities the rule cannot be judged and says so.
  auto bare = reports::check(t, analysis_of({}), number, {});
  CHECK(bare.passed());
  CHECK(bare.rules[0].note ==
        "availability not computed (give components and domains an availability)");
}

TEST_CASE("a finding in the baseline is reported but does not fail the gate", "[reports][check]") {
  auto t = gate();
  auto a = analysis_of({finding("spof", {"lb-1"}, {"www"}), finding("spof", {"db-1"}, {"www"})});
  auto p = policy("version: 1\nrules:\n  - no_spof: {}\n");
  auto known_all = reports::check(t, a, p, {"spof:lb-1", "spof:db-1"});
  CHECK(known_all.passed());
  CHECK(known_all.rules[0].breaking.size() == 2);
  CHECK(known_all.rules[0].new_count == 0);
  auto one_new = reports::check(t, a, p, {"spof:lb-1"});
  CHECK_FALSE(one_new.passed());
  CHECK(one_new.rules[0].new_count == 1);
  CHECK(reports::format_check_text(one_new) ==
        "achilles check: gate: FAILED: 1 rule, 1 broken, 1 new finding breaking them, 1 known "
        "from the baseline\n\nFAIL  no_spof: 1 new, 1 known\n      spof:db-1: spof:db-1 "
        "happens\n");
}

TEST_CASE("a baseline is read from analyze JSON or from check JSON", "[reports][check]") {
  auto t = gate();
  auto a = analysis_of({finding("spof", {"lb-1"}, {"www"}), finding("spof", {"db-1"}, {"www"})});
  auto p = reports::default_policy();
  auto result = reports::check(t, a, p, {});
  std::string analyze_path = "/tmp/achilles-baseline-analyze.json";
  std::string check_path = "/tmp/achilles-baseline-check.json";
  std::ofstream(analyze_path) << a.dump();
  std::ofstream(check_path) << reports::check_to_json(result).dump();
  CHECK(reports::load_baseline(analyze_path) == std::set<std::string>{"spof:db-1", "spof:lb-1"});
  CHECK(reports::load_baseline(check_path) == std::set<std::string>{"spof:db-1", "spof:lb-1"});
  std::ofstream(check_path) << "{\n  \"findings\": [\n    {\"id\": 1,}\n  ]\n}\n";
  CHECK_THROWS_WITH(
      reports::load_baseline(check_path),
      check_path + ":3:14: error: syntax error: unexpected '}'; expected string literal");
  // nlohmann's out_of_range.406 used to leak out as exit 3 without the file name.
  std::ofstream(check_path) << "{\"findings\": [], \"x\": 1e309}";
  CHECK_THROWS_WITH(reports::load_baseline(check_path),
                    check_path +
                        ":1:23: error: the number 1e309 is too large (beyond the range "
                        "of a double)");
  std::ofstream(check_path) << "{\"schema\": \"x\"}";
  CHECK_THROWS_WITH(reports::load_baseline(check_path),
                    check_path +
                        ": error: /findings: a baseline is the JSON of 'achilles analyze "
                        "--format json' or 'achilles check --json', with a 'findings' list");
  std::remove(analyze_path.c_str());
  std::remove(check_path.c_str());
}

TEST_CASE("every problem of a policy file is reported at its line and column", "[reports][check]") {
  std::string text =
      "version: 2\n"
      "rules:\n"
      "  - no_spof: {entrypoints: {labelz: {tier: \"1\"}}}\n"
      "  - no_such_rule: {}\n"
      "  - no_cut_set: {max_order: 5}\n"
      "  - max_utilization: {}\n"
      "  - min_availability: {value: 1.5}\n"
      "  - survive_domain_loss: {kind: zone, size: 3}\n"
      "colour: red\n";
  try {
    reports::parse_policy(text, "p.yaml");
    FAIL("no error");
  } catch (const InputError& e) {
    std::string all;
    for (const auto& d : e.diagnostics())
      all += d.str() + "\n";
    CHECK(all ==
          "p.yaml:1:10: error: 'version' must be 1\n"
          "p.yaml:3:29: error: unknown key 'labelz' in 'entrypoints' (expected labels)\n"
          "p.yaml:4:5: error: unknown rule 'no_such_rule' (expected no_spof, "
          "survive_domain_loss, no_cut_set, max_utilization, no_capacity_spof, "
          "min_availability, no_cycle)\n"
          "p.yaml:5:29: error: 'max_order' must be 2 or 3\n"
          "p.yaml:6:5: error: 'max_utilization' needs a 'value', such as {value: 0.8}\n"
          "p.yaml:7:31: error: 'value' must be 'slo' or an availability in (0, 1]\n"
          "p.yaml:8:39: error: unknown key 'size' for rule 'survive_domain_loss'\n"
          "p.yaml:9:1: error: unknown key 'colour' (expected version, rules)\n");
  }
  CHECK_THROWS_WITH(reports::parse_policy("version: 1\nrules: [no_spof: {]\n", "p.yaml"),
                    Catch::StartsWith("p.yaml:2:"));
  CHECK_THROWS_WITH(reports::parse_policy("version: 1\n", "p.yaml"),
                    "p.yaml:1:1: error: missing key 'rules'");
}

TEST_CASE(
    "a rule whose scope matches nothing is an error at its place in the policy, naming what "
    "exists",
    "[reports][check]") {
  auto t = gate();
  auto a = analysis_of({finding("spof", {"lb-1"}, {"www"})});
  auto errors = [&](const std::string& text) {
    try {
      reports::check(t, a, policy(text), {});
    } catch (const InputError& e) {
      std::string all;
      for (const auto& d : e.diagnostics())
        all += d.str() + "\n";
      return all;
    }
    return std::string("passed");
  };
  CHECK(errors("version: 1\nrules:\n  - survive_domain_loss: {kind: zones}\n") ==
        "policy.yaml:3:33: error: survive_domain_loss: no failure domain is of kind 'zones' (the "
        "kinds are region, zone); did you mean 'zone'?\n");
  CHECK(errors("version: 1\nrules:\n  - no_spof: {entrypoints: {labels: {teir: \"1\"}}}\n") ==
        "policy.yaml:3:38: error: no_spof: no entrypoint has the label 'teir' (the entrypoints' "
        "labels are tier); did you mean 'tier'?\n");
  CHECK(errors("version: 1\nrules:\n  - no_spof: {entrypoints: {labels: {tier: '3'}}}\n") ==
        "policy.yaml:3:38: error: no_spof: no entrypoint has tier: \"3\" (the values of tier are "
        "\"1\", \"2\")\n");
  // Each label exists, but no entrypoint has both.
  auto both = t;
  for (auto& e : both.elements)
    if (e.id == "batch") e.labels.emplace_back("team", "data");
  CHECK_THROWS_WITH(
      reports::check(both, a,
                     policy("version: 1\nrules:\n  - no_cut_set: {entrypoints: {labels: {tier: "
                            "'1', team: data}}}\n"),
                     {}),
      "policy.yaml:3:31: error: no_cut_set: no entrypoint has all of tier: \"1\", team: \"data\"");
  // Every problem at once, in policy order; a scope that matches passes.
  CHECK(errors("version: 1\nrules:\n  - survive_domain_loss: {kind: rack}\n"
               "  - no_spof: {entrypoints: {labels: {tier: \"1\"}}}\n"
               "  - min_availability: {value: slo, entrypoints: {labels: {owner: x}}}\n") ==
        "policy.yaml:3:33: error: survive_domain_loss: no failure domain is of kind 'rack' (the "
        "kinds are region, zone)\n"
        "policy.yaml:5:59: error: min_availability: no entrypoint has the label 'owner' (the "
        "entrypoints' labels are tier)\n");
}

TEST_CASE("a scope on a topology without domains or entrypoint labels says what is missing",
          "[reports][check]") {
  std::string path = "/tmp/achilles-check-bare.yaml";
  std::ofstream(path) << "version: 1\ncomponents:\n  - {id: web-1}\nentrypoints:\n"
                         "  - {id: www, target: web-1}\n";
  auto t = achilles::analyzer::load_topology(path);
  std::remove(path.c_str());
  try {
    reports::validate_scopes(policy("version: 1\nrules:\n  - survive_domain_loss: {kind: zone}\n"
                                    "  - no_spof: {entrypoints: {labels: {tier: '1'}}}\n"),
                             t);
    FAIL("no error");
  } catch (const InputError& e) {
    REQUIRE(e.diagnostics().size() == 2);
    CHECK(e.diagnostics()[0].str() ==
          "policy.yaml:3:33: error: survive_domain_loss: no failure domain is of kind 'zone' (the "
          "topology has no failure domains)");
    CHECK(e.diagnostics()[1].str() ==
          "policy.yaml:4:38: error: no_spof: no entrypoint has the label 'tier' (no entrypoint "
          "has labels)");
  }
}

TEST_CASE("a policy with hostile YAML is refused by the YAML guard, located",
          "[reports][check][hostile]") {
  CHECK_THROWS_WITH(reports::parse_policy("version: 1\nrules: &r [*r]\n", "p.yaml"),
                    "p.yaml:2:12: error: alias '*r' is inside the node its anchor is on: a node "
                    "cannot contain itself");
  CHECK_THROWS_WITH(reports::parse_policy("version: 1\nrules: [no_spof]\n---\nx: 1\n", "p.yaml"),
                    "p.yaml:3:1: error: a second YAML document: this file holds one (remove the "
                    "'---' and what follows, or the second document)");
  CHECK_THROWS_WITH(reports::parse_policy("[no_spof],", "p.yaml"),
                    "p.yaml:1:10: error: syntax error: ',' outside a list or map in brackets (a "
                    "',' separates the items of [a, b] or {a: 1, b: 2})");
}
