// The operating system as the agent sees it: processes, signals, clocks and stress loads,
// each behind a small interface so that the fault logic can be tested without harming the
// machine. The real implementations are created by the make_* functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace achilles::injector {

/// One process as /proc shows it.
struct ProcessInfo {
  int pid = 0;
  int ppid = 0;
  /// The thread group (the process) this task belongs to: `pid` itself for a process, its
  /// process's pid for a thread (/proc/TID is there for every thread, though not listed).
  int tgid = 0;
  /// Real uid of the process.
  unsigned uid = 0;
  /// Effective uid: what the kernel checks, and what allow.users matches (a setuid program
  /// runs with its owner's).
  unsigned euid = 0;
  /// The resolved path of /proc/PID/exe (which the process cannot change); empty when
  /// unreadable (kernel threads, zombies). A replaced binary ends in " (deleted)".
  std::string exe;
  /// The kernel's short name (`comm`, at most 15 characters).
  std::string name;
  /// argv joined by single spaces, at most kMaxCmdline bytes of it (the rest is not read);
  /// empty for kernel threads and zombies.
  std::string cmdline;
  /// A kernel thread (PF_KTHREAD): never a target.
  bool kernel_thread = false;
  /// Field 22 of /proc/PID/stat: clock ticks after boot. With the pid, identifies a process
  /// across pid reuse.
  std::uint64_t start_time = 0;
  /// Field 3 of /proc/PID/stat: R, S, D, T (stopped), Z, ...
  char state = '?';
};

/// How much of /proc/PID/cmdline is read: a scan of every process stays bounded.
inline constexpr std::size_t kMaxCmdline = 4096;

/// Lists processes. The real one reads /proc.
class ProcessTable {
 public:
  virtual ~ProcessTable() = default;
  /// Every process, in pid order.
  virtual std::vector<ProcessInfo> list() const = 0;
  /// One process, or nothing when it does not exist (or vanished while being read).
  virtual std::optional<ProcessInfo> get(int pid) const = 0;
};

/// Sends signals. The real one calls kill(2).
class Signaller {
 public:
  virtual ~Signaller() = default;
  /// 0 on success, else the errno value.
  virtual int send(int pid, int signal) = 0;
};

/// Time, monotonic for deadlines and wall-clock for records.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point now() const = 0;
  virtual std::chrono::system_clock::time_point wall() const = 0;
};

/// A running stress load; destroying it stops the load and frees what it holds.
class Load {
 public:
  virtual ~Load() = default;
  /// The processes that carry the load (never targets of a fault).
  virtual std::vector<int> pids() const { return {}; }
};

/// What the host can give to stress loads.
struct HostCapacity {
  /// Online CPUs.
  int cpus = 1;
  /// Bytes a new memory load may take: /proc/meminfo's MemAvailable (or, when lower, what
  /// the agent's cgroup still allows) less a safety margin; nothing when unknown.
  std::optional<std::uint64_t> memory_available;
  /// The margin taken off, for messages.
  std::uint64_t memory_margin = 0;
};

/// Starts stress loads. The real one runs them in child processes, so that the OOM killer
/// and a runaway load take a child, never the agent.
class LoadRunner {
 public:
  virtual ~LoadRunner() = default;
  /// `cores` workers each busy for `load` (0..1] of every 100 ms.
  virtual std::unique_ptr<Load> cpu(int cores, double load) = 0;
  /// Allocates and touches `bytes` of memory, held until the load is destroyed.
  virtual std::unique_ptr<Load> memory(std::uint64_t bytes) = 0;
  /// What the host has now.
  virtual HostCapacity capacity() const = 0;
};

/// /proc (or a directory laid out like it, for tests).
std::unique_ptr<ProcessTable> make_proc_table(std::string root = "/proc");
std::unique_ptr<Signaller> make_kill_signaller();
std::unique_ptr<Clock> make_system_clock();
/// Loads in child processes of the agent (fork, no exec: the child runs only
/// async-signal-safe calls): one single-threaded child per CPU core, one per memory load.
/// Each child dies with the agent (PR_SET_PDEATHSIG), holds no descriptor of the agent's, is
/// the OOM killer's first choice (oom_score_adj 1000) and, where the host has a writable
/// cgroup v2 hierarchy, runs in a cgroup of its own (memory.max for a memory load).
/// Destroying the load kills and reaps its children.
std::unique_ptr<LoadRunner> make_process_load_runner();

/// Parses the contents of /proc/PID/stat into pid, name, state, ppid, kernel_thread and
/// start_time; nothing when it is malformed. The name may contain spaces and parentheses.
std::optional<ProcessInfo> parse_proc_stat(const std::string& text);

/// "SIGKILL" -> 9; nothing for a name the agent does not accept.
std::optional<int> signal_number(const std::string& name);

/// Milliseconds between two steady time points, never negative.
std::int64_t elapsed_ms(std::chrono::steady_clock::time_point from,
                        std::chrono::steady_clock::time_point to);

}  // namespace achilles::injector
