// Strongly connected components, for the two passes that need them in dependency order: the
// load solver (its nets, solved one component at a time, sources first) and the availability
// pass (the groups of down inputs, solved dependencies first).
//
// Why not Boost.Graph's strong_components: both callers already hold their graph as rows of
// successors, and both need the components in Tarjan's completion order with each component's
// elements in the order they leave the stack (the load solver's float sums and so its output
// depend on it). strong_components numbers the components in the same order, but takes a
// Boost graph (a copy of the rows at 10^6 elements) and gives the elements of a component only
// as a map to be inverted. Measured in bench/RESULTS.md ("Strongly connected components").
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "achilles/analyzer/model.h"

namespace achilles::analyzer {

/// The ids 0 .. n-1, as roots that visit everything. (std::views::iota would do, but clang 14
/// cannot compile it with libstdc++ 12, and the fuzz targets are built with clang 14.)
struct AllElements {
  struct Iterator {
    ElementId x;
    ElementId operator*() const { return x; }
    Iterator& operator++() {
      ++x;
      return *this;
    }
    bool operator!=(const Iterator& o) const { return x != o.x; }
  };
  std::size_t n;
  Iterator begin() const { return {0}; }
  Iterator end() const { return {static_cast<ElementId>(n)}; }
};

/// Tarjan's algorithm, iteratively (no recursion: chains of 10^6 elements). Visits what
/// `roots` reach through `degree(x)` successors `target(x, i)`, i < degree(x), of the `n`
/// elements, and calls `complete(group)` for each component once every component it reaches
/// has completed; `group` lists its elements in the order they leave Tarjan's stack.
template <typename Roots, typename Degree, typename Target, typename Complete>
void strong_components(std::size_t n, const Roots& roots, Degree degree, Target target,
                       Complete complete) {
  std::vector<uint32_t> index(n, UINT32_MAX), low(n, 0);
  std::vector<uint8_t> on_stack(n, 0);
  std::vector<ElementId> stack, group;
  std::vector<std::pair<ElementId, std::size_t>> call;  // element, next successor
  uint32_t counter = 0;
  for (ElementId root : roots) {
    if (index[root] != UINT32_MAX) continue;
    index[root] = low[root] = counter++;
    stack.push_back(root);
    on_stack[root] = 1;
    call.push_back({root, 0});
    while (!call.empty()) {
      auto& [x, i] = call.back();
      if (i < degree(x)) {
        const ElementId y = target(x, i++);
        if (index[y] == UINT32_MAX) {
          index[y] = low[y] = counter++;
          stack.push_back(y);
          on_stack[y] = 1;
          call.push_back({y, 0});
        } else if (on_stack[y]) {
          low[x] = std::min(low[x], index[y]);
        }
        continue;
      }
      const ElementId done = x;
      call.pop_back();
      if (!call.empty()) low[call.back().first] = std::min(low[call.back().first], low[done]);
      if (low[done] != index[done]) continue;
      group.clear();
      ElementId y;
      do {
        y = stack.back();
        stack.pop_back();
        on_stack[y] = 0;
        group.push_back(y);
      } while (y != done);
      complete(std::span<const ElementId>(group));
    }
  }
}

}  // namespace achilles::analyzer
