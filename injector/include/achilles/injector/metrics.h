// The agent's Prometheus metrics: counters that the engine, the API and the proxies bump where
// the events happen, and their text exposition (format 0.0.4) together with the gauges read
// at scrape time. Every label value comes from a fixed set here, or is the name of a proxy
// that exists: nothing a request sends becomes a label, so a flood adds no series.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace achilles::injector {

/// Bytes a proxy has delivered since it was created.
struct ProxyTraffic {
  std::string name;
  /// Client to server.
  std::uint64_t upstream = 0;
  /// Server to client.
  std::uint64_t downstream = 0;
};

/// What /metrics shows besides the counters, read from the engine and the proxies.
struct MetricGauges {
  /// Active faults by kind (the kinds of /v1/status's active_faults).
  std::map<std::string, std::int64_t> active;
  bool halted = false;
  /// 0 without a lease.
  double lease_seconds_remaining = 0;
  std::vector<ProxyTraffic> proxies;
};

/// The agent's counters. Thread-safe (relaxed atomics): bumped from anywhere, read by the
/// scrape.
class Metrics {
 public:
  enum class Outcome { kInjected, kRefused, kFailed };

  /// The `kind` label of achilles_agent_faults_total: the fault kinds, and "unknown" for a
  /// refused request whose body names none of them.
  static constexpr std::array<std::string_view, 7> kFaultKinds = {
      "kill", "pause", "latency", "cpu", "memory", "network", "unknown"};
  /// The `kind` label of achilles_agent_faults_active: the fault kinds, then harm done
  /// through Toxiproxy's API (its toxics and disabled proxies), as /v1/status lists them.
  static constexpr std::array<std::string_view, 8> kActiveKinds = {
      "kill", "pause", "latency", "cpu", "memory", "network", "toxic", "proxy_disabled"};
  static constexpr std::array<std::string_view, 3> kOutcomes = {"injected", "refused", "failed"};
  static constexpr std::array<std::string_view, 6> kReasons = {"expired", "deleted",  "halt",
                                                               "lease",   "shutdown", "recovery"};

  /// A POST /v1/faults ended with `outcome`; `kind` is the body's kind as sent (anything not
  /// in kFaultKinds counts as "unknown").
  void fault(std::string_view kind, Outcome outcome);
  /// A fault was reverted; `reason` is one of kReasons (anything else is not counted).
  void revert(std::string_view reason, std::uint64_t n = 1);
  /// A response was sent (or a request refused) with this HTTP status; statuses outside
  /// 100-599 are not counted.
  void request(int status);

  std::uint64_t faults(std::string_view kind, Outcome outcome) const;
  std::uint64_t reverts(std::string_view reason) const;
  std::uint64_t requests(int status) const;

  /// The exposition: every metric with # HELP and # TYPE lines; a series for every value of
  /// each fixed label set (0 until counted), a request series for each status seen.
  std::string render(const MetricGauges& gauges) const;

 private:
  std::array<std::array<std::atomic<std::uint64_t>, kOutcomes.size()>, kFaultKinds.size()>
      faults_{};
  std::array<std::atomic<std::uint64_t>, kReasons.size()> reverts_{};
  std::array<std::atomic<std::uint64_t>, 500> requests_{};
};

/// The revert reason of the metrics for one of the engine's ("lease expired" is "lease",
/// "agent shutdown" "shutdown"); "" for any other.
std::string_view metric_revert_reason(std::string_view engine_reason);

/// A label value escaped for the text format: backslash, double quote and line feed.
std::string escape_label_value(std::string_view value);

/// The content type of the exposition.
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace achilles::injector
