// Synthetic topologies of any size, for benchmarks and property tests: a realistic estate
// of nested failure domains and layered, replicated services, deterministic for a seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "achilles/analyzer/model.h"

namespace achilles::analyzer {

/// The service layers, shallowest first. A service only depends on deeper layers or on a
/// service declared after it in its own layer (app and data), so without `cycles` the
/// dependencies form a DAG.
enum class Layer : uint8_t { kEdge, kWeb, kApp, kData };
inline constexpr size_t kLayerCount = 4;

/// "edge", "web", "app" or "data": also the `tier` label of generated services.
std::string_view to_string(Layer layer);

/// What to generate; every field has a usable default.
struct GenerateOptions {
  /// Exactly this many components are generated (at least 1).
  size_t components = 1000;
  /// Same seed, same options: the same topology, on every platform.
  uint64_t seed = 1;
  /// Regions; 0 picks one from the size (1 below 200 components, up to 4).
  unsigned regions = 0;
  /// Services in the edge, web, app and data layers. Empty picks them from the size (about
  /// 1%, 19%, 45%, 35% of N / 4.1). When given: kLayerCount entries, at least one edge
  /// service, at most `components` in all; an empty layer is skipped over.
  std::vector<size_t> services_per_layer;
  /// Adds a rare hard dependency from a deeper service back to a shallower one that
  /// depends on it (about one per 10^5 components, at least one): cold-start findings.
  bool cycles = false;
  /// Called now and then with the fraction of the work done; may be empty.
  std::function<void(double fraction)> progress;
};

/// Builds a synthetic topology: regions > zones > racks > hosts as nested domains with
/// availabilities; services in four layers (edge load balancers, web/API, app, data) whose
/// replicas sit on hosts, mostly spread over zones but some packed into one zone or rack;
/// heavy-tailed replica counts, k-of-n quorums on part of the data layer, a few shared
/// databases with many callers; hard and soft dependencies with `calls` multipliers (most
/// calls to a single-replica service are soft: a few singletons are SPOFs, not all);
/// an entrypoint with load and slo on every edge service; component capacities sized from
/// the propagated load with varied headroom. Throws UsageError on impossible options.
Topology generate_topology(const GenerateOptions& options);

}  // namespace achilles::analyzer
