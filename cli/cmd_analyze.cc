// achilles analyze FILE: every finding of topology.md.
#include <iostream>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/loader.h"
#include "achilles/common/diagnostic.h"
#include "achilles/reports/summary.h"
#include "command.h"
#include "progress.h"

namespace achilles::cli {
namespace {

int run_analyze(const Args& args) {
  std::string format = args.get("format").value_or("text");
  if (format != "text" && format != "json" && format != "md")
    throw common::UsageError("achilles analyze: error: --format must be text, json or md, not '" +
                             format + "'");
  analyzer::AnalysisOptions options = analysis_options(args, "achilles");
  options.full_explanations = args.has("full-explanations");
  options.group_by = group_by_option(args, "achilles analyze");

  Progress progress(args.has("timings"));
  options.progress = progress.callback();
  progress.update("loading " + args.positionals[0]);
  auto& topology = keep_until_exit(analyzer::load_topology(args.positionals[0]));
  if (topology.count(analyzer::ElementKind::kEntrypoint) == 0)
    std::cerr << args.positionals[0] << ": warning: " << reports::kNoEntrypoints << "\n";
  auto& analysis = keep_until_exit(analyzer::analyze(topology, options));

  progress.update("writing the " + format + " output");
  if (format == "json") {
    // Streamed: at 10^6 components the document would take gigabytes.
    write_output(args.get("output").value_or(""), [&](std::ostream& out) {
      analyzer::write_json(topology, analysis, out);
      out << '\n';
    });
    return 0;
  }
  std::string text;
  if (format == "md")
    text = reports::format_markdown(topology, analysis);
  else
    text = reports::format_text(topology, analysis);
  write_output(args.get("output").value_or(""), text);
  return 0;
}

const Registrar registrar{Command{
    CommandSpec{
        .name = "analyze",
        .usage = "FILE [--order K] [--threshold U] [--cascade] [--full-explanations] [--by team] "
                 "[--format text|json|md] [-o OUT]",
        .summary = "find the single points of failure, domain failures and cut sets",
        .description =
            "Loads a topology (YAML or JSON, see docs/topology.md) and reports:\n"
            "  spof         a component whose failure alone puts an entrypoint down\n"
            "  domain_spof  a failure domain (host, rack, zone, region) whose loss does\n"
            "  cut_set      2..K components or domains that do it together, and no fewer\n"
            "  cycle        elements that wait on each other and can never cold-start\n"
            "  overload     with loads: utilization above the threshold with nothing failed\n"
            "  capacity_spof  a single failure that pushes a survivor above 100%\n"
            "  slo_risk     an entrypoint whose availability is below its slo\n"
            "With availabilities, each entrypoint's availability (exact where the BDD fits,\n"
            "else the rare-event approximation from the cut sets, or a Monte Carlo estimate\n"
            "with a 95% interval when none is known) and what to fix first.\n"
            "Each finding names its impact (entrypoints down and degraded, components and\n"
            "services down) and one chain from an entrypoint down to the cause; a chain\n"
            "longer than 32 keeps its first and last 16 links (--full-explanations: all).\n"
            "The cut sets of one k-of-n group (any 2 of three or more members that each\n"
            "touch nothing else; any 3 of six or more at --order 3) are one finding: any\n"
            "k of its members, with their count.\n"
            "Every output opens with the risk groups: the findings gathered by what a\n"
            "team would change to resolve them (the service without redundancy or spread,\n"
            "the one without headroom, the entrypoint below its objective, the loop), most\n"
            "harmful first; --by team gathers them by the team that owns that element\n"
            "(labels.team), with a group for what has no team label.\n"
            "The text output is for a terminal, json is the stable format of\n"
            "spec analysis-json.md, md a summary for a pull-request comment.",
        .options =
            {
                {.name = "order",
                 .value_name = "K",
                 .help = "largest cut set to look for: 1, 2 (default) or 3"},
                {.name = "threshold",
                 .value_name = "U",
                 .help = "utilization above which a component is overloaded (default 0.8)"},
                {.name = "cascade",
                 .takes_value = false,
                 .value_name = "",
                 .help = "let overloaded survivors fail in turn after each failure and report "
                         "what is down at the end"},
                {.name = "full-explanations",
                 .takes_value = false,
                 .value_name = "",
                 .help = "write every explanation whole, however long (default: a chain "
                         "longer than 32 keeps its first and last 16 links)"},
                {.name = "by",
                 .value_name = "WHAT",
                 .help = "what the risk groups gather findings by: fix (default), the "
                         "element to change, or team, its labels.team"},
                {.name = "format", .value_name = "FMT", .help = "text (default), json or md"},
                {.name = "output",
                 .short_name = 'o',
                 .value_name = "OUT",
                 .help = "write to OUT instead of stdout"},
                {.name = "timings",
                 .takes_value = false,
                 .value_name = "",
                 .help = "print how long each stage took on stderr at the end"},
            },
        .min_positionals = 1,
        .max_positionals = 1,
        .examples = "  achilles analyze topologies/three-tier.yaml\n"
                    "  achilles analyze shop.yaml --order 3 --format json -o analysis.json\n",
    },
    run_analyze}};

}  // namespace
}  // namespace achilles::cli
