// The analyses of spec topology.md and their findings (spec analysis-json.md).
#pragma once

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "achilles/analyzer/model.h"

namespace achilles::analyzer {

/// What a finding does to the entrypoints and how much of the estate goes down with it.
///
/// The entrypoint lists are views of the ids of the Topology analyzed, valid while it lives
/// unchanged. Why views: the same few entrypoints appear in a great many findings. At 10^6
/// components the degraded lists hold 5.5 million names, 15 times as many as at 10^5; as
/// strings of their own they took about 270 MB and a heap allocation each.
struct Impact {
  /// Sorted ids of the entrypoints that go down.
  std::vector<std::string_view> entrypoints_down;
  /// Sorted ids of the entrypoints that stay up but degraded.
  std::vector<std::string_view> entrypoints_degraded;
  size_t components_down = 0;
  size_t services_down = 0;
};

/// One finding: a risk, its subject, its impact and why.
struct Finding {
  /// spof, domain_spof, cut_set, cycle, ... (analysis-json.md)
  std::string kind;
  /// critical, high, medium or low.
  std::string severity;
  /// Sorted element ids.
  std::vector<std::string> subject;
  /// One sentence for a person.
  std::string message;
  Impact impact;
  /// One chain of ids from an impacted entrypoint down to a subject. Unless
  /// AnalysisOptions::full_explanations, a chain longer than kExplanationMax keeps its first
  /// and last kExplanationMax / 2 ids, and details["explanation_elided"] says how many were
  /// left out between them (analysis-json.md).
  std::vector<std::string> explanation;
  /// For each link of `explanation`, why it falls (`1 of 1 healthy needed`), or empty.
  std::vector<std::string> explanation_notes;
  /// Keys added to the finding's JSON beyond the common ones (an object, possibly empty).
  nlohmann::json details = nlohmann::json::object();

  /// `KIND:` + subject joined with `+`: stable across runs; what a baseline matches on.
  std::string id() const;
};

/// The longest explanation written whole unless AnalysisOptions::full_explanations.
inline constexpr size_t kExplanationMax = 32;

/// Severity as a rank: 0 critical, 1 high, 2 medium, 3 low.
int severity_rank(std::string_view severity);

/// Called now and then during long work: the stage and the fraction of it done.
using ProgressFn = std::function<void(std::string_view stage, double fraction)>;

/// What the risk groups of an analysis gather their findings by (spec whatif.md, "Risk
/// groups"; docs/analysis.md).
enum class GroupBy {
  /// The element a team would change to resolve them (group_key()).
  kFix,
  /// The team that owns that element (`labels.team`), `--by team`.
  kTeam,
};

struct AnalysisOptions {
  /// Largest cut set reported (1..3); 1 means single failures only.
  unsigned order = 2;
  /// Utilization above which a component is overloaded.
  double threshold = 0.8;
  /// capacity_spof: let overloaded survivors fail in turn until nothing changes.
  bool cascade = false;
  /// Keep every explanation whole. Off, one longer than kExplanationMax is shortened, so that
  /// the output stays linear in the input on deep estates (a chain of N components has N
  /// spofs with explanations up to N long).
  bool full_explanations = false;
  /// Most BDD nodes the exact availability may build for one entrypoint before it falls
  /// back to an approximation (availability.h).
  size_t bdd_node_budget = size_t{1} << 16;
  /// Most BDD operations over all entrypoints of one analysis; once spent, the remaining
  /// entrypoints are approximated.
  size_t bdd_pass_budget = size_t{1} << 21;
  /// Monte Carlo: samples per entrypoint, and the seed (same seed, same estimate).
  size_t samples = 100000;
  uint64_t seed = 1;
  /// Threads for the single failures and the capacity scenarios: 0 picks up to two from the
  /// machine's cores, 1 keeps everything on the calling thread. The result is the same for
  /// every value.
  unsigned threads = 0;
  /// What the risk groups gather their findings by.
  GroupBy group_by = GroupBy::kFix;
  ProgressFn progress;
};

/// One row of the utilization table: an element with a capacity, with nothing failed.
struct Utilization {
  std::string id;
  /// Requests per second it receives; +infinity when a dependency cycle makes it unbounded.
  double load = 0;
  /// Its own capacity, or for a service without one the sum of its members'.
  double capacity = 0;
  /// load / capacity; +infinity when unbounded.
  double utilization = 0;
};

/// What a component or domain means to an entrypoint's availability.
struct Importance {
  std::string id;
  /// The rise in availability if it never failed: (1 - its availability) x birnbaum.
  double gain = 0;
  /// Birnbaum importance: P(up | it never fails) - P(up | it has failed).
  double birnbaum = 0;
};

/// The availability of one entrypoint (spec topology.md, "Availability").
struct EntrypointAvailability {
  std::string id;
  /// Probability that the entrypoint is not down.
  double availability = 1;
  /// "exact", "rare-event" or "monte-carlo".
  std::string method = "exact";
  /// For an approximation, its bound or interval (analysis-json.md); null when exact.
  nlohmann::json error;
  /// What to fix first: the largest gains, at most 10, largest first.
  std::vector<Importance> importance;
};

/// Findings gathered by what a team would change to resolve them (spec whatif.md, "Risk
/// groups"): every finding of an analysis is in exactly one group.
struct RiskGroup {
  /// By fix: the element to change (a service or component id; a cycle's loop or a subject
  /// without a service, their ids joined with `+`). Empty by team.
  std::string fix;
  /// redundancy (spof, domain_spof, cut_set, articulation_point, bridge), capacity
  /// (overload, capacity_spof), slo (slo_risk), cycle; by team, `team`.
  std::string kind;
  /// By team: the team (`labels.team`), or empty for the group of what has none
  /// (`has_team` false).
  std::string team;
  bool has_team = false;
  /// By team: the fixes of its findings, most harmful first, each once.
  std::vector<std::string> fixes;
  /// The most severe of its findings.
  std::string severity;
  /// Indexes into Analysis::findings, most harmful first (harm.h).
  std::vector<size_t> findings;
  /// Sorted ids of the entrypoints some finding takes down, and of those some degrades and
  /// none takes down.
  std::vector<std::string_view> entrypoints_down, entrypoints_degraded;
  /// One line for a person: `svc-12 has no headroom: 20 findings, 2 entrypoints degraded`.
  std::string summary;
};

struct Analysis {
  AnalysisOptions options;
  /// Most severe first, then by id.
  std::vector<Finding> findings;
  /// Every element with a capacity, by id; empty when no entrypoint has a load.
  std::vector<Utilization> utilization;
  /// Every entrypoint, in file order; empty when no component or domain has an availability.
  std::vector<EntrypointAvailability> availability;
  /// The findings by what to change, most harmful first (group_risks()).
  std::vector<RiskGroup> groups;
};

/// The key a finding is grouped by: its group's kind and its fix (spec whatif.md): for spof,
/// domain_spof and cut_set the last element of the explanation that is a service, else the
/// subject (a service counts only where the chain goes on into one of its members: one that
/// fell because something it depends on fell is not what lacks redundancy), and for a domain
/// the component the chain reaches it from; for overload and capacity_spof the service of the
/// element that runs out of capacity (else that element); for slo_risk the entrypoint; for a cycle
/// the loop.
std::pair<std::string, std::string> group_key(const Topology& topology, const Finding& finding);

/// The risk groups of `findings` (analyzed on `topology`), most harmful first: a group's harm
/// is its worst severity, the entrypoints its findings take down together, the most services
/// and components one takes down, and whether any is stateful (harm.h); ties go to the group
/// with more findings, then by kind and fix (or team).
std::vector<RiskGroup> group_risks(const Topology& topology, const std::vector<Finding>& findings,
                                   GroupBy by);

/// Runs every analysis on a loaded topology, which must outlive the result, unchanged
/// (Impact's lists are views of its ids).
Analysis analyze(const Topology& topology, const AnalysisOptions& options);
/// Not of a temporary, which would not outlive the result.
Analysis analyze(const Topology&& topology, const AnalysisOptions& options) = delete;

/// The document of analysis-json.md.
nlohmann::json to_json(const Topology& topology, const Analysis& analysis);

/// Writes to_json(topology, analysis).dump(2), byte for byte, without building the document:
/// for large analyses, whose document would take gigabytes.
void write_json(const Topology& topology, const Analysis& analysis, std::ostream& out);

}  // namespace achilles::analyzer
