// The rules of a fault body (fault_schema.h). They mirror injector::parse_fault() in
// injector/src/fault.cc field for field and message for message; the agent is to call
// check_fault_body() and answer 400 with the first problem (see docs/drill.md).
#include "achilles/common/fault_schema.h"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <algorithm>
#include <limits>
#include <set>

namespace achilles::common {

using nlohmann::json;

namespace {

/// One object under check: typed checks that name the field, and, at the end, the keys no
/// check read (unknown fields). Unlike the agent's throwing reader, it records every problem.
class Fields {
 public:
  Fields(const json& obj, std::vector<std::string> at, std::string prefix, std::string what,
         std::vector<FaultProblem>& out)
      : obj_(obj),
        at_(std::move(at)),
        prefix_(std::move(prefix)),
        what_(std::move(what)),
        out_(out) {}

  bool has(const std::string& key) {
    seen_.insert(key);
    return obj_.contains(key);
  }
  std::string name(const std::string& key) const { return "'" + prefix_ + key + "'"; }
  /// A problem at the object itself (a field it lacks) or at one of its keys.
  void bad(const std::string& message, const std::string& key = "") {
    auto path = at_;
    if (!key.empty()) path.push_back(key);
    out_.push_back({std::move(path), message});
  }

  void string(const std::string& key, bool required) {
    if (!has(key)) {
      if (required) bad("missing field " + name(key));
      return;
    }
    const json& v = obj_.at(key);
    if (!v.is_string())
      bad("field " + name(key) + " must be a string", key);
    else if (v.get<std::string>().empty())
      bad("field " + name(key) + " must not be empty", key);
  }

  void integer(const std::string& key, bool required, std::int64_t lo, std::int64_t hi,
               const std::string& why = "") {
    if (!has(key)) {
      if (required) bad("missing field " + name(key) + why);
      return;
    }
    const json& v = obj_.at(key);
    if (!v.is_number_integer()) return bad("field " + name(key) + " must be an integer", key);
    std::int64_t n;
    if (v.is_number_unsigned() &&
        v.get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      n = std::numeric_limits<std::int64_t>::max();
    else
      n = v.get<std::int64_t>();
    if (n < lo || n > hi)
      bad("field " + name(key) + " must be between " + std::to_string(lo) + " and " +
              std::to_string(hi) + ", got " + v.dump(),
          key);
  }

  void finish() {
    for (const auto& [key, value] : obj_.items())
      if (!seen_.count(key)) bad("unknown field " + name(key) + what_, key);
  }

 private:
  const json& obj_;
  std::vector<std::string> at_;
  std::string prefix_, what_;
  std::vector<FaultProblem>& out_;
  std::set<std::string> seen_;
};

void check_target(const json& body, std::vector<FaultProblem>& out) {
  const json& v = body.at("target");
  if (!v.is_object()) {
    out.push_back({{"target"}, "field 'target' must be an object"});
    return;
  }
  Fields f(v, {"target"}, "target.", "", out);
  int given = 0;
  if (f.has("pid")) {
    f.integer("pid", true, 1, std::numeric_limits<int>::max());
    ++given;
  }
  if (f.has("process")) {
    f.string("process", true);
    ++given;
  }
  if (f.has("cmdline")) {
    f.string("cmdline", true);
    const json& c = v.at("cmdline");
    if (c.is_string() && !c.get<std::string>().empty()) {
      const auto re = c.get<std::string>();
      if (re.size() > 1024) {
        f.bad("field 'target.cmdline' must be at most 1024 characters", "cmdline");
      } else {
        // The agent matches with RE2 (linear time): the same engine, options and message.
        re2::RE2::Options o;
        o.set_log_errors(false);
        o.set_max_mem(8 << 20);
        const re2::RE2 compiled(re, o);
        if (!compiled.ok())
          f.bad("field 'target.cmdline' is not a valid regular expression: " + compiled.error(),
                "cmdline");
      }
    }
    ++given;
  }
  if (f.has("pidfile")) {
    f.string("pidfile", true);
    const json& p = v.at("pidfile");
    if (p.is_string() && !p.get<std::string>().empty()) {
      if (p.get<std::string>().front() != '/')
        f.bad("field 'target.pidfile' must be an absolute path", "pidfile");
      else if (p.get<std::string>().size() > 4096)
        f.bad("field 'target.pidfile' must be at most 4096 characters", "pidfile");
    }
    ++given;
  }
  if (f.has("count")) {
    const json& c = v.at("count");
    if (!c.is_string() || (c != "one" && c != "all"))
      f.bad("field 'target.count' must be \"one\" or \"all\"", "count");
  }
  f.finish();
  if (given != 1) f.bad("field 'target' must name exactly one of pid, process, cmdline, pidfile");
}

/// Whether `s` is an IPv4 or IPv6 CIDR (`10.0.3.0/24`, `2001:db8::/32`; a bare address is a
/// host: /32 or /128).
bool valid_cidr(const std::string& s) {
  const auto slash = s.find('/');
  const std::string addr = s.substr(0, slash);
  unsigned char buf[16];
  const bool v6 = addr.find(':') != std::string::npos;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, addr.c_str(), buf) != 1) return false;
  if (slash == std::string::npos) return true;
  const std::string len = s.substr(slash + 1);
  if (len.empty() || len.size() > 3 ||
      !std::all_of(len.begin(), len.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  return std::stoi(len) <= (v6 ? 128 : 32);
}

/// A list of CIDRs (`to`, `except`).
void check_cidrs(const json& body, const std::string& key, std::vector<FaultProblem>& out) {
  const json& v = body.at(key);
  if (!v.is_array() || v.empty()) {
    out.push_back({{key}, "field '" + key + "' must be a non-empty list of CIDRs"});
    return;
  }
  if (v.size() > 1024) {
    out.push_back({{key}, "field '" + key + "' must hold at most 1024 CIDRs"});
    return;
  }
  for (const auto& c : v)
    if (!c.is_string() || !valid_cidr(c.get<std::string>())) {
      out.push_back({{key},
                     "field '" + key + "' must hold CIDRs such as 10.0.3.0/24 or " +
                         "2001:db8::/32, got " + c.dump()});
      return;
    }
}

/// A network fault's own fields (spec agent-api.md, "Network faults"): the action, what
/// scopes it, and each action's parameters.
void check_network(const json& body, Fields& f, std::vector<FaultProblem>& out,
                   std::int64_t max_duration_ms) {
  static const std::string kActions[] = {"blackhole", "reject", "loss",   "bandwidth",
                                         "delay",     "dns",    "isolate"};
  std::string action;
  if (!f.has("action")) {
    f.bad("missing field 'action' (blackhole, reject, loss, bandwidth, delay, dns or isolate)");
  } else {
    const json& a = body.at("action");
    for (const auto& name : kActions)
      if (a.is_string() && a == name) action = name;
    if (action.empty())
      f.bad(
          "field 'action' must be one of blackhole, reject, loss, bandwidth, delay, dns, "
          "isolate",
          "action");
  }
  const bool scoped = action == "blackhole" || action == "reject" || action == "loss" ||
                      action == "dns" || action.empty();
  if (scoped) {
    if (f.has("to")) check_cidrs(body, "to", out);
    if (f.has("ports")) {
      const json& p = body.at("ports");
      if (!p.is_array() || p.empty() || p.size() > 64 ||
          !std::all_of(p.begin(), p.end(), [](const json& x) {
            return x.is_number_integer() && x.get<std::int64_t>() >= 1 &&
                   x.get<std::int64_t>() <= 65535;
          }))
        f.bad("field 'ports' must be a list of 1 to 64 ports, each between 1 and 65535", "ports");
    }
    if (f.has("protocol")) {
      const json& p = body.at("protocol");
      if (!p.is_string() || (p != "tcp" && p != "udp"))
        f.bad("field 'protocol' must be \"tcp\" or \"udp\" (both when left out)", "protocol");
    }
    if (f.has("direction")) {
      const json& d = body.at("direction");
      if (!d.is_string() || (d != "egress" && d != "ingress" && d != "both"))
        f.bad("field 'direction' must be \"egress\", \"ingress\" or \"both\"", "direction");
    }
  }
  if (action == "loss") {
    if (!f.has("percent")) {
      f.bad("missing field 'percent'");
    } else {
      const json& p = body.at("percent");
      if (!p.is_number())
        f.bad("field 'percent' must be a number", "percent");
      else if (!(p.get<double>() > 0 && p.get<double>() <= 100))
        f.bad("field 'percent' must be above 0 and at most 100, got " + p.dump(), "percent");
    }
  }
  if (action == "bandwidth" || action == "delay") {
    f.string("interface", true);
    const json* i = body.contains("interface") ? &body.at("interface") : nullptr;
    if (i && i->is_string() && !i->get<std::string>().empty()) {
      const auto name = i->get<std::string>();
      // IFNAMSIZ is 16 with the terminating NUL; the kernel refuses '/' and blanks.
      if (name.size() > 15 || name.find_first_of("/ \t\n:") != std::string::npos)
        f.bad(
            "field 'interface' must be a network interface name (at most 15 characters, no "
            "'/', ':' or blanks)",
            "interface");
    }
  }
  if (action == "bandwidth") f.integer("rate_kbit", true, 1, 100000000);
  if (action == "delay") {
    f.integer("delay_ms", true, 0, 3600000);
    f.integer("jitter_ms", false, 0, 3600000);
  }
  if (action == "isolate" && f.has("except")) check_cidrs(body, "except", out);
  f.integer("duration_ms", true, 1, max_duration_ms, " (it bounds the fault in time)");
}

}  // namespace

const std::vector<std::string>& fault_signal_names() {
  static const std::vector<std::string> kNames = {"SIGKILL", "SIGTERM", "SIGINT",  "SIGHUP",
                                                  "SIGQUIT", "SIGABRT", "SIGUSR1", "SIGUSR2"};
  return kNames;
}

std::vector<FaultProblem> check_fault_body(const json& body, const FaultLimits& limits) {
  std::vector<FaultProblem> out;
  if (!body.is_object()) return {{{}, "the body must be a JSON object"}};
  if (!body.contains("kind")) return {{{}, "missing field 'kind'"}};
  const json& k = body.at("kind");
  static const std::string kKinds[] = {"kill", "pause", "latency", "cpu", "memory", "network"};
  std::string kind;
  for (const auto& name : kKinds)
    if (k.is_string() && k == name) kind = name;
  if (kind.empty())
    return {{{"kind"}, "field 'kind' must be one of kill, pause, latency, cpu, memory, network"}};

  Fields f(body, {}, "", " for a " + kind + " fault", out);
  f.has("kind");
  const std::int64_t max = limits.max_duration_ms;
  const std::string bound = " (it bounds the fault in time)";
  if (kind == "kill" || kind == "pause") {
    if (!f.has("target"))
      f.bad("missing field 'target'");
    else
      check_target(body, out);
  }
  if (kind == "kill") {
    if (f.has("signal")) {
      const json& s = body.at("signal");
      f.string("signal", true);
      const auto& names = fault_signal_names();
      if (s.is_string() && !s.get<std::string>().empty() &&
          std::find(names.begin(), names.end(), s.get<std::string>()) == names.end())
        f.bad(
            "field 'signal' must be one of SIGKILL, SIGTERM, SIGINT, SIGHUP, SIGQUIT, "
            "SIGABRT, SIGUSR1, SIGUSR2",
            "signal");
    }
    f.integer("observe_ms", false, 0, max);
  } else if (kind == "pause") {
    f.integer("duration_ms", true, 1, max, bound);
  } else if (kind == "latency") {
    f.string("proxy", true);
    f.integer("latency_ms", true, 0, 3600000);
    f.integer("jitter_ms", false, 0, 3600000);
    f.integer("duration_ms", true, 1, max, bound);
  } else if (kind == "cpu") {
    f.integer("cores", false, 1, limits.max_cores);
    if (f.has("load")) {
      const json& l = body.at("load");
      if (!l.is_number())
        f.bad("field 'load' must be a number", "load");
      else if (!(l.get<double>() > 0 && l.get<double>() <= 1))
        f.bad("field 'load' must be above 0 and at most 1, got " + l.dump(), "load");
    }
    f.integer("duration_ms", true, 1, max, bound);
  } else if (kind == "memory") {
    f.integer("bytes", true, 1, limits.max_memory_bytes);
    f.integer("duration_ms", true, 1, max, bound);
  } else if (kind == "network") {
    check_network(body, f, out, max);
  }
  f.finish();
  return out;
}

}  // namespace achilles::common
