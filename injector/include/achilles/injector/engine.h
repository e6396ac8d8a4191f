// The fault engine: starts faults, keeps them bounded in time, reverts them (on expiry, on
// request, on halt, when a lease runs out, on shutdown) and records what it observed. It
// owns no thread and no socket: the agent calls tick() often, tests call it with a fake
// clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "achilles/injector/fault.h"
#include "achilles/injector/metrics.h"
#include "achilles/injector/netfault.h"
#include "achilles/injector/os.h"

namespace achilles::injector {

/// Where latency faults go: the agent's proxies.
class ToxicSink {
 public:
  virtual ~ToxicSink() = default;
  /// Adds a downstream latency toxic named `toxic`; throws ApiError(404) for an unknown proxy.
  virtual void add_latency(const std::string& proxy, const std::string& toxic,
                           std::int64_t latency_ms, std::int64_t jitter_ms) = 0;
  /// Removes it, and sends on at once what it held back; no error when it is already gone.
  virtual void remove_toxic(const std::string& proxy, const std::string& toxic) = 0;
  /// Undoes all harm done through the proxies (halt, lease expiry, shutdown): removes every
  /// toxic of every proxy and enables every disabled proxy.
  virtual void revert_all() = 0;
  /// Harm done through Toxiproxy's API (toxics not added by the engine, disabled proxies),
  /// as fault records for /v1/faults and /v1/status (`id`, `kind`, `state`, `expires_at`...).
  virtual nlohmann::json external_faults() const { return nlohmann::json::array(); }
};

/// The mechanisms the engine acts through.
struct EngineDeps {
  ProcessTable& procs;
  Signaller& signals;
  const Clock& clock;
  LoadRunner& loads;
  /// May be null: latency faults are then refused.
  ToxicSink* toxics = nullptr;
  /// May be null: network faults are then refused (422).
  NetworkFaults* network = nullptr;
};

struct EngineOptions {
  Limits limits;
  Guard guard;
  /// Active faults are written here (atomically) before they start; empty for none.
  std::string state_file;
  /// How long reverted faults stay listed.
  std::int64_t retention_ms = 3600000;
  /// Most ended faults listed at once (the most recent; older ones are forgotten first), so
  /// that the records a busy client leaves cannot grow without bound within retention_ms.
  std::size_t max_ended = 1000;
  /// Most bytes all memory faults together may hold (each is also capped by what the host
  /// has available when it starts).
  std::uint64_t max_total_memory_bytes = 1ull << 30;
};

/// Runs faults. Not thread-safe: one thread calls everything.
class FaultEngine {
 public:
  /// Receives one JSON object per change the engine makes on its own (expiry, lease).
  using AuditSink = std::function<void(const nlohmann::json&)>;

  FaultEngine(EngineDeps deps, EngineOptions options);
  ~FaultEngine();
  FaultEngine(const FaultEngine&) = delete;
  FaultEngine& operator=(const FaultEngine&) = delete;

  void set_audit(AuditSink sink) { audit_ = std::move(sink); }
  /// Where faults asked for and reverts are counted (achilles_agent_faults_total,
  /// achilles_agent_reverts_total); may be null.
  void set_metrics(Metrics* metrics) { metrics_ = metrics; }
  /// The agent's own API port (TCP), which no network fault blocks; known once bound.
  void set_api_port(std::uint16_t port) { api_port_ = port; }

  /// POST /v1/faults: validates, selects, writes the state file, starts; the new record.
  /// Counted as injected, refused (an ApiError before anything was written or done) or failed
  /// (an error while starting it).
  nlohmann::json create(const nlohmann::json& body);
  /// Faults active or reverted within the retention time, oldest first.
  nlohmann::json list() const;
  /// One fault; ApiError(404) when unknown.
  nlohmann::json get(const std::string& id) const;
  /// Reverts a fault now; its final record.
  nlohmann::json remove(const std::string& id);
  /// Reverts everything and refuses new faults until resume().
  nlohmann::json halt();
  nlohmann::json resume();
  /// Starts halted, as a halt or lapsed lease that the state file recorded (`reason`:
  /// "halt", "lease expired"): new faults are refused until resume().
  void restore_halt(const std::string& reason);
  /// `{"ttl_ms": N}`: every fault is reverted unless renewed within N ms; 0 ends the lease.
  nlohmann::json lease(const nlohmann::json& body);
  /// halted, lease and the active faults, for GET /v1/status.
  nlohmann::json status() const;

  /// Reverts what has expired (faults, the lease), watches killed processes, forgets old
  /// records. Call it every few tens of milliseconds.
  void tick();
  /// Reverts every active fault, with `reason` in their records.
  void revert_all(const std::string& reason);
  /// Tries again the network reverts that failed (all of them with `now_all`, else those
  /// due, once a second); returns "ID: ERROR" for each that failed again.
  std::vector<std::string> retry_reverts(bool now_all);
  /// Whether network reverts that failed are still to be retried.
  bool reverts_pending() const { return !leftovers_.empty(); }

  bool halted() const { return !halted_.empty(); }
  /// Number of faults still active (a kill counts while it is being observed).
  std::size_t active() const;

 private:
  struct Fault;
  /// create() without the counting; sets `started` once the state file is to be written.
  nlohmann::json start(const nlohmann::json& body, bool& started);
  void revert(Fault& f, const std::string& reason);
  void observe_kill(Fault& f, const std::vector<ProcessInfo>& procs);
  /// Drops ended faults older than retention_ms, and the oldest beyond max_ended.
  void forget_old(std::chrono::steady_clock::time_point now);
  nlohmann::json record(const Fault& f) const;
  void persist();
  std::string new_id();
  /// A live pause fault other than `self` that holds process `p` stopped.
  const Fault* pause_holding(const ProcessInfo& p, const Fault* self) const;

  EngineDeps deps_;
  EngineOptions options_;
  AuditSink audit_;
  Metrics* metrics_ = nullptr;
  std::vector<std::unique_ptr<Fault>> faults_;
  /// Why new faults are refused ("halt", "lease expired"); empty when they are not.
  std::string halted_;
  std::optional<std::chrono::steady_clock::time_point> lease_deadline_;
  std::int64_t lease_ttl_ms_ = 0;
  std::uint64_t counter_ = 0;
  std::string id_prefix_;
  std::uint16_t api_port_ = 0;
  /// Network faults whose table or qdisc could not be deleted when they were reverted:
  /// tick() tries again every second until it goes.
  struct Leftover {
    std::string id;
    NetworkSpec net;
    std::chrono::steady_clock::time_point next;
  };
  std::vector<Leftover> leftovers_;
};

/// Writes `content` to `path` through a temporary file and rename, so that a reader sees the
/// old or the new file, never a torn one: `PATH.tmp` (a stale one removed first) is created
/// with O_EXCL | O_NOFOLLOW (never written through a link someone left there), fsynced, renamed,
/// and the directory fsynced. Throws std::runtime_error naming the path.
void write_file_atomically(const std::string& path, const std::string& content);

/// An exclusive lock on a state file (flock on `PATH.lock`, which holds the owner's pid), held
/// while the object lives: two agents on one state file would revert each other's faults.
class StateLock {
 public:
  /// Throws std::runtime_error when another process holds it, naming that process.
  explicit StateLock(const std::string& state_file);
  ~StateLock();
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;

 private:
  int fd_ = -1;
};

/// What recover_state found and did.
struct Recovery {
  /// One JSON object per action or per record that could not be read, for the audit log.
  nlohmann::json actions = nlohmann::json::array();
  /// The earlier agent was halted (or its lease had lapsed): "halt", "lease expired" or
  /// "state file damaged" (when the file's header could not be read); empty when not.
  std::string halted;
  /// Fault records of the earlier agent that were read (each ended now: reverted, or found
  /// to have ended with that agent), for achilles_agent_reverts_total{reason="recovery"}.
  std::size_t faults = 0;
};

/// Reverts what a state file left by an earlier agent still lists: continues each paused
/// process that still exists with the recorded start time (a reused pid is left alone), that
/// the guard allows, and that was not already stopped before the fault. The file is one JSON
/// record per line, so a damaged line costs only its record; every line that could not be
/// read is reported. With `network`, it then deletes every nftables table and qdisc of the
/// agent's (NetworkFaults::sweep: at start, no live fault owns any), unless `sweep` is false:
/// another agent owns this network namespace, so neither the sweep runs nor a recorded qdisc
/// is deleted (all agents' qdiscs share one handle). Then rewrites the file
/// with no faults and the halt it recorded (creating it when missing: a state file that
/// cannot be written fails here).
Recovery recover_state(const std::string& path, const ProcessTable& procs, Signaller& signals,
                       const Guard& guard, NetworkFaults* network = nullptr, bool sweep = true);

}  // namespace achilles::injector
