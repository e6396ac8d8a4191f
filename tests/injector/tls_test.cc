// The agent's API over TLS with client certificates: a throwaway CA, server and client
// certificates made here with OpenSSL, the real agent on 127.0.0.1, and a client per case.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "pki.h"
#include "support.h"

using namespace achilles::injector::testing;
using namespace std::chrono_literals;

namespace {

const std::string kStatus =
    "GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer s3cret-0123456789\r\n"
    "Connection: close\r\n\r\n";
const std::string kStatusNoToken =
    "GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace

TEST_CASE("Over TLS, a client certificate from the CA and the token are both required",
          "[agent][tls]") {
  TempDir dir;
  Pki pki(dir);
  Agent agent(dir, pki.agent_args());

  auto good = tls_request(agent.port(), pki.ca, &pki.client, kStatus);
  CHECK(good.handshake);
  CHECK(starts_with(good.response, "HTTP/1.1 200 "));
  CHECK(good.response.find("\"halted\":false") != std::string::npos);

  // A good certificate does not replace the token.
  auto no_token = tls_request(agent.port(), pki.ca, &pki.client, kStatusNoToken);
  CHECK(starts_with(no_token.response, "HTTP/1.1 401 "));

  // No client certificate, or one from another CA: the handshake is refused and no request
  // is served.
  CHECK(tls_request(agent.port(), pki.ca, nullptr, kStatus).response.empty());
  CHECK(tls_request(agent.port(), pki.ca, &pki.stranger, kStatus).response.empty());
  // A server certificate signed by the CA is not a client certificate either.
  CHECK(tls_request(agent.port(), pki.ca, &pki.server, kStatus).response.empty());

  // TLS 1.1 and older are refused.
  auto old = tls_request(agent.port(), pki.ca, &pki.client, kStatus, TLS1_1_VERSION);
  CHECK_FALSE(old.handshake);
  CHECK(old.response.empty());

  // Plain HTTP to the TLS port gets no HTTP answer.
  const std::string plain = raw_exchange(agent.port(), kStatus, 5s);
  CHECK_FALSE(starts_with(plain, "HTTP/"));

  // The agent still serves after all this.
  CHECK(starts_with(tls_request(agent.port(), pki.ca, &pki.client, kStatus).response,
                    "HTTP/1.1 200 "));

  // The audit log names the client by its certificate and token, and records the refused
  // handshakes.
  std::ifstream audit(dir.file("audit.jsonl"));
  bool by_cert = false;
  int tls_failures = 0;
  for (std::string line; std::getline(audit, line);) {
    const auto e = nlohmann::json::parse(line);
    if (e.value("path", "") == "/v1/status" && e.value("status", 0) == 200)
      by_cert = e["who"].get<std::string>().rfind("cert CN=client, token sha256:", 0) == 0;
    if (e.value("event", "") == "tls_failure") {
      ++tls_failures;
      CHECK(e["error"].get<std::string>().rfind("TLS handshake failed: ", 0) == 0);
    }
  }
  CHECK(by_cert);
  CHECK(tls_failures >= 4);  // no certificate, a stranger's, a server's, TLS 1.1 (and plain HTTP)

  // The same from a configuration file's `tls:` mapping.
  std::ofstream(dir.file("agent.yaml"))
      << "token_file: " << pki.token_file << "\ntls:\n  cert: " << pki.server.cert_file
      << "\n  key: " << pki.server.key_file << "\n  client_ca: " << pki.ca.cert_file << "\n";
  // A state file of its own: two agents may not share one.
  Agent configured(dir,
                   {"--config", dir.file("agent.yaml"), "--state-file", dir.file("state2.json")});
  CHECK(starts_with(tls_request(configured.port(), pki.ca, &pki.client, kStatus).response,
                    "HTTP/1.1 200 "));
  CHECK(tls_request(configured.port(), pki.ca, &pki.stranger, kStatus).response.empty());
}

TEST_CASE("TLS configuration errors stop the agent before it serves", "[agent][tls]") {
  TempDir dir;
  Pki pki(dir);
  const std::vector<std::string> base = {
      ACHILLES_AGENT_BINARY,  "--listen",    "127.0.0.1:0",           "--state-file",
      dir.file("state.json"), "--audit-log", dir.file("audit.jsonl"), "--token-file",
      pki.token_file};
  auto run = [&](std::vector<std::string> extra) {
    auto argv = base;
    argv.insert(argv.end(), extra.begin(), extra.end());
    Child c(argv, true);
    const int status = c.wait();
    return std::make_pair(status, c.stderr_text());
  };

  auto [partial, partial_err] = run({"--tls-cert", pki.server.cert_file});
  CHECK(partial == 2);
  CHECK(partial_err ==
        "achilles-agent: error: TLS needs all of tls.cert, tls.key and tls.client_ca "
        "(--tls-cert, --tls-key, --tls-client-ca): a listener with TLS always requires client "
        "certificates\n");

  auto [mismatch, mismatch_err] = run({"--tls-cert", pki.server.cert_file, "--tls-key",
                                       pki.client.key_file, "--tls-client-ca", pki.ca.cert_file});
  CHECK(mismatch == 2);
  CHECK(mismatch_err == "achilles-agent: error: " + pki.client.key_file +
                            ": error: the TLS key does not match the certificate " +
                            pki.server.cert_file + "\n");

  auto [missing, missing_err] = run({"--tls-cert", pki.server.cert_file, "--tls-key",
                                     pki.server.key_file, "--tls-client-ca", dir.file("nope.crt")});
  CHECK(missing == 2);
  CHECK(starts_with(missing_err, "achilles-agent: error: " + dir.file("nope.crt") +
                                     ": error: cannot load the client CA certificates "
                                     "(tls.client_ca)"));
}
