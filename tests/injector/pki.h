// A small PKI for the TLS tests: a CA, the agent's certificate, a client certificate from
// the CA and one from a stranger's CA, each written as PEM files in a test's directory.
// Shared by the agent's TLS tests and the drill runner's.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support.h"

namespace achilles::injector::testing {

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

inline void add_ext(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (!ext || X509_add_ext(cert, ext, -1) != 1) throw std::runtime_error("X509 extension");
  X509_EXTENSION_free(ext);
}

enum class Role { kCa, kServer, kClient };

// A P-256 certificate for `cn`, signed by `issuer` (self-signed when null), valid for a day.
inline Identity make_identity(const TempDir& dir, const std::string& name, Role role,
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
  ::chmod(id.key_file.c_str(), 0600);  // the agent refuses a key others may read
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
    write_private_file(token_file, "s3cret-0123456789\n");
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
inline TlsReply tls_request(int port, const Identity& ca, const Identity* client,
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

}  // namespace achilles::injector::testing
