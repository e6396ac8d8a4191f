// achilles export openpsa FILE -o OUT.xml: the topology as an Open-PSA fault tree.
#include "achilles/analyzer/loader.h"
#include "achilles/analyzer/openpsa.h"
#include "command.h"

namespace achilles::cli {
namespace {

int run_export_openpsa(const Args& args) {
  auto topology = analyzer::load_topology(args.positionals[0]);
  write_output(args.get("output").value_or(""), analyzer::to_openpsa(topology));
  return 0;
}

const Registrar registrar{Command{
    CommandSpec{
        .name = "export openpsa",
        .usage = "FILE [-o OUT.xml]",
        .summary = "write the topology as an Open-PSA fault tree, one top event per entrypoint",
        .description =
            "Writes an Open-PSA Model Exchange Format fault tree that a separate tool (for\n"
            "example SCRAM: scram --bdd --probability true OUT.xml) can solve, to check the\n"
            "availabilities and cut sets of `achilles analyze`. Each entrypoint is a top gate\n"
            "down_ID; components and domains with an availability are basic events fail_ID\n"
            "with probability 1 - availability; what never fails is left out. Dependency\n"
            "cycles are unrolled as many times as they have elements, which is exact.",
        .options =
            {
                {.name = "output",
                 .short_name = 'o',
                 .value_name = "OUT",
                 .help = "write to OUT instead of stdout"},
            },
        .min_positionals = 1,
        .max_positionals = 1,
        .examples = "  achilles export openpsa topologies/three-tier.yaml -o three-tier.xml\n"
                    "  scram --bdd --probability true three-tier.xml\n",
    },
    run_export_openpsa}};

}  // namespace
}  // namespace achilles::cli
