// The HTTP server: one coroutine per connection, plus a watchdog that closes the socket when
// the current deadline passes (the request's, or the idle wait's between requests). With TLS,
// the same session runs over an asio::ssl::stream layered on the connection's socket. The
// head is read and admitted (authenticated) before any of the body is; at the connection
// limit, the connection that has waited longest on its client makes room for a new one.
#include "http_server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <list>
#include <optional>

#include <asio/ssl.hpp>

#include "achilles/injector/config.h"

namespace achilles::injector {

using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

using TlsStream = asio::ssl::stream<tcp::socket&>;

struct Conn {
  explicit Conn(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
  tcp::socket socket;
  asio::steady_timer timer;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  /// The TLS layer over `socket`, when the server speaks TLS.
  std::optional<TlsStream> tls;
  /// "ADDRESS:PORT" of the peer.
  std::string remote;
  /// The subject of the client's certificate (TLS only).
  std::string subject;
  /// Whether the connection waits on its client (for a request, or the rest of one), and
  /// since when: such a connection may be evicted to make room.
  bool waiting = true;
  std::chrono::steady_clock::time_point waiting_since = std::chrono::steady_clock::now();
  bool evicted = false;
};

// The subject of the peer's certificate in RFC 2253 form, or "".
std::string peer_subject(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return "";
  std::string out;
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
      char* data = nullptr;
      const long n = BIO_get_mem_data(bio, &data);
      if (n > 0) out.assign(data, static_cast<std::size_t>(n));
    }
    BIO_free(bio);
  }
  X509_free(cert);
  return out;
}

// TLS 1.2 or later, the server's certificate and key, and a client certificate required and
// verified against `client_ca`. Every failure names the file and the configuration key.
std::unique_ptr<asio::ssl::context> make_tls_context(const TlsFiles& files) {
  using asio::ssl::context;
  auto ctx = std::make_unique<context>(context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  auto fail = [](const std::string& file, const std::string& what, const std::error_code& ec) {
    throw ConfigError(file + ": error: " + what + (ec ? ": " + ec.message() : std::string()));
  };
  std::error_code ec;
  ctx->set_options(context::default_workarounds | context::no_sslv2 | context::no_sslv3 |
                       context::no_tlsv1 | context::no_tlsv1_1 | context::single_dh_use,
                   ec);
  if (ec || SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1)
    fail(files.cert, "cannot restrict TLS to version 1.2 or later", ec);
  // The key first: a certificate that does not match it then shows in the check below.
  ctx->use_private_key_file(files.key, context::pem, ec);
  if (ec) fail(files.key, "cannot load the TLS key (tls.key)", ec);
  ctx->use_certificate_chain_file(files.cert, ec);
  if (ec) fail(files.cert, "cannot load the TLS certificate (tls.cert)", ec);
  if (SSL_CTX_check_private_key(native) != 1)
    fail(files.key, "the TLS key does not match the certificate " + files.cert, {});
  ctx->load_verify_file(files.client_ca, ec);
  if (ec) fail(files.client_ca, "cannot load the client CA certificates (tls.client_ca)", ec);
  // Tell clients which CAs are accepted, so that one holding several certificates picks right.
  if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca.c_str()))
    SSL_CTX_set_client_CA_list(native, names);
  ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert, ec);
  if (ec) fail(files.client_ca, "cannot require client certificates", ec);
  // Needed for session resumption when client certificates are verified.
  static const unsigned char kSessionContext[] = "achilles-agent";
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);
  return ctx;
}

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, Handler h, ServerLimits l, Hooks k)
      : acceptor(io), handler(std::move(h)), limits(l), hooks(std::move(k)) {}

  tcp::acceptor acceptor;
  Handler handler;
  ServerLimits limits;
  Hooks hooks;
  /// Set when the server speaks TLS.
  std::unique_ptr<asio::ssl::context> tls;
  std::list<std::weak_ptr<Conn>> conns;
  std::size_t open = 0;

  awaitable<void> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      std::error_code ec;
      tcp::socket s = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (!acceptor.is_open()) co_return;
        // Out of descriptors or similar: free one, and back off briefly instead of spinning.
        evict_one();
        asio::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(50));
        co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      if (open >= limits.max_connections && !evict_one()) {
        s.close(ec);
        continue;
      }
      auto c = std::make_shared<Conn>(std::move(s));
      asio::co_spawn(acceptor.get_executor(), serve(c), asio::detached);
      asio::co_spawn(acceptor.get_executor(), watchdog(c), asio::detached);
    }
  }

  // Closes the connection that has waited longest on its client; false when every connection
  // is being answered. Connections being evicted already count as room made.
  bool evict_one() {
    std::shared_ptr<Conn> oldest;
    std::size_t evicting = 0;
    for (auto& w : conns) {
      auto c = w.lock();
      if (!c) continue;
      if (c->evicted)
        ++evicting;
      else if (c->waiting && (!oldest || c->waiting_since < oldest->waiting_since))
        oldest = c;
    }
    if (open - evicting < limits.max_connections) return true;
    if (!oldest) return false;
    std::error_code ec;
    oldest->evicted = true;
    oldest->socket.close(ec);
    oldest->timer.cancel();
    return true;
  }

  awaitable<void> watchdog(std::shared_ptr<Conn> c) {
    while (c->socket.is_open()) {
      std::error_code ec;
      c->timer.expires_at(c->deadline);
      co_await c->timer.async_wait(asio::redirect_error(use_awaitable, ec));
      if (c->deadline <= std::chrono::steady_clock::now()) c->socket.close(ec);
    }
  }

  void arm(Conn& c, std::chrono::milliseconds timeout) {
    c.deadline = std::chrono::steady_clock::now() + timeout;
    c.timer.cancel();
  }

  void disarm(Conn& c) {
    c.deadline = std::chrono::steady_clock::time_point::max();
    c.timer.cancel();
  }

  template <class Stream>
  awaitable<void> reply(Conn& c, Stream& stream, const HttpResponse& r, bool keep) {
    std::error_code ec;
    const std::string bytes = serialize(r, keep);
    co_await asio::async_write(stream, asio::buffer(bytes),
                               asio::redirect_error(use_awaitable, ec));
    if (ec) c.socket.close(ec);
  }

  awaitable<void> serve(std::shared_ptr<Conn> c) {
    auto self = shared_from_this();
    ++open;
    conns.push_back(c);
    auto it = std::prev(conns.end());
    try {
      std::error_code rec;
      auto remote = c->socket.remote_endpoint(rec);
      if (!rec) c->remote = remote.address().to_string() + ":" + std::to_string(remote.port());
      if (tls) {
        // The handshake counts against the read timeout, as a request would.
        c->tls.emplace(c->socket, *tls);
        arm(*c, limits.read_timeout);
        std::error_code ec;
        co_await c->tls->async_handshake(asio::ssl::stream_base::server,
                                         asio::redirect_error(use_awaitable, ec));
        if (ec) {
          HttpRequest partial;
          partial.remote = c->remote;
          std::string why = ec.message();
          if (ec.category() == asio::error::get_ssl_category()) {
            char text[256];
            ERR_error_string_n(static_cast<unsigned long>(ec.value()), text, sizeof text);
            why = text;
          }
          if (hooks.rejected) hooks.rejected(partial, 0, "TLS handshake failed: " + why);
        } else {
          c->subject = peer_subject(c->tls->native_handle());
          co_await session(*c, *c->tls);
        }
      } else {
        co_await session(*c, c->socket);
      }
    } catch (const std::exception&) {
      // A failed allocation or similar: drop this connection, keep serving the others.
    }
    // No TLS close_notify: every response carries its length, so a cut cannot truncate one
    // unnoticed, and waiting for the client's close_notify would hold the connection.
    std::error_code ec;
    c->socket.shutdown(tcp::socket::shutdown_both, ec);
    c->socket.close(ec);
    c->timer.cancel();
    conns.erase(it);
    --open;
  }

  template <class Stream>
  awaitable<void> refuse(Conn& c, Stream& stream, const HttpRequest& partial, int status,
                         const std::string& message) {
    if (hooks.rejected) hooks.rejected(partial, status, message);
    co_await reply(c, stream, HttpResponse::error(status, message), false);
  }

  template <class Stream>
  awaitable<void> session(Conn& c, Stream& stream) {
    std::string buf;
    for (bool first = true;; first = false) {
      std::error_code ec;
      c.waiting = true;
      c.waiting_since = std::chrono::steady_clock::now();
      if (!first && buf.empty()) {
        // Between requests a kept-alive client may stay silent for the idle timeout; the
        // read timeout starts with the next request's first byte.
        arm(c, limits.idle_timeout);
        char head[4096];
        const std::size_t got = co_await stream.async_read_some(
            asio::buffer(head), asio::redirect_error(use_awaitable, ec));
        if (ec) break;
        buf.append(head, got);
      }
      arm(c, limits.read_timeout);
      HttpRequest req;
      req.remote = c.remote;
      req.client_subject = c.subject;
      std::size_t n = 0;
      for (std::size_t scanned = 0;
           (n = request_head_end(buf, scanned)) == 0 && buf.size() <= limits.max_header_bytes;) {
        scanned = buf.size();
        char chunk[4096];
        const std::size_t got = co_await stream.async_read_some(
            asio::buffer(chunk), asio::redirect_error(use_awaitable, ec));
        if (ec) break;  // closed, reset, or the deadline passed
        buf.append(chunk, got);
      }
      if (ec) break;
      if (n == 0 || n > limits.max_header_bytes) {
        co_await refuse(c, stream, req, 431,
                        "the request head is larger than " +
                            std::to_string(limits.max_header_bytes) + " bytes");
        break;
      }
      std::string message;
      const int bad = parse_request_head(std::string_view(buf).substr(0, n), req, message);
      buf.erase(0, n);
      if (bad) {
        co_await refuse(c, stream, req, bad, message);
        break;
      }
      // Authentication on the head alone: a client without the token sends no body we read.
      if (hooks.admit) {
        if (auto refusal = hooks.admit(req)) {
          c.waiting = false;
          co_await reply(c, stream, *refusal, false);
          break;
        }
      }
      const std::size_t length = req.content_length;
      if (length > limits.max_body_bytes) {
        co_await refuse(
            c, stream, req, 413,
            "the body is larger than " + std::to_string(limits.max_body_bytes) + " bytes");
        break;
      }
      if (buf.size() < length) {
        co_await asio::async_read(stream, asio::dynamic_buffer(buf),
                                  asio::transfer_exactly(length - buf.size()),
                                  asio::redirect_error(use_awaitable, ec));
        if (ec) break;
      }
      req.body = buf.substr(0, length);
      buf.erase(0, length);
      c.waiting = false;
      disarm(c);
      HttpResponse resp;
      try {
        resp = handler(req);
      } catch (const std::exception& e) {
        resp = HttpResponse::error(500, std::string("internal error: ") + e.what());
      }
      const bool keep = req.keep_alive();
      co_await reply(c, stream, resp, keep);
      if (!keep || !c.socket.is_open()) break;
    }
  }
};

HttpServer::HttpServer(asio::io_context& io, const tcp::endpoint& endpoint, Handler handler,
                       ServerLimits limits, const TlsFiles& tls, Hooks hooks)
    : impl_(std::make_shared<Impl>(io, std::move(handler), limits, std::move(hooks))) {
  if (tls.enabled()) impl_->tls = make_tls_context(tls);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  asio::co_spawn(io, impl_->accept_loop(), asio::detached);
}

void HttpServer::check_tls(const TlsFiles& tls) {
  if (tls.enabled()) make_tls_context(tls);
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
