// Most harmful first (order.h).
#include "achilles/reports/order.h"

#include <algorithm>
#include <array>
#include <numeric>
#include <string_view>
#include <tuple>

namespace achilles::reports {

using analyzer::Element;
using analyzer::ElementId;
using analyzer::ElementKind;
using analyzer::Topology;

namespace {

/// A `kind` of the data-holding family: a word of it (split at - _ . /) is one of these.
bool stateful_kind(std::string_view kind) {
  static constexpr std::array<std::string_view, 27> kWords = {
      "database",  "databases", "db",     "rds",      "sql",   "postgres",     "postgresql",
      "mysql",     "mariadb",   "mongo",  "mongodb",  "redis", "memcached",    "cache",
      "queue",     "broker",    "kafka",  "rabbitmq", "nats",  "sqs",          "store",
      "datastore", "storage",   "volume", "disk",     "etcd",  "elasticsearch"};
  std::string word;
  auto check = [&] {
    bool hit = std::find(kWords.begin(), kWords.end(), word) != kWords.end();
    word.clear();
    return hit;
  };
  for (char c : kind) {
    if (c == '-' || c == '_' || c == '.' || c == '/' || c == ' ') {
      if (check()) return true;
    } else {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return check();
}

bool holds_data(const Topology& t, ElementId x, int depth) {
  const Element& e = t[x];
  if (stateful_kind(e.type)) return true;
  if (e.kind == ElementKind::kComponent)
    for (const auto& d : e.depends_on) {
      if (d.target == analyzer::kNoElement) continue;
      const std::string& k = t[d.target].type;
      if (k == "volume" || k == "disk" || k == "pvc" || k == "persistentvolumeclaim") return true;
    }
  if (e.kind == ElementKind::kService && depth < 8)
    for (ElementId m : e.members)
      if (holds_data(t, m, depth + 1)) return true;
  return false;
}

template <typename HarmOf>
std::vector<size_t> order(size_t n, HarmOf harm_of) {
  std::vector<Harm> harms(n);
  for (size_t i = 0; i < n; ++i)
    harms[i] = harm_of(i);
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::stable_sort(idx.begin(), idx.end(),
                   [&](size_t a, size_t b) { return more_harmful(harms[a], harms[b]); });
  return idx;
}

}  // namespace

bool is_stateful(const Topology& topology, ElementId x) {
  return holds_data(topology, x, 0);
}

bool more_harmful(const Harm& a, const Harm& b) {
  auto key = [](const Harm& h) {
    return std::make_tuple(-h.severity, h.entrypoints_down, h.services_down, h.components_down,
                           h.stateful);
  };
  return key(a) > key(b);
}

std::vector<size_t> harm_order(const Topology& topology,
                               const std::vector<analyzer::Finding>& findings) {
  return order(findings.size(), [&](size_t i) {
    const auto& f = findings[i];
    Harm h{analyzer::severity_rank(f.severity), f.impact.entrypoints_down.size(),
           f.impact.services_down, f.impact.components_down, false};
    for (const auto& s : f.subject)
      if (auto x = topology.find(s); x && is_stateful(topology, *x)) h.stateful = true;
    return h;
  });
}

std::vector<size_t> harm_order(const Topology& topology, const nlohmann::json& findings) {
  using nlohmann::json;
  return order(findings.size(), [&](size_t i) {
    const json& f = findings[i];
    const json impact = f.value("impact", json::object());
    Harm h{analyzer::severity_rank(f.value("severity", "")),
           impact.value("entrypoints_down", json::array()).size(),
           impact.value("services_down", size_t{0}), impact.value("components_down", size_t{0}),
           false};
    for (const auto& s : f.value("subject", json::array()))
      if (s.is_string())
        if (auto x = topology.find(s.get<std::string>()); x && is_stateful(topology, *x))
          h.stateful = true;
    return h;
  });
}

}  // namespace achilles::reports
