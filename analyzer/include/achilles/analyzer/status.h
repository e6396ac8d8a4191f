// What is up: the statuses of every element under a failure scenario (spec topology.md,
// "What is up"), computed by propagating a failure only as far as it reaches.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "achilles/analyzer/model.h"

namespace achilles::analyzer {

enum class Status : uint8_t { kUp, kDegraded, kDown };

/// "up", "degraded" or "down".
std::string_view to_string(Status status);

/// Statuses of every element (indexed like Topology::elements) when the components and
/// domains in `failed` fail together. Domains are down when they or an ancestor failed.
/// Throws UsageError if `failed` names a service or an entrypoint.
std::vector<Status> evaluate(const Topology& topology, std::span<const ElementId> failed);

}  // namespace achilles::analyzer
