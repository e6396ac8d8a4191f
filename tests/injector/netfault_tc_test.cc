// The `tc` child of the agent's network faults (netfault.h run_program, parse_root_qdiscs),
// with fake programs (shell scripts in a temporary directory) instead of tc: it keeps none of
// the agent's descriptors, gets a fixed environment, is killed at its deadline, and a listing
// that is not a whole JSON list is an error, not an empty list. No kernel is touched.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "achilles/injector/netfault.h"
#include "support.h"

using namespace achilles::injector;
using namespace achilles::injector::testing;

namespace {

std::string fake_program(const TempDir& dir, const std::string& name, const std::string& body) {
  const std::string path = dir.file(name);
  std::ofstream(path) << "#!/bin/sh\n" << body;
  ::chmod(path.c_str(), 0700);
  return path;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("the tc child keeps none of the agent's descriptors and gets only a fixed PATH",
          "[netfault]") {
  TempDir dir;
  // A descriptor without O_CLOEXEC, as asio opens its sockets.
  const int leaked = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(leaked >= 3);
  ::setenv("TC_LIB_DIR", "/tmp/evil", 1);
  const std::string fds = dir.file("fds"), env = dir.file("env");
  // The shell's own descriptors (its script file is one, and stays); no socket among them.
  const std::string tc = fake_program(dir, "tc",
                                      "for f in /proc/$$/fd/*; do readlink \"$f\"; done > " + fds +
                                          "\nenv > " + env + "\necho ok \"$@\"\n");
  const RunResult r = run_program(tc, {"qdisc", "show"}, std::chrono::milliseconds(20000));
  ::unsetenv("TC_LIB_DIR");
  ::close(leaked);
  CHECK(r.status == 0);
  CHECK(r.output == "ok qdisc show");
  const std::string fd_targets = read_all(fds);
  INFO(fd_targets);
  CHECK(fd_targets.find("/dev/null") != std::string::npos);
  CHECK(fd_targets.find("socket:") == std::string::npos);
  const std::string environment = read_all(env);
  INFO(environment);
  CHECK(environment.find("TC_LIB_DIR") == std::string::npos);
  CHECK(environment.find("PATH=/usr/sbin:/usr/bin:/sbin:/bin\n") != std::string::npos);
}

TEST_CASE("a tc that hangs is killed at its deadline and reported as an error",
          "[netfault][slow]") {
  TempDir dir;
  const std::string tc = fake_program(dir, "tc", "exec sleep 600\n");
  const RunResult r = run_program(tc, {"qdisc", "show"}, std::chrono::milliseconds(500));
  CHECK(r.status == -1);
  CHECK(r.output == tc + " did not finish within 500 ms and was killed");
}

TEST_CASE("a qdisc listing that failed, is truncated or is not JSON is an error, not an empty list",
          "[netfault]") {
  RunResult ok;
  ok.status = 0;
  ok.output =
      R"([{"kind":"tbf","handle":"ac15:","root":true,"dev":"veth0"},{"kind":"noqueue","handle":"0:","dev":"lo","root":true},{"kind":"netem","handle":"1:","parent":"ac15:"}])";
  const auto qdiscs = parse_root_qdiscs(ok, "");
  REQUIRE(qdiscs.size() == 2);
  CHECK(qdiscs[0].dev == "veth0");
  CHECK(qdiscs[0].handle == "ac15:");

  RunResult truncated = ok;
  truncated.truncated = true;
  CHECK_THROWS_WITH(parse_root_qdiscs(truncated, ""),
                    "cannot list qdiscs: tc printed more than 1048576 bytes");
  RunResult garbage;
  garbage.status = 0;
  garbage.output = "[{\"kind\":\"tbf\"";
  CHECK_THROWS_WITH(parse_root_qdiscs(garbage, ""),
                    "cannot list qdiscs: tc -j printed no JSON list: [{\"kind\":\"tbf\"");
  RunResult failed;
  failed.status = 1;
  failed.output = "Cannot find device \"x\"";
  CHECK_THROWS_WITH(parse_root_qdiscs(failed, "x"), "cannot list qdiscs: Cannot find device \"x\"");
}

TEST_CASE("a tc that prints more than the cap is marked truncated", "[netfault]") {
  TempDir dir;
  const std::string tc = fake_program(dir, "tc", "head -c 1100000 /dev/zero | tr '\\\\0' x\n");
  const RunResult r = run_program(tc, {}, std::chrono::milliseconds(20000));
  CHECK(r.status == 0);
  CHECK(r.truncated);
  CHECK(r.output.size() == kMaxOutput);
}
