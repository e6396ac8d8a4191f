// The checks every YAML reader of Achilles runs before yaml-cpp builds nodes from a file:
// UTF-8, nesting depth, and aliases (a cycle, how many, and the size of the tree once they
// are expanded), computed from the parser's events without expanding anything.
//
// Why: yaml-cpp 0.7 lets an alias refer to the node its anchor is on (`&a [*a]` is a cycle,
// and a recursive walk overflows the stack), shares the data of aliased nodes so that a few
// hundred bytes of nested aliases are a tree of 10^9 nodes to whoever walks it, and on a ','
// at the top level of a document returns empty documents forever without reading further
// (LoadAll never ends). The topology loader, the importers, the drill plan reader and the
// policy reader all walk yaml-cpp nodes or events, and so does the agent's configuration reader,
// so they share this one guard (here in common, since the agent must not link the analyzer).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "achilles/common/diagnostic.h"

namespace YAML {
class EventHandler;
}

namespace achilles::common {

/// What a YAML file may cost once its aliases are expanded.
struct YamlLimits {
  /// Nesting of lists and maps, aliases expanded (yaml-cpp itself stops at 2,000).
  size_t max_depth = 256;
  /// Uses of aliases (`*name`) in the file.
  size_t max_aliases = 100'000;
  /// Nodes of the whole file once every alias is expanded, on top of one per byte of text
  /// (a file without aliases has fewer nodes than bytes).
  size_t max_expanded_nodes = 1'000'000;
};

/// How many documents a file may hold.
enum class YamlDocuments {
  kOne,   // a topology, a drill plan, a policy: a second document is an error
  kMany,  // Kubernetes and Compose manifests
};

/// Reads `text` as YAML events and checks it against `limits`; every problem goes to
/// `diagnostics` as `file:line:col` (parsing stops at the first one). True when the text is
/// safe to load with yaml-cpp and walk recursively. When `forward` is given, the events of
/// the first document are handed to it after they pass the checks (so that a reader can
/// build its own tree in the same pass); its state is meaningless when this returns false.
bool check_yaml(std::string_view text, const std::string& file, YamlDocuments documents,
                std::vector<Diagnostic>& diagnostics, YAML::EventHandler* forward = nullptr,
                const YamlLimits& limits = {});

/// The first byte of `text` that is not part of valid UTF-8 (RFC 3629: no overlong forms,
/// no surrogates, nothing above U+10FFFF), or std::string_view::npos.
size_t invalid_utf8_at(std::string_view text);

}  // namespace achilles::common
