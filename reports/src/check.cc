// One file past 500 lines: the policy's reading, the check of its scopes against the topology and
// the evaluation of its rules share the rule types and their positions.
#include "achilles/reports/check.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>

#include "achilles/analyzer/json_input.h"
#include "achilles/analyzer/suggest.h"
#include "achilles/common/diagnostic.h"
#include "achilles/common/input_file.h"
#include "achilles/common/yaml_guard.h"

namespace achilles::reports {

using analyzer::Diagnostic;
using analyzer::ElementKind;
using analyzer::InputError;
using analyzer::SourcePos;
using analyzer::Topology;
using analyzer::UsageError;
using nlohmann::json;

namespace {

const char* const kRuleNames[] = {"no_spof",         "survive_domain_loss", "no_cut_set",
                                  "max_utilization", "no_capacity_spof",    "min_availability",
                                  "no_cycle"};

/// The finding kind each rule is about.
std::string kind_of_rule(std::string_view rule) {
  if (rule == "no_spof") return "spof";
  if (rule == "survive_domain_loss") return "domain_spof";
  if (rule == "no_cut_set") return "cut_set";
  if (rule == "max_utilization") return "overload";
  if (rule == "no_capacity_spof") return "capacity_spof";
  if (rule == "min_availability") return "slo_risk";
  if (rule == "no_cycle") return "cycle";
  return "";
}

/// Kinds whose impact is about entrypoints going down; the others also count degraded ones.
bool about_downtime(std::string_view kind) {
  return kind == "spof" || kind == "domain_spof" || kind == "cut_set" || kind == "cycle";
}

std::string number_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

/// Parses one policy document, collecting every problem.
class PolicyParser {
 public:
  explicit PolicyParser(std::string file) : file_(std::move(file)) {}

  Policy parse(std::string_view text) {
    Policy policy;
    policy.file = file_;
    YAML::Node root;
    // The guard first: aliases that refer to themselves or expand without bound, depth,
    // UTF-8, a second document.
    if (!common::check_yaml(text, file_, common::YamlDocuments::kOne, diagnostics_))
      throw InputError(std::move(diagnostics_));
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      error(e.mark, e.msg);
      throw InputError(std::move(diagnostics_));
    }
    if (!root.IsMap()) {
      error(root.Mark(), "a policy is a map with 'version' and 'rules'");
      throw InputError(std::move(diagnostics_));
    }
    bool has_version = false;
    for (const auto& entry : root) {
      std::string key = entry.first.Scalar();
      if (key == "version") {
        has_version = true;
        if (!entry.second.IsScalar() || entry.second.Scalar() != "1")
          error(entry.second.Mark(), "'version' must be 1");
      } else if (key == "rules") {
        parse_rules(entry.second, policy);
      } else {
        error(entry.first.Mark(), "unknown key '" + key + "' (expected version, rules)");
      }
    }
    if (!has_version) error(root.Mark(), "missing key 'version'");
    if (!root["rules"]) error(root.Mark(), "missing key 'rules'");
    if (!diagnostics_.empty()) throw InputError(std::move(diagnostics_));
    return policy;
  }

 private:
  void error(const YAML::Mark& mark, std::string message) {
    Diagnostic d;
    d.file = file_;
    if (mark.line >= 0) {
      d.pos.line = static_cast<uint32_t>(mark.line + 1);
      d.pos.column = static_cast<uint32_t>(mark.column + 1);
    }
    d.message = std::move(message);
    diagnostics_.push_back(std::move(d));
  }

  static SourcePos pos_of(const YAML::Mark& mark) {
    return {static_cast<uint32_t>(mark.line + 1), static_cast<uint32_t>(mark.column + 1)};
  }

  void parse_rules(const YAML::Node& rules, Policy& policy) {
    if (!rules.IsSequence()) {
      error(rules.Mark(), "'rules' must be a list");
      return;
    }
    for (const auto& item : rules) {
      if (item.IsScalar()) {
        // '- no_cycle' is accepted as '- no_cycle: {}'.
        parse_rule(item, YAML::Node(), item.Mark(), policy);
        continue;
      }
      if (!item.IsMap() || item.size() != 1) {
        error(item.Mark(), "a rule is a map with one key, the rule's name, such as 'no_spof: {}'");
        continue;
      }
      auto entry = *item.begin();
      parse_rule(entry.first, entry.second, item.Mark(), policy);
    }
  }

  void parse_rule(const YAML::Node& name_node, const YAML::Node& options, const YAML::Mark& at,
                  Policy& policy) {
    Rule rule;
    rule.name = name_node.Scalar();
    rule.pos = pos_of(at);
    if (std::find(std::begin(kRuleNames), std::end(kRuleNames), rule.name) ==
        std::end(kRuleNames)) {
      error(
          name_node.Mark(), "unknown rule '" + rule.name +
                                "' (expected no_spof, survive_domain_loss, no_cut_set, "
                                "max_utilization, no_capacity_spof, min_availability, "
                                "no_cycle)" +
                                [&] {
                                  analyzer::Suggestion s(rule.name);
                                  for (const char* n : kRuleNames)
                                    s.consider(n);
                                  return s.did_you_mean();
                                }());
      return;
    }
    bool ok = true;
    bool has_value = false;
    if (options && !options.IsNull()) {
      if (!options.IsMap()) {
        error(options.Mark(), "the options of '" + rule.name + "' must be a map");
        return;
      }
      for (const auto& entry : options) {
        std::string key = entry.first.Scalar();
        const YAML::Node& v = entry.second;
        if (key == "entrypoints") {
          ok &= parse_scope(v, rule);
        } else if (key == "kind" && rule.name == "survive_domain_loss") {
          if (!v.IsScalar() || v.Scalar().empty()) {
            error(v.Mark(), "'kind' must be a domain kind such as zone");
            ok = false;
          } else {
            rule.domain_kind = v.Scalar();
            rule.kind_pos = pos_of(v.Mark());
          }
        } else if (key == "max_order" && rule.name == "no_cut_set") {
          auto order = number(v);
          if (!order || (*order != 2 && *order != 3)) {
            error(v.Mark(), "'max_order' must be 2 or 3");
            ok = false;
          } else {
            rule.max_order = static_cast<unsigned>(*order);
          }
        } else if (key == "value" && rule.name == "max_utilization") {
          has_value = true;
          auto value = number(v);
          if (!value || *value <= 0) {
            error(v.Mark(), "'value' must be a utilization above 0, such as 0.8");
            ok = false;
          } else {
            rule.value = value;
          }
        } else if (key == "value" && rule.name == "min_availability") {
          has_value = true;
          if (v.IsScalar() && v.Scalar() == "slo") continue;
          auto value = number(v);
          if (!value || *value <= 0 || *value > 1) {
            error(v.Mark(), "'value' must be 'slo' or an availability in (0, 1]");
            ok = false;
          } else {
            rule.value = value;
          }
        } else {
          error(entry.first.Mark(), "unknown key '" + key + "' for rule '" + rule.name + "'");
          ok = false;
        }
      }
    }
    if (rule.name == "max_utilization" && !has_value) {
      error(at, "'max_utilization' needs a 'value', such as {value: 0.8}");
      ok = false;
    }
    if (ok) policy.rules.push_back(std::move(rule));
  }

  bool parse_scope(const YAML::Node& v, Rule& rule) {
    if (!v.IsMap()) {
      error(v.Mark(), "'entrypoints' must be a map such as {labels: {tier: \"1\"}}");
      return false;
    }
    bool ok = true;
    rule.scope_pos = pos_of(v.Mark());
    for (const auto& entry : v) {
      std::string key = entry.first.Scalar();
      if (key != "labels") {
        error(entry.first.Mark(), "unknown key '" + key + "' in 'entrypoints' (expected labels)");
        ok = false;
        continue;
      }
      if (!entry.second.IsMap()) {
        error(entry.second.Mark(), "'labels' must be a map of strings");
        ok = false;
        continue;
      }
      for (const auto& label : entry.second) {
        if (!label.second.IsScalar()) {
          error(label.second.Mark(), "a label's value must be a string");
          ok = false;
          continue;
        }
        rule.entrypoint_labels.emplace_back(label.first.Scalar(), label.second.Scalar());
        rule.label_pos.push_back(pos_of(label.first.Mark()));
      }
    }
    return ok;
  }

  static std::optional<double> number(const YAML::Node& v) {
    if (!v.IsScalar()) return std::nullopt;
    const std::string& s = v.Scalar();
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !std::isfinite(d)) return std::nullopt;
    return d;
  }

  std::string file_;
  std::vector<Diagnostic> diagnostics_;
};

std::set<std::string> ids_of(const json& list) {
  std::set<std::string> ids;
  for (const auto& id : list)
    if (id.is_string()) ids.insert(id.get<std::string>());
  return ids;
}

}  // namespace

std::string Rule::title() const {
  std::string options;
  auto add = [&](const std::string& s) { options += (options.empty() ? "" : ", ") + s; };
  if (!domain_kind.empty()) add("kind: " + domain_kind);
  if (name == "no_cut_set") add("max_order: " + std::to_string(max_order));
  if (name == "max_utilization" && value) add("value: " + number_text(*value));
  if (name == "min_availability") add(value ? "value: " + number_text(*value) : "value: slo");
  if (!entrypoint_labels.empty()) {
    std::string labels;
    for (const auto& [k, v] : entrypoint_labels)
      labels += (labels.empty() ? "" : ", ") + k + ": \"" + v + "\"";
    add("entrypoints: {labels: {" + labels + "}}");
  }
  return options.empty() ? name : name + " {" + options + "}";
}

Policy default_policy() {
  Policy p;
  for (const char* name :
       {"no_spof", "survive_domain_loss", "no_capacity_spof", "min_availability", "no_cycle"}) {
    Rule r;
    r.name = name;
    p.rules.push_back(std::move(r));
  }
  return p;
}

Policy parse_policy(std::string_view text, const std::string& file) {
  return PolicyParser(file).parse(text);
}

Policy load_policy(const std::string& path) {
  return parse_policy(common::read_input_file(path), path);
}

std::set<std::string> load_baseline(const std::string& path) {
  return parse_baseline(common::read_input_file(path), path);
}

std::set<std::string> parse_baseline(std::string_view text, const std::string& path) {
  // Located and in Achilles' words: nlohmann's exceptions (1e309 is out_of_range.406) never
  // reach the user.
  json doc = analyzer::parse_json_input(text, path);
  if (!doc.is_object() || !doc.contains("findings") || !doc["findings"].is_array()) {
    Diagnostic d;
    d.file = path;
    d.path = "/findings";
    d.message =
        "a baseline is the JSON of 'achilles analyze --format json' or 'achilles check "
        "--json', with a 'findings' list";
    throw InputError({d});
  }
  std::set<std::string> ids;
  for (const auto& f : doc["findings"])
    if (f.is_object() && f.contains("id") && f["id"].is_string())
      ids.insert(f["id"].get<std::string>());
  return ids;
}

analyzer::AnalysisOptions analysis_options_for(const Policy& policy) {
  analyzer::AnalysisOptions options;
  options.order = 1;
  for (const Rule& r : policy.rules) {
    if (r.name == "no_cut_set") options.order = std::max(options.order, r.max_order);
    if (r.name == "max_utilization" && r.value)
      options.threshold = std::min(options.threshold, *r.value);
  }
  return options;
}

bool CheckResult::passed() const {
  return std::all_of(rules.begin(), rules.end(), [](const RuleResult& r) { return r.passed(); });
}

std::vector<size_t> CheckResult::breaking() const {
  std::set<size_t> all;
  for (const auto& r : rules)
    all.insert(r.breaking.begin(), r.breaking.end());
  return {all.begin(), all.end()};
}

std::vector<std::vector<size_t>> CheckResult::rules_broken_by() const {
  std::vector<std::vector<size_t>> by(findings.size());
  for (size_t r = 0; r < rules.size(); ++r)
    for (size_t f : rules[r].breaking)
      by[f].push_back(r);
  return by;
}

void validate_scopes(const Policy& policy, const Topology& topology) {
  std::vector<Diagnostic> problems;
  auto problem = [&](SourcePos pos, std::string message) {
    Diagnostic d;
    d.file = policy.file;
    d.pos = pos;
    d.message = std::move(message);
    problems.push_back(std::move(d));
  };
  auto quoted_list = [](const std::set<std::string>& items, bool quote) {
    std::string out;
    for (const auto& i : items)
      out += (out.empty() ? "" : ", ") + (quote ? "\"" + i + "\"" : i);
    return out;
  };
  // What exists: the domain kinds, and each label key of the entrypoints with its values.
  std::set<std::string> domain_kinds;
  std::map<std::string, std::set<std::string>> labels;
  std::vector<const analyzer::Element*> entrypoints;
  for (const auto& e : topology.elements) {
    if (e.kind == ElementKind::kDomain && !e.type.empty()) domain_kinds.insert(e.type);
    if (e.kind != ElementKind::kEntrypoint) continue;
    entrypoints.push_back(&e);
    for (const auto& [k, v] : e.labels)
      labels[k].insert(v);
  }
  for (const Rule& rule : policy.rules) {
    if (!rule.domain_kind.empty() && !domain_kinds.count(rule.domain_kind)) {
      analyzer::Suggestion s(rule.domain_kind);
      for (const auto& k : domain_kinds)
        s.consider(k);
      problem(rule.kind_pos,
              rule.name + ": no failure domain is of kind '" + rule.domain_kind + "' (" +
                  (domain_kinds.empty() ? std::string(topology.count(ElementKind::kDomain) == 0
                                                          ? "the topology has no failure domains"
                                                          : "no failure domain has a kind")
                                        : "the kinds are " + quoted_list(domain_kinds, false)) +
                  ")" + s.did_you_mean());
    }
    if (rule.entrypoint_labels.empty()) continue;
    bool each_exists = true;
    for (size_t i = 0; i < rule.entrypoint_labels.size(); ++i) {
      const auto& [key, value] = rule.entrypoint_labels[i];
      SourcePos pos = i < rule.label_pos.size() ? rule.label_pos[i] : rule.pos;
      auto it = labels.find(key);
      if (it == labels.end()) {
        each_exists = false;
        analyzer::Suggestion s(key);
        std::set<std::string> keys;
        for (const auto& l : labels) {
          keys.insert(l.first);
          s.consider(l.first);
        }
        problem(pos,
                rule.name + ": no entrypoint has the label '" + key + "' (" +
                    (keys.empty() ? std::string("no entrypoint has labels")
                                  : "the entrypoints' labels are " + quoted_list(keys, false)) +
                    ")" + s.did_you_mean());
      } else if (!it->second.count(value)) {
        each_exists = false;
        analyzer::Suggestion s(value);
        for (const auto& v : it->second)
          s.consider(v);
        problem(pos, rule.name + ": no entrypoint has " + key + ": \"" + value +
                         "\" (the values of " + key + " are " + quoted_list(it->second, true) +
                         ")" + s.did_you_mean());
      }
    }
    if (!each_exists) continue;
    bool any = std::any_of(entrypoints.begin(), entrypoints.end(), [&](const auto* e) {
      return std::all_of(
          rule.entrypoint_labels.begin(), rule.entrypoint_labels.end(), [&](const auto& kv) {
            return std::find(e->labels.begin(), e->labels.end(), kv) != e->labels.end();
          });
    });
    if (!any) {
      std::string all;
      for (const auto& [k, v] : rule.entrypoint_labels)
        all += (all.empty() ? "" : ", ") + k + ": \"" + v + "\"";
      problem(rule.scope_pos, rule.name + ": no entrypoint has all of " + all);
    }
  }
  if (!problems.empty()) throw InputError(std::move(problems));
}

CheckResult check(const Topology& topology, const json& analysis, const Policy& policy,
                  const std::set<std::string>& baseline) {
  validate_scopes(policy, topology);
  CheckResult result;
  result.topology = &topology;
  result.policy = &policy;
  for (const auto& f : analysis.value("findings", json::array())) {
    json copy = f;
    copy["new"] = baseline.count(f.value("id", "")) == 0;
    result.findings.push_back(std::move(copy));
  }
  // Entrypoint availabilities, where the analysis computed them.
  std::map<std::string, json> entrypoints;
  for (const auto& e : analysis.value("entrypoints", json::array()))
    entrypoints[e.value("id", "")] = e;

  for (const Rule& rule : policy.rules) {
    RuleResult rr;
    rr.rule = &rule;
    // The entrypoints in scope.
    std::set<std::string> scope;
    bool everything = rule.entrypoint_labels.empty();
    for (const auto& e : topology.elements) {
      if (e.kind != ElementKind::kEntrypoint) continue;
      bool match = std::all_of(
          rule.entrypoint_labels.begin(), rule.entrypoint_labels.end(), [&](const auto& kv) {
            return std::find(e.labels.begin(), e.labels.end(), kv) != e.labels.end();
          });
      if (match) scope.insert(e.id);
    }
    const std::string kind = kind_of_rule(rule.name);

    if (rule.name == "min_availability" && rule.value) {
      // A numeric objective: judged on the computed availability, one finding per
      // entrypoint below it.
      bool any_computed = false;
      for (const auto& id : scope) {
        auto it = entrypoints.find(id);
        if (it == entrypoints.end() || !it->second.contains("availability")) continue;
        any_computed = true;
        double a = it->second["availability"].get<double>();
        if (a >= *rule.value) continue;
        json f = {{"id", "min_availability:" + id},
                  {"kind", "min_availability"},
                  {"severity", "high"},
                  {"subject", {id}},
                  {"message", id + " is available " + number_text(a) + ", below the policy's " +
                                  number_text(*rule.value)},
                  {"impact",
                   {{"entrypoints_down", json::array()},
                    {"entrypoints_degraded", json::array()},
                    {"components_down", 0},
                    {"services_down", 0}}},
                  {"explanation", {id}}};
        f["new"] = baseline.count(f["id"].get<std::string>()) == 0;
        result.findings.push_back(std::move(f));
        rr.breaking.push_back(result.findings.size() - 1);
      }
      if (!any_computed && !scope.empty())
        rr.note = "availability not computed (give components and domains an availability)";
    } else {
      for (size_t i = 0; i < result.findings.size(); ++i) {
        const json& f = result.findings[i];
        if (f.value("kind", "") != kind) continue;
        const auto& subject = f.value("subject", json::array());
        // A grouped cut set (analysis-json.md) is of order `any`, however large its subject.
        const auto any = f.find("any");
        const size_t order = any != f.end() && any->is_number_integer() && *any > 0
                                 ? any->get<size_t>()
                                 : subject.size();
        if (rule.name == "no_cut_set" && order > rule.max_order) continue;
        if (rule.name == "survive_domain_loss" && !rule.domain_kind.empty()) {
          if (subject.size() != 1 || !subject[0].is_string()) continue;
          auto d = topology.find(subject[0].get<std::string>());
          if (!d || topology[*d].type != rule.domain_kind) continue;
        }
        if (rule.name == "max_utilization" && rule.value && f.contains("utilization") &&
            f["utilization"].is_number() && f["utilization"].get<double>() <= *rule.value)
          continue;
        if (!everything) {
          const auto& impact = f.value("impact", json::object());
          auto touched = ids_of(impact.value("entrypoints_down", json::array()));
          if (!about_downtime(kind)) {
            auto degraded = ids_of(impact.value("entrypoints_degraded", json::array()));
            touched.insert(degraded.begin(), degraded.end());
            // slo_risk's subject is the entrypoint itself.
            if (kind == "slo_risk")
              for (const auto& s : subject)
                if (s.is_string()) touched.insert(s.get<std::string>());
          }
          bool hit = std::any_of(touched.begin(), touched.end(),
                                 [&](const std::string& id) { return scope.count(id) > 0; });
          if (!hit) continue;
        }
        rr.breaking.push_back(i);
      }
    }
    for (size_t i : rr.breaking)
      if (result.findings[i]["new"].get<bool>()) ++rr.new_count;
    result.rules.push_back(std::move(rr));
  }
  return result;
}

std::string format_check_text(const CheckResult& result) {
  const Topology& t = *result.topology;
  std::ostringstream out;
  std::string name = t.name.empty() ? t.file : t.name;
  size_t broken = 0, new_findings = 0, known = 0;
  for (const auto& r : result.rules)
    if (!r.passed()) ++broken;
  auto breaking = result.breaking();
  for (size_t i : breaking)
    (result.findings[i]["new"].get<bool>() ? new_findings : known)++;
  out << "achilles check: " << name << ": " << (result.passed() ? "PASSED" : "FAILED") << ": "
      << result.rules.size() << " rule" << (result.rules.size() == 1 ? "" : "s") << ", " << broken
      << " broken, " << new_findings << " new finding" << (new_findings == 1 ? "" : "s")
      << " breaking them";
  if (known) out << ", " << known << " known from the baseline";
  out << "\n";
  for (const auto& r : result.rules) {
    out << "\n" << (r.passed() ? "pass  " : "FAIL  ") << r.rule->title();
    if (!r.breaking.empty())
      out << ": " << r.new_count << " new, " << r.breaking.size() - r.new_count << " known";
    out << "\n";
    if (!r.note.empty()) out << "      note: " << r.note << "\n";
    for (size_t i : r.breaking) {
      const json& f = result.findings[i];
      if (!f["new"].get<bool>()) continue;
      out << "      " << f.value("id", "") << ": " << f.value("message", "") << "\n";
    }
  }
  return out.str();
}

json check_to_json(const CheckResult& result) {
  const Topology& t = *result.topology;
  json rules = json::array();
  for (const auto& r : result.rules) {
    json ids = json::array(), fresh = json::array();
    for (size_t i : r.breaking) {
      ids.push_back(result.findings[i]["id"]);
      if (result.findings[i]["new"].get<bool>()) fresh.push_back(result.findings[i]["id"]);
    }
    json j = {{"rule", r.rule->name},
              {"title", r.rule->title()},
              {"passed", r.passed()},
              {"findings", ids},
              {"new", fresh}};
    if (!r.note.empty()) j["note"] = r.note;
    rules.push_back(std::move(j));
  }
  json findings = json::array();
  for (const auto& f : result.findings)
    findings.push_back(f);
  return {{"schema", "achilles.check/v1"},
          {"topology", {{"name", t.name}, {"file", t.file}}},
          {"policy", result.policy->file.empty() ? json("default") : json(result.policy->file)},
          {"passed", result.passed()},
          {"rules", std::move(rules)},
          {"findings", std::move(findings)}};
}

}  // namespace achilles::reports
