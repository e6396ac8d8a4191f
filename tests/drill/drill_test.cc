// Drills: reading plans, judging samples, and the runner against a real agent and processes
// the tests start themselves. The end-to-end drills against haproxy are e2e_test.sh and
// demo_test.sh beside it.
// One file past 500 lines: the runner's tests share the agent and probe fixtures they start.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "achilles/drill/plan.h"
#include "achilles/drill/runner.h"
#include "plan_support.h"
#include "support.h"

using namespace achilles::drill;
using achilles::drill::testing::problems_of;
using namespace achilles::injector::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const char* const kGoodPlan = R"(version: 1
title: web tier fails over
agents:
  local: {url: "http://127.0.0.1:8474"}
window: {days: [mon, fri], from: "09:00", to: "16:30", tz: "Europe/Berlin"}
probes:
  - name: www
    http: {url: "http://127.0.0.1:8080/", timeout_ms: 500, status: [200, 204], body_contains: ok}
    every_ms: 100
    healthy_when: {success_ratio: 0.99, p99_ms: 250}
  - name: db
    tcp: {address: "127.0.0.1:5432"}
steady_state: {hold_ms: 2000}
steps:
  - name: kill web-1
    at_ms: 0
    fault: {agent: local, kind: kill, target: {process: web-1}, signal: SIGTERM}
    expect: {www: healthy, recover_within_ms: 5000}
  - name: slow database
    at_ms: 15000
    fault: {agent: local, kind: latency, proxy: db, latency_ms: 300, duration_ms: 10000}
    expect: {www: degraded}
abort_when: {probe: www, unhealthy_for_ms: 20000}
rollback: always
lease_ms: 6000
)";

std::vector<Sample> series(std::initializer_list<std::tuple<std::int64_t, bool, double>> xs) {
  std::vector<Sample> out;
  for (auto [t, ok, ms] : xs)
    out.push_back({t, ok, ms, std::nullopt});
  return out;
}

/// Samples every 100 ms from `from` to `to` (exclusive), ok unless inside [bad_from, bad_to).
std::vector<Sample> every_100ms(std::int64_t from, std::int64_t to, std::int64_t bad_from,
                                std::int64_t bad_to, double latency = 2) {
  std::vector<Sample> out;
  for (std::int64_t t = from; t < to; t += 100)
    out.push_back({t, !(t >= bad_from && t < bad_to), latency, std::nullopt});
  return out;
}

}  // namespace

TEST_CASE("A drill plan is read with every key of the spec", "[drill]") {
  Plan p = parse_plan(kGoodPlan, "plan.yaml", "");
  CHECK(p.title == "web tier fails over");
  REQUIRE(p.agents.count("local"));
  CHECK(p.agents["local"].url == "http://127.0.0.1:8474");
  REQUIRE(p.window);
  CHECK(p.window->days == std::vector<int>{1, 5});
  CHECK(p.window->from_minute == 9 * 60);
  CHECK(p.window->to_minute == 16 * 60 + 30);
  CHECK(p.window->tz == "Europe/Berlin");
  REQUIRE(p.probes.size() == 2);
  CHECK(p.probes[0].kind == ProbeKind::kHttp);
  CHECK(p.probes[0].statuses == std::vector<int>{200, 204});
  CHECK(p.probes[0].body_contains == "ok");
  CHECK(p.probes[0].timeout_ms == 500);
  CHECK(p.probes[0].success_ratio == Approx(0.99));
  CHECK(*p.probes[0].p99_ms == Approx(250));
  CHECK(p.probes[1].kind == ProbeKind::kTcp);
  CHECK(p.probes[1].every_ms == 200);  // the default
  CHECK(p.hold_ms == 2000);
  CHECK(p.steady_timeout_ms == 32000);
  REQUIRE(p.steps.size() == 2);
  CHECK(p.steps[0].faults[0].agent == "local");
  CHECK(p.steps[0].faults[0].fault ==
        json::parse(R"({"kind":"kill","target":{"process":"web-1"},"signal":"SIGTERM"})"));
  CHECK(*p.steps[0].recover_within_ms == 5000);
  CHECK(p.steps[1].faults[0].fault["latency_ms"] == 300);
  CHECK(p.steps[1].expect[0].expected == Health::kDegraded);
  // Step windows: until the next step, and the last one its duration plus 3 s.
  CHECK(p.step_end_ms(0) == 15000);
  CHECK(p.step_end_ms(1) == 15000 + 13000);
  CHECK(p.abort_when->unhealthy_for_ms == 20000);
  CHECK(p.lease_ms == 6000);
}

TEST_CASE("A bad plan gets every problem at once, each with its line and column", "[drill]") {
  const std::string text = R"(version: 2
title: broken
agents:
  local: {url: "ftp://x", tokn: a}
probes:
  - name: www
    http: {url: "http://127.0.0.1/"}
    every_ms: 5
    healthy_when: {success_ratio: 1.5}
  - name: www
    tcp: {address: "nocolon"}
steps:
  - name: one
    at_ms: 100
    fault: {agent: remote, kind: latency, proxy: db}
    expect: {www: sideways, api: healthy}
  - name: two
    at_ms: 50
    fault: {agent: local, kind: explode}
abort_when: {probe: nothing, unhealthy_for_ms: 0}
rollback: never
)";
  CHECK(problems_of(text) ==
        "plan.yaml:1:10: error: unsupported version '2': this achilles reads version 1\n"
        "plan.yaml:4:16: error: agent 'local': 'url' must be http://HOST:PORT or "
        "https://HOST:PORT, got 'ftp://x'\n"
        "plan.yaml:4:27: error: unknown key 'tokn' in agent 'local'\n"
        "plan.yaml:8:15: error: 'every_ms' must be between 10 and 3600000, got 5\n"
        "plan.yaml:9:35: error: 'success_ratio' must be between 0 and 1, got 1.5\n"
        "plan.yaml:10:11: error: probe 'www' is defined twice\n"
        "plan.yaml:11:20: error: 'address' must be HOST:PORT, got 'nocolon'\n"
        "plan.yaml:15:12: error: step 'one': missing field 'latency_ms'\n"
        "plan.yaml:15:12: error: step 'one': missing field 'duration_ms' (it bounds the fault "
        "in time)\n"
        "plan.yaml:15:20: error: unknown agent 'remote' (the plan's agents: local)\n"
        "plan.yaml:16:19: error: expectation for 'www' must be healthy, degraded, up or down\n"
        "plan.yaml:16:29: error: 'expect' names 'api', which is not a probe\n"
        "plan.yaml:18:12: error: steps must be in order of at_ms: 'two' at 50 comes after "
        "'one' at 100\n"
        "plan.yaml:19:33: error: step 'two': field 'kind' must be one of kill, pause, latency, "
        "cpu, memory, network\n"
        "plan.yaml:20:21: error: 'abort_when' names 'nothing', which is not a probe\n"
        "plan.yaml:20:48: error: 'unhealthy_for_ms' must be between 1 and 86400000, got 0\n"
        "plan.yaml:21:11: error: 'rollback' must be 'always' (a drill always reverts what it "
        "injected)");
}

TEST_CASE("A plan needs its required keys and a readable token file", "[drill]") {
  CHECK(problems_of("version: 1\n") ==
        "plan.yaml:1:1: error: the plan needs 'title'\n"
        "plan.yaml:1:1: error: the plan needs 'agents'\n"
        "plan.yaml:1:1: error: the plan needs 'probes'\n"
        "plan.yaml:1:1: error: the plan needs 'steps'");
  CHECK(problems_of("version: 1\ntitle: [unclosed\n") ==
        "plan.yaml:3:1: error: syntax error: end of sequence flow not found");
  const std::string text = R"(version: 1
title: t
agents: {a: {url: "http://127.0.0.1:1", token_file: /nonexistent/token}}
probes: [{name: p, exec: {command: ["true"]}}]
steps: [{name: s, at_ms: 0, fault: {agent: a, kind: cpu, cores: 1, load: 0.5, duration_ms: 10}}]
)";
  CHECK(problems_of(text) ==
        "plan.yaml:3:53: error: the token file '/nonexistent/token': cannot read: No such file or "
        "directory");
}

TEST_CASE("A window's unknown time zone is a problem of the plan, located", "[drill]") {
  const std::string text = R"(version: 1
title: t
agents: {a: {url: "http://127.0.0.1:1"}}
window: {from: "09:00", to: "17:00", tz: Europe/Berln}
probes: [{name: p, exec: {command: ["true"]}}]
steps: [{name: s, at_ms: 0, fault: {agent: a, kind: cpu, cores: 1, load: 0.5, duration_ms: 10}}]
)";
  CHECK(problems_of(text) ==
        "plan.yaml:4:42: error: unknown time zone 'Europe/Berln' (an IANA name such as "
        "Europe/Berlin)");
}

TEST_CASE("Targets resolve through the topology's target blocks", "[drill]") {
  Plan p = parse_plan(R"(version: 1
title: t
agents: {local: {url: "http://127.0.0.1:8474"}}
probes: [{name: p, tcp: {address: "127.0.0.1:80"}}]
steps:
  - {name: kill, at_ms: 0, fault: {kind: kill, target: {component: web-1, count: one}}}
  - {name: slow, at_ms: 10, fault: {kind: latency, component: store, latency_ms: 5, duration_ms: 10}}
  - {name: gone, at_ms: 20, fault: {kind: kill, target: {component: ghost}}}
  - {name: far, at_ms: 30, fault: {kind: kill, target: {component: far}}}
)",
                      "plan.yaml", "");
  TargetLookup lookup = [](const std::string& id) -> std::optional<TargetBlock> {
    if (id == "web-1") return TargetBlock{{"agent", "127.0.0.1:8474"}, {"process", "web-1"}};
    if (id == "store")
      return TargetBlock{{"agent", "local"}, {"process", "store"}, {"proxy", "db"}};
    if (id == "far") return TargetBlock{{"agent", "10.0.0.9:8474"}, {"process", "x"}};
    return std::nullopt;
  };
  try {
    resolve_targets(p, lookup);
    FAIL("resolve_targets accepted unknown components");
  } catch (const PlanError& e) {
    CHECK(std::string(e.what()) ==
          "plan.yaml:8:5: error: step 'gone': component 'ghost' has no target block in the "
          "topology\n"
          "plan.yaml:9:5: error: step 'far': the target block of 'far' names agent "
          "'10.0.0.9:8474', which is neither an agent of the plan nor the HOST:PORT of one");
  }
  CHECK(p.steps[0].faults[0].agent == "local");
  CHECK(p.steps[0].faults[0].fault["target"] ==
        json::parse(R"({"process":"web-1","count":"one"})"));
  CHECK(p.steps[1].faults[0].agent == "local");
  CHECK(p.steps[1].faults[0].fault["proxy"] == "db");
  CHECK_FALSE(p.steps[1].faults[0].fault.contains("component"));
}

TEST_CASE("A component the topology lacks does not exist, and the closest id is suggested",
          "[drill]") {
  Plan p = parse_plan(R"(version: 1
title: t
agents: {local: {url: "http://127.0.0.1:8474"}}
probes: [{name: p, tcp: {address: "127.0.0.1:80"}}]
steps:
  - {name: kill, at_ms: 0, fault: {kind: kill, target: {component: web-3}}}
  - {name: slow, at_ms: 10, fault: {kind: latency, component: queue, latency_ms: 5, duration_ms: 10}}
)",
                      "plan.yaml", "");
  TargetLookup lookup = [](const std::string&) -> std::optional<TargetBlock> {
    return std::nullopt;
  };
  try {
    resolve_targets(p, lookup, {"web-1", "web-2", "store"});
    FAIL("resolve_targets accepted components that do not exist");
  } catch (const PlanError& e) {
    CHECK(std::string(e.what()) ==
          "plan.yaml:6:68: error: step 'kill': component 'web-3' does not exist in the topology "
          "(did you mean 'web-1'?)\n"
          "plan.yaml:7:63: error: step 'slow': component 'queue' does not exist in the "
          "topology");
  }
}

TEST_CASE("A latency step without an expectation, and a plan without any, are warned about",
          "[drill]") {
  Plan p = parse_plan(R"(version: 1
title: t
agents: {local: {url: "http://127.0.0.1:8474"}}
probes: [{name: p, tcp: {address: "127.0.0.1:80"}}]
steps:
  - {name: slow, at_ms: 10, fault: {agent: local, kind: latency, proxy: db, latency_ms: 5, duration_ms: 10}}
)",
                      "plan.yaml", "");
  REQUIRE(p.warnings.size() == 2);
  CHECK(p.warnings[0].line == 6);
  CHECK(p.warnings[0].message ==
        "step 'slow': a latency fault without 'expect' is measured but not judged: expect the "
        "entrypoints 'up' (or 'healthy')");
  CHECK(p.warnings[1].message ==
        "no step has an expectation ('expect'): the drill injects faults and judges nothing, so "
        "it can only fail by aborting");
}

TEST_CASE("A probe's health is judged over its sliding window", "[drill]") {
  ProbeSpec p;
  p.window_ms = 1000;
  p.success_ratio = 0.9;
  p.p99_ms = 100;
  // 10 samples in a window; one failure of ten is still healthy, two are degraded.
  auto s = every_100ms(0, 2000, 1000, 1100);
  CHECK(health_at(p, s, 10) == Health::kHealthy);
  s = every_100ms(0, 2000, 1000, 1200);
  CHECK(health_at(p, s, 11) == Health::kDegraded);
  // No success at all in the window: down.
  s = every_100ms(0, 3000, 1000, 3000);
  CHECK(health_at(p, s, 25) == Health::kDown);
  // Slow successes: degraded by p99.
  s = every_100ms(0, 1000, -1, -1, 150);
  CHECK(health_at(p, s, 9) == Health::kDegraded);
}

TEST_CASE("An expected down is not confirmed by queries the monitoring did not answer",
          "[drill][prometheus]") {
  ProbeSpec p;
  p.window_ms = 500;
  // The same outage twice: once as values in down_when (failed samples that carry a value),
  // once as queries that got no value at all (Prometheus unreachable, timing out, empty).
  auto measured = every_100ms(-2000, 6000, 0, 1200);
  auto unanswered = measured;
  for (auto& x : measured)
    if (!x.ok) x.value = 0;
  for (auto& x : unanswered)
    if (!x.ok) x.unanswered = true;
  Verdict v =
      judge({"www", Health::kDown}, std::nullopt, measured, health_series(p, measured), 0, 6000);
  CHECK(v.passed);
  v = judge({"www", Health::kDown}, std::nullopt, unanswered, health_series(p, unanswered), 0,
            6000);
  CHECK_FALSE(v.passed);
  CHECK(v.message ==
        "not confirmed: an outage of 1200 ms, but every failed sample in it was a query that got "
        "no value (the monitoring, not the service, may be what was down)");
  // One answered failure among them is evidence enough.
  unanswered[25].unanswered = false;
  v = judge({"www", Health::kDown}, std::nullopt, unanswered, health_series(p, unanswered), 0,
            6000);
  CHECK(v.passed);
  // Expecting healthy, unanswered queries still fail the step: nothing was shown healthy.
  v = judge({"www", Health::kHealthy}, std::nullopt, unanswered, health_series(p, unanswered), 0,
            6000);
  CHECK_FALSE(v.passed);
}

TEST_CASE("Expectations: healthy after the recovery allowance, degraded, down", "[drill]") {
  ProbeSpec p;
  p.window_ms = 500;
  // Injection at 0; the probe fails from 0 to 1200 ms, then recovers.
  auto s = every_100ms(-2000, 6000, 0, 1200);
  auto h = health_series(p, s);
  Verdict v = judge({"www", Health::kHealthy}, 3000, s, h, 0, 6000);
  CHECK(v.passed);
  CHECK(v.observed == Health::kHealthy);
  REQUIRE(v.recovery_ms);
  CHECK(*v.recovery_ms == 1600);  // the last failure leaves the 500 ms window at 1600
  CHECK(v.message == "healthy again after 1600 ms");
  // Allowed only one second: fails, and says by how much.
  v = judge({"www", Health::kHealthy}, 1000, s, h, 0, 6000);
  CHECK_FALSE(v.passed);
  CHECK(v.message == "healthy again only after 1600 ms, allowed 1000 ms");
  // Without an allowance, any unhealthy sample fails `healthy`.
  v = judge({"www", Health::kHealthy}, std::nullopt, s, h, 0, 6000);
  CHECK_FALSE(v.passed);
  CHECK(v.observed == Health::kDown);
  // `down` holds, with the recovery measured.
  v = judge({"www", Health::kDown}, std::nullopt, s, h, 0, 6000);
  CHECK(v.passed);
  CHECK(v.message == "down as expected: an outage of 1200 ms; healthy again after 1600 ms");
  REQUIRE(v.outage_ms);
  CHECK(*v.outage_ms == 1200);
  // Still down at the end of the window: no recovery time.
  auto never = every_100ms(-1000, 3000, 0, 3000);
  auto hn = health_series(p, never);
  v = judge({"www", Health::kHealthy}, 1000, never, hn, 0, 3000);
  CHECK_FALSE(v.passed);
  CHECK_FALSE(v.recovery_ms);
  // `degraded`: slow but answering passes; down is worse than degraded.
  ProbeSpec slow = p;
  slow.p99_ms = 100;
  std::vector<Sample> d;
  for (std::int64_t t = -1000; t < 3000; t += 100)
    d.push_back({t, true, t >= 0 && t < 2000 ? 300.0 : 5.0, std::nullopt});
  auto hd = health_series(slow, d);
  v = judge({"www", Health::kDegraded}, std::nullopt, d, hd, 0, 3000);
  CHECK(v.passed);
  CHECK(v.observed == Health::kDegraded);
  v = judge({"www", Health::kDegraded}, std::nullopt, never, hn, 0, 3000);
  CHECK_FALSE(v.passed);
  CHECK(v.message == "down at some point, worse than degraded");
  v = judge({"www", Health::kDown}, std::nullopt, d, hd, 0, 3000);
  CHECK_FALSE(v.passed);
  CHECK(v.message == "never down: the worst was degraded");
}

TEST_CASE("A sample belongs to the window in which it was sent, however late its answer",
          "[drill]") {
  ProbeSpec p;
  p.window_ms = 300;
  // Healthy until the next step's fault at 2000; the sample sent at 1950 was answered 1000 ms
  // later, during that fault. It counts for this step, which it fails, and not for the next.
  auto s = every_100ms(-1000, 1950, -1, -1);
  s.push_back({1950, false, 1000, std::nullopt});
  for (std::int64_t t = 2050; t < 4000; t += 100)
    s.push_back({t, true, 2, std::nullopt});
  auto h = health_series(p, s);
  Verdict v = judge({"www", Health::kHealthy}, std::nullopt, s, h, 0, 2000);
  CHECK_FALSE(v.passed);
  CHECK(v.message == "degraded during the step; still not healthy at the end of the window");
  CHECK(summarize(s, 2000, 4000)["success_ratio"] == 1.0);
  CHECK(summarize(s, 1900, 2000)["samples"] == 2);
}

TEST_CASE("Down is judged from the outage itself, however short against the window", "[drill]") {
  ProbeSpec p;
  p.window_ms = 1000;
  p.every_ms = 50;
  // Samples every 50 ms; no answer from 0 to 500 ms: shorter than the one-second window, so
  // the window never holds no success, but users saw an outage of 500 ms.
  std::vector<Sample> s;
  for (std::int64_t t = -2000; t < 4000; t += 50)
    s.push_back({t, !(t >= 0 && t < 500), 2, std::nullopt});
  auto h = health_series(p, s);
  Verdict v = judge({"www", Health::kDown}, std::nullopt, s, h, 0, 4000);
  CHECK(v.passed);
  REQUIRE(v.outage_ms);
  CHECK(*v.outage_ms == 500);
  CHECK(v.message == "down as expected: an outage of 500 ms; healthy again after 1450 ms");
  // `up` fails on the same samples; one failed sample is not an outage.
  v = judge({"www", Health::kDegraded, true}, std::nullopt, s, h, 0, 4000);
  CHECK_FALSE(v.passed);
  CHECK(v.message == "down, not up: an outage of 500 ms");
  std::vector<Sample> one;
  for (std::int64_t t = -2000; t < 4000; t += 50)
    one.push_back({t, t != 100, 2, std::nullopt});
  auto h1 = health_series(p, one);
  v = judge({"www", Health::kDown}, std::nullopt, one, h1, 0, 4000);
  CHECK_FALSE(v.passed);
  CHECK(v.message == "never down: the worst was degraded (one failed sample)");
  v = judge({"www", Health::kDegraded, true}, std::nullopt, one, h1, 0, 4000);
  CHECK(v.passed);
  CHECK(v.message == "up throughout: the worst was degraded; healthy again after 1100 ms");
}

TEST_CASE("Summaries give the success ratio and latency percentiles of a span", "[drill]") {
  auto s =
      series({{0, true, 1}, {100, true, 3}, {200, false, 1000}, {300, true, 2}, {400, true, 9}});
  json j = summarize(s, 0, 500);
  CHECK(j["samples"] == 5);
  CHECK(j["success_ratio"].get<double>() == Approx(0.8));
  CHECK(j["p50_ms"].get<double>() == Approx(2));
  CHECK(j["p99_ms"].get<double>() == Approx(9));
  CHECK(j["max_ms"].get<double>() == Approx(9));
  CHECK(summarize(s, 1000, 2000).is_null());
  j = summarize(s, 200, 300);
  CHECK(j["success_ratio"] == 0.0);
  CHECK(j["p50_ms"].is_null());
}

// ---------------------------------------------------------------- the runner, for real

namespace {

/// A step that loads a tenth of a core for 100 ms: harmless, for drills about their probes.
const std::string kCpuStep =
    "  - name: cpu\n    at_ms: 0\n"
    "    fault: {agent: local, kind: cpu, cores: 1, load: 0.1, duration_ms: 100}\n";

/// A plan whose one probe `file` runs `exec` (the flow mapping of an exec probe).
std::string plan_with_exec(int agent_port, const std::string& exec, const std::string& steps,
                           const std::string& extra = "") {
  return "version: 1\ntitle: runner test\nagents:\n  local: {url: \"http://127.0.0.1:" +
         std::to_string(agent_port) + "\"}\nprobes:\n  - name: file\n    exec: " + exec +
         "\n    every_ms: 50\n    healthy_when: {window_ms: 200}\n"
         "steady_state: {hold_ms: 300, timeout_ms: 3000}\nlease_ms: 3000\n" +
         extra + "steps:\n" + steps;
}

/// A plan whose probe is healthy while `probe_file` exists.
std::string plan_text(int agent_port, const std::string& probe_file, const std::string& steps,
                      const std::string& extra = "") {
  return plan_with_exec(
      agent_port, "{command: [test, -e, \"" + probe_file + "\"], timeout_ms: 1000}", steps, extra);
}

void touch(const std::string& path) {
  std::ofstream(path) << "x";
}

/// A step that pauses `pid` for a minute, longer than any drill here: only the rollback
/// continues it. `expect` and `observe_ms` as in a plan.
std::string pause_step(const std::string& name, pid_t pid, const std::string& expect,
                       int observe_ms) {
  return "  - name: " + name +
         "\n    at_ms: 0\n    fault: {agent: local, kind: pause, target: {pid: " +
         std::to_string(pid) + "}, duration_ms: 60000}\n    expect: " + expect +
         "\n    observe_ms: " + std::to_string(observe_ms) + "\n";
}

}  // namespace

TEST_CASE("The runner injects, judges, measures recovery and rolls back", "[drill][slow]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback", "--allow-process", "sleep"});
  Child sleeper({"sleep", "1000"});
  REQUIRE(wait_until([&] { return proc_name(sleeper.pid()) == "sleep"; }));
  const std::string flag = dir.file("healthy");
  touch(flag);
  const std::string steps = pause_step("pause the sleeper", sleeper.pid(),
                                       "{file: healthy, recover_within_ms: 1500}", 2000);
  Plan plan = parse_plan(plan_text(agent.port(), flag, steps), "plan.yaml", dir.path());
  // The probe's file disappears for 400 ms, 300 ms into the step.
  RunOptions options;
  options.log = [&](const std::string& line) {
    if (line.find("injected") != std::string::npos) {
      std::thread([flag] {
        std::this_thread::sleep_for(300ms);
        std::remove(flag.c_str());
        std::this_thread::sleep_for(400ms);
        touch(flag);
      }).detach();
    }
  };
  json j = run(plan, options);
  INFO(j.dump(2));
  CHECK(j["verdict"] == "passed");
  CHECK(exit_code(j) == 0);
  const json& step = j["steps"][0];
  CHECK(step["response"]["status"] == 201);
  CHECK(step["expectations"][0]["passed"] == true);
  const auto recovery = step["expectations"][0]["recovery_ms"].get<std::int64_t>();
  CHECK(recovery >= 500);  // 300 ms until the outage, 400 ms of it, less the window's slack
  CHECK(recovery <= 1500);
  REQUIRE(j["rollback"].size() == 1);
  CHECK(j["rollback"][0]["result"] == "reverted");
  CHECK(step["final"]["state"] == "reverted");
  // The pause was undone: the process runs again.
  CHECK(wait_until([&] { return proc_state(sleeper.pid()) != 'T'; }));
  // Samples before the steady state ended are negative; the summaries cover the step.
  CHECK(j["probes"][0]["samples"][0][0].get<std::int64_t>() < 0);
  CHECK(step["summary"]["file"]["before"]["success_ratio"] == 1.0);
  CHECK(step["summary"]["file"]["during"]["success_ratio"].get<double>() < 1.0);
  // The agent's lease was released at the end.
  auto status = http(agent.port(), "GET", "/v1/status").json();
  CHECK(status["lease"].is_null());
}

TEST_CASE("The stop condition aborts the drill and still rolls back", "[drill][slow]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback", "--allow-process", "sleep"});
  Child sleeper({"sleep", "1000"});
  REQUIRE(wait_until([&] { return proc_name(sleeper.pid()) == "sleep"; }));
  const std::string flag = dir.file("healthy");
  touch(flag);
  const std::string steps = pause_step("pause", sleeper.pid(), "{file: healthy}", 20000);
  Plan plan = parse_plan(
      plan_text(agent.port(), flag, steps, "abort_when: {probe: file, unhealthy_for_ms: 300}\n"),
      "plan.yaml", dir.path());
  RunOptions options;
  options.log = [&](const std::string& line) {
    if (line.find("injected") != std::string::npos) std::remove(flag.c_str());
  };
  const auto start = std::chrono::steady_clock::now();
  json j = run(plan, options);
  INFO(j.dump(2));
  CHECK(j["verdict"] == "aborted");
  CHECK(exit_code(j) == 1);
  CHECK(j["reason"] == "probe 'file' not healthy for 300 ms (abort_when)");
  // Well before the step's 20 s window ended.
  CHECK(std::chrono::steady_clock::now() - start < 10s);
  CHECK(j["rollback"][0]["result"] == "reverted");
  CHECK(wait_until([&] { return proc_state(sleeper.pid()) != 'T'; }));
}

TEST_CASE("No steady state: the drill is skipped and nothing is injected", "[drill][slow]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback", "--allow-process", "sleep"});
  Plan plan =
      parse_plan(plan_text(agent.port(), dir.file("missing"), kCpuStep), "plan.yaml", dir.path());
  plan.steady_timeout_ms = 800;
  json j = run(plan);
  CHECK(j["verdict"] == "skipped");
  CHECK(exit_code(j) == 1);
  CHECK(j["reason"].get<std::string>().rfind(
            "no steady state: probe 'file' was down (last failure: exit code 1)", 0) == 0);
  CHECK(j["rollback"].empty());
  CHECK(http(agent.port(), "GET", "/v1/faults").json()["faults"].empty());
}

TEST_CASE("The live status says a probe is unhealthy while its samples go unanswered",
          "[drill][slow]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback"});
  // The probe answers at once until the file `slow` exists, then takes 3 s, beyond its 1 s
  // timeout and its 200 ms window: no sample completes for a second at a time.
  const std::string slow = dir.file("slow");
  const std::string text = plan_with_exec(agent.port(),
                                          "{command: [sh, -c, \"if [ -e " + slow +
                                              " ]; then sleep 3; fi\"], "
                                              "timeout_ms: 1000}",
                                          kCpuStep);
  Plan plan = parse_plan(text, "plan.yaml", dir.path());
  plan.hold_ms = 60000;  // never steady: the drill is skipped after steady_timeout_ms
  plan.steady_timeout_ms = 2500;
  std::vector<std::string> lines;
  RunOptions options;
  options.status = [&](const std::string& line) {
    lines.push_back(line);
    if (line.find("file healthy") != std::string::npos) touch(slow);
  };
  json j = run(plan, options);
  CHECK(j["verdict"] == "skipped");
  bool healthy_then_unhealthy = false, saw_healthy = false;
  for (const auto& l : lines) {
    saw_healthy |= l.find("file healthy") != std::string::npos;
    healthy_then_unhealthy |=
        saw_healthy && l.find("file unhealthy (no answer for ") != std::string::npos;
  }
  CHECK(healthy_then_unhealthy);
}

TEST_CASE("An exec probe still running when the drill stops is killed and reaped, children too",
          "[drill][slow]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback"});
  // Each sample starts a grandchild and waits for it: no sample ever ends within the drill.
  const std::string pids = dir.file("pids");
  const std::string text =
      plan_with_exec(agent.port(),
                     "{command: [sh, -c, \"sleep 60 & echo $! >> " + pids + "; echo $$ >> " + pids +
                         "; wait\"], timeout_ms: 60000}",
                     kCpuStep);
  Plan plan = parse_plan(text, "plan.yaml", dir.path());
  plan.steady_timeout_ms = 600;
  json j = run(plan);
  CHECK(j["verdict"] == "skipped");
  std::ifstream in(pids);
  int count = 0;
  for (pid_t pid; in >> pid; ++count) {
    INFO("pid " << pid);
    // Gone: neither running nor a zombie left unreaped (/proc keeps a zombie's directory).
    // A grandchild is reaped by init, a moment after its death: wait for that, with a deadline.
    CHECK(wait_until([&] { return !std::filesystem::exists("/proc/" + std::to_string(pid)); }, 5s));
  }
  CHECK(count >= 2);
}

TEST_CASE(
    "outage_ms measures a real pause to within one probe interval, even one shorter than "
    "the window",
    "[drill][slow]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback"});
  for (const int pause_ms : {400, 1500}) {
    INFO("paused for " << pause_ms << " ms");
    // A real process that the test pauses itself; the probe fails while it is stopped (T).
    Child target({"sleep", "600"});
    const std::string pid = std::to_string(target.pid());
    const std::string text =
        "version: 1\ntitle: outage\nagents:\n  local: {url: \"http://127.0.0.1:" +
        std::to_string(agent.port()) +
        "\"}\nprobes:\n  - name: proc\n    exec: {command: [sh, -c, \"! grep -q "
        "'^State:[[:space:]]*T' /proc/" +
        pid +
        "/status\"], timeout_ms: 1000}\n    every_ms: 50\n    window_ms: 1000\n"
        "steady_state: {hold_ms: 300, timeout_ms: 5000}\nlease_ms: 3000\nsteps:\n"
        "  - name: pause\n    at_ms: 0\n"
        "    fault: {agent: local, kind: cpu, cores: 1, load: 0.05, duration_ms: 100}\n"
        "    expect: {proc: down}\n    observe_ms: 4000\n";
    Plan plan = parse_plan(text, "plan.yaml", dir.path());
    std::chrono::steady_clock::time_point stopped, continued;
    std::thread pauser;
    RunOptions options;
    options.log = [&](const std::string& line) {
      if (line.find("injected") == std::string::npos || pauser.joinable()) return;
      pauser = std::thread([&] {
        std::this_thread::sleep_for(300ms);
        stopped = std::chrono::steady_clock::now();
        ::kill(target.pid(), SIGSTOP);
        std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
        continued = std::chrono::steady_clock::now();
        ::kill(target.pid(), SIGCONT);
      });
    };
    json j = run(plan, options);
    if (pauser.joinable()) pauser.join();
    REQUIRE(continued > stopped);
    const auto truth =
        std::chrono::duration_cast<std::chrono::milliseconds>(continued - stopped).count();
    const json& x = j["steps"][0]["expectations"][0];
    INFO(x.dump());
    CHECK(x["passed"] == true);
    CHECK(x["outage_precision_ms"] == 50);
    REQUIRE(x["outage_ms"].is_number());
    CHECK(std::abs(x["outage_ms"].get<std::int64_t>() - truth) <= 50);
    CHECK(j["steps"][0]["outage_ms"]["proc"] == x["outage_ms"]);
  }
}

TEST_CASE(
    "Rollback reverts every fault even when reverting one fails, and leaves the lease of the "
    "agent that still holds it to lapse",
    "[drill][slow]") {
  TempDir dir;
  // A fake agent: its record of fault f-1 is broken (a number for `state`), f-2 is active.
  // It logs every request it gets.
  const std::string log = dir.file("requests");
  Child fake({"python3", "-c",
              "import http.server, json, sys\n"
              "log = open(sys.argv[1], 'a', buffering=1)\n"
              "n = [0]\n"
              "class H(http.server.BaseHTTPRequestHandler):\n"
              "  def log_message(self, *a): pass\n"
              "  def reply(self, code, body):\n"
              "    b = json.dumps(body).encode()\n"
              "    self.send_response(code); self.send_header('Content-Length', str(len(b)))\n"
              "    self.end_headers(); self.wfile.write(b)\n"
              "  def handle_one(self):\n"
              "    length = int(self.headers.get('Content-Length') or 0)\n"
              "    body = self.rfile.read(length).decode()\n"
              "    log.write(self.command + ' ' + self.path + ' ' + body + '\\n')\n"
              "    if self.path == '/v1/status': return self.reply(200, {'halted': False})\n"
              "    if self.path == '/v1/lease': return self.reply(200, {})\n"
              "    if self.command == 'POST':\n"
              "      n[0] += 1; return self.reply(201, {'id': 'f-%d' % n[0], 'state': 'active'})\n"
              "    if self.path == '/v1/faults/f-1' and self.command == 'GET':\n"
              "      return self.reply(200, {'id': 'f-1', 'state': 5})\n"
              "    if self.command == 'GET': return self.reply(200, {'state': 'active'})\n"
              "    return self.reply(200, {'kind': 'cpu', 'state': 'reverted'})\n"
              "  do_GET = do_POST = do_DELETE = handle_one\n"
              "s = http.server.HTTPServer(('127.0.0.1', 0), H)\n"
              "print(s.server_address[1], flush=True)\n"
              "s.serve_forever()\n",
              log},
             true);
  const int port = std::stoi(fake.read_line());
  std::string steps;
  for (int i = 1; i <= 2; ++i)
    steps += "  - name: cpu " + std::to_string(i) + "\n    at_ms: " + std::to_string(i * 100) +
             "\n    fault: {agent: local, kind: cpu, cores: 1, load: 0.1, duration_ms: 60000}\n"
             "    observe_ms: 300\n";
  touch(dir.file("ok"));
  Plan plan = parse_plan(plan_text(port, dir.file("ok"), steps), "plan.yaml", dir.path());
  json j = run(plan);
  INFO(j.dump(2));
  // f-1 fails at its step's end and again at the rollback's retry; f-2 is still reverted.
  REQUIRE(j["rollback"].size() == 3);
  CHECK(j["rollback"][0]["fault_id"] == "f-1");
  CHECK(j["rollback"][0]["when"] == "step end");
  CHECK_THAT(j["rollback"][0]["result"].get<std::string>(), Catch::StartsWith("failed: "));
  CHECK(j["rollback"][1]["fault_id"] == "f-1");
  CHECK(j["rollback"][1]["retry"] == true);
  CHECK_THAT(j["rollback"][1]["result"].get<std::string>(), Catch::StartsWith("failed: "));
  CHECK(j["rollback"][2]["fault_id"] == "f-2");
  CHECK(j["rollback"][2]["result"] == "reverted");
  CHECK(j["verdict"] == "failed");
  REQUIRE(j["unreverted"].size() == 1);
  CHECK(j["unreverted"][0]["fault_id"] == "f-1");
  std::ifstream in(log);
  std::string requests((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK_THAT(requests, Catch::Contains("DELETE /v1/faults/f-2"));
  // A released lease reverts nothing: the agent keeps f-1 until the lease lapses.
  CHECK_THAT(requests, !Catch::Contains("POST /v1/lease {\"ttl_ms\":0}"));
}

TEST_CASE("An agent that does not answer stops the drill before any fault", "[drill]") {
  TempDir dir;
  const int port = unused_loopback_port();
  touch(dir.file("ok"));
  Plan plan = parse_plan(plan_text(port, dir.file("ok"), kCpuStep), "plan.yaml", dir.path());
  CHECK_THROWS_WITH(run(plan),
                    Catch::Contains("agent 'local' at http://127.0.0.1:" + std::to_string(port) +
                                    " does not answer /v1/status") &&
                        Catch::Contains("nothing was injected"));
}

TEST_CASE("A TCP probe fails at once on a refused connection, not at its timeout",
          "[drill][slow]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback"});
  const int closed = unused_loopback_port();
  Plan plan = parse_plan(
      "version: 1\ntitle: refused\nagents: {local: {url: \"http://127.0.0.1:" +
          std::to_string(agent.port()) +
          "\"}}\nprobes: [{name: db, tcp: {address: \"127.0.0.1:" + std::to_string(closed) +
          "\", timeout_ms: 5000}, every_ms: 100}]\n"
          "steady_state: {hold_ms: 200, timeout_ms: 1000}\n"
          "steps: [{name: cpu, at_ms: 0, fault: {agent: local, kind: cpu, "
          "cores: 1, load: 0.1, duration_ms: 100}}]\n",
      "plan.yaml", dir.path());
  json j = run(plan);
  CHECK(j["verdict"] == "skipped");
  CHECK_THAT(j["reason"].get<std::string>(), Catch::Contains("Connection refused"));
  const auto& samples = j["probes"][0]["samples"];
  REQUIRE(samples.size() >= 5);
  for (const auto& s : samples) {
    CHECK(s[1] == 0);
    CHECK(s[2].get<double>() < 1000);  // refused at once, not after the 5 s timeout
  }
}

TEST_CASE("One drill drives several agents, leasing and releasing each", "[drill][slow]") {
  TempDir dir;
  Agent a(dir, {"--insecure-loopback"});
  TempDir dir_b;
  Agent b(dir_b, {"--insecure-loopback"});
  const std::string flag = dir.file("ok");
  touch(flag);
  Plan plan = parse_plan(
      "version: 1\ntitle: two agents\nagents:\n  a: {url: \"http://127.0.0.1:" +
          std::to_string(a.port()) +
          "\"}\n  b: {url: \"http://127.0.0.1:" + std::to_string(b.port()) +
          "\"}\nprobes: [{name: file, exec: {command: [test, -e, \"" + flag +
          "\"]}, every_ms: 50}]\nsteady_state: {hold_ms: 200}\nlease_ms: 3000\nsteps:\n"
          "  - {name: on a, at_ms: 0, fault: {agent: a, kind: cpu, cores: 1, load: 0.1, "
          "duration_ms: 5000}, expect: {file: healthy}}\n"
          "  - {name: on b, at_ms: 300, fault: {agent: b, kind: cpu, cores: 1, load: 0.1, "
          "duration_ms: 5000}, expect: {file: healthy}, observe_ms: 500}\n",
      "plan.yaml", dir.path());
  json j = run(plan);
  INFO(j.dump(2));
  CHECK(j["verdict"] == "passed");
  CHECK(j["steps"][0]["agent_url"] == "http://127.0.0.1:" + std::to_string(a.port()));
  CHECK(j["steps"][1]["agent_url"] == "http://127.0.0.1:" + std::to_string(b.port()));
  // Both faults outlived the drill: each was reverted on its own agent.
  REQUIRE(j["rollback"].size() == 2);
  CHECK(j["rollback"][0]["result"] == "reverted");
  CHECK(j["rollback"][1]["result"] == "reverted");
  for (int port : {a.port(), b.port()}) {
    auto status = http(port, "GET", "/v1/status").json();
    CHECK(status["lease"].is_null());
    CHECK(status["active_faults"].empty());
  }
}

TEST_CASE("A plan with hostile YAML is refused by the YAML guard, located", "[drill][hostile]") {
  // An alias inside its own anchor used to overflow the stack in to_json_value().
  CHECK(problems_of("version: 1\ntitle: &t [*t]\n") ==
        "plan.yaml:2:12: error: alias '*t' is inside the node its anchor is on: a node cannot "
        "contain itself");
  CHECK(problems_of(",") ==
        "plan.yaml:1:1: error: syntax error: ',' outside a list or map in brackets (a ',' "
        "separates the items of [a, b] or {a: 1, b: 2})");
  CHECK(problems_of("version: 1\n---\nversion: 1\n") ==
        "plan.yaml:2:1: error: a second YAML document: this file holds one (remove the '---' "
        "and what follows, or the second document)");
  CHECK(problems_of("version: 1\ntitle: \xfe\n") ==
        "plan.yaml:2:8: error: the file is not valid UTF-8 (byte 0xFE)");
}

TEST_CASE("A plan's window days given as a map are an error, not a walk of the map",
          "[drill][hostile]") {
  // Found by fuzz_drill_plan: iterating a map yields pairs, and Type() of one threw
  // YAML::InvalidNode out of parse_plan.
  CHECK(problems_of("version: 1\ntitle: x\nagents: {a: {url: \"http://a:1\"}}\n"
                    "window: {days: {mon: x}}\nsteps: []\nprobes: []\n") ==
        "plan.yaml:4:16: error: 'days' must be a list such as [mon, tue]\n"
        "plan.yaml:5:8: error: 'steps' must be a list of at least one step\n"
        "plan.yaml:6:9: error: 'probes' must be a list of at least one probe");
}

TEST_CASE("A fault whose kind or duration is not of the right type is a problem, not a crash",
          "[drill]") {
  // Found by fuzz_drill_plan: the latency warning read `kind` and the step's end read
  // `duration_ms` with json::value(), which throws when the value has another type.
  const std::string head =
      "version: 1\ntitle: t\nagents:\n  local: {url: \"http://127.0.0.1:8474\"}\n"
      "probes:\n  - name: www\n    tcp: {address: \"127.0.0.1:9\"}\n"
      "steady_state: {hold_ms: 200}\nsteps:\n  - name: s\n    at_ms: 0\n";
  const std::string null_kind = problems_of(head + "    fault: {agent: local, kind: }\n");
  CHECK(null_kind.find("plan.yaml:12:") != std::string::npos);
  CHECK(null_kind.find("kind") != std::string::npos);
  const std::string text_duration = problems_of(
      head + "    fault: {agent: local, kind: pause, target: {pid: 4242}, duration_ms: soon}\n");
  CHECK(text_duration.find("duration_ms") != std::string::npos);
}
