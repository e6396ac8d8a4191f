// The rules of a fault body (fault_schema.h). They mirror injector::parse_fault() in
// injector/src/fault.cc field for field and message for message; the agent is to call
// check_fault_body() and answer 400 with the first problem (see docs/drill.md).
#include "achilles/common/fault_schema.h"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <algorithm>
#include <limits>
#include <set>

namespace achilles::common {

using nlohmann::json;

namespace {

/// One object under check: typed checks that name the field, and, at the end, the keys no
/// check read (unknown fields). Unlike the agent's throwing reader, it records every problem.
class Fields {
 public:
  Fields(const json& obj, std::vector<std::string> at, std::string prefix, std::string what,
         std::vector<FaultProblem>& out)
      : obj_(obj),
        at_(std::move(at)),
        prefix_(std::move(prefix)),
        what_(std::move(what)),
        out_(out) {}

  bool has(const std::string& key) {
    seen_.insert(key);
    return obj_.contains(key);
  }
  std::string name(const std::string& key) const { return "'" + prefix_ + key + "'"; }
  /// A problem at the object itself (a field it lacks) or at one of its keys.
  void bad(const std::string& message, const std::string& key = "") {
    auto path = at_;
    if (!key.empty()) path.push_back(key);
    out_.push_back({std::move(path), message});
  }

  void string(const std::string& key, bool required) {
    if (!has(key)) {
      if (required) bad("missing field " + name(key));
      return;
    }
    const json& v = obj_.at(key);
    if (!v.is_string())
      bad("field " + name(key) + " must be a string", key);
    else if (v.get<std::string>().empty())
      bad("field " + name(key) + " must not be empty", key);
  }

  void integer(const std::string& key, bool required, std::int64_t lo, std::int64_t hi,
               const std::string& why = "") {
    if (!has(key)) {
      if (required) bad("missing field " + name(key) + why);
      return;
    }
    const json& v = obj_.at(key);
    if (!v.is_number_integer()) return bad("field " + name(key) + " must be an integer", key);
    std::int64_t n;
    if (v.is_number_unsigned() &&
        v.get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      n = std::numeric_limits<std::int64_t>::max();
    else
      n = v.get<std::int64_t>();
    if (n < lo || n > hi)
      bad("field " + name(key) + " must be between " + std::to_string(lo) + " and " +
              std::to_string(hi) + ", got " + v.dump(),
          key);
  }

  void finish() {
    for (const auto& [key, value] : obj_.items())
      if (!seen_.count(key)) bad("unknown field " + name(key) + what_, key);
  }

 private:
  const json& obj_;
  std::vector<std::string> at_;
  std::string prefix_, what_;
  std::vector<FaultProblem>& out_;
  std::set<std::string> seen_;
};

void check_target(const json& body, std::vector<FaultProblem>& out) {
  const json& v = body.at("target");
  if (!v.is_object()) {
    out.push_back({{"target"}, "field 'target' must be an object"});
    return;
  }
  Fields f(v, {"target"}, "target.", "", out);
  int given = 0;
  if (f.has("pid")) {
    f.integer("pid", true, 1, std::numeric_limits<int>::max());
    ++given;
  }
  if (f.has("process")) {
    f.string("process", true);
    ++given;
  }
  if (f.has("cmdline")) {
    f.string("cmdline", true);
    const json& c = v.at("cmdline");
    if (c.is_string() && !c.get<std::string>().empty()) {
      const auto re = c.get<std::string>();
      if (re.size() > 1024) {
        f.bad("field 'target.cmdline' must be at most 1024 characters", "cmdline");
      } else {
        // The agent matches with RE2 (linear time): the same engine, options and message.
        re2::RE2::Options o;
        o.set_log_errors(false);
        o.set_max_mem(8 << 20);
        const re2::RE2 compiled(re, o);
        if (!compiled.ok())
          f.bad("field 'target.cmdline' is not a valid regular expression: " + compiled.error(),
                "cmdline");
      }
    }
    ++given;
  }
  if (f.has("pidfile")) {
    f.string("pidfile", true);
    const json& p = v.at("pidfile");
    if (p.is_string() && !p.get<std::string>().empty()) {
      if (p.get<std::string>().front() != '/')
        f.bad("field 'target.pidfile' must be an absolute path", "pidfile");
      else if (p.get<std::string>().size() > 4096)
        f.bad("field 'target.pidfile' must be at most 4096 characters", "pidfile");
    }
    ++given;
  }
  if (f.has("count")) {
    const json& c = v.at("count");
    if (!c.is_string() || (c != "one" && c != "all"))
      f.bad("field 'target.count' must be \"one\" or \"all\"", "count");
  }
  f.finish();
  if (given != 1) f.bad("field 'target' must name exactly one of pid, process, cmdline, pidfile");
}

// Most entries a `to`, `except` or `ports` list may have: a fault is a few rules, not a
// firewall (each entry is an element of an nftables set).
constexpr std::size_t kMaxListEntries = 64;

// A list of networks (`to`, `except`): a non-empty array of CIDR texts. `to` may not name
// loopback alone: loopback is never blocked, so such a fault would do nothing.
void check_cidrs(Fields& f, const json& body, const std::string& key, bool no_loopback) {
  if (!f.has(key)) return;
  const json& v = body.at(key);
  if (!v.is_array()) return f.bad("field '" + key + "' must be a list of networks (CIDRs)", key);
  if (v.empty()) return f.bad("field '" + key + "' must not be empty", key);
  if (v.size() > kMaxListEntries)
    return f.bad("field '" + key + "' may have at most " + std::to_string(kMaxListEntries) +
                     " entries, got " + std::to_string(v.size()),
                 key);
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string at = "field '" + key + "[" + std::to_string(i) + "]'";
    if (!v[i].is_string()) return f.bad(at + " must be a string (a CIDR)", key);
    std::string why;
    auto c = parse_cidr(v[i].get<std::string>(), why);
    if (!c) return f.bad(at + ": " + why, key);
    if (no_loopback && c->loopback())
      return f.bad(at + ": " + c->str() +
                       " is loopback, which network faults never block (the agent's own API "
                       "and local traffic use it)",
                   key);
  }
}

// A list of ports: a non-empty array of integers 1..65535.
void check_ports(Fields& f, const json& body) {
  if (!f.has("ports")) return;
  const json& v = body.at("ports");
  if (!v.is_array()) return f.bad("field 'ports' must be a list of ports", "ports");
  if (v.empty()) return f.bad("field 'ports' must not be empty", "ports");
  if (v.size() > kMaxListEntries)
    return f.bad("field 'ports' may have at most " + std::to_string(kMaxListEntries) +
                     " entries, got " + std::to_string(v.size()),
                 "ports");
  for (std::size_t i = 0; i < v.size(); ++i) {
    const json& p = v[i];
    const bool ok =
        p.is_number_integer() &&
        (p.is_number_unsigned() ? p.get<std::uint64_t>() >= 1 && p.get<std::uint64_t>() <= 65535
                                : p.get<std::int64_t>() >= 1 && p.get<std::int64_t>() <= 65535);
    if (!ok)
      return f.bad("field 'ports[" + std::to_string(i) +
                       "]' must be an integer between 1 and 65535, got " + p.dump(),
                   "ports");
  }
}

// A string that must be one of `choices`.
void check_choice(Fields& f, const json& body, const std::string& key,
                  const std::vector<std::string>& choices) {
  if (!f.has(key)) return;
  const json& v = body.at(key);
  if (v.is_string() &&
      std::find(choices.begin(), choices.end(), v.get<std::string>()) != choices.end())
    return;
  std::string list;
  for (const auto& c : choices)
    list += (list.empty() ? "" : ", ") + c;
  f.bad("field '" + key + "' must be one of " + list, key);
}

// An interface name as the kernel takes it (at most 15 bytes, no '/', ':' or white space),
// and never loopback.
void check_interface(Fields& f, const json& body) {
  f.string("interface", true);
  if (!body.contains("interface") || !body.at("interface").is_string()) return;
  const std::string name = body.at("interface").get<std::string>();
  if (name.empty()) return;
  const bool bad_char = std::any_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u >= 0x7f || c == '/' || c == ':';
  });
  if (name.size() > 15 || bad_char || name == "." || name == "..")
    return f.bad(
        "field 'interface' is not an interface name (at most 15 characters, none of them '/', "
        "':', white space or control characters)",
        "interface");
  if (name == "lo")
    f.bad(
        "field 'interface': loopback ('lo') is never slowed (the agent's own API and local "
        "traffic use it)",
        "interface");
}

void check_network(Fields& f, const json& body, const std::string& action) {
  if (action == "blackhole" || action == "reject" || action == "loss" || action == "dns") {
    check_cidrs(f, body, "to", true);
    if (action != "dns") check_ports(f, body);
    check_choice(f, body, "protocol", {"tcp", "udp"});
    check_choice(f, body, "direction", {"egress", "ingress", "both"});
    if (action == "loss") f.integer("percent", true, 1, 100);
  } else if (action == "isolate") {
    check_cidrs(f, body, "except", false);
  } else if (action == "bandwidth") {
    check_interface(f, body);
    f.integer("rate_kbit", true, 8, 100000000);
  } else if (action == "delay") {
    check_interface(f, body);
    f.integer("delay_ms", true, 1, 60000);
    f.integer("jitter_ms", false, 0, 60000);
  }
}

}  // namespace

const std::vector<std::string>& network_action_names() {
  static const std::vector<std::string> kNames = {"blackhole", "reject", "loss",   "bandwidth",
                                                  "delay",     "dns",    "isolate"};
  return kNames;
}

std::string Cidr::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix);
}

bool Cidr::covers(const Cidr& other) const {
  if (family != other.family || other.prefix < prefix) return false;
  for (int bit = 0; bit < prefix; ++bit) {
    const int byte = bit / 8, mask = 0x80 >> (bit % 8);
    if ((bytes[byte] & mask) != (other.bytes[byte] & mask)) return false;
  }
  return true;
}

bool Cidr::loopback() const {
  if (family == 4) return prefix >= 8 && bytes[0] == 127;
  static const std::array<unsigned char, 16> kOne = {0, 0, 0, 0, 0, 0, 0, 0,
                                                     0, 0, 0, 0, 0, 0, 0, 1};
  return prefix == 128 && bytes == kOne;
}

std::optional<Cidr> parse_cidr(const std::string& text, std::string& why) {
  const std::string shown = "'" + text + "'";
  if (text.size() > 64) {
    why = "not a network (ADDRESS/PREFIX): it is longer than 64 characters";
    return std::nullopt;
  }
  const auto slash = text.find('/');
  const std::string address = text.substr(0, slash);
  Cidr c;
  if (::inet_pton(AF_INET, address.c_str(), c.bytes.data()) == 1) {
    c.family = 4;
    c.prefix = 32;
  } else if (::inet_pton(AF_INET6, address.c_str(), c.bytes.data()) == 1) {
    c.family = 6;
    c.prefix = 128;
  } else {
    why = shown + " is not a network: '" + address + "' is not an IPv4 or IPv6 address";
    return std::nullopt;
  }
  if (slash != std::string::npos) {
    const std::string p = text.substr(slash + 1);
    const int max = c.family == 4 ? 32 : 128;
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(p) > max) {
      why = shown + " is not a network: the prefix length must be a number from 0 to " +
            std::to_string(max);
      return std::nullopt;
    }
    c.prefix = std::stoi(p);
  }
  const int bits = c.family == 4 ? 32 : 128;
  for (int bit = c.prefix; bit < bits; ++bit)
    if (c.bytes[bit / 8] & (0x80 >> (bit % 8))) {
      Cidr network = c;
      for (int b = c.prefix; b < bits; ++b)
        network.bytes[b / 8] &= static_cast<unsigned char>(~(0x80 >> (b % 8)));
      Cidr host = c;
      host.prefix = bits;
      why = shown + " has bits set beyond its prefix: write " + network.str() +
            " (the network) or " + host.str() + " (the host)";
      return std::nullopt;
    }
  return c;
}

const std::vector<std::string>& fault_signal_names() {
  static const std::vector<std::string> kNames = {"SIGKILL", "SIGTERM", "SIGINT",  "SIGHUP",
                                                  "SIGQUIT", "SIGABRT", "SIGUSR1", "SIGUSR2"};
  return kNames;
}

std::vector<FaultProblem> check_fault_body(const json& body, const FaultLimits& limits) {
  std::vector<FaultProblem> out;
  if (!body.is_object()) return {{{}, "the body must be a JSON object"}};
  if (!body.contains("kind")) return {{{}, "missing field 'kind'"}};
  const json& k = body.at("kind");
  static const std::string kKinds[] = {"kill", "pause", "latency", "cpu", "memory", "network"};
  std::string kind;
  for (const auto& name : kKinds)
    if (k.is_string() && k == name) kind = name;
  if (kind.empty())
    return {{{"kind"}, "field 'kind' must be one of kill, pause, latency, cpu, memory, network"}};

  // A network fault's fields depend on its action: the action comes first.
  std::string action;
  if (kind == "network") {
    if (!body.contains("action")) return {{{}, "missing field 'action' for a network fault"}};
    const json& a = body.at("action");
    const auto& names = network_action_names();
    if (!a.is_string() ||
        std::find(names.begin(), names.end(), a.get<std::string>()) == names.end())
      return {{{"action"},
               "field 'action' must be one of blackhole, reject, loss, bandwidth, delay, dns, "
               "isolate"}};
    action = a.get<std::string>();
  }
  Fields f(body, {}, "",
           action.empty() ? " for a " + kind + " fault" : " for a network " + action + " fault",
           out);
  f.has("kind");
  if (!action.empty()) f.has("action");
  const std::int64_t max = limits.max_duration_ms;
  const std::string bound = " (it bounds the fault in time)";
  if (kind == "kill" || kind == "pause") {
    if (!f.has("target"))
      f.bad("missing field 'target'");
    else
      check_target(body, out);
  }
  if (kind == "kill") {
    if (f.has("signal")) {
      const json& s = body.at("signal");
      f.string("signal", true);
      const auto& names = fault_signal_names();
      if (s.is_string() && !s.get<std::string>().empty() &&
          std::find(names.begin(), names.end(), s.get<std::string>()) == names.end())
        f.bad(
            "field 'signal' must be one of SIGKILL, SIGTERM, SIGINT, SIGHUP, SIGQUIT, "
            "SIGABRT, SIGUSR1, SIGUSR2",
            "signal");
    }
    f.integer("observe_ms", false, 0, max);
  } else if (kind == "pause") {
    f.integer("duration_ms", true, 1, max, bound);
  } else if (kind == "latency") {
    f.string("proxy", true);
    f.integer("latency_ms", true, 0, 3600000);
    f.integer("jitter_ms", false, 0, 3600000);
    f.integer("duration_ms", true, 1, max, bound);
  } else if (kind == "cpu") {
    f.integer("cores", false, 1, limits.max_cores);
    if (f.has("load")) {
      const json& l = body.at("load");
      if (!l.is_number())
        f.bad("field 'load' must be a number", "load");
      else if (!(l.get<double>() > 0 && l.get<double>() <= 1))
        f.bad("field 'load' must be above 0 and at most 1, got " + l.dump(), "load");
    }
    f.integer("duration_ms", true, 1, max, bound);
  } else if (kind == "memory") {
    f.integer("bytes", true, 1, limits.max_memory_bytes);
    f.integer("duration_ms", true, 1, max, bound);
  } else if (kind == "network") {
    check_network(f, body, action);
    f.integer("duration_ms", true, 1, max, bound);
  }
  f.finish();
  return out;
}

}  // namespace achilles::common
