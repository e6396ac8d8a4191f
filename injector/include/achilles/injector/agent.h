// The agent as a whole: recovers what an earlier agent left, serves the API, ticks the fault
// engine, and reverts everything on SIGTERM or SIGINT.
#pragma once

#include <ostream>

#include "achilles/injector/config.h"

namespace achilles::injector {

/// Runs until SIGTERM or SIGINT, then reverts every fault and returns 0. Prints
/// "achilles-agent listening on HOST:PORT" on `out` once it serves. Throws ConfigError for
/// bad configuration (exit 2) and std::runtime_error for a runtime failure (exit 3).
int run_agent(const AgentConfig& config, std::ostream& out);

}  // namespace achilles::injector
