// Importers: a topology from what teams already have (Kubernetes manifests, a Compose file,
// `terraform show -json`, Graphviz DOT). See docs/importers.md for what each one infers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "achilles/analyzer/model.h"

namespace achilles::analyzer {

/// One input of an importer: its name in messages and labels, and its text.
struct ImportSource {
  std::string file;
  std::string text;
  /// Found by walking a directory, not named by the user: the k8s importer skips, with a
  /// note, what is not a manifest there (values files, patches) instead of failing on it.
  bool in_directory = false;
};

/// What an importer produced: a topology that validates, and notes for the user (kinds
/// skipped, defaults assumed, what was inferred and what was left out), one sentence each, to
/// be shown on stderr and written as comments in the topology. Warnings are what makes the
/// topology unfit for analysis as it is (no entrypoint: every finding needs one).
struct ImportResult {
  Topology topology;
  std::vector<std::string> notes;
  std::vector<std::string> warnings;
};

/// What the user asked for beyond the inputs (`achilles import --entrypoint ... --profile`).
struct ImportOptions {
  /// Ids of components or services that users call: each gets an entrypoint `entry:ID`, and
  /// the entrypoints the importer inferred are dropped. An unknown id is a UsageError.
  std::vector<std::string> entrypoints;
  /// Compose profiles to enable (`*` for all); services of other profiles are left out.
  std::vector<std::string> profiles;
};

/// The importers by name: "k8s", "compose", "terraform" and "dot".
const std::vector<std::string>& import_kinds();

/// Reads `paths` (files; for k8s also directories, searched recursively for *.yaml, *.yml
/// and *.json) and imports them as `kind`. Throws UsageError for an unknown kind or an
/// unreadable path, InputError with every problem found in malformed input.
ImportResult import_paths(std::string_view kind, const std::vector<std::string>& paths,
                          const ImportOptions& options = {});

/// The same from text already in memory.
ImportResult import_sources(std::string_view kind, const std::vector<ImportSource>& sources,
                            const ImportOptions& options = {});

/// A DOT graph (spec topology.md, "DOT mapping") as a topology; `file` names it in messages.
/// An undirected graph keeps its edges in Topology::undirected_edges.
Topology import_dot_text(std::string_view text, const std::string& file);

}  // namespace achilles::analyzer
