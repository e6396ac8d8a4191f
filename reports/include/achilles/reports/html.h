// The planning-review report: one self-contained HTML file (inline CSS, SVG and script;
// nothing fetched from the network).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "achilles/analyzer/model.h"
#include "achilles/reports/render.h"

namespace achilles::analyzer {
struct Plan;
}

namespace achilles::reports {

struct HtmlOptions {
  /// The graph's level of detail.
  Level level = Level::kService;
  /// Largest graph (in drawn nodes) embedded in the page; a larger one is left out with a
  /// note, since its layout alone takes minutes and a browser cannot show it usefully.
  size_t max_graph_nodes = kDotNodeLimit;
  /// How many components and domains get a precomputed blast radius (clicking them shows
  /// it on the graph); findings' subjects come first.
  size_t max_scenarios = 2000;
  /// A measured plan (analyzer::recommend or analyzer::measure_plan of this topology) for the
  /// section "What to do first", or none; `plan_from` says where it comes from and
  /// `plan_check` how a reader checks it (commands), both shown as they are, escaped.
  const analyzer::Plan* plan = nullptr;
  std::string plan_from, plan_check;
};

/// The report for `topology` and its analysis (the document of analyzer::to_json): a
/// summary, what to do first (with options.plan), the graph, the findings in a sortable and
/// filterable table, availability against objective per entrypoint, and utilization.
std::string format_html(const analyzer::Topology& topology, const nlohmann::json& analysis,
                        const HtmlOptions& options = {});

}  // namespace achilles::reports
