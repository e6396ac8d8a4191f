// Most harmful first (order.h).
#include "achilles/reports/order.h"

#include <algorithm>
#include <numeric>

namespace achilles::reports {

using analyzer::Topology;

namespace {

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

std::vector<size_t> harm_order(const Topology& topology,
                               const std::vector<analyzer::Finding>& findings) {
  return order(findings.size(), [&](size_t i) { return analyzer::harm_of(topology, findings[i]); });
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
