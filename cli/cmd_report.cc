// achilles report FILE -o report.html: one self-contained page for a planning review.
#include <iostream>
#include <string>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/loader.h"
#include "achilles/common/diagnostic.h"
#include "achilles/reports/html.h"
#include "achilles/reports/summary.h"
#include "command.h"
#include "progress.h"

namespace achilles::cli {
namespace {

int run_report(const Args& args) {
  auto out = args.get("output");
  if (!out) throw common::UsageError("achilles report: error: -o report.html is required");
  reports::HtmlOptions html;
  std::string level = args.get("level").value_or("service");
  if (level == "component")
    html.level = reports::Level::kComponent;
  else if (level != "service")
    throw common::UsageError(
        "achilles report: error: --level must be service or component, "
        "not '" +
        level + "'");
  // --order only: the report takes no --threshold or --cascade, so they keep their defaults.
  analyzer::AnalysisOptions options = analysis_options(args, "achilles");

  options.group_by = group_by_option(args, "achilles report");

  Progress progress;
  options.progress = progress.callback();
  progress.update("loading", 0);
  auto topology = analyzer::load_topology(args.positionals[0]);
  if (topology.count(analyzer::ElementKind::kEntrypoint) == 0)
    std::cerr << args.positionals[0] << ": warning: " << reports::kNoEntrypoints << "\n";
  auto analysis = analyzer::analyze(topology, options);
  progress.update("writing the report", 0);
  write_output(*out, reports::format_html(topology, analyzer::to_json(topology, analysis), html));
  if (*out != "-") std::cerr << "achilles report: wrote " << *out << "\n";
  return 0;
}

const Registrar registrar{Command{
    CommandSpec{
        .name = "report",
        .usage = "FILE -o report.html [--level service|component] [--order K] [--by team]",
        .summary = "write one self-contained HTML page for a planning review",
        .description = "The page holds a summary (counts by severity, the worst risks), the graph\n"
                       "(click an element to see its blast radius), every finding in a sortable,\n"
                       "filterable table, availability against objective per entrypoint, and\n"
                       "utilization. Everything is inline: it opens offline and can be mailed.",
        .options =
            {
                {.name = "output",
                 .short_name = 'o',
                 .value_name = "OUT",
                 .help = "the HTML file to write"},
                {.name = "level", .value_name = "LEVEL", .help = "service (default) or component"},
                {.name = "order",
                 .value_name = "K",
                 .help = "largest cut set to look for: 1, 2 (default) or 3"},
                {.name = "by",
                 .value_name = "WHAT",
                 .help = "what the worst risks gather findings by: fix (default), the "
                         "element to change, or team, its labels.team"},
            },
        .min_positionals = 1,
        .max_positionals = 1,
        .examples = "  achilles report topologies/three-tier.yaml -o three-tier.html\n",
    },
    run_report}};

}  // namespace
}  // namespace achilles::cli
