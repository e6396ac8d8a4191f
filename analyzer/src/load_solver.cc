#include "load_solver.h"

#include "prefetch.h"
#include "scc.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <functional>
#include <limits>

namespace achilles::analyzer::detail {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
/// Cycles up to this many elements are solved densely; larger ones by iteration.
constexpr size_t kDenseLimit = 300;
constexpr int kIterations = 4000;

}  // namespace

LoadNet::LoadNet(const Topology& t) : topology_(t) {
  const size_t n = t.size();
  // Capacities: services in an order where members come first (membership has no cycle).
  capacity_.assign(n, std::nan(""));
  by_capacity_.assign(n, 0);
  source_.assign(n, 0.0);
  std::vector<uint8_t> done(n, 0);
  std::function<void(ElementId)> cap = [&](ElementId x) {
    if (done[x]) return;
    done[x] = 1;
    const Element& e = t[x];
    if (e.kind == ElementKind::kService) {
      bool all = true;
      double sum = 0;
      for (ElementId m : e.members) {
        cap(m);
        all = all && !std::isnan(capacity_[m]);
        sum += std::isnan(capacity_[m]) ? 0 : capacity_[m];
      }
      by_capacity_[x] = all;
      if (e.capacity)
        capacity_[x] = *e.capacity;
      else if (all)
        capacity_[x] = sum;
    } else if (e.kind == ElementKind::kComponent && e.capacity) {
      capacity_[x] = *e.capacity;
    }
    if (e.kind == ElementKind::kEntrypoint && e.load) source_[x] = *e.load;
  };
  for (ElementId x = 0; x < n; ++x)
    cap(x);

  auto for_each_arc = [&](auto emit) {
    for (ElementId x = 0; x < n; ++x) {
      const Element& e = t[x];
      if (e.kind == ElementKind::kEntrypoint && e.target != kNoElement)
        emit(x, e.target, Edge::kTarget, 1.0);
      for (const Dependency& d : e.depends_on)
        emit(x, d.target, Edge::kDependency, d.calls);
      for (ElementId m : e.members)
        emit(x, m, Edge::kMember, by_capacity_[x] ? capacity_[m] : 1.0);
    }
  };
  in_offset_.assign(n + 2, 0);
  out_offset_.assign(n + 2, 0);
  for_each_arc([&](ElementId x, ElementId y, Edge, double) {
    ++out_offset_[x + 2];
    ++in_offset_[y + 2];
  });
  for (size_t i = 2; i < n + 2; ++i) {
    in_offset_[i] += in_offset_[i - 1];
    out_offset_[i] += out_offset_[i - 1];
  }
  in_.resize(in_offset_.back());
  out_.resize(out_offset_.back());
  for_each_arc([&](ElementId x, ElementId y, Edge edge, double calls) {
    out_[out_offset_[x + 1]++] = {y, edge, calls};
    in_[in_offset_[y + 1]++] = {x, edge, calls};
  });
  in_offset_.pop_back();
  out_offset_.pop_back();

  // The strongly connected components complete sinks first, so the ranks are assigned in
  // reverse at the end. The groups in the order they complete, flat: group g is
  // completed[starts[g] .. starts[g + 1]).
  std::vector<ElementId> completed;
  std::vector<uint32_t> starts{0};
  completed.reserve(n);
  strong_components(
      n, AllElements{n}, [&](ElementId x) { return out_offset_[x + 1] - out_offset_[x]; },
      [&](ElementId x, std::size_t i) { return out_[out_offset_[x] + i].other; },
      [&](std::span<const ElementId> group) {
        completed.insert(completed.end(), group.begin(), group.end());
        starts.push_back(static_cast<uint32_t>(completed.size()));
      });
  // Rank c is the group completed (count - 1 - c)th; its elements keep their order.
  const size_t count = starts.size() - 1;
  scc_.assign(n, 0);
  cyclic_.assign(count, 0);
  scc_offset_.assign(count + 1, 0);
  scc_elements_.clear();
  scc_elements_.reserve(n);
  for (uint32_t c = 0; c < count; ++c) {
    size_t g = count - 1 - c;
    for (uint32_t i = starts[g]; i < starts[g + 1]; ++i) {
      scc_[completed[i]] = c;
      scc_elements_.push_back(completed[i]);
    }
    scc_offset_[c + 1] = static_cast<uint32_t>(scc_elements_.size());
    if (starts[g + 1] - starts[g] > 1) cyclic_[c] = 1;
  }
  for (ElementId x = 0; x < n; ++x)
    for (const Arc& a : out(x))
      if (a.other == x) cyclic_[scc_[x]] = 1;
}

LoadSolver::LoadSolver(const LoadNet& net)
    : net_(net), node_(net.size()), share_(net.size()), cycle_queued_(net.scc_count(), 0) {
  for (ElementId x = 0; x < net.size(); ++x) {
    node_[x].scc = net.scc(x);
    node_[x].cyclic = net.cyclic(net.scc(x));
    node_[x].out = net.out(x).data();
    node_[x].out_size = static_cast<uint32_t>(net.out(x).size());
  }
}

void LoadSolver::begin() {
  if (++gen_ == 0) {
    for (Node& n : node_)
      n.stamp = n.delta_stamp = n.down = n.queued = 0;
    for (Share& s : share_)
      s.stamp = 0;
    std::fill(cycle_queued_.begin(), cycle_queued_.end(), 0);
    gen_ = 1;
  }
  touched_.clear();
}

void LoadSolver::solve_baseline() {
  begin();
  baseline_mode_ = true;
  for (uint32_t c = 0; c < net_.scc_count(); ++c)
    solve(c, net_.scc_nodes(c)[0]);
  baseline_mode_ = false;
  for (ElementId x : touched_)
    node_[x].base = node_[x].val;
  for (ElementId s = 0; s < net_.size(); ++s) {
    double den = 0;
    for (const LoadNet::Arc& m : net_.out(s))
      if (m.edge == LoadNet::Edge::kMember) den += m.calls;
    share_[s].base_den = den;
  }
  begin();  // the baseline is now what every element reads when untouched
}

bool LoadSolver::restrict_to(const std::vector<ElementId>& roots, size_t cap) {
  if (++rel_gen_ == 0) {
    for (Node& n : node_)
      n.rel = 0;
    rel_gen_ = 1;
  }
  std::vector<ElementId> queue;
  auto mark = [&](ElementId x) {
    Node& n = node_[x];
    if (n.rel == rel_gen_) return;
    if (!n.cyclic) {
      n.rel = rel_gen_;
      queue.push_back(x);
      return;
    }
    // A cycle is solved whole: all of it, and what reaches any of it.
    for (ElementId y : net_.scc_nodes(n.scc))
      if (node_[y].rel != rel_gen_) node_[y].rel = rel_gen_, queue.push_back(y);
  };
  for (ElementId r : roots)
    mark(r);
  for (size_t head = 0; head < queue.size(); ++head) {
    if (queue.size() > cap) {
      restricted_ = false;
      return false;
    }
    prefetch_ahead(
        queue, head, [&](ElementId y) { net_.prefetch_in_offset(y); },
        [&](ElementId y) { net_.prefetch_in(y); });
    for (const LoadNet::Arc& a : net_.in(queue[head]))
      mark(a.other);
  }
  restricted_ = true;
  return true;
}

void LoadSolver::push(ElementId y) {
  Node& n = node_[y];
  if (restricted_ && n.rel != rel_gen_) return;
  uint32_t& queued = n.cyclic ? cycle_queued_[n.scc] : n.queued;
  if (queued == gen_) return;
  queued = gen_;
  // An acyclic element that sends load nowhere can wait until the rest is solved: nothing it
  // does reaches anything else. Most members are such leaves, and a failure of a rack hits
  // thousands of services, each of whose members must be re-solved.
  if (!n.cyclic && n.out_size == 0) {
    leaves_.push_back(y);
  } else {
    queue_.push(uint64_t{n.scc} << 32 | y);
    __builtin_prefetch(n.out);  // send_deltas() reads it once y is solved
  }
}

void LoadSolver::solve_scenario(const std::vector<ElementId>& down_list,
                                const std::vector<ElementId>& hit, bool upper_bound) {
  begin();
  upper_bound_ = upper_bound;
  for (size_t i = 0; i < down_list.size(); ++i) {
    prefetch_ahead(down_list, i, [&](ElementId d) { prefetch_node(d); });
    node_[down_list[i]].down = gen_;
  }
  // What is down only lowers loads, and is no survivor: upper bounds need not solve it.
  if (!upper_bound)
    for (ElementId d : down_list)
      push(d);
  // A service that lost a member spreads its load over the others now: re-solving the
  // service sends its members the new shares (once per service, however many it lost).
  for (ElementId s : hit)
    push(s);
  while (!queue_.empty()) {
    uint64_t top = queue_.top();
    queue_.pop();
    const auto c = static_cast<uint32_t>(top >> 32);
    const auto y = static_cast<ElementId>(top);
    solve(c, y);
    if (node_[y].cyclic)
      for (ElementId x : net_.scc_nodes(c))
        send_deltas(c, x);
    else
      send_deltas(c, y);
  }
  for (size_t i = 0; i < leaves_.size(); ++i) {
    prefetch_ahead(leaves_, i, [&](ElementId y) { prefetch_node(y); });
    solve(node_[leaves_[i]].scc, leaves_[i]);
  }
  leaves_.clear();
  restricted_ = false;
}

void LoadSolver::send_deltas(uint32_t c, ElementId x) {
  const double now = is_down(x) ? 0.0 : load(x), before = node_[x].base;
  const auto arcs = out(x);
  // Every arc's receiver is read: ask for them all at once rather than one miss at a time
  // (push() between them keeps the core from running far ahead on its own).
  for (const LoadNet::Arc& a : arcs.first(std::min(arcs.size(), 2 * kPrefetchAhead)))
    prefetch_node(a.other);
  for (const LoadNet::Arc& a : arcs) {
    Node& y = node_[a.other];
    if (y.scc == c) continue;
    double was = before == 0 ? 0.0 : before * base_gain(x, a);
    double is = now == 0 ? 0.0 : now * gain_from(x, a);
    if (!std::isfinite(was) || !std::isfinite(is)) {
      if (was == is) continue;
      if (y.delta_stamp != gen_) y.delta_stamp = gen_, y.delta = 0;
      y.full = true;
      push(a.other);
      continue;
    }
    double d = is - was;
    if (upper_bound_ && d < 0) continue;
    if (std::abs(d) <= 1e-12 * std::max({1.0, std::abs(was), std::abs(is)})) continue;
    if (y.delta_stamp != gen_) y.delta_stamp = gen_, y.delta = 0, y.full = false;
    y.delta += d;
    push(a.other);
  }
}

void LoadSolver::set(ElementId x, double v) {
  Node& n = node_[x];
  if (n.stamp != gen_) {
    n.stamp = gen_;
    touched_.push_back(x);
  }
  n.val = v;
}

double LoadSolver::base_gain(ElementId s, const LoadNet::Arc& a) const {
  if (a.edge != LoadNet::Edge::kMember) return a.calls;
  if (share_[s].base_den <= 0) return 0;
  return a.calls / share_[s].base_den;
}

double LoadSolver::gain_from(ElementId s, const LoadNet::Arc& a) {
  if (a.edge != LoadNet::Edge::kMember) return a.calls;
  Share& share = share_[s];
  if (share.stamp != gen_) {
    share.stamp = gen_;
    double den = 0;
    for (const LoadNet::Arc& m : out(s))
      if (m.edge == LoadNet::Edge::kMember && !is_down(m.other)) den += m.calls;
    share.den = den;
  }
  if (share.den <= 0) return 0;
  return a.calls / share.den;
}

double LoadSolver::inflow(ElementId y, uint32_t c) {
  double sum = net_.source(y);
  for (const LoadNet::Arc& a : net_.in(y)) {
    if (node_[a.other].scc == c || is_down(a.other)) continue;
    double l = load(a.other);
    if (l == 0) continue;
    // The in-arc's `calls` is the out-arc's from a.other into y.
    sum += l * gain_from(a.other, a);
  }
  return sum;
}

void LoadSolver::solve(uint32_t c, ElementId y) {
  Node& n = node_[y];
  if (n.cyclic) return solve_cycle(c);
  if (n.down == gen_)
    set(y, 0.0);
  else if (baseline_mode_ || (n.delta_stamp == gen_ && n.full) || !std::isfinite(n.base))
    set(y, inflow(y, UINT32_MAX));
  else
    set(y, std::max(0.0, n.base + (n.delta_stamp == gen_ ? n.delta : 0.0)));
}

ElementId LoadSolver::main_source(ElementId x) const {
  ElementId best = kNoElement;
  double most = 0;
  for (const LoadNet::Arc& a : net_.in(x)) {
    if (is_down(a.other)) continue;
    double l = load(a.other);
    if (l > most) most = l, best = a.other;
  }
  return best;
}

// A cycle: (I - A) L = b over the elements of the component that are not down. The loads are
// bounded exactly when the spectral radius of A is below 1; for a non-negative A that holds
// exactly when (I - A) x = 1 has a positive solution (I - A is then a non-singular M-matrix).
// Where it fails, the loads that keep growing under iteration are the unbounded ones.
void LoadSolver::solve_cycle(uint32_t c) {
  const auto& nodes = net_.scc_nodes(c);
  std::vector<ElementId> active;
  for (ElementId x : nodes) {
    if (is_down(x))
      set(x, 0.0);
    else
      active.push_back(x);
  }
  if (active.empty()) return;
  const size_t k = active.size();
  auto index_of = [&](ElementId x) -> size_t {
    auto it = std::lower_bound(active.begin(), active.end(), x);
    return it != active.end() && *it == x ? static_cast<size_t>(it - active.begin()) : k;
  };
  std::sort(active.begin(), active.end());
  std::vector<double> b(k);
  std::vector<std::vector<std::pair<size_t, double>>> arcs(k);  // in-arcs inside: (from, gain)
  for (size_t i = 0; i < k; ++i) {
    ElementId y = active[i];
    b[i] = inflow(y, c);
    for (const LoadNet::Arc& a : net_.in(y)) {
      if (net_.scc(a.other) != c) continue;
      size_t j = index_of(a.other);
      if (j == k) continue;  // down
      double g = gain_from(a.other, a);
      if (g > 0) arcs[i].push_back({j, g});
    }
  }
  // Whatever an unbounded input reaches is unbounded.
  std::vector<uint8_t> inf(k, 0);
  std::vector<std::vector<size_t>> succ(k);
  for (size_t i = 0; i < k; ++i)
    for (auto [j, g] : arcs[i])
      succ[j].push_back(i);
  auto spread = [&](std::vector<size_t> queue) {
    for (size_t h = 0; h < queue.size(); ++h)
      for (size_t i : succ[queue[h]])
        if (!inf[i]) inf[i] = 1, queue.push_back(i);
  };
  std::vector<size_t> seeds;
  for (size_t i = 0; i < k; ++i)
    if (std::isinf(b[i])) inf[i] = 1, seeds.push_back(i);
  spread(seeds);
  std::vector<double> x(k, 0.0);
  bool solved = false;
  if (k <= kDenseLimit) {
    // Dense Gaussian elimination with partial pivoting on [I - A | b | 1].
    std::vector<size_t> live;
    for (size_t i = 0; i < k; ++i)
      if (!inf[i]) live.push_back(i);
    const size_t m = live.size();
    std::vector<size_t> pos(k, m);
    for (size_t i = 0; i < m; ++i)
      pos[live[i]] = i;
    std::vector<double> mat(m * (m + 2), 0.0);
    auto at = [&](size_t r, size_t col) -> double& { return mat[r * (m + 2) + col]; };
    for (size_t r = 0; r < m; ++r) {
      at(r, r) = 1.0;
      for (auto [j, g] : arcs[live[r]])
        if (pos[j] < m) at(r, pos[j]) -= g;
      at(r, m) = b[live[r]];
      at(r, m + 1) = 1.0;
    }
    bool singular = false;
    for (size_t col = 0; col < m && !singular; ++col) {
      size_t p = col;
      for (size_t r = col + 1; r < m; ++r)
        if (std::abs(at(r, col)) > std::abs(at(p, col))) p = r;
      if (std::abs(at(p, col)) < 1e-12) {
        singular = true;
        break;
      }
      if (p != col)
        for (size_t j = 0; j < m + 2; ++j)
          std::swap(at(p, j), at(col, j));
      for (size_t r = 0; r < m; ++r) {
        if (r == col || at(r, col) == 0) continue;
        double f = at(r, col) / at(col, col);
        for (size_t j = col; j < m + 2; ++j)
          at(r, j) -= f * at(col, j);
      }
    }
    if (!singular) {
      bool positive = true;
      for (size_t r = 0; r < m; ++r) {
        double one = at(r, m + 1) / at(r, r);
        positive = positive && std::isfinite(one) && one > 1e-12;
      }
      if (positive) {
        for (size_t r = 0; r < m; ++r)
          x[live[r]] = std::max(0.0, at(r, m) / at(r, r));
        solved = true;
      }
    }
  }
  if (!solved) {
    // Iterate x <- b + A x from zero; loads still growing at the end are unbounded.
    std::vector<double> next(k, 0.0);
    double change = 0;
    std::vector<double> delta(k, 0.0);
    for (int it = 0; it < kIterations; ++it) {
      change = 0;
      for (size_t i = 0; i < k; ++i) {
        if (inf[i]) continue;
        double v = b[i];
        for (auto [j, g] : arcs[i])
          v += g * x[j];
        delta[i] = std::abs(v - x[i]) / std::max(1e-300, std::abs(v));
        change = std::max(change, delta[i]);
        next[i] = v;
      }
      x.swap(next);
      if (change < 1e-13) break;
    }
    if (change >= 1e-13) {
      seeds.clear();
      for (size_t i = 0; i < k; ++i)
        if (!inf[i] && delta[i] > 1e-9) inf[i] = 1, seeds.push_back(i);
      spread(seeds);
    }
  }
  for (size_t i = 0; i < k; ++i)
    set(active[i], inf[i] ? kInf : x[i]);
}

}  // namespace achilles::analyzer::detail
