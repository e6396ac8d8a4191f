// Validation of fault bodies, target selection and the fault engine, on fake OS mechanisms.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "achilles/injector/engine.h"
#include "achilles/injector/fault.h"
#include "fakes.h"

using namespace achilles::injector;
using namespace achilles::injector::testing;
using nlohmann::json;

namespace {

std::string refusal_of(const json& body, Limits limits = {}) {
  try {
    parse_fault(body, limits);
  } catch (const ApiError& e) {
    return std::to_string(e.status()) + " " + e.what();
  }
  return "accepted";
}

std::string temp_path(const std::string& name) {
  return "/tmp/achilles-test-" + std::to_string(::getpid()) + "-" + name;
}

}  // namespace

TEST_CASE("A fault body is refused with a message naming the wrong field", "[agent]") {
  CHECK(refusal_of(json::array()) == "400 the body must be a JSON object");
  CHECK(refusal_of({{"target", {{"pid", 5}}}}) == "400 missing field 'kind'");
  CHECK(refusal_of({{"kind", "explode"}}) ==
        "400 field 'kind' must be one of kill, pause, latency, cpu, memory");
  CHECK(refusal_of({{"kind", "pause"}, {"target", {{"pid", 5}}}}) ==
        "400 missing field 'duration_ms' (it bounds the fault in time)");
  CHECK(refusal_of({{"kind", "pause"}, {"target", {{"pid", 5}}}, {"duration_ms", "10"}}) ==
        "400 field 'duration_ms' must be an integer");
  CHECK(refusal_of({{"kind", "pause"}, {"target", {{"pid", 5}}}, {"duration_ms", 900001}}) ==
        "400 field 'duration_ms' must be between 1 and 900000, got 900001");
  CHECK(refusal_of({{"kind", "pause"}, {"target", {{"pid", 5}}}, {"duration_ms", 0}}) ==
        "400 field 'duration_ms' must be between 1 and 900000, got 0");
  CHECK(
      refusal_of(
          {{"kind", "pause"}, {"target", {{"pid", 5}}}, {"duration_ms", 10}, {"colour", "red"}}) ==
      "400 unknown field 'colour' for a pause fault");
  CHECK(
      refusal_of({{"kind", "pause"}, {"target", {{"pid", 5}, {"nice", 1}}}, {"duration_ms", 10}}) ==
      "400 unknown field 'target.nice'");
  CHECK(refusal_of(
            {{"kind", "pause"}, {"target", {{"pid", 5}, {"process", "x"}}}, {"duration_ms", 10}}) ==
        "400 field 'target' must name exactly one of pid, process, cmdline, pidfile");
  CHECK(refusal_of({{"kind", "pause"}, {"target", {{"pid", -3}}}, {"duration_ms", 10}}) ==
        "400 field 'target.pid' must be between 1 and 2147483647, got -3");
  CHECK(refusal_of({{"kind", "kill"}, {"target", {{"process", "x"}, {"count", "some"}}}}) ==
        "400 field 'target.count' must be \"one\" or \"all\"");
  CHECK(refusal_of({{"kind", "kill"}, {"target", {{"cmdline", "(unclosed"}}}})
            .rfind("400 field 'target.cmdline' is not a valid regular expression", 0) == 0);
  CHECK(refusal_of({{"kind", "kill"}, {"target", {{"process", "x"}}}, {"signal", "SIGSTOP"}}) ==
        "400 field 'signal' must be one of SIGKILL, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGABRT, "
        "SIGUSR1, SIGUSR2");
  CHECK(refusal_of({{"kind", "kill"}, {"target", {{"process", "x"}}}, {"duration_ms", 10}}) ==
        "400 unknown field 'duration_ms' for a kill fault");
  CHECK(refusal_of({{"kind", "latency"}, {"latency_ms", 5}, {"duration_ms", 10}}) ==
        "400 missing field 'proxy'");
  CHECK(refusal_of({{"kind", "cpu"}, {"cores", 2}, {"load", 1.5}, {"duration_ms", 10}},
                   Limits{900000, 30000, 4, 1 << 20}) ==
        "400 field 'load' must be above 0 and at most 1, got 1.5");
  CHECK(refusal_of({{"kind", "cpu"}, {"cores", 9}, {"duration_ms", 10}},
                   Limits{900000, 30000, 4, 1 << 20}) ==
        "400 field 'cores' must be between 1 and 4, got 9");
  CHECK(refusal_of({{"kind", "memory"}, {"bytes", 2048}, {"duration_ms", 10}},
                   Limits{900000, 30000, 4, 1024}) ==
        "400 field 'bytes' must be between 1 and 1024, got 2048");
  CHECK(refusal_of({{"kind", "memory"}, {"bytes", 1024}, {"duration_ms", 10}},
                   Limits{900000, 30000, 4, 1024}) == "accepted");
}

TEST_CASE("The configured maximum duration caps every fault", "[agent]") {
  Limits limits;
  limits.max_duration_ms = 5000;
  CHECK(refusal_of({{"kind", "cpu"}, {"duration_ms", 5001}}, limits) ==
        "400 field 'duration_ms' must be between 1 and 5000, got 5001");
  auto spec = parse_fault({{"kind", "kill"}, {"target", {{"process", "x"}}}}, limits);
  CHECK(spec.observe_ms == 5000);
  CHECK(spec.signal_name == "SIGKILL");
  CHECK(spec.target.all);
}

TEST_CASE("Nothing may be signalled without an allowlist", "[agent]") {
  Rig rig;
  rig.procs.add(42, "redis-server");
  Guard guard;  // no allow.processes
  guard.self_pid = 500;
  Target t;
  t.pid = 42;
  REQUIRE_THROWS_WITH(select_targets(t, rig.procs, guard),
                      "pid 42 may not be signalled: no process may be signalled: the allowlist "
                      "(allow.processes) is empty");
}

TEST_CASE("pid 1, the agent, its parent and kernel threads are never targets", "[agent]") {
  Rig rig;
  auto guard = rig.options().guard;
  guard.allow.processes = {"*"};
  rig.procs.add(1, "systemd");
  rig.procs.add(500, "achilles-agent");
  rig.procs.add(499, "bash");
  rig.procs.add(2, "kthreadd").kernel_thread = true;
  Target t;
  t.pid = 1;
  CHECK_THROWS_WITH(select_targets(t, rig.procs, guard),
                    "pid 1 may not be signalled: pid 1 is never signalled");
  t.pid = 500;
  CHECK_THROWS_WITH(select_targets(t, rig.procs, guard),
                    "pid 500 may not be signalled: the agent never signals itself");
  t.pid = 499;
  CHECK_THROWS_WITH(select_targets(t, rig.procs, guard),
                    "pid 499 may not be signalled: the agent never signals its parent");
  t.pid = 2;
  CHECK_THROWS_WITH(select_targets(t, rig.procs, guard),
                    "pid 2 may not be signalled: kernel threads are never signalled");
  Target all;
  all.cmdline = ".";
  CHECK_THROWS_WITH(select_targets(all, rig.procs, guard),
                    "no process with command line matching '.' may be signalled: pid 1 is never "
                    "signalled");
}

TEST_CASE("Allowlist refusals name the process and the rule", "[agent]") {
  Rig rig;
  auto guard = rig.options().guard;
  rig.procs.add(42, "postgres");
  rig.procs.add(43, "web-frontend", "web-frontend --port 80", 33);
  rig.procs.add(44, "web-frontend", "web-frontend --port 81", 1000);
  Target t;
  t.pid = 42;
  CHECK_THROWS_WITH(select_targets(t, rig.procs, guard),
                    "pid 42 may not be signalled: process name 'postgres' is not in the "
                    "allowlist (allow.processes)");
  Target byname;
  byname.process = "nginx";
  CHECK_THROWS_WITH(select_targets(byname, rig.procs, guard), "no process with name 'nginx'");
  guard.allow.uids = {1000};
  byname.process = "web-frontend";
  auto sel = select_targets(byname, rig.procs, guard);
  REQUIRE(sel.targets.size() == 1);
  CHECK(sel.targets[0].pid == 44);
  REQUIRE(sel.skipped.size() == 1);
  CHECK(sel.skipped[0]["reason"] == "uid 33 is not in the allowlist (allow.users)");
  t.pid = 43;
  CHECK_THROWS_WITH(select_targets(t, rig.procs, guard),
                    "pid 43 may not be signalled: uid 33 is not in the allowlist (allow.users)");
}

TEST_CASE("A cmdline target with count one picks the oldest match", "[agent]") {
  Rig rig;
  rig.procs.add(60, "web-a", "web-a --worker");
  rig.procs.add(61, "web-a", "web-a --worker").start_time = 5;
  rig.procs.add(62, "web-a", "web-a --master");
  Target t;
  t.cmdline = "--work";
  t.all = false;
  auto sel = select_targets(t, rig.procs, rig.options().guard);
  REQUIRE(sel.targets.size() == 1);
  CHECK(sel.targets[0].pid == 61);
  t.all = true;
  CHECK(select_targets(t, rig.procs, rig.options().guard).targets.size() == 2);
}

TEST_CASE("A pidfile target reads the pid from the file", "[agent]") {
  Rig rig;
  rig.procs.add(77, "redis-server");
  const auto path = temp_path("pidfile");
  std::ofstream(path) << "77\n";
  Target t;
  t.pidfile = path;
  auto sel = select_targets(t, rig.procs, rig.options().guard);
  REQUIRE(sel.targets.size() == 1);
  CHECK(sel.targets[0].pid == 77);
  std::ofstream(path) << "seventy-seven\n";
  CHECK_THROWS_WITH(select_targets(t, rig.procs, rig.options().guard),
                    "pidfile '" + path + "' does not hold a pid");
  std::remove(path.c_str());
}

TEST_CASE("A pause is continued when its time runs out", "[agent]") {
  Rig rig;
  rig.procs.add(42, "redis-server");
  FaultEngine engine(rig.deps(), rig.options());
  auto rec = engine.create({{"kind", "pause"}, {"target", {{"pid", 42}}}, {"duration_ms", 1000}});
  CHECK(rec["state"] == "active");
  CHECK(rig.procs.procs[42].state == 'T');
  rig.clock.advance(999);
  engine.tick();
  CHECK(rig.procs.procs[42].state == 'T');
  rig.clock.advance(1);
  engine.tick();
  CHECK(rig.procs.procs[42].state == 'S');
  auto after = engine.get(rec["id"]);
  CHECK(after["state"] == "reverted");
  CHECK(after["reason"] == "expired");
  CHECK(engine.active() == 0);
}

TEST_CASE("A pause does not continue a process that reused the pid", "[agent]") {
  Rig rig;
  rig.procs.add(42, "redis-server");
  FaultEngine engine(rig.deps(), rig.options());
  engine.create({{"kind", "pause"}, {"target", {{"pid", 42}}}, {"duration_ms", 1000}});
  rig.procs.add(42, "redis-server").start_time = 99999;  // another process, same pid
  rig.signals.sent.clear();
  rig.clock.advance(1000);
  engine.tick();
  CHECK(rig.signals.sent.empty());
}

TEST_CASE("A lease that is not renewed reverts every fault", "[agent]") {
  Rig rig;
  rig.procs.add(42, "redis-server");
  FaultEngine engine(rig.deps(), rig.options());
  engine.lease({{"ttl_ms", 500}});
  engine.create({{"kind", "pause"}, {"target", {{"pid", 42}}}, {"duration_ms", 60000}});
  engine.create({{"kind", "cpu"}, {"cores", 2}, {"load", 0.5}, {"duration_ms", 60000}});
  engine.create(
      {{"kind", "latency"}, {"proxy", "redis"}, {"latency_ms", 100}, {"duration_ms", 60000}});
  CHECK(rig.loads.running == 1);
  CHECK(rig.toxics.toxics.size() == 1);
  rig.clock.advance(400);
  engine.lease({{"ttl_ms", 500}});  // renewed
  rig.clock.advance(400);
  engine.tick();
  CHECK(engine.active() == 3);
  rig.clock.advance(100);
  engine.tick();
  CHECK(engine.active() == 0);
  CHECK(rig.procs.procs[42].state == 'S');
  CHECK(rig.loads.running == 0);
  CHECK(rig.toxics.toxics.empty());
  CHECK(engine.list()[0]["reason"] == "lease expired");
  CHECK(engine.status()["lease"].is_null());
}

TEST_CASE("Halt reverts everything and refuses new faults until resume", "[agent]") {
  Rig rig;
  FaultEngine engine(rig.deps(), rig.options());
  engine.create({{"kind", "memory"}, {"bytes", 1024}, {"duration_ms", 60000}});
  engine.halt();
  CHECK(rig.loads.running == 0);
  CHECK_THROWS_WITH(engine.create({{"kind", "cpu"}, {"duration_ms", 10}}),
                    "the agent is halted: POST /v1/resume first");
  engine.resume();
  CHECK(engine.create({{"kind", "cpu"}, {"duration_ms", 10}})["state"] == "active");
}

TEST_CASE("A latency fault needs a declared proxy", "[agent]") {
  Rig rig;
  FaultEngine engine(rig.deps(), rig.options());
  CHECK_THROWS_WITH(
      engine.create(
          {{"kind", "latency"}, {"proxy", "mysql"}, {"latency_ms", 5}, {"duration_ms", 10}}),
      "proxy not found: 'mysql'");
  CHECK(engine.list()[0]["state"] == "failed");
}

TEST_CASE("A kill records when a supervisor brings the process back", "[agent]") {
  Rig rig;
  rig.procs.add(42, "redis-server", "redis-server *:6379");
  FaultEngine engine(rig.deps(), rig.options());
  auto rec = engine.create({{"kind", "kill"}, {"target", {{"process", "redis-server"}}}});
  CHECK(rig.signals.sent == std::vector<std::pair<int, int>>{{42, SIGKILL}});
  rig.clock.advance(20);
  engine.tick();
  auto seen = engine.get(rec["id"]);
  CHECK(seen["observed"]["exited"] == true);
  CHECK(seen["observed"]["restarted"] == false);
  rig.clock.advance(230);
  rig.procs.add(57, "redis-server", "redis-server *:6379");
  engine.tick();
  seen = engine.get(rec["id"]);
  CHECK(seen["observed"]["restarted"] == true);
  CHECK(seen["observed"]["new_pid"] == 57);
  CHECK(seen["observed"]["restarted_after_ms"] == 250);
  rig.clock.advance(30000);
  engine.tick();
  CHECK(engine.get(rec["id"])["state"] == "done");
}

TEST_CASE("A signal the kernel refuses is reported with its reason", "[agent]") {
  Rig rig;
  rig.procs.add(42, "redis-server");
  rig.signals.fail_with = EPERM;
  FaultEngine engine(rig.deps(), rig.options());
  try {
    engine.create({{"kind", "kill"}, {"target", {{"pid", 42}}}});
    FAIL("accepted");
  } catch (const ApiError& e) {
    CHECK(e.status() == 403);
    CHECK(std::string(e.what()) == "cannot send SIGKILL to pid 42: Operation not permitted");
  }
}

TEST_CASE("Active faults are in the state file before they start", "[agent]") {
  Rig rig;
  rig.procs.add(42, "redis-server");
  auto options = rig.options();
  options.state_file = temp_path("state.json");
  FaultEngine engine(rig.deps(), options);
  auto rec = engine.create({{"kind", "pause"}, {"target", {{"pid", 42}}}, {"duration_ms", 100}});
  auto doc = json::parse(std::ifstream(options.state_file));
  REQUIRE(doc["faults"].size() == 1);
  CHECK(doc["faults"][0]["id"] == rec["id"]);
  CHECK(doc["faults"][0]["targets"][0]["pid"] == 42);
  CHECK(doc["faults"][0]["targets"][0]["start_time"] == 1042);

  // A new agent reverts it: continues the paused process.
  rig.signals.sent.clear();
  auto actions = recover_state(options.state_file, rig.procs, rig.signals);
  CHECK(rig.signals.sent == std::vector<std::pair<int, int>>{{42, SIGCONT}});
  CHECK(actions[0]["action"] == "SIGCONT");
  CHECK(json::parse(std::ifstream(options.state_file))["faults"].empty());
  std::remove(options.state_file.c_str());
}

TEST_CASE("Recovery leaves alone a pid that now belongs to another process", "[agent]") {
  Rig rig;
  rig.procs.add(42, "redis-server").start_time = 7;
  const auto path = temp_path("state-reused.json");
  std::ofstream(path) << R"({"faults": [{"id": "a-1", "kind": "pause",
      "targets": [{"pid": 42, "start_time": 6, "name": "redis-server"}]}]})";
  auto actions = recover_state(path, rig.procs, rig.signals);
  CHECK(rig.signals.sent.empty());
  CHECK(actions[0]["action"] == "none: the pid now belongs to another process");
  std::remove(path.c_str());
}

TEST_CASE("A malformed line of /proc/PID/stat is rejected and names with spaces parse", "[agent]") {
  auto p = parse_proc_stat(
      "123 (my (odd) name) S 1 123 123 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10");
  REQUIRE(p);
  CHECK(p->pid == 123);
  CHECK(p->name == "my (odd) name");
  CHECK(p->state == 'S');
  CHECK(p->ppid == 1);
  CHECK(p->start_time == 98765);
  CHECK_FALSE(p->kernel_thread);
  CHECK_FALSE(parse_proc_stat("garbage"));
  auto self = make_proc_table()->get(::getpid());
  REQUIRE(self);
  CHECK(self->uid == ::getuid());
  CHECK(self->ppid == ::getppid());
}
