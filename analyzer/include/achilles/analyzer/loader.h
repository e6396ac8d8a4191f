// Loading a topology from YAML or JSON (spec topology.md), with every problem reported.
#pragma once

#include <string>
#include <string_view>

#include "achilles/analyzer/model.h"
#include "achilles/common/diagnostic.h"

namespace achilles::analyzer {

/// kDot: Graphviz DOT, read through the mapping of topology.md (importers.h); load only.
enum class Syntax { kYaml, kJson, kDot };

/// The syntax a path's extension names: .json is JSON, .yaml/.yml YAML, .dot/.gv DOT;
/// anything else is sniffed from the first non-blank character ('{' means JSON).
Syntax syntax_for(std::string_view path, std::string_view text);

/// Reads and validates a topology file. Throws InputError with every problem found (syntax
/// errors, and every rule of "What is rejected"), or UsageError if the file cannot be read.
Topology load_topology(const std::string& path);

/// The same, from text already in memory; `file` names it in diagnostics.
Topology load_topology_text(std::string_view text, Syntax syntax, const std::string& file);

}  // namespace achilles::analyzer
