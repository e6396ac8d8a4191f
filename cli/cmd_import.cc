// achilles import KIND PATH... -o OUT: a topology from Kubernetes manifests, a Compose file,
// `terraform show -json` or a DOT graph (docs/importers.md).
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "achilles/analyzer/importers.h"
#include "achilles/analyzer/loader.h"
#include "achilles/analyzer/writer.h"
#include "achilles/common/diagnostic.h"
#include "achilles/common/text.h"
#include "command.h"

namespace achilles::cli {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int run_import(const Args& args) {
  const std::string& kind = args.positionals[0];
  std::vector<std::string> paths(args.positionals.begin() + 1, args.positionals.end());
  std::string out = args.get("output").value_or("");
  if (ends_with(out, ".dot") || ends_with(out, ".gv"))
    throw common::UsageError(
        "achilles import: error: -o names a YAML (.yaml, .yml) or JSON "
        "(.json) file, not '" +
        out + "'");
  analyzer::ImportOptions options;
  options.entrypoints = args.all("entrypoint");
  options.profiles = args.all("profile");
  auto result = analyzer::import_paths(kind, paths, options);
  for (const auto& note : result.notes)
    std::cerr << "achilles import: note: " << common::one_line(note) << "\n";
  for (const auto& warning : result.warnings)
    std::cerr << "achilles import: warning: " << common::one_line(warning) << "\n";

  analyzer::Syntax syntax =
      ends_with(out, ".json") ? analyzer::Syntax::kJson : analyzer::Syntax::kYaml;
  std::ostringstream text;
  if (syntax == analyzer::Syntax::kYaml) {
    text << "# Imported by `achilles import " << kind;
    for (const auto& p : paths)
      text << " " << common::one_line(p);
    text << "`.\n# Every inferred element says where it came from in its `source` label;\n"
            "# review the quorums (min_healthy), placement and dependencies before trusting it.\n";
    // The decisions the importer made stay with the topology, not only on the terminal; each
    // on its own comment line whatever the input's names hold (a newline in a port string
    // would otherwise start a line of YAML).
    for (const auto& warning : result.warnings)
      text << "# warning: " << common::one_line(warning) << "\n";
    for (const auto& note : result.notes)
      text << "# note: " << common::one_line(note) << "\n";
  }
  analyzer::write_topology(result.topology, syntax, text);
  // What is written must load: an importer that produced anything else has a bug.
  try {
    analyzer::load_topology_text(text.str(), syntax, out.empty() ? "-" : out);
  } catch (const common::InputError& e) {
    throw std::logic_error(
        "achilles import: internal error: the imported topology does not "
        "validate:\n" +
        std::string(e.what()));
  }
  write_output(out, text.str());
  return 0;
}

const Registrar registrar{Command{
    CommandSpec{
        .name = "import",
        .usage = "KIND PATH... [-o OUT] [--entrypoint ID...] [--profile NAME...]",
        .summary = "write a topology from Kubernetes, Compose, Terraform or DOT",
        .description =
            "KIND is one of:\n"
            "  k8s        manifests (files or directories, multi-document YAML, JSON, List):\n"
            "             Deployments, StatefulSets, DaemonSets, Services, PodDisruptionBudgets,\n"
            "             Ingresses, Nodes\n"
            "  compose    a docker-compose.yml or Swarm stack: services, replicas, depends_on,\n"
            "             links, ports, profiles\n"
            "  terraform  the output of `terraform show -json` (a state or a plan): instances,\n"
            "             auto-scaling groups, load balancers, RDS, ElastiCache, depends_on\n"
            "  dot        a Graphviz graph, by the mapping of docs/importers.md; names that are\n"
            "             no valid id are mapped, nodes no edge points to are entrypoints\n"
            "The topology is written as YAML, or JSON when OUT ends in .json. Each inferred\n"
            "element has a `source` label naming what it came from; notes about what was\n"
            "skipped, assumed or left out go to stderr and, in YAML, into the file as comments.\n"
            "Without an entrypoint analyze finds nothing: name one with --entrypoint when\n"
            "none can be inferred. See docs/importers.md.",
        .options =
            {
                {.name = "output",
                 .short_name = 'o',
                 .value_name = "OUT",
                 .help = "write to OUT (.yaml, .yml or .json) instead of stdout"},
                {.name = "entrypoint",
                 .repeatable = true,
                 .value_name = "ID",
                 .help = "users come in at service or component ID (repeatable); replaces the "
                         "inferred entrypoints"},
                {.name = "profile",
                 .repeatable = true,
                 .value_name = "NAME",
                 .help = "compose: also import the services of profile NAME ('*' for all)"},
            },
        .min_positionals = 2,
        .max_positionals = SIZE_MAX,
        .examples =
            "  achilles import k8s deploy/ -o shop.yaml\n"
            "  achilles import compose docker-compose.yml -o app.yaml\n"
            "  achilles import compose compose.yml --profile cpu --entrypoint web -o app.yaml\n"
            "  terraform show -json > tf.json && achilles import terraform tf.json -o infra.json\n",
    },
    run_import}};

}  // namespace
}  // namespace achilles::cli
