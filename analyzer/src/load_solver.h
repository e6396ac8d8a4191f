// The load solver behind load.h and the capacity findings.
//
// Why this shape: the loads are the solution of a linear system L = b + A L, where A holds
// the gains of the edges (a dependency's `calls`, a service's share to a member) among the
// elements that are not down. Solving it one strongly connected component at a time, in
// topological order, costs one pass for a DAG and a small dense solve for each cycle. A
// failure changes the system only at the elements that fell and at the shares of the services
// that lost members, so a scenario re-solves only the components downstream of those, and
// stops where the loads stop changing: a single failure costs its reach, not the topology.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <span>
#include <vector>

#include "achilles/analyzer/model.h"

namespace achilles::analyzer::detail {

/// The load graph: entrypoint -> target, element -> dependency (hard and soft), service ->
/// member, in compressed rows both ways, with its strongly connected components.
class LoadNet {
 public:
  enum class Edge : uint8_t { kTarget, kDependency, kMember };
  struct Arc {
    ElementId other;  ///< the other end: the target of an out-arc, the source of an in-arc
    Edge edge;
    /// For kDependency its calls; for kMember the member's weight in the service's shares
    /// (its capacity when the service spreads by capacity, else 1); 1 for kTarget.
    double calls;
  };

  explicit LoadNet(const Topology& topology);

  const Topology& topology() const { return topology_; }
  size_t size() const { return in_offset_.size() - 1; }
  std::span<const Arc> in(ElementId y) const {
    return {in_.data() + in_offset_[y], in_.data() + in_offset_[y + 1]};
  }
  std::span<const Arc> out(ElementId x) const {
    return {out_.data() + out_offset_[x], out_.data() + out_offset_[x + 1]};
  }
  /// Hints that in(y) will be read soon: where its row starts, then (once that is in the
  /// cache) the row (see prefetch.h).
  void prefetch_in_offset(ElementId y) const { __builtin_prefetch(&in_offset_[y]); }
  void prefetch_in(ElementId y) const { __builtin_prefetch(in_.data() + in_offset_[y]); }
  /// The same for out(x).
  void prefetch_out_offset(ElementId x) const { __builtin_prefetch(&out_offset_[x]); }
  void prefetch_out(ElementId x) const { __builtin_prefetch(out_.data() + out_offset_[x]); }
  /// Rank of x's strongly connected component in topological order (sources first).
  uint32_t scc(ElementId x) const { return scc_[x]; }
  size_t scc_count() const { return scc_offset_.size() - 1; }
  std::span<const ElementId> scc_nodes(uint32_t c) const {
    return {scc_elements_.data() + scc_offset_[c], scc_elements_.data() + scc_offset_[c + 1]};
  }
  /// The component has a cycle: two or more elements, or a self-loop.
  bool cyclic(uint32_t c) const { return cyclic_[c]; }
  /// capacity_of() for every element; NaN when none.
  double capacity(ElementId x) const { return capacity_[x]; }
  /// Service: every member has a capacity, so load is spread in proportion to it.
  bool by_capacity(ElementId s) const { return by_capacity_[s]; }
  /// Entrypoint: its `load`; 0 for the rest.
  double source(ElementId x) const { return source_[x]; }

 private:
  const Topology& topology_;
  std::vector<uint32_t> in_offset_, out_offset_;
  std::vector<Arc> in_, out_;
  std::vector<uint32_t> scc_;
  // The components' elements in compressed rows, by rank: one allocation, not one each.
  std::vector<uint32_t> scc_offset_;
  std::vector<ElementId> scc_elements_;
  std::vector<uint8_t> cyclic_;
  std::vector<double> capacity_;
  std::vector<uint8_t> by_capacity_;
  std::vector<double> source_;
};

/// Solves the loads of a LoadNet: once with nothing down (the baseline), then for any number
/// of scenarios, each relative to the baseline.
class LoadSolver {
 public:
  explicit LoadSolver(const LoadNet& net);

  /// Solves every component with nothing down; the result is the baseline.
  void solve_baseline();
  double baseline(ElementId x) const { return node_[x].base; }

  /// Re-solves what a scenario changes: `down_list` is everything down in it and `hit` the
  /// services that lost members and stayed not down (as the Propagator gives them).
  ///
  /// With `upper_bound`, only the rises are followed (a service's share growing when it lost
  /// members, and what that reaches); the falls (what went down passes no load) are not. The
  /// loads are then upper bounds of the scenario's, by monotonicity of L = b + A L in A's
  /// non-negative entries, and cost only the reach of the rises: a failure that takes down a
  /// whole entrypoint's cone lowers every load in it, which cannot overload anything.
  void solve_scenario(const std::vector<ElementId>& down_list, const std::vector<ElementId>& hit,
                      bool upper_bound = false);
  /// Forgets the last scenario: every load reads its baseline again, and nothing is down.
  void clear() { begin(); }
  /// Limits the next solve_scenario to the elements whose loads reach `roots` (the roots and
  /// every element with a path of load to them): the others keep their baseline and are not
  /// to be read. False, and no limit, when there are more than `cap` of them.
  bool restrict_to(const std::vector<ElementId>& roots, size_t cap);
  /// The load of x in the last scenario.
  double load(ElementId x) const {
    const Node& n = node_[x];
    return n.stamp == gen_ ? n.val : n.base;
  }
  /// Whether x is down in the last scenario.
  bool is_down(ElementId x) const { return node_[x].down == gen_; }
  /// Elements the last scenario re-solved (the others kept their baseline load).
  const std::vector<ElementId>& touched() const { return touched_; }
  /// The predecessor that sends x the most load in the last scenario (kNoElement if none):
  /// for an explanation chain.
  ElementId main_source(ElementId x) const;

 private:
  // Why one record per element: a scenario reads and writes all of these for every element
  // it reaches, and the elements it reaches are scattered over the topology; in separate
  // arrays each would be a cache miss of its own. The fields stamped with a generation are
  // valid only when the stamp is the current scenario's (gen_ or rel_gen_).
  struct alignas(64) Node {
    double base = 0;   // the baseline load
    double val = 0;    // the scenario's load (stamp)
    double delta = 0;  // what the changed sources sent (delta_stamp), see below
    // LoadNet::out(), here rather than behind its offsets: every re-solved element reads it.
    const LoadNet::Arc* out = nullptr;
    uint32_t out_size = 0;
    uint32_t scc = 0;  // LoadNet::scc()
    uint32_t stamp = 0, delta_stamp = 0;
    uint32_t down = 0;    // down in the scenario
    uint32_t queued = 0;  // an acyclic component waiting to be solved
    uint32_t rel = 0;     // restrict_to() keeps it
    bool full = false;    // delta_stamp: must be re-summed (an unbounded load is involved)
    bool cyclic = false;  // LoadNet::cyclic() of its component
  };
  static_assert(sizeof(Node) == 64, "one cache line");
  // Shares of services, computed once per scenario: the denominator over members not down.
  struct Share {
    double base_den = 0;  // with nothing down
    double den = 0;
    uint32_t stamp = 0;
  };

  // The loops over the down list, the leaves, restrict_to()'s queue and the receivers of an
  // element's arcs prefetch ahead (prefetch.h); push() asks for the out-arcs of what it
  // queues, which send_deltas() reads once that is solved.
  void prefetch_node(ElementId x) const { __builtin_prefetch(&node_[x], 1); }
  std::span<const LoadNet::Arc> out(ElementId x) const { return {node_[x].out, node_[x].out_size}; }
  void begin();
  void push(ElementId y);
  void solve(uint32_t c, ElementId y);
  void set(ElementId x, double v);
  /// Gain of an arc from `x` into its other end, now and with nothing down.
  double gain_from(ElementId x, const LoadNet::Arc& a);
  double base_gain(ElementId x, const LoadNet::Arc& a) const;
  /// After x (of component c) is solved in a scenario: what each arc out of it sends differs
  /// from the baseline by some delta; add it to the receiving element and queue its
  /// component.
  void send_deltas(uint32_t c, ElementId x);
  /// Load from the arcs into y whose source is outside component c (or all when c is none).
  double inflow(ElementId y, uint32_t c);
  void solve_cycle(uint32_t c);

  const LoadNet& net_;
  std::vector<Node> node_;
  std::vector<Share> share_;
  uint32_t gen_ = 0;
  std::vector<ElementId> touched_;
  // Why deltas: an element with a large in-degree (a database behind every service) would
  // otherwise be re-summed over all its in-arcs in every scenario that changes any of them,
  // which is quadratic over the single failures. An acyclic element's scenario load is its
  // baseline plus the deltas its changed sources sent, unless marked `full`.
  bool baseline_mode_ = false;
  bool upper_bound_ = false;
  // restrict_to(): the elements marked with rel_gen_ are the only ones solved.
  uint32_t rel_gen_ = 0;
  bool restricted_ = false;
  // Components waiting to be solved, smallest rank first, each with one of its elements:
  // (rank << 32) | element.
  std::priority_queue<uint64_t, std::vector<uint64_t>, std::greater<>> queue_;
  // Acyclic elements with no out-arcs waiting to be solved after everything else (push()).
  std::vector<ElementId> leaves_;
  // The cyclic components waiting, by rank (an acyclic one is marked in its Node).
  std::vector<uint32_t> cycle_queued_;
};

}  // namespace achilles::analyzer::detail
