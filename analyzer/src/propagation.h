// The failure-propagation engine shared by evaluate(), the findings and blast.
//
// Why this shape: the statuses of "What is up" are a greatest fixpoint, which is the same as
// spreading "down" from the failed set along the edges that can carry it and stopping where
// it stops. So a scenario costs only as much as its blast radius, not the size of the
// topology; the scratch arrays are stamped with a generation number, or cleared by what the
// run visited, instead of being cleared whole.
#pragma once

#include <cassert>
#include <cstdint>
#include <span>
#include <vector>

#include "achilles/analyzer/model.h"
#include "achilles/analyzer/status.h"

namespace achilles::analyzer::detail {

/// How an element y's failure reaches an element x that has an edge from y.
enum class Link : uint8_t {
  kHard,    ///< x hard-depends on y (or is an entrypoint targeting y): x goes down.
  kSoft,    ///< x soft-depends on y: x is degraded at most.
  kMember,  ///< y is a member of the service x: x loses one healthy member.
  kDomain,  ///< y is x's domain or parent domain: x goes down.
};

/// The topology as forward "who is affected by me" edges in compressed rows.
class Net {
 public:
  explicit Net(const Topology& topology);

  const Topology& topology() const { return topology_; }
  size_t size() const { return offset_.size() - 1; }

  /// The elements affected when `y` is down or degraded, with how.
  std::span<const ElementId> affected(ElementId y) const {
    return {to_.data() + offset_[y], to_.data() + offset_[y + 1]};
  }
  std::span<const Link> links(ElementId y) const {
    return {link_.data() + offset_[y], link_.data() + offset_[y + 1]};
  }
  ElementKind kind(ElementId x) const { return kind_[x]; }
  /// Hints that affected(y) will be read soon: where its row starts, and then (reading
  /// that, so best once the first hint has landed) the row (see prefetch.h).
  void prefetch_offset(ElementId y) const { __builtin_prefetch(&offset_[y]); }
  void prefetch_row(ElementId y) const { __builtin_prefetch(to_.data() + offset_[y]); }
  /// Hints that kind(x), need(x) and members(x) will be read soon.
  void prefetch_element(ElementId x) const {
    __builtin_prefetch(&kind_[x]);
    __builtin_prefetch(&need_[x]);
    __builtin_prefetch(&members_[x]);
  }
  /// Service: members that must stay not down.
  uint32_t need(ElementId x) const { return need_[x]; }
  /// Service: number of members.
  uint32_t members(ElementId x) const { return members_[x]; }

 private:
  const Topology& topology_;
  std::vector<uint32_t> offset_;
  std::vector<ElementId> to_;
  std::vector<Link> link_;
  std::vector<ElementKind> kind_;
  std::vector<uint32_t> need_;
  std::vector<uint32_t> members_;
};

/// Runs failure scenarios on a Net, reusing its scratch space between runs.
class Propagator {
 public:
  explicit Propagator(const Net& net);

  /// Hints that run({next[0]}), run({next[1]}), ... come next, in that order (only the
  /// first few are read). Each call asks for what each of them reads one level deeper than
  /// the call before, so that when a run comes, its state and row, what they reach and the
  /// rows and states one step further are in the cache. Changes nothing but timing.
  void prefetch_runs(std::span<const ElementId> next) const;

  /// Spreads the failure of `failed` (components and domains). Replaces the previous run.
  void run(std::span<const ElementId> failed);

  bool down(ElementId x) const { return state_[x].mark == (gen_ << 1 | kDown); }
  /// Every element down in the last run, in the order they fell.
  const std::vector<ElementId>& down_list() const { return down_list_; }
  /// What made x, down in the last run, fall: the element whose failure reached it;
  /// kNoElement for a failed one.
  ElementId cause(ElementId x) const {
    assert(down(x));
    return state_[x].word;
  }
  /// Services that lost members in the last run but stayed not down.
  std::vector<ElementId> hit_services() const;
  /// Counts of down elements of a kind in the last run.
  size_t count_down(ElementKind kind) const { return counts_[static_cast<int>(kind)]; }

  /// The entrypoints that are not down but degraded in the last run, in the order the sweep
  /// met them (the same every time; callers sort them by id, IdOrder::views()).
  /// Costs as much as the part of the topology upstream of what fell.
  std::vector<ElementId> degraded_entrypoints();
  /// Every element's status in the last run.
  std::vector<Status> statuses();

 private:
  /// An element's part of a run, valid when stamped with the run's generation. Eight bytes,
  /// kept together: reaching an element costs one cache miss rather than one per array, and
  /// at 10^6 elements the states of a run are scattered over more memory than the caches and
  /// the TLB cover, so the smaller the record the more of them a page and a line hold.
  static constexpr uint32_t kDown = 1;
  struct State {
    /// The run's generation, shifted left by one, with the down bit (kDown) below it.
    uint32_t mark = 0;
    /// A service that is not down: its members down in this run. An element that is down:
    /// what made it fall (a service's count is no longer needed once it is down).
    uint32_t word = 0;
  };
  static_assert(sizeof(State) == 8);
  bool live(const State& s) const { return s.mark >> 1 == gen_; }

  void fall(ElementId x, ElementId cause);
  State& touch(ElementId x);
  template <typename Visit>
  void spread_degraded(Visit visit);

  const Net& net_;
  uint32_t gen_ = 0;
  std::vector<State> state_;
  std::vector<ElementId> down_list_;
  std::vector<ElementId> losing_services_;
  size_t counts_[4] = {0, 0, 0, 0};
  // For the degraded sweep: a bit per element, and the elements it set.
  std::vector<uint64_t> seen_;
  std::vector<ElementId> queue_;
};

}  // namespace achilles::analyzer::detail
