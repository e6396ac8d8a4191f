// Availability, importance and slo_risk.
//
// Per entrypoint, in file order, on its cone only (the elements its status depends on along
// hard dependencies, members, domains and parents: what fails outside it cannot take it
// down), one of three methods:
//
// - exact: the structure function as a BDD over the failure variables of the cone's
//   components and domains that have an availability (the others never fail: constant
//   false), one strongly connected group of "down inputs" at a time, what it needs first.
//   Inside a group with a cycle the BDD equations are iterated from false until they stop
//   changing: the rules are monotone, so this climbs to the least fixpoint, which is the
//   spec's greatest fixpoint of "up". k-of-n quorums are a dynamic programme over the members
//   (at_least). The cone is cut into independent modules first (modules.h): each gets its
//   own diagram and stands for one pseudo-variable in its parent's. Variables are numbered in
//   the post-order of a depth-first walk of the cone from the entrypoint, so that a
//   component's domain chain and what it depends on sit above it. Each diagram has
//   options.bdd_node_budget nodes (and 8 operations per node); all of them together
//   options.bdd_pass_budget operations. A diagram that exceeds its budget is abandoned,
//   never retried.
// - rare-event: when the diagram does not fit, the sum over the entrypoint's minimal cut sets
//   that the analysis found (spof, domain_spof, cut_set up to --order) of the probability
//   that all of one fail, with an upper bound of the availability in `error`.
// - monte-carlo: when no cut set is known for the entrypoint (compute_availability without
//   findings, or none up to --order) and its cone is small: sampling failures in the cone
//   over the real propagation, within a work budget for the pass, with a 95% interval.
//
// Every budget counts work, not time, so the same input gives the same figures.
//
// One file past 500 lines: the exact diagram, the rare-event and Monte Carlo estimates and the
// importance of each element share one Pass (the cones, the budgets, the findings they draw on);
// the diagram itself is in bdd.cc and the modules in modules.cc.

#include "achilles/analyzer/availability.h"
#include "achilles/common/text.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "bdd.h"
#include "modules.h"
#include "parallel.h"
#include "passes.h"
#include "propagation.h"
#include "scc.h"

namespace achilles::analyzer {

namespace {

/// A draw in [0, 1) from the generator's own bits. std::uniform_real_distribution's output is
/// the standard library's choice (libstdc++ and libc++ differ), and the docs promise the same
/// estimates on any machine; mt19937_64 itself is fully specified. The value is the one
/// libstdc++ 12 gives, so estimates made before this change are unchanged: 64 bits over
/// 2^64, rounded to double, and kept below 1.
double unit(std::mt19937_64& rng) {
  const double u = static_cast<double>(rng()) * 0x1.0p-64;
  return u < 1.0 ? u : std::nextafter(1.0, 0.0);
}

using detail::Bdd;

constexpr size_t kTopImportance = 10;
/// The most pairs of a grouped cut set taken one by one by the rare-event approximation;
/// beyond, they are summed in closed form (Pass::large_group()).
constexpr size_t kGroupExpandMax = size_t{1} << 16;
/// Cone size beyond which neither the BDD nor sampling is tried for an entrypoint.
constexpr size_t kConeLimit = size_t{1} << 16;
/// Cone elements visited over the whole pass; once spent, the rest go straight to rare-event.
constexpr size_t kConeWork = size_t{1} << 25;
/// Operations a diagram may spend per node of its node budget.
constexpr size_t kOpsPerNode = 8;
/// Monte Carlo work (draws plus elements taken down) over the whole pass.
constexpr size_t kSampleWork = size_t{1} << 24;
/// Samples an entrypoint gets whatever the work spent, when nothing else can estimate it.
constexpr size_t kMinSamples = 1000;
/// Entrypoints whose cones are counted together, on all threads, before they are decided.
constexpr size_t kRound = 256;

bool failable(const Element& e) {
  return (e.kind == ElementKind::kComponent || e.kind == ElementKind::kDomain) && e.availability;
}

/// An entrypoint's cone: every element its status depends on (along down_inputs), in the
/// post-order of a depth-first walk from it, with its inputs as positions in `elements`.
struct Cone {
  std::vector<ElementId> elements;
  std::vector<std::vector<ElementId>> inputs;
};

/// One minimal cut set found by the analysis (1 to 3 elements) and its probability.
struct CutSet {
  std::array<ElementId, 3> ids{kNoElement, kNoElement, kNoElement};
  uint32_t size = 0;
  double p = 0;
};

/// Calls emit(y) for each input of `e`, in the order of down_inputs().
template <typename Emit>
void for_each_down_input(const Element& e, Emit emit) {
  switch (e.kind) {
    case ElementKind::kDomain:
      if (e.parent != kNoElement) emit(e.parent);
      break;
    case ElementKind::kComponent:
      if (e.domain != kNoElement) emit(e.domain);
      break;
    case ElementKind::kService:
      for (ElementId m : e.members)
        emit(m);
      break;
    case ElementKind::kEntrypoint:
      emit(e.target);
      break;
  }
  for (const Dependency& d : e.depends_on)
    if (d.mode == DepMode::kHard) emit(d.target);
}

/// down_inputs() in compressed rows: two allocations instead of one per element (10^6 on
/// the largest estates, as many to free), and the rows side by side for the cone walks.
class Inputs {
 public:
  explicit Inputs(const Topology& t) {
    offset_.reserve(t.size() + 1);
    offset_.push_back(0);
    for (ElementId x = 0; x < t.size(); ++x) {
      for_each_down_input(t[x], [&](ElementId y) { to_.push_back(y); });
      offset_.push_back(static_cast<uint32_t>(to_.size()));
    }
  }

  std::span<const ElementId> operator[](ElementId x) const {
    return {to_.data() + offset_[x], to_.data() + offset_[x + 1]};
  }

 private:
  std::vector<uint32_t> offset_;
  std::vector<ElementId> to_;
};

/// Measures cones without building them, with scratch space of its own (one per thread).
class ConeCounter {
 public:
  explicit ConeCounter(size_t elements) : stamp_(elements, 0) {}

  /// The number of elements in the cone of `ep`, or kConeLimit + 1 when it has more: what
  /// Pass::build_cone() visits before it gives up, whatever the order of the walk.
  size_t count(const Inputs& inputs, ElementId ep) {
    if (++gen_ == 0) {  // wrapped: every stamp is stale again
      std::fill(stamp_.begin(), stamp_.end(), 0);
      gen_ = 1;
    }
    stamp_[ep] = gen_;
    stack_.assign(1, ep);
    size_t seen = 1;
    while (!stack_.empty()) {
      ElementId x = stack_.back();
      stack_.pop_back();
      for (ElementId y : inputs[x]) {
        if (stamp_[y] == gen_) continue;
        stamp_[y] = gen_;
        stack_.push_back(y);
        if (++seen > kConeLimit) return seen;
      }
    }
    return seen;
  }

 private:
  uint32_t gen_ = 0;
  std::vector<uint32_t> stamp_;
  std::vector<ElementId> stack_;
};

class Pass {
 public:
  Pass(const Topology& t, const AnalysisOptions& options, const std::vector<Finding>* findings)
      : t_(t), options_(options), findings_(findings), inputs_(t) {
    for (ElementId x = 0; x < t.size(); ++x)
      if (t[x].kind == ElementKind::kEntrypoint) eps_.push_back(x);
    local_.assign(t.size(), kUnseen);
    if (findings_) collect_cut_sets();
  }

  // Why this shape: every budget is spent in entrypoint order, so which method an entrypoint
  // gets depends on those before it, and the diagrams and the sampling stay in that order on
  // one thread. What costs most on a large estate is measuring each cone against the cone
  // budget and the rare-event approximations, and neither depends on another entrypoint:
  // the cones of a round of entrypoints are counted on all threads before the round is
  // decided in order, and the rare-event ones are computed on all threads at the end, each
  // into its entrypoint's slot.
  std::vector<EntrypointAvailability> run() {
    std::vector<EntrypointAvailability> out(eps_.size());
    std::vector<size_t> cone_size(eps_.size(), 0);
    std::vector<size_t> rare;  // the entrypoints left to rare_event()
    Cone cone;
    for (size_t begin = 0; begin < eps_.size(); begin += kRound) {
      const size_t end = std::min(eps_.size(), begin + kRound);
      if (cone_work_ < kConeWork) count_cones(begin, end, cone_size);
      for (size_t i = begin; i < end; ++i) {
        if (options_.progress && i % std::max<size_t>(1, eps_.size() / 100) == 0)
          options_.progress("availability", static_cast<double>(i) / eps_.size());
        ElementId ep = eps_[i];
        EntrypointAvailability& a = out[i];
        a.id = t_[ep].id;
        bool have_cone = false;
        if (cone_work_ < kConeWork) {
          cone_work_ += cone_size[i];
          have_cone = cone_size[i] <= kConeLimit;
        }
        const bool try_exact = have_cone && bdd_ops_ < options_.bdd_pass_budget;
        // Without the analysis' cut sets, or with none that fail for this entrypoint, sample
        // (always, when nothing else could estimate it).
        const bool known = findings_ && (!terms_[i].empty() || !large_terms_[i].empty());
        if (try_exact || (have_cone && !known)) build_cone(ep, cone);
        if (try_exact && exact(cone, a)) continue;
        if (!known) {
          size_t floor = findings_ ? 0 : kMinSamples;
          if (have_cone ? sample(ep, cone.elements, floor, a)
                        : !findings_ && sample(ep, all_elements(), floor, a))
            continue;
        }
        rare.push_back(i);
      }
    }
    const unsigned threads = detail::thread_count(rare.size(), 8, options_.threads);
    detail::parallel_for(rare.size(), threads,
                         [&](unsigned, size_t r) { rare_event(rare[r], out[rare[r]]); });
    return out;
  }

 private:
  static constexpr uint32_t kUnseen = UINT32_MAX, kOpen = UINT32_MAX - 1;

  std::vector<ElementId> all_elements() const {
    std::vector<ElementId> all(t_.size());
    for (ElementId x = 0; x < t_.size(); ++x)
      all[x] = x;
    return all;
  }

  /// Sets cone_size[i] for the entrypoints i in [begin, end), on up to two threads.
  void count_cones(size_t begin, size_t end, std::vector<size_t>& cone_size) {
    const unsigned threads = detail::thread_count(end - begin, 8, options_.threads);
    while (counters_.size() < threads)
      counters_.emplace_back(t_.size());
    detail::parallel_for(end - begin, threads, [&](unsigned t, size_t i) {
      cone_size[begin + i] = counters_[t].count(inputs_, eps_[begin + i]);
    });
  }

  /// The cone of `ep`, or false when it has more than kConeLimit elements. O(cone).
  bool build_cone(ElementId ep, Cone& cone) {
    cone.elements.clear();
    std::vector<ElementId> visited{ep};
    std::vector<std::pair<ElementId, size_t>> stack{{ep, 0}};
    local_[ep] = kOpen;
    bool fits = true;
    while (!stack.empty() && fits) {
      auto& [x, i] = stack.back();
      if (i < inputs_[x].size()) {
        ElementId y = inputs_[x][i++];
        if (local_[y] == kUnseen) {
          local_[y] = kOpen;
          visited.push_back(y);
          stack.push_back({y, 0});
          fits = visited.size() <= kConeLimit;
        }
        continue;
      }
      local_[x] = static_cast<uint32_t>(cone.elements.size());
      cone.elements.push_back(x);
      stack.pop_back();
    }
    if (fits) {
      cone.inputs.resize(cone.elements.size());
      for (size_t j = 0; j < cone.elements.size(); ++j) {
        cone.inputs[j].clear();
        for (ElementId y : inputs_[cone.elements[j]])
          cone.inputs[j].push_back(local_[y]);
      }
    }
    for (ElementId x : visited)
      local_[x] = kUnseen;
    return fits;
  }

  /// The exact method on a cone (its last element is the entrypoint); false when a diagram
  /// exceeds its budget.
  ///
  /// The cone's strongly connected groups of down inputs form a DAG; its modules (groups of
  /// one element whose sub-graph nothing else reaches, modules.h) get one diagram each,
  /// children first, in which every module directly below is a single pseudo-variable with
  /// the probability its own diagram gave. Each diagram has the node budget of a whole cone,
  /// so a cone whose one diagram would not fit often fits module by module.
  bool exact(const Cone& cone, EntrypointAvailability& a) {
    const size_t k = cone.elements.size();
    const ElementId root = static_cast<ElementId>(k - 1);
    const auto groups =
        components_dependencies_first(cone.inputs, std::span<const ElementId>(&root, 1));
    const uint32_t g_count = static_cast<uint32_t>(groups.size());
    std::vector<uint32_t> group_of(k);
    for (uint32_t g = 0; g < g_count; ++g)
      for (ElementId j : groups[g])
        group_of[j] = g;
    std::vector<std::vector<uint32_t>> below(g_count);
    for (uint32_t g = 0; g < g_count; ++g) {
      for (ElementId j : groups[g])
        for (ElementId y : cone.inputs[j])
          if (group_of[y] != g) below[g].push_back(group_of[y]);
      std::sort(below[g].begin(), below[g].end());
      below[g].erase(std::unique(below[g].begin(), below[g].end()), below[g].end());
    }
    // A module worth a diagram of its own: one element (a cyclic group may be read by its
    // parents through several of its elements) with something below it.
    std::vector<uint8_t> module = detail::find_modules(below, g_count - 1);
    for (uint32_t g = 0; g < g_count; ++g)
      module[g] = module[g] && groups[g].size() == 1 && !below[g].empty();
    module[g_count - 1] = 1;
    // owner[g]: the module whose diagram computes group g (a module owns itself); user[m]:
    // the module whose diagram reads module m as a pseudo-variable. Parents come before
    // children in reverse group order, and every parent of a group that is not a module is
    // in the same module's diagram (else that module would not be one).
    std::vector<uint32_t> owner(g_count, UINT32_MAX), user(g_count, UINT32_MAX);
    owner[g_count - 1] = g_count - 1;
    for (uint32_t g = g_count; g-- > 0;)
      for (uint32_t c : below[g]) {
        if (module[c])
          user[c] = owner[g], owner[c] = c;
        else
          owner[c] = owner[g];
      }
    std::vector<std::vector<uint32_t>> owned(g_count);  // dependencies first
    for (uint32_t g = 0; g < g_count; ++g)
      owned[owner[g]].push_back(g);

    std::vector<double> p_down(g_count, 0);
    // Per module, the Birnbaum importance of each variable of its diagram, by cone position.
    struct Sensitivity {
      ElementId j;
      double birnbaum;
    };
    std::vector<std::vector<Sensitivity>> sensitivity(g_count);
    std::vector<Bdd::Node> down(k, Bdd::kFalse);
    for (uint32_t m = 0; m < g_count; ++m) {
      if (!module[m]) continue;
      // Variables: the failable elements of the module's own groups and the modules just
      // below it, in the cone's post-order, so that what an element needs (its domain chain,
      // its dependencies) sits above it.
      std::vector<ElementId> vars;
      for (uint32_t g : owned[m])
        for (ElementId j : groups[g]) {
          if (failable(t_[cone.elements[j]])) vars.push_back(j);
          for (ElementId y : cone.inputs[j])
            if (module[group_of[y]] && group_of[y] != m) vars.push_back(y);
        }
      std::sort(vars.begin(), vars.end());
      vars.erase(std::unique(vars.begin(), vars.end()), vars.end());
      std::vector<double> q(vars.size());
      for (size_t v = 0; v < vars.size(); ++v) {
        const ElementId j = vars[v];
        q[v] = group_of[j] != m && module[group_of[j]] ? p_down[group_of[j]]
                                                       : 1 - *t_[cone.elements[j]].availability;
      }
      auto var_of = [&](ElementId j) {
        return static_cast<uint32_t>(std::lower_bound(vars.begin(), vars.end(), j) - vars.begin());
      };
      const size_t ops =
          std::min(options_.bdd_node_budget * kOpsPerNode,
                   options_.bdd_pass_budget - std::min(bdd_ops_, options_.bdd_pass_budget));
      Bdd bdd(options_.bdd_node_budget, ops);
      try {
        for (ElementId j : vars)
          if (group_of[j] != m && module[group_of[j]]) down[j] = bdd.var(var_of(j));
        auto rule = [&](ElementId j) {
          const Element& e = t_[cone.elements[j]];
          const auto& in = cone.inputs[j];
          Bdd::Node r = failable(e) ? bdd.var(var_of(j)) : Bdd::kFalse;
          size_t first = 0;
          if (e.kind == ElementKind::kService) {
            // down_inputs lists a service's members first, then its hard dependencies.
            std::vector<Bdd::Node> members;
            for (size_t i = 0; i < e.members.size(); ++i)
              members.push_back(down[in[i]]);
            r = bdd.lor(r, bdd.at_least(static_cast<uint32_t>(e.members.size()) - e.min_healthy + 1,
                                        members));
            first = e.members.size();
          }
          // Or the inputs deepest top variable first: each disjunction then lands above the
          // diagram built so far instead of rebuilding it (dead nodes count in the budget).
          std::vector<Bdd::Node> terms{r};
          for (size_t i = first; i < in.size(); ++i)
            terms.push_back(down[in[i]]);
          std::sort(terms.begin(), terms.end(), [&](Bdd::Node x, Bdd::Node y) {
            return bdd.variable(x) != bdd.variable(y) ? bdd.variable(x) > bdd.variable(y) : x < y;
          });
          Bdd::Node out = Bdd::kFalse;
          for (Bdd::Node n : terms)
            out = bdd.lor(n, out);
          return out;
        };
        for (uint32_t g : owned[m]) {
          const auto& group = groups[g];
          bool cyclic = group.size() > 1 ||
                        std::find(cone.inputs[group[0]].begin(), cone.inputs[group[0]].end(),
                                  group[0]) != cone.inputs[group[0]].end();
          if (!cyclic) {
            down[group[0]] = rule(group[0]);
            continue;
          }
          // Iterate from false (the initial value of `down`) until nothing changes.
          for (ElementId j : group)
            down[j] = Bdd::kFalse;
          for (bool changed = true; changed;) {
            changed = false;
            for (ElementId j : group) {
              Bdd::Node r = rule(j);
              if (r != down[j]) down[j] = r, changed = true;
            }
          }
        }
      } catch (const Bdd::BudgetExceeded&) {
        bdd_ops_ += bdd.ops();
        return false;
      }
      bdd_ops_ += bdd.ops();
      const Bdd::Node top = down[groups[m][0]];
      std::vector<double> p = bdd.probabilities(q);
      p_down[m] = p[top];
      for (auto [v, ib] : birnbaum(bdd, top, p, q))
        sensitivity[m].push_back({vars[v], ib});
    }
    a.availability = 1 - p_down[g_count - 1];
    a.method = "exact";
    // The chain rule across modules: d P(entrypoint down) / d q_x is the derivative in the
    // pseudo-variable of each module on the way down to x's diagram, times x's own in it.
    std::vector<double> scale(g_count, 0);
    scale[g_count - 1] = 1;
    for (uint32_t m = g_count; m-- > 0;) {
      if (!module[m] || scale[m] == 0) continue;
      for (const Sensitivity& s : sensitivity[m]) {
        const double ib = scale[m] * s.birnbaum;
        const uint32_t g = group_of[s.j];
        if (g != m && module[g]) {
          scale[g] = ib;
          continue;
        }
        const Element& e = t_[cone.elements[s.j]];
        const double gain = ib * (1 - *e.availability);
        if (gain > 0) a.importance.push_back({e.id, gain, ib});
      }
    }
    rank(a);
    return true;
  }

  /// Birnbaum importance of every variable of a diagram, as the derivative of P(top) in its
  /// q_v: the sum, over the nodes testing v, of the probability of reaching the node times
  /// P(high) - P(low). Nodes are visited parents first (by decreasing index), so each reach
  /// probability is complete when its node is visited.
  static std::vector<std::pair<uint32_t, double>> birnbaum(const Bdd& bdd, Bdd::Node top,
                                                           const std::vector<double>& p,
                                                           const std::vector<double>& q) {
    std::vector<Bdd::Node> nodes;
    std::vector<Bdd::Node> stack{top};
    std::unordered_map<Bdd::Node, double> reach;
    while (!stack.empty()) {
      Bdd::Node n = stack.back();
      stack.pop_back();
      if (n <= Bdd::kTrue || !reach.emplace(n, 0.0).second) continue;
      nodes.push_back(n);
      stack.push_back(bdd.low(n));
      stack.push_back(bdd.high(n));
    }
    std::sort(nodes.begin(), nodes.end(), std::greater<>());
    std::unordered_map<uint32_t, double> out;
    if (top > Bdd::kTrue) reach[top] = 1;
    for (Bdd::Node n : nodes) {
      const double r = reach[n];
      const uint32_t v = bdd.variable(n);
      out[v] += r * (p[bdd.high(n)] - p[bdd.low(n)]);
      if (bdd.low(n) > Bdd::kTrue) reach[bdd.low(n)] += r * (1 - q[v]);
      if (bdd.high(n) > Bdd::kTrue) reach[bdd.high(n)] += r * q[v];
    }
    std::vector<std::pair<uint32_t, double>> sorted(out.begin(), out.end());
    std::sort(sorted.begin(), sorted.end());
    return sorted;
  }

  static void rank(EntrypointAvailability& a) {
    std::sort(a.importance.begin(), a.importance.end(),
              [](const Importance& x, const Importance& y) {
                return x.gain != y.gain ? x.gain > y.gain : x.id < y.id;
              });
    if (a.importance.size() > kTopImportance) a.importance.resize(kTopImportance);
  }

  /// Monte Carlo over the real propagation, drawing failures only among the failable
  /// elements of `elements` (the cone: nothing else can take the entrypoint down). Each
  /// sample visits the candidates with geometric skips at the largest failure probability
  /// and keeps each with probability q / q_max (thinning). Stops at options.samples, or
  /// once the pass' sampling work is spent and `floor` samples are done; false if no sample.
  bool sample(ElementId ep, const std::vector<ElementId>& elements, size_t floor,
              EntrypointAvailability& a) {
    std::vector<ElementId> vars;
    std::vector<double> q;
    double q_max = 0;
    for (ElementId x : elements)
      if (failable(t_[x])) {
        vars.push_back(x);
        q.push_back(1 - *t_[x].availability);
        q_max = std::max(q_max, q.back());
      }
    if (!propagator_) {
      net_ = std::make_unique<detail::Net>(t_);
      propagator_ = std::make_unique<detail::Propagator>(*net_);
    }
    std::mt19937_64 rng(options_.seed + ep);
    std::vector<ElementId> failed;
    const size_t limit = std::max<size_t>(options_.samples, 1);
    size_t n = 0, downs = 0;
    const double log_keep = q_max < 1 ? std::log1p(-q_max) : 0;
    for (; n < limit && (n < floor || sample_work_ < kSampleWork); ++n) {
      failed.clear();
      if (q_max > 0) {
        for (double i = -1;;) {
          double u = unit(rng);
          i += q_max >= 1 ? 1 : 1 + std::floor(std::log1p(-u) / log_keep);
          if (i >= static_cast<double>(vars.size())) break;
          size_t j = static_cast<size_t>(i);
          if (unit(rng) * q_max < q[j]) failed.push_back(vars[j]);
        }
      }
      sample_work_ += 1 + failed.size();
      if (failed.empty()) continue;
      propagator_->run(failed);
      sample_work_ += propagator_->down_list().size();
      if (propagator_->down(ep)) ++downs;
    }
    if (n == 0) return false;
    double p = static_cast<double>(n - downs) / static_cast<double>(n);
    // Wilson score interval at 95%.
    const double z = 1.959963984540054, nn = static_cast<double>(n);
    double den = 1 + z * z / nn;
    double mid = (p + z * z / (2 * nn)) / den;
    double half = z * std::sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / den;
    a.availability = p;
    a.method = "monte-carlo";
    a.error = {{"interval", {std::max(0.0, mid - half), std::min(1.0, mid + half)}},
               {"confidence", 0.95},
               {"samples", n}};
    return true;
  }

  /// The minimal cut sets of each entrypoint, from the spof, domain_spof and cut_set
  /// findings. A finding's impact lists every entrypoint its failure takes down, so a set is
  /// kept for an entrypoint only when no smaller finding already takes that one down. Sets
  /// with an element that never fails are dropped (probability 0).
  void collect_cut_sets() {
    terms_.assign(eps_.size(), {});
    large_terms_.assign(eps_.size(), {});
    std::unordered_map<std::string_view, uint32_t> ep_pos;
    for (uint32_t i = 0; i < eps_.size(); ++i)
      ep_pos.emplace(t_[eps_[i]].id, i);
    // A finding and the names of one of its cut sets: a grouped cut set (analysis-json.md,
    // `any`) stands for every pair (or triple) of its subject. Pairs are taken in the order
    // of their elements, the order the pair pass finds them in, so that the sums below add
    // the same terms in the same order whether or not pairs are grouped.
    struct Set {
      const Finding* f;
      std::array<std::string_view, 3> names;
      std::array<ElementId, 2> order{kNoElement, kNoElement};
    };
    std::vector<Set> by_size[4];
    bool expanded = false;
    for (const Finding& f : *findings_) {
      if (f.kind != "spof" && f.kind != "domain_spof" && f.kind != "cut_set") continue;
      const auto any = f.details.is_object() ? f.details.find("any") : f.details.end();
      if (any != f.details.end()) {
        if (!any->is_number_unsigned() || (*any != 2 && *any != 3)) continue;
        const size_t k = any->get<size_t>(), n = f.subject.size();
        if (n < k) continue;
        const size_t count = k == 2 ? n * (n - 1) / 2 : n * (n - 1) / 2 * (n - 2) / 3;
        if (count > kGroupExpandMax) {
          large_group(f, k, ep_pos);
          continue;
        }
        for (size_t i = 0; i < n; ++i)
          for (size_t j = i + 1; j < n; ++j) {
            if (k == 2) {
              auto a = t_.find(f.subject[i]), b = t_.find(f.subject[j]);
              if (!a || !b) continue;
              expanded = true;
              by_size[2].push_back(
                  {&f, {f.subject[i], f.subject[j], {}}, {std::min(*a, *b), std::max(*a, *b)}});
              continue;
            }
            for (size_t l = j + 1; l < n; ++l)
              by_size[3].push_back({&f, {f.subject[i], f.subject[j], f.subject[l]}, {}});
          }
        continue;
      }
      if (f.subject.empty() || f.subject.size() > 3) continue;
      Set set{&f, {}, {}};
      for (size_t j = 0; j < f.subject.size(); ++j)
        set.names[j] = f.subject[j];
      if (f.subject.size() == 2) {
        auto a = t_.find(f.subject[0]), b = t_.find(f.subject[1]);
        if (a && b) set.order = {std::min(*a, *b), std::max(*a, *b)};
      }
      by_size[f.subject.size()].push_back(set);
    }
    if (expanded)
      std::stable_sort(by_size[2].begin(), by_size[2].end(),
                       [](const Set& x, const Set& y) { return x.order < y.order; });
    auto key = [](uint64_t e, uint64_t a, uint64_t b) {
      return (e * 0x9E3779B97F4A7C15ULL) ^ (a * 0xC2B2AE3D27D4EB4FULL) ^
             (b * 0x165667B19E3779F9ULL) ^ (a << 32) ^ b;
    };
    // (entrypoint, element) and (entrypoint, pair) that take the entrypoint down.
    std::unordered_set<uint64_t> singles, pairs;
    for (size_t size = 1; size <= 3; ++size)
      for (const Set& set : by_size[size]) {
        const Finding* f = set.f;
        CutSet c;
        c.size = static_cast<uint32_t>(size);
        c.p = 1;
        bool ok = true;
        for (size_t j = 0; j < size; ++j) {
          auto x = t_.find(set.names[j]);
          if (!x) {
            ok = false;
            break;
          }
          c.ids[j] = *x;
          const Element& e = t_[*x];
          c.p *= failable(e) ? 1 - *e.availability : 0;
        }
        if (!ok) continue;
        std::sort(c.ids.begin(), c.ids.begin() + size);
        const uint32_t index = static_cast<uint32_t>(cut_sets_.size());
        bool stored = false;
        for (std::string_view name : f->impact.entrypoints_down) {
          auto it = ep_pos.find(name);
          if (it == ep_pos.end()) continue;
          const uint64_t e = it->second;
          auto single = [&](ElementId x) { return singles.count(key(e, x, kNoElement)) > 0; };
          auto pair = [&](ElementId x, ElementId y) { return pairs.count(key(e, x, y)) > 0; };
          const auto& s = c.ids;
          if (size == 1) {
            singles.insert(key(e, s[0], kNoElement));
          } else if (size == 2) {
            if (single(s[0]) || single(s[1])) continue;
            pairs.insert(key(e, s[0], s[1]));
          } else if (single(s[0]) || single(s[1]) || single(s[2]) || pair(s[0], s[1]) ||
                     pair(s[0], s[2]) || pair(s[1], s[2])) {
            continue;
          }
          if (c.p <= 0) continue;
          terms_[e].push_back(index);
          stored = true;
        }
        if (stored) cut_sets_.push_back(c);
      }
  }

  /// A grouped cut set of more sets than kGroupExpandMax: its sets are summed in closed form
  /// from the power sums p1 = sum q, p2 = sum q^2, p3 = sum q^3 of its members' probability
  /// of failing (Newton's identities), not one by one: over pairs, sum q_a q_b is
  /// e2 = (p1^2 - p2) / 2; over triples, e3 = (p1^3 - 3 p1 p2 + 2 p3) / 6. A member's part of
  /// it is the same sum over the others one size smaller. Left out of the upper bound, which
  /// stays an upper bound without them.
  void large_group(const Finding& f, size_t k,
                   const std::unordered_map<std::string_view, uint32_t>& ep_pos) {
    LargeGroup g;
    g.k = k;
    for (const std::string& name : f.subject) {
      auto x = t_.find(name);
      if (!x) return;
      const Element& e = t_[*x];
      const double q = failable(e) ? 1 - *e.availability : 0;
      g.ids.push_back(*x);
      g.q.push_back(q);
      g.sum += q;
      g.sum_squares += q * q;
      g.sum_cubes += q * q * q;
    }
    const size_t n = g.ids.size();
    g.count = k == 2 ? n * (n - 1) / 2 : n * (n - 1) / 2 * (n - 2) / 3;
    const uint32_t index = static_cast<uint32_t>(large_.size());
    bool stored = false;
    for (std::string_view name : f.impact.entrypoints_down)
      if (auto it = ep_pos.find(name); it != ep_pos.end() && g.sum > 0) {
        large_terms_[it->second].push_back(index);
        stored = true;
      }
    if (stored) large_.push_back(std::move(g));
  }

  /// The rare-event approximation: unavailability is the sum, over the entrypoint's minimal
  /// cut sets of up to options.order elements, of the probability that all of one fail.
  void rare_event(size_t i, EntrypointAvailability& a) {
    std::vector<uint32_t> terms = findings_ ? terms_[i] : std::vector<uint32_t>{};
    double sum = 0;
    for (uint32_t c : terms)
      sum += cut_sets_[c].p;
    // A lower bound of the true unavailability: the found sets are real cut sets, and a
    // family of them without a common element fails independently, so the probability that
    // one of them fails is 1 - prod(1 - p), which no overlap can overstate. Largest first.
    std::sort(terms.begin(), terms.end(), [&](uint32_t x, uint32_t y) {
      return cut_sets_[x].p != cut_sets_[y].p ? cut_sets_[x].p > cut_sets_[y].p : x < y;
    });
    std::unordered_set<ElementId> used;
    double none = 1;
    for (uint32_t c : terms) {
      const CutSet& s = cut_sets_[c];
      if (std::any_of(s.ids.begin(), s.ids.begin() + s.size,
                      [&](ElementId x) { return used.count(x) > 0; }))
        continue;
      used.insert(s.ids.begin(), s.ids.begin() + s.size);
      none *= 1 - s.p;
    }
    size_t count = terms.size();
    const std::vector<uint32_t> none_large;
    const auto& large = findings_ ? large_terms_[i] : none_large;
    for (uint32_t g : large) {
      const LargeGroup& group = large_[g];
      sum += group.total();
      count += group.count;
    }
    a.availability = std::max(0.0, 1 - sum);
    a.method = "rare-event";
    const std::string order = std::to_string(options_.order);
    a.error = {{"upper_bound", none},
               {"cut_sets", count},
               {"order", options_.order},
               {"neglects", "minimal cut sets of more than " + order +
                                " element(s), which would lower the availability, and the "
                                "overlap of the cut sets summed, which would raise it up to "
                                "upper_bound"}};
    // Importance under the same approximation: d(unavailability)/dq_x is the sum, over the
    // cut sets holding x, of the probability of the rest of the set.
    std::unordered_map<ElementId, double> birnbaum;
    for (uint32_t c : terms) {
      const CutSet& s = cut_sets_[c];
      for (uint32_t j = 0; j < s.size; ++j) {
        double rest = 1;
        for (uint32_t l = 0; l < s.size; ++l)
          if (l != j) rest *= 1 - *t_[s.ids[l]].availability;
        birnbaum[s.ids[j]] += rest;
      }
    }
    for (uint32_t g : large) {
      const LargeGroup& group = large_[g];
      for (size_t j = 0; j < group.ids.size(); ++j)
        birnbaum[group.ids[j]] += group.without(j);
    }
    for (auto [x, ib] : birnbaum) {
      double gain = ib * (1 - *t_[x].availability);
      if (gain > 0) a.importance.push_back({t_[x].id, gain, ib});
    }
    rank(a);
  }

  const Topology& t_;
  const AnalysisOptions& options_;
  const std::vector<Finding>* findings_;
  Inputs inputs_;
  std::vector<ElementId> eps_;
  std::vector<uint32_t> local_;  // position in the cone being built; kUnseen outside it
  size_t cone_work_ = 0, bdd_ops_ = 0, sample_work_ = 0;
  std::unique_ptr<detail::Net> net_;
  std::unique_ptr<detail::Propagator> propagator_;
  std::vector<ConeCounter> counters_;  // one per thread counting cones
  std::vector<CutSet> cut_sets_;
  std::vector<std::vector<uint32_t>> terms_;  // per entrypoint, its cut sets
  struct LargeGroup {
    size_t k = 2;  // its sets are any k of its members
    std::vector<ElementId> ids;
    std::vector<double> q;  // each one's probability of failing
    double sum = 0, sum_squares = 0, sum_cubes = 0;
    size_t count = 0;
    /// The probability summed over its sets: e_k of the q (see large_group()).
    double total() const {
      const double e2 = (sum * sum - sum_squares) / 2;
      if (k == 2) return e2;
      return (sum * sum * sum - 3 * sum * sum_squares + 2 * sum_cubes) / 6;
    }
    /// The sum over the sets holding member j of the probability of the rest of the set.
    double without(size_t j) const {
      const double p1 = sum - q[j];
      if (k == 2) return p1;
      return (p1 * p1 - (sum_squares - q[j] * q[j])) / 2;
    }
  };
  std::vector<LargeGroup> large_;
  std::vector<std::vector<uint32_t>> large_terms_;  // per entrypoint, its large groups
};

}  // namespace

std::vector<std::vector<ElementId>> down_inputs(const Topology& t) {
  std::vector<std::vector<ElementId>> in(t.size());
  for (ElementId x = 0; x < t.size(); ++x)
    for_each_down_input(t[x], [&](ElementId y) { in[x].push_back(y); });
  return in;
}

// Tarjan's completion order is the order wanted: a component after every component it reaches.
std::vector<std::vector<ElementId>> components_dependencies_first(
    const std::vector<std::vector<ElementId>>& succ, std::span<const ElementId> roots) {
  std::vector<std::vector<ElementId>> out;
  strong_components(
      succ.size(), roots, [&](ElementId x) { return succ[x].size(); },
      [&](ElementId x, std::size_t i) { return succ[x][i]; },
      [&](std::span<const ElementId> group) {
        std::vector<ElementId>& sorted = out.emplace_back(group.begin(), group.end());
        std::sort(sorted.begin(), sorted.end());
      });
  return out;
}

std::vector<EntrypointAvailability> compute_availability(const Topology& t,
                                                         const AnalysisOptions& options) {
  return Pass(t, options, nullptr).run();
}

std::vector<EntrypointAvailability> compute_availability(const Topology& t,
                                                         const AnalysisOptions& options,
                                                         const std::vector<Finding>& findings) {
  return Pass(t, options, &findings).run();
}

namespace detail {

void availability_pass(const Topology& t, const AnalysisOptions& options,
                       std::vector<Finding>& findings,
                       std::vector<EntrypointAvailability>& availability) {
  if (std::none_of(t.elements.begin(), t.elements.end(), failable)) return;
  if (options.progress) options.progress("availability", 0);
  availability = compute_availability(t, options, findings);
  for (const EntrypointAvailability& a : availability) {
    const Element& ep = t[*t.find(a.id)];
    if (!ep.slo || a.availability >= *ep.slo) continue;
    Finding f;
    f.kind = "slo_risk";
    f.severity = "high";
    f.subject = {a.id};
    f.message = common::format("%s's availability %.6f (%s) is below its slo %.6g", a.id.c_str(),
                               a.availability, a.method.c_str(), *ep.slo);
    if (!a.importance.empty())
      f.message += "; the largest gain is making " + a.importance[0].id + " never fail";
    f.explanation = {a.id};
    f.explanation_notes = {""};
    f.details = {{"availability", a.availability}, {"slo", *ep.slo}, {"method", a.method}};
    findings.push_back(std::move(f));
  }
}

}  // namespace detail
}  // namespace achilles::analyzer
