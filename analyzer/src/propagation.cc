#include "propagation.h"

#include <algorithm>
#include <cassert>

#include "achilles/common/diagnostic.h"
#include "prefetch.h"

namespace achilles::analyzer::detail {

Net::Net(const Topology& topology) : topology_(topology) {
  const size_t n = topology.size();
  kind_.resize(n);
  need_.assign(n, 0);
  members_.assign(n, 0);
  // Count the edges leaving each element, then fill the rows (counting sort).
  offset_.assign(n + 2, 0);
  auto for_each_edge = [&](auto emit) {
    for (ElementId x = 0; x < n; ++x) {
      const Element& e = topology[x];
      switch (e.kind) {
        case ElementKind::kDomain:
          if (e.parent != kNoElement) emit(e.parent, x, Link::kDomain);
          break;
        case ElementKind::kComponent:
          if (e.domain != kNoElement) emit(e.domain, x, Link::kDomain);
          break;
        case ElementKind::kService:
          for (ElementId m : e.members)
            emit(m, x, Link::kMember);
          break;
        case ElementKind::kEntrypoint:
          if (e.target != kNoElement) emit(e.target, x, Link::kHard);
          break;
      }
      for (const Dependency& d : e.depends_on)
        emit(d.target, x, d.mode == DepMode::kHard ? Link::kHard : Link::kSoft);
    }
  };
  for_each_edge([&](ElementId from, ElementId, Link) { ++offset_[from + 2]; });
  for (size_t i = 2; i < offset_.size(); ++i)
    offset_[i] += offset_[i - 1];
  to_.resize(offset_.back());
  link_.resize(offset_.back());
  for_each_edge([&](ElementId from, ElementId x, Link link) {
    uint32_t slot = offset_[from + 1]++;
    to_[slot] = x;
    link_[slot] = link;
  });
  offset_.pop_back();
  for (ElementId x = 0; x < n; ++x) {
    const Element& e = topology[x];
    kind_[x] = e.kind;
    if (e.kind == ElementKind::kService) {
      need_[x] = e.min_healthy;
      members_[x] = static_cast<uint32_t>(e.members.size());
    }
  }
}

Propagator::Propagator(const Net& net)
    : net_(net), state_(net.size()), seen_((net.size() + 63) / 64, 0) {}

// Why: the single failures run one element after another, and most runs are short (a host
// takes down a few components, which weaken a few services), so a run has no queue to look
// ahead in; but the failures to come are known. Their first steps are scattered over memory
// at 10^6 elements, so each is asked for in stages over the runs before it, one level of the
// walk per run, at most kFan entries of each row (see prefetch.h; bench/RESULTS.md, sixth
// round).
void Propagator::prefetch_runs(std::span<const ElementId> next) const {
  static constexpr size_t kFan = 8, kRuns = 5;
  auto first = [](std::span<const ElementId> row) { return row.first(std::min(row.size(), kFan)); };
  for (size_t i = 0; i < std::min(next.size(), kRuns); ++i) {
    const ElementId x = next[i];
    switch (i + 1) {  // how many runs from now
      case 5:
        net_.prefetch_offset(x);
        __builtin_prefetch(&state_[x]);
        net_.prefetch_element(x);
        break;
      case 4:
        net_.prefetch_row(x);
        break;
      case 3:
        for (ElementId y : first(net_.affected(x))) {
          net_.prefetch_offset(y);
          __builtin_prefetch(&state_[y]);
          net_.prefetch_element(y);
        }
        break;
      case 2:
        for (ElementId y : first(net_.affected(x)))
          net_.prefetch_row(y);
        break;
      case 1:
        for (ElementId y : first(net_.affected(x)))
          for (ElementId z : first(net_.affected(y))) {
            __builtin_prefetch(&state_[z]);
            net_.prefetch_element(z);
          }
        break;
    }
  }
}

Propagator::State& Propagator::touch(ElementId x) {
  State& s = state_[x];
  if (!live(s)) s = State{.mark = gen_ << 1};
  return s;
}

void Propagator::fall(ElementId x, ElementId cause) {
  State& s = touch(x);
  if (s.mark & kDown) return;
  s.mark |= kDown;
  s.word = cause;
  down_list_.push_back(x);
  ++counts_[static_cast<int>(net_.kind(x))];
}

void Propagator::run(std::span<const ElementId> failed) {
  if (++gen_ == 1u << 31) {  // wrapped: every mark is stale again
    for (State& s : state_)
      s.mark = 0;
    gen_ = 1;
  }
  down_list_.clear();
  losing_services_.clear();
  std::fill(std::begin(counts_), std::end(counts_), 0);
  for (ElementId f : failed) {
    auto kind = net_.kind(f);
    if (kind == ElementKind::kService || kind == ElementKind::kEntrypoint)
      throw UsageError("achilles: error: '" + net_.topology()[f].id + "' is " +
                       (kind == ElementKind::kService ? "a service" : "an entrypoint") +
                       "; only components and domains fail");
    fall(f, kNoElement);
  }
  // down_list_ doubles as the work queue: everything in it still has to pass its failure on.
  for (size_t head = 0; head < down_list_.size(); ++head) {
    ElementId y = down_list_[head];
    auto to = net_.affected(y);
    auto links = net_.links(y);
    for (size_t i = 0; i < to.size(); ++i) {
      ElementId x = to[i];
      switch (links[i]) {
        case Link::kHard:
        case Link::kDomain:
          fall(x, y);
          break;
        case Link::kMember: {
          State& s = touch(x);
          if (s.mark & kDown) break;
          // The services that lose members, in the order they first do: only those can be
          // hit_services().
          if (s.word++ == 0) losing_services_.push_back(x);
          if (net_.members(x) - s.word < net_.need(x)) fall(x, y);
          break;
        }
        case Link::kSoft:
          break;
      }
    }
  }
}

std::vector<ElementId> Propagator::hit_services() const {
  std::vector<ElementId> out;
  for (ElementId s : losing_services_)
    if (!down(s)) out.push_back(s);
  return out;
}

// An element that is not down is degraded when anything it depends on or is made of is not
// up; so the degraded elements are exactly the ones reachable from a down element along the
// forward edges, minus the down ones. Domains carry no degradation of their own: what they
// contain is down already.
//
// What the sweep has seen is one bit per element (190 KB at 10^6 elements, against 6 MB of
// 4-byte stamps, so they stay in the L2 cache), all clear between sweeps: each sweep clears
// the ones it set, which costs what it visited, and there is no generation to wrap.
//
// What a large sweep waits on is reading the rows of what it visits, scattered over memory;
// its queue says which come next, so it prefetches them (prefetch.h).
template <typename Visit>
void Propagator::spread_degraded(Visit visit) {
  auto seen = [&](ElementId x) { return seen_[x >> 6] >> (x & 63) & 1; };
  auto see = [&](ElementId x) {
    seen_[x >> 6] |= uint64_t{1} << (x & 63);
    queue_.push_back(x);
  };
  struct Clear {  // also when `visit` throws
    Propagator& p;
    ~Clear() {
      for (ElementId x : p.queue_)
        p.seen_[x >> 6] = 0;
    }
  } clear{*this};
  queue_.clear();
  for (ElementId y : down_list_)  // each once: fall() lists an element once
    see(y);
  for (size_t head = 0; head < queue_.size(); ++head) {
    prefetch_ahead(
        queue_, head, [&](ElementId y) { net_.prefetch_offset(y); },
        [&](ElementId y) { net_.prefetch_row(y); });
    for (ElementId x : net_.affected(queue_[head])) {
      if (seen(x)) continue;
      see(x);
      visit(x);
    }
  }
}

std::vector<ElementId> Propagator::degraded_entrypoints() {
  std::vector<ElementId> out;
  spread_degraded([&](ElementId x) {
    if (net_.kind(x) == ElementKind::kEntrypoint) out.push_back(x);
  });
  return out;
}

std::vector<Status> Propagator::statuses() {
  std::vector<Status> out(net_.size(), Status::kUp);
  spread_degraded([&](ElementId x) { out[x] = Status::kDegraded; });
  for (ElementId y : down_list_)
    out[y] = Status::kDown;
  return out;
}

}  // namespace achilles::analyzer::detail
