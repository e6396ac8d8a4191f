// The drill runner against an agent over TLS: the client certificate and the token both get
// through, and a certificate from another CA injects nothing.
#include <catch2/catch.hpp>

#include "achilles/drill/plan.h"
#include "achilles/drill/runner.h"
#include "pki.h"
#include "support.h"

using namespace achilles::injector::testing;

TEST_CASE("A drill reaches an agent over TLS with its client certificate and token",
          "[agent][tls][drill]") {
  namespace drill = achilles::drill;
  TempDir dir;
  Pki pki(dir);
  Agent agent(dir, pki.agent_args());
  auto plan_with = [&](const Identity& client) {
    return "version: 1\ntitle: over tls\nagents:\n  secure: {url: \"https://127.0.0.1:" +
           std::to_string(agent.port()) + "\", token_file: \"" + pki.token_file +
           "\", ca_file: \"" + pki.ca.cert_file + "\", cert_file: \"" + client.cert_file +
           "\", key_file: \"" + client.key_file +
           "\"}\nprobes: [{name: ok, exec: {command: [\"true\"]}, every_ms: 50}]\n"
           "steady_state: {hold_ms: 200}\n"
           "steps: [{name: load, at_ms: 0, fault: {agent: secure, kind: cpu, cores: 1, load: "
           "0.1, duration_ms: 200}, expect: {ok: healthy}, observe_ms: 400}]\n";
  };
  auto j = drill::run(drill::parse_plan(plan_with(pki.client), "tls.yaml", dir.path()));
  INFO(j.dump(2));
  CHECK(j["verdict"] == "passed");
  CHECK(j["steps"][0]["response"]["status"] == 201);
  // A certificate from another CA: the handshake fails, and nothing is injected.
  CHECK_THROWS_WITH(
      drill::run(drill::parse_plan(plan_with(pki.stranger), "tls.yaml", dir.path())),
      Catch::Contains("does not answer /v1/status") && Catch::Contains("nothing was injected"));
}

TEST_CASE(
    "An agent that wants a client certificate the plan lacks says so, and a bad token is "
    "refused as such",
    "[agent][tls][drill]") {
  namespace drill = achilles::drill;
  TempDir dir;
  Pki pki(dir);
  Agent agent(dir, pki.agent_args());
  const std::string url = "https://127.0.0.1:" + std::to_string(agent.port());
  const std::string text =
      "version: 1\ntitle: over tls\nagents:\n  secure: {url: \"" + url + "\", token_file: \"" +
      pki.token_file + "\", ca_file: \"" + pki.ca.cert_file +
      "\"}\nprobes: [{name: ok, exec: {command: [\"true\"]}, every_ms: 50}]\n"
      "steps: [{name: load, at_ms: 0, fault: {agent: secure, kind: cpu, cores: 1, load: "
      "0.1, duration_ms: 200}, expect: {ok: healthy}}]\n";
  CHECK_THROWS_WITH(drill::run(drill::parse_plan(text, "tls.yaml", dir.path())),
                    "agent 'secure' at " + url +
                        " does not answer /v1/status: the agent requires a client certificate "
                        "(give cert_file and key_file); nothing was injected");
}

namespace {

/// A small HTTPS server (Python's http.server) with the test PKI's server certificate, on a
/// port the OS picked; it answers 200 to GET /.
struct HttpsServer {
  explicit HttpsServer(const Pki& pki)
      : child(
            {"python3", "-c",
             "import http.server, ssl, sys\n"
             "s = http.server.HTTPServer(('127.0.0.1', 0), http.server.SimpleHTTPRequestHandler)\n"
             "c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
             "c.load_cert_chain(sys.argv[1], sys.argv[2])\n"
             "s.socket = c.wrap_socket(s.socket, server_side=True)\n"
             "print(s.server_address[1], flush=True)\n"
             "s.serve_forever()\n",
             pki.server.cert_file, pki.server.key_file},
            true) {
    port = std::stoi(child.read_line());
  }
  Child child;
  int port = 0;
};

}  // namespace

TEST_CASE("HTTPS probes verify the server with ca_file, or not at all when told",
          "[tls][drill][slow]") {
  namespace drill = achilles::drill;
  TempDir dir;
  Pki pki(dir);
  HttpsServer server(pki);
  Agent agent(dir, {"--insecure-loopback"});
  auto plan_with = [&](const std::string& tls) {
    return "version: 1\ntitle: https probe\nagents:\n  local: {url: \"http://127.0.0.1:" +
           std::to_string(agent.port()) +
           "\"}\nprobes:\n  - name: site\n    http: {url: "
           "\"https://127.0.0.1:" +
           std::to_string(server.port) + "/\", timeout_ms: 2000" + tls +
           "}\n    every_ms: 100\nsteady_state: {hold_ms: 300, timeout_ms: 3000}\n"
           "steps: [{name: load, at_ms: 0, fault: {agent: local, kind: cpu, cores: 1, load: "
           "0.1, duration_ms: 200}, expect: {site: healthy}, observe_ms: 500}]\n";
  };
  auto j = drill::run(drill::parse_plan(plan_with(", ca_file: \"" + pki.ca.cert_file + "\""),
                                        "p.yaml", dir.path()));
  INFO(j.dump(2));
  CHECK(j["verdict"] == "passed");
  j = drill::run(
      drill::parse_plan(plan_with(", insecure_skip_verify: true"), "p.yaml", dir.path()));
  CHECK(j["verdict"] == "passed");
  // Without the CA, the system's CAs do not know the test's: every sample fails.
  j = drill::run(drill::parse_plan(plan_with(""), "p.yaml", dir.path()));
  CHECK(j["verdict"] == "skipped");
  CHECK_THAT(j["reason"].get<std::string>(), Catch::Contains("certificate verify failed"));
}
