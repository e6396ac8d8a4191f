#include "document.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace achilles::analyzer::doc {

std::string_view describe(Type type) {
  switch (type) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "a boolean";
    case Type::kNumber:
      return "a number";
    case Type::kString:
      return "a string";
    case Type::kSequence:
      return "a list";
    case Type::kMap:
      return "a map";
  }
  return "a value";
}

namespace {

// Parses the number forms of JSON and of the YAML 1.2 core schema; NaN if it is none.
double parse_number(std::string_view s) {
  double sign = 1;
  std::string_view body = s;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    if (body[0] == '-') sign = -1;
    body.remove_prefix(1);
  }
  if (body == ".inf" || body == ".Inf" || body == ".INF")
    return sign * std::numeric_limits<double>::infinity();
  if (body == ".nan" || body == ".NaN" || body == ".NAN")
    return std::numeric_limits<double>::quiet_NaN();
  if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'o')) {
    uint64_t v = 0;
    int base = body[1] == 'x' ? 16 : 8;
    auto [p, ec] = std::from_chars(body.data() + 2, body.data() + body.size(), v, base);
    if (ec != std::errc() || p != body.data() + body.size())
      return std::numeric_limits<double>::quiet_NaN();
    return sign * static_cast<double>(v);
  }
  double v = 0;
  auto [p, ec] = std::from_chars(body.data(), body.data() + body.size(), v);
  if (ec == std::errc::result_out_of_range) return sign * std::numeric_limits<double>::infinity();
  if (ec != std::errc() || p != body.data() + body.size())
    return std::numeric_limits<double>::quiet_NaN();
  return sign * v;
}

}  // namespace

// --- Value -------------------------------------------------------------------------------

Type Value::type() const {
  return doc_->nodes_[index_].type;
}

SourcePos Value::pos() const {
  const auto& n = doc_->nodes_[index_];
  return {n.line, n.column};
}

std::string_view Value::text() const {
  const auto& n = doc_->nodes_[index_];
  if (n.type == Type::kSequence || n.type == Type::kMap) return {};
  return doc_->string_at(n.begin, n.size);
}

bool Value::boolean() const {
  return doc_->nodes_[index_].boolean;
}

double Value::number() const {
  return parse_number(text());
}

size_t Value::size() const {
  const auto& n = doc_->nodes_[index_];
  return n.type == Type::kSequence || n.type == Type::kMap ? n.size : 0;
}

Value Value::item(size_t i) const {
  const auto& n = doc_->nodes_[index_];
  assert(n.type == Type::kSequence && i < n.size);
  return Value(doc_, doc_->items_[n.begin + i]);
}

Entry Value::entry(size_t i) const {
  const auto& n = doc_->nodes_[index_];
  assert(n.type == Type::kMap && i < n.size);
  const auto& e = doc_->entries_[n.begin + i];
  return {doc_->string_at(e.key_begin, e.key_size), {e.line, e.column}, Value(doc_, e.value)};
}

Value Value::find(std::string_view key) const {
  const auto& n = doc_->nodes_[index_];
  if (n.type != Type::kMap) return {};
  for (uint32_t i = 0; i < n.size; ++i) {
    const auto& e = doc_->entries_[n.begin + i];
    if (doc_->string_at(e.key_begin, e.key_size) == key) return Value(doc_, e.value);
  }
  return {};
}

Value Document::root() const {
  return root_ == kNone ? Value() : Value(this, root_);
}

// --- Builder -----------------------------------------------------------------------------

void Document::Builder::reserve(size_t input_bytes) {
  // Measured on generated topologies: about one node per 18 bytes of JSON.
  doc_.nodes_.reserve(input_bytes / 18);
  doc_.entries_.reserve(input_bytes / 22);
  doc_.strings_.reserve(input_bytes / 4);
}

uint32_t Document::Builder::add_node(Type type, SourcePos pos, uint32_t begin, uint32_t size,
                                     bool boolean) {
  auto index = static_cast<uint32_t>(doc_.nodes_.size());
  doc_.nodes_.push_back({pos.line, pos.column, begin, size, type, boolean});
  return index;
}

void Document::Builder::attach(uint32_t node) {
  if (stack_.empty()) {
    doc_.root_ = node;
    return;
  }
  if (doc_.nodes_[stack_.back().node].type == Type::kSequence) {
    pending_items_.push_back(node);
  } else {
    next_key_.value = node;
    pending_entries_.push_back(next_key_);
  }
}

uint32_t Document::Builder::scalar(Type type, SourcePos pos, std::string_view text, bool boolean) {
  auto begin = static_cast<uint32_t>(doc_.strings_.size());
  doc_.strings_.append(text);
  uint32_t node = add_node(type, pos, begin, static_cast<uint32_t>(text.size()), boolean);
  attach(node);
  return node;
}

uint32_t Document::Builder::begin(Type type, SourcePos pos) {
  uint32_t node = add_node(type, pos, 0, 0, false);
  attach(node);
  stack_.push_back(
      {node, type == Type::kSequence ? pending_items_.size() : pending_entries_.size()});
  return node;
}

uint32_t Document::Builder::intern_key(std::string_view key) {
  constexpr size_t kMaxCached = 4096;
  if (key.size() <= 32) {
    auto it = key_cache_.find(key);
    if (it != key_cache_.end()) return it->second;
  }
  auto begin = static_cast<uint32_t>(doc_.strings_.size());
  doc_.strings_.append(key);
  // `key` may point into strings_ itself (an alias used as a key is the text of its anchor's
  // node): after the append it may dangle, so the cache takes the copy just made.
  const std::string_view stored(doc_.strings_.data() + begin, key.size());
  if (stored.size() <= 32 && key_cache_.size() < kMaxCached) key_cache_.emplace(stored, begin);
  return begin;
}

void Document::Builder::key(std::string_view key, SourcePos pos) {
  next_key_ = {intern_key(key), static_cast<uint32_t>(key.size()), pos.line, pos.column, 0};
}

void Document::Builder::end() {
  assert(!stack_.empty());
  Frame frame = stack_.back();
  stack_.pop_back();
  Node& node = doc_.nodes_[frame.node];
  if (node.type == Type::kSequence) {
    node.begin = static_cast<uint32_t>(doc_.items_.size());
    node.size = static_cast<uint32_t>(pending_items_.size() - frame.first);
    doc_.items_.insert(doc_.items_.end(), pending_items_.begin() + frame.first,
                       pending_items_.end());
    pending_items_.resize(frame.first);
    return;
  }
  // A map: a later duplicate of a key is reported and dropped, so that the checks that
  // follow see each key once.
  auto first = pending_entries_.begin() + static_cast<std::ptrdiff_t>(frame.first);
  auto key_of = [&](const MapEntry& e) { return doc_.string_at(e.key_begin, e.key_size); };
  size_t n = pending_entries_.size() - frame.first;
  std::vector<bool> dropped;
  auto drop = [&](size_t i) {
    if (dropped.empty()) dropped.resize(n);
    dropped[i] = true;
    const auto& e = first[static_cast<std::ptrdiff_t>(i)];
    diagnostics_.push_back(
        {file_, {e.line, e.column}, {}, "duplicate key '" + std::string(key_of(e)) + "'"});
  };
  if (n <= 16) {
    for (size_t i = 1; i < n; ++i)
      for (size_t j = 0; j < i; ++j)
        if (key_of(first[static_cast<std::ptrdiff_t>(i)]) ==
            key_of(first[static_cast<std::ptrdiff_t>(j)])) {
          drop(i);
          break;
        }
  } else {
    std::vector<uint32_t> order(n);
    for (uint32_t i = 0; i < n; ++i)
      order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return key_of(first[a]) < key_of(first[b]); });
    for (size_t i = 1; i < n; ++i)
      if (key_of(first[order[i]]) == key_of(first[order[i - 1]])) drop(order[i]);
  }
  node.begin = static_cast<uint32_t>(doc_.entries_.size());
  for (size_t i = 0; i < n; ++i)
    if (dropped.empty() || !dropped[i])
      doc_.entries_.push_back(first[static_cast<std::ptrdiff_t>(i)]);
  node.size = static_cast<uint32_t>(doc_.entries_.size() - node.begin);
  pending_entries_.resize(frame.first);
}

// --- LineCounter -------------------------------------------------------------------------

SourcePos LineCounter::at(size_t offset) {
  offset = std::min(offset, text_.size());
  if (offset < offset_) {  // rare: start over
    offset_ = 0;
    line_start_ = 0;
    line_ = 1;
  }
  const char* base = text_.data();
  while (offset_ < offset) {
    const void* nl = std::memchr(base + offset_, '\n', offset - offset_);
    if (!nl) {
      offset_ = offset;
      break;
    }
    offset_ = static_cast<size_t>(static_cast<const char*>(nl) - base) + 1;
    line_start_ = offset_;
    ++line_;
  }
  return {line_, static_cast<uint32_t>(offset - line_start_ + 1)};
}

}  // namespace achilles::analyzer::doc
