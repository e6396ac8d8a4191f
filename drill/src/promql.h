// The load-time check of a prometheus probe's query (spec drill.md: "a vector of several
// series is an error at load time unless the query aggregates"). Private to the drill library.
//
// The check reads the query's outermost expression only, and accepts it when it cannot return
// more than one series; what it accepts is listed in docs/drill.md ("Prometheus probes"):
//   - a number, scalar(...), vector(...), time() or pi();
//   - an aggregation sum, avg, min, max, count, group, stddev, stdvar or quantile without
//     `by` or `without` (or with an empty `by ()`), whatever it aggregates;
//   - histogram_quantile(φ, X) where X is accepted or an aggregation `by (le)`;
//   - a function that maps each series to one (abs, ceil, floor, round, clamp, sqrt, ...)
//     applied to accepted arguments;
//   - parentheses, a unary minus, and binary operators (arithmetic, comparison, and, or,
//     unless) between accepted operands: each of those is one series without labels, so any
//     combination of them is at most one series.
// Anything else (a selector, rate(...), topk, `by (instance)`, a subquery) may return several
// series and is refused. The runner still fails a sample that brings several (probe.cc).
#pragma once

#include <optional>
#include <string>

namespace achilles::drill {

/// Why `query` may return several series (a sentence for a plan problem), or nothing when it
/// cannot: see above.
std::optional<std::string> promql_multi_series(const std::string& query);

}  // namespace achilles::drill
