// Colours of the graph, shared by `render` and the HTML report so that the legend, the
// picture and the page agree.
#pragma once

#include <string>
#include <string_view>

namespace achilles::reports {

/// How the subject of a finding of one kind is drawn.
struct KindStyle {
  const char* kind;
  /// Node fill.
  const char* fill;
  /// Node or cluster border.
  const char* pen;
  /// Cluster fill when the subject is a domain.
  const char* cluster_fill;
  /// Text of the legend.
  const char* legend;
};

/// Known kinds, most important first; any other kind falls back to kOtherKind.
inline constexpr KindStyle kKindStyles[] = {
    {"spof", "#ef9a9a", "#b71c1c", "#fde7e7", "single point of failure"},
    {"domain_spof", "#ef9a9a", "#c62828", "#fde7e7", "domain SPOF"},
    {"capacity_spof", "#ce93d8", "#6a1b9a", "#f6e9f8", "capacity SPOF"},
    {"overload", "#ffcc80", "#e65100", "#fff3e0", "overloaded"},
    {"cycle", "#90caf9", "#0d47a1", "#e3f2fd", "cold-start cycle"},
    {"slo_risk", "#80deea", "#006064", "#e0f7fa", "below its SLO"},
    {"articulation_point", "#ef9a9a", "#b71c1c", "#fde7e7", "articulation point"},
};
inline constexpr KindStyle kOtherKind = {"", "#cfd8dc", "#37474f", "#eceff1", ""};

inline constexpr const char* kFailedFill = "#212121";
inline constexpr const char* kDownFill = "#757575";
inline constexpr const char* kDegradedFill = "#fff176";
inline constexpr const char* kFailedClusterFill = "#9e9e9e";
inline constexpr const char* kDownClusterFill = "#d6d6d6";
/// Cluster fills by nesting depth, so that nested domains stand apart.
inline constexpr const char* kClusterFills[] = {"#f4f7fb", "#e9eff6", "#dfe7f0", "#d5dfea"};

inline int kind_rank(std::string_view kind) {
  int i = 0;
  for (const auto& s : kKindStyles) {
    if (kind == s.kind) return i;
    ++i;
  }
  return i;
}

inline const KindStyle& kind_style(std::string_view kind) {
  for (const auto& s : kKindStyles)
    if (kind == s.kind) return s;
  return kOtherKind;
}

/// The legend's text for a kind: its description, or the kind itself.
inline std::string kind_legend(std::string_view kind) {
  const KindStyle& s = kind_style(kind);
  return *s.legend ? s.legend : std::string(kind);
}

/// The short mark in a node's label: "SPOF", "OVERLOAD", "CAPACITY SPOF".
inline std::string kind_tag(std::string_view kind) {
  std::string out;
  for (char c : kind)
    out += c == '_' ? ' ' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace achilles::reports
