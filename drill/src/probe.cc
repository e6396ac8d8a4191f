// Probes (see probe.h): an exec probe is spawned without a shell and killed at its timeout,
// a TCP probe is a connect, an HTTP probe a request judged by its status and body.
#include "probe.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <asio/experimental/awaitable_operators.hpp>

extern char** environ;

namespace achilles::drill {

using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {

/// An exec probe's child, in a process group of its own: killed (the whole group, so that a
/// shell's children go too) and reaped when the sample ends without its exit, at the timeout,
/// or when the drill stops with the sample still running (the run's io_context then destroys
/// the suspended coroutine, and with it this guard: at the end of a drill and on Ctrl-C).
struct ChildGuard {
  pid_t pid = -1;
  bool reaped = false;
  void kill_and_reap() {
    if (pid <= 0 || reaped) return;
    ::kill(-pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    reaped = true;
  }
  ~ChildGuard() { kill_and_reap(); }
};

/// One exec sample: spawn without a shell, poll for the exit, kill at the timeout.
awaitable<std::pair<bool, std::string>> exec_once(const ProbeSpec& p) {
  std::vector<char*> argv;
  for (const auto& a : p.command)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) co_return std::pair{false, "cannot run '" + p.command[0] + "': " + strerror(rc)};
  ChildGuard child{pid};
  const auto deadline = Clock::now() + std::chrono::milliseconds(p.timeout_ms);
  asio::steady_timer t(co_await asio::this_coro::executor);
  while (true) {
    int status = 0;
    // Exited? Asked without reaping (WNOWAIT): while the leader is a zombie its group id
    // cannot be reused, so killing what the probe left in its group cannot hit anyone else.
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid) {
      ::kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      child.reaped = true;
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) co_return std::pair{true, std::string()};
      co_return std::pair{false, WIFEXITED(status)
                                     ? "exit code " + std::to_string(WEXITSTATUS(status))
                                     : "killed by signal " + std::to_string(WTERMSIG(status))};
    }
    if (Clock::now() >= deadline) {
      child.kill_and_reap();
      co_return std::pair{false, "timed out after " + std::to_string(p.timeout_ms) + " ms"};
    }
    t.expires_after(std::chrono::milliseconds(5));
    std::error_code ec;
    co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

/// A TCP connect; the error's message, or "" on success. It never throws: `||` below would
/// otherwise wait for the timeout after a connection refused at once.
awaitable<std::string> tcp_once(std::string host, std::string port) {
  try {
    tcp::socket s = co_await connect(host, port);
  } catch (const std::system_error& e) {
    co_return e.code().message();
  }
  co_return std::string();
}

}  // namespace

/// Takes one sample of `p`: success and latency (for a failure, the time it took to fail).
awaitable<std::pair<bool, std::string>> sample_once(ProbeState& p) {
  const ProbeSpec& spec = *p.spec;
  switch (spec.kind) {
    case ProbeKind::kHttp: {
      HttpResult r =
          co_await http_call(p.url, spec.method, std::string(), {}, p.tls.get(), spec.timeout_ms);
      if (!r.error.empty()) co_return std::pair{false, r.error};
      const bool status_ok = spec.statuses.empty()
                                 ? (r.status >= 200 && r.status < 400)
                                 : std::find(spec.statuses.begin(), spec.statuses.end(),
                                             r.status) != spec.statuses.end();
      if (!status_ok) co_return std::pair{false, "status " + std::to_string(r.status)};
      if (!spec.body_contains.empty() && r.body.find(spec.body_contains) == std::string::npos)
        co_return std::pair{false, "the body lacks '" + spec.body_contains + "'"};
      co_return std::pair{true, std::string()};
    }
    case ProbeKind::kTcp: {
      auto [host, port] = split_address(spec.address);
      try {
        auto connecting = tcp_once(host, port);
        auto timeout = sleep_for(std::chrono::milliseconds(spec.timeout_ms));
        auto v = co_await (std::move(connecting) || std::move(timeout));
        if (v.index() == 1)
          co_return std::pair{false,
                              "connect timed out after " + std::to_string(spec.timeout_ms) + " ms"};
        const std::string error = std::get<0>(v);
        co_return std::pair{error.empty(), error};
      } catch (const std::system_error& e) {
        co_return std::pair{false, e.code().message()};
      }
    }
    case ProbeKind::kExec:
      co_return co_await exec_once(spec);
  }
  co_return std::pair{false, std::string("unknown probe kind")};
}

}  // namespace achilles::drill
