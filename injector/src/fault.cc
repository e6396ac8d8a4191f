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

// A body that common::check_fault_body accepted has every field of the right type and in
// range: what follows only reads it. (The rules live in one place, for the agent and for the
// drill runner, which checks a plan's faults before anything runs.)
std::int64_t integer_or(const json& o, const char* key, std::int64_t fallback) {
  auto it = o.find(key);
  return it == o.end() ? fallback : it->get<std::int64_t>();
}

std::string string_or(const json& o, const char* key) {
  auto it = o.find(key);
  return it == o.end() ? std::string() : it->get<std::string>();
}

std::shared_ptr<const re2::RE2> compile_cmdline(const std::string& pattern) {
  re2::RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(8 << 20);
  return std::make_shared<const re2::RE2>(pattern, o);
}

Target read_target(const json& v) {
  Target t;
  t.pid = static_cast<int>(integer_or(v, "pid", 0));
  t.process = string_or(v, "process");
  t.cmdline = string_or(v, "cmdline");
  if (!t.cmdline.empty()) {
    t.regex = compile_cmdline(t.cmdline);
    // The schema compiled it with the same options; this cannot fail unless RE2's memory
    // for it ran out in between, and then it is still a refusal, not a crash.
    if (!t.regex->ok())
      bad("field 'target.cmdline' is not a valid regular expression: " + t.regex->error());
  }
  t.pidfile = string_or(v, "pidfile");
  if (auto c = v.find("count"); c != v.end()) t.all = *c == "all";
  return t;
}

}  // namespace

FaultSpec parse_fault(const json& body, const Limits& limits) {
  // One schema for the agent and for the drill runner, which checks every fault of a plan
  // before anything runs (common/fault_schema.cc): the first problem it finds is this
  // request's 400; a body it accepts is only read here.
  const common::FaultLimits schema_limits{limits.max_duration_ms, limits.max_cores,
                                          static_cast<std::int64_t>(std::min<std::uint64_t>(
                                              limits.max_memory_bytes, std::int64_t{1} << 62))};
  if (auto problems = common::check_fault_body(body, schema_limits); !problems.empty())
    bad(problems.front().message);
  FaultSpec s;
  const std::string kind = body.at("kind").get<std::string>();
  // The shared schema knows network faults (the drill runner checks plans against it); this
  // agent does not inject them yet: a refusal, never a body read as another kind.
  if (kind == "network") throw ApiError(422, "this agent does not inject network faults");
  for (auto k : {FaultKind::kKill, FaultKind::kPause, FaultKind::kLatency, FaultKind::kCpu,
                 FaultKind::kMemory})
    if (kind == kind_name(k)) s.kind = k;
  switch (s.kind) {
    case FaultKind::kKill:
      s.target = read_target(body.at("target"));
      if (body.contains("signal")) {
        s.signal_name = body.at("signal").get<std::string>();
        auto n = signal_number(s.signal_name);
        if (!n) bad("field 'signal' names no signal of this host: " + s.signal_name);
        s.signal = *n;
      }
      s.observe_ms = integer_or(body, "observe_ms",
                                std::min(limits.default_observe_ms, limits.max_duration_ms));
      break;
    case FaultKind::kPause:
      s.target = read_target(body.at("target"));
      s.duration_ms = integer_or(body, "duration_ms", 0);
      break;
    case FaultKind::kLatency:
      s.proxy = string_or(body, "proxy");
      s.latency_ms = integer_or(body, "latency_ms", 0);
      s.jitter_ms = integer_or(body, "jitter_ms", 0);
      s.duration_ms = integer_or(body, "duration_ms", 0);
      break;
    case FaultKind::kCpu:
      s.cores = static_cast<int>(integer_or(body, "cores", 1));
      s.load = body.value("load", 1.0);
      s.duration_ms = integer_or(body, "duration_ms", 0);
      break;
    case FaultKind::kMemory:
      s.bytes = static_cast<std::uint64_t>(integer_or(body, "bytes", 0));
      s.duration_ms = integer_or(body, "duration_ms", 0);
      break;
  }
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
