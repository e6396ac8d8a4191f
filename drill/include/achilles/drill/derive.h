// Deriving a drill plan from a topology's predictions (spec drill.md "Derived drills").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "achilles/analyzer/model.h"
#include "achilles/drill/plan.h"

namespace achilles::drill {

struct DeriveOptions {
  /// Time between steps.
  std::int64_t gap_ms = 12000;
  /// Failover allowed after a redundant member dies.
  std::int64_t recover_within_ms = 5000;
  /// Latency added on dependencies reached through a proxy.
  std::int64_t latency_ms = 1000;
  /// Also kill single points of failure (staging only: it takes the service down).
  bool include_spofs = false;
  /// Lose failure domains (`target: {domain: ID}`: an isolate network fault on each host's
  /// agent). Off for an estate on one machine's loopback (the demo), where isolating the one
  /// host would cut the drill off from nothing: loopback is never blocked.
  bool include_domains = true;
  /// The agents' token file, written into the plan.
  std::optional<std::string> token_file;
};

struct DerivedPlan {
  /// The plan as YAML, with comments.
  std::string yaml;
  std::size_t steps = 0;
  std::size_t probes = 0;
};

/// The plan for `topology` (loaded from `topo_path`), to be written at `out_path` (empty or
/// "-" for stdout), which decides how the plan refers to the topology. Throws
/// common::UsageError when nothing can be drilled or watched.
DerivedPlan derive_plan(const analyzer::Topology& topology, const std::string& topo_path,
                        const std::string& out_path, const DeriveOptions& options);

/// The failure domains of `topology` for resolving `target: {domain: ID}` (plan.h).
drill::DomainIndex domain_index(const analyzer::Topology& topology);

/// Loads a drill plan and resolves its targets through its topology, if it names one; a bad
/// plan is an common::InputError (exit 2, every problem located).
drill::Plan load_resolved_plan(const std::string& path);

}  // namespace achilles::drill
