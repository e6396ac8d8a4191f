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
