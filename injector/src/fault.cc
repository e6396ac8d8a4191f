// Validation of fault bodies and selection of target processes. Command-line patterns are
// RE2 (Debian's libre2): matching is linear in the input, so no pattern can hold up the
// event loop the way a backtracking engine (std::regex) does on `(a+)+$`.
#include "achilles/injector/fault.h"
#include "achilles/common/fault_schema.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <re2/re2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <limits>
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

std::shared_ptr<const re2::RE2> compile_cmdline(const std::string& pattern) {
  re2::RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(8 << 20);
  return std::make_shared<const re2::RE2>(pattern, o);
}

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
    t.regex = compile_cmdline(t.cmdline);
    if (!t.regex->ok())
      bad("field 'target.cmdline' is not a valid regular expression: " + t.regex->error());
    ++given;
  }
  if (f.has("pidfile")) {
    t.pidfile = f.string("pidfile", true);
    if (t.pidfile.front() != '/') bad("field 'target.pidfile' must be an absolute path");
    if (t.pidfile.size() > 4096) bad("field 'target.pidfile' must be at most 4096 characters");
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
  // One schema for the agent and for the drill runner, which checks every fault of a plan
  // before anything runs (common/fault_schema.cc): the first problem it finds is this
  // request's 400. The checks below read the values and stay as a second line.
  const common::FaultLimits schema_limits{limits.max_duration_ms, limits.max_cores,
                                          static_cast<std::int64_t>(std::min<std::uint64_t>(
                                              limits.max_memory_bytes, std::int64_t{1} << 62))};
  if (auto problems = common::check_fault_body(body, schema_limits); !problems.empty())
    bad(problems.front().message);
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

std::set<int> ancestors_of(int pid, const ProcessTable& table) {
  std::set<int> out;
  auto me = table.get(pid);
  int cur = me ? me->ppid : 0;
  // Bounded: a pid table that loops (pid reuse while walking) cannot hold us.
  for (int steps = 0; cur > 1 && steps < 4096 && out.insert(cur).second; ++steps) {
    auto p = table.get(cur);
    cur = p ? p->ppid : 0;
  }
  return out;
}

std::string refusal(const ProcessInfo& p, const Guard& guard, const std::set<int>& ancestors) {
  const int group = p.tgid > 0 ? p.tgid : p.pid;
  auto is = [&](int pid) { return pid > 0 && (p.pid == pid || group == pid); };
  if (is(1)) return "pid 1 is never signalled";
  if (is(guard.self_pid))
    return p.pid == guard.self_pid ? "the agent never signals itself"
                                   : "it is a thread of the agent, which never signals itself";
  if (is(guard.parent_pid)) return "the agent never signals its parent";
  for (int a : ancestors)
    if (is(a)) return "the agent never signals its ancestors";
  for (int h : guard.helpers)
    if (is(h)) return "it is one of the agent's own stress processes";
  if (p.kernel_thread) return "kernel threads are never signalled";
  if (p.state == 'Z') return "the process is a zombie";
  const auto& allow = guard.allow;
  if (allow.processes.empty() && allow.executables.empty())
    return "no process may be signalled: the allowlist (allow.processes, allow.executables) is "
           "empty";
  bool allowed = false;
  for (const auto& glob : allow.processes)
    if (fnmatch(glob.c_str(), p.name.c_str(), 0) == 0) allowed = true;
  if (!p.exe.empty())
    for (const auto& glob : allow.executables)
      if (fnmatch(glob.c_str(), p.exe.c_str(), FNM_PATHNAME) == 0) allowed = true;
  if (!allowed) {
    const std::string exe = p.exe.empty() ? "(unreadable)" : "'" + p.exe + "'";
    if (allow.executables.empty())
      return "process name '" + p.name + "' is not in the allowlist (allow.processes)";
    if (allow.processes.empty())
      return "executable " + exe + " is not in the allowlist (allow.executables)";
    return "neither process name '" + p.name + "' nor executable " + exe +
           " is in the allowlist (allow.processes, allow.executables)";
  }
  if (!allow.uids.empty() &&
      std::find(allow.uids.begin(), allow.uids.end(), p.euid) == allow.uids.end())
    return "effective uid " + std::to_string(p.euid) + " is not in the allowlist (allow.users)";
  return "";
}

namespace {

// The pid a pidfile holds, read without following a symbolic link, without blocking on a
// FIFO and without showing a byte of it in any message; only under guard.pidfile_dirs.
int read_pidfile(const std::string& given, const Guard& guard) {
  namespace fs = std::filesystem;
  std::string dirs;
  for (const auto& d : guard.pidfile_dirs)
    dirs += (dirs.empty() ? "" : ", ") + d;
  if (guard.pidfile_dirs.empty())
    throw ApiError(403, "pidfile targets are refused: allow.pidfile_dirs is empty");
  const std::string outside =
      "pidfile '" + given + "' is not in a directory that allow.pidfile_dirs names (" + dirs + ")";
  const fs::path path = fs::path(given).lexically_normal();
  const std::string name = path.filename().string();
  // The directory, resolved; whether it exists or not, anything outside gets one answer.
  char buf[PATH_MAX];
  if (!::realpath(path.parent_path().c_str(), buf)) throw ApiError(403, outside);
  const std::string dir = buf;
  bool inside = false;
  for (const auto& d : guard.pidfile_dirs) {
    if (!::realpath(d.c_str(), buf)) continue;
    const std::string allowed = buf;
    if (allowed == "/" || dir == allowed || dir.rfind(allowed + "/", 0) == 0) inside = true;
  }
  if (!inside) throw ApiError(403, outside);
  const std::string not_regular =
      "pidfile '" + given + "' is not a regular file (a symbolic link, FIFO or device is refused)";
  if (name.empty() || name == "." || name == "..") throw ApiError(403, not_regular);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (dfd < 0) throw ApiError(403, outside);
  // The directory opened is the one checked (no component swapped for a link meanwhile).
  const ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(dfd)).c_str(), buf, sizeof buf);
  if (n <= 0 || std::string(buf, static_cast<std::size_t>(n)) != dir) {
    ::close(dfd);
    throw ApiError(403, outside);
  }
  struct stat st {};
  if (::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    const int err = errno;
    ::close(dfd);
    if (err == ENOENT) throw ApiError(404, "cannot read pidfile '" + given + "': no such file");
    throw ApiError(403, "cannot read pidfile '" + given + "': " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(dfd);
    throw ApiError(403, not_regular);
  }
  const int fd =
      ::openat(dfd, name.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  const int open_err = errno;
  ::close(dfd);
  if (fd < 0) {
    if (open_err == ELOOP) throw ApiError(403, not_regular);
    throw ApiError(403, "cannot read pidfile '" + given + "': " + std::strerror(open_err));
  }
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw ApiError(403, not_regular);
  }
  char text[65];
  ssize_t got = 0;
  for (;;) {
    const ssize_t r = ::read(fd, text + got, sizeof text - 1 - static_cast<std::size_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += r;
    if (got == static_cast<ssize_t>(sizeof text - 1)) break;
  }
  ::close(fd);
  const std::string no_pid = "pidfile '" + given + "' does not hold a pid";
  // Digits, with white space around them, and nothing else, in at most 64 bytes.
  if (got <= 0 || got >= static_cast<ssize_t>(sizeof text - 1)) throw ApiError(400, no_pid);
  const std::string_view v(text, static_cast<std::size_t>(got));
  const auto first = v.find_first_not_of(" \t\r\n");
  const auto last = v.find_last_not_of(" \t\r\n");
  if (first == std::string_view::npos) throw ApiError(400, no_pid);
  const auto digits = v.substr(first, last - first + 1);
  if (digits.size() > 10 || digits.find_first_not_of("0123456789") != std::string_view::npos)
    throw ApiError(400, no_pid);
  const long long pid = std::stoll(std::string(digits));
  if (pid <= 0 || pid > std::numeric_limits<int>::max()) throw ApiError(400, no_pid);
  return static_cast<int>(pid);
}

}  // namespace

Selection select_targets(const Target& target, const ProcessTable& table, const Guard& guard) {
  Selection sel;
  const std::set<int> ancestors = ancestors_of(guard.self_pid, table);
  auto explicit_pid = [&](int pid, const std::string& origin) {
    auto p = table.get(pid);
    if (!p) throw ApiError(404, "no process with pid " + std::to_string(pid) + origin);
    if (auto why = refusal(*p, guard, ancestors); !why.empty())
      throw ApiError(403, "pid " + std::to_string(pid) + " may not be signalled: " + why);
    sel.targets.push_back(*p);
  };
  if (target.pid) {
    explicit_pid(target.pid, "");
    return sel;
  }
  if (!target.pidfile.empty()) {
    const int pid = read_pidfile(target.pidfile, guard);
    explicit_pid(pid, " (from pidfile '" + target.pidfile + "')");
    return sel;
  }
  std::shared_ptr<const re2::RE2> re = target.regex;
  if (!re && !target.cmdline.empty()) {
    re = compile_cmdline(target.cmdline);
    if (!re->ok())
      throw ApiError(400,
                     "field 'target.cmdline' is not a valid regular expression: " + re->error());
  }
  size_t matched = 0;
  std::string first_reason;
  for (auto& p : table.list()) {
    const bool match = re ? !p.cmdline.empty() && re2::RE2::PartialMatch(p.cmdline, *re)
                          : p.name == target.process;
    if (!match) continue;
    ++matched;
    if (auto why = refusal(p, guard, ancestors); !why.empty()) {
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
