// `achilles check`: the pre-release gate of spec policy.md. A policy is a list of rules;
// a finding breaks a rule when its kind is the rule's and its impact touches the rule's
// scope; a broken rule fails the gate unless every finding breaking it is in the baseline.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/model.h"

namespace achilles::reports {

/// One rule of a policy.
struct Rule {
  /// no_spof, survive_domain_loss, no_cut_set, max_utilization, no_capacity_spof,
  /// min_availability or no_cycle.
  std::string name;
  /// The entrypoints it is about: those carrying every one of these labels; empty: all.
  analyzer::StringMap entrypoint_labels;
  /// Where each label is written (its key), parallel to entrypoint_labels, and where the
  /// `entrypoints` map starts: a scope that matches nothing is reported there.
  std::vector<analyzer::SourcePos> label_pos;
  analyzer::SourcePos scope_pos;
  /// survive_domain_loss: the domain kind (`zone`); empty: every kind.
  std::string domain_kind;
  /// Where the kind is written.
  analyzer::SourcePos kind_pos;
  /// no_cut_set: the largest cut set that breaks the rule (2 or 3).
  unsigned max_order = 2;
  /// max_utilization: the limit; min_availability: the objective, absent for `slo`.
  std::optional<double> value;
  /// Where the rule is written in the policy file; line 0 for the default policy.
  analyzer::SourcePos pos;

  /// The rule as a person reads it: `no_spof {tier: 1}`, `survive_domain_loss {kind: zone}`.
  std::string title() const;
};

/// A whole policy file.
struct Policy {
  /// The path it was read from; empty for the default policy.
  std::string file;
  std::vector<Rule> rules;
};

/// The rules that apply without --policy: no_spof, survive_domain_loss for every kind,
/// no_capacity_spof, min_availability: slo and no_cycle, each over every entrypoint.
Policy default_policy();

/// Reads a policy (YAML, or JSON which is YAML). Throws analyzer::InputError with every
/// problem located (`P:LINE:COL: error: ...`), analyzer::UsageError if it cannot be read.
Policy load_policy(const std::string& path);
/// The same from text; `file` names it in diagnostics.
Policy parse_policy(std::string_view text, const std::string& file);

/// The finding ids of an earlier `analyze --format json` or `check --json` output.
/// Throws analyzer::UsageError (unreadable) or analyzer::InputError (not such a document).
std::set<std::string> load_baseline(const std::string& path);
/// The same, from the text of a baseline; `file` names it in messages.
std::set<std::string> parse_baseline(std::string_view text, const std::string& file);

/// The analysis options a policy needs: the deepest cut set and the lowest utilization
/// limit it asks about.
analyzer::AnalysisOptions analysis_options_for(const Policy& policy);

/// The verdict on one rule.
struct RuleResult {
  const Rule* rule = nullptr;
  /// Indexes into CheckResult::findings of the findings that break it.
  std::vector<size_t> breaking;
  /// Of those, how many are not in the baseline.
  size_t new_count = 0;
  /// Why the rule could not be judged (an availability that is not computed), or empty.
  std::string note;
  bool passed() const { return new_count == 0; }
};

/// The verdict on a topology.
struct CheckResult {
  const analyzer::Topology* topology = nullptr;
  const Policy* policy = nullptr;
  /// Every finding of the analysis (the objects of analysis-json.md), plus one per
  /// entrypoint below a numeric min_availability; each has a boolean "new" added
  /// (false when its id is in the baseline).
  std::vector<nlohmann::json> findings;
  /// One per rule of the policy, in policy order.
  std::vector<RuleResult> rules;

  /// No rule is broken by a new finding.
  bool passed() const;
  /// Indexes of the findings that break some rule, most severe first.
  std::vector<size_t> breaking() const;
  /// The rules (by index) each finding breaks.
  std::vector<std::vector<size_t>> rules_broken_by() const;
};

/// Every rule whose scope matches nothing in `topology`: a domain kind no domain has, or
/// entrypoint labels no entrypoint carries (a typo must not pass the gate). Throws
/// analyzer::InputError located in the policy file, naming the kinds or labels that exist.
void validate_scopes(const Policy& policy, const analyzer::Topology& topology);

/// Judges the findings of `analysis` (the document of analyzer::to_json) against `policy`.
/// Calls validate_scopes() first.
CheckResult check(const analyzer::Topology& topology, const nlohmann::json& analysis,
                  const Policy& policy, const std::set<std::string>& baseline);

/// The summary printed on stdout: the verdict, each broken rule, each new finding.
std::string format_check_text(const CheckResult& result);

/// The JSON result (`achilles.check/v1`); usable as a later --baseline.
nlohmann::json check_to_json(const CheckResult& result);

/// JUnit XML: one test case per (rule, new finding that breaks it), failed, and one passing
/// test case per rule that no new finding breaks; so `tests` counts test cases and
/// `failures` the failed ones among them.
std::string format_junit(const CheckResult& result);

/// SARIF 2.1.0: one result per finding, located at its subject's declaration.
nlohmann::json format_sarif(const CheckResult& result);

}  // namespace achilles::reports
