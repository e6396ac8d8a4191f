// The agent's /metrics: the text format, each counter moving on the event it counts (the
// engine and the API in process with fake OS mechanisms, then the real agent against a
// process and a proxy the test started), the token, a flood that adds no series, the shipped
// Grafana dashboard, and a real Prometheus (Debian's package) scraping the agent with the
// shipped scrape config.
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "achilles/injector/api.h"
#include "achilles/injector/metrics.h"
#include "fakes.h"
#include "support.h"

using namespace achilles::injector;
using namespace achilles::injector::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kToken = "metrics-test-token-0123456789";

// "name{labels}" -> value, for every sample line of an exposition.
std::map<std::string, std::string> samples(const std::string& text) {
  std::map<std::string, std::string> out;
  std::size_t p = 0;
  while (p < text.size()) {
    std::size_t e = text.find('\n', p);
    if (e == std::string::npos) e = text.size();
    const std::string line = text.substr(p, e - p);
    p = e + 1;
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    out[line.substr(0, space)] = line.substr(space + 1);
  }
  return out;
}

// The value of one series, or -1 when the exposition lacks it.
double value(const std::string& text, const std::string& series) {
  const auto all = samples(text);
  const auto it = all.find(series);
  return it == all.end() ? -1 : std::stod(it->second);
}

std::set<std::string> series_names(const std::string& text) {
  std::set<std::string> out;
  for (const auto& [series, v] : samples(text))
    out.insert(series);
  return out;
}

// The metric names that have a # TYPE line.
std::set<std::string> typed_metrics(const std::string& text) {
  std::set<std::string> out;
  static const std::regex type_line(R"(^# TYPE (\S+) (counter|gauge)$)");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (std::smatch m; std::regex_match(line, m, type_line)) out.insert(m[1]);
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The engine and the API in process, on fake processes and a fake clock.
struct ApiRig {
  explicit ApiRig(bool require_token = false, const std::string& audit_path = "")
      : engine(rig.deps(), rig.options()),
        audit(audit_path),
        api(engine, nullptr, audit, rig.clock, [&] {
          ApiOptions o;
          o.token = kToken;
          o.require_token = require_token;
          o.metrics = &metrics;
          return o;
        }()) {
    engine.set_metrics(&metrics);
    rig.procs.add(100, "redis-server");
  }
  HttpResponse call(const std::string& method, const std::string& path,
                    const std::string& body = "", const std::string& token = kToken) {
    HttpRequest r;
    r.method = method;
    r.target = path;
    r.path = path.substr(0, path.find('?'));
    r.version = "HTTP/1.1";
    r.remote = "127.0.0.1:40000";
    if (!token.empty()) r.headers.emplace_back("authorization", "Bearer " + token);
    r.body = body;
    r.content_length = body.size();
    return api.handle(r);
  }
  std::string scrape() {
    const HttpResponse r = call("GET", "/metrics");
    REQUIRE(r.status == 200);
    return r.body;
  }
  Rig rig;
  FaultEngine engine;
  AuditLog audit;
  Metrics metrics;
  Api api;
};

const std::string kPause = R"({"kind": "pause", "target": {"process": "redis-server"}, )";

std::string fault_series(const std::string& kind, const std::string& outcome) {
  return "achilles_agent_faults_total{kind=\"" + kind + "\",outcome=\"" + outcome + "\"}";
}
std::string revert_series(const std::string& reason) {
  return "achilles_agent_reverts_total{reason=\"" + reason + "\"}";
}
std::string active_series(const std::string& kind) {
  return "achilles_agent_faults_active{kind=\"" + kind + "\"}";
}

const std::vector<std::string> kMetricNames = {
    "achilles_agent_faults_active",           "achilles_agent_faults_total",
    "achilles_agent_reverts_total",           "achilles_agent_halted",
    "achilles_agent_lease_seconds_remaining", "achilles_agent_proxy_bytes_total",
    "achilles_agent_requests_total"};

}  // namespace

TEST_CASE("The metrics exposition has HELP and TYPE for every metric and escapes label values",
          "[agent][metrics]") {
  Metrics m;
  m.fault("pause", Metrics::Outcome::kInjected);
  m.request(201);
  MetricGauges g;
  g.active["pause"] = 2;
  g.halted = true;
  g.lease_seconds_remaining = 1.5;
  g.proxies.push_back({"a\"b\\c\nd", 5, 7});
  const std::string text = m.render(g);

  CHECK(text.back() == '\n');
  CHECK(typed_metrics(text) == std::set<std::string>(kMetricNames.begin(), kMetricNames.end()));
  for (const auto& name : kMetricNames)
    CHECK(("\n" + text).find("\n# HELP " + name + " ") != std::string::npos);
  CHECK(text.find("# TYPE achilles_agent_faults_total counter\n") != std::string::npos);
  CHECK(text.find("# TYPE achilles_agent_halted gauge\n") != std::string::npos);
  CHECK(text.find("\nachilles_agent_faults_active{kind=\"pause\"} 2\n") != std::string::npos);
  CHECK(text.find("\nachilles_agent_faults_active{kind=\"toxic\"} 0\n") != std::string::npos);
  CHECK(text.find("\nachilles_agent_faults_total{kind=\"pause\",outcome=\"injected\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("\nachilles_agent_halted 1\n") != std::string::npos);
  CHECK(text.find("\nachilles_agent_lease_seconds_remaining 1.500\n") != std::string::npos);
  CHECK(text.find("\nachilles_agent_proxy_bytes_total{proxy=\"a\\\"b\\\\c\\nd\","
                  "direction=\"upstream\"} 5\n") != std::string::npos);
  CHECK(text.find("\nachilles_agent_proxy_bytes_total{proxy=\"a\\\"b\\\\c\\nd\","
                  "direction=\"downstream\"} 7\n") != std::string::npos);
  CHECK(text.find("\nachilles_agent_requests_total{code=\"201\"} 1\n") != std::string::npos);
  // Every sample belongs to the metric typed last above it.
  std::string current;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# TYPE ", 0) == 0) current = line.substr(7, line.find(' ', 7) - 7);
    if (line.empty() || line[0] == '#') continue;
    const std::string name = line.substr(0, line.find_first_of("{ "));
    CHECK(name == current);
  }
  // Every kind, outcome and reason has its series from the start, at 0.
  CHECK(samples(text).size() == 8 + 7 * 3 + 6 + 1 + 1 + 2 + 1);
  CHECK(escape_label_value("plain") == "plain");
}

TEST_CASE("Injections, refusals, failures and each kind of revert are counted where they happen",
          "[agent][metrics]") {
  ApiRig a;
  std::string text = a.scrape();
  CHECK(value(text, fault_series("pause", "injected")) == 0);
  CHECK(value(text, active_series("pause")) == 0);

  // Injected, then deleted.
  HttpResponse r = a.call("POST", "/v1/faults", kPause + R"("duration_ms": 60000})");
  REQUIRE(r.status == 201);
  const std::string id = json::parse(r.body)["id"];
  text = a.scrape();
  CHECK(value(text, fault_series("pause", "injected")) == 1);
  CHECK(value(text, active_series("pause")) == 1);
  REQUIRE(a.call("DELETE", "/v1/faults/" + id).status == 200);
  text = a.scrape();
  CHECK(value(text, revert_series("deleted")) == 1);
  CHECK(value(text, active_series("pause")) == 0);

  // Refused: a wrong field (400), a body that is not JSON and a kind that does not exist (both
  // "unknown": the request's text never becomes a label), a process outside the allowlist.
  CHECK(a.call("POST", "/v1/faults", kPause + R"("duration_ms": 1000, "x": 1})").status == 400);
  CHECK(a.call("POST", "/v1/faults", "{").status == 400);
  CHECK(a.call("POST", "/v1/faults", R"({"kind": "meteor"})").status == 400);
  a.rig.procs.add(200, "postgres");
  CHECK(a.call("POST", "/v1/faults", R"({"kind": "kill", "target": {"pid": 200}})").status == 403);
  text = a.scrape();
  CHECK(value(text, fault_series("pause", "refused")) == 1);
  CHECK(value(text, fault_series("unknown", "refused")) == 2);
  CHECK(value(text, fault_series("kill", "refused")) == 1);
  CHECK(text.find("meteor") == std::string::npos);

  // Failed: accepted and recorded, but the kernel refused the signal, or the proxy is unknown
  // (both listed in /v1/faults with state "failed").
  a.rig.signals.fail_with = EPERM;
  CHECK(a.call("POST", "/v1/faults", R"({"kind": "kill", "target": {"process": "redis-server"}})")
            .status == 403);
  a.rig.signals.fail_with = 0;
  CHECK(a.call("POST", "/v1/faults",
               R"({"kind": "latency", "proxy": "nope", "latency_ms": 5, "duration_ms": 1000})")
            .status == 404);
  text = a.scrape();
  CHECK(value(text, fault_series("kill", "failed")) == 1);
  CHECK(value(text, fault_series("kill", "injected")) == 0);
  CHECK(value(text, fault_series("latency", "failed")) == 1);
  CHECK(value(text, fault_series("latency", "refused")) == 0);

  // Expired.
  REQUIRE(a.call("POST", "/v1/faults", kPause + R"("duration_ms": 100})").status == 201);
  a.rig.clock.advance(150);
  a.engine.tick();
  CHECK(value(a.scrape(), revert_series("expired")) == 1);

  // A lease: its remaining time, then its lapse reverts the fault and halts.
  REQUIRE(a.call("POST", "/v1/faults", kPause + R"("duration_ms": 60000})").status == 201);
  REQUIRE(a.call("POST", "/v1/lease", R"({"ttl_ms": 1000})").status == 200);
  a.rig.clock.advance(400);
  text = a.scrape();
  CHECK(value(text, "achilles_agent_lease_seconds_remaining") == Approx(0.6));
  CHECK(value(text, "achilles_agent_halted") == 0);
  a.rig.clock.advance(700);
  a.engine.tick();
  text = a.scrape();
  CHECK(value(text, revert_series("lease")) == 1);
  CHECK(value(text, "achilles_agent_halted") == 1);
  CHECK(value(text, "achilles_agent_lease_seconds_remaining") == 0);
  REQUIRE(a.call("POST", "/v1/resume").status == 200);

  // A halt reverts the active fault, and a fault asked for while halted is refused.
  REQUIRE(a.call("POST", "/v1/faults", kPause + R"("duration_ms": 60000})").status == 201);
  REQUIRE(a.call("POST", "/v1/halt").status == 200);
  CHECK(a.call("POST", "/v1/faults", kPause + R"("duration_ms": 1000})").status == 409);
  text = a.scrape();
  CHECK(value(text, revert_series("halt")) == 1);
  CHECK(value(text, "achilles_agent_halted") == 1);
  CHECK(value(text, fault_series("pause", "refused")) == 2);
  CHECK(value(text, fault_series("pause", "injected")) == 4);
  // Shutdown: what the agent does on SIGTERM.
  REQUIRE(a.call("POST", "/v1/resume").status == 200);
  REQUIRE(a.call("POST", "/v1/faults", kPause + R"("duration_ms": 60000})").status == 201);
  a.engine.revert_all("agent shutdown");
  text = a.scrape();
  CHECK(value(text, revert_series("shutdown")) == 1);
  CHECK(value(text, revert_series("recovery")) == 0);

  // The requests by status: 201 five times, 400 three times, 409 once...
  CHECK(value(text, "achilles_agent_requests_total{code=\"201\"}") == 5);
  CHECK(value(text, "achilles_agent_requests_total{code=\"400\"}") == 3);
  CHECK(value(text, "achilles_agent_requests_total{code=\"409\"}") == 1);
  CHECK(value(text, "achilles_agent_requests_total{code=\"403\"}") == 2);
}

TEST_CASE("A fault refused because the audit log cannot be written is counted as refused",
          "[agent][metrics]") {
  ApiRig a(false, "/dev/full");  // every write fails with ENOSPC
  CHECK(a.call("POST", "/v1/faults", kPause + R"("duration_ms": 1000})").status == 503);
  CHECK(a.rig.signals.sent.empty());
  const std::string text = a.scrape();
  CHECK(value(text, fault_series("pause", "refused")) == 1);
  CHECK(value(text, fault_series("pause", "injected")) == 0);
  CHECK(value(text, "achilles_agent_requests_total{code=\"503\"}") == 1);
  // A body nested 60,000 deep is looked at with the depth guard, and counts as unknown.
  CHECK(a.call("POST", "/v1/faults", std::string(60000, '[') + std::string(60000, ']')).status ==
        503);
  CHECK(value(a.scrape(), fault_series("unknown", "refused")) == 1);
}

TEST_CASE("Counters bumped from several threads at once lose nothing", "[agent][metrics]") {
  Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        m.fault("cpu", Metrics::Outcome::kInjected);
        m.revert("expired");
        m.request(200);
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(m.faults("cpu", Metrics::Outcome::kInjected) == 40000);
  CHECK(m.reverts("expired") == 40000);
  CHECK(m.requests(200) == 40000);
  const std::string text = m.render({});
  CHECK(value(text, fault_series("cpu", "injected")) == 40000);
  CHECK(value(text, "achilles_agent_requests_total{code=\"200\"}") == 40000);
}

TEST_CASE("A kill's observation ending is not counted as a revert", "[agent][metrics]") {
  ApiRig a;
  REQUIRE(a.call("POST", "/v1/faults",
                 R"({"kind": "kill", "target": {"process": "redis-server"}, "observe_ms": 100})")
              .status == 201);
  a.rig.clock.advance(150);
  a.engine.tick();
  const std::string text = a.scrape();
  CHECK(value(text, fault_series("kill", "injected")) == 1);
  for (const auto& reason : Metrics::kReasons)
    CHECK(value(text, revert_series(std::string(reason))) == 0);
}

TEST_CASE("GET /metrics needs the bearer token and is refused exactly as /v1 is",
          "[agent][metrics]") {
  ApiRig a(true);
  const HttpResponse v1 = a.call("GET", "/v1/status", "", "");
  const HttpResponse bare = a.call("GET", "/metrics", "", "");
  const HttpResponse wrong = a.call("GET", "/metrics", "", "wrong-token-wrong-token");
  CHECK(bare.status == 401);
  CHECK(bare.body == v1.body);
  CHECK(bare.body == R"({"error":"missing or invalid bearer token","status":401})"
                     "\n");
  CHECK(bare.headers == v1.headers);
  CHECK(wrong.status == 401);
  CHECK(wrong.body == v1.body);
  const HttpResponse ok = a.call("GET", "/metrics");
  CHECK(ok.status == 200);
  CHECK(ok.content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(value(ok.body, "achilles_agent_requests_total{code=\"401\"}") == 3);
  CHECK(a.call("POST", "/metrics").status == 405);
}

TEST_CASE("A flood of requests with made-up paths, kinds and names adds no series",
          "[agent][metrics]") {
  ApiRig a;
  // One request of each status the flood gets, first.
  CHECK(a.call("GET", "/nowhere").status == 404);
  CHECK(a.call("POST", "/v1/faults", R"({"kind": "x"})").status == 400);
  CHECK(a.call("PUT", "/v1/status").status == 405);
  CHECK(a.call("GET", "/metrics", "", "").status == 200);  // no token needed here
  const std::set<std::string> before = series_names(a.scrape());
  for (int i = 0; i < 2000; ++i) {
    const std::string n = std::to_string(i);
    a.call("GET", "/x" + n + "/\"{}\n");
    a.call("GET", "/proxies/p" + n);
    a.call("DELETE", "/v1/faults/f" + n);
    a.call("POST", "/v1/faults", R"({"kind": "k)" + n + R"(", "proxy": "p)" + n + "\"}");
    a.call("POST", "/v1/faults", R"({"kind": "latency", "proxy": "p)" + n + R"("})");
    a.call("PATCH", "/v1/status?code=" + n);
    a.call("GET", "/metrics?kind=" + n);
  }
  const std::string text = a.scrape();
  CHECK(series_names(text) == before);
  CHECK(value(text, fault_series("unknown", "refused")) == 2001);
  CHECK(value(text, fault_series("latency", "refused")) == 2000);
  CHECK(value(text, "achilles_agent_requests_total{code=\"404\"}") == 6001);
}

TEST_CASE("The real agent's /metrics takes the token and counts a paused process's faults",
          "[agent][metrics]") {
  TempDir dir;
  write_private_file(dir.file("token"), kToken);
  Agent agent(dir, {"--token-file", dir.file("token"), "--allow-process", "sleep"});
  const std::string auth = "Authorization: Bearer " + kToken;
  auto scrape = [&] {
    const Reply r = http(agent.port(), "GET", "/metrics", "", {auth});
    REQUIRE(r.status == 200);
    return r.body;
  };
  const Reply v1 = http(agent.port(), "GET", "/v1/status");
  const Reply bare = http(agent.port(), "GET", "/metrics");
  CHECK(bare.status == 401);
  CHECK(bare.body == v1.body);
  CHECK(bare.head.find("Content-Type: application/json") != std::string::npos);
  const Reply ok = http(agent.port(), "GET", "/metrics", "", {auth});
  CHECK(ok.status == 200);
  CHECK(ok.head.find("Content-Type: text/plain; version=0.0.4; charset=utf-8") !=
        std::string::npos);

  Child victim({"sleep", "1000." + std::to_string(::getpid()) + "7"});
  REQUIRE(wait_until([&] { return proc_name(victim.pid()) == "sleep"; }));
  const std::string pause = R"({"kind": "pause", "target": {"pid": )" +
                            std::to_string(victim.pid()) + R"(}, "duration_ms": )";
  Reply r = http(agent.port(), "POST", "/v1/faults", pause + "60000}", {auth});
  REQUIRE(r.status == 201);
  REQUIRE(wait_until([&] { return proc_state(victim.pid()) == 'T'; }));
  std::string text = scrape();
  CHECK(value(text, fault_series("pause", "injected")) == 1);
  CHECK(value(text, active_series("pause")) == 1);
  CHECK(http(agent.port(), "POST", "/v1/faults", pause + "0}", {auth}).status == 400);
  REQUIRE(
      http(agent.port(), "DELETE", "/v1/faults/" + r.json()["id"].get<std::string>(), "", {auth})
          .status == 200);
  text = scrape();
  CHECK(value(text, fault_series("pause", "refused")) == 1);
  CHECK(value(text, revert_series("deleted")) == 1);
  CHECK(value(text, active_series("pause")) == 0);

  // Expiry, seen as it happens: polled until the agent's ticker reverts it.
  REQUIRE(http(agent.port(), "POST", "/v1/faults", pause + "200}", {auth}).status == 201);
  CHECK(wait_until([&] { return value(scrape(), revert_series("expired")) == 1; }));
  // A halt with a fault in place.
  REQUIRE(http(agent.port(), "POST", "/v1/faults", pause + "60000}", {auth}).status == 201);
  REQUIRE(http(agent.port(), "POST", "/v1/halt", "", {auth}).status == 200);
  text = scrape();
  CHECK(value(text, revert_series("halt")) == 1);
  CHECK(value(text, "achilles_agent_halted") == 1);
  CHECK(value(text, active_series("pause")) == 0);
  CHECK(value(text, "achilles_agent_requests_total{code=\"401\"}") == 2);
  REQUIRE(wait_until([&] { return proc_state(victim.pid()) != 'T'; }));

  // Scrapes stay out of the audit log; the refused one is in it.
  const std::string audit = read_file(dir.file("audit.jsonl"));
  CHECK(audit.find(R"("path":"/metrics","refused":true)") != std::string::npos);
  CHECK(audit.find(R"("path":"/metrics","status":200)") == std::string::npos);
}

TEST_CASE("A restarted agent counts the faults it recovered from the state file",
          "[agent][metrics]") {
  TempDir dir;
  Child victim({"sleep", "1000." + std::to_string(::getpid()) + "8"});
  REQUIRE(wait_until([&] { return proc_name(victim.pid()) == "sleep"; }));
  const std::vector<std::string> args = {"--insecure-loopback", "--allow-process", "sleep"};
  {
    Agent first(dir, args);
    REQUIRE(http(first.port(), "POST", "/v1/faults",
                 R"({"kind": "pause", "target": {"pid": )" + std::to_string(victim.pid()) +
                     R"(}, "duration_ms": 60000})")
                .status == 201);
    REQUIRE(wait_until([&] { return proc_state(victim.pid()) == 'T'; }));
    ::kill(first.process().pid(), SIGKILL);
    REQUIRE(first.process().wait() == 128 + SIGKILL);
  }
  Agent second(dir, args);
  CHECK(wait_until([&] { return proc_state(victim.pid()) != 'T'; }));
  CHECK(value(http(second.port(), "GET", "/metrics").body, revert_series("recovery")) == 1);
}

TEST_CASE("Proxy bytes are counted per proxy and direction on both of the relay's paths",
          "[agent][metrics]") {
  TempDir dir;
  EchoServer echo;
  Agent agent(dir, {"--insecure-loopback", "--proxy",
                    "echo,127.0.0.1:0,127.0.0.1:" + std::to_string(echo.port())});
  const std::string listen =
      http(agent.port(), "GET", "/proxies/echo").json()["listen"].get<std::string>();
  const int fd = connect_loopback(std::stoi(listen.substr(listen.rfind(':') + 1)));
  REQUIRE(fd >= 0);
  auto counted = [&](double bytes) {
    return wait_until([&] {
      const std::string text = http(agent.port(), "GET", "/metrics").body;
      return value(text,
                   R"(achilles_agent_proxy_bytes_total{proxy="echo",direction="upstream"})") ==
                 bytes &&
             value(text,
                   R"(achilles_agent_proxy_bytes_total{proxy="echo",direction="downstream"})") ==
                 bytes;
    });
  };
  CHECK(counted(0));
  REQUIRE(round_trip_ms(fd, std::string(1000, 'x')) >= 0);
  CHECK(counted(1000));
  // Through a toxic: the chunks go by the reader and writer path.
  REQUIRE(http(agent.port(), "POST", "/proxies/echo/toxics",
               R"({"type": "latency", "attributes": {"latency": 5}})")
              .status == 200);
  REQUIRE(round_trip_ms(fd, std::string(500, 'y')) >= 0);
  CHECK(counted(1500));
  ::close(fd);
  // A removed proxy's series goes with it.
  REQUIRE(http(agent.port(), "DELETE", "/proxies/echo").status == 204);
  CHECK(http(agent.port(), "GET", "/metrics").body.find("proxy=\"echo\"") == std::string::npos);
}

TEST_CASE("The shipped Grafana dashboard is valid JSON and queries only the agent's metrics",
          "[agent][metrics]") {
  const std::string path = std::string(ACHILLES_DEPLOY_DIR) + "/grafana/achilles-agent.json";
  const json dash = json::parse(read_file(path));  // throws on invalid JSON
  REQUIRE(dash.contains("panels"));
  REQUIRE(dash["panels"].is_array());
  REQUIRE(!dash["panels"].empty());
  std::set<std::string> queried;
  static const std::regex metric(R"(\b(achilles_agent_[a-z_]+))");
  auto collect = [&](const std::string& expr) {
    for (std::sregex_iterator it(expr.begin(), expr.end(), metric), end; it != end; ++it)
      queried.insert((*it)[1]);
  };
  std::set<int> ids;
  for (const auto& panel : dash["panels"]) {
    INFO(panel.dump());
    CHECK(panel["title"].is_string());
    CHECK(ids.insert(panel["id"].get<int>()).second);
    REQUIRE(panel["targets"].is_array());
    REQUIRE(!panel["targets"].empty());
    for (const auto& target : panel["targets"]) {
      REQUIRE(target["expr"].is_string());
      collect(target["expr"]);
    }
  }
  for (const auto& var : dash["templating"]["list"])
    if (var.contains("definition")) collect(var["definition"]);

  // The agent's own exposition, with a proxy so that every metric has series.
  TempDir dir;
  EchoServer echo;
  Agent agent(dir, {"--insecure-loopback", "--proxy",
                    "echo,127.0.0.1:0,127.0.0.1:" + std::to_string(echo.port())});
  const std::string text = http(agent.port(), "GET", "/metrics").body;
  const std::set<std::string> served = typed_metrics(text);
  for (const auto& name : queried) {
    INFO(name);
    CHECK(served.count(name) == 1);
  }
  // ...and every metric of the agent has a panel.
  CHECK(queried == served);
}

namespace {

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char b[4];
      std::snprintf(b, sizeof b, "%%%02X", c);
      out += b;
    }
  }
  return out;
}

// The shipped scrape config with what differs here replaced; fails when a line to replace
// is missing from it.
std::string test_scrape_config(const std::string& token_file, int agent_port) {
  std::string text = read_file(std::string(ACHILLES_DEPLOY_DIR) + "/prometheus/scrape.yml");
  auto replace = [&](const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
  };
  replace("credentials_file: /etc/prometheus/achilles-token", "credentials_file: " + token_file);
  replace("\"127.0.0.1:8474\"", "\"127.0.0.1:" + std::to_string(agent_port) + "\"");
  replace("scrape_interval: 15s", "scrape_interval: 1s");
  replace("scrape_timeout: 5s", "scrape_timeout: 1s");
  return "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n" + text;
}

}  // namespace

TEST_CASE("A real Prometheus scrapes the agent with its token and sees the fault counters",
          "[agent][metrics][slow]") {
  const char* binary = "/usr/bin/prometheus";
  if (::access(binary, X_OK) != 0) {
    WARN("skipped: /usr/bin/prometheus is not installed (Debian package 'prometheus')");
    return;
  }
  TempDir dir;  // declared first: removed after Prometheus and the agent are killed
  write_private_file(dir.file("token"), kToken);
  Agent agent(dir, {"--token-file", dir.file("token"), "--allow-process", "sleep"});
  const std::string config = dir.file("prometheus.yml");
  std::ofstream(config) << test_scrape_config(dir.file("token"), agent.port());
  const int port = unused_loopback_port();
  const std::string log = dir.file("prometheus.log");
  Child prometheus({"sh", "-c",
                    std::string("exec ") + binary + " --config.file=" + config +
                        " --storage.tsdb.path=" + dir.file("data") +
                        " --web.listen-address=127.0.0.1:" + std::to_string(port) +
                        " --log.level=warn >" + log + " 2>&1"});
  const bool ready = wait_until([&] { return http(port, "GET", "/-/ready").status == 200; }, 60s);
  INFO("prometheus.log:\n" << read_file(log));
  REQUIRE(ready);

  const std::string auth = "Authorization: Bearer " + kToken;
  Child victim({"sleep", "1000." + std::to_string(::getpid()) + "9"});
  REQUIRE(wait_until([&] { return proc_name(victim.pid()) == "sleep"; }));
  const Reply r = http(agent.port(), "POST", "/v1/faults",
                       R"({"kind": "pause", "target": {"pid": )" + std::to_string(victim.pid()) +
                           R"(}, "duration_ms": 60000})",
                       {auth});
  REQUIRE(r.status == 201);
  REQUIRE(wait_until([&] { return proc_state(victim.pid()) == 'T'; }));
  REQUIRE(
      http(agent.port(), "DELETE", "/v1/faults/" + r.json()["id"].get<std::string>(), "", {auth})
          .status == 200);
  REQUIRE(wait_until([&] { return proc_state(victim.pid()) != 'T'; }));

  // One instant query's result: "" when it has no sample yet, "error: ..." when it fails.
  auto query = [&](const std::string& q) -> std::string {
    const Reply reply = http(port, "GET", "/api/v1/query?query=" + url_encode(q));
    if (reply.status != 200) return "error: HTTP " + std::to_string(reply.status) + reply.body;
    const json j = json::parse(reply.body, nullptr, false);
    if (j.is_discarded() || j.value("status", "") != "success") return "error: " + reply.body;
    const json& result = j["data"]["result"];
    if (!result.is_array() || result.size() != 1) return "";
    return result[0]["value"][1].get<std::string>();
  };
  std::map<std::string, std::string> seen;
  const std::map<std::string, std::string> expected = {
      {R"(sum(achilles_agent_faults_total{job="achilles-agent",outcome="injected"}))", "1"},
      {R"(achilles_agent_faults_total{kind="pause",outcome="injected"})", "1"},
      {R"(achilles_agent_reverts_total{reason="deleted"})", "1"},
      {R"(sum(achilles_agent_reverts_total))", "1"},
      {R"(achilles_agent_faults_active{kind="pause"})", "0"},
      {R"(up{job="achilles-agent"})", "1"}};
  const bool all = wait_until(
      [&] {
        for (const auto& [q, want] : expected)
          seen[q] = query(q);
        return seen == expected;
      },
      60s);
  INFO("prometheus.log:\n" << read_file(log));
  for (const auto& [q, want] : expected) {
    INFO(q);
    CHECK(seen[q] == want);
  }
  CHECK(all);
  // The scrape carried the token and parsed cleanly.
  const json targets = json::parse(http(port, "GET", "/api/v1/targets").body);
  REQUIRE(targets["data"]["activeTargets"].size() == 1);
  CHECK(targets["data"]["activeTargets"][0]["lastError"] == "");
  CHECK(targets["data"]["activeTargets"][0]["health"] == "up");

  // Every query of the shipped dashboard is valid PromQL for this Prometheus.
  const json dash =
      json::parse(read_file(std::string(ACHILLES_DEPLOY_DIR) + "/grafana/achilles-agent.json"));
  for (const auto& panel : dash["panels"])
    for (const auto& target : panel["targets"]) {
      std::string expr = target["expr"];
      expr = std::regex_replace(expr, std::regex(R"(\$__rate_interval)"), "1m");
      expr = std::regex_replace(expr, std::regex(R"(\$instance)"), ".*");
      INFO(expr);
      CHECK(query(expr).rfind("error: ", 0) == std::string::npos);
    }
}
