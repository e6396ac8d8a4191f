// The fault engine. Every change to the set of active faults is written to the state file
// first, so that an agent killed at any point leaves a record of what to revert.
#include "achilles/injector/engine.h"
#include "achilles/common/time.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>

namespace achilles::injector {

using nlohmann::json;
using steady = std::chrono::steady_clock;

struct FaultEngine::Fault {
  std::string id;
  FaultSpec spec;
  /// starting, active, reverted (undone), done (a kill's observation ended), failed.
  std::string state = "starting";
  steady::time_point started;
  steady::time_point expires;
  std::chrono::system_clock::time_point started_wall;
  std::chrono::system_clock::time_point expires_wall;
  std::optional<steady::time_point> ended;
  std::chrono::system_clock::time_point ended_wall;
  std::string reason;
  /// The processes acted on, as they were when the fault started.
  std::vector<ProcessInfo> targets;
  json skipped = json::array();
  json errors = json::array();
  /// kill: what happened afterwards.
  json observed = json::object();
  /// kill: pids that already matched the target before the kill, so a newcomer stands out.
  std::set<int> before;
  std::unique_ptr<Load> load;
  /// latency: the toxic's name on the proxy.
  std::string toxic;

  bool live() const { return state == "active" || state == "starting"; }
};

FaultEngine::FaultEngine(EngineDeps deps, EngineOptions options)
    : deps_(deps), options_(std::move(options)) {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06x", static_cast<unsigned>(rd() & 0xffffff));
  id_prefix_ = buf;
}

FaultEngine::~FaultEngine() {
  // Loads are threads of this process: stop them even if nobody called revert_all.
  for (auto& f : faults_)
    f->load.reset();
}

std::string FaultEngine::new_id() {
  return id_prefix_ + "-" + std::to_string(++counter_);
}

std::size_t FaultEngine::active() const {
  std::size_t n = 0;
  for (const auto& f : faults_)
    n += f->live();
  return n;
}

namespace {

[[noreturn]] void signal_failed(int err, int pid, const std::string& sig) {
  if (err == ESRCH)
    throw ApiError(404,
                   "process " + std::to_string(pid) + " exited before " + sig + " could be sent");
  throw ApiError(err == EPERM ? 403 : 500, "cannot send " + sig + " to pid " + std::to_string(pid) +
                                               ": " + std::strerror(err));
}

// The same process still runs under that pid (not a newcomer that reused it).
bool same_process(const ProcessTable& procs, const ProcessInfo& p) {
  auto now = procs.get(p.pid);
  return now && now->start_time == p.start_time;
}

bool same_program(const ProcessInfo& a, const ProcessInfo& b) {
  return a.name == b.name && a.cmdline == b.cmdline;
}

}  // namespace

json FaultEngine::create(const json& body) {
  if (halted_) throw ApiError(409, "the agent is halted: POST /v1/resume first");
  FaultSpec spec = parse_fault(body, options_.limits);
  auto owned = std::make_unique<Fault>();
  Fault& f = *owned;
  f.id = new_id();
  f.spec = spec;
  f.started = deps_.clock.now();
  f.started_wall = deps_.clock.wall();
  const std::int64_t span = spec.kind == FaultKind::kKill ? spec.observe_ms : spec.duration_ms;
  f.expires = f.started + std::chrono::milliseconds(span);
  f.expires_wall = f.started_wall + std::chrono::milliseconds(span);

  if (spec.kind == FaultKind::kKill || spec.kind == FaultKind::kPause) {
    Selection sel = select_targets(spec.target, deps_.procs, options_.guard);
    f.targets = std::move(sel.targets);
    f.skipped = std::move(sel.skipped);
  }
  if (spec.kind == FaultKind::kLatency) {
    if (!deps_.toxics) throw ApiError(404, "proxy not found: '" + spec.proxy + "'");
    f.toxic = "achilles-" + f.id;
  }

  // Written down before anything happens, so that a crash in between leaves a record. A kill
  // leaves nothing to revert, so the state file does not change for it.
  const bool recorded = spec.kind != FaultKind::kKill;
  faults_.push_back(std::move(owned));
  try {
    if (recorded) persist();
  } catch (const std::exception& e) {
    faults_.pop_back();
    throw ApiError(500, e.what());
  }

  try {
    switch (spec.kind) {
      case FaultKind::kKill: {
        for (const auto& p : deps_.procs.list())
          for (const auto& t : f.targets)
            if (same_program(p, t)) f.before.insert(p.pid);
        size_t sent = 0;
        int last_err = ESRCH, last_pid = f.targets.front().pid;
        for (const auto& t : f.targets) {
          int err = same_process(deps_.procs, t) ? deps_.signals.send(t.pid, spec.signal) : ESRCH;
          if (err) {
            last_err = err, last_pid = t.pid;
            f.errors.push_back({{"pid", t.pid}, {"error", std::strerror(err)}});
          } else {
            ++sent;
          }
        }
        if (sent == 0) signal_failed(last_err, last_pid, spec.signal_name);
        f.observed = {{"exited", false}, {"restarted", false}};
        break;
      }
      case FaultKind::kPause: {
        std::vector<const ProcessInfo*> stopped;
        for (const auto& t : f.targets) {
          int err = same_process(deps_.procs, t) ? deps_.signals.send(t.pid, SIGSTOP) : ESRCH;
          if (err) {
            for (auto* s : stopped)
              deps_.signals.send(s->pid, SIGCONT);
            signal_failed(err, t.pid, "SIGSTOP");
          }
          stopped.push_back(&t);
        }
        break;
      }
      case FaultKind::kLatency:
        deps_.toxics->add_latency(spec.proxy, f.toxic, spec.latency_ms, spec.jitter_ms);
        break;
      case FaultKind::kCpu:
        f.load = deps_.loads.cpu(spec.cores, spec.load);
        break;
      case FaultKind::kMemory:
        f.load = deps_.loads.memory(spec.bytes);
        break;
    }
  } catch (const ApiError& e) {
    f.state = "failed";
    f.reason = e.what();
    f.ended = deps_.clock.now();
    f.ended_wall = deps_.clock.wall();
    if (recorded) persist();
    throw;
  } catch (const std::exception& e) {
    f.state = "failed";
    f.reason = e.what();
    f.ended = deps_.clock.now();
    f.ended_wall = deps_.clock.wall();
    if (recorded) persist();
    throw ApiError(500, std::string("cannot start the fault: ") + e.what());
  }
  f.state = "active";
  if (recorded) persist();
  return record(f);
}

void FaultEngine::revert(Fault& f, const std::string& reason) {
  if (!f.live()) return;
  switch (f.spec.kind) {
    case FaultKind::kKill:
      break;
    case FaultKind::kPause:
      for (const auto& t : f.targets)
        if (same_process(deps_.procs, t)) deps_.signals.send(t.pid, SIGCONT);
      break;
    case FaultKind::kLatency:
      if (deps_.toxics) {
        try {
          deps_.toxics->remove_toxic(f.spec.proxy, f.toxic);
        } catch (const std::exception&) {
          // The proxy is gone, and its toxic with it.
        }
      }
      break;
    case FaultKind::kCpu:
    case FaultKind::kMemory:
      f.load.reset();
      break;
  }
  f.state = f.spec.kind == FaultKind::kKill ? "done" : "reverted";
  f.reason = reason;
  f.ended = deps_.clock.now();
  f.ended_wall = deps_.clock.wall();
  try {
    if (f.spec.kind != FaultKind::kKill) persist();
  } catch (const std::exception&) {
    // Reverted anyway; a stale entry only makes a later agent check a process again.
  }
  if (audit_)
    audit_({{"event", "revert"},
            {"id", f.id},
            {"kind", kind_name(f.spec.kind)},
            {"reason", reason},
            {"time", common::format_time(f.ended_wall)}});
}

void FaultEngine::observe_kill(Fault& f, const std::vector<ProcessInfo>& procs) {
  const auto ms = elapsed_ms(f.started, deps_.clock.now());
  if (!f.observed.value("exited", false)) {
    bool all_gone = true;
    for (const auto& t : f.targets) {
      for (const auto& p : procs)
        if (p.pid == t.pid && p.start_time == t.start_time && p.state != 'Z') all_gone = false;
    }
    if (all_gone) {
      f.observed["exited"] = true;
      f.observed["exited_after_ms"] = ms;
    }
  }
  if (f.observed.value("restarted", false)) return;
  for (const auto& p : procs) {
    if (f.before.count(p.pid) || p.state == 'Z') continue;
    for (const auto& t : f.targets) {
      if (!same_program(p, t)) continue;
      f.observed["restarted"] = true;
      f.observed["new_pid"] = p.pid;
      f.observed["restarted_after_ms"] = ms;
      return;
    }
  }
}

void FaultEngine::tick() {
  const auto now = deps_.clock.now();
  if (lease_deadline_ && now >= *lease_deadline_) {
    lease_deadline_.reset();
    if (audit_)
      audit_({{"event", "lease expired"},
              {"ttl_ms", lease_ttl_ms_},
              {"time", common::format_time(deps_.clock.wall())}});
    revert_all("lease expired");
  }
  bool observing = false;
  for (const auto& f : faults_)
    observing |= f->live() && f->spec.kind == FaultKind::kKill;
  std::vector<ProcessInfo> procs;
  if (observing) procs = deps_.procs.list();
  for (auto& f : faults_) {
    if (!f->live()) continue;
    if (f->spec.kind == FaultKind::kKill) observe_kill(*f, procs);
    if (now >= f->expires) revert(*f, "expired");
  }
  const auto keep = std::chrono::milliseconds(options_.retention_ms);
  std::erase_if(faults_, [&](const std::unique_ptr<Fault>& f) {
    return !f->live() && f->ended && now - *f->ended > keep;
  });
}

void FaultEngine::revert_all(const std::string& reason) {
  for (auto& f : faults_)
    revert(*f, reason);
  // Toxics added through Toxiproxy's API are faults too.
  if (deps_.toxics) deps_.toxics->remove_all_toxics();
}

json FaultEngine::record(const Fault& f) const {
  json j = {{"id", f.id}, {"state", f.state}};
  j.update(to_json(f.spec));
  j["started_at"] = common::format_time(f.started_wall);
  j["expires_at"] = common::format_time(f.expires_wall);
  if (!f.targets.empty()) {
    json ts = json::array();
    for (const auto& t : f.targets)
      ts.push_back({{"pid", t.pid}, {"name", t.name}, {"cmdline", t.cmdline}});
    j["targets"] = ts;
  }
  if (!f.skipped.empty()) j["skipped"] = f.skipped;
  if (!f.errors.empty()) j["errors"] = f.errors;
  if (f.spec.kind == FaultKind::kKill) j["observed"] = f.observed;
  if (!f.toxic.empty()) j["toxic"] = f.toxic;
  if (f.ended) {
    j["ended_at"] = common::format_time(f.ended_wall);
    j["reason"] = f.reason;
  }
  return j;
}

json FaultEngine::list() const {
  json out = json::array();
  for (const auto& f : faults_)
    out.push_back(record(*f));
  return out;
}

json FaultEngine::get(const std::string& id) const {
  for (const auto& f : faults_)
    if (f->id == id) return record(*f);
  throw ApiError(404, "fault not found: '" + id + "'");
}

json FaultEngine::remove(const std::string& id) {
  for (auto& f : faults_) {
    if (f->id != id) continue;
    revert(*f, "deleted");
    return record(*f);
  }
  throw ApiError(404, "fault not found: '" + id + "'");
}

json FaultEngine::halt() {
  revert_all("halt");
  halted_ = true;
  return status();
}

json FaultEngine::resume() {
  halted_ = false;
  return status();
}

json FaultEngine::lease(const json& body) {
  if (!body.is_object()) throw ApiError(400, "the body must be a JSON object");
  if (!body.contains("ttl_ms")) throw ApiError(400, "missing field 'ttl_ms'");
  for (const auto& [key, value] : body.items())
    if (key != "ttl_ms") throw ApiError(400, "unknown field '" + key + "' for a lease");
  const json& v = body.at("ttl_ms");
  if (!v.is_number_integer()) throw ApiError(400, "field 'ttl_ms' must be an integer");
  const auto max = options_.limits.max_duration_ms;
  if (v.is_number_unsigned() ? v.get<std::uint64_t>() > static_cast<std::uint64_t>(max)
                             : (v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > max))
    throw ApiError(
        400, "field 'ttl_ms' must be between 0 and " + std::to_string(max) + ", got " + v.dump());
  lease_ttl_ms_ = v.get<std::int64_t>();
  if (lease_ttl_ms_ == 0)
    lease_deadline_.reset();
  else
    lease_deadline_ = deps_.clock.now() + std::chrono::milliseconds(lease_ttl_ms_);
  return status()["lease"];
}

json FaultEngine::status() const {
  json active = json::array();
  for (const auto& f : faults_)
    if (f->live())
      active.push_back({{"id", f->id},
                        {"kind", kind_name(f->spec.kind)},
                        {"expires_at", common::format_time(f->expires_wall)}});
  json lease = nullptr;
  if (lease_deadline_) {
    const auto left = *lease_deadline_ - deps_.clock.now();
    lease = {{"ttl_ms", lease_ttl_ms_},
             {"remaining_ms", std::chrono::duration_cast<std::chrono::milliseconds>(left).count()},
             {"expires_at", common::format_time(deps_.clock.wall() + left)}};
  }
  return {{"halted", halted_}, {"lease", lease}, {"active_faults", active}};
}

void FaultEngine::persist() {
  if (options_.state_file.empty()) return;
  json faults = json::array();
  for (const auto& f : faults_) {
    if (!f->live() || f->spec.kind == FaultKind::kKill) continue;
    json targets = json::array();
    for (const auto& t : f->targets)
      targets.push_back({{"pid", t.pid}, {"start_time", t.start_time}, {"name", t.name}});
    json e = {{"id", f->id},
              {"kind", kind_name(f->spec.kind)},
              {"expires_at", common::format_time(f->expires_wall)}};
    if (!targets.empty()) e["targets"] = targets;
    if (!f->toxic.empty()) e["proxy"] = f->spec.proxy, e["toxic"] = f->toxic;
    faults.push_back(e);
  }
  json doc = {{"agent_pid", options_.guard.self_pid}, {"faults", faults}};
  // A process name need not be UTF-8; recovery matches pid and start time only, so a
  // replaced byte in the name loses nothing (a throw here refused the fault with a 500).
  write_file_atomically(options_.state_file,
                        doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

void write_file_atomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  auto fail = [&](const std::string& what) {
    int err = errno;
    throw std::runtime_error("cannot write the state file '" + path + "': " + what + ": " +
                             std::strerror(err));
  };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("open " + tmp);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      fail("write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    fail("fsync");
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename");
}

json recover_state(const std::string& path, const ProcessTable& procs, Signaller& signals) {
  json actions = json::array();
  std::ifstream in(path);
  if (!in) return actions;  // no file: nothing was left behind
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("faults") ||
      !doc["faults"].is_array())
    throw std::runtime_error("the state file '" + path + "' is not a state file");
  for (const auto& f : doc["faults"]) {
    const std::string kind = f.value("kind", "");
    const std::string id = f.value("id", "");
    if (kind == "pause" && f.contains("targets")) {
      for (const auto& t : f["targets"]) {
        const int pid = t.value("pid", 0);
        const std::uint64_t start = t.value("start_time", std::uint64_t{0});
        auto p = procs.get(pid);
        json a = {{"event", "recover"}, {"id", id}, {"kind", kind}, {"pid", pid}};
        if (!p) {
          a["action"] = "none: the process is gone";
        } else if (p->start_time != start) {
          a["action"] = "none: the pid now belongs to another process";
        } else {
          int err = signals.send(pid, SIGCONT);
          a["action"] = err ? std::string("SIGCONT failed: ") + std::strerror(err) : "SIGCONT";
        }
        actions.push_back(a);
      }
    } else {
      // Proxies, toxics and loads lived in the dead agent's process: gone with it.
      actions.push_back({{"event", "recover"},
                         {"id", id},
                         {"kind", kind},
                         {"action", "none: ended with the agent"}});
    }
  }
  write_file_atomically(path, json({{"faults", json::array()}}).dump(2) + "\n");
  return actions;
}

}  // namespace achilles::injector
