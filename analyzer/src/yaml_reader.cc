// YAML into a Document with yaml-cpp. yaml-cpp keeps a mark (0-based) on every node and
// keeps duplicate keys, so both are available; scalars are typed here by the YAML 1.2 core
// schema because yaml-cpp leaves every scalar untyped.
#include <yaml-cpp/yaml.h>

#include "document.h"

namespace achilles::analyzer::doc {

namespace {

bool all_of(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) return false;
  for (char c : s)
    if (!pred(c)) return false;
  return true;
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_octal(char c) {
  return c >= '0' && c <= '7';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+ | [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
// | [-+]?\.(inf|Inf|INF) | \.nan|\.NaN|\.NAN
bool is_core_number(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o') return all_of(s.substr(2), is_octal);
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x') return all_of(s.substr(2), is_hex);
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return true;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  if (s == ".inf" || s == ".Inf" || s == ".INF") return true;
  size_t i = 0;
  size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && is_digit(s[i]))
    ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i]))
      ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (!all_of(s.substr(i), is_digit)) return false;
    i = s.size();
  }
  return i == s.size();
}

SourcePos position(const YAML::Mark& mark) {
  if (mark.is_null()) return {};
  return {static_cast<uint32_t>(mark.line + 1), static_cast<uint32_t>(mark.column + 1)};
}

class Walker {
 public:
  Walker(const std::string& file, std::vector<Diagnostic>& diagnostics)
      : file_(file), diagnostics_(diagnostics), builder_(file, diagnostics) {}

  void walk(const YAML::Node& node) {
    SourcePos pos = position(node.Mark());
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        builder_.scalar(Type::kNull, pos, "null");
        return;
      case YAML::NodeType::Scalar:
        scalar(node, pos);
        return;
      case YAML::NodeType::Sequence:
        builder_.begin(Type::kSequence, pos);
        for (const auto& child : node)
          walk(child);
        builder_.end();
        return;
      case YAML::NodeType::Map:
        builder_.begin(Type::kMap, pos);
        for (const auto& kv : node) {
          const YAML::Node& key = kv.first;
          SourcePos key_pos = position(key.Mark());
          if (!key.IsScalar() && !key.IsNull()) {
            diagnostics_.push_back(
                {file_,
                 key_pos,
                 {},
                 std::string("a key must be a string, not ") +
                     std::string(describe(key.IsMap() ? Type::kMap : Type::kSequence))});
            continue;
          }
          builder_.key(key.IsNull() ? std::string_view("null") : key.Scalar(), key_pos);
          walk(kv.second);
        }
        builder_.end();
        return;
    }
  }

  Document finish() { return builder_.finish(); }

 private:
  void scalar(const YAML::Node& node, SourcePos pos) {
    const std::string& text = node.Scalar();
    const std::string& tag = node.Tag();
    // "!" marks a quoted scalar, "?" a plain one; an explicit !!str is a string too.
    if (tag == "!" || tag == "tag:yaml.org,2002:str") {
      builder_.scalar(Type::kString, pos, text);
    } else if (text == "~" || text == "null" || text == "Null" || text == "NULL") {
      builder_.scalar(Type::kNull, pos, text);
    } else if (text == "true" || text == "True" || text == "TRUE") {
      builder_.scalar(Type::kBool, pos, text, true);
    } else if (text == "false" || text == "False" || text == "FALSE") {
      builder_.scalar(Type::kBool, pos, text, false);
    } else if (is_core_number(text)) {
      builder_.scalar(Type::kNumber, pos, text);
    } else {
      builder_.scalar(Type::kString, pos, text);
    }
  }

  const std::string& file_;
  std::vector<Diagnostic>& diagnostics_;
  Document::Builder builder_;
};

}  // namespace

Document read_yaml(std::string_view text, const std::string& file,
                   std::vector<Diagnostic>& diagnostics) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    diagnostics.push_back({file, position(e.mark), {}, "syntax error: " + e.msg});
    return {};
  }
  Walker walker(file, diagnostics);
  walker.walk(root);
  return walker.finish();
}

}  // namespace achilles::analyzer::doc
