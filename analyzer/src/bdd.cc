#include "bdd.h"

#include <algorithm>

namespace achilles::analyzer::detail {

namespace {

constexpr uint32_t kEmpty = UINT32_MAX;

uint64_t mix(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t h = a * 0x9E3779B97F4A7C15ULL;
  h ^= (b + 0x632BE59BD9B4E019ULL) * 0xC2B2AE3D27D4EB4FULL;
  h ^= (c + 0x94D049BB133111EBULL) * 0x165667B19E3779F9ULL;
  return h ^ (h >> 31);
}

}  // namespace

Bdd::Bdd(size_t budget, size_t op_budget) : budget_(budget), op_budget_(op_budget) {
  nodes_.push_back({kTerminal, 0, 0});
  nodes_.push_back({kTerminal, 1, 1});
  // Small to start with: a pass may build thousands of small diagrams, one per entrypoint.
  table_.assign(1 << 10, kEmpty);
  cache_.resize(1 << 10);
}

void Bdd::grow_table() {
  std::vector<Node> old(table_.size() * 2, kEmpty);
  old.swap(table_);
  const size_t mask = table_.size() - 1;
  for (Node n : old) {
    if (n == kEmpty) continue;
    const Entry& e = nodes_[n];
    size_t i = mix(e.var, e.lo, e.hi) & mask;
    while (table_[i] != kEmpty)
      i = (i + 1) & mask;
    table_[i] = n;
  }
  // The computed cache grows with the diagram, up to 2^22 lines.
  if (cache_.size() < table_.size() && cache_.size() < (size_t{1} << 22)) {
    cache_.assign(cache_.size() * 2, CacheLine{});
  }
}

Bdd::Node Bdd::make(uint32_t var, Node lo, Node hi) {
  if (lo == hi) return lo;
  const size_t mask = table_.size() - 1;
  size_t i = mix(var, lo, hi) & mask;
  for (; table_[i] != kEmpty; i = (i + 1) & mask) {
    const Entry& e = nodes_[table_[i]];
    if (e.var == var && e.lo == lo && e.hi == hi) return table_[i];
  }
  if (nodes_.size() >= budget_) throw BudgetExceeded();
  Node n = static_cast<Node>(nodes_.size());
  nodes_.push_back({var, lo, hi});
  table_[i] = n;
  if (nodes_.size() * 2 > table_.size()) grow_table();
  return n;
}

Bdd::Node Bdd::var(uint32_t v) {
  return make(v, kFalse, kTrue);
}

Bdd::Node Bdd::ite(Node f, Node g, Node h) {
  if (f == kTrue) return g;
  if (f == kFalse) return h;
  if (g == h) return g;
  if (g == kTrue && h == kFalse) return f;
  if (g == f) g = kTrue;  // ite(f, f, h) = ite(f, 1, h)
  if (h == f) h = kFalse;
  // Normalise the commutative forms so that the cache sees one of them.
  if (g == kTrue && h < f)
    std::swap(f, h);  // f or h
  else if (h == kFalse && g < f)
    std::swap(f, g);  // f and g
  CacheLine& line = cache_[mix(f, g, h) & (cache_.size() - 1)];
  if (line.f == f && line.g == g && line.h == h) return line.r;
  if (++ops_ > op_budget_) throw BudgetExceeded();
  uint32_t v = std::min({top(f), top(g), top(h)});
  auto lo = [&](Node n) { return top(n) == v ? nodes_[n].lo : n; };
  auto hi = [&](Node n) { return top(n) == v ? nodes_[n].hi : n; };
  Node r0 = ite(lo(f), lo(g), lo(h));
  Node r1 = ite(hi(f), hi(g), hi(h));
  Node r = make(v, r0, r1);
  // The recursion may have grown (and so cleared) the cache: look the line up again.
  CacheLine& slot = cache_[mix(f, g, h) & (cache_.size() - 1)];
  slot = {f, g, h, r};
  return r;
}

Bdd::Node Bdd::at_least(uint32_t m, const std::vector<Node>& xs) {
  if (m == 0) return kTrue;
  if (m > xs.size()) return kFalse;
  // t[j]: at least j of the xs seen so far are true.
  std::vector<Node> t(m + 1, kFalse);
  t[0] = kTrue;
  for (Node x : xs)
    for (uint32_t j = m; j >= 1; --j)
      t[j] = ite(x, t[j - 1], t[j]);
  return t[m];
}

std::vector<double> Bdd::probabilities(const std::vector<double>& p) const {
  std::vector<double> out(nodes_.size());
  out[kFalse] = 0;
  out[kTrue] = 1;
  for (size_t n = 2; n < nodes_.size(); ++n) {
    const Entry& e = nodes_[n];
    out[n] = p[e.var] * out[e.hi] + (1 - p[e.var]) * out[e.lo];
  }
  return out;
}

}  // namespace achilles::analyzer::detail
