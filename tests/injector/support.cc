#include "support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "achilles/injector/os.h"

namespace achilles::injector::testing {

using namespace std::chrono;

bool wait_until(const std::function<bool()>& done, milliseconds timeout) {
  const auto end = steady_clock::now() + timeout;
  while (steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return done();
}

Child::Child(const std::vector<std::string>& argv, bool capture) {
  int out[2] = {-1, -1}, err[2] = {-1, -1};
  if (capture && (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0))
    throw std::runtime_error("pipe failed");
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    if (capture) {
      dup2(out[1], 1);
      dup2(err[1], 2);
    }
    execvp(args[0], args.data());
    _exit(127);
  }
  if (capture) {
    close(out[1]);
    close(err[1]);
    out_ = out[0];
    err_ = err[0];
    fcntl(err_, F_SETFL, O_NONBLOCK);
  }
}

Child::~Child() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::kill(pid_, SIGCONT);
    waitpid(pid_, nullptr, 0);
  }
  if (out_ >= 0) close(out_);
  if (err_ >= 0) close(err_);
}

std::string Child::read_line(milliseconds timeout) {
  const auto end = steady_clock::now() + timeout;
  for (;;) {
    if (auto nl = buffered_.find('\n'); nl != std::string::npos) {
      std::string line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return line;
    }
    const auto left = duration_cast<milliseconds>(end - steady_clock::now()).count();
    if (left <= 0 || out_ < 0) return "";
    pollfd p{out_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) return "";
    char buf[4096];
    ssize_t n = ::read(out_, buf, sizeof buf);
    if (n <= 0) return "";
    buffered_.append(buf, static_cast<size_t>(n));
  }
}

std::string Child::stderr_text() {
  std::string out;
  if (err_ < 0) return out;
  char buf[4096];
  for (ssize_t n; (n = ::read(err_, buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<size_t>(n));
  return out;
}

int Child::wait(milliseconds timeout) {
  if (reaped_) return status_;
  int st = 0;
  const bool done = wait_until(
      [&] {
        pid_t r = waitpid(pid_, &st, WNOHANG);
        return r == pid_;
      },
      timeout);
  if (!done) return -1;
  reaped_ = true;
  status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return status_;
}

bool Child::running() {
  if (reaped_) return false;
  int st = 0;
  if (waitpid(pid_, &st, WNOHANG) == pid_) {
    reaped_ = true;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return true;
}

char proc_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto p = parse_proc_stat(text);
  return p ? p->state : 0;
}

std::string unique_sleep_arg(int seconds) {
  static std::atomic<int> n{0};
  char text[64];
  std::snprintf(text, sizeof text, "%d.%07d%05d", seconds, static_cast<int>(::getpid()),
                ++n % 100000);
  return text;
}

std::string proc_name(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto p = parse_proc_stat(text);
  return p ? p->name : "";
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/achilles-agent-test-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Agent::Agent(const TempDir& dir, std::vector<std::string> args) {
  std::vector<std::string> argv = {
      ACHILLES_AGENT_BINARY,  "--listen",    "127.0.0.1:0",          "--state-file",
      dir.file("state.json"), "--audit-log", dir.file("audit.jsonl")};
  argv.insert(argv.end(), args.begin(), args.end());
  child_ = std::make_unique<Child>(argv, true);
  const std::string line = child_->read_line();
  const auto colon = line.rfind(':');
  if (line.rfind("achilles-agent listening on ", 0) != 0 || colon == std::string::npos)
    throw std::runtime_error("the agent did not start: '" + line + "' " + child_->stderr_text());
  port_ = std::stoi(line.substr(colon + 1));
}

void write_private_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::fchmod(fd, 0600) != 0 ||
      ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw std::runtime_error("cannot write " + path);
  ::close(fd);
}

int unused_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

std::string raw_exchange(int port, const std::string& bytes, milliseconds timeout) {
  int fd = connect_loopback(port);
  if (fd < 0) return "";
  ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string out;
  const auto end = steady_clock::now() + timeout;
  for (;;) {
    const auto left = duration_cast<milliseconds>(end - steady_clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) break;
    char buf[8192];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

Reply http(int port, const std::string& method, const std::string& path, const std::string& body,
           const std::vector<std::string>& headers) {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& h : headers)
    req += h + "\r\n";
  if (!body.empty() || method == "POST" || method == "PATCH")
    req +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  const std::string raw = raw_exchange(port, req);
  Reply r;
  const auto end = raw.find("\r\n\r\n");
  if (raw.size() < 12 || end == std::string::npos) return r;
  r.status = std::stoi(raw.substr(9, 3));
  r.head = raw.substr(0, end);
  r.body = raw.substr(end + 4);
  return r;
}

EchoServer::EchoServer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      listen(listen_fd_, 1024) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("echo server: cannot listen");
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;  // closed by the destructor (shutdown)
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      fds_.push_back(fd);
      workers_.emplace_back([fd] {
        char buf[16384];
        for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
          if (::send(fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL) < 0) break;
        ::shutdown(fd, SHUT_WR);
      });
    }
  });
}

EchoServer::~EchoServer() {
  ::shutdown(listen_fd_, SHUT_RDWR);
  thread_.join();
  for (int fd : fds_)
    ::shutdown(fd, SHUT_RDWR);
  for (auto& w : workers_)
    w.join();
  for (int fd : fds_)
    close(fd);
  close(listen_fd_);
}

double round_trip_ms(int fd, const std::string& message) {
  const auto start = steady_clock::now();
  if (::send(fd, message.data(), message.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(message.size()))
    return -1;
  std::string got;
  while (got.size() < message.size()) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) return -1;
    char buf[16384];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return -1;
    got.append(buf, static_cast<size_t>(n));
  }
  return duration<double, std::milli>(steady_clock::now() - start).count();
}

}  // namespace achilles::injector::testing
