// `achilles whatif` and `achilles recommend` for people: the diff of an overlay's analysis
// against the original, as terminal text or Markdown, and a recommended plan as text.
#pragma once

#include <string>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/whatif.h"

namespace achilles::reports {

/// The counts before and after, the findings resolved and new (each with its severity and
/// message, from the side it is on), how many are unchanged, and each entrypoint's
/// availability before and after. `title` names what was compared ("shop.yaml + plan.yaml").
std::string format_whatif_text(const std::string& title, size_t changes,
                               const analyzer::WhatIfDiff& diff, const analyzer::Analysis& before,
                               const analyzer::Analysis& after);

/// The same as Markdown tables, for a pull-request comment or a review document.
std::string format_whatif_markdown(const std::string& title, size_t changes,
                                   const analyzer::WhatIfDiff& diff,
                                   const analyzer::Analysis& before,
                                   const analyzer::Analysis& after);

/// The plan, change by change with its measured effect, and how to check it with whatif.
std::string format_plan_text(const std::string& file, const analyzer::Plan& plan);

}  // namespace achilles::reports
