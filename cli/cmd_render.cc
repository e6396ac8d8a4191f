// achilles render FILE -o OUT: the dependency graph as a picture.
#include <iostream>
#include <string>
#include <vector>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/loader.h"
#include "achilles/analyzer/suggest.h"
#include "achilles/common/diagnostic.h"
#include "achilles/reports/render.h"
#include "command.h"
#include "progress.h"

namespace achilles::cli {
namespace {

int run_render(const Args& args) {
  auto out = args.get("output");
  if (!out) throw common::UsageError("achilles render: error: -o OUT is required");
  std::string format = reports::format_for_path(*out);
  reports::RenderOptions options;
  std::string level = args.get("level").value_or("service");
  if (level == "component")
    options.level = reports::Level::kComponent;
  else if (level != "service")
    throw common::UsageError(
        "achilles render: error: --level must be service or component, "
        "not '" +
        level + "'");
  options.layout = args.get("layout").value_or("");
  if (!options.layout.empty() && options.layout != "dot" && options.layout != "sfdp")
    throw common::UsageError("achilles render: error: --layout must be dot or sfdp, not '" +
                             options.layout + "'");

  Progress progress;
  progress.update("loading", 0);
  auto topology = analyzer::load_topology(args.positionals[0]);
  for (const auto& id : args.all("fail")) {
    auto x = topology.find(id);
    if (!x)
      throw common::UsageError("achilles render: error: '" + id + "' is not an element of " +
                               args.positionals[0] + analyzer::did_you_mean_id(topology, id));
    auto kind = topology[*x].kind;
    if (kind != analyzer::ElementKind::kComponent && kind != analyzer::ElementKind::kDomain)
      throw common::UsageError("achilles render: error: --fail " + id +
                               ": only components "
                               "and failure domains fail, and this is a " +
                               std::string(to_string(kind)));
    options.failed.push_back(*x);
  }
  // Single failures are what the picture colours; cut sets are not drawn.
  analyzer::AnalysisOptions analysis_options;
  analysis_options.order = 1;
  analysis_options.progress = progress.callback();
  auto analysis = analyzer::analyze(topology, analysis_options);
  progress.update("drawing", 0);
  auto data = reports::render(topology, analyzer::to_json(topology, analysis), options, format);
  write_output(*out, data);
  std::cerr << "achilles render: wrote " << *out << "\n";
  return 0;
}

const Registrar registrar{Command{
    CommandSpec{
        .name = "render",
        .usage = "FILE -o OUT.svg|.png|.pdf|.dot [--level service|component] [--fail ID...] "
                 "[--layout dot|sfdp]",
        .summary = "draw the dependency graph, failure domains as clusters, findings coloured",
        .description =
            "Failure domains are nested clusters (region > zone > rack > host). At the\n"
            "service level (default) a service is one node labelled with its members and\n"
            "quorum; at the component level every component is drawn. Single points of\n"
            "failure, domain SPOFs, overloads and other single-subject findings are\n"
            "coloured, with a legend. --fail draws the blast radius of a scenario: what\n"
            "fails, what goes down, what is degraded. The layout is dot up to 2,000 nodes\n"
            "and sfdp above; .dot writes the graph before layout.",
        .options =
            {
                {.name = "output",
                 .short_name = 'o',
                 .value_name = "OUT",
                 .help = "the picture: .svg, .png, .pdf or .dot"},
                {.name = "level", .value_name = "LEVEL", .help = "service (default) or component"},
                {.name = "fail",
                 .repeatable = true,
                 .value_name = "ID...",
                 .help = "components or domains that fail together"},
                {.name = "layout", .value_name = "NAME", .help = "dot or sfdp (default: by size)"},
            },
        .min_positionals = 1,
        .max_positionals = 1,
        .examples = "  achilles render topologies/three-tier.yaml -o three-tier.svg\n"
                    "  achilles render shop.yaml -o blast.png --level component --fail az1\n",
    },
    run_render}};

}  // namespace
}  // namespace achilles::cli
