// Configuration: YAML keys and flags share names (`max_duration_ms` / `--max-duration-ms`).
#include "achilles/injector/config.h"

#include "achilles/common/fault_schema.h"
#include "achilles/common/text.h"
#include "achilles/common/yaml_guard.h"

#include <arpa/inet.h>
#include <pwd.h>

#include <algorithm>
#include <fstream>
#include <limits>

#include <yaml-cpp/yaml.h>

namespace achilles::injector {

namespace {

std::string where(const std::string& file, const YAML::Node& node) {
  const auto m = node.Mark();
  if (m.line < 0) return file + ": error: ";
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": error: ";
}

std::int64_t to_int(const std::string& text, const std::string& what, std::int64_t lo,
                    std::int64_t hi) {
  const auto parsed = common::whole_integer(text);
  if (!parsed) throw ConfigError(what + " must be an integer, got '" + text + "'");
  const long long v = *parsed;
  if (v < lo || v > hi)
    throw ConfigError(what + " must be between " + std::to_string(lo) + " and " +
                      std::to_string(hi) + ", got " + text);
  return v;
}

bool to_bool(const std::string& text, const std::string& what) {
  if (text == "true" || text == "yes" || text == "1") return true;
  if (text == "false" || text == "no" || text == "0") return false;
  throw ConfigError(what + " must be true or false, got '" + text + "'");
}

ProxyDecl parse_proxy_flag(const std::string& v) {
  auto a = v.find(',');
  auto b = a == std::string::npos ? a : v.find(',', a + 1);
  if (b == std::string::npos || v.find(',', b + 1) != std::string::npos)
    throw ConfigError("--proxy must be NAME,LISTEN,UPSTREAM, got '" + v + "'");
  return {v.substr(0, a), v.substr(a + 1, b - a - 1), v.substr(b + 1)};
}

// Integer keys, with their bounds, shared by YAML and flags.
struct IntKey {
  const char* key;
  std::int64_t AgentConfig::*field;
  std::int64_t lo, hi;
};
const IntKey kIntKeys[] = {
    {"max_duration_ms", &AgentConfig::max_duration_ms, 1, 7 * 24 * 3600 * 1000LL},
    {"read_timeout_ms", &AgentConfig::read_timeout_ms, 1, 3600 * 1000},
    {"idle_timeout_ms", &AgentConfig::idle_timeout_ms, 1, 24 * 3600 * 1000},
    {"max_header_bytes", &AgentConfig::max_header_bytes, 256, 1 << 20},
    {"max_body_bytes", &AgentConfig::max_body_bytes, 1, 64 << 20},
    {"max_connections", &AgentConfig::max_connections, 1, 1 << 20},
    {"audit_max_bytes", &AgentConfig::audit_max_bytes, 0, 1LL << 50},
    {"max_cpu_cores", &AgentConfig::max_cpu_cores, 0, 65536},
    {"max_memory_bytes", &AgentConfig::max_memory_bytes, 0, 1LL << 50},
};

struct StringKey {
  const char* key;
  std::string AgentConfig::*field;
};
const StringKey kStringKeys[] = {{"listen", &AgentConfig::listen},
                                 {"token_file", &AgentConfig::token_file},
                                 {"state_file", &AgentConfig::state_file},
                                 {"audit_log", &AgentConfig::audit_log}};

// The keys of `tls:`; their flags are --tls-cert, --tls-key, --tls-client-ca.
const StringKey kTlsKeys[] = {{"cert", &AgentConfig::tls_cert},
                              {"key", &AgentConfig::tls_key},
                              {"client_ca", &AgentConfig::tls_client_ca}};

std::string flag_of(std::string key) {
  std::replace(key.begin(), key.end(), '_', '-');
  return "--" + key;
}

}  // namespace

AgentConfig load_config(const std::string& path) {
  // A configuration is a few hundred bytes; a bigger file is a mistake (a log, a binary).
  constexpr std::streamsize kMaxBytes = 1 << 20;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": error: cannot read the file");
  std::string text(kMaxBytes + 1, '\0');
  in.read(text.data(), kMaxBytes + 1);
  if (in.bad()) throw ConfigError(path + ": error: cannot read the file");
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > static_cast<size_t>(kMaxBytes))
    throw ConfigError(path + ": error: the configuration is larger than 1 MiB");
  return parse_config(text, path);
}

AgentConfig parse_config(std::string_view text, const std::string& path) {
  // The YAML guard first (UTF-8, depth, aliases, one document), as for every YAML reader, so
  // that yaml-cpp never builds a cyclic or exploding tree from the file.
  std::vector<common::Diagnostic> found;
  if (!common::check_yaml(text, path, common::YamlDocuments::kOne, found)) {
    std::vector<std::string> lines;
    for (const auto& d : found)
      lines.push_back(d.str());
    throw ConfigError(common::join(lines, "\n"));
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw ConfigError(path + ":" + std::to_string(e.mark.line + 1) + ":" +
                      std::to_string(e.mark.column + 1) + ": error: " + e.msg);
  }
  AgentConfig c;
  if (root.IsNull()) return c;
  if (!root.IsMap()) throw ConfigError(where(path, root) + "the configuration must be a mapping");
  auto scalar = [&](const YAML::Node& n, const std::string& key) {
    if (!n.IsScalar()) throw ConfigError(where(path, n) + "'" + key + "' must be a scalar");
    return n.Scalar();
  };
  // A key is a plain word: a list or a map as a key (`? [a]`) is refused, not converted.
  auto key_of = [&](const YAML::Node& k) {
    if (!k.IsScalar()) throw ConfigError(where(path, k) + "a key must be a word");
    return k.Scalar();
  };
  auto strings = [&](const YAML::Node& n, const std::string& key) {
    if (!n.IsSequence()) throw ConfigError(where(path, n) + "'" + key + "' must be a list");
    std::vector<std::string> out;
    for (const auto& item : n)
      out.push_back(scalar(item, key));
    return out;
  };
  // allow.network: true, false, or {cidrs: [...], interfaces: [...]}.
  auto read_allow_network = [&](const YAML::Node& n, AgentConfig& cfg) {
    if (n.IsScalar()) {
      cfg.allow_network = to_bool(n.Scalar(), "'allow.network'")
                              ? AgentConfig::NetworkAllowed::kAny
                              : AgentConfig::NetworkAllowed::kOff;
      return;
    }
    if (!n.IsMap())
      throw ConfigError(where(path, n) +
                        "'allow.network' must be true, false or a mapping with cidrs and "
                        "interfaces");
    cfg.allow_network = AgentConfig::NetworkAllowed::kListed;
    for (const auto& e : n) {
      const std::string sub = key_of(e.first);
      if (sub == "cidrs")
        cfg.allow_network_cidrs = strings(e.second, "allow.network.cidrs");
      else if (sub == "interfaces")
        cfg.allow_network_interfaces = strings(e.second, "allow.network.interfaces");
      else
        throw ConfigError(where(path, e.first) + "unknown key 'allow.network." + sub + "'");
    }
  };
  for (const auto& kv : root) {
    const std::string key = key_of(kv.first);
    const YAML::Node& v = kv.second;
    try {
      bool done = false;
      for (const auto& k : kStringKeys)
        if (key == k.key) c.*k.field = scalar(v, key), done = true;
      for (const auto& k : kIntKeys)
        if (key == k.key)
          c.*k.field = to_int(scalar(v, key), "'" + key + "'", k.lo, k.hi), done = true;
      if (done) continue;
      if (key == "insecure_loopback") {
        c.insecure_loopback = to_bool(scalar(v, key), "'insecure_loopback'");
      } else if (key == "allow") {
        if (!v.IsMap()) throw ConfigError("'allow' must be a mapping");
        for (const auto& a : v) {
          const std::string sub = key_of(a.first);
          if (sub == "processes")
            c.allow_processes = strings(a.second, "allow.processes");
          else if (sub == "executables")
            c.allow_executables = strings(a.second, "allow.executables");
          else if (sub == "pidfile_dirs")
            c.allow_pidfile_dirs = strings(a.second, "allow.pidfile_dirs");
          else if (sub == "users")
            c.allow_users = strings(a.second, "allow.users");
          else if (sub == "network")
            read_allow_network(a.second, c);
          else
            throw ConfigError(where(path, a.first) + "unknown key 'allow." + sub + "'");
        }
      } else if (key == "tls") {
        if (!v.IsMap()) throw ConfigError("'tls' must be a mapping with cert, key and client_ca");
        for (const auto& a : v) {
          const std::string sub = key_of(a.first);
          bool known = false;
          for (const auto& k : kTlsKeys)
            if (sub == k.key) c.*k.field = scalar(a.second, "tls." + sub), known = true;
          if (!known) throw ConfigError(where(path, a.first) + "unknown key 'tls." + sub + "'");
        }
      } else if (key == "proxies") {
        if (!v.IsSequence()) throw ConfigError("'proxies' must be a list");
        for (const auto& p : v) {
          if (!p.IsMap()) throw ConfigError(where(path, p) + "each proxy must be a mapping");
          ProxyDecl d;
          for (const auto& f : p) {
            const std::string pk = key_of(f.first);
            if (pk == "name")
              d.name = scalar(f.second, pk);
            else if (pk == "listen")
              d.listen = scalar(f.second, pk);
            else if (pk == "upstream")
              d.upstream = scalar(f.second, pk);
            else
              throw ConfigError(where(path, f.first) + "unknown key '" + pk + "' in a proxy");
          }
          if (d.name.empty() || d.listen.empty() || d.upstream.empty())
            throw ConfigError(where(path, p) + "a proxy needs name, listen and upstream");
          c.proxies.push_back(d);
        }
      } else {
        throw ConfigError(where(path, kv.first) + "unknown key '" + key + "'");
      }
    } catch (const ConfigError& e) {
      std::string m = e.what();
      if (m.rfind(path + ":", 0) == 0) throw;
      throw ConfigError(where(path, v) + m);
    }
  }
  return c;
}

CommandLine parse_command_line(const std::vector<std::string>& args) {
  CommandLine cl;
  // Split --flag=value and find --config first, so that the other flags win over it.
  std::vector<std::pair<std::string, std::string>> flags;
  static const char* kBoolFlags[] = {
      "--help", "-h", "--version", "--insecure-loopback", "--check", "--allow-network"};
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i], value;
    if (a.rfind("--", 0) != 0 && a != "-h")
      throw ConfigError("unexpected argument '" + a + "' (see --help)");
    bool has_value = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_value = true;
    }
    const bool is_bool =
        std::find(std::begin(kBoolFlags), std::end(kBoolFlags), a) != std::end(kBoolFlags);
    if (!is_bool && !has_value) {
      if (i + 1 >= args.size()) throw ConfigError(a + " needs a value");
      value = args[++i];
    }
    flags.emplace_back(a, value);
  }
  for (const auto& [f, v] : flags)
    if (f == "--config") cl.config = load_config(v);
  bool processes_reset = false, users_reset = false, proxies_reset = false;
  bool executables_reset = false, pidfile_dirs_reset = false, network_reset = false;
  for (const auto& [f, v] : flags) {
    if (f == "--config") continue;
    if (f == "--help" || f == "-h") {
      cl.help = true;
      continue;
    }
    if (f == "--version") {
      cl.version = true;
      continue;
    }
    if (f == "--check") {
      cl.check = true;
      continue;
    }
    if (f == "--allow-network") {
      const bool on = v.empty() ? true : to_bool(v, f);
      if (!on)
        cl.config.allow_network = AgentConfig::NetworkAllowed::kOff;
      else if (cl.config.allow_network == AgentConfig::NetworkAllowed::kOff)
        cl.config.allow_network = AgentConfig::NetworkAllowed::kAny;
      continue;
    }
    if (f == "--insecure-loopback") {
      cl.config.insecure_loopback = v.empty() ? true : to_bool(v, f);
      continue;
    }
    bool done = false;
    for (const auto& k : kStringKeys)
      if (f == flag_of(k.key)) cl.config.*k.field = v, done = true;
    for (const auto& k : kIntKeys)
      if (f == flag_of(k.key)) cl.config.*k.field = to_int(v, f, k.lo, k.hi), done = true;
    for (const auto& k : kTlsKeys)
      if (f == flag_of(std::string("tls_") + k.key)) cl.config.*k.field = v, done = true;
    if (done) continue;
    // Repeatable flags replace the file's list rather than adding to it: a flag wins.
    if (f == "--allow-process") {
      if (!std::exchange(processes_reset, true)) cl.config.allow_processes.clear();
      cl.config.allow_processes.push_back(v);
    } else if (f == "--allow-executable") {
      if (!std::exchange(executables_reset, true)) cl.config.allow_executables.clear();
      cl.config.allow_executables.push_back(v);
    } else if (f == "--allow-pidfile-dir") {
      if (!std::exchange(pidfile_dirs_reset, true)) cl.config.allow_pidfile_dirs.clear();
      cl.config.allow_pidfile_dirs.push_back(v);
    } else if (f == "--allow-user") {
      if (!std::exchange(users_reset, true)) cl.config.allow_users.clear();
      cl.config.allow_users.push_back(v);
    } else if (f == "--allow-network-cidr" || f == "--allow-network-interface") {
      // Lists narrow what --allow-network (or the file) allows.
      if (!std::exchange(network_reset, true)) {
        cl.config.allow_network_cidrs.clear();
        cl.config.allow_network_interfaces.clear();
      }
      cl.config.allow_network = AgentConfig::NetworkAllowed::kListed;
      (f == "--allow-network-cidr" ? cl.config.allow_network_cidrs
                                   : cl.config.allow_network_interfaces)
          .push_back(v);
    } else if (f == "--proxy") {
      if (!std::exchange(proxies_reset, true)) cl.config.proxies.clear();
      cl.config.proxies.push_back(parse_proxy_flag(v));
    } else {
      throw ConfigError("unknown option '" + f + "' (see --help)");
    }
  }
  for (const auto& e : cl.config.allow_executables)
    if (e.empty() || e[0] != '/')
      throw ConfigError("allow.executables must be absolute paths (globs allowed), got '" + e +
                        "'");
  for (const auto& d : cl.config.allow_pidfile_dirs)
    if (d.empty() || d[0] != '/')
      throw ConfigError("allow.pidfile_dirs must be absolute paths, got '" + d + "'");
  for (const auto& c : cl.config.allow_network_cidrs) {
    std::string why;
    if (!common::parse_cidr(c, why)) throw ConfigError("allow.network.cidrs: " + why);
  }
  return cl;
}

std::string usage() {
  return R"(usage: achilles-agent [--config F] [--listen ADDR] [--token-file F] [options]

The Achilles fault-injection agent: injects bounded faults (kill, pause, latency, cpu,
memory, network) on this instance through an HTTP API, and serves Toxiproxy's API for its proxies.

options (each is also a key of the YAML configuration, with '_' for '-'):
  --config FILE               YAML configuration; flags given here win over it
  --listen HOST:PORT          API address (default 127.0.0.1:8474; port 0 picks one)
  --token-file FILE           file holding the bearer token every request must carry
  --insecure-loopback         no token, allowed only when listening on loopback
  --state-file FILE           active faults, reverted by the next agent after a crash
                              (default /var/lib/achilles/state.json)
  --audit-log FILE            one JSON line per request, '-' for stderr
                              (default /var/log/achilles/audit.jsonl)
  --audit-max-bytes N         rotate the audit log to FILE.1 beyond N bytes (0: never, the
                              default)
  --max-duration-ms N         cap of every fault's duration (default 900000)
  --allow-process GLOB        process names (comm) that may be signalled (repeatable; none by
                              default); a name is only as strong as comm, which any process sets
  --allow-executable GLOB     executables (/proc/PID/exe, resolved) that may be signalled
                              (repeatable; none by default)
  --allow-user NAME           only processes of these users, by effective uid (repeatable; any
                              by default)
  --allow-pidfile-dir DIR     directories a pidfile target may be in (repeatable; default /run
                              and /var/run)
  --max-cpu-cores N           cores all cpu faults together may load (default: the online CPUs)
  --max-memory-bytes N        bytes all memory faults together may hold (default: half the RAM)
  --allow-network             allow network faults (nftables tables, qdiscs) on any address
                              and interface; refused by default
  --allow-network-cidr CIDR   allow them only on this network (repeatable)
  --allow-network-interface IF  allow bandwidth and delay only on this interface (repeatable)
  --check                     list the network faults this host supports, and exit
  --proxy NAME,LISTEN,UPSTREAM  a TCP proxy declared at start (repeatable)
  --tls-cert FILE             serve the API over TLS 1.2+ with this PEM certificate chain;
  --tls-key FILE              its private key;
  --tls-client-ca FILE        and require a client certificate signed by these CAs (the three
                              go together; the bearer token is still required)
  --read-timeout-ms N         drop a request or TLS handshake slower than this (default 10000)
  --idle-timeout-ms N         close kept-alive connections idle this long (default 60000)
  --max-header-bytes N        431 beyond this request head size (default 16384)
  --max-body-bytes N          413 beyond this body size (default 1048576)
  --max-connections N         connections served at once (default 4096)
  --help, --version

exit codes: 0 stopped by SIGTERM/SIGINT after reverting every fault, 2 bad configuration or
usage, 3 a runtime failure (a port taken, a file that cannot be written).
)";
}

std::pair<std::string, std::uint16_t> split_host_port(const std::string& address,
                                                      const std::string& what) {
  std::string host, port;
  if (!address.empty() && address[0] == '[') {
    auto close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':')
      throw ConfigError(what + ": '" + address + "' is not HOST:PORT");
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string::npos)
      throw ConfigError(what + ": '" + address + "' is not HOST:PORT");
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  if (host.empty()) host = "0.0.0.0";
  std::int64_t p;
  try {
    p = to_int(port, what + ": the port", 0, 65535);
  } catch (const ConfigError&) {
    throw ConfigError(what + ": '" + address + "' has no valid port");
  }
  return {host, static_cast<std::uint16_t>(p)};
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) == 1) return (ntohl(a.s_addr) >> 24) == 127;
  return false;
}

std::vector<unsigned> resolve_users(const std::vector<std::string>& users) {
  std::vector<unsigned> uids;
  for (const auto& u : users) {
    if (!u.empty() && std::all_of(u.begin(), u.end(), ::isdigit)) {
      uids.push_back(static_cast<unsigned>(std::stoul(u)));
      continue;
    }
    passwd pw{}, *found = nullptr;
    std::vector<char> buf(16384);
    if (getpwnam_r(u.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found)
      throw ConfigError("unknown user '" + u + "' in allow.users");
    uids.push_back(pw.pw_uid);
  }
  return uids;
}

}  // namespace achilles::injector
