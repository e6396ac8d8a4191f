// What a change set does (spec whatif.md, "Commands"): the analyses of a topology before and
// after an overlay compared finding by finding (by id), with the critical counts and each
// entrypoint's availability on both sides; and `recommend`, the greedy plan of changes drawn
// from the findings, each one measured by re-analysis with every earlier change applied.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/model.h"
#include "achilles/analyzer/overlay.h"

namespace achilles::analyzer {

/// How much harm one analysis shows: what recommend ranks changes by.
struct HarmCounts {
  size_t findings = 0;
  size_t critical = 0;
  size_t high = 0;
  /// Distinct entrypoints that some finding takes down.
  size_t entrypoints_down = 0;
  /// The entrypoints each finding takes down, summed over the findings: what recommend ranks
  /// by after the critical findings (the distinct ones rarely change).
  size_t entrypoint_losses = 0;
};

HarmCounts harm_counts(const Analysis& analysis);

/// One entrypoint's availability before and after; nullopt where that side has none (the
/// entrypoint does not exist there, or the analysis computed no availability).
struct AvailabilityChange {
  std::string id;
  std::optional<double> before, after;
};

/// The analysis after a change set against the one before.
struct WhatIfDiff {
  HarmCounts before, after;
  /// Finding ids (Finding::id()), sorted: in before only, in after only, in both.
  std::vector<std::string> resolved, added, unchanged;
  /// Every entrypoint of either side, the before side's order first.
  std::vector<AvailabilityChange> availability;
};

WhatIfDiff diff_analyses(const Analysis& before, const Analysis& after);

/// The document of `achilles whatif --format json` (schema achilles.whatif/v1); `changes`
/// is the number of changes applied.
nlohmann::json to_json(const WhatIfDiff& diff, size_t changes);

struct RecommendOptions {
  /// At most this many changes.
  size_t max_changes = 10;
  /// The kinds of change it may propose (add_member, scale, move, set).
  std::set<ChangeKind> allow = {ChangeKind::kAddMember, ChangeKind::kScale, ChangeKind::kMove,
                                ChangeKind::kSet};
  /// How the topology is analyzed, before and after each candidate.
  AnalysisOptions analysis;
  /// The risk groups (most harmful first) that each step draws candidates from.
  size_t groups_per_step = 8;
  /// The domain_spof findings that each step draws a spread from (those whose services hold
  /// the most critical findings first): every service that lacks redundancy and whose
  /// members all lie in the domain gets a member outside it, as one change.
  size_t spreads_per_step = 4;
  /// Called after each re-analysis: the step (from 1) and how many candidates it has tried.
  std::function<void(size_t step, size_t tried, size_t candidates)> progress;
};

/// One recommended change and its measured effect, with every earlier change applied.
struct PlanStep {
  /// The overlay entries of the change: one, or for a spread one add_member per service
  /// spread out of the domain; they are measured, and stand or fall, together.
  std::vector<Change> changes;
  /// The change's kind: its entry's (add_member, scale, move, set), or `spread`.
  std::string kind;
  /// Why it was proposed: the risk group it comes from (its fix), and one line for a person.
  std::string group, reason;
  /// Finding ids resolved and introduced by this change (against the step before).
  std::vector<std::string> resolved, introduced;
  HarmCounts after;
};

struct Plan {
  HarmCounts before;
  std::vector<PlanStep> steps;
  /// Every analysis run (the first included), and how long each took, in seconds.
  size_t analyses = 0;
  std::vector<double> analysis_seconds;
  /// Candidates tried, over all steps.
  size_t candidates = 0;
  /// Each entrypoint's availability before the first change and after the last.
  std::vector<AvailabilityChange> availability;
};

/// The greedy plan of at most options.max_changes changes (spec whatif.md): at each step the
/// candidates drawn from the current findings' most harmful groups are each applied on top of
/// the changes so far and re-analyzed, and the one that removes the most critical findings
/// (then entrypoints down, then high findings) is kept; it stops early when no candidate
/// removes any.
Plan recommend(const Topology& topology, const RecommendOptions& options);

/// A plan that was written by hand (or by `recommend --format yaml`), measured as recommend
/// measures its own: each entry of the overlay a step, applied with the entries above it to
/// the original topology and analyzed whole (options.analysis; the other options unused).
/// Throws InputError, located in the overlay, if an entry does not apply.
Plan measure_plan(const Topology& topology, const Overlay& overlay,
                  const RecommendOptions& options);

/// One overlay entry as the one line of YAML write_overlay gives it, without its note:
/// `add_member: {service: web, id: web-3, ...}`.
std::string change_line(const Change& change);

/// The number of overlay entries of a plan (a spread holds several).
size_t plan_entries(const Plan& plan);

/// The plan as an overlay that `whatif` applies as is; each change carries its measured
/// effect as a comment, and the entries of a change of several say so.
Overlay plan_overlay(const Plan& plan, const std::string& topology_file);

/// The document of `achilles recommend --format json` (schema achilles.recommend/v1).
nlohmann::json to_json(const Plan& plan);

}  // namespace achilles::analyzer
