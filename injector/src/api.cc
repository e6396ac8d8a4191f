// Routing, authentication and auditing of the agent's API.
#include "achilles/injector/api.h"
#include "achilles/common/time.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace achilles::injector {

using nlohmann::json;

AuditLog::AuditLog(const std::string& path) {
  if (path.empty()) return;
  if (path == "-") {
    file_ = stderr;
    return;
  }
  file_ = std::fopen(path.c_str(), "ae");
  if (!file_)
    throw std::runtime_error("cannot open the audit log '" + path + "': " + std::strerror(errno));
  owned_ = true;
}

AuditLog::~AuditLog() {
  if (owned_) std::fclose(file_);
}

void AuditLog::write(const json& entry) {
  if (!file_) return;
  const std::string line = entry.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
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

HttpResponse Api::handle(const HttpRequest& req) noexcept {
  HttpResponse resp;
  try {
    try {
      resp = route(req);
    } catch (const ApiError& e) {
      resp = HttpResponse::error(e.status(), e.what());
    } catch (const std::exception& e) {
      resp = HttpResponse::error(500, std::string("internal error: ") + e.what());
    }
    if (req.method != "GET" && req.method != "HEAD" && resp.status != 401 && resp.status != 403) {
      json body = json::parse(req.body, nullptr, false);
      audit_.write({{"time", common::format_time(clock_.wall())},
                    {"remote", req.remote},
                    {"method", req.method},
                    {"path", req.path},
                    {"status", resp.status},
                    {"request", body.is_discarded() ? json(req.body.substr(0, 1024)) : body}});
    } else if (resp.status == 401 || resp.status == 403) {
      audit_.write({{"time", common::format_time(clock_.wall())},
                    {"remote", req.remote},
                    {"method", req.method},
                    {"path", req.path},
                    {"status", resp.status},
                    {"refused", true}});
    }
  } catch (...) {
    resp = HttpResponse::error(500, "internal error");
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

// The body as JSON; an empty body is `{}` (halt, resume, reset carry none).
json body_json(const HttpRequest& req, const std::string& prefix) {
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
  try {
    return json::parse(req.body);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 5: ..." -> from "parse".
    if (auto at = what.find("] "); at != std::string::npos) what = what.substr(at + 2);
    throw ApiError(400, prefix + what);
  }
}

HttpResponse method_not_allowed(const std::string& allow) {
  auto r = HttpResponse::error(405, "method not allowed; allowed: " + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

}  // namespace

HttpResponse Api::route(const HttpRequest& req) {
  // Toxiproxy's CSRF guard: a browser must not drive a fault injector.
  if (req.header("user-agent").rfind("Mozilla/", 0) == 0)
    return HttpResponse::error(403, "User agent not allowed");
  if (!authorized(req)) {
    auto r = HttpResponse::error(401, "missing or invalid bearer token");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  auto parts = split_path(req.path);
  if (!parts.empty() && parts[0] == "v1") return route_v1(req, parts);
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
    if (m == "POST")
      return HttpResponse::json(201, engine_.create(body_json(req, "malformed JSON: ")));
    return method_not_allowed("GET, POST");
  }
  if (parts.size() == 3 && what == "faults") {
    if (m == "GET") return HttpResponse::json(200, engine_.get(parts[2]));
    if (m == "DELETE") return HttpResponse::json(200, engine_.remove(parts[2]));
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
