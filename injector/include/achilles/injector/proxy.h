// TCP proxies with Toxiproxy 2.x's model: proxies, toxics, their JSON shapes and defaults.
// The values and their validation need no socket; ProxyManager runs the proxies on an Asio
// io_context (kept out of this header).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "achilles/injector/engine.h"
#include "achilles/injector/metrics.h"
#include "achilles/injector/os.h"

namespace asio {
class io_context;
}

namespace achilles::injector {

/// One toxic, as Toxiproxy shows it.
struct Toxic {
  std::string name;
  /// latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data.
  std::string type;
  /// "downstream" (server to client, the default) or "upstream" (client to server).
  std::string stream = "downstream";
  /// Probability, drawn once per connection, that the toxic applies to it.
  double toxicity = 1.0;
  /// The type's attributes, every one present (defaults filled in).
  nlohmann::json attributes = nlohmann::json::object();
  /// The agent's time bound: the toxic is removed after this.
  std::chrono::steady_clock::time_point expires = std::chrono::steady_clock::time_point::max();
  /// When it was added, and its time bound, on the wall clock (for /v1/faults).
  std::chrono::system_clock::time_point added_wall{};
  std::chrono::system_clock::time_point expires_wall{};
  /// Added by the fault engine (a latency fault), which lists it itself.
  bool engine_owned = false;
};

/// One proxy, as Toxiproxy shows it.
struct ProxyInfo {
  std::string name;
  /// HOST:PORT it listens on; after creation, the actual port.
  std::string listen;
  std::string upstream;
  bool enabled = true;
  std::vector<Toxic> toxics;
};

nlohmann::json to_json(const Toxic& toxic);
nlohmann::json to_json(const ProxyInfo& proxy);

/// A new toxic from a POST body, with Toxiproxy's defaults; ApiError(400) when invalid.
Toxic parse_toxic(const nlohmann::json& body);
/// Applies a PATCH body to a toxic; ApiError(400) when invalid.
void patch_toxic(Toxic& toxic, const nlohmann::json& body);
/// A new proxy from a POST body; ApiError(400) when invalid.
ProxyInfo parse_proxy(const nlohmann::json& body);

/// The running proxies. Not thread-safe: call it on the io_context's thread.
class ProxyManager final : public ToxicSink {
 public:
  /// Toxics, and disabled proxies, get `max_toxic_ms` as their time bound.
  ProxyManager(asio::io_context& io, const Clock& clock, std::int64_t max_toxic_ms);
  ~ProxyManager() override;
  ProxyManager(const ProxyManager&) = delete;
  ProxyManager& operator=(const ProxyManager&) = delete;

  std::vector<ProxyInfo> list() const;
  /// ApiError(404, "proxy not found") when unknown, here and below.
  ProxyInfo get(const std::string& name) const;
  /// Starts listening; 409 when the name exists, 500 when the address cannot be bound.
  ProxyInfo create(ProxyInfo proxy);
  /// `enabled`, `listen`, `upstream`; disabling closes every connection. A disabled proxy is
  /// harm like a toxic: it is enabled again after the time bound, on halt and lease expiry.
  ProxyInfo update(const std::string& name, const nlohmann::json& patch);
  /// Stops it and closes its connections.
  void remove(const std::string& name);
  /// Creates or replaces each proxy of a list; ApiError on the first invalid one.
  std::vector<ProxyInfo> populate(const nlohmann::json& list);

  Toxic add_toxic(const std::string& proxy, Toxic toxic);
  Toxic get_toxic(const std::string& proxy, const std::string& name) const;
  Toxic update_toxic(const std::string& proxy, const std::string& name,
                     const nlohmann::json& patch);
  /// ApiError(404, "toxic not found") when unknown.
  void delete_toxic(const std::string& proxy, const std::string& name);
  /// Every proxy enabled, every toxic removed.
  void reset();
  /// Removes toxics past their time bound, and enables proxies disabled longer than it; the
  /// number of toxics removed.
  std::size_t expire();
  /// Called before a proxy is disabled (or created disabled); throws (ApiError 409) to refuse,
  /// as while the agent is halted.
  void set_harm_gate(std::function<void()> gate);
  /// Closes every proxy (on shutdown).
  void close_all();
  /// Bytes each proxy that exists has delivered, by direction, in name order (a proxy
  /// removed, or replaced by /populate, starts again from 0).
  std::vector<ProxyTraffic> traffic() const;

  // ToxicSink, for latency faults.
  void add_latency(const std::string& proxy, const std::string& toxic, std::int64_t latency_ms,
                   std::int64_t jitter_ms) override;
  void remove_toxic(const std::string& proxy, const std::string& toxic) override;
  void revert_all() override;
  nlohmann::json external_faults() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace achilles::injector
