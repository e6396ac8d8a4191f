#include "achilles/injector/schedule.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace achilles::injector {

using analyzer::Diagnostic;
using analyzer::UsageError;
using nlohmann::json;

// ---- The drill window ---------------------------------------------------------------------

namespace {

std::string zoneinfo_dir() {
  const char* dir = std::getenv("TZDIR");
  return dir && *dir ? dir : "/usr/share/zoneinfo";
}

/// The broken-down local time of `t` in `tz`. GCC 12 has no std::chrono::zoned_time, so
/// this points TZ at the zone for one localtime_r call. TZ is process-wide: the mutex keeps
/// two callers from mixing zones, and the old value is put back at once. A thread calling
/// localtime at that very moment elsewhere could still see the drill's zone; the runner
/// checks its window before it starts any thread.
std::tm local_time(const std::string& tz, std::time_t t) {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  const char* old = std::getenv("TZ");
  std::optional<std::string> saved;
  if (old) saved = old;
  // The leading colon makes glibc read the zone's file instead of parsing a POSIX rule.
  ::setenv("TZ", tz.empty() ? "UTC0" : (":" + tz).c_str(), 1);
  ::tzset();
  std::tm tm{};
  ::localtime_r(&t, &tm);
  if (saved)
    ::setenv("TZ", saved->c_str(), 1);
  else
    ::unsetenv("TZ");
  ::tzset();
  return tm;
}

}  // namespace

bool known_time_zone(const std::string& tz) {
  if (tz.empty()) return true;
  // A name, not a path: no absolute path, no `..`, only the characters zone names use.
  if (tz.front() == '/' || tz.back() == '/' || tz.find("..") != std::string::npos ||
      tz.find("//") != std::string::npos)
    return false;
  for (char c : tz)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' ||
          c == '+' || c == '.'))
      return false;
  std::ifstream in(zoneinfo_dir() + "/" + tz, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, "TZif", 4) == 0;
}

bool in_window(const DrillWindow& window, std::chrono::system_clock::time_point now) {
  if (!known_time_zone(window.tz))
    throw UsageError("unknown time zone '" + window.tz + "' (expected an IANA name such as " +
                     "Europe/Berlin, see " + zoneinfo_dir() + ")");
  std::tm tm = local_time(window.tz, std::chrono::system_clock::to_time_t(now));
  int minute = tm.tm_hour * 60 + tm.tm_min;
  auto day_allowed = [&](int day) {
    return window.days.empty() ||
           std::find(window.days.begin(), window.days.end(), day) != window.days.end();
  };
  if (window.from_minute < window.to_minute)
    return minute >= window.from_minute && minute < window.to_minute && day_allowed(tm.tm_wday);
  // Across midnight (or a whole day when from == to): the part after midnight belongs to
  // the day before, when the window opened.
  if (minute >= window.from_minute) return day_allowed(tm.tm_wday);
  if (minute < window.to_minute) return day_allowed((tm.tm_wday + 6) % 7);
  return false;
}

// ---- Cron -----------------------------------------------------------------------------------

namespace {

struct CronField {
  const char* name;
  int lo;
  int hi;
  /// Names for the values from `lo` on (months from 1, days from 0), or null.
  const char* const* names;
};

const char* const kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec"};
const char* const kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

// Day of week accepts 7 for Sunday, as every cron does.
const CronField kFields[] = {{"minute", 0, 59, nullptr},
                             {"hour", 0, 23, nullptr},
                             {"day of month", 1, 31, nullptr},
                             {"month", 1, 12, kMonthNames},
                             {"day of week", 0, 7, kDayNames}};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

std::string lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Parses one field into `out`; `fail` throws with the field's name.
template <typename Fail>
void parse_field(const std::string& text, const CronField& f, std::set<int>& out, Fail fail) {
  auto value = [&](const std::string& v) {
    if (v.empty()) fail("a value is missing");
    if (f.names) {
      std::string l = lower(v);
      int count = f.hi - f.lo + (f.names == kDayNames ? 0 : 1);
      for (int i = 0; i < count; ++i)
        if (l == f.names[i]) return f.lo + i;
    }
    if (!std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        v.size() > 4)
      fail("'" + v + "' is not a number" +
           (f.names == kMonthNames ? " or a month name (jan..dec)"
            : f.names == kDayNames ? " or a day name (sun..sat)"
                                   : ""));
    int n = std::stoi(v);
    if (n < f.lo || n > f.hi)
      fail(v + " is out of range " + std::to_string(f.lo) + "-" + std::to_string(f.hi));
    return n;
  };
  for (const std::string& item : split(text, ',')) {
    if (item.empty()) fail("an empty item in the list '" + text + "'");
    std::string range = item;
    int step = 1;
    if (auto slash = item.find('/'); slash != std::string::npos) {
      range = item.substr(0, slash);
      std::string s = item.substr(slash + 1);
      if (s.empty() || s.size() > 4 ||
          !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
        fail("the step in '" + item + "' is not a number");
      step = std::stoi(s);
      if (step < 1) fail("the step in '" + item + "' must be at least 1");
    }
    int from, to;
    if (range == "*") {
      from = f.lo;
      to = f.hi;
    } else if (auto dash = range.find('-'); dash != std::string::npos) {
      from = value(range.substr(0, dash));
      to = value(range.substr(dash + 1));
      if (to < from) fail("the range '" + range + "' ends before it starts");
    } else {
      from = value(range);
      // `a/n` runs from a to the end of the field, as in cronie and systemd.
      to = item.find('/') != std::string::npos ? f.hi : from;
    }
    for (int v = from; v <= to; v += step)
      out.insert(v);
  }
}

}  // namespace

CronSchedule parse_cron(const std::string& text) {
  CronSchedule c;
  c.text = text;
  std::string trimmed = text;
  trimmed.erase(0, trimmed.find_first_not_of(" \t"));
  trimmed.erase(trimmed.find_last_not_of(" \t") + 1);
  std::string expr = trimmed;
  if (!expr.empty() && expr[0] == '@') {
    static const std::map<std::string, std::string> kShortcuts = {
        {"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
        {"@weekly", "0 0 * * 0"},  {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"}};
    auto it = kShortcuts.find(lower(expr));
    if (it == kShortcuts.end())
      throw UsageError("cron expression '" + text + "': unknown shortcut '" + expr +
                       "' (expected @hourly, @daily, @weekly, @monthly or @yearly)");
    expr = it->second;
  }
  std::vector<std::string> fields;
  std::istringstream words(expr);
  for (std::string w; words >> w;)
    fields.push_back(w);
  if (fields.size() != 5)
    throw UsageError("cron expression '" + text + "': expected 5 fields (minute hour " +
                     "day-of-month month day-of-week), got " + std::to_string(fields.size()));
  std::set<int>* sets[] = {&c.minutes, &c.hours, &c.days_of_month, &c.months, &c.days_of_week};
  for (size_t i = 0; i < 5; ++i) {
    const CronField& f = kFields[i];
    parse_field(fields[i], f, *sets[i], [&](const std::string& message) {
      throw UsageError("cron expression '" + text + "': " + f.name + ": " + message);
    });
  }
  if (c.days_of_week.erase(7)) c.days_of_week.insert(0);
  // Cron decides "either" or "both" on how the field is written, not on what it matches:
  // `*/2` counts as unrestricted (vixie cron and cronie look at the first character).
  c.dom_restricted = fields[2][0] != '*';
  c.dow_restricted = fields[4][0] != '*';
  return c;
}

bool CronSchedule::matches(const std::tm& local) const {
  if (!minutes.count(local.tm_min) || !hours.count(local.tm_hour) ||
      !months.count(local.tm_mon + 1))
    return false;
  bool dom = days_of_month.count(local.tm_mday) > 0;
  bool dow = days_of_week.count(local.tm_wday) > 0;
  return dom_restricted && dow_restricted ? dom || dow : dom && dow;
}

namespace {

std::string two_digits(int v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d", v);
  return buf;
}

/// One OnCalendar component for a set of values in [lo, hi]: `*`, `a/n` (a, a+n, ... to the
/// end), `a..b/n`, or a list of values and ranges `a..b`.
std::string calendar_component(const std::set<int>& values, int lo, int hi) {
  if (static_cast<int>(values.size()) == hi - lo + 1) return "*";
  std::vector<int> v(values.begin(), values.end());
  if (v.size() >= 3) {
    int step = v[1] - v[0];
    bool progression = step > 1;
    for (size_t i = 2; i < v.size() && progression; ++i)
      progression = v[i] - v[i - 1] == step;
    if (progression) {
      std::string s = two_digits(v.front());
      if (v.back() + step <= hi) s += ".." + two_digits(v.back());
      return s + "/" + std::to_string(step);
    }
  }
  std::string out;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1)
      ++j;
    if (!out.empty()) out += ',';
    if (j - i >= 2) {
      out += two_digits(v[i]) + ".." + two_digits(v[j]);
    } else {
      for (size_t k = i; k <= j; ++k)
        out += (k > i ? "," : "") + two_digits(v[k]);
    }
    i = j + 1;
  }
  return out;
}

/// Days of the week for OnCalendar, in systemd's order (the week starts on Monday), with
/// runs of three or more as ranges: `Mon..Fri`, `Sat,Sun`.
std::string calendar_weekdays(const std::set<int>& days) {
  static const char* const kNames[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  std::vector<int> order;
  for (int d : {1, 2, 3, 4, 5, 6, 0})
    if (days.count(d)) order.push_back(d);
  auto index = [](int d) { return d == 0 ? 7 : d; };
  std::string out;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && index(order[j + 1]) == index(order[j]) + 1)
      ++j;
    if (!out.empty()) out += ',';
    if (j - i >= 2) {
      out += std::string(kNames[order[i]]) + ".." + kNames[order[j]];
    } else {
      for (size_t k = i; k <= j; ++k)
        out += std::string(k > i ? "," : "") + kNames[order[k]];
    }
    i = j + 1;
  }
  return out;
}

}  // namespace

std::string to_on_calendar(const CronSchedule& c) {
  bool dom_all = c.days_of_month.size() == 31;
  bool dow_all = c.days_of_week.size() == 7;
  std::set<int> dom = c.days_of_month, dow = c.days_of_week;
  if (c.dom_restricted && c.dow_restricted) {
    // Either field matching is enough; systemd needs both. Only when one of them matches
    // every day is the result the same: then every day matches.
    if (!dom_all && !dow_all)
      throw UsageError("cron expression '" + c.text +
                       "': it restricts both the day of month and the day of week, which cron "
                       "runs when either matches; systemd's OnCalendar needs both to match, so "
                       "no timer fires at the same times. Restrict only one of the two (use * "
                       "in the other), or schedule two drills");
    for (int d = 1; d <= 31; ++d)
      dom.insert(d);
    for (int d = 0; d <= 6; ++d)
      dow.insert(d);
  }
  std::string out;
  if (dow.size() < 7) out += calendar_weekdays(dow) + " ";
  out += "*-" + calendar_component(c.months, 1, 12) + "-" + calendar_component(dom, 1, 31) + " " +
         calendar_component(c.hours, 0, 23) + ":" + calendar_component(c.minutes, 0, 59) + ":00";
  return out;
}

// ---- Handing a drill to a scheduler ---------------------------------------------------------

std::string drill_name(const std::string& plan_path) {
  std::string base = plan_path.substr(plan_path.find_last_of('/') + 1);
  if (auto dot = base.find_last_of('.'); dot != std::string::npos && dot > 0) base.erase(dot);
  std::string name;
  for (char c : lower(base)) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (keep)
      name += c;
    else if (!name.empty() && name.back() != '-')
      name += '-';
  }
  if (name.size() > 37) name.resize(37);
  while (!name.empty() && name.back() == '-')
    name.pop_back();
  return name.empty() ? "drill" : name;
}

std::string shell_quote(const std::string& s) {
  bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("_./:=@+,-", c);
  });
  if (plain) return s;
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

namespace {

/// Doubles `%` so that systemd does not read it as a specifier (%n, %h, ...).
std::string systemd_specifiers(const std::string& s) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == '%') out += '%';
  }
  return out;
}

/// Text for a comment or a Description=: one line, no control characters.
std::string one_line(const std::string& s) {
  std::string out;
  for (char c : s)
    out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c;
  return out;
}

std::string directory_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

/// The state files of one drill, named after it.
struct StateFiles {
  std::string journal, report, history, log;
};

StateFiles state_files(const std::string& dir, const std::string& name) {
  std::string d = dir.size() > 1 && dir.back() == '/' ? dir.substr(0, dir.size() - 1) : dir;
  if (d == "/") d.clear();
  return {d + "/" + name + ".journal.json", d + "/" + name + ".report.html",
          d + "/achilles-drill-history.jsonl", d + "/" + name + ".log"};
}

/// A YAML scalar that is read back as exactly this string: a JSON string is valid YAML.
std::string yaml_string(const std::string& s) {
  return json(s).dump();
}

std::vector<EmittedFile> emit_systemd(const ScheduleRequest& r, const std::string& name,
                                      const std::string& on_calendar) {
  std::string unit = "achilles-drill-" + name;
  StateFiles files = state_files(r.state_dir, name);
  std::string plan_dir = directory_of(r.plan_path);
  std::string title = systemd_specifiers(one_line(r.title));
  std::vector<std::string> argv = {r.achilles_binary, "drill",       "run",      r.plan_path,
                                   "--journal",       files.journal, "--report", files.report,
                                   "--history",       files.history};
  std::string exec;
  for (const auto& a : argv)
    exec += (exec.empty() ? "" : " ") + systemd_quote(a);

  std::ostringstream service;
  service << "# Runs the Achilles drill \"" << one_line(r.title) << "\" once; " << unit
          << ".timer starts it.\n"
          << "# Install: copy both files to /etc/systemd/system/, then\n"
          << "#   systemctl daemon-reload && systemctl enable --now " << unit << ".timer\n"
          << "# A failed or aborted drill (exit 1) leaves the unit failed: `systemctl status "
          << unit << "`\n"
          << "# shows it, and the report says why.\n"
          << "[Unit]\n"
          << "Description=Achilles drill: " << title << "\n"
          << "Wants=network-online.target\n"
          << "After=network-online.target\n"
          << "\n[Service]\n"
          << "Type=oneshot\n"
          // WorkingDirectory= takes the rest of the line as the path: no quotes, only specifiers.
          << "WorkingDirectory=" << systemd_specifiers(plan_dir) << "\n";
  if (r.state_dir != plan_dir)
    service << "ExecStartPre=/bin/mkdir -p -- " << systemd_quote(r.state_dir) << "\n";
  service << "ExecStart=" << exec << "\n"
          << "# On SIGTERM (systemctl stop, shutdown) the runner reverts every fault before it "
             "exits;\n"
          << "# give it the time to.\n"
          << "TimeoutStopSec=120\n";

  std::ostringstream timer;
  timer << "# Starts " << unit << ".service on the cron schedule '" << one_line(r.cron) << "',\n"
        << "# in the machine's local time zone (the plan's window is checked by the runner).\n"
        << "[Unit]\n"
        << "Description=Schedule of the Achilles drill: " << title << "\n"
        << "\n[Timer]\n"
        << "OnCalendar=" << on_calendar << "\n"
        << "# A drill missed while the machine was off is not made up at boot, at a time nobody "
           "planned.\n"
        << "Persistent=false\n"
        << "# Drills run when the team expects them, not spread out over a random delay.\n"
        << "RandomizedDelaySec=0\n"
        << "AccuracySec=1s\n"
        << "Unit=" << unit << ".service\n"
        << "\n[Install]\n"
        << "WantedBy=timers.target\n";
  return {{unit + ".service", service.str()}, {unit + ".timer", timer.str()}};
}

std::vector<EmittedFile> emit_cron(const ScheduleRequest& r, const std::string& name) {
  StateFiles files = state_files(r.state_dir, name);
  std::string plan_dir = directory_of(r.plan_path);
  std::string command =
      (r.state_dir == plan_dir ? "" : "mkdir -p " + shell_quote(r.state_dir) + " && ") + "cd " +
      shell_quote(plan_dir) + " && " + shell_quote(r.achilles_binary) + " drill run " +
      shell_quote(r.plan_path) + " --journal " + shell_quote(files.journal) + " --report " +
      shell_quote(files.report) + " --history " + shell_quote(files.history) + " >>" +
      shell_quote(files.log) + " 2>&1";
  // cron turns an unescaped % into a newline, even inside the shell's quotes.
  std::string escaped;
  for (char c : command) {
    if (c == '%') escaped += '\\';
    escaped += c;
  }
  std::ostringstream out;
  out << "# The Achilles drill \"" << one_line(r.title) << "\" (" << one_line(r.plan_path) << ").\n"
      << "# Add the line below with `crontab -e`; it runs in cron's time zone, and appends the\n"
      << "# drill's output to " << one_line(files.log) << ".\n"
      << one_line(r.cron) << " " << escaped << "\n";
  return {{"achilles-drill-" + name + ".cron", out.str()}};
}

std::vector<EmittedFile> emit_k8s(const ScheduleRequest& r, const std::string& name) {
  std::string job = "achilles-drill-" + name;
  // A ConfigMap key is made of letters, digits, `-`, `_` and `.`.
  std::string plan_key = r.plan_path.substr(r.plan_path.find_last_of('/') + 1);
  for (char& c : plan_key)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '-';
  const std::string plan_dir = "/etc/achilles/drill";
  StateFiles files = state_files("/var/lib/achilles", name);
  std::vector<std::string> command = {
      "achilles",  "drill",       "run",      plan_dir + "/" + plan_key,
      "--journal", files.journal, "--report", files.report,
      "--history", files.history};
  std::string argv;
  for (const auto& a : command)
    argv += (argv.empty() ? "" : ", ") + yaml_string(a);

  std::ostringstream out;
  out << "# The Achilles drill \"" << one_line(r.title) << "\" as a Kubernetes CronJob.\n"
      << "# Before `kubectl apply -f " << job << ".yaml`:\n"
      << "#   1. Put the plan in a ConfigMap named after the drill (add a --from-file for each\n"
      << "#      file the plan names, such as its topology):\n"
      << "#        kubectl create configmap " << job
      << " --from-file=" << shell_quote(plan_key + "=" + one_line(r.plan_path)) << "\n"
      << "#      Agent token files and TLS keys belong in a Secret mounted where the plan "
         "expects them.\n"
      << "#   2. Set `image` below to an image that has the achilles binary on its PATH.\n"
      << "# The schedule is read in the controller's time zone (UTC unless spec.timeZone is "
         "set).\n"
      << "apiVersion: batch/v1\n"
      << "kind: CronJob\n"
      << "metadata:\n"
      << "  name: " << job << "\n"
      << "  labels: {app.kubernetes.io/name: achilles-drill, app.kubernetes.io/instance: " << name
      << "}\n"
      << "  annotations: {achilles/title: " << yaml_string(one_line(r.title)) << "}\n"
      << "spec:\n"
      << "  schedule: " << yaml_string(one_line(r.cron)) << "\n"
      << "  # Never two runs at once: each would judge the other's faults.\n"
      << "  concurrencyPolicy: Forbid\n"
      << "  # A run missed by more than five minutes is skipped, not made up later.\n"
      << "  startingDeadlineSeconds: 300\n"
      << "  successfulJobsHistoryLimit: 3\n"
      << "  failedJobsHistoryLimit: 3\n"
      << "  jobTemplate:\n"
      << "    spec:\n"
      << "      # A failed drill is a result, not a crash: it is not retried.\n"
      << "      backoffLimit: 0\n"
      << "      template:\n"
      << "        metadata:\n"
      << "          labels: {app.kubernetes.io/name: achilles-drill, app.kubernetes.io/instance: "
      << name << "}\n"
      << "        spec:\n"
      << "          restartPolicy: Never\n"
      << "          # On SIGTERM the runner reverts every fault before it exits.\n"
      << "          terminationGracePeriodSeconds: 120\n"
      << "          containers:\n"
      << "            - name: drill\n"
      << "              # SET THIS: an image with the achilles binary; this placeholder does not "
         "exist.\n"
      << "              image: \"REPLACE-ME/achilles:0.1.0\"\n"
      << "              command: [" << argv << "]\n"
      << "              workingDir: " << plan_dir << "\n"
      << "              volumeMounts:\n"
      << "                - {name: plan, mountPath: " << plan_dir << ", readOnly: true}\n"
      << "                - {name: state, mountPath: /var/lib/achilles}\n"
      << "          volumes:\n"
      << "            - name: plan\n"
      << "              configMap: {name: " << job << "}\n"
      << "            - name: state\n"
      << "              # emptyDir keeps nothing between runs: use a PersistentVolumeClaim to "
         "keep\n"
      << "              # the history and the last report.\n"
      << "              emptyDir: {}\n";
  return {{job + ".yaml", out.str()}};
}

}  // namespace

std::string systemd_quote(const std::string& s) {
  bool quote = s.empty() || s.find_first_of(" \t\n\"'\\;") != std::string::npos;
  std::string out = quote ? "\"" : "";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
    if (c == '%' || c == '$') out += c;
  }
  return quote ? out + "\"" : out;
}

std::vector<EmittedFile> emit_schedule(const ScheduleRequest& r) {
  CronSchedule schedule = parse_cron(r.cron);
  std::string name = drill_name(r.plan_path);
  switch (r.format) {
    case ScheduleFormat::kSystemd:
      return emit_systemd(r, name, to_on_calendar(schedule));
    case ScheduleFormat::kCron:
      return emit_cron(r, name);
    case ScheduleFormat::kK8s:
      return emit_k8s(r, name);
  }
  return {};
}

std::string format_emitted(const std::vector<EmittedFile>& files) {
  std::string out;
  for (const auto& f : files) {
    if (!out.empty()) out += "\n";
    out += "# ==> " + f.name + " <==\n" + f.content;
  }
  return out;
}

// ---- History --------------------------------------------------------------------------------

json history_line(const json& journal) {
  auto text = [&](const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  json steps = json::array();
  if (auto s = journal.find("steps"); s != journal.end() && s->is_array()) {
    for (const auto& step : *s) {
      if (!step.is_object()) continue;
      bool passed = !step.contains("error") || step["error"].is_null();
      json recovery = json::object();
      if (auto e = step.find("expectations"); e != step.end() && e->is_array()) {
        for (const auto& x : *e) {
          if (!x.is_object()) continue;
          passed = passed && x.value("passed", false);
          auto r = x.find("recovery_ms");
          recovery[text(x, "probe")] = r != x.end() && r->is_number() ? *r : json();
        }
      }
      steps.push_back(
          {{"name", text(step, "name")}, {"passed", passed}, {"recovery_ms", recovery}});
    }
  }
  return {{"title", text(journal, "title")},
          {"plan_file", text(journal, "plan_file")},
          {"started_at", text(journal, "started_at")},
          {"verdict", text(journal, "verdict")},
          {"steps", steps}};
}

void append_history(const std::string& path, const json& journal) {
  // dump() escapes every newline inside strings, so the record is one line.
  std::string line = history_line(journal).dump() + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error(path + ": cannot open the history file: " + std::strerror(errno));
  ssize_t n = ::write(fd, line.data(), line.size());
  int error = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(line.size()))
    throw std::runtime_error(path + ": cannot append to the history file: " +
                             (n < 0 ? std::strerror(error) : "short write (disk full?)"));
}

namespace {

/// Why `line` is not a valid history record, or "" when it is.
std::string check_record(const json& j) {
  if (!j.is_object()) return "a history line must be a JSON object";
  for (const char* key : {"title", "started_at", "verdict"}) {
    if (!j.contains(key)) return std::string("missing '") + key + "'";
    if (!j[key].is_string()) return std::string("'") + key + "' must be a string";
  }
  if (j.contains("plan_file") && !j["plan_file"].is_string()) return "'plan_file' must be a string";
  static const std::set<std::string> kVerdicts = {"passed", "failed", "aborted", "skipped"};
  if (!kVerdicts.count(j["verdict"].get<std::string>()))
    return "'verdict' must be passed, failed, aborted or skipped, not '" +
           j["verdict"].get<std::string>() + "'";
  if (!j.contains("steps") || !j["steps"].is_array()) return "'steps' must be a list";
  for (size_t i = 0; i < j["steps"].size(); ++i) {
    const json& s = j["steps"][i];
    std::string at = "'steps/" + std::to_string(i);
    if (!s.is_object()) return at + "' must be an object";
    if (!s.contains("name") || !s["name"].is_string()) return at + "/name' must be a string";
    if (!s.contains("passed") || !s["passed"].is_boolean())
      return at + "/passed' must be true or false";
    if (!s.contains("recovery_ms") || !s["recovery_ms"].is_object())
      return at + "/recovery_ms' must be an object of probe names";
    for (const auto& [probe, ms] : s["recovery_ms"].items())
      if (!ms.is_null() && !(ms.is_number() && ms.get<double>() >= 0))
        return at + "/recovery_ms/" + probe + "' must be a number of milliseconds or null";
  }
  return "";
}

/// nlohmann's message without its `[json.exception...] parse error at line 1, column 7: `.
std::string parse_message(const json::parse_error& e) {
  std::string m = e.what();
  if (auto p = m.find("column "); p != std::string::npos)
    if (auto colon = m.find(": ", p); colon != std::string::npos) m = m.substr(colon + 2);
  return m;
}

std::string milliseconds(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ms == std::floor(ms) ? "%.0f" : "%.1f", ms);
  return buf;
}

}  // namespace

History read_history(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(path + ": error: cannot read: no such file or not readable");
  History h;
  h.file = path;
  std::string line;
  for (uint32_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Diagnostic d{path, {number, 1}, "", ""};
    try {
      json j = json::parse(line);
      d.message = check_record(j);
      if (d.message.empty()) {
        h.runs.push_back(std::move(j));
        continue;
      }
    } catch (const json::parse_error& e) {
      d.pos.column = static_cast<uint32_t>(std::max<size_t>(e.byte, 1));
      d.message = "not a JSON history line: " + parse_message(e);
    }
    h.problems.push_back(std::move(d));
  }
  return h;
}

std::string recovery_trend(const std::vector<double>& v) {
  if (v.size() < 4) return "";
  auto mean = [](auto first, auto last) {
    double sum = 0;
    for (auto it = first; it != last; ++it)
      sum += *it;
    return sum / static_cast<double>(last - first);
  };
  double earlier = mean(v.begin(), v.end() - 3);
  double recent = mean(v.end() - 3, v.end());
  // Recovery times jitter by a probe interval or two; only a change that is large both
  // relatively and absolutely is a trend.
  double delta = recent - earlier;
  if (std::fabs(delta) <= 100 || std::fabs(delta) <= 0.2 * earlier) return "steady";
  return delta < 0 ? "better" : "worse";
}

std::string format_history(const History& h) {
  struct StepSeries {
    std::string name;
    std::vector<std::string> probes;  // first-seen order
    std::map<std::string, std::vector<std::optional<double>>> recovery;
  };
  struct Drill {
    std::string title;
    size_t runs = 0, passed = 0, skipped = 0;
    const json* last = nullptr;
    std::vector<StepSeries> steps;
  };
  std::vector<Drill> drills;
  for (const json& run : h.runs) {
    std::string title = run["title"];
    auto d = std::find_if(drills.begin(), drills.end(), [&](auto& x) { return x.title == title; });
    if (d == drills.end()) {
      d = drills.emplace(drills.end());
      d->title = title;
    }
    ++d->runs;
    d->last = &run;
    std::string verdict = run["verdict"];
    d->passed += verdict == "passed";
    d->skipped += verdict == "skipped";
    for (const json& step : run["steps"]) {
      std::string name = step["name"];
      auto s =
          std::find_if(d->steps.begin(), d->steps.end(), [&](auto& x) { return x.name == name; });
      if (s == d->steps.end()) {
        s = d->steps.emplace(d->steps.end());
        s->name = name;
      }
      for (const auto& [probe, ms] : step["recovery_ms"].items()) {
        if (!s->recovery.count(probe)) s->probes.push_back(probe);
        s->recovery[probe].push_back(ms.is_number() ? std::optional(ms.get<double>())
                                                    : std::nullopt);
      }
    }
  }

  std::ostringstream out;
  if (drills.empty()) out << "no drill runs in " << h.file << "\n";
  for (const Drill& d : drills) {
    size_t ran = d.runs - d.skipped;
    out << "drill \"" << d.title << "\": " << d.runs << (d.runs == 1 ? " run" : " runs");
    if (d.skipped) out << " (" << d.skipped << " skipped)";
    out << "; last " << (*d.last)["started_at"].get<std::string>() << " "
        << (*d.last)["verdict"].get<std::string>() << "; pass rate ";
    if (ran == 0)
      out << "none (every run was skipped)\n";
    else
      out << static_cast<int>(std::lround(100.0 * d.passed / ran)) << "% (" << d.passed << " of "
          << ran << ")\n";
    for (const StepSeries& s : d.steps) {
      out << "  step \"" << s.name << "\"\n";
      for (const std::string& probe : s.probes) {
        const auto& all = s.recovery.at(probe);
        std::vector<std::optional<double>> recent(all.end() - std::min<size_t>(all.size(), 8),
                                                  all.end());
        std::vector<double> measured;
        std::string list;
        for (const auto& ms : recent) {
          list += (list.empty() ? "" : " ") + (ms ? milliseconds(*ms) : std::string("none"));
          if (ms) measured.push_back(*ms);
        }
        out << "    " << probe << ": last "
            << (recent.back() ? "recovery " + milliseconds(*recent.back()) + " ms"
                              : std::string("did not recover"))
            << "; recent (oldest first, ms): " << list;
        std::string trend = recovery_trend(measured);
        out << (trend.empty() ? "" : "; " + trend) << "\n";
      }
    }
  }
  return out.str();
}

std::string format_history(const std::string& path) {
  History h = read_history(path);
  if (!h.problems.empty()) throw analyzer::InputError(h.problems);
  return format_history(h);
}

}  // namespace achilles::injector
