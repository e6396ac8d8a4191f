// Network faults for real, in network namespaces that each test makes and deletes itself: a
// veth pair joins namespace A (the agent's host, 10.213.0.1, fd00:213::1) and namespace B (a
// peer, 10.213.0.2, fd00:213::2), each with TCP and UDP echo servers. The faults act on A;
// what matters is what the peer's clients see (and A's own). The agent runs inside A
// (`ip netns exec`); every nftables table and qdisc it makes is in A, and no packet leaves the
// two namespaces. Without root (CAP_NET_ADMIN, CAP_SYS_ADMIN for namespaces) each test says
// "skipped: needs root and CAP_NET_ADMIN".
//
// Past 500 lines and not split: the namespace pair, the echo servers and the agent in a
// namespace are this file's own fixtures, and every test here needs all of them.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <thread>

#include "achilles/injector/netfault.h"
#include "support.h"

extern char** environ;

using namespace achilles::injector::testing;
using nlohmann::json;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

constexpr const char* kSkip = "skipped: needs root and CAP_NET_ADMIN";
constexpr int kEchoPort = 7007;

// Runs a program (no shell) and returns its exit status and what it printed.
std::pair<int, std::string> run(const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {-1, "pipe"};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int err = ::posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  std::string out;
  if (err == 0) {
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
      out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  if (err != 0) return {-1, std::strerror(err)};
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Runs `f` in a thread that has entered network namespace `ns`: the sockets it makes are there.
template <class F>
auto in_netns(const std::string& ns, F f) -> decltype(f()) {
  decltype(f()) result{};
  std::exception_ptr error;
  std::thread t([&] {
    const int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
      error = std::make_exception_ptr(std::runtime_error("cannot enter netns " + ns));
      if (fd >= 0) ::close(fd);
      return;
    }
    ::close(fd);
    try {
      result = f();
    } catch (...) {
      error = std::current_exception();
    }
  });
  t.join();
  if (error) std::rethrow_exception(error);
  return result;
}

sockaddr_storage address(const std::string& ip, int port, socklen_t& len) {
  sockaddr_storage s{};
  if (ip.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&s);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&s);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, ip.c_str(), &a->sin_addr);
    len = sizeof *a;
  }
  return s;
}

// What a client saw: an answer, nothing before its timeout, or a refusal at once.
enum class Outcome { kAnswered, kTimedOut, kRefused, kOther };

const char* name_of(Outcome o) {
  switch (o) {
    case Outcome::kAnswered:
      return "answered";
    case Outcome::kTimedOut:
      return "timed out";
    case Outcome::kRefused:
      return "refused";
    case Outcome::kOther:
      return "other error";
  }
  return "?";
}

// A TCP echo across the veth: connect, send, read the echo, each within `timeout`.
Outcome tcp_echo(const std::string& ip, milliseconds timeout, int port = kEchoPort) {
  socklen_t len = 0;
  const auto to = address(ip, port, len);
  const int fd = ::socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  auto done = [&](Outcome o) {
    ::close(fd);
    return o;
  };
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), len) != 0 && errno != EINPROGRESS)
    return done(errno == ECONNREFUSED ? Outcome::kRefused : Outcome::kOther);
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) == 0) return done(Outcome::kTimedOut);
  int err = 0;
  socklen_t el = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
  if (err) return done(err == ECONNREFUSED ? Outcome::kRefused : Outcome::kOther);
  if (::send(fd, "ping", 4, MSG_NOSIGNAL) != 4) return done(Outcome::kOther);
  p = {fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) == 0) return done(Outcome::kTimedOut);
  char buf[8];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n < 0 && (errno == ECONNREFUSED || errno == ECONNRESET)) return done(Outcome::kRefused);
  return done(n == 4 ? Outcome::kAnswered : Outcome::kOther);
}

// A UDP echo across the veth: one datagram and its answer within `timeout`.
Outcome udp_echo(const std::string& ip, milliseconds timeout, int port = kEchoPort) {
  socklen_t len = 0;
  const auto to = address(ip, port, len);
  const int fd = ::socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  auto done = [&](Outcome o) {
    ::close(fd);
    return o;
  };
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), len) != 0) return done(Outcome::kOther);
  if (::send(fd, "ping", 4, 0) != 4)
    return done(errno == ECONNREFUSED || errno == EPERM ? Outcome::kRefused : Outcome::kOther);
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) == 0) return done(Outcome::kTimedOut);
  char buf[8];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n < 0) return done(errno == ECONNREFUSED ? Outcome::kRefused : Outcome::kOther);
  return done(n == 4 ? Outcome::kAnswered : Outcome::kOther);
}

// Two namespaces joined by a veth pair, deleted (with everything in them) on destruction.
class NetnsPair {
 public:
  NetnsPair() {
    static std::atomic<int> counter{0};
    const std::string tag = std::to_string(::getpid()) + "x" + std::to_string(counter++);
    a_ = "achnf" + tag + "a";
    b_ = "achnf" + tag + "b";
    if (::geteuid() != 0) return;
    if (run({"ip", "netns", "add", a_}).first != 0) return;
    made_a_ = true;
    if (run({"ip", "netns", "add", b_}).first != 0) return;
    made_b_ = true;
    // Interface names of at most 15 bytes, made inside the namespaces (never in the host's).
    veth_a_ = "nfa" + std::to_string(counter.load()) + "x" + std::to_string(::getpid() % 100000);
    veth_b_ = "nfb" + std::to_string(counter.load()) + "x" + std::to_string(::getpid() % 100000);
    // No duplicate address detection in the two namespaces: addresses (the link-local ones
    // too) are usable at once, not after a second or two.
    const std::vector<std::vector<std::string>> steps = {
        {"ip", "netns", "exec", a_, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"},
        {"ip", "netns", "exec", b_, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"},
        {"ip", "link", "add", veth_a_, "netns", a_, "type", "veth", "peer", "name", veth_b_,
         "netns", b_},
        {"ip", "-n", a_, "addr", "add", "10.213.0.1/24", "dev", veth_a_},
        {"ip", "-n", b_, "addr", "add", "10.213.0.2/24", "dev", veth_b_},
        {"ip", "-n", a_, "addr", "add", "fd00:213::1/64", "dev", veth_a_, "nodad"},
        {"ip", "-n", b_, "addr", "add", "fd00:213::2/64", "dev", veth_b_, "nodad"},
        {"ip", "-n", a_, "link", "set", "lo", "up"},
        {"ip", "-n", b_, "link", "set", "lo", "up"},
        {"ip", "-n", a_, "link", "set", veth_a_, "up"},
        {"ip", "-n", b_, "link", "set", veth_b_, "up"}};
    for (const auto& s : steps)
      if (auto [rc, out] = run(s); rc != 0) {
        WARN("netns setup failed: " + out);
        return;
      }
    ok_ = true;
  }
  ~NetnsPair() {
    if (made_a_) run({"ip", "netns", "del", a_});
    if (made_b_) run({"ip", "netns", "del", b_});
  }
  NetnsPair(const NetnsPair&) = delete;
  NetnsPair& operator=(const NetnsPair&) = delete;
  bool ok() const { return ok_; }
  const std::string& a() const { return a_; }
  const std::string& b() const { return b_; }
  const std::string& veth_a() const { return veth_a_; }
  /// `nft list tables` in A.
  std::string tables() const {
    return run({"ip", "netns", "exec", a_, "nft", "list", "tables"}).second;
  }
  /// `tc qdisc show dev VETH` in A.
  std::string qdiscs() const {
    return run({"ip", "netns", "exec", a_, "tc", "-j", "qdisc", "show", "dev", veth_a_}).second;
  }

 private:
  std::string a_, b_, veth_a_, veth_b_;
  bool made_a_ = false, made_b_ = false, ok_ = false;
};

// TCP and UDP echo servers on a port (kEchoPort unless told) in a namespace (IPv4 and IPv6), served
// by a thread of the test; they count the datagrams they receive.
class PeerEcho {
 public:
  explicit PeerEcho(const std::string& ns, int port = kEchoPort) {
    std::tie(tcp_, udp_) = in_netns(ns, [port] {
      const int t = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
      const int u = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      int zero = 0, one = 1, big = 8 << 20;
      for (int fd : {t, u})
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
      ::setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      ::setsockopt(u, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_port = htons(static_cast<uint16_t>(port));
      a.sin6_addr = in6addr_any;
      if (::bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(t, 128) != 0 ||
          ::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        throw std::runtime_error("cannot bind the peer's echo servers");
      return std::make_pair(t, u);
    });
    thread_ = std::thread([this] { serve(); });
  }
  ~PeerEcho() {
    stop_ = true;
    thread_.join();
    for (int fd : clients_)
      ::close(fd);
    ::close(tcp_);
    ::close(udp_);
  }
  std::uint64_t datagrams() const { return datagrams_; }

 private:
  void serve() {
    while (!stop_) {
      std::vector<pollfd> fds = {{tcp_, POLLIN, 0}, {udp_, POLLIN, 0}};
      for (int c : clients_)
        fds.push_back({c, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        const int c = ::accept4(tcp_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) clients_.push_back(c);
      }
      if (fds[1].revents & POLLIN) {
        char buf[2048];
        sockaddr_storage from{};
        socklen_t len = sizeof from;
        const ssize_t n =
            ::recvfrom(udp_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n >= 0) {
          ++datagrams_;
          ::sendto(udp_, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
      }
      for (std::size_t i = 2; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buf[2048];
        const ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        if (n <= 0) {
          ::close(fds[i].fd);
          std::erase(clients_, fds[i].fd);
        } else {
          ::send(fds[i].fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
        }
      }
    }
  }
  int tcp_ = -1, udp_ = -1;
  std::vector<int> clients_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> datagrams_{0};
  std::thread thread_;
};

// The agent inside namespace A, on [::] (IPv4 and IPv6) with a token (so that it is reachable over
// the veth too), with network faults allowed.
class NetnsAgent {
 public:
  NetnsAgent(const NetnsPair& pair, const TempDir& dir, std::vector<std::string> extra = {})
      : pair_(pair) {
    token_ = "netfault-test-token-0123456789";
    if (!std::filesystem::exists(dir.file("token"))) write_private_file(dir.file("token"), token_);
    std::vector<std::string> argv = {"ip",
                                     "netns",
                                     "exec",
                                     pair.a(),
                                     ACHILLES_AGENT_BINARY,
                                     "--listen",
                                     "[::]:0",
                                     "--token-file",
                                     dir.file("token"),
                                     "--state-file",
                                     dir.file("state.json"),
                                     "--audit-log",
                                     dir.file("audit.jsonl")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    child_ = std::make_unique<Child>(argv, true);
    const std::string line = child_->read_line();
    const auto colon = line.rfind(':');
    if (line.rfind("achilles-agent listening on ", 0) != 0 || colon == std::string::npos)
      throw std::runtime_error("the agent did not start: '" + line + "' " + child_->stderr_text());
    port_ = std::stoi(line.substr(colon + 1));
  }
  int port() const { return port_; }
  Child& process() { return *child_; }

  /// A request on A's loopback.
  Reply call(const std::string& method, const std::string& path, const json& body = nullptr) {
    const std::string text = body.is_null() ? "" : body.dump();
    return in_netns(pair_.a(), [&] {
      return http(port_, method, path, text, {"Authorization: Bearer " + token_});
    });
  }
  /// A request from the peer, across the veth, to `ip` (A's address).
  Reply call_from_peer(const std::string& ip, const std::string& method, const std::string& path) {
    return in_netns(pair_.b(), [&] {
      socklen_t len = 0;
      const auto to = address(ip, port_, len);
      Reply r;
      const int fd = ::socket(to.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
      timeval tv{5, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), len) == 0) {
        const std::string req = method + " " + path +
                                " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: "
                                "Bearer " +
                                token_ + "\r\nContent-Length: 0\r\n\r\n";
        ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
        std::string raw;
        char buf[4096];
        for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
          raw.append(buf, static_cast<std::size_t>(n));
        if (raw.size() > 12) r.status = std::stoi(raw.substr(9, 3));
        if (auto end = raw.find("\r\n\r\n"); end != std::string::npos) r.body = raw.substr(end + 4);
      }
      ::close(fd);
      return r;
    });
  }

 private:
  const NetnsPair& pair_;
  std::string token_;
  std::unique_ptr<Child> child_;
  int port_ = 0;
};

Outcome tcp_from(const std::string& ns, const std::string& ip, milliseconds timeout = 1000ms,
                 int port = kEchoPort) {
  return in_netns(ns, [&] { return tcp_echo(ip, timeout, port); });
}
Outcome udp_from(const std::string& ns, const std::string& ip, milliseconds timeout = 1000ms,
                 int port = kEchoPort) {
  return in_netns(ns, [&] { return udp_echo(ip, timeout, port); });
}

// A's addresses, as the peer reaches them, and B's.
const char* const kAddressesOfA[] = {"10.213.0.1", "fd00:213::1"};
const char* const kAddressesOfB[] = {"10.213.0.2", "fd00:213::2"};

// Both echoes answer both ways, over IPv4 and IPv6.
bool all_answer(const NetnsPair& pair) {
  bool all = true;
  for (int i = 0; i < 2; ++i) {
    const Outcome t = tcp_from(pair.b(), kAddressesOfA[i]),
                  u = udp_from(pair.b(), kAddressesOfA[i]);
    const Outcome ta = tcp_from(pair.a(), kAddressesOfB[i]),
                  ua = udp_from(pair.a(), kAddressesOfB[i]);
    if (t != Outcome::kAnswered || u != Outcome::kAnswered || ta != Outcome::kAnswered ||
        ua != Outcome::kAnswered) {
      UNSCOPED_INFO("to " << kAddressesOfA[i] << ": TCP " << name_of(t) << ", UDP " << name_of(u)
                          << "; to " << kAddressesOfB[i] << ": TCP " << name_of(ta) << ", UDP "
                          << name_of(ua));
      all = false;
    }
  }
  return all;
}

// Comes back (neighbour discovery may take a retransmission after a fault).
bool all_answer_again(const NetnsPair& pair) {
  return wait_until([&] { return all_answer(pair); }, 20s);
}

std::string id_of(const Reply& r) {
  return r.json().at("id").get<std::string>();
}

}  // namespace

TEST_CASE("a blackhole drops a peer's TCP and UDP echo silently until it is deleted",
          "[netfault][netns][slow]") {
  NetnsPair pair;
  if (!pair.ok()) {
    WARN(kSkip);
    return;
  }
  TempDir dir;
  PeerEcho echo(pair.a()), peer_echo(pair.b());
  NetnsAgent agent(pair, dir, {"--allow-network"});
  REQUIRE(all_answer_again(pair));
  const Reply made = agent.call("POST", "/v1/faults",
                                {{"kind", "network"},
                                 {"action", "blackhole"},
                                 {"to", {"10.213.0.2/32", "fd00:213::2/128"}},
                                 {"duration_ms", 60000}});
  REQUIRE(made.status == 201);
  CHECK(pair.tables() == "table inet " + achilles::injector::table_name(id_of(made)) + "\n");
  for (int i = 0; i < 2; ++i) {
    INFO(kAddressesOfA[i]);
    // The peer's clients hang until their own timeouts: nothing comes back, not even a
    // refusal.
    CHECK(name_of(tcp_from(pair.b(), kAddressesOfA[i], 300ms)) == std::string("timed out"));
    CHECK(name_of(udp_from(pair.b(), kAddressesOfA[i], 300ms)) == std::string("timed out"));
    // So do TCP clients on the host itself (a UDP send there fails with EPERM, which is how
    // the kernel reports a packet its own firewall dropped: docs/agent.md).
    CHECK(name_of(tcp_from(pair.a(), kAddressesOfB[i], 300ms)) == std::string("timed out"));
    CHECK(udp_from(pair.a(), kAddressesOfB[i], 300ms) != Outcome::kAnswered);
  }
  // The agent's own API still answers, on loopback and across the veth.
  CHECK(agent.call("GET", "/v1/status").status == 200);
  CHECK(agent.call_from_peer("10.213.0.1", "GET", "/v1/status").status == 200);
  const Reply deleted = agent.call("DELETE", "/v1/faults/" + id_of(made));
  CHECK(deleted.status == 200);
  CHECK(deleted.json()["state"] == "reverted");
  CHECK(pair.tables().empty());
  CHECK(all_answer_again(pair));
}

TEST_CASE("a reject makes a peer's TCP and UDP clients fail at once, and ends when it expires",
          "[netfault][netns][slow]") {
  NetnsPair pair;
  if (!pair.ok()) {
    WARN(kSkip);
    return;
  }
  TempDir dir;
  PeerEcho echo(pair.a()), peer_echo(pair.b());
  NetnsAgent agent(pair, dir, {"--allow-network"});
  REQUIRE(all_answer_again(pair));
  const Reply made = agent.call("POST", "/v1/faults",
                                {{"kind", "network"},
                                 {"action", "reject"},
                                 {"to", {"10.213.0.0/24", "fd00:213::/64"}},
                                 {"ports", {kEchoPort}},
                                 {"duration_ms", 8000}});
  REQUIRE(made.status == 201);
  for (int i = 0; i < 2; ++i) {
    INFO(kAddressesOfA[i]);
    // Refused, not timed out: the answer comes long before the 5 s a client would wait.
    CHECK(name_of(tcp_from(pair.b(), kAddressesOfA[i], 5000ms)) == std::string("refused"));
    CHECK(name_of(udp_from(pair.b(), kAddressesOfA[i], 5000ms)) == std::string("refused"));
    CHECK(name_of(tcp_from(pair.a(), kAddressesOfB[i], 5000ms)) == std::string("refused"));
  }
  // Expiry deletes the table.
  CHECK(wait_until([&] { return pair.tables().empty(); }, 20s));
  CHECK(agent.call("GET", "/v1/faults/" + id_of(made)).json()["reason"] == "expired");
  CHECK(all_answer_again(pair));
}

TEST_CASE("a loss drops the asked share of a peer's UDP packets", "[netfault][netns][slow]") {
  NetnsPair pair;
  if (!pair.ok()) {
    WARN(kSkip);
    return;
  }
  TempDir dir;
  PeerEcho echo(pair.a()), peer_echo(pair.b());
  NetnsAgent agent(pair, dir, {"--allow-network"});
  REQUIRE(all_answer_again(pair));
  // Ingress only: each of the peer's datagrams is dropped at most once, on its way in, and
  // the host's echo server counts what arrives.
  const Reply made = agent.call("POST", "/v1/faults",
                                {{"kind", "network"},
                                 {"action", "loss"},
                                 {"to", {"10.213.0.2/32"}},
                                 {"protocol", "udp"},
                                 {"direction", "ingress"},
                                 {"percent", 30},
                                 {"duration_ms", 120000}});
  REQUIRE(made.status == 201);
  const int kPackets = 10000;
  const auto before = echo.datagrams();
  in_netns(pair.b(), [&] {
    socklen_t len = 0;
    const auto to = address("10.213.0.1", kEchoPort, len);
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ::connect(fd, reinterpret_cast<const sockaddr*>(&to), len);
    // In rounds of 100, each waited for (its echoes read), so that no queue of the veth or
    // of the sockets overflows and only the fault drops packets.
    char buf[64];
    for (int i = 0; i < kPackets; i += 100) {
      const auto target = echo.datagrams() + 100;
      for (int j = 0; j < 100; ++j)
        ::send(fd, "0123456789abcdef", 16, 0);
      // Arrivals settle: nothing new for 30 ms (or all of them).
      auto last = echo.datagrams();
      auto quiet_since = steady_clock::now();
      while (echo.datagrams() < target && steady_clock::now() - quiet_since < 30ms) {
        std::this_thread::sleep_for(1ms);
        if (echo.datagrams() != last) last = echo.datagrams(), quiet_since = steady_clock::now();
      }
      while (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
      }
    }
    ::close(fd);
    return 0;
  });
  const double arrived = static_cast<double>(echo.datagrams() - before);
  // Binomial(10000, 0.7): mean 7000, standard deviation 45.8; five of them either way.
  const double sd = std::sqrt(kPackets * 0.3 * 0.7);
  INFO("arrived " << arrived << " of " << kPackets);
  CHECK(arrived > 7000 - 5 * sd);
  CHECK(arrived < 7000 + 5 * sd);
  CHECK(agent.call("DELETE", "/v1/faults/" + id_of(made)).status == 200);
  CHECK(pair.tables().empty());
}

TEST_CASE("a dns fault drops port 53 both ways and nothing else", "[netfault][netns][slow]") {
  NetnsPair pair;
  if (!pair.ok()) {
    WARN(kSkip);
    return;
  }
  TempDir dir;
  PeerEcho echo(pair.a()), peer_echo(pair.b());
  PeerEcho dns_here(pair.a(), 53), dns_peer(pair.b(), 53);
  NetnsAgent agent(pair, dir, {"--allow-network"});
  REQUIRE(all_answer_again(pair));
  REQUIRE(wait_until(
      [&] { return udp_from(pair.a(), "10.213.0.2", 1000ms, 53) == Outcome::kAnswered; }));
  const Reply made = agent.call("POST", "/v1/faults",
                                {{"kind", "network"}, {"action", "dns"}, {"duration_ms", 60000}});
  REQUIRE(made.status == 201);
  for (int i = 0; i < 2; ++i) {
    INFO(kAddressesOfB[i]);
    // Queries from the host to a resolver: dropped (a UDP send there fails with EPERM).
    CHECK(name_of(tcp_from(pair.a(), kAddressesOfB[i], 300ms, 53)) == std::string("timed out"));
    CHECK(udp_from(pair.a(), kAddressesOfB[i], 300ms, 53) != Outcome::kAnswered);
    // Queries from the peer to a DNS server on the host: dropped, silently.
    CHECK(name_of(udp_from(pair.b(), kAddressesOfA[i], 300ms, 53)) == std::string("timed out"));
    CHECK(name_of(tcp_from(pair.b(), kAddressesOfA[i], 300ms, 53)) == std::string("timed out"));
  }
  // Other ports are untouched.
  CHECK(all_answer(pair));
  CHECK(agent.call("DELETE", "/v1/faults/" + id_of(made)).status == 200);
  CHECK(pair.tables().empty());
  CHECK(wait_until(
      [&] { return udp_from(pair.a(), "10.213.0.2", 1000ms, 53) == Outcome::kAnswered; }));
}

TEST_CASE("an isolate cuts the host off while the agent's API still answers across the veth",
          "[netfault][netns][slow]") {
  NetnsPair pair;
  if (!pair.ok()) {
    WARN(kSkip);
    return;
  }
  TempDir dir;
  PeerEcho echo(pair.a()), peer_echo(pair.b());
  NetnsAgent agent(pair, dir, {"--allow-network"});
  REQUIRE(all_answer_again(pair));
  const Reply made = agent.call(
      "POST", "/v1/faults", {{"kind", "network"}, {"action", "isolate"}, {"duration_ms", 60000}});
  REQUIRE(made.status == 201);
  for (const char* ip : kAddressesOfA) {
    INFO(ip);
    CHECK(name_of(tcp_from(pair.b(), ip, 300ms)) == std::string("timed out"));
    CHECK(name_of(udp_from(pair.b(), ip, 300ms)) == std::string("timed out"));
    // The peer reaches the API, over IPv4 and IPv6 (neighbour discovery is let through).
    CHECK(agent.call_from_peer(ip, "GET", "/v1/status").status == 200);
  }
  // `except` keeps a peer reachable.
  const Reply second = agent.call("POST", "/v1/faults",
                                  {{"kind", "network"},
                                   {"action", "isolate"},
                                   {"except", {"10.213.0.2"}},
                                   {"duration_ms", 60000}});
  REQUIRE(second.status == 201);
  CHECK(agent.call("DELETE", "/v1/faults/" + id_of(made)).status == 200);
  CHECK(wait_until([&] { return tcp_from(pair.b(), "10.213.0.1") == Outcome::kAnswered; }));
  CHECK(name_of(tcp_from(pair.b(), "fd00:213::1", 300ms)) == std::string("timed out"));
  // Reverted by the peer itself, across the veth.
  CHECK(agent.call_from_peer("10.213.0.1", "DELETE", "/v1/faults/" + id_of(second)).status == 200);
  CHECK(pair.tables().empty());
  CHECK(all_answer_again(pair));
}

TEST_CASE("a halt and a SIGTERM delete every network fault's table and qdisc",
          "[netfault][netns][slow]") {
  NetnsPair pair;
  if (!pair.ok()) {
    WARN(kSkip);
    return;
  }
  TempDir dir;
  PeerEcho echo(pair.a()), peer_echo(pair.b());
  NetnsAgent agent(pair, dir, {"--allow-network"});
  const json dns = {{"kind", "network"}, {"action", "dns"}, {"duration_ms", 60000}};
  const json reject = {{"kind", "network"}, {"action", "reject"}, {"duration_ms", 60000}};
  const json bandwidth = {{"kind", "network"},
                          {"action", "bandwidth"},
                          {"interface", pair.veth_a()},
                          {"rate_kbit", 512},
                          {"duration_ms", 60000}};
  REQUIRE(agent.call("POST", "/v1/faults", dns).status == 201);
  REQUIRE(agent.call("POST", "/v1/faults", reject).status == 201);
  REQUIRE(agent.call("POST", "/v1/faults", bandwidth).status == 201);
  CHECK(pair.qdiscs().find("\"kind\":\"tbf\",\"handle\":\"ac15:\"") != std::string::npos);
  CHECK(name_of(tcp_from(pair.b(), "10.213.0.1")) == std::string("refused"));
  CHECK(agent.call("POST", "/v1/halt").status == 200);
  CHECK(pair.tables().empty());
  CHECK(pair.qdiscs().find("tbf") == std::string::npos);
  CHECK(all_answer_again(pair));

  // A lease that lapses does the same.
  CHECK(agent.call("POST", "/v1/resume").status == 200);
  REQUIRE(agent.call("POST", "/v1/faults", reject).status == 201);
  REQUIRE(agent.call("POST", "/v1/lease", {{"ttl_ms", 300}}).status == 200);
  CHECK(wait_until([&] { return pair.tables().empty(); }, 20s));
  CHECK(agent.call("GET", "/v1/status").json()["halted_by"] == "lease expired");

  CHECK(agent.call("POST", "/v1/resume").status == 200);
  REQUIRE(agent.call("POST", "/v1/faults", reject).status == 201);
  REQUIRE(agent.call("POST", "/v1/faults", bandwidth).status == 201);
  REQUIRE(!pair.tables().empty());
  ::kill(agent.process().pid(), SIGTERM);
  CHECK(agent.process().wait() == 0);
  CHECK(pair.tables().empty());
  CHECK(pair.qdiscs().find("tbf") == std::string::npos);
  CHECK(all_answer_again(pair));
}

TEST_CASE("after a SIGKILL the restarted agent deletes every table and qdisc left behind",
          "[netfault][netns][slow]") {
  NetnsPair pair;
  if (!pair.ok()) {
    WARN(kSkip);
    return;
  }
  TempDir dir;
  PeerEcho echo(pair.a()), peer_echo(pair.b());
  {
    NetnsAgent agent(pair, dir, {"--allow-network"});
    REQUIRE(agent
                .call("POST", "/v1/faults",
                      {{"kind", "network"}, {"action", "blackhole"}, {"duration_ms", 60000}})
                .status == 201);
    REQUIRE(agent
                .call("POST", "/v1/faults",
                      {{"kind", "network"},
                       {"action", "bandwidth"},
                       {"interface", pair.veth_a()},
                       {"rate_kbit", 256},
                       {"duration_ms", 60000}})
                .status == 201);
    ::kill(agent.process().pid(), SIGKILL);
    CHECK(agent.process().wait() == 128 + SIGKILL);
  }
  // Left behind, as a killed agent leaves them; and a table the state file never listed.
  CHECK(name_of(tcp_from(pair.b(), "10.213.0.1", 300ms)) == std::string("timed out"));
  REQUIRE(run({"ip", "netns", "exec", pair.a(), "nft", "add", "table", "inet", "achilles_lost"})
              .first == 0);
  REQUIRE(
      run({"ip", "netns", "exec", pair.a(), "nft", "add", "table", "inet", "hosts_own"}).first ==
      0);
  // An achilles_ table of another family is not the agent's (it makes inet tables only).
  REQUIRE(run({"ip", "netns", "exec", pair.a(), "nft", "add", "table", "ip", "achilles_foreign"})
              .first == 0);
  // Restarted without network faults allowed: what is left is deleted all the same.
  NetnsAgent again(pair, dir);
  const std::string tables = pair.tables();
  CHECK(tables.find("table inet hosts_own\n") != std::string::npos);
  CHECK(tables.find("table ip achilles_foreign\n") != std::string::npos);
  CHECK(tables.find("inet achilles_") == std::string::npos);
  CHECK(pair.qdiscs().find("tbf") == std::string::npos);
  CHECK(all_answer_again(pair));
}

TEST_CASE("without a state file the restarted agent still deletes the table a SIGKILL left",
          "[netfault][netns][slow]") {
  NetnsPair pair;
  if (!pair.ok()) {
    WARN(kSkip);
    return;
  }
  TempDir dir;
  PeerEcho echo(pair.a()), peer_echo(pair.b());
  {
    NetnsAgent agent(pair, dir, {"--allow-network", "--state-file", ""});
    REQUIRE(agent
                .call("POST", "/v1/faults",
                      {{"kind", "network"}, {"action", "blackhole"}, {"duration_ms", 60000}})
                .status == 201);
    REQUIRE(!pair.tables().empty());
    ::kill(agent.process().pid(), SIGKILL);
    CHECK(agent.process().wait() == 128 + SIGKILL);
  }
  CHECK(!std::filesystem::exists(dir.file("state.json")));
  REQUIRE(!pair.tables().empty());
  NetnsAgent again(pair, dir, {"--state-file", ""});
  CHECK(pair.tables().empty());
  CHECK(all_answer_again(pair));
}

TEST_CASE("one agent owns a network namespace's faults: a second one never deletes them",
          "[netfault][netns][slow]") {
  NetnsPair pair;
  if (!pair.ok()) {
    WARN(kSkip);
    return;
  }
  TempDir dir, refused, plain, after;
  PeerEcho echo(pair.a()), peer_echo(pair.b());
  auto first = std::make_unique<NetnsAgent>(pair, dir, std::vector<std::string>{"--allow-network"});
  REQUIRE(first
              ->call("POST", "/v1/faults",
                     {{"kind", "network"}, {"action", "blackhole"}, {"duration_ms", 60000}})
              .status == 201);
  const std::string tables = pair.tables();
  REQUIRE(!tables.empty());
  // A second agent that may make network faults does not start: its start-up sweep would
  // delete the first one's live table (before, it started and did; `timeout` ends it then).
  const auto [code, out] =
      run({"timeout", "10", "ip", "netns", "exec", pair.a(), ACHILLES_AGENT_BINARY, "--listen",
           "127.0.0.1:0", "--insecure-loopback", "--state-file", refused.file("state.json"),
           "--audit-log", refused.file("audit.jsonl"), "--allow-network"});
  CHECK(code == 2);
  CHECK(out.find("another process owns this network namespace's network faults "
                 "(@achilles-agent/network-faults is held by pid " +
                 std::to_string(first->process().pid()) + " (achilles-agent)): a second agent") !=
        std::string::npos);
  CHECK(pair.tables() == tables);
  // One that may not make them starts, and leaves the table alone (it used to delete it).
  NetnsAgent second(pair, plain);
  CHECK(pair.tables() == tables);
  CHECK(tcp_from(pair.b(), kAddressesOfA[0], 500ms) == Outcome::kTimedOut);
  // The owner's death frees the namespace, however it dies: the next agent takes it and
  // deletes what the SIGKILL left.
  ::kill(first->process().pid(), SIGKILL);
  CHECK(first->process().wait() == 128 + SIGKILL);
  first.reset();
  REQUIRE(pair.tables() == tables);
  NetnsAgent next(pair, after, {"--allow-network"});
  CHECK(pair.tables().empty());
  CHECK(all_answer_again(pair));
}

TEST_CASE("bandwidth replaces only a default root qdisc, and delay without sch_netem is a 422",
          "[netfault][netns][slow]") {
  NetnsPair pair;
  if (!pair.ok()) {
    WARN(kSkip);
    return;
  }
  TempDir dir;
  NetnsAgent agent(pair, dir, {"--allow-network"});
  // A root qdisc of the host's own is never replaced.
  REQUIRE(run({"ip", "netns", "exec", pair.a(), "tc", "qdisc", "add", "dev", pair.veth_a(), "root",
               "handle", "1:", "pfifo"})
              .first == 0);
  const json bandwidth = {{"kind", "network"},
                          {"action", "bandwidth"},
                          {"interface", pair.veth_a()},
                          {"rate_kbit", 512},
                          {"duration_ms", 60000}};
  Reply r = agent.call("POST", "/v1/faults", bandwidth);
  CHECK(r.status == 409);
  CHECK(r.json()["error"] == "interface '" + pair.veth_a() +
                                 "' has a root qdisc of the host's own (pfifo, handle 1:): a "
                                 "network bandwidth fault would replace it, and the agent "
                                 "replaces nothing of the host's");
  CHECK(pair.qdiscs().find("\"kind\":\"pfifo\",\"handle\":\"1:\"") != std::string::npos);
  REQUIRE(run({"ip", "netns", "exec", pair.a(), "tc", "qdisc", "del", "dev", pair.veth_a(), "root"})
              .first == 0);
  r = agent.call("POST", "/v1/faults", bandwidth);
  REQUIRE(r.status == 201);
  CHECK(pair.qdiscs().find("\"kind\":\"tbf\",\"handle\":\"ac15:\"") != std::string::npos);
  // One per interface.
  const json delay = {{"kind", "network"},
                      {"action", "delay"},
                      {"interface", pair.veth_a()},
                      {"delay_ms", 100},
                      {"duration_ms", 60000}};
  CHECK(agent.call("POST", "/v1/faults", delay).status == 409);
  CHECK(agent.call("DELETE", "/v1/faults/" + id_of(r)).status == 200);
  CHECK(pair.qdiscs().find("tbf") == std::string::npos);
  CHECK(agent
            .call("POST", "/v1/faults",
                  {{"kind", "network"},
                   {"action", "bandwidth"},
                   {"interface", "nosuch0"},
                   {"rate_kbit", 512},
                   {"duration_ms", 1000}})
            .json()["error"] == "no interface 'nosuch0' on this host");
  // delay: netem where the kernel has it, else a 422 that names sch_netem.
  const bool has_netem = run({"ip", "netns", "exec", pair.b(), "tc", "qdisc", "add", "dev", "lo",
                              "root", "netem", "delay", "1ms"})
                             .first == 0;
  r = agent.call("POST", "/v1/faults", delay);
  if (has_netem) {
    CHECK(r.status == 201);
    CHECK(pair.qdiscs().find("\"kind\":\"netem\",\"handle\":\"ac15:\"") != std::string::npos);
  } else {
    CHECK(r.status == 422);
    CHECK(r.json()["error"] ==
          "the kernel has no sch_netem (the netem qdisc), which a network delay fault needs: "
          "load it (modprobe sch_netem) or use a kernel that has it");
    CHECK(pair.qdiscs().find("ac15:") == std::string::npos);
  }
}

TEST_CASE("achilles-agent --check lists the network actions the host supports and changes nothing",
          "[netfault][netns][slow]") {
  NetnsPair pair;
  if (!pair.ok()) {
    WARN(kSkip);
    return;
  }
  const auto [rc, out] = run({"ip", "netns", "exec", pair.a(), ACHILLES_AGENT_BINARY, "--check"});
  CHECK(rc == 0);
  CHECK(out.find("  nftables: usable (nf_tables with reject and numgen) -> blackhole, reject, "
                 "loss, dns, isolate\n") != std::string::npos);
  const bool has_netem = run({"ip", "netns", "exec", pair.b(), "tc", "qdisc", "add", "dev", "lo",
                              "root", "netem", "delay", "1ms"})
                             .first == 0;
  CHECK(out.find(has_netem ? "  netem: usable (sch_netem) -> delay\n"
                           : "  netem: not usable (the kernel has no sch_netem) -> delay\n") !=
        std::string::npos);
  CHECK(out.find("supported actions: blackhole reject loss dns isolate bandwidth") !=
        std::string::npos);
  CHECK(pair.tables().empty());
}
