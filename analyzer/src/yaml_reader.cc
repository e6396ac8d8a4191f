// YAML into a Document from yaml-cpp's parser events (no YAML::Node tree), checked by the
// YAML guard as they come: yaml-cpp gives a mark (0-based) with every event and keeps
// duplicate keys, so both are available; scalars are typed here by the YAML 1.2 core schema
// because yaml-cpp leaves every scalar untyped. Events rather than nodes: an alias then
// shares its anchor's node in the Document instead of being copied by a walk.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "achilles/common/yaml_guard.h"
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

// "!" marks a quoted scalar, "?" a plain one; an explicit !!str is a string too.
Type scalar_type(std::string_view text, std::string_view tag) {
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return Type::kString;
  if (text == "~" || text == "null" || text == "Null" || text == "NULL") return Type::kNull;
  if (text == "true" || text == "True" || text == "TRUE") return Type::kBool;
  if (text == "false" || text == "False" || text == "FALSE") return Type::kBool;
  if (is_core_number(text)) return Type::kNumber;
  return Type::kString;
}

/// Builds the Document from yaml-cpp's events, after yaml_guard has checked each one. An
/// alias shares its anchor's node (nothing is copied, so an alias under a key the loader
/// then rejects costs nothing); a key that is a list or map is reported and skipped with
/// its value.
class EventBuilder : public YAML::EventHandler {
 public:
  EventBuilder(const std::string& file, std::vector<Diagnostic>& diagnostics)
      : file_(file), diagnostics_(diagnostics), builder_(file, diagnostics) {}

  Document finish() {
    if (!seen_document_) builder_.scalar(Type::kNull, {}, "null");  // an empty file
    return builder_.finish();
  }

  void OnDocumentStart(const YAML::Mark&) override { seen_document_ = true; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Place p = place(false);
    if (p == Place::kSkip) return;
    if (p == Place::kKey) {
      key(anchor, Type::kNull, "null", position(mark));
      return;
    }
    define(anchor, builder_.scalar(Type::kNull, position(mark), "null"));
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    Place p = place(false);
    if (p == Place::kSkip) return;
    Type type = scalar_type(value, tag);
    if (p == Place::kKey) {
      key(anchor, type, value, position(mark));
      return;
    }
    define(anchor,
           builder_.scalar(type, position(mark), value, type == Type::kBool && is_true(value)));
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Place p = place(false);
    if (p == Place::kSkip) return;
    if (anchor == 0 || anchor > anchors_.size() || !anchors_[anchor - 1].known) {
      // Its anchor is inside a key that was reported and skipped: a null stands in.
      if (p == Place::kKey)
        builder_.key("null", position(mark));
      else
        builder_.scalar(Type::kNull, position(mark), "null");
      return;
    }
    const Anchored& a = anchors_[anchor - 1];
    if (p == Place::kKey) {
      if (a.node == kKeyOnly) {
        builder_.key(a.key, position(mark));
      } else if (builder_.type_of(a.node) == Type::kSequence ||
                 builder_.type_of(a.node) == Type::kMap) {
        bad_key(position(mark), builder_.type_of(a.node));
      } else {
        builder_.key(builder_.text_of(a.node), position(mark));
      }
      return;
    }
    if (a.node == kKeyOnly) {
      builder_.scalar(scalar_type(a.key, a.tag), position(mark), a.key,
                      is_true(a.key) && scalar_type(a.key, a.tag) == Type::kBool);
      return;
    }
    builder_.alias(a.node);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor, Type::kSequence);
  }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor, Type::kMap);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapEnd() override { close(); }

 private:
  static constexpr uint32_t kKeyOnly = UINT32_MAX;
  /// What an anchor names: a node, or (for an anchored key) the key's text and tag.
  struct Anchored {
    uint32_t node = kKeyOnly;
    std::string key, tag;
    bool known = false;  // false for an anchor inside a skipped key
  };
  struct Frame {
    bool map;
    bool want_key;    // a map whose next node is a key
    bool skip_value;  // a map whose next value follows a rejected key
  };
  enum class Place { kValue, kKey, kSkip };

  static bool is_true(std::string_view text) {
    return text == "true" || text == "True" || text == "TRUE";
  }

  // Where the node that starts now goes; `container` when it is a list or map.
  Place place(bool container) {
    if (skip_depth_ > 0) {
      if (container) ++skip_depth_;
      return Place::kSkip;
    }
    if (frames_.empty() || !frames_.back().map) return Place::kValue;
    Frame& f = frames_.back();
    if (f.want_key) {
      f.want_key = false;
      return Place::kKey;
    }
    f.want_key = true;
    if (f.skip_value) {
      f.skip_value = false;
      if (container) skip_depth_ = 1;
      return Place::kSkip;
    }
    return Place::kValue;
  }

  void define(YAML::anchor_t anchor, uint32_t node) {
    if (anchor == 0) return;
    if (anchors_.size() < anchor) anchors_.resize(anchor);
    anchors_[anchor - 1] = {node, {}, {}, true};
  }

  void key(YAML::anchor_t anchor, Type type, std::string_view text, SourcePos pos) {
    builder_.key(text, pos);
    if (anchor == 0) return;
    if (anchors_.size() < anchor) anchors_.resize(anchor);
    anchors_[anchor - 1] = {kKeyOnly, std::string(text), type == Type::kString ? "!" : "?", true};
  }

  void bad_key(SourcePos pos, Type type) {
    diagnostics_.push_back(
        {file_, pos, {}, "a key must be a string, not " + std::string(describe(type))});
    frames_.back().skip_value = true;
  }

  void open(const YAML::Mark& mark, YAML::anchor_t anchor, Type type) {
    Place p = place(true);
    if (p == Place::kSkip) return;
    if (p == Place::kKey) {
      bad_key(position(mark), type);
      skip_depth_ = 1;
      return;
    }
    define(anchor, builder_.begin(type, position(mark)));
    frames_.push_back({type == Type::kMap, type == Type::kMap, false});
  }

  void close() {
    if (skip_depth_ > 0) {
      --skip_depth_;
      return;
    }
    frames_.pop_back();
    builder_.end();
  }

  const std::string& file_;
  std::vector<Diagnostic>& diagnostics_;
  Document::Builder builder_;
  std::vector<Frame> frames_;
  std::vector<Anchored> anchors_;
  int skip_depth_ = 0;
  bool seen_document_ = false;
};

}  // namespace

Document read_yaml(std::string_view text, const std::string& file,
                   std::vector<Diagnostic>& diagnostics) {
  EventBuilder builder(file, diagnostics);
  if (!common::check_yaml(text, file, common::YamlDocuments::kOne, diagnostics, &builder))
    return {};
  return builder.finish();
}

}  // namespace achilles::analyzer::doc
