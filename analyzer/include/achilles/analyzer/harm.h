// How harmful a finding is, as every output ranks it: the key of reports/order.h's order of
// findings and of the risk groups (groups.h). It lives in the analyzer, not in reports/,
// because the analysis document (analysis-json.md) orders its groups by it and the
// dependencies run one way (reports -> analyzer); reports/order.h uses it from here.
#pragma once

#include <cstddef>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/model.h"

namespace achilles::analyzer {

/// True for an element that holds data: a component or domain whose `kind` is of the
/// database, cache, queue or storage family (database, db, postgres, mysql, redis, cache,
/// queue, broker, kafka, store, storage, volume, disk, ...) or that has the label `stateful`
/// (other than "false"/"no"; the importers write it with the reason), one that depends on
/// such a volume or disk, or a service with such a member. Losing it loses data, not only
/// time.
bool is_stateful(const Topology& topology, ElementId x);

/// How harmful a finding is, as its outputs rank it.
struct Harm {
  int severity = 0;  ///< severity_rank: 0 critical .. 3 low
  size_t entrypoints_down = 0;
  size_t services_down = 0;
  size_t components_down = 0;
  bool stateful = false;  ///< some subject is_stateful()
};

/// Most harmful first: severity, then more entrypoints down, more services down, more
/// components down, then stateful before stateless. Ties keep their given order.
bool more_harmful(const Harm& a, const Harm& b);

/// A finding's harm in `topology` (the one analyzed).
Harm harm_of(const Topology& topology, const Finding& finding);

}  // namespace achilles::analyzer
