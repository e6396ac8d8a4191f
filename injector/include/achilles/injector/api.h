// The agent's HTTP API as a function from request to response: authentication, the /v1
// fault routes, Toxiproxy's routes at the root, the audit log. No socket here.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "achilles/injector/engine.h"
#include "achilles/injector/http.h"
#include "achilles/injector/metrics.h"
#include "achilles/injector/proxy.h"

namespace achilles::injector {

/// Appends one JSON line per entry. "-" writes to stderr; an empty path writes nothing. The
/// file is created with mode 0600; with `max_bytes` set, a line that would take it past that
/// size first renames it to FILE.1 (replacing an older FILE.1) and starts a new FILE.
class AuditLog {
 public:
  /// Opens (creating) the file for appending; throws std::runtime_error when it cannot.
  explicit AuditLog(const std::string& path, std::uint64_t max_bytes = 0);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;
  /// Whether the whole line reached the file; when not, error() says why.
  bool write(const nlohmann::json& entry);
  /// Why the last write failed.
  const std::string& error() const { return error_; }

 private:
  void open();
  std::string path_;
  std::uint64_t max_bytes_ = 0;
  std::uint64_t size_ = 0;
  int fd_ = -1;
  bool owned_ = false;
  /// The last write was cut short: its line has no end.
  bool broken_line_ = false;
  std::string error_;
};

struct ApiOptions {
  /// The bearer token; ignored when require_token is false.
  std::string token;
  bool require_token = true;
  std::string version = "0.1.0";
  /// Where requests and refused fault bodies are counted, and what GET /metrics shows; null:
  /// /metrics answers 404.
  Metrics* metrics = nullptr;
};

class Api {
 public:
  /// `proxies` may be null: the Toxiproxy routes then answer 404.
  Api(FaultEngine& engine, ProxyManager* proxies, AuditLog& audit, const Clock& clock,
      ApiOptions options);

  /// Never throws: every failure becomes an error response. Records the request in the
  /// audit log; refuses (503) what would change the host when the log cannot be written.
  HttpResponse handle(const HttpRequest& request) noexcept;

  /// On the request head alone, before its body is read: the refusal (401 without the token,
  /// 403 for a browser), recorded in the audit log, or nothing when the request may go on.
  std::optional<HttpResponse> admit(const HttpRequest& head) noexcept;

  /// Records a request or connection that the server refused before it reached the API (a
  /// malformed head, a body too large, a failed TLS handshake when `status` is 0).
  void rejected(const HttpRequest& partial, int status, const std::string& message) noexcept;

 private:
  HttpResponse route(const HttpRequest& request);
  HttpResponse route_v1(const HttpRequest& request, const std::vector<std::string>& parts);
  HttpResponse route_toxiproxy(const HttpRequest& request, const std::vector<std::string>& parts);
  /// GET /metrics: the counters, and the gauges read from the engine and the proxies now.
  HttpResponse metrics() const;
  void count_request(int status) noexcept;
  bool authorized(const HttpRequest& request) const;
  nlohmann::json entry(const HttpRequest& request) const;

  FaultEngine& engine_;
  ProxyManager* proxies_;
  AuditLog& audit_;
  const Clock& clock_;
  ApiOptions options_;
  std::chrono::steady_clock::time_point started_;
};

/// Who sent a request, for the audit log: "cert SUBJECT" for a TLS client certificate,
/// "token sha256:XXXXXXXX" (the first 8 hex digits of the SHA-256 of the bearer token sent),
/// both when both were sent, "anonymous" when neither.
std::string requester(const HttpRequest& request);

/// Constant-time comparison of two secrets (of any lengths), through their SHA-256 digests.
bool secrets_equal(const std::string& a, const std::string& b);

}  // namespace achilles::injector
