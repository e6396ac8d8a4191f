// achilles validate FILE: loads a topology and reports every problem in it.
#include <iostream>
#include <string>

#include "achilles/analyzer/loader.h"
#include "command.h"

namespace achilles::cli {

namespace {

std::string count(size_t n, const char* singular, const char* plural) {
  return std::to_string(n) + " " + (n == 1 ? singular : plural);
}

int run(const Args& args) {
  using analyzer::ElementKind;
  const std::string& file = args.positionals[0];
  // Problems are thrown as InputError; main prints each one and exits with 2.
  analyzer::Topology& t = keep_until_exit(analyzer::load_topology(file));
  // One pass over the elements, not five: it shows at 10^6 components.
  size_t kinds[4] = {0, 0, 0, 0};
  size_t dependencies = 0;
  for (const auto& e : t.elements) {
    ++kinds[static_cast<size_t>(e.kind)];
    dependencies += e.depends_on.size();
  }
  auto of = [&](ElementKind kind) { return kinds[static_cast<size_t>(kind)]; };
  std::cout << file << ": ok: " << count(of(ElementKind::kDomain), "domain", "domains") << ", "
            << count(of(ElementKind::kComponent), "component", "components") << ", "
            << count(of(ElementKind::kService), "service", "services") << ", "
            << count(of(ElementKind::kEntrypoint), "entrypoint", "entrypoints") << ", "
            << count(dependencies, "dependency", "dependencies") << "\n";
  return 0;
}

const Registrar kValidate{{
    {
        .name = "validate",
        .usage = "FILE",
        .summary = "load a topology and report every problem in it",
        .description =
            "Reads FILE (YAML for .yaml/.yml, JSON for .json; other names are sniffed) and\n"
            "checks it against the topology format: syntax, required and unknown keys, types,\n"
            "ids and references, ranges, cycles of domain parents and of service membership.\n"
            "Every problem is printed to stderr as FILE:LINE:COLUMN: error: MESSAGE, in file\n"
            "order, and the exit code is 2. A valid file prints one summary line and exits 0.",
        .options = {},
        .min_positionals = 1,
        .max_positionals = 1,
        .examples = "  achilles validate topologies/three-tier.yaml\n"
                    "  achilles validate big.json && achilles analyze big.json\n",
    },
    run,
}};

}  // namespace

}  // namespace achilles::cli
