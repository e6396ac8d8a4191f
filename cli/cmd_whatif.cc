// achilles whatif FILE OVERLAY: the analysis of the topology with a change set applied, as a
// diff against the original (spec whatif.md).
#include <iostream>
#include <sstream>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/loader.h"
#include "achilles/analyzer/overlay.h"
#include "achilles/analyzer/whatif.h"
#include "achilles/analyzer/writer.h"
#include "achilles/common/diagnostic.h"
#include "achilles/reports/whatif.h"
#include "command.h"

namespace achilles::cli {
namespace {

int run_whatif(const Args& args) {
  const std::string format = args.get("format").value_or("text");
  if (format != "text" && format != "json" && format != "md")
    throw common::UsageError("achilles whatif: error: --format must be text, json or md, not '" +
                             format + "'");
  const auto options = analysis_options(args, "achilles whatif");
  const std::string& file = args.positionals[0];
  const std::string& overlay_file = args.positionals[1];
  // Both inputs are read before anything is analyzed, so that a mistake in either is said at
  // once.
  auto& before = keep_until_exit(analyzer::load_topology(file));
  const analyzer::Overlay overlay = analyzer::load_overlay(overlay_file);
  auto& after = keep_until_exit(analyzer::apply_overlay(before, overlay));
  if (auto out = args.get("write-topology"))
    write_output(*out, [&](std::ostream& o) {
      analyzer::write_topology(after, analyzer::Syntax::kYaml, o);
    });
  auto& a = keep_until_exit(analyzer::analyze(before, options));
  auto& b = keep_until_exit(analyzer::analyze(after, options));
  const auto diff = analyzer::diff_analyses(a, b);
  const std::string title = file + " + " + overlay_file;
  std::string text;
  if (format == "json")
    text = analyzer::to_json(diff, overlay.changes.size()).dump(2) + "\n";
  else if (format == "md")
    text = reports::format_whatif_markdown(title, overlay.changes.size(), diff, a, b);
  else
    text = reports::format_whatif_text(title, overlay.changes.size(), diff, a, b);
  write_output(args.get("output").value_or(""), text);
  return 0;
}

const Registrar registrar{Command{
    CommandSpec{
        .name = "whatif",
        .usage = "FILE OVERLAY [--order K] [--threshold U] [--cascade] [--format text|json|md] "
                 "[--write-topology OUT] [-o OUT]",
        .summary = "analyze a topology with a change set applied, as a diff against it",
        .description =
            "OVERLAY is a change set (YAML, see docs/analysis.md, \"What if\"):\n"
            "  version: 1\n"
            "  changes:\n"
            "    - add_member: {service: web, id: web-4, domain: use1-az3, like: web-1}\n"
            "    - scale: {service: api, capacity_factor: 1.5}\n"
            "    - set: {id: db-1, capacity: 1500}   # or availability, min_healthy, domain,\n"
            "                                        # and an entrypoint's load or slo\n"
            "    - move: {id: cache-1, domain: use1-az2}\n"
            "    - add_dependency: {from: app, to: {id: cache, mode: soft}}\n"
            "    - remove: {id: vpn-hq}\n"
            "The changes apply in order; each is checked against the topology as the ones\n"
            "before it left it, every problem is reported with its line and column in\n"
            "OVERLAY (exit 2), and the result must be a valid topology.\n"
            "Both topologies are analyzed as `analyze` does (same options), and the output\n"
            "compares them: the critical, high and all findings and the entrypoints some\n"
            "finding takes down, before and after; the findings resolved and new (by id,\n"
            "with their messages) and how many are unchanged; each entrypoint's\n"
            "availability before and after. --write-topology writes the changed topology\n"
            "(YAML), which `validate` accepts and `analyze` finds the \"after\" in: review it,\n"
            "or hand it to `check`.",
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
                 .help = "let overloaded survivors fail in turn after each failure"},
                {.name = "format", .value_name = "FMT", .help = "text (default), json or md"},
                {.name = "write-topology",
                 .value_name = "OUT",
                 .help = "also write the changed topology to OUT (YAML)"},
                {.name = "output",
                 .short_name = 'o',
                 .value_name = "OUT",
                 .help = "write the diff to OUT instead of stdout"},
            },
        .min_positionals = 2,
        .max_positionals = 2,
        .examples = "  achilles whatif shop.yaml add-cache-replica.yaml\n"
                    "  achilles recommend shop.yaml --format yaml -o plan.yaml\n"
                    "  achilles whatif shop.yaml plan.yaml --write-topology shop-after.yaml\n",
    },
    run_whatif}};

}  // namespace
}  // namespace achilles::cli
