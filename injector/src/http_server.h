// An HTTP/1.1 server on standalone Asio: keep-alive, limits on head and body, a deadline per
// request against slow clients. Private to the library: only the agent includes it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include <asio.hpp>

#include "achilles/injector/http.h"

namespace achilles::injector {

struct ServerLimits {
  std::size_t max_header_bytes = 16384;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_connections = 4096;
  /// From the first byte of a request (or the end of the previous one) to its last byte.
  std::chrono::milliseconds read_timeout{10000};
};

class HttpServer {
 public:
  /// Called on the io_context's thread; must not throw (a throw is answered with 500).
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  /// Binds and starts accepting; throws std::system_error when the address cannot be bound.
  HttpServer(asio::io_context& io, const asio::ip::tcp::endpoint& endpoint, Handler handler,
             ServerLimits limits);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// The bound port (useful with port 0).
  std::uint16_t port() const;
  /// Stops accepting and closes every connection.
  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace achilles::injector
