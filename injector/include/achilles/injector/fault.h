// What a fault is (kill, pause, latency, cpu, memory), how a request body is validated into
// one, and which processes a target selects under the allowlist.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "achilles/common/fault_schema.h"
#include "achilles/injector/os.h"

namespace re2 {
class RE2;
}

namespace achilles::injector {

/// A request the agent refuses: the HTTP status and a message naming what is wrong.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  /// The HTTP status to answer with (400, 403, 404, 409, ...).
  int status() const { return status_; }

 private:
  int status_;
};

enum class FaultKind { kKill, kPause, kLatency, kCpu, kMemory, kNetwork };

/// "kill", "pause", ...
const char* kind_name(FaultKind kind);

/// Which processes a fault acts on: exactly one of pid, process, cmdline, pidfile.
struct Target {
  /// An explicit pid (0 when another selector is used).
  int pid = 0;
  /// A process name (comm), matched exactly.
  std::string process;
  /// A regular expression (RE2 syntax: linear time, no backreferences) searched for in the
  /// command line.
  std::string cmdline;
  /// `cmdline`, compiled once when the request is validated.
  std::shared_ptr<const re2::RE2> regex;
  /// A file holding a pid: an absolute path under one of Guard::pidfile_dirs.
  std::string pidfile;
  /// `"count": "all"` (the default) or `"one"` (the oldest match).
  bool all = true;
};

/// A network fault (`"kind": "network"`), validated. Fields that do not apply to the action
/// keep their defaults.
struct NetworkSpec {
  /// blackhole, reject, loss, bandwidth, delay, dns, isolate.
  std::string action;
  /// The peers' networks; empty for any address.
  std::vector<common::Cidr> to;
  /// Ports at either end (a service on this host or on a peer); empty for any.
  std::vector<int> ports;
  /// "tcp", "udp", or empty for both (and, without ports, every protocol).
  std::string protocol;
  /// "egress", "ingress" or "both".
  std::string direction = "both";
  /// loss: the share of packets dropped, 1..100.
  int percent = 0;
  /// bandwidth, delay: the interface whose root qdisc it is.
  std::string interface;
  std::int64_t rate_kbit = 0;
  std::int64_t delay_ms = 0;
  std::int64_t jitter_ms = 0;
  /// isolate: networks still reachable.
  std::vector<common::Cidr> except;

  /// Whether it is a qdisc (bandwidth, delay) rather than an nftables table.
  bool qdisc() const { return action == "bandwidth" || action == "delay"; }
};

/// A validated fault request. Fields that do not apply to the kind keep their defaults.
struct FaultSpec {
  FaultKind kind = FaultKind::kKill;
  Target target;
  /// kill: the signal and its name as given.
  int signal = 9;
  std::string signal_name = "SIGKILL";
  /// kill: how long to watch for a supervisor bringing the process back.
  std::int64_t observe_ms = 0;
  /// Every kind but kill: how long the fault lasts before it is reverted.
  std::int64_t duration_ms = 0;
  /// latency: the proxy and the toxic's parameters.
  std::string proxy;
  std::int64_t latency_ms = 0;
  std::int64_t jitter_ms = 0;
  /// cpu
  int cores = 0;
  double load = 0;
  /// memory
  std::uint64_t bytes = 0;
  /// network
  NetworkSpec net;
};

/// Which network faults the configuration allows (allow.network).
struct NetworkAllow {
  /// `allow.network: true` or `{...}`; false refuses every network fault.
  bool allowed = false;
  /// `true`: any address, any interface. Otherwise only what the lists name.
  bool any = false;
  /// Networks a fault may act on (allow.network.cidrs): its `to`, or every address for a
  /// fault without `to` and for isolate, must lie inside them.
  std::vector<common::Cidr> cidrs;
  /// Interfaces whose qdisc a bandwidth or delay fault may replace (allow.network.interfaces).
  std::vector<std::string> interfaces;
};

/// Bounds that validation applies.
struct Limits {
  /// Cap of every duration (the configuration's max_duration_ms).
  std::int64_t max_duration_ms = 900000;
  /// Observation window of a kill when the request gives none.
  std::int64_t default_observe_ms = 30000;
  /// Most cores a cpu fault may load.
  int max_cores = 1;
  /// Most bytes a memory fault may hold.
  std::uint64_t max_memory_bytes = 1ull << 30;
  /// Network faults: refused (403) beyond what this allows.
  NetworkAllow network;
};

/// Validates a request body; throws ApiError(400) naming the first field that is wrong, and
/// ApiError(403) for a network fault that `limits.network` does not allow.
FaultSpec parse_fault(const nlohmann::json& body, const Limits& limits);

/// The spec as the API shows it (the request's fields, with defaults filled in).
nlohmann::json to_json(const FaultSpec& spec);

/// Who may be signalled: a process whose name matches `processes` or whose executable
/// matches `executables`; with both empty, nobody. Empty `uids` means any user.
struct Allowlist {
  /// Globs (fnmatch) on the process name (`comm`, which any process may set for itself).
  std::vector<std::string> processes;
  /// Globs (fnmatch, FNM_PATHNAME) on the resolved path of /proc/PID/exe, which a process
  /// cannot forge.
  std::vector<std::string> executables;
  /// Effective uids allowed; empty for any.
  std::vector<unsigned> uids;
};

/// Everything that decides whether a process may be signalled.
struct Guard {
  Allowlist allow;
  /// The agent itself (every thread of it) and its parent, never targets; nor are the
  /// agent's other ancestors (walked through the process table up to pid 1).
  int self_pid = 0;
  int parent_pid = 0;
  /// The agent's own helper processes (stress loads), never targets.
  std::set<int> helpers;
  /// Directories a pidfile target must be in (resolved with realpath); empty: no pidfile.
  std::vector<std::string> pidfile_dirs = {"/run", "/var/run"};
};

/// Why `p` may not be signalled, or an empty string when it may. `ancestors` are the
/// agent's (pids from its grandparent up), which are never signalled either.
std::string refusal(const ProcessInfo& p, const Guard& guard, const std::set<int>& ancestors = {});

/// The agent's ancestors above its parent, up to (not including) pid 1, from `table`.
std::set<int> ancestors_of(int pid, const ProcessTable& table);

/// The processes a target selects.
struct Selection {
  std::vector<ProcessInfo> targets;
  /// Matches left out, each `{"pid", "name", "reason"}`.
  nlohmann::json skipped = nlohmann::json::array();
};

/// Resolves a target. An explicit pid or pidfile naming a process that may not be signalled
/// is refused (403); name and cmdline matches that may not be signalled are skipped, and
/// when none is left the request is refused (403), or 404 when nothing matched at all. A
/// pidfile is read only when it is a regular file (not a FIFO, device or symbolic link)
/// under Guard::pidfile_dirs, at most 64 bytes of it, and no message shows its contents.
Selection select_targets(const Target& target, const ProcessTable& table, const Guard& guard);

}  // namespace achilles::injector
