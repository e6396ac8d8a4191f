// analyze(): the Analyzer that runs the passes of topology.md "What the analyzer reports" in
// turn. The failure passes live here (single failures; cut sets, with the grouped pairs of a
// k-of-n group and the interval search of the pairs that weaken a service; cold-start
// cycles); load, availability and structure live in their own files (passes.h). Past 500
// lines because the cut-set search reads the single-failure pass's state (the propagator,
// what each failure takes down, who weakens which service) as members of one class;
// splitting it would pass all of that around.
#include "achilles/analyzer/analysis.h"
#include "achilles/common/text.h"

#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/strong_components.hpp>
#include <cassert>
#include <cmath>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "id_order.h"
#include "parallel.h"
#include "passes.h"
#include "propagation.h"

namespace achilles::analyzer {
namespace {

using common::join;

using detail::english_list;
using detail::Link;
using detail::Net;
using detail::Propagator;

std::string quorum_note(const Element& service) {
  return std::to_string(service.min_healthy) + " of " + std::to_string(service.members.size()) +
         " healthy needed";
}

/// A sorted pair or triple of element indices, usable as a hash key.
struct Combo {
  ElementId a = kNoElement, b = kNoElement, c = kNoElement;
  bool operator==(const Combo&) const = default;
};
struct ComboHash {
  size_t operator()(const Combo& k) const {
    uint64_t h = k.a * 0x9E3779B97F4A7C15ULL;
    h ^= (k.b + 0x632BE59BD9B4E019ULL) * 0xC2B2AE3D27D4EB4FULL;
    h ^= (k.c + 0x94D049BB133111EBULL) * 0x165667B19E3779F9ULL;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};
Combo make_combo(std::vector<ElementId> ids) {
  std::sort(ids.begin(), ids.end());
  Combo k;
  k.a = ids[0];
  if (ids.size() > 1) k.b = ids[1];
  if (ids.size() > 2) k.c = ids[2];
  return k;
}
std::vector<ElementId> combo_ids(const Combo& k) {
  std::vector<ElementId> ids{k.a};
  if (k.b != kNoElement) ids.push_back(k.b);
  if (k.c != kNoElement) ids.push_back(k.c);
  return ids;
}

/// The members of a service that a scenario took down, as their ranks in the service's
/// members ordered by domain (Analyzer::rank_members()).
struct Hit {
  ElementId service;
  std::vector<uint32_t> lost;
};

/// Does losing the union of `a` and `b` bring `service` below its quorum?
bool union_kills(const Element& service, const std::vector<uint32_t>& a,
                 const std::vector<uint32_t>& b) {
  const size_t n = service.members.size();
  const size_t spare = n - service.min_healthy;  // members it can lose and stay up
  if (a.size() + b.size() <= spare) return false;
  size_t united = 0;
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i] < b[j]))
      ++i;
    else if (i == a.size() || b[j] < a[i])
      ++j;
    else
      ++i, ++j;
    ++united;
  }
  return united > spare;
}

class Analyzer {
 public:
  /// The propagation net and the capacity pass (its load net, baseline and screen) do not
  /// depend on each other, so they are built on two threads.
  Analyzer(const Topology& topology, const AnalysisOptions& options)
      : Analyzer(topology, options, prepare(topology, options)) {}

  Analysis run() {
    Analysis analysis;
    analysis.options = options_;
    for (ElementId x = 0; x < t_.size(); ++x) {
      auto kind = t_[x].kind;
      if (kind == ElementKind::kComponent || kind == ElementKind::kDomain) failable_.push_back(x);
    }
    // Pass 1: every single failure (spof, domain_spof, capacity_spof); for cut sets, also
    // remember what each one takes down and which services it weakens without killing.
    single_failures();
    // Pass 2: cut sets, only from failures that weaken a common service (see cut_sets()).
    if (options_.order >= 2) cut_sets();
    // Pass 3: what can never come up from a cold start, and the loops that cause it.
    if (options_.progress) options_.progress("cold start", -1);
    cold_start_cycles();
    // Pass 4: the utilization table and overload (load.cc).
    if (options_.progress) options_.progress("loads", -1);
    capacity_.run(findings_, analysis.utilization, order_);
    // Pass 5: availability per entrypoint, importance, slo_risk (availability.cc).
    detail::availability_pass(t_, options_, findings_, analysis.availability);
    // Pass 6: articulation points and bridges of an undirected graph (structure.cc).
    if (options_.progress) options_.progress("structure", -1);
    detail::structure_pass(t_, findings_);

    // The chains of the other passes, built whole (and short, but for deep estates).
    for (Finding& f : findings_)
      detail::elide_explanation(f, options_);
    if (options_.progress) options_.progress("sorting", -1);
    sort_findings();
    analysis.findings = std::move(findings_);
    if (options_.progress) options_.progress("risk groups", -1);
    analysis.groups = group_risks(t_, analysis.findings, options_.group_by);
    return analysis;
  }

 private:
  /// Most severe first, then by id; each key is built once, not in every comparison, and
  /// both that and the sort use two threads (at 10^6 components there are some 175,000
  /// findings). Equal keys keep the order found, so the result is the same on one thread.
  void sort_findings() {
    struct Key {
      int rank;
      std::string id;
      size_t index;
    };
    const unsigned threads = detail::thread_count(findings_.size(), 4096, options_.threads);
    std::vector<Key> keys(findings_.size());
    detail::parallel_blocks(
        keys.size(), 4096, threads, [&](unsigned, size_t, size_t begin, size_t end) {
          for (size_t i = begin; i < end; ++i)
            keys[i] = {severity_rank(findings_[i].severity), findings_[i].id(), i};
        });
    detail::parallel_sort(
        keys.begin(), keys.end(),
        [](const Key& a, const Key& b) {
          if (a.rank != b.rank) return a.rank < b.rank;
          if (int c = a.id.compare(b.id); c != 0) return c < 0;
          return a.index < b.index;
        },
        threads);
    std::vector<Finding> sorted;
    sorted.reserve(findings_.size());
    for (const Key& k : keys)
      sorted.push_back(std::move(findings_[k.index]));
    findings_ = std::move(sorted);
  }

  void progress(std::string_view stage, size_t done, size_t total) {
    if (!options_.progress || total == 0) return;
    if (done != total && done % std::max<size_t>(1, total / 100) != 0) return;
    options_.progress(stage, static_cast<double>(done) / static_cast<double>(total));
  }

  /// Entrypoints down in the propagator's last run, by index.
  std::vector<ElementId> entrypoints_down() const { return entrypoints_down(propagator_); }
  std::vector<ElementId> entrypoints_down(const Propagator& propagator) const {
    std::vector<ElementId> out;
    // Most failures take none down, and the kinds are read from the net's bytes: an Element
    // is a cache miss of its own.
    if (propagator.count_down(ElementKind::kEntrypoint) == 0) return out;
    for (ElementId x : propagator.down_list())
      if (net_.kind(x) == ElementKind::kEntrypoint) out.push_back(x);
    std::sort(out.begin(), out.end());
    return out;
  }

  /// Builds a finding from the propagator's last run (the scenario F = subject).
  Finding failure_finding(std::string kind, const std::vector<ElementId>& subject,
                          const std::vector<ElementId>& eps_down, ElementId explain_from) {
    return failure_finding(propagator_, std::move(kind), subject, eps_down,
                           propagator_.degraded_entrypoints(), explain_from);
  }
  /// `degraded` is the propagator's degraded_entrypoints().
  Finding failure_finding(Propagator& propagator, std::string kind,
                          const std::vector<ElementId>& subject,
                          const std::vector<ElementId>& eps_down,
                          const std::vector<ElementId>& degraded, ElementId explain_from) {
    Finding f;
    f.kind = std::move(kind);
    for (ElementId x : subject)
      f.subject.push_back(t_[x].id);
    std::sort(f.subject.begin(), f.subject.end());
    f.impact.entrypoints_down = order_.views(eps_down);
    f.impact.entrypoints_degraded = order_.views(degraded);
    f.impact.components_down = propagator.count_down(ElementKind::kComponent);
    f.impact.services_down = propagator.count_down(ElementKind::kService);
    // The chain's ids first, and names only for those kept: on a chain of N components
    // each of the N spofs is explained by a chain as long as its depth.
    std::vector<ElementId> chain;
    for (ElementId x = explain_from; x != kNoElement; x = propagator.cause(x))
      chain.push_back(x);
    const size_t half = kExplanationMax / 2;
    const bool elide = !options_.full_explanations && chain.size() > kExplanationMax;
    for (size_t i = 0; i < chain.size(); ++i) {
      if (elide && i >= half && i < chain.size() - half) continue;
      const Element& e = t_[chain[i]];
      f.explanation.push_back(e.id);
      ElementId cause = propagator.cause(chain[i]);
      bool by_member = e.kind == ElementKind::kService && cause != kNoElement &&
                       std::find(e.members.begin(), e.members.end(), cause) != e.members.end();
      f.explanation_notes.push_back(by_member ? quorum_note(e) : "");
    }
    if (elide) f.details["explanation_elided"] = chain.size() - kExplanationMax;
    return f;
  }

  // The single failures are independent of one another, so two threads share them, each
  // with its own propagator, in blocks of consecutive failures; each block's findings are
  // kept apart and appended in block order, so findings_ gets them in the order one thread
  // would have found them. Each failure writes only its own entries in singles_.
  void single_failures() {
    if (options_.order >= 2) {
      singles_.resize(t_.size());
      rank_members();
    }
    constexpr size_t kBlock = 256;
    const size_t blocks = detail::block_count(failable_.size(), kBlock);
    const unsigned threads = detail::thread_count(blocks, 4, options_.threads);
    std::vector<Propagator> helpers;
    for (unsigned t = 1; t < threads; ++t)
      helpers.emplace_back(net_);
    capacity_.begin_single_failures(threads, order_);
    std::vector<std::vector<Finding>> found(blocks);
    detail::parallel_blocks(
        failable_.size(), kBlock, threads, [&](unsigned t, size_t b, size_t begin, size_t end) {
          Propagator& propagator = t == 0 ? propagator_ : helpers[t - 1];
          for (size_t i = begin; i < end; ++i) {
            if (t == 0) progress("single failures", i, failable_.size());
            propagator.prefetch_runs(std::span(failable_).subspan(i + 1, end - i - 1));
            single_failure(t, propagator, failable_[i], found[b]);
          }
        });
    capacity_.end_single_failures();
    for (auto& block : found)
      for (Finding& f : block)
        findings_.push_back(std::move(f));
    progress("single failures", failable_.size(), failable_.size());
  }

  /// F = {x} on thread `thread`: its spof or domain_spof finding and its capacity_spof
  /// finding, if any, into `out`; and, for cut sets, what it takes down.
  void single_failure(unsigned thread, Propagator& propagator, ElementId x,
                      std::vector<Finding>& out) {
    propagator.run(std::span<const ElementId>(&x, 1));
    auto eps = entrypoints_down(propagator);
    std::optional<std::vector<ElementId>> degraded;
    if (!eps.empty()) {
      bool domain = t_[x].kind == ElementKind::kDomain;
      // The chain is explained from the first impacted entrypoint by id.
      ElementId from = *std::min_element(
          eps.begin(), eps.end(), [&](ElementId a, ElementId b) { return order_.before(a, b); });
      degraded = propagator.degraded_entrypoints();
      Finding f =
          failure_finding(propagator, domain ? "domain_spof" : "spof", {x}, eps, *degraded, from);
      f.severity = "critical";
      auto names = english_list(f.impact.entrypoints_down);
      f.message = domain ? "losing " + t_[x].type + " " + t_[x].id + " takes down " + names
                         : t_[x].id + " is a single point of failure for " + names;
      out.push_back(std::move(f));
    }
    if (options_.order >= 2) {
      Single& s = singles_[x];
      s.eps_down = std::move(eps);
      for (ElementId svc : propagator.hit_services()) {
        Hit hit{svc, lost_members(propagator, svc)};
        s.hits.push_back(std::move(hit));
      }
    }
    // Last, since with --cascade it leaves the propagator holding another scenario.
    if (auto f = capacity_.single_failure(thread, x, propagator, degraded ? &*degraded : nullptr))
      out.push_back(std::move(*f));
  }

  // Each service's members in the preorder of their domains (members without one last, the
  // list's order among equals), so that what a domain's failure takes down of a service is
  // one run of ranks whatever order the members are listed in: find_killing_pairs() handles
  // runs as intervals, and anything else pair by pair.
  void rank_members() {
    std::vector<uint32_t> pre(t_.size(), UINT32_MAX);
    std::vector<std::vector<ElementId>> children(t_.size());
    std::vector<ElementId> stack;
    for (ElementId x = 0; x < t_.size(); ++x) {
      if (t_[x].kind != ElementKind::kDomain) continue;
      if (t_[x].parent == kNoElement)
        stack.push_back(x);
      else
        children[t_[x].parent].push_back(x);
    }
    std::reverse(stack.begin(), stack.end());
    uint32_t next = 0;
    while (!stack.empty()) {
      ElementId d = stack.back();
      stack.pop_back();
      pre[d] = next++;
      stack.insert(stack.end(), children[d].rbegin(), children[d].rend());
    }
    ranked_.resize(t_.size());
    for (ElementId x = 0; x < t_.size(); ++x) {
      const Element& e = t_[x];
      if (e.kind != ElementKind::kService) continue;
      ranked_[x] = e.members;
      auto key = [&](ElementId m) {
        return t_[m].kind == ElementKind::kComponent && t_[m].domain != kNoElement
                   ? pre[t_[m].domain]
                   : UINT32_MAX;
      };
      std::stable_sort(ranked_[x].begin(), ranked_[x].end(),
                       [&](ElementId a, ElementId b) { return key(a) < key(b); });
    }
  }

  /// The ranks of the members of `svc` down in `propagator`'s last run, ascending.
  std::vector<uint32_t> lost_members(const Propagator& propagator, ElementId svc) const {
    std::vector<uint32_t> lost;
    const auto& members = ranked_[svc];
    for (uint32_t i = 0; i < members.size(); ++i)
      if (propagator.down(members[i])) lost.push_back(i);
    return lost;
  }

  // Why only pairs that weaken a common service: the union U of what a and b take down on
  // their own is already closed under every rule except a service's quorum (a component or
  // an entrypoint falls with any one hard dependency, so one side alone would have taken it
  // down). Failing a and b together can therefore reach further than U only where a service
  // loses members to both and the union of its losses breaks its quorum ("a killing pair").
  // Every other pair takes down exactly U, and then no entrypoint is down that a or b alone
  // did not take down: no minimal cut set.
  //
  // Triples, by the same argument: for a minimal {a, b, c}, whichever element is singled out
  // as c, what the other two take down and what c takes down must break a quorum together.
  // Either some two of the three are a killing pair P, and then c breaks a quorum together
  // with what P takes down (found by running P); or no two are, and then what the pairs take
  // down is just the union of single failures, so all three weaken one service and only the
  // union of their three losses breaks it (found from the single failures alone).
  void cut_sets() {
    // Who weakens which service without killing it, with the members each takes down.
    for (ElementId x : failable_)
      for (const Hit& h : singles_[x].hits)
        weakened_[h.service].push_back({x, &h});

    find_groups();
    for (const auto& [svc, list] : weakened_)
      find_killing_pairs(svc, list);
    std::vector<Combo> ordered(killing_pairs_.begin(), killing_pairs_.end());
    sort_combos(ordered);
    size_t done = 0;
    for (const Combo& k : ordered) {
      progress("cut sets of 2", done++, ordered.size());
      check_cut_set(k);
    }
    for (const Group& g : groups_)
      if (!g.dissolved) group_finding(g);
    if (options_.order < 3) return;

    std::unordered_set<Combo, ComboHash> triples;
    // Triples that contain a killing pair.
    done = 0;
    for (const Combo& p : ordered) {
      progress("cut sets of 3", done++, ordered.size());
      propagator_.run(combo_ids(p));
      held_ = {};
      for (ElementId svc : propagator_.hit_services()) {
        auto it = weakened_.find(svc);
        if (it == weakened_.end()) continue;
        const Element& service = t_[svc];
        std::vector<uint32_t> lost = lost_members(propagator_, svc);
        for (const auto& [c, hit] : it->second) {
          if (c == p.a || c == p.b) continue;
          if (union_kills(service, lost, hit->lost)) triples.insert(make_combo({p.a, p.b, c}));
        }
      }
    }
    // Triples of which no two are a killing pair: three losses of one service.
    for (auto& [svc, list] : weakened_) {
      const Element& service = t_[svc];
      const size_t spare = service.members.size() - service.min_healthy;
      // Members of the service's group of any 3 lose one member each, the least there is.
      // (The id is copied: clang 14, which builds the fuzz targets, cannot capture a
      // structured binding.)
      auto in_group3 = [&, id = svc](ElementId x) {
        return !group_of_.empty() && group_of_[x] != kNoGroup &&
               groups_[group_of_[x]].service == id && groups_[group_of_[x]].k == 3;
      };
      // Largest losses first, so that the size bound cuts each loop short; among equals, the
      // group's members last, so that a triple of them only (the group's finding) is never
      // looked at: once i is a member, j and k are too.
      std::sort(list.begin(), list.end(), [&](const auto& x, const auto& y) {
        if (x.second->lost.size() != y.second->lost.size())
          return x.second->lost.size() > y.second->lost.size();
        return in_group3(x.first) < in_group3(y.first);
      });
      auto size = [&list = list](size_t i) { return list[i].second->lost.size(); };
      for (size_t i = 0; i < list.size() && 3 * size(i) > spare && !in_group3(list[i].first); ++i)
        for (size_t j = i + 1; j < list.size() && size(i) + 2 * size(j) > spare; ++j) {
          if (union_kills(service, list[i].second->lost, list[j].second->lost)) continue;
          std::vector<uint32_t> ij;
          std::set_union(list[i].second->lost.begin(), list[i].second->lost.end(),
                         list[j].second->lost.begin(), list[j].second->lost.end(),
                         std::back_inserter(ij));
          for (size_t k = j + 1; k < list.size() && size(i) + size(j) + size(k) > spare; ++k)
            if (union_kills(service, ij, list[k].second->lost))
              triples.insert(make_combo({list[i].first, list[j].first, list[k].first}));
        }
    }
    std::vector<Combo> triple_ordered(triples.begin(), triples.end());
    sort_combos(triple_ordered);
    done = 0;
    for (const Combo& k : triple_ordered) {
      progress("checking cut sets of 3", done++, triple_ordered.size());
      check_cut_set(k);
    }
  }

  // A k-of-n group (analysis-json.md, `any`): members of one service that can lose one
  // member more than it can spare (k = 2; with --order 3 also two more, k = 3), each of
  // which, failing, takes down nothing but itself and touches nothing but that service (its
  // only edge in the net is its membership). Any k of them then break the service, fewer do
  // nothing, and every k take down the same: themselves and what falls with the service. So
  // their sets are one finding, not C(n, k) of them, and are not searched one by one.
  // (Members that fall with the service, depending on it, are left out: see find_groups().)
  // A quorum of 10^4 that needs all but two has 1.7×10^11 sets of 3.
  //
  // From three members for pairs (three pairs of one service read as one finding), from six
  // for triples (more sets than members, and two disjoint sets for find_groups()). With --order 3 a
  // group of any 2 is dissolved into its pairs when some third failure would break a further quorum
  // together with what a pair takes down (the triples would differ by pair).
  struct Group {
    ElementId service = kNoElement;
    size_t k = 2;                    // any k of the members (2, or 3 with --order 3)
    std::vector<ElementId> members;  // sorted by index
    bool dissolved = false;
  };

  void find_groups() {
    for (const auto& [svc, list] : weakened_) {
      const Element& service = t_[svc];
      const size_t spare = service.members.size() - service.min_healthy;
      if (spare != 1 && !(spare == 2 && options_.order >= 3)) continue;
      Group g;
      g.service = svc;
      g.k = spare + 1;
      // Pairs from three members (three pairs of one service are one finding, as a reader
      // of a Deployment of three pods wants); triples from six (more sets than members).
      const size_t least = g.k == 2 ? 3 : 6;
      for (const auto& [x, hit] : list) {
        if (t_[x].kind != ElementKind::kComponent || hit->lost.size() != 1) continue;
        auto to = net_.affected(x);
        if (to.size() == 1 && to[0] == svc && net_.links(x)[0] == Link::kMember)
          g.members.push_back(x);
      }
      if (g.members.size() < least) continue;
      std::sort(g.members.begin(), g.members.end());
      // A member that falls with the service (it depends on it) makes the sets without it
      // take down one more: it is paired one by one. Two disjoint sets find them all, as
      // each takes down the other's; of three members, the three pairs do.
      std::vector<ElementId> falls;
      const auto& m = g.members;
      std::vector<std::vector<ElementId>> sets;
      if (m.size() >= 2 * g.k)
        sets = {{m.begin(), m.begin() + g.k}, {m.begin() + g.k, m.begin() + 2 * g.k}};
      else
        sets = {{m[0], m[1]}, {m[1], m[2]}, {m[0], m[2]}};
      for (const auto& set : sets) {
        propagator_.run(set);
        for (ElementId x : g.members)
          if (std::find(set.begin(), set.end(), x) == set.end() && propagator_.down(x))
            falls.push_back(x);
      }
      held_ = {};
      std::erase_if(g.members, [&](ElementId x) {
        return std::find(falls.begin(), falls.end(), x) != falls.end();
      });
      if (g.members.size() < least) continue;
      // (Sets of 3 are the largest searched, so a group of any 3 is never dissolved.)
      if (g.k == 2 && options_.order >= 3) g.dissolved = further_quorum_broken(g);
      groups_.push_back(std::move(g));
    }
    // Deterministic order of the findings' creation; the findings are sorted anyway.
    std::sort(groups_.begin(), groups_.end(),
              [](const Group& a, const Group& b) { return a.service < b.service; });
    group_of_.assign(t_.size(), kNoGroup);
    for (uint32_t i = 0; i < groups_.size(); ++i)
      if (!groups_[i].dissolved)
        for (ElementId x : groups_[i].members)
          group_of_[x] = i;
  }

  /// Whether some third failure breaks a quorum together with what a pair of `g` takes down
  /// (the same for every pair: the pair and what falls with the service, of which no member
  /// of the group is part).
  bool further_quorum_broken(const Group& g) {
    const ElementId pair[2] = {g.members[0], g.members[1]};
    propagator_.run(pair);
    held_ = {};
    for (ElementId svc : propagator_.hit_services()) {
      auto it = weakened_.find(svc);
      if (it == weakened_.end()) continue;
      const Element& service = t_[svc];
      std::vector<uint32_t> lost = lost_members(propagator_, svc);
      for (const auto& [c, hit] : it->second)
        if (c != pair[0] && c != pair[1] && union_kills(service, lost, hit->lost)) return true;
    }
    return false;
  }

  /// Whether `a` and `b` are two members of one group of any 2 (a pair its finding stands for).
  bool grouped_pair(ElementId a, ElementId b) const {
    return !group_of_.empty() && group_of_[a] != kNoGroup && group_of_[a] == group_of_[b] &&
           groups_[group_of_[a]].k == 2;
  }

  /// The grouped cut_set of `g`, if its sets of k take down an entrypoint.
  void group_finding(const Group& g) {
    propagator_.run(std::span<const ElementId>(g.members.data(), g.k));
    held_ = {};
    auto eps = entrypoints_down();
    if (eps.empty()) return;
    ElementId from = *std::min_element(
        eps.begin(), eps.end(), [&](ElementId a, ElementId b) { return order_.before(a, b); });
    Finding f = failure_finding("cut_set", g.members, eps, from);
    f.severity = g.k == 2 ? "high" : "medium";  // as for single cut sets of that order
    const uint64_t n = g.members.size();
    const uint64_t count = g.k == 2 ? n * (n - 1) / 2 : n * (n - 1) / 2 * (n - 2) / 3;
    f.details["any"] = g.k;
    f.details["count"] = count;
    f.message = "losing any " + std::to_string(g.k) + " of these " + std::to_string(n) +
                " members of " + t_[g.service].id + " together takes down " +
                english_list(f.impact.entrypoints_down) + " (" + std::to_string(count) +
                " cut sets)";
    findings_.push_back(std::move(f));
  }

  // The killing pairs of one service: pairs in `list` whose losses together are more than
  // it can spare. Checking every pair cost the square of the list times the losses' length
  // (cubic on a failure-domain tree N deep, where every domain weakens a service of N
  // hosts). Here a loss that is one run of member positions is an interval, and the pairs of
  // intervals that kill are reported from sparse tables (range maxima) in time linear in
  // the pairs found, times a log: a pair of intervals a, b with a starting first (same
  // start: one holds the other, and neither kills alone) kills iff b starts at or after a's
  // end and their lengths add up to more than the spare members, or b starts inside a and
  // ends more than `spare` after a's start. Other losses are paired with everything as
  // before, bounded by size. Pairs within a group are the group's finding.
  void find_killing_pairs(ElementId svc,
                          const std::vector<std::pair<ElementId, const Hit*>>& list) {
    const Element& service = t_[svc];
    const size_t spare = service.members.size() - service.min_healthy;
    struct Interval {
      uint32_t lo, hi;  // member positions [lo, hi)
      size_t at;        // in `list`
    };
    std::vector<Interval> runs;
    std::vector<size_t> scattered, grouped;  // positions in `list`
    for (size_t i = 0; i < list.size(); ++i) {
      const auto& lost = list[i].second->lost;
      if (!group_of_.empty() && group_of_[list[i].first] != kNoGroup &&
          groups_[group_of_[list[i].first]].service == svc)
        grouped.push_back(i);
      else if (lost.back() - lost.front() + 1 == lost.size())
        runs.push_back({lost.front(), lost.back() + 1, i});
      else
        scattered.push_back(i);
    }
    auto add = [&](ElementId a, ElementId b) { killing_pairs_.insert(make_combo({a, b})); };

    std::sort(runs.begin(), runs.end(),
              [](const Interval& a, const Interval& b) { return a.lo < b.lo; });
    const size_t n = runs.size();
    if (n > 1) {
      // Sparse tables of the position of the largest length and of the largest end.
      auto len = [&](size_t i) { return runs[i].hi - runs[i].lo; };
      auto end = [&](size_t i) { return runs[i].hi; };
      size_t levels = 1;
      while ((size_t{1} << levels) <= n)
        ++levels;
      std::vector<std::vector<uint32_t>> by_len(levels), by_end(levels);
      by_len[0].resize(n);
      for (size_t i = 0; i < n; ++i)
        by_len[0][i] = static_cast<uint32_t>(i);
      by_end[0] = by_len[0];
      for (size_t l = 1; l < levels; ++l) {
        const size_t span = size_t{1} << l, half = span / 2;
        by_len[l].resize(n - span + 1);
        by_end[l].resize(n - span + 1);
        for (size_t i = 0; i + span <= n; ++i) {
          uint32_t a = by_len[l - 1][i], b = by_len[l - 1][i + half];
          by_len[l][i] = len(a) >= len(b) ? a : b;
          a = by_end[l - 1][i], b = by_end[l - 1][i + half];
          by_end[l][i] = end(a) >= end(b) ? a : b;
        }
      }
      // Every i in [lo, hi) with value(i) > bound, by the table `table` of `value`, paired
      // with the loss at `a` (a stack of ranges, not recursion: it may go deep).
      std::vector<std::pair<size_t, size_t>> ranges;
      auto report = [&](const std::vector<std::vector<uint32_t>>& table, auto value, size_t lo,
                        size_t hi, size_t bound, size_t a) {
        ranges.assign(1, {lo, hi});
        while (!ranges.empty()) {
          auto [from, to] = ranges.back();
          ranges.pop_back();
          if (from >= to) continue;
          size_t l = 0;
          while ((size_t{2} << l) <= to - from)
            ++l;
          uint32_t p = table[l][from], q = table[l][to - (size_t{1} << l)];
          uint32_t m = value(p) >= value(q) ? p : q;
          if (value(m) <= bound) continue;
          add(list[a].first, list[runs[m].at].first);
          ranges.push_back({from, m});
          ranges.push_back({m + 1, to});
        }
      };
      auto first_from = [&](uint32_t pos) {
        return static_cast<size_t>(
            std::partition_point(runs.begin(), runs.end(),
                                 [&](const Interval& r) { return r.lo < pos; }) -
            runs.begin());
      };
      for (size_t i = 0; i < n; ++i) {
        const Interval& a = runs[i];
        const size_t length = a.hi - a.lo;
        // After a's end, longer than what a leaves of the spare members.
        if (length < spare)
          report(by_len, len, first_from(a.hi), n, spare - length, a.at);
        else
          report(by_len, len, first_from(a.hi), n, 0, a.at);
        // Starting inside a, after its start, and ending more than `spare` after it.
        report(by_end, end, first_from(a.lo + 1), first_from(a.hi), a.lo + spare, a.at);
      }
    }
    // Scattered losses with every other loss (not twice among themselves), and group
    // members with the intervals (among themselves they are the group's finding), bounded
    // by size.
    auto pair_up = [&](size_t i, size_t j) {
      const auto& [x, a] = list[i];
      const auto& [y, b] = list[j];
      if (a->lost.size() + b->lost.size() > spare && union_kills(service, a->lost, b->lost))
        add(x, y);
    };
    for (size_t s = 0; s < scattered.size(); ++s) {
      for (size_t t = s + 1; t < scattered.size(); ++t)
        pair_up(scattered[s], scattered[t]);
      for (size_t g : grouped)
        pair_up(scattered[s], g);
      for (const Interval& r : runs)
        pair_up(scattered[s], r.at);
    }
    for (size_t g : grouped)
      for (const Interval& r : runs)
        pair_up(g, r.at);
  }

  void sort_combos(std::vector<Combo>& combos) const {
    std::sort(combos.begin(), combos.end(), [](const Combo& x, const Combo& y) {
      return std::tie(x.a, x.b, x.c) < std::tie(y.a, y.b, y.c);
    });
  }

  /// Entrypoints down when the elements of `k` fail together (memoised for pairs).
  /// A pair that is not a killing pair takes down only the union of its single failures.
  const std::vector<ElementId>& eps_down_of(const Combo& k) {
    if (k.b == kNoElement) return singles_[k.a].eps_down;
    auto it = combo_eps_.find(k);
    if (it != combo_eps_.end()) return it->second;
    auto& eps = combo_eps_[k];
    if (k.c == kNoElement && !killing_pairs_.count(k) && !grouped_pair(k.a, k.b)) {
      const auto& a = singles_[k.a].eps_down;
      const auto& b = singles_[k.b].eps_down;
      std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(eps));
    } else {
      propagator_.run(combo_ids(k));
      held_ = k;
      eps = entrypoints_down();
    }
    return eps;
  }

  /// Reports `k` if some entrypoint goes down with all of it and with no proper subset.
  void check_cut_set(const Combo& k) {
    auto ids = combo_ids(k);
    std::vector<ElementId> eps = eps_down_of(k);
    std::vector<ElementId> minimal_for = eps;
    auto drop = [&](const Combo& sub) {
      const auto& sub_eps = eps_down_of(sub);
      std::erase_if(minimal_for, [&](ElementId e) {
        return std::binary_search(sub_eps.begin(), sub_eps.end(), e);
      });
    };
    for (ElementId x : ids)
      drop(make_combo({x}));
    if (ids.size() == 3) {
      drop(make_combo({k.a, k.b}));
      drop(make_combo({k.a, k.c}));
      drop(make_combo({k.b, k.c}));
    }
    if (minimal_for.empty()) return;
    // The memo may have left another scenario in the propagator (not when it just ran k).
    if (!(held_ == k)) propagator_.run(ids);
    held_ = k;
    ElementId from =
        *std::min_element(minimal_for.begin(), minimal_for.end(),
                          [&](ElementId a, ElementId b) { return order_.before(a, b); });
    Finding f = failure_finding("cut_set", ids, eps, from);
    f.severity = ids.size() == 2 ? "high" : "medium";
    std::vector<std::string> names = f.subject;
    f.message = "losing " + english_list(names) + " together takes down " +
                english_list(f.impact.entrypoints_down);
    findings_.push_back(std::move(f));
  }

  // Cold start (topology.md): bring up whatever has its hard dependencies and quorum up, until
  // nothing changes. What is left can never start; the loops among it are the findings.
  void cold_start_cycles() {
    const size_t n = t_.size();
    std::vector<uint32_t> pending(n, 0), members_up(n, 0);
    std::vector<uint8_t> up(n, 0);
    for (ElementId y = 0; y < n; ++y) {
      auto to = net_.affected(y);
      auto links = net_.links(y);
      for (size_t i = 0; i < to.size(); ++i)
        if (links[i] == Link::kHard) ++pending[to[i]];
    }
    auto ready = [&](ElementId x) {
      if (up[x] || pending[x] != 0) return false;
      return t_[x].kind != ElementKind::kService || members_up[x] >= t_[x].min_healthy;
    };
    std::vector<ElementId> queue;
    for (ElementId x = 0; x < n; ++x)
      if (ready(x)) up[x] = 1, queue.push_back(x);
    for (size_t head = 0; head < queue.size(); ++head) {
      ElementId y = queue[head];
      auto to = net_.affected(y);
      auto links = net_.links(y);
      for (size_t i = 0; i < to.size(); ++i) {
        ElementId x = to[i];
        if (links[i] == Link::kHard)
          --pending[x];
        else if (links[i] == Link::kMember)
          ++members_up[x];
        else
          continue;
        if (ready(x)) up[x] = 1, queue.push_back(x);
      }
    }
    auto stuck = [&](ElementId x) {
      auto kind = t_[x].kind;
      return !up[x] && (kind == ElementKind::kComponent || kind == ElementKind::kService);
    };
    // The stuck elements and their "waits on" edges: hard dependency and service -> member.
    std::vector<ElementId> nodes;
    std::vector<uint32_t> local(n, UINT32_MAX);
    for (ElementId x = 0; x < n; ++x)
      if (stuck(x)) local[x] = static_cast<uint32_t>(nodes.size()), nodes.push_back(x);
    if (nodes.empty()) return;
    using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
    Graph g(nodes.size());
    std::vector<uint8_t> self_loop(nodes.size(), 0);
    for (ElementId y : nodes) {
      auto to = net_.affected(y);
      auto links = net_.links(y);
      for (size_t i = 0; i < to.size(); ++i) {
        ElementId x = to[i];
        if ((links[i] != Link::kHard && links[i] != Link::kMember) || !stuck(x)) continue;
        boost::add_edge(local[x], local[y], g);  // x waits on y
        if (x == y) self_loop[local[x]] = 1;
      }
    }
    std::vector<int> comp(nodes.size());
    int groups = boost::strong_components(g, comp.data());
    std::vector<std::vector<ElementId>> members(groups);
    for (size_t i = 0; i < nodes.size(); ++i)
      members[comp[i]].push_back(nodes[i]);
    for (int c = 0; c < groups; ++c) {
      auto& group = members[c];
      if (group.size() < 2 && !self_loop[local[group[0]]]) continue;
      findings_.push_back(cycle_finding(group, stuck));
    }
  }

  template <typename Stuck>
  Finding cycle_finding(const std::vector<ElementId>& group, Stuck stuck) {
    // Walk back from the loop to everything that waits on it, remembering the way.
    std::unordered_map<ElementId, ElementId> next;  // element -> what it waits on, towards the loop
    std::vector<ElementId> queue(group.begin(), group.end());
    for (ElementId x : group)
      next[x] = kNoElement;
    std::vector<ElementId> eps;
    size_t components = 0, services = 0;
    for (size_t head = 0; head < queue.size(); ++head) {
      ElementId y = queue[head];
      components += t_[y].kind == ElementKind::kComponent;
      services += t_[y].kind == ElementKind::kService;
      auto to = net_.affected(y);
      auto links = net_.links(y);
      for (size_t i = 0; i < to.size(); ++i) {
        ElementId x = to[i];
        if (links[i] != Link::kHard && links[i] != Link::kMember) continue;
        bool entrypoint = t_[x].kind == ElementKind::kEntrypoint;
        if ((!entrypoint && !stuck(x)) || next.count(x)) continue;
        next[x] = y;
        if (entrypoint)
          eps.push_back(x);
        else
          queue.push_back(x);
      }
    }
    Finding f;
    f.kind = "cycle";
    f.subject = order_.ids(group);
    f.impact.entrypoints_down = order_.views(eps);
    f.impact.components_down = components;
    f.impact.services_down = services;
    f.severity = eps.empty() ? "low" : "high";
    // Explanation: from the first impacted entrypoint to the loop, then once around it.
    ElementId start = group[0];
    for (ElementId x : group)
      if (order_.before(x, start)) start = x;
    ElementId entry = start;
    if (!eps.empty()) {
      ElementId from = *std::min_element(
          eps.begin(), eps.end(), [&](ElementId a, ElementId b) { return order_.before(a, b); });
      for (ElementId x = from; x != kNoElement; x = next[x]) {
        f.explanation.push_back(t_[x].id);
        entry = x;
      }
    } else {
      f.explanation.push_back(t_[start].id);
    }
    for (ElementId x : loop_from(entry, group))
      f.explanation.push_back(t_[x].id);
    f.explanation_notes.assign(f.explanation.size(), "");
    auto names = english_list(f.subject);
    f.message = group.size() == 1 ? names + " waits on itself and can never start"
                                  : names + " wait on each other and can never start";
    if (!eps.empty())
      f.message += "; " + english_list(f.impact.entrypoints_down) + " can never come up";
    return f;
  }

  /// A shortest way from `entry` back to itself inside the group, without `entry` at the start.
  std::vector<ElementId> loop_from(ElementId entry, const std::vector<ElementId>& group) {
    std::unordered_set<ElementId> in_group(group.begin(), group.end());
    // Waits-on edges of x: its hard dependencies and, for a service, its members.
    auto waits_on = [&](ElementId x) {
      std::vector<ElementId> out;
      for (const Dependency& d : t_[x].depends_on)
        if (d.mode == DepMode::kHard && in_group.count(d.target)) out.push_back(d.target);
      for (ElementId m : t_[x].members)
        if (in_group.count(m)) out.push_back(m);
      return out;
    };
    std::unordered_map<ElementId, ElementId> parent;
    std::vector<ElementId> queue{entry};
    for (size_t head = 0; head < queue.size(); ++head) {
      ElementId y = queue[head];
      for (ElementId x : waits_on(y)) {
        if (x == entry) {
          std::vector<ElementId> path;
          for (ElementId z = y; z != entry; z = parent[z])
            path.push_back(z);
          std::reverse(path.begin(), path.end());
          path.push_back(entry);
          return path;
        }
        if (parent.count(x)) continue;
        parent[x] = y;
        queue.push_back(x);
      }
    }
    assert(false && "a strongly connected group has a loop through each element");
    return {};
  }

  struct Single {
    std::vector<ElementId> eps_down;
    std::vector<Hit> hits;
  };

  struct Prepared {
    std::optional<Net> net;
    std::optional<detail::IdOrder> order;
    std::optional<detail::CapacityPass> capacity;
  };
  static Prepared prepare(const Topology& topology, const AnalysisOptions& options) {
    Prepared p;
    const unsigned threads = detail::thread_count(2, 1, options.threads);
    detail::parallel_for(2, threads, [&](unsigned, size_t i) {
      if (i == 0) {
        p.net.emplace(topology);
        p.order.emplace(topology, 1);  // the other thread is busy with the capacity pass
      } else {
        p.capacity.emplace(topology, options);
      }
    });
    return p;
  }
  Analyzer(const Topology& topology, const AnalysisOptions& options, Prepared prepared)
      : t_(topology),
        options_(options),
        net_(std::move(*prepared.net)),
        propagator_(net_),
        capacity_(std::move(*prepared.capacity)),
        order_(std::move(*prepared.order)) {}

  const Topology& t_;
  const AnalysisOptions& options_;
  Net net_;
  Propagator propagator_;
  detail::CapacityPass capacity_;
  detail::IdOrder order_;
  std::vector<ElementId> failable_;
  std::vector<Single> singles_;
  /// Service -> its members in the order of rank_members() (for --order 2 and 3).
  std::vector<std::vector<ElementId>> ranked_;
  std::unordered_map<Combo, std::vector<ElementId>, ComboHash> combo_eps_;
  /// The scenario propagator_ holds, when it is one of eps_down_of()'s (else empty).
  Combo held_;
  /// Service -> the failures that weaken it without killing it, with their losses.
  std::unordered_map<ElementId, std::vector<std::pair<ElementId, const Hit*>>> weakened_;
  /// Pairs whose losses together break some service's quorum (not those within a group).
  std::unordered_set<Combo, ComboHash> killing_pairs_;
  static constexpr uint32_t kNoGroup = UINT32_MAX;
  std::vector<Group> groups_;
  /// Element -> its group in groups_ (not dissolved), or kNoGroup; empty before cut_sets().
  std::vector<uint32_t> group_of_;
  std::vector<Finding> findings_;
};

}  // namespace

namespace detail {
void elide_explanation(Finding& f, const AnalysisOptions& options) {
  if (options.full_explanations || f.explanation.size() <= kExplanationMax) return;
  const size_t half = kExplanationMax / 2, n = f.explanation.size();
  f.explanation_notes.resize(n);
  f.explanation.erase(f.explanation.begin() + half, f.explanation.end() - half);
  f.explanation_notes.erase(f.explanation_notes.begin() + half, f.explanation_notes.end() - half);
  if (!f.details.is_object()) f.details = nlohmann::json::object();
  f.details["explanation_elided"] = n - kExplanationMax;
}
}  // namespace detail

std::string Finding::id() const {
  return kind + ":" + join(subject, "+");
}

int severity_rank(std::string_view severity) {
  if (severity == "critical") return 0;
  if (severity == "high") return 1;
  if (severity == "medium") return 2;
  return 3;
}

Analysis analyze(const Topology& topology, const AnalysisOptions& options) {
  // The graphs, the baseline loads and the capacity screen's bounds are built first.
  if (options.progress) options.progress("preparing", -1);
  return Analyzer(topology, options).run();
}

nlohmann::json to_json(const Topology& topology, const Analysis& analysis) {
  using nlohmann::json;
  json doc;
  doc["schema"] = "achilles.analysis/v1";
  doc["topology"] = {{"name", topology.name},
                     {"file", topology.file},
                     {"counts",
                      {{"domains", topology.count(ElementKind::kDomain)},
                       {"components", topology.count(ElementKind::kComponent)},
                       {"services", topology.count(ElementKind::kService)},
                       {"entrypoints", topology.count(ElementKind::kEntrypoint)},
                       {"dependencies", topology.dependency_count()}}}};
  doc["options"] = {{"order", analysis.options.order},
                    {"threshold", analysis.options.threshold},
                    {"cascade", analysis.options.cascade}};
  json findings = json::array();
  for (const Finding& f : analysis.findings) {
    json j = {{"id", f.id()},
              {"kind", f.kind},
              {"severity", f.severity},
              {"subject", f.subject},
              {"message", f.message},
              {"impact",
               {{"entrypoints_down", f.impact.entrypoints_down},
                {"entrypoints_degraded", f.impact.entrypoints_degraded},
                {"components_down", f.impact.components_down},
                {"services_down", f.impact.services_down}}},
              {"explanation", f.explanation}};
    for (const auto& [key, value] : f.details.items())
      j[key] = value;
    findings.push_back(std::move(j));
  }
  doc["findings"] = std::move(findings);
  // The risk groups (spec whatif.md): by fix they name the element, by team the team (null
  // for the group of what has no team label) and the fixes.
  json groups = json::array();
  for (const RiskGroup& g : analysis.groups) {
    json ids = json::array();
    for (size_t i : g.findings)
      ids.push_back(analysis.findings[i].id());
    json j = {{"kind", g.kind},
              {"severity", g.severity},
              {"findings", std::move(ids)},
              {"entrypoints_down", g.entrypoints_down},
              {"entrypoints_degraded", g.entrypoints_degraded},
              {"summary", g.summary}};
    if (g.kind == "team") {
      j["team"] = g.has_team ? json(g.team) : json(nullptr);
      j["fixes"] = g.fixes;
    } else {
      j["fix"] = g.fix;
    }
    groups.push_back(std::move(j));
  }
  doc["groups"] = std::move(groups);
  json eps = json::array();
  for (const Element& e : topology.elements) {
    if (e.kind != ElementKind::kEntrypoint) continue;
    json j = {{"id", e.id}, {"target", topology[e.target].id}};
    if (e.load) j["load"] = *e.load;
    if (e.slo) j["slo"] = *e.slo;
    for (const EntrypointAvailability& a : analysis.availability) {
      if (a.id != e.id) continue;
      j["availability"] = a.availability;
      j["method"] = a.method;
      if (!a.error.is_null()) j["error"] = a.error;
      json importance = json::array();
      for (const Importance& i : a.importance)
        importance.push_back({{"id", i.id}, {"gain", i.gain}, {"birnbaum", i.birnbaum}});
      j["importance"] = std::move(importance);
    }
    eps.push_back(std::move(j));
  }
  doc["entrypoints"] = std::move(eps);
  if (!analysis.utilization.empty()) {
    // An unbounded load or utilization is null, with "unbounded": true.
    json rows = json::array();
    for (const Utilization& u : analysis.utilization) {
      bool unbounded = !std::isfinite(u.load);
      json row = {{"id", u.id},
                  {"load", unbounded ? json(nullptr) : json(u.load)},
                  {"capacity", u.capacity},
                  {"utilization", unbounded ? json(nullptr) : json(u.utilization)}};
      if (unbounded) row["unbounded"] = true;
      rows.push_back(std::move(row));
    }
    doc["utilization"] = std::move(rows);
  }
  return doc;
}

}  // namespace achilles::analyzer
