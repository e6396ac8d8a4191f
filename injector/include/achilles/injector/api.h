// The agent's HTTP API as a function from request to response: authentication, the /v1
// fault routes, Toxiproxy's routes at the root, the audit log. No socket here.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "achilles/injector/engine.h"
#include "achilles/injector/http.h"
#include "achilles/injector/proxy.h"

namespace achilles::injector {

/// Appends one JSON line per change. "-" writes to stderr; an empty path writes nothing.
class AuditLog {
 public:
  /// Opens (creating) the file for appending; throws std::runtime_error when it cannot.
  explicit AuditLog(const std::string& path);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;
  void write(const nlohmann::json& entry);

 private:
  std::FILE* file_ = nullptr;
  bool owned_ = false;
};

struct ApiOptions {
  /// The bearer token; ignored when require_token is false.
  std::string token;
  bool require_token = true;
  std::string version = "0.1.0";
};

class Api {
 public:
  /// `proxies` may be null: the Toxiproxy routes then answer 404.
  Api(FaultEngine& engine, ProxyManager* proxies, AuditLog& audit, const Clock& clock,
      ApiOptions options);

  /// Never throws: every failure becomes an error response.
  HttpResponse handle(const HttpRequest& request) noexcept;

 private:
  HttpResponse route(const HttpRequest& request);
  HttpResponse route_v1(const HttpRequest& request, const std::vector<std::string>& parts);
  HttpResponse route_toxiproxy(const HttpRequest& request, const std::vector<std::string>& parts);
  bool authorized(const HttpRequest& request) const;

  FaultEngine& engine_;
  ProxyManager* proxies_;
  AuditLog& audit_;
  const Clock& clock_;
  ApiOptions options_;
  std::chrono::steady_clock::time_point started_;
};

/// Constant-time comparison of two secrets (of any lengths), through their SHA-256 digests.
bool secrets_equal(const std::string& a, const std::string& b);

}  // namespace achilles::injector
