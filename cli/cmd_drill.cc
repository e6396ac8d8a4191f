// achilles drill run PLAN and achilles drill plan FILE: game-day drills (spec drill.md,
// docs/drill.md). The runner itself is in the drill library (drill/); this file reads the inputs,
// resolves targets through the topology, and writes the outputs.
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <set>
#include <sstream>

#include "achilles/analyzer/loader.h"
#include "achilles/analyzer/status.h"
#include "achilles/common/diagnostic.h"
#include "achilles/drill/derive.h"
#include "achilles/drill/plan.h"
#include "achilles/drill/runner.h"
#include "achilles/drill/schedule.h"
#include "achilles/reports/drill.h"
#include "command.h"

namespace achilles::cli {
namespace {

using drill::Plan;
using nlohmann::json;

int run_drill_run(const Args& args) {
  Plan plan = drill::load_resolved_plan(args.positionals[0]);
  for (const auto& w : plan.warnings)
    std::cerr << w.file << ":" << w.line << ":" << w.column << ": warning: " << w.message << "\n";
  // The plan's loader has checked the window's time zone.
  const auto now = std::chrono::system_clock::now();
  const bool outside = plan.window && !drill::in_window(*plan.window, now);
  // "closed: it opens next at 2026-12-07 09:00 Europe/Berlin"
  auto window_text = [&] {
    const auto next = drill::next_window_open(*plan.window, now);
    return next ? "it opens next at " + drill::format_window_time(*plan.window, *next)
                : std::string("it never opens (no day allowed)");
  };
  if (args.has("dry-run")) {
    std::cout << drill::format_dry_run(plan);
    if (plan.window)
      std::cout << (outside ? "window: closed now; " + window_text()
                            : std::string("window: open now"))
                << "\n";
    return 0;
  }
  json journal;
  if (outside) {
    journal = drill::skipped_journal(plan, "outside the drill's window: " + window_text());
  } else {
    drill::RunOptions options;
    const bool tty = stderr_is_terminal();
    if (tty) {
      options.log = [](const std::string& line) { std::cerr << "\r\033[K" << line << "\n"; };
      options.status = [](const std::string& line) {
        std::cerr << "\r\033[K" << line << std::flush;
      };
    }
    journal = drill::run(plan, options);
    drill::append_history(args.get("history").value_or("achilles-drill-history.jsonl"), journal);
  }
  if (auto j = args.get("journal")) write_output(*j, journal.dump(2) + "\n");
  if (auto r = args.get("report")) write_output(*r, reports::drill_html(journal));
  if (auto x = args.get("junit")) write_output(*x, reports::drill_junit(journal));
  std::cout << drill::format_summary(journal);
  return drill::exit_code(journal);
}

const Registrar run_registrar{Command{
    CommandSpec{
        .name = "drill run",
        .usage = "PLAN [--report R.html] [--journal J.json] [--junit X.xml] [--history H] "
                 "[--dry-run]",
        .summary = "run a game-day drill against live agents",
        .description =
            "Waits until every probe has been healthy for steady_state.hold_ms (else the\n"
            "drill is skipped: never drill a system already in trouble), injects each step's\n"
            "fault through its agent, judges the expectations over the probes' sliding\n"
            "windows, and always rolls back: at the end, after abort_when, on Ctrl-C. The\n"
            "agents hold a lease the runner renews, so they revert on their own if the\n"
            "runner dies. Outside the plan's window nothing runs and the exit code is 0.\n"
            "Every run appends a line to the history file (see `achilles drill history`).\n"
            "The plan's format: docs/drill.md.\n"
            "Exit 0: every expectation held (or outside the window); 1: an expectation\n"
            "failed, the drill aborted, or no steady state; 2: bad plan; 3: an agent\n"
            "unreachable (nothing injected).",
        .options =
            {
                {.name = "report", .value_name = "R.html", .help = "write the HTML report"},
                {.name = "journal", .value_name = "J.json", .help = "write the journal (JSON)"},
                {.name = "junit",
                 .value_name = "X.xml",
                 .help = "write JUnit XML, a test case per expectation"},
                {.name = "history",
                 .value_name = "H",
                 .help = "append to this history file (default achilles-drill-history.jsonl)"},
                {.name = "dry-run",
                 .takes_value = false,
                 .value_name = "",
                 .help = "print what would be done and touch nothing"},
            },
        .min_positionals = 1,
        .max_positionals = 1,
        .examples = "  achilles drill run drills/web.yaml --dry-run\n"
                    "  achilles drill run drills/web.yaml --report web.html --journal web.json\n",
    },
    run_drill_run}};

// ---------------------------------------------------------------- drill plan

int run_drill_plan(const Args& args) {
  const std::string topo_path = args.positionals[0];
  const std::string out_path = args.get("output").value_or("");
  drill::DeriveOptions options;
  options.gap_ms = static_cast<std::int64_t>(number_option(args, "gap-ms", 12000, 1000, 3.6e6));
  options.recover_within_ms =
      static_cast<std::int64_t>(number_option(args, "recover-within-ms", 5000, 0, 3.6e6));
  options.latency_ms = static_cast<std::int64_t>(number_option(args, "latency-ms", 1000, 1, 60000));
  options.include_spofs = args.has("include-spofs");
  options.token_file = args.get("token-file");
  auto topology = analyzer::load_topology(topo_path);
  drill::DerivedPlan plan = drill::derive_plan(topology, topo_path, out_path, options);
  write_output(out_path, plan.yaml);
  if (!out_path.empty() && out_path != "-")
    std::cerr << "wrote " << out_path << ": " << plan.steps << " step(s), " << plan.probes
              << " probe(s)\n";
  return 0;
}

const Registrar plan_registrar{Command{
    CommandSpec{
        .name = "drill plan",
        .usage = "FILE [-o PLAN] [--include-spofs] [--token-file F] [--gap-ms MS] "
                 "[--recover-within-ms MS] [--latency-ms MS]",
        .summary = "derive a drill from a topology's predictions",
        .description =
            "Writes a drill plan from the analyzer's predictions: for each failure domain\n"
            "whose loss the analyzer says every entrypoint survives, lose it (an isolate on\n"
            "the agent of each of its hosts) and expect every entrypoint to stay up; for each\n"
            "service with more members than min_healthy, kill one member that has a target\n"
            "and expect every entrypoint to stay up (healthy again within\n"
            "--recover-within-ms); for each component reached through an agent's proxy\n"
            "(`proxy` in its target block), add latency and record the effect; with\n"
            "--include-spofs (for staging), kill each single point of failure that has a\n"
            "target, and lose each domain_spof, and expect exactly the entrypoints the\n"
            "analyzer predicts to go down. Entrypoints are watched through their `url` label\n"
            "(an HTTP probe) or their target's `port` (a TCP probe). To try it on one\n"
            "machine: scripts/lab up docs/examples/lab-zones.yaml (docs/game-day.md).",
        .options =
            {
                {.name = "output",
                 .short_name = 'o',
                 .value_name = "PLAN",
                 .help = "where to write the plan (default stdout)"},
                {.name = "include-spofs",
                 .takes_value = false,
                 .value_name = "",
                 .help = "also kill single points of failure and lose each domain_spof (takes "
                         "the service down)"},
                {.name = "token-file",
                 .value_name = "F",
                 .help = "the agents' token file, written into the plan (relative to it)"},
                {.name = "gap-ms",
                 .value_name = "MS",
                 .help = "time between steps (default 12000)"},
                {.name = "recover-within-ms",
                 .value_name = "MS",
                 .help = "failover allowed after a redundant member dies (default 5000)"},
                {.name = "latency-ms",
                 .value_name = "MS",
                 .help = "latency added on proxied dependencies (default 1000)"},
            },
        .min_positionals = 1,
        .max_positionals = 1,
        .examples = "  achilles drill plan shop.yaml -o drills/shop.yaml\n"
                    "  achilles drill plan shop.yaml -o staging.yaml --include-spofs\n",
    },
    run_drill_plan}};

}  // namespace
}  // namespace achilles::cli
