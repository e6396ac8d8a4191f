// Findings for people: the terminal text of `analyze` and `blast`, and Markdown for a
// pull-request comment.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/model.h"
#include "achilles/analyzer/status.h"

namespace achilles::reports {

/// What analyze, report and check say about a topology without entrypoints (after
/// "FILE: warning: "): every finding is about entrypoints going down, so none is not a clean bill.
inline constexpr const char* kNoEntrypoints =
    "no entrypoints: no failure can take an entrypoint down, so the absence of findings proves "
    "nothing";

/// `www -> lb (1 of 1 healthy needed) -> lb-1`; a shortened explanation (analysis-json.md,
/// `explanation_elided`) shows `... N more ...` where ids were left out.
std::string explanation_line(const analyzer::Finding& finding, std::string_view arrow = " -> ");
/// The same of a finding of the JSON document, without the notes it does not hold.
std::string explanation_line(const nlohmann::json& finding, std::string_view arrow = " -> ");

/// What a finding stands for: its subject joined with `sep`, and for a grouped cut set
/// (analysis-json.md, `any`) `any K of ` before it.
std::string subject_line(const nlohmann::json& finding, std::string_view sep = " + ");

/// A summary line, then the findings grouped by severity, most severe first.
std::string format_text(const analyzer::Topology& topology, const analyzer::Analysis& analysis);

/// A summary and a table of findings, most severe first, for a pull-request comment.
std::string format_markdown(const analyzer::Topology& topology, const analyzer::Analysis& analysis);

/// The statuses of a scenario for a terminal: what is down, what is degraded, and every
/// entrypoint.
std::string format_blast_text(const analyzer::Topology& topology,
                              std::span<const analyzer::ElementId> failed,
                              const std::vector<analyzer::Status>& statuses);

/// The same as JSON: {"failed": [...], "elements": [{"id", "kind", "status"}...], ...}.
std::string format_blast_json(const analyzer::Topology& topology,
                              std::span<const analyzer::ElementId> failed,
                              const std::vector<analyzer::Status>& statuses);

}  // namespace achilles::reports
