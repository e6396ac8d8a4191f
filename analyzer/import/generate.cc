// The synthetic estate generator. Everything is drawn from one std::mt19937_64 through the
// small distributions below (the std:: distributions differ between standard libraries, so
// they would break "same seed, same topology"), in one fixed order.
//
// The passes: size the estate, name the services, draw replica counts and fit them to
// exactly N components, wire dependencies (deeper layers only, so the graph is a DAG by
// construction), give every service a caller, propagate the entrypoint load to size the
// capacities, optionally add rare back edges (cycles), then emit the elements.
//
// One file past 500 lines: one generator with one random stream; split, the order of the draws
// that makes an estate the same for the same seed would be spread over files.
#include "achilles/analyzer/generate.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <random>
#include <string>
#include <utility>

#include "achilles/common/diagnostic.h"

namespace achilles::analyzer {

std::string_view to_string(Layer layer) {
  switch (layer) {
    case Layer::kEdge:
      return "edge";
    case Layer::kWeb:
      return "web";
    case Layer::kApp:
      return "app";
    case Layer::kData:
      return "data";
  }
  return "layer";
}

namespace {

constexpr unsigned kZonesPerRegion = 3;
constexpr size_t kComponentsPerHost = 4;
constexpr size_t kHostsPerRack = 20;
/// Services per product (a team's group of services that mostly call each other).
constexpr size_t kServicesPerProduct = 40;

constexpr std::array<std::string_view, 8> kRegionNames = {
    "us-east-1",      "us-west-2", "eu-west-1",      "eu-central-1",
    "ap-southeast-1", "us-east-2", "ap-northeast-1", "sa-east-1"};

// Product (team) names. None contains '-' or ends in a digit, so that the ids built from
// them below cannot collide; none is "shared" (the shared databases' prefix).
constexpr std::array<std::string_view, 64> kProducts = {
    "checkout",      "catalog",   "search",     "payments",   "identity",  "billing",
    "inventory",     "shipping",  "orders",     "cart",       "pricing",   "reviews",
    "ads",           "media",     "profile",    "notify",     "messaging", "feed",
    "analytics",     "reporting", "ledger",     "fraud",      "loyalty",   "promo",
    "geo",           "maps",      "booking",    "support",    "content",   "docs",
    "auth",          "session",   "tax",        "invoice",    "returns",   "warehouse",
    "fulfilment",    "tracking",  "ratings",    "wishlist",   "gifts",     "coupons",
    "subscriptions", "streaming", "upload",     "thumbnails", "translate", "email",
    "sms",           "push",      "chat",       "calendar",   "contacts",  "storage",
    "backup",        "audit",     "compliance", "risk",       "partners",  "vendors",
    "forecast",      "recommend", "onboarding", "experiments"};

/// A service's role: the middle of its id and the kind of its components.
struct Role {
  std::string_view name;
  std::string_view component_kind;
};
constexpr std::array<Role, 12> kRoles = {{{"lb", "loadbalancer"},
                                          {"web", "process"},
                                          {"api", "process"},
                                          {"svc", "process"},
                                          {"worker", "process"},
                                          {"backend", "process"},
                                          {"jobs", "process"},
                                          {"db", "database"},
                                          {"cache", "cache"},
                                          {"queue", "queue"},
                                          {"search", "search"},
                                          {"store", "database"}}};
constexpr uint8_t kRoleDb = 7;

/// Random numbers with a fixed, documented mapping from the engine's output.
class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  /// Uniform in [0, n); n > 0. Rejection removes the modulo bias.
  uint64_t below(uint64_t n) {
    const uint64_t threshold = (0 - n) % n;
    for (;;) {
      uint64_t x = engine_();
      if (x >= threshold) return x % n;
    }
  }
  /// Uniform in [lo, hi].
  uint64_t between(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }
  /// Uniform in [0, 1) with 53 random bits.
  double unit() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  /// Uniform in [lo, hi).
  double real(double lo, double hi) { return lo + (hi - lo) * unit(); }
  bool chance(double p) { return unit() < p; }
  /// An index drawn with the given weights (which need not sum to 1).
  template <size_t N>
  size_t weighted(const std::array<double, N>& weights) {
    double total = 0;
    for (double w : weights)
      total += w;
    double x = unit() * total;
    for (size_t i = 0; i + 1 < N; ++i) {
      if (x < weights[i]) return i;
      x -= weights[i];
    }
    return N - 1;
  }
  /// Heavy-tailed, in [xm, cap]: xm doubled while a coin with `p` comes up (so
  /// P(x >= xm 2^k) ~ p^k, a power law), times a uniform factor in [1, 2). Only exact
  /// IEEE operations, no std::pow, whose last bit may differ between libm versions.
  double heavy_tail(double xm, double p, double cap) {
    double x = xm;
    while (x < cap && chance(p))
      x *= 2;
    return std::min(cap, x * real(1, 2));
  }

 private:
  std::mt19937_64 engine_;
};

void append_number(std::string& s, uint64_t n, int width = 0) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  for (int pad = width - static_cast<int>(end - buf); pad > 0; --pad)
    s += '0';
  s.append(buf, end);
}

/// A service while it is being planned; becomes an Element at the end.
struct Plan {
  Layer layer = Layer::kEdge;
  uint8_t role = 0;
  /// Index into the product names, or the product count for the shared databases.
  uint32_t product = 0;
  uint32_t replicas = 1;
  uint32_t min_healthy = 1;
  bool called = false;
  /// Load reaching the service with nothing failed.
  double load = 0;
  std::string id;
  /// Targets are service indices until the elements are emitted.
  std::vector<Dependency> deps;
};

/// The sizes every pass needs.
struct Shape {
  size_t regions = 1;
  size_t zones = 3;
  size_t racks = 3;
  size_t hosts = 3;
  std::array<size_t, kLayerCount> layer_services{};
  /// Index of the first service of each layer; layer_begin[kLayerCount] is the total.
  std::array<size_t, kLayerCount + 1> layer_begin{};
  size_t products = 1;
  size_t shared_dbs = 0;
};

Shape size_estate(const GenerateOptions& o) {
  if (o.components < 1)
    throw UsageError("achilles generate: error: --components must be at least 1");
  Shape s;
  const size_t n = o.components;
  s.regions = o.regions ? o.regions : n < 200 ? 1 : n < 20000 ? 2 : n < 1000000 ? 3 : 4;
  s.zones = s.regions * kZonesPerRegion;
  s.hosts = std::max<size_t>(1, (n + kComponentsPerHost - 1) / kComponentsPerHost);
  s.racks = std::max(s.zones, (s.hosts + kHostsPerRack - 1) / kHostsPerRack);
  s.hosts = std::max(s.hosts, s.racks);

  if (!o.services_per_layer.empty()) {
    if (o.services_per_layer.size() != kLayerCount)
      throw UsageError(
          "achilles generate: error: --services-per-layer needs 4 counts (edge,web,app,data)");
    size_t total = 0;
    for (size_t i = 0; i < kLayerCount; ++i) {
      s.layer_services[i] = o.services_per_layer[i];
      total += o.services_per_layer[i];
    }
    if (s.layer_services[0] < 1)
      throw UsageError(
          "achilles generate: error: --services-per-layer: the edge layer needs at "
          "least one service");
    if (total > n)
      throw UsageError("achilles generate: error: --services-per-layer: " + std::to_string(total) +
                       " services need at least as many components, not " + std::to_string(n));
  } else {
    // About 4.1 components per service: the mean of the replica distribution below.
    const size_t total = std::max<size_t>(1, static_cast<size_t>(std::llround(n / 4.1)));
    auto share = [&](double f) { return std::max<size_t>(1, std::llround(total * f)); };
    if (total >= 4) {
      s.layer_services = {share(0.01), share(0.19), 0, share(0.35)};
      s.layer_services[2] = total - s.layer_services[0] - s.layer_services[1] - s.layer_services[3];
    } else {
      s.layer_services = {1, total >= 3, 0, total >= 2};
    }
  }
  for (size_t i = 0; i < kLayerCount; ++i)
    s.layer_begin[i + 1] = s.layer_begin[i] + s.layer_services[i];
  s.products = std::max<size_t>(1, s.layer_begin[kLayerCount] / kServicesPerProduct);
  // "A few" shared databases: 2 to 12, growing slowly with the estate.
  const size_t data = s.layer_services[3];
  s.shared_dbs = std::min(data, std::clamp<size_t>(2 + data / 20000, 2, 12));
  if (data < 4) s.shared_dbs = std::min<size_t>(data, 1);
  return s;
}

/// Most services run 2 to 5 replicas, some 1, a few 6 to 12 and a few dozens.
uint32_t draw_replicas(Random& rng) {
  switch (rng.weighted(std::array<double, 4>{0.08, 0.80, 0.10, 0.02})) {
    case 0:
      return 1;
    case 1:
      return static_cast<uint32_t>(2 + rng.weighted(std::array<double, 4>{30, 35, 20, 15}));
    case 2:
      return static_cast<uint32_t>(rng.between(6, 12));
    default:
      return static_cast<uint32_t>(std::floor(rng.heavy_tail(13, 0.35, 100)));
  }
}

/// How many requests a dependency receives per request: mostly 1, a few fan-outs, a few
/// cached or sampled calls.
double draw_calls(Random& rng, DepMode mode) {
  static constexpr std::array<double, 4> kFanOut = {2, 3, 4, 5};
  static constexpr std::array<double, 3> kFraction = {0.1, 0.25, 0.5};
  static constexpr std::array<double, 4> kSoft = {0.1, 0.25, 0.5, 1};
  if (mode == DepMode::kSoft) return kSoft[rng.below(kSoft.size())];
  switch (rng.weighted(std::array<double, 3>{0.7, 0.2, 0.1})) {
    case 0:
      return 1;
    case 1:
      return kFanOut[rng.below(kFanOut.size())];
    default:
      return kFraction[rng.below(kFraction.size())];
  }
}

class Generator {
 public:
  Generator(const GenerateOptions& options, Shape shape)
      : o_(options), s_(shape), rng_(options.seed), plans_(s_.layer_begin[kLayerCount]) {}

  Topology run() {
    plan_services();
    report(0.05);
    draw_replica_counts();
    wire_dependencies();
    give_every_service_a_caller();
    report(0.15);
    propagate_load();
    if (o_.cycles) add_cycles();
    return emit();
  }

 private:
  void report(double fraction) {
    if (o_.progress) o_.progress(fraction);
  }

  Layer layer_of(size_t service) const {
    size_t l = 0;
    while (service >= s_.layer_begin[l + 1])
      ++l;
    return static_cast<Layer>(l);
  }

  // Pass 1: layer, product, role and id of every service. The first few data services are
  // the shared databases.
  void plan_services() {
    by_product_.assign(kLayerCount, std::vector<std::vector<uint32_t>>(s_.products));
    std::vector<uint32_t> counters((s_.products + 1) * kRoles.size(), 0);
    for (size_t i = 0; i < plans_.size(); ++i) {
      Plan& p = plans_[i];
      p.layer = layer_of(i);
      const bool shared = p.layer == Layer::kData && i - s_.layer_begin[3] < s_.shared_dbs;
      p.product = shared ? static_cast<uint32_t>(s_.products)
                         : static_cast<uint32_t>(rng_.below(s_.products));
      switch (p.layer) {
        case Layer::kEdge:
          p.role = 0;
          break;
        case Layer::kWeb:
          p.role = static_cast<uint8_t>(1 + rng_.below(2));
          break;
        case Layer::kApp:
          p.role = static_cast<uint8_t>(3 + rng_.weighted(std::array<double, 4>{50, 20, 20, 10}));
          break;
        case Layer::kData:
          p.role = shared ? kRoleDb
                          : static_cast<uint8_t>(
                                7 + rng_.weighted(std::array<double, 5>{45, 25, 15, 10, 5}));
          break;
      }
      const uint32_t k = ++counters[p.product * kRoles.size() + p.role];
      if (shared) {
        p.id = "shared";
      } else {
        p.id = kProducts[p.product % kProducts.size()];
        if (p.product >= kProducts.size()) append_number(p.id, p.product / kProducts.size() + 1);
      }
      p.id += '-';
      p.id += kRoles[p.role].name;
      if (k > 1) {
        p.id += "-v";
        append_number(p.id, k);
      }
      if (!shared) by_product_[static_cast<size_t>(p.layer)][p.product].push_back(uint32_t(i));
    }
  }

  // Pass 2: replica counts that sum to exactly N, then quorums.
  void draw_replica_counts() {
    size_t total = 0;
    for (size_t i = 0; i < plans_.size(); ++i) {
      Plan& p = plans_[i];
      p.replicas = p.layer == Layer::kData && i - s_.layer_begin[3] < s_.shared_dbs
                       ? static_cast<uint32_t>(rng_.between(2, 3))
                       : draw_replicas(rng_);
      total += p.replicas;
    }
    const size_t n = o_.components;
    // Too few: add replicas to services picked at random. Too many: take one replica at a
    // time from services that have more than one, sweeping from a random start. Both keep
    // the shape of the distribution; sum(services) <= N guarantees the sweep ends.
    while (total < n) {
      ++plans_[rng_.below(plans_.size())].replicas;
      ++total;
    }
    size_t at = plans_.empty() ? 0 : rng_.below(plans_.size());
    while (total > n) {
      Plan& p = plans_[at];
      if (p.replicas > 1 && rng_.chance(0.5)) {
        --p.replicas;
        --total;
      }
      at = at + 1 == plans_.size() ? 0 : at + 1;
    }
    for (Plan& p : plans_) {
      if (p.layer == Layer::kData && p.replicas >= 3 && rng_.chance(0.35))
        p.min_healthy = p.replicas / 2 + 1;  // a consensus quorum: 2 of 3, 3 of 5
      else if (p.layer != Layer::kData && p.replicas >= 4 && rng_.chance(0.1))
        p.min_healthy = (p.replicas + 1) / 2;  // half the fleet needed to carry the load
    }
  }

  /// A service of `layer` (or, when that layer is empty, the next deeper non-empty one)
  /// for `caller` to depend on: mostly from the caller's own product, else any. In the
  /// caller's own layer only services after it qualify. Returns SIZE_MAX if none does.
  size_t pick(size_t caller, Layer layer) {
    size_t l = static_cast<size_t>(layer);
    while (l < kLayerCount && s_.layer_services[l] == 0)
      ++l;
    if (l == kLayerCount) return SIZE_MAX;
    const Plan& c = plans_[caller];
    size_t lo = s_.layer_begin[l];
    if (l == static_cast<size_t>(c.layer)) lo = caller + 1;
    const size_t hi = s_.layer_begin[l + 1];
    if (lo >= hi) return l + 1 < kLayerCount ? pick(caller, static_cast<Layer>(l + 1)) : SIZE_MAX;
    if (c.product < s_.products && rng_.chance(0.85)) {
      const auto& own = by_product_[l][c.product];
      auto first = std::lower_bound(own.begin(), own.end(), lo);
      if (first != own.end()) return first[rng_.below(static_cast<uint64_t>(own.end() - first))];
    }
    return lo + rng_.below(hi - lo);
  }

  void depend(size_t from, size_t to, DepMode mode) {
    if (to == SIZE_MAX) return;
    auto& deps = plans_[from].deps;
    for (const auto& d : deps)
      if (d.target == to) return;
    // Teams mostly call a single-replica service as best-effort: most singletons are off
    // the critical path, a few are on it (the SPOFs).
    if (mode == DepMode::kHard && plans_[to].replicas == 1 && rng_.chance(0.6))
      mode = DepMode::kSoft;
    Dependency d;
    d.target = static_cast<ElementId>(to);
    d.mode = mode;
    d.calls = draw_calls(rng_, mode);
    deps.push_back(d);
    plans_[to].called = true;
  }

  DepMode draw_mode() { return rng_.chance(0.85) ? DepMode::kHard : DepMode::kSoft; }

  size_t shared_db() {
    return s_.shared_dbs ? s_.layer_begin[3] + rng_.below(s_.shared_dbs) : SIZE_MAX;
  }

  // Pass 3: edge -> web -> app -> data, app -> later app, rarely data -> later data.
  void wire_dependencies() {
    for (size_t i = 0; i < plans_.size(); ++i) {
      switch (plans_[i].layer) {
        case Layer::kEdge: {
          const size_t n = 1 + rng_.weighted(std::array<double, 3>{75, 15, 10});
          for (size_t k = 0; k < n; ++k)
            depend(i, pick(i, Layer::kWeb), DepMode::kHard);
          break;
        }
        case Layer::kWeb: {
          const size_t n = 1 + rng_.weighted(std::array<double, 4>{35, 35, 20, 10});
          for (size_t k = 0; k < n; ++k)
            depend(i, pick(i, Layer::kApp), draw_mode());
          if (rng_.chance(0.3)) depend(i, pick(i, Layer::kData), draw_mode());
          if (rng_.chance(0.05)) depend(i, shared_db(), DepMode::kHard);
          break;
        }
        case Layer::kApp: {
          const size_t n = rng_.weighted(std::array<double, 4>{10, 35, 35, 20});
          for (size_t k = 0; k < n; ++k)
            depend(i, pick(i, rng_.chance(0.55) ? Layer::kData : Layer::kApp), draw_mode());
          if (rng_.chance(0.2)) depend(i, shared_db(), DepMode::kHard);
          break;
        }
        case Layer::kData:
          if (rng_.chance(0.05)) depend(i, pick(i, Layer::kData), DepMode::kHard);
          break;
      }
    }
  }

  // Pass 4: a service nobody calls gets a caller from a shallower layer (its product's if
  // it has one), so that nearly everything is reachable from an entrypoint.
  void give_every_service_a_caller() {
    for (size_t i = s_.layer_begin[1]; i < plans_.size(); ++i) {
      if (plans_[i].called) continue;
      const Plan& p = plans_[i];
      for (size_t l = static_cast<size_t>(p.layer); l-- > 0;) {
        if (s_.layer_services[l] == 0) continue;
        size_t caller;
        const auto* own = p.product < s_.products ? &by_product_[l][p.product] : nullptr;
        if (own && !own->empty())
          caller = (*own)[rng_.below(own->size())];
        else
          caller = s_.layer_begin[l] + rng_.below(s_.layer_services[l]);
        depend(caller, i, l == 0 ? DepMode::kHard : draw_mode());
        break;
      }
    }
  }

  // Pass 5: entrypoint loads flow down the DAG in index order (every dependency points to a
  // later service), and each component gets capacity = its share of the load x headroom.
  void propagate_load() {
    entry_load_.resize(s_.layer_services[0]);
    for (size_t i = 0; i < s_.layer_services[0]; ++i) {
      entry_load_[i] = std::round(rng_.heavy_tail(100, 0.45, 50000));
      plans_[i].load = entry_load_[i];
    }
    for (Plan& p : plans_)
      for (const auto& d : p.deps)
        plans_[d.target].load += p.load * d.calls;
    capacity_.resize(plans_.size());
    for (size_t i = 0; i < plans_.size(); ++i) {
      const Plan& p = plans_[i];
      // Most services have ample headroom; some would not survive losing a replica
      // (capacity SPOFs), a few run hot already (overloads).
      double headroom;
      switch (rng_.weighted(std::array<double, 3>{0.04, 0.16, 0.80})) {
        case 0:
          headroom = rng_.real(0.9, 1.25);
          break;
        case 1:
          headroom = rng_.real(1.3, 1.9);
          break;
        default:
          headroom = rng_.real(2.0, 5.0);
          break;
      }
      const double share = p.load > 0 ? p.load / p.replicas : rng_.real(50, 500);
      capacity_[i] = std::max(1.0, std::ceil(share * headroom));
    }
  }

  // Optional: a rare hard back edge from a dependency to its caller, called with a small
  // multiplier so that the loads around the loop stay bounded.
  void add_cycles() {
    const size_t want = std::max<size_t>(1, o_.components / 100000);
    size_t added = 0;
    for (size_t tries = 0; added < want && tries < 100 * want && !plans_.empty(); ++tries) {
      const size_t from = rng_.below(plans_.size());
      auto& deps = plans_[from].deps;
      if (deps.empty()) continue;
      const auto& d = deps[rng_.below(deps.size())];
      if (d.mode != DepMode::kHard) continue;
      auto& back_deps = plans_[d.target].deps;
      if (std::any_of(back_deps.begin(), back_deps.end(),
                      [&](const Dependency& b) { return b.target == from; }))
        continue;
      Dependency back;
      back.target = static_cast<ElementId>(from);
      back.calls = 0.1;
      back_deps.push_back(back);
      ++added;
    }
  }

  std::string domain_name(size_t level, size_t index) const {
    std::string s;
    if (level == 0) {
      if (index < kRegionNames.size()) return std::string(kRegionNames[index]);
      s = "region-";
      append_number(s, index + 1);
      return s;
    }
    if (level == 1) {
      s = domain_name(0, index / kZonesPerRegion);
      s += static_cast<char>('a' + index % kZonesPerRegion);
      return s;
    }
    if (level == 2) {
      s = domain_name(1, index % s_.zones);
      s += "-r";
      append_number(s, index / s_.zones + 1, 3);
      return s;
    }
    s = domain_name(2, index % s_.racks);
    s += "-h";
    append_number(s, index / s_.racks + 1, 2);
    return s;
  }

  // Host h sits in rack h % racks, rack r in zone r % zones, zone z in region z / 3: every
  // level is filled round-robin, so a random member of a level is one draw.
  size_t random_rack_in_zone(size_t zone) {
    const size_t count = (s_.racks - zone + s_.zones - 1) / s_.zones;
    return zone + s_.zones * rng_.below(count);
  }
  size_t random_host_in_rack(size_t rack) {
    const size_t count = (s_.hosts - rack + s_.racks - 1) / s_.racks;
    return rack + s_.racks * rng_.below(count);
  }
  size_t random_zone_in_region(size_t region) {
    return region * kZonesPerRegion + rng_.below(kZonesPerRegion);
  }

  /// Hosts for a service's replicas: spread over the zones of its product's region (most),
  /// packed into one zone or one rack (some: domain SPOFs), or over regions (a few).
  void place(const Plan& p, std::vector<size_t>& hosts) {
    hosts.clear();
    const size_t region = p.product % s_.regions;
    enum { kSpread, kZone, kRack, kRegions } policy = kSpread;
    if (p.replicas > 1) {
      const double multi = s_.regions > 1 ? (p.layer <= Layer::kWeb ? 0.10 : 0.03) : 0.0;
      const double x = rng_.unit();
      policy = x < 0.07 ? kRack : x < 0.19 ? kZone : x < 0.19 + multi ? kRegions : kSpread;
    }
    const size_t zone0 = random_zone_in_region(region);
    const size_t rack0 = random_rack_in_zone(zone0);
    const size_t offset = rng_.below(kZonesPerRegion);
    for (uint32_t r = 0; r < p.replicas; ++r) {
      size_t rack = rack0;
      switch (policy) {
        case kSpread:
          rack = random_rack_in_zone(region * kZonesPerRegion + (offset + r) % kZonesPerRegion);
          break;
        case kZone:
          rack = random_rack_in_zone(zone0);
          break;
        case kRack:
          break;
        case kRegions:
          rack = random_rack_in_zone(random_zone_in_region((region + r) % s_.regions));
          break;
      }
      hosts.push_back(random_host_in_rack(rack));
    }
  }

  // Pass 6: the elements, in the order the loaders keep: domains, components, services,
  // entrypoints.
  Topology emit() {
    Topology t;
    t.name = "synthetic-" + std::to_string(o_.components);
    const size_t domains = s_.regions + s_.zones + s_.racks + s_.hosts;
    t.reserve(domains + o_.components + plans_.size() + s_.layer_services[0]);
    const std::array<size_t, 4> level_count = {s_.regions, s_.zones, s_.racks, s_.hosts};
    const std::array<size_t, 4> level_base = {0, s_.regions, s_.regions + s_.zones,
                                              s_.regions + s_.zones + s_.racks};
    static constexpr std::array<std::string_view, 4> kLevelKind = {"region", "zone", "rack",
                                                                   "host"};
    static constexpr std::array<double, 4> kLevelAvailability = {0.99995, 0.9999, 0.9995, 0.999};
    for (size_t level = 0; level < 4; ++level) {
      for (size_t i = 0; i < level_count[level]; ++i) {
        Element e;
        e.kind = ElementKind::kDomain;
        e.id = domain_name(level, i);
        e.type = kLevelKind[level];
        e.availability = kLevelAvailability[level];
        if (level == 1) e.parent = static_cast<ElementId>(level_base[0] + i / kZonesPerRegion);
        if (level == 2) e.parent = static_cast<ElementId>(level_base[1] + i % s_.zones);
        if (level == 3) e.parent = static_cast<ElementId>(level_base[2] + i % s_.racks);
        t.add(std::move(e));
      }
    }

    static constexpr std::array<double, 3> kComponentAvailability = {0.999, 0.9995, 0.9999};
    const size_t host_base = level_base[3];
    const size_t service_base = domains + o_.components;
    std::vector<size_t> hosts;
    std::vector<ElementId> first_member(plans_.size());
    size_t made = 0;
    for (size_t i = 0; i < plans_.size(); ++i) {
      const Plan& p = plans_[i];
      place(p, hosts);
      first_member[i] = static_cast<ElementId>(t.size());
      for (uint32_t r = 0; r < p.replicas; ++r) {
        Element e;
        e.kind = ElementKind::kComponent;
        e.id.reserve(p.id.size() + 4);
        e.id = p.id;
        e.id += '-';
        append_number(e.id, r + 1);
        e.type = kRoles[p.role].component_kind;
        e.domain = static_cast<ElementId>(host_base + hosts[r]);
        e.capacity = capacity_[i];
        // Some components carry their own availability; the others fail only with their host.
        if (rng_.chance(0.25))
          e.availability = kComponentAvailability[rng_.below(kComponentAvailability.size())];
        t.add(std::move(e));
        if (++made % 65536 == 0) report(0.2 + 0.7 * double(made) / double(o_.components));
      }
    }

    for (size_t i = 0; i < plans_.size(); ++i) {
      Plan& p = plans_[i];
      Element e;
      e.kind = ElementKind::kService;
      e.id = std::move(p.id);
      e.type = "service";
      const std::string team = p.product < s_.products
                                   ? std::string(kProducts[p.product % kProducts.size()])
                                   : std::string("platform");
      e.labels = {{"team", team}, {"tier", std::string(to_string(p.layer))}};
      e.members.resize(p.replicas);
      for (uint32_t r = 0; r < p.replicas; ++r)
        e.members[r] = first_member[i] + r;
      e.min_healthy = p.min_healthy;
      e.depends_on = std::move(p.deps);
      for (auto& d : e.depends_on)
        d.target = static_cast<ElementId>(service_base + d.target);
      t.add(std::move(e));
    }

    static constexpr std::array<double, 4> kSlo = {0.999, 0.9995, 0.9999, 0.99};
    for (size_t i = 0; i < s_.layer_services[0]; ++i) {
      const Element& target = t[static_cast<ElementId>(service_base + i)];
      Element e;
      e.kind = ElementKind::kEntrypoint;
      // checkout-lb-v2 -> checkout-v2.example.com
      std::string_view sid = target.id;
      const size_t lb = sid.find("-lb");
      e.id = std::string(sid.substr(0, lb)) + std::string(sid.substr(lb + 3)) + ".example.com";
      e.target = static_cast<ElementId>(service_base + i);
      e.load = entry_load_[i];
      e.slo = kSlo[rng_.weighted(std::array<double, 4>{50, 25, 15, 10})];
      e.labels = {{"team", target.labels[0].second}};
      t.add(std::move(e));
    }
    report(1.0);
    return t;
  }

  const GenerateOptions& o_;
  Shape s_;
  Random rng_;
  std::vector<Plan> plans_;
  /// by_product_[layer][product]: that product's services of that layer, ascending.
  std::vector<std::vector<std::vector<uint32_t>>> by_product_;
  std::vector<double> entry_load_;
  std::vector<double> capacity_;
};

}  // namespace

Topology generate_topology(const GenerateOptions& options) {
  return Generator(options, size_estate(options)).run();
}

}  // namespace achilles::analyzer
