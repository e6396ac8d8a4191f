// Validation of fault bodies and selection of target processes.
#include "achilles/injector/fault.h"

#include <fnmatch.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <regex>
#include <set>

namespace achilles::injector {

using nlohmann::json;

const char* kind_name(FaultKind kind) {
  switch (kind) {
    case FaultKind::kKill:
      return "kill";
    case FaultKind::kPause:
      return "pause";
    case FaultKind::kLatency:
      return "latency";
    case FaultKind::kCpu:
      return "cpu";
    case FaultKind::kMemory:
      return "memory";
  }
  return "?";
}

namespace {

[[noreturn]] void bad(const std::string& message) {
  throw ApiError(400, message);
}

// One JSON object under validation: typed getters that name the field in every message,
// and a final check that nothing unknown was sent.
class Fields {
 public:
  Fields(const json& obj, std::string prefix, std::string what)
      : obj_(obj), prefix_(std::move(prefix)), what_(std::move(what)) {}

  bool has(const std::string& key) {
    seen_.insert(key);
    return obj_.contains(key);
  }

  std::string name(const std::string& key) const { return "'" + prefix_ + key + "'"; }

  std::string string(const std::string& key, bool required, const std::string& fallback = "") {
    if (!has(key)) return missing(key, required, fallback);
    const json& v = obj_.at(key);
    if (!v.is_string()) bad("field " + name(key) + " must be a string");
    auto s = v.get<std::string>();
    if (s.empty()) bad("field " + name(key) + " must not be empty");
    return s;
  }

  std::int64_t integer(const std::string& key, bool required, std::int64_t lo, std::int64_t hi,
                       std::int64_t fallback = 0, const std::string& why = "") {
    if (!has(key)) {
      if (required) bad("missing field " + name(key) + why);
      return fallback;
    }
    const json& v = obj_.at(key);
    if (!v.is_number_integer()) bad("field " + name(key) + " must be an integer");
    std::int64_t n;
    if (v.is_number_unsigned() &&
        v.get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      n = std::numeric_limits<std::int64_t>::max();
    else
      n = v.get<std::int64_t>();
    if (n < lo || n > hi)
      bad("field " + name(key) + " must be between " + std::to_string(lo) + " and " +
          std::to_string(hi) + ", got " + v.dump());
    return n;
  }

  double number(const std::string& key, bool required, double fallback = 0) {
    if (!has(key)) {
      if (required) bad("missing field " + name(key));
      return fallback;
    }
    const json& v = obj_.at(key);
    if (!v.is_number()) bad("field " + name(key) + " must be a number");
    return v.get<double>();
  }

  // Every key not read so far is unknown.
  void finish() const {
    for (const auto& [key, value] : obj_.items())
      if (!seen_.count(key)) bad("unknown field " + name(key) + what_);
  }

 private:
  std::string missing(const std::string& key, bool required, const std::string& fallback) {
    if (required) bad("missing field " + name(key));
    return fallback;
  }

  const json& obj_;
  std::string prefix_;
  std::string what_;
  std::set<std::string> seen_;
};

Target parse_target(const json& v) {
  if (!v.is_object()) bad("field 'target' must be an object");
  Fields f(v, "target.", "");
  Target t;
  int given = 0;
  if (f.has("pid")) {
    t.pid = static_cast<int>(f.integer("pid", true, 1, std::numeric_limits<int>::max()));
    ++given;
  }
  if (f.has("process")) {
    t.process = f.string("process", true);
    ++given;
  }
  if (f.has("cmdline")) {
    t.cmdline = f.string("cmdline", true);
    if (t.cmdline.size() > 1024) bad("field 'target.cmdline' must be at most 1024 characters");
    try {
      std::regex re(t.cmdline);
    } catch (const std::regex_error& e) {
      bad("field 'target.cmdline' is not a valid regular expression: " + std::string(e.what()));
    }
    ++given;
  }
  if (f.has("pidfile")) {
    t.pidfile = f.string("pidfile", true);
    ++given;
  }
  if (f.has("count")) {
    const json& c = v.at("count");
    if (!c.is_string() || (c != "one" && c != "all"))
      bad("field 'target.count' must be \"one\" or \"all\"");
    t.all = c == "all";
  }
  f.finish();
  if (given != 1) bad("field 'target' must name exactly one of pid, process, cmdline, pidfile");
  return t;
}

}  // namespace

FaultSpec parse_fault(const json& body, const Limits& limits) {
  if (!body.is_object()) bad("the body must be a JSON object");
  FaultSpec s;
  if (!body.contains("kind")) bad("missing field 'kind'");
  const json& k = body.at("kind");
  static const FaultKind kKinds[] = {FaultKind::kKill, FaultKind::kPause, FaultKind::kLatency,
                                     FaultKind::kCpu, FaultKind::kMemory};
  bool found = false;
  for (auto kind : kKinds)
    if (k.is_string() && k == kind_name(kind)) s.kind = kind, found = true;
  if (!found) bad("field 'kind' must be one of kill, pause, latency, cpu, memory");

  Fields f(body, "", " for a " + std::string(kind_name(s.kind)) + " fault");
  f.has("kind");
  const std::int64_t max = limits.max_duration_ms;
  const std::string bound = " (it bounds the fault in time)";
  switch (s.kind) {
    case FaultKind::kKill:
      if (!f.has("target")) bad("missing field 'target'");
      s.target = parse_target(body.at("target"));
      if (f.has("signal")) {
        s.signal_name = f.string("signal", true);
        auto n = signal_number(s.signal_name);
        if (!n)
          bad("field 'signal' must be one of SIGKILL, SIGTERM, SIGINT, SIGHUP, SIGQUIT, "
              "SIGABRT, SIGUSR1, SIGUSR2");
        s.signal = *n;
      }
      s.observe_ms =
          f.integer("observe_ms", false, 0, max, std::min(limits.default_observe_ms, max));
      break;
    case FaultKind::kPause:
      if (!f.has("target")) bad("missing field 'target'");
      s.target = parse_target(body.at("target"));
      s.duration_ms = f.integer("duration_ms", true, 1, max, 0, bound);
      break;
    case FaultKind::kLatency:
      s.proxy = f.string("proxy", true);
      s.latency_ms = f.integer("latency_ms", true, 0, 3600000);
      s.jitter_ms = f.integer("jitter_ms", false, 0, 3600000);
      s.duration_ms = f.integer("duration_ms", true, 1, max, 0, bound);
      break;
    case FaultKind::kCpu: {
      s.cores = static_cast<int>(f.integer("cores", false, 1, limits.max_cores, 1));
      s.load = f.number("load", false, 1.0);
      if (!(s.load > 0 && s.load <= 1))
        bad("field 'load' must be above 0 and at most 1, got " + body.at("load").dump());
      s.duration_ms = f.integer("duration_ms", true, 1, max, 0, bound);
      break;
    }
    case FaultKind::kMemory:
      s.bytes = static_cast<std::uint64_t>(
          f.integer("bytes", true, 1, static_cast<std::int64_t>(limits.max_memory_bytes)));
      s.duration_ms = f.integer("duration_ms", true, 1, max, 0, bound);
      break;
  }
  f.finish();
  return s;
}

json to_json(const FaultSpec& s) {
  json j = {{"kind", kind_name(s.kind)}};
  auto target = [&] {
    json t = json::object();
    if (s.target.pid) t["pid"] = s.target.pid;
    if (!s.target.process.empty()) t["process"] = s.target.process;
    if (!s.target.cmdline.empty()) t["cmdline"] = s.target.cmdline;
    if (!s.target.pidfile.empty()) t["pidfile"] = s.target.pidfile;
    t["count"] = s.target.all ? "all" : "one";
    return t;
  };
  switch (s.kind) {
    case FaultKind::kKill:
      j["target"] = target();
      j["signal"] = s.signal_name;
      j["observe_ms"] = s.observe_ms;
      break;
    case FaultKind::kPause:
      j["target"] = target();
      j["duration_ms"] = s.duration_ms;
      break;
    case FaultKind::kLatency:
      j["proxy"] = s.proxy;
      j["latency_ms"] = s.latency_ms;
      j["jitter_ms"] = s.jitter_ms;
      j["duration_ms"] = s.duration_ms;
      break;
    case FaultKind::kCpu:
      j["cores"] = s.cores;
      j["load"] = s.load;
      j["duration_ms"] = s.duration_ms;
      break;
    case FaultKind::kMemory:
      j["bytes"] = s.bytes;
      j["duration_ms"] = s.duration_ms;
      break;
  }
  return j;
}

std::string refusal(const ProcessInfo& p, const Guard& guard) {
  if (p.pid == 1) return "pid 1 is never signalled";
  if (p.pid == guard.self_pid) return "the agent never signals itself";
  if (p.pid == guard.parent_pid) return "the agent never signals its parent";
  if (p.kernel_thread) return "kernel threads are never signalled";
  if (p.state == 'Z') return "the process is a zombie";
  bool named = false;
  for (const auto& glob : guard.allow.processes)
    if (fnmatch(glob.c_str(), p.name.c_str(), 0) == 0) named = true;
  if (guard.allow.processes.empty())
    return "no process may be signalled: the allowlist (allow.processes) is empty";
  if (!named) return "process name '" + p.name + "' is not in the allowlist (allow.processes)";
  if (!guard.allow.uids.empty() &&
      std::find(guard.allow.uids.begin(), guard.allow.uids.end(), p.uid) == guard.allow.uids.end())
    return "uid " + std::to_string(p.uid) + " is not in the allowlist (allow.users)";
  return "";
}

Selection select_targets(const Target& target, const ProcessTable& table, const Guard& guard) {
  Selection sel;
  auto explicit_pid = [&](int pid, const std::string& origin) {
    auto p = table.get(pid);
    if (!p) throw ApiError(404, "no process with pid " + std::to_string(pid) + origin);
    if (auto why = refusal(*p, guard); !why.empty())
      throw ApiError(403, "pid " + std::to_string(pid) + " may not be signalled: " + why);
    sel.targets.push_back(*p);
  };
  if (target.pid) {
    explicit_pid(target.pid, "");
    return sel;
  }
  if (!target.pidfile.empty()) {
    std::ifstream in(target.pidfile);
    long pid = 0;
    if (!in) throw ApiError(404, "cannot read pidfile '" + target.pidfile + "'");
    if (!(in >> pid) || pid <= 0 || pid > std::numeric_limits<int>::max())
      throw ApiError(400, "pidfile '" + target.pidfile + "' does not hold a pid");
    explicit_pid(static_cast<int>(pid), " (from pidfile '" + target.pidfile + "')");
    return sel;
  }
  std::optional<std::regex> re;
  if (!target.cmdline.empty()) re.emplace(target.cmdline);
  size_t matched = 0;
  std::string first_reason;
  // libstdc++'s regex recurses per character: match on a bounded prefix of each command
  // line, and treat a match that fails inside the library as no match.
  constexpr std::size_t kMatchedPrefix = 4096;
  auto cmdline_matches = [&](const std::string& cmdline) {
    if (cmdline.empty()) return false;
    const auto end =
        cmdline.begin() + static_cast<std::ptrdiff_t>(std::min(cmdline.size(), kMatchedPrefix));
    try {
      return std::regex_search(cmdline.begin(), end, *re);
    } catch (const std::regex_error&) {
      return false;
    }
  };
  for (auto& p : table.list()) {
    const bool match = re ? cmdline_matches(p.cmdline) : p.name == target.process;
    if (!match) continue;
    ++matched;
    if (auto why = refusal(p, guard); !why.empty()) {
      if (first_reason.empty()) first_reason = why;
      sel.skipped.push_back({{"pid", p.pid}, {"name", p.name}, {"reason", why}});
      continue;
    }
    sel.targets.push_back(std::move(p));
  }
  const std::string what =
      re ? "command line matching '" + target.cmdline + "'" : "name '" + target.process + "'";
  if (matched == 0) throw ApiError(404, "no process with " + what);
  if (sel.targets.empty())
    throw ApiError(403, "no process with " + what + " may be signalled: " + first_reason);
  if (!target.all) {
    // The oldest process: in a supervisor tree, usually the main one.
    auto oldest = std::min_element(
        sel.targets.begin(), sel.targets.end(), [](const ProcessInfo& a, const ProcessInfo& b) {
          return std::tie(a.start_time, a.pid) < std::tie(b.start_time, b.pid);
        });
    ProcessInfo keep = *oldest;
    sel.targets = {keep};
  }
  return sel;
}

}  // namespace achilles::injector
