// yaml-cpp helpers of the importers.
#pragma once

#include <yaml-cpp/yaml.h>

namespace achilles::analyzer::detail {

/// `node[key]`, or an undefined node when `node` is not a map or has no such key. Why: in
/// yaml-cpp a missing key of a const node is a "zombie" that throws on everything but
/// IsDefined(); this one answers every Is*() with false instead.
inline YAML::Node child(const YAML::Node& node, const char* key) {
  if (!node.IsDefined() || !node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  YAML::Node v = node[key];
  return v.IsDefined() ? v : YAML::Node(YAML::NodeType::Undefined);
}

}  // namespace achilles::analyzer::detail
