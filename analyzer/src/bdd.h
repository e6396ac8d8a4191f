// A small reduced ordered binary decision diagram package, for the exact availability.
//
// Why a BDD: an entrypoint is down for a monotone Boolean function of the failed components
// and domains, and shared parts (a rack under several services, a database behind every
// tier) make the terms dependent, so neither series/parallel reduction nor summing cut sets
// is exact. A reduced ordered BDD represents the function canonically and gives its
// probability in one pass over its nodes, whatever the sharing.
//
// Nodes live in one array; a node's children are always created before it, so every index is
// larger than its children's, and a sweep by increasing index is bottom-up. Variables are
// numbered by the order: variable 0 is at the top.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace achilles::analyzer::detail {

class Bdd {
 public:
  using Node = uint32_t;
  static constexpr Node kFalse = 0;
  static constexpr Node kTrue = 1;
  static constexpr uint32_t kTerminal = UINT32_MAX;

  /// Thrown when more than `budget` nodes would be needed, or more than `op_budget`
  /// operations (ite calls that miss the computed cache) done.
  struct BudgetExceeded : std::runtime_error {
    BudgetExceeded() : std::runtime_error("BDD node budget exceeded") {}
  };

  explicit Bdd(size_t budget, size_t op_budget = SIZE_MAX);

  /// The function "variable v is true".
  Node var(uint32_t v);
  /// if f then g else h.
  Node ite(Node f, Node g, Node h);
  Node lor(Node a, Node b) { return ite(a, kTrue, b); }
  Node land(Node a, Node b) { return ite(a, b, kFalse); }
  /// True when at least `m` of `xs` are true (m >= 1), by dynamic programming over xs.
  Node at_least(uint32_t m, const std::vector<Node>& xs);

  /// The variable tested at node n; kTerminal for kFalse and kTrue.
  uint32_t variable(Node n) const { return nodes_[n].var; }
  Node low(Node n) const { return nodes_[n].lo; }
  Node high(Node n) const { return nodes_[n].hi; }
  size_t size() const { return nodes_.size(); }
  /// Operations done so far (ite calls that missed the computed cache).
  size_t ops() const { return ops_; }

  /// For every node, the probability that the function is true when variable v is true with
  /// probability p[v], independently.
  std::vector<double> probabilities(const std::vector<double>& p) const;

 private:
  struct Entry {
    uint32_t var, lo, hi;
  };
  struct CacheLine {
    Node f = UINT32_MAX, g = 0, h = 0, r = 0;
  };
  Node make(uint32_t var, Node lo, Node hi);
  void grow_table();
  uint32_t top(Node n) const { return nodes_[n].var; }

  size_t budget_;
  size_t op_budget_;
  size_t ops_ = 0;
  std::vector<Entry> nodes_;
  std::vector<Node> table_;  // open addressing; UINT32_MAX is empty
  std::vector<CacheLine> cache_;
};

}  // namespace achilles::analyzer::detail
