// One file past 500 lines: one Graphviz session builds the scene, styles it, lays it out (and
// again towards a screen's aspect) and writes it; the steps share the cgraph objects, which must
// not outlive the session.
#include "achilles/reports/render.h"
#include "achilles/analyzer/graphviz.h"
#include "achilles/common/markup.h"

#include <dlfcn.h>
#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>
#include <graphviz/types.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <tuple>

#include "achilles/analyzer/status.h"
#include "achilles/common/diagnostic.h"
#include "achilles/common/text.h"
#include "graph_style.h"

#if defined(__SANITIZE_ADDRESS__)
// Graphviz 2.43, Pango, fontconfig and Cairo keep allocations in global caches that they never
// free; LeakSanitizer would report them on every run that renders. Ours are still checked.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libgvc.so\nleak:libcgraph.so\nleak:libcdt.so\nleak:libpathplan.so\n"
         "leak:libgvplugin_\nleak:libpango\nleak:libfontconfig.so\nleak:libcairo.so\n"
         "leak:libglib-2.0.so\nleak:libgobject-2.0.so\nleak:libharfbuzz.so\n"
         "leak:libgts-0.7.so\n";
}
// Without this, LeakSanitizer lists the suppressions it used on stderr at every exit.
extern "C" const char* __lsan_default_options() {
  return "print_suppressions=0";
}
#endif

namespace achilles::reports {

using analyzer::Element;
using analyzer::ElementId;
using analyzer::ElementKind;
using analyzer::kNoElement;
using analyzer::Status;
using analyzer::Topology;

namespace {

using ::achilles::common::markup_escape;

/// A node as drawn: one element, or a service with the components folded into it.
struct Node {
  ElementId element = kNoElement;
  /// The domain cluster it is drawn in, or kNoElement for the top level.
  ElementId cluster = kNoElement;
  /// Finding kinds whose subject it stands for, most important first.
  std::vector<std::string> tags;
};

enum class EdgeStyle : uint8_t { kHard, kSoft, kEntry, kMember };

/// What is drawn, before any Graphviz call: nodes, clusters and edges.
struct Scene {
  std::vector<Node> nodes;
  /// For each element, the index of the node that stands for it, or -1.
  std::vector<int> node_of;
  std::set<std::tuple<int, int, EdgeStyle>> edges;
  /// Domains with something drawn in them or below them.
  std::vector<bool> used_domain;
  /// Finding kinds per domain (domain_spof and others whose subject is a domain).
  std::map<ElementId, std::vector<std::string>> domain_tags;
  /// Every finding kind that coloured something, in legend order.
  std::set<std::string> kinds_seen;
};

std::vector<int> domain_depths(const Topology& t) {
  std::vector<int> depth(t.size(), 0);
  for (ElementId x = 0; x < t.size(); ++x) {
    if (t[x].kind != ElementKind::kDomain) continue;
    int d = 0;
    for (ElementId p = t[x].parent; p != kNoElement; p = t[p].parent)
      ++d;
    depth[x] = d;
  }
  return depth;
}

/// The deepest domain that contains both, or kNoElement.
ElementId common_domain(const Topology& t, const std::vector<int>& depth, ElementId a,
                        ElementId b) {
  if (a == kNoElement || b == kNoElement) return kNoElement;
  while (a != b) {
    if (depth[a] >= depth[b])
      a = t[a].parent;
    else
      b = t[b].parent;
    if (a == kNoElement || b == kNoElement) return kNoElement;
  }
  return a;
}

/// Where a service is drawn: the deepest domain holding every component below it.
ElementId service_cluster(const Topology& t, const std::vector<int>& depth, ElementId s,
                          std::vector<std::optional<ElementId>>& memo) {
  if (memo[s]) return *memo[s];
  std::optional<ElementId> acc;
  for (ElementId m : t[s].members) {
    ElementId d =
        t[m].kind == ElementKind::kService ? service_cluster(t, depth, m, memo) : t[m].domain;
    acc = acc ? common_domain(t, depth, *acc, d) : d;
  }
  memo[s] = acc.value_or(kNoElement);
  return *memo[s];
}

/// The first service (in file order) each component is a member of.
std::vector<ElementId> first_service(const Topology& t) {
  std::vector<ElementId> first(t.size(), kNoElement);
  for (ElementId s = 0; s < t.size(); ++s) {
    if (t[s].kind != ElementKind::kService) continue;
    for (ElementId m : t[s].members)
      if (t[m].kind == ElementKind::kComponent && first[m] == kNoElement) first[m] = s;
  }
  return first;
}

/// For each component, the service node it is folded into at `level`, or kNoElement when it
/// is drawn as its own node. At the service level a member is folded into its first service
/// unless that would hide it: when something other than a service depends on it directly or
/// an entrypoint sends users to it, when it is the subject of a finding (a service must not
/// carry its member's tag), or when its domain would otherwise be empty (every domain that
/// holds something is drawn).
std::vector<ElementId> folded_into(const Topology& t, const nlohmann::json* analysis, Level level) {
  std::vector<ElementId> fold(t.size(), kNoElement);
  if (level != Level::kService) return fold;
  fold = first_service(t);
  for (ElementId x = 0; x < t.size(); ++x) {
    const Element& e = t[x];
    if (e.kind == ElementKind::kEntrypoint && e.target != kNoElement) fold[e.target] = kNoElement;
    if (e.kind != ElementKind::kService)
      for (const auto& d : e.depends_on)
        if (d.target != kNoElement && t[d.target].kind == ElementKind::kComponent)
          fold[d.target] = kNoElement;
  }
  if (analysis && analysis->contains("findings"))
    for (const auto& f : (*analysis)["findings"]) {
      std::string kind = f.value("kind", "");
      if (kind == "cut_set" || kind == "bridge") continue;
      for (const auto& s : f.value("subject", nlohmann::json::array()))
        if (s.is_string())
          if (auto x = t.find(s.get<std::string>())) fold[*x] = kNoElement;
    }
  // Domains holding a node drawn on its own (or a service placed in them) are drawn; a
  // component folded away whose domain is not among them gets its own node.
  std::vector<int> depth = domain_depths(t);
  std::vector<std::optional<ElementId>> memo(t.size());
  std::vector<bool> shown(t.size(), false);
  auto mark = [&](ElementId d) {
    for (; d != kNoElement && !shown[d]; d = t[d].parent)
      shown[d] = true;
  };
  for (ElementId x = 0; x < t.size(); ++x) {
    if (t[x].kind == ElementKind::kComponent && fold[x] == kNoElement) mark(t[x].domain);
    if (t[x].kind == ElementKind::kService) mark(service_cluster(t, depth, x, memo));
  }
  for (ElementId x = 0; x < t.size(); ++x)
    if (t[x].kind == ElementKind::kComponent && fold[x] != kNoElement &&
        t[x].domain != kNoElement && !shown[t[x].domain]) {
      fold[x] = kNoElement;
      mark(t[x].domain);
    }
  return fold;
}

Scene build_scene(const Topology& t, const nlohmann::json& analysis, Level level) {
  Scene scene;
  scene.node_of.assign(t.size(), -1);
  scene.used_domain.assign(t.size(), false);
  auto depth = domain_depths(t);
  auto first = folded_into(t, &analysis, level);
  std::vector<std::optional<ElementId>> memo(t.size());

  // Nodes: entrypoints, services, and the components that are drawn on their own.
  for (ElementId x = 0; x < t.size(); ++x) {
    const Element& e = t[x];
    Node n;
    n.element = x;
    if (e.kind == ElementKind::kDomain) continue;
    if (e.kind == ElementKind::kComponent) {
      if (first[x] != kNoElement) continue;
      n.cluster = e.domain;
    } else if (e.kind == ElementKind::kService) {
      n.cluster = service_cluster(t, depth, x, memo);
    }
    scene.node_of[x] = static_cast<int>(scene.nodes.size());
    scene.nodes.push_back(std::move(n));
  }
  // Components folded into their first service.
  for (ElementId x = 0; x < t.size(); ++x)
    if (scene.node_of[x] < 0 && t[x].kind == ElementKind::kComponent)
      scene.node_of[x] = scene.node_of[first[x]];
  for (const Node& n : scene.nodes)
    for (ElementId d = n.cluster; d != kNoElement && !scene.used_domain[d]; d = t[d].parent)
      scene.used_domain[d] = true;

  // Edges: what needs what, entrypoints to their targets, services to their members.
  for (ElementId x = 0; x < t.size(); ++x) {
    const Element& e = t[x];
    int from = scene.node_of[x];
    if (from < 0) continue;
    if (e.kind == ElementKind::kEntrypoint) {
      scene.edges.emplace(from, scene.node_of[e.target], EdgeStyle::kEntry);
      continue;
    }
    for (const auto& dep : e.depends_on) {
      int to = scene.node_of[dep.target];
      if (to != from)
        scene.edges.emplace(
            from, to, dep.mode == analyzer::DepMode::kSoft ? EdgeStyle::kSoft : EdgeStyle::kHard);
    }
    if (e.kind == ElementKind::kService)
      for (ElementId m : e.members) {
        int to = scene.node_of[m];
        if (to != from) scene.edges.emplace(from, to, EdgeStyle::kMember);
      }
  }

  // Findings: each finding with a single subject colours the node or cluster of it.
  if (analysis.contains("findings"))
    for (const auto& f : analysis["findings"]) {
      std::string kind = f.value("kind", "");
      // A cut set or a bridge is a risk of its elements together, not of each one.
      if (kind == "cut_set" || kind == "bridge") continue;
      for (const auto& s : f.value("subject", nlohmann::json::array())) {
        if (!s.is_string()) continue;
        auto x = t.find(s.get<std::string>());
        if (!x) continue;
        std::vector<std::string>* tags = nullptr;
        if (t[*x].kind == ElementKind::kDomain) {
          if (!scene.used_domain[*x]) continue;
          tags = &scene.domain_tags[*x];
        } else if (scene.node_of[*x] >= 0) {
          tags = &scene.nodes[scene.node_of[*x]].tags;
        }
        if (!tags || std::find(tags->begin(), tags->end(), kind) != tags->end()) continue;
        tags->push_back(kind);
        scene.kinds_seen.insert(kind);
      }
    }
  auto by_rank = [](const std::string& a, const std::string& b) {
    return kind_rank(a) < kind_rank(b);
  };
  for (Node& n : scene.nodes)
    std::stable_sort(n.tags.begin(), n.tags.end(), by_rank);
  for (auto& [d, tags] : scene.domain_tags)
    std::stable_sort(tags.begin(), tags.end(), by_rank);
  return scene;
}

// ---- Graphviz ------------------------------------------------------------------------

/// Graphviz takes `char*` where it means `const char*`.
char* mut(const char* s) {
  return const_cast<char*>(s);
}

void set(void* obj, const char* key, const std::string& value) {
  agsafeset(obj, mut(key), mut(value.c_str()), mut(""));
}

void set_html(Agraph_t* g, void* obj, const char* key, const std::string& html) {
  char* s = agstrdup_html(g, mut(html.c_str()));
  agsafeset(obj, mut(key), s, mut(""));
  agstrfree(g, s);
}

/// Escapes a plain DOT label: backslashes introduce escapes such as \n.
std::string label_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string node_label(const Topology& t, const Node& n, Level level, Status status, bool failed) {
  const Element& e = t[n.element];
  std::string label = label_escape(e.id);
  if (e.kind == ElementKind::kService) {
    label += "\\n" + std::to_string(e.members.size()) + ", needs " + std::to_string(e.min_healthy);
    if (level == Level::kService) {
      // The members folded into this node, shortened so that the label stays narrow.
      std::vector<std::string> names;
      for (ElementId m : e.members)
        names.push_back(t[m].id);
      std::string list;
      if (names.size() <= 3) {
        for (size_t i = 0; i < names.size(); ++i)
          list += (i ? " " : "") + names[i];
      } else {
        list = names.front() + " .. " + names.back();
      }
      label += "\\n" + label_escape(list);
    }
  } else if (e.kind == ElementKind::kComponent && !e.type.empty() && e.type != "component") {
    label += "\\n" + label_escape(e.type);
  } else if (e.kind == ElementKind::kEntrypoint && e.load) {
    label += "\\n" + common::format("%g req/s", *e.load);
  }
  for (const auto& tag : n.tags)
    label += "\\n[" + kind_tag(tag) + "]";
  if (failed)
    label += "\\nFAILED";
  else if (status == Status::kDown)
    label += "\\nDOWN";
  else if (status == Status::kDegraded)
    label += "\\ndegraded";
  return label;
}

/// The title and the legend, as one HTML-like graph label.
/// Which scenario colours a picture uses: the legend shows only those.
struct ScenarioColours {
  bool down = false;
  bool degraded = false;
};

std::string legend_html(const Topology& t, const Scene& scene, bool scenario,
                        const std::string& failed_names, bool clusters, ScenarioColours colours) {
  std::string title = t.name.empty() ? (t.file.empty() ? "topology" : t.file) : t.name;
  std::string html = "<table border=\"0\" cellspacing=\"3\" cellpadding=\"4\">";
  html += "<tr><td align=\"left\" colspan=\"8\"><font point-size=\"22\"><b>" +
          markup_escape(title) + "</b></font></td></tr>";
  auto plural = [](size_t n, const std::string& word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
  };
  std::string sub = plural(t.count(ElementKind::kComponent), "component") + ", " +
                    plural(t.count(ElementKind::kService), "service") + ", " +
                    plural(t.count(ElementKind::kDomain), "failure domain");
  if (!clusters) sub += " (not drawn: the sfdp layout has no clusters)";
  if (scenario) sub += ". Failing: " + failed_names;
  html += "<tr><td align=\"left\" colspan=\"8\"><font point-size=\"12\">" + markup_escape(sub) +
          "</font></td></tr><tr>";
  auto swatch = [&](const std::string& fill, const std::string& pen, const std::string& text,
                    const char* ink = "black") {
    html += "<td bgcolor=\"" + fill + "\" color=\"" + pen +
            "\" border=\"2\"><font point-size=\"11\" color=\"" + ink + "\">" + markup_escape(text) +
            "</font></td>";
  };
  std::vector<std::string> kinds(scene.kinds_seen.begin(), scene.kinds_seen.end());
  std::stable_sort(kinds.begin(), kinds.end(), [](const std::string& a, const std::string& b) {
    return kind_rank(a) < kind_rank(b);
  });
  for (const auto& k : kinds) {
    const KindStyle& s = kind_style(k);
    swatch(scenario ? "#ffffff" : s.fill, s.pen, kind_legend(k));
  }
  if (scenario) {
    swatch(kFailedFill, kFailedFill, "failed", "white");
    if (colours.down) swatch(kDownFill, kDownFill, "down", "white");
    if (colours.degraded) swatch(kDegradedFill, "#f9a825", "degraded");
  }
  bool components = false, services = false, soft = false, members = false;
  for (const Node& n : scene.nodes) {
    components |= t[n.element].kind == ElementKind::kComponent;
    services |= t[n.element].kind == ElementKind::kService;
  }
  for (const auto& [from, to, style] : scene.edges) {
    soft |= style == EdgeStyle::kSoft;
    members |= style == EdgeStyle::kMember;
  }
  if (components)
    html +=
        "<td border=\"1\" style=\"rounded\" color=\"#546e7a\"><font "
        "point-size=\"11\">component</font></td>";
  if (services)
    html +=
        "<td border=\"1\" color=\"#546e7a\"><font point-size=\"11\">service "
        "(double border): members, needs k</font></td>";
  if (t.count(ElementKind::kEntrypoint) > 0)
    html +=
        "<td border=\"1\" color=\"#1565c0\" bgcolor=\"#e3f2fd\"><font "
        "point-size=\"11\">entrypoint</font></td>";
  if (soft) html += "<td><font point-size=\"11\">- - soft dependency</font></td>";
  if (members)
    html += "<td><font point-size=\"11\">\u00b7\u00b7\u00b7o member of a service</font></td>";
  html += "</tr></table>";
  return html;
}

struct GraphCloser {
  void operator()(Agraph_t* g) const { agclose(g); }
};

/// A Graphviz context with the layouts and the SVG renderer but no text layout plugin, so
/// that label sizes come from Graphviz's built-in font metrics instead of Pango. Pango
/// measures each label in about a millisecond, which dominates at 10^4 nodes and more.
/// Null when the plugins cannot be loaded; the caller then uses the full context.
GVC_t* context_with_estimated_text() {
  static const char* const kPlugins[] = {"gvplugin_core", "gvplugin_dot_layout",
                                         "gvplugin_neato_layout"};
  static std::vector<std::string> names;
  static std::vector<lt_symlist_t> builtins;
  if (builtins.empty()) {
    std::vector<lt_symlist_t> found;
    names.reserve(std::size(kPlugins));
    for (const char* plugin : kPlugins) {
      void* handle = nullptr;
      for (const char* suffix : {".so.6", ".so"}) {
        std::string path = std::string(ACHILLES_GRAPHVIZ_PLUGIN_DIR) + "/lib" + plugin + suffix;
        if ((handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL))) break;
      }
      if (!handle) return nullptr;
      names.push_back(std::string(plugin) + "_LTX_library");
      void* library = dlsym(handle, names.back().c_str());
      if (!library) return nullptr;
      found.push_back({names.back().c_str(), library});
    }
    found.push_back({nullptr, nullptr});
    builtins = std::move(found);
  }
  return gvContextPlugins(builtins.data(), 0);
}

// Graphviz contexts live as long as the process. Graphviz 2.43's Pango plugin remembers the
// last font name by pointer into the context that measured it, so a second context after
// gvFreeContext reads freed memory (AddressSanitizer: heap-use-after-free in textspan_size).

/// The context with every plugin (Pango text layout, Cairo for PNG and PDF).
GVC_t* full_context() {
  static GVC_t* const context = gvContext();
  return context;
}

/// The context of context_with_estimated_text, or null.
GVC_t* estimated_text_context() {
  static GVC_t* const context = context_with_estimated_text();
  return context;
}

/// Graphs up to this many nodes may be laid out twice (top-down and left-to-right).
constexpr size_t kSecondLayoutLimit = 600;

/// Width over height of a laid-out graph, from its bounding box; 1 when unknown.
double aspect(Agraph_t* g) {
  const boxf bb = GD_bb(g);
  if (bb.UR.y <= bb.LL.y) return 1;
  return (bb.UR.x - bb.LL.x) / (bb.UR.y - bb.LL.y);
}

/// How far an aspect is from a screen's 16:10, as a factor (1 is a perfect fit).
double screen_distance(double a) {
  double r = a / 1.6;
  return r >= 1 ? r : 1 / r;
}

/// What Graphviz's `unflatten` does, in process: a graph with many leaves under one node or
/// many unconnected nodes is a single wide row; staggering the leaves over three ranks
/// (minlen 1, 2, 3) and chaining unconnected nodes into columns (invisible edges) folds the
/// row into a block.
void fold_for_screen(Agraph_t* g, const Scene& scene, const std::vector<Agnode_t*>& gnode) {
  std::vector<int> in(scene.nodes.size(), 0), out(scene.nodes.size(), 0);
  for (const auto& [from, to, style] : scene.edges) {
    ++out[from];
    ++in[to];
  }
  std::vector<int> stagger(scene.nodes.size(), 0);
  for (const auto& [from, to, style] : scene.edges) {
    if (out[to] != 0 || in[to] != 1 || out[from] < 4) continue;
    Agedge_t* e = agedge(g, gnode[from], gnode[to], nullptr, 0);
    if (e) set(e, "minlen", std::to_string(1 + stagger[from]++ % 3));
  }
  std::vector<size_t> alone;
  for (size_t i = 0; i < scene.nodes.size(); ++i)
    if (in[i] == 0 && out[i] == 0) alone.push_back(i);
  if (alone.size() < 4) return;
  size_t column = 1;
  while (column * column < alone.size())
    ++column;
  for (size_t k = 0; k + 1 < alone.size(); ++k) {
    if ((k + 1) % column == 0) continue;
    Agedge_t* e = agedge(g, gnode[alone[k]], gnode[alone[k + 1]], mut("fold"), 1);
    set(e, "style", "invis");
    set(e, "arrowhead", "none");
  }
}

/// Lifts the clusters' labels above the edges in an SVG: Graphviz draws a cluster (and its
/// label) before the edges, so an edge or arrowhead entering a cluster from above can cover
/// its label. Each label is moved to the end of the drawing, with a white halo, so that it
/// stays readable over lines and fills. SVG only: PNG and PDF come from Cairo directly.
std::string lift_cluster_labels(std::string svg) {
  std::string labels;
  const std::string marker = "class=\"cluster\">";
  for (size_t at = svg.find(marker); at != std::string::npos; at = svg.find(marker, at)) {
    size_t end = svg.find("</g>", at);
    if (end == std::string::npos) break;
    for (size_t t = svg.find("<text ", at); t != std::string::npos && t < end;
         t = svg.find("<text ", t)) {
      size_t close = svg.find("</text>", t);
      if (close == std::string::npos || close > end) break;
      close += 7;
      std::string text = svg.substr(t, close - t);
      svg.erase(t, close - t);
      end -= close - t;
      // Skip the newline Graphviz writes after each element.
      if (t < svg.size() && svg[t] == '\n') {
        svg.erase(t, 1);
        --end;
      }
      text.insert(6,
                  "class=\"cluster-label\" stroke=\"#ffffff\" stroke-width=\"3\" "
                  "stroke-linejoin=\"round\" paint-order=\"stroke\" ");
      labels += text + "\n";
    }
    at = end;
  }
  if (labels.empty()) return svg;
  // Before the end of the graph's group: drawn last, in the same coordinates.
  size_t last = svg.rfind("</g>");
  if (last == std::string::npos) return svg;
  svg.insert(last, "<g class=\"cluster-labels\">\n" + labels + "</g>\n");
  return svg;
}

std::string write_dot(Agraph_t* g) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  if (!f) throw std::runtime_error("cannot allocate the DOT output");
  agwrite(g, f);
  std::fclose(f);
  std::string out(buf, len);
  std::free(buf);
  return out;
}

}  // namespace

std::string format_for_path(std::string_view path) {
  auto dot = path.rfind('.');
  std::string ext = dot == std::string_view::npos ? "" : std::string(path.substr(dot + 1));
  for (char& c : ext)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == "gv") ext = "dot";
  if (ext == "svg" || ext == "png" || ext == "pdf" || ext == "dot") return ext;
  throw analyzer::UsageError("achilles render: error: " + std::string(path) +
                             ": the output must end in .svg, .png, .pdf or .dot");
}

std::string svg_id(std::string_view element_id) {
  return "a-" + std::string(element_id);
}

std::vector<std::string> drawn_ids(const Topology& topology, Level level,
                                   const nlohmann::json& analysis) {
  std::vector<std::string> ids(topology.size());
  auto first = folded_into(topology, &analysis, level);
  for (ElementId x = 0; x < topology.size(); ++x) {
    ElementId shown = x;
    if (topology[x].kind == ElementKind::kComponent && first[x] != kNoElement) shown = first[x];
    ids[x] = svg_id(topology[shown].id);
  }
  return ids;
}

std::string render(const Topology& t, const nlohmann::json& analysis, const RenderOptions& options,
                   std::string_view format) {
  if (format != "svg" && format != "png" && format != "pdf" && format != "dot")
    throw analyzer::UsageError("achilles render: error: unknown output format '" +
                               std::string(format) + "'");
  Scene scene = build_scene(t, analysis, options.level);
  std::string layout = options.layout;
  if (layout.empty()) layout = scene.nodes.size() > kDotNodeLimit ? "sfdp" : "dot";
  if (layout != "dot" && layout != "sfdp")
    throw analyzer::UsageError("achilles render: error: --layout must be dot or sfdp, not '" +
                               layout + "'");
  const bool large = scene.nodes.size() > kDotNodeLimit;

  bool scenario = !options.failed.empty();
  std::vector<Status> status(t.size(), Status::kUp);
  std::vector<bool> failed(t.size(), false);
  std::string failed_names;
  if (scenario) {
    status = analyzer::evaluate(t, options.failed);
    for (ElementId f : options.failed) {
      failed[f] = true;
      failed_names += (failed_names.empty() ? "" : ", ") + t[f].id;
    }
  }

  // Graphviz is used by one thread at a time, and its messages are collected, not printed.
  analyzer::GraphvizSession graphviz;

  std::unique_ptr<Agraph_t, GraphCloser> graph(agopen(mut("achilles"), Agdirected, nullptr));
  Agraph_t* g = graph.get();
  set(g, "fontname", "Helvetica");
  set(g, "labelloc", "t");
  set(g, "labeljust", "l");
  set(g, "bgcolor", "white");
  set(g, "outputorder", "edgesfirst");
  if (layout == "dot") {
    set(g, "rankdir", "TB");
    set(g, "newrank", "true");
    set(g, "nodesep", "0.25");
    set(g, "ranksep", "0.45");
  } else {
    // Large graphs: straight edges, and overlaps removed by scaling the layout up rather
    // than by prism (measured at 10^5 components: 126 s of CPU with prism, 13 s with scale).
    // Labelled nodes are far larger than sfdp's default spacing assumes; a longer ideal edge
    // length (K, inches) leaves less overlap to scale away: 1.5 GiB peak instead of 4.7.
    set(g, "splines", large ? "false" : "true");
    set(g, "overlap", large ? "scale" : "prism");
    set(g, "sep", "+4");
    if (large) set(g, "K", "3");
  }
  set(g, "pad", "0.3");
  if (format == "png") {
    // Bounds the bitmap: a large topology would otherwise ask for gigabytes of pixels.
    set(g, "size", "60,60");
    set(g, "dpi", "96");
  }
  if (options.legend) {
    ScenarioColours colours;
    for (const Node& n : scene.nodes) {
      if (failed[n.element]) continue;
      colours.down |= status[n.element] == Status::kDown;
      colours.degraded |= status[n.element] == Status::kDegraded;
    }
    for (ElementId d = 0; d < t.size(); ++d)
      if (t[d].kind == ElementKind::kDomain && scene.used_domain[d] && !failed[d])
        colours.down |= status[d] == Status::kDown;
    set_html(g, g, "label",
             legend_html(t, scene, scenario, failed_names, layout == "dot", colours));
  }

  agattr(g, AGNODE, mut("shape"), mut("box"));
  agattr(g, AGNODE, mut("style"), mut("rounded,filled"));
  agattr(g, AGNODE, mut("fillcolor"), mut("white"));
  agattr(g, AGNODE, mut("color"), mut("#546e7a"));
  agattr(g, AGNODE, mut("fontname"), mut("Helvetica"));
  agattr(g, AGNODE, mut("fontsize"), mut("11"));
  agattr(g, AGNODE, mut("fontcolor"), mut("black"));
  agattr(g, AGNODE, mut("margin"), mut("0.1,0.04"));
  agattr(g, AGNODE, mut("height"), mut("0.3"));
  agattr(g, AGNODE, mut("penwidth"), mut("1"));
  agattr(g, AGNODE, mut("peripheries"), mut("1"));
  agattr(g, AGEDGE, mut("color"), mut("#78909c"));
  agattr(g, AGEDGE, mut("arrowsize"), mut("0.6"));
  agattr(g, AGEDGE, mut("style"), mut("solid"));
  agattr(g, AGEDGE, mut("penwidth"), mut("1"));
  agattr(g, AGEDGE, mut("arrowhead"), mut("normal"));
  agattr(g, AGRAPH, mut("style"), mut(""));
  agattr(g, AGRAPH, mut("fillcolor"), mut(""));
  agattr(g, AGRAPH, mut("color"), mut(""));
  agattr(g, AGRAPH, mut("penwidth"), mut("1"));
  agattr(g, AGRAPH, mut("fontsize"), mut("11"));
  agattr(g, AGRAPH, mut("id"), mut(""));

  // Clusters, nested as the domains are: region > zone > rack > host.
  std::vector<Agraph_t*> cluster(t.size(), nullptr);
  std::vector<int> depth(t.size(), 0);
  std::function<Agraph_t*(ElementId)> cluster_of = [&](ElementId d) -> Agraph_t* {
    // sfdp does not draw clusters: it lays the nodes out as if they were not there.
    if (d == kNoElement || layout != "dot") return g;
    if (cluster[d]) return cluster[d];
    Agraph_t* parent = cluster_of(t[d].parent);
    depth[d] = t[d].parent == kNoElement ? 0 : depth[t[d].parent] + 1;
    std::string name = "cluster_" + t[d].id;
    Agraph_t* c = agsubg(parent, mut(name.c_str()), 1);
    const Element& e = t[d];
    std::string label = e.id + (e.type.empty() || e.type == "domain" ? "" : "  (" + e.type + ")");
    auto tags = scene.domain_tags.find(d);
    bool flagged = tags != scene.domain_tags.end();
    if (flagged)
      for (const auto& tag : tags->second)
        label += "  [" + kind_tag(tag) + "]";
    if (scenario && (failed[d] || status[d] == Status::kDown))
      label += failed[d] ? "  FAILED" : "  DOWN";
    set(c, "label", label_escape(label));
    set(c, "id", svg_id(e.id));
    set(c, "style", "rounded,filled");
    set(c, "fontsize", depth[d] == 0 ? "13" : "11");
    std::string fill = kClusterFills[depth[d] % std::size(kClusterFills)];
    std::string pen = "#90a4ae";
    std::string width = "1";
    if (flagged) {
      const KindStyle& s = kind_style(tags->second.front());
      fill = s.cluster_fill;
      pen = s.pen;
      width = "3";
    }
    if (scenario) {
      if (failed[d])
        fill = kFailedClusterFill;
      else if (status[d] == Status::kDown)
        fill = kDownClusterFill;
    }
    set(c, "fillcolor", fill);
    set(c, "color", pen);
    set(c, "penwidth", width);
    cluster[d] = c;
    return c;
  };

  std::vector<Agnode_t*> gnode(scene.nodes.size(), nullptr);
  for (size_t i = 0; i < scene.nodes.size(); ++i) {
    const Node& n = scene.nodes[i];
    const Element& e = t[n.element];
    Agraph_t* home = cluster_of(n.cluster);
    std::string name = svg_id(e.id);
    Agnode_t* v = agnode(home, mut(name.c_str()), 1);
    gnode[i] = v;
    set(v, "id", name);
    set(v, "label", node_label(t, n, options.level, status[n.element], failed[n.element]));
    if (e.kind == ElementKind::kEntrypoint) {
      set(v, "shape", "invhouse");
      set(v, "fillcolor", "#e3f2fd");
      set(v, "color", "#1565c0");
    } else if (e.kind == ElementKind::kService) {
      set(v, "style", "filled");
      set(v, "peripheries", "2");
    }
    std::string fill, pen;
    if (!n.tags.empty()) {
      const KindStyle& s = kind_style(n.tags.front());
      fill = s.fill;
      pen = s.pen;
      set(v, "color", pen);
      set(v, "penwidth", "2.5");
    }
    if (scenario) {
      // The scenario takes the fill; findings keep the border.
      fill = "";
      if (failed[n.element]) {
        fill = kFailedFill;
      } else if (status[n.element] == Status::kDown) {
        fill = kDownFill;
      } else if (status[n.element] == Status::kDegraded) {
        fill = kDegradedFill;
      }
      if (failed[n.element] || status[n.element] == Status::kDown) set(v, "fontcolor", "white");
    }
    if (!fill.empty()) set(v, "fillcolor", fill);
  }
  for (const auto& [from, to, style] : scene.edges) {
    Agedge_t* ed = agedge(g, gnode[from], gnode[to], nullptr, 1);
    switch (style) {
      case EdgeStyle::kHard:
        break;
      case EdgeStyle::kSoft:
        set(ed, "style", "dashed");
        break;
      case EdgeStyle::kEntry:
        set(ed, "color", "#1565c0");
        set(ed, "penwidth", "1.8");
        break;
      case EdgeStyle::kMember:
        set(ed, "style", "dotted");
        set(ed, "arrowhead", "odot");
        break;
    }
  }

  if (layout == "dot") fold_for_screen(g, scene, gnode);
  if (format == "dot") return write_dot(g);

  // SVG of a large graph: estimated text sizes (see context_with_estimated_text). PNG and
  // PDF need Cairo, which comes with Pango.
  GVC_t* gvc = large && format == "svg" ? estimated_text_context() : nullptr;
  if (!gvc) gvc = full_context();
  if (gvLayout(gvc, g, layout.c_str()) != 0)
    throw std::runtime_error("graphviz layout '" + layout + "' failed: " + graphviz.errors());
  // Towards a screen's aspect: a picture much wider than a screen (few ranks, many nodes
  // side by side) is laid out again left to right, and the one nearer 16:10 is kept. Only
  // for graphs small enough that a second layout costs little.
  if (layout == "dot" && scene.nodes.size() <= kSecondLayoutLimit && aspect(g) > 2.0) {
    double top_down = aspect(g);
    gvFreeLayout(gvc, g);
    set(g, "rankdir", "LR");
    if (gvLayout(gvc, g, layout.c_str()) != 0)
      throw std::runtime_error("graphviz layout '" + layout + "' failed: " + graphviz.errors());
    if (screen_distance(aspect(g)) > screen_distance(top_down)) {
      gvFreeLayout(gvc, g);
      set(g, "rankdir", "TB");
      if (gvLayout(gvc, g, layout.c_str()) != 0)
        throw std::runtime_error("graphviz layout '" + layout + "' failed: " + graphviz.errors());
    }
  }
  char* data = nullptr;
  unsigned int length = 0;
  int rc = gvRenderData(gvc, g, std::string(format).c_str(), &data, &length);
  std::string out;
  if (rc == 0 && data) out.assign(data, length);
  if (data) gvFreeRenderData(data);
  gvFreeLayout(gvc, g);
  if (rc != 0)
    throw std::runtime_error("graphviz could not render " + std::string(format) + ": " +
                             graphviz.errors());
  if (format == "svg" && layout == "dot") out = lift_cluster_labels(std::move(out));
  return out;
}

}  // namespace achilles::reports
