// The analysis passes that live outside analysis.cc; Analyzer::run() calls them in turn.
#pragma once

#include <vector>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/model.h"

namespace achilles::analyzer::detail {

/// Load (topology.md "Load"): the utilization table and the `overload` and `capacity_spof`
/// findings. Does nothing when no entrypoint has a load.
void capacity_pass(const Topology& topology, const AnalysisOptions& options,
                   std::vector<Finding>& findings, std::vector<Utilization>& utilization);

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
