// The YAML guard (see yaml_guard.h): one pass over yaml-cpp's events that computes, for every
// anchor, the size and height of its tree with aliases expanded, so that an alias costs a
// lookup, not a copy; the first problem stops the pass.
#include "achilles/common/yaml_guard.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <sstream>

namespace achilles::common {

size_t invalid_utf8_at(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    if (i + 1 >= n || s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k)
      if (i + k >= n || (s[i + k] & 0xC0) != 0x80) return i;
    i += len;
  }
  return std::string_view::npos;
}

namespace {

SourcePos position(const YAML::Mark& mark) {
  if (mark.is_null()) return {};
  return {static_cast<uint32_t>(mark.line + 1), static_cast<uint32_t>(mark.column + 1)};
}

/// Thrown by the handler at the first problem; caught in check_yaml.
struct Stop {};

class Guard : public YAML::EventHandler {
 public:
  Guard(std::string_view text, const std::string& file, const YamlLimits& limits,
        std::vector<Diagnostic>& diagnostics)
      : text_(text), file_(file), limits_(limits), diagnostics_(diagnostics) {}

  /// Events of the current document are handed on to `h` (nullptr: to nobody).
  void forward_to(YAML::EventHandler* h) { forward_ = h; }
  /// Where the document last read started, and whether it held nothing but a null.
  const YAML::Mark& document_start() const { return document_start_; }

  void fail(const YAML::Mark& mark, std::string message) {
    diagnostics_.push_back({file_, position(mark), {}, std::move(message)});
    throw Stop{};
  }

  void OnDocumentStart(const YAML::Mark& mark) override {
    document_start_ = mark;
    anchors_.clear();
    names_.clear();
    if (forward_) forward_->OnDocumentStart(mark);
  }
  void OnDocumentEnd() override {
    if (forward_) forward_->OnDocumentEnd();
  }
  void OnAnchor(const YAML::Mark& mark, const std::string& name) override {
    names_.push_back(name);
    if (forward_) forward_->OnAnchor(mark, name);
  }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    // yaml-cpp reads a ',' outside a flow collection as an empty document and stays there.
    if (open_.empty() && mark.pos >= 0 && static_cast<size_t>(mark.pos) < text_.size() &&
        text_[static_cast<size_t>(mark.pos)] == ',')
      fail(mark,
           "syntax error: ',' outside a list or map in brackets (a ',' separates the items "
           "of [a, b] or {a: 1, b: 2})");
    leaf(mark, anchor);
    if (forward_) forward_->OnNull(mark, anchor);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    leaf(mark, anchor);
    if (forward_) forward_->OnScalar(mark, tag, anchor, value);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (++aliases_ > limits_.max_aliases)
      fail(mark, "more than " + std::to_string(limits_.max_aliases) + " aliases");
    if (anchor == 0 || anchor > anchors_.size())
      fail(mark, "an alias to an anchor that is not defined");  // yaml-cpp throws first
    const Anchor& a = anchors_[anchor - 1];
    if (a.open)
      fail(mark, "alias '*" + name(anchor) +
                     "' is inside the node its anchor is on: a node cannot contain itself");
    if (open_.size() + a.height > limits_.max_depth)
      fail(mark, "alias '*" + name(anchor) + "' nests the document deeper than " +
                     std::to_string(limits_.max_depth) + " levels once expanded");
    add_nodes(mark, a.size, anchor);
    child_height(a.height);
    if (forward_) forward_->OnAlias(mark, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value style) override {
    open(mark, anchor);
    if (forward_) forward_->OnSequenceStart(mark, tag, anchor, style);
  }
  void OnSequenceEnd() override {
    close();
    if (forward_) forward_->OnSequenceEnd();
  }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value style) override {
    open(mark, anchor);
    if (forward_) forward_->OnMapStart(mark, tag, anchor, style);
  }
  void OnMapEnd() override {
    close();
    if (forward_) forward_->OnMapEnd();
  }

 private:
  struct Anchor {
    size_t size = 1;    // nodes, aliases expanded
    size_t height = 0;  // levels of lists and maps
    bool open = false;
  };
  struct Open {
    YAML::anchor_t anchor;
    size_t nodes_before;
    size_t height;  // of its tallest child
  };

  std::string name(YAML::anchor_t anchor) const {
    return anchor <= names_.size() ? names_[anchor - 1] : std::to_string(anchor);
  }

  void define(YAML::anchor_t anchor, Anchor a) {
    if (anchor == 0) return;
    if (anchors_.size() < anchor) anchors_.resize(anchor);
    anchors_[anchor - 1] = a;
  }

  void add_nodes(const YAML::Mark& mark, size_t n, YAML::anchor_t alias) {
    nodes_ += n;
    size_t limit = limits_.max_expanded_nodes + text_.size();
    if (nodes_ > limit)
      fail(mark, (alias ? "alias '*" + name(alias) + "' takes the file past "
                        : std::string("the file has more than ")) +
                     std::to_string(limit) + " nodes with its aliases expanded (the limit is " +
                     std::to_string(limits_.max_expanded_nodes) + " more than its size in bytes)");
  }

  void child_height(size_t h) {
    if (!open_.empty()) open_.back().height = std::max(open_.back().height, h);
  }

  void leaf(const YAML::Mark& mark, YAML::anchor_t anchor) {
    add_nodes(mark, 1, 0);
    define(anchor, {1, 0, false});
  }

  void open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (open_.size() + 1 > limits_.max_depth)
      fail(mark,
           "lists and maps nested deeper than " + std::to_string(limits_.max_depth) + " levels");
    add_nodes(mark, 1, 0);
    define(anchor, {1, 0, true});
    open_.push_back({anchor, nodes_ - 1, 0});
  }

  void close() {
    Open o = open_.back();
    open_.pop_back();
    size_t height = o.height + 1;
    define(o.anchor, {nodes_ - o.nodes_before, height, false});
    child_height(height);
  }

  std::string_view text_;
  const std::string& file_;
  const YamlLimits& limits_;
  std::vector<Diagnostic>& diagnostics_;
  YAML::EventHandler* forward_ = nullptr;
  YAML::Mark document_start_ = YAML::Mark::null_mark();
  std::vector<Anchor> anchors_;  // by yaml-cpp's anchor id - 1, in the current document
  std::vector<std::string> names_;
  std::vector<Open> open_;
  size_t nodes_ = 0;  // in the whole file
  size_t aliases_ = 0;
};

}  // namespace

bool check_yaml(std::string_view text, const std::string& file, YamlDocuments documents,
                std::vector<Diagnostic>& diagnostics, YAML::EventHandler* forward,
                const YamlLimits& limits) {
  if (size_t bad = invalid_utf8_at(text); bad != std::string_view::npos) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[bad]));
    const std::string_view before = text.substr(0, bad);
    const size_t line_start = before.rfind('\n') + 1;  // 0 when there is no newline
    const SourcePos pos{static_cast<uint32_t>(std::count(before.begin(), before.end(), '\n') + 1),
                        static_cast<uint32_t>(bad - line_start + 1)};
    diagnostics.push_back(
        {file, pos, {}, std::string("the file is not valid UTF-8 (byte ") + hex + ")"});
    return false;
  }
  std::istringstream in{std::string(text)};
  Guard guard(text, file, limits, diagnostics);
  try {
    YAML::Parser parser(in);
    guard.forward_to(forward);
    if (!parser.HandleNextDocument(guard)) {
      // No document at all: an empty file; hand the forward an empty one.
      return true;
    }
    guard.forward_to(nullptr);
    YAML::Mark previous = guard.document_start();
    while (parser.HandleNextDocument(guard)) {
      if (documents == YamlDocuments::kOne)
        guard.fail(guard.document_start(),
                   "a second YAML document: this file holds one (remove the '---' and what "
                   "follows, or the second document)");
      // yaml-cpp makes no progress only on input the Null check above already refuses; this
      // stops any other such input from looping forever.
      if (guard.document_start().pos == previous.pos)
        guard.fail(guard.document_start(), "syntax error: the YAML reader cannot read on here");
      previous = guard.document_start();
    }
  } catch (const Stop&) {
    return false;
  } catch (const YAML::Exception& e) {
    diagnostics.push_back({file, position(e.mark), {}, "syntax error: " + e.msg});
    return false;
  }
  return true;
}

}  // namespace achilles::common
