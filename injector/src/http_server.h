// An HTTP/1.1 server on standalone Asio: keep-alive, limits on head and body, a deadline per
// request against slow clients, an idle timeout between requests, and optionally TLS with
// client certificates. Private to the library: only the agent includes it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <asio.hpp>

#include "achilles/injector/http.h"

namespace achilles::injector {

struct ServerLimits {
  std::size_t max_header_bytes = 16384;
  std::size_t max_body_bytes = 1 << 20;
  /// Connections open at once. A new connection beyond it evicts the one that has waited
  /// longest on its client (idle, or sending slowly), so that a flood of idle connections
  /// cannot lock out a halt; a connection whose request is being answered is never evicted.
  std::size_t max_connections = 4096;
  /// From the connection's start (TLS handshake included) or a request's first byte to its
  /// last byte: against slow clients.
  std::chrono::milliseconds read_timeout{10000};
  /// How long a kept-alive connection may wait, silent, for its next request.
  std::chrono::milliseconds idle_timeout{60000};
};

/// PEM files for TLS; all empty: plain HTTP.
struct TlsFiles {
  /// The server's certificate chain, leaf first.
  std::string cert;
  /// The private key of `cert`.
  std::string key;
  /// CA certificates; a client must present a certificate signed by one of them.
  std::string client_ca;
  bool enabled() const { return !cert.empty(); }
};

class HttpServer {
 public:
  /// Called on the io_context's thread; must not throw (a throw is answered with 500).
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  /// What the server calls besides the handler, all optional and on the io_context's thread.
  struct Hooks {
    /// After the head, before the body is read: a response refuses the request unread (and
    /// closes the connection); nothing lets it go on. For authentication.
    std::function<std::optional<HttpResponse>(const HttpRequest&)> admit;
    /// A request the server itself refused (malformed head, body too large: `status` and the
    /// message sent) or a failed TLS handshake (`status` 0). `partial` holds what was parsed,
    /// at least the remote address.
    std::function<void(const HttpRequest& partial, int status, const std::string& message)>
        rejected;
  };

  /// Binds and starts accepting; throws std::system_error when the address cannot be bound and
  /// ConfigError when a TLS file cannot be used. With `tls` enabled it speaks TLS 1.2 or later
  /// only and refuses, during the handshake, a client without a certificate signed by
  /// `tls.client_ca`.
  HttpServer(asio::io_context& io, const asio::ip::tcp::endpoint& endpoint, Handler handler,
             ServerLimits limits, const TlsFiles& tls = {}, Hooks hooks = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Loads the TLS files as the constructor would, to fail before anything starts; throws
  /// ConfigError naming the file and the configuration key.
  static void check_tls(const TlsFiles& tls);

  /// The bound port (useful with port 0).
  std::uint16_t port() const;
  /// Stops accepting and closes every connection.
  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace achilles::injector
