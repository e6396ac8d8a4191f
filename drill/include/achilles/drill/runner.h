// Running a drill against live agents: probes, steps, the lease, the stop condition and the
// rollback, all on one Asio loop (docs/drill.md "Running").
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "achilles/drill/plan.h"

namespace achilles::drill {

/// A failure outside the plan before any fault was injected (an agent unreachable, a TLS file
/// unusable): the CLI's exit code 3. Nothing was injected when this is thrown.
class RunError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RunOptions {
  /// Events as they happen (a step injected, a rollback), one line each, without newline.
  std::function<void(const std::string&)> log;
  /// The live status (current step, each probe's health), rewritten a few times a second;
  /// empty when nobody watches.
  std::function<void(const std::string&)> status;
};

/// Runs the drill and returns its journal (docs/drill.md). Handles SIGINT and SIGTERM while it
/// runs: they abort the drill, and the rollback still happens. Throws RunError when an agent
/// cannot be reached before the first fault.
nlohmann::json run(const Plan& plan, const RunOptions& options = {});

/// One sample of a probe, taken now (for tests and for checking a plan's probes by hand).
struct ProbeOutcome {
  bool ok = false;
  /// Why it failed ("" when it did not).
  std::string error;
  /// A prometheus probe's value, when the query gave one.
  std::optional<double> value;
  double ms = 0;
};
/// Takes one sample of `probe` on a loop of its own, bounded by the probe's timeout.
ProbeOutcome sample_probe(const ProbeSpec& probe);

/// The journal of a drill that did not run: verdict `skipped` with the reason.
nlohmann::json skipped_journal(const Plan& plan, const std::string& reason);

/// 0 for passed, 1 for failed or aborted, 0 for a skip outside the window, 1 for any other
/// skip (the system was not healthy enough to drill).
int exit_code(const nlohmann::json& journal);

/// The journal as a few lines for a terminal: the verdict, each expectation, the rollback.
std::string format_summary(const nlohmann::json& journal);

/// What a run would do, without doing anything: each probe, each fault with its agent and
/// body, the schedule and the rollback.
std::string format_dry_run(const Plan& plan);

}  // namespace achilles::drill
