// The order findings are put in front of people: most harmful first within each severity.
// The JSON output keeps the analyzer's stable order (severity, kind, id) for diffs; the text,
// Markdown and HTML outputs, and the report's "worst risks", use this one.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/harm.h"
#include "achilles/analyzer/model.h"

namespace achilles::reports {

// Harm, more_harmful and is_stateful live in the analyzer (harm.h), which orders the risk
// groups of the analysis document by them.
using analyzer::Harm;
using analyzer::is_stateful;
using analyzer::more_harmful;

/// Indexes of `findings` in that order.
std::vector<size_t> harm_order(const analyzer::Topology& topology,
                               const std::vector<analyzer::Finding>& findings);
/// The same for the findings of an analysis document (analysis-json.md).
std::vector<size_t> harm_order(const analyzer::Topology& topology, const nlohmann::json& findings);

}  // namespace achilles::reports
