// JSON into a Document, in two ways:
//
// - A strict reader of its own for the common case, a valid file. It knows every token's
//   offset as it reads it, and it reads a string without copying it unless it has escapes;
//   at 10^6 components (185 MB) it takes a third of the time nlohmann's lexer takes fed one
//   character at a time. It accepts nothing that nlohmann rejects (RFC 8259, UTF-8 checked,
//   numbers that overflow a double refused), and at the first thing it does not accept it
//   gives up without a word.
// - nlohmann's SAX parser, which reads the file again when the strict reader gave up, so that
//   an invalid file gets nlohmann's message at the right place. Its callbacks carry no
//   positions, so it reads through an iterator that remembers the last character it handed
//   out: when a callback runs, that is where the token ended, and its start is found by
//   scanning back (to the opening quote of a string, over the digits of a number).
//
// One file past 500 lines: the strict reader and the fallback through nlohmann build the same
// Document and must accept exactly the same files; one file keeps them side by side.
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>

#include "achilles/analyzer/json_input.h"
#include "document.h"

namespace achilles::analyzer {
namespace doc {

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
    if (e.id == 406 && at < text_.size()) {
      // out_of_range.406: a number beyond the range of a double; the lexer has read one
      // character past it.
      size_t p = at;
      if (!is_number_char(text_[p]) && p > 0) --p;
      size_t end = p + 1;
      while (p > 0 && is_number_char(text_[p - 1]))
        --p;
      diagnostics_.push_back({file_,
                              lines_.at(p),
                              {},
                              "the number " + std::string(text_.substr(p, end - p)) +
                                  " is too large (beyond the range of a double)"});
      failed_ = true;
      return false;
    }
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

/// The strict reader (see the top of the file). Recursive, so it leaves documents nested
/// deeper than kMaxDepth to nlohmann, which keeps its own stack.
class StrictReader {
 public:
  StrictReader(std::string_view text, const std::string& file, std::vector<Diagnostic>& diagnostics)
      : text_(text), lines_(text), builder_(file, diagnostics) {
    builder_.reserve(text.size());
  }

  /// The document, or nullopt when the text is not one this reader accepts.
  std::optional<Document> read() {
    p_ = text_.data();
    end_ = p_ + text_.size();
    // A UTF-8 byte order mark, which nlohmann skips too.
    if (text_.size() >= 3 && text_.substr(0, 3) == "\xEF\xBB\xBF") p_ += 3;
    if (!value(0)) return std::nullopt;
    skip_space();
    if (p_ != end_) return std::nullopt;
    return builder_.finish();
  }

 private:
  static constexpr int kMaxDepth = 256;

  SourcePos pos(const char* at) { return lines_.at(static_cast<size_t>(at - text_.data())); }

  void skip_space() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t'))
      ++p_;
  }

  bool value(int depth) {
    skip_space();
    if (p_ == end_) return false;
    const char* start = p_;
    switch (*p_) {
      case '{':
        return depth < kMaxDepth && container(depth, true);
      case '[':
        return depth < kMaxDepth && container(depth, false);
      case '"': {
        std::string_view s;
        if (!string(s)) return false;
        builder_.scalar(Type::kString, pos(start), s);
        return true;
      }
      case 't':
        return literal("true", Type::kBool, true);
      case 'f':
        return literal("false", Type::kBool, false);
      case 'n':
        return literal("null", Type::kNull, false);
      default:
        return number();
    }
  }

  // A map or a sequence at p_ (its opening bracket), with what it holds.
  bool container(int depth, bool is_map) {
    const char close = is_map ? '}' : ']';
    builder_.begin(is_map ? Type::kMap : Type::kSequence, pos(p_));
    ++p_;
    skip_space();
    if (p_ == end_ || *p_ != close) {
      for (;;) {
        if (is_map && !key()) return false;
        if (!value(depth + 1)) return false;
        skip_space();
        if (p_ == end_) return false;
        if (*p_ == close) break;
        if (*p_ != ',') return false;
        ++p_;
      }
    }
    ++p_;
    builder_.end();
    return true;
  }

  // A map's key and its colon.
  bool key() {
    skip_space();
    if (p_ == end_ || *p_ != '"') return false;
    const char* start = p_;
    std::string_view key;
    if (!string(key)) return false;
    builder_.key(key, pos(start));
    skip_space();
    if (p_ == end_ || *p_ != ':') return false;
    ++p_;
    return true;
  }

  bool literal(std::string_view word, Type type, bool boolean) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word)
      return false;
    builder_.scalar(type, pos(p_), word, boolean);
    p_ += word.size();
    return true;
  }

  static bool digit(char c) { return c >= '0' && c <= '9'; }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, and finite as a double: nlohmann refuses
  // a number that overflows (an integer too large for 64 bits is read as a double).
  bool number() {
    const char* start = p_;
    if (p_ != end_ && *p_ == '-') ++p_;
    if (p_ == end_ || !digit(*p_)) return false;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ != end_ && digit(*p_))
        ++p_;
    }
    bool simple = true;
    if (p_ != end_ && *p_ == '.') {
      simple = false;
      ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ != end_ && digit(*p_))
        ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      simple = false;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ != end_ && digit(*p_))
        ++p_;
    }
    std::string_view text(start, static_cast<size_t>(p_ - start));
    if (!simple || text.size() > 18) {
      std::string copy(text);  // strtod needs the end marked
      if (!std::isfinite(std::strtod(copy.c_str(), nullptr))) return false;
    }
    builder_.scalar(Type::kNumber, pos(start), text);
    return true;
  }

  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool code_unit(uint32_t& u) {
    if (end_ - p_ < 4) return false;
    u = 0;
    for (int i = 0; i < 4; ++i) {
      int h = hex(*p_++);
      if (h < 0) return false;
      u = u << 4 | static_cast<uint32_t>(h);
    }
    return true;
  }

  // One UTF-8 sequence at p_ whose first byte is not ASCII, as RFC 3629 allows it.
  bool utf8() {
    const auto* u = reinterpret_cast<const unsigned char*>(p_);
    const auto left = end_ - p_;
    auto tail = [&](int i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
      return left > i && u[i] >= lo && u[i] <= hi;
    };
    int n;
    if (u[0] >= 0xC2 && u[0] <= 0xDF)
      n = tail(1) ? 2 : 0;
    else if (u[0] == 0xE0)
      n = tail(1, 0xA0) && tail(2) ? 3 : 0;
    else if ((u[0] >= 0xE1 && u[0] <= 0xEC) || u[0] == 0xEE || u[0] == 0xEF)
      n = tail(1) && tail(2) ? 3 : 0;
    else if (u[0] == 0xED)
      n = tail(1, 0x80, 0x9F) && tail(2) ? 3 : 0;
    else if (u[0] == 0xF0)
      n = tail(1, 0x90) && tail(2) && tail(3) ? 4 : 0;
    else if (u[0] >= 0xF1 && u[0] <= 0xF3)
      n = tail(1) && tail(2) && tail(3) ? 4 : 0;
    else if (u[0] == 0xF4)
      n = tail(1, 0x80, 0x8F) && tail(2) && tail(3) ? 4 : 0;
    else
      n = 0;
    p_ += n;
    return n > 0;
  }

  // A string at p_ (its opening quote): `out` views the text when it has no escapes, else
  // the decoded copy in scratch_.
  bool string(std::string_view& out) {
    const char* start = ++p_;
    // The common case: plain ASCII up to the closing quote.
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
      ++p_;
    }
    if (p_ != end_ && *p_ == '"') {
      out = std::string_view(start, static_cast<size_t>(p_ - start));
      ++p_;
      return true;
    }
    scratch_.assign(start, p_);
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        out = scratch_;
        return true;
      }
      if (c < 0x20) return false;
      if (c >= 0x80) {
        const char* from = p_;
        if (!utf8()) return false;
        scratch_.append(from, p_);
        continue;
      }
      if (c != '\\') {
        scratch_ += static_cast<char>(c);
        ++p_;
        continue;
      }
      if (++p_ == end_) return false;
      const char e = *p_++;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          scratch_ += e;
          break;
        case 'b':
          scratch_ += '\b';
          break;
        case 'f':
          scratch_ += '\f';
          break;
        case 'n':
          scratch_ += '\n';
          break;
        case 'r':
          scratch_ += '\r';
          break;
        case 't':
          scratch_ += '\t';
          break;
        case 'u': {
          uint32_t cp;
          if (!code_unit(cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // a low surrogate first
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low;
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
            p_ += 2;
            if (!code_unit(low) || low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(cp);
          break;
        }
        default:
          return false;
      }
    }
    return false;  // no closing quote
  }

  void append_utf8(uint32_t cp) {
    if (cp < 0x80) {
      scratch_ += static_cast<char>(cp);
    } else if (cp < 0x800) {
      scratch_ += static_cast<char>(0xC0 | cp >> 6);
      scratch_ += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      scratch_ += static_cast<char>(0xE0 | cp >> 12);
      scratch_ += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
      scratch_ += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      scratch_ += static_cast<char>(0xF0 | cp >> 18);
      scratch_ += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
      scratch_ += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
      scratch_ += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string_view text_;
  LineCounter lines_;
  Document::Builder builder_;
  const char* p_ = nullptr;
  const char* end_ = nullptr;
  std::string scratch_;
};

}  // namespace

Document read_json(std::string_view text, const std::string& file,
                   std::vector<Diagnostic>& diagnostics) {
  {
    // What the strict reader reports (duplicate keys) counts only if it read the whole text.
    std::vector<Diagnostic> found;
    if (auto document = StrictReader(text, file, found).read()) {
      for (Diagnostic& d : found)
        diagnostics.push_back(std::move(d));
      return std::move(*document);
    }
  }
  Handler handler(text, file, diagnostics);
  const char* begin = text.data();
  TrackingIterator first(begin, handler.last()), last(begin + text.size(), handler.last());
  nlohmann::json::sax_parse(first, last, &handler);
  return handler.finish();
}

std::optional<nlohmann::json> read_json_value(std::string_view text, const std::string& file,
                                              std::vector<Diagnostic>& diagnostics,
                                              Document* document) {
  size_t before = diagnostics.size();
  Document checked = read_json(text, file, diagnostics);
  if (diagnostics.size() != before || !checked.root()) return std::nullopt;
  try {
    auto value = nlohmann::json::parse(text);
    if (document) *document = std::move(checked);
    return value;
  } catch (const nlohmann::json::exception& e) {
    // Not expected: read_json accepts nothing that nlohmann refuses.
    diagnostics.push_back({file, {}, {}, "cannot be read as JSON (" + std::string(e.what()) + ")"});
    return std::nullopt;
  }
}

}  // namespace doc

nlohmann::json parse_json_input(std::string_view text, const std::string& file) {
  std::vector<Diagnostic> diagnostics;
  auto value = doc::read_json_value(text, file, diagnostics, nullptr);
  if (!value) throw InputError(std::move(diagnostics));
  return std::move(*value);
}

}  // namespace achilles::analyzer
