// How harmful a finding is (harm.h): what holds data, and the order of harms.
#include "achilles/analyzer/harm.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <string_view>
#include <tuple>

namespace achilles::analyzer {

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

/// The label `stateful` (what an importer writes: `stateful: "a StatefulSet"`), unless it
/// says "false" or "no".
bool stateful_label(const Element& e) {
  for (const auto& [k, v] : e.labels)
    if (k == "stateful") return !v.empty() && v != "false" && v != "no";
  return false;
}

bool holds_data(const Topology& t, ElementId x, int depth) {
  const Element& e = t[x];
  if (stateful_kind(e.type) || stateful_label(e)) return true;
  if (e.kind == ElementKind::kComponent)
    for (const auto& d : e.depends_on) {
      if (d.target == kNoElement) continue;
      const std::string& k = t[d.target].type;
      if (k == "volume" || k == "disk" || k == "pvc" || k == "persistentvolumeclaim") return true;
    }
  if (e.kind == ElementKind::kService && depth < 8)
    for (ElementId m : e.members)
      if (holds_data(t, m, depth + 1)) return true;
  return false;
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

Harm harm_of(const Topology& topology, const Finding& f) {
  Harm h{severity_rank(f.severity), f.impact.entrypoints_down.size(), f.impact.services_down,
         f.impact.components_down, false};
  for (const auto& s : f.subject)
    if (auto x = topology.find(s); x && is_stateful(topology, *x)) h.stateful = true;
  return h;
}

}  // namespace achilles::analyzer
