// Escaping text for XML and HTML, shared by every writer of markup (Open-PSA, SVG, JUnit, the
// HTML and drill reports).
#pragma once

#include <string>
#include <string_view>

namespace achilles::common {

/// `s` with & < > " ' replaced by entities: safe in XML and HTML text and attribute values.
inline std::string markup_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace achilles::common
