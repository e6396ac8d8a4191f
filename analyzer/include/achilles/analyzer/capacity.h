// Load (spec topology.md, "Load"): how the entrypoints' requests spread over the estate,
// and the utilization of everything that has a capacity.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "achilles/analyzer/model.h"

namespace achilles::analyzer {

/// The capacity used for utilization: the element's own, or for a service without one the
/// sum of its members' (when every member has one, recursively); nullopt otherwise.
std::optional<double> capacity_of(const Topology& topology, ElementId x);

/// The load (requests per second) every element receives, indexed like Topology::elements,
/// when the components and domains in `failed` fail together. An element that is down
/// receives and passes on nothing (0); an entrypoint's load is its own `load`; +infinity
/// marks a load that a dependency cycle makes unbounded.
std::vector<double> compute_loads(const Topology& topology, std::span<const ElementId> failed);

}  // namespace achilles::analyzer
