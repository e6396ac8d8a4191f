// JUnit and SARIF from the gate: structure, required fields, and the lines they point at.
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/loader.h"
#include "achilles/reports/check.h"

namespace {

using nlohmann::json;
namespace reports = achilles::reports;

const std::string kGate = std::string(REPORTS_TEST_DATA) + "/gate.yaml";

struct Gate {
  achilles::analyzer::Topology topology = achilles::analyzer::load_topology(kGate);
  reports::Policy policy;
  reports::CheckResult result;

  Gate(const std::string& policy_text, std::set<std::string> baseline) {
    policy = reports::parse_policy(policy_text, "policy.yaml");
    auto a = achilles::analyzer::analyze(topology, reports::analysis_options_for(policy));
    result = reports::check(topology, achilles::analyzer::to_json(topology, a), policy,
                            std::move(baseline));
  }
};

const char* const kPolicy =
    "version: 1\n"
    "rules:\n"
    "  - no_spof: {entrypoints: {labels: {tier: \"1\"}}}\n"
    "  - survive_domain_loss: {kind: zone}\n"
    "  - no_cycle: {}\n";

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE(
    "JUnit has a failed test case per (rule, new finding), a skipped one per known finding, "
    "a passing one per rule nothing breaks",
    "[reports][junit]") {
  Gate g(kPolicy, {"domain_spof:az2"});
  std::string xml = reports::format_junit(g.result);
  // no_spof: db-1 and lb-1; survive_domain_loss: az1, and az2 known; no_cycle passes.
  CHECK(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"achilles "
                  "check\" tests=\"5\" failures=\"3\" errors=\"0\" skipped=\"1\">\n  <testsuite "
                  "name=\"achilles check: gate\" tests=\"5\" failures=\"3\" errors=\"0\" "
                  "skipped=\"1\">\n",
                  0) == 0);
  CHECK(count(xml, "<testcase ") == 5);
  CHECK(count(xml, "</testcase>") == 5);
  CHECK(count(xml, "<failure ") == 3);
  CHECK(count(xml, "<skipped ") == 1);
  CHECK(xml.find("<testcase classname=\"achilles.check.no_spof\" name=\"no_spof {entrypoints: "
                 "{labels: {tier: &quot;1&quot;}}}: spof:db-1\" file=\"" +
                 kGate +
                 "\">\n      <failure type=\"spof\" message=\"spof:db-1: db-1 is a "
                 "single point of failure for www\">") != std::string::npos);
  // The known zone failure is reported, not failed.
  CHECK(xml.find("<failure type=\"domain_spof\" message=\"domain_spof:az1:") != std::string::npos);
  CHECK(xml.find("<failure type=\"domain_spof\" message=\"domain_spof:az2:") == std::string::npos);
  CHECK(xml.find("<testcase classname=\"achilles.check.survive_domain_loss\" "
                 "name=\"survive_domain_loss {kind: zone}: domain_spof:az2\" file=\"" +
                 kGate +
                 "\">\n      <skipped message=\"known from the baseline: domain_spof:az2: losing "
                 "zone az2 takes down batch\"/>\n    </testcase>\n") != std::string::npos);
  // The rule nothing breaks is a passing test case.
  CHECK(xml.find("<testcase classname=\"achilles.check.no_cycle\" name=\"no_cycle\" file=\"" +
                 kGate + "\">\n    </testcase>") != std::string::npos);
  CHECK(xml.substr(xml.size() - 29) == "  </testsuite>\n</testsuites>\n");
}

TEST_CASE("SARIF has the required fields of 2.1.0 and one result per finding", "[reports][sarif]") {
  Gate g(kPolicy, {"domain_spof:az2"});
  json sarif = reports::format_sarif(g.result);
  CHECK(sarif["version"] == "2.1.0");
  CHECK(sarif["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json");
  REQUIRE(sarif["runs"].is_array());
  REQUIRE(sarif["runs"].size() == 1);
  const json& run = sarif["runs"][0];
  CHECK(run["tool"]["driver"]["name"] == "achilles");
  const json& rules = run["tool"]["driver"]["rules"];
  REQUIRE(run["results"].size() == g.result.findings.size());
  for (const json& r : run["results"]) {
    // Required by the schema: message with text; ruleIndex within the rules array.
    REQUIRE(r["message"]["text"].is_string());
    CHECK_FALSE(r["message"]["text"].get<std::string>().empty());
    REQUIRE(r["ruleIndex"].get<size_t>() < rules.size());
    CHECK(rules[r["ruleIndex"].get<size_t>()]["id"] == r["ruleId"]);
    CHECK((r["level"] == "error" || r["level"] == "warning" || r["level"] == "note"));
    CHECK((r["baselineState"] == "new" || r["baselineState"] == "unchanged"));
    REQUIRE(r["locations"].size() == 1);
    const json& loc = r["locations"][0]["physicalLocation"];
    CHECK(loc["artifactLocation"]["uri"] == "file://" + kGate);
    CHECK(loc["region"]["startLine"].get<int>() >= 1);
    CHECK(loc["region"]["startColumn"].get<int>() >= 1);
    CHECK(r["partialFingerprints"]["achillesFindingId/v1"] == r["properties"]["id"]);
    CHECK(r["fingerprints"]["achillesFindingId/v1"] == r["properties"]["id"]);
  }
  for (const json& rule : rules) {
    CHECK(rule["id"].is_string());
    CHECK(rule["shortDescription"]["text"].is_string());
  }
}

TEST_CASE("SARIF locates each finding at the line where its subject is declared",
          "[reports][sarif]") {
  Gate g(kPolicy, {"domain_spof:az2"});
  json sarif = reports::format_sarif(g.result);
  std::map<std::string, json> by_id;
  for (const json& r : sarif["runs"][0]["results"])
    by_id[r["properties"]["id"].get<std::string>()] = r;
  auto line_of = [&](const std::string& id) {
    return by_id.at(id)["locations"][0]["physicalLocation"]["region"]["startLine"].get<int>();
  };
  CHECK(line_of("spof:lb-1") == 9);   // a flow map on one line
  CHECK(line_of("spof:db-1") == 12);  // a block map: the line of `- id: db-1`
  CHECK(line_of("spof:batch-1") == 15);
  CHECK(line_of("domain_spof:az1") == 6);
  CHECK(line_of("domain_spof:region") == 5);
  // Levels: new and breaking is an error, known is a warning, outside the policy a note.
  CHECK(by_id["spof:lb-1"]["level"] == "error");
  CHECK(by_id["domain_spof:az2"]["level"] == "warning");
  CHECK(by_id["domain_spof:az2"]["baselineState"] == "unchanged");
  CHECK(by_id["spof:batch-1"]["level"] == "note");        // tier 2: outside no_spof's scope
  CHECK(by_id["domain_spof:region"]["level"] == "note");  // a region, not a zone
  CHECK(by_id["spof:lb-1"]["properties"]["policyRules"] ==
        json::array({"no_spof {entrypoints: {labels: {tier: \"1\"}}}"}));
}

TEST_CASE("a cut set in SARIF points at its first element and relates the others",
          "[reports][sarif]") {
  Gate g("version: 1\nrules:\n  - no_cut_set: {max_order: 2}\n", {});
  json sarif = reports::format_sarif(g.result);
  const json* cut = nullptr;
  for (const json& r : sarif["runs"][0]["results"])
    if (r["properties"]["id"] == "cut_set:web-1+web-2") cut = &r;
  REQUIRE(cut);
  CHECK((*cut)["locations"][0]["physicalLocation"]["region"]["startLine"] == 10);
  REQUIRE((*cut)["relatedLocations"].size() == 1);
  CHECK((*cut)["relatedLocations"][0]["physicalLocation"]["region"]["startLine"] == 11);
  CHECK((*cut)["relatedLocations"][0]["id"] == 0);
}
