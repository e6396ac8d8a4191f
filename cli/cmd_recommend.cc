// achilles recommend FILE: at most K changes drawn from the findings, chosen greedily and each
// measured by re-analysis (spec whatif.md); `--format yaml` writes them as an overlay.
#include <sstream>

#include "achilles/analyzer/loader.h"
#include "achilles/analyzer/overlay.h"
#include "achilles/analyzer/whatif.h"
#include "achilles/common/diagnostic.h"
#include "achilles/common/text.h"
#include "achilles/reports/whatif.h"
#include "command.h"
#include "progress.h"

namespace achilles::cli {
namespace {

std::set<analyzer::ChangeKind> allow_option(const Args& args) {
  std::set<analyzer::ChangeKind> out;
  for (const std::string& value : args.all("allow"))
    for (const std::string& word : common::split(value, ',')) {
      if (word == "add_member")
        out.insert(analyzer::ChangeKind::kAddMember);
      else if (word == "scale")
        out.insert(analyzer::ChangeKind::kScale);
      else if (word == "move")
        out.insert(analyzer::ChangeKind::kMove);
      else if (word == "set")
        out.insert(analyzer::ChangeKind::kSet);
      else
        throw common::UsageError(
            "achilles recommend: error: --allow takes add_member, scale, move and set, not '" +
            word + "'");
    }
  return out;
}

int run_recommend(const Args& args) {
  const std::string format = args.get("format").value_or("text");
  if (format != "text" && format != "json" && format != "yaml")
    throw common::UsageError(
        "achilles recommend: error: --format must be text, json or yaml, not '" + format + "'");
  analyzer::RecommendOptions options;
  options.analysis = analysis_options(args, "achilles recommend");
  options.max_changes = static_cast<size_t>(number_option(args, "max-changes", 10, 0, 1000));
  if (args.get("max-changes") && *args.get("max-changes") != std::to_string(options.max_changes))
    throw common::UsageError("achilles recommend: error: --max-changes must be a whole number");
  if (args.has("allow")) options.allow = allow_option(args);
  const std::string& file = args.positionals[0];

  Progress progress(false);
  progress.update("loading " + file);
  auto& topology = keep_until_exit(analyzer::load_topology(file));
  progress.update("analyzing");
  options.progress = [&](size_t step, size_t tried, size_t candidates) {
    progress.update("change " + std::to_string(step) + ": re-analyzing candidate " +
                        std::to_string(tried) + " of " + std::to_string(candidates),
                    static_cast<double>(tried) / static_cast<double>(candidates));
  };
  const analyzer::Plan plan = analyzer::recommend(topology, options);
  progress.update("writing the plan");
  std::string text;
  if (format == "json") {
    text = analyzer::to_json(plan).dump(2) + "\n";
  } else if (format == "yaml") {
    std::ostringstream out;
    analyzer::write_overlay(analyzer::plan_overlay(plan, file), out);
    text = out.str();
  } else {
    text = reports::format_plan_text(file, plan);
  }
  write_output(args.get("output").value_or(""), text);
  return 0;
}

const Registrar registrar{Command{
    CommandSpec{
        .name = "recommend",
        .usage = "FILE [--max-changes K] [--allow KINDS] [--order K] [--threshold U] [--cascade] "
                 "[--format text|json|yaml] [-o OUT]",
        .summary = "the few changes that remove the most critical findings, each one measured",
        .description =
            "Builds a plan of at most K changes, one at a time. Each step draws candidates\n"
            "from the most harmful risk groups of the findings as they are at that point:\n"
            "  scale       a service that runs out of headroom, by the factor its worst\n"
            "              finding needs (set: a component's capacity, outside a service)\n"
            "  add_member  a service without redundancy, a member like its first one in a\n"
            "              failure domain of the same kind that none of its members uses\n"
            "  move        a member out of the zone (or rack, host...) a domain_spof names\n"
            "  spread      for a domain_spof, a member outside its domain for every service\n"
            "              lacking redundancy that it holds alone: one change of several\n"
            "              add_member entries, measured together (needs add_member allowed)\n"
            "Every candidate is applied with the changes chosen before it and the topology\n"
            "analyzed again; the step keeps the one that removes the most critical findings,\n"
            "then takes the fewest entrypoints down, then removes the most high findings.\n"
            "The plan stops early when no candidate helps. What it says a change resolves\n"
            "and introduces is measured, not estimated: `--format yaml` writes the plan as\n"
            "an overlay, with each change's effect as a comment, that `achilles whatif`\n"
            "applies as it is, and shows the same numbers.",
        .options =
            {
                {.name = "max-changes",
                 .value_name = "K",
                 .help = "at most K changes (default 10)"},
                {.name = "allow",
                 .value_name = "KINDS",
                 .help = "the kinds of change to propose, comma-separated: add_member, scale, "
                         "move, set (default all)"},
                {.name = "order",
                 .value_name = "K",
                 .help = "largest cut set to look for: 1, 2 (default) or 3"},
                {.name = "threshold",
                 .value_name = "U",
                 .help = "utilization above which a component is overloaded (default 0.8)"},
                {.name = "cascade",
                 .takes_value = false,
                 .value_name = "",
                 .help = "let overloaded survivors fail in turn after each failure"},
                {.name = "format",
                 .value_name = "FMT",
                 .help = "text (default), json, or yaml: the plan as an overlay for whatif"},
                {.name = "output",
                 .short_name = 'o',
                 .value_name = "OUT",
                 .help = "write to OUT instead of stdout"},
            },
        .min_positionals = 1,
        .max_positionals = 1,
        .examples = "  achilles recommend shop.yaml --max-changes 5\n"
                    "  achilles recommend shop.yaml --format yaml -o plan.yaml\n"
                    "  achilles whatif shop.yaml plan.yaml --format md\n",
    },
    run_recommend}};

}  // namespace
}  // namespace achilles::cli
