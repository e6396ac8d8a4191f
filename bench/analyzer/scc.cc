// Strongly connected components: the analyzer's routine (analyzer/src/scc.h) against Boost.Graph's
// strong_components, on the same random graph of N vertices and 2.5 N arcs held as rows of
// successors (as the load solver holds its nets). Boost's time includes building its graph
// from the rows, which is what using it would cost the analyzer. Prints the fastest of 5 runs of
// each, and checks that both find the same number of components.
//   bench/analyzer/scc.sh [N]
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/compressed_sparse_row_graph.hpp>
#include <boost/graph/strong_components.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "scc.h"

using achilles::analyzer::ElementId;

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1000000;
  std::mt19937_64 rng(1);
  // Mostly forward arcs (a layered estate) with a few back arcs, so that there are cycles.
  std::vector<std::pair<ElementId, ElementId>> arcs;
  for (std::size_t i = 0; i < n * 5 / 2; ++i) {
    const auto a = static_cast<ElementId>(rng() % n);
    const auto span = static_cast<ElementId>(1 + rng() % 64);
    const bool back = rng() % 50 == 0;
    const ElementId b = back ? (a >= span ? a - span : 0) : static_cast<ElementId>((a + span) % n);
    arcs.push_back({a, b});
  }
  std::sort(arcs.begin(), arcs.end());
  std::vector<uint32_t> offset(n + 1, 0);
  std::vector<ElementId> target;
  for (auto [a, b] : arcs)
    ++offset[a + 1], target.push_back(b);
  for (std::size_t i = 0; i < n; ++i)
    offset[i + 1] += offset[i];

  using Clock = std::chrono::steady_clock;
  double ours = 1e9, boost_time = 1e9;
  std::size_t ours_count = 0, boost_count = 0;
  for (int run = 0; run < 5; ++run) {
    auto t0 = Clock::now();
    std::size_t count = 0;
    achilles::analyzer::strong_components(
        n, achilles::analyzer::AllElements{n},
        [&](ElementId x) { return offset[x + 1] - offset[x]; },
        [&](ElementId x, std::size_t i) { return target[offset[x] + i]; },
        [&](std::span<const ElementId>) { ++count; });
    ours = std::min(ours, std::chrono::duration<double>(Clock::now() - t0).count());
    ours_count = count;

    t0 = Clock::now();
    using Csr = boost::compressed_sparse_row_graph<boost::directedS>;
    Csr g(boost::edges_are_sorted, arcs.begin(), arcs.end(), n);
    std::vector<std::size_t> component(n);
    boost_count = boost::strong_components(
        g, boost::make_iterator_property_map(component.begin(), get(boost::vertex_index, g)));
    // The analyzer needs each component's elements: invert the map.
    std::vector<std::vector<ElementId>> members(boost_count);
    for (std::size_t v = 0; v < n; ++v)
      members[component[v]].push_back(static_cast<ElementId>(v));
    boost_time = std::min(boost_time, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::printf(
      "N = %zu, %zu arcs: scc.h %.3f s, Boost.Graph strong_components (CSR build + "
      "components + members) %.3f s; %zu and %zu components\n",
      n, arcs.size(), ours, boost_time, ours_count, boost_count);
  return ours_count == boost_count ? 0 : 1;
}
