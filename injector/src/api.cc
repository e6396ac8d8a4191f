// Routing, authentication and auditing of the agent's API.
#include "achilles/injector/api.h"
#include "achilles/common/time.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace achilles::injector {

using nlohmann::json;

AuditLog::AuditLog(const std::string& path, std::uint64_t max_bytes)
    : path_(path), max_bytes_(max_bytes) {
  if (path.empty()) return;
  if (path == "-") {
    fd_ = STDERR_FILENO;
    return;
  }
  open();
  if (fd_ < 0) throw std::runtime_error("cannot open the audit log '" + path + "': " + error_);
}

// 0600: the log says who did what, with token fingerprints; it is nobody else's business.
void AuditLog::open() {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  struct stat st {};
  if (fd_ < 0 || ::fstat(fd_, &st) != 0) {
    error_ = std::strerror(errno);
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return;
  }
  owned_ = true;
  size_ = static_cast<std::uint64_t>(st.st_size);
}

AuditLog::~AuditLog() {
  if (owned_ && fd_ >= 0) ::close(fd_);
}

// Plain write(2), no stdio buffer: a failure is seen by the write that failed, and nothing
// half-written waits in a buffer to be appended later.
bool AuditLog::write(const json& entry) {
  if (path_.empty()) return true;
  std::string line = entry.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  if (owned_ && max_bytes_ > 0 && size_ > 0 && size_ + line.size() > max_bytes_) {
    ::close(fd_);
    fd_ = -1;
    owned_ = false;
    broken_line_ = false;
    if (std::rename(path_.c_str(), (path_ + ".1").c_str()) != 0)
      error_ = std::string("cannot rotate it to ") + path_ + ".1: " + std::strerror(errno);
    open();
  }
  if (fd_ < 0) {
    if (error_.empty()) error_ = "it is not open";
    return false;
  }
  // After a write cut short (a full disk), the next line starts on a line of its own.
  if (broken_line_) line.insert(0, "\n");
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = n < 0 ? std::strerror(errno) : "nothing was written";
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  size_ += done;
  if (done > 0) broken_line_ = done < line.size();
  return done == line.size();
}

std::string requester(const HttpRequest& req) {
  std::string who;
  if (!req.client_subject.empty()) who = "cert " + req.client_subject;
  const std::string h = req.header("authorization");
  if (h.rfind("Bearer ", 0) == 0) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    const std::string token = h.substr(7);
    if (EVP_Digest(token.data(), token.size(), d, &n, EVP_sha256(), nullptr) && n >= 4) {
      static const char kHex[] = "0123456789abcdef";
      std::string hex;
      for (int i = 0; i < 4; ++i)
        hex += {kHex[d[i] >> 4], kHex[d[i] & 15]};
      who += (who.empty() ? "" : ", ") + std::string("token sha256:") + hex;
    }
  }
  return who.empty() ? "anonymous" : who;
}

bool secrets_equal(const std::string& a, const std::string& b) {
  unsigned char da[EVP_MAX_MD_SIZE], db[EVP_MAX_MD_SIZE];
  unsigned int la = 0, lb = 0;
  if (!EVP_Digest(a.data(), a.size(), da, &la, EVP_sha256(), nullptr) ||
      !EVP_Digest(b.data(), b.size(), db, &lb, EVP_sha256(), nullptr) || la != lb)
    return false;
  return CRYPTO_memcmp(da, db, la) == 0;
}

Api::Api(FaultEngine& engine, ProxyManager* proxies, AuditLog& audit, const Clock& clock,
         ApiOptions options)
    : engine_(engine),
      proxies_(proxies),
      audit_(audit),
      clock_(clock),
      options_(std::move(options)),
      started_(clock.now()) {}

bool Api::authorized(const HttpRequest& req) const {
  if (!options_.require_token) return true;
  const std::string h = req.header("authorization");
  const std::string prefix = "Bearer ";
  if (h.size() <= prefix.size() || h.compare(0, prefix.size(), prefix) != 0) return false;
  return secrets_equal(h.substr(prefix.size()), options_.token);
}

json Api::entry(const HttpRequest& req) const {
  return {{"time", common::format_time(clock_.wall())},
          {"remote", req.remote},
          {"who", requester(req)},
          {"method", req.method},
          {"path", req.path.empty() ? req.target : req.path}};
}

namespace {

// What a request asked for, for the audit log: its JSON body when short, else its size and
// kind; a body that is not JSON, by its first bytes.
json request_summary(const HttpRequest& req) {
  if (req.body.empty()) return nullptr;
  json body;
  try {
    body = parse_json_body(req.body, "");
  } catch (const ApiError&) {
    return req.body.substr(0, 256);
  }
  if (body.dump(-1, ' ', false, json::error_handler_t::replace).size() <= 2048) return body;
  json out = {{"bytes", req.body.size()}};
  if (body.is_object() && body.contains("kind")) out["kind"] = body["kind"];
  return out;
}

// Requests that only undo harm: carried out even when the audit log cannot be written.
bool undoes_harm(const HttpRequest& req) {
  return req.method == "DELETE" || req.path == "/v1/halt" || req.path == "/reset";
}

}  // namespace

std::optional<HttpResponse> Api::admit(const HttpRequest& req) noexcept {
  try {
    std::optional<HttpResponse> refusal;
    // Toxiproxy's CSRF guard: a browser must not drive a fault injector.
    if (req.header("user-agent").rfind("Mozilla/", 0) == 0) {
      refusal = HttpResponse::error(403, "User agent not allowed");
    } else if (!authorized(req)) {
      refusal = HttpResponse::error(401, "missing or invalid bearer token");
      refusal->headers.emplace_back("WWW-Authenticate", "Bearer");
    }
    if (!refusal) return std::nullopt;
    count_request(refusal->status);
    json e = entry(req);
    e["status"] = refusal->status;
    e["refused"] = true;
    e["error"] = json::parse(refusal->body)["error"];
    if (req.content_length > 0) e["request_bytes"] = req.content_length;
    if (!audit_.write(e))
      std::fprintf(stderr, "achilles-agent: error: cannot write the audit log: %s\n",
                   audit_.error().c_str());
    return refusal;
  } catch (...) {
    return HttpResponse::error(500, "internal error");
  }
}

void Api::count_request(int status) noexcept {
  if (options_.metrics) options_.metrics->request(status);
}

void Api::rejected(const HttpRequest& req, int status, const std::string& message) noexcept {
  if (status != 0) count_request(status);
  try {
    json e = entry(req);
    if (status == 0) {
      e = {{"time", e["time"]}, {"remote", req.remote}, {"event", "tls_failure"}};
    } else {
      e["status"] = status;
      e["refused"] = true;
    }
    e["error"] = message;
    if (!audit_.write(e))
      std::fprintf(stderr, "achilles-agent: error: cannot write the audit log: %s\n",
                   audit_.error().c_str());
  } catch (...) {
  }
}

HttpResponse Api::handle(const HttpRequest& req) noexcept {
  if (auto refusal = admit(req)) return *refusal;
  HttpResponse resp;
  bool counted = false;
  try {
    json e = entry(req);
    const bool changes = req.method != "GET" && req.method != "HEAD";
    if (changes) e["request"] = request_summary(req);
    // Fail closed: what would change the host is written down before it is done, or not done.
    if (changes && !undoes_harm(req)) {
      json intent = e;
      intent["event"] = "intent";
      if (!audit_.write(intent)) {
        resp = HttpResponse::error(
            503, "the audit log cannot be written (" + audit_.error() + "): nothing was done");
        if (options_.metrics && req.path == "/v1/faults" && req.method == "POST") {
          // Parsed with the depth guard, as every body is (see kMaxJsonDepth).
          std::string kind;
          try {
            const json body = parse_json_body(req.body, "");
            if (body.is_object() && body.contains("kind") && body["kind"].is_string())
              kind = body["kind"].get<std::string>();
          } catch (const ApiError&) {
            // Not JSON: its kind is unknown.
          }
          options_.metrics->fault(kind, Metrics::Outcome::kRefused);
        }
      }
    }
    if (resp.status != 503) {
      try {
        resp = route(req);
      } catch (const ApiError& err) {
        resp = HttpResponse::error(err.status(), err.what());
      } catch (const std::exception& err) {
        resp = HttpResponse::error(500, std::string("internal error: ") + err.what());
      }
    }
    count_request(resp.status);
    counted = true;
    // A scrape (every few seconds, for as long as the agent runs) would fill the audit log
    // with lines that record no change: an answered GET /metrics is left out of it.
    if (req.method == "GET" && req.path == "/metrics" && resp.status == 200 && options_.metrics)
      return resp;
    e["status"] = resp.status;
    if (resp.status >= 400) {
      json b = json::parse(resp.body, nullptr, false);
      if (b.is_object() && b.contains("error")) e["error"] = b["error"];
    } else if (req.method == "POST" && req.path == "/v1/faults") {
      json b = json::parse(resp.body, nullptr, false);
      if (b.is_object() && b.contains("id")) e["fault"] = b["id"];
    }
    if (!audit_.write(e))
      std::fprintf(stderr, "achilles-agent: error: cannot write the audit log: %s\n",
                   audit_.error().c_str());
  } catch (...) {
    resp = HttpResponse::error(500, "internal error");
    if (!counted) count_request(500);
  }
  return resp;
}

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t p = 1;
  while (p <= path.size()) {
    auto q = path.find('/', p);
    if (q == std::string::npos) q = path.size();
    if (q > p) parts.push_back(path.substr(p, q - p));
    p = q + 1;
  }
  return parts;
}

json body_json(const HttpRequest& req, const std::string& prefix) {
  return parse_json_body(req.body, prefix);
}

HttpResponse method_not_allowed(const std::string& allow) {
  auto r = HttpResponse::error(405, "method not allowed; allowed: " + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

}  // namespace

HttpResponse Api::route(const HttpRequest& req) {
  auto parts = split_path(req.path);
  if (!parts.empty() && parts[0] == "v1") return route_v1(req, parts);
  if (parts.size() == 1 && parts[0] == "metrics" && options_.metrics) {
    if (req.method != "GET") return method_not_allowed("GET");
    return metrics();
  }
  return route_toxiproxy(req, parts);
}

HttpResponse Api::route_v1(const HttpRequest& req, const std::vector<std::string>& parts) {
  const std::string& m = req.method;
  const std::string what = parts.size() > 1 ? parts[1] : "";
  if (parts.size() == 2 && what == "status") {
    if (m != "GET") return method_not_allowed("GET");
    json s = engine_.status();
    s["version"] = options_.version;
    s["pid"] = static_cast<int>(::getpid());
    s["uptime_ms"] = elapsed_ms(started_, clock_.now());
    return HttpResponse::json(200, s);
  }
  if (parts.size() == 2 && what == "faults") {
    if (m == "GET") return HttpResponse::json(200, {{"faults", engine_.list()}});
    if (m == "POST") {
      json body;
      try {
        body = body_json(req, "malformed JSON: ");
      } catch (const ApiError&) {
        // Refused before the engine sees it; its kind is unknown.
        if (options_.metrics) options_.metrics->fault("", Metrics::Outcome::kRefused);
        throw;
      }
      return HttpResponse::json(201, engine_.create(body));
    }
    return method_not_allowed("GET, POST");
  }
  if (parts.size() == 3 && what == "faults") {
    if (m == "GET") return HttpResponse::json(200, engine_.get(parts[2]));
    if (m == "DELETE") {
      // A revert that failed is no success: 500, with the record (state "revert_failed",
      // its errors) and the error; the agent retries it every second.
      json r = engine_.remove(parts[2]);
      if (r.value("state", "") != "revert_failed") return HttpResponse::json(200, r);
      r["status"] = 500;
      r["error"] = "the fault '" + parts[2] +
                   "' could not be reverted; the agent retries every second: " +
                   r.value("errors", json::array()).dump();
      return HttpResponse::json(500, r);
    }
    return method_not_allowed("GET, DELETE");
  }
  if (parts.size() == 2 && (what == "halt" || what == "resume" || what == "lease")) {
    if (m != "POST") return method_not_allowed("POST");
    json body = body_json(req, "malformed JSON: ");
    if (what == "lease") return HttpResponse::json(200, engine_.lease(body));
    if (!body.is_object() || !body.empty())
      throw ApiError(400, "POST /v1/" + what + " takes no body");
    return HttpResponse::json(200, what == "halt" ? engine_.halt() : engine_.resume());
  }
  throw ApiError(404, "no such endpoint: " + req.path);
}

HttpResponse Api::metrics() const {
  MetricGauges g;
  const json s = engine_.status();
  g.halted = s.value("halted", false);
  for (const auto& f : s["active_faults"])
    if (f.contains("kind") && f["kind"].is_string()) ++g.active[f["kind"].get<std::string>()];
  if (s["lease"].is_object())
    g.lease_seconds_remaining =
        static_cast<double>(s["lease"].value("remaining_ms", std::int64_t{0})) / 1000.0;
  if (proxies_) g.proxies = proxies_->traffic();
  HttpResponse r;
  r.status = 200;
  r.content_type = kMetricsContentType;
  r.body = options_.metrics->render(g);
  return r;
}

HttpResponse Api::route_toxiproxy(const HttpRequest& req, const std::vector<std::string>& parts) {
  const std::string& m = req.method;
  const std::string prefix = "bad request body: ";
  if (parts.size() == 1 && parts[0] == "version") {
    if (m != "GET") return method_not_allowed("GET");
    return HttpResponse::json(200, {{"version", options_.version}});
  }
  if (!proxies_) throw ApiError(404, "no such endpoint: " + req.path);
  auto& px = *proxies_;
  auto proxy_map = [&] {
    json all = json::object();
    for (const auto& p : px.list())
      all[p.name] = to_json(p);
    return all;
  };
  auto refuse_when_halted = [&] {
    if (engine_.halted()) throw ApiError(409, "the agent is halted: POST /v1/resume first");
  };
  if (parts.size() == 1 && parts[0] == "reset") {
    if (m != "POST") return method_not_allowed("POST");
    px.reset();
    return HttpResponse::empty(204);
  }
  if (parts.size() == 1 && parts[0] == "populate") {
    if (m != "POST") return method_not_allowed("POST");
    json out = json::array();
    for (const auto& p : px.populate(body_json(req, prefix)))
      out.push_back(to_json(p));
    return HttpResponse::json(201, {{"proxies", out}});
  }
  if (parts.empty() || parts[0] != "proxies") throw ApiError(404, "no such endpoint: " + req.path);
  if (parts.size() == 1) {
    if (m == "GET") return HttpResponse::json(200, proxy_map());
    if (m == "POST")
      return HttpResponse::json(201, to_json(px.create(parse_proxy(body_json(req, prefix)))));
    return method_not_allowed("GET, POST");
  }
  const std::string& name = parts[1];
  if (parts.size() == 2) {
    if (m == "GET") return HttpResponse::json(200, to_json(px.get(name)));
    if (m == "POST" || m == "PATCH")
      return HttpResponse::json(200, to_json(px.update(name, body_json(req, prefix))));
    if (m == "DELETE") {
      px.remove(name);
      return HttpResponse::empty(204);
    }
    return method_not_allowed("GET, POST, PATCH, DELETE");
  }
  if (parts[2] != "toxics" || parts.size() > 4)
    throw ApiError(404, "no such endpoint: " + req.path);
  if (parts.size() == 3) {
    if (m == "GET") {
      json out = json::array();
      for (const auto& t : px.get(name).toxics)
        out.push_back(to_json(t));
      return HttpResponse::json(200, out);
    }
    if (m == "POST") {
      px.get(name);  // 404 before 400, as Toxiproxy answers
      refuse_when_halted();
      return HttpResponse::json(200,
                                to_json(px.add_toxic(name, parse_toxic(body_json(req, prefix)))));
    }
    return method_not_allowed("GET, POST");
  }
  const std::string& toxic = parts[3];
  if (m == "GET") return HttpResponse::json(200, to_json(px.get_toxic(name, toxic)));
  if (m == "POST" || m == "PATCH") {
    refuse_when_halted();
    return HttpResponse::json(200, to_json(px.update_toxic(name, toxic, body_json(req, prefix))));
  }
  if (m == "DELETE") {
    px.delete_toxic(name, toxic);
    return HttpResponse::empty(204);
  }
  return method_not_allowed("GET, POST, PATCH, DELETE");
}

}  // namespace achilles::injector
