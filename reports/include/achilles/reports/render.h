// The dependency graph as a picture: built with Graphviz cgraph, laid out and rendered in
// process with gvc. Failure domains are nested clusters; findings and, for a failure
// scenario, the statuses of its blast radius are coloured, with a legend.
//
// Graphviz is not thread-safe, not even for reads: every function here that touches it
// must be called from one thread at a time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "achilles/analyzer/model.h"

namespace achilles::reports {

/// How much detail the graph shows.
enum class Level {
  /// A service is one node labelled with its members and quorum; components that belong
  /// to no service are drawn on their own.
  kService,
  /// Every component is a node; services are nodes linked to their members.
  kComponent,
};

/// Number of drawn nodes above which the default layout is `sfdp` instead of `dot`
/// (dot costs about 2.5 s at 1,000 nodes and 28 s at 3,000).
inline constexpr size_t kDotNodeLimit = 2000;

struct RenderOptions {
  Level level = Level::kService;
  /// Components and domains that fail together; their blast radius (down and degraded)
  /// is drawn. Empty: no scenario, the findings take the colours.
  std::vector<analyzer::ElementId> failed;
  /// "dot" or "sfdp"; empty chooses by size (kDotNodeLimit).
  std::string layout;
  /// Draw the title and the legend.
  bool legend = true;
};

/// The output format a path names by its extension: "svg", "png", "pdf" or "dot".
/// Throws analyzer::UsageError for any other extension.
std::string format_for_path(std::string_view path);

/// The SVG id of the node or cluster drawn for an element: `a-` + its id.
std::string svg_id(std::string_view element_id);

/// For each element (indexed like Topology::elements), the SVG id of the node or cluster
/// that stands for it at `level`, or empty when it is not drawn. A component folded into
/// its service at the service level has the service's node id; one that is depended on
/// directly, is a finding's subject (in `analysis`) or is alone in its domain has its own.
std::vector<std::string> drawn_ids(const analyzer::Topology& topology, Level level,
                                   const nlohmann::json& analysis = nlohmann::json::object());

/// The graph of `topology` coloured by the findings of `analysis` (the document of
/// analyzer::to_json; findings are matched by `kind` and `subject`) in `format` ("svg",
/// "png", "pdf", or "dot" for the graph before layout). Returns the file's bytes.
/// Throws analyzer::UsageError for an unknown format or layout.
std::string render(const analyzer::Topology& topology, const nlohmann::json& analysis,
                   const RenderOptions& options, std::string_view format);

}  // namespace achilles::reports
