// The reports of one game-day drill, from its journal (docs/drill.md, "The journal"): an
// HTML page for people and JUnit XML for CI. Both take any journal the runner writes,
// including a skipped or aborted drill, steps whose fault could not be injected, and null
// summaries; missing or mistyped fields show as blanks rather than failing.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace achilles::reports {

/// One self-contained HTML page (no network, no external script, style or font): the
/// verdict and its reason, the table of expectations, each probe's timeline as an inline
/// SVG chart with the faults marked on it, every step's summaries and what the agent saw,
/// the rollback, and the predictions. Every string from the journal is escaped.
std::string drill_html(const nlohmann::json& journal);

/// JUnit XML: one test case per expectation (classname: the drill's title; name:
/// `STEP: PROBE expected EXPECTED`) failing with its message; a step whose fault was not
/// injected fails its expectations (or, without any, a `STEP: fault injected` case); an
/// aborted drill adds a failing `drill: not aborted` case; a skipped drill's cases are
/// skipped.
std::string drill_junit(const nlohmann::json& journal);

}  // namespace achilles::reports
