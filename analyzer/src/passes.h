// The analysis passes that live outside analysis.cc; Analyzer::run() calls them in turn.
#pragma once

#include <memory>
#include <vector>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/model.h"

namespace achilles::analyzer::detail {

class Net;
class Propagator;

/// Load (topology.md "Load"): the utilization table and the `overload` and `capacity_spof`
/// findings. Built before the single failures, so that it can screen each one while the
/// single-failure pass has it in its propagator (screen()); run() then re-solves the loads
/// only for the failures that the screen could not rule out. Does nothing when no
/// entrypoint has a load.
class CapacityPass {
 public:
  /// `net` is the failure-propagation net of `topology`, which the pass shares.
  CapacityPass(const Topology& topology, const Net& net, const AnalysisOptions& options);
  ~CapacityPass();

  /// True when some entrypoint has a load, so that there is anything to screen or run.
  bool active() const { return impl_ != nullptr; }
  /// Called with the propagator holding F = {x} (a component or domain): remembers whether
  /// x may push a survivor above 100%. A failure never screened is solved in full.
  void screen(ElementId x, const Propagator& propagator);
  /// The utilization table, `overload` and `capacity_spof`.
  void run(std::vector<Finding>& findings, std::vector<Utilization>& utilization);

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
