// achilles drill schedule PLAN and achilles drill history [FILE]: drills on a schedule, and
// what their runs add up to (docs/drill.md).
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "achilles/common/diagnostic.h"
#include "achilles/common/input_file.h"
#include "achilles/common/yaml_guard.h"
#include "achilles/drill/plan.h"
#include "achilles/drill/schedule.h"
#include "command.h"

namespace achilles::cli {
namespace {

namespace fs = std::filesystem;
using common::Diagnostic;
using common::InputError;
using common::UsageError;

/// The plan's title, read without the full plan parser (the runner's): the plan only needs
/// to be YAML with a string `title` here; `drill run` checks the rest.
std::string plan_title(const std::string& path) {
  const std::string text = common::read_input_file(path);
  // The same guard as every YAML reader (aliases, nesting, size, UTF-8) before a node is built.
  std::vector<Diagnostic> problems;
  if (!common::check_yaml(text, path, common::YamlDocuments::kOne, problems))
    throw InputError(std::move(problems));
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw InputError({Diagnostic{
        path,
        {static_cast<uint32_t>(e.mark.line + 1), static_cast<uint32_t>(e.mark.column + 1)},
        "",
        "not YAML: " + e.msg}});
  }
  auto at = [&](const YAML::Node& n) {
    return common::SourcePos{static_cast<uint32_t>(n.Mark().line + 1),
                             static_cast<uint32_t>(n.Mark().column + 1)};
  };
  if (!root.IsMap())
    throw InputError(
        {Diagnostic{path, root.IsDefined() && !root.IsNull() ? at(root) : common::SourcePos{}, "",
                    "a drill plan must be a YAML mapping with version, title, "
                    "agents, probes and steps"}});
  YAML::Node title = root["title"];
  if (!title || !title.IsScalar() || title.as<std::string>().empty())
    throw InputError({Diagnostic{path, title ? at(title) : at(root), "",
                                 "the plan needs a 'title' (a non-empty string)"}});
  return title.as<std::string>();
}

int run_schedule(const Args& args) {
  const std::string kName = "achilles drill schedule: error: ";
  auto every = args.get("every");
  if (!every) throw UsageError(kName + "--every CRON is required, such as --every '0 10 * * 2'");
  auto emit = args.get("emit");
  if (!emit) throw UsageError(kName + "--emit systemd|cron|k8s is required");
  drill::ScheduleFormat format;
  if (*emit == "systemd")
    format = drill::ScheduleFormat::kSystemd;
  else if (*emit == "cron")
    format = drill::ScheduleFormat::kCron;
  else if (*emit == "k8s")
    format = drill::ScheduleFormat::kK8s;
  else
    throw UsageError(kName + "--emit must be systemd, cron or k8s, not '" + *emit + "'");

  const std::string& plan = args.positionals[0];
  std::string title = plan_title(plan);
  // Schedulers start the drill from elsewhere: every path they see is absolute.
  fs::path plan_path = fs::absolute(plan).lexically_normal();
  std::error_code ec;
  fs::path binary = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot find the achilles binary: " + ec.message());
  fs::path state = args.get("state-dir") ? fs::absolute(*args.get("state-dir")).lexically_normal()
                                         : plan_path.parent_path();
  std::string state_dir = state.string();
  if (state_dir.size() > 1 && state_dir.back() == '/') state_dir.pop_back();

  drill::ScheduleRequest request{plan_path.string(), title,     *every,
                                 binary.string(),    state_dir, format};
  std::vector<drill::EmittedFile> files;
  try {
    files = drill::emit_schedule(request);
  } catch (const UsageError& e) {
    // The schedule's own message, said as this command's.
    throw UsageError(kName + "--every: " + e.what());
  }

  // A schedule that never fires inside the plan's window would only ever skip the drill.
  // The window is read with the plan's own reader; a plan it cannot read is `drill run`'s
  // business (exit 2 there), not this command's.
  std::optional<drill::DrillWindow> window;
  try {
    window = drill::load_plan(plan).window;
  } catch (const std::exception&) {
  }
  if (window && !drill::first_run_in_window(drill::parse_cron(*every), *window,
                                            std::chrono::system_clock::now()))
    std::cerr << plan << ": warning: the schedule '" << *every
              << "' never falls inside the plan's window (read in this machine's time zone): "
                 "every run it starts would be skipped\n";

  auto out = args.get("output");
  if (!out) {
    write_output("", drill::format_emitted(files));
    return 0;
  }
  fs::create_directories(*out, ec);
  if (ec) throw UsageError(*out + ": error: cannot create the directory: " + ec.message());
  for (const auto& f : files) {
    std::string path = (fs::path(*out) / f.name).string();
    write_output(path, f.content);
    std::cout << "wrote " << path << "\n";
  }
  return 0;
}

int run_history(const Args& args) {
  std::string path =
      args.positionals.empty() ? "achilles-drill-history.jsonl" : args.positionals[0];
  drill::History history = drill::read_history(path);
  // The runs that could be read are summarised even when some line is bad; the bad lines
  // are then errors, and the exit code is 2.
  write_output("", drill::format_history(history));
  if (!history.problems.empty()) throw InputError(history.problems);
  return 0;
}

const Registrar schedule_registrar{Command{
    CommandSpec{
        .name = "drill schedule",
        .usage = "PLAN --every CRON --emit systemd|cron|k8s [-o DIR] [--state-dir DIR]",
        .summary = "write the files that run a drill on a schedule (systemd, cron, Kubernetes)",
        .description =
            "Achilles does not keep a scheduler of its own: this writes what an existing one\n"
            "needs to run `achilles drill run PLAN` on the cron schedule CRON, with every\n"
            "path absolute, and each run's journal, report and history line in the state\n"
            "directory (default: the plan's directory, where `drill history` finds them).\n"
            "\n"
            "CRON has five fields, minute hour day-of-month month day-of-week, each `*`, a\n"
            "number, a range `9-17`, a step `*/15` or `9-17/2`, a list `1,15`, or names\n"
            "(jan..dec, sun..sat); or @hourly, @daily, @weekly, @monthly, @yearly. It is\n"
            "read in the scheduler's time zone; the plan's `window` is still checked at\n"
            "each run.\n"
            "\n"
            "  systemd  achilles-drill-NAME.service (oneshot) and .timer (OnCalendar=, the\n"
            "           same minutes as CRON). A CRON restricting both the day of month and\n"
            "           the day of week is refused: cron runs when either matches, systemd\n"
            "           only when both do.\n"
            "  cron     one crontab line (achilles-drill-NAME.cron) for `crontab -e`.\n"
            "  k8s      a batch/v1 CronJob (achilles-drill-NAME.yaml) running the plan from\n"
            "           a ConfigMap; set its image before applying it.\n"
            "\n"
            "NAME is the plan's file name without its extension, in lower case. Without -o\n"
            "the files are printed, each after a `# ==> FILE <==` line.\n"
            "Exit 0: written; 2: bad usage, an unreadable plan or a bad CRON.",
        .options =
            {
                {.name = "every", .value_name = "CRON", .help = "the schedule, a cron expression"},
                {.name = "emit",
                 .value_name = "KIND",
                 .help = "systemd, cron or k8s: which scheduler's files to write"},
                {.name = "output",
                 .short_name = 'o',
                 .value_name = "DIR",
                 .help = "write the files into DIR (created if needed) instead of stdout"},
                {.name = "state-dir",
                 .value_name = "DIR",
                 .help = "where runs write journal, report and history (default: the plan's "
                         "directory)"},
            },
        .min_positionals = 1,
        .max_positionals = 1,
        .examples =
            "  # Every Tuesday at 10:00, as a systemd timer:\n"
            "  achilles drill schedule drills/web.yaml --every '0 10 * * tue' --emit systemd \\\n"
            "      --state-dir /var/lib/achilles -o /etc/systemd/system\n"
            "  systemctl daemon-reload && systemctl enable --now achilles-drill-web.timer\n"
            "\n"
            "  # Every 30 minutes in office hours, from the user's crontab:\n"
            "  achilles drill schedule drills/web.yaml --every '*/30 9-16 * * mon-fri' --emit "
            "cron\n"
            "\n"
            "  # Nightly in a cluster:\n"
            "  achilles drill schedule drills/web.yaml --every @daily --emit k8s -o deploy/\n",
    },
    run_schedule}};

const Registrar history_registrar{Command{
    CommandSpec{
        .name = "drill history",
        .usage = "[FILE]",
        .summary = "per drill: runs, last verdict, pass rate and failover-time trend",
        .description =
            "Reads the history file that every `drill run` appends to (default:\n"
            "achilles-drill-history.jsonl in the current directory) and prints, per drill\n"
            "title: the number of runs, the last run and its verdict, the pass rate over\n"
            "the runs that were not skipped, and per step and probe the last recovery time\n"
            "with the recent ones (up to 8, oldest first; `none`: not healthy again by the\n"
            "end of the step) and the trend: `better` or `worse` when the last three runs'\n"
            "mean differs from the earlier ones' by more than 20% and 100 ms, else `steady`.\n"
            "\n"
            "A line that is not a valid history line is reported as FILE:LINE:COLUMN: error,\n"
            "after the summary of the lines that are; the exit code is then 2.",
        .options = {},
        .min_positionals = 0,
        .max_positionals = 1,
        .examples = "  achilles drill history\n"
                    "  achilles drill history /var/lib/achilles/achilles-drill-history.jsonl\n",
    },
    run_history}};

}  // namespace
}  // namespace achilles::cli
