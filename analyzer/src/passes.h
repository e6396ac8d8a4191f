// The analysis passes that live outside analysis.cc; Analyzer::run() calls them in turn.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/model.h"

namespace achilles::analyzer::detail {

/// "a", "a and b", "a, b and c", of strings or views.
template <typename Strings>
std::string english_list(const Strings& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += i + 1 == items.size() ? " and " : ", ";
    out += items[i];
  }
  return out;
}

class IdOrder;
class Propagator;

/// Shortens f's explanation (and its notes) to its first and last kExplanationMax / 2 ids
/// when it is longer than kExplanationMax, and records how many were left out in
/// f.details["explanation_elided"]; does nothing with options.full_explanations.
void elide_explanation(Finding& f, const AnalysisOptions& options);

/// Load (topology.md "Load"): the utilization table and the `overload` and `capacity_spof`
/// findings. Built before the single failures, each of which it is given while the
/// single-failure pass has it in its propagator (single_failure()): it screens it from
/// bounds made beforehand and re-solves the loads only when the screen cannot rule out a
/// capacity_spof. Does nothing when no entrypoint has a load.
///
/// Why there: a single failure's statuses are what the loads need, and its degraded
/// entrypoints what both its findings need; solving the loads in a pass of their own would
/// propagate the failures a second time.
class CapacityPass {
 public:
  CapacityPass(const Topology& topology, const AnalysisOptions& options);
  CapacityPass(CapacityPass&&) noexcept;
  ~CapacityPass();

  /// True when some entrypoint has a load, so that there is anything to screen or run.
  bool active() const { return impl_ != nullptr; }
  /// Before the single failures, which `threads` threads share (numbered from 0): each needs
  /// a copy of the load solver's scratch space, freed by end_single_failures(). `order` must
  /// outlive them.
  void begin_single_failures(unsigned threads, const IdOrder& order);
  void end_single_failures();
  /// Called on thread `thread` with `propagator` holding F = {x} (a component or domain):
  /// x's capacity_spof finding, if it is one. `degraded`, when not null, holds F's degraded
  /// entrypoints (Propagator::degraded_entrypoints()). With --cascade, the propagator is left
  /// holding another scenario.
  std::optional<Finding> single_failure(unsigned thread, ElementId x, Propagator& propagator,
                                        const std::vector<ElementId>* degraded);
  /// The utilization table and `overload`.
  void run(std::vector<Finding>& findings, std::vector<Utilization>& utilization,
           const IdOrder& order);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

/// Availability (topology.md "Availability"): every entrypoint's availability, its method,
/// the importance ranking and the `slo_risk` findings. Does nothing when no component or
/// domain has an availability.
void availability_pass(const Topology& topology, const AnalysisOptions& options,
                       std::vector<Finding>& findings,
                       std::vector<EntrypointAvailability>& availability);

/// Structure (topology.md "DOT mapping"): for an undirected graph, the `articulation_point`
/// and `bridge` findings. Does nothing for a directed topology.
void structure_pass(const Topology& topology, std::vector<Finding>& findings);

}  // namespace achilles::analyzer::detail
