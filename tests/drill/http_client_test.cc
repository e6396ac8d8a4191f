// The drill runner's HTTP client (drill/src/http_client.*, private to the drill library):
// the Host header, how a response's body is framed, and the common fault schema that the plan
// reader checks fault bodies with.
#include <catch2/catch.hpp>
#include <string>

#include "../drill/src/http_client.h"
#include "achilles/common/fault_schema.h"
#include "achilles/common/text.h"

using namespace achilles;

TEST_CASE("The Host header keeps an IPv6 address in brackets", "[drill][http]") {
  CHECK(drill::host_header(drill::parse_url("http://[::1]:8474/v1/status")) == "[::1]:8474");
  CHECK(drill::host_header(drill::parse_url("https://[fe80::1]/")) == "[fe80::1]:443");
  CHECK(drill::host_header(drill::parse_url("http://127.0.0.1:8080/")) == "127.0.0.1:8080");
  CHECK(drill::host_header(drill::parse_url("http://example.org/x")) == "example.org:80");
}

TEST_CASE("A chunked body is recognised by its token, however the header is written",
          "[drill][http]") {
  const std::string chunks = "5\r\nhello\r\n0\r\n\r\n";
  for (const std::string te : {"chunked", "Chunked", "gzip, chunked", "chunked ", "gzip,chunked"}) {
    INFO(te);
    drill::HttpResult r;
    drill::parse_response("HTTP/1.1 200 OK\r\nTransfer-Encoding:" + te + "\r\n\r\n" + chunks, r);
    CHECK(r.error.empty());
    CHECK(r.body == "hello");
  }
  // Not the final coding: the body is read to the close, as it came.
  drill::HttpResult r;
  drill::parse_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nxyz", r);
  CHECK(r.body == "xyz");
  // A header whose name only ends in the name is not it.
  drill::parse_response("HTTP/1.1 200 OK\r\nX-Content-Length: 2\r\n\r\nabcd", r);
  CHECK(r.body == "abcd");
}

TEST_CASE("An invalid Content-Length is an error, not ignored", "[drill][http]") {
  for (const std::string cl : {"abc", "-1", "1 2", ""}) {
    INFO(cl);
    drill::HttpResult r;
    drill::parse_response("HTTP/1.1 200 OK\r\nContent-Length: " + cl + "\r\n\r\nbody", r);
    CHECK(r.error == "invalid Content-Length '" + std::string(common::trim(cl)) + "'");
  }
  drill::HttpResult r;
  drill::parse_response("HTTP/1.1 200 OK\r\ncontent-length:2\r\n\r\nbody", r);
  CHECK(r.error.empty());
  CHECK(r.body == "bo");
}

TEST_CASE("The fault schema reports every problem of a body, as the agent words them",
          "[drill][schema]") {
  using nlohmann::json;
  auto messages = [](const json& body) {
    std::string out;
    for (const auto& p : common::check_fault_body(body, {}))
      out += common::join(p.path, ".") + ": " + p.message + "\n";
    return out;
  };
  CHECK(messages(json::parse(R"({"kind": "latency", "proxy": "db", "latency": 300,
                                 "duration_ms": 1000})")) ==
        ": missing field 'latency_ms'\n"
        "latency: unknown field 'latency' for a latency fault\n");
  CHECK(
      messages(json::parse(R"({"kind": "kill", "signal": "SIGKIL", "target": {"proces": "x"}})")) ==
      "target.proces: unknown field 'target.proces'\n"
      "target: field 'target' must name exactly one of pid, process, cmdline, pidfile\n"
      "signal: field 'signal' must be one of SIGKILL, SIGTERM, SIGINT, SIGHUP, SIGQUIT, "
      "SIGABRT, SIGUSR1, SIGUSR2\n");
  CHECK(messages(json::parse(R"({"kind": "pause", "target": {"process": "x"},
                                 "duration_ms": 99999999})")) ==
        "duration_ms: field 'duration_ms' must be between 1 and 900000, got 99999999\n");
  CHECK(messages(json::parse(R"({"kind": "cpu", "load": 1.5, "duration_ms": 2.5})")) ==
        "load: field 'load' must be above 0 and at most 1, got 1.5\n"
        "duration_ms: field 'duration_ms' must be an integer\n");
  CHECK(messages(json::parse(R"({"kind": "explode"})")) ==
        "kind: field 'kind' must be one of kill, pause, latency, cpu, memory, network\n");
  CHECK(messages(json::parse(R"({"kind": "memory", "bytes": 1024, "duration_ms": 10})")).empty());
  // Every rule the agent has is here, so that a plan the runner accepts the agent accepts:
  // a pidfile is an absolute path (this was the agent's alone, so a plan passed its check
  // and then failed on the agent at the step).
  CHECK(messages(json::parse(R"({"kind": "kill", "target": {"pidfile": "run/x.pid"}})")) ==
        "target.pidfile: field 'target.pidfile' must be an absolute path\n");
  CHECK(messages(json::parse(R"({"kind": "kill", "target": {"pidfile": "/)" +
                             std::string(4096, 'a') + R"("}})")) ==
        "target.pidfile: field 'target.pidfile' must be at most 4096 characters\n");
  // A larger limit, when the agent is configured for it.
  common::FaultLimits hour;
  hour.max_duration_ms = 3600000;
  CHECK(common::check_fault_body(json::parse(R"({"kind": "cpu", "duration_ms": 3600000})"), hour)
            .empty());
}

TEST_CASE("closest() suggests an id within a third of its length", "[drill][schema]") {
  const std::vector<std::string> ids = {"web-1", "web-2", "db-primary", "cache"};
  CHECK(common::closest("web-3", ids) == "web-1");
  CHECK(common::closest("db-primray", ids) == "db-primary");
  CHECK(common::closest("queue", ids).empty());
}
