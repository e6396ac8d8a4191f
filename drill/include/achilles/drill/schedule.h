// When drills run: the plan's window, cron expressions and their systemd equivalent, the
// files that hand a drill to an existing scheduler (`achilles drill schedule`), and the
// history of past runs (`achilles drill history`). Formats: docs/drill.md.
#pragma once

#include <chrono>
#include <ctime>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "achilles/common/diagnostic.h"

namespace achilles::drill {

// ---- The drill window ---------------------------------------------------------------------

/// When a drill may run: the plan's `window`.
struct DrillWindow {
  /// Days the window opens on, 0 = Sunday .. 6 = Saturday; empty: every day.
  std::vector<int> days;
  /// Minutes after local midnight, 0..1439. `to_minute < from_minute` is a window across
  /// midnight, which belongs to the day it opened on; `to_minute == from_minute` is a whole
  /// day starting at `from_minute`.
  int from_minute = 0;
  int to_minute = 0;
  /// An IANA zone name ("Europe/Berlin"); "" is UTC.
  std::string tz;
};

/// True when `tz` is "" (UTC) or names a zone in the system's zoneinfo database. glibc reads
/// an unknown zone as UTC without a word, so a plan's `tz` must be checked with this first.
bool known_time_zone(const std::string& tz);

/// Whether `now` is inside the window, in the window's time zone (daylight saving included).
/// Throws common::UsageError for an unknown zone. Thread-safe.
bool in_window(const DrillWindow& window, std::chrono::system_clock::time_point now);

/// When the window next opens at or after `now` (`now` itself, to the minute, when it is
/// open), or nothing when it never opens (no day allowed). Within eight days by construction.
std::optional<std::chrono::system_clock::time_point> next_window_open(
    const DrillWindow& window, std::chrono::system_clock::time_point now);

/// `t` as "YYYY-MM-DD HH:MM ZONE" in the window's zone ("UTC" for "").
std::string format_window_time(const DrillWindow& window, std::chrono::system_clock::time_point t);

// ---- Cron -----------------------------------------------------------------------------------

/// A validated 5-field cron expression as the sets of values it matches.
struct CronSchedule {
  /// The expression as given ("*/15 9-17 * * mon-fri", "@daily").
  std::string text;
  std::set<int> minutes;        ///< 0..59
  std::set<int> hours;          ///< 0..23
  std::set<int> days_of_month;  ///< 1..31
  std::set<int> months;         ///< 1..12
  std::set<int> days_of_week;   ///< 0 = Sunday .. 6 (cron's 7 is stored as 0)
  /// Whether the day-of-month and day-of-week fields do not start with `*`. Cron's rule:
  /// when both are restricted a day matches if either does, else it must match both.
  bool dom_restricted = false;
  bool dow_restricted = false;

  /// Whether the schedule fires at the minute of `local` (a broken-down local time).
  bool matches(const std::tm& local) const;
};

/// Parses a cron expression: five fields (minute, hour, day of month, month, day of week)
/// of `*`, numbers, ranges `a-b`, steps `*/n`, `a-b/n`, `a/n`, lists, names `jan`..`dec` and
/// `sun`..`sat`; or @hourly, @daily (@midnight), @weekly, @monthly, @yearly (@annually).
/// Throws common::UsageError with a message naming the field:
/// `cron expression '61 * * * *': minute: 61 is out of range 0-59`.
CronSchedule parse_cron(const std::string& text);

/// The first minute within a year after `from` at which `cron` fires (read in the process's
/// local time zone, as a scheduler reads it) inside `window`; nothing when it never does, and
/// every run it starts would be skipped.
std::optional<std::chrono::system_clock::time_point> first_run_in_window(
    const CronSchedule& cron, const DrillWindow& window,
    std::chrono::system_clock::time_point from);

/// The systemd OnCalendar= expression that fires at exactly the same minutes:
/// `[DOW ]*-MM-DD HH:MM:00`. Throws common::UsageError when there is none: a schedule
/// that restricts both the day of the month and the day of the week (cron's "either",
/// where systemd requires both).
std::string to_on_calendar(const CronSchedule& schedule);

// ---- Handing a drill to a scheduler ---------------------------------------------------------

enum class ScheduleFormat { kSystemd, kCron, kK8s };

/// What `achilles drill schedule` needs to write the scheduler's files.
struct ScheduleRequest {
  /// The plan, as an absolute path.
  std::string plan_path;
  /// The plan's title, for descriptions and comments.
  std::string title;
  /// The schedule; validated with parse_cron.
  std::string cron;
  /// The achilles binary, as an absolute path.
  std::string achilles_binary;
  /// Where each run writes its journal, report, history and log; absolute.
  std::string state_dir;
  ScheduleFormat format = ScheduleFormat::kSystemd;
};

/// One file to write: its name (no directory) and its content.
struct EmittedFile {
  std::string name;
  std::string content;
};

/// The drill's name in file and unit names, from the plan's file name: lower case letters,
/// digits and dashes, at most 37 characters (a Kubernetes CronJob name is at most 52 with
/// the `achilles-drill-` prefix). `/srv/Drills/Web Tier.yaml` -> `web-tier`.
std::string drill_name(const std::string& plan_path);

/// The files: systemd `achilles-drill-NAME.service` and `.timer`; cron
/// `achilles-drill-NAME.cron` (one crontab line); k8s `achilles-drill-NAME.yaml` (a
/// CronJob). Throws common::UsageError for a bad cron expression or, for systemd, one
/// OnCalendar cannot express.
std::vector<EmittedFile> emit_schedule(const ScheduleRequest& request);

/// The files as one text for stdout, each after a `# ==> NAME <==` header comment.
std::string format_emitted(const std::vector<EmittedFile>& files);

/// `s` as one word of a POSIX shell: single-quoted unless it is plain.
std::string shell_quote(const std::string& s);

/// `s` as one argument of a systemd Exec*= line: double-quoted with `\` and `"` escaped
/// when it has blanks or quotes; `%` doubled (specifiers) and `$` doubled (variables).
std::string systemd_quote(const std::string& s);

// ---- History --------------------------------------------------------------------------------

/// The history line of a journal (docs/drill.md, "The history file").
nlohmann::json history_line(const nlohmann::json& journal);

/// Appends the journal's history line to `path` (created when missing) with one write(2) on
/// an O_APPEND descriptor, so that concurrent runs do not interleave their lines. Throws
/// std::runtime_error (exit 3) when it cannot.
void append_history(const std::string& path, const nlohmann::json& journal);

/// A history file read back.
struct History {
  /// The file as the user named it.
  std::string file;
  /// The valid lines, in file order (which is the order the runs ended).
  std::vector<nlohmann::json> runs;
  /// One per line that is not a valid history line, `FILE:LINE:COLUMN: error: ...`.
  std::vector<common::Diagnostic> problems;
};

/// Reads every line; a bad line becomes a problem and the others are kept. Blank lines are
/// ignored. Throws common::UsageError when the file cannot be read.
History read_history(const std::string& path);

/// The summary `achilles drill history` prints: per drill title, the runs, the last run and
/// its verdict, the pass rate, and per step and probe the last recovery time and its trend.
std::string format_history(const History& history);

/// read_history and format_history; throws common::InputError naming every bad line when
/// there is one (use the two calls to print the good lines' summary anyway, as the CLI does).
std::string format_history(const std::string& path);

/// How recovery times move: the mean of the last three against the mean of the earlier ones
/// (at least one). "better" or "worse" when they differ by more than 20% and 100 ms, else
/// "steady"; "" with fewer than four values.
std::string recovery_trend(const std::vector<double>& oldest_first);

}  // namespace achilles::drill
