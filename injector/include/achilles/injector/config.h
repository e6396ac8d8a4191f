// The agent's configuration: a YAML file whose every key is also a flag; a flag wins.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace achilles::injector {

/// Bad configuration or usage: main prints it and exits with 2.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A proxy declared at start (`proxies:` or `--proxy NAME,LISTEN,UPSTREAM`).
struct ProxyDecl {
  std::string name;
  std::string listen;
  std::string upstream;
};

struct AgentConfig {
  /// HOST:PORT of the API; port 0 picks a free one (printed on stdout).
  std::string listen = "127.0.0.1:8474";
  /// File holding the bearer token; required unless insecure_loopback.
  std::string token_file;
  /// Active faults, for recovery after a crash.
  std::string state_file = "/var/lib/achilles/state.json";
  /// One JSON line per change; "-" for stderr.
  std::string audit_log = "/var/log/achilles/audit.jsonl";
  /// Beyond this size the audit log is renamed to AUDIT_LOG.1 and started anew; 0: never.
  std::int64_t audit_max_bytes = 0;
  /// Cap of every fault's duration.
  std::int64_t max_duration_ms = 900000;
  /// Globs on process names (comm) that may be signalled; with allow_executables empty too,
  /// none may.
  std::vector<std::string> allow_processes;
  /// Globs on the resolved paths of executables (/proc/PID/exe) that may be signalled.
  std::vector<std::string> allow_executables;
  /// User names (or numeric uids) whose processes (by effective uid) may be signalled; empty:
  /// any user.
  std::vector<std::string> allow_users;
  /// Directories a pidfile target may be in.
  std::vector<std::string> allow_pidfile_dirs = {"/run", "/var/run"};
  /// Most cores all cpu faults together may load; 0: the host's online CPUs (never more).
  std::int64_t max_cpu_cores = 0;
  /// Most bytes all memory faults together may hold; 0: half of the RAM. Each is also capped
  /// by what the host has available when it starts.
  std::int64_t max_memory_bytes = 0;
  std::vector<ProxyDecl> proxies;
  /// Network faults (allow.network): refused (kOff), allowed on any address and interface
  /// (`true`, --allow-network: kAny), or only on the networks and interfaces listed
  /// (`{cidrs, interfaces}`, --allow-network-cidr, --allow-network-interface: kListed; a
  /// list left out allows nothing of its sort).
  enum class NetworkAllowed { kOff, kAny, kListed };
  NetworkAllowed allow_network = NetworkAllowed::kOff;
  std::vector<std::string> allow_network_cidrs;
  std::vector<std::string> allow_network_interfaces;
  /// No token on a loopback-only listener.
  bool insecure_loopback = false;
  /// TLS for the API (`tls: {cert, key, client_ca}`, --tls-cert, --tls-key, --tls-client-ca):
  /// all three or none. The server's PEM certificate chain and key, and the CA certificates
  /// that must have signed a client's certificate.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  /// A request (or a TLS handshake) that takes longer than this is dropped: slow clients.
  std::int64_t read_timeout_ms = 10000;
  /// A kept-alive connection silent this long between two requests is closed.
  std::int64_t idle_timeout_ms = 60000;
  /// Request head and body limits (431 and 413 beyond them).
  std::int64_t max_header_bytes = 16384;
  std::int64_t max_body_bytes = 1048576;
  /// Connections served at once; more are closed on accept.
  std::int64_t max_connections = 4096;
};

/// Loads a YAML configuration; errors are `FILE:LINE:COLUMN: error: MESSAGE`.
AgentConfig load_config(const std::string& path);
/// The same from the file's text (`path` names it in messages). Every problem is a
/// ConfigError: the YAML guard's (UTF-8, depth, aliases, a second document), syntax, unknown
/// keys and bad values.
AgentConfig parse_config(std::string_view text, const std::string& path);

/// What the command line asks for.
struct CommandLine {
  AgentConfig config;
  bool help = false;
  bool version = false;
  /// --check: list the network actions this host supports, and exit.
  bool check = false;
};

/// Reads --config first (if given), then applies every other flag over it.
CommandLine parse_command_line(const std::vector<std::string>& args);

/// The text of --help.
std::string usage();

/// "127.0.0.1:8474" -> {"127.0.0.1", 8474}; "[::1]:80" -> {"::1", 80}. Throws ConfigError.
std::pair<std::string, std::uint16_t> split_host_port(const std::string& address,
                                                      const std::string& what);

/// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string& host);

/// Resolves user names (or numeric uids) to uids; throws ConfigError for an unknown user.
std::vector<unsigned> resolve_users(const std::vector<std::string>& users);

}  // namespace achilles::injector
