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
  /// The subject of the client's TLS certificate (RFC 2253), for the audit log; "" without TLS.
  std::string client_subject;
  /// The value of the Content-Length header (0 without one), set by parse_request_head.
  std::size_t content_length = 0;

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

/// Where the request head at the start of `data` ends: the length of the head through its
/// blank line ("\r\n\r\n"), or through the first line end that is a bare LF (which
/// parse_request_head refuses), or 0 while neither has arrived. `from`: where an earlier call
/// on a prefix of `data` stopped looking (data.size() then), to look at each byte once.
std::size_t request_head_end(std::string_view data, std::size_t from = 0);

/// Parses a request head (request line and headers, through the blank line). Returns 0 and
/// fills `out`, or the HTTP status to refuse it with (400, 501, 505) and a message. Lines must
/// end in CRLF; a duplicate or malformed Content-Length is refused (request smuggling).
int parse_request_head(std::string_view head, HttpRequest& out, std::string& message);

/// The deepest nesting of arrays and objects a request body may have: deeper bodies are
/// refused before anything parses them (a body nested 58,000 deep once overflowed the stack).
constexpr int kMaxJsonDepth = 32;

/// A request body as JSON; an empty body is `{}`. Malformed JSON, bytes that are not UTF-8,
/// numbers out of range and nesting deeper than kMaxJsonDepth throw ApiError (fault.h) with
/// status 400 and `prefix` + why.
nlohmann::json parse_json_body(std::string_view body, const std::string& prefix);

/// Whether `body` nests arrays and objects deeper than `max_depth` (brackets inside strings do
/// not count): a linear scan with no recursion and no allocation.
bool json_too_deep(std::string_view body, int max_depth);

}  // namespace achilles::injector
