// HTTP/1.1 request heads and responses, without sockets.
#include <catch2/catch.hpp>

#include "achilles/injector/api.h"
#include "achilles/injector/http.h"

using namespace achilles::injector;

namespace {

int refuse(const std::string& head, std::string* message = nullptr) {
  HttpRequest r;
  std::string m;
  const int status = parse_request_head(head, r, m);
  if (message) *message = m;
  return status;
}

}  // namespace

TEST_CASE("A request head is parsed into method, path and lower-case headers", "[agent]") {
  HttpRequest r;
  std::string m;
  REQUIRE(parse_request_head("PATCH /proxies/my%20proxy?x=1 HTTP/1.1\r\nHost: a\r\n"
                             "Content-Length:  12 \r\nConnection: close\r\n\r\n",
                             r, m) == 0);
  CHECK(r.method == "PATCH");
  CHECK(r.path == "/proxies/my proxy");
  CHECK(r.header("content-length") == "12");
  CHECK_FALSE(r.keep_alive());
  HttpRequest old;
  REQUIRE(parse_request_head("GET / HTTP/1.0\r\n\r\n", old, m) == 0);
  CHECK_FALSE(old.keep_alive());
}

TEST_CASE("A malformed request head is refused with the right status", "[agent]") {
  std::string m;
  CHECK(refuse("GET / HTTP/2\r\n\r\n", &m) == 505);
  CHECK(m == "only HTTP/1.1 and HTTP/1.0 are served");
  CHECK(refuse("GET  / HTTP/1.1\r\n\r\n") == 400);
  CHECK(refuse("GET /%zz HTTP/1.1\r\n\r\n", &m) == 400);
  CHECK(m == "malformed percent-encoding in the path");
  CHECK(refuse("GET / HTTP/1.1\r\nno colon\r\n\r\n") == 400);
  CHECK(refuse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &m) == 501);
  CHECK(m == "chunked request bodies are not supported: send Content-Length");
}

TEST_CASE("Error responses carry the error and the status in JSON", "[agent]") {
  const auto wire = serialize(HttpResponse::error(404, "proxy not found"), true);
  CHECK(wire ==
        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 41\r\n"
        "Connection: keep-alive\r\n\r\n{\"error\":\"proxy not found\",\"status\":404}\n");
  CHECK(serialize(HttpResponse::empty(204), false) ==
        "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
}

TEST_CASE("Secrets compare equal only when identical, whatever their lengths", "[agent]") {
  CHECK(secrets_equal("s3cret", "s3cret"));
  CHECK_FALSE(secrets_equal("s3cret", "s3cre"));
  CHECK_FALSE(secrets_equal("s3cret", "s3creT"));
  CHECK_FALSE(secrets_equal("", "x"));
}

TEST_CASE("A request head must end its lines in CRLF and name its Content-Length once", "[agent]") {
  std::string m;
  CHECK(request_head_end("GET / HTTP/1.1\r\nHost: a\r\n") == 0);
  CHECK(request_head_end("GET / HTTP/1.1\r\nHost: a\r\n\r\nbody") == 27);
  // A bare LF ends the head at once, for the parser to refuse: no wait for a CRLF never sent.
  CHECK(request_head_end("GET / HTTP/1.1\nHost: a\n\n") == 15);
  CHECK(refuse("GET / HTTP/1.1\nHost: a\n\n", &m) == 400);
  CHECK(m == "malformed request head: every line must end in CRLF, not a bare LF");
  CHECK(refuse("POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n", &m) == 400);
  CHECK(m == "header 'Content-Length' is given more than once");
  CHECK(refuse("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", &m) == 400);
  CHECK(m == "header 'Content-Length' must be a decimal number of bytes");
  // A space before the colon hides a header from some parsers and not others: refused.
  CHECK(refuse("POST / HTTP/1.1\r\nContent-Length : 2\r\n\r\n", &m) == 400);
  CHECK(m == "malformed header line");
  HttpRequest r;
  REQUIRE(parse_request_head("POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n", r, m) == 0);
  CHECK(r.content_length == 12);
}

TEST_CASE("A JSON body nested too deep is refused before it is parsed", "[agent]") {
  CHECK_FALSE(json_too_deep("[[[]]]", 3));
  CHECK(json_too_deep("[[[[]]]]", 3));
  CHECK_FALSE(json_too_deep(R"({"a": "[[[[\"[[[["})", 1));
  CHECK(json_too_deep(std::string(100000, '{'), kMaxJsonDepth));
  CHECK_THROWS_WITH(parse_json_body(std::string(100000, '['), "malformed JSON: "),
                    "malformed JSON: the body nests arrays and objects deeper than 32 levels");
  CHECK_THROWS_WITH(parse_json_body("[1e400]", "bad: "), "bad: number overflow parsing '1e400'");
  // A number out of range is named by its field.
  CHECK_THROWS_WITH(parse_json_body(R"({"kind": "pause", "target": {"pid": 1e400}})", "bad: "),
                    "bad: field 'target.pid': number overflow parsing '1e400'");
  CHECK_THROWS_WITH(parse_json_body(R"({"a": {"b": 1}, "to": [1, -1e999]})", "bad: "),
                    "bad: field 'to': number overflow parsing '-1e999'");
  CHECK(parse_json_body(" \r\n", "") == nlohmann::json::object());
}

TEST_CASE("Answers replace bytes that are not UTF-8 instead of failing", "[agent]") {
  CHECK(HttpResponse::error(404, "no such thing: '\xff'").body ==
        "{\"error\":\"no such thing: '\xef\xbf\xbd'\",\"status\":404}\n");
}

TEST_CASE("The audit log names who asked by certificate subject and token fingerprint", "[agent]") {
  HttpRequest r;
  CHECK(requester(r) == "anonymous");
  r.headers = {{"authorization", "Bearer s3cret"}};
  // sha256("s3cret") = 1ec1c26b...
  CHECK(requester(r) == "token sha256:1ec1c26b");
  r.client_subject = "CN=drill";
  CHECK(requester(r) == "cert CN=drill, token sha256:1ec1c26b");
}
