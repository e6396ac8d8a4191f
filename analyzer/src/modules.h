// Independent modules of a directed acyclic graph, for the exact availability.
//
// Why: the structure function of an entrypoint is a DAG of "down" rules over failure
// variables. A node whose whole sub-graph is reached from the rest only through it (a
// module) depends on inputs that nothing else reads, so its probability can be computed
// once, on its own, and it can stand in its parents' diagram for a single variable with that
// probability. Diagrams that are too large as a whole often fit module by module.
#pragma once

#include <cstdint>
#include <vector>

namespace achilles::analyzer::detail {

/// The modules of the DAG `children` below `root`, by the linear-time algorithm of Dutuit
/// and Rauzy (1996): out[v] is 1 when v is reachable from root and no node below v (v
/// excluded) has a parent outside v's sub-graph. Leaves and root are modules; nodes not
/// reachable from root are 0. `children` must be acyclic from root.
std::vector<uint8_t> find_modules(const std::vector<std::vector<uint32_t>>& children,
                                  uint32_t root);

}  // namespace achilles::analyzer::detail
