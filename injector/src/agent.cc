// The agent's event loop: one io_context thread runs the API, the proxies and the ticker.
#include "achilles/injector/agent.h"
#include "achilles/common/time.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string_view>
#include <thread>
#include <vector>

#include <asio.hpp>

#include "achilles/common/input_file.h"
#include "achilles/common/text.h"
#include "achilles/injector/api.h"
#include "achilles/injector/engine.h"
#include "achilles/injector/proxy.h"
#include "http_server.h"

namespace achilles::injector {

namespace {

constexpr auto kTick = std::chrono::milliseconds(20);

constexpr std::size_t kMinTokenBytes = 16;

// A secret that others may read is no secret, and one they may write lets them in: refuse a
// token or key file open to its group or to others, and say how to close it.
void check_private_file(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return;  // reading it says what is wrong
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) == 0) return;
  const std::string mode = common::format("%04o", static_cast<unsigned>(st.st_mode & 07777));
  throw ConfigError(path + ": error: the " + what + " may be read or written by its group or " +
                    "by others (mode " + mode + "): run 'chmod 600 " + path + "'");
}

std::string read_token(const std::string& path) {
  check_private_file(path, "token file (token_file, --token-file)");
  // Bounded, as every file a user names is (common/input_file.h): a token is a line.
  std::string token;
  try {
    token = common::read_input_file(path, 65536);
  } catch (const common::InputFileError& e) {
    throw ConfigError(path + ": error: the token file: " + e.reason());
  }
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
    token.pop_back();
  if (token.empty()) throw ConfigError(path + ": error: the token file is empty");
  if (token.size() < kMinTokenBytes)
    throw ConfigError(path + ": error: the token is " + std::to_string(token.size()) +
                      " bytes long, fewer than " + std::to_string(kMinTokenBytes) +
                      ": make a longer one, e.g. 'openssl rand -hex 32 > " + path + "'");
  return token;
}

// At shutdown, a network revert that failed is tried again three times, a second apart, and
// each failure is said on stderr: what still fails is left to the next agent's start-up sweep.
void retry_failed_reverts(FaultEngine& engine) {
  for (int attempt = 1; attempt <= 3 && engine.reverts_pending(); ++attempt) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    for (const auto& failed : engine.retry_reverts(true))
      std::cerr << "achilles-agent: error: at shutdown, try " << attempt
                << " of 3: cannot revert network fault " << failed << "\n";
  }
  if (engine.reverts_pending())
    std::cerr << "achilles-agent: error: network faults left in place at shutdown; the next "
                 "agent's start deletes them\n";
}

void schedule_tick(asio::steady_timer& timer, FaultEngine& engine, ProxyManager& proxies) {
  timer.expires_after(kTick);
  timer.async_wait([&](const std::error_code& ec) {
    if (ec) return;
    try {
      engine.tick();
      proxies.expire();
    } catch (const std::exception& e) {
      std::cerr << "achilles-agent: warning: " << e.what() << "\n";
    }
    schedule_tick(timer, engine, proxies);
  });
}

// The directories of the state file and the audit log must exist: an agent started by hand
// on a fresh host would otherwise stop at its first write with a bare "cannot open". As root
// with a default path, the agent makes the directory itself, mode 0700 (what the
// achilles-agent package's postinst makes too); otherwise the message names the flag.
void ensure_directory(const std::string& file, const std::string& default_file,
                      const std::string& what, const std::string& flag,
                      const std::string& alternative) {
  if (file.empty() || file == "-") return;
  const std::filesystem::path dir = std::filesystem::path(file).parent_path();
  if (dir.empty()) return;
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) return;
  if (::geteuid() == 0 && file == default_file && dir.parent_path() != dir) {
    const auto parent_mask = ::umask(022);
    std::filesystem::create_directories(dir.parent_path(), ec);
    ::umask(parent_mask);
    if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return;
    throw std::runtime_error("cannot create the " + what + " directory '" + dir.string() +
                             "': " + std::strerror(errno));
  }
  throw std::runtime_error("the " + what + " directory '" + dir.string() +
                           "' does not exist: create it (mode 0700), or choose another file "
                           "with " +
                           flag + alternative);
}

/// Who owns a network namespace's achilles_* tables and qdiscs: the agent that holds an
/// abstract unix socket of a fixed name. The kernel keeps abstract names per network
/// namespace and releases one when its holder dies, however it dies (SIGKILL included), and
/// it needs no file (the unit's ProtectSystem=strict leaves /run read-only to the agent).
class NetnsLock {
 public:
  static constexpr const char* kName = "achilles-agent/network-faults";
  /// Takes the name, trying for up to `patience` (an agent without network faults holds it
  /// for the milliseconds of its start-up sweep). Held by another process is !held(); any
  /// other failure to bind is an error, never read as "held".
  explicit NetnsLock(std::chrono::milliseconds patience) {
    const auto deadline = std::chrono::steady_clock::now() + patience;
    for (;;) {
      fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd_ < 0)
        throw std::runtime_error(std::string("cannot make the network namespace's lock: ") +
                                 std::strerror(errno));
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      const std::size_t n = std::strlen(kName);
      std::memcpy(address.sun_path + 1, kName, n);  // sun_path[0] == 0: an abstract name
      const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
      if (::bind(fd_, reinterpret_cast<const sockaddr*>(&address), length) == 0) return;
      const int error = errno;
      release();
      if (error != EADDRINUSE)
        throw std::runtime_error(std::string("cannot take the network namespace's lock @") + kName +
                                 ": " + std::strerror(error));
      if (std::chrono::steady_clock::now() >= deadline) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  NetnsLock(const NetnsLock&) = delete;
  NetnsLock& operator=(const NetnsLock&) = delete;
  ~NetnsLock() { release(); }
  bool held() const { return fd_ >= 0; }
  void release() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  /// Who holds the name, for the message: "pid N (COMM)", or "" when it cannot be told. The
  /// socket's inode is in /proc/net/unix (this network namespace's), its holder the process
  /// with a descriptor on socket:[INODE]. Abstract names have no permissions, so the holder
  /// may be any process: the message names it rather than assume it is an agent.
  static std::string holder() {
    std::ifstream unix_sockets("/proc/net/unix");
    std::string line, inode;
    const std::string name = std::string("@") + kName;
    while (std::getline(unix_sockets, line)) {
      std::istringstream fields(line);
      std::vector<std::string> f{std::istream_iterator<std::string>(fields), {}};
      if (f.size() >= 8 && f[7] == name) {
        inode = f[6];
        break;
      }
    }
    if (inode.empty()) return "";
    const std::string wanted = "socket:[" + inode + "]";
    std::error_code ec;
    for (const auto& proc : std::filesystem::directory_iterator("/proc", ec)) {
      const std::string pid = proc.path().filename().string();
      if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
      std::error_code fd_ec;
      for (const auto& fd : std::filesystem::directory_iterator(proc.path() / "fd", fd_ec)) {
        char target[64];
        const ssize_t n = ::readlink(fd.path().c_str(), target, sizeof target - 1);
        if (n <= 0 || std::string_view(target, static_cast<std::size_t>(n)) != wanted) continue;
        std::ifstream comm_file(proc.path() / "comm");
        std::string comm;
        std::getline(comm_file, comm);
        return "pid " + pid + " (" + comm + ")";
      }
    }
    return "";
  }

 private:
  int fd_ = -1;
};

}  // namespace

int run_agent(const AgentConfig& config, std::ostream& out) {
  // Check everything the configuration decides before touching anything.
  const auto [host, port] = split_host_port(config.listen, "--listen");
  std::string token;
  if (config.insecure_loopback) {
    if (!is_loopback_host(host))
      throw ConfigError("--insecure-loopback is refused on '" + config.listen +
                        "': it is allowed only on a loopback address (127.0.0.0/8, ::1)");
  } else {
    if (config.token_file.empty())
      throw ConfigError(
          "no --token-file given: every request needs a bearer token (--insecure-loopback "
          "lifts this on a loopback address only)");
    token = read_token(config.token_file);
  }
  TlsFiles tls{config.tls_cert, config.tls_key, config.tls_client_ca};
  const int tls_given = !tls.cert.empty() + !tls.key.empty() + !tls.client_ca.empty();
  if (tls_given != 0 && tls_given != 3)
    throw ConfigError(
        "TLS needs all of tls.cert, tls.key and tls.client_ca (--tls-cert, --tls-key, "
        "--tls-client-ca): a listener with TLS always requires client certificates");
  if (tls_given == 3) check_private_file(tls.key, "TLS key (tls.key, --tls-key)");
  HttpServer::check_tls(tls);
  for (const auto& p : config.proxies) {
    split_host_port(p.listen, "proxy '" + p.name + "' listen");
    split_host_port(p.upstream, "proxy '" + p.name + "' upstream");
  }
  EngineOptions options;
  options.guard.allow.processes = config.allow_processes;
  options.guard.allow.executables = config.allow_executables;
  options.guard.pidfile_dirs = config.allow_pidfile_dirs;
  options.guard.allow.uids = resolve_users(config.allow_users);
  options.guard.self_pid = ::getpid();
  options.guard.parent_pid = ::getppid();
  options.state_file = config.state_file;
  options.limits.max_duration_ms = config.max_duration_ms;
  const int cpus = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  options.limits.max_cores =
      config.max_cpu_cores > 0
          ? static_cast<int>(std::min<std::int64_t>(config.max_cpu_cores, cpus))
          : cpus;
  options.limits.max_memory_bytes = config.max_memory_bytes > 0
                                        ? static_cast<std::uint64_t>(config.max_memory_bytes)
                                        : static_cast<std::uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                                              static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE)) / 2;
  options.max_total_memory_bytes = options.limits.max_memory_bytes;
  options.limits.network.allowed = config.allow_network != AgentConfig::NetworkAllowed::kOff;
  options.limits.network.any = config.allow_network == AgentConfig::NetworkAllowed::kAny;
  for (const auto& c : config.allow_network_cidrs) {
    std::string why;
    auto cidr = common::parse_cidr(c, why);
    if (!cidr) throw ConfigError("allow.network.cidrs: " + why);
    options.limits.network.cidrs.push_back(*cidr);
  }
  options.limits.network.interfaces = config.allow_network_interfaces;

  const AgentConfig defaults;
  ensure_directory(config.state_file, defaults.state_file, "state", "--state-file", "");
  ensure_directory(config.audit_log, defaults.audit_log, "audit log", "--audit-log",
                   " ('-' for stderr)");
  // One agent per state file: a second one would revert the first one's faults.
  std::unique_ptr<StateLock> state_lock;
  if (!config.state_file.empty()) state_lock = std::make_unique<StateLock>(config.state_file);
  // One agent per network namespace owns its achilles_* tables and qdiscs: at start an agent
  // deletes every one no fault of its own names, so a second agent in the namespace would
  // delete the first one's live network faults. An agent that may make network faults holds
  // the namespace for its life; one that may not holds it only for its start-up sweep (so
  // that it still cleans up after a killed predecessor) and gives it up after.
  NetnsLock netns_lock(std::chrono::seconds(2));
  const bool sweep = netns_lock.held();
  if (!sweep) {
    const std::string who = NetnsLock::holder();
    const std::string held_by = "@" + std::string(NetnsLock::kName) + " is held" +
                                (who.empty() ? std::string() : " by " + who);
    if (options.limits.network.allowed)
      throw ConfigError("another process owns this network namespace's network faults (" + held_by +
                        "): a second agent would delete the first one's at its start; give "
                        "this one no --allow-network, or run it in a network namespace of its "
                        "own");
    std::cerr << "achilles-agent: another process owns this network namespace's network faults ("
              << held_by << "): this agent leaves its tables and qdiscs alone\n";
  }

  ::signal(SIGPIPE, SIG_IGN);
  // A file size limit makes a write fail (and the audit log refuse what it cannot record)
  // instead of killing the agent with its faults in place.
  ::signal(SIGXFSZ, SIG_IGN);
  // Each proxied connection holds two descriptors: allow as many as the hard limit does.
  if (rlimit nofile{};
      getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  AuditLog audit(config.audit_log, static_cast<std::uint64_t>(config.audit_max_bytes));
  auto procs = make_proc_table();
  auto signals = make_kill_signaller();
  auto clock = make_system_clock();
  auto loads = make_process_load_runner();
  // Always there, also when network faults are not allowed: a predecessor's tables and
  // qdiscs are deleted at start whatever this configuration allows.
  auto network = make_kernel_network_faults();

  asio::io_context io(1);
  Metrics metrics;
  ProxyManager proxies(io, *clock, config.max_duration_ms);
  FaultEngine engine({*procs, *signals, *clock, *loads, &proxies, network.get()}, options);
  engine.set_audit([&](const nlohmann::json& e) { audit.write(e); });
  engine.set_metrics(&metrics);
  proxies.set_harm_gate([&] {
    if (engine.halted()) throw ApiError(409, "the agent is halted: POST /v1/resume first");
  });

  // Revert what a killed predecessor left behind, before anything is served, and before the
  // port is bound too: an agent that cannot listen still leaves no harm behind. The lock
  // above keeps a second agent on the same state file from getting here at all.
  // Fails now, not at the first fault, when the state file cannot be written.
  if (!config.state_file.empty()) {
    const Recovery recovery =
        recover_state(config.state_file, *procs, *signals, options.guard, network.get(), sweep);
    metrics.revert("recovery", recovery.faults);
    for (const auto& action : recovery.actions) {
      audit.write(action);
      std::cerr << "achilles-agent: recovered: " << action.dump() << "\n";
    }
    if (!recovery.halted.empty()) {
      engine.restore_halt(recovery.halted);
      std::cerr << "achilles-agent: halted (" << recovery.halted
                << " before the restart): new faults are refused until POST /v1/resume\n";
    }
  } else if (sweep) {
    // No state file, no records: the tables and qdiscs a killed predecessor left behind are
    // still found by their names and handles, and deleted.
    for (const auto& line : network->sweep()) {
      const nlohmann::json action = {{"event", "recover"}, {"action", line}};
      audit.write(action);
      std::cerr << "achilles-agent: recovered: " << action.dump() << "\n";
    }
  }
  if (!options.limits.network.allowed) netns_lock.release();

  for (const auto& p : config.proxies) {
    try {
      proxies.create({p.name, p.listen, p.upstream, true, {}});
    } catch (const ApiError& e) {
      throw std::runtime_error("proxy '" + p.name + "': " + e.what());
    }
  }
  ApiOptions api_options;
  api_options.token = token;
  api_options.require_token = !config.insecure_loopback;
  api_options.metrics = &metrics;
  Api api(engine, &proxies, audit, *clock, api_options);

  ServerLimits limits;
  limits.max_header_bytes = static_cast<std::size_t>(config.max_header_bytes);
  limits.max_body_bytes = static_cast<std::size_t>(config.max_body_bytes);
  limits.max_connections = static_cast<std::size_t>(config.max_connections);
  limits.read_timeout = std::chrono::milliseconds(config.read_timeout_ms);
  limits.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  std::unique_ptr<HttpServer> server;
  try {
    asio::ip::tcp::resolver resolver(io);
    auto ep = resolver.resolve(host, std::to_string(port)).begin()->endpoint();
    server = std::make_unique<HttpServer>(
        io, ep, [&](const HttpRequest& r) { return api.handle(r); }, limits, tls,
        HttpServer::Hooks{[&](const HttpRequest& r) { return api.admit(r); },
                          [&](const HttpRequest& r, int status, const std::string& message) {
                            api.rejected(r, status, message);
                          }});
  } catch (const std::system_error& e) {
    throw std::runtime_error("cannot listen on " + config.listen + ": " + e.code().message());
  }

  engine.set_api_port(server->port());
  asio::steady_timer ticker(io);
  schedule_tick(ticker, engine, proxies);
  asio::signal_set stop(io, SIGINT, SIGTERM);
  stop.async_wait([&](const std::error_code& ec, int signo) {
    if (ec) return;
    audit.write(
        {{"event", "shutdown"}, {"signal", signo}, {"time", common::format_time(clock->wall())}});
    engine.revert_all("agent shutdown");
    retry_failed_reverts(engine);
    proxies.close_all();
    server->close();
    ticker.cancel();
    io.stop();
  });
  const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const std::string bound = shown + ":" + std::to_string(server->port());
  // Fail closed: an agent that cannot record what it is asked to do does not serve.
  if (!audit.write({{"event", "start"},
                    {"pid", ::getpid()},
                    {"listen", bound},
                    {"tls", tls.enabled()},
                    {"time", common::format_time(clock->wall())}}))
    throw std::runtime_error("cannot write the audit log '" + config.audit_log +
                             "': " + audit.error());
  out << "achilles-agent listening on " << bound << std::endl;
  io.run();
  engine.revert_all("agent shutdown");
  retry_failed_reverts(engine);
  return 0;
}

}  // namespace achilles::injector
