// Fuzz target: the topology loader reading JSON (yaml_reader/json_reader, loader checks);
// what it accepts must be writable.
#include "achilles/analyzer/loader.h"
#include "fuzz.h"

ACHILLES_FUZZ_TARGET({
  auto t =
      achilles::analyzer::load_topology_text(text, achilles::analyzer::Syntax::kJson, "fuzz.json");
  achilles::fuzz::write_both(t);
})
