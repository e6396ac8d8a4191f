// SARIF 2.1.0 for `achilles check --sarif`: code review tools annotate the topology file
// at the line where each finding's subject is declared.
#include <map>

#include "achilles/reports/check.h"
#include "graph_style.h"

namespace achilles::reports {

using nlohmann::json;

namespace {

std::string rule_help(const std::string& kind) {
  if (kind == "spof") return "A component whose failure alone puts an entrypoint down.";
  if (kind == "domain_spof")
    return "A failure domain (host, rack, zone, region) whose loss puts an entrypoint down.";
  if (kind == "cut_set") return "A few components or domains that together put an entrypoint down.";
  if (kind == "overload") return "A component loaded above the utilization threshold.";
  if (kind == "capacity_spof")
    return "A single failure that pushes a surviving component above its capacity.";
  if (kind == "cycle") return "Elements that wait on each other and can never cold-start.";
  if (kind == "slo_risk") return "An entrypoint whose computed availability is below its SLO.";
  if (kind == "min_availability")
    return "An entrypoint whose computed availability is below the policy's objective.";
  return "An achilles finding of kind " + kind + ".";
}

/// A URI reference for a path as the user gave it: relative paths stay relative (to the
/// repository root in CI), absolute ones become file: URIs.
std::string uri_for(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == ' ')
      out += "%20";
    else if (c == '%')
      out += "%25";
    else
      out += c;
  }
  return !out.empty() && out[0] == '/' ? "file://" + out : out;
}

}  // namespace

json format_sarif(const CheckResult& result) {
  const auto& t = *result.topology;
  auto broken_by = result.rules_broken_by();
  json rules = json::array();
  std::map<std::string, size_t> rule_index;
  json results = json::array();
  for (size_t i = 0; i < result.findings.size(); ++i) {
    const json& f = result.findings[i];
    std::string kind = f.value("kind", "");
    if (!rule_index.count(kind)) {
      rule_index[kind] = rules.size();
      rules.push_back({{"id", kind},
                       {"name", kind},
                       {"shortDescription", {{"text", kind_legend(kind)}}},
                       {"fullDescription", {{"text", rule_help(kind)}}},
                       {"defaultConfiguration", {{"level", "error"}}}});
    }
    bool breaks = !broken_by[i].empty();
    bool fresh = f["new"].get<bool>();
    // Errors fail the gate; warnings break a rule but are known; notes break none.
    std::string level = !breaks ? "note" : fresh ? "error" : "warning";
    json policy_rules = json::array();
    for (size_t r : broken_by[i])
      policy_rules.push_back(result.rules[r].rule->title());

    json locations = json::array(), related = json::array();
    for (const auto& s : f.value("subject", json::array())) {
      if (!s.is_string()) continue;
      auto x = t.find(s.get<std::string>());
      json loc = {{"physicalLocation", {{"artifactLocation", {{"uri", uri_for(t.file)}}}}}};
      if (x && t[*x].pos.line > 0)
        loc["physicalLocation"]["region"] = {{"startLine", t[*x].pos.line},
                                             {"startColumn", std::max(1u, t[*x].pos.column)}};
      loc["message"] = {{"text", s.get<std::string>() + " is declared here"}};
      if (locations.empty()) {
        locations.push_back(loc);
      } else {
        loc["id"] = related.size();
        related.push_back(loc);
      }
    }
    if (locations.empty())
      locations.push_back(
          {{"physicalLocation", {{"artifactLocation", {{"uri", uri_for(t.file)}}}}}});
    std::string id = f.value("id", "");
    json r = {{"ruleId", kind},
              {"ruleIndex", rule_index[kind]},
              {"level", level},
              {"message", {{"text", f.value("message", id)}}},
              {"locations", locations},
              {"partialFingerprints", {{"achillesFindingId/v1", id}}},
              {"fingerprints", {{"achillesFindingId/v1", id}}},
              {"baselineState", fresh ? "new" : "unchanged"},
              {"properties",
               {{"id", id},
                {"severity", f.value("severity", "")},
                {"policyRules", policy_rules},
                {"impact", f.value("impact", json::object())}}}};
    if (!related.empty()) r["relatedLocations"] = related;
    results.push_back(std::move(r));
  }
  json run = {
      {"tool", {{"driver", {{"name", "achilles"}, {"version", "0.1.0"}, {"rules", rules}}}}},
      {"automationDetails", {{"id", "achilles/check/"}}},
      {"columnKind", "unicodeCodePoints"},
      {"results", results}};
  return {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
          {"version", "2.1.0"},
          {"runs", json::array({run})}};
}

}  // namespace achilles::reports
