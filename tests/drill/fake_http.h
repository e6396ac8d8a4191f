// A fake HTTP server for the drill tests, on a loopback port the OS picked: a Prometheus
// (prometheus_test.cc), a webhook and a Grafana (notify_test.cc). Each connection gets one
// answer on a thread of its own; the requests are kept for the test to check.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace achilles::drill::testing {

using namespace std::chrono_literals;

/// An HTTP server on a loopback port the OS picked: every request gets what the handler
/// returns for it (status and body), after `delay`; the requests (head and body) are kept
/// for the test.
class FakeHttpServer {
 public:
  struct Answer {
    int status = 200;
    std::string body;
    std::chrono::milliseconds delay{0};
  };
  using Handler = std::function<Answer(const std::string& request)>;

  explicit FakeHttpServer(Handler h) : handler_(std::move(h)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 64) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("cannot listen on loopback");
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeHttpServer() {
    stop_ = true;
    thread_.join();
    for (auto& w : workers_)
      w.join();
    ::close(listen_fd_);
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void set(Handler h) {
    std::lock_guard lock(mutex_);
    handler_ = std::move(h);
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      workers_.emplace_back([this, fd] { answer(fd); });
    }
  }
  void answer(int fd) {
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) break;
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      request.append(buf, static_cast<std::size_t>(n));
    }
    // The body, as long as Content-Length says (a webhook's event, an annotation).
    if (const auto head_end = request.find("\r\n\r\n"); head_end != std::string::npos) {
      std::string head = request.substr(0, head_end);
      for (auto& c : head)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::size_t length = 0;
      if (const auto cl = head.find("content-length:"); cl != std::string::npos)
        length = std::strtoul(head.c_str() + cl + 15, nullptr, 10);
      while (request.size() < head_end + 4 + length) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 2000) <= 0) break;
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
      }
    }
    Answer a;
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
      a = handler_(request);
    }
    // A slow answer, in slices, so that the server stops promptly at the end of a test.
    for (auto waited = 0ms; waited < a.delay && !stop_; waited += 10ms)
      std::this_thread::sleep_for(10ms);
    const std::string response =
        "HTTP/1.1 " + std::to_string(a.status) +
        " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(a.body.size()) +
        "\r\nConnection: close\r\n\r\n" + a.body;
    if (!stop_) (void)!::write(fd, response.data(), response.size());
    ::close(fd);
  }

  Handler handler_;
  std::mutex mutex_;
  std::vector<std::string> requests_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> workers_;
};

}  // namespace achilles::drill::testing
