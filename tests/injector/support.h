// Helpers for tests that drive real processes and sockets: every process and socket here is
// started by the test itself, on loopback, and cleaned up when the test fails.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace achilles::injector::testing {

/// Polls `done` every 5 ms until it holds or `timeout` passes; whether it held.
bool wait_until(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// A child process started by the test; killed (SIGKILL) and reaped on destruction.
class Child {
 public:
  /// Starts argv[0] (searched in PATH) with stdout on a pipe when `capture` is set.
  explicit Child(const std::vector<std::string>& argv, bool capture = false);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  pid_t pid() const { return pid_; }
  /// One line of stdout, or "" when none comes before the deadline.
  std::string read_line(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Waits for the exit; the exit status (WEXITSTATUS), 128+N for signal N, -1 on timeout.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool running();
  /// Everything written to stderr so far (when captured).
  std::string stderr_text();

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  std::string buffered_;
  int status_ = -1;
  bool reaped_ = false;
};

/// /proc/PID/stat's state letter, or 0 when the process is gone.
char proc_state(pid_t pid);
/// /proc/PID/stat's name (comm), or "" when the process is gone.
std::string proc_name(pid_t pid);

/// An argument for `sleep` (SECONDS and then a fraction) that no other process on the host
/// has: this test process's pid and a counter in fixed widths, so that an anchored cmdline
/// pattern on it matches only this sleep, never another test run's (`1000.123` + `45` and
/// `1000.1234` + `5` were the same text before the widths were fixed).
std::string unique_sleep_arg(int seconds);

/// Writes `text` to a new file of mode 0600 (a token or a key: the agent refuses others).
void write_private_file(const std::string& path, const std::string& text);

/// A fresh directory under /tmp, removed with its files on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// The real achilles-agent, on 127.0.0.1 with a port the OS picked.
class Agent {
 public:
  /// Adds --listen 127.0.0.1:0, --state-file and --audit-log in `dir` to `args`.
  Agent(const TempDir& dir, std::vector<std::string> args);
  int port() const { return port_; }
  Child& process() { return *child_; }

 private:
  std::unique_ptr<Child> child_;
  int port_ = 0;
};

struct Reply {
  int status = 0;
  std::string body;
  std::string head;
  nlohmann::json json() const { return nlohmann::json::parse(body); }
};

/// One request on a new connection (Connection: close).
Reply http(int port, const std::string& method, const std::string& path,
           const std::string& body = "", const std::vector<std::string>& headers = {});
/// Sends raw bytes and reads until the server closes (or `timeout`).
std::string raw_exchange(int port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));
/// A connected loopback TCP socket, or -1.
int connect_loopback(int port);
/// A loopback port nobody listens on (bound by the OS's choice, then closed).
int unused_loopback_port();

/// An echo server on a loopback port the OS picked, one thread per connection.
class EchoServer {
 public:
  EchoServer();
  ~EchoServer();
  int port() const { return port_; }

 private:
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::vector<std::thread> workers_;
  std::vector<int> fds_;
};

/// Round trip of `message` on a connected socket, in milliseconds; -1 on failure.
double round_trip_ms(int fd, const std::string& message);

}  // namespace achilles::injector::testing
