// HTTP/1.1 messages as plain values, and the parsing and serialising that needs no socket.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace achilles::injector {

struct HttpRequest {
  std::string method;
  /// The request target as sent ("/proxies/redis?x=1").
  std::string target;
  /// The target without its query, percent-decoded.
  std::string path;
  /// "HTTP/1.1" or "HTTP/1.0".
  std::string version;
  /// Header names in lower case, in the order sent.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// The peer's address, for the audit log.
  std::string remote;

  /// The first value of a header (name in lower case), or "".
  std::string header(std::string_view name) const;
  /// Whether the connection stays open after the response.
  bool keep_alive() const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  /// Extra headers.
  std::vector<std::pair<std::string, std::string>> headers;

  /// A JSON body.
  static HttpResponse json(int status, const nlohmann::json& body);
  /// `{"error": MESSAGE, "status": CODE}`.
  static HttpResponse error(int status, const std::string& message);
  /// No body (204).
  static HttpResponse empty(int status);
};

/// "Not Found" for 404, ...
const char* status_reason(int status);

/// The response as bytes on the wire.
std::string serialize(const HttpResponse& response, bool keep_alive);

/// Parses a request head (request line and headers, through the blank line). Returns 0 and
/// fills `out`, or the HTTP status to refuse it with (400, 501, 505) and a message.
int parse_request_head(std::string_view head, HttpRequest& out, std::string& message);

}  // namespace achilles::injector
