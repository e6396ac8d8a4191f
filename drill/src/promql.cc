// The load-time check of a prometheus probe's query (see promql.h): a small tokenizer and a
// recursive descent over the outermost expression. It does not validate PromQL (Prometheus
// does, and its error becomes a failed sample); it only proves, where it can, that the query
// returns at most one series, and refuses what it cannot prove.
#include "promql.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <utility>
#include <vector>

namespace achilles::drill {

namespace {

struct Token {
  enum Kind { kIdent, kNumber, kString, kPunct, kEnd } kind = kEnd;
  std::string text;
};

/// A query that the check cannot read: not (what it takes for) PromQL.
struct Unreadable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

bool ident_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool ident_char(char c) {
  return ident_start(c) || std::isdigit(static_cast<unsigned char>(c));
}

std::vector<Token> tokenize(const std::string& q) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < q.size()) {
    const char c = q[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '#') {  // a comment, to the end of the line
      while (i < q.size() && q[i] != '\n')
        ++i;
    } else if (ident_start(c)) {
      std::size_t j = i;
      while (j < q.size() && ident_char(q[j]))
        ++j;
      out.push_back({Token::kIdent, q.substr(i, j - i)});
      i = j;
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '.' && i + 1 < q.size() &&
                std::isdigit(static_cast<unsigned char>(q[i + 1])))) {
      // Numbers (1, 1.5e3, 0x1f) and, inside brackets, durations (5m, 1h30m): digits, letters
      // and dots; what they are does not matter to the check.
      const bool hex = c == '0' && i + 1 < q.size() && (q[i + 1] == 'x' || q[i + 1] == 'X');
      std::size_t j = i;
      while (j < q.size()) {
        const char d = q[j];
        const bool sign = (d == '+' || d == '-') && !hex && (q[j - 1] == 'e' || q[j - 1] == 'E');
        if (!std::isalnum(static_cast<unsigned char>(d)) && d != '.' && !sign) break;
        ++j;
      }
      out.push_back({Token::kNumber, q.substr(i, j - i)});
      i = j;
    } else if (c == '"' || c == '\'' || c == '`') {
      std::size_t j = i + 1;
      while (j < q.size() && q[j] != c) {
        if (q[j] == '\\' && c != '`') ++j;
        ++j;
      }
      if (j >= q.size()) throw Unreadable("a string that does not end");
      out.push_back({Token::kString, q.substr(i, j + 1 - i)});
      i = j + 1;
    } else {
      static const char* const kTwo[] = {"==", "!=", "<=", ">=", "=~", "!~"};
      const std::string two = q.substr(i, 2);
      if (std::find(std::begin(kTwo), std::end(kTwo), two) != std::end(kTwo)) {
        out.push_back({Token::kPunct, two});
        i += 2;
      } else if (std::string("(){}[],+-*/%^<>=@:!").find(c) != std::string::npos) {
        out.push_back({Token::kPunct, std::string(1, c)});
        ++i;
      } else {
        throw Unreadable(std::string("unexpected '") + c + "'");
      }
    }
  }
  out.push_back({Token::kEnd, ""});
  return out;
}

/// What an expression returns, as far as the check can tell.
struct Shape {
  /// At most one series (or a scalar), without labels.
  bool one = false;
  /// Why it may be more, for the message (when !one).
  std::string why;
  /// An aggregation `by (le)` (what histogram_quantile takes to return one series).
  bool by_le_only = false;
};

bool is_any(const std::string& s, std::initializer_list<const char*> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return s == n; });
}

bool is_aggregation(const std::string& s) {
  return is_any(s, {"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "quantile",
                    "topk", "bottomk", "count_values", "limitk", "limit_ratio"});
}

/// Aggregations that return one series when they do not group.
bool aggregates_to_one(const std::string& s) {
  return is_any(s, {"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "quantile"});
}

/// Functions that return one value whatever they are given.
bool always_one(const std::string& s) {
  return is_any(s, {"scalar", "vector", "time", "pi"});
}

/// Functions that map each series they are given to one series with the same labels.
bool maps_series(const std::string& s) {
  return is_any(s, {"abs",   "ceil", "floor", "round", "exp",       "ln",        "log2",
                    "log10", "sqrt", "sgn",   "clamp", "clamp_min", "clamp_max", "acos",
                    "acosh", "asin", "asinh", "atan",  "atanh",     "cos",       "cosh",
                    "sin",   "sinh", "tan",   "tanh",  "deg",       "rad",       "timestamp"});
}

bool is_binary_operator(const Token& t) {
  if (t.kind == Token::kPunct)
    return is_any(t.text, {"+", "-", "*", "/", "%", "^", "==", "!=", "<", ">", "<=", ">="});
  return t.kind == Token::kIdent && is_any(t.text, {"and", "or", "unless", "atan2"});
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  Shape whole() {
    Shape s = expr();
    if (peek().kind != Token::kEnd) throw Unreadable("unexpected '" + peek().text + "'");
    return s;
  }

 private:
  const Token& peek(std::size_t ahead = 0) const { return t_[std::min(i_ + ahead, t_.size() - 1)]; }
  Token take() {
    Token t = peek();
    if (i_ + 1 < t_.size()) ++i_;
    return t;
  }
  bool at(const char* punct) const { return peek().kind == Token::kPunct && peek().text == punct; }
  void expect(const char* punct) {
    if (!at(punct))
      throw Unreadable(
          std::string("expected '") + punct + "'" +
          (peek().kind == Token::kEnd ? " at the end" : ", got '" + peek().text + "'"));
    take();
  }
  /// Skips from an opening bracket to its match.
  void skip_group(const char* open, const char* close) {
    expect(open);
    int depth = 1;
    while (depth > 0) {
      if (peek().kind == Token::kEnd) throw Unreadable(std::string("a '") + open + "' not closed");
      if (at(open)) ++depth;
      if (at(close)) --depth;
      take();
    }
  }
  /// `(label, ...)`: the labels.
  std::vector<std::string> labels() {
    std::vector<std::string> out;
    expect("(");
    while (!at(")")) {
      if (peek().kind != Token::kIdent && peek().kind != Token::kString)
        throw Unreadable("expected a label name, got '" + peek().text + "'");
      out.push_back(take().text);
      if (!at(")")) expect(",");
    }
    take();
    return out;
  }

  /// The recursion is bounded: a plan is hostile input, and a query of a million '(' must be
  /// a problem, not a stack overflow.
  static constexpr int kMaxDepth = 256;

  Shape expr() {
    if (++depth_ > kMaxDepth) throw Unreadable("nested more than 256 deep");
    Shape s = unary();
    while (is_binary_operator(peek())) {
      take();
      if (peek().kind == Token::kIdent && peek().text == "bool") take();
      if (peek().kind == Token::kIdent && is_any(peek().text, {"on", "ignoring"})) {
        take();
        labels();
      }
      if (peek().kind == Token::kIdent && is_any(peek().text, {"group_left", "group_right"})) {
        take();
        if (at("(")) labels();
      }
      Shape r = unary();
      if (s.one && !r.one) s = r;
      s.by_le_only = false;
    }
    --depth_;
    return s;
  }

  Shape unary() {
    while (at("-") || at("+"))
      take();
    Shape s = primary();
    if (at("[")) {
      skip_group("[", "]");
      return {false, "a range or a subquery returns a matrix, not one value", false};
    }
    if ((peek().kind == Token::kIdent && peek().text == "offset") || at("@"))
      return {false, "'offset' and '@' apply to selectors, which return every series that match",
              false};
    return s;
  }

  Shape primary() {
    const Token t = peek();
    if (t.kind == Token::kNumber) {
      take();
      return {true, "", false};
    }
    if (t.kind == Token::kString) {
      take();
      return {false, "a string is not a value to judge", false};
    }
    if (at("(")) {
      take();
      Shape s = expr();
      expect(")");
      return s;
    }
    if (at("{")) {
      skip_group("{", "}");
      return {false, "a selector returns every series that matches it", false};
    }
    if (t.kind != Token::kIdent) throw Unreadable("unexpected '" + t.text + "'");
    std::string lower = t.text;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "inf" || lower == "nan") {
      take();
      return {true, "", false};
    }
    if (is_aggregation(t.text) &&
        (peek(1).text == "(" || peek(1).text == "by" || peek(1).text == "without"))
      return aggregation();
    if (peek(1).kind == Token::kPunct && peek(1).text == "(") return call();
    // A metric name, maybe with matchers.
    take();
    if (at("{")) skip_group("{", "}");
    return {false, "the selector '" + t.text + "' returns every series of the metric that matches",
            false};
  }

  Shape aggregation() {
    const std::string name = take().text;
    std::optional<std::pair<std::string, std::vector<std::string>>> grouping;
    if (peek().kind == Token::kIdent && is_any(peek().text, {"by", "without"})) {
      const std::string how = take().text;
      grouping = std::pair{how, labels()};
    }
    skip_group("(", ")");
    if (!grouping && peek().kind == Token::kIdent && is_any(peek().text, {"by", "without"})) {
      const std::string how = take().text;
      grouping = std::pair{how, labels()};
    }
    if (!aggregates_to_one(name)) return {false, "'" + name + "' returns several series", false};
    if (grouping && grouping->first == "without")
      return {false, "'" + name + " without (...)' keeps one series per group", false};
    if (grouping && !grouping->second.empty())
      return {false, "'" + name + " by (...)' keeps one series per group",
              grouping->second == std::vector<std::string>{"le"}};
    return {true, "", false};
  }

  Shape call() {
    const std::string name = take().text;
    expect("(");
    std::vector<Shape> args;
    while (!at(")")) {
      args.push_back(expr());
      if (!at(")")) expect(",");
    }
    take();
    if (always_one(name)) return {true, "", false};
    if (name == "histogram_quantile") {
      if (args.size() == 2 && (args[1].one || args[1].by_le_only)) return {true, "", false};
      return {false,
              "'histogram_quantile' returns one series per histogram: aggregate its buckets "
              "with sum by (le) (...)",
              false};
    }
    if (maps_series(name)) {
      for (const auto& a : args)
        if (!a.one) return a;
      return {true, "", false};
    }
    return {false, "'" + name + "(...)' returns as many series as it is given", false};
  }

  std::vector<Token> t_;
  std::size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace

std::optional<std::string> promql_multi_series(const std::string& query) {
  try {
    const Shape s = Parser(tokenize(query)).whole();
    if (s.one) return std::nullopt;
    return "the query may return several series (" + s.why +
           "); a probe judges one value: aggregate them in the outermost expression, for "
           "example 'max(" +
           query +
           ")', with sum, avg, min, max, count, group, stddev, stdvar or quantile, without 'by' "
           "or 'without'";
  } catch (const Unreadable& e) {
    return std::string("cannot read the query (") + e.what() +
           "), so it cannot be shown to return one series";
  }
}

}  // namespace achilles::drill
