// The real achilles-agent attacked through its API (issue 18, the OS and engine half): patterns
// and pidfiles that would freeze it, targets that are the agent itself, stress loads, the
// allowlist, the state file, and reverts that must leave nothing behind. Every process here
// is one the test started; every socket is on loopback.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "achilles/injector/os.h"
#include "support.h"

using namespace achilles::injector::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// A sleep with a unique argument, so that a cmdline pattern matches only ours.
std::string unique_sleep() {
  return unique_sleep_arg(2000);
}

Reply post(int port, const std::string& path, const json& body) {
  return http(port, "POST", path, body.dump());
}

bool asleep(Child& c) {
  return wait_until([&] { return proc_name(c.pid()) == "sleep" && proc_state(c.pid()) == 'S'; });
}

// Continued: no longer stopped (it may be runnable or sleeping, on a loaded machine).
bool continued(pid_t pid) {
  const char s = proc_state(pid);
  return s != 0 && s != 'T';
}

std::string fault_state(int port, const Reply& created) {
  return http(port, "GET", "/v1/faults/" + created.json()["id"].get<std::string>()).json()["state"];
}

// The agent's threads (other than its main one) and children.
std::vector<int> agent_tasks(pid_t agent) {
  std::vector<int> out;
  if (DIR* d = opendir(("/proc/" + std::to_string(agent) + "/task").c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] >= '1' && e->d_name[0] <= '9' && std::atoi(e->d_name) != agent)
        out.push_back(std::atoi(e->d_name));
    closedir(d);
  }
  for (const auto& p : achilles::injector::make_proc_table()->list())
    if (p.ppid == agent) out.push_back(p.pid);
  return out;
}

}  // namespace

TEST_CASE("A pathological cmdline pattern does not hold up the agent", "[agent]") {
  TempDir dir;
  // The pattern is matched against every process, so the allowlist names only this test's
  // own victim (a sleep under a name no other process has): whatever else on the host ends
  // in an 'a', the agent may not signal it.
  const std::string name = "ach-" + std::to_string(::getpid());
  const std::string sleeper = dir.file(name);
  std::filesystem::create_symlink("/bin/sleep", sleeper);
  Agent agent(dir, {"--insecure-loopback", "--allow-process", name});
  // A command line of many a's and a '!': `(a+)+$` backtracks exponentially on it. The shell
  // stops itself (no child of its own is left behind).
  Child bait({"sh", "-c", "kill -STOP $$", std::string(34, 'a') + "!"});
  REQUIRE(wait_until([&] { return proc_name(bait.pid()) == "sh"; }));
  Child victim({sleeper, unique_sleep()});
  REQUIRE(wait_until(
      [&] { return proc_name(victim.pid()) == name && proc_state(victim.pid()) == 'S'; }));
  auto pause = post(agent.port(), "/v1/faults",
                    {{"kind", "pause"}, {"target", {{"pid", victim.pid()}}}, {"duration_ms", 300}});
  REQUIRE(pause.status == 201);
  auto r =
      post(agent.port(), "/v1/faults", {{"kind", "kill"}, {"target", {{"cmdline", "(a+)+$"}}}});
  // Answered (nothing that may be signalled matches), well within the client's 10 s.
  CHECK((r.status == 404 || r.status == 403));
  CHECK(wait_until([&] { return continued(victim.pid()); }));
}

TEST_CASE("A pidfile that is a FIFO or outside the allowed directories is refused at once",
          "[agent]") {
  TempDir dir;
  const std::string run = dir.file("run");
  REQUIRE(::mkdir(run.c_str(), 0700) == 0);
  Agent agent(dir, {"--insecure-loopback", "--allow-process", "sleep", "--allow-pidfile-dir", run});
  REQUIRE(::mkfifo((run + "/fifo.pid").c_str(), 0600) == 0);
  auto fifo = post(
      agent.port(), "/v1/faults",
      {{"kind", "pause"}, {"target", {{"pidfile", run + "/fifo.pid"}}}, {"duration_ms", 1000}});
  CHECK(fifo.status == 403);
  CHECK(fifo.json()["error"] ==
        "pidfile '" + run +
            "/fifo.pid' is not a regular file (a symbolic link, FIFO or device is refused)");
  // A root-only file elsewhere: neither its first number nor its existence shows.
  std::ofstream(dir.file("secret")) << "31337\n";
  ::chmod(dir.file("secret").c_str(), 0600);
  const json outside = {
      {"kind", "kill"}, {"target", {{"pidfile", dir.file("secret")}}}, {"observe_ms", 0}};
  auto leak = post(agent.port(), "/v1/faults", outside);
  CHECK(leak.status == 403);
  CHECK(leak.json()["error"] == "pidfile '" + dir.file("secret") +
                                    "' is not in a directory that allow.pidfile_dirs names (" +
                                    run + ")");
  CHECK(leak.body.find("31337") == std::string::npos);
  auto missing = post(agent.port(), "/v1/faults",
                      {{"kind", "kill"}, {"target", {{"pidfile", dir.file("nothing")}}}});
  CHECK(missing.json()["error"] == "pidfile '" + dir.file("nothing") +
                                       "' is not in a directory that allow.pidfile_dirs names (" +
                                       run + ")");
  // A pidfile where it belongs works.
  Child victim({"sleep", unique_sleep()});
  REQUIRE(asleep(victim));
  std::ofstream(run + "/victim.pid") << victim.pid() << "\n";
  auto ok = post(
      agent.port(), "/v1/faults",
      {{"kind", "pause"}, {"target", {{"pidfile", run + "/victim.pid"}}}, {"duration_ms", 60000}});
  CHECK(ok.status == 201);
  CHECK(http(agent.port(), "POST", "/v1/halt").status == 200);
  CHECK(wait_until([&] { return continued(victim.pid()); }));
}

TEST_CASE("The agent refuses its own threads and stress processes as targets", "[agent]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback", "--allow-process", "*"});
  auto cpu = post(agent.port(), "/v1/faults",
                  {{"kind", "cpu"}, {"cores", 1}, {"load", 0.05}, {"duration_ms", 60000}});
  REQUIRE(cpu.status == 201);
  std::vector<int> tasks;
  REQUIRE(wait_until([&] { return !(tasks = agent_tasks(agent.process().pid())).empty(); }));
  for (int task : tasks) {
    auto r = post(agent.port(), "/v1/faults",
                  {{"kind", "pause"}, {"target", {{"pid", task}}}, {"duration_ms", 60000}});
    CHECK(r.status == 403);
    CHECK(r.json()["error"].get<std::string>().rfind(
              "pid " + std::to_string(task) + " may not be signalled: ", 0) == 0);
  }
  // The agent still answers: it did not stop itself.
  CHECK(http(agent.port(), "GET", "/v1/status").status == 200);
}

TEST_CASE("cpu faults together may not load more cores than the host has", "[agent]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback"});
  const int cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  const json all = {{"kind", "cpu"}, {"cores", cpus}, {"load", 0.05}, {"duration_ms", 60000}};
  REQUIRE(post(agent.port(), "/v1/faults", all).status == 201);
  int accepted = 0;
  for (int i = 0; i < 30; ++i) {
    auto r = post(agent.port(), "/v1/faults",
                  {{"kind", "cpu"}, {"cores", 1}, {"load", 0.05}, {"duration_ms", 60000}});
    accepted += r.status == 201;
    if (i == 0) {
      CHECK(r.status == 409);
      CHECK(r.json()["error"] == "cpu faults may load at most " + std::to_string(cpus) +
                                     " cores at once (the host's online CPUs, and "
                                     "max_cpu_cores): " +
                                     std::to_string(cpus) + " already loaded, 1 more asked");
    }
  }
  CHECK(accepted == 0);
  http(agent.port(), "POST", "/v1/halt");
}

TEST_CASE("Stress processes die with a killed agent", "[agent]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback"});
  REQUIRE(post(agent.port(), "/v1/faults",
               {{"kind", "memory"}, {"bytes", 4 << 20}, {"duration_ms", 60000}})
              .status == 201);
  std::vector<int> kids;
  REQUIRE(wait_until([&] { return !(kids = agent_tasks(agent.process().pid())).empty(); }));
  ::kill(agent.process().pid(), SIGKILL);
  CHECK(agent.process().wait() == 128 + SIGKILL);
  for (int k : kids)
    CHECK(wait_until([&] {
      const char s = proc_state(k);
      return s == 0 || s == 'Z';  // gone, or dead and waiting for its new parent to reap it
    }));
}

TEST_CASE("allow.executables matches the real executable, not the name", "[agent]") {
  TempDir dir;
  const std::string sleep_exe = std::filesystem::canonical("/proc/self/root/bin/sleep").string();
  Agent agent(dir, {"--insecure-loopback", "--allow-executable", sleep_exe});
  Child victim({"sleep", unique_sleep()});
  REQUIRE(asleep(victim));
  auto ok = post(agent.port(), "/v1/faults",
                 {{"kind", "pause"}, {"target", {{"pid", victim.pid()}}}, {"duration_ms", 60000}});
  CHECK(ok.status == 201);
  // A copy of sh named "sleep": its comm says sleep, its executable does not.
  const std::string impostor = dir.file("sleep");
  std::filesystem::copy_file("/bin/sh", impostor);
  ::chmod(impostor.c_str(), 0755);
  Child fake({impostor, "-c", "kill -STOP $$"});
  REQUIRE(wait_until([&] { return proc_name(fake.pid()) == "sleep"; }));
  auto refused =
      post(agent.port(), "/v1/faults",
           {{"kind", "pause"}, {"target", {{"pid", fake.pid()}}}, {"duration_ms", 1000}});
  CHECK(refused.status == 403);
  CHECK(refused.json()["error"] == "pid " + std::to_string(fake.pid()) +
                                       " may not be signalled: executable '" + impostor +
                                       "' is not in the allowlist (allow.executables)");
  http(agent.port(), "POST", "/v1/halt");
}

TEST_CASE("A second agent on the same state file refuses to start", "[agent]") {
  TempDir dir;
  Agent first(dir, {"--insecure-loopback"});
  Child second({ACHILLES_AGENT_BINARY, "--listen", "127.0.0.1:0", "--insecure-loopback",
                "--state-file", dir.file("state.json"), "--audit-log", ""},
               true);
  CHECK(second.wait() == 3);
  CHECK(second.stderr_text() == "achilles-agent: error: the state file '" + dir.file("state.json") +
                                    "' is in use by another agent (pid " +
                                    std::to_string(first.process().pid()) + "), which holds '" +
                                    dir.file("state.json.lock") +
                                    "': each agent needs a state file of its own (--state-file)\n");
  CHECK(http(first.port(), "GET", "/v1/status").status == 200);
}

TEST_CASE("A restarted agent recovers what it can from a damaged state file", "[agent]") {
  TempDir dir;
  Child victim({"sleep", unique_sleep()});
  REQUIRE(asleep(victim));
  // Not in the allowlist of the agent below (a shell, not a sleep).
  Child stranger({"sh", "-c", "kill -STOP $$"});
  REQUIRE(wait_until([&] { return proc_name(stranger.pid()) == "sh"; }));
  auto start_time = [](pid_t pid) {
    return achilles::injector::make_proc_table()->get(pid)->start_time;
  };
  auto record = [&](const std::string& id, pid_t pid, const std::string& name) {
    return json({{"id", id},
                 {"kind", "pause"},
                 {"targets", {{{"pid", pid}, {"start_time", start_time(pid)}, {"name", name}}}}})
        .dump();
  };
  ::kill(victim.pid(), SIGSTOP);
  ::kill(stranger.pid(), SIGSTOP);
  REQUIRE(wait_until([&] { return proc_state(victim.pid()) == 'T'; }));
  REQUIRE(wait_until([&] { return proc_state(stranger.pid()) == 'T'; }));
  std::ofstream(dir.file("state.json"))
      << R"({"achilles_state": 1, "agent_pid": 1, "halted": null})"
      << "\n"
      << record("x-1", victim.pid(), "sleep") << "\n"
      << "{\"id\": \"x-2\", \"kind\": \"pa\n"
      << record("x-3", stranger.pid(), "sh") << "\n";
  Agent agent(dir, {"--insecure-loopback", "--allow-process", "sleep"});  // once it serves
  CHECK(continued(victim.pid()));
  CHECK(proc_state(stranger.pid()) == 'T');
  const auto log = agent.process().stderr_text();
  CHECK(log.find("line 3 of the state file could not be read (not a JSON object)") !=
        std::string::npos);
  CHECK(log.find("none: it may not be signalled: process name 'sh' is not in the allowlist "
                 "(allow.processes)") != std::string::npos);
  ::kill(victim.pid(), SIGCONT);
  ::kill(stranger.pid(), SIGCONT);
}

TEST_CASE("An agent that cannot listen still continues what its state file lists", "[agent]") {
  TempDir dir;
  Child victim({"sleep", unique_sleep()});
  REQUIRE(asleep(victim));
  const auto start = achilles::injector::make_proc_table()->get(victim.pid())->start_time;
  ::kill(victim.pid(), SIGSTOP);
  REQUIRE(wait_until([&] { return proc_state(victim.pid()) == 'T'; }));
  std::ofstream(dir.file("state.json"))
      << R"({"achilles_state": 1, "agent_pid": 1, "halted": null})"
      << "\n"
      << json({{"id", "y-1"},
               {"kind", "pause"},
               {"targets", {{{"pid", victim.pid()}, {"start_time", start}, {"name", "sleep"}}}}})
             .dump()
      << "\n";
  // The port is taken (by a listener of the test's own).
  const int taken = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(::bind(taken, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(taken, 1) == 0);
  REQUIRE(::getsockname(taken, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  Child agent({ACHILLES_AGENT_BINARY, "--listen", "127.0.0.1:" + std::to_string(ntohs(a.sin_port)),
               "--insecure-loopback", "--allow-process", "sleep", "--state-file",
               dir.file("state.json"), "--audit-log", ""},
              true);
  CHECK(agent.wait() == 3);
  CHECK(agent.stderr_text().find("cannot listen on 127.0.0.1:") != std::string::npos);
  CHECK(wait_until([&] { return continued(victim.pid()); }));
  ::close(taken);
}

TEST_CASE("Two pauses of one process end with the last, and a stopped process stays stopped",
          "[agent]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback", "--allow-process", "sleep"});
  Child victim({"sleep", unique_sleep()});
  REQUIRE(asleep(victim));
  const json brief = {{"kind", "pause"}, {"target", {{"pid", victim.pid()}}}, {"duration_ms", 200}};
  const json longer = {
      {"kind", "pause"}, {"target", {{"pid", victim.pid()}}}, {"duration_ms", 60000}};
  auto a = post(agent.port(), "/v1/faults", longer);
  auto b = post(agent.port(), "/v1/faults", brief);
  REQUIRE(a.status == 201);
  REQUIRE(b.status == 201);
  REQUIRE(wait_until([&] { return fault_state(agent.port(), b) == "reverted"; }));
  CHECK(proc_state(victim.pid()) == 'T');
  http(agent.port(), "DELETE", "/v1/faults/" + a.json()["id"].get<std::string>());
  CHECK(wait_until([&] { return continued(victim.pid()); }));

  // Stopped by someone else (the test) before the fault: left stopped after it.
  ::kill(victim.pid(), SIGSTOP);
  REQUIRE(wait_until([&] { return proc_state(victim.pid()) == 'T'; }));
  auto c = post(agent.port(), "/v1/faults", brief);
  REQUIRE(c.status == 201);
  CHECK(c.json()["targets"][0]["found_stopped"] == true);
  REQUIRE(wait_until([&] { return fault_state(agent.port(), c) == "reverted"; }));
  CHECK(proc_state(victim.pid()) == 'T');
  ::kill(victim.pid(), SIGCONT);
}

TEST_CASE("Ending a latency fault sends what it held back at once", "[agent][proxy][slow]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback"});
  EchoServer echo;
  auto created = http(agent.port(), "POST", "/proxies",
                      json({{"name", "echo"},
                            {"listen", "127.0.0.1:0"},
                            {"upstream", "127.0.0.1:" + std::to_string(echo.port())}})
                          .dump());
  REQUIRE(created.status == 201);
  const std::string listen = created.json()["listen"];
  const int fd = connect_loopback(std::stoi(listen.substr(listen.rfind(':') + 1)));
  REQUIRE(fd >= 0);
  CHECK(round_trip_ms(fd, "warm") >= 0);
  auto fault = post(
      agent.port(), "/v1/faults",
      {{"kind", "latency"}, {"proxy", "echo"}, {"latency_ms", 60000}, {"duration_ms", 120000}});
  REQUIRE(fault.status == 201);
  REQUIRE(::send(fd, "ping", 4, MSG_NOSIGNAL) == 4);
  // Give the echo time to come back into the proxy's queue (if it has not, the answer simply
  // comes without a delay, and the check below holds all the same).
  std::this_thread::sleep_for(500ms);
  http(agent.port(), "DELETE", "/v1/faults/" + fault.json()["id"].get<std::string>());
  // Without the flush the answer would wait the whole minute; the client gives it 20 s.
  std::string got;
  CHECK(wait_until(
      [&] {
        char buf[16];
        const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) got.append(buf, static_cast<std::size_t>(n));
        return got == "ping";
      },
      20s));
  ::close(fd);
}

TEST_CASE("A proxy disabled through the Toxiproxy API is bounded, listed and halted",
          "[agent][proxy]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback", "--max-duration-ms", "1500"});
  REQUIRE(http(agent.port(), "POST", "/proxies",
               R"({"name": "x", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:9"})")
              .status == 201);
  REQUIRE(http(agent.port(), "POST", "/proxies/x", R"({"enabled": false})").status == 200);
  auto faults = http(agent.port(), "GET", "/v1/faults").json()["faults"];
  REQUIRE(faults.size() == 1);
  CHECK(faults[0]["id"] == "toxiproxy:x");
  CHECK(faults[0]["kind"] == "proxy_disabled");
  // The time bound enables it again.
  CHECK(wait_until(
      [&] { return http(agent.port(), "GET", "/proxies/x").json()["enabled"] == true; }));
  // A halt too, and while halted it may not be disabled.
  REQUIRE(http(agent.port(), "POST", "/proxies/x", R"({"enabled": false})").status == 200);
  http(agent.port(), "POST", "/v1/halt");
  CHECK(http(agent.port(), "GET", "/proxies/x").json()["enabled"] == true);
  auto refused = http(agent.port(), "POST", "/proxies/x", R"({"enabled": false})");
  CHECK(refused.status == 409);
  CHECK(refused.json()["error"] == "the agent is halted: POST /v1/resume first");
}

TEST_CASE("Toxics added through the Toxiproxy API are listed as faults", "[agent][proxy]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback"});
  REQUIRE(http(agent.port(), "POST", "/proxies",
               R"({"name": "x", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:9"})")
              .status == 201);
  REQUIRE(http(agent.port(), "POST", "/proxies/x/toxics",
               R"({"type": "latency", "attributes": {"latency": 100}})")
              .status == 200);
  auto faults = http(agent.port(), "GET", "/v1/faults").json()["faults"];
  REQUIRE(faults.size() == 1);
  CHECK(faults[0]["id"] == "toxiproxy:x/latency_downstream");
  CHECK(faults[0]["kind"] == "toxic");
  CHECK(faults[0]["type"] == "latency");
  CHECK(faults[0]["attributes"]["latency"] == 100);
  auto active = http(agent.port(), "GET", "/v1/status").json()["active_faults"];
  REQUIRE(active.size() == 1);
  CHECK(active[0]["id"] == "toxiproxy:x/latency_downstream");
}

TEST_CASE("A halt and a lapsed lease survive a restart until resume", "[agent]") {
  TempDir dir;
  const json cpu = {{"kind", "cpu"}, {"cores", 1}, {"load", 0.05}, {"duration_ms", 1000}};
  {
    Agent first(dir, {"--insecure-loopback"});
    REQUIRE(http(first.port(), "POST", "/v1/halt").status == 200);
    ::kill(first.process().pid(), SIGKILL);
    first.process().wait();
  }
  {
    Agent second(dir, {"--insecure-loopback"});
    auto status = http(second.port(), "GET", "/v1/status").json();
    CHECK(status["halted"] == true);
    CHECK(status["halted_by"] == "halt");
    CHECK(post(second.port(), "/v1/faults", cpu).status == 409);
    REQUIRE(http(second.port(), "POST", "/v1/resume").status == 200);
    CHECK(post(second.port(), "/v1/faults", cpu).status == 201);
    // A lease that lapses halts too.
    REQUIRE(post(second.port(), "/v1/lease", {{"ttl_ms", 200}}).status == 200);
    REQUIRE(wait_until(
        [&] { return http(second.port(), "GET", "/v1/status").json()["halted"] == true; }));
    auto refused = post(second.port(), "/v1/faults", cpu);
    CHECK(refused.status == 409);
    CHECK(refused.json()["error"] ==
          "the lease lapsed, so the agent is halted: POST /v1/resume first");
    ::kill(second.process().pid(), SIGTERM);
    second.process().wait();
  }
  Agent third(dir, {"--insecure-loopback"});
  CHECK(http(third.port(), "GET", "/v1/status").json()["halted_by"] == "lease expired");
  CHECK(post(third.port(), "/v1/faults", cpu).status == 409);
}
