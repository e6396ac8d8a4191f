// Reading a drill plan: every key checked, every problem of the file reported in one run.
//
// One file past 500 lines: reading a plan is one walk of one schema (plan, agents, probes, steps,
// their faults and expectations), every problem located as it is found; split by section, the
// position bookkeeping and the cross-references (agents, probes) would be spread over files.
// Resolving targets through the topology (components, and domains into the faults that lose
// them) stays here too: it reports with the same positions.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "achilles/common/input_file.h"
#include "achilles/common/text.h"
#include "achilles/common/yaml_guard.h"
#include "achilles/drill/plan.h"
#include "promql.h"

#include "achilles/common/fault_schema.h"

namespace achilles::drill {

std::string PlanProblem::str() const {
  if (line > 0)
    return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": error: " + message;
  return file + ": error: " + message;
}

namespace {
std::string join_problems(const std::vector<PlanProblem>& problems) {
  return common::join(problems, "\n", [](const PlanProblem& p) { return p.str(); });
}
}  // namespace

PlanError::PlanError(std::vector<PlanProblem> problems)
    : std::runtime_error(join_problems(problems)), problems_(std::move(problems)) {}

const char* probe_kind_name(ProbeKind kind) {
  switch (kind) {
    case ProbeKind::kHttp:
      return "http";
    case ProbeKind::kTcp:
      return "tcp";
    case ProbeKind::kExec:
      return "exec";
    case ProbeKind::kPrometheus:
      return "prometheus";
  }
  return "?";
}

std::string Threshold::str() const {
  std::ostringstream out;
  out << (below ? "below " : "above ") << limit;
  return out.str();
}

const char* health_name(Health h) {
  switch (h) {
    case Health::kHealthy:
      return "healthy";
    case Health::kDegraded:
      return "degraded";
    case Health::kDown:
      return "down";
  }
  return "?";
}

std::string ProbeSpec::describe() const {
  switch (kind) {
    case ProbeKind::kHttp:
      return method == "GET" ? url : method + " " + url;
    case ProbeKind::kTcp:
      return address;
    case ProbeKind::kExec: {
      std::string s;
      for (const auto& a : command)
        s += (s.empty() ? "" : " ") + a;
      return s;
    }
    case ProbeKind::kPrometheus:
      return query + " at " + url;
  }
  return "";
}

nlohmann::json ProbeSpec::healthy_when_json() const {
  nlohmann::json hw = {{"success_ratio", success_ratio}, {"window_ms", window_ms}};
  if (p99_ms) hw["p99_ms"] = *p99_ms;
  if (value) hw[value->below ? "below" : "above"] = value->limit;
  return hw;
}

nlohmann::json ProbeSpec::down_when_json() const {
  if (!down_when) return nullptr;
  return {{down_when->below ? "below" : "above", down_when->limit}};
}

std::int64_t Plan::step_end_ms(std::size_t i) const {
  const Step& s = steps[i];
  if (s.observe_ms) return s.at_ms + *s.observe_ms;
  if (i + 1 < steps.size()) return std::max(steps[i + 1].at_ms, s.at_ms + 1);
  std::int64_t span = s.duration_ms();
  if (s.recover_within_ms) span = std::max(span, *s.recover_within_ms);
  return s.at_ms + std::max<std::int64_t>(span + 3000, 5000);
}

std::int64_t Step::duration_ms() const {
  // A fault may be anything a plan says (it is checked, and refused, apart): read it safely.
  std::int64_t span = 0;
  for (const auto& f : faults)
    if (f.fault.is_object())
      if (auto d = f.fault.find("duration_ms"); d != f.fault.end() && d->is_number_integer())
        span = std::max(span, d->get<std::int64_t>());
  return span;
}

namespace {
/// A fault body's kind, "" when it has none that is a string.
std::string kind_of(const nlohmann::json& fault) {
  if (!fault.is_object()) return "";
  auto k = fault.find("kind");
  return k != fault.end() && k->is_string() ? k->get<std::string>() : "";
}
}  // namespace

bool Step::instant() const {
  return std::all_of(faults.begin(), faults.end(),
                     [](const StepFault& f) { return kind_of(f.fault) == "kill"; });
}

std::vector<std::string> Step::domains() const {
  std::vector<std::string> out;
  for (const auto& f : faults) {
    std::string d = f.domain;
    if (d.empty() && f.fault.is_object() && f.fault.contains("target") &&
        f.fault["target"].is_object() && f.fault["target"].contains("domain") &&
        f.fault["target"]["domain"].is_string())
      d = f.fault["target"]["domain"].get<std::string>();
    if (!d.empty() && std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
  }
  return out;
}

std::string NotifyTarget::describe() const {
  // The scheme, host and port; a path or a query (a webhook's secret, often) as "/***".
  const auto scheme = url.find("://");
  const auto slash =
      scheme == std::string::npos ? std::string::npos : url.find_first_of("/?", scheme + 3);
  std::string shown = url;
  if (slash != std::string::npos && slash + 1 < url.size()) shown = url.substr(0, slash) + "/***";
  std::string d = (kind == Kind::kWebhook ? "webhook " : "grafana ") + shown;
  if (!token_file.empty()) d += " (token from " + token_file + ")";
  return d;
}

namespace {

const char* const kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

std::string fmt_minute(int m) {
  return common::format("%02d:%02d", m / 60 % 100, m % 60);
}

}  // namespace

nlohmann::json Plan::to_json() const {
  using nlohmann::json;
  json j = {{"title", title}, {"file", file}};
  if (!topology.empty()) j["topology"] = topology;
  json a = json::object();
  for (const auto& [name, ref] : agents) {
    json r = {{"url", ref.url}};
    if (!ref.token_file.empty()) r["token_file"] = ref.token_file;
    if (!ref.ca_file.empty()) r["ca_file"] = ref.ca_file;
    if (!ref.cert_file.empty()) r["cert_file"] = ref.cert_file;
    if (!ref.key_file.empty()) r["key_file"] = ref.key_file;
    a[name] = r;
  }
  j["agents"] = a;
  if (window) {
    json days = json::array();
    for (int d : window->days)
      days.push_back(kDayNames[d]);
    j["window"] = {{"days", days},
                   {"from", fmt_minute(window->from_minute)},
                   {"to", fmt_minute(window->to_minute)},
                   {"tz", window->tz.empty() ? "UTC" : window->tz}};
  }
  json ps = json::array();
  for (const auto& p : probes) {
    json probe = {{"name", p.name},
                  {"kind", probe_kind_name(p.kind)},
                  {"target", p.describe()},
                  {"every_ms", p.every_ms},
                  {"timeout_ms", p.timeout_ms},
                  {"healthy_when", p.healthy_when_json()}};
    if (p.kind == ProbeKind::kPrometheus) {
      probe["url"] = p.url;
      probe["query"] = p.query;
      if (p.down_when) probe["down_when"] = p.down_when_json();
      // The files, never what they hold.
      if (!p.basic_auth_password_file.empty())
        probe["basic_auth"] = {{"username", p.basic_auth_user},
                               {"password_file", p.basic_auth_password_file}};
      if (!p.bearer_token_file.empty()) probe["bearer_token_file"] = p.bearer_token_file;
    }
    ps.push_back(probe);
  }
  j["probes"] = ps;
  j["steady_state"] = {{"hold_ms", hold_ms}, {"timeout_ms", steady_timeout_ms}};
  json ss = json::array();
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    json e = json::object();
    for (const auto& x : s.expect)
      e[x.probe] = x.name();
    if (s.recover_within_ms) e["recover_within_ms"] = *s.recover_within_ms;
    json step = {{"name", s.name}, {"at_ms", s.at_ms}, {"until_ms", step_end_ms(i)}};
    // One fault as `agent` and `fault`, as plans have always been written; several as a list.
    if (s.faults.size() == 1) {
      step["agent"] = s.faults[0].agent;
      step["fault"] = s.faults[0].fault;
    } else {
      json fs = json::array();
      for (const auto& f : s.faults)
        fs.push_back({{"agent", f.agent}, {"fault", f.fault}});
      step["faults"] = fs;
    }
    if (const auto d = s.domains(); !d.empty()) step["domains"] = d;
    step["expect"] = e;
    if (!s.prediction.is_null()) step["prediction"] = s.prediction;
    ss.push_back(step);
  }
  j["steps"] = ss;
  if (abort_when)
    j["abort_when"] = {{"probe", abort_when->probe},
                       {"unhealthy_for_ms", abort_when->unhealthy_for_ms}};
  j["rollback"] = "always";
  j["lease_ms"] = lease_ms;
  if (!notify.empty()) {
    json n = json::array();
    for (const auto& t : notify)
      n.push_back(t.describe());
    j["notify"] = n;
  }
  return j;
}

namespace {

/// Collects problems while walking the YAML; each check reports and carries on.
class Reader {
 public:
  Reader(std::string file, std::string dir) : file_(std::move(file)), dir_(std::move(dir)) {}

  void problem(const YAML::Node& at, const std::string& message) {
    const auto m = at.Mark();
    if (m.line < 0)
      problems_.push_back({file_, 0, 0, message});
    else
      problems_.push_back({file_, m.line + 1, m.column + 1, message});
  }
  std::vector<PlanProblem>& problems() { return problems_; }
  const std::string& dir() const { return dir_; }

  /// Checks that `node` is a mapping whose keys are all in `allowed`, and that `required` are
  /// present; `what` names it in messages ("a probe").
  bool mapping(const YAML::Node& node, const std::string& what,
               std::initializer_list<const char*> allowed,
               std::initializer_list<const char*> required = {}) {
    if (!node.IsMap()) {
      problem(node, what + " must be a mapping");
      return false;
    }
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }))
        problem(kv.first, "unknown key '" + key + "' in " + what);
    }
    bool ok = true;
    for (const char* r : required)
      if (!node[r]) {
        problem(node, what + " needs '" + r + "'");
        ok = false;
      }
    return ok;
  }

  std::optional<std::string> string(const YAML::Node& node, const std::string& key) {
    if (!node.IsScalar()) {
      problem(node, "'" + key + "' must be a string");
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<std::int64_t> integer(const YAML::Node& node, const std::string& key,
                                      std::int64_t lo, std::int64_t hi) {
    if (!node.IsScalar()) {
      problem(node, "'" + key + "' must be an integer");
      return std::nullopt;
    }
    const std::string& text = node.Scalar();
    const auto parsed = common::whole_integer(text);
    if (!parsed) {
      problem(node, "'" + key + "' must be an integer, got '" + text + "'");
      return std::nullopt;
    }
    const long long v = *parsed;
    if (v < lo || v > hi) {
      problem(node, "'" + key + "' must be between " + std::to_string(lo) + " and " +
                        std::to_string(hi) + ", got " + text);
      return std::nullopt;
    }
    return v;
  }

  std::optional<double> number(const YAML::Node& node, const std::string& key, double lo,
                               double hi) {
    if (!node.IsScalar()) {
      problem(node, "'" + key + "' must be a number");
      return std::nullopt;
    }
    const std::string& text = node.Scalar();
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (text.empty() || used != text.size() || !std::isfinite(v)) {
      problem(node, "'" + key + "' must be a number, got '" + text + "'");
      return std::nullopt;
    }
    if (v < lo || v > hi) {
      std::ostringstream m;
      m << "'" << key << "' must be between " << lo << " and " << hi << ", got " << text;
      problem(node, m.str());
      return std::nullopt;
    }
    return v;
  }

  /// A path in the plan, relative to the plan's directory.
  std::string path(const std::string& p) const {
    if (p.empty() || p[0] == '/' || dir_.empty()) return p;
    return dir_ + "/" + p;
  }

 private:
  std::string file_, dir_;
  std::vector<PlanProblem> problems_;
};

/// A YAML value as JSON for a fault body: plain scalars that read as numbers or booleans
/// become those, quoted ones stay strings.
nlohmann::json to_json_value(const YAML::Node& n) {
  using nlohmann::json;
  if (n.IsMap()) {
    json j = json::object();
    for (const auto& kv : n)
      j[kv.first.Scalar()] = to_json_value(kv.second);
    return j;
  }
  if (n.IsSequence()) {
    json j = json::array();
    for (const auto& v : n)
      j.push_back(to_json_value(v));
    return j;
  }
  if (n.IsNull()) return nullptr;
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted
  if (s == "true") return true;
  if (s == "false") return false;
  if (auto v = common::whole_integer(s)) return *v;
  std::size_t used = 0;
  try {
    double v = std::stod(s, &used);
    if (used == s.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  return s;
}

std::optional<int> parse_hhmm(const std::string& s) {
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  for (int i : {0, 1, 3, 4})
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  const int h = (s[0] - '0') * 10 + (s[1] - '0');
  const int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return std::nullopt;
  return h * 60 + m;
}

/// Whether a URL holds user information (`USER:PASSWORD@HOST`). A plan's URLs are written
/// to the journal, the report and --dry-run, so credentials go in files (basic_auth,
/// bearer_token_file, token_file), never in a URL.
bool has_userinfo(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return false;
  const std::string rest = url.substr(scheme + 3);
  return rest.substr(0, rest.find('/')).find('@') != std::string::npos;
}

/// The URL with its user information replaced by `***`, for a message about it.
std::string without_userinfo(const std::string& url) {
  const auto scheme = url.find("://");
  const auto at = url.find('@', scheme + 3);
  return url.substr(0, scheme + 3) + "***" + url.substr(at);
}

/// Whether `url` holds credentials, reported (without them) where it is written.
bool refuse_userinfo(Reader& r, const YAML::Node& at, const std::string& url,
                     const std::string& instead, const std::string& prefix = "") {
  if (!has_userinfo(url)) return false;
  r.problem(at, prefix + "'url' must not hold credentials (" + without_userinfo(url) +
                    "): they would be written to the journal and the report; use " + instead);
  return true;
}

bool valid_url(const std::string& url, bool allow_https) {
  const std::string http = "http://", https = "https://";
  std::string rest;
  if (url.rfind(http, 0) == 0)
    rest = url.substr(http.size());
  else if (allow_https && url.rfind(https, 0) == 0)
    rest = url.substr(https.size());
  else
    return false;
  const auto slash = rest.find('/');
  const std::string host_port = rest.substr(0, slash);
  return !host_port.empty() && host_port.find(' ') == std::string::npos;
}

std::string read_token(Reader& r, const YAML::Node& at, const std::string& path,
                       const std::string& what = "token file");

/// `{below: X}` or `{above: X}`: exactly one of them.
std::optional<Threshold> read_threshold(Reader& r, const YAML::Node& n, const std::string& what) {
  if (!r.mapping(n, what, {"below", "above"})) return std::nullopt;
  if (n["below"] && n["above"]) {
    r.problem(n, what + " takes one of 'below' or 'above', not both");
    return std::nullopt;
  }
  if (!n["below"] && !n["above"]) {
    r.problem(n, what + " needs 'below' or 'above'");
    return std::nullopt;
  }
  const bool below = bool(n["below"]);
  const char* key = below ? "below" : "above";
  if (auto v = r.number(n[key], key, -1e300, 1e300)) return Threshold{below, *v};
  return std::nullopt;
}

/// A prometheus probe's server, query and credentials (spec drill.md; docs/drill.md
/// "Prometheus probes"). The query must aggregate to one series (promql.h).
void read_prometheus(Reader& r, const YAML::Node& m, ProbeSpec& p) {
  if (!r.mapping(m, "a prometheus probe",
                 {"url", "query", "timeout_ms", "basic_auth", "bearer_token_file", "ca_file",
                  "insecure_skip_verify"},
                 {"url", "query"}))
    return;
  if (auto v = r.string(m["url"], "url")) {
    p.url = *v;
    if (refuse_userinfo(r, m["url"], p.url, "basic_auth with a password_file"))
      p.url = without_userinfo(p.url);
    else if (!valid_url(p.url, true) || p.url.find('?') != std::string::npos ||
             p.url.find('#') != std::string::npos)
      r.problem(m["url"],
                "'url' must be http(s)://HOST[:PORT][/PATH], the server's base URL "
                "without a query, got '" +
                    p.url + "'");
    while (!p.url.empty() && p.url.back() == '/' && p.url.find("://") + 3 < p.url.size())
      p.url.pop_back();
  }
  if (auto v = r.string(m["query"], "query")) {
    p.query = *v;
    if (common::trim(p.query).empty())
      r.problem(m["query"], "probe '" + p.name + "': 'query' is empty");
    else if (auto why = promql_multi_series(p.query))
      r.problem(m["query"], "probe '" + p.name + "': " + *why);
  }
  if (m["timeout_ms"])
    if (auto v = r.integer(m["timeout_ms"], "timeout_ms", 1, 600000)) p.timeout_ms = *v;
  if (const auto b = m["basic_auth"]) {
    if (r.mapping(b, "'basic_auth'", {"username", "password_file"},
                  {"username", "password_file"})) {
      if (auto u = r.string(b["username"], "username")) {
        p.basic_auth_user = *u;
        if (p.basic_auth_user.find(':') != std::string::npos)
          r.problem(b["username"], "a basic_auth username cannot hold ':'");
      }
      if (auto f = r.string(b["password_file"], "password_file")) {
        p.basic_auth_password_file = r.path(*f);
        p.basic_auth_password =
            read_token(r, b["password_file"], p.basic_auth_password_file, "password file");
      }
    }
  }
  if (m["bearer_token_file"])
    if (auto f = r.string(m["bearer_token_file"], "bearer_token_file")) {
      p.bearer_token_file = r.path(*f);
      p.bearer_token = read_token(r, m["bearer_token_file"], p.bearer_token_file);
    }
  if (m["basic_auth"] && m["bearer_token_file"])
    r.problem(m, "probe '" + p.name +
                     "': basic_auth and bearer_token_file both set the Authorization header: "
                     "give one");
  if (m["ca_file"])
    if (auto v = r.string(m["ca_file"], "ca_file")) p.ca_file = r.path(*v);
  if (const auto k = m["insecure_skip_verify"]) {
    if (!k.IsScalar() || (k.Scalar() != "true" && k.Scalar() != "false"))
      r.problem(k, "'insecure_skip_verify' must be true or false");
    else
      p.insecure_skip_verify = k.Scalar() == "true";
  }
  if ((!p.ca_file.empty() || p.insecure_skip_verify) && p.url.rfind("https://", 0) != 0)
    r.problem(m, "probe '" + p.name + "': ca_file and insecure_skip_verify need https://");
}

void read_probe(Reader& r, const YAML::Node& n, std::vector<ProbeSpec>& out) {
  if (!r.mapping(n, "a probe",
                 {"name", "http", "tcp", "exec", "prometheus", "every_ms", "window_ms",
                  "healthy_when", "down_when"},
                 {"name"}))
    return;
  ProbeSpec p;
  if (auto v = r.string(n["name"], "name")) p.name = *v;
  for (const auto& q : out)
    if (q.name == p.name) r.problem(n["name"], "probe '" + p.name + "' is defined twice");
  int kinds =
      (n["http"] ? 1 : 0) + (n["tcp"] ? 1 : 0) + (n["exec"] ? 1 : 0) + (n["prometheus"] ? 1 : 0);
  if (kinds != 1)
    r.problem(n, "probe '" + p.name + "' needs exactly one of http, tcp, exec or prometheus");
  if (const auto h = n["http"]) {
    p.kind = ProbeKind::kHttp;
    if (r.mapping(h, "an http probe",
                  {"url", "timeout_ms", "method", "status", "body_contains", "ca_file",
                   "insecure_skip_verify"},
                  {"url"})) {
      if (auto v = r.string(h["url"], "url")) {
        p.url = *v;
        if (refuse_userinfo(r, h["url"], p.url, "an exec probe with curl and a netrc file"))
          p.url = without_userinfo(p.url);
        else if (!valid_url(p.url, true))
          r.problem(h["url"], "'url' must be http(s)://HOST[:PORT]/PATH, got '" + p.url + "'");
      }
      if (h["ca_file"])
        if (auto v = r.string(h["ca_file"], "ca_file")) p.ca_file = r.path(*v);
      if (const auto k = h["insecure_skip_verify"]) {
        if (!k.IsScalar() || (k.Scalar() != "true" && k.Scalar() != "false"))
          r.problem(k, "'insecure_skip_verify' must be true or false");
        else
          p.insecure_skip_verify = k.Scalar() == "true";
      }
      if ((!p.ca_file.empty() || p.insecure_skip_verify) && p.url.rfind("https://", 0) != 0)
        r.problem(h, "probe '" + p.name + "': ca_file and insecure_skip_verify need https://");
      if (!p.ca_file.empty() && p.insecure_skip_verify)
        r.problem(h, "probe '" + p.name +
                         "': ca_file and insecure_skip_verify contradict each other (verify "
                         "with the CA, or not at all)");
      if (h["method"])
        if (auto v = r.string(h["method"], "method")) p.method = *v;
      if (h["body_contains"])
        if (auto v = r.string(h["body_contains"], "body_contains")) p.body_contains = *v;
      if (const auto s = h["status"]) {
        if (s.IsScalar()) {
          if (auto v = r.integer(s, "status", 100, 599)) p.statuses.push_back(int(*v));
        } else if (s.IsSequence()) {
          for (const auto& x : s)
            if (auto v = r.integer(x, "status", 100, 599)) p.statuses.push_back(int(*v));
        } else {
          r.problem(s, "'status' must be a status code or a list of them");
        }
      }
      if (h["timeout_ms"])
        if (auto v = r.integer(h["timeout_ms"], "timeout_ms", 1, 600000)) p.timeout_ms = *v;
    }
  } else if (const auto t = n["tcp"]) {
    p.kind = ProbeKind::kTcp;
    if (r.mapping(t, "a tcp probe", {"address", "timeout_ms"}, {"address"})) {
      if (auto v = r.string(t["address"], "address")) {
        p.address = *v;
        const auto colon = p.address.rfind(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == p.address.size())
          r.problem(t["address"], "'address' must be HOST:PORT, got '" + p.address + "'");
      }
      if (t["timeout_ms"])
        if (auto v = r.integer(t["timeout_ms"], "timeout_ms", 1, 600000)) p.timeout_ms = *v;
    }
  } else if (const auto e = n["exec"]) {
    p.kind = ProbeKind::kExec;
    if (r.mapping(e, "an exec probe", {"command", "timeout_ms"}, {"command"})) {
      const auto c = e["command"];
      if (!c.IsSequence() || c.size() == 0) {
        r.problem(c, "'command' must be a non-empty list: the program and its arguments");
      } else {
        for (const auto& a : c)
          if (auto v = r.string(a, "command")) p.command.push_back(*v);
      }
      if (e["timeout_ms"])
        if (auto v = r.integer(e["timeout_ms"], "timeout_ms", 1, 600000)) p.timeout_ms = *v;
    }
  } else if (const auto m = n["prometheus"]) {
    p.kind = ProbeKind::kPrometheus;
    read_prometheus(r, m, p);
  }
  if (n["every_ms"])
    if (auto v = r.integer(n["every_ms"], "every_ms", 10, 3600000)) p.every_ms = *v;
  // The judgement window is a probe setting (spec drill.md); healthy_when.window_ms, where
  // earlier plans put it, is still read.
  if (n["window_ms"])
    if (auto v = r.integer(n["window_ms"], "window_ms", 10, 3600000)) p.window_ms = *v;
  if (n["window_ms"] && n["healthy_when"] && n["healthy_when"].IsMap() &&
      n["healthy_when"]["window_ms"])
    r.problem(n["healthy_when"]["window_ms"],
              "probe '" + p.name + "': window_ms is given twice (keep the probe's own)");
  if (const auto hw = n["healthy_when"]) {
    if (r.mapping(hw, "healthy_when", {"success_ratio", "p99_ms", "window_ms", "below", "above"})) {
      const bool prometheus = p.kind == ProbeKind::kPrometheus;
      for (const char* key : {"below", "above"})
        if (hw[key] && !prometheus)
          r.problem(hw[key], "probe '" + p.name + "': '" + key +
                                 "' judges a prometheus probe's value; this probe has none");
      if (hw["p99_ms"] && prometheus)
        r.problem(hw["p99_ms"],
                  "probe '" + p.name +
                      "': p99_ms judges latency; a prometheus probe is judged by its value "
                      "(below or above)");
      if (prometheus && !hw["below"] && !hw["above"])
        r.problem(hw, "probe '" + p.name + "': healthy_when needs 'below' or 'above'");
      if (prometheus && (hw["below"] || hw["above"])) {
        if (hw["below"] && hw["above"])
          r.problem(hw, "healthy_when takes one of 'below' or 'above', not both");
        else {
          const bool below = bool(hw["below"]);
          const char* key = below ? "below" : "above";
          if (auto v = r.number(hw[key], key, -1e300, 1e300)) p.value = Threshold{below, *v};
        }
      }
      if (hw["success_ratio"])
        if (auto v = r.number(hw["success_ratio"], "success_ratio", 0, 1)) p.success_ratio = *v;
      if (hw["p99_ms"])
        if (auto v = r.number(hw["p99_ms"], "p99_ms", 0, 3600000)) p.p99_ms = *v;
      if (hw["window_ms"])
        if (auto v = r.integer(hw["window_ms"], "window_ms", 10, 3600000)) p.window_ms = *v;
    }
  }
  if (p.kind == ProbeKind::kPrometheus && n["prometheus"] && n["prometheus"].IsMap() &&
      !n["healthy_when"])
    r.problem(n, "probe '" + p.name +
                     "': a prometheus probe needs healthy_when: {below: X} or "
                     "{above: X}");
  if (const auto d = n["down_when"]) {
    if (p.kind != ProbeKind::kPrometheus)
      r.problem(d, "probe '" + p.name +
                       "': 'down_when' judges a prometheus probe's value; this "
                       "probe has none");
    else
      p.down_when = read_threshold(r, d, "down_when");
    // A value both healthy and down would be judged down: a plan that says so is a mistake.
    if (p.value && p.down_when) {
      const Threshold& h = *p.value;
      const Threshold& w = *p.down_when;
      const bool overlap = h.below == w.below || (h.below ? w.limit < h.limit : w.limit > h.limit);
      if (overlap)
        r.problem(d, "probe '" + p.name + "': down_when (" + w.str() + ") overlaps healthy_when (" +
                         h.str() + "): a value cannot be both healthy and down");
    }
  }
  if (p.window_ms < p.every_ms)
    r.problem(n, "probe '" + p.name + "': window_ms (" + std::to_string(p.window_ms) +
                     ") is shorter than every_ms (" + std::to_string(p.every_ms) +
                     "), so a window could hold no sample");
  out.push_back(std::move(p));
}

std::optional<Health> parse_health(const std::string& s) {
  if (s == "healthy") return Health::kHealthy;
  if (s == "degraded") return Health::kDegraded;
  if (s == "down") return Health::kDown;
  return std::nullopt;
}

/// The node of `path[i..]` under `at` (the key itself when `key`), or the deepest one that
/// exists. Recursive, never assigning a Node: yaml-cpp's Node::operator= rewrites the
/// document.
YAML::Node node_at(const YAML::Node& at, const std::vector<std::string>& path, std::size_t i,
                   bool key) {
  if (i == path.size() || !at.IsMap()) return at;
  for (const auto& kv : at)
    if (kv.first.Scalar() == path[i]) {
      if (key && i + 1 == path.size()) return kv.first;
      return node_at(kv.second, path, i + 1, key);
    }
  return at;
}

/// Checks a step's fault body against the agent's rules (common/fault_schema.h: the same
/// schema the agent validates with), each problem at its field. A target given by component
/// (resolved later through the topology) is checked as the process or proxy it will become.
void check_fault(Reader& r, const YAML::Node& f, const Step& s, const nlohmann::json& fault,
                 const AgentRef* agent) {
  nlohmann::json body = fault;
  if (body.contains("target") && body["target"].is_object() &&
      body["target"].contains("component")) {
    auto& t = body["target"];
    t.erase("component");
    if (!t.contains("pid") && !t.contains("process") && !t.contains("cmdline") &&
        !t.contains("pidfile"))
      t["process"] = "component";
  }
  if (body.contains("component")) {
    body.erase("component");
    if (!body.contains("proxy")) body["proxy"] = "component";
  }
  common::FaultLimits limits;
  if (agent) limits.max_duration_ms = agent->max_duration_ms;
  for (const auto& p : common::check_fault_body(body, limits)) {
    const bool unknown = p.message.rfind("unknown field", 0) == 0;
    r.problem(node_at(f, p.path, 0, unknown), "step '" + s.name + "': " + p.message);
  }
}

/// A fault that loses a domain (`target: {domain: ID}`): an `isolate` network fault on the
/// agents of its hosts once resolved, so its body is checked as one (`kind` and `action` may
/// be left out; they can only be `network` and `isolate`), and its agents come from the
/// topology, not from the plan.
void check_domain_fault(Reader& r, const YAML::Node& f, const Step& s, const nlohmann::json& fault,
                        const AgentRef* agent) {
  const std::string at = "step '" + s.name + "': ";
  const YAML::Node t = f["target"];
  for (const auto& kv : t)
    if (kv.first.Scalar() != "domain")
      r.problem(kv.first,
                at + "a domain target takes 'domain' alone, not '" + kv.first.Scalar() + "'");
  if (!t["domain"].IsScalar() || t["domain"].Scalar().empty())
    r.problem(t["domain"], at + "'domain' must be the id of a failure domain of the topology");
  if (f["agent"])
    r.problem(f["agent"], at + "a domain is lost on the agents of its hosts, which the topology's "
                               "target blocks name: remove 'agent'");
  nlohmann::json body = fault;
  body.erase("target");
  for (auto [key, only] : {std::pair{"kind", "network"}, std::pair{"action", "isolate"}}) {
    if (body.contains(key) && body[key] != only)
      r.problem(f[key], at + "losing a domain is an isolate network fault: '" + key +
                            "' can only be '" + only + "' (or be left out)");
    body[key] = only;
  }
  common::FaultLimits limits;
  if (agent) limits.max_duration_ms = agent->max_duration_ms;
  for (const auto& p : common::check_fault_body(body, limits)) {
    const bool unknown = p.message.rfind("unknown field", 0) == 0;
    r.problem(node_at(f, p.path, 0, unknown), at + p.message);
  }
}

/// One fault of a step (`fault:`, or an item of `faults:`), checked and added to the step.
/// An item of `faults:` is `listed`: messages about it once targets are resolved point at
/// it; those about a step's one `fault:` point at the step, as they always have.
void read_fault(Reader& r, const YAML::Node& f, Step& s, const Plan& plan, bool listed) {
  if (!f.IsMap()) {
    r.problem(f, std::string(listed ? "each of 'faults'" : "'fault'") +
                     " must be a mapping: a fault body of the agent API plus 'agent'");
    return;
  }
  StepFault sf;
  sf.line = listed ? f.Mark().line + 1 : s.line;
  sf.column = listed ? f.Mark().column + 1 : s.column;
  const bool by_domain = f["target"] && f["target"].IsMap() && f["target"]["domain"];
  const bool by_component =
      (f["target"] && f["target"].IsMap() && f["target"]["component"]) || f["component"];
  if (!f["agent"] && !by_component && !by_domain)
    r.problem(f, "step '" + s.name + "': the fault needs 'agent'");
  sf.fault = to_json_value(f);
  // Where a component or a domain is named, for "does not exist" once the topology is read.
  const YAML::Node c = !(f["target"] && f["target"].IsMap()) ? f["component"]
                       : by_domain                           ? f["target"]["domain"]
                                                             : f["target"]["component"];
  sf.component_line = c && c.Mark().line >= 0 ? c.Mark().line + 1 : sf.line;
  sf.component_column = c && c.Mark().line >= 0 ? c.Mark().column + 1 : sf.column;
  const AgentRef* agent = nullptr;
  if (f["agent"]) {
    if (auto v = r.string(f["agent"], "agent")) {
      sf.agent = *v;
      if (!plan.agents.count(sf.agent))
        r.problem(
            f["agent"], "unknown agent '" + sf.agent + "' (the plan's agents: " + [&] {
              std::string names;
              for (const auto& [k, _] : plan.agents)
                names += (names.empty() ? "" : ", ") + k;
              return names.empty() ? std::string("none") : names;
            }() + ")");
      else
        agent = &plan.agents.at(sf.agent);
    }
    sf.fault.erase("agent");
  }
  if (by_domain) {
    check_domain_fault(r, f, s, sf.fault, agent);
    sf.agent.clear();
  } else {
    check_fault(r, f, s, sf.fault, agent);
  }
  s.faults.push_back(std::move(sf));
}

void read_step(Reader& r, const YAML::Node& n, Plan& plan) {
  if (!r.mapping(n, "a step",
                 {"name", "at_ms", "fault", "faults", "expect", "observe_ms", "prediction"},
                 {"name", "at_ms"}))
    return;
  Step s;
  s.line = n.Mark().line + 1;
  s.column = n.Mark().column + 1;
  if (auto v = r.string(n["name"], "name")) s.name = *v;
  for (const auto& q : plan.steps)
    if (q.name == s.name) r.problem(n["name"], "step '" + s.name + "' is defined twice");
  if (auto v = r.integer(n["at_ms"], "at_ms", 0, 7 * 24 * 3600 * 1000LL)) s.at_ms = *v;
  if (!plan.steps.empty() && s.at_ms < plan.steps.back().at_ms)
    r.problem(n["at_ms"], "steps must be in order of at_ms: '" + s.name + "' at " +
                              std::to_string(s.at_ms) + " comes after '" + plan.steps.back().name +
                              "' at " + std::to_string(plan.steps.back().at_ms));
  if (n["observe_ms"])
    if (auto v = r.integer(n["observe_ms"], "observe_ms", 1, 24 * 3600 * 1000LL)) s.observe_ms = *v;
  if (n["fault"] && n["faults"]) {
    r.problem(n["faults"], "step '" + s.name +
                               "': give 'fault' (one) or 'faults' (a list of several), not both");
  } else if (!n["fault"] && !n["faults"]) {
    r.problem(n, "a step needs 'fault' (or 'faults', a list of faults injected together)");
  } else if (n["fault"]) {
    read_fault(r, n["fault"], s, plan, false);
  } else if (const auto fs = n["faults"]; !fs.IsSequence() || fs.size() == 0) {
    r.problem(fs, "step '" + s.name +
                      "': 'faults' must be a list of at least one fault, each a fault body of "
                      "the agent API plus 'agent'");
  } else {
    for (const auto& f : fs)
      read_fault(r, f, s, plan, true);
  }
  if (const auto e = n["expect"]) {
    if (!e.IsMap()) {
      r.problem(e, "'expect' must be a mapping: probe name -> healthy, degraded, up or down");
    } else {
      for (const auto& kv : e) {
        const std::string key = kv.first.Scalar();
        if (key == "recover_within_ms") {
          if (auto v = r.integer(kv.second, key, 0, 24 * 3600 * 1000LL)) s.recover_within_ms = *v;
          continue;
        }
        const bool known = std::any_of(plan.probes.begin(), plan.probes.end(),
                                       [&](const ProbeSpec& p) { return p.name == key; });
        if (!known) {
          r.problem(kv.first, "'expect' names '" + key + "', which is not a probe");
          continue;
        }
        const bool up = kv.second.IsScalar() && kv.second.Scalar() == "up";
        auto h = up                     ? std::optional(Health::kDegraded)
                 : kv.second.IsScalar() ? parse_health(kv.second.Scalar())
                                        : std::nullopt;
        if (!h) {
          r.problem(kv.second,
                    "expectation for '" + key + "' must be healthy, degraded, up or down");
          continue;
        }
        s.expect.push_back({key, *h, up});
      }
    }
  }
  // A latency fault without an expectation is measured but never judged: say so.
  if (s.expect.empty() && std::any_of(s.faults.begin(), s.faults.end(), [](const StepFault& f) {
        return kind_of(f.fault) == "latency";
      }))
    plan.warnings.push_back({plan.file, s.line, s.column,
                             "step '" + s.name +
                                 "': a latency fault without 'expect' is measured but not "
                                 "judged: expect the entrypoints 'up' (or 'healthy')"});
  if (n["prediction"]) s.prediction = to_json_value(n["prediction"]);
  plan.steps.push_back(std::move(s));
}

std::string read_token(Reader& r, const YAML::Node& at, const std::string& path,
                       const std::string& what) {
  // A token is one line; a file of more than 64 KiB is not a token file (or is a device).
  std::string text;
  try {
    text = common::read_input_file(path, 65536);
  } catch (const common::InputFileError& e) {
    r.problem(at, "the " + what + " '" + path + "': " + e.reason());
    return "";
  }
  std::string token = text.substr(0, text.find('\n'));
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ' || token.back() == '\t'))
    token.pop_back();
  if (token.empty()) r.problem(at, "the " + what + " '" + path + "' is empty");
  return token;
}

/// `notify: [{webhook: URL}, {grafana: {url, token_file}}]` (docs/drill.md "Notifications").
void read_notify(Reader& r, const YAML::Node& n, Plan& plan) {
  const std::string shape = "{webhook: URL} or {grafana: {url, token_file}}";
  if (!n.IsSequence()) {
    r.problem(n, "'notify' must be a list of " + shape);
    return;
  }
  for (const auto& item : n) {
    if (!item.IsMap() || item.size() != 1) {
      r.problem(item, "each 'notify' entry must be " + shape);
      continue;
    }
    const auto kv = *item.begin();
    const std::string key = kv.first.Scalar();
    NotifyTarget t;
    YAML::Node url_node;
    if (key == "webhook") {
      url_node = kv.second;
    } else if (key == "grafana") {
      t.kind = NotifyTarget::Kind::kGrafana;
      if (!r.mapping(kv.second, "a grafana notify target", {"url", "token_file"},
                     {"url", "token_file"}))
        continue;
      url_node = kv.second["url"];
      if (auto f = r.string(kv.second["token_file"], "token_file")) {
        t.token_file = r.path(*f);
        t.token = read_token(r, kv.second["token_file"], t.token_file);
      }
    } else {
      r.problem(kv.first, "unknown notify target '" + key + "': " + shape);
      continue;
    }
    const std::string what = key == "webhook" ? "webhook" : "url";
    if (auto u = r.string(url_node, what)) {
      t.url = *u;
      if (has_userinfo(t.url)) {
        r.problem(url_node, "'" + what + "' must not hold credentials (" + without_userinfo(t.url) +
                                "): they would be written to the journal and the report" +
                                (key == "grafana" ? "; use token_file" : ""));
        t.url = without_userinfo(t.url);
      } else if (!valid_url(t.url, true)) {
        r.problem(
            url_node,
            "'" + what + "' must be http://HOST[:PORT][/PATH] or https://..., got '" + t.url + "'");
      }
    }
    plan.notify.push_back(std::move(t));
  }
}

void read_plan(Reader& r, const YAML::Node& root, Plan& plan) {
  if (!r.mapping(root, "the plan",
                 {"version", "title", "topology", "agents", "window", "probes", "steady_state",
                  "steps", "abort_when", "rollback", "lease_ms", "notify"},
                 {"version", "title", "agents", "probes", "steps"}))
    return;
  if (root["version"])
    if (auto v = r.string(root["version"], "version"); v && *v != "1")
      r.problem(root["version"], "unsupported version '" + *v + "': this achilles reads version 1");
  if (root["title"])
    if (auto v = r.string(root["title"], "title")) plan.title = *v;
  if (root["topology"])
    if (auto v = r.string(root["topology"], "topology")) plan.topology = r.path(*v);
  if (const auto a = root["agents"]) {
    if (!a.IsMap() || a.size() == 0) {
      r.problem(a, "'agents' must be a mapping of at least one name to {url, token_file}");
    } else {
      for (const auto& kv : a) {
        AgentRef ref;
        ref.name = kv.first.Scalar();
        const auto& v = kv.second;
        if (!r.mapping(v, "agent '" + ref.name + "'",
                       {"url", "token_file", "ca_file", "cert_file", "key_file", "max_duration_ms"},
                       {"url"}))
          continue;
        if (auto u = r.string(v["url"], "url")) {
          ref.url = *u;
          if (refuse_userinfo(r, v["url"], ref.url, "token_file", "agent '" + ref.name + "': "))
            ref.url = without_userinfo(ref.url);
          else if (!valid_url(ref.url, true))
            r.problem(v["url"],
                      "agent '" + ref.name +
                          "': 'url' must be http://HOST:PORT or https://HOST:PORT, got '" +
                          ref.url + "'");
        }
        if (v["max_duration_ms"])
          if (auto m =
                  r.integer(v["max_duration_ms"], "max_duration_ms", 1, 7 * 24 * 3600 * 1000LL))
            ref.max_duration_ms = *m;
        if (v["token_file"])
          if (auto t = r.string(v["token_file"], "token_file")) {
            ref.token_file = r.path(*t);
            ref.token = read_token(r, v["token_file"], ref.token_file);
          }
        for (auto [key, field] : {std::pair{"ca_file", &AgentRef::ca_file},
                                  std::pair{"cert_file", &AgentRef::cert_file},
                                  std::pair{"key_file", &AgentRef::key_file}})
          if (v[key])
            if (auto t = r.string(v[key], key)) ref.*field = r.path(*t);
        if (ref.url.rfind("https://", 0) != 0 &&
            (!ref.ca_file.empty() || !ref.cert_file.empty() || !ref.key_file.empty()))
          r.problem(v, "agent '" + ref.name + "': ca_file, cert_file and key_file need https://");
        if (ref.cert_file.empty() != ref.key_file.empty())
          r.problem(v, "agent '" + ref.name + "': cert_file and key_file go together");
        plan.agents[ref.name] = std::move(ref);
      }
    }
  }
  if (const auto w = root["window"]) {
    if (r.mapping(w, "'window'", {"days", "from", "to", "tz"})) {
      DrillWindow pw;
      pw.to_minute = 24 * 60;  // only `from` given: until midnight
      if (const auto d = w["days"]) {
        // Iterating a map gives pairs, not nodes: only a list is walked.
        if (!d.IsSequence()) r.problem(d, "'days' must be a list such as [mon, tue]");
        if (d.IsSequence())
          for (const auto& day : d) {
            const std::string s = day.IsScalar() ? day.Scalar() : "";
            const auto* it = std::find(std::begin(kDayNames), std::end(kDayNames), s);
            if (it == std::end(kDayNames))
              r.problem(day, "unknown day '" + s + "' (mon, tue, wed, thu, fri, sat, sun)");
            else
              pw.days.push_back(int(it - std::begin(kDayNames)));
          }
      }
      for (auto [key, field] :
           {std::pair{"from", &DrillWindow::from_minute}, std::pair{"to", &DrillWindow::to_minute}})
        if (w[key])
          if (auto s = r.string(w[key], key)) {
            if (auto m = parse_hhmm(*s))
              pw.*field = *m;
            else
              r.problem(w[key], std::string("'") + key + "' must be HH:MM, got '" + *s + "'");
          }
      if (w["tz"])
        if (auto s = r.string(w["tz"], "tz")) {
          pw.tz = *s == "UTC" ? "" : *s;
          // glibc reads an unknown zone as UTC without a word: a typo would move the window.
          if (!known_time_zone(pw.tz))
            r.problem(w["tz"],
                      "unknown time zone '" + *s + "' (an IANA name such as Europe/Berlin)");
        }
      plan.window = pw;
    }
  }
  if (const auto p = root["probes"]) {
    if (!p.IsSequence() || p.size() == 0)
      r.problem(p, "'probes' must be a list of at least one probe");
    else
      for (const auto& n : p)
        read_probe(r, n, plan.probes);
  }
  bool timeout_given = false;
  if (const auto s = root["steady_state"]) {
    if (r.mapping(s, "'steady_state'", {"hold_ms", "timeout_ms"})) {
      if (s["hold_ms"])
        if (auto v = r.integer(s["hold_ms"], "hold_ms", 0, 3600000)) plan.hold_ms = *v;
      if (s["timeout_ms"]) {
        timeout_given = true;
        if (auto v = r.integer(s["timeout_ms"], "timeout_ms", 0, 24 * 3600000LL))
          plan.steady_timeout_ms = *v;
        if (plan.steady_timeout_ms < plan.hold_ms)
          r.problem(s["timeout_ms"], "steady_state.timeout_ms is shorter than hold_ms");
      }
    }
  }
  if (!timeout_given) plan.steady_timeout_ms = plan.hold_ms + 30000;
  if (root["lease_ms"])
    if (auto v = r.integer(root["lease_ms"], "lease_ms", 1000, 3600000)) plan.lease_ms = *v;
  if (const auto rb = root["rollback"])
    if (auto v = r.string(rb, "rollback"); v && *v != "always")
      r.problem(rb, "'rollback' must be 'always' (a drill always reverts what it injected)");
  if (const auto s = root["steps"]) {
    if (!s.IsSequence() || s.size() == 0)
      r.problem(s, "'steps' must be a list of at least one step");
    else
      for (const auto& n : s)
        read_step(r, n, plan);
    if (!plan.steps.empty() && std::all_of(plan.steps.begin(), plan.steps.end(),
                                           [](const Step& st) { return st.expect.empty(); }))
      plan.warnings.push_back({plan.file, s.Mark().line + 1, s.Mark().column + 1,
                               "no step has an expectation ('expect'): the drill injects "
                               "faults and judges nothing, so it can only fail by aborting"});
  }
  if (const auto n = root["notify"]) read_notify(r, n, plan);
  if (const auto a = root["abort_when"]) {
    if (r.mapping(a, "'abort_when'", {"probe", "unhealthy_for_ms"},
                  {"probe", "unhealthy_for_ms"})) {
      AbortWhen aw;
      if (auto v = r.string(a["probe"], "probe")) {
        aw.probe = *v;
        if (std::none_of(plan.probes.begin(), plan.probes.end(),
                         [&](const ProbeSpec& p) { return p.name == aw.probe; }))
          r.problem(a["probe"], "'abort_when' names '" + aw.probe + "', which is not a probe");
      }
      if (auto v = r.integer(a["unhealthy_for_ms"], "unhealthy_for_ms", 1, 24 * 3600000LL))
        aw.unhealthy_for_ms = *v;
      plan.abort_when = aw;
    }
  }
}

}  // namespace

Plan parse_plan(const std::string& text, const std::string& file, const std::string& dir) {
  Reader r(file, dir);
  Plan plan;
  plan.file = file;
  plan.dir = dir;
  YAML::Node root;
  // The guard first: aliases that refer to themselves or expand without bound, depth,
  // UTF-8, a second document; to_json_value() below recurses.
  {
    std::vector<common::Diagnostic> found;
    if (!common::check_yaml(text, file, common::YamlDocuments::kOne, found)) {
      std::vector<PlanProblem> problems;
      for (const auto& d : found)
        problems.push_back(
            {file, static_cast<int>(d.pos.line), static_cast<int>(d.pos.column), d.message});
      throw PlanError(std::move(problems));
    }
  }
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw PlanError({{file, e.mark.line + 1, e.mark.column + 1, e.msg}});
  }
  if (root.IsNull()) throw PlanError({{file, 0, 0, "the plan is empty"}});
  read_plan(r, root, plan);
  auto& problems = r.problems();
  if (!problems.empty()) {
    std::stable_sort(problems.begin(), problems.end(), [](const auto& a, const auto& b) {
      return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
    throw PlanError(std::move(problems));
  }
  return plan;
}

Plan load_plan(const std::string& path) {
  std::string text;
  try {
    text = common::read_input_file(path);
  } catch (const common::InputFileError& e) {
    throw PlanError({{path, 0, 0, e.reason()}});
  }
  const auto slash = path.rfind('/');
  return parse_plan(text, path, slash == std::string::npos ? "" : path.substr(0, slash));
}

std::optional<std::string> resolve_agent(const AgentUrls& agents, const std::string& name) {
  if (agents.count(name)) return name;
  for (const auto& [k, url] : agents) {
    const auto scheme = url.find("://");
    std::string hp = scheme == std::string::npos ? url : url.substr(scheme + 3);
    hp = hp.substr(0, hp.find('/'));
    if (hp == name) return k;
  }
  return std::nullopt;
}

std::vector<std::string> others_on_agent(const AgentUrls& agents,
                                         const std::map<std::string, std::string>& agent_of,
                                         const std::string& agent,
                                         const std::vector<std::string>& members) {
  const std::string on = resolve_agent(agents, agent).value_or(agent);
  std::vector<std::string> out;
  for (const auto& [c, a] : agent_of)
    if (resolve_agent(agents, a).value_or(a) == on &&
        std::find(members.begin(), members.end(), c) == members.end())
      out.push_back(c);
  return out;
}

std::string shared_kill_problem(const std::string& domain, const std::string& component,
                                const TargetBlock& block, const std::string& agent,
                                const std::vector<std::pair<std::string, TargetBlock>>& others) {
  auto value = [](const TargetBlock& b, const char* key) {
    const auto it = b.find(key);
    return it == b.end() ? std::string() : it->second;
  };
  if (!value(block, "pid").empty() || !value(block, "pidfile").empty()) return "";
  // The agent kills every process whose name is `process` and whose command line matches
  // `cmdline`: a block with the same two as another's kills that one's processes too.
  std::vector<std::string> shared;
  for (const auto& [other, b] : others)
    if (value(b, "process") == value(block, "process") &&
        value(b, "cmdline") == value(block, "cmdline"))
      shared.push_back(other);
  if (shared.empty()) return "";
  std::string selector;
  for (const char* key : {"process", "cmdline"})
    if (!value(block, key).empty())
      selector +=
          std::string(selector.empty() ? "" : " and ") + key + " '" + value(block, key) + "'";
  return "losing domain '" + domain + "' kills '" + component + "' (agent '" + agent +
         "' also serves components outside the domain) through its target block (" + selector +
         "), which would also kill " + common::join(shared, ", ") +
         ", outside the domain on the same agent: give their target blocks a pid or pidfile, "
         "or a distinct process name or cmdline";
}

void resolve_targets(Plan& plan, const TargetLookup& lookup,
                     const std::vector<std::string>& components, const DomainIndex* domains) {
  std::vector<PlanProblem> problems;
  auto fail = [&](const Step& s, const StepFault& f, const std::string& m) {
    problems.push_back({plan.file, f.line, f.column, "step '" + s.name + "': " + m});
  };
  // An agent named in a target block: a plan agent's name, or the HOST:PORT of its URL.
  AgentUrls urls;
  for (const auto& [k, ref] : plan.agents)
    urls[k] = ref.url;
  auto agent_for = [&](const std::string& name) { return resolve_agent(urls, name); };
  auto domain_of = [](const StepFault& f) -> std::optional<std::string> {
    if (!f.fault.contains("target") || !f.fault["target"].is_object() ||
        !f.fault["target"].contains("domain"))
      return std::nullopt;
    const auto& d = f.fault["target"]["domain"];
    return d.is_string() ? d.get<std::string>() : std::string();
  };
  // 1. Each lost domain becomes the faults that lose it: an isolate on every agent that
  // hosts only the domain's components, a kill of each component of the domain whose agent
  // also hosts others (isolating that host would take those down too).
  for (Step& s : plan.steps) {
    std::vector<StepFault> resolved;
    for (StepFault& f : s.faults) {
      const auto domain = domain_of(f);
      if (!domain) {
        resolved.push_back(std::move(f));
        continue;
      }
      if (domain->empty()) {
        fail(s, f, "'domain' must be a domain id");
        continue;
      }
      if (!domains) {
        fail(s, f, "the fault loses domain '" + *domain + "' but the plan has no 'topology'");
        continue;
      }
      if (std::find(domains->domains.begin(), domains->domains.end(), *domain) ==
          domains->domains.end()) {
        const std::string near = common::closest(*domain, domains->domains);
        problems.push_back({plan.file, f.component_line, f.component_column,
                            "step '" + s.name + "': domain '" + *domain +
                                "' does not exist in the topology" +
                                (near.empty() ? "" : " (did you mean '" + near + "'?)")});
        continue;
      }
      const auto in_it = domains->components.find(*domain);
      const std::vector<std::string> none;
      const auto& members = in_it == domains->components.end() ? none : in_it->second;
      // The hosts: each agent (as the plan names it) and the domain's components on it.
      std::vector<std::pair<std::string, std::vector<std::string>>> hosts;
      bool bad_agent = false;
      for (const auto& c : members) {
        auto a = domains->agent_of.find(c);
        if (a == domains->agent_of.end() || a->second.empty()) continue;
        auto name = agent_for(a->second);
        if (!name) {
          fail(s, f,
               "losing domain '" + *domain + "': the target block of '" + c + "' names agent '" +
                   a->second + "', which is neither an agent of the plan nor the HOST:PORT of one");
          bad_agent = true;
          continue;
        }
        auto h = std::find_if(hosts.begin(), hosts.end(),
                              [&](const auto& x) { return x.first == *name; });
        if (h == hosts.end())
          hosts.push_back({*name, {c}});
        else
          h->second.push_back(c);
      }
      if (bad_agent) continue;
      if (hosts.empty()) {
        fail(s, f,
             "domain '" + *domain + "' has no reachable agent: " +
                 (members.empty() ? std::string("no component is in it")
                                  : "none of its components (" + common::join(members, ", ") +
                                        ") has a target block that names an agent") +
                 ", so nothing can lose it");
        continue;
      }
      nlohmann::json isolate = f.fault;
      isolate.erase("target");
      isolate["kind"] = "network";
      isolate["action"] = "isolate";
      for (const auto& [agent, on_it] : hosts) {
        // Alone: every component this agent hosts is in the domain.
        const auto others = others_on_agent(urls, domains->agent_of, agent, members);
        if (others.empty()) {
          StepFault x = f;
          x.agent = agent;
          x.fault = isolate;
          x.domain = *domain;
          resolved.push_back(std::move(x));
          continue;
        }
        // Each kill must spare the components outside the domain on this agent.
        std::vector<std::pair<std::string, TargetBlock>> blocks;
        for (const auto& o : others)
          if (auto b = lookup ? lookup(o) : std::nullopt) blocks.push_back({o, *b});
        bool unsafe = false;
        for (const auto& c : on_it) {
          const auto block = lookup ? lookup(c) : std::nullopt;
          if (!block) continue;  // reported by step 2 below
          const std::string problem = shared_kill_problem(*domain, c, *block, agent, blocks);
          if (!problem.empty()) {
            fail(s, f, problem);
            unsafe = true;
          }
        }
        if (unsafe) continue;
        for (const auto& c : on_it) {
          StepFault x = f;
          x.agent.clear();  // from the component's block, below
          x.fault = {{"kind", "kill"}, {"target", {{"component", c}}}};
          x.domain = *domain;
          x.component = c;
          resolved.push_back(std::move(x));
        }
      }
    }
    s.faults = std::move(resolved);
  }
  // 2. Components, through their target blocks.
  for (Step& s : plan.steps)
    for (StepFault& f : s.faults) {
      std::string component;
      bool latency_component = false;
      if (f.fault.contains("target") && f.fault["target"].is_object() &&
          f.fault["target"].contains("component")) {
        component = f.fault["target"]["component"].is_string()
                        ? f.fault["target"]["component"].get<std::string>()
                        : "";
      } else if (f.fault.contains("component")) {
        component = f.fault["component"].is_string() ? f.fault["component"].get<std::string>() : "";
        latency_component = true;
      } else {
        continue;
      }
      // A kill that loses a domain: say so in each message about it.
      const std::string via = f.component.empty()
                                  ? ""
                                  : " (to lose domain '" + f.domain +
                                        "', which its agent "
                                        "also serves outside, its process is killed)";
      if (component.empty()) {
        fail(s, f, "'component' must be a component id");
        continue;
      }
      if (!lookup) {
        fail(s, f, "the fault names component '" + component + "' but the plan has no 'topology'");
        continue;
      }
      if (!components.empty() &&
          std::find(components.begin(), components.end(), component) == components.end()) {
        const std::string near = common::closest(component, components);
        problems.push_back({plan.file, f.component_line, f.component_column,
                            "step '" + s.name + "': component '" + component +
                                "' does not exist in the topology" +
                                (near.empty() ? "" : " (did you mean '" + near + "'?)")});
        continue;
      }
      auto block = lookup(component);
      if (!block) {
        fail(s, f, "component '" + component + "' has no target block in the topology");
        continue;
      }
      if (f.agent.empty()) {
        auto it = block->find("agent");
        if (it == block->end()) {
          fail(s, f, "the target block of '" + component + "' names no agent, and the step none");
          continue;
        }
        auto a = agent_for(it->second);
        if (!a) {
          fail(s, f,
               "the target block of '" + component + "' names agent '" + it->second +
                   "', which is neither an agent of the plan nor the HOST:PORT of one");
          continue;
        }
        f.agent = *a;
      }
      if (latency_component) {
        auto it = block->find("proxy");
        if (it == block->end()) {
          fail(s, f, "the target block of '" + component + "' declares no proxy for latency");
          continue;
        }
        f.fault.erase("component");
        f.fault["proxy"] = it->second;
        continue;
      }
      nlohmann::json target = nlohmann::json::object();
      bool bad_pid = false;
      for (const char* key : {"pid", "process", "cmdline", "pidfile"}) {
        auto it = block->find(key);
        if (it == block->end()) continue;
        if (std::string(key) == "pid") {
          char* end = nullptr;
          const long long pid = std::strtoll(it->second.c_str(), &end, 10);
          if (it->second.empty() || *end != '\0' || pid <= 0) {
            fail(s, f, "the target block of '" + component + "' has a pid that is not a number");
            bad_pid = true;
            break;
          }
          target[key] = pid;
        } else
          target[key] = it->second;
      }
      if (bad_pid) continue;
      if (target.empty()) {
        fail(s, f,
             "the target block of '" + component +
                 "' names no process, pid, cmdline or pidfile to act on" + via);
        continue;
      }
      if (f.fault["target"].contains("count")) target["count"] = f.fault["target"]["count"];
      f.fault["target"] = target;
    }
  if (!problems.empty()) {
    std::stable_sort(problems.begin(), problems.end(), [](const auto& a, const auto& b) {
      return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
    throw PlanError(std::move(problems));
  }
}

}  // namespace achilles::drill
