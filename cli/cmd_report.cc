// achilles report FILE -o report.html: one self-contained page for a planning review; with
// --recommend K or --plan OVERLAY, "What to do first" after the summary: a plan measured as
// `achilles recommend` measures its own (spec whatif.md).
#include <iostream>
#include <optional>
#include <string>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/loader.h"
#include "achilles/analyzer/overlay.h"
#include "achilles/analyzer/whatif.h"
#include "achilles/common/diagnostic.h"
#include "achilles/reports/html.h"
#include "achilles/reports/summary.h"
#include "command.h"
#include "progress.h"

namespace achilles::cli {
namespace {

/// `word` as one shell word: as it is when it holds nothing a shell reads, else in single
/// quotes (a quote inside written '\\'').
std::string shell_word(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                              "0123456789_./:=@%+-,") == std::string::npos)
    return word;
  std::string out = "'";
  for (char c : word)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

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
  if (args.has("recommend") && args.has("plan"))
    throw common::UsageError("achilles report: error: give --recommend or --plan, not both");
  std::optional<size_t> recommend;
  if (args.has("recommend")) {
    recommend = static_cast<size_t>(number_option(args, "recommend", 10, 1, 1000));
    if (*args.get("recommend") != std::to_string(*recommend))
      throw common::UsageError("achilles report: error: --recommend must be a whole number");
  }
  // The overlay is read first, so that a bad one stops the run before any analysis.
  std::optional<analyzer::Overlay> overlay;
  if (auto path = args.get("plan")) overlay = analyzer::load_overlay(*path);
  const std::string& file = args.positionals[0];

  Progress progress;
  options.progress = progress.callback();
  progress.update("loading", 0);
  auto topology = analyzer::load_topology(args.positionals[0]);
  if (topology.count(analyzer::ElementKind::kEntrypoint) == 0)
    std::cerr << args.positionals[0] << ": warning: " << reports::kNoEntrypoints << "\n";
  auto analysis = analyzer::analyze(topology, options);
  // The plan is measured on its own analyses, grouped by fix (what recommend draws from) and
  // without the report's progress callback.
  std::optional<analyzer::Plan> plan;
  if (recommend || overlay) {
    analyzer::RecommendOptions ro;
    ro.analysis = analysis_options(args, "achilles");
    ro.max_changes = recommend.value_or(0);
    // The analysis options given here, for the command that checks the plan: the same plan
    // comes out only under the same analysis.
    std::string analysis_flags;
    for (const char* name : {"order", "threshold"})
      if (args.get(name))
        analysis_flags += std::string(" --") + name + " " + shell_word(*args.get(name));
    if (args.has("cascade")) analysis_flags += " --cascade";
    ro.progress = [&](size_t step, size_t tried, size_t candidates) {
      progress.update(
          recommend ? "change " + std::to_string(step) + ": re-analyzing candidate " +
                          std::to_string(tried) + " of " + std::to_string(candidates)
                    : "measuring the plan: entry " + std::to_string(step) + " of " +
                          std::to_string(overlay->changes.size()),
          recommend ? static_cast<double>(tried) / static_cast<double>(candidates)
                    : static_cast<double>(step) / static_cast<double>(overlay->changes.size()));
    };
    progress.update(recommend ? "recommending" : "measuring the plan");
    if (recommend) {
      plan = analyzer::recommend(topology, ro);
      html.plan_from = "achilles recommend --max-changes " + std::to_string(*recommend);
      html.plan_check = "achilles recommend " + shell_word(file) + " --max-changes " +
                        std::to_string(*recommend) + analysis_flags +
                        " --format yaml -o plan.yaml && " + "achilles whatif " + shell_word(file) +
                        " plan.yaml" + analysis_flags;
    } else {
      plan = analyzer::measure_plan(topology, *overlay, ro);
      html.plan_from = "the overlay " + *args.get("plan");
      html.plan_check = "achilles whatif " + shell_word(file) + " " +
                        shell_word(*args.get("plan")) + analysis_flags;
    }
    html.plan = &*plan;
  }
  progress.update("writing the report", 0);
  write_output(*out, reports::format_html(topology, analyzer::to_json(topology, analysis), html));
  if (*out != "-") std::cerr << "achilles report: wrote " << *out << "\n";
  return 0;
}

const Registrar registrar{Command{
    CommandSpec{
        .name = "report",
        .usage = "FILE -o report.html [--level service|component] [--order K] [--by team] "
                 "[--recommend K | --plan OVERLAY]",
        .summary = "write one self-contained HTML page for a planning review",
        .description =
            "The page holds a summary (counts by severity, the worst risks), the graph\n"
            "(click an element to see its blast radius), every finding in a sortable,\n"
            "filterable table, availability against objective per entrypoint, and\n"
            "utilization. Everything is inline: it opens offline and can be mailed.\n"
            "With --recommend K (the plan of K changes `achilles recommend` makes)\n"
            "or --plan OVERLAY (a plan `recommend` wrote as YAML, or one written by\n"
            "hand), the summary is followed by \"What to do first\": each change, why, its\n"
            "effect measured by re-analysis with the changes above it applied\n"
            "(critical findings resolved, entrypoints down), then the totals and\n"
            "the availability of each entrypoint the plan changes, before and after.\n"
            "An overlay's entries are measured one by one, in order.",
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
                {.name = "recommend",
                 .value_name = "K",
                 .help = "open with a plan of at most K changes, made and measured as "
                         "achilles recommend does (progress on stderr)"},
                {.name = "plan",
                 .value_name = "OVERLAY",
                 .help = "open with the plan OVERLAY (written by recommend as YAML, or by hand), "
                         "each entry measured by re-analysis"},
            },
        .min_positionals = 1,
        .max_positionals = 1,
        .examples = "  achilles report topologies/three-tier.yaml -o three-tier.html\n"
                    "  achilles report shop.yaml --recommend 5 -o shop.html\n"
                    "  achilles report shop.yaml --plan plan.yaml -o shop.html\n",
    },
    run_report}};

}  // namespace
}  // namespace achilles::cli
