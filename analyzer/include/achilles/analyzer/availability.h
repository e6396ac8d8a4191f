// Availability (spec topology.md, "Availability"): the probability that each entrypoint is
// not down when every component and domain fails independently with its `availability`.
#pragma once

#include <span>
#include <vector>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/model.h"

namespace achilles::analyzer {

/// Every entrypoint's availability, in file order, with its method and importance ranking.
/// Exact (a BDD of the structure function on the entrypoint's cone, one per independent
/// module of the cone) while every diagram fits options.bdd_node_budget and the pass'
/// options.bdd_pass_budget; beyond it a Monte Carlo
/// estimate with a 95% interval (up to options.samples samples, fewer once the pass' sampling
/// work is spent, never fewer than 1000).
std::vector<EntrypointAvailability> compute_availability(const Topology& topology,
                                                         const AnalysisOptions& options);

/// The same, with the spof, domain_spof and cut_set findings of analyze() at options.order:
/// beyond the budgets an entrypoint gets the rare-event approximation from its minimal cut
/// sets among them, or, when none of them takes it down and its cone is small, Monte Carlo.
std::vector<EntrypointAvailability> compute_availability(const Topology& topology,
                                                         const AnalysisOptions& options,
                                                         const std::vector<Finding>& findings);

/// The edges of "x is down if ... is down", for every element: a domain's parent; a
/// component's domain and hard dependencies; a service's members and hard dependencies; an
/// entrypoint's target. Shared by the BDD and the Open-PSA export.
std::vector<std::vector<ElementId>> down_inputs(const Topology& topology);

/// Strongly connected components of the graph `succ` reachable from `roots`, each listed
/// after every component it has edges to (what an element needs comes first).
std::vector<std::vector<ElementId>> components_dependencies_first(
    const std::vector<std::vector<ElementId>>& succ, std::span<const ElementId> roots);

}  // namespace achilles::analyzer
