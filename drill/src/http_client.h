// The drill runner's HTTP client: one request per connection (`Connection: close`), plain or
// over TLS, bounded by a timeout, on the runner's Asio loop. The runner uses it for the
// agents' API and the HTTP probes. Private to the drill library.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <asio.hpp>
#include <asio/ssl.hpp>

#include "achilles/drill/plan.h"

namespace achilles::drill {

using Clock = std::chrono::steady_clock;

struct Url {
  bool tls = false;
  std::string host, port, target = "/";
};

/// http(s)://HOST[:PORT][/PATH]; HOST may be [v6].
Url parse_url(const std::string& url);

/// HOST:PORT, HOST may be [v6].
std::pair<std::string, std::string> split_address(const std::string& a);

struct HttpResult {
  /// Empty when a response came; else what went wrong (refused, timed out, ...).
  std::string error;
  int status = 0;
  std::string body;
  double ms = 0;
};

/// Milliseconds from `t` to now.
double ms_since(Clock::time_point t);

/// Decodes a chunked body; nothing when it is malformed.
std::optional<std::string> dechunk(const std::string& in);

/// The value of header `name` (lower case) in a lower-cased response head, trimmed.
std::optional<std::string_view> header_value(std::string_view head, std::string_view name);

/// The Host header's value for `url`: HOST:PORT, an IPv6 host in brackets.
std::string host_header(const Url& url);

/// Parses a whole response read until the peer closed.
void parse_response(const std::string& raw, HttpResult& r);

/// A TCP connection to HOST:PORT (resolved), with Nagle off.
asio::awaitable<asio::ip::tcp::socket> connect(const std::string& host, const std::string& port);

/// A timer on the current executor.
asio::awaitable<void> sleep_for(std::chrono::milliseconds d);

/// One request on a fresh connection, the response read to the end, bounded by `timeout_ms`.
/// Never throws for a network failure: HttpResult::error says what went wrong.
asio::awaitable<HttpResult> http_call(Url url, std::string method, std::string body,
                                      std::vector<std::pair<std::string, std::string>> headers,
                                      asio::ssl::context* tls, std::int64_t timeout_ms);

/// The TLS client context for an https agent (its CA, its client certificate), or nullptr for
/// http. Throws RunError when a file cannot be loaded.
std::unique_ptr<asio::ssl::context> client_tls(const AgentRef& a);

/// The TLS client context of an https probe: its `ca_file`, the system's CAs, or no
/// verification (insecure_skip_verify); nullptr for http. Throws RunError when the CA file
/// cannot be loaded.
std::unique_ptr<asio::ssl::context> probe_tls(const ProbeSpec& p);

}  // namespace achilles::drill
