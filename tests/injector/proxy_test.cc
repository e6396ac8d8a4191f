// The agent's proxies and Toxiproxy's API, measured against a loopback echo server.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <thread>

#include "achilles/injector/proxy.h"
#include "support.h"

using namespace achilles::injector;
using namespace achilles::injector::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// A proxy in front of `echo`, created through the API; its listen port.
int make_proxy(int api, const EchoServer& echo, const std::string& name) {
  auto r = http(api, "POST", "/proxies",
                json({{"name", name},
                      {"listen", "127.0.0.1:0"},
                      {"upstream", "127.0.0.1:" + std::to_string(echo.port())}})
                    .dump());
  REQUIRE(r.status == 201);
  const std::string listen = r.json()["listen"];
  return std::stoi(listen.substr(listen.rfind(':') + 1));
}

// recv of one byte with a deadline: 1 for a byte, 0 at the end of the stream, -1 on an error
// (a reset), -2 when nothing came in time.
int raw_recv_within(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return -2;
  char c;
  const ssize_t n = ::recv(fd, &c, 1, 0);
  return n > 0 ? 1 : n == 0 ? 0 : -1;
}

// Pushes `total` bytes of a pattern through `fd` from a second thread (then half-closes),
// while this thread reads the echo until the end of the stream; `midway` runs once half of it
// came back. With `hold`, the sender stops at half until `midway` has run, so that all of the
// second half passes the proxy after it. Whether every byte came back, in order.
bool echo_stream_intact(int fd, std::size_t total, const std::function<void()>& midway = {},
                        bool hold = false) {
  auto byte_at = [](std::size_t i) { return static_cast<char>((i * 2654435761u) >> 13); };
  std::atomic<bool> held{hold && midway};
  std::thread sender([&] {
    std::vector<char> block(65536);
    for (std::size_t sent = 0; sent < total;) {
      if (sent == total / 2)
        while (held)
          std::this_thread::sleep_for(1ms);
      const std::size_t n = std::min(block.size(), (sent < total / 2 ? total / 2 : total) - sent);
      for (std::size_t i = 0; i < n; ++i)
        block[i] = byte_at(sent + i);
      for (std::size_t off = 0; off < n;) {
        const ssize_t w = ::send(fd, block.data() + off, n - off, MSG_NOSIGNAL);
        if (w <= 0) return;
        off += static_cast<std::size_t>(w);
      }
      sent += n;
    }
    ::shutdown(fd, SHUT_WR);
  });
  std::size_t got = 0;
  bool intact = true, called = false;
  std::vector<char> buf(65536);
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) break;
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i)
      intact =
          intact && buf[static_cast<std::size_t>(i)] == byte_at(got + static_cast<std::size_t>(i));
    got += static_cast<std::size_t>(n);
    if (!called && got >= total / 2 && midway) called = true, midway(), held = false;
  }
  sender.join();
  return intact && got == total;
}

double median_rtt(int fd, int n = 5) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i)
    v.push_back(round_trip_ms(fd, "ping"));
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

TEST_CASE("A toxic body is validated with Toxiproxy's messages and defaults", "[proxy]") {
  auto t = parse_toxic({{"type", "latency"}, {"attributes", {{"latency", 100}}}});
  CHECK(to_json(t) == json({{"name", "latency_downstream"},
                            {"type", "latency"},
                            {"stream", "downstream"},
                            {"toxicity", 1.0},
                            {"attributes", {{"latency", 100}, {"jitter", 0}}}}));
  CHECK_THROWS_WITH(parse_toxic({{"type", "explode"}}), "invalid toxic type");
  CHECK_THROWS_WITH(parse_toxic({{"type", "timeout"}, {"stream", "sideways"}}),
                    "stream was invalid, can be either upstream or downstream");
  CHECK_THROWS_WITH(parse_toxic({{"type", "bandwidth"}, {"attributes", {{"rate", -1}}}}),
                    "bad request body: attribute 'attributes.rate' must be an integer from 0 to "
                    "2147483647");
  CHECK_THROWS_WITH(parse_toxic({{"type", "slicer"}, {"toxicity", 2}}),
                    "bad request body: field 'toxicity' must be between 0 and 1");
  CHECK_THROWS_WITH(parse_proxy({{"name", "x"}}), "missing required field: upstream");
  // A name is a URL segment: one that no URL could address is refused.
  for (const char* name : {"a/b", "..", "a b", "a%2fb", "a?b"})
    CHECK_THROWS_WITH(parse_proxy({{"name", name}, {"upstream", "127.0.0.1:1"}}),
                      "bad request body: field 'name' must be 1 to 128 letters, digits, '-', '_' "
                      "or '.'");
  CHECK_THROWS_WITH(parse_toxic({{"type", "timeout"}, {"name", "t/1"}}),
                    "bad request body: field 'name' must be 1 to 128 letters, digits, '-', '_' "
                    "or '.'");
  CHECK_THROWS_WITH(
      parse_toxic({{"type", "timeout"}, {"attributes", {{"timeout", 2147483648LL}}}}),
      "bad request body: attribute 'attributes.timeout' must be an integer from 0 to 2147483647");
  CHECK(parse_toxic({{"type", "timeout"}, {"attributes", {{"timeout", 2147483647}}}})
            .attributes["timeout"] == 2147483647);
}

TEST_CASE("The Toxiproxy API answers with Toxiproxy's shapes and status codes", "[proxy]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback"});
  EchoServer echo;
  const int api = agent.port();
  make_proxy(api, echo, "redis");
  auto dup = http(api, "POST", "/proxies",
                  R"({"name": "redis", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"})");
  CHECK(dup.status == 409);
  CHECK(dup.body == "{\"error\":\"proxy already exists\",\"status\":409}\n");
  auto all = http(api, "GET", "/proxies").json();
  CHECK(all["redis"]["enabled"] == true);
  CHECK(all["redis"]["toxics"] == json::array());
  CHECK(http(api, "GET", "/proxies/mysql").body ==
        "{\"error\":\"proxy not found\",\"status\":404}\n");

  auto toxic = http(api, "POST", "/proxies/redis/toxics",
                    R"({"type": "latency", "attributes": {"latency": 50}})");
  CHECK(toxic.status == 200);
  CHECK(toxic.json()["name"] == "latency_downstream");
  CHECK(http(api, "POST", "/proxies/redis/toxics", R"({"type": "latency"})").status == 409);
  auto patched = http(api, "PATCH", "/proxies/redis/toxics/latency_downstream",
                      R"({"attributes": {"jitter": 5}})");
  CHECK(patched.json()["attributes"] == json({{"latency", 50}, {"jitter", 5}}));
  CHECK(http(api, "GET", "/proxies/redis/toxics").json().size() == 1);
  CHECK(http(api, "DELETE", "/proxies/redis/toxics/latency_downstream").status == 204);
  CHECK(http(api, "GET", "/proxies/redis/toxics/latency_downstream").body ==
        "{\"error\":\"toxic not found\",\"status\":404}\n");

  auto populated = http(api, "POST", "/populate",
                        json::array({{{"name", "web"},
                                      {"listen", "127.0.0.1:0"},
                                      {"upstream", "127.0.0.1:" + std::to_string(echo.port())}}})
                            .dump());
  CHECK(populated.status == 201);
  CHECK(populated.json()["proxies"][0]["name"] == "web");
  http(api, "POST", "/proxies/web/toxics", R"({"type": "timeout"})");
  CHECK(http(api, "PATCH", "/proxies/web", R"({"enabled": false})").json()["enabled"] == false);
  CHECK(http(api, "POST", "/reset").status == 204);
  auto after = http(api, "GET", "/proxies/web").json();
  CHECK(after["enabled"] == true);
  CHECK(after["toxics"].empty());
  CHECK(http(api, "DELETE", "/proxies/web").status == 204);
  CHECK(http(api, "GET", "/version").json()["version"] == "0.1.0");
}

TEST_CASE("A latency fault delays a real loopback echo through the proxy", "[proxy][slow]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback"});
  EchoServer echo;
  const int port = make_proxy(agent.port(), echo, "echo");
  int fd = connect_loopback(port);
  REQUIRE(fd >= 0);
  CHECK(median_rtt(fd) < 50);
  auto fault = http(agent.port(), "POST", "/v1/faults",
                    R"({"kind": "latency", "proxy": "echo", "latency_ms": 100,
                        "duration_ms": 30000})");
  REQUIRE(fault.status == 201);
  const double delayed = median_rtt(fd);
  CHECK(delayed >= 100);
  CHECK(delayed < 1000);
  http(agent.port(), "DELETE", "/v1/faults/" + fault.json()["id"].get<std::string>());
  CHECK(median_rtt(fd) < 50);
  ::close(fd);
}

TEST_CASE("Disabling a proxy closes its connections and refuses new ones", "[proxy]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback"});
  EchoServer echo;
  const int port = make_proxy(agent.port(), echo, "echo");
  int fd = connect_loopback(port);
  REQUIRE(round_trip_ms(fd, "hello") >= 0);
  http(agent.port(), "PATCH", "/proxies/echo", R"({"enabled": false})");
  char c;
  CHECK(::recv(fd, &c, 1, 0) <= 0);
  ::close(fd);
  CHECK(connect_loopback(port) == -1);
}

TEST_CASE("limit_data, timeout, reset_peer and slicer toxics shape the stream", "[proxy]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback"});
  EchoServer echo;
  const int api = agent.port();
  const int port = make_proxy(api, echo, "echo");

  http(api, "POST", "/proxies/echo/toxics",
       R"({"type": "limit_data", "attributes": {"bytes": 4}})");
  auto got = raw_exchange(port, "abcdefgh", 5s);
  CHECK(got == "abcd");
  http(api, "POST", "/reset");

  // reset_peer waits for data on its stream (downstream here: the echo), drops it, and
  // resets the connection `timeout` ms later, as Toxiproxy 2.x does.
  http(api, "POST", "/proxies/echo/toxics",
       R"({"type": "reset_peer", "attributes": {"timeout": 50}})");
  int fd = connect_loopback(port);
  CHECK(raw_recv_within(fd, 200ms) == -2);  // silent: no reset yet
  const auto start = std::chrono::steady_clock::now();
  ::send(fd, "x", 1, MSG_NOSIGNAL);
  CHECK(raw_recv_within(fd, 5s) < 0);  // reset, and the echo was dropped
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  ::close(fd);
  http(api, "POST", "/reset");

  // timeout closes a connection whose stream stays silent that long.
  http(api, "POST", "/proxies/echo/toxics",
       R"({"type": "timeout", "attributes": {"timeout": 100}})");
  fd = connect_loopback(port);
  CHECK(raw_recv_within(fd, 5s) == 0);
  ::close(fd);
  http(api, "POST", "/reset");

  http(api, "POST", "/proxies/echo/toxics",
       R"({"type": "slicer", "attributes": {"average_size": 2, "delay": 1000}})");
  fd = connect_loopback(port);
  CHECK(round_trip_ms(fd, "0123456789") >= 0);
  ::close(fd);
  http(api, "POST", "/reset");

  http(api, "POST", "/proxies/echo/toxics", R"({"type": "timeout", "stream": "upstream"})");
  got = raw_exchange(port, "lost", 300ms);
  CHECK(got.empty());

  // Data was dropped, so removing the timeout toxic closes the connection (Toxiproxy 2.x).
  fd = connect_loopback(port);
  ::send(fd, "x", 1, MSG_NOSIGNAL);
  CHECK(raw_recv_within(fd, 300ms) == -2);  // dropped: no echo
  CHECK(http(api, "DELETE", "/proxies/echo/toxics/timeout_upstream").status == 204);
  CHECK(raw_recv_within(fd, 5s) == 0);
  ::close(fd);

  // Changing a reset_peer toxic before any data restarts it; data then resets the connection.
  http(api, "POST", "/proxies/echo/toxics",
       R"({"type": "reset_peer", "attributes": {"timeout": 5000}})");
  fd = connect_loopback(port);
  REQUIRE(fd >= 0);
  CHECK(http(api, "PATCH", "/proxies/echo/toxics/reset_peer_downstream",
             R"({"attributes": {"timeout": 10}})")
            .status == 200);
  ::send(fd, "x", 1, MSG_NOSIGNAL);
  CHECK(raw_recv_within(fd, 5s) < 0);
  ::close(fd);
}

TEST_CASE("A bandwidth toxic limits throughput", "[proxy][slow]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback"});
  EchoServer echo;
  const int port = make_proxy(agent.port(), echo, "echo");
  http(agent.port(), "POST", "/proxies/echo/toxics",
       R"({"type": "bandwidth", "attributes": {"rate": 100}})");
  int fd = connect_loopback(port);
  const double ms = round_trip_ms(fd, std::string(50000, 'x'));  // 50 KB at 100 KB/s
  CHECK(ms >= 450);
  CHECK(ms < 5000);
  ::close(fd);
}

TEST_CASE("Streams pass byte for byte while toxics come and go on the connection", "[proxy]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback"});
  EchoServer echo;
  const int api = agent.port();
  const int port = make_proxy(api, echo, "echo");

  // No toxic: the zero-copy relay, and the half-close travels both ways.
  int fd = connect_loopback(port);
  CHECK(echo_stream_intact(fd, 8 << 20));
  ::close(fd);

  // A toxic added midway takes the connection over to the toxic-aware path, and removing it
  // hands it back; not a byte is lost or reordered either way.
  fd = connect_loopback(port);
  CHECK(echo_stream_intact(fd, 8 << 20, [&] {
    CHECK(http(api, "POST", "/proxies/echo/toxics",
               R"({"type": "latency", "stream": "upstream", "attributes": {"latency": 1}})")
              .status == 200);
    CHECK(http(api, "POST", "/proxies/echo/toxics",
               R"({"type": "slicer", "attributes": {"average_size": 1000}})")
              .status == 200);
  }));
  ::close(fd);
  fd = connect_loopback(port);
  CHECK(echo_stream_intact(fd, 4 << 20, [&] { http(api, "POST", "/reset"); }));
  ::close(fd);
  fd = connect_loopback(port);
  CHECK(median_rtt(fd) < 50);
  ::close(fd);
}

TEST_CASE("A toxic added in the middle of a bulk transfer applies to that connection", "[proxy]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback"});
  EchoServer echo;
  const int api = agent.port();
  const int port = make_proxy(api, echo, "echo");

  // 4 MiB echoed with no toxic, then a downstream latency toxic, then 4 MiB more: every byte
  // of the second half reaches the proxy after the toxic, so the end of the stream comes at
  // least the latency after it was asked for; and not a latency per 64 KiB chunk later (6.4 s),
  // which is what stamping each chunk after the previous one's release did.
  std::chrono::steady_clock::time_point asked{};
  const int fd = connect_loopback(port);
  CHECK(echo_stream_intact(
      fd, 8 << 20,
      [&] {
        asked = std::chrono::steady_clock::now();
        CHECK(http(api, "POST", "/proxies/echo/toxics",
                   R"({"type": "latency", "stream": "downstream", "attributes": {"latency": 100}})")
                  .status == 200);
      },
      true));
  const auto took = std::chrono::steady_clock::now() - asked;
  CHECK(took >= 100ms);
  CHECK(took < 3s);
  ::close(fd);
}
