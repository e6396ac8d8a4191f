// Probes: one sample of an HTTP, TCP or exec probe, taken on the runner's Asio loop, and the
// state the runner keeps per probe. Private to the drill library.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "achilles/drill/plan.h"
#include "http_client.h"

namespace achilles::drill {

struct RawSample {
  Clock::time_point start;
  bool ok = false;
  double ms = 0;
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

/// Takes one sample of `p`: success, and for a failure what went wrong.
asio::awaitable<std::pair<bool, std::string>> sample_once(ProbeState& p);

}  // namespace achilles::drill
