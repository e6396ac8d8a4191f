// Fuzz target: the k8s importer (one source); what it builds must be writable.
#include "achilles/analyzer/importers.h"
#include "fuzz.h"

ACHILLES_FUZZ_TARGET({
  auto r = achilles::analyzer::import_sources("k8s", {{"fuzz.in", std::string(text)}});
  achilles::fuzz::write_both(r.topology);
})
