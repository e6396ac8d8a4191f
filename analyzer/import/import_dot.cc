// Graphviz DOT into a topology, by the mapping of spec topology.md ("DOT mapping"): nodes
// are components, `a -> b` means a needs b, `cluster_<id>` subgraphs with `min_healthy` and
// `service=` attributes make services, `entrypoint=` declares entrypoints. An undirected
// graph keeps its edges for the structural findings (articulation points and bridges).
#include <graphviz/cgraph.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "import_common.h"

namespace achilles::analyzer {
namespace {

/// cgraph reports errors through a callback; it is not thread-safe anyway (notes.md).
std::string g_dot_errors;
int collect_error(char* message) {
  g_dot_errors += message;
  return 0;
}

std::string attr(void* obj, const char* name) {
  char* v = agget(obj, const_cast<char*>(name));
  return v ? std::string(v) : std::string();
}

class DotImporter {
 public:
  DotImporter(std::string_view text, const std::string& file) : text_(text), file_(file) {}

  Topology run() {
    g_dot_errors.clear();
    agseterrf(collect_error);
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
  // "Error: syntax error in line 3 near ';'" -> FILE:3: error: syntax error near ';'
  void syntax_error() {
    std::string msg = g_dot_errors.empty() ? "not a DOT graph" : g_dot_errors;
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' '))
      msg.pop_back();
    if (auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
    if (msg.rfind("Error: ", 0) == 0) msg.erase(0, 7);
    if (msg.rfind(file_ + ": ", 0) == 0) msg.erase(0, file_.size() + 2);
    std::string where = file_;
    if (auto p = msg.find(" in line "); p != std::string::npos) {
      size_t q = p + 9, e = q;
      while (e < msg.size() && std::isdigit(static_cast<unsigned char>(msg[e])))
        ++e;
      // FILE:LINE without a column: the line goes into the file part of the diagnostic.
      where += ':';  // appended piecewise: ":" + substr trips GCC 12's false -Wrestrict
      where.append(msg, q, e - q);
      msg.erase(p, e - p);
    }
    diagnostics_.push_back({where, {}, {}, msg});
  }

  void error(const std::string& what, const std::string& message) {
    diagnostics_.push_back({file_, {}, {}, what + ": " + message});
  }

  std::optional<double> number(const std::string& what, const std::string& key,
                               const std::string& value, double lo, double hi, bool lo_open) {
    if (value.empty()) return std::nullopt;
    char* end = nullptr;
    double x = std::strtod(value.c_str(), &end);
    bool ok = *end == '\0' && std::isfinite(x) && (lo_open ? x > lo : x >= lo) && x <= hi;
    if (!ok) {
      std::string range = key == "availability" || key == "slo" ? "a number in (0, 1]"
                          : key == "capacity"                   ? "a positive number"
                                                                : "a number of 0 or more";
      error(what, key + " must be " + range + ", not '" + value + "'");
      return std::nullopt;
    }
    return x;
  }

  void check_id(const std::string& what, const std::string& id) {
    if (!detail::valid_id(id))
      error(what, "id '" + id +
                      "' is not valid (allowed: a letter or digit, then letters, digits and "
                      "_ . : / @ -)");
  }

  // Records an id and its kind; a second use under another kind is an error.
  bool claim(const std::string& id, ElementKind kind) {
    auto [it, fresh] = kinds_.emplace(id, kind);
    if (!fresh && it->second != kind) {
      error(std::string(to_string(kind)) + " '" + id + "'",
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
        std::string id = name.substr(8);
        std::string what = "service '" + id + "'";
        check_id(what, id);
        claim(id, ElementKind::kService);
        auto& s = draft.get(ElementKind::kService, id);
        s.label("source", "dot:" + name);
        for (Agnode_t* n = agfstnode(sub); n; n = agnxtnode(sub, n))
          s.members.push_back(agnameof(n));
        char* end = nullptr;
        long x = std::strtol(k.c_str(), &end, 10);
        if (*end != '\0' || x < 1 || static_cast<size_t>(x) > s.members.size())
          error(what, "min_healthy must be a whole number in 1.." +
                          std::to_string(s.members.size()) + ", not '" + k + "'");
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
    for (Agnode_t* n = agfstnode(g); n; n = agnxtnode(g, n)) {
      std::string id = agnameof(n);
      std::string what = "node '" + id + "'";
      check_id(what, id);
      claim(id, ElementKind::kComponent);
      auto& c = draft.get(ElementKind::kComponent, id);
      if (auto kind = attr(n, "kind"); !kind.empty()) c.type = kind;
      c.capacity = number(what, "capacity", attr(n, "capacity"), 0, INFINITY, true);
      c.availability = number(what, "availability", attr(n, "availability"), 0, 1, true);
      if (auto d = attr(n, "domain"); !d.empty()) {
        check_id("domain '" + d + "'", d);
        claim(d, ElementKind::kDomain);
        draft.get(ElementKind::kDomain, d).label("source", "dot: domain attribute");
        c.domain = d;
      }
      if (auto s = attr(n, "service"); !s.empty()) {
        check_id("service '" + s + "'", s);
        claim(s, ElementKind::kService);
        auto& svc = draft.get(ElementKind::kService, s);
        svc.label("source", "dot: service attribute");
        if (std::find(svc.members.begin(), svc.members.end(), id) == svc.members.end())
          svc.members.push_back(id);
      }
      if (auto ep = attr(n, "entrypoint"); !ep.empty()) {
        std::string ewhat = "entrypoint '" + ep + "'";
        check_id(ewhat, ep);
        claim(ep, ElementKind::kEntrypoint);
        auto& e = draft.get(ElementKind::kEntrypoint, ep);
        e.target = id;
        e.load = number(ewhat, "load", attr(n, "load"), 0, INFINITY, false);
        e.slo = number(ewhat, "slo", attr(n, "slo"), 0, 1, true);
      }
    }
    clusters(g, draft);
    std::vector<std::pair<std::string, std::string>> links;
    for (Agnode_t* n = agfstnode(g); n; n = agnxtnode(g, n)) {
      for (Agedge_t* e = agfstout(g, n); e; e = agnxtout(g, e)) {
        std::string a = agnameof(agtail(e)), b = agnameof(aghead(e));
        if (!directed) {
          links.emplace_back(a, b);
          continue;
        }
        std::string what = "edge '" + a + " -> " + b + "'";
        std::string target = b;
        if (auto lhead = attr(e, "lhead"); lhead.rfind("cluster_", 0) == 0) {
          std::string s = lhead.substr(8);
          auto it = kinds_.find(s);
          if (it != kinds_.end() && it->second == ElementKind::kService) target = s;
        }
        auto mode = attr(e, "mode");
        if (!mode.empty() && mode != "hard" && mode != "soft")
          error(what, "mode must be 'hard' or 'soft', not '" + mode + "'");
        auto calls = number(what, "calls", attr(e, "calls"), 0, INFINITY, false);
        auto& from = draft.get(ElementKind::kComponent, a);
        from.depend(target, mode == "soft" ? DepMode::kSoft : DepMode::kHard);
        if (calls) calls_[{a, target}] = *calls;
      }
    }
    if (!diagnostics_.empty()) throw InputError(std::move(diagnostics_));
    Topology t = draft.build(graph_name, file_);
    for (Element& e : t.elements)
      for (Dependency& d : e.depends_on)
        if (auto it = calls_.find({e.id, t[d.target].id}); it != calls_.end()) d.calls = it->second;
    if (!directed) {
      t.undirected = true;
      for (const auto& [a, b] : links)
        t.undirected_edges.emplace_back(*t.find(a), *t.find(b));
    }
    return t;
  }

  std::string_view text_;
  const std::string& file_;
  std::vector<Diagnostic> diagnostics_;
  std::map<std::string, ElementKind> kinds_;
  std::map<std::pair<std::string, std::string>, double> calls_;
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
  r.topology = import_dot_text(sources[0].text, sources[0].file);
  if (r.topology.undirected)
    r.notes.push_back(
        "dot: the graph is undirected: its links have no dependency direction and are not part "
        "of the topology format; analyze the DOT file itself for articulation points and "
        "bridges");
  return r;
}

}  // namespace detail
}  // namespace achilles::analyzer
