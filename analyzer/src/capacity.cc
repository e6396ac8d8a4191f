// Load and capacity: the utilization table, `overload` and `capacity_spof` (topology.md).
#include "achilles/analyzer/capacity.h"
#include "achilles/common/text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <unordered_set>

#include "id_order.h"
#include "load_solver.h"
#include "parallel.h"
#include "passes.h"
#include "propagation.h"

namespace achilles::analyzer {

namespace {

using detail::english_list;
using detail::LoadNet;
using detail::LoadSolver;

/// A utilization above this is "above 100%": loads that land exactly on the capacity after a
/// redistribution must not be reported for a rounding error.
constexpr double kFull = 1.0 + 1e-9;

/// Fewer rows of the utilization table per thread than this and run() uses fewer threads.
constexpr size_t kParallelMin = 32;

std::string percent(double u) {
  if (std::isinf(u)) return "unbounded";
  return common::format("%.0f%%", u * 100);
}

nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

/// The elements whose overload is a finding: components, and services with a capacity of
/// their own (a service's summed capacity only repeats what its members say).
bool judged(const Topology& t, ElementId x) {
  const Element& e = t[x];
  return (e.kind == ElementKind::kComponent || e.kind == ElementKind::kService) && e.capacity;
}

}  // namespace

/// What solving the loads of failure scenarios needs: a load solver, whose scratch space each
/// scenario reuses, over a net shared read-only; the statuses come from the caller's
/// propagator. A copy solves scenarios independently of the original (on another thread),
/// from the same baseline.
class Scenarios {
 public:
  Scenarios(const Topology& t, const AnalysisOptions& options, const LoadNet& net)
      : t_(t), options_(options), net_(net), solver_(net) {
    solver_.solve_baseline();
    eligible_.resize(t.size());
    for (ElementId x = 0; x < t.size(); ++x)
      eligible_[x] = judged(t, x) && !over_at_baseline(x);
  }

  double baseline(ElementId x) const { return solver_.baseline(x); }
  /// The order of the ids, which survivors() and capacity_spof() need.
  void set_order(const detail::IdOrder& order) { order_ = &order; }
  /// Back to the baseline: nothing down (overload() explains from the baseline's loads).
  void clear() { solver_.clear(); }

  double utilization(ElementId x) const { return solver_.load(x) / net_.capacity(x); }
  bool over_at_baseline(ElementId x) const {
    return solver_.baseline(x) / net_.capacity(x) > kFull;
  }

  /// Runs F = `failed` through statuses and loads; returns the elements that are not down,
  /// above 100% and were not above it with nothing failed, worst first.
  std::vector<ElementId> scenario(detail::Propagator& propagator,
                                  const std::vector<ElementId>& failed) {
    propagator.run(failed);
    return survivors(propagator);
  }

  /// The same for the scenario that `propagator` holds.
  std::vector<ElementId> survivors(const detail::Propagator& propagator) {
    // First the rises alone (upper bounds, see LoadSolver::solve_scenario): most failures
    // push nothing above 100% even so, and then the falls need not be followed at all.
    const auto hit = propagator.hit_services();
    solver_.solve_scenario(propagator.down_list(), hit, /*upper_bound=*/true);
    std::vector<ElementId> candidates;
    for (ElementId x : solver_.touched())
      if (overloaded(x)) candidates.push_back(x);
    if (candidates.empty()) return {};
    // Then the scenario itself, but only for what sends load to a candidate (no other load
    // is read), unless that is several times what the upper bound touched: a small scenario
    // re-solves faster than it walks up to every caller of its candidates.
    solver_.restrict_to(candidates, std::max<size_t>(64, 4 * solver_.touched().size()));
    solver_.solve_scenario(propagator.down_list(), hit);
    std::vector<ElementId> out;
    for (ElementId x : solver_.touched())
      if (overloaded(x)) out.push_back(x);
    std::sort(out.begin(), out.end(), [&](ElementId a, ElementId b) {
      double ua = utilization(a), ub = utilization(b);
      return ua != ub ? ua > ub : order_->before(a, b);
    });
    return out;
  }

  /// x is judged, not down and above 100% in the last scenario, and was not at the baseline.
  bool overloaded(ElementId x) const {
    return eligible_[x] && !solver_.is_down(x) && utilization(x) > kFull;
  }

  /// The chain of the largest loads from an entrypoint down to x.
  std::vector<std::string> chain_to(ElementId x) const {
    // A loop of main sources ends the chain. Chains are short, so a scan finds one; a set
    // (an allocation per call, and there is a call per finding) only for a long chain.
    std::vector<ElementId> chain;
    std::unordered_set<ElementId> seen;
    auto again = [&](ElementId y) {
      if (chain.size() < 16) return std::find(chain.begin(), chain.end(), y) != chain.end();
      if (seen.empty()) seen.insert(chain.begin(), chain.end());
      return !seen.insert(y).second;
    };
    for (ElementId y = x; y != kNoElement && !again(y); y = solver_.main_source(y))
      chain.push_back(y);
    std::vector<std::string> out;
    out.reserve(chain.size());
    for (auto it = chain.rbegin(); it != chain.rend(); ++it)
      out.push_back(t_[*it].id);
    return out;
  }

  /// x's overload finding, explained by the baseline's loads: no scenario may have been
  /// solved since clear().
  Finding overload(ElementId x) {
    double load = solver_.baseline(x), cap = net_.capacity(x), u = load / cap;
    Finding f;
    f.kind = "overload";
    f.subject = {t_[x].id};
    f.severity = u > 1.0 ? "critical" : "high";
    if (std::isinf(u)) {
      f.message = t_[x].id +
                  " receives unbounded load: a dependency cycle sends back as much load as it "
                  "receives, or more";
    } else {
      f.message = t_[x].id + " runs at " + percent(u) + " of its capacity" +
                  common::format(" (%.6g of %.6g requests/s)", load, cap) +
                  " with nothing failed, above the threshold of " + percent(options_.threshold);
    }
    f.explanation = chain_to(x);
    f.explanation_notes.assign(f.explanation.size(), "");
    f.details = {{"load", number_or_null(load)},
                 {"capacity", cap},
                 {"utilization", number_or_null(u)},
                 {"unbounded", std::isinf(u)}};
    detail::elide_explanation(f, options_);
    return f;
  }

  /// x's finding, from `survivors` of `propagator`'s scenario F = {x}, for which `degraded`
  /// (if not null) holds the degraded entrypoints. With a cascade, the propagator ends with
  /// the cascade's scenario.
  Finding capacity_spof(detail::Propagator& propagator, ElementId x,
                        std::vector<ElementId> survivors, const std::vector<ElementId>* degraded) {
    Finding f;
    f.kind = "capacity_spof";
    f.subject = {t_[x].id};
    ElementId worst = survivors[0];
    double worst_u = utilization(worst);
    f.explanation = chain_to(worst);
    f.explanation_notes.assign(f.explanation.size(), "");
    nlohmann::json all = nlohmann::json::array();
    for (ElementId s : survivors)
      all.push_back({{"id", t_[s].id}, {"utilization", number_or_null(utilization(s))}});
    f.details = {
        {"survivor", t_[worst].id}, {"utilization", number_or_null(worst_u)}, {"survivors", all}};
    detail::elide_explanation(f, options_);
    const Element& e = t_[x];
    f.message =
        (e.kind == ElementKind::kDomain ? "losing " + e.type + " " + e.id : "losing " + e.id) +
        " pushes " + t_[worst].id + " to " + percent(worst_u) + " of its capacity";
    if (survivors.size() > 1)
      f.message += " (and " + std::to_string(survivors.size() - 1) + " more above 100%)";

    if (options_.cascade) {
      std::vector<ElementId> failed{x};
      // Overloaded survivors fail in turn until nothing more goes above 100%.
      std::vector<ElementId> fallen;
      for (auto over = survivors; !over.empty(); over = scenario(propagator, failed)) {
        for (ElementId s : over)
          if (t_[s].kind == ElementKind::kComponent) failed.push_back(s), fallen.push_back(s);
        if (std::none_of(over.begin(), over.end(),
                         [&](ElementId s) { return t_[s].kind == ElementKind::kComponent; }))
          break;
      }
      propagator.run(failed);
      degraded = nullptr;
      std::vector<ElementId> down, eps;
      for (ElementId y : propagator.down_list()) {
        auto kind = t_[y].kind;
        if (kind == ElementKind::kEntrypoint) eps.push_back(y);
        if (kind == ElementKind::kComponent || kind == ElementKind::kService) down.push_back(y);
      }
      const auto eps_ids = order_->views(eps);
      f.details["cascade"] = {{"failed", order_->ids(fallen)},
                              {"down", order_->ids(down)},
                              {"entrypoints_down", eps_ids}};
      f.message += eps.empty() ? "; the cascade ends with " + std::to_string(down.size()) +
                                     " components and services down and every entrypoint up"
                               : "; the cascade takes down " + english_list(eps_ids);
    }
    // Without a cascade the propagator still holds F = {x}.
    std::vector<ElementId> eps_down;
    for (ElementId y : propagator.down_list())
      if (t_[y].kind == ElementKind::kEntrypoint) eps_down.push_back(y);
    f.impact.entrypoints_down = order_->views(eps_down);
    f.impact.entrypoints_degraded =
        order_->views(degraded ? *degraded : propagator.degraded_entrypoints());
    f.impact.components_down = propagator.count_down(ElementKind::kComponent);
    f.impact.services_down = propagator.count_down(ElementKind::kService);
    f.severity = f.impact.entrypoints_down.empty() ? "high" : "critical";
    return f;
  }

 private:
  const Topology& t_;
  const AnalysisOptions& options_;
  const LoadNet& net_;
  LoadSolver solver_;
  const detail::IdOrder* order_ = nullptr;
  // By element: judged and not above 100% at the baseline, so that a scenario's overload
  // of it is a finding (read for every element a scenario re-solves: a byte, not an Element).
  std::vector<uint8_t> eligible_;
};

class detail::CapacityPass::Impl {
 public:
  Impl(const Topology& t, const AnalysisOptions& options)
      : t_(t), options_(options), net_(t), main_(t, options, net_) {
    prepare_screen();
  }

  void begin_single_failures(unsigned threads, const detail::IdOrder& order) {
    main_.set_order(order);
    helpers_.clear();
    helpers_.reserve(threads);
    for (unsigned t = 1; t < threads; ++t)
      helpers_.push_back(main_);
  }
  void end_single_failures() { std::vector<Scenarios>().swap(helpers_); }

  std::optional<Finding> single_failure(unsigned thread, ElementId x,
                                        detail::Propagator& propagator,
                                        const std::vector<ElementId>* degraded) {
    if (!may_overload(propagator)) return std::nullopt;
    Scenarios& scenarios = thread == 0 ? main_ : helpers_.at(thread - 1);
    auto survivors = scenarios.survivors(propagator);
    if (survivors.empty()) return std::nullopt;
    return scenarios.capacity_spof(propagator, x, std::move(survivors), degraded);
  }

  void run(std::vector<Finding>& findings, std::vector<Utilization>& utilization,
           const detail::IdOrder& order) {
    main_.clear();  // after the single failures' scenarios
    std::vector<ElementId> over;
    for (ElementId x = 0; x < t_.size(); ++x)
      if (judged(t_, x) && main_.baseline(x) / net_.capacity(x) > options_.threshold)
        over.push_back(x);
    // Both use two threads (at 10^6 components: tens of thousands of overloads and 1.25 x 10^6
    // rows): the overload findings, each into its slot (they only read the baseline), and the
    // table's rows with their id strings, in blocks, in the order of the ids.
    std::vector<ElementId> rows;
    for (ElementId x : order.sorted())
      if (!std::isnan(net_.capacity(x))) rows.push_back(x);
    const unsigned threads = detail::thread_count(rows.size(), kParallelMin, options_.threads);
    std::vector<Finding> overloads(over.size());
    detail::parallel_for(over.size(), threads,
                         [&](unsigned, size_t i) { overloads[i] = main_.overload(over[i]); });
    for (Finding& f : overloads)
      findings.push_back(std::move(f));
    utilization.resize(rows.size());
    detail::parallel_blocks(rows.size(), 4096, threads,
                            [&](unsigned, size_t, size_t begin, size_t end) {
                              for (size_t i = begin; i < end; ++i) {
                                const ElementId x = rows[i];
                                const double load = main_.baseline(x), cap = net_.capacity(x);
                                utilization[i] = {t_[x].id, load, cap, load / cap};
                              }
                            });
  }

 private:
  // The screen. survivors() first solves an upper bound of the loads in which only rises are
  // followed, and they start only at the services that lost members and stayed up (their
  // shares grow); a failure that pushes nothing above 100% even so is no capacity_spof. The
  // screen bounds that upper bound further, from the baseline alone, so that most failures
  // need no solve at all:
  //
  // - A service s that lost members raises each surviving member m by
  //   rise(m) = base(s) * (w(m) / den_now(s) - w(m) / den_base(s)), where w(m) is m's
  //   capacity or 1 and den the sum of w over the members not down.
  // - What a rise at y adds to the load of an element z is rise(y) times the sum over the
  //   paths from y to z of the product of the gains, and the candidates z are those whose
  //   headroom h(z) = kFull * capacity - baseline it exceeds. reach(y) bounds the sum over
  //   z of (path gains from y to z) / h(z) with the baseline's gains: own(y) (1 / h(y) for
  //   a judged element not above 100% at baseline) plus the gains times reach() of what y
  //   sends load to. It is infinite in and upstream of a cycle and of an unbounded load.
  // - A path may pass through another service that lost members, whose gains to its members
  //   grow by den_base / den_now; the product R of those factors over all the services hit
  //   bounds that.
  // - A member with no out-arcs (a leaf) is reached by its own service's rise directly;
  //   the leaves are bounded by the largest rise(m) * own(m), not by their sum, since they
  //   do not reach one another. A leaf in several services counts as a non-leaf.
  //
  // So no survivor goes above 100% when max over leaves of rise(m) * own(m) plus R times
  // the sum over the other members of rise(m) * reach(m) is below 1 (with a margin for
  // rounding). The screen never rules out a failure that the upper bound would keep.

  void prepare_screen() {
    const size_t n = t_.size();
    constexpr double kInf = std::numeric_limits<double>::infinity();
    bounds_.assign(n, Bound{});
    std::vector<uint32_t> services(n, 0);
    for (ElementId s = 0; s < n; ++s) {
      bounds_[s].base = main_.baseline(s);
      for (const LoadNet::Arc& a : net_.out(s))
        if (a.edge == LoadNet::Edge::kMember) bounds_[s].base_den += a.calls, ++services[a.other];
    }
    std::vector<double> own(n, 0.0), reach(n, 0.0);
    for (ElementId z = 0; z < n; ++z) {
      if (!judged(t_, z) || main_.over_at_baseline(z)) continue;
      double cap = net_.capacity(z), base = main_.baseline(z);
      // The margin keeps a rounding error in the solver's sums from mattering.
      double headroom = kFull * cap - base - 1e-9 * std::max(cap, std::abs(base));
      own[z] = headroom > 0 ? 1.0 / headroom : kInf;
    }
    // Sinks first: what y sends load to has its bound already.
    for (uint32_t c = static_cast<uint32_t>(net_.scc_count()); c-- > 0;) {
      for (ElementId y : net_.scc_nodes(c)) {
        Bound& b = bounds_[y];
        b.open = net_.cyclic(c) || !std::isfinite(b.base);
        if (b.open) {
          reach[y] = kInf;
        } else {
          double r = own[y];
          for (const LoadNet::Arc& a : net_.out(y)) {
            // A member arc's `calls` is the member's weight in the shares.
            double gain = a.edge != LoadNet::Edge::kMember ? a.calls
                          : b.base_den > 0                 ? a.calls / b.base_den
                                                           : 0.0;
            if (gain > 0) r += gain * reach[a.other];
          }
          reach[y] = std::isnan(r) ? kInf : r;
        }
        b.leaf = net_.out(y).empty() && services[y] <= 1;
        b.bound = b.leaf ? own[y] : reach[y];
      }
    }
  }

  /// The screen's verdict on the scenario in `propagator` (see above).
  bool may_overload(const detail::Propagator& propagator) const {
    constexpr double kLimit = 1.0 - 1e-6;
    double leaves = 0, others = 0, factor = 1;
    // The services and their members are scattered over memory (see prefetch.h): each
    // service is asked for a few steps before it is read (few steps: a host's failure hits
    // only a handful), and a member's bound while its state is read, since the second loop
    // reads them all. Written out rather than through prefetch_ahead(): with these lambdas
    // GCC 12 drops the service's hints (no prefetcht0 left in objdump -d).
    constexpr size_t kAhead = 4;
    const std::vector<ElementId> hit = propagator.hit_services();
    for (size_t i = 0; i < hit.size(); ++i) {
      if (i + 2 * kAhead < hit.size()) net_.prefetch_out_offset(hit[i + 2 * kAhead]);
      if (i + kAhead < hit.size()) {
        __builtin_prefetch(&bounds_[hit[i + kAhead]]);
        net_.prefetch_out(hit[i + kAhead]);
      }
      const ElementId s = hit[i];
      const Bound& service = bounds_[s];
      if (service.base == 0) continue;  // nothing to redistribute
      if (service.open) return true;
      double den = 0;
      for (const LoadNet::Arc& a : net_.out(s)) {
        if (a.edge != LoadNet::Edge::kMember) continue;
        __builtin_prefetch(&bounds_[a.other]);
        if (!propagator.down(a.other)) den += a.calls;
      }
      if (!(den > 0)) return true;
      factor *= service.base_den / den;
      const double per_weight = service.base * (1.0 / den - 1.0 / service.base_den);
      for (const LoadNet::Arc& a : net_.out(s)) {
        ElementId m = a.other;
        if (a.edge != LoadNet::Edge::kMember || propagator.down(m)) continue;
        const Bound& member = bounds_[m];
        double rise = per_weight * a.calls;
        if (member.leaf)
          leaves = std::max(leaves, rise * member.bound);
        else
          others += rise * member.bound;
      }
      // Every term only grows with more services (factor >= 1), so once the bound is reached
      // the rest cannot bring it back: a failure of a rack or zone hits thousands.
      if (!(leaves + factor * others < kLimit)) return true;
    }
    return false;
  }

  const Topology& t_;
  const AnalysisOptions& options_;
  LoadNet net_;
  /// The baseline, and the scenarios solved on thread 0.
  Scenarios main_;
  /// The scenarios of the other threads during the single failures.
  std::vector<Scenarios> helpers_;
  // The screen's figures by element (see above), together: the screen reads them for every
  // member of every service that a failure hits, and in arrays of their own each would be a
  // cache miss of its own.
  struct Bound {
    double base = 0;      // the baseline load
    double base_den = 0;  // a service: the sum of its members' weights
    double bound = 0;     // as a member: own() for a leaf, else reach()
    bool leaf = false;
    bool open = false;  // in a cycle or unbounded at the baseline: no bound
  };
  std::vector<Bound> bounds_;
};

std::optional<double> capacity_of(const Topology& topology, ElementId x) {
  LoadNet net(topology);
  double c = net.capacity(x);
  return std::isnan(c) ? std::nullopt : std::optional<double>(c);
}

std::vector<double> compute_loads(const Topology& topology, std::span<const ElementId> failed) {
  LoadNet net(topology);
  LoadSolver solver(net);
  solver.solve_baseline();
  detail::Net pnet(topology);
  detail::Propagator propagator(pnet);
  propagator.run(failed);
  solver.solve_scenario(propagator.down_list(), propagator.hit_services());
  std::vector<double> out(topology.size());
  for (ElementId x = 0; x < topology.size(); ++x)
    out[x] = solver.load(x);
  return out;
}

namespace detail {

CapacityPass::CapacityPass(const Topology& topology, const AnalysisOptions& options) {
  bool loads = std::any_of(topology.elements.begin(), topology.elements.end(),
                           [](const Element& e) { return e.load.has_value(); });
  if (loads) impl_ = std::make_unique<Impl>(topology, options);
}

CapacityPass::CapacityPass(CapacityPass&&) noexcept = default;
CapacityPass::~CapacityPass() = default;

void CapacityPass::begin_single_failures(unsigned threads, const IdOrder& order) {
  if (impl_) impl_->begin_single_failures(threads, order);
}

void CapacityPass::end_single_failures() {
  if (impl_) impl_->end_single_failures();
}

std::optional<Finding> CapacityPass::single_failure(unsigned thread, ElementId x,
                                                    Propagator& propagator,
                                                    const std::vector<ElementId>* degraded) {
  return impl_ ? impl_->single_failure(thread, x, propagator, degraded) : std::nullopt;
}

void CapacityPass::run(std::vector<Finding>& findings, std::vector<Utilization>& utilization,
                       const IdOrder& order) {
  if (impl_) impl_->run(findings, utilization, order);
}

}  // namespace detail
}  // namespace achilles::analyzer
