// The fault engine. Every change to the set of active faults is written to the state file
// first, so that an agent killed at any point leaves a record of what to revert. The state
// file's writing (persist), its lock and its reading after a crash (recover_state) stay in
// this one file, past 500 lines, so that the format written and the format read cannot drift
// apart.
#include "achilles/injector/engine.h"
#include "achilles/common/text.h"
#include "achilles/common/time.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>

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
  /// pause: per target, whether it was already stopped (by someone else) when the fault
  /// started; such a process is left stopped when the fault ends.
  std::vector<bool> found_stopped;
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
  /// Live, or its revert failed and is retried (a network fault's table or qdisc is still
  /// there): listed as active, kept in the state file, never forgotten.
  bool harming() const { return live() || state == "revert_failed"; }
};

FaultEngine::FaultEngine(EngineDeps deps, EngineOptions options)
    : deps_(deps), options_(std::move(options)) {
  std::random_device rd;
  id_prefix_ = common::format("%06x", static_cast<unsigned>(rd() & 0xffffff));
}

FaultEngine::~FaultEngine() {
  // Loads are child processes: stop them even if nobody called revert_all.
  for (auto& f : faults_)
    f->load.reset();
}

const FaultEngine::Fault* FaultEngine::pause_holding(const ProcessInfo& p,
                                                     const Fault* self) const {
  for (const auto& f : faults_) {
    if (f.get() == self || !f->live() || f->spec.kind != FaultKind::kPause) continue;
    for (const auto& t : f->targets)
      if (t.pid == p.pid && t.start_time == p.start_time) return f.get();
  }
  return nullptr;
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
  bool started = false;
  const std::string kind = body.is_object() && body.contains("kind") && body["kind"].is_string()
                               ? body["kind"].get<std::string>()
                               : "";
  try {
    json made = start(body, started);
    if (metrics_) metrics_->fault(kind, Metrics::Outcome::kInjected);
    return made;
  } catch (...) {
    if (metrics_)
      metrics_->fault(kind, started ? Metrics::Outcome::kFailed : Metrics::Outcome::kRefused);
    throw;
  }
}

json FaultEngine::start(const json& body, bool& started) {
  if (halted_ == "lease expired")
    throw ApiError(409, "the lease lapsed, so the agent is halted: POST /v1/resume first");
  if (!halted_.empty()) throw ApiError(409, "the agent is halted: POST /v1/resume first");
  FaultSpec spec = parse_fault(body, options_.limits);
  // Stress loads are capped by the configuration and by what the host has.
  if (spec.kind == FaultKind::kCpu || spec.kind == FaultKind::kMemory) {
    const HostCapacity host = deps_.loads.capacity();
    std::int64_t cores = 0;
    std::uint64_t bytes = 0;
    for (const auto& f : faults_) {
      if (!f->live()) continue;
      if (f->spec.kind == FaultKind::kCpu) cores += f->spec.cores;
      if (f->spec.kind == FaultKind::kMemory) bytes += f->spec.bytes;
    }
    const std::int64_t max_cores = std::min<std::int64_t>(options_.limits.max_cores, host.cpus);
    if (spec.kind == FaultKind::kCpu && cores + spec.cores > max_cores)
      throw ApiError(409, "cpu faults may load at most " + std::to_string(max_cores) +
                              " cores at once (the host's online CPUs, and max_cpu_cores): " +
                              std::to_string(cores) + " already loaded, " +
                              std::to_string(spec.cores) + " more asked");
    if (spec.kind == FaultKind::kMemory) {
      const auto max_bytes = options_.max_total_memory_bytes;
      if (bytes + spec.bytes > max_bytes)
        throw ApiError(409, "memory faults may hold at most " + std::to_string(max_bytes) +
                                " bytes at once (max_memory_bytes): " + std::to_string(bytes) +
                                " already held, " + std::to_string(spec.bytes) + " more asked");
      if (host.memory_available && spec.bytes > *host.memory_available)
        throw ApiError(409, "field 'bytes': " + std::to_string(spec.bytes) +
                                " is more than the host can give now: " +
                                std::to_string(*host.memory_available) +
                                " bytes (MemAvailable, or what the agent's cgroup allows, less "
                                "a safety margin of " +
                                std::to_string(host.memory_margin) + " bytes)");
    }
  }
  if (spec.kind == FaultKind::kNetwork) {
    if (!deps_.network) throw ApiError(422, "network faults are not available in this agent");
    // One root qdisc per interface: a second bandwidth or delay there would replace the first.
    if (spec.net.qdisc())
      for (const auto& other : faults_)
        if (other->live() && other->spec.kind == FaultKind::kNetwork && other->spec.net.qdisc() &&
            other->spec.net.interface == spec.net.interface)
          throw ApiError(409, "interface '" + spec.net.interface + "' already carries fault " +
                                  other->id + " (" + other->spec.net.action +
                                  "): one bandwidth or delay fault per interface at a time");
  }
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
    Guard guard = options_.guard;
    for (const auto& other : faults_)
      if (other->load)
        for (int pid : other->load->pids())
          guard.helpers.insert(pid);
    Selection sel = select_targets(spec.target, deps_.procs, guard);
    f.targets = std::move(sel.targets);
    f.skipped = std::move(sel.skipped);
  }
  if (spec.kind == FaultKind::kPause) {
    // Stopped already: by another pause of ours (which decides), or by someone else (left so).
    for (const auto& t : f.targets) {
      bool stopped = t.state == 'T' || t.state == 't';
      if (const Fault* holder = pause_holding(t, nullptr)) {
        stopped = false;
        for (std::size_t i = 0; i < holder->targets.size(); ++i)
          if (holder->targets[i].pid == t.pid) stopped = holder->found_stopped[i];
      }
      f.found_stopped.push_back(stopped);
    }
  }
  if (spec.kind == FaultKind::kLatency) {
    if (!deps_.toxics) throw ApiError(404, "proxy not found: '" + spec.proxy + "'");
    f.toxic = "achilles-" + f.id;
  }

  // Written down before anything happens, so that a crash in between leaves a record. A kill
  // leaves nothing to revert, so the state file does not change for it.
  const bool recorded = spec.kind != FaultKind::kKill;
  started = true;
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
        for (std::size_t i = 0; i < f.targets.size(); ++i) {
          const auto& t = f.targets[i];
          int err = same_process(deps_.procs, t) ? deps_.signals.send(t.pid, SIGSTOP) : ESRCH;
          if (err) {
            for (auto* s : stopped)
              deps_.signals.send(s->pid, SIGCONT);
            signal_failed(err, t.pid, "SIGSTOP");
          }
          // Undone on a failure only when this fault is what stopped it.
          if (!f.found_stopped[i] && !pause_holding(t, &f)) stopped.push_back(&t);
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
      case FaultKind::kNetwork:
        deps_.network->install(f.id, spec.net, api_port_);
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
      // Continued only when no other pause of ours still holds it, and only when it was not
      // already stopped before the first of them.
      for (std::size_t i = 0; i < f.targets.size(); ++i) {
        const auto& t = f.targets[i];
        if ((i < f.found_stopped.size() && f.found_stopped[i]) || pause_holding(t, &f)) continue;
        if (same_process(deps_.procs, t)) deps_.signals.send(t.pid, SIGCONT);
      }
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
    case FaultKind::kNetwork:
      if (deps_.network) {
        try {
          deps_.network->remove(f.id, f.spec.net);
        } catch (const std::exception& e) {
          // Recorded, audited and tried again every second by tick() (and the next agent's
          // start deletes every achilles_ table and qdisc that is left).
          f.errors.push_back({{"error", e.what()}});
          leftovers_.push_back({f.id, f.spec.net, deps_.clock.now() + std::chrono::seconds(1)});
          if (audit_)
            audit_({{"event", "revert failed"},
                    {"id", f.id},
                    {"kind", "network"},
                    {"error", e.what()},
                    {"time", common::format_time(deps_.clock.wall())}});
        }
      }
      break;
  }
  const bool failed = f.spec.kind == FaultKind::kNetwork && !f.errors.empty() &&
                      std::any_of(leftovers_.begin(), leftovers_.end(),
                                  [&](const Leftover& l) { return l.id == f.id; });
  f.state = f.spec.kind == FaultKind::kKill ? "done" : failed ? "revert_failed" : "reverted";
  f.reason = reason;
  f.ended = deps_.clock.now();
  f.ended_wall = deps_.clock.wall();
  try {
    if (f.spec.kind != FaultKind::kKill) persist();
  } catch (const std::exception&) {
    // Reverted anyway; a stale entry only makes a later agent check a process again.
  }
  // A kill's observation ending undoes nothing: it is not a revert.
  if (metrics_ && f.spec.kind != FaultKind::kKill) metrics_->revert(metric_revert_reason(reason));
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

std::vector<std::string> FaultEngine::retry_reverts(bool now_all) {
  const auto now = deps_.clock.now();
  std::vector<std::string> failed;
  std::erase_if(leftovers_, [&](Leftover& l) {
    if (!now_all && now < l.next) return false;
    try {
      deps_.network->remove(l.id, l.net);
    } catch (const std::exception& e) {
      l.next = now + std::chrono::seconds(1);
      failed.push_back(l.id + ": " + e.what());
      return false;
    }
    for (auto& f : faults_)
      if (f->id == l.id && f->state == "revert_failed") f->state = "reverted";
    try {
      persist();
    } catch (const std::exception&) {
      // Reverted anyway; a stale entry only makes a later agent sweep again.
    }
    if (audit_)
      audit_({{"event", "revert retried"},
              {"id", l.id},
              {"kind", "network"},
              {"time", common::format_time(deps_.clock.wall())}});
    return true;
  });
  return failed;
}

void FaultEngine::tick() {
  const auto now = deps_.clock.now();
  retry_reverts(false);
  if (lease_deadline_ && now >= *lease_deadline_) {
    lease_deadline_.reset();
    if (audit_)
      audit_({{"event", "lease expired"},
              {"ttl_ms", lease_ttl_ms_},
              {"time", common::format_time(deps_.clock.wall())}});
    revert_all("lease expired");
    // Once a lease has lapsed, nothing new starts until someone resumes (it survives a
    // restart, through the state file).
    halted_ = "lease expired";
    try {
      persist();
    } catch (const std::exception&) {
      // Reverted anyway; the halt holds in this process.
    }
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
  forget_old(now);
}

void FaultEngine::forget_old(steady::time_point now) {
  // Ended faults are listed for retention_ms, and at most max_ended of them: without the
  // count, a client starting faults quickly makes the agent hold ever more records (a soak
  // of 30 minutes grew its RSS by half, bench/RESULTS.md). The oldest go first.
  const auto keep = std::chrono::milliseconds(options_.retention_ms);
  std::size_t ended = 0;
  for (const auto& f : faults_)
    ended += !f->harming();
  std::vector<std::unique_ptr<Fault>> kept;
  kept.reserve(faults_.size());
  for (auto& f : faults_) {
    if (!f->harming() && ((f->ended && now - *f->ended > keep) || ended > options_.max_ended)) {
      --ended;
      continue;
    }
    kept.push_back(std::move(f));
  }
  faults_ = std::move(kept);
}

void FaultEngine::revert_all(const std::string& reason) {
  for (auto& f : faults_)
    revert(*f, reason);
  // Toxics added and proxies disabled through Toxiproxy's API are faults too.
  if (deps_.toxics) deps_.toxics->revert_all();
}

json FaultEngine::record(const Fault& f) const {
  json j = {{"id", f.id}, {"state", f.state}};
  j.update(to_json(f.spec));
  j["started_at"] = common::format_time(f.started_wall);
  j["expires_at"] = common::format_time(f.expires_wall);
  if (!f.targets.empty()) {
    json ts = json::array();
    for (std::size_t i = 0; i < f.targets.size(); ++i) {
      const auto& t = f.targets[i];
      json e = {{"pid", t.pid}, {"name", t.name}, {"cmdline", t.cmdline}};
      if (i < f.found_stopped.size() && f.found_stopped[i]) e["found_stopped"] = true;
      ts.push_back(e);
    }
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
  if (deps_.toxics)
    for (const auto& e : deps_.toxics->external_faults())
      out.push_back(e);
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
  halted_ = "halt";
  try {
    persist();  // a halt survives a restart
  } catch (const std::exception&) {
    // Halted anyway, in this process.
  }
  return status();
}

json FaultEngine::resume() {
  halted_.clear();
  try {
    persist();
  } catch (const std::exception&) {
    // The file still says halted: a restart would refuse faults, the safe side.
  }
  return status();
}

void FaultEngine::restore_halt(const std::string& reason) {
  halted_ = reason;
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
    if (f->harming())
      active.push_back({{"id", f->id},
                        {"kind", kind_name(f->spec.kind)},
                        {"expires_at", common::format_time(f->expires_wall)}});
  if (deps_.toxics)
    for (const auto& e : deps_.toxics->external_faults())
      active.push_back({{"id", e.value("id", "")},
                        {"kind", e.value("kind", "")},
                        {"expires_at", e.value("expires_at", "")}});
  json lease = nullptr;
  if (lease_deadline_) {
    const auto left = *lease_deadline_ - deps_.clock.now();
    lease = {{"ttl_ms", lease_ttl_ms_},
             {"remaining_ms", std::chrono::duration_cast<std::chrono::milliseconds>(left).count()},
             {"expires_at", common::format_time(deps_.clock.wall() + left)}};
  }
  json out = {{"halted", !halted_.empty()}, {"lease", lease}, {"active_faults", active}};
  if (!halted_.empty()) out["halted_by"] = halted_;
  return out;
}

namespace {

// The state file: one JSON object per line, so that a damaged line costs only its record.
// The first line is the header; each further line one active fault.
std::string state_header(int agent_pid, const std::string& halted) {
  json h = {{"achilles_state", 1}, {"agent_pid", agent_pid}};
  h["halted"] = halted.empty() ? json(nullptr) : json(halted);
  return h.dump() + "\n";
}

}  // namespace

void FaultEngine::persist() {
  if (options_.state_file.empty()) return;
  std::string text = state_header(options_.guard.self_pid, halted_);
  for (const auto& f : faults_) {
    if (!f->harming() || f->spec.kind == FaultKind::kKill) continue;
    json targets = json::array();
    for (std::size_t i = 0; i < f->targets.size(); ++i) {
      const auto& t = f->targets[i];
      json e = {{"pid", t.pid}, {"start_time", t.start_time}, {"name", t.name}};
      if (i < f->found_stopped.size() && f->found_stopped[i]) e["found_stopped"] = true;
      targets.push_back(e);
    }
    json e = {{"id", f->id},
              {"kind", kind_name(f->spec.kind)},
              {"expires_at", common::format_time(f->expires_wall)}};
    if (!targets.empty()) e["targets"] = targets;
    if (!f->toxic.empty()) e["proxy"] = f->spec.proxy, e["toxic"] = f->toxic;
    if (f->spec.kind == FaultKind::kNetwork) {
      e["action"] = f->spec.net.action;
      if (f->spec.net.qdisc())
        e["interface"] = f->spec.net.interface;
      else
        e["table"] = table_name(f->id);
    }
    text += e.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  }
  write_file_atomically(options_.state_file, text);
}

void write_file_atomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  auto fail = [&](const std::string& what) {
    int err = errno;
    throw std::runtime_error("cannot write the state file '" + path + "': " + what + ": " +
                             std::strerror(err));
  };
  // A stale temporary file (or a link planted in its place) is removed, never written through.
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) fail("unlink " + tmp);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) fail("open " + tmp);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      errno = err;
      fail("write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    errno = err;
    fail("fsync");
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename");
  // The rename itself is durable once the directory is.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

StateLock::StateLock(const std::string& state_file) {
  const std::string path = state_file + ".lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd_ < 0)
    throw std::runtime_error("cannot write the state file '" + state_file +
                             "': cannot open its lock '" + path + "': " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder;
    char buf[32];
    const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    if (n > 0) holder.assign(buf, static_cast<std::size_t>(n));
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' '))
      holder.pop_back();
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw std::runtime_error(
          "the state file '" + state_file + "' is in use by another agent" +
          (holder.empty() || holder.find_first_not_of("0123456789") != std::string::npos
               ? std::string()
               : " (pid " + holder + ")") +
          ", which holds '" + path + "': each agent needs a state file of its own (--state-file)");
    throw std::runtime_error("cannot lock '" + path + "': " + std::strerror(err));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, pid.data(), pid.size(), 0);
}

StateLock::~StateLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

namespace {

// The state file's text, refusing anything but a regular file, at most 16 MiB; nothing when
// there is no file.
std::optional<std::string> read_state_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw std::runtime_error("cannot read the state file '" + path + "': " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error("the state file '" + path + "' is not a regular file");
  }
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > (16u << 20)) break;
  }
  ::close(fd);
  return text;
}

// Continues the targets of one recorded pause fault that may be continued, and deletes the
// table or qdisc of a recorded network fault. `owner`: this agent owns the network namespace
// (NetnsLock); when it does not, a recorded qdisc is left alone, since every agent's root
// qdisc has the same handle and the one there now may be the owner's live fault (a table's
// name holds its fault's id, so deleting a recorded table never touches another agent's).
void recover_fault(const json& f, const ProcessTable& procs, Signaller& signals, const Guard& guard,
                   const std::set<int>& ancestors, NetworkFaults* network, bool owner,
                   json& actions) {
  const std::string kind = f.at("kind").get<std::string>();
  const std::string id = f.at("id").get<std::string>();
  if (kind == "network") {
    // Its table or qdisc outlives the agent: delete it (the sweep after this catches a record
    // that could not be read).
    json a = {{"event", "recover"}, {"id", id}, {"kind", kind}};
    if (!network) {
      a["action"] = "none: this agent has no network faults";
    } else {
      NetworkSpec n;
      n.action = f.at("action").get<std::string>();
      if (n.qdisc()) n.interface = f.at("interface").get<std::string>();
      if (n.qdisc() && !owner) {
        a["action"] = "left: the qdisc on '" + n.interface +
                      "' may be the live fault of the agent that owns this network namespace";
        actions.push_back(a);
        return;
      }
      try {
        network->remove(id, n);
        a["action"] = n.qdisc() ? "deleted the qdisc on '" + n.interface + "'"
                                : "deleted nftables table " + table_name(id);
      } catch (const std::exception& e) {
        a["action"] = std::string("failed: ") + e.what();
      }
    }
    actions.push_back(a);
    return;
  }
  if (kind != "pause" || !f.contains("targets")) {
    // Proxies, toxics and loads lived in the dead agent's process (loads die with it).
    actions.push_back({{"event", "recover"},
                       {"id", id},
                       {"kind", kind},
                       {"action", "none: ended with the agent"}});
    return;
  }
  for (const auto& t : f.at("targets")) {
    const int pid = t.at("pid").get<int>();
    const std::uint64_t start = t.at("start_time").get<std::uint64_t>();
    auto p = procs.get(pid);
    json a = {{"event", "recover"}, {"id", id}, {"kind", kind}, {"pid", pid}};
    if (!p) {
      a["action"] = "none: the process is gone";
    } else if (p->start_time != start) {
      a["action"] = "none: the pid now belongs to another process";
    } else if (t.value("found_stopped", false)) {
      a["action"] = "none: it was already stopped before the fault, and is left so";
    } else if (auto why = refusal(*p, guard, ancestors); !why.empty()) {
      a["action"] = "none: it may not be signalled: " + why;
    } else {
      int err = signals.send(pid, SIGCONT);
      a["action"] = err ? std::string("SIGCONT failed: ") + std::strerror(err) : "SIGCONT";
    }
    actions.push_back(a);
  }
}

}  // namespace

Recovery recover_state(const std::string& path, const ProcessTable& procs, Signaller& signals,
                       const Guard& guard, NetworkFaults* network, bool sweep) {
  Recovery out;
  const auto text = read_state_file(path);
  const std::set<int> ancestors = ancestors_of(guard.self_pid, procs);
  if (text) {
    std::vector<std::pair<std::size_t, json>> records;  // line, fault
    bool header = false;
    std::size_t unreadable = 0;
    auto damaged = [&](std::size_t line, const std::string& why) {
      ++unreadable;
      if (unreadable <= 20)
        out.actions.push_back({{"event", "recover"},
                               {"line", line},
                               {"action", "none: line " + std::to_string(line) +
                                              " of the state file could not be read (" + why +
                                              "); whatever it recorded is not reverted"}});
    };
    // The format of earlier versions: one JSON document {"faults": [...]}.
    json whole = json::parse(*text, nullptr, false);
    if (!whole.is_discarded() && whole.is_object() && whole.contains("faults") &&
        whole["faults"].is_array()) {
      header = true;
      std::size_t n = 0;
      for (const auto& f : whole["faults"])
        records.emplace_back(++n, f);
    } else {
      std::istringstream lines(*text);
      std::size_t n = 0;
      for (std::string line; std::getline(lines, line);) {
        ++n;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
          damaged(n, "not a JSON object");
        } else if (j.contains("achilles_state")) {
          header = true;
          if (j.contains("halted") && j["halted"].is_string())
            out.halted = j["halted"].get<std::string>();
        } else {
          records.emplace_back(n, j);
        }
      }
      if (!header && text->find_first_not_of(" \t\r\n") != std::string::npos) {
        // Whether the earlier agent was halted is unknown: stay on the safe side.
        out.halted = "state file damaged";
        out.actions.push_back({{"event", "recover"},
                               {"action",
                                "halted: the state file's header could not be read, "
                                "so new faults are refused until POST /v1/resume"}});
      }
    }
    for (const auto& [line, f] : records) {
      try {
        recover_fault(f, procs, signals, guard, ancestors, network, sweep, out.actions);
        ++out.faults;
      } catch (const json::exception& e) {
        damaged(line, std::string("a fault record with a missing or wrong field: ") + e.what());
      }
    }
    if (unreadable > 20)
      out.actions.push_back({{"event", "recover"},
                             {"action", std::to_string(unreadable - 20) +
                                            " more lines of the state file could not be read"}});
  }
  // What no record names (a line lost, a table made after the last write): at start no live
  // fault owns any table or qdisc of the agent's.
  if (network && sweep)
    for (const auto& line : network->sweep())
      out.actions.push_back({{"event", "recover"}, {"action", line}});
  write_file_atomically(path, state_header(guard.self_pid, out.halted));
  return out;
}

}  // namespace achilles::injector
