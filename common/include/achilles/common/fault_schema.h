// The rules of a fault body (spec agent-api.md, POST /v1/faults): kinds, fields, types and
// ranges, with the agent's own messages. One schema for the agent, which refuses a body with
// 400 and the first problem, and for the drill runner, which checks every fault of a plan when
// it reads it and reports every problem at once, located, before anything runs.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace achilles::common {

/// What an agent allows; the agent fills these from its configuration, the drill runner uses
/// the agent's defaults unless the plan states an agent's own (`max_duration_ms`).
struct FaultLimits {
  /// Cap of every duration (the agent's max_duration_ms; 900000 by default).
  std::int64_t max_duration_ms = 900000;
  /// Most cores a cpu fault may load (the agent: its host's cores).
  std::int64_t max_cores = 1024;
  /// Most bytes a memory fault may hold (the agent: its host's memory).
  std::int64_t max_memory_bytes = std::int64_t{1} << 50;
};

/// One problem of a body: the agent's message, and where it is: the path of keys to the
/// field (`{"target", "proces"}`), to the unknown key, or to the object that lacks a field.
struct FaultProblem {
  std::vector<std::string> path;
  std::string message;
};

/// Every problem of `body`, in the order the agent checks the fields (the agent's answer is
/// the first). Empty when the agent would accept the body.
std::vector<FaultProblem> check_fault_body(const nlohmann::json& body, const FaultLimits& limits);

/// The signals a kill fault may send, as the agent names them.
const std::vector<std::string>& fault_signal_names();

/// The actions of a network fault, as the agent names them.
const std::vector<std::string>& network_action_names();

/// An IPv4 or IPv6 network: `to`, `except` and allow.network.cidrs.
struct Cidr {
  /// 4 or 6.
  int family = 4;
  /// The address in network byte order (the first 4 bytes for IPv4).
  std::array<unsigned char, 16> bytes{};
  int prefix = 32;

  /// "10.0.3.0/24", "fd00::/64": the canonical text (inet_ntop and the prefix).
  std::string str() const;
  /// Whether `other` lies wholly inside this network (same family, no shorter prefix).
  bool covers(const Cidr& other) const;
  /// Whether the network lies wholly in loopback (127.0.0.0/8, ::1).
  bool loopback() const;
};

/// Reads "ADDRESS/PREFIX" or a bare address (a host: /32 or /128). Nothing, with `why` set
/// to the reason, for anything else, also for an address with bits set beyond its prefix
/// ("10.0.3.7/24": the network or the host was meant, and a guess could block the wrong one).
std::optional<Cidr> parse_cidr(const std::string& text, std::string& why);

}  // namespace achilles::common
