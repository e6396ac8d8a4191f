// Notifications (spec drill.md `notify:`, docs/drill.md "Notifications"): reading the
// targets from a plan and every problem with them, then real short drills against a real
// agent on loopback whose webhook and Grafana are fake servers the test starts
// (fake_http.h): each event's order and shape, the token, the annotations' times, and
// targets that refuse, fail or are slow, which the journal records and the drill outlives.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "achilles/drill/plan.h"
#include "achilles/drill/runner.h"
#include "fake_http.h"
#include "support.h"

using namespace achilles::drill;
using namespace achilles::drill::testing;
using namespace achilles::injector::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::string problems_in(const std::string& text, const std::string& dir) {
  try {
    parse_plan(text, "plan.yaml", dir);
  } catch (const PlanError& e) {
    return e.what();
  }
  return "";
}

/// A plan with a probe that is always healthy (`true`), one pause step on `pid` that only
/// the rollback reverts, observed for 500 ms, and `notify` (YAML lines).
std::string notify_plan(int agent_port, pid_t pid, const std::string& notify) {
  return "version: 1\ntitle: notify test\nagents:\n  local: {url: \"http://127.0.0.1:" +
         std::to_string(agent_port) +
         "\"}\nprobes:\n  - name: ok\n    exec: {command: [\"true\"], timeout_ms: 1000}\n"
         "    every_ms: 50\n    healthy_when: {window_ms: 200}\n"
         "steady_state: {hold_ms: 300, timeout_ms: 5000}\nlease_ms: 3000\n"
         "steps:\n  - name: pause it\n    at_ms: 0\n    fault: {agent: local, kind: pause, "
         "target: {pid: " +
         std::to_string(pid) +
         "}, duration_ms: 60000}\n    expect: {ok: healthy}\n    observe_ms: 500\n"
         "notify:\n" +
         notify;
}

/// The body of a request the fake server kept.
json body_of(const std::string& request) {
  return json::parse(request.substr(request.find("\r\n\r\n") + 4));
}

/// Milliseconds since the epoch of `2026-12-05T03:30:41.123Z`.
std::int64_t epoch_ms(const std::string& iso) {
  std::tm tm{};
  std::istringstream in(iso.substr(0, 19));
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + std::stoi(iso.substr(20, 3));
}

/// What the drills below share: a real agent, a sleeping process of the test's own that the
/// drill pauses (by pid), and a Grafana token file.
struct Rig {
  TempDir dir;
  Agent agent{dir, {"--insecure-loopback", "--allow-process", "sleep"}};
  Child sleeper{{"sleep", "1000"}};
  Rig() {
    REQUIRE(wait_until([&] { return proc_name(sleeper.pid()) == "sleep"; }));
    std::ofstream(dir.file("grafana.token")) << "glsa_s3cret\n";
  }
  Plan plan(const std::string& notify) const {
    return parse_plan(notify_plan(agent.port(), sleeper.pid(), notify), "plan.yaml", dir.path());
  }
};

/// A drill's journal and the lines it logged.
struct Logged {
  json journal;
  std::vector<std::string> lines;
};

Logged run_logged(const Plan& plan) {
  Logged out;
  RunOptions options;
  options.log = [&](const std::string& line) { out.lines.push_back(line); };
  out.journal = run(plan, options);
  return out;
}

}  // namespace

TEST_CASE("A plan's notify targets are read, and Grafana's token is never written out",
          "[drill][notify]") {
  TempDir dir;
  std::ofstream(dir.file("grafana.token")) << "glsa_s3cret\n";
  const std::string text =
      "version: 1\ntitle: t\nagents:\n  a: {url: \"http://127.0.0.1:8474\"}\n"
      "probes:\n  - name: p\n    tcp: {address: \"127.0.0.1:80\"}\n"
      "steps:\n  - name: s\n    at_ms: 0\n    fault: {agent: a, kind: cpu, cores: 1, load: 0.1, "
      "duration_ms: 100}\n"
      "notify:\n  - webhook: \"https://hooks.slack.com/services/T0/B0/secretpath\"\n"
      "  - grafana: {url: \"http://127.0.0.1:3000\", token_file: grafana.token}\n"
      "  - webhook: \"http://127.0.0.1:8080?key=querysecret\"\n";
  const Plan plan = parse_plan(text, "plan.yaml", dir.path());
  REQUIRE(plan.notify.size() == 3);
  CHECK(plan.notify[0].kind == NotifyTarget::Kind::kWebhook);
  CHECK(plan.notify[0].url == "https://hooks.slack.com/services/T0/B0/secretpath");
  CHECK(plan.notify[1].kind == NotifyTarget::Kind::kGrafana);
  CHECK(plan.notify[1].url == "http://127.0.0.1:3000");
  CHECK(plan.notify[1].token == "glsa_s3cret");
  // The journal's plan and --dry-run name the targets, a webhook's path (its secret, for
  // Slack) elided, and Grafana's token file, never the token.
  const json expected = {
      "webhook https://hooks.slack.com/***",
      "grafana http://127.0.0.1:3000 (token from " + dir.path() + "/grafana.token)",
      "webhook http://127.0.0.1:8080/***"};
  CHECK(plan.to_json()["notify"] == expected);
  CHECK(plan.to_json().dump().find("s3cret") == std::string::npos);
  CHECK(plan.to_json().dump().find("secretpath") == std::string::npos);
  CHECK(plan.to_json().dump().find("querysecret") == std::string::npos);
  const std::string dry = format_dry_run(plan);
  CHECK(dry.find("notify (start, each fault's injection and revert, the end):\n"
                 "  webhook https://hooks.slack.com/***\n"
                 "  grafana http://127.0.0.1:3000 (token from " +
                 dir.path() + "/grafana.token)\n") != std::string::npos);
  CHECK(dry.find("s3cret") == std::string::npos);
  CHECK(dry.find("secretpath") == std::string::npos);
  CHECK(dry.find("querysecret") == std::string::npos);
}

TEST_CASE("Every problem with notify targets is reported at once, located", "[drill][notify]") {
  TempDir dir;
  std::ofstream(dir.file("empty.token")) << "";
  const std::string head =
      "version: 1\ntitle: t\nagents:\n  a: {url: \"http://127.0.0.1:8474\"}\n"
      "probes:\n  - name: p\n    tcp: {address: \"127.0.0.1:80\"}\n"
      "steps:\n  - name: s\n    at_ms: 0\n    fault: {agent: a, kind: cpu, cores: 1, load: 0.1, "
      "duration_ms: 100}\n";
  const std::string text =
      head +
      "notify:\n"
      "  - webhook: \"http://user:pw@hooks.example/x\"\n"
      "  - webhook: \"ftp://hooks.example/x\"\n"
      "  - grafana: {url: \"http://127.0.0.1:3000\"}\n"
      "  - grafana: {url: \"http://admin:pw@127.0.0.1:3000\", "
      "token_file: missing.token, org: 1}\n"
      "  - grafana: {url: \"http://127.0.0.1:3000\", token_file: empty.token}\n"
      "  - slack: \"http://hooks.example/x\"\n"
      "  - webhook\n"
      "  - {webhook: [a]}\n"
      "  - {webhook: \"http://a/\", grafana: {url: \"http://b/\"}}\n";
  const std::string d = dir.path();
  CHECK(problems_in(text, d) ==
        "plan.yaml:13:14: error: 'webhook' must not hold credentials (http://***@hooks.example/x): "
        "they would be written to the journal and the report\n"
        "plan.yaml:14:14: error: 'webhook' must be http://HOST[:PORT][/PATH] or https://..., got "
        "'ftp://hooks.example/x'\n"
        "plan.yaml:15:14: error: a grafana notify target needs 'token_file'\n"
        "plan.yaml:16:20: error: 'url' must not hold credentials (http://***@127.0.0.1:3000): "
        "they would be written to the journal and the report; use token_file\n"
        "plan.yaml:16:66: error: the token file '" +
            d +
            "/missing.token': cannot read: No such file or directory\n"
            "plan.yaml:16:81: error: unknown key 'org' in a grafana notify target\n"
            "plan.yaml:17:57: error: the token file '" +
            d +
            "/empty.token' is empty\n"
            "plan.yaml:18:5: error: unknown notify target 'slack': {webhook: URL} or {grafana: "
            "{url, token_file}}\n"
            "plan.yaml:19:5: error: each 'notify' entry must be {webhook: URL} or {grafana: "
            "{url, token_file}}\n"
            "plan.yaml:20:15: error: 'webhook' must be a string\n"
            "plan.yaml:21:5: error: each 'notify' entry must be {webhook: URL} or {grafana: "
            "{url, token_file}}");
  CHECK(problems_in(head + "notify: {webhook: \"http://a/\"}\n", d) ==
        "plan.yaml:12:9: error: 'notify' must be a list of {webhook: URL} or {grafana: {url, "
        "token_file}}");
}

TEST_CASE("A webhook and Grafana get each event of a drill in order, with its shape and token",
          "[drill][notify][slow]") {
  Rig rig;
  FakeHttpServer hook([](const std::string&) { return FakeHttpServer::Answer{200, "ok"}; });
  FakeHttpServer grafana([](const std::string&) {
    return FakeHttpServer::Answer{200, R"({"id": 1, "message": "Annotation added"})"};
  });
  const auto [j, logged] = run_logged(
      rig.plan("  - webhook: \"" + hook.url() + "/hooks/T0/secret\"\n" + "  - grafana: {url: \"" +
               grafana.url() + "/grafana/\", token_file: grafana.token}\n"));
  INFO(j.dump(2));
  CHECK(j["verdict"] == "passed");
  const std::string fault_id = j["steps"][0]["response"]["body"]["id"].get<std::string>();

  // The webhook: start, inject, revert, end, in that order, each with its text.
  const auto hooks = hook.requests();
  REQUIRE(hooks.size() == 4);
  for (const auto& r : hooks) {
    CHECK(r.rfind("POST /hooks/T0/secret HTTP/1.1\r\n", 0) == 0);
    CHECK(r.find("Content-Type: application/json\r\n") != std::string::npos);
    CHECK(r.find("Authorization") == std::string::npos);
  }
  const json start = body_of(hooks[0]), inject = body_of(hooks[1]), revert = body_of(hooks[2]),
             end = body_of(hooks[3]);
  CHECK(start == json({{"event", "start"},
                       {"drill", "notify test"},
                       {"time", start["time"]},
                       {"steps", 1},
                       {"agents", 1},
                       {"text", "Achilles drill 'notify test' started: 1 step(s) on 1 agent(s)"}}));
  CHECK(inject == json({{"event", "inject"},
                        {"drill", "notify test"},
                        {"time", inject["time"]},
                        {"step", "pause it"},
                        {"agent", "local"},
                        {"fault_kind", "pause"},
                        {"fault_id", fault_id},
                        {"text",
                         "Achilles drill 'notify test': step 'pause it': pause injected "
                         "on agent 'local' (fault " +
                             fault_id + ")"}}));
  CHECK(revert == json({{"event", "revert"},
                        {"drill", "notify test"},
                        {"time", revert["time"]},
                        {"step", "pause it"},
                        {"agent", "local"},
                        {"fault_kind", "pause"},
                        {"fault_id", fault_id},
                        {"result", "reverted"},
                        {"text",
                         "Achilles drill 'notify test': step 'pause it': pause on agent "
                         "'local' reverted (fault " +
                             fault_id + ")"}}));
  CHECK(end == json({{"event", "end"},
                     {"drill", "notify test"},
                     {"time", end["time"]},
                     {"verdict", "passed"},
                     {"reason", "every expectation held"},
                     {"text",
                      "Achilles drill 'notify test' ended: passed (every expectation "
                      "held)"}}));
  // ISO-8601 UTC with milliseconds, in order.
  for (const json* e : {&start, &inject, &revert, &end})
    CHECK((*e)["time"].get<std::string>().size() == 24);
  CHECK(epoch_ms(start["time"]) <= epoch_ms(inject["time"]));
  CHECK(epoch_ms(inject["time"]) <= epoch_ms(revert["time"]));
  CHECK(epoch_ms(revert["time"]) <= epoch_ms(end["time"]));

  // Grafana: a region per fault (injection to revert), then one for the drill with its verdict.
  const auto notes = grafana.requests();
  REQUIRE(notes.size() == 2);
  for (const auto& r : notes) {
    CHECK(r.rfind("POST /grafana/api/annotations HTTP/1.1\r\n", 0) == 0);
    CHECK(r.find("\r\nAuthorization: Bearer glsa_s3cret\r\n") != std::string::npos);
  }
  const json fault_note = body_of(notes[0]), drill_note = body_of(notes[1]);
  CHECK(fault_note == json({{"time", epoch_ms(inject["time"])},
                            {"timeEnd", epoch_ms(revert["time"])},
                            {"tags", {"achilles", "drill", "fault", "pause", "local"}},
                            {"text", revert["text"]}}));
  CHECK(drill_note["tags"] == json({"achilles", "drill", "end", "passed"}));
  CHECK(drill_note["text"] == end["text"]);
  CHECK(drill_note["time"].get<std::int64_t>() <= epoch_ms(start["time"]));
  CHECK(drill_note["timeEnd"] == epoch_ms(end["time"]));

  // The journal records every notification, and never the token or the webhook's path.
  REQUIRE(j["notifications"].size() == 6);
  for (const auto& n : j["notifications"]) {
    CHECK(n["ok"] == true);
    CHECK(!n.contains("error"));
  }
  CHECK(j["notifications"][0] ==
        json({{"target", "webhook " + hook.url() + "/***"}, {"event", "start"}, {"ok", true}}));
  CHECK(j.dump().find("s3cret") == std::string::npos);
  CHECK(j.dump().find("T0/secret") == std::string::npos);
  CHECK(wait_until([&] { return proc_state(rig.sleeper.pid()) != 'T'; }));
}

TEST_CASE("A notify target that refuses connections or answers 500 does not fail the drill",
          "[drill][notify][slow]") {
  Rig rig;
  FakeHttpServer failing([](const std::string&) {
    return FakeHttpServer::Answer{500, "{\"message\": \"boom\"}"};
  });
  const int refused = unused_loopback_port();
  const std::string refused_url = "http://127.0.0.1:" + std::to_string(refused);
  const auto [j, logged] =
      run_logged(rig.plan("  - webhook: \"" + refused_url + "/hook\"\n" + "  - grafana: {url: \"" +
                          failing.url() + "\", token_file: grafana.token}\n"));
  INFO(j.dump(2));
  CHECK(j["verdict"] == "passed");
  CHECK(j["rollback"][0]["result"] == "reverted");
  CHECK(wait_until([&] { return proc_state(rig.sleeper.pid()) != 'T'; }));
  // Every event, to each target, recorded as failed, with why.
  const json& n = j["notifications"];
  REQUIRE(n.size() == 6);
  const std::string webhook = "webhook " + refused_url + "/***";
  const std::string grafana =
      "grafana " + failing.url() + " (token from " + rig.dir.path() + "/grafana.token)";
  std::vector<std::string> webhook_events, grafana_events;
  for (const auto& x : n) {
    CHECK(x["ok"] == false);
    if (x["target"] == webhook) {
      webhook_events.push_back(x["event"]);
      CHECK(x["error"] == "Connection refused");
    } else {
      CHECK(x["target"] == grafana);
      grafana_events.push_back(x["event"]);
      CHECK(x["error"] == "HTTP 500");
    }
  }
  CHECK(webhook_events == std::vector<std::string>{"start", "inject", "revert", "end"});
  CHECK(grafana_events == std::vector<std::string>{"revert", "end"});
  // And in the summary printed at the end (the live log is shown on a terminal only).
  const std::string summary = format_summary(j);
  CHECK(summary.find("  warning: the inject notification to " + webhook +
                     " failed: Connection refused\n") != std::string::npos);
  CHECK(summary.find("  warning: the revert notification to " + grafana + " failed: HTTP 500\n") !=
        std::string::npos);
  // And each failure was a warning in the log.
  CHECK(std::find(logged.begin(), logged.end(),
                  "warning: the end notification to " + grafana +
                      " failed: HTTP 500; the drill goes on") != logged.end());
  CHECK(std::find(logged.begin(), logged.end(),
                  "warning: the start notification to " + webhook +
                      " failed: Connection refused; the drill goes on") != logged.end());
}

TEST_CASE("A slow notify target holds neither the probes nor the end of the drill",
          "[drill][notify][slow]") {
  Rig rig;
  // Answers after a minute: every notification times out (2 s each).
  FakeHttpServer slow([](const std::string&) { return FakeHttpServer::Answer{200, "ok", 60s}; });
  const Plan plan = rig.plan("  - webhook: \"" + slow.url() + "/hook\"\n");
  const auto began = std::chrono::steady_clock::now();
  const json j = run(plan, {});
  const auto took = std::chrono::steady_clock::now() - began;
  INFO(j.dump(2));
  CHECK(j["verdict"] == "passed");
  CHECK(wait_until([&] { return proc_state(rig.sleeper.pid()) != 'T'; }));
  // The probe sampled all through the step, while the inject notification hung.
  CHECK(j["steps"][0]["summary"]["ok"]["during"]["samples"].get<int>() >= 3);
  // Four events one after another would take four minutes; the drill waits for them at most
  // two timeouts after its end. A generous bound, far from either.
  CHECK(took < 30s);
  const json& n = j["notifications"];
  REQUIRE(n.size() == 4);
  std::vector<std::string> events;
  for (const auto& x : n) {
    events.push_back(x["event"]);
    CHECK(x["ok"] == false);
    const std::string error = x["error"];
    CHECK(
        (error == "timed out after 2000 ms" || error == "no answer when the drill ended" ||
         error == "not sent: the drill ended while the target was still answering earlier events"));
  }
  CHECK(events[0] == "start");
  CHECK(n[0]["error"] == "timed out after 2000 ms");
}
