// Prometheus probes (spec drill.md, docs/drill.md "Prometheus probes"): reading them from a
// plan, the load-time check that a query returns one series, judging Prometheus's answers
// (pure, then against a fake Prometheus on loopback that the test starts), a drill whose
// steady state, expectation and stop condition are a prometheus probe, and the real
// Prometheus of Debian's `prometheus` package, behind basic auth, scraping an app that the
// test, then a drill through the agent, pauses.
//
// One file past 500 lines: the fake server, the real Prometheus and the plans they are
// probed with are shared by the cases here, which test one feature from plan to journal.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "../drill/src/probe.h"
#include "../drill/src/promql.h"
#include "achilles/drill/plan.h"
#include "achilles/drill/runner.h"
#include "fake_http.h"
#include "support.h"

using namespace achilles::drill;
using namespace achilles::injector::testing;
using namespace achilles::drill::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::string problems_in(const std::string& text, const std::string& dir = "") {
  try {
    parse_plan(text, "plan.yaml", dir);
  } catch (const PlanError& e) {
    return e.what();
  }
  return "";
}

/// A plan around one probe (its lines indented as a list item under `probes:`).
std::string plan_with_probe(const std::string& probe, int agent_port = 8474,
                            const std::string& rest = "") {
  return "version: 1\ntitle: prometheus\nagents:\n  local: {url: \"http://127.0.0.1:" +
         std::to_string(agent_port) + "\"}\nprobes:\n" + probe +
         "steady_state: {hold_ms: 300, timeout_ms: 5000}\nlease_ms: 3000\n" + rest +
         (rest.find("steps:") == std::string::npos
              ? "steps:\n  - name: cpu\n    at_ms: 0\n    fault: {agent: local, kind: cpu, "
                "cores: 1, load: 0.1, duration_ms: 100}\n"
              : "");
}

/// A Prometheus answer: a vector of one series per value.
std::string vector_answer(std::initializer_list<const char*> values) {
  json result = json::array();
  int i = 0;
  for (const char* v : values) {
    // Appended, not "i" + to_string(): GCC 12 warns (-Wrestrict) about a false overlap there.
    std::string instance = "i";
    instance += std::to_string(i++);
    result.push_back({{"metric", {{"instance", instance}}}, {"value", {1700000000.5, v}}});
  }
  return json({{"status", "success"}, {"data", {{"resultType", "vector"}, {"result", result}}}})
      .dump();
}

/// A fake Prometheus: the loopback HTTP server of fake_http.h.
using FakePrometheus = FakeHttpServer;

/// The probe of a plan read from `probe_lines`.
ProbeSpec probe_of(const std::string& probe_lines, const std::string& dir = "") {
  return parse_plan(plan_with_probe(probe_lines), "plan.yaml", dir).probes.at(0);
}

/// The request line of a raw request.
std::string request_line(const std::string& request) {
  return request.substr(0, request.find("\r\n"));
}

}  // namespace

// ---------------------------------------------------------------- plans

TEST_CASE("A prometheus probe is read with its query, bounds and credentials",
          "[drill][prometheus]") {
  TempDir dir;
  write_private_file(dir.file("password"), "s3cret\n");
  write_private_file(dir.file("token"), "tok-123\n");
  const Plan plan = parse_plan(
      plan_with_probe("  - name: errors\n"
                      "    prometheus: {url: \"http://127.0.0.1:9090/prom/\", query: "
                      "'sum(rate(http_errors_total[30s]))', timeout_ms: 800,\n"
                      "                 basic_auth: {username: drill, password_file: password}}\n"
                      "    every_ms: 1000\n    window_ms: 3000\n"
                      "    healthy_when: {below: 0.01, success_ratio: 0.5}\n"
                      "    down_when: {above: 0.5}\n"
                      "  - name: up\n"
                      "    prometheus: {url: \"https://prom.example:9090\", query: 'min(up)', "
                      "bearer_token_file: token, insecure_skip_verify: true}\n"
                      "    every_ms: 500\n    healthy_when: {above: 0.5}\n"),
      "plan.yaml", dir.path());
  REQUIRE(plan.probes.size() == 2);
  const ProbeSpec& p = plan.probes[0];
  CHECK(p.kind == ProbeKind::kPrometheus);
  CHECK(p.url == "http://127.0.0.1:9090/prom");  // the trailing slash dropped
  CHECK(p.query == "sum(rate(http_errors_total[30s]))");
  CHECK(p.timeout_ms == 800);
  CHECK(p.window_ms == 3000);
  CHECK(p.success_ratio == Approx(0.5));
  REQUIRE(p.value);
  CHECK(p.value->below);
  CHECK(p.value->limit == Approx(0.01));
  REQUIRE(p.down_when);
  CHECK_FALSE(p.down_when->below);
  CHECK(p.down_when->limit == Approx(0.5));
  CHECK(p.basic_auth_user == "drill");
  CHECK(p.basic_auth_password == "s3cret");
  CHECK(prometheus_authorization(p) == "Basic ZHJpbGw6czNjcmV0");  // base64("drill:s3cret")
  const ProbeSpec& q = plan.probes[1];
  CHECK(q.bearer_token == "tok-123");
  CHECK(prometheus_authorization(q) == "Bearer tok-123");
  CHECK(q.insecure_skip_verify);
  CHECK_FALSE(q.down_when);
  CHECK(p.describe() == "sum(rate(http_errors_total[30s])) at http://127.0.0.1:9090/prom");
  // The plan as the journal writes it names the files, never what they hold.
  const json j = plan.to_json();
  CHECK(j["probes"][0]["healthy_when"] ==
        json::parse(R"({"below":0.01,"success_ratio":0.5,"window_ms":3000})"));
  CHECK(j["probes"][0]["down_when"] == json::parse(R"({"above":0.5})"));
  CHECK(j["probes"][0]["basic_auth"] ==
        json({{"username", "drill"}, {"password_file", dir.file("password")}}));
  CHECK(j["probes"][1]["bearer_token_file"] == dir.file("token"));
  CHECK(j.dump().find("s3cret") == std::string::npos);
  CHECK(j.dump().find("tok-123") == std::string::npos);
  const std::string dry = format_dry_run(plan);
  CHECK_THAT(dry, Catch::Contains("  errors: prometheus sum(rate(http_errors_total[30s])) at "
                                  "http://127.0.0.1:9090/prom every 1000 ms, healthy when the "
                                  "value is below 0.01 in a ratio >= 0.5 of samples over 3000 "
                                  "ms; down when above 0.5 (basic auth as 'drill', password "
                                  "from " +
                                  dir.file("password") + ")\n"));
  CHECK(dry.find("s3cret") == std::string::npos);
}

TEST_CASE("Credentials in a probe's or an agent's URL are refused without being repeated",
          "[drill][prometheus]") {
  // The URLs go to the journal, the report and --dry-run; `admin:s3cret@` also made the host
  // part unreadable, so every sample failed.
  TempDir dir;
  const std::string text =
      "version: 1\ntitle: t\nagents:\n  local: {url: \"http://root:hunter2@127.0.0.1:8474\"}\n"
      "probes:\n"
      "  - name: a\n"
      "    prometheus: {url: \"http://admin:s3cret@prom:9090\", query: 'sum(x)'}\n"
      "    healthy_when: {below: 1}\n"
      "  - name: b\n"
      "    http: {url: \"https://u:pw@www/\"}\n"
      "steps:\n  - name: cpu\n    at_ms: 0\n    fault: {agent: local, kind: cpu, cores: 1, load: "
      "0.1, duration_ms: 100}\n";
  const std::string out = problems_in(text, dir.path());
  CHECK(out ==
        "plan.yaml:4:16: error: agent 'local': 'url' must not hold credentials "
        "(http://***@127.0.0.1:8474): they would be written to the journal and the report; use "
        "token_file\n"
        "plan.yaml:7:23: error: 'url' must not hold credentials (http://***@prom:9090): they "
        "would be written to the journal and the report; use basic_auth with a password_file\n"
        "plan.yaml:10:17: error: 'url' must not hold credentials (https://***@www/): they would "
        "be written to the journal and the report; use an exec probe with curl and a netrc "
        "file");
  for (const char* secret : {"hunter2", "s3cret", "pw@"})
    CHECK(out.find(secret) == std::string::npos);
}

TEST_CASE("A bad prometheus probe gets every problem at once, each located",
          "[drill][prometheus]") {
  TempDir dir;
  write_private_file(dir.file("empty"), "\n");
  const std::string text = plan_with_probe(
      "  - name: a\n"
      "    prometheus: {url: \"ftp://x\", query: 'rate(x[5m])', color: red}\n"
      "    healthy_when: {p99_ms: 10}\n"
      "  - name: b\n"
      "    prometheus: {url: \"http://p:9090\", query: 'sum(x)', bearer_token_file: missing,\n"
      "                 basic_auth: {username: \"a:b\", password_file: empty}}\n"
      "    healthy_when: {below: 1, above: 2}\n"
      "    down_when: {at: 3}\n"
      "  - name: c\n"
      "    prometheus: {url: \"http://p:9090\", query: '  '}\n"
      "  - name: d\n"
      "    tcp: {address: \"127.0.0.1:9\"}\n"
      "    healthy_when: {below: 1}\n"
      "    down_when: {above: 2}\n"
      "  - name: e\n"
      "    prometheus: {url: \"http://p:9090\", query: 'sum(x', ca_file: ca.pem}\n"
      "    healthy_when: {above: lots}\n"
      "    down_when: {below: 1, above: 2}\n");
  CHECK(problems_in(text, dir.path()) ==
        "plan.yaml:7:23: error: 'url' must be http(s)://HOST[:PORT][/PATH], the server's base "
        "URL without a query, got 'ftp://x'\n"
        "plan.yaml:7:41: error: probe 'a': the query may return several series ('rate(...)' "
        "returns as many series as it is given); a probe judges one value: aggregate them in "
        "the outermost expression, for example 'max(rate(x[5m]))', with sum, avg, min, max, "
        "count, group, stddev, stdvar or quantile, without 'by' or 'without'\n"
        "plan.yaml:7:56: error: unknown key 'color' in a prometheus probe\n"
        "plan.yaml:8:19: error: probe 'a': healthy_when needs 'below' or 'above'\n"
        "plan.yaml:8:28: error: probe 'a': p99_ms judges latency; a prometheus probe is judged "
        "by its value (below or above)\n"
        "plan.yaml:10:17: error: probe 'b': basic_auth and bearer_token_file both set the "
        "Authorization header: give one\n"
        "plan.yaml:10:76: error: the token file '" +
            dir.file("missing") +
            "': cannot read: No such file or directory\n"
            "plan.yaml:11:41: error: a basic_auth username cannot hold ':'\n"
            "plan.yaml:11:63: error: the password file '" +
            dir.file("empty") +
            "' is empty\n"
            "plan.yaml:12:19: error: healthy_when takes one of 'below' or 'above', not both\n"
            "plan.yaml:13:16: error: down_when needs 'below' or 'above'\n"
            "plan.yaml:13:17: error: unknown key 'at' in down_when\n"
            "plan.yaml:14:5: error: probe 'c': a prometheus probe needs healthy_when: {below: X} "
            "or {above: X}\n"
            "plan.yaml:15:47: error: probe 'c': 'query' is empty\n"
            "plan.yaml:18:27: error: probe 'd': 'below' judges a prometheus probe's value; this "
            "probe has none\n"
            "plan.yaml:19:16: error: probe 'd': 'down_when' judges a prometheus probe's value; "
            "this probe has none\n"
            "plan.yaml:21:17: error: probe 'e': ca_file and insecure_skip_verify need https://\n"
            "plan.yaml:21:47: error: probe 'e': cannot read the query (a '(' not closed), so it "
            "cannot be shown to return one series\n"
            "plan.yaml:22:27: error: 'above' must be a number, got 'lots'\n"
            "plan.yaml:23:16: error: down_when takes one of 'below' or 'above', not both");
}

TEST_CASE("down_when may not overlap healthy_when", "[drill][prometheus]") {
  auto with = [](const std::string& healthy, const std::string& down) {
    return problems_in(plan_with_probe(
        "  - name: p\n    prometheus: {url: \"http://127.0.0.1:9\", query: 'sum(x)'}\n"
        "    healthy_when: " +
        healthy + "\n    down_when: " + down + "\n"));
  };
  // Disjoint: fine, also when they touch (a value at the limit is neither).
  CHECK(with("{below: 1}", "{above: 5}").empty());
  CHECK(with("{above: 0.5}", "{below: 0.5}").empty());
  CHECK(with("{above: 10}", "{below: 2}").empty());
  CHECK(with("{below: 1}", "{above: 0.5}") ==
        "plan.yaml:9:16: error: probe 'p': down_when (above 0.5) overlaps healthy_when (below "
        "1): a value cannot be both healthy and down");
  CHECK(with("{above: 1}", "{below: 2}") ==
        "plan.yaml:9:16: error: probe 'p': down_when (below 2) overlaps healthy_when (above "
        "1): a value cannot be both healthy and down");
  CHECK(with("{below: 1}", "{below: 0}") ==
        "plan.yaml:9:16: error: probe 'p': down_when (below 0) overlaps healthy_when (below "
        "1): a value cannot be both healthy and down");
}

TEST_CASE("The load-time check accepts queries that return one series and refuses the rest",
          "[drill][prometheus]") {
  for (const char* ok : {
           "sum(rate(http_requests_total{code=~\"5..\"}[5m]))",
           "sum(rate(errors[1m])) / sum(rate(requests[1m]))",
           "max(up{job=\"app\"})",
           "min by () (up)",
           "avg(x) without ()",  // no: see below; replaced in the refused list
           "count(up == 1) >= bool 2",
           "quantile(0.9, latency_seconds)",
           "histogram_quantile(0.99, sum by (le) (rate(http_duration_seconds_bucket[5m])))",
           "histogram_quantile(0.99, sum(rate(x_bucket[5m])) by (le))",
           "scalar(up{instance=\"a\"})",
           "vector(1)",
           "42",
           "-sum(x) + 1",
           "(sum(a) or vector(0)) * 100",
           "clamp_min(sum(a) - sum(b), 0)",
           "abs(sum(x))",
           "time() - max(last_success_timestamp_seconds)",
           "sum(x) # a comment\n",
           "sum(x{a=\"(\"})",
       }) {
    INFO(ok);
    if (std::string(ok) == "avg(x) without ()") {
      CHECK(promql_multi_series(ok));  // without () keeps every label: one series per input
      continue;
    }
    CHECK_FALSE(promql_multi_series(ok));
  }
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"up{job=\"app\"}", "the selector 'up' returns every series of the metric that matches"},
      {"{job=\"app\"}", "a selector returns every series that matches it"},
      {"rate(x[5m])", "'rate(...)' returns as many series as it is given"},
      {"x[5m]", "a range or a subquery returns a matrix, not one value"},
      {"sum(x)[5m:1m]", "a range or a subquery returns a matrix, not one value"},
      {"sum by (instance) (up)", "'sum by (...)' keeps one series per group"},
      {"sum(up) by (instance)", "'sum by (...)' keeps one series per group"},
      {"sum without (instance) (up)", "'sum without (...)' keeps one series per group"},
      {"topk(1, x)", "'topk' returns several series"},
      {"abs(x)", "the selector 'x' returns every series of the metric that matches"},
      {"sum(x) / y", "the selector 'y' returns every series of the metric that matches"},
      {"increase(x[1m])", "'increase(...)' returns as many series as it is given"},
      {"delta(sum(x)[5m:1m])", "'delta(...)' returns as many series as it is given"},
      {"histogram_quantile(0.9, rate(x_bucket[5m]))",
       "'histogram_quantile' returns one series per histogram: aggregate its buckets with "
       "sum by (le) (...)"},
      {"label_replace(sum(x), \"a\", \"b\", \"\", \"\")",
       "'label_replace(...)' returns as many series as it is given"},
      {"\"text\"", "a string is not a value to judge"},
  };
  for (const auto& [query, why] : refused) {
    INFO(query);
    auto problem = promql_multi_series(query);
    REQUIRE(problem);
    CHECK(*problem == "the query may return several series (" + why +
                          "); a probe judges one value: aggregate them in the outermost "
                          "expression, for example 'max(" +
                          query +
                          ")', with sum, avg, min, max, count, group, stddev, stdvar or "
                          "quantile, without 'by' or 'without'");
  }
  // Hostile nesting is a problem, not a stack overflow.
  CHECK(promql_multi_series(std::string(100000, '(') + "1" + std::string(100000, ')')) ==
        "cannot read the query (nested more than 256 deep), so it cannot be shown to return "
        "one series");
  CHECK_FALSE(promql_multi_series(std::string(100, '(') + "sum(x)" + std::string(100, ')')));
  CHECK(promql_multi_series("sum(x") ==
        "cannot read the query (a '(' not closed), so it cannot be shown to return one series");
  CHECK(promql_multi_series("sum(x) $") ==
        "cannot read the query (unexpected '$'), so it cannot be shown to return one series");
  CHECK(promql_multi_series("sum(x{a=\"b})") ==
        "cannot read the query (a string that does not end), so it cannot be shown to return "
        "one series");
}

// ---------------------------------------------------------------- Prometheus's answers

TEST_CASE("A query is sent URL-encoded to /api/v1/query under the server's path",
          "[drill][prometheus]") {
  CHECK(url_encode("sum(rate(x{job=\"a b\"}[30s])) > 0.5&x=1") ==
        "sum%28rate%28x%7Bjob%3D%22a%20b%22%7D%5B30s%5D%29%29%20%3E%200.5%26x%3D1");
  CHECK(url_encode("é~_.-") == "%C3%A9~_.-");
  CHECK(prometheus_target("/", "up") == "/api/v1/query?query=up");
  CHECK(prometheus_target("/prom/", "up") == "/prom/api/v1/query?query=up");
}

TEST_CASE("Prometheus's answers become a value or a failed sample with its reason",
          "[drill][prometheus]") {
  ProbeSpec spec = probe_of(
      "  - name: p\n    prometheus: {url: \"http://127.0.0.1:9\", query: 'sum(x)'}\n"
      "    healthy_when: {below: 1}\n    down_when: {above: 5}\n");
  auto answer = [&](int status, const std::string& body) {
    HttpResult r;
    r.status = status;
    r.body = body;
    return interpret_prometheus(spec, r);
  };
  auto v = answer(200, vector_answer({"0.25"}));
  CHECK(v.ok);
  CHECK(v.error.empty());
  CHECK(v.value == 0.25);
  v = answer(200, R"({"status":"success","data":{"resultType":"scalar","result":[1.5,"3"]}})");
  CHECK(v.ok);
  CHECK(v.value == 3);
  v = answer(200, vector_answer({"+Inf"}));
  CHECK_FALSE(v.ok);  // above down_when
  CHECK(v.error == "the value inf is above 5 (down_when)");
  v = answer(200, vector_answer({"7.5"}));
  CHECK_FALSE(v.ok);
  CHECK(v.value == 7.5);  // the value is kept for the chart
  CHECK(v.error == "the value 7.5 is above 5 (down_when)");
  v = answer(200, vector_answer({"2"}));
  CHECK(v.ok);  // outside healthy_when, not down: judged degraded over the window
  CHECK(v.value == 2);
  const std::vector<std::pair<HttpResult, std::string>> failures = {
      {{"", 200, vector_answer({}), 0}, "the query returned no sample (an empty vector)"},
      {{"", 200, vector_answer({"1", "2", "3"}), 0},
       "the query returned 3 series; a probe judges one value: aggregate them (e.g. sum(...) "
       "or max(...))"},
      {{"", 400,
        R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:4: parse error"})",
        0},
       "Prometheus answered HTTP 400: bad_data: invalid parameter \"query\": 1:4: parse error"},
      {{"", 503, "Service Unavailable", 0}, "HTTP 503: Service Unavailable"},
      {{"", 200, "<html>login</html>", 0},
       "the answer is not Prometheus's JSON: <html>login</html>"},
      {{"", 401, "", 0}, "HTTP 401"},
      {{"", 200, R"({"status":"success","data":{"resultType":"matrix","result":[]}})", 0},
       "the query returned a matrix, not an instant value (a scalar or a vector of one series)"},
      {{"", 200, R"({"status":"success","data":{"resultType":"scalar","result":[1,"NaN"]}})", 0},
       "the value is NaN"},
      {{"", 200, R"({"status":"success","data":{"resultType":"scalar","result":[1,"x"]}})", 0},
       "the value 'x' is not a number"},
      {{"", 200, R"({"status":"success","data":{"resultType":"scalar","result":[1,2]}})", 0},
       "the value is not [time, \"number\"]"},
      {{"", 200, R"({"status":"success"})", 0}, "the answer has no 'data'"},
      {{"timed out after 300 ms", 0, "", 300}, "timed out after 300 ms"},
  };
  for (const auto& [r, reason] : failures) {
    INFO(r.body);
    const auto got = interpret_prometheus(spec, r);
    CHECK_FALSE(got.ok);
    CHECK(got.error == reason);
  }
}

TEST_CASE("A prometheus probe judges the fake server's answers, its auth and its timeout",
          "[drill][prometheus]") {
  TempDir dir;
  write_private_file(dir.file("password"), "pa:ss word\n");
  write_private_file(dir.file("token"), "tok-123\n");
  std::atomic<int> mode{0};
  FakePrometheus server([&](const std::string&) -> FakePrometheus::Answer {
    switch (mode.load()) {
      case 0:
        return {200, vector_answer({"0.004"}), 0ms};
      case 1:
        return {200, R"({"status":"success","data":{"resultType":"scalar","result":[1,"2"]}})",
                0ms};
      case 2:
        return {200, vector_answer({}), 0ms};
      case 3:
        return {
            422,
            R"({"status":"error","errorType":"execution","error":"query timed out in expression evaluation"})",
            0ms};
      case 4:
        return {200, vector_answer({"1", "1"}), 0ms};
      default:
        return {200, vector_answer({"1"}), 3000ms};
    }
  });
  const std::string query = "sum(rate(http_errors_total{code=~\"5..\"}[30s]))";
  const ProbeSpec basic = probe_of(
      "  - name: p\n    prometheus: {url: \"" + server.url() + "/prom\", query: '" + query +
          "', timeout_ms: 300, basic_auth: {username: drill, password_file: password}}\n"
          "    healthy_when: {below: 0.01}\n",
      dir.path());
  auto s = sample_probe(basic);
  CHECK(s.ok);
  CHECK(s.value == 0.004);
  auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  CHECK(request_line(requests[0]) ==
        "GET /prom/api/v1/query?query=" + url_encode(query) + " HTTP/1.1");
  // base64("drill:pa:ss word"): the password as the file holds it, colon and space included.
  CHECK_THAT(requests[0], Catch::Contains("\r\nAuthorization: Basic ZHJpbGw6cGE6c3Mgd29yZA==\r\n"));
  mode = 1;
  s = sample_probe(basic);
  CHECK(s.ok);
  CHECK(s.value == 2);  // a scalar; outside healthy_when, but a value
  mode = 2;
  s = sample_probe(basic);
  CHECK_FALSE(s.ok);
  CHECK(s.error == "the query returned no sample (an empty vector)");
  mode = 3;
  s = sample_probe(basic);
  CHECK(s.error ==
        "Prometheus answered HTTP 422: execution: query timed out in expression evaluation");
  mode = 4;
  s = sample_probe(basic);
  CHECK(s.error ==
        "the query returned 2 series; a probe judges one value: aggregate them (e.g. sum(...) "
        "or max(...))");
  mode = 5;
  s = sample_probe(basic);
  CHECK_FALSE(s.ok);
  CHECK(s.error == "timed out after 300 ms");
  mode = 0;
  const ProbeSpec bearer = probe_of("  - name: p\n    prometheus: {url: \"" + server.url() +
                                        "\", query: 'max(up)', bearer_token_file: token}\n"
                                        "    healthy_when: {above: 0.5}\n",
                                    dir.path());
  s = sample_probe(bearer);
  CHECK(s.ok);
  requests = server.requests();
  CHECK(request_line(requests.back()) == "GET /api/v1/query?query=max%28up%29 HTTP/1.1");
  CHECK_THAT(requests.back(), Catch::Contains("\r\nAuthorization: Bearer tok-123\r\n"));
  // Without credentials, no Authorization header at all.
  const ProbeSpec open = probe_of("  - name: p\n    prometheus: {url: \"" + server.url() +
                                  "\", query: 'max(up)'}\n    healthy_when: {above: 0.5}\n");
  CHECK(sample_probe(open).ok);
  CHECK(server.requests().back().find("Authorization") == std::string::npos);
  // Nobody listening.
  const ProbeSpec closed = probe_of("  - name: p\n    prometheus: {url: \"http://127.0.0.1:" +
                                    std::to_string(unused_loopback_port()) +
                                    "\", query: 'max(up)'}\n    healthy_when: {above: 0.5}\n");
  s = sample_probe(closed);
  CHECK_FALSE(s.ok);
  CHECK(s.error == "Connection refused");
}

TEST_CASE("A prometheus value is healthy within healthy_when, degraded outside, down by down_when",
          "[drill][prometheus]") {
  const ProbeSpec p = probe_of(
      "  - name: p\n    prometheus: {url: \"http://127.0.0.1:9\", query: 'sum(x)'}\n"
      "    every_ms: 100\n    window_ms: 300\n    healthy_when: {below: 1}\n"
      "    down_when: {above: 5}\n");
  // What interpret_prometheus makes of values 0.5, 2 and 7: ok, ok, failed (down_when).
  std::vector<Sample> s = {{0, true, 1, 0.5},   {100, true, 1, 0.5},  {200, true, 1, 0.5},
                           {300, true, 1, 2},   {400, true, 1, 2},    {500, true, 1, 2},
                           {600, false, 1, 7},  {700, false, 1, 7},   {800, false, 1, 7},
                           {900, true, 1, 0.5}, {1000, true, 1, 0.5}, {1100, true, 1, 0.5}};
  const auto h = health_series(p, s);
  CHECK(h[2] == Health::kHealthy);
  CHECK(h[3] == Health::kDegraded);
  CHECK(h[5] == Health::kDegraded);
  CHECK(h[8] == Health::kDown);
  CHECK(h[9] == Health::kDegraded);  // the window still holds down samples
  CHECK(h[11] == Health::kHealthy);
  // The expectation `down` holds on the down_when samples: an outage of 300 ms.
  const Verdict down = judge({"p", Health::kDown}, std::nullopt, s, h, 0, 1200);
  CHECK(down.passed);
  CHECK(down.outage_ms == 300);
  const Verdict degraded =
      judge({"p", Health::kDegraded}, std::nullopt, std::vector<Sample>(s.begin(), s.begin() + 6),
            std::vector<Health>(h.begin(), h.begin() + 6), 0, 600);
  CHECK(degraded.passed);
  CHECK(degraded.message == "degraded; still not healthy at the end of the window");
}

TEST_CASE("A prometheus probe's summaries give the least and greatest value of each span",
          "[drill][prometheus]") {
  const std::vector<Sample> s = {{0, true, 1, 0.5},
                                 {100, true, 1, 2},
                                 {200, false, 1, 7},
                                 {300, false, 300, std::nullopt},
                                 {400, true, 1, 0.25}};
  json j = summarize(s, 0, 500);
  CHECK(j["min_value"] == 0.25);
  CHECK(j["max_value"] == 7);  // a down_when sample's value counts
  j = summarize(s, 300, 400);  // only the failed query: no value
  CHECK_FALSE(j.contains("min_value"));
  CHECK(j["samples"] == 1);
  // Probes without values have no such keys.
  const std::vector<Sample> plain = {{0, true, 1, std::nullopt}};
  CHECK_FALSE(summarize(plain, 0, 100).contains("min_value"));
}

// ---------------------------------------------------------------- drills

namespace {

/// A fake Prometheus whose one series has the value the test sets.
struct ValueServer {
  std::atomic<double> value{0.5};
  FakePrometheus server{[this](const std::string&) -> FakePrometheus::Answer {
    return {200, vector_answer({std::to_string(value.load()).c_str()}), 0ms};
  }};
};

std::string errors_probe(const std::string& url) {
  return "  - name: errors\n    prometheus: {url: \"" + url +
         "\", query: 'sum(rate(errors_total[30s]))'}\n    every_ms: 50\n    window_ms: 200\n"
         "    healthy_when: {below: 1}\n    down_when: {above: 5}\n";
}

const char* const kCpuStep =
    "steps:\n  - name: cpu\n    at_ms: 0\n"
    "    fault: {agent: local, kind: cpu, cores: 1, load: 0.1, duration_ms: 100}\n"
    "    expect: {errors: down}\n    observe_ms: 1500\n";

}  // namespace

TEST_CASE(
    "A drill judges a prometheus probe in its steady state and expectation, values in the "
    "journal",
    "[drill][prometheus][slow]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback"});
  ValueServer prom;
  const Plan plan =
      parse_plan(plan_with_probe(errors_probe(prom.server.url()), agent.port(), kCpuStep),
                 "plan.yaml", dir.path());
  // 200 ms after the injection the value leaps above down_when for 400 ms.
  std::thread changer;
  RunOptions options;
  options.log = [&](const std::string& line) {
    if (line.find("injected") == std::string::npos || changer.joinable()) return;
    changer = std::thread([&] {
      std::this_thread::sleep_for(200ms);
      prom.value = 7;
      std::this_thread::sleep_for(400ms);
      prom.value = 0.5;
    });
  };
  const json j = run(plan, options);
  if (changer.joinable()) changer.join();
  INFO(j.dump(2));
  CHECK(j["verdict"] == "passed");
  const json& x = j["steps"][0]["expectations"][0];
  CHECK(x["passed"] == true);
  CHECK_THAT(x["message"].get<std::string>(), Catch::StartsWith("down as expected: an outage of"));
  const json& probe = j["probes"][0];
  CHECK(probe["kind"] == "prometheus");
  CHECK(probe["query"] == "sum(rate(errors_total[30s]))");
  CHECK(probe["healthy_when"]["below"] == 1);
  CHECK(probe["down_when"] == json::parse(R"({"above":5})"));
  // Every sample carries its value: 0.5 before and after, 7 while down (a failed sample).
  bool saw_low = false, saw_down = false;
  for (const auto& s : probe["samples"]) {
    REQUIRE(s.size() == 4);
    if (s[3] == 0.5) {
      CHECK(s[1] == 1);
      saw_low = true;
    }
    if (s[3] == 7) {
      CHECK(s[1] == 0);
      saw_down = true;
    }
  }
  CHECK(saw_low);
  CHECK(saw_down);
  // Why those samples failed, once per run of them.
  REQUIRE(probe["failures"].size() >= 1);
  bool reason = false;
  for (const auto& f : probe["failures"])
    reason |= f["reason"] == "the value 7 is above 5 (down_when)" && f["samples"].get<int>() >= 2;
  CHECK(reason);
}

TEST_CASE("A prometheus probe stops a drill (abort_when) and keeps one from starting",
          "[drill][prometheus][slow]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback"});
  ValueServer prom;
  const std::string long_step =
      "steps:\n  - name: cpu\n    at_ms: 0\n"
      "    fault: {agent: local, kind: cpu, cores: 1, load: 0.1, duration_ms: 20000}\n"
      "    expect: {errors: healthy}\n    observe_ms: 20000\n"
      "abort_when: {probe: errors, unhealthy_for_ms: 300}\n";
  const Plan plan =
      parse_plan(plan_with_probe(errors_probe(prom.server.url()), agent.port(), long_step),
                 "plan.yaml", dir.path());
  RunOptions options;
  // Degraded (outside healthy_when, not down) from the injection on.
  options.log = [&](const std::string& line) {
    if (line.find("injected") != std::string::npos) prom.value = 2;
  };
  json j = run(plan, options);
  INFO(j.dump(2));
  CHECK(j["verdict"] == "aborted");
  CHECK(j["reason"] == "probe 'errors' not healthy for 300 ms (abort_when)");
  CHECK(j["rollback"][0]["result"] == "reverted");
  // Degraded from the start: no steady state, nothing injected.
  prom.value = 2;
  Plan unsteady = plan;
  unsteady.steady_timeout_ms = 800;
  j = run(unsteady);
  CHECK(j["verdict"] == "skipped");
  CHECK_THAT(j["reason"].get<std::string>(),
             Catch::StartsWith("no steady state: probe 'errors' was degraded"));
  // A query that fails: the reason says why.
  prom.server.set([](const std::string&) -> FakePrometheus::Answer {
    return {400, R"({"status":"error","errorType":"bad_data","error":"parse error"})", 0ms};
  });
  j = run(unsteady);
  CHECK(j["verdict"] == "skipped");
  CHECK_THAT(j["reason"].get<std::string>(),
             Catch::StartsWith("no steady state: probe 'errors' was down (last failure: "
                               "Prometheus answered HTTP 400: bad_data: parse error)"));
  CHECK(j["probes"][0]["failures"][0]["reason"] ==
        "Prometheus answered HTTP 400: bad_data: parse error");
  CHECK(j["rollback"].empty());
}

// ---------------------------------------------------------------- the real Prometheus

namespace {

bool have_prometheus() {
  return std::system("command -v prometheus >/dev/null 2>&1") == 0;
}

/// A small app serving /metrics on loopback, one request at a time: stopped (SIGSTOP), it
/// answers nothing, and Prometheus's scrape of it times out.
const char* const kApp =
    "import http.server\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "  def log_message(self, *a): pass\n"
    "  def do_GET(self):\n"
    "    b = b'# TYPE app_requests_total counter\\napp_requests_total 42\\n'\n"
    "    self.send_response(200)\n"
    "    self.send_header('Content-Type', 'text/plain; version=0.0.4')\n"
    "    self.send_header('Content-Length', str(len(b)))\n"
    "    self.end_headers()\n"
    "    self.wfile.write(b)\n"
    "s = http.server.HTTPServer(('127.0.0.1', 0), H)\n"
    "print(s.server_address[1], flush=True)\n"
    "s.serve_forever()\n";

/// The password of user `drill` on the real Prometheus, and its bcrypt hash (cost 4) for
/// Prometheus's web config (made with Python's crypt.crypt(..., METHOD_BLOWFISH)): a colon and
/// a space in it, which basic auth must carry as they are.
const char* const kPassword = "pa:ss word";
const char* const kPasswordHash = "$2b$04$0j0pjy9Yn4JtaUxC4aDKnuZ2pjPoxm0c5V4sjFsBH1B0UYft.ElCm";
/// base64("drill:pa:ss word")
const char* const kBasicAuth = "Authorization: Basic ZHJpbGw6cGE6c3Mgd29yZA==";

/// Prometheus on a loopback port, scraping job "app" every second, with its own config and
/// data directory under `dir`, its API behind basic auth (user `drill`, kPassword); killed
/// when destroyed (Child), its directory removed with `dir`.
struct RealPrometheus {
  int port = unused_loopback_port();
  std::unique_ptr<Child> process;
  RealPrometheus(const TempDir& dir, int app_port) {
    std::ofstream(dir.file("prometheus.yml"))
        << "global:\n  scrape_interval: 1s\n  scrape_timeout: 500ms\n"
           "  evaluation_interval: 1s\nscrape_configs:\n  - job_name: app\n"
           "    static_configs:\n      - targets: ['127.0.0.1:"
        << app_port << "']\n";
    std::ofstream(dir.file("web.yml")) << "basic_auth_users:\n  drill: '" << kPasswordHash << "'\n";
    process = std::make_unique<Child>(std::vector<std::string>{
        "sh", "-c",
        "exec prometheus --config.file=" + dir.file("prometheus.yml") + " --web.config.file=" +
            dir.file("web.yml") + " --storage.tsdb.path=" + dir.file("data") +
            " --web.listen-address=127.0.0.1:" + std::to_string(port) + " --log.level=warn >" +
            dir.file("prometheus.log") + " 2>&1"});
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  bool ready() {
    try {
      return http(port, "GET", "/-/ready", "", {kBasicAuth}).status == 200;
    } catch (const std::exception&) {
      return false;
    }
  }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE(
    "Through the real Prometheus, the app's up goes down when it stops answering, and a "
    "drill that pauses it passes",
    "[drill][prometheus][slow]") {
  if (!have_prometheus()) {
    WARN("skipped: prometheus not installed");
    return;
  }
  TempDir dir;
  Child app({"python3", "-c", kApp}, true);
  const int app_port = std::stoi(app.read_line());
  RealPrometheus prom(dir, app_port);
  INFO("prometheus log: " << read_file(dir.file("prometheus.log")));
  REQUIRE(wait_until([&] { return prom.ready(); }, 60s));
  write_private_file(dir.file("password"), std::string(kPassword) + "\n");
  const std::string auth = ", basic_auth: {username: drill, password_file: password}";
  const ProbeSpec up = probe_of("  - name: app-up\n    prometheus: {url: \"" + prom.url() +
                                    "\", query: 'min(up{job=\"app\"})', timeout_ms: 2000" + auth +
                                    "}\n    healthy_when: {above: 0.5}\n    down_when: {below: "
                                    "0.5}\n",
                                dir.path());
  // Without the credentials, Prometheus refuses the query: a failed sample that says so.
  const ProbeSpec anonymous =
      probe_of("  - name: app-up\n    prometheus: {url: \"" + prom.url() +
               "\", query: 'min(up{job=\"app\"})'}\n    healthy_when: {above: 0.5}\n");
  const ProbeOutcome refused = sample_probe(anonymous);
  CHECK_FALSE(refused.ok);
  CHECK_THAT(refused.error, Catch::StartsWith("HTTP 401"));
  // Up through the probe once Prometheus has scraped the app.
  REQUIRE(wait_until([&] { return sample_probe(up).value == 1.0; }, 30s));
  CHECK(sample_probe(up).ok);
  // The app stops answering: the scrape times out, up is 0, the probe is down.
  REQUIRE(::kill(app.pid(), SIGSTOP) == 0);
  ProbeOutcome last;
  CHECK(wait_until(
      [&] {
        last = sample_probe(up);
        return last.value == 0.0;
      },
      30s));
  CHECK_FALSE(last.ok);
  CHECK(last.error == "the value 0 is below 0.5 (down_when)");
  REQUIRE(::kill(app.pid(), SIGCONT) == 0);
  CHECK(wait_until([&] { return sample_probe(up).ok; }, 30s));
  // The bare selector returns one series per target: refused when the plan is read.
  CHECK_THAT(problems_in(plan_with_probe("  - name: app-up\n    prometheus: {url: \"" + prom.url() +
                                         "\", query: 'up{job=\"app\"}'}\n"
                                         "    healthy_when: {above: 0.5}\n")),
             Catch::Contains("the query may return several series (the selector 'up' returns "
                             "every series of the metric that matches)"));

  // The same as a drill, by `achilles drill run`: the agent pauses the app for 4 s.
  Agent agent(dir, {"--insecure-loopback", "--allow-process", "python3"});
  std::ofstream(dir.file("plan.yaml"))
      << "version: 1\ntitle: the app's scrape goes down while the app is paused\n"
         "agents:\n  local: {url: \"http://127.0.0.1:"
      << agent.port() << "\"}\nprobes:\n  - name: app-up\n    prometheus: {url: \"" << prom.url()
      << "\", query: 'min(up{job=\"app\"})', timeout_ms: 2000" << auth
      << "}\n    every_ms: 250\n"
         "    window_ms: 1000\n    healthy_when: {above: 0.5}\n    down_when: {below: 0.5}\n"
         "steady_state: {hold_ms: 1500, timeout_ms: 30000}\nlease_ms: 5000\nsteps:\n"
         "  - name: pause the app\n    at_ms: 0\n    fault: {agent: local, kind: pause, "
         "target: {pid: "
      << app.pid()
      << "}, duration_ms: 4000}\n    expect: {app-up: down, recover_within_ms: 15000}\n"
         "    observe_ms: 15000\n";
  Child drill({ACHILLES_BINARY, "drill", "run", dir.file("plan.yaml"), "--journal",
               dir.file("journal.json"), "--report", dir.file("report.html"), "--history",
               dir.file("history.jsonl")},
              true);
  const int rc = drill.wait(120s);
  INFO("drill stderr: " << drill.stderr_text());
  const json j = json::parse(read_file(dir.file("journal.json")));
  INFO(j.dump(2));
  CHECK(rc == 0);
  CHECK(j["verdict"] == "passed");
  const json& x = j["steps"][0]["expectations"][0];
  CHECK(x["passed"] == true);
  REQUIRE(x["recovery_ms"].is_number());
  // Values of 1 and 0 in the journal, the failures' reason, and the chart of values.
  int ones = 0, zeros = 0;
  for (const auto& s : j["probes"][0]["samples"]) {
    ones += s[3] == 1;
    zeros += s[3] == 0;
  }
  CHECK(ones > 0);
  CHECK(zeros >= 2);
  CHECK(j["probes"][0]["failures"][0]["reason"] == "the value 0 is below 0.5 (down_when)");
  const std::string report = read_file(dir.file("report.html"));
  CHECK_THAT(report, Catch::Contains("path class=\"value\""));
  // The password is in no output: the journal and the report name its file only.
  CHECK(read_file(dir.file("journal.json")).find(kPassword) == std::string::npos);
  CHECK(report.find(kPassword) == std::string::npos);
  CHECK(j["plan"]["probes"][0]["basic_auth"]["password_file"] == dir.file("password"));
  // The rollback (or the fault's end) continued the app.
  CHECK(wait_until([&] { return proc_state(app.pid()) != 'T'; }));
  CHECK(wait_until([&] { return sample_probe(up).ok; }, 30s));
}
