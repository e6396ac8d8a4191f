// Judging probe samples: health over sliding windows, expectations, summaries (docs/drill.md).
#include <algorithm>
#include <cmath>

#include "achilles/drill/plan.h"

namespace achilles::drill {

namespace {

/// Nearest-rank percentile of sorted values (q in 0..1).
double percentile(const std::vector<double>& sorted, double q) {
  const auto n = sorted.size();
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(n)));
  rank = std::clamp<std::size_t>(rank, 1, n);
  return sorted[rank - 1];
}

int severity(Health h) {
  return static_cast<int>(h);
}

std::string ms_text(std::int64_t ms) {
  return std::to_string(ms) + " ms";
}

}  // namespace

Health health_at(const ProbeSpec& probe, const std::vector<Sample>& samples, std::size_t i) {
  const std::int64_t end = samples[i].t_ms;
  std::size_t total = 0, good = 0;
  std::vector<double> latencies;
  for (std::size_t j = i + 1; j-- > 0;) {
    if (samples[j].t_ms <= end - probe.window_ms) break;
    ++total;
    if (!samples[j].ok) continue;
    latencies.push_back(samples[j].latency_ms);
    // A prometheus probe's sample is good when its value is within healthy_when; others
    // when they succeed.
    if (!probe.value || (samples[j].value && probe.value->holds(*samples[j].value))) ++good;
  }
  if (latencies.empty()) return Health::kDown;
  const double ratio = static_cast<double>(good) / static_cast<double>(total);
  // A ratio is compared with a little slack, so that 99 of 100 meets 0.99 despite rounding.
  if (ratio + 1e-9 < probe.success_ratio) return Health::kDegraded;
  if (probe.p99_ms) {
    std::sort(latencies.begin(), latencies.end());
    if (percentile(latencies, 0.99) > *probe.p99_ms) return Health::kDegraded;
  }
  return Health::kHealthy;
}

std::vector<Health> health_series(const ProbeSpec& probe, const std::vector<Sample>& samples) {
  std::vector<Health> out;
  out.reserve(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i)
    out.push_back(health_at(probe, samples, i));
  return out;
}

std::optional<Outage> find_outage(const std::vector<Sample>& samples, std::int64_t from_ms,
                                  std::int64_t to_ms) {
  std::optional<Outage> first, sustained;
  for (std::size_t i = 0; i < samples.size() && !sustained; ++i) {
    if (samples[i].t_ms < from_ms || samples[i].t_ms >= to_ms || samples[i].ok) continue;
    if (i > 0 && samples[i - 1].t_ms >= from_ms && !samples[i - 1].ok) continue;  // not a start
    Outage o{.start_ms = samples[i].t_ms};
    std::size_t j = i;
    while (j < samples.size() && samples[j].t_ms < to_ms && !samples[j].ok)
      ++o.failed, ++j;
    o.open = j >= samples.size() || samples[j].t_ms >= to_ms;
    o.ms = (o.open ? to_ms : samples[j].t_ms) - o.start_ms;
    if (!first) first = o;
    if (o.failed >= 2) sustained = o;
  }
  return sustained ? sustained : first;
}

Verdict judge(const Expectation& expectation, std::optional<std::int64_t> recover_within_ms,
              const std::vector<Sample>& samples, const std::vector<Health>& health,
              std::int64_t from_ms, std::int64_t to_ms) {
  Verdict v;
  // A sample belongs to the window in which it was sent (spec drill.md), even when its answer
  // came after the window ended: what a user who asked then lived through.
  std::vector<std::size_t> in;
  for (std::size_t i = 0; i < samples.size(); ++i)
    if (samples[i].t_ms >= from_ms && samples[i].t_ms < to_ms) in.push_back(i);
  const auto outage = find_outage(samples, from_ms, to_ms);
  if (outage) {
    v.outage_ms = outage->ms;
    v.outage_open = outage->open;
  }
  // Down is judged from the outage itself, not from the sliding window: no success for two
  // consecutive samples, however short against the window.
  const bool was_down = outage && outage->failed >= 2;
  auto outage_text = [&] {
    return "an outage of " + (outage->open ? "at least " : std::string()) + ms_text(outage->ms);
  };
  if (in.empty()) {
    v.observed = Health::kDown;
    v.message = "no probe sample in the step's window";
    return v;
  }
  // Recovery: from the injection to the first sample after the last one that was not healthy.
  std::optional<std::size_t> last_bad;
  for (std::size_t k = 0; k < in.size(); ++k)
    if (health[in[k]] != Health::kHealthy) last_bad = k;
  if (!last_bad)
    v.recovery_ms = 0;
  else if (*last_bad + 1 < in.size())
    v.recovery_ms = samples[in[*last_bad + 1]].t_ms - from_ms;

  Health worst = Health::kHealthy;
  for (std::size_t i : in)
    worst =
        std::max(worst, health[i], [](Health a, Health b) { return severity(a) < severity(b); });

  const bool recovered_in_time =
      !recover_within_ms || (v.recovery_ms && *v.recovery_ms <= *recover_within_ms);
  std::string recovery_text =
      v.recovery_ms ? (*v.recovery_ms == 0 ? "never stopped being healthy"
                                           : "healthy again after " + ms_text(*v.recovery_ms))
                    : "still not healthy at the end of the window";

  if (expectation.up) {
    // Up: never down, whatever the latency; degraded is allowed.
    v.observed = was_down ? Health::kDown : worst == Health::kDown ? Health::kDegraded : worst;
    v.passed = !was_down && recovered_in_time;
    if (was_down)
      v.message = "down, not up: " + outage_text();
    else
      v.message = std::string("up throughout: the worst was ") + health_name(v.observed) + "; " +
                  recovery_text;
    if (!was_down && !recovered_in_time) v.message += ", allowed " + ms_text(*recover_within_ms);
    return v;
  }
  switch (expectation.expected) {
    case Health::kHealthy: {
      // Only the samples after the recovery allowance count.
      const std::int64_t allowed_until = from_ms + recover_within_ms.value_or(0);
      Health after = Health::kHealthy;
      bool any = false;
      for (std::size_t i : in)
        if (samples[i].t_ms >= allowed_until) {
          any = true;
          if (severity(health[i]) > severity(after)) after = health[i];
        }
      if (!any) after = health[in.back()];
      v.observed = after;
      v.passed = after == Health::kHealthy && recovered_in_time;
      if (v.passed)
        v.message = recovery_text;
      else if (!recovered_in_time && v.recovery_ms)
        v.message = "healthy again only after " + ms_text(*v.recovery_ms) + ", allowed " +
                    ms_text(*recover_within_ms);
      else
        v.message = std::string(health_name(after)) +
                    (recover_within_ms ? " after the " + ms_text(*recover_within_ms) + " allowed"
                                       : " during the step") +
                    "; " + recovery_text;
      break;
    }
    case Health::kDegraded: {
      bool degraded = false;
      for (std::size_t i : in)
        degraded |= health[i] == Health::kDegraded;
      v.observed = worst == Health::kDown ? Health::kDown
                                          : (degraded ? Health::kDegraded : Health::kHealthy);
      v.passed = v.observed == Health::kDegraded && recovered_in_time;
      if (v.observed == Health::kDown)
        v.message = "down at some point, worse than degraded";
      else if (!degraded)
        v.message = "stayed healthy: the fault had no visible effect";
      else
        v.message = "degraded; " + recovery_text;
      if (v.observed == Health::kDegraded && !recovered_in_time)
        v.message += ", allowed " + ms_text(*recover_within_ms);
      break;
    }
    case Health::kDown: {
      v.observed = was_down ? Health::kDown : worst == Health::kDown ? Health::kDegraded : worst;
      v.passed = was_down && recovered_in_time;
      // An outage made only of queries the monitoring did not answer is no evidence that the
      // service was down: Prometheus itself may be what failed. Not a pass.
      if (was_down) {
        bool evidence = false;
        for (std::size_t i = 0; i < samples.size(); ++i)
          if (samples[i].t_ms >= outage->start_ms && samples[i].t_ms < to_ms && !samples[i].ok &&
              samples[i].t_ms < outage->start_ms + std::max<std::int64_t>(outage->ms, 1))
            evidence |= !samples[i].unanswered;
        if (!evidence) {
          v.passed = false;
          v.message = "not confirmed: " + outage_text() +
                      ", but every failed sample in it was a query that got no value (the "
                      "monitoring, not the service, may be what was down)";
          break;
        }
      }
      if (!was_down)
        v.message = std::string("never down: the worst was ") + health_name(v.observed) +
                    (outage ? " (one failed sample)" : "");
      else
        v.message = "down as expected: " + outage_text() + "; " + recovery_text;
      if (was_down && !recovered_in_time) v.message += ", allowed " + ms_text(*recover_within_ms);
      break;
    }
  }
  return v;
}

nlohmann::json summarize(const std::vector<Sample>& samples, std::int64_t from_ms,
                         std::int64_t to_ms) {
  std::size_t n = 0;
  std::vector<double> ok;
  std::optional<double> min_value, max_value;
  for (const auto& s : samples)
    if (s.t_ms >= from_ms && s.t_ms < to_ms) {
      ++n;
      if (s.ok) ok.push_back(s.latency_ms);
      if (s.value && std::isfinite(*s.value)) {
        min_value = std::min(min_value.value_or(*s.value), *s.value);
        max_value = std::max(max_value.value_or(*s.value), *s.value);
      }
    }
  if (n == 0) return nullptr;
  nlohmann::json j = {{"samples", n},
                      {"success_ratio", static_cast<double>(ok.size()) / static_cast<double>(n)}};
  // A prometheus probe's values in the span (also those of samples that failed by down_when).
  if (min_value) {
    j["min_value"] = *min_value;
    j["max_value"] = *max_value;
  }
  if (ok.empty()) {
    j["p50_ms"] = j["p99_ms"] = j["max_ms"] = nullptr;
  } else {
    std::sort(ok.begin(), ok.end());
    auto round = [](double x) { return std::round(x * 100) / 100; };
    j["p50_ms"] = round(percentile(ok, 0.5));
    j["p99_ms"] = round(percentile(ok, 0.99));
    j["max_ms"] = round(ok.back());
  }
  return j;
}

}  // namespace achilles::drill
