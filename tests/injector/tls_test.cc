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

#include "achilles/injector/drill.h"
#include "achilles/injector/drill_runner.h"
#include "support.h"

using namespace achilles::injector::testing;
using namespace std::chrono_literals;

namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* x) const { X509_free(x); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

/// A key pair and its certificate, written as PEM files `NAME.key` and `NAME.crt`.
struct Identity {
  Key key;
  Cert cert;
  std::string key_file;
  std::string cert_file;
};

void add_ext(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (!ext || X509_add_ext(cert, ext, -1) != 1) throw std::runtime_error("X509 extension");
  X509_EXTENSION_free(ext);
}

enum class Role { kCa, kServer, kClient };

// A P-256 certificate for `cn`, signed by `issuer` (self-signed when null), valid for a day.
Identity make_identity(const TempDir& dir, const std::string& name, Role role,
                       const Identity* issuer) {
  Identity id;
  id.key.reset(EVP_EC_gen("P-256"));
  id.cert.reset(X509_new());
  X509* x = id.cert.get();
  static long serial = 1;
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, id.key.get());
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509* signer = issuer ? issuer->cert.get() : x;
  X509_set_issuer_name(x, X509_get_subject_name(signer));
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, signer, x, nullptr, nullptr, 0);
  add_ext(x, &ctx, NID_subject_key_identifier, "hash");
  add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
  if (role == Role::kCa) {
    add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature");
    add_ext(x, &ctx, NID_ext_key_usage, role == Role::kServer ? "serverAuth" : "clientAuth");
    if (role == Role::kServer) add_ext(x, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
  }
  EVP_PKEY* signing_key = issuer ? issuer->key.get() : id.key.get();
  if (X509_sign(x, signing_key, EVP_sha256()) <= 0) throw std::runtime_error("X509_sign");
  id.key_file = dir.file(name + ".key");
  id.cert_file = dir.file(name + ".crt");
  FILE* f = std::fopen(id.key_file.c_str(), "w");
  PEM_write_PrivateKey(f, id.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  f = std::fopen(id.cert_file.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  return id;
}

/// A CA, a server certificate and a client certificate it signed, and a client certificate
/// from another CA; plus the token file.
struct Pki {
  explicit Pki(const TempDir& dir)
      : ca(make_identity(dir, "ca", Role::kCa, nullptr)),
        server(make_identity(dir, "server", Role::kServer, &ca)),
        client(make_identity(dir, "client", Role::kClient, &ca)),
        other_ca(make_identity(dir, "other-ca", Role::kCa, nullptr)),
        stranger(make_identity(dir, "stranger", Role::kClient, &other_ca)),
        token_file(dir.file("token")) {
    std::ofstream(token_file) << "s3cret\n";
  }
  std::vector<std::string> agent_args() const {
    return {"--token-file", token_file,      "--tls-cert",      server.cert_file,
            "--tls-key",    server.key_file, "--tls-client-ca", ca.cert_file};
  }
  Identity ca, server, client, other_ca, stranger;
  std::string token_file;
};

struct TlsReply {
  /// The client saw its handshake complete (with TLS 1.3, before the server has checked
  /// the client's certificate: a refusal may show only when reading).
  bool handshake = false;
  /// Everything read back: the HTTP response, or "" when the server refused.
  std::string response;
};

// One request over TLS, verifying the server against `ca`; the client presents `client` if
// given. `max_version` caps the client's protocol version (0: no cap).
TlsReply tls_request(int port, const Identity& ca, const Identity* client,
                     const std::string& request, int max_version = 0) {
  TlsReply r;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  SSL_CTX_load_verify_locations(ctx.get(), ca.cert_file.c_str(), nullptr);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (client) {
    REQUIRE(SSL_CTX_use_certificate_chain_file(ctx.get(), client->cert_file.c_str()) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey_file(ctx.get(), client->key_file.c_str(), SSL_FILETYPE_PEM) ==
            1);
  }
  if (max_version) {
    SSL_CTX_set_security_level(ctx.get(), 0);
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_VERSION);
    SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  }
  const int fd = connect_loopback(port);
  REQUIRE(fd >= 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  SSL* ssl = SSL_new(ctx.get());
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1");
  SSL_set_fd(ssl, fd);
  if (SSL_connect(ssl) == 1) {
    r.handshake = true;
    if (SSL_write(ssl, request.data(), static_cast<int>(request.size())) > 0) {
      char buf[4096];
      for (int n; (n = SSL_read(ssl, buf, sizeof buf)) > 0;)
        r.response.append(buf, static_cast<size_t>(n));
    }
  }
  SSL_free(ssl);
  ::close(fd);
  return r;
}

const std::string kStatus =
    "GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer s3cret\r\n"
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

TEST_CASE("A drill reaches an agent over TLS with its client certificate and token",
          "[agent][tls][drill]") {
  namespace drill = achilles::injector::drill;
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
