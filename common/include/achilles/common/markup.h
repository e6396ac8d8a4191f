// Escaping text for XML and HTML, shared by every writer of markup (Open-PSA, SVG, JUnit, the
// HTML and drill reports), and for Markdown table cells (the summaries and what-if).
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

/// `s` with the characters Markdown gives a meaning to in a table cell (| \ * _ ` < >)
/// escaped by a backslash.
inline std::string md_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|' || c == '\\' || c == '*' || c == '_' || c == '`' || c == '<' || c == '>')
      out += '\\';
    out += c;
  }
  return out;
}

}  // namespace achilles::common
