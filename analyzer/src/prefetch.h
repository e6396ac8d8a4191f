// Prefetching ahead of a walk.
//
// Why: at 10^6 elements the records that a failure's walks read (the propagation's states and
// rows, the load solver's records and arcs) are scattered over some 100 MB, far more than the
// caches hold, and a loop that reads them one after another waits on one cache miss after
// the next. A loop that knows what it reads next (its queue, its list) asks for it
// (__builtin_prefetch) a few steps early, so the misses overlap. Where what it reads sits
// behind an offset (a row of a compressed graph), it asks for the offset twice as far ahead,
// and for the row once the offset has landed. The loads are the same; only their timing
// changes. What each use gained is in bench/RESULTS.md (sixth round).
//
// The helpers are always inlined: a function whose only effect is a prefetch has, to the
// compiler, no effect at all, and a call to it that is not inlined early is deleted as dead
// (GCC 12 did so with the two-stage form, which left every walk that used it unhinted).
#pragma once

#include <cstddef>
#include <span>

#include "achilles/analyzer/model.h"

namespace achilles::analyzer::detail {

inline constexpr size_t kPrefetchAhead = 8;

/// At step i of a walk over `items`: `near` for the item `ahead` steps on.
template <typename Near>
[[gnu::always_inline]] inline void prefetch_ahead(std::span<const ElementId> items, size_t i,
                                                  Near near, size_t ahead = kPrefetchAhead) {
  if (i + ahead < items.size()) near(items[i + ahead]);
}

/// The same in two stages: `far` (where the item's row starts) for the item 2 * `ahead`
/// steps on, `near` (the row) for the one `ahead` steps on.
template <typename Far, typename Near>
[[gnu::always_inline]] inline void prefetch_ahead(std::span<const ElementId> items, size_t i,
                                                  Far far, Near near,
                                                  size_t ahead = kPrefetchAhead) {
  if (i + 2 * ahead < items.size()) far(items[i + 2 * ahead]);
  prefetch_ahead(items, i, near, ahead);
}

}  // namespace achilles::analyzer::detail
