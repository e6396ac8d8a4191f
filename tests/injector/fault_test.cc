// Validation of fault bodies, target selection and the fault engine, on fake OS mechanisms
// (and, where the point is the real one, on /proc, files and child processes of the test's
// own). One file past 500 lines: its tests share the rig of fakes.h and these helpers.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "achilles/common/text.h"
#include "achilles/injector/config.h"
#include "achilles/injector/engine.h"
#include "achilles/injector/fault.h"
#include "fakes.h"
#include "support/run.h"

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

// Waits until `pid` carries `name` (a forked child renames itself shortly after the fork).
bool wait_until_named(const ProcessTable& procs, int pid, const std::string& name) {
  for (int i = 0; i < 2000; ++i) {
    auto p = procs.get(pid);
    if (p && p->name == name) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

std::string temp_path(const std::string& name) {
  return "/tmp/achilles-test-" + std::to_string(::getpid()) + "-" + name;
}

}  // namespace

namespace achilles::injector::testing {

// The fault records of a state file (one JSON object a line, after the header).
json state_faults(const std::string& path) {
  json out = json::array();
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    auto j = json::parse(line);
    if (!j.contains("achilles_state")) out.push_back(j);
  }
  return out;
}

}  // namespace achilles::injector::testing

namespace {}  // namespace

TEST_CASE("A fault body is refused with a message naming the wrong field", "[agent]") {
  CHECK(refusal_of(json::array()) == "400 the body must be a JSON object");
  CHECK(refusal_of({{"target", {{"pid", 5}}}}) == "400 missing field 'kind'");
  CHECK(refusal_of({{"kind", "explode"}}) ==
        "400 field 'kind' must be one of kill, pause, latency, cpu, memory, network");
  // The shared schema accepts a network body (the drill runner checks plans with it); this
  // agent does not inject network faults yet, and refuses one rather than read it as a kill.
  CHECK(refusal_of({{"kind", "network"}, {"action", "isolate"}, {"duration_ms", 1000}}) ==
        "422 this agent does not inject network faults");
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

TEST_CASE("A pidfile target must be an absolute path of at most 4096 characters", "[agent]") {
  CHECK(refusal_of({{"kind", "kill"}, {"target", {{"pidfile", "run/x.pid"}}}}, Limits{}) ==
        "400 field 'target.pidfile' must be an absolute path");
  CHECK(refusal_of({{"kind", "kill"}, {"target", {{"pidfile", "/" + std::string(4096, 'a')}}}},
                   Limits{}) == "400 field 'target.pidfile' must be at most 4096 characters");
  auto spec = parse_fault({{"kind", "kill"}, {"target", {{"pidfile", "/run/x.pid"}}}}, Limits{});
  CHECK(spec.target.pidfile == "/run/x.pid");
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
                      "(allow.processes, allow.executables) is empty");
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
  CHECK(sel.skipped[0]["reason"] == "effective uid 33 is not in the allowlist (allow.users)");
  t.pid = 43;
  CHECK_THROWS_WITH(
      select_targets(t, rig.procs, guard),
      "pid 43 may not be signalled: effective uid 33 is not in the allowlist (allow.users)");
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
  auto guard = rig.options().guard;
  guard.pidfile_dirs = {"/tmp"};
  auto sel = select_targets(t, rig.procs, guard);
  REQUIRE(sel.targets.size() == 1);
  CHECK(sel.targets[0].pid == 77);
  std::ofstream(path) << "seventy-seven\n";
  CHECK_THROWS_WITH(select_targets(t, rig.procs, guard),
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
  auto faults = state_faults(options.state_file);
  REQUIRE(faults.size() == 1);
  CHECK(faults[0]["id"] == rec["id"]);
  CHECK(faults[0]["targets"][0]["pid"] == 42);
  CHECK(faults[0]["targets"][0]["start_time"] == 1042);

  // A new agent reverts it: continues the paused process.
  rig.signals.sent.clear();
  auto recovery = recover_state(options.state_file, rig.procs, rig.signals, options.guard);
  CHECK(rig.signals.sent == std::vector<std::pair<int, int>>{{42, SIGCONT}});
  CHECK(recovery.actions[0]["action"] == "SIGCONT");
  CHECK(recovery.halted.empty());
  CHECK(state_faults(options.state_file).empty());
  std::remove(options.state_file.c_str());
}

TEST_CASE("Recovery leaves alone a pid that now belongs to another process", "[agent]") {
  Rig rig;
  rig.procs.add(42, "redis-server").start_time = 7;
  const auto path = temp_path("state-reused.json");
  std::ofstream(path) << R"({"faults": [{"id": "a-1", "kind": "pause",
      "targets": [{"pid": 42, "start_time": 6, "name": "redis-server"}]}]})";
  auto recovery = recover_state(path, rig.procs, rig.signals, rig.options().guard);
  CHECK(rig.signals.sent.empty());
  CHECK(recovery.actions[0]["action"] == "none: the pid now belongs to another process");
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

// ---- Issue 18: the agent under attack (engine and OS layer) ----

TEST_CASE("A thread of the agent is refused like the agent itself", "[agent]") {
  // The test process stands for the agent: one of its threads is a target by tid.
  auto procs = make_proc_table();
  Guard guard;
  guard.allow.processes = {"*"};
  guard.self_pid = ::getpid();
  guard.parent_pid = ::getppid();
  std::atomic<pid_t> tid{0};
  std::atomic<bool> stop{false};
  std::thread thread([&] {
    tid = ::gettid();
    while (!stop)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  });
  while (tid == 0)
    std::this_thread::yield();
  Target t;
  t.pid = tid;
  CHECK_THROWS_WITH(select_targets(t, *procs, guard),
                    "pid " + std::to_string(tid.load()) +
                        " may not be signalled: it is a thread of the agent, which never "
                        "signals itself");
  stop = true;
  thread.join();
}

TEST_CASE("The agent's ancestors and its own stress processes are never targets", "[agent]") {
  auto procs = make_proc_table();
  Guard guard;
  guard.allow.processes = {"*"};
  guard.self_pid = ::getpid();
  guard.parent_pid = ::getppid();
  const auto parent = procs->get(::getppid());
  REQUIRE(parent);
  Target t;
  if (parent->ppid > 1) {
    t.pid = parent->ppid;
    CHECK_THROWS_WITH(select_targets(t, *procs, guard),
                      "pid " + std::to_string(parent->ppid) +
                          " may not be signalled: the agent never signals its ancestors");
  }
  Rig rig;
  rig.procs.add(600, "web-stress");
  auto g = rig.options().guard;
  g.helpers = {600};
  t.pid = 600;
  CHECK_THROWS_WITH(select_targets(t, rig.procs, g),
                    "pid 600 may not be signalled: it is one of the agent's own stress processes");
}

TEST_CASE("allow.users matches the effective uid and allow.executables the executable", "[agent]") {
  Rig rig;
  auto guard = rig.options().guard;
  guard.allow.uids = {1000};
  auto& setuid = rig.procs.add(42, "redis-server", "", 1000);
  setuid.euid = 0;  // a setuid-root program started by uid 1000
  Target t;
  t.pid = 42;
  CHECK_THROWS_WITH(
      select_targets(t, rig.procs, guard),
      "pid 42 may not be signalled: effective uid 0 is not in the allowlist (allow.users)");

  guard.allow.uids.clear();
  guard.allow.processes.clear();
  guard.allow.executables = {"/usr/bin/redis-*"};
  rig.procs.add(43, "renamed").exe = "/usr/bin/redis-server";
  rig.procs.add(44, "redis-server").exe = "/tmp/impostor";
  t.pid = 43;
  CHECK(select_targets(t, rig.procs, guard).targets.size() == 1);
  t.pid = 44;
  CHECK_THROWS_WITH(select_targets(t, rig.procs, guard),
                    "pid 44 may not be signalled: executable '/tmp/impostor' is not in the "
                    "allowlist (allow.executables)");
  // The glob does not cross directories.
  rig.procs.add(45, "x").exe = "/usr/bin/redis-x/evil";
  t.pid = 45;
  CHECK_THROWS(select_targets(t, rig.procs, guard));
  guard.allow.processes = {"web-*"};
  CHECK_THROWS_WITH(select_targets(t, rig.procs, guard),
                    "pid 45 may not be signalled: neither process name 'x' nor executable "
                    "'/usr/bin/redis-x/evil' is in the allowlist (allow.processes, "
                    "allow.executables)");
}

TEST_CASE("The process table reads the thread group, the effective uid and the executable",
          "[agent]") {
  auto self = make_proc_table()->get(::getpid());
  REQUIRE(self);
  CHECK(self->tgid == ::getpid());
  CHECK(self->euid == ::geteuid());
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe);
  REQUIRE(n > 0);
  CHECK(self->exe == std::string(exe, static_cast<std::size_t>(n)));
}

TEST_CASE("A cmdline pattern is RE2, compiled once, and a bad one names the field", "[agent]") {
  CHECK(refusal_of({{"kind", "kill"}, {"target", {{"cmdline", "(unclosed"}}}}) ==
        "400 field 'target.cmdline' is not a valid regular expression: missing ): (unclosed");
  // Backreferences would need backtracking: RE2 has none.
  CHECK(refusal_of({{"kind", "kill"}, {"target", {{"cmdline", "(a)\\1"}}}}) ==
        "400 field 'target.cmdline' is not a valid regular expression: invalid escape sequence: "
        "\\1");
  auto spec = parse_fault({{"kind", "kill"}, {"target", {{"cmdline", "(a+)+$"}}}}, Limits{});
  REQUIRE(spec.target.regex);
  Rig rig;
  rig.procs.add(70, "web-a", "web-a " + std::string(5000, 'a') + "!");
  rig.procs.add(71, "web-b", "web-b aaa");
  auto sel = select_targets(spec.target, rig.procs, rig.options().guard);
  REQUIRE(sel.targets.size() == 1);
  CHECK(sel.targets[0].pid == 71);
}

TEST_CASE("A pidfile is read only as a regular file under allow.pidfile_dirs", "[agent]") {
  Rig rig;
  rig.procs.add(77, "redis-server");
  char tmpl[] = "/tmp/achilles-pidfile-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  const std::string root = tmpl;
  const std::string run = root + "/run", outside = root + "/secret";
  REQUIRE(::mkdir(run.c_str(), 0700) == 0);
  std::ofstream(run + "/redis.pid") << "77\n";
  std::ofstream(outside) << "4242 root-only\n";
  REQUIRE(::symlink(outside.c_str(), (run + "/link.pid").c_str()) == 0);
  REQUIRE(::mkfifo((run + "/fifo.pid").c_str(), 0600) == 0);
  auto guard = rig.options().guard;
  guard.pidfile_dirs = {run};
  auto refused = [&](const std::string& path) {
    Target t;
    t.pidfile = path;
    try {
      select_targets(t, rig.procs, guard);
    } catch (const ApiError& e) {
      return std::to_string(e.status()) + " " + e.what();
    }
    return std::string("accepted");
  };
  CHECK(refused(run + "/redis.pid") == "accepted");
  // Outside: one answer whether the file exists or not, and nothing of its contents.
  const std::string where = " is not in a directory that allow.pidfile_dirs names (" + run + ")";
  CHECK(refused(outside) == "403 pidfile '" + outside + "'" + where);
  CHECK(refused(root + "/missing") == "403 pidfile '" + root + "/missing'" + where);
  CHECK(refused(run + "/../secret") == "403 pidfile '" + run + "/../secret'" + where);
  CHECK(refused(run + "/link.pid") ==
        "403 pidfile '" + run +
            "/link.pid' is not a regular file (a symbolic link, FIFO or device is refused)");
  // A FIFO is refused without blocking on it.
  CHECK(refused(run + "/fifo.pid") ==
        "403 pidfile '" + run +
            "/fifo.pid' is not a regular file (a symbolic link, FIFO or device is refused)");
  CHECK(refused(run + "/none.pid") ==
        "404 cannot read pidfile '" + run + "/none.pid': no such file");
  std::ofstream(run + "/big.pid") << std::string(100, '7');
  CHECK(refused(run + "/big.pid") == "400 pidfile '" + run + "/big.pid' does not hold a pid");
  guard.pidfile_dirs.clear();
  CHECK(refused(run + "/redis.pid") ==
        "403 pidfile targets are refused: allow.pidfile_dirs is empty");
  std::filesystem::remove_all(root);
}

TEST_CASE("cpu and memory faults are capped by what the host has", "[agent]") {
  Rig rig;
  rig.loads.host = {2, std::uint64_t{1} << 20, 64};
  auto options = rig.options();
  options.max_total_memory_bytes = 3 << 20;
  options.limits.max_memory_bytes = 3 << 20;
  FaultEngine engine(rig.deps(), options);
  const json two = {{"kind", "cpu"}, {"cores", 2}, {"load", 0.1}, {"duration_ms", 60000}};
  CHECK(engine.create(two)["state"] == "active");
  int refused = 0;
  for (int i = 0; i < 30; ++i) {
    try {
      engine.create(two);
    } catch (const ApiError& e) {
      ++refused;
      CHECK(e.status() == 409);
      CHECK(std::string(e.what()) ==
            "cpu faults may load at most 2 cores at once (the host's online CPUs, and "
            "max_cpu_cores): 2 already loaded, 2 more asked");
    }
  }
  CHECK(refused == 30);
  CHECK_THROWS_WITH(
      engine.create({{"kind", "memory"}, {"bytes", 2 << 20}, {"duration_ms", 60000}}),
      "field 'bytes': 2097152 is more than the host can give now: 1048576 bytes (MemAvailable, "
      "or what the agent's cgroup allows, less a safety margin of 64 bytes)");
  rig.loads.host.memory_available = std::uint64_t{1} << 30;
  CHECK(engine.create({{"kind", "memory"}, {"bytes", 2 << 20}, {"duration_ms", 60000}})["state"] ==
        "active");
  CHECK_THROWS_WITH(
      engine.create({{"kind", "memory"}, {"bytes", 2 << 20}, {"duration_ms", 60000}}),
      "memory faults may hold at most 3145728 bytes at once (max_memory_bytes): 2097152 already "
      "held, 2097152 more asked");
  engine.halt();
  CHECK(rig.loads.running == 0);
}

TEST_CASE("Stress loads run in child processes that the load's end kills and reaps", "[agent]") {
  auto runner = make_process_load_runner();
  const auto host = runner->capacity();
  CHECK(host.cpus >= 1);
  REQUIRE(host.memory_available);
  auto cpu = runner->cpu(1, 0.05);
  auto mem = runner->memory(8 << 20);
  auto pids = cpu->pids();
  for (int p : mem->pids())
    pids.push_back(p);
  REQUIRE(pids.size() == 2);
  auto procs = make_proc_table();
  for (int p : pids) {
    auto info = procs->get(p);
    REQUIRE(info);
    CHECK(info->ppid == ::getpid());
    CHECK(wait_until_named(*procs, p, "achilles-stress"));
    std::ifstream adj("/proc/" + std::to_string(p) + "/oom_score_adj");
    int score = 0;
    adj >> score;
    CHECK(score == 1000);
  }
  // Where this host has a cgroup v2 tree the test may write to (pure v2 at /sys/fs/cgroup, or
  // hybrid at /sys/fs/cgroup/unified, as on the machine this was written on), each worker is in
  // a cgroup of its own under the agent's, removed with the load.
  std::string own;
  for (const auto& line :
       achilles::common::split(achilles::testing::slurp("/proc/self/cgroup"), '\n'))
    if (line.rfind("0::", 0) == 0) own = line.substr(3);
  std::optional<std::string> tree;
  for (const char* mount : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"})
    if (std::filesystem::exists(std::string(mount) + "/cgroup.controllers") &&
        ::access((mount + (own == "/" ? "" : own)).c_str(), W_OK) == 0)
      tree = mount + (own == "/" ? "" : own);
  std::vector<std::string> cgroups;
  if (tree) {
    for (int p : pids) {
      const std::string name = "achilles-stress-" + std::to_string(p);
      CHECK_THAT(achilles::testing::slurp("/proc/" + std::to_string(p) + "/cgroup"),
                 Catch::Matchers::Contains("0::" + (own == "/" ? "" : own) + "/" + name + "\n"));
      cgroups.push_back(*tree + "/" + name);
      CHECK(std::filesystem::exists(cgroups.back()));
    }
  } else {
    WARN("cgroup placement not checked: this host has no cgroup v2 tree the test may write to");
  }
  cpu.reset();
  mem.reset();
  for (int p : pids)
    CHECK_FALSE(procs->get(p));  // not even a zombie
  for (const auto& dir : cgroups)
    CHECK_FALSE(std::filesystem::exists(dir));
}

TEST_CASE("Two pauses of one process: it stays stopped until the last one ends", "[agent]") {
  Rig rig;
  rig.procs.add(42, "redis-server");
  FaultEngine engine(rig.deps(), rig.options());
  engine.create({{"kind", "pause"}, {"target", {{"pid", 42}}}, {"duration_ms", 1000}});
  auto second =
      engine.create({{"kind", "pause"}, {"target", {{"pid", 42}}}, {"duration_ms", 10000}});
  rig.clock.advance(1000);
  engine.tick();
  CHECK(engine.active() == 1);
  CHECK(rig.procs.procs[42].state == 'T');
  rig.clock.advance(9000);
  engine.tick();
  CHECK(rig.procs.procs[42].state == 'S');
  CHECK(engine.get(second["id"])["reason"] == "expired");
}

TEST_CASE("A process that was already stopped is left stopped when the pause ends", "[agent]") {
  Rig rig;
  rig.procs.add(42, "redis-server").state = 'T';  // stopped by someone else
  auto options = rig.options();
  options.state_file = temp_path("state-stopped.json");
  FaultEngine engine(rig.deps(), options);
  auto rec = engine.create({{"kind", "pause"}, {"target", {{"pid", 42}}}, {"duration_ms", 1000}});
  CHECK(rec["targets"][0]["found_stopped"] == true);
  // Recorded for a restarted agent too.
  CHECK(state_faults(options.state_file)[0]["targets"][0]["found_stopped"] == true);
  auto recovery = recover_state(options.state_file, rig.procs, rig.signals, options.guard);
  CHECK(recovery.actions[0]["action"] ==
        "none: it was already stopped before the fault, and is left so");
  rig.signals.sent.clear();
  engine.remove(rec["id"]);
  CHECK(rig.signals.sent.empty());
  CHECK(rig.procs.procs[42].state == 'T');
  std::remove(options.state_file.c_str());
}

TEST_CASE("A halt and a lapsed lease are kept in the state file until resume", "[agent]") {
  Rig rig;
  auto options = rig.options();
  options.state_file = temp_path("state-halt.json");
  {
    FaultEngine engine(rig.deps(), options);
    engine.halt();
  }
  auto recovery = recover_state(options.state_file, rig.procs, rig.signals, options.guard);
  CHECK(recovery.halted == "halt");
  FaultEngine engine(rig.deps(), options);
  engine.restore_halt(recovery.halted);
  CHECK(engine.status()["halted"] == true);
  CHECK_THROWS_WITH(engine.create({{"kind", "cpu"}, {"duration_ms", 10}}),
                    "the agent is halted: POST /v1/resume first");
  engine.resume();
  CHECK(recover_state(options.state_file, rig.procs, rig.signals, options.guard).halted.empty());

  // A lapsed lease halts too, and says so.
  engine.lease({{"ttl_ms", 100}});
  rig.clock.advance(100);
  engine.tick();
  CHECK(engine.status()["halted_by"] == "lease expired");
  CHECK_THROWS_WITH(engine.create({{"kind", "cpu"}, {"duration_ms", 10}}),
                    "the lease lapsed, so the agent is halted: POST /v1/resume first");
  CHECK(recover_state(options.state_file, rig.procs, rig.signals, options.guard).halted ==
        "lease expired");
  std::remove(options.state_file.c_str());
}

TEST_CASE("Recovery reads a damaged state file record by record and says what it lost", "[agent]") {
  Rig rig;
  rig.procs.add(42, "redis-server").state = 'T';
  rig.procs.add(43, "postgres").state = 'T';  // not in the allowlist
  const auto path = temp_path("state-damaged.json");
  std::ofstream(path)
      << R"({"achilles_state": 1, "agent_pid": 9, "halted": null})"
         "\n"
      << R"({"id": "a-1", "kind": "pause", "targets": [{"pid": 42, "start_time": 1042, "name": "redis-server"}]})"
         "\n"
      << std::string("{\"id\": \"a-2\", \"kind\": \"pau\xff\0garbage\n", 36)
      << R"({"id": "a-3", "kind": "pause", "targets": [{"pid": "x"}]})"
         "\n"
      << R"({"id": "a-4", "kind": "pause", "targets": [{"pid": 43, "start_time": 1043, "name": "postgres"}]})"
         "\n";
  auto recovery = recover_state(path, rig.procs, rig.signals, rig.options().guard);
  CHECK(rig.signals.sent == std::vector<std::pair<int, int>>{{42, SIGCONT}});
  REQUIRE(recovery.actions.size() == 4);
  CHECK(recovery.actions[0]["action"] ==
        "none: line 3 of the state file could not be read (not a JSON object); whatever it "
        "recorded is not reverted");
  CHECK(recovery.actions[1]["action"] == "SIGCONT");
  CHECK(recovery.actions[2]["line"] == 4);
  CHECK(recovery.actions[3]["action"] ==
        "none: it may not be signalled: process name 'postgres' is not in the allowlist "
        "(allow.processes)");
  CHECK(recovery.halted.empty());
  // A file whose header is lost: halted, to be safe.
  std::ofstream(path) << "garbage\n";
  CHECK(recover_state(path, rig.procs, rig.signals, rig.options().guard).halted ==
        "state file damaged");
  std::remove(path.c_str());
}

TEST_CASE("The state file is never written through a link planted as its temporary file",
          "[agent]") {
  char tmpl[] = "/tmp/achilles-state-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  const std::string dir = tmpl;
  std::ofstream(dir + "/victim") << "precious\n";
  REQUIRE(::symlink((dir + "/victim").c_str(), (dir + "/state.json.tmp").c_str()) == 0);
  write_file_atomically(dir + "/state.json", "new\n");
  std::ifstream victim(dir + "/victim"), state(dir + "/state.json");
  std::string v, s;
  std::getline(victim, v);
  std::getline(state, s);
  CHECK(v == "precious");
  CHECK(s == "new");
  struct stat st {};
  REQUIRE(::stat((dir + "/state.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::filesystem::remove_all(dir);
}

TEST_CASE("A second lock on one state file is refused, naming the holder", "[agent]") {
  char tmpl[] = "/tmp/achilles-lock-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  const std::string path = std::string(tmpl) + "/state.json";
  {
    StateLock first(path);
    CHECK_THROWS_WITH(StateLock(path), "the state file '" + path +
                                           "' is in use by another agent (pid " +
                                           std::to_string(::getpid()) + "), which holds '" + path +
                                           ".lock': each agent needs a state file of its own "
                                           "(--state-file)");
  }
  CHECK_NOTHROW(StateLock(path));  // released with the first
  std::filesystem::remove_all(tmpl);
}

TEST_CASE(
    "The allowlist's executables and pidfile directories and the stress caps are "
    "configured by file and flag",
    "[agent]") {
  char tmpl[] = "/tmp/achilles-config-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  const std::string path = std::string(tmpl) + "/agent.yaml";
  std::ofstream(path) << "allow:\n  executables: [/usr/bin/redis-*]\n  pidfile_dirs: [/srv/run]\n"
                         "max_cpu_cores: 1\nmax_memory_bytes: 1048576\n";
  auto c = parse_command_line({"--config", path}).config;
  CHECK(c.allow_executables == std::vector<std::string>{"/usr/bin/redis-*"});
  CHECK(c.allow_pidfile_dirs == std::vector<std::string>{"/srv/run"});
  CHECK(c.max_cpu_cores == 1);
  CHECK(c.max_memory_bytes == 1048576);
  c = parse_command_line({"--config", path, "--allow-pidfile-dir", "/a", "--allow-pidfile-dir",
                          "/b", "--allow-executable", "/bin/sleep"})
          .config;
  CHECK(c.allow_pidfile_dirs == std::vector<std::string>{"/a", "/b"});
  CHECK(c.allow_executables == std::vector<std::string>{"/bin/sleep"});
  CHECK(parse_command_line({}).config.allow_pidfile_dirs ==
        std::vector<std::string>{"/run", "/var/run"});
  CHECK_THROWS_WITH(parse_command_line({"--allow-pidfile-dir", "run"}),
                    "allow.pidfile_dirs must be absolute paths, got 'run'");
  std::filesystem::remove_all(tmpl);
}

TEST_CASE("A hostile configuration file is refused with its position, never a crash or a hang",
          "[agent][config]") {
  // Each of these once gave exit 3 with yaml-cpp's text ("bad conversion"), a cyclic tree, or
  // was taken for an empty configuration.
  const std::pair<std::string, std::string> cases[] = {
      {"? [a]\n: 1\n", "agent.yaml:1:3: error: a key must be a word"},
      {"allow: {? [x]: 1}\n", "agent.yaml:1:11: error: a key must be a word"},
      {"proxies: [{? {a: 1}: 2}]\n", "agent.yaml:1:14: error: a key must be a word"},
      {"allow: &a {processes: *a}\n",
       "agent.yaml:1:23: error: alias '*a' is inside the node its anchor is on: a node cannot "
       "contain itself"},
      {",",
       "agent.yaml:1:1: error: syntax error: ',' outside a list or map in brackets (a ',' "
       "separates the items of [a, b] or {a: 1, b: 2})"},
      {"listen: 127.0.0.1:1\n---\nlisten: 127.0.0.1:2\n",
       "agent.yaml:2:1: error: a second YAML document: this file holds one (remove the '---' and "
       "what follows, or the second document)"},
      {"listen: \"\xff\"\n", "agent.yaml:1:10: error: the file is not valid UTF-8 (byte 0xFF)"},
  };
  for (const auto& [text, message] : cases) {
    CAPTURE(text);
    CHECK_THROWS_MATCHES(parse_config(text, "agent.yaml"), ConfigError,
                         Catch::Matchers::Message(message));
  }
  // The file reader and the text reader agree, and a file far too big is not read whole.
  char tmpl[] = "/tmp/achilles-config-XXXXXX";
  REQUIRE(::mkdtemp(tmpl));
  const std::string path = std::string(tmpl) + "/agent.yaml";
  std::ofstream(path) << "? [a]\n: 1\n";
  CHECK_THROWS_WITH(load_config(path), path + ":1:3: error: a key must be a word");
  std::ofstream(path) << "# " << std::string(2 << 20, 'x') << "\n";
  CHECK_THROWS_WITH(load_config(path), path + ": error: the configuration is larger than 1 MiB");
  std::filesystem::remove_all(tmpl);
}
