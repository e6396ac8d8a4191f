// HTTP/1.1 parsing and serialising, kept apart from sockets so that tests can feed it bytes.
#include "achilles/injector/http.h"

#include <algorithm>
#include <cctype>

namespace achilles::injector {

namespace {

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}

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
  const std::string c = lower(header("connection"));
  if (version == "HTTP/1.0") return c.find("keep-alive") != std::string::npos;
  return c.find("close") == std::string::npos;
}

HttpResponse HttpResponse::json(int status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump() + "\n";
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

int parse_request_head(std::string_view head, HttpRequest& out, std::string& message) {
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
  if (out.method.empty() || out.target.empty() || out.target[0] != '/') {
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
    if (colon == std::string_view::npos || colon == 0 || h[0] == ' ' || h[0] == '\t') {
      message = "malformed header line";
      return 400;
    }
    out.headers.emplace_back(lower(std::string(h.substr(0, colon))), trim(h.substr(colon + 1)));
  }
  if (!out.header("transfer-encoding").empty()) {
    message = "chunked request bodies are not supported: send Content-Length";
    return 501;
  }
  return 0;
}

}  // namespace achilles::injector
