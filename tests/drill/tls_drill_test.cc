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
