// The graph (cgraph + gvc) and the HTML report built on it.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/importers.h"
#include "achilles/analyzer/loader.h"
#include "achilles/common/diagnostic.h"
#include "achilles/reports/html.h"
#include "achilles/reports/render.h"

namespace {

using nlohmann::json;
namespace reports = achilles::reports;
using achilles::analyzer::Topology;

const std::string kGate = std::string(REPORTS_TEST_DATA) + "/gate.yaml";

json analysis_of(const Topology& t) {
  achilles::analyzer::AnalysisOptions o;
  o.order = 2;
  return achilles::analyzer::to_json(t, achilles::analyzer::analyze(t, o));
}

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("the output format comes from the file's extension", "[reports][render]") {
  CHECK(reports::format_for_path("a/b.svg") == "svg");
  CHECK(reports::format_for_path("B.PNG") == "png");
  CHECK(reports::format_for_path("x.pdf") == "pdf");
  CHECK(reports::format_for_path("x.gv") == "dot");
  CHECK_THROWS_WITH(reports::format_for_path("x.jpg"),
                    "achilles render: error: x.jpg: the output must end in .svg, .png, .pdf or "
                    ".dot");
}

TEST_CASE(
    "at the service level a service is one node with its members and quorum, in the "
    "deepest domain holding them",
    "[reports][render]") {
  auto t = achilles::analyzer::load_topology(kGate);
  std::string dot = reports::render(t, analysis_of(t), {}, "dot");
  CHECK(has(dot, "subgraph cluster_region {"));
  CHECK(has(dot, "subgraph cluster_az1 {"));
  // web-1 (az1) and web-2 (az2) fold into web, drawn in the region.
  CHECK(has(dot, "label=\"web\\n2, needs 1\\nweb-1 web-2\""));
  CHECK_FALSE(has(dot, "\"a-web-1\""));
  // Components in no service are drawn on their own, with their findings marked.
  CHECK(has(dot, "label=\"lb-1\\nloadbalancer\\n[SPOF]\""));
  CHECK(has(dot, "id=\"a-lb-1\""));
  // The zone that takes www down is a domain SPOF, drawn with a red border.
  CHECK(has(dot, "label=\"az1  (zone)  [DOMAIN SPOF]\""));
  auto ids = reports::drawn_ids(t, reports::Level::kService);
  CHECK(ids[*t.find("web-1")] == "a-web");
  CHECK(ids[*t.find("lb-1")] == "a-lb-1");
  CHECK(ids[*t.find("az1")] == "a-az1");
}

TEST_CASE("at the component level every component is a node and services link to members",
          "[reports][render]") {
  auto t = achilles::analyzer::load_topology(kGate);
  reports::RenderOptions o;
  o.level = reports::Level::kComponent;
  std::string dot = reports::render(t, analysis_of(t), o, "dot");
  CHECK(has(dot, "\"a-web-1\""));
  CHECK(has(dot, "\"a-web\" -> \"a-web-1\""));
  CHECK(has(dot, "arrowhead=odot"));
  CHECK(reports::drawn_ids(t, reports::Level::kComponent)[*t.find("web-1")] == "a-web-1");
}

TEST_CASE("a failure scenario draws its blast radius: failed, down and degraded, with a legend",
          "[reports][render]") {
  auto t = achilles::analyzer::load_topology(kGate);
  reports::RenderOptions o;
  o.failed = {*t.find("az2")};
  std::string dot = reports::render(t, analysis_of(t), o, "dot");
  CHECK(has(dot, "label=\"az2  (zone)  [DOMAIN SPOF]  FAILED\""));
  CHECK(has(dot, "label=\"batch-1\\n[SPOF]\\nDOWN\""));
  CHECK(has(dot, "label=\"web\\n2, needs 1\\nweb-1 web-2\\ndegraded\""));
  CHECK(has(dot, "Failing: az2"));
  CHECK(has(dot, ">degraded</font>"));
}

TEST_CASE("render lays out and writes SVG, PNG and PDF in process", "[reports][render]") {
  auto t = achilles::analyzer::load_topology(kGate);
  auto a = analysis_of(t);
  std::string svg = reports::render(t, a, {}, "svg");
  CHECK(has(svg, "<svg"));
  CHECK(has(svg, "<g id=\"a&#45;lb&#45;1\" class=\"node\">"));
  CHECK(has(svg, "<g id=\"a&#45;az1\" class=\"cluster\">"));
  CHECK(has(svg, ">gate</text>"));  // the title
  // Graphviz writes "-" as "&#45;" in SVG; browsers read the id as a-lb-1.
  std::string png = reports::render(t, a, {}, "png");
  REQUIRE(png.size() > 8);
  CHECK(png.substr(1, 3) == "PNG");
  CHECK(reports::render(t, a, {}, "pdf").rfind("%PDF", 0) == 0);
  reports::RenderOptions sfdp;
  sfdp.layout = "sfdp";
  CHECK(has(reports::render(t, a, sfdp, "svg"), "<g id=\"a&#45;lb&#45;1\" class=\"node\">"));
  reports::RenderOptions bad;
  bad.layout = "circo";
  CHECK_THROWS_WITH(reports::render(t, a, bad, "svg"),
                    "achilles render: error: --layout must be dot or sfdp, not 'circo'");
}

TEST_CASE(
    "the HTML report is self-contained and holds summary, graph, findings, availability "
    "and utilization",
    "[reports][html]") {
  auto t = achilles::analyzer::load_topology(kGate);
  auto a = analysis_of(t);
  std::string html = reports::format_html(t, a);
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK_FALSE(has(html, "<script src"));
  CHECK_FALSE(has(html, "<link"));
  CHECK_FALSE(has(html, "<?xml"));  // the SVG is inlined without its prolog
  CHECK(has(html, "<title>Achilles: gate</title>"));
  CHECK(has(html, "<span class=\"sev-critical\">6 critical</span>"));
  CHECK(has(html, "<g id=\"a&#45;lb&#45;1\" class=\"node\">"));
  size_t rows = 0;
  for (size_t p = html.find("<tr data-id="); p != std::string::npos;
       p = html.find("<tr data-id=", p + 1))
    ++rows;
  CHECK(rows == a["findings"].size());
  CHECK(has(html, "<tr data-id=\"spof:lb-1\" data-severity=\"critical\" data-kind=\"spof\">"));
  CHECK(has(html, "id=\"availability\""));
  CHECK(has(html, "id=\"utilization\""));
  // Blast radii for clicks, in the embedded data.
  auto start = html.find("<script type=\"application/json\" id=\"achilles-data\">");
  REQUIRE(start != std::string::npos);
  start = html.find('>', start) + 1;
  auto data = json::parse(html.substr(start, html.find("</script>", start) - start));
  REQUIRE(data["scenarios"].contains("az2"));
  const auto& az2 = data["scenarios"]["az2"];
  auto id_of = [&](size_t i) { return data["ids"][i].get<std::string>(); };
  REQUIRE(az2["failed"].size() == 1);
  CHECK(id_of(az2["failed"][0]) == "a-az2");
  std::set<std::string> down, degraded;
  for (const auto& i : az2["down"])
    down.insert(id_of(i));
  for (const auto& i : az2["degraded"])
    degraded.insert(id_of(i));
  CHECK(down == std::set<std::string>{"a-az2", "a-batch", "a-batch-1"});
  CHECK(degraded == std::set<std::string>{"a-lb-1", "a-web", "a-www"});
  CHECK(az2["summary"] ==
        "Failing az2: entrypoints down: batch; degraded: www; 2 components and 0 services "
        "down.");
  CHECK(data["scenarios"].contains("finding:cut_set:web-1+web-2"));
  CHECK(data["nodes"]["a-web"]["members"] == json::array({"web-1", "web-2"}));
}

TEST_CASE("the HTML report says what is not computed", "[reports][html]") {
  auto t = achilles::analyzer::load_topology(kGate);
  auto a = analysis_of(t);
  a["entrypoints"] = json::array({{{"id", "www"}, {"target", "lb-1"}}});
  a.erase("utilization");
  std::string html = reports::format_html(t, a);
  CHECK(has(html, "<td class=\"na\">not computed</td>"));
  CHECK(has(html, "Utilization not computed"));
  a["entrypoints"] = json::array({{{"id", "www"},
                                   {"target", "lb-1"},
                                   {"slo", 0.999},
                                   {"availability", 0.9995},
                                   {"method", "exact"}}});
  a["utilization"] =
      json::array({{{"id", "db-1"}, {"load", 900.0}, {"capacity", 1000.0}, {"utilization", 0.9}}});
  html = reports::format_html(t, a);
  CHECK(has(html, "99.95000%"));
  CHECK(has(html, "<span class=\"ok\">meets</span>"));
  CHECK(has(html,
            "<td>db-1</td><td class=\"num\">900</td><td class=\"num\">1000</td>"
            "<td class=\"num\">90%</td>"));
}

TEST_CASE("a graph too large for a page is left out of the report with a note", "[reports][html]") {
  auto t = achilles::analyzer::load_topology(kGate);
  reports::HtmlOptions o;
  o.max_graph_nodes = 3;
  std::string html = reports::format_html(t, analysis_of(t), o);
  CHECK_FALSE(has(html, "<svg"));
  CHECK(has(html, "too many for a page"));
}

TEST_CASE(
    "at the service level a member depended on directly or named by a finding has its own "
    "node, and a domain holding only a member is still drawn",
    "[reports][render]") {
  auto t = achilles::analyzer::load_topology(std::string(REPORTS_TEST_DATA) + "/blame.yaml");
  reports::RenderOptions o;
  o.failed = {*t.find("db-primary")};
  std::string dot = reports::render(t, analysis_of(t), o, "dot");
  // db-primary is its own node with its own tag; the service does not carry it.
  CHECK(has(dot, "label=\"db-primary\\ndatabase\\n[SPOF]\\nFAILED\""));
  CHECK(has(dot, "label=\"db-read\\n2, needs 1\\ndb-primary db-replica\\ndegraded\""));
  CHECK(has(dot, "\"a-app\" -> \"a-db-primary\";"));
  CHECK(has(dot, "\"a-db-read\" -> \"a-db-primary\"\t[arrowhead=odot,"));
  // west holds only cache-2, a member of cache: drawn, with cache-2 in it.
  CHECK(has(dot, "label=\"west  (region)\""));
  CHECK(has(dot, "label=\"cache-2\\ncache\""));
  auto ids = reports::drawn_ids(t, reports::Level::kService, analysis_of(t));
  CHECK(ids[*t.find("db-primary")] == "a-db-primary");
  CHECK(ids[*t.find("db-replica")] == "a-db-read");
  CHECK(ids[*t.find("cache-1")] == "a-cache");
  CHECK(ids[*t.find("cache-2")] == "a-cache-2");
}

TEST_CASE("the legend shows only what the picture uses", "[reports][render]") {
  auto t = achilles::analyzer::load_topology(std::string(REPORTS_TEST_DATA) + "/blame.yaml");
  reports::RenderOptions o;
  std::string plain = reports::render(t, analysis_of(t), o, "dot");
  CHECK_FALSE(has(plain, ">failed<"));
  CHECK(has(plain,
            "<td><font point-size=\"11\">- - soft dependency</font></td><td><font "
            "point-size=\"11\">\u00b7\u00b7\u00b7o member of a service</font></td>"));
  CHECK(has(plain, ">entrypoint<"));
  // Failing db-replica: nothing goes down, db-read is degraded.
  o.failed = {*t.find("db-replica")};
  std::string scenario = reports::render(t, analysis_of(t), o, "dot");
  CHECK(has(scenario,
            "color=\"white\">failed</font></td><td bgcolor=\"#fff176\" "
            "color=\"#f9a825\" border=\"2\"><font point-size=\"11\" "
            "color=\"black\">degraded</font></td>"));
  CHECK_FALSE(has(scenario, ">down<"));
  // Without entrypoints there is no entrypoint in the legend.
  auto bare = t;
  bare.elements.pop_back();
  std::string none = reports::render(bare, json::object(), {}, "dot");
  CHECK_FALSE(has(none, ">entrypoint<"));
}

TEST_CASE("a wide estate is laid out towards a screen's aspect, not as one long row",
          "[reports][render]") {
  // Top-down, campaign-2012 came out 3.5:1 (its ranks are few and wide).
  auto t =
      achilles::analyzer::load_topology(std::string(ACHILLES_TOPOLOGIES) + "/campaign-2012.yaml");
  std::string svg = reports::render(t, analysis_of(t), {}, "svg");
  auto at = svg.find("<svg width=\"");
  REQUIRE(at != std::string::npos);
  double width = std::stod(svg.substr(at + 12));
  double height = std::stod(svg.substr(svg.find("height=\"", at) + 8));
  INFO(width << " x " << height);
  CHECK(width / height < 2.0);
  CHECK(width / height > 0.8);
  // Many unconnected nodes are folded into columns rather than one row.
  std::string yaml = "version: 1\ncomponents:\n";
  for (int i = 0; i < 16; ++i)
    yaml += "  - {id: c" + std::to_string(i) + "}\n";
  std::string path = "/tmp/achilles-render-alone.yaml";
  std::ofstream(path) << yaml;
  auto alone = achilles::analyzer::load_topology(path);
  std::remove(path.c_str());
  std::string dot = reports::render(alone, json::object(), {}, "dot");
  // Four columns of four: c0 -> c1 -> c2 -> c3, then c4 starts the next.
  CHECK(has(dot, "\"a-c0\" -> \"a-c1\"\t[key=fold,\n\t\tarrowhead=none,\n\t\tstyle=invis];"));
  CHECK(has(dot, "\"a-c2\" -> \"a-c3\"\t[key=fold,"));
  CHECK_FALSE(has(dot, "\"a-c3\" -> \"a-c4\""));
  CHECK(has(dot, "\"a-c4\" -> \"a-c5\"\t[key=fold,"));
}

TEST_CASE("cluster labels are drawn after the edges, with a halo, so arrowheads cannot cover them",
          "[reports][render]") {
  auto t = achilles::analyzer::load_topology(kGate);
  std::string svg = reports::render(t, analysis_of(t), {}, "svg");
  auto cluster = svg.find("<g id=\"a&#45;az1\" class=\"cluster\">");
  REQUIRE(cluster != std::string::npos);
  auto end = svg.find("</g>", cluster);
  CHECK(svg.substr(cluster, end - cluster).find("<text") == std::string::npos);
  auto labels = svg.find("<g class=\"cluster-labels\">\n");
  REQUIRE(labels != std::string::npos);
  CHECK(labels > svg.rfind("class=\"edge\""));
  CHECK(svg.find("<text class=\"cluster-label\" stroke=\"#ffffff\" stroke-width=\"3\" "
                 "stroke-linejoin=\"round\" paint-order=\"stroke\" text-anchor=",
                 labels) != std::string::npos);
  CHECK(svg.find("az1 &#160;(zone) &#160;[DOMAIN SPOF]</text>", labels) != std::string::npos);
  CHECK(svg.substr(svg.size() - 17) == "</g>\n</g>\n</svg>\n");
}

TEST_CASE("Rendering and importing DOT from several threads at once give what one thread gives",
          "[reports][render][threads]") {
  // Graphviz is not thread-safe: every use of it holds the one GraphvizSession lock, so the
  // public functions may be called from any thread. Without it, cgraph's global lexer and
  // error callback are shared, and this crashes or garbles the output.
  auto t = achilles::analyzer::load_topology(kGate);
  const json a = analysis_of(t);
  const std::string dot_text =
      "digraph estate {\n  lb -> web1; lb -> web2;\n  web1 -> db; web2 -> db;\n"
      "  lb [label=\"edge load balancer\"];\n}\n";
  // The SVG's lines, sorted: Graphviz may write the clusters of one picture in another order
  // from one call to the next in a process (its graph ids count on).
  auto lines = [](const std::string& text) {
    std::vector<std::string> v;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
      v.push_back(line);
    std::sort(v.begin(), v.end());
    return v;
  };
  const auto svg = lines(reports::render(t, a, {}, "svg"));
  const std::size_t ids = achilles::analyzer::import_dot_text(dot_text, "estate.dot").size();
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (int i = 0; i < 6; ++i) {
        if ((i + k) % 2 == 0) {
          if (lines(reports::render(t, a, {}, "svg")) != svg) ++wrong;
        } else {
          if (achilles::analyzer::import_dot_text(dot_text, "estate.dot").size() != ids) ++wrong;
        }
      }
    });
  for (auto& th : threads)
    th.join();
  CHECK(wrong == 0);
}
