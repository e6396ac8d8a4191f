// Graphviz DOT into a topology, by the mapping of spec topology.md ("DOT mapping"): nodes
// are components, `a -> b` means a needs b, `cluster_<id>` subgraphs with `min_healthy` and
// `service=` attributes make services, `entrypoint=` declares entrypoints. An undirected
// graph keeps its edges for the structural findings (articulation points and bridges).
//
// `achilles import dot` reads more than the spec's mapping (`analyze x.dot` does not): names
// that are no valid id (`"frontend[Deployment]"`, `"[root] aws_instance.web"`) are mapped to
// valid ids with the name kept as a label, `style=dashed|dotted` edges are soft, and the nodes
// no edge points to are inferred entrypoints; each decision is a note.
//
// The text is read twice: by DotCheck, a reader of the grammar cgraph accepts, which refuses
// in its own words (located) anything cgraph would call a syntax error, and then by cgraph.
// Past 500 lines, not split: DotCheck is this importer's front half and records the
// positions its messages use; keeping one file also keeps issue 17's move of the importers
// to analyzer/import/ a plain rename.
#include <graphviz/cgraph.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "achilles/analyzer/graphviz.h"
#include "achilles/common/yaml_guard.h"
#include "document.h"
#include "import_common.h"

namespace achilles::analyzer {
namespace {

std::string attr(void* obj, const char* name) {
  char* v = agget(obj, const_cast<char*>(name));
  return v ? std::string(v) : std::string();
}

/// A reader of the DOT grammar that cgraph 2.42 accepts (its grammar.y and scan.l), run on
/// the text before cgraph sees it. Why: on a syntax error cgraph formats a token it does not
/// own (aagerror -> agerr), so a long or odd token prints garbage or reads freed memory;
/// cgraph must only ever see text it parses without an error. It also records where each
/// node, cluster, edge and attribute is first written, for the messages about meaning.
class DotCheck {
 public:
  static constexpr size_t kMaxToken = 16384;

  explicit DotCheck(std::string_view text) : text_(text), lines_(text) {}

  /// Where the text first goes wrong, and what is wrong; nullopt when cgraph can read it.
  std::optional<Diagnostic> run(const std::string& file) {
    try {
      if (size_t bad = common::invalid_utf8_at(text_); bad != std::string_view::npos) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text_[bad]));
        fail(bad, std::string("the file is not valid UTF-8 (byte ") + hex + ")");
      }
      next();
      graph();
    } catch (const Failure& f) {
      return Diagnostic{file, lines_.at(f.at), {}, f.message};
    }
    return std::nullopt;
  }

  /// First positions: of a node id, a subgraph name, an edge (tail, head) written between
  /// two node ids, an attribute (name, value).
  std::map<std::string, SourcePos> nodes, subgraphs;
  std::map<std::pair<std::string, std::string>, SourcePos> edges, attrs;
  /// Attributes (name, value) written more than once: their position says nothing.
  std::set<std::pair<std::string, std::string>> ambiguous;

 private:
  enum class Tok { kEnd, kId, kKeyword, kEdgeOp, kPunct };
  struct Token {
    Tok type = Tok::kEnd;
    std::string text;  // an id's value; a keyword in lower case; the punctuation
    size_t at = 0;
    bool quoted = false;
  };
  struct Failure {
    size_t at;
    std::string message;
  };

  [[noreturn]] void fail(size_t at, std::string message) { throw Failure{at, std::move(message)}; }
  [[noreturn]] void unexpected(std::string_view expected) {
    std::string what = tok_.type == Tok::kEnd       ? "the end of the file"
                       : tok_.type == Tok::kId      ? "'" + shorten(tok_.text) + "'"
                       : tok_.type == Tok::kKeyword ? "the keyword '" + tok_.text + "'"
                                                    : "'" + tok_.text + "'";
    fail(tok_.at, "syntax error: " + what + " where " + std::string(expected) + " was expected");
  }
  static std::string shorten(const std::string& s) {
    return s.size() <= 40 ? s : s.substr(0, 40) + "...";
  }

  SourcePos pos(size_t at) { return lines_.at(at); }

  bool at_punct(char c) const { return tok_.type == Tok::kPunct && tok_.text[0] == c; }
  void expect(char c, std::string_view what) {
    if (!at_punct(c)) unexpected(what);
    next();
  }

  // --- The lexer (scan.l) ----------------------------------------------------------------

  static bool id_start(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }

  void skip_space() {
    bool line_start = pos_ == 0 || text_[pos_ - 1] == '\n';
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '\n') {
        line_start = true;
        ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
        ++pos_;
      } else if (c == '#' && line_start) {  // a preprocessor line
        while (pos_ < text_.size() && text_[pos_] != '\n')
          ++pos_;
      } else if (text_.substr(pos_, 2) == "//") {
        while (pos_ < text_.size() && text_[pos_] != '\n')
          ++pos_;
      } else if (text_.substr(pos_, 2) == "/*") {
        size_t end = text_.find("*/", pos_ + 2);
        if (end == std::string_view::npos) fail(pos_, "a comment '/*' that is never closed");
        pos_ = end + 2;
      } else {
        return;
      }
    }
  }

  void next() {
    skip_space();
    tok_ = Token{};
    tok_.at = pos_;
    if (pos_ >= text_.size()) return;
    auto c = static_cast<unsigned char>(text_[pos_]);
    if (text_.substr(pos_, 2) == "->" || text_.substr(pos_, 2) == "--") {
      tok_.type = Tok::kEdgeOp;
      tok_.text = std::string(text_.substr(pos_, 2));
      pos_ += 2;
    } else if (std::strchr("{}[];,=:+", static_cast<char>(c)) && c != 0) {
      tok_.type = Tok::kPunct;
      tok_.text = std::string(1, static_cast<char>(c));
      ++pos_;
    } else if (c == '"') {
      quoted();
      // "a" + "b" is one id.
      for (;;) {
        size_t save = pos_;
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == '+') {
          ++pos_;
          skip_space();
          if (pos_ >= text_.size() || text_[pos_] != '"')
            fail(pos_, "syntax error: '+' joins two quoted strings, and no quoted string follows");
          Token first = tok_;
          quoted();
          first.text += tok_.text;
          if (first.text.size() > kMaxToken) too_long(first.at);
          tok_ = first;
        } else {
          pos_ = save;
          break;
        }
      }
    } else if (c == '<') {
      html();
    } else if (std::isdigit(c) || c == '.' || (c == '-' && pos_ + 1 < text_.size())) {
      numeral();
    } else if (id_start(c)) {
      size_t start = pos_;
      while (pos_ < text_.size() && (id_start(static_cast<unsigned char>(text_[pos_])) ||
                                     std::isdigit(static_cast<unsigned char>(text_[pos_]))))
        ++pos_;
      if (pos_ - start > kMaxToken) too_long(start);
      tok_.text = std::string(text_.substr(start, pos_ - start));
      std::string lower = tok_.text;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char x) { return static_cast<char>(std::tolower(x)); });
      static const char* const kKeywords[] = {"node",    "edge",     "graph",
                                              "digraph", "subgraph", "strict"};
      tok_.type = Tok::kId;
      for (const char* k : kKeywords)
        if (lower == k) {
          tok_.type = Tok::kKeyword;
          tok_.text = lower;
        }
    } else {
      fail(pos_,
           std::string("syntax error: the character '") +
               (c < 0x20 || c == 0x7f ? "\\x" + hex(c) : std::string(1, static_cast<char>(c))) +
               "' cannot appear here (outside quotes)");
    }
  }

  static std::string hex(unsigned char c) {
    char b[4];
    std::snprintf(b, sizeof b, "%02X", c);
    return b;
  }

  [[noreturn]] void too_long(size_t at) {
    fail(at, "a name or string longer than " + std::to_string(kMaxToken) + " bytes");
  }

  void quoted() {
    size_t start = pos_;
    ++pos_;
    std::string value;
    for (;;) {
      if (pos_ >= text_.size()) fail(start, "a string whose closing '\"' is missing");
      char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        break;
      }
      if (c == '\\' && pos_ + 1 < text_.size()) {
        char d = text_[pos_ + 1];
        if (d == '"') {
          value += '"';
          pos_ += 2;
          continue;
        }
        if (d == '\n') {  // a continued line
          pos_ += 2;
          continue;
        }
        if (d == '\r' && pos_ + 2 < text_.size() && text_[pos_ + 2] == '\n') {
          pos_ += 3;
          continue;
        }
      }
      value += c;
      ++pos_;
      if (value.size() > kMaxToken) too_long(start);
    }
    tok_.type = Tok::kId;
    tok_.text = std::move(value);
    tok_.at = start;
    tok_.quoted = true;
  }

  void html() {
    size_t start = pos_;
    int depth = 0;
    do {
      if (pos_ >= text_.size()) fail(start, "an HTML string whose closing '>' is missing");
      if (text_[pos_] == '<') ++depth;
      if (text_[pos_] == '>') --depth;
      ++pos_;
    } while (depth > 0);
    if (pos_ - start > kMaxToken) too_long(start);
    tok_.type = Tok::kId;
    tok_.text = std::string(text_.substr(start + 1, pos_ - start - 2));
    tok_.quoted = true;
  }

  // [-]?((\.[0-9]+)|([0-9]+(\.[0-9]*)?)), not followed by a letter (cgraph would split it).
  void numeral() {
    size_t start = pos_;
    if (text_[pos_] == '-') ++pos_;
    size_t digits = 0;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_])))
      ++pos_, ++digits;
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_])))
        ++pos_, ++digits;
    }
    if (digits == 0)
      fail(start, "syntax error: '" + std::string(text_.substr(start, pos_ - start + 1)) +
                      "' is neither a number nor a name");
    if (pos_ < text_.size() &&
        (id_start(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.'))
      fail(start, "a number directly followed by letters or a '.': put the name in quotes");
    if (pos_ - start > kMaxToken) too_long(start);
    tok_.type = Tok::kId;
    tok_.text = std::string(text_.substr(start, pos_ - start));
  }

  // --- The grammar (grammar.y) -----------------------------------------------------------

  void graph() {
    if (tok_.type == Tok::kEnd)
      fail(0, "the file holds no graph (expected 'digraph {' or 'graph {')");
    if (tok_.type == Tok::kKeyword && tok_.text == "strict") next();
    if (tok_.type != Tok::kKeyword || (tok_.text != "graph" && tok_.text != "digraph"))
      unexpected("'graph' or 'digraph'");
    directed_ = tok_.text == "digraph";
    next();
    if (tok_.type == Tok::kId) next();  // its name
    body();
    if (tok_.type != Tok::kEnd)
      fail(tok_.at, "something after the end of the graph: a file holds one graph");
  }

  void body() {
    size_t open = tok_.at;
    expect('{', "'{'");
    if (++depth_ > 256) fail(open, "subgraphs nested deeper than 256 levels");
    while (!at_punct('}')) {
      if (tok_.type == Tok::kEnd) fail(open, "a '{' that is never closed");
      statement();
      if (at_punct(';')) next();
    }
    --depth_;
    next();
  }

  void statement() {
    if (tok_.type == Tok::kKeyword &&
        (tok_.text == "graph" || tok_.text == "node" || tok_.text == "edge")) {
      next();
      if (!at_punct('[')) unexpected("'['");
      attributes(nullptr);
      return;
    }
    if (tok_.type == Tok::kId) {
      Token first = tok_;
      next();
      if (at_punct('=')) {  // a graph attribute
        next();
        if (tok_.type != Tok::kId) unexpected("a value");
        next();
        return;
      }
      std::vector<std::string> tails = node_list(&first);
      compound(std::move(tails));
      return;
    }
    if (at_punct('{') || (tok_.type == Tok::kKeyword && tok_.text == "subgraph")) {
      subgraph();
      compound({});
      return;
    }
    unexpected("a statement (a node, an edge, an attribute or a subgraph)");
  }

  // simple rcompound optattr, after its first simple part; `tails` are its node ids.
  void compound(std::vector<std::string> tails) {
    while (tok_.type == Tok::kEdgeOp) {
      if ((tok_.text == "->") != directed_)
        fail(tok_.at,
             std::string("syntax error: '") + tok_.text + "' in " +
                 (directed_ ? "a digraph, whose edges are '->'" : "a graph, whose edges are '--'"));
      SourcePos op = pos(tok_.at);
      next();
      std::vector<std::string> heads;
      if (tok_.type == Tok::kId) {
        heads = node_list(nullptr);
      } else if (at_punct('{') || (tok_.type == Tok::kKeyword && tok_.text == "subgraph")) {
        subgraph();
      } else {
        unexpected("a node or a subgraph");
      }
      for (const auto& t : tails)
        for (const auto& [h, at] : last_heads_)
          edges.emplace(std::pair(t, h), op);
      tails = std::move(heads);
    }
    if (at_punct('[')) attributes(&last_nodes_);
  }

  // node (',' node)*; node: atom (':' atom (':' atom)?)?
  std::vector<std::string> node_list(const Token* first) {
    std::vector<std::string> ids;
    last_heads_.clear();
    last_nodes_.clear();
    bool have = first != nullptr;
    for (;;) {
      Token t;
      if (have) {
        t = *first;
        have = false;
      } else {
        if (tok_.type != Tok::kId) unexpected("a node");
        t = tok_;
        next();
      }
      nodes.emplace(t.text, pos(t.at));
      ids.push_back(t.text);
      last_heads_.emplace_back(t.text, pos(t.at));
      last_nodes_.push_back(t.text);
      for (int port = 0; port < 2 && at_punct(':'); ++port) {
        next();
        if (tok_.type != Tok::kId) unexpected("a port name");
        next();
      }
      if (!at_punct(',')) break;
      next();
    }
    return ids;
  }

  void subgraph() {
    last_nodes_.clear();
    last_heads_.clear();
    if (tok_.type == Tok::kKeyword && tok_.text == "subgraph") {
      next();
      if (tok_.type == Tok::kId) {
        subgraphs.emplace(tok_.text, pos(tok_.at));
        next();
      }
    }
    body();
    last_nodes_.clear();
    last_heads_.clear();
  }

  // ('[' (name '=' value [;,]?)* ']')+; for a node statement, the attributes are recorded.
  void attributes(const std::vector<std::string>* of) {
    while (at_punct('[')) {
      next();
      while (!at_punct(']')) {
        if (tok_.type != Tok::kId) unexpected("an attribute name or ']'");
        std::string name = tok_.text;
        next();
        expect('=', "'='");
        if (tok_.type != Tok::kId) unexpected("a value");
        if (of && !attrs.emplace(std::pair(name, tok_.text), pos(tok_.at)).second)
          ambiguous.insert(std::pair(name, tok_.text));
        next();
        if (at_punct(';') || at_punct(',')) next();
      }
      next();
    }
  }

  std::string_view text_;
  doc::LineCounter lines_;
  size_t pos_ = 0;
  Token tok_;
  bool directed_ = false;
  int depth_ = 0;
  std::vector<std::pair<std::string, SourcePos>> last_heads_;
  std::vector<std::string> last_nodes_;
};

class DotImporter {
 public:
  /// `infer`: the importer's reading (see the top of the file), not only the spec's mapping.
  DotImporter(std::string_view text, const std::string& file, bool infer = false)
      : text_(text), file_(file), check_(text), infer_(infer) {}

  /// What the inferring reading decided, one sentence each.
  std::vector<std::string> notes;

  Topology run() {
    if (auto problem = check_.run(file_)) {
      diagnostics_.push_back(std::move(*problem));
      throw InputError(std::move(diagnostics_));
    }
    // Graphviz is used by one thread at a time; the session also keeps cgraph's messages
    // from stderr.
    GraphvizSession graphviz;
    // cgraph's lexer carries what follows the closing brace, newlines and all, into the next
    // parse and counts its lines there: trim it, and restart the line count.
    std::string buffer(text_.substr(0, text_.find_last_not_of(" \t\r\n") + 1));
    agreadline(1);
    Agraph_t* g = agmemread(buffer.c_str());
    if (!g) {
      syntax_error();
      throw InputError(std::move(diagnostics_));
    }
    Topology t;
    try {
      t = convert(g);
    } catch (...) {
      agclose(g);
      throw;
    }
    agclose(g);
    return t;
  }

 private:
  // Not expected: DotCheck accepts only what cgraph reads. cgraph's own message is not
  // shown (its error path formats memory it does not own: see DotCheck).
  void syntax_error() {
    diagnostics_.push_back(
        {file_, {}, {}, "cannot be read as a DOT graph (Graphviz's reader refused it)"});
  }

  void error(SourcePos at, const std::string& what, const std::string& message) {
    diagnostics_.push_back({file_, at, {}, what + ": " + message});
  }
  template <class Map, class Key>
  static SourcePos where(const Map& m, const Key& k) {
    auto it = m.find(k);
    return it == m.end() ? SourcePos{} : it->second;
  }
  SourcePos node_at(const std::string& id) const { return where(check_.nodes, id); }
  SourcePos attr_at(const std::string& key, const std::string& value) const {
    if (check_.ambiguous.count(std::pair(key, value))) return {};
    return where(check_.attrs, std::pair(key, value));
  }

  std::optional<double> number(SourcePos at, const std::string& what, const std::string& key,
                               const std::string& value, double lo, double hi, bool lo_open) {
    if (value.empty()) return std::nullopt;
    char* end = nullptr;
    double x = std::strtod(value.c_str(), &end);
    bool ok = *end == '\0' && std::isfinite(x) && (lo_open ? x > lo : x >= lo) && x <= hi;
    if (!ok) {
      std::string range = key == "availability" || key == "slo" ? "a number in (0, 1]"
                          : key == "capacity"                   ? "a positive number"
                                                                : "a number of 0 or more";
      SourcePos value_at = attr_at(key, value);
      error(value_at.line ? value_at : at, what,
            key + " must be " + range + ", not '" + value + "'");
      return std::nullopt;
    }
    return x;
  }

  /// The id a DOT name stands for: itself, or when inferring and it is no valid id, a valid
  /// one made of it (sanitize_id), with a suffix when that is taken (map_ids reserves first).
  std::string id_of(const std::string& name) {
    if (!infer_ || detail::valid_id(name)) return name;
    auto [it, fresh] = ids_.emplace(name, std::string());
    if (!fresh) return it->second;
    std::string base = detail::sanitize_id(name), id = base;
    // The next suffix to try is kept per base: thousands of names that map alike stay linear.
    for (int& n = suffix_[base]; used_.count(id);)
      id = base + "-" + std::to_string(n = std::max(n, 1) + 1);
    if (id != base) collisions_.push_back("'" + name + "' is " + id + " (" + base + " was taken)");
    used_.insert(id);
    renamed_.push_back("'" + name + "' -> " + id);
    return it->second = id;
  }

  /// Reserves the valid names first, so that a mapped name never takes one of them.
  void map_ids(Agraph_t* g) {
    if (!infer_) return;
    for (Agnode_t* n = agfstnode(g); n; n = agnxtnode(g, n))
      if (detail::valid_id(agnameof(n))) used_.insert(agnameof(n));
    for (const auto& [name, at] : check_.subgraphs)
      if (name.rfind("cluster_", 0) == 0 && detail::valid_id(name.substr(8)))
        used_.insert(name.substr(8));
    for (const auto& [attribute, at] : check_.attrs)
      if ((attribute.first == "domain" || attribute.first == "service" ||
           attribute.first == "entrypoint") &&
          detail::valid_id(attribute.second))
        used_.insert(attribute.second);
    for (Agnode_t* n = agfstnode(g); n; n = agnxtnode(g, n))
      id_of(agnameof(n));
  }

  void check_id(SourcePos at, const std::string& what, const std::string& id) {
    if (infer_) return;  // id_of made it valid
    if (!detail::valid_id(id))
      error(at, what,
            "id '" + id +
                "' is not valid (allowed: a letter or digit, then letters, digits and "
                "_ . : / @ -; `achilles import dot` maps such names to ids)");
  }

  // Records an id and its kind; a second use under another kind is an error.
  bool claim(SourcePos at, const std::string& id, ElementKind kind) {
    auto [it, fresh] = kinds_.emplace(id, kind);
    if (!fresh && it->second != kind) {
      error(at, std::string(to_string(kind)) + " '" + id + "'",
            "the id is already used by a " + std::string(to_string(it->second)));
      return false;
    }
    return fresh;
  }

  void clusters(Agraph_t* g, detail::Draft& draft) {
    for (Agraph_t* sub = agfstsubg(g); sub; sub = agnxtsubg(sub)) {
      std::string name = agnameof(sub);
      std::string k = attr(sub, "min_healthy");
      if (name.rfind("cluster_", 0) == 0 && !k.empty()) {
        std::string what = "service '" + name.substr(8) + "'";
        std::string id = id_of(name.substr(8));
        SourcePos at = where(check_.subgraphs, name);
        check_id(at, what, id);
        claim(at, id, ElementKind::kService);
        auto& s = draft.get(ElementKind::kService, id);
        s.label("source", "dot:" + name);
        for (Agnode_t* n = agfstnode(sub); n; n = agnxtnode(sub, n)) {
          s.members.push_back(id_of(agnameof(n)));
          service_of_[id_of(agnameof(n))] = id;
        }
        char* end = nullptr;
        long x = std::strtol(k.c_str(), &end, 10);
        if (*end != '\0' || x < 1 || static_cast<size_t>(x) > s.members.size())
          error(attr_at("min_healthy", k).line ? attr_at("min_healthy", k) : at, what,
                "min_healthy must be a whole number in 1.." + std::to_string(s.members.size()) +
                    ", not '" + k + "'");
        else
          s.min_healthy = static_cast<uint32_t>(x);
      }
      clusters(sub, draft);
    }
  }

  Topology convert(Agraph_t* g) {
    detail::Draft draft;
    const bool directed = agisdirected(g);
    std::string graph_name = agnameof(g);
    if (!graph_name.empty() && graph_name[0] == '%') graph_name.clear();  // anonymous
    map_ids(g);
    for (Agnode_t* n = agfstnode(g); n; n = agnxtnode(g, n)) {
      std::string name = agnameof(n), id = id_of(name);
      std::string what = "node '" + name + "'";
      SourcePos at = node_at(name);
      check_id(at, what, id);
      claim(at, id, ElementKind::kComponent);
      auto& c = draft.get(ElementKind::kComponent, id);
      if (id != name) c.label("dot_id", name);
      // A label is what people call the node: kept, unless it is Graphviz's "\N" (the name).
      if (auto l = attr(n, "label"); !l.empty() && l != "\\N" && l != name) c.label("label", l);
      if (auto kind = attr(n, "kind"); !kind.empty()) c.type = kind;
      c.capacity = number(at, what, "capacity", attr(n, "capacity"), 0, INFINITY, true);
      c.availability = number(at, what, "availability", attr(n, "availability"), 0, 1, true);
      if (auto name_d = attr(n, "domain"); !name_d.empty()) {
        std::string d = id_of(name_d);
        SourcePos d_at = attr_at("domain", name_d).line ? attr_at("domain", name_d) : at;
        check_id(d_at, "domain '" + name_d + "'", d);
        claim(d_at, d, ElementKind::kDomain);
        draft.get(ElementKind::kDomain, d).label("source", "dot: domain attribute");
        c.domain = d;
      }
      if (auto name_s = attr(n, "service"); !name_s.empty()) {
        std::string s = id_of(name_s);
        SourcePos s_at = attr_at("service", name_s).line ? attr_at("service", name_s) : at;
        check_id(s_at, "service '" + name_s + "'", s);
        claim(s_at, s, ElementKind::kService);
        auto& svc = draft.get(ElementKind::kService, s);
        svc.label("source", "dot: service attribute");
        if (std::find(svc.members.begin(), svc.members.end(), id) == svc.members.end())
          svc.members.push_back(id);
        service_of_[id] = s;
      }
      if (auto name_ep = attr(n, "entrypoint"); !name_ep.empty()) {
        std::string ep = id_of(name_ep);
        std::string ewhat = "entrypoint '" + name_ep + "'";
        SourcePos e_at = attr_at("entrypoint", name_ep).line ? attr_at("entrypoint", name_ep) : at;
        check_id(e_at, ewhat, ep);
        claim(e_at, ep, ElementKind::kEntrypoint);
        auto& e = draft.get(ElementKind::kEntrypoint, ep);
        e.target = id;
        e.load = number(e_at, ewhat, "load", attr(n, "load"), 0, INFINITY, false);
        e.slo = number(e_at, ewhat, "slo", attr(n, "slo"), 0, 1, true);
      }
    }
    clusters(g, draft);
    std::vector<std::pair<std::string, std::string>> links;
    for (Agnode_t* n = agfstnode(g); n; n = agnxtnode(g, n)) {
      for (Agedge_t* e = agfstout(g, n); e; e = agnxtout(g, e)) {
        std::string name_a = agnameof(agtail(e)), name_b = agnameof(aghead(e));
        std::string a = id_of(name_a), b = id_of(name_b);
        if (!directed) {
          links.emplace_back(a, b);
          continue;
        }
        std::string what = "edge '" + name_a + " -> " + name_b + "'";
        SourcePos at = where(check_.edges, std::pair(name_a, name_b));
        std::string target = b;
        if (auto lhead = attr(e, "lhead"); lhead.rfind("cluster_", 0) == 0) {
          std::string s = id_of(lhead.substr(8));
          auto it = kinds_.find(s);
          if (it != kinds_.end() && it->second == ElementKind::kService) target = s;
        }
        auto mode = attr(e, "mode");
        if (!mode.empty() && mode != "hard" && mode != "soft")
          error(at, what, "mode must be 'hard' or 'soft', not '" + mode + "'");
        // A dashed or dotted line is how a drawing says "optional": soft, unless `mode` says.
        if (auto style = attr(e, "style"); infer_ && mode.empty() &&
                                           (style.find("dashed") != std::string::npos ||
                                            style.find("dotted") != std::string::npos)) {
          mode = "soft";
          styled_soft_.push_back(a + " -> " + target + " (" + style + ")");
        }
        auto calls = number(at, what, "calls", attr(e, "calls"), 0, INFINITY, false);
        auto& from = draft.get(ElementKind::kComponent, a);
        from.depend(target, mode == "soft" ? DepMode::kSoft : DepMode::kHard);
        if (calls) calls_[{a, target}] = *calls;
        called_.insert(target);
        if (auto s = service_of_.find(target); s != service_of_.end()) called_.insert(s->second);
      }
    }
    if (infer_ && directed) infer_entrypoints(g, draft);
    if (!diagnostics_.empty()) {
      std::stable_sort(diagnostics_.begin(), diagnostics_.end(), [](const auto& x, const auto& y) {
        return std::pair(x.pos.line, x.pos.column) < std::pair(y.pos.line, y.pos.column);
      });
      throw InputError(std::move(diagnostics_));
    }
    Topology t = draft.build(graph_name, file_);
    for (Element& e : t.elements)
      for (Dependency& d : e.depends_on)
        if (auto it = calls_.find({e.id, t[d.target].id}); it != calls_.end()) d.calls = it->second;
    if (!directed) {
      t.undirected = true;
      for (const auto& [a, b] : links)
        t.undirected_edges.emplace_back(*t.find(a), *t.find(b));
    }
    auto sentence = [](std::string head, const std::vector<std::string>& items) {
      constexpr size_t kListed = 50;  // a graph of 100,000 nodes is no 100,000-item note
      for (size_t i = 0; i < items.size() && i < kListed; ++i)
        head += (i ? ", " : " ") + items[i];
      if (items.size() > kListed)
        head += " and " + std::to_string(items.size() - kListed) + " more";
      return head;
    };
    if (!renamed_.empty())
      notes.push_back(sentence(
          "dot: names that are no valid id were mapped to ids (the name is kept in the label "
          "dot_id):",
          renamed_));
    if (!collisions_.empty())
      notes.push_back(sentence("dot: names that map to the same id got a suffix:", collisions_));
    if (!styled_soft_.empty())
      notes.push_back(
          sentence("dot: dashed or dotted edges taken as soft dependencies:", styled_soft_));
    if (!inferred_.empty())
      notes.push_back(sentence(
          "dot: entrypoints inferred at what no edge points to (labelled inferred; name the "
          "real ones with --entrypoint ID):",
          inferred_));
    return t;
  }

  /// Without an entrypoint in the file, the nodes (or services) that no edge points to are
  /// where requests come in: an entrypoint `entry:ID` for each, labelled inferred.
  void infer_entrypoints(Agraph_t* g, detail::Draft& draft) {
    for (const auto& [id, kind] : kinds_)
      if (kind == ElementKind::kEntrypoint) return;
    std::set<std::string> done;
    for (Agnode_t* n = agfstnode(g); n; n = agnxtnode(g, n)) {
      std::string id = id_of(agnameof(n));
      auto s = service_of_.find(id);
      std::string target = s == service_of_.end() ? id : s->second;
      if (called_.count(id) || called_.count(target) || !done.insert(target).second) continue;
      auto& e = draft.get(ElementKind::kEntrypoint, draft.fresh_id("entry:" + target));
      e.target = target;
      e.label("inferred", "no edge in the graph points to it");
      inferred_.push_back(e.id);
    }
  }

  std::string_view text_;
  const std::string& file_;
  DotCheck check_;
  std::vector<Diagnostic> diagnostics_;
  std::map<std::string, ElementKind> kinds_;
  std::map<std::pair<std::string, std::string>, double> calls_;
  bool infer_ = false;
  std::map<std::string, std::string> ids_;         // DOT name -> id, for names mapped
  std::set<std::string> used_;                     // ids taken
  std::map<std::string, int> suffix_;              // base id -> last suffix given
  std::map<std::string, std::string> service_of_;  // member id -> service id
  std::set<std::string> called_;                   // ids some edge points to
  std::vector<std::string> renamed_, collisions_, styled_soft_, inferred_;
};

}  // namespace

Topology import_dot_text(std::string_view text, const std::string& file) {
  return DotImporter(text, file).run();
}

namespace detail {

ImportResult import_dot(const std::vector<ImportSource>& sources) {
  if (sources.size() != 1)
    throw UsageError("achilles import dot: error: give exactly one DOT file");
  ImportResult r;
  DotImporter importer(sources[0].text, sources[0].file, true);
  r.topology = importer.run();
  r.notes = std::move(importer.notes);
  if (r.topology.undirected)
    r.notes.push_back(
        "dot: the graph is undirected: its links have no dependency direction and are not part "
        "of the topology format; analyze the DOT file itself for articulation points and "
        "bridges");
  return r;
}

}  // namespace detail
}  // namespace achilles::analyzer
