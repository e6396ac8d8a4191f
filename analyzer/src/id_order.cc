#include "id_order.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "parallel.h"

namespace achilles::analyzer::detail {

IdOrder::IdOrder(const Topology& topology, unsigned threads) : topology_(topology) {
  const size_t n = topology.size();
  // The keys carry the first 24 bytes of the id (all of most ids), in an order where
  // comparing the numbers compares the bytes (ids hold no NUL, so the zero padding sorts a
  // shorter id first), and only ids that share them are compared whole: the ids themselves
  // lie scattered over the heap, a cache miss each.
  struct Key {
    uint64_t word[3];
    ElementId x;
  };
  auto word = [](std::string_view id, size_t from) {
    uint64_t w = 0;
    for (size_t i = from; i < from + 8; ++i)
      w = w << 8 | (i < id.size() ? static_cast<unsigned char>(id[i]) : 0u);
    return w;
  };
  std::vector<Key> keys(n);
  for (ElementId x = 0; x < n; ++x) {
    std::string_view id = topology[x].id;
    keys[x] = {{word(id, 0), word(id, 8), word(id, 16)}, x};
  }
  auto by_id = [&](const Key& a, const Key& b) {
    for (int i = 0; i < 3; ++i)
      if (a.word[i] != b.word[i]) return a.word[i] < b.word[i];
    return topology[a.x].id < topology[b.x].id;
  };
  parallel_sort(keys.begin(), keys.end(), by_id, threads);
  rank_.resize(n);
  sorted_.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    sorted_[i] = keys[i].x;
    rank_[keys[i].x] = i;
  }
}

template <typename String>
std::vector<String> IdOrder::sorted_ids(std::vector<ElementId> ids) const {
  std::sort(ids.begin(), ids.end(), [&](ElementId a, ElementId b) { return before(a, b); });
  std::vector<String> out;
  out.reserve(ids.size());
  for (ElementId x : ids)
    out.emplace_back(topology_[x].id);
  return out;
}

std::vector<std::string> IdOrder::ids(std::vector<ElementId> ids) const {
  return sorted_ids<std::string>(std::move(ids));
}

std::vector<std::string_view> IdOrder::views(std::vector<ElementId> ids) const {
  return sorted_ids<std::string_view>(std::move(ids));
}

}  // namespace achilles::analyzer::detail
