// The order findings are put in front of people: most harmful first within each severity.
// The JSON output keeps the analyzer's stable order (severity, kind, id) for diffs; the text,
// Markdown and HTML outputs, and the report's "worst risks", use this one.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/model.h"

namespace achilles::reports {

/// True for an element that holds data: a component or domain whose `kind` is of the
/// database, cache, queue or storage family (database, db, postgres, mysql, redis, cache,
/// queue, broker, kafka, store, storage, volume, disk, ...), one that depends on such a
/// volume or disk, or a service with such a member. Losing it loses data, not only time.
bool is_stateful(const analyzer::Topology& topology, analyzer::ElementId x);

/// How harmful a finding is, as its outputs rank it.
struct Harm {
  int severity = 0;  ///< analyzer::severity_rank: 0 critical .. 3 low
  size_t entrypoints_down = 0;
  size_t services_down = 0;
  size_t components_down = 0;
  bool stateful = false;  ///< some subject is_stateful()
};

/// Most harmful first: severity, then more entrypoints down, more services down, more
/// components down, then stateful before stateless. Ties keep their given order.
bool more_harmful(const Harm& a, const Harm& b);

/// Indexes of `findings` in that order.
std::vector<size_t> harm_order(const analyzer::Topology& topology,
                               const std::vector<analyzer::Finding>& findings);
/// The same for the findings of an analysis document (analysis-json.md).
std::vector<size_t> harm_order(const analyzer::Topology& topology, const nlohmann::json& findings);

}  // namespace achilles::reports
