// HTTP/1.1 parsing and serialising, and the parsing of JSON bodies, kept apart from sockets so
// that tests and fuzzers can feed them bytes.
#include "achilles/injector/http.h"

#include "achilles/common/text.h"
#include "achilles/injector/fault.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace achilles::injector {

namespace {

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(in[i + 2])))
      return false;
    out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
    i += 2;
  }
  return true;
}

}  // namespace

std::string HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return "";
}

bool HttpRequest::keep_alive() const {
  const std::string c = common::lower(header("connection"));
  if (version == "HTTP/1.0") return c.find("keep-alive") != std::string::npos;
  return c.find("close") == std::string::npos;
}

HttpResponse HttpResponse::json(int status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  // Bytes that are not UTF-8 (a process name read from /proc, a path sent by a client) are
  // replaced, not thrown on: an answer must always be writable.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return r;
}

HttpResponse HttpResponse::error(int status, const std::string& message) {
  return json(status, {{"error", message}, {"status", status}});
}

HttpResponse HttpResponse::empty(int status) {
  HttpResponse r;
  r.status = status;
  r.content_type.clear();
  return r;
}

const char* status_reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string serialize(const HttpResponse& r, bool keep_alive) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + status_reason(r.status) + "\r\n";
  if (!r.content_type.empty()) out += "Content-Type: " + r.content_type + "\r\n";
  if (r.status != 204) out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  for (const auto& [k, v] : r.headers)
    out += k + ": " + v + "\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  out += "\r\n";
  if (r.status != 204) out += r.body;
  return out;
}

std::size_t request_head_end(std::string_view data, std::size_t from) {
  for (std::size_t i = data.find('\n', from); i != std::string_view::npos;
       i = data.find('\n', i + 1)) {
    if (i == 0 || data[i - 1] != '\r') return i + 1;  // a bare LF: refused by the parser
    if (i >= 3 && data.compare(i - 3, 4, "\r\n\r\n") == 0) return i + 1;
  }
  return 0;
}

namespace {

// RFC 9110's token characters, the only ones allowed in a header name.
bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

int parse_request_head(std::string_view head, HttpRequest& out, std::string& message) {
  for (std::size_t i = head.find('\n'); i != std::string_view::npos; i = head.find('\n', i + 1))
    if (i == 0 || head[i - 1] != '\r') {
      message = "malformed request head: every line must end in CRLF, not a bare LF";
      return 400;
    }
  auto eol = head.find("\r\n");
  if (eol == std::string_view::npos) {
    message = "malformed request line";
    return 400;
  }
  const std::string_view line = head.substr(0, eol);
  const auto s1 = line.find(' ');
  const auto s2 = s1 == std::string_view::npos ? s1 : line.find(' ', s1 + 1);
  if (s2 == std::string_view::npos || line.find(' ', s2 + 1) != std::string_view::npos) {
    message = "malformed request line";
    return 400;
  }
  out.method = std::string(line.substr(0, s1));
  out.target = std::string(line.substr(s1 + 1, s2 - s1 - 1));
  out.version = std::string(line.substr(s2 + 1));
  if (out.version != "HTTP/1.1" && out.version != "HTTP/1.0") {
    message = "only HTTP/1.1 and HTTP/1.0 are served";
    return 505;
  }
  if (out.method.empty() || out.target.empty() || out.target[0] != '/' ||
      !std::all_of(out.method.begin(), out.method.end(), is_tchar)) {
    message = "malformed request line";
    return 400;
  }
  const std::string raw_path = out.target.substr(0, out.target.find('?'));
  if (!percent_decode(raw_path, out.path)) {
    message = "malformed percent-encoding in the path";
    return 400;
  }
  size_t pos = eol + 2;
  while (pos < head.size()) {
    auto next = head.find("\r\n", pos);
    if (next == std::string_view::npos) next = head.size();
    std::string_view h = head.substr(pos, next - pos);
    pos = next + 2;
    if (h.empty()) break;
    auto colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0 ||
        !std::all_of(h.begin(), h.begin() + static_cast<std::ptrdiff_t>(colon), is_tchar)) {
      message = "malformed header line";
      return 400;
    }
    out.headers.emplace_back(common::lower(h.substr(0, colon)),
                             std::string(common::trim(h.substr(colon + 1))));
  }
  if (!out.header("transfer-encoding").empty()) {
    message = "chunked request bodies are not supported: send Content-Length";
    return 501;
  }
  int lengths = 0;
  for (const auto& [name, value] : out.headers) {
    if (name != "content-length") continue;
    if (++lengths > 1) {
      message = "header 'Content-Length' is given more than once";
      return 400;
    }
    if (value.empty() || value.size() > 15 ||
        !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      message = "header 'Content-Length' must be a decimal number of bytes";
      return 400;
    }
    out.content_length = static_cast<std::size_t>(std::stoull(value));
  }
  return 0;
}

bool json_too_deep(std::string_view body, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\')
        ++i;  // the escaped character, whatever it is
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

nlohmann::json parse_json_body(std::string_view body, const std::string& prefix) {
  using nlohmann::json;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object();
  if (json_too_deep(body, kMaxJsonDepth))
    throw ApiError(400, prefix + "the body nests arrays and objects deeper than " +
                            std::to_string(kMaxJsonDepth) + " levels");
  // The keys leading to the value being parsed, to name the field of a number out of range,
  // which the parser reports with no position ("1e400").
  std::vector<std::string> keys;
  auto track = [&keys](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) keys.emplace_back();
    if (event == json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
    if (event == json::parse_event_t::key && !keys.empty() && parsed.is_string())
      keys.back() = parsed.get<std::string>();
    return true;
  };
  try {
    return json::parse(body, track);
  } catch (const json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 5: ..." -> from "parse";
    // out_of_range.406 is a number too large for a double ("1e400").
    std::string what = e.what();
    if (auto at = what.find("] "); at != std::string::npos) what = what.substr(at + 2);
    std::string field;
    for (const auto& k : keys)
      if (!k.empty()) field += (field.empty() ? "" : ".") + k;
    if (e.id == 406 && !field.empty()) what = "field '" + field + "': " + what;
    throw ApiError(400, prefix + what);
  }
}

}  // namespace achilles::injector
