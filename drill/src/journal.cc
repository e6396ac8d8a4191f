// What a journal says to a person: the exit code of a run, its summary on the terminal, and
// the dry run's account of a plan.
#include <cmath>
#include <sstream>

#include "achilles/common/text.h"
#include "achilles/drill/runner.h"

namespace achilles::drill {

using nlohmann::json;

int exit_code(const json& journal) {
  const std::string v = journal.value("verdict", "");
  if (v == "passed") return 0;
  if (v == "skipped") return journal.value("outside_window", false) ? 0 : 1;
  return 1;
}

std::string format_summary(const json& j) {
  std::ostringstream out;
  out << "drill '" << j.value("title", "") << "': " << j.value("verdict", "") << " ("
      << j.value("reason", "") << ")\n";
  for (const auto& s : j["steps"]) {
    out << "  step '" << s["name"].get<std::string>() << "'";
    if (s.contains("domains") && s["domains"].is_array() && !s["domains"].empty()) {
      std::vector<std::string> d;
      for (const auto& x : s["domains"])
        d.push_back(x.is_string() ? x.get<std::string>() : x.dump());
      out << " (loses domain " << common::join(d, ", ");
      if (s.contains("faults") && s["faults"].is_array()) {
        std::vector<std::string> how;
        for (const auto& f : s["faults"])
          how.push_back(f.value("component", "").empty()
                            ? "isolate on agent '" + f.value("agent", "?") + "'"
                            : "kill " + f.value("component", "") + " on agent '" +
                                  f.value("agent", "?") + "'");
        out << ": " << common::join(how, ", ");
      }
      out << ")";
    }
    if (!s["error"].is_null()) out << ": not injected: " << s["error"].get<std::string>();
    if (s["final"].is_object() && s["final"].contains("observed")) {
      const auto& o = s["final"]["observed"];
      if (o.value("restarted", false))
        out << " (the process came back as pid " << o.value("new_pid", 0) << " after "
            << o.value("restarted_after_ms", 0) << " ms)";
      else if (o.value("exited", false))
        out << " (the process did not come back)";
    }
    out << "\n";
    for (const auto& e : s["expectations"])
      out << "    " << (e["passed"].get<bool>() ? "ok  " : "FAIL") << " "
          << e["probe"].get<std::string>() << " expected " << e["expected"].get<std::string>()
          << ": " << e["message"].get<std::string>() << "\n";
    // A step without expectations, and a latency step: what it did to each probe.
    const bool latency =
        s.contains("fault") && s["fault"].is_object() && s["fault"].value("kind", "") == "latency";
    if ((s["expectations"].empty() || latency) && s.contains("summary"))
      for (const auto& [probe, sum] : s["summary"].items()) {
        const auto& d = sum["during"];
        if (d.is_null()) continue;
        out << "    " << probe;
        if (s.contains("observed") && s["observed"].contains(probe))
          out << " " << s["observed"][probe].get<std::string>();
        out << " during the fault: success "
            << std::round(d["success_ratio"].get<double>() * 1000) / 10 << "%";
        if (!d["p99_ms"].is_null())
          out << ", p99 " << std::lround(d["p99_ms"].get<double>()) << " ms";
        const auto& b = sum["before"];
        if (!b.is_null() && !b["p99_ms"].is_null())
          out << " (before: p99 " << std::lround(b["p99_ms"].get<double>()) << " ms)";
        out << "\n";
      }
  }
  // The analyzer's predictions, entrypoint by entrypoint: which it said would go down, and
  // which did.
  if (j.contains("predictions"))
    for (const auto& p : j["predictions"]) {
      if (!p.is_object() || !p.contains("predicted_down")) continue;
      auto names = [](const json& v) {
        if (!v.is_array()) return std::string("not judged");
        std::vector<std::string> n;
        for (const auto& x : v)
          n.push_back(x.is_string() ? x.get<std::string>() : x.dump());
        return n.empty() ? std::string("none") : common::join(n, ", ");
      };
      const json& agreed = p.contains("agreed") ? p["agreed"] : json();
      out << "  prediction for '" << p.value("step", "?") << "' (" << p.value("kind", "?") << " "
          << p.value("subject", "?") << "): predicted down: " << names(p["predicted_down"])
          << "; observed down: " << names(p.value("observed_down", json()))
          << (!agreed.is_boolean() ? "; not judged"
              : agreed.get<bool>() ? "; the live system agreed"
                                   : "; the live system DISAGREED")
          << "\n";
    }
  for (const auto& r : j["rollback"])
    out << "  rollback: fault " << r["fault_id"].get<std::string>() << " of step '"
        << r["step"].get<std::string>() << "': " << r["result"].get<std::string>()
        << (r.value("when", "") == "step end" ? " (at the step's end)" : "")
        << (r.value("retry", false) ? " (a retry)" : "") << "\n";
  if (j.contains("unreverted"))
    for (const auto& u : j["unreverted"])
      out << "  LEFT ACTIVE: fault " << u["fault_id"].get<std::string>() << " of step '"
          << u["step"].get<std::string>() << "' on agent '" << u["agent"].get<std::string>()
          << "' until " << u["until"].get<std::string>() << " at the latest\n";
  // Notifications that failed: warnings, also where the live log is not shown (not a
  // terminal); they never change the verdict.
  if (j.contains("notifications"))
    for (const auto& n : j["notifications"])
      if (!n.value("ok", true))
        out << "  warning: the " << n.value("event", "?") << " notification to "
            << n.value("target", "?") << " failed: " << n.value("error", "?") << "\n";
  return out.str();
}

std::string format_dry_run(const Plan& plan) {
  std::ostringstream out;
  out << "dry run of '" << plan.title << "' (" << plan.file << "): nothing is touched\n";
  out << "agents:\n";
  for (const auto& [name, a] : plan.agents)
    out << "  " << name << ": " << a.url
        << (a.token.empty() ? " (no token)" : " (token from " + a.token_file + ")") << "\n";
  out << "probes:\n";
  for (const auto& p : plan.probes) {
    out << "  " << p.name << ": " << probe_kind_name(p.kind) << " " << p.describe() << " every "
        << p.every_ms << " ms, healthy when ";
    if (p.value) out << "the value is " << p.value->str() << " in ";
    out << (p.value ? "a ratio >= " : "success >= ") << p.success_ratio
        << (p.value ? " of samples" : "");
    if (p.p99_ms) out << " and p99 <= " << *p.p99_ms << " ms";
    out << " over " << p.window_ms << " ms";
    if (p.down_when) out << "; down when " << p.down_when->str();
    if (!p.bearer_token_file.empty()) out << " (bearer token from " << p.bearer_token_file << ")";
    if (!p.basic_auth_password_file.empty())
      out << " (basic auth as '" << p.basic_auth_user << "', password from "
          << p.basic_auth_password_file << ")";
    out << "\n";
  }
  out << "steady state: every probe healthy for " << plan.hold_ms << " ms (waiting at most "
      << plan.steady_timeout_ms << " ms)\n";
  out << "steps (ms after the steady state):\n";
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    const auto& s = plan.steps[i];
    out << "  " << s.at_ms << ".." << plan.step_end_ms(i) << " '" << s.name << "':";
    if (const auto d = s.domains(); !d.empty())
      out << " loses domain" << (d.size() > 1 ? "s " : " ") << common::join(d, ", ") << ";";
    // Several faults are injected together, one line each.
    for (const auto& f : s.faults)
      out << (s.faults.size() > 1 ? "\n      " : " ") << "POST " << plan.agents.at(f.agent).url
          << "/v1/faults " << f.fault.dump()
          << (f.component.empty() ? "" : " (kills " + f.component + ")");
    out << "\n";
    for (const auto& e : s.expect)
      out << "      expect " << e.probe << " " << e.name() << "\n";
    if (s.recover_within_ms) out << "      recover within " << *s.recover_within_ms << " ms\n";
  }
  if (plan.abort_when)
    out << "abort when " << plan.abort_when->probe << " is not healthy for "
        << plan.abort_when->unhealthy_for_ms << " ms\n";
  out << "rollback: always; lease " << plan.lease_ms << " ms on every agent\n";
  if (!plan.notify.empty()) {
    out << "notify (start, each fault's injection and revert, the end):\n";
    for (const auto& t : plan.notify)
      out << "  " << t.describe() << "\n";
  }
  return out.str();
}

}  // namespace achilles::drill
