// The drill runner's HTTP client (see http_client.h).
#include "http_client.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <system_error>

#include <asio/experimental/awaitable_operators.hpp>

#include "achilles/common/text.h"
#include "achilles/drill/runner.h"

namespace achilles::drill {

using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

/// http(s)://HOST[:PORT][/PATH]; HOST may be [v6].
Url parse_url(const std::string& url) {
  Url u;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    u.tls = true;
    rest = url.substr(8);
  } else {
    rest = url.substr(7);
  }
  const auto slash = rest.find('/');
  std::string hp = rest.substr(0, slash);
  if (slash != std::string::npos) u.target = rest.substr(slash);
  u.port = u.tls ? "443" : "80";
  if (!hp.empty() && hp[0] == '[') {
    const auto close = hp.find(']');
    u.host = hp.substr(1, close - 1);
    if (close + 1 < hp.size() && hp[close + 1] == ':') u.port = hp.substr(close + 2);
  } else if (const auto colon = hp.rfind(':'); colon != std::string::npos) {
    u.host = hp.substr(0, colon);
    u.port = hp.substr(colon + 1);
  } else {
    u.host = hp;
  }
  return u;
}

/// HOST:PORT, HOST may be [v6].
std::pair<std::string, std::string> split_address(const std::string& a) {
  const auto colon = a.rfind(':');
  std::string host = a.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return {host, a.substr(colon + 1)};
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

/// Decodes a chunked body; nothing when it is malformed.
std::optional<std::string> dechunk(const std::string& in) {
  std::string out;
  std::size_t p = 0;
  while (true) {
    const auto eol = in.find("\r\n", p);
    if (eol == std::string::npos) return std::nullopt;
    // The size in hex, maybe followed by `;extensions`.
    std::size_t size = 0;
    const char* first = in.data() + p;
    const auto [end, ec] = std::from_chars(first, in.data() + eol, size, 16);
    if (ec != std::errc() || end == first || (end != in.data() + eol && *end != ';'))
      return std::nullopt;
    p = eol + 2;
    if (size == 0) return out;
    if (p + size > in.size()) return std::nullopt;
    out.append(in, p, size);
    p += size + 2;
  }
}

/// The value of header `name` (lower case) in a lower-cased head, trimmed; nothing when absent.
std::optional<std::string_view> header_value(std::string_view head, std::string_view name) {
  for (std::size_t p = head.find("\r\n"); p != std::string_view::npos;) {
    const std::size_t start = p + 2, eol = head.find("\r\n", start);
    const std::string_view line =
        head.substr(start, eol == std::string_view::npos ? std::string_view::npos : eol - start);
    if (line.size() > name.size() && line.substr(0, name.size()) == name &&
        line[name.size()] == ':')
      return common::trim(line.substr(name.size() + 1));
    p = eol;
  }
  return std::nullopt;
}

/// Whether a Transfer-Encoding value ends in the token `chunked` ("gzip, chunked" does;
/// RFC 9112 6.1: chunked is the final coding when present).
bool is_chunked(std::string_view te) {
  const auto comma = te.rfind(',');
  const std::string_view last = common::trim(comma == te.npos ? te : te.substr(comma + 1));
  return last == "chunked";
}

/// Parses a whole response read until the peer closed.
void parse_response(const std::string& raw, HttpResult& r) {
  const auto head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos || raw.size() < 12) {
    r.error = raw.empty() ? "the connection closed without a response" : "malformed response";
    return;
  }
  const auto [status_end, status_ec] = std::from_chars(raw.data() + 9, raw.data() + 12, r.status);
  if (status_ec != std::errc() || status_end != raw.data() + 12) {
    r.error = "malformed status line";
    return;
  }
  std::string head = raw.substr(0, head_end);
  std::transform(head.begin(), head.end(), head.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  r.body = raw.substr(head_end + 4);
  const auto te = header_value(head, "transfer-encoding");
  if (te && is_chunked(*te)) {
    auto body = dechunk(r.body);
    if (!body) {
      r.error = "malformed chunked body";
      return;
    }
    r.body = std::move(*body);
  } else if (auto cl = header_value(head, "content-length")) {
    const std::string_view value = *cl;
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
      r.error = "invalid Content-Length '" + std::string(value) + "'";
      return;
    }
    if (r.body.size() < n) {
      r.error = "the response body was cut short";
      return;
    }
    r.body.resize(n);
  }
}

/// The Host header's value: an IPv6 address keeps its brackets (RFC 9110 7.2).
std::string host_header(const Url& url) {
  const bool v6 = url.host.find(':') != std::string::npos;
  return (v6 ? "[" + url.host + "]" : url.host) + ":" + url.port;
}

awaitable<tcp::socket> connect(const std::string& host, const std::string& port) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto endpoints = co_await resolver.async_resolve(host, port, use_awaitable);
  tcp::socket socket(ex);
  co_await asio::async_connect(socket, endpoints, use_awaitable);
  socket.set_option(tcp::no_delay(true));
  co_return socket;
}

namespace {

constexpr std::size_t kMaxResponse = 4 << 20;

/// Reads until the peer closes; `last` is the error that ended the reading (EOF, or a TLS
/// alert such as "certificate required").
template <typename Stream>
awaitable<std::string> read_all(Stream& s, std::error_code& last) {
  std::string raw;
  char buf[16384];
  while (raw.size() < kMaxResponse) {
    std::error_code ec;
    const std::size_t n =
        co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
    raw.append(buf, n);
    last = ec;
    if (ec) break;  // EOF (or a TLS stream truncated: the response is judged as it is)
  }
  co_return raw;
}

/// Why a TLS peer ended the connection, for people: a server that wants a client certificate
/// ends the handshake (TLS 1.2) or the first read (TLS 1.3) with an alert.
std::string tls_failure(const std::error_code& ec) {
  const std::string m = ec.message();
  if (m.find("certificate required") != std::string::npos)
    return "the agent requires a client certificate (give cert_file and key_file)";
  return m;
}

/// One request on a fresh connection (`Connection: close`), the response read to the end.
awaitable<HttpResult> http_once(Url url, std::string method, std::string body,
                                std::vector<std::pair<std::string, std::string>> headers,
                                asio::ssl::context* tls) {
  HttpResult r;
  const auto start = Clock::now();
  std::string req = method + " " + url.target + " HTTP/1.1\r\nHost: " + host_header(url) +
                    "\r\nUser-Agent: achilles-drill\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers)
    req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")
    req +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  try {
    tcp::socket socket = co_await connect(url.host, url.port);
    std::string raw;
    if (url.tls) {
      if (!tls) throw std::runtime_error("https needs a TLS context");
      asio::ssl::stream<tcp::socket&> stream(socket, *tls);
      SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str());
      if (SSL_CTX_get_verify_mode(tls->native_handle()) != SSL_VERIFY_NONE)
        stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
      std::error_code ec;
      co_await stream.async_handshake(asio::ssl::stream_base::client,
                                      asio::redirect_error(use_awaitable, ec));
      if (ec) throw std::runtime_error(tls_failure(ec));
      co_await asio::async_write(stream, asio::buffer(req), use_awaitable);
      raw = co_await read_all(stream, ec);
      if (raw.empty() && ec && ec.category() == asio::error::get_ssl_category())
        throw std::runtime_error(tls_failure(ec));
    } else {
      std::error_code ec;
      co_await asio::async_write(socket, asio::buffer(req), use_awaitable);
      raw = co_await read_all(socket, ec);
    }
    parse_response(raw, r);
  } catch (const std::system_error& e) {
    r.error = e.code().message();
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  r.ms = ms_since(start);
  co_return r;
}

}  // namespace

awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(use_awaitable);
}

/// http_once bounded by `timeout_ms`.
awaitable<HttpResult> http_call(Url url, std::string method, std::string body,
                                std::vector<std::pair<std::string, std::string>> headers,
                                asio::ssl::context* tls, std::int64_t timeout_ms) {
  const auto start = Clock::now();
  auto request =
      http_once(std::move(url), std::move(method), std::move(body), std::move(headers), tls);
  auto timeout = sleep_for(std::chrono::milliseconds(timeout_ms));
  auto v = co_await (std::move(request) || std::move(timeout));
  if (v.index() == 0) co_return std::get<0>(v);
  HttpResult r;
  r.error = "timed out after " + std::to_string(timeout_ms) + " ms";
  r.ms = ms_since(start);
  co_return r;
}

std::unique_ptr<asio::ssl::context> client_tls(const AgentRef& a) {
  if (a.url.rfind("https://", 0) != 0) return nullptr;
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  std::error_code ec;
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_verify_mode(asio::ssl::verify_peer, ec);
  if (!a.ca_file.empty())
    ctx->load_verify_file(a.ca_file, ec);
  else
    ctx->set_default_verify_paths(ec);
  if (ec) throw RunError(a.ca_file + ": error: cannot load the agent's CA: " + ec.message());
  if (!a.key_file.empty()) {
    ctx->use_private_key_file(a.key_file, asio::ssl::context::pem, ec);
    if (ec) throw RunError(a.key_file + ": error: cannot load the client key: " + ec.message());
    ctx->use_certificate_chain_file(a.cert_file, ec);
    if (ec)
      throw RunError(a.cert_file + ": error: cannot load the client certificate: " + ec.message());
  }
  return ctx;
}

std::unique_ptr<asio::ssl::context> probe_tls(const ProbeSpec& p) {
  if (p.url.rfind("https://", 0) != 0) return nullptr;
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  std::error_code ec;
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  if (p.insecure_skip_verify) {
    ctx->set_verify_mode(asio::ssl::verify_none, ec);
    return ctx;
  }
  ctx->set_verify_mode(asio::ssl::verify_peer, ec);
  if (!p.ca_file.empty())
    ctx->load_verify_file(p.ca_file, ec);
  else
    ctx->set_default_verify_paths(ec);
  if (ec)
    throw RunError(p.ca_file + ": error: cannot load the CA of probe '" + p.name +
                   "': " + ec.message());
  return ctx;
}

}  // namespace achilles::drill
