// The real achilles-agent under attack over HTTP: bodies that would crash it, clients that
// would freeze it or lock out a halt, bad input that must change nothing, token files that
// must not start it, and the audit log that must record every request. Every agent, victim
// and socket here is started by the test itself, on loopback.
#include <openssl/evp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "support.h"

using namespace achilles::injector::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kToken = "attack-test-token-0123456789";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<json> audit_lines(const std::string& path) {
  std::vector<json> out;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);)
    out.push_back(json::parse(line));
  return out;
}

// The first audit entry with this method and path (and status, when given), or null.
json find_entry(const std::vector<json>& lines, const std::string& method, const std::string& path,
                int status = 0) {
  for (const auto& e : lines)
    if (e.value("method", "") == method && e.value("path", "") == path && !e.contains("event") &&
        (status == 0 || e.value("status", 0) == status))
      return e;
  return nullptr;
}

std::string fingerprint(const std::string& token) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(token.data(), token.size(), d, &n, EVP_sha256(), nullptr);
  char hex[9];
  std::snprintf(hex, sizeof hex, "%02x%02x%02x%02x", d[0], d[1], d[2], d[3]);
  return std::string("token sha256:") + hex;
}

bool asleep(Child& c) {
  return wait_until([&] { return proc_name(c.pid()) == "sleep" && proc_state(c.pid()) == 'S'; });
}

// A sleep with a unique argument, so that a cmdline pattern matches only ours.
std::string unique_sleep() {
  return unique_sleep_arg(2000);
}

}  // namespace

TEST_CASE("A body nested 60,000 deep is refused with 400 on every path and the agent stays up",
          "[agent][attack]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback"});
  const std::string deep = std::string(60000, '[') + std::string(60000, ']');
  const std::string deep_object = std::string(60000, '{');
  REQUIRE(http(agent.port(), "POST", "/proxies", R"({"name": "x", "upstream": "127.0.0.1:1"})")
              .status == 201);
  for (const std::string path :
       {"/v1/faults", "/v1/halt", "/v1/lease", "/proxies", "/populate", "/proxies/x/toxics"}) {
    auto r = http(agent.port(), "POST", path, deep);
    INFO(path);
    CHECK(r.status == 400);
    CHECK(r.json()["error"].get<std::string>().find(
              "the body nests arrays and objects deeper than 32 levels") != std::string::npos);
    CHECK(http(agent.port(), "POST", path, deep_object).status == 400);
  }
  auto first = http(agent.port(), "POST", "/v1/faults", deep);
  CHECK(first.json()["error"] ==
        "malformed JSON: the body nests arrays and objects deeper than 32 levels");
  // Brackets inside strings do not count; 32 levels are fine.
  const std::string nested32 = std::string(31, '[') + "\"[[[[\"" + std::string(31, ']');
  CHECK(http(agent.port(), "POST", "/populate", "[" + nested32 + "]").status == 400);
  CHECK(agent.process().running());
  CHECK(http(agent.port(), "GET", "/v1/status").status == 200);
  auto lines = audit_lines(dir.file("audit.jsonl"));
  CHECK(find_entry(lines, "POST", "/v1/halt", 400) != nullptr);
}

TEST_CASE("A request without the token is refused on its head, its body never read",
          "[agent][attack]") {
  TempDir dir;
  write_private_file(dir.file("token"), kToken + "\n");
  // A read timeout longer than the exchange: the answer must not wait for the body.
  Agent agent(dir, {"--token-file", dir.file("token"), "--read-timeout-ms", "60000"});
  const std::string head =
      "POST /v1/faults HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n"
      "Content-Length: 1000000\r\n\r\n{\"kind\":";
  const auto got = raw_exchange(agent.port(), head, 5s);
  CHECK(got.rfind("HTTP/1.1 401 Unauthorized\r\n", 0) == 0);
  CHECK(got.find("{\"error\":\"missing or invalid bearer token\",\"status\":401}") !=
        std::string::npos);
  // Nor with a Content-Length past every limit.
  const auto huge = raw_exchange(
      agent.port(), "POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: 4294967296\r\n\r\n", 5s);
  CHECK(huge.rfind("HTTP/1.1 401 ", 0) == 0);
  auto lines = audit_lines(dir.file("audit.jsonl"));
  auto refused = find_entry(lines, "POST", "/v1/faults", 401);
  REQUIRE(refused != nullptr);
  CHECK(refused["refused"] == true);
  CHECK(refused["request_bytes"] == 1000000);
  CHECK(refused["who"] == fingerprint("wrong"));
}

TEST_CASE("With every connection taken by idle clients, a halt still gets through",
          "[agent][attack]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback", "--max-connections", "8", "--read-timeout-ms", "60000",
                    "--idle-timeout-ms", "60000"});
  std::vector<int> idle;
  for (int i = 0; i < 40; ++i) {
    const int fd = connect_loopback(agent.port());
    REQUIRE(fd >= 0);
    if (i % 2) ::send(fd, "GET /v1/sta", 11, MSG_NOSIGNAL);  // half a head, then silence
    idle.push_back(fd);
  }
  auto halt = http(agent.port(), "POST", "/v1/halt");
  CHECK(halt.status == 200);
  CHECK(halt.json()["halted"] == true);
  CHECK(http(agent.port(), "GET", "/v1/status").json()["halted"] == true);
  for (int fd : idle)
    ::close(fd);
}

TEST_CASE("Bad input gets a 400 naming what is wrong, and nothing is done", "[agent][attack]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback", "--allow-process", "sleep"});
  const int port = agent.port();
  Child victim({"sleep", unique_sleep()});
  REQUIRE(asleep(victim));

  SECTION("bytes that are not UTF-8") {
    const std::string body =
        "{\"kind\": \"kill\", \"target\": {\"pid\": " + std::to_string(victim.pid()) +
        "}, \"signal\": \"SIGKILL\xff\"}";
    auto r = http(port, "POST", "/v1/faults", body);
    CHECK(r.status == 400);
    INFO(r.body);
    CHECK(r.json()["error"].get<std::string>().rfind(
              "malformed JSON: parse error at line 1, column " +
                  std::to_string(body.find('\xff') + 1) +
                  ": syntax error while parsing value - invalid string: ill-formed UTF-8 byte",
              0) == 0);
    auto path = http(port, "DELETE", "/v1/faults/%ff%fe");
    CHECK(path.status == 404);
    CHECK(path.json()["error"] == "fault not found: '\xef\xbf\xbd\xef\xbf\xbd'");
  }
  SECTION("a number out of range") {
    auto r = http(port, "POST", "/v1/faults",
                  "{\"kind\": \"pause\", \"target\": {\"pid\": " + std::to_string(victim.pid()) +
                      "}, \"duration_ms\": 1e400}");
    CHECK(r.status == 400);
    CHECK(r.json()["error"] ==
          "malformed JSON: field 'duration_ms': number overflow parsing '1e400'");
  }
  SECTION("a toxic attribute past its bound") {
    REQUIRE(http(port, "POST", "/proxies", R"({"name": "p", "upstream": "127.0.0.1:1"})").status ==
            201);
    auto r = http(port, "POST", "/proxies/p/toxics",
                  R"({"type": "timeout", "attributes": {"timeout": 9223372036854775807}})");
    CHECK(r.status == 400);
    CHECK(r.json()["error"] ==
          "bad request body: attribute 'attributes.timeout' must be an integer from 0 to "
          "2147483647");
    auto huge = http(port, "POST", "/proxies/p/toxics",
                     R"({"type": "latency", "attributes": {"latency": 18446744073709551615}})");
    CHECK(huge.status == 400);
    CHECK(http(port, "GET", "/proxies/p/toxics").json() == json::array());
  }
  SECTION("a proxy name that no URL could address") {
    auto r = http(port, "POST", "/proxies", R"({"name": "a/b", "upstream": "127.0.0.1:1"})");
    CHECK(r.status == 400);
    CHECK(r.json()["error"] ==
          "bad request body: field 'name' must be 1 to 128 letters, digits, '-', '_' or '.'");
    CHECK(http(port, "GET", "/proxies").json() == json::object());
  }
  SECTION("a duplicate Content-Length") {
    const std::string body = R"({"name": "dup", "upstream": "127.0.0.1:1"})";
    const auto got = raw_exchange(port, "POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                            std::to_string(body.size()) +
                                            "\r\nContent-Length: 2\r\n\r\n" + body);
    CHECK(got.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
    CHECK(got.find("header 'Content-Length' is given more than once") != std::string::npos);
    CHECK(http(port, "GET", "/proxies").json() == json::object());
  }
  SECTION("bare LF line ends") {
    const auto got = raw_exchange(port, "GET /v1/status HTTP/1.1\nHost: x\n\n", 5s);
    CHECK(got.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
    CHECK(got.find("every line must end in CRLF, not a bare LF") != std::string::npos);
  }
  CHECK(proc_state(victim.pid()) == 'S');
  CHECK(http(port, "GET", "/v1/faults").json()["faults"] == json::array());
  CHECK(http(port, "GET", "/v1/status").status == 200);
}

TEST_CASE(
    "A process whose name is not UTF-8 is killed or paused, and the fault list stays readable",
    "[agent][attack]") {
  TempDir dir;
  const std::string odd = dir.file("sl\xffp");
  std::filesystem::create_symlink("/bin/sleep", odd);
  Agent agent(dir, {"--insecure-loopback", "--allow-process", "sl*"});
  Child victim({odd, unique_sleep()});
  REQUIRE(wait_until([&] { return proc_name(victim.pid()) == "sl\xffp"; }));
  auto r = http(agent.port(), "POST", "/v1/faults",
                json({{"kind", "kill"}, {"target", {{"pid", victim.pid()}}}}).dump());
  CHECK(r.status == 201);
  CHECK(victim.wait() == 128 + SIGKILL);
  auto list = http(agent.port(), "GET", "/v1/faults");
  CHECK(list.status == 200);
  CHECK(list.json()["faults"].size() == 1);
  // A pause is written to the state file first: the name must not stop that either.
  Child paused({odd, unique_sleep()});
  REQUIRE(wait_until([&] { return proc_state(paused.pid()) == 'S'; }));
  auto p =
      http(agent.port(), "POST", "/v1/faults",
           json({{"kind", "pause"}, {"target", {{"pid", paused.pid()}}}, {"duration_ms", 60000}})
               .dump());
  CHECK(p.status == 201);
  // SIGSTOP takes effect asynchronously: on a busy machine the state changes a little later.
  CHECK(wait_until([&] { return proc_state(paused.pid()) == 'T'; }));
  CHECK(http(agent.port(), "DELETE", "/v1/faults/" + p.json().value("id", "")).status == 200);
  CHECK(wait_until([&] { return proc_state(paused.pid()) != 'T'; }));
}

TEST_CASE("The agent refuses token and key files others may read, and short tokens",
          "[agent][attack]") {
  TempDir dir;
  auto start = [&](const std::string& token_file) {
    Child c(
        {ACHILLES_AGENT_BINARY, "--listen", "127.0.0.1:0", "--state-file", dir.file("state.json"),
         "--audit-log", dir.file("audit.jsonl"), "--token-file", token_file},
        true);
    const int status = c.wait();
    return std::make_pair(status, c.stderr_text());
  };
  const std::string open_file = dir.file("open-token");
  write_private_file(open_file, kToken);
  ::chmod(open_file.c_str(), 0644);
  auto [open_status, open_err] = start(open_file);
  CHECK(open_status == 2);
  CHECK(open_err == "achilles-agent: error: " + open_file +
                        ": error: the token file (token_file, --token-file) may be read or "
                        "written by its group or by others (mode 0644): run 'chmod 600 " +
                        open_file + "'\n");
  ::chmod(open_file.c_str(), 0620);
  CHECK(start(open_file).first == 2);

  const std::string short_file = dir.file("short-token");
  write_private_file(short_file, "s3cret\n");
  auto [short_status, short_err] = start(short_file);
  CHECK(short_status == 2);
  CHECK(short_err == "achilles-agent: error: " + short_file +
                         ": error: the token is 6 bytes long, fewer than 16: make a longer one, "
                         "e.g. 'openssl rand -hex 32 > " +
                         short_file + "'\n");
}

TEST_CASE("Every request is recorded in the audit log: who, what and the answer",
          "[agent][attack]") {
  TempDir dir;
  write_private_file(dir.file("token"), kToken);
  const std::string auth = "Authorization: Bearer " + kToken;
  ::umask(022);
  Agent agent(dir, {"--token-file", dir.file("token")});
  const int port = agent.port();
  CHECK(http(port, "GET", "/v1/status", "", {auth}).status == 200);
  CHECK(http(port, "GET", "/v1/status").status == 401);
  CHECK(http(port, "GET", "/v1/status", "", {auth, "User-Agent: Mozilla/5.0"}).status == 403);
  const std::string pause1 =
      json({{"kind", "pause"}, {"target", {{"pid", 1}}}, {"duration_ms", 10}}).dump();
  CHECK(http(port, "POST", "/v1/faults", pause1, {auth}).status == 403);
  CHECK(raw_exchange(port, "GET /v1/status HTTP/9\r\n\r\n").rfind("HTTP/1.1 505 ", 0) == 0);
  CHECK(http(port, "GET", "/nowhere", "", {auth}).status == 404);

  struct stat st {};
  REQUIRE(::stat(dir.file("audit.jsonl").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto lines = audit_lines(dir.file("audit.jsonl"));
  REQUIRE(!lines.empty());
  CHECK(lines[0]["event"] == "start");
  CHECK(lines[0]["listen"] == "127.0.0.1:" + std::to_string(port));

  auto ok = find_entry(lines, "GET", "/v1/status", 200);
  REQUIRE(ok != nullptr);
  CHECK(ok["who"] == fingerprint(kToken));
  CHECK(ok["remote"].get<std::string>().rfind("127.0.0.1:", 0) == 0);
  auto anonymous = find_entry(lines, "GET", "/v1/status", 401);
  REQUIRE(anonymous != nullptr);
  CHECK(anonymous["who"] == "anonymous");
  CHECK(anonymous["refused"] == true);
  CHECK(find_entry(lines, "GET", "/v1/status", 403)["error"] == "User agent not allowed");
  auto refused = find_entry(lines, "POST", "/v1/faults", 403);
  REQUIRE(refused != nullptr);
  CHECK(refused["request"] == json::parse(pause1));
  CHECK(refused["error"] == "pid 1 may not be signalled: pid 1 is never signalled");
  auto bad_version = find_entry(lines, "GET", "/v1/status", 505);
  REQUIRE(bad_version != nullptr);
  CHECK(bad_version["error"] == "only HTTP/1.1 and HTTP/1.0 are served");
  CHECK(find_entry(lines, "GET", "/nowhere", 404) != nullptr);
}

TEST_CASE("A request that fails inside the agent is recorded with its 500", "[agent][attack]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback", "--allow-process", "sleep"});
  Child victim({"sleep", unique_sleep()});
  REQUIRE(asleep(victim));
  // The state file cannot be replaced any more: a pause cannot be written down, so not done.
  std::filesystem::remove(dir.file("state.json"));
  std::filesystem::create_directory(dir.file("state.json"));
  std::ofstream(dir.file("state.json/keep")) << "x";
  auto r = http(
      agent.port(), "POST", "/v1/faults",
      json({{"kind", "pause"}, {"target", {{"pid", victim.pid()}}}, {"duration_ms", 5000}}).dump());
  CHECK(r.status == 500);
  CHECK(proc_state(victim.pid()) == 'S');
  auto e = find_entry(audit_lines(dir.file("audit.jsonl")), "POST", "/v1/faults", 500);
  REQUIRE(e != nullptr);
  CHECK(e["error"] == r.json()["error"]);
}

TEST_CASE("When the audit log cannot be written, nothing that does harm is done",
          "[agent][attack]") {
  TempDir dir;
  // The agent cannot start at all on a log it cannot write.
  Child full({ACHILLES_AGENT_BINARY, "--listen", "127.0.0.1:0", "--insecure-loopback",
              "--state-file", dir.file("state.json"), "--audit-log", "/dev/full"},
             true);
  CHECK(full.wait() == 3);
  CHECK(full.stderr_text() ==
        "achilles-agent: error: cannot write the audit log '/dev/full': No space left on "
        "device\n");

  // A log that fills up while the agent runs: a file size limit of 4 KiB.
  Child agent({"prlimit", "--fsize=4096", ACHILLES_AGENT_BINARY, "--listen", "127.0.0.1:0",
               "--insecure-loopback", "--allow-process", "sleep", "--state-file",
               dir.file("state.json"), "--audit-log", dir.file("audit.jsonl")},
              true);
  const std::string line = agent.read_line();
  REQUIRE(line.rfind("achilles-agent listening on 127.0.0.1:", 0) == 0);
  const int port = std::stoi(line.substr(line.rfind(':') + 1));
  Child victim({"sleep", unique_sleep()});
  REQUIRE(asleep(victim));
  REQUIRE(wait_until([&] {
    http(port, "GET", "/v1/status");
    return std::filesystem::file_size(dir.file("audit.jsonl")) >= 4096;
  }));
  auto r =
      http(port, "POST", "/v1/faults",
           json({{"kind", "pause"}, {"target", {{"pid", victim.pid()}}}, {"duration_ms", 60000}})
               .dump());
  CHECK(r.status == 503);
  CHECK(r.json()["error"] == "the audit log cannot be written (File too large): nothing was done");
  CHECK(proc_state(victim.pid()) == 'S');
  // What only undoes harm still works.
  CHECK(http(port, "POST", "/v1/halt").status == 200);
  CHECK(agent.running());
}

TEST_CASE("The audit log is rotated past --audit-max-bytes", "[agent][attack]") {
  TempDir dir;
  Agent agent(dir, {"--insecure-loopback", "--audit-max-bytes", "1000"});
  for (int i = 0; i < 12; ++i)
    REQUIRE(http(agent.port(), "GET", "/v1/status").status == 200);
  const auto current = dir.file("audit.jsonl");
  const auto rotated = dir.file("audit.jsonl.1");
  REQUIRE(std::filesystem::exists(rotated));
  CHECK(std::filesystem::file_size(current) <= 1000);
  CHECK(std::filesystem::file_size(rotated) <= 1000);
  // Whole lines in both, the newest last.
  auto older = audit_lines(rotated);
  auto newer = audit_lines(current);
  CHECK(!older.empty());
  REQUIRE(!newer.empty());
  CHECK(newer.back()["path"] == "/v1/status");
  struct stat st {};
  REQUIRE(::stat(current.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}
