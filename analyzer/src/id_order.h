// The elements in the order of their ids.
//
// Why: the findings list ids sorted (subjects, the entrypoints down and degraded), and the
// utilization table is in id order. Comparing the id strings costs two cache misses per
// comparison at scale (the Element, then the string's buffer); a rank computed once per
// element turns each of those sorts into one of integers, and the table into a walk.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "achilles/analyzer/model.h"

namespace achilles::analyzer::detail {

class IdOrder {
 public:
  /// Sorts the ids on up to `threads` threads.
  IdOrder(const Topology& topology, unsigned threads);

  /// x's position among the ids in std::string order.
  uint32_t rank(ElementId x) const { return rank_[x]; }
  /// Every element, in the order of its id.
  const std::vector<ElementId>& sorted() const { return sorted_; }
  /// The ids of `ids`, sorted.
  std::vector<std::string> ids(std::vector<ElementId> ids) const;
  /// The same as views of the topology's ids: no copies.
  std::vector<std::string_view> views(std::vector<ElementId> ids) const;
  /// Whether a's id sorts before b's.
  bool before(ElementId a, ElementId b) const { return rank_[a] < rank_[b]; }

 private:
  template <typename String>
  std::vector<String> sorted_ids(std::vector<ElementId> ids) const;

  const Topology& topology_;
  std::vector<uint32_t> rank_;
  std::vector<ElementId> sorted_;
};

}  // namespace achilles::analyzer::detail
