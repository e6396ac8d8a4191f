// Writing a topology back out, in the format the loaders read.
#pragma once

#include <ostream>

#include "achilles/analyzer/loader.h"
#include "achilles/analyzer/model.h"

namespace achilles::analyzer {

/// Writes `topology` as YAML or JSON that load_topology reads back to an equal model.
/// Streams element by element, so it is usable for millions of components.
void write_topology(const Topology& topology, Syntax syntax, std::ostream& out);

}  // namespace achilles::analyzer
