// The achilles binary's `drill schedule` and `drill history` as a user runs them.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "achilles/drill/schedule.h"
#include "support.h"
#include "support/run.h"

namespace {

using achilles::injector::testing::TempDir;

using achilles::testing::slurp;

/// Runs the built achilles with `args` (shell words) in `dir`, capturing stdout and stderr.
achilles::testing::CommandResult run_achilles(const std::string& args, const std::string& dir) {
  return achilles::testing::run_binary(ACHILLES_BINARY, args, dir);
}

const char* const kPlan =
    "version: 1\n"
    "title: web tier fails over\n"
    "agents: {local: {url: \"http://127.0.0.1:8474\"}}\n"
    "probes: [{name: www, http: {url: \"http://127.0.0.1:8080/\"}}]\n"
    "steps: [{name: kill web-1, at_ms: 0, fault: {agent: local, kind: kill, target: {process: "
    "web-1}}, expect: {www: healthy}}]\n";

}  // namespace

TEST_CASE("drill schedule prints a systemd service and timer with absolute paths",
          "[schedule][cli]") {
  TempDir tmp;
  std::filesystem::create_directory(tmp.file("my drills"));
  std::ofstream(tmp.file("my drills/Web.yaml")) << kPlan;
  std::string binary = std::filesystem::canonical(ACHILLES_BINARY).string();
  std::string dir = std::filesystem::canonical(tmp.path()).string() + "/my drills";
  auto r = run_achilles("drill schedule 'my drills/Web.yaml' --every '0 10 * * tue' --emit systemd",
                        tmp.path());
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.err == "");
  CHECK(r.out.rfind("# ==> achilles-drill-web.service <==\n# Runs the Achilles drill \"web tier "
                    "fails over\" once",
                    0) == 0);
  CHECK(r.out.find("\nWorkingDirectory=" + dir + "\nExecStart=" + binary + " drill run \"" + dir +
                   "/Web.yaml\" --journal \"" + dir + "/web.journal.json\" --report \"" + dir +
                   "/web.report.html\" --history \"" + dir + "/achilles-drill-history.jsonl\"\n") !=
        std::string::npos);
  CHECK(r.out.find("\n\n# ==> achilles-drill-web.timer <==\n") != std::string::npos);
  CHECK(r.out.find("\nOnCalendar=Tue *-*-* 10:00:00\n") != std::string::npos);
}

TEST_CASE("drill schedule -o writes the files, into a state directory when asked",
          "[schedule][cli]") {
  TempDir tmp;
  std::ofstream(tmp.file("web.yaml")) << kPlan;
  auto r = run_achilles("drill schedule web.yaml --every @daily --emit k8s -o out/k8s", tmp.path());
  CHECK(r.code == 0);
  CHECK(r.out == "wrote out/k8s/achilles-drill-web.yaml\n");
  CHECK(slurp(tmp.file("out/k8s/achilles-drill-web.yaml")).find("  schedule: \"@daily\"\n") !=
        std::string::npos);

  auto c = run_achilles("drill schedule web.yaml --every '0 3 13 * fri' --emit cron --state-dir st",
                        tmp.path());
  CHECK(c.code == 0);
  std::string base = std::filesystem::canonical(tmp.path()).string();
  CHECK(c.out.find("\n0 3 13 * fri mkdir -p " + base + "/st && cd " + base + " && ") !=
        std::string::npos);
  CHECK(c.out.find(" >>" + base + "/st/web.log 2>&1\n") != std::string::npos);
}

TEST_CASE("drill schedule warns when its cron expression never falls inside the plan's window",
          "[schedule][cli]") {
  TempDir tmp;
  // Mondays 09:00 to 10:00 UTC; Saturday 10:00 in any machine's zone is never then.
  std::ofstream(tmp.file("web.yaml"))
      << kPlan << "window: {days: [mon], from: \"09:00\", to: \"10:00\", tz: UTC}\n";
  auto r = run_achilles("drill schedule web.yaml --every '0 10 * * sat' --emit cron", tmp.path());
  CHECK(r.code == 0);
  CHECK(r.err ==
        "web.yaml: warning: the schedule '0 10 * * sat' never falls inside the plan's window "
        "(read in this machine's time zone): every run it starts would be skipped\n");
  CHECK_THAT(r.out, Catch::Contains("0 10 * * sat"));
  // Every minute does fall inside it: no warning.
  r = run_achilles("drill schedule web.yaml --every '* * * * *' --emit cron", tmp.path());
  CHECK(r.code == 0);
  CHECK(r.err == "");
}

TEST_CASE("drill schedule exits 2 naming the file or the field that is wrong", "[schedule][cli]") {
  TempDir tmp;
  std::ofstream(tmp.file("web.yaml")) << kPlan;
  std::ofstream(tmp.file("bad.yaml")) << "title: [unclosed\n";
  std::ofstream(tmp.file("untitled.yaml")) << "version: 1\nsteps: []\n";
  std::ofstream(tmp.file("list.yaml")) << "- 1\n- 2\n";
  struct Case {
    std::string args, err;
  };
  for (const auto& [args, err] : std::vector<Case>{
           {"nowhere.yaml --every @daily --emit cron",
            "nowhere.yaml: error: cannot read: No such file or directory\n"},
           {"bad.yaml --every @daily --emit cron",
            "bad.yaml:2:1: error: syntax error: end of sequence flow not found\n"},
           {"untitled.yaml --every @daily --emit cron",
            "untitled.yaml:1:1: error: the plan needs a 'title' (a non-empty string)\n"},
           {"list.yaml --every @daily --emit cron",
            "list.yaml:1:1: error: a drill plan must be a YAML mapping with version, title, "
            "agents, probes and steps\n"},
           {"web.yaml --every '61 * * * *' --emit cron",
            "achilles drill schedule: error: --every: cron expression '61 * * * *': minute: 61 "
            "is out of range 0-59\n"},
           {"web.yaml --every '0 3 13 * fri' --emit systemd",
            "achilles drill schedule: error: --every: cron expression '0 3 13 * fri': it "
            "restricts both the day of month and the day of week, which cron runs when either "
            "matches; systemd's OnCalendar needs both to match, so no timer fires at the same "
            "times. Restrict only one of the two (use * in the other), or schedule two drills\n"},
           {"web.yaml --emit cron",
            "achilles drill schedule: error: --every CRON is required, such as --every '0 10 * "
            "* 2'\n"},
           {"web.yaml --every @daily",
            "achilles drill schedule: error: --emit systemd|cron|k8s is required\n"},
           {"web.yaml --every @daily --emit nomad",
            "achilles drill schedule: error: --emit must be systemd, cron or k8s, not 'nomad'\n"},
       }) {
    auto r = run_achilles("drill schedule " + args, tmp.path());
    INFO(args);
    CHECK(r.code == 2);
    CHECK(r.out == "");
    CHECK(r.err == err);
  }
}

TEST_CASE("drill schedule and drill history teach with their --help", "[schedule][cli]") {
  TempDir tmp;
  auto s = run_achilles("drill schedule --help", tmp.path());
  CHECK(s.code == 0);
  CHECK(s.out.rfind("usage: achilles drill schedule PLAN --every CRON --emit systemd|cron|k8s "
                    "[-o DIR] [--state-dir DIR]\n",
                    0) == 0);
  CHECK(s.out.find("examples:\n  # Every Tuesday at 10:00, as a systemd timer:\n") !=
        std::string::npos);
  auto h = run_achilles("drill history --help", tmp.path());
  CHECK(h.code == 0);
  CHECK(h.out.find("FILE:LINE:COLUMN: error") != std::string::npos);
  auto all = run_achilles("--help", tmp.path());
  CHECK(all.out.find("  drill history ") != std::string::npos);
  CHECK(all.out.find("  drill schedule ") != std::string::npos);
}

TEST_CASE("drill history summarises the good lines and reports each bad one", "[schedule][cli]") {
  TempDir tmp;
  auto missing = run_achilles("drill history", tmp.path());
  CHECK(missing.code == 2);
  CHECK(missing.err ==
        "achilles-drill-history.jsonl: error: cannot read: No such file or directory\n");

  nlohmann::json journal = {
      {"title", "web"},
      {"started_at", "2026-11-26T12:00:00.000Z"},
      {"verdict", "passed"},
      {"steps",
       {{{"name", "kill web-1"},
         {"error", nullptr},
         {"expectations", {{{"probe", "www"}, {"recovery_ms", 1210}, {"passed", true}}}}}}}};
  achilles::drill::append_history(tmp.file("achilles-drill-history.jsonl"), journal);
  auto good = run_achilles("drill history", tmp.path());
  CHECK(good.code == 0);
  CHECK(good.err == "");
  CHECK(good.out ==
        "drill \"web\": 1 run; last 2026-11-26T12:00:00.000Z passed; pass rate 100% (1 of 1)\n"
        "  step \"kill web-1\"\n"
        "    www: last recovery 1210 ms; recent (oldest first, ms): 1210\n");

  std::ofstream(tmp.file("achilles-drill-history.jsonl"), std::ios::app) << "oops\n";
  achilles::drill::append_history(tmp.file("achilles-drill-history.jsonl"), journal);
  auto bad = run_achilles("drill history achilles-drill-history.jsonl", tmp.path());
  CHECK(bad.code == 2);
  CHECK(bad.out.rfind("drill \"web\": 2 runs;", 0) == 0);
  CHECK(bad.err ==
        "achilles-drill-history.jsonl:2:1: error: not a JSON history line: syntax error while "
        "parsing value - invalid literal; last read: 'o'\n");
}

// ---------------------------------------------------------------- drill run and drill plan

namespace {

std::string plan_for_port(int port, const std::string& extra = "") {
  return "version: 1\ntitle: cli run\nagents: {local: {url: \"http://127.0.0.1:" +
         std::to_string(port) +
         "\"}}\nprobes: [{name: ok, exec: {command: [\"true\"]}, every_ms: 50}]\n" + extra +
         "steps: [{name: cpu, at_ms: 0, fault: {agent: local, kind: cpu, cores: 1, load: 0.1, "
         "duration_ms: 100}, expect: {ok: healthy}}]\n";
}

}  // namespace

TEST_CASE("drill run exits 2 on a bad plan, every problem located", "[drill][cli]") {
  TempDir dir;
  std::ofstream(dir.file("bad.yaml"))
      << "version: 1\ntitle: t\nagents: {a: {url: \"x\"}}\n"
         "probes: [{name: p, tcp: {address: \"h:1\"}, color: red}]\n"
         "steps: [{name: s, at_ms: -1, fault: {agent: b, kind: cpu, "
         "duration_ms: 5}}]\n";
  auto r = run_achilles("drill run bad.yaml", dir.path());
  CHECK(r.code == 2);
  CHECK(r.err ==
        "bad.yaml:3:19: error: agent 'a': 'url' must be http://HOST:PORT or https://HOST:PORT, "
        "got 'x'\n"
        "bad.yaml:4:43: error: unknown key 'color' in a probe\n"
        "bad.yaml:5:26: error: 'at_ms' must be between 0 and 604800000, got -1\n"
        "bad.yaml:5:45: error: unknown agent 'b' (the plan's agents: a)\n");
}

TEST_CASE("drill run --dry-run shows the resolved plan and touches nothing", "[drill][cli]") {
  TempDir dir;
  const int port = achilles::injector::testing::unused_loopback_port();
  std::ofstream(dir.file("topo.yaml"))
      << "version: 1\ncomponents:\n  - {id: web-1, target: {agent: \"127.0.0.1:" << port
      << "\", process: web-1}}\n";
  std::ofstream(dir.file("plan.yaml"))
      << "version: 1\ntitle: dry\ntopology: topo.yaml\nagents: {local: {url: \"http://127.0.0.1:"
      << port
      << "\"}}\nprobes: [{name: www, http: {url: \"http://127.0.0.1:1/\"}}]\n"
         "steps: [{name: kill web-1, at_ms: 0, fault: {kind: kill, target: {component: web-1}}, "
         "expect: {www: healthy, recover_within_ms: 5000}}]\n";
  auto r = run_achilles("drill run plan.yaml --dry-run", dir.path());
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  // The component resolved through the topology to its agent and process.
  CHECK_THAT(r.out,
             Catch::Contains("0..8000 'kill web-1': POST http://127.0.0.1:" + std::to_string(port) +
                             "/v1/faults {\"kind\":\"kill\",\"target\":{\"process\":\"web-1\"}}"));
  CHECK_THAT(r.out, Catch::Contains("expect www healthy"));
  CHECK_FALSE(std::filesystem::exists(dir.file("achilles-drill-history.jsonl")));
}

TEST_CASE("drill run exits 3 when an agent does not answer, having injected nothing",
          "[drill][cli]") {
  TempDir dir;
  const int port = achilles::injector::testing::unused_loopback_port();
  std::ofstream(dir.file("plan.yaml")) << plan_for_port(port);
  auto r = run_achilles("drill run plan.yaml --journal j.json", dir.path());
  CHECK(r.code == 3);
  CHECK(r.err == "achilles: error: agent 'local' at http://127.0.0.1:" + std::to_string(port) +
                     " does not answer /v1/status: Connection refused; nothing was injected\n");
  CHECK_FALSE(std::filesystem::exists(dir.file("j.json")));
}

TEST_CASE("drill run exits 3 before injecting anything when an agent is halted", "[drill][cli]") {
  TempDir dir;
  achilles::injector::testing::Agent agent(dir, {"--insecure-loopback"});
  REQUIRE(achilles::injector::testing::http(agent.port(), "POST", "/v1/halt").status == 200);
  std::ofstream(dir.file("plan.yaml")) << plan_for_port(agent.port());
  auto r = run_achilles("drill run plan.yaml --journal j.json", dir.path());
  CHECK(r.code == 3);
  CHECK(r.err ==
        "achilles: error: agent 'local' at http://127.0.0.1:" + std::to_string(agent.port()) +
            " is halted: it refuses every fault until someone finds out why and POSTs "
            "/v1/resume; nothing was injected\n");
  // Nothing was asked of it: no lease, no fault.
  const auto status = achilles::injector::testing::http(agent.port(), "GET", "/v1/status").json();
  CHECK(status["lease"].is_null());
  CHECK(status["active_faults"].empty());
}

TEST_CASE("drill run says that the agent refused the token", "[drill][cli]") {
  TempDir dir;
  achilles::injector::testing::write_private_file(dir.file("agent.token"),
                                                  "the-right-token-0123456789abcdef\n");
  std::ofstream(dir.file("wrong.token")) << "a-wrong-token-0123456789abcdefgh\n";
  achilles::injector::testing::Agent agent(dir, {"--token-file", dir.file("agent.token")});
  std::string plan = plan_for_port(agent.port());
  plan.replace(plan.find("\"}}"), 3, "\", token_file: wrong.token}}");
  std::ofstream(dir.file("plan.yaml")) << plan;
  auto r = run_achilles("drill run plan.yaml", dir.path());
  CHECK(r.code == 3);
  CHECK_THAT(r.err, Catch::StartsWith("achilles: error: agent 'local' at http://127.0.0.1:" +
                                      std::to_string(agent.port()) +
                                      ": the agent refused the token (HTTP 401"));
  CHECK_THAT(r.err, Catch::EndsWith("; nothing was injected\n"));
}

TEST_CASE("drill run --dry-run refuses every fault the agent would refuse, all at once",
          "[drill][cli]") {
  TempDir dir;
  std::ofstream(dir.file("plan.yaml"))
      << "version: 1\ntitle: t\nagents: {a: {url: \"http://127.0.0.1:1\"}}\n"
         "probes: [{name: p, tcp: {address: \"127.0.0.1:1\"}}]\n"
         "steps:\n"
         "  - {name: slow, at_ms: 0, fault: {agent: a, kind: latency, proxy: db, latency: 300, "
         "duration_ms: 1000}, expect: {p: up}}\n"
         "  - {name: kill, at_ms: 1, fault: {agent: a, kind: kill, signal: SIGKIL, target: "
         "{proces: x}}}\n"
         "  - {name: long, at_ms: 2, fault: {agent: a, kind: pause, target: {process: x}, "
         "duration_ms: 99999999}}\n";
  auto r = run_achilles("drill run plan.yaml --dry-run", dir.path());
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "plan.yaml:6:35: error: step 'slow': missing field 'latency_ms'\n"
        "plan.yaml:6:72: error: step 'slow': unknown field 'latency' for a latency fault\n"
        "plan.yaml:7:66: error: step 'kill': field 'signal' must be one of SIGKILL, SIGTERM, "
        "SIGINT, SIGHUP, SIGQUIT, SIGABRT, SIGUSR1, SIGUSR2\n"
        "plan.yaml:7:82: error: step 'kill': field 'target' must name exactly one of pid, "
        "process, cmdline, pidfile\n"
        "plan.yaml:7:83: error: step 'kill': unknown field 'target.proces'\n"
        "plan.yaml:8:94: error: step 'long': field 'duration_ms' must be between 1 and 900000, "
        "got 99999999\n");
}

TEST_CASE("drill run outside its window is skipped with exit 0", "[drill][cli]") {
  TempDir dir;
  // A one-hour window that starts two hours from now (UTC): now is outside it.
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char from[16], to[16];
  std::snprintf(from, sizeof from, "%02d:%02d", (tm.tm_hour + 2) % 24, tm.tm_min);
  std::snprintf(to, sizeof to, "%02d:%02d", (tm.tm_hour + 3) % 24, tm.tm_min);
  std::ofstream(dir.file("plan.yaml"))
      << plan_for_port(achilles::injector::testing::unused_loopback_port(),
                       std::string("window: {from: \"") + from + "\", to: \"" + to + "\"}\n");
  // It opens next at the window's start: two hours from now, to the minute.
  const std::time_t opens = now - now % 60 + 2 * 3600;
  std::tm otm{};
  gmtime_r(&opens, &otm);
  char next[32];
  std::strftime(next, sizeof next, "%Y-%m-%d %H:%M UTC", &otm);
  auto r = run_achilles("drill run plan.yaml --journal j.json --junit j.xml", dir.path());
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains(std::string("skipped (outside the drill's window: it opens "
                                                "next at ") +
                                    next + ")"));
  auto d = run_achilles("drill run plan.yaml --dry-run", dir.path());
  CHECK(d.code == 0);
  CHECK_THAT(d.out,
             Catch::EndsWith(std::string("window: closed now; it opens next at ") + next + "\n"));
  auto j = nlohmann::json::parse(slurp(dir.file("j.json")));
  CHECK(j["verdict"] == "skipped");
  CHECK_THAT(slurp(dir.file("j.xml")), Catch::Contains("<skipped"));
}

TEST_CASE("drill plan derives steps from the analyzer's predictions", "[drill][cli]") {
  TempDir dir;
  std::ofstream(dir.file("shop.yaml"))
      << "version: 1\nname: shop\ncomponents:\n"
         "  - {id: lb, depends_on: [web], target: {agent: \"127.0.0.1:8474\", port: \"8080\"}}\n"
         "  - {id: web-1, depends_on: [db], target: {agent: \"127.0.0.1:8474\", process: web-1}}\n"
         "  - {id: web-2, depends_on: [db], target: {agent: \"127.0.0.1:8474\", process: web-2}}\n"
         "  - {id: db, target: {agent: \"127.0.0.1:8474\", process: postgres, proxy: pg}}\n"
         "services:\n  - {id: web, members: [web-1, web-2]}\n"
         "entrypoints:\n  - {id: www, target: lb, labels: {url: \"http://127.0.0.1:8080/\"}}\n"
         "  - {id: api, target: lb}\n";
  auto r = run_achilles("drill plan shop.yaml -o drills/shop.yaml --gap-ms 5000", dir.path());
  REQUIRE(r.code == 2);  // drills/ does not exist
  std::filesystem::create_directory(dir.file("drills"));
  r = run_achilles("drill plan shop.yaml -o drills/shop.yaml --gap-ms 5000", dir.path());
  REQUIRE(r.code == 0);
  const std::string plan = slurp(dir.file("drills/shop.yaml"));
  // The plan refers to the topology relative to itself, and reads back as a valid plan.
  CHECK_THAT(plan, Catch::Contains("topology: \"../shop.yaml\""));
  CHECK_THAT(plan, Catch::Contains("- name: \"www\"\n    http: {url: \"http://127.0.0.1:8080/\""));
  CHECK_THAT(plan, Catch::Contains("- name: \"api\"\n    tcp: {address: \"127.0.0.1:8080\""));
  CHECK_THAT(plan, Catch::Contains("fault: {kind: kill, target: {component: \"web-1\"}}\n"
                                   "    expect: {\"www\": healthy, \"api\": healthy, "
                                   "recover_within_ms: 5000}\n"
                                   "    prediction: {kind: redundant, subject: \"web\", down: [], "
                                   "up: [\"www\", \"api\"]}"));
  CHECK_THAT(plan, Catch::Contains("at_ms: 5000\n    fault: {kind: latency, component: \"db\""));
  // The SPOF is only mentioned without --include-spofs.
  CHECK_THAT(plan, Catch::Contains("# 1 single point(s) of failure with a target are left out"));
  CHECK_THAT(plan, !Catch::Contains("kind: spof"));
  r = run_achilles("drill plan shop.yaml -o spofs.yaml --include-spofs", dir.path());
  REQUIRE(r.code == 0);
  CHECK_THAT(slurp(dir.file("spofs.yaml")),
             Catch::Contains("fault: {kind: kill, target: {component: \"db\"}}\n"
                             "    expect: {\"www\": down, \"api\": down}\n"
                             "    prediction: {kind: spof, subject: \"db\", down: [\"www\", "
                             "\"api\"], up: []}"));
  r = run_achilles("drill run drills/shop.yaml --dry-run", dir.path());
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("{\"duration_ms\":2500,\"kind\":\"latency\",\"latency_ms\":500,"
                                    "\"proxy\":\"pg\"}"));
}

TEST_CASE("drill plan keeps latency below the callers' timeout and expects the entrypoints up",
          "[drill][cli]") {
  TempDir dir;
  std::ofstream(dir.file("shop.yaml"))
      << "version: 1\ncomponents:\n"
         "  - {id: web, depends_on: [{id: db, timeout_ms: 300}], target: {agent: "
         "\"127.0.0.1:8474\", process: web}}\n"
         "  - {id: db, target: {agent: \"127.0.0.1:8474\", process: postgres, proxy: pg}}\n"
         "entrypoints:\n  - {id: www, target: web, labels: {url: \"http://127.0.0.1:8080/\"}}\n";
  auto r = run_achilles("drill plan shop.yaml --latency-ms 200", dir.path());
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out,
             Catch::Contains("- name: \"latency 200 ms on db\"\n    at_ms: 0\n"
                             "    fault: {kind: latency, component: \"db\", latency_ms: 200, "
                             "duration_ms: 6000}\n    expect: {\"www\": up}\n"));
  // 1000 ms would be the database down for web, which waits 300 ms: half of that instead.
  r = run_achilles("drill plan shop.yaml", dir.path());
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("fault: {kind: latency, component: \"db\", latency_ms: 150, "
                                    "duration_ms: 6000}\n    expect: {\"www\": up}\n"));
}

TEST_CASE("drill plan takes agents' URLs from the topology and refuses an agent it does not know",
          "[drill][cli]") {
  TempDir dir;
  std::ofstream(dir.file("shop.yaml"))
      << "version: 1\nagents: {edge: {url: \"https://10.1.2.3:9000\", token_file: edge.token}}\n"
         "components:\n"
         "  - {id: lb, depends_on: [web], target: {agent: edge, port: 80}}\n"
         "  - {id: web-1, target: {agent: edge, process: web-1}}\n"
         "  - {id: web-2, target: {agent: edge, process: web-2}}\n"
         "services:\n  - {id: web, members: [web-1, web-2]}\n"
         "entrypoints:\n  - {id: www, target: lb}\n";
  auto r = run_achilles("drill plan shop.yaml", dir.path());
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("agents:\n  \"edge\": {url: \"https://10.1.2.3:9000\", "
                                    "token_file: \"edge.token\"}\n"));
  CHECK_THAT(r.out, Catch::Contains("tcp: {address: \"10.1.2.3:80\""));
  // An agent that is neither declared nor HOST:PORT is never taken for a host name.
  std::ofstream(dir.file("bad.yaml")) << "version: 1\ncomponents:\n"
                                         "  - {id: web-1, target: {agent: edge, process: web-1}}\n"
                                         "entrypoints:\n  - {id: www, target: web-1}\n";
  r = run_achilles("drill plan bad.yaml", dir.path());
  CHECK(r.code == 2);
  CHECK(r.err ==
        "bad.yaml:3:33: error: component 'web-1': agent 'edge' is not declared in the top-level "
        "'agents' (and is not HOST:PORT)\n");
}

TEST_CASE("drill plan refuses a topology it cannot drill", "[drill][cli]") {
  TempDir dir;
  std::ofstream(dir.file("t.yaml")) << "version: 1\ncomponents: [{id: a}]\n";
  auto r = run_achilles("drill plan t.yaml", dir.path());
  CHECK(r.code == 2);
  CHECK(r.err ==
        "t.yaml: error: no component has a target block with an agent, so there is nothing a "
        "drill could act on (see docs/drill.md)\n");
}

TEST_CASE("achilles drill without a subcommand names the subcommands", "[drill][cli]") {
  TempDir dir;
  auto r = run_achilles("drill", dir.path());
  CHECK(r.code == 2);
  CHECK(r.err ==
        "achilles drill: error: a subcommand is needed: history, plan, run, schedule (see "
        "achilles drill SUBCOMMAND --help)\n");
  r = run_achilles("drill walk", dir.path());
  CHECK(r.code == 2);
  CHECK(r.err ==
        "achilles drill: error: unknown subcommand 'walk' (one of: history, plan, run, "
        "schedule)\n");
}
