// Handing a drill to a scheduler (`achilles drill schedule`): a systemd service and timer, a
// crontab line, or a Kubernetes CronJob, each running `achilles drill run` with the plan's
// journal, report and history kept in a state directory.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <sstream>

#include "achilles/common/text.h"
#include "achilles/drill/schedule.h"

namespace achilles::drill {

using common::lower;
using common::UsageError;
using nlohmann::json;

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

}  // namespace achilles::drill
