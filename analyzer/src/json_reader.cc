// JSON into a Document through nlohmann's SAX interface. The SAX callbacks carry no
// positions, so the parser reads through an iterator that remembers the last character it
// handed out: when a callback runs, that is where the token ended, and its start is found by
// scanning back (to the opening quote of a string, over the digits of a number).
#include <iterator>
#include <nlohmann/json.hpp>

#include "document.h"

namespace achilles::analyzer::doc {

namespace {

/// Hands the parser one character at a time and records the address of the last one read.
class TrackingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackingIterator(const char* p, const char** last) : p_(p), last_(last) {}
  char operator*() const {
    *last_ = p_;
    return *p_;
  }
  TrackingIterator& operator++() {
    ++p_;
    return *this;
  }
  TrackingIterator operator++(int) {
    auto old = *this;
    ++p_;
    return old;
  }
  bool operator==(const TrackingIterator& other) const { return p_ == other.p_; }
  bool operator!=(const TrackingIterator& other) const { return p_ != other.p_; }

 private:
  const char* p_;
  const char** last_;
};

bool is_number_char(char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

class Handler {
 public:
  Handler(std::string_view text, const std::string& file, std::vector<Diagnostic>& diagnostics)
      : text_(text),
        lines_(text),
        file_(file),
        diagnostics_(diagnostics),
        builder_(file, diagnostics) {
    builder_.reserve(text.size());
  }

  const char** last() { return &last_; }
  /// What was read, or an empty document after a syntax error.
  Document finish() { return failed_ ? Document() : builder_.finish(); }

  // nlohmann's SAX interface.
  bool null() { return literal(Type::kNull, "null", false); }
  bool boolean(bool value) { return literal(Type::kBool, value ? "true" : "false", value); }
  bool number_integer(nlohmann::json::number_integer_t) { return number(); }
  bool number_unsigned(nlohmann::json::number_unsigned_t) { return number(); }
  bool number_float(nlohmann::json::number_float_t, const std::string&) { return number(); }
  bool string(std::string& value) {
    builder_.scalar(Type::kString, string_start(), value);
    return true;
  }
  bool binary(nlohmann::json::binary_t&) { return true; }  // never produced by JSON text
  bool start_object(std::size_t) {
    builder_.begin(Type::kMap, lines_.at(offset()));
    return true;
  }
  bool key(std::string& value) {
    builder_.key(value, string_start());
    return true;
  }
  bool end_object() {
    builder_.end();
    return true;
  }
  bool start_array(std::size_t) {
    builder_.begin(Type::kSequence, lines_.at(offset()));
    return true;
  }
  bool end_array() {
    builder_.end();
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    // position counts the characters read, the offending one included.
    size_t at = position > 0 ? position - 1 : 0;
    if (at >= text_.size() && !text_.empty() && text_.back() == '\n') at = text_.size() - 1;
    diagnostics_.push_back({file_, lines_.at(at), {}, syntax_message(e.what())});
    failed_ = true;
    return false;
  }

 private:
  size_t offset() const { return last_ ? static_cast<size_t>(last_ - text_.data()) : 0; }

  bool literal(Type type, std::string_view word, bool value) {
    size_t end = offset() + 1;
    builder_.scalar(type, lines_.at(end - word.size()), word, value);
    return true;
  }

  bool number() {
    // The lexer has read one character past the number (unless the input ended there).
    size_t p = offset();
    if (!is_number_char(text_[p])) --p;
    size_t end = p + 1;
    while (p > 0 && is_number_char(text_[p - 1]))
      --p;
    builder_.scalar(Type::kNumber, lines_.at(p), text_.substr(p, end - p));
    return true;
  }

  // The last character read is the closing quote; the opening one is the nearest quote
  // before it that is not escaped (preceded by an even number of backslashes).
  SourcePos string_start() {
    size_t q = offset();
    while (q > 0) {
      --q;
      if (text_[q] != '"') continue;
      size_t backslashes = 0;
      while (q > backslashes && text_[q - 1 - backslashes] == '\\')
        ++backslashes;
      if (backslashes % 2 == 0) break;
    }
    return lines_.at(q);
  }

  // "[json.exception.parse_error.101] parse error at line 7, column 3: syntax error while
  // parsing object key - unexpected '}'; expected string literal" becomes
  // "syntax error: unexpected '}'; expected string literal".
  static std::string syntax_message(std::string_view what) {
    auto start = what.find("syntax error");
    if (start == std::string_view::npos) {
      auto colon = what.find(": ");
      return "syntax error: " +
             std::string(colon == std::string_view::npos ? what : what.substr(colon + 2));
    }
    std::string_view rest = what.substr(start + 12);
    if (auto dash = rest.find(" - "); dash != std::string_view::npos) rest = rest.substr(dash + 3);
    // "; last read: '...'" repeats the input, newlines as <U+000A>; the position says it.
    if (auto last = rest.find("; last read:"); last != std::string_view::npos) {
      auto expected = rest.find("; expected", last);
      std::string out = "syntax error: " + std::string(rest.substr(0, last));
      if (expected != std::string_view::npos) out += rest.substr(expected);
      return out;
    }
    return "syntax error: " + std::string(rest);
  }

  std::string_view text_;
  LineCounter lines_;
  const std::string& file_;
  std::vector<Diagnostic>& diagnostics_;
  Document::Builder builder_;
  const char* last_ = nullptr;
  bool failed_ = false;
};

}  // namespace

Document read_json(std::string_view text, const std::string& file,
                   std::vector<Diagnostic>& diagnostics) {
  Handler handler(text, file, diagnostics);
  const char* begin = text.data();
  TrackingIterator first(begin, handler.last()), last(begin + text.size(), handler.last());
  nlohmann::json::sax_parse(first, last, &handler);
  return handler.finish();
}

}  // namespace achilles::analyzer::doc
