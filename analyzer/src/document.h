// A small document tree that keeps the position of every node and map key, read from
// JSON (nlohmann's SAX interface) or YAML (yaml-cpp). The loaders validate a topology
// against it, so every problem can be reported at its line and column.
//
// Why not nlohmann::json or YAML::Node: neither keeps positions for everything (nlohmann
// keeps none), and a DOM of 10^6 components in nlohmann costs about 1 GiB. Here nodes live
// in one arena with child ranges and every string in one string arena: about 20 bytes per
// node and 20 per map entry. A YAML alias shares its anchor's node, so a Document is a tree
// of nodes that may appear in several places (never inside themselves: yaml_guard refuses
// that), and its size is that of the text, not of the aliases expanded.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "achilles/analyzer/model.h"
#include "achilles/common/diagnostic.h"

namespace achilles::analyzer::doc {

enum class Type : uint8_t { kNull, kBool, kNumber, kString, kSequence, kMap };

/// "null", "a boolean", "a number", "a string", "a list" or "a map": for messages.
std::string_view describe(Type type);

class Document;
class Value;

/// One key of a map with its value.
struct Entry;

/// A node of a Document; a default-constructed Value is "absent" (a key not found).
class Value {
 public:
  Value() = default;
  /// False for an absent value.
  explicit operator bool() const { return doc_ != nullptr; }

  Type type() const;
  SourcePos pos() const;
  bool is_scalar() const { return type() != Type::kSequence && type() != Type::kMap; }
  /// A string's value; for other scalars the text as written (`1.50`, `True`, `~`).
  std::string_view text() const;
  bool boolean() const;
  /// A number's value (JSON numbers, YAML 1.2 core ints and floats: 0x1f, 0o17, .inf).
  double number() const;
  /// Elements of a sequence or entries of a map; 0 for scalars.
  size_t size() const;
  /// The i-th element of a sequence.
  Value item(size_t i) const;
  /// The i-th entry of a map, in file order.
  Entry entry(size_t i) const;
  /// The value of `key` in a map, or an absent Value.
  Value find(std::string_view key) const;

 private:
  friend class Document;
  Value(const Document* doc, uint32_t index) : doc_(doc), index_(index) {}
  const Document* doc_ = nullptr;
  uint32_t index_ = 0;
};

struct Entry {
  std::string_view key;
  SourcePos key_pos;
  Value value;
};

/// A whole document. Built by read_json / read_yaml through Document::Builder.
class Document {
 public:
  /// The top-level value, absent when the document has none (a syntax error).
  Value root() const;

  /// Appends nodes in document order; checks duplicate keys as each map closes.
  class Builder;

 private:
  friend class Value;
  struct Node {
    uint32_t line;
    uint32_t column;
    /// Scalars: offset and size of the text in strings_. Containers: first child in
    /// items_ (sequences) or entries_ (maps), and the count.
    uint32_t begin;
    uint32_t size;
    Type type;
    bool boolean;
  };
  struct MapEntry {
    uint32_t key_begin;
    uint32_t key_size;
    uint32_t line;
    uint32_t column;
    uint32_t value;
  };
  static constexpr uint32_t kNone = UINT32_MAX;

  std::string_view string_at(uint32_t begin, uint32_t size) const {
    return std::string_view(strings_).substr(begin, size);
  }

  std::vector<Node> nodes_;
  std::vector<uint32_t> items_;
  std::vector<MapEntry> entries_;
  std::string strings_;
  uint32_t root_ = kNone;
};

class Document::Builder {
 public:
  /// Duplicate keys are reported into `diagnostics`, naming `file`.
  Builder(const std::string& file, std::vector<Diagnostic>& diagnostics)
      : file_(file), diagnostics_(diagnostics) {}

  /// A scalar; `text` is its string value or, for other types, its source text. Returns
  /// its node, for alias().
  uint32_t scalar(Type type, SourcePos pos, std::string_view text, bool boolean = false);
  /// Opens a sequence or map; its children follow, then end(). Returns its node.
  uint32_t begin(Type type, SourcePos pos);
  /// A YAML alias: `node`, a complete node added before, is also the next value. The
  /// document then shares it, so an alias costs nothing however large its node.
  void alias(uint32_t node) { attach(node); }
  /// The type and (for a scalar) text of a node added before.
  Type type_of(uint32_t node) const { return doc_.nodes_[node].type; }
  std::string_view text_of(uint32_t node) const {
    const auto& n = doc_.nodes_[node];
    return doc_.string_at(n.begin, n.size);
  }
  void end();
  /// Inside a map: the key of the value that comes next.
  void key(std::string_view key, SourcePos pos);
  /// A hint of the input size, to reserve the arenas.
  void reserve(size_t input_bytes);

  Document finish() { return std::move(doc_); }

 private:
  struct Frame {
    uint32_t node;
    size_t first;  // into pending_items_ or pending_entries_
  };
  uint32_t add_node(Type type, SourcePos pos, uint32_t begin, uint32_t size, bool boolean);
  void attach(uint32_t node);
  uint32_t intern_key(std::string_view key);

  const std::string& file_;
  std::vector<Diagnostic>& diagnostics_;
  Document doc_;
  std::vector<Frame> stack_;
  std::vector<uint32_t> pending_items_;
  std::vector<MapEntry> pending_entries_;
  MapEntry next_key_{};
  // Keys repeat (id, kind, ...): store each short key text once.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> key_cache_;
};

/// Parses JSON. A syntax error is added to `diagnostics` (and parsing stops there), as is
/// every duplicate key; returns what was read.
Document read_json(std::string_view text, const std::string& file,
                   std::vector<Diagnostic>& diagnostics);

/// Parses JSON into nlohmann's tree, after read_json has checked it (so that every problem is
/// located and in Achilles' words: a syntax error, a number beyond a double, invalid UTF-8,
/// a duplicate key); nullopt when it found any. `document`, if given, receives read_json's
/// Document, for the positions of the values.
std::optional<nlohmann::json> read_json_value(std::string_view text, const std::string& file,
                                              std::vector<Diagnostic>& diagnostics,
                                              Document* document = nullptr);

/// Parses YAML with the same contract. Plain scalars are typed by the YAML 1.2 core schema,
/// quoted ones are strings.
Document read_yaml(std::string_view text, const std::string& file,
                   std::vector<Diagnostic>& diagnostics);

/// The 1-based line and column of a byte offset; counts from a cursor so that a sequence
/// of increasing offsets costs one pass over the text.
class LineCounter {
 public:
  explicit LineCounter(std::string_view text) : text_(text) {}
  SourcePos at(size_t offset);

 private:
  std::string_view text_;
  size_t offset_ = 0;
  size_t line_start_ = 0;
  uint32_t line_ = 1;
};

}  // namespace achilles::analyzer::doc
