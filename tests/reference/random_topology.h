// Small random topologies for property tests, and a YAML printer so that a failing seed can
// be reproduced by reading the test output.
#pragma once

#include <cstdint>
#include <string>

#include "achilles/analyzer/model.h"

namespace achilles::reference {

/// Bounds and odds of random_topology(). The defaults keep a brute force of order 3 fast.
struct RandomParams {
  unsigned min_components = 2;
  unsigned max_components = 9;
  unsigned max_services = 5;
  unsigned max_domains = 6;
  unsigned min_entrypoints = 1;
  unsigned max_entrypoints = 3;
  /// Most members a service gets (fewer when fewer candidates exist).
  unsigned max_members = 4;
  /// Chance that a component is placed in a domain.
  double p_in_domain = 0.6;
  /// Chance that a domain is a root (a region) rather than a child of an earlier domain.
  double p_root_domain = 0.4;
  /// Upper bound of the mean number of dependencies per component or service; each
  /// topology draws its own mean in [0, max_dependency_rate] so some are sparse, some dense.
  double max_dependency_rate = 1.3;
  /// Chance that a dependency is soft.
  double p_soft = 0.3;
  /// Chance that a component or service also depends on itself (a self-loop).
  double p_self_loop = 0.04;
  /// Chance that an entrypoint targets a service (when there is one) rather than a component.
  double p_entrypoint_on_service = 0.5;
};

/// A topology built in memory from `seed`: domains (region > zone > host trees), components
/// in and out of domains, services with k-of-n quorums whose members may be services (never
/// in a membership cycle) and may be shared, hard and soft dependencies on components and
/// services (cycles and self-loops included), and entrypoints on components and services.
/// Elements are added in the order domains, components, services, entrypoints; ids are
/// `region0`/`zone1`/`host2`, `c0`.., `s0`.., `e0`...
analyzer::Topology random_topology(uint64_t seed, const RandomParams& params = {});

/// The topology in the YAML of spec topology.md (only the fields the analyses read).
std::string to_yaml(const analyzer::Topology& topology);

}  // namespace achilles::reference
