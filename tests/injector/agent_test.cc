// The real achilles-agent binary, driven over HTTP against processes the tests start.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "achilles/injector/os.h"
#include "support.h"

using namespace achilles::injector::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> kLoopback = {"--insecure-loopback", "--allow-process", "sleep"};

// A sleep with a unique argument, so that a cmdline pattern matches only ours.
std::string unique_sleep() {
  return unique_sleep_arg(1000);
}

Reply post(int port, const std::string& path, const json& body) {
  return http(port, "POST", path, body.dump());
}

// Waits until the child has exec'd sleep and sleeps (before that it is a copy of this test,
// which the allowlist refuses).
bool asleep(Child& c) {
  return wait_until([&] { return proc_name(c.pid()) == "sleep" && proc_state(c.pid()) == 'S'; });
}

// Continued: no longer stopped (T). On a loaded machine it may still be runnable (R) rather
// than back asleep (S), so that is all a test may expect.
bool continued(pid_t pid) {
  return wait_until([&] {
    const char s = proc_state(pid);
    return s != 0 && s != 'T';
  });
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("The agent kills a process the test started", "[agent]") {
  TempDir dir;
  Agent agent(dir, kLoopback);
  Child victim({"sleep", unique_sleep()});
  REQUIRE(asleep(victim));
  auto r = post(agent.port(), "/v1/faults",
                {{"kind", "kill"}, {"target", {{"pid", victim.pid()}}}, {"observe_ms", 1000}});
  REQUIRE(r.status == 201);
  CHECK(r.json()["state"] == "active");
  CHECK(r.json()["targets"][0]["pid"] == victim.pid());
  CHECK(victim.wait() == 128 + SIGKILL);
  const auto audit = read_file(dir.file("audit.jsonl"));
  CHECK(audit.find("\"path\":\"/v1/faults\"") != std::string::npos);
}

TEST_CASE("A kill observes the supervisor restarting the process", "[agent][slow]") {
  TempDir dir;
  Agent agent(dir, kLoopback);
  const std::string arg = unique_sleep();
  Child supervisor({"sh", "-c", "exec 2>/dev/null; while :; do sleep " + arg + "; done"});
  const auto dot = arg.find('.');
  const std::string pattern = "^sleep " + arg.substr(0, dot) + "\\." + arg.substr(dot + 1) + "$";
  auto r = Reply{};
  REQUIRE(wait_until([&] {
    r = post(agent.port(), "/v1/faults",
             {{"kind", "kill"}, {"target", {{"cmdline", pattern}}}, {"observe_ms", 5000}});
    return r.status == 201;
  }));
  const std::string id = r.json()["id"];
  const int old_pid = r.json()["targets"][0]["pid"];
  json observed;
  REQUIRE(wait_until([&] {
    observed = http(agent.port(), "GET", "/v1/faults/" + id).json()["observed"];
    return observed["restarted"] == true;
  }));
  CHECK(observed["exited"] == true);
  CHECK(observed["new_pid"] != old_pid);
  CHECK(observed["restarted_after_ms"].get<int>() >= 0);
  ::kill(supervisor.pid(), SIGKILL);
  supervisor.wait();
  ::kill(observed["new_pid"].get<int>(), SIGKILL);
}

TEST_CASE("A paused process is continued when the fault's time runs out", "[agent]") {
  TempDir dir;
  Agent agent(dir, kLoopback);
  Child victim({"sleep", unique_sleep()});
  REQUIRE(asleep(victim));
  auto r = post(agent.port(), "/v1/faults",
                {{"kind", "pause"}, {"target", {{"pid", victim.pid()}}}, {"duration_ms", 1500}});
  REQUIRE(r.status == 201);
  CHECK(wait_until([&] { return proc_state(victim.pid()) == 'T'; }));
  REQUIRE(continued(victim.pid()));
  CHECK(http(agent.port(), "GET", "/v1/faults/" + r.json()["id"].get<std::string>())
            .json()["reason"] == "expired");
}

TEST_CASE("Deleting a fault reverts it at once and answers its final record", "[agent]") {
  TempDir dir;
  Agent agent(dir, kLoopback);
  Child victim({"sleep", unique_sleep()});
  REQUIRE(asleep(victim));
  auto r = post(agent.port(), "/v1/faults",
                {{"kind", "pause"}, {"target", {{"pid", victim.pid()}}}, {"duration_ms", 60000}});
  REQUIRE(r.status == 201);
  auto d = http(agent.port(), "DELETE", "/v1/faults/" + r.json()["id"].get<std::string>());
  CHECK(d.status == 200);
  CHECK(d.json()["state"] == "reverted");
  CHECK(d.json()["reason"] == "deleted");
  CHECK(continued(victim.pid()));
  CHECK(http(agent.port(), "GET", "/v1/faults/nope").body ==
        "{\"error\":\"fault not found: 'nope'\",\"status\":404}\n");
}

TEST_CASE("An expired lease continues a paused process", "[agent]") {
  TempDir dir;
  Agent agent(dir, kLoopback);
  Child victim({"sleep", unique_sleep()});
  REQUIRE(asleep(victim));
  REQUIRE(post(agent.port(), "/v1/lease", {{"ttl_ms", 300}}).status == 200);
  REQUIRE(post(agent.port(), "/v1/faults",
               {{"kind", "pause"}, {"target", {{"pid", victim.pid()}}}, {"duration_ms", 60000}})
              .status == 201);
  CHECK(wait_until([&] { return proc_state(victim.pid()) == 'T'; }));
  REQUIRE(continued(victim.pid()));
  auto status = http(agent.port(), "GET", "/v1/status").json();
  CHECK(status["lease"].is_null());
  CHECK(status["active_faults"].empty());
}

TEST_CASE("Halt reverts faults and refuses new ones until resume", "[agent]") {
  TempDir dir;
  Agent agent(dir, kLoopback);
  Child victim({"sleep", unique_sleep()});
  REQUIRE(asleep(victim));
  const json pause = {
      {"kind", "pause"}, {"target", {{"pid", victim.pid()}}}, {"duration_ms", 60000}};
  REQUIRE(post(agent.port(), "/v1/faults", pause).status == 201);
  CHECK(http(agent.port(), "POST", "/v1/halt").json()["halted"] == true);
  CHECK(continued(victim.pid()));
  auto refused = post(agent.port(), "/v1/faults", pause);
  CHECK(refused.status == 409);
  CHECK(refused.json()["error"] == "the agent is halted: POST /v1/resume first");
  CHECK(http(agent.port(), "POST", "/v1/resume").status == 200);
  CHECK(post(agent.port(), "/v1/faults", pause).status == 201);
}

TEST_CASE("SIGTERM makes the agent revert every fault before it exits", "[agent]") {
  TempDir dir;
  Agent agent(dir, kLoopback);
  Child victim({"sleep", unique_sleep()});
  REQUIRE(asleep(victim));
  REQUIRE(post(agent.port(), "/v1/faults",
               {{"kind", "pause"}, {"target", {{"pid", victim.pid()}}}, {"duration_ms", 60000}})
              .status == 201);
  CHECK(wait_until([&] { return proc_state(victim.pid()) == 'T'; }));
  ::kill(agent.process().pid(), SIGTERM);
  CHECK(agent.process().wait() == 0);
  CHECK(continued(victim.pid()));
}

TEST_CASE("An agent started after a SIGKILL continues what the state file lists", "[agent]") {
  TempDir dir;
  Child victim({"sleep", unique_sleep()});
  REQUIRE(asleep(victim));
  {
    Agent first(dir, kLoopback);
    REQUIRE(post(first.port(), "/v1/faults",
                 {{"kind", "pause"}, {"target", {{"pid", victim.pid()}}}, {"duration_ms", 60000}})
                .status == 201);
    ::kill(first.process().pid(), SIGKILL);
    CHECK(first.process().wait() == 128 + SIGKILL);
  }
  CHECK(wait_until(
      [&] { return proc_state(victim.pid()) == 'T'; }));  // left behind by the killed agent
  Agent second(dir, kLoopback);                           // returns once the agent serves
  CHECK(continued(victim.pid()));
  // Only the header is left.
  CHECK(read_file(dir.file("state.json")).find("\"id\"") == std::string::npos);
}

TEST_CASE("Every request needs the bearer token unless on insecure loopback", "[agent]") {
  TempDir dir;
  write_private_file(dir.file("token"), "s3cret-token-0123456789\n");
  Agent agent(dir, {"--token-file", dir.file("token")});
  auto none = http(agent.port(), "GET", "/v1/status");
  CHECK(none.status == 401);
  CHECK(none.body == "{\"error\":\"missing or invalid bearer token\",\"status\":401}\n");
  CHECK(http(agent.port(), "GET", "/v1/status", "", {"Authorization: Bearer wrong"}).status == 401);
  CHECK(http(agent.port(), "GET", "/proxies", "", {"Authorization: Bearer s3cret-token-0123456789"})
            .status == 200);
  auto ok = http(agent.port(), "GET", "/v1/status", "",
                 {"Authorization: Bearer s3cret-token-0123456789"});
  CHECK(ok.status == 200);
  CHECK(ok.json()["pid"] == agent.process().pid());
}

TEST_CASE("The agent refuses to start without a token or with insecure loopback elsewhere",
          "[agent]") {
  Child open_wide({ACHILLES_AGENT_BINARY, "--listen", "0.0.0.0:0", "--insecure-loopback"}, true);
  CHECK(open_wide.wait() == 2);
  CHECK(open_wide.stderr_text() ==
        "achilles-agent: error: --insecure-loopback is refused on '0.0.0.0:0': it is allowed "
        "only on a loopback address (127.0.0.0/8, ::1)\n");
  Child no_token({ACHILLES_AGENT_BINARY, "--listen", "127.0.0.1:0"}, true);
  CHECK(no_token.wait() == 2);
  CHECK(no_token.stderr_text() ==
        "achilles-agent: error: no --token-file given: every request needs a bearer token "
        "(--insecure-loopback lifts this on a loopback address only)\n");
  Child bad_flag({ACHILLES_AGENT_BINARY, "--max-duration-ms", "soon"}, true);
  CHECK(bad_flag.wait() == 2);
  CHECK(bad_flag.stderr_text() ==
        "achilles-agent: error: --max-duration-ms must be an integer, got 'soon'\n");
}

TEST_CASE("A configuration file is read and flags win over it", "[agent]") {
  TempDir dir;
  std::ofstream(dir.file("agent.yaml")) << "listen: 127.0.0.1:1\n"
                                           "max_duration_ms: 1000\n"
                                           "insecure_loopback: true\n"
                                           "allow:\n  processes: [sleep]\n";
  Agent agent(dir, {"--config", dir.file("agent.yaml"), "--max-duration-ms", "2000"});
  auto r = post(agent.port(), "/v1/faults", {{"kind", "cpu"}, {"duration_ms", 2001}});
  CHECK(r.json()["error"] == "field 'duration_ms' must be between 1 and 2000, got 2001");
  std::ofstream(dir.file("bad.yaml")) << "listen: 127.0.0.1:0\nallow:\n  procs: [x]\n";
  Child bad({ACHILLES_AGENT_BINARY, "--config", dir.file("bad.yaml")}, true);
  CHECK(bad.wait() == 2);
  CHECK(bad.stderr_text() == "achilles-agent: error: " + dir.file("bad.yaml") +
                                 ":3:3: error: unknown key 'allow.procs'\n");
}

TEST_CASE("Bad requests get 4xx answers and the agent keeps serving", "[agent]") {
  TempDir dir;
  Agent agent(dir,
              {"--insecure-loopback", "--max-header-bytes", "1024", "--max-body-bytes", "2048"});
  auto malformed = http(agent.port(), "POST", "/v1/faults", "{\"kind\": ");
  CHECK(malformed.status == 400);
  CHECK(malformed.json()["error"] ==
        "malformed JSON: parse error at line 1, column 10: syntax error while parsing value - "
        "unexpected end of input; expected '[', '{', or a literal");
  auto unknown =
      post(agent.port(), "/v1/faults",
           {{"kind", "pause"}, {"target", {{"pid", 1}}}, {"duration_ms", 10}, {"extra", true}});
  CHECK(unknown.body == "{\"error\":\"unknown field 'extra' for a pause fault\",\"status\":400}\n");
  auto refused = post(agent.port(), "/v1/faults",
                      {{"kind", "pause"}, {"target", {{"pid", 1}}}, {"duration_ms", 10}});
  CHECK(refused.status == 403);
  CHECK(refused.json()["error"] == "pid 1 may not be signalled: pid 1 is never signalled");
  auto big_head =
      http(agent.port(), "GET", "/v1/status", "", {"X-Padding: " + std::string(2000, 'a')});
  CHECK(big_head.status == 431);
  auto big_body = http(agent.port(), "POST", "/v1/faults", std::string(4096, ' '));
  CHECK(big_body.status == 413);
  CHECK(http(agent.port(), "GET", "/nowhere").status == 404);
  CHECK(http(agent.port(), "PUT", "/v1/faults").status == 405);
  CHECK(http(agent.port(), "GET", "/v1/status", "", {"User-Agent: Mozilla/5.0"}).status == 403);
  // Two requests on one kept-alive connection, then a fresh one: still serving.
  const std::string twice =
      "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\nGET /version HTTP/1.1\r\nHost: x\r\n"
      "Connection: close\r\n\r\n";
  const auto both = raw_exchange(agent.port(), twice);
  CHECK(both.find("\"halted\":false") != std::string::npos);
  CHECK(both.find("{\"version\":\"0.1.0\"}") != std::string::npos);
  CHECK(http(agent.port(), "GET", "/v1/status").status == 200);
}

TEST_CASE("A client that sends too slowly is disconnected", "[agent]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback", "--read-timeout-ms", "200"});
  const auto start = std::chrono::steady_clock::now();
  auto got = raw_exchange(agent.port(), "GET /v1/status HTTP/1.1\r\nHost: x\r\n", 5s);
  CHECK(got.empty());
  CHECK(std::chrono::steady_clock::now() - start < 4s);
  CHECK(http(agent.port(), "GET", "/v1/status").status == 200);
}

TEST_CASE("A kept-alive connection may stay idle longer than the read timeout", "[agent]") {
  TempDir dir;
  Agent agent(dir,
              {"--insecure-loopback", "--read-timeout-ms", "200", "--idle-timeout-ms", "1500"});
  const int fd = connect_loopback(agent.port());
  REQUIRE(fd >= 0);
  auto exchange = [&] {
    const std::string req = "GET /version HTTP/1.1\r\nHost: x\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
      return false;
    std::string got;
    return wait_until(
        [&] {
          char buf[4096];
          const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
          if (n > 0) got.append(buf, static_cast<size_t>(n));
          return got.find("{\"version\":\"0.1.0\"}") != std::string::npos;
        },
        5s);
  };
  CHECK(exchange());
  std::this_thread::sleep_for(600ms);  // past the read timeout, within the idle timeout
  CHECK(exchange());
  // Silent past the idle timeout: the agent closes the connection.
  const auto start = std::chrono::steady_clock::now();
  pollfd p{fd, POLLIN, 0};
  REQUIRE(poll(&p, 1, 10000) == 1);
  char c;
  CHECK(::recv(fd, &c, 1, 0) == 0);
  const auto idle = std::chrono::steady_clock::now() - start;
  CHECK(idle >= 1s);
  CHECK(idle < 8s);
  ::close(fd);
}

TEST_CASE("The agent serves many connections at once", "[agent]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback"});
  std::vector<int> fds;
  for (int i = 0; i < 200; ++i) {
    int fd = connect_loopback(agent.port());
    REQUIRE(fd >= 0);
    fds.push_back(fd);
  }
  int ok = 0;
  const std::string req = "GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  for (int fd : fds)
    ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  for (int fd : fds) {
    char buf[512];
    std::string got;
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
      got.append(buf, static_cast<size_t>(n));
    ok += got.rfind("HTTP/1.1 200 OK", 0) == 0;
    ::close(fd);
  }
  CHECK(ok == 200);
}

namespace {

// A field of /proc/PID/status ("Threads", "VmRSS"), as a number.
long status_field(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

// The agent's stress processes: its children (zombies included).
std::vector<int> stress_children(pid_t agent) {
  std::vector<int> out;
  auto procs = achilles::injector::make_proc_table()->list();
  for (const auto& p : procs)
    if (p.ppid == agent) out.push_back(p.pid);
  return out;
}

}  // namespace

TEST_CASE("cpu and memory loads run in child processes and stop when their time runs out",
          "[agent]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback"});
  const pid_t pid = agent.process().pid();
  const long threads = status_field(pid, "Threads");
  // Relative to the agent's own size before the loads (a sanitizer build is larger).
  const long rss_before = status_field(pid, "VmRSS");
  auto cpu = post(agent.port(), "/v1/faults",
                  {{"kind", "cpu"}, {"cores", 1}, {"load", 0.2}, {"duration_ms", 2000}});
  REQUIRE(cpu.status == 201);
  auto mem = post(agent.port(), "/v1/faults",
                  {{"kind", "memory"}, {"bytes", 32 << 20}, {"duration_ms", 2000}});
  REQUIRE(mem.status == 201);
  // Two stress processes, children of the agent; the agent itself holds neither.
  const auto kids = stress_children(pid);
  CHECK(kids.size() == 2);
  CHECK(status_field(pid, "Threads") == threads);
  CHECK(status_field(pid, "VmRSS") < rss_before + (16 << 10));
  CHECK(wait_until([&] {
    for (int k : stress_children(pid))
      if (status_field(k, "VmRSS") > (32 << 10)) return true;
    return false;
  }));
  auto state = [&](const Reply& r) {
    return http(agent.port(), "GET", "/v1/faults/" + r.json()["id"].get<std::string>())
        .json()["state"];
  };
  REQUIRE(wait_until([&] { return state(cpu) == "reverted" && state(mem) == "reverted"; }));
  // Killed and reaped: not even a zombie is left.
  CHECK(stress_children(pid).empty());
  for (int k : kids)
    CHECK(proc_state(k) == 0);
}

TEST_CASE("A toxic added through the Toxiproxy API gets the agent's time bound", "[agent]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback", "--max-duration-ms", "300"});
  REQUIRE(http(agent.port(), "POST", "/proxies",
               R"({"name": "x", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:9"})")
              .status == 201);
  REQUIRE(http(agent.port(), "POST", "/proxies/x/toxics", R"({"type": "timeout"})").status == 200);
  CHECK(http(agent.port(), "GET", "/proxies/x/toxics").json().size() == 1);
  CHECK(wait_until([&] { return http(agent.port(), "GET", "/proxies/x/toxics").json().empty(); }));
  // Halt removes them too, and refuses new ones.
  http(agent.port(), "POST", "/proxies/x/toxics", R"({"type": "slow_close"})");
  http(agent.port(), "POST", "/v1/halt");
  CHECK(http(agent.port(), "GET", "/proxies/x/toxics").json().empty());
  CHECK(http(agent.port(), "POST", "/proxies/x/toxics", R"({"type": "slow_close"})").status == 409);
}

TEST_CASE("The agent refuses to start when its state file cannot be written", "[agent]") {
  TempDir dir;
  Child agent({ACHILLES_AGENT_BINARY, "--listen", "127.0.0.1:0", "--insecure-loopback",
               "--state-file", dir.file("missing/state.json"), "--audit-log", ""},
              true);
  CHECK(agent.wait() == 3);
  CHECK(agent.stderr_text() == "achilles-agent: error: the state directory '" +
                                   dir.file("missing") +
                                   "' does not exist: create it (mode 0700), or choose another "
                                   "file with --state-file\n");
}

TEST_CASE("A missing state or audit directory is named with the flag that chooses another",
          "[agent]") {
  TempDir dir;
  // Not the default paths: even as root the agent creates nothing here.
  Child no_audit_dir(
      {ACHILLES_AGENT_BINARY, "--listen", "127.0.0.1:0", "--insecure-loopback", "--state-file",
       dir.file("state.json"), "--audit-log", dir.file("log/audit.jsonl")},
      true);
  CHECK(no_audit_dir.wait() == 3);
  CHECK(no_audit_dir.stderr_text() ==
        "achilles-agent: error: the audit log directory '" + dir.file("log") +
            "' does not exist: create it (mode 0700), or choose another file with --audit-log "
            "('-' for stderr)\n");
  CHECK(!std::filesystem::exists(dir.file("log")));
  CHECK(!std::filesystem::exists(dir.file("state.json")));
}
