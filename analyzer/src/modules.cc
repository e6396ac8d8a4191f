#include "modules.h"

#include <algorithm>
#include <utility>

namespace achilles::analyzer::detail {

// One depth-first walk dates every visit: `first` when a node is entered, `second` when it
// is left, `last` the latest visit of all (a later parent reaching it again). A node below v
// that is also reached from outside v's sub-graph is visited either before v is entered or
// after v is left, so v is a module exactly when every node below it has its first visit
// after v's and its last visit before v is left.
std::vector<uint8_t> find_modules(const std::vector<std::vector<uint32_t>>& children,
                                  uint32_t root) {
  const size_t n = children.size();
  std::vector<uint32_t> first(n, 0), second(n, 0), last(n, 0);
  std::vector<uint32_t> post_order;
  uint32_t date = 0;
  std::vector<std::pair<uint32_t, size_t>> stack{{root, 0}};
  first[root] = ++date;
  while (!stack.empty()) {
    auto& [v, i] = stack.back();
    if (i < children[v].size()) {
      const uint32_t c = children[v][i++];
      if (first[c] == 0) {
        first[c] = ++date;
        stack.push_back({c, 0});
      } else {
        last[c] = ++date;  // in a DAG, never while c is still open
      }
      continue;
    }
    second[v] = last[v] = ++date;
    post_order.push_back(v);
    stack.pop_back();
  }
  // The earliest first visit and the latest visit below each node, children before parents.
  std::vector<uint32_t> lo(n, UINT32_MAX), hi(n, 0);
  std::vector<uint8_t> out(n, 0);
  for (uint32_t v : post_order) {
    for (uint32_t c : children[v]) {
      lo[v] = std::min({lo[v], first[c], lo[c]});
      hi[v] = std::max({hi[v], last[c], hi[c]});
    }
    out[v] = lo[v] > first[v] && hi[v] < second[v];
  }
  return out;
}

}  // namespace achilles::analyzer::detail
