// Network faults in the kernel (`"kind": "network"`): each nftables fault is one table of its
// own, `achilles_ID` (inet family: IPv4 and IPv6), created and deleted whole in one
// transaction; bandwidth and delay are one root qdisc (tbf, netem) with the agent's handle.
// The engine acts through the NetworkFaults interface, so that its logic is tested without
// touching the kernel; the real one is make_kernel_network_faults().
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "achilles/injector/fault.h"

namespace achilles::injector {

/// The handle every qdisc of the agent has ("ac15:"): a root qdisc with it is the agent's.
inline constexpr const char* kQdiscHandle = "ac15:";

/// Installs and removes network faults.
class NetworkFaults {
 public:
  virtual ~NetworkFaults() = default;
  /// Installs fault `id`. `api_port` is the agent's own TCP port, which no rule blocks.
  /// Throws ApiError: 404 for an unknown interface, 409 for an interface whose root qdisc is
  /// not a default one (the agent replaces nothing of the host's), 422 for what the kernel
  /// lacks (naming the module), 500 otherwise. Nothing is left behind when it throws.
  virtual void install(const std::string& id, const NetworkSpec& spec, std::uint16_t api_port) = 0;
  /// Removes it; no error when it is already gone. Throws std::runtime_error when it stays.
  virtual void remove(const std::string& id, const NetworkSpec& spec) = 0;
  /// Deletes every `inet achilles_*` table and every root qdisc with kQdiscHandle: what an agent
  /// that was killed left behind (called at start, before any fault of this agent exists).
  /// One line per thing deleted or that could not be deleted.
  virtual std::vector<std::string> sweep() = 0;
};

/// "achilles_" and the fault id with every character but letters and digits as '_'.
std::string table_name(const std::string& id);

/// The nftables script that creates the table of an nftables fault (blackhole, reject,
/// loss, dns, isolate) in one transaction: an input and an output chain that first accept
/// loopback, the agent's API port (`tcp dport` in, `tcp sport` out) and IPv6 neighbour
/// discovery (without which the API would become unreachable over IPv6), then act.
std::string nft_script(const std::string& table, const NetworkSpec& spec, std::uint16_t api_port);

/// The `tc` arguments (after "tc") that add a fault's root qdisc.
std::vector<std::string> qdisc_add_args(const NetworkSpec& spec);

/// What a program run by run_program printed (stdout and stderr together, at most
/// kMaxOutput bytes; `truncated` when it printed more) and its exit status (128 + the
/// signal; -1 when it could not run or was killed at the deadline).
struct RunResult {
  int status = -1;
  std::string output;
  bool truncated = false;
};
inline constexpr std::size_t kMaxOutput = std::size_t{1} << 20;
/// How long a `tc` may take before it is killed (it runs on the agent's I/O thread).
inline constexpr std::chrono::milliseconds kTcTimeout{5000};

/// Runs `program ARGS` (no shell) with stdin /dev/null, no other descriptor of the agent's,
/// and the environment PATH=/usr/sbin:/usr/bin:/sbin:/bin only; kills it (SIGKILL) and
/// reports an error when it has not finished within `timeout`.
RunResult run_program(const std::string& program, const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout);

struct RootQdisc {
  std::string dev, kind, handle;
};
/// The root qdiscs in the output of `tc -j qdisc show [dev DEV]`. Throws std::runtime_error
/// ("cannot list qdiscs: ...") for a failed, truncated or non-JSON listing: an empty list
/// would make the sweep skip the agent's qdiscs silently.
std::vector<RootQdisc> parse_root_qdiscs(const RunResult& r, const std::string& dev);

/// The real one: libnftables for tables, the `tc` program for qdiscs.
std::unique_ptr<NetworkFaults> make_kernel_network_faults();

/// What this host supports (`achilles-agent --check`): for nftables, tbf and netem,
/// `{"usable": bool, "detail": "..."}`, probed in a network namespace of its own that is
/// thrown away, so that nothing of the host's changes; and the actions usable.
nlohmann::json check_network_support();

}  // namespace achilles::injector
