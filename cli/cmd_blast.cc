// achilles blast FILE ID...: the status of every element when those fail together.
#include <string>
#include <vector>

#include "achilles/analyzer/loader.h"
#include "achilles/analyzer/status.h"
#include "achilles/analyzer/suggest.h"
#include "achilles/common/diagnostic.h"
#include "achilles/reports/summary.h"
#include "command.h"

namespace achilles::cli {
namespace {

int run_blast(const Args& args) {
  std::string format = args.get("format").value_or("text");
  if (format != "text" && format != "json")
    throw common::UsageError("achilles blast: error: --format must be text or json, not '" +
                             format + "'");
  auto topology = analyzer::load_topology(args.positionals[0]);
  std::vector<analyzer::ElementId> failed;
  for (size_t i = 1; i < args.positionals.size(); ++i) {
    const std::string& id = args.positionals[i];
    auto x = topology.find(id);
    if (!x)
      throw common::UsageError("achilles blast: error: '" + id + "' is not an element of " +
                               args.positionals[0] + analyzer::did_you_mean_id(topology, id));
    failed.push_back(*x);
  }
  auto statuses = analyzer::evaluate(topology, failed);
  write_output(args.get("output").value_or(""),
               format == "json" ? reports::format_blast_json(topology, failed, statuses)
                                : reports::format_blast_text(topology, failed, statuses));
  return 0;
}

const Registrar registrar{Command{
    CommandSpec{
        .name = "blast",
        .usage = "FILE ID... [--format text|json] [-o OUT]",
        .summary = "show what is down and degraded when the named elements fail together",
        .description = "Each ID is a component or a failure domain. Failing a domain fails\n"
                       "everything in it and in the domains below it.",
        .options =
            {
                {.name = "format", .value_name = "FMT", .help = "text (default) or json"},
                {.name = "output",
                 .short_name = 'o',
                 .value_name = "OUT",
                 .help = "write to OUT instead of stdout"},
            },
        .min_positionals = 2,
        .max_positionals = SIZE_MAX,
        .examples = "  achilles blast topologies/three-tier.yaml db-primary\n"
                    "  achilles blast topologies/campaign-2012.yaml use1-az1 --format json\n",
    },
    run_blast}};

}  // namespace
}  // namespace achilles::cli
