// relay_bound: how fast any TCP relay can move one loopback stream on this machine, and what
// each process pays for it, without the agent. It pushes BYTES (1 GiB by default) from a
// sender to a sink, either directly or through a bare relay process, and reports the
// throughput and the CPU time (user + system) of the sender, the sink and the relay per GiB.
//
// The relays are the least a relay can do: one blocking connection each way, no event loop.
//   splice  splice(2) through a 1 MiB kernel pipe (what a zero-copy proxy does)
//   copy    read(2) / write(2) through a 1 MiB user-space buffer
// A relay adds a second loopback connection, and so a second send and a second receive in
// the kernel, which no relay design avoids. The CPU per GiB of the three processes together,
// against the cores the machine has, bounds what a proxy can reach on it: see bench.py and
// bench/RESULTS.md.
//
// usage: relay_bound direct|splice|copy [BYTES]
// prints one line: gbps=G sender_cpu=S sink_cpu=S relay_cpu=S (CPU in seconds per GiB)
//
// Build: g++ -std=c++20 -O2 -Wall -Wextra -Werror -o relay_bound relay_bound.cc
// (bench/agent/run.sh does it). Loopback only; every process it starts, it waits for.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kChunk = 1 << 20;
constexpr double kGiB = 1 << 30;

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// A listening socket on 127.0.0.1 at a port the kernel picks; sets `port`.
int listen_loopback(int& port) {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = loopback(0);
  if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s, 4) != 0)
    die("listen");
  socklen_t len = sizeof a;
  if (::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) die("getsockname");
  port = ntohs(a.sin_port);
  return s;
}

int connect_loopback(int port) {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_in a = loopback(port);
  if (s < 0 || ::connect(s, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) die("connect");
  return s;
}

int accept_one(int listener) {
  const int c = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (c < 0) die("accept");
  ::close(listener);
  return c;
}

void write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die("write");
    data += w;
    n -= static_cast<std::size_t>(w);
  }
}

double cpu_seconds(const rusage& r) {
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec);
}

// Reads to the end of the stream, then answers one byte so that the sender's clock stops only
// when every byte has arrived.
[[noreturn]] void run_sink(int listener) {
  const int c = accept_one(listener);
  std::vector<char> buf(kChunk);
  for (;;) {
    const ssize_t n = ::read(c, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("sink read");
    if (n == 0) break;
  }
  write_all(c, "!", 1);
  std::_Exit(0);
}

// Moves one direction from `in` to `out` until the end of the stream.
void relay_splice(int in, int out) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) die("pipe");
  // Best effort, as in the agent: without it the pipe stays at 64 KiB.
  ::fcntl(pipe_fds[1], F_SETPIPE_SZ, static_cast<int>(kChunk));
  for (;;) {
    const ssize_t n = ::splice(in, nullptr, pipe_fds[1], nullptr, kChunk, SPLICE_F_MOVE);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("splice in");
    if (n == 0) break;
    for (auto left = static_cast<std::size_t>(n); left > 0;) {
      const ssize_t w = ::splice(pipe_fds[0], nullptr, out, nullptr, left, SPLICE_F_MOVE);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) die("splice out");
      left -= static_cast<std::size_t>(w);
    }
  }
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

void relay_copy(int in, int out) {
  std::vector<char> buf(kChunk);
  for (;;) {
    const ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("relay read");
    if (n == 0) break;
    write_all(out, buf.data(), static_cast<std::size_t>(n));
  }
}

// Accepts the sender, connects to the sink, relays the stream, half-closes towards the sink,
// and passes the sink's answer back.
[[noreturn]] void run_relay(int listener, int sink_port, bool splice) {
  const int client = accept_one(listener);
  const int server = connect_loopback(sink_port);
  // As the agent does for both of its sockets.
  const int one = 1;
  ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (splice)
    relay_splice(client, server);
  else
    relay_copy(client, server);
  ::shutdown(server, SHUT_WR);
  relay_copy(server, client);
  std::_Exit(0);
}

pid_t spawn(auto&& body) {
  const pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) body();
  return pid;
}

double reap(pid_t pid) {
  int status = 0;
  rusage r{};
  if (::wait4(pid, &status, 0, &r) != pid) die("wait4");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "relay_bound: a child process failed\n");
    std::exit(1);
  }
  return cpu_seconds(r);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if ((mode != "direct" && mode != "splice" && mode != "copy") || argc > 3) {
    std::fprintf(stderr, "usage: relay_bound direct|splice|copy [BYTES]\n");
    return 2;
  }
  const std::size_t total = argc > 2 ? std::stoull(argv[2]) : std::size_t{1} << 30;

  int sink_port = 0;
  const int sink_listener = listen_loopback(sink_port);
  const pid_t sink = spawn([&] { run_sink(sink_listener); });
  ::close(sink_listener);
  int target = sink_port;
  pid_t relay = -1;
  if (mode != "direct") {
    const int relay_listener = listen_loopback(target);
    relay = spawn([&] { run_relay(relay_listener, sink_port, mode == "splice"); });
    ::close(relay_listener);
  }

  // This process is the sender: its CPU time is measured around the transfer alone.
  std::vector<char> block(kChunk, 'x');
  rusage before{}, after{};
  ::getrusage(RUSAGE_SELF, &before);
  const auto start = std::chrono::steady_clock::now();
  const int s = connect_loopback(target);
  for (std::size_t sent = 0; sent < total; sent += kChunk)
    write_all(s, block.data(), std::min(kChunk, total - sent));
  ::shutdown(s, SHUT_WR);
  char answer = 0;
  if (::read(s, &answer, 1) != 1) die("no answer from the sink");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::getrusage(RUSAGE_SELF, &after);
  ::close(s);

  const double per_gib = kGiB / static_cast<double>(total);
  const double sink_cpu = reap(sink) * per_gib;
  const double relay_cpu = relay > 0 ? reap(relay) * per_gib : 0.0;
  std::printf("gbps=%.3f sender_cpu=%.3f sink_cpu=%.3f relay_cpu=%.3f\n",
              static_cast<double>(total) / seconds / 1e9,
              (cpu_seconds(after) - cpu_seconds(before)) * per_gib, sink_cpu, relay_cpu);
  return 0;
}
