// Probes: one sample of an HTTP, TCP, exec or prometheus probe, taken on the runner's Asio
// loop, and the state the runner keeps per probe. Private to the drill library.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "achilles/drill/plan.h"
#include "http_client.h"

namespace achilles::drill {

/// What one sample found: success, for a failure why, and a prometheus probe's value (also
/// on a sample that failed because the value met `down_when`).
struct ProbeResult {
  bool ok = false;
  std::string error;
  std::optional<double> value;
};

struct RawSample {
  Clock::time_point start;
  bool ok = false;
  double ms = 0;
  std::optional<double> value;
  std::string error;
};

struct ProbeState {
  const ProbeSpec* spec = nullptr;
  Url url;                                  // http
  std::shared_ptr<asio::ssl::context> tls;  // https
  std::vector<RawSample> samples;           // in order of start
  int in_flight = 0;
  /// When each sample in flight was sent: a probe whose samples time out has no new result
  /// for as long as the timeout, and the live status must not say it is healthy meanwhile.
  std::vector<Clock::time_point> pending;
  Health current = Health::kHealthy;
  bool any = false;
  /// Since when the current health holds (the start of the sample where it began).
  Clock::time_point since{};
  std::string last_error;
};

/// The state of a probe before its first sample: its URL and TLS context (http, prometheus).
/// Throws RunError when a CA file cannot be loaded.
ProbeState make_probe_state(const ProbeSpec& spec);

/// Takes one sample of `p`: success, and for a failure what went wrong.
asio::awaitable<ProbeResult> sample_once(ProbeState& p);

// ---- prometheus (spec drill.md; docs/drill.md "Prometheus probes")

/// `application/x-www-form-urlencoded`'s percent-encoding of a query parameter: every byte
/// but A-Z a-z 0-9 - _ . ~ as %XX.
std::string url_encode(const std::string& s);

/// The request target of an instant query: the base URL's path, then
/// `/api/v1/query?query=QUERY` (encoded).
std::string prometheus_target(const std::string& base_path, const std::string& query);

/// The Authorization header's value for the probe's credentials ("" without any).
std::string prometheus_authorization(const ProbeSpec& spec);

/// Judges Prometheus's answer to one instant query: its value, or why there is none (an
/// error status, an HTTP error, not JSON, no sample, several series, a matrix, NaN), and
/// `down_when`. `r.error` is a failure of the request itself (refused, timed out).
ProbeResult interpret_prometheus(const ProbeSpec& spec, const HttpResult& r);

}  // namespace achilles::drill
