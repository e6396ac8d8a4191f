// The HTTP server: one coroutine per connection, plus a watchdog that closes the socket when
// the current request's deadline passes.
#include "http_server.h"

#include <list>

namespace achilles::injector {

using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

struct Conn {
  explicit Conn(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
  tcp::socket socket;
  asio::steady_timer timer;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

std::size_t parse_length(const std::string& text, bool& ok) {
  ok = !text.empty() && text.size() <= 15 &&
       std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  return ok ? static_cast<std::size_t>(std::stoull(text)) : 0;
}

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, Handler h, ServerLimits l)
      : acceptor(io), handler(std::move(h)), limits(l) {}

  tcp::acceptor acceptor;
  Handler handler;
  ServerLimits limits;
  std::list<std::weak_ptr<Conn>> conns;
  std::size_t open = 0;

  awaitable<void> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      std::error_code ec;
      tcp::socket s = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (!acceptor.is_open()) co_return;
        // Out of descriptors or similar: back off briefly instead of spinning.
        asio::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(50));
        co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      if (open >= limits.max_connections) {
        s.close(ec);
        continue;
      }
      auto c = std::make_shared<Conn>(std::move(s));
      asio::co_spawn(acceptor.get_executor(), serve(c), asio::detached);
      asio::co_spawn(acceptor.get_executor(), watchdog(c), asio::detached);
    }
  }

  awaitable<void> watchdog(std::shared_ptr<Conn> c) {
    while (c->socket.is_open()) {
      std::error_code ec;
      c->timer.expires_at(c->deadline);
      co_await c->timer.async_wait(asio::redirect_error(use_awaitable, ec));
      if (c->deadline <= std::chrono::steady_clock::now()) c->socket.close(ec);
    }
  }

  void arm(Conn& c) {
    c.deadline = std::chrono::steady_clock::now() + limits.read_timeout;
    c.timer.cancel();
  }

  void disarm(Conn& c) {
    c.deadline = std::chrono::steady_clock::time_point::max();
    c.timer.cancel();
  }

  awaitable<void> reply(Conn& c, const HttpResponse& r, bool keep) {
    std::error_code ec;
    const std::string bytes = serialize(r, keep);
    co_await asio::async_write(c.socket, asio::buffer(bytes),
                               asio::redirect_error(use_awaitable, ec));
    if (ec) c.socket.close(ec);
  }

  awaitable<void> serve(std::shared_ptr<Conn> c) {
    auto self = shared_from_this();
    ++open;
    conns.push_back(c);
    auto it = std::prev(conns.end());
    std::string buf;
    try {
      for (;;) {
        arm(*c);
        std::error_code ec;
        const std::size_t n = co_await asio::async_read_until(
            c->socket, asio::dynamic_buffer(buf, limits.max_header_bytes), "\r\n\r\n",
            asio::redirect_error(use_awaitable, ec));
        if (ec == asio::error::not_found) {
          co_await reply(
              *c,
              HttpResponse::error(431, "the request head is larger than " +
                                           std::to_string(limits.max_header_bytes) + " bytes"),
              false);
          break;
        }
        if (ec) break;  // closed, reset, or the deadline passed
        HttpRequest req;
        std::string message;
        const int bad = parse_request_head(std::string_view(buf).substr(0, n), req, message);
        buf.erase(0, n);
        if (bad) {
          co_await reply(*c, HttpResponse::error(bad, message), false);
          break;
        }
        std::size_t length = 0;
        if (auto cl = req.header("content-length"); !cl.empty()) {
          bool ok;
          length = parse_length(cl, ok);
          if (!ok) {
            co_await reply(*c, HttpResponse::error(400, "malformed Content-Length"), false);
            break;
          }
        }
        if (length > limits.max_body_bytes) {
          co_await reply(
              *c,
              HttpResponse::error(413, "the body is larger than " +
                                           std::to_string(limits.max_body_bytes) + " bytes"),
              false);
          break;
        }
        if (buf.size() < length) {
          co_await asio::async_read(c->socket, asio::dynamic_buffer(buf),
                                    asio::transfer_exactly(length - buf.size()),
                                    asio::redirect_error(use_awaitable, ec));
          if (ec) break;
        }
        req.body = buf.substr(0, length);
        buf.erase(0, length);
        std::error_code rec;
        auto remote = c->socket.remote_endpoint(rec);
        if (!rec) req.remote = remote.address().to_string() + ":" + std::to_string(remote.port());
        disarm(*c);
        HttpResponse resp;
        try {
          resp = handler(req);
        } catch (const std::exception& e) {
          resp = HttpResponse::error(500, std::string("internal error: ") + e.what());
        }
        const bool keep = req.keep_alive();
        co_await reply(*c, resp, keep);
        if (!keep || !c->socket.is_open()) break;
      }
    } catch (const std::exception&) {
      // A failed allocation or similar: drop this connection, keep serving the others.
    }
    std::error_code ec;
    c->socket.shutdown(tcp::socket::shutdown_both, ec);
    c->socket.close(ec);
    c->timer.cancel();
    conns.erase(it);
    --open;
  }
};

HttpServer::HttpServer(asio::io_context& io, const tcp::endpoint& endpoint, Handler handler,
                       ServerLimits limits)
    : impl_(std::make_shared<Impl>(io, std::move(handler), limits)) {
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  asio::co_spawn(io, impl_->accept_loop(), asio::detached);
}

HttpServer::~HttpServer() {
  close();
}

std::uint16_t HttpServer::port() const {
  std::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void HttpServer::close() {
  std::error_code ec;
  impl_->acceptor.close(ec);
  for (auto& w : impl_->conns)
    if (auto c = w.lock()) c->socket.close(ec), c->timer.cancel();
}

}  // namespace achilles::injector
