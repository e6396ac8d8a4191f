// The agent's counters and their Prometheus text exposition (format 0.0.4), written by hand:
// seven metrics with fixed label sets need no client library. A client library such as
// prometheus-cpp is not in the setup's packages, and its exposer would be a second HTTP
// server beside the agent's, needing the token check again; the format itself is a few lines.
#include "achilles/injector/metrics.h"

#include <algorithm>
#include <cstdio>

namespace achilles::injector {

namespace {

template <std::size_t N>
std::size_t index_of(const std::array<std::string_view, N>& set, std::string_view value) {
  return static_cast<std::size_t>(std::find(set.begin(), set.end(), value) - set.begin());
}

void head(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const char* name, const std::string& labels, std::uint64_t value) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += ' ';
  out += std::to_string(value);
  out += '\n';
}

std::string label(std::string_view name, std::string_view value) {
  return std::string(name) + "=\"" + escape_label_value(value) + "\"";
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string_view metric_revert_reason(std::string_view engine_reason) {
  if (engine_reason == "lease expired") return "lease";
  if (engine_reason == "agent shutdown") return "shutdown";
  const auto i = index_of(Metrics::kReasons, engine_reason);
  return i < Metrics::kReasons.size() ? Metrics::kReasons[i] : std::string_view();
}

void Metrics::fault(std::string_view kind, Outcome outcome) {
  std::size_t k = index_of(kFaultKinds, kind);
  if (k >= kFaultKinds.size()) k = index_of(kFaultKinds, "unknown");
  faults_[k][static_cast<std::size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::revert(std::string_view reason, std::uint64_t n) {
  const std::size_t r = index_of(kReasons, reason);
  if (r < kReasons.size()) reverts_[r].fetch_add(n, std::memory_order_relaxed);
}

void Metrics::request(int status) {
  if (status >= 100 && status <= 599)
    requests_[static_cast<std::size_t>(status - 100)].fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t Metrics::faults(std::string_view kind, Outcome outcome) const {
  const std::size_t k = index_of(kFaultKinds, kind);
  if (k >= kFaultKinds.size()) return 0;
  return faults_[k][static_cast<std::size_t>(outcome)].load(std::memory_order_relaxed);
}

std::uint64_t Metrics::reverts(std::string_view reason) const {
  const std::size_t r = index_of(kReasons, reason);
  return r < kReasons.size() ? reverts_[r].load(std::memory_order_relaxed) : 0;
}

std::uint64_t Metrics::requests(int status) const {
  if (status < 100 || status > 599) return 0;
  return requests_[static_cast<std::size_t>(status - 100)].load(std::memory_order_relaxed);
}

std::string Metrics::render(const MetricGauges& g) const {
  std::string out;
  head(out, "achilles_agent_faults_active", "gauge",
       "Faults in place now, by kind (toxics and disabled proxies of Toxiproxy's API "
       "included).");
  for (auto kind : kActiveKinds) {
    const auto it = g.active.find(std::string(kind));
    const std::int64_t n = it == g.active.end() ? 0 : std::max<std::int64_t>(0, it->second);
    sample(out, "achilles_agent_faults_active", label("kind", kind), static_cast<std::uint64_t>(n));
  }
  head(out, "achilles_agent_faults_total", "counter",
       "Faults asked for through POST /v1/faults, by kind and outcome (injected, refused, "
       "failed).");
  for (std::size_t k = 0; k < kFaultKinds.size(); ++k)
    for (std::size_t o = 0; o < kOutcomes.size(); ++o)
      sample(out, "achilles_agent_faults_total",
             label("kind", kFaultKinds[k]) + "," + label("outcome", kOutcomes[o]),
             faults_[k][o].load(std::memory_order_relaxed));
  head(out, "achilles_agent_reverts_total", "counter",
       "Faults reverted, by reason (expired, deleted, halt, lease, shutdown, recovery).");
  for (std::size_t r = 0; r < kReasons.size(); ++r)
    sample(out, "achilles_agent_reverts_total", label("reason", kReasons[r]),
           reverts_[r].load(std::memory_order_relaxed));
  head(out, "achilles_agent_halted", "gauge",
       "1 while the agent refuses new faults (after POST /v1/halt or a lapsed lease), else 0.");
  sample(out, "achilles_agent_halted", "", g.halted ? 1 : 0);
  head(out, "achilles_agent_lease_seconds_remaining", "gauge",
       "Seconds until the lease lapses and every fault is reverted; 0 without a lease.");
  char lease[64];
  std::snprintf(lease, sizeof lease, "%.3f", std::max(0.0, g.lease_seconds_remaining));
  out += "achilles_agent_lease_seconds_remaining ";
  out += lease;
  out += '\n';
  head(out, "achilles_agent_proxy_bytes_total", "counter",
       "Bytes each proxy has delivered, by direction (upstream: client to server, "
       "downstream: server to client).");
  for (const auto& p : g.proxies) {
    sample(out, "achilles_agent_proxy_bytes_total",
           label("proxy", p.name) + "," + label("direction", "upstream"), p.upstream);
    sample(out, "achilles_agent_proxy_bytes_total",
           label("proxy", p.name) + "," + label("direction", "downstream"), p.downstream);
  }
  head(out, "achilles_agent_requests_total", "counter",
       "HTTP requests answered, by status code (refusals before the API included).");
  for (std::size_t s = 0; s < requests_.size(); ++s)
    if (const auto n = requests_[s].load(std::memory_order_relaxed); n > 0)
      sample(out, "achilles_agent_requests_total", label("code", std::to_string(s + 100)), n);
  return out;
}

}  // namespace achilles::injector
