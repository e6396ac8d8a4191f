// One file past 500 lines: one self-contained HTML page (its styles, its script, the graph and its
// blast radii) written in the order a reader meets it.
#include "achilles/reports/html.h"
#include "achilles/common/markup.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/status.h"
#include "achilles/analyzer/whatif.h"
#include "achilles/common/text.h"
#include "achilles/reports/order.h"
#include "achilles/reports/summary.h"
#include "graph_style.h"

namespace achilles::reports {

using analyzer::ElementId;
using analyzer::ElementKind;
using analyzer::Status;
using analyzer::Topology;
using nlohmann::json;

namespace {

using ::achilles::common::markup_escape;

/// A JSON list's items with `sep` between them: strings as they are, other values as JSON.
std::string join(const json& list, std::string_view sep) {
  return common::join(
      list, sep, [](const json& x) { return x.is_string() ? x.get<std::string>() : x.dump(); });
}

/// JSON safe inside a <script> element: no `<` can close it.
std::string script_json(const json& j) {
  std::string text = j.dump();
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '<')
      out += "\\u003c";
    else
      out += c;
  }
  return out;
}

const char* const kSeverities[] = {"critical", "high", "medium", "low"};

/// The page's style: plain, printable, readable on a projector.
constexpr const char* kCss = R"css(
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#1f2933;background:#fff}
header{padding:18px 28px;background:#263238;color:#fff}
header h1{margin:0;font-size:24px}header p{margin:4px 0 0;color:#cfd8dc}
main{padding:8px 28px 40px;max-width:1500px}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e0e6eb;padding-bottom:4px}
.badges span{display:inline-block;padding:4px 10px;margin:0 6px 6px 0;border-radius:12px;font-weight:600}
.sev-critical{background:#b71c1c;color:#fff}.sev-high{background:#e65100;color:#fff}
.sev-medium{background:#f9a825;color:#000}.sev-low{background:#90a4ae;color:#000}.sev-none{background:#2e7d32;color:#fff}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e6ebef;vertical-align:top}
th{background:#f4f6f8;position:sticky;top:0}
#findings th{cursor:pointer;user-select:none}#findings th:after{content:" \2195";color:#9aa5b1}
#findings tbody tr{cursor:pointer}#findings tbody tr:hover{background:#f1f8ff}
#findings tbody tr.sel{background:#e3f2fd}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.filters{display:flex;gap:8px;flex-wrap:wrap;margin:6px 0}
.filters input,.filters select{font:inherit;padding:4px 6px}
#graph-wrap{border:1px solid #e0e6eb;overflow:hidden;height:72vh;min-height:360px;position:relative;background:#fff;touch-action:none;cursor:grab}
#graph-wrap.dragging{cursor:grabbing}
#graph-wrap svg{width:100%;height:100%;display:block}
.graph-tools{display:flex;gap:6px;align-items:center;margin:6px 0}
.graph-tools button,.graph-tools a{font:inherit;padding:2px 8px}
#graph-wrap g.node,#graph-wrap g.cluster{cursor:pointer}
#blast{min-height:2.6em;padding:6px 10px;background:#f4f6f8;border-left:4px solid #546e7a;margin:6px 0}
#blast button{font:inherit;margin:2px 4px 2px 0;padding:1px 6px}
.ok{color:#2e7d32;font-weight:600}.bad{color:#b71c1c;font-weight:600}.na{color:#6b7785}
.muted{color:#6b7785}
#plan-steps td:first-child{font-weight:600}#plan-steps code{white-space:pre-wrap;word-break:break-word}
#plan details summary{cursor:pointer;color:#1565c0}#plan details{margin-top:2px}
#plan .totals{font-size:15px}#plan-steps td:nth-child(4),#plan-steps td:nth-child(5){white-space:nowrap}
#worst li{margin:0 0 6px}#worst b{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px}
.warning{padding:6px 10px;background:#fff8e1;border-left:4px solid #f9a825}
code{font-size:13px}
)css";

/// The page's behaviour: the sortable, filterable table and the blast radius on the graph.
constexpr const char* kScript = R"js(
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("achilles-data").textContent);
  var svg = document.querySelector("#graph-wrap svg");
  var blast = document.getElementById("blast");
  var fills = new Map();
  function shapes(g) { return g.querySelectorAll(":scope > polygon, :scope > path, :scope > ellipse"); }
  function paint(id, fill, ink) {
    var g = svg && document.getElementById(id);
    if (!g) return;
    shapes(g).forEach(function (s) {
      if (!fills.has(s)) fills.set(s, s.getAttribute("fill"));
      if (s.getAttribute("fill") !== "none" || g.classList.contains("cluster")) s.setAttribute("fill", fill);
    });
    g.querySelectorAll(":scope > text").forEach(function (t) {
      if (!fills.has(t)) fills.set(t, t.getAttribute("fill"));
      t.setAttribute("fill", ink);
    });
  }
  function clear() {
    fills.forEach(function (v, s) { if (v === null) s.removeAttribute("fill"); else s.setAttribute("fill", v); });
    fills.clear();
  }
  function text(s) { var span = document.createElement("span"); span.textContent = s; return span; }
  function show(key) {
    clear();
    var sc = data.scenarios[key];
    blast.textContent = "";
    if (!sc) { blast.appendChild(text("No blast radius precomputed for " + key + ".")); return; }
    sc.degraded.forEach(function (i) { paint(data.ids[i], data.colors.degraded, "#000"); });
    sc.down.forEach(function (i) { paint(data.ids[i], data.colors.down, "#fff"); });
    sc.failed.forEach(function (i) { paint(data.ids[i], data.colors.failed, "#fff"); });
    blast.appendChild(text(sc.summary + " "));
    var b = document.createElement("button");
    b.textContent = "clear";
    b.addEventListener("click", function () { clear(); blast.textContent = "Click a component, service or failure domain on the graph, or a finding in the table."; });
    blast.appendChild(b);
  }
  function pick(id) {
    var info = data.nodes[id];
    if (!info) return;
    if (data.scenarios[info.id]) { show(info.id); return; }
    clear();
    blast.textContent = "";
    if (info.members && info.members.length) {
      blast.appendChild(text(info.id + " (" + info.kind + "): fail one member: "));
      info.members.forEach(function (m) {
        var b = document.createElement("button");
        b.textContent = m;
        b.disabled = !data.scenarios[m];
        b.addEventListener("click", function () { show(m); });
        blast.appendChild(b);
      });
    } else {
      blast.appendChild(text(info.id + " (" + info.kind + ")" + (info.note ? ": " + info.note : "")));
    }
  }
  // Pan and zoom: the wheel zooms around the pointer, a drag pans, "fit" shows it all, "full
  // size" opens the picture alone at its own size. All by the SVG's viewBox; nothing fetched.
  var dragged = false;
  if (svg) {
    var wrap = document.getElementById("graph-wrap");
    var base = svg.viewBox.baseVal;
    var whole = {x: base.x, y: base.y, w: base.width, h: base.height};
    var view = {x: whole.x, y: whole.y, w: whole.w, h: whole.h};
    var original = new XMLSerializer().serializeToString(svg);
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    function apply() {
      svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].join(" "));
      wrap.setAttribute("data-zoom", (whole.w / view.w).toFixed(2));
    }
    function fit() { view = {x: whole.x, y: whole.y, w: whole.w, h: whole.h}; apply(); }
    // The SVG point under a client position, and SVG units per pixel.
    function at(cx, cy) {
      var r = svg.getBoundingClientRect();
      var s = Math.max(view.w / r.width, view.h / r.height);
      return {x: view.x - (r.width * s - view.w) / 2 + (cx - r.left) * s,
              y: view.y - (r.height * s - view.h) / 2 + (cy - r.top) * s, s: s};
    }
    function zoom(f, p) {
      var w = Math.min(Math.max(view.w * f, whole.w / 40), whole.w * 4);
      f = w / view.w;
      view = {x: p.x - (p.x - view.x) * f, y: p.y - (p.y - view.y) * f, w: view.w * f, h: view.h * f};
      apply();
    }
    function centre() { return {x: view.x + view.w / 2, y: view.y + view.h / 2}; }
    wrap.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      zoom(ev.deltaY < 0 ? 0.8 : 1.25, at(ev.clientX, ev.clientY));
    }, {passive: false});
    var start = null;
    wrap.addEventListener("pointerdown", function (ev) {
      if (ev.button !== 0) return;
      start = {x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y, s: at(ev.clientX, ev.clientY).s};
      dragged = false;
    });
    window.addEventListener("pointermove", function (ev) {
      if (!start) return;
      var dx = ev.clientX - start.x, dy = ev.clientY - start.y;
      if (!dragged && Math.abs(dx) + Math.abs(dy) < 4) return;
      dragged = true;
      wrap.classList.add("dragging");
      view.x = start.vx - dx * start.s;
      view.y = start.vy - dy * start.s;
      apply();
    });
    window.addEventListener("pointerup", function () { start = null; wrap.classList.remove("dragging"); });
    document.getElementById("graph-fit").addEventListener("click", fit);
    document.getElementById("graph-in").addEventListener("click", function () { zoom(0.8, centre()); });
    document.getElementById("graph-out").addEventListener("click", function () { zoom(1.25, centre()); });
    var full = document.getElementById("graph-full");
    full.href = URL.createObjectURL(new Blob([original], {type: "image/svg+xml"}));
    fit();
    // A link can open the graph zoomed: report.html#zoom=3 (with #blast=..., after a &).
    var z = /zoom=([0-9.]+)/.exec(location.hash);
    if (z && parseFloat(z[1]) > 0) zoom(1 / parseFloat(z[1]), centre());
    svg.addEventListener("click", function (ev) {
      if (dragged) { dragged = false; return; }
      var g = ev.target.closest("g.node, g.cluster");
      if (g) pick(g.id);
    });
  }
  // The findings table: click a header to sort, type or choose to filter, click a row.
  var table = document.querySelector("#findings table");
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var dir = {};
  table.tHead.rows[0].querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      dir[col] = -(dir[col] || -1);
      rows.sort(function (a, b) {
        var x = a.cells[col].dataset.sort || a.cells[col].textContent;
        var y = b.cells[col].dataset.sort || b.cells[col].textContent;
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return c * dir[col];
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  var q = document.getElementById("filter-text");
  var sev = document.getElementById("filter-severity");
  var kind = document.getElementById("filter-kind");
  var count = document.getElementById("filter-count");
  function filter() {
    var needle = q.value.toLowerCase(), shown = 0;
    rows.forEach(function (r) {
      var ok = (!needle || r.textContent.toLowerCase().indexOf(needle) >= 0) &&
               (!sev.value || r.dataset.severity === sev.value) &&
               (!kind.value || r.dataset.kind === kind.value);
      r.hidden = !ok;
      if (ok) shown++;
    });
    count.textContent = shown + " of " + rows.length + " shown";
  }
  [q, sev, kind].forEach(function (el) { el.addEventListener("input", filter); });
  rows.forEach(function (r) {
    r.addEventListener("click", function () {
      rows.forEach(function (x) { x.classList.remove("sel"); });
      r.classList.add("sel");
      show("finding:" + r.dataset.id);
      if (svg) document.getElementById("graph").scrollIntoView({behavior: "smooth"});
    });
  });
  filter();
  // A link can open on a scenario: report.html#blast=euw1-az1.
  var blastLink = /^#blast=([^&]*)/.exec(location.hash);
  if (blastLink) show(decodeURIComponent(blastLink[1]));
  document.body.setAttribute("data-ready", "1");
})();
)js";

/// "3 components" or "1 component".
std::string plural(size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

/// "2 entrypoints, 4 services and 4 components down", or empty when nothing is.
std::string down_text(const json& impact) {
  std::vector<std::string> parts;
  size_t eps = impact.value("entrypoints_down", json::array()).size();
  size_t services = impact.value("services_down", size_t{0});
  size_t components = impact.value("components_down", size_t{0});
  if (eps) parts.push_back(plural(eps, "entrypoint"));
  if (services) parts.push_back(plural(services, "service"));
  if (components) parts.push_back(plural(components, "component"));
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i)
    out += (i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ") + parts[i];
  return out.empty() ? out : out + " down";
}

/// The explanation, unless it says no more than the subject's own name (an slo_risk's).
std::string why_text(const json& f) {
  const json why = f.value("explanation", json::array());
  const json subject = f.value("subject", json::array());
  if (why.empty() || (why.size() == 1 && subject.size() == 1 && why[0] == subject[0])) return "";
  return explanation_line(f, " \u2192 ");
}

/// What a scenario does, in one sentence.
std::string scenario_summary(const Topology& t, const std::vector<ElementId>& failed,
                             const std::vector<Status>& status) {
  std::vector<std::string> names, down, degraded;
  for (ElementId f : failed)
    names.push_back(t[f].id);
  size_t components = 0, services = 0;
  for (ElementId x = 0; x < t.size(); ++x) {
    if (status[x] == Status::kUp) continue;
    const auto& e = t[x];
    if (e.kind == ElementKind::kEntrypoint)
      (status[x] == Status::kDown ? down : degraded).push_back(e.id);
    if (status[x] != Status::kDown) continue;
    if (e.kind == ElementKind::kComponent) ++components;
    if (e.kind == ElementKind::kService) ++services;
  }
  std::string s = "Failing " + join(json(names), " + ") + ": ";
  s += down.empty() ? "no entrypoint down" : "entrypoints down: " + join(json(down), ", ");
  if (!degraded.empty()) s += "; degraded: " + join(json(degraded), ", ");
  s += "; " + std::to_string(components) + " component" + (components == 1 ? "" : "s") + " and " +
       std::to_string(services) + " service" + (services == 1 ? "" : "s") + " down.";
  return s;
}

/// A fragment link to `id`'s anchor: characters a URL fragment cannot hold percent-encoded
/// (a browser decodes them again to find the element).
std::string fragment(std::string_view prefix, std::string_view id) {
  std::string out = "#";
  out += prefix;
  for (unsigned char c : id) {
    if (std::isalnum(c) || (c != 0 && std::strchr("-._~:@!$'()*+,;=/?", c)))
      out += static_cast<char>(c);
    else
      out += common::format("%%%02X", c);
  }
  return markup_escape(out);
}

std::string percent(double x) {
  return common::format("%.5f%%", x * 100);
}

/// "What to do first": a measured plan, change by change, then its totals and each
/// entrypoint's availability before and after. Findings the page lists (the original
/// topology's) are linked to their row in the findings table, a change's risk group to the
/// row of its first finding.
std::string plan_section(const json& analysis, const analyzer::Plan& plan,
                         const HtmlOptions& options) {
  std::set<std::string> findings;
  for (const auto& f : analysis.value("findings", json::array()))
    findings.insert(f.value("id", ""));
  std::map<std::string, std::string> groups;  // fix -> its first finding (by fix only)
  for (const auto& g : analysis.value("groups", json::array())) {
    const json ids = g.is_object() ? g.value("findings", json::array()) : json::array();
    if (g.contains("team") || ids.empty() || !ids[0].is_string()) continue;
    groups.emplace(g.value("fix", ""), ids[0].get<std::string>());
  }
  auto finding_link = [&](const std::string& id) {
    if (!findings.count(id)) return "<code>" + markup_escape(id) + "</code>";
    return "<a href=\"" + fragment("finding-", id) + "\"><code>" + markup_escape(id) +
           "</code></a>";
  };
  const analyzer::HarmCounts& before = plan.before;
  const analyzer::HarmCounts& after = plan.steps.empty() ? before : plan.steps.back().after;
  const size_t entries = analyzer::plan_entries(plan);
  auto arrow = [](size_t x, size_t y) {
    return std::to_string(x) + " &rarr; " + std::to_string(y);
  };
  std::ostringstream out;
  out << "<section id=\"plan\"><h2>What to do first</h2>";
  out << "<p>" << plural(plan.steps.size(), "change");
  if (entries != plan.steps.size()) out << " (" << entries << " overlay entries)";
  out << (options.plan_from.empty() ? "" : " from " + markup_escape(options.plan_from))
      << ", each measured by re-analysis of this topology with every change above it "
         "applied: what it resolves is what the analysis of the changed topology shows, not "
         "an estimate.</p>";
  if (plan.steps.empty()) {
    out << (options.plan_from.rfind("achilles recommend", 0) == 0
                ? "<p id=\"plan-none\">No change drawn from the findings removes a critical "
                  "finding, an entrypoint down or a high finding.</p>"
                : "<p id=\"plan-none\">The plan holds no change.</p>");
  } else {
    out << "<p class=\"totals\" id=\"plan-totals\">Critical findings <b>"
        << arrow(before.critical, after.critical) << "</b>";
    if (before.critical > 0 && after.critical != before.critical)
      out << common::format(after.critical < before.critical ? " (%.0f%% fewer)" : " (%.0f%% more)",
                            100.0 * std::abs(double(before.critical) - double(after.critical)) /
                                double(before.critical));
    out << "; high findings " << arrow(before.high, after.high) << "; all findings "
        << arrow(before.findings, after.findings) << "; entrypoints down "
        << arrow(before.entrypoints_down, after.entrypoints_down) << ".</p>";
    out << "<table id=\"plan-steps\"><thead><tr><th>#</th><th>change</th><th>why</th>"
           "<th>critical</th><th>entrypoints down</th><th>resolved</th><th>introduced</th>"
           "</tr></thead><tbody>";
    analyzer::HarmCounts last = before;
    for (size_t i = 0; i < plan.steps.size(); ++i) {
      const analyzer::PlanStep& s = plan.steps[i];
      out << "<tr id=\"plan-" << i + 1 << "\"><td>" << i + 1 << "</td><td>";
      if (s.changes.size() == 1) {
        out << "<code>" << markup_escape(analyzer::change_line(s.changes[0])) << "</code>";
      } else {
        out << "<b>" << markup_escape(s.kind) << "</b>: " << s.changes.size()
            << " overlay entries, measured together<details"
            << (s.changes.size() <= 5 ? " open" : "") << "><summary>the entries</summary>";
        for (const auto& c : s.changes)
          out << "<code>" << markup_escape(analyzer::change_line(c)) << "</code><br>";
        out << "</details>";
      }
      out << "</td><td>" << markup_escape(s.reason);
      if (!s.group.empty()) {
        if (findings.count(s.group))
          out << " (" << finding_link(s.group) << ")";
        else if (auto g = groups.find(s.group); g != groups.end() && findings.count(g->second))
          out << " (risk group <code>" << markup_escape(s.group)
              << "</code>: " << finding_link(g->second) << ")";
      }
      out << "</td><td>" << arrow(last.critical, s.after.critical) << "</td><td>"
          << arrow(last.entrypoints_down, s.after.entrypoints_down) << "</td><td>"
          << plural(s.resolved.size(), "finding");
      if (!s.resolved.empty()) {
        out << "<details><summary>which</summary>";
        for (size_t k = 0; k < s.resolved.size(); ++k)
          out << (k ? ", " : "") << finding_link(s.resolved[k]);
        out << "</details>";
      }
      out << "</td><td>" << plural(s.introduced.size(), "finding");
      if (!s.introduced.empty()) {
        out << "<details><summary>which</summary>";
        for (size_t k = 0; k < s.introduced.size(); ++k)
          out << (k ? ", " : "") << "<code>" << markup_escape(s.introduced[k]) << "</code>";
        out << "</details>";
      }
      out << "</td></tr>";
      last = s.after;
    }
    out << "</tbody></table>";
  }
  // Availability: the entrypoints whose figure the plan changes.
  std::vector<const analyzer::AvailabilityChange*> moved;
  for (const auto& a : plan.availability)
    if (a.before != a.after) moved.push_back(&a);
  std::map<std::string, double> slo;
  for (const auto& e : analysis.value("entrypoints", json::array()))
    if (e.contains("slo") && e["slo"].is_number()) slo[e.value("id", "")] = e["slo"].get<double>();
  if (!moved.empty()) {
    out << "<p>Availability of the entrypoints the plan changes:</p><table "
           "id=\"plan-availability\"><thead><tr><th>entrypoint</th><th>objective (slo)</th>"
           "<th>before</th><th>after</th></tr></thead><tbody>";
    auto cell = [&](const std::optional<double>& x, const std::string& id) {
      if (!x) return std::string("<td class=\"na\">-</td>");
      auto o = slo.find(id);
      if (o == slo.end()) return "<td>" + percent(*x) + "</td>";
      return std::string(*x >= o->second ? "<td class=\"ok\">" : "<td class=\"bad\">") +
             percent(*x) + "</td>";
    };
    for (const auto* a : moved) {
      auto o = slo.find(a->id);
      out << "<tr><td>" << markup_escape(a->id) << "</td><td>"
          << (o == slo.end() ? std::string("none") : common::format("%.4g%%", o->second * 100))
          << "</td>" << cell(a->before, a->id) << cell(a->after, a->id) << "</tr>";
    }
    out << "</tbody></table>";
    if (plan.availability.size() > moved.size())
      out << "<p class=\"muted\">" << plural(plan.availability.size() - moved.size(), "entrypoint")
          << " with the same availability after the plan.</p>";
  } else if (!plan.availability.empty() && plan.availability[0].before) {
    out << "<p class=\"muted\">The plan changes no entrypoint's availability.</p>";
  }
  if (!options.plan_check.empty())
    out << "<p class=\"muted\">Check it: <code>" << markup_escape(options.plan_check)
        << "</code></p>";
  out << "</section>\n";
  return out.str();
}

}  // namespace

std::string format_html(const Topology& t, const json& analysis, const HtmlOptions& options) {
  const json findings = analysis.value("findings", json::array());
  std::string title = t.name.empty() ? (t.file.empty() ? "topology" : t.file) : t.name;
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      << "<title>Achilles: " << markup_escape(title) << "</title>\n<style>" << kCss << "</style>\n"
      << "<script>window.addEventListener(\"error\",function(e){document.documentElement."
         "setAttribute(\"data-errors\",(document.documentElement.getAttribute(\"data-errors\")"
         "||\"\")+e.message+\";\");});</script>\n"
      << "</head>\n<body>\n<header><h1>" << markup_escape(title) << "</h1><p>"
      << plural(t.count(ElementKind::kComponent), "component") << ", "
      << plural(t.count(ElementKind::kService), "service") << ", "
      << plural(t.count(ElementKind::kDomain), "failure domain") << ", "
      << plural(t.count(ElementKind::kEntrypoint), "entrypoint")
      << (t.file.empty() ? "" : " &middot; " + markup_escape(t.file)) << "</p></header>\n<main>\n";

  // ---- Summary --------------------------------------------------------------------------
  std::map<std::string, size_t> by_severity;
  for (const auto& f : findings)
    ++by_severity[f.value("severity", "")];
  const bool no_entrypoints = t.count(ElementKind::kEntrypoint) == 0;
  out << "<section id=\"summary\"><h2>Summary</h2><div class=\"badges\">";
  if (no_entrypoints)
    out << "<span class=\"sev-medium\">no entrypoints</span>";
  else if (findings.empty())
    out << "<span class=\"sev-none\">no findings</span>";
  for (const char* s : kSeverities)
    if (by_severity[s])
      out << "<span class=\"sev-" << s << "\">" << by_severity[s] << " " << s << "</span>";
  out << "</div>\n";
  if (no_entrypoints)
    out << "<p class=\"warning\" id=\"no-entrypoints\"><b>Warning:</b> "
        << markup_escape(kNoEntrypoints)
        << ". Declare the entrypoints users come in by (see docs/topology.md).</p>\n";
  // The worst risks are the first five risk groups (spec whatif.md): what to change, most
  // harmful first, each with its findings. A document without groups (written before
  // them) shows the first five findings of the harm order (order.h), one per subject.
  const auto order = harm_order(t, findings);
  const json groups = analysis.value("groups", json::array());
  if (!findings.empty() && groups.is_array() && !groups.empty()) {
    out << "<p>The worst risks, what to change first (" << groups.size() << " risk group"
        << (groups.size() == 1 ? "" : "s") << " for " << findings.size() << " finding"
        << (findings.size() == 1 ? "" : "s") << "):</p><ol id=\"worst\">";
    size_t listed = 0;
    for (const auto& g : groups) {
      if (listed == 5) break;
      if (!g.is_object()) continue;
      ++listed;
      std::string summary = g.value("summary", "");
      std::string name = g.value("fix", "");
      if (g.contains("team")) name = g["team"].is_string() ? g["team"].get<std::string>() : "";
      out << "<li><b class=\"sev-" << markup_escape(g.value("severity", "")) << "\">"
          << markup_escape(g.value("severity", "")) << "</b> ";
      if (!name.empty() && summary.compare(0, name.size(), name) == 0)
        out << "<code>" << markup_escape(name) << "</code>"
            << markup_escape(summary.substr(name.size()));
      else
        out << markup_escape(summary);
      const json down = g.value("entrypoints_down", json::array());
      if (!down.empty()) {
        std::vector<std::string> eps;
        for (const auto& e : down)
          if (e.is_string()) eps.push_back(e.get<std::string>());
        out << " (" << markup_escape(common::join(eps, ", ")) << " down)";
      }
      const json ids = g.value("findings", json::array());
      std::vector<std::string> shown;
      for (size_t k = 0; k < ids.size() && k < 3; ++k)
        if (ids[k].is_string()) shown.push_back(ids[k].get<std::string>());
      out << "<br><span class=\"muted\">" << markup_escape(common::join(shown, ", "));
      if (ids.size() > shown.size()) out << " and " << ids.size() - shown.size() << " more";
      out << "</span></li>";
    }
    out << "</ol>";
    if (groups.size() > listed)
      out << "<p class=\"muted\">and " << groups.size() - listed
          << " more risk groups; every finding is in the table below.</p>";
  } else if (!findings.empty()) {
    out << "<p>The worst risks, most harmful first:</p><ul id=\"worst\">";
    std::set<json> subjects;
    size_t listed = 0;
    for (size_t i : order) {
      if (listed == 5) break;
      const auto& f = findings[i];
      if (!subjects.insert(f.value("subject", json::array())).second) continue;
      ++listed;
      out << "<li><b>" << markup_escape(f.value("severity", "")) << "</b> <code>"
          << markup_escape(f.value("id", ""))
          << "</code>: " << markup_escape(f.value("message", ""));
      std::string down = down_text(f.value("impact", json::object()));
      if (!down.empty()) out << " (" << markup_escape(down) << ")";
      out << "</li>";
    }
    out << "</ul>";
    if (findings.size() > listed)
      out << "<p class=\"muted\">and " << findings.size() - listed
          << " more in the table below.</p>";
  }
  // What to fix first, as `analyze` says it: per entrypoint, the largest gains.
  std::vector<std::string> fixes;
  for (const auto& e : analysis.value("entrypoints", json::array())) {
    const json imp = e.value("importance", json::array());
    if (imp.empty()) continue;
    std::string line = "<li><code>" + markup_escape(e.value("id", "")) + "</code>: ";
    for (size_t k = 0; k < imp.size() && k < 3; ++k)
      line += (k ? ", " : "") + std::string("<code>") + markup_escape(imp[k].value("id", "")) +
              "</code> +" + common::format("%.3g", imp[k].value("gain", 0.0));
    fixes.push_back(line + "</li>");
  }
  if (!fixes.empty()) {
    out << "<p>Fix first (the availability each entrypoint gains if it never failed):</p>"
           "<ul id=\"fix-first\">";
    for (const auto& f : fixes)
      out << f;
    out << "</ul>";
  }
  out << "</section>\n";
  if (options.plan) out << plan_section(analysis, *options.plan, options);

  // ---- Graph and blast radii ------------------------------------------------------------
  auto drawn = drawn_ids(t, options.level, analysis);
  std::set<std::string> node_ids;
  for (ElementId x = 0; x < t.size(); ++x)
    if (t[x].kind != ElementKind::kDomain) node_ids.insert(drawn[x]);
  bool draw = node_ids.size() <= options.max_graph_nodes;
  json data;
  data["colors"] = {{"failed", kFailedFill}, {"down", kDownFill}, {"degraded", kDegradedFill}};
  json ids = json::array();
  json nodes = json::object();
  json scenarios = json::object();
  out << "<section id=\"graph\"><h2>Graph</h2>";
  if (draw) {
    RenderOptions ro;
    ro.level = options.level;
    std::string svg = render(t, analysis, ro, "svg");
    auto start = svg.find("<svg");
    if (start != std::string::npos) svg = svg.substr(start);

    // The elements that own a node or cluster, and the index of that id.
    std::vector<ElementId> owners;
    std::map<std::string, size_t> index;
    for (ElementId x = 0; x < t.size(); ++x) {
      if (drawn[x] != svg_id(t[x].id)) continue;
      owners.push_back(x);
      index[drawn[x]] = ids.size();
      ids.push_back(drawn[x]);
      json info = {{"id", t[x].id}, {"kind", std::string(to_string(t[x].kind))}};
      if (t[x].kind == ElementKind::kService) {
        json members = json::array();
        for (ElementId m : t[x].members)
          members.push_back(t[m].id);
        info["members"] = members;
      }
      if (t[x].kind == ElementKind::kEntrypoint)
        info["note"] = "sends users to " + t[t[x].target].id;
      nodes[drawn[x]] = std::move(info);
    }
    auto add_scenario = [&](const std::string& key, const std::vector<ElementId>& failed) {
      auto status = analyzer::evaluate(t, failed);
      json sc = {{"failed", json::array()}, {"down", json::array()}, {"degraded", json::array()}};
      for (ElementId f : failed)
        if (drawn[f] == svg_id(t[f].id)) sc["failed"].push_back(index[drawn[f]]);
      for (ElementId x : owners) {
        if (status[x] == Status::kDown) sc["down"].push_back(index[drawn[x]]);
        if (status[x] == Status::kDegraded) sc["degraded"].push_back(index[drawn[x]]);
      }
      sc["summary"] = scenario_summary(t, failed, status);
      scenarios[key] = std::move(sc);
    };
    // Findings first, then the subjects of findings, then every other component and domain.
    size_t budget = options.max_scenarios;
    for (const auto& f : findings) {
      if (budget == 0) break;
      std::vector<ElementId> failed;
      bool ok = true;
      for (const auto& s : f.value("subject", json::array())) {
        auto x = s.is_string() ? t.find(s.get<std::string>()) : std::nullopt;
        if (!x || (t[*x].kind != ElementKind::kComponent && t[*x].kind != ElementKind::kDomain)) {
          ok = false;
          break;
        }
        failed.push_back(*x);
      }
      if (!ok || failed.empty()) continue;
      add_scenario("finding:" + f.value("id", ""), failed);
      --budget;
    }
    std::vector<ElementId> scenario_order;
    std::set<ElementId> seen;
    for (const auto& f : findings)
      for (const auto& s : f.value("subject", json::array()))
        if (auto x = s.is_string() ? t.find(s.get<std::string>()) : std::nullopt)
          if (seen.insert(*x).second) scenario_order.push_back(*x);
    for (ElementId x = 0; x < t.size(); ++x)
      if (seen.insert(x).second) scenario_order.push_back(x);
    for (ElementId x : scenario_order) {
      if (budget == 0) break;
      if (t[x].kind != ElementKind::kComponent && t[x].kind != ElementKind::kDomain) continue;
      add_scenario(t[x].id, {x});
      --budget;
    }
    out << "<p>Click a component, service or failure domain to see its blast radius: what "
           "fails, what goes down (grey), what is degraded (yellow). Clicking a finding in the "
           "table shows its scenario.</p><div id=\"blast\">Click a component, service or "
           "failure domain on the graph, or a finding in the table.</div>"
        << "<div class=\"graph-tools\"><span class=\"muted\">Wheel to zoom, drag to "
           "pan.</span><button id=\"graph-fit\" type=\"button\">fit</button><button "
           "id=\"graph-in\" type=\"button\" aria-label=\"zoom in\">+</button><button "
           "id=\"graph-out\" type=\"button\" aria-label=\"zoom out\">&minus;</button><a "
           "id=\"graph-full\" target=\"_blank\" rel=\"noopener\">full size</a></div>"
        << "<div id=\"graph-wrap\">" << svg << "</div>";
  } else {
    out << "<p class=\"na\">The graph has " << node_ids.size()
        << " nodes, too many for a page: draw it with <code>achilles render FILE -o "
           "graph.svg</code>.</p><div id=\"blast\" hidden></div>";
  }
  out << "</section>\n";
  data["ids"] = std::move(ids);
  data["nodes"] = std::move(nodes);
  data["scenarios"] = std::move(scenarios);

  // ---- Findings -------------------------------------------------------------------------
  std::set<std::string> kinds;
  for (const auto& f : findings)
    kinds.insert(f.value("kind", ""));
  out << "<section id=\"findings\"><h2>Findings (" << findings.size() << ")</h2>"
      << "<div class=\"filters\"><input id=\"filter-text\" type=\"search\" placeholder=\"filter: "
         "id, entrypoint, text\" aria-label=\"filter\"><select id=\"filter-severity\" "
         "aria-label=\"severity\"><option value=\"\">every severity</option>";
  for (const char* s : kSeverities)
    out << "<option>" << s << "</option>";
  out << "</select><select id=\"filter-kind\" aria-label=\"kind\"><option value=\"\">every "
         "kind</option>";
  for (const auto& k : kinds)
    out << "<option>" << markup_escape(k) << "</option>";
  out << "</select><span id=\"filter-count\" class=\"muted\"></span></div>"
      << "<table><thead><tr><th>severity</th><th>kind</th><th>subject</th><th>entrypoints "
         "down</th><th>degraded</th><th>services down</th><th>components down</th><th>message"
         "</th><th>why</th></tr></thead><tbody>\n";
  for (size_t i : order) {
    const auto& f = findings[i];
    std::string severity = f.value("severity", "");
    const auto& impact = f.value("impact", json::object());
    out << "<tr data-id=\"" << markup_escape(f.value("id", "")) << "\" data-severity=\""
        << markup_escape(severity) << "\" data-kind=\"" << markup_escape(f.value("kind", ""))
        << "\"><td id=\"finding-" << markup_escape(f.value("id", "")) << "\" data-sort=\""
        << analyzer::severity_rank(severity) << "\"><span class=\"badges\"><span class=\"sev-"
        << markup_escape(severity) << "\">" << markup_escape(severity) << "</span></span></td><td>"
        << markup_escape(f.value("kind", "")) << "</td><td><code>" << markup_escape(subject_line(f))
        << "</code></td><td>"
        << markup_escape(join(impact.value("entrypoints_down", json::array()), ", ")) << "</td><td>"
        << markup_escape(join(impact.value("entrypoints_degraded", json::array()), ", "))
        << "</td><td class=\"num\">" << impact.value("services_down", size_t{0})
        << "</td><td class=\"num\">" << impact.value("components_down", size_t{0}) << "</td><td>"
        << markup_escape(f.value("message", "")) << "</td><td>" << markup_escape(why_text(f))
        << "</td></tr>\n";
  }
  out << "</tbody></table></section>\n";

  // ---- Availability ---------------------------------------------------------------------
  out << "<section id=\"availability\"><h2>Availability against objective</h2><table><thead>"
         "<tr><th>entrypoint</th><th>target</th><th>objective (slo)</th><th>availability</th>"
         "<th>downtime per year</th><th>method</th><th>verdict</th></tr></thead><tbody>";
  for (const auto& e : analysis.value("entrypoints", json::array())) {
    out << "<tr><td>" << markup_escape(e.value("id", "")) << "</td><td>"
        << markup_escape(e.value("target", "")) << "</td><td class=\"num\">"
        << (e.contains("slo") ? common::format("%.4g%%", e["slo"].get<double>() * 100) : "none")
        << "</td>";
    if (e.contains("availability") && e["availability"].is_number()) {
      double a = e["availability"].get<double>();
      double hours = (1 - a) * 24 * 365;
      out << "<td class=\"num\">" << common::format("%.5f%%", a * 100) << "</td><td class=\"num\">"
          << (hours < 1 ? common::format("%.0f min", hours * 60) : common::format("%.1f h", hours))
          << "</td><td>" << markup_escape(e.value("method", ""))
          << (e.contains("error") ? " &plusmn; " + markup_escape(e["error"].dump()) : "")
          << "</td><td>";
      if (e.contains("slo"))
        out << (a >= e["slo"].get<double>() ? "<span class=\"ok\">meets</span>"
                                            : "<span class=\"bad\">misses</span>");
      else
        out << "<span class=\"na\">no objective</span>";
      out << "</td>";
    } else {
      out << "<td class=\"na\">not computed</td><td class=\"na\">-</td><td class=\"na\">-</td>"
             "<td class=\"na\">-</td>";
    }
    out << "</tr>";
  }
  out << "</tbody></table>";
  if (!analysis.contains("entrypoints") || analysis["entrypoints"].empty() ||
      !analysis["entrypoints"][0].contains("availability"))
    out << "<p class=\"na\">Availability not computed: give components and domains an "
           "<code>availability</code>.</p>";
  out << "</section>\n";

  // ---- Utilization ----------------------------------------------------------------------
  out << "<section id=\"utilization\"><h2>Utilization</h2>";
  if (!analysis.contains("utilization")) {
    out << "<p class=\"na\">Utilization not computed: give entrypoints a <code>load</code> "
           "and components a <code>capacity</code>.</p>";
  } else {
    // The worst single failure for each element, from the capacity_spof findings.
    std::map<std::string, std::pair<double, std::string>> worst;
    for (const auto& f : findings) {
      if (f.value("kind", "") != "capacity_spof") continue;
      std::string cause = join(f.value("subject", json::array()), " + ");
      for (const auto& s : f.value("survivors", json::array())) {
        if (!s.contains("utilization") || !s["utilization"].is_number()) continue;
        double u = s["utilization"].get<double>();
        auto& w = worst[s.value("id", "")];
        if (u > w.first) w = {u, cause};
      }
    }
    std::vector<json> rows(analysis["utilization"].begin(), analysis["utilization"].end());
    auto util = [](const json& r) {
      return r.contains("utilization") && r["utilization"].is_number()
                 ? r["utilization"].get<double>()
                 : std::numeric_limits<double>::infinity();
    };
    std::stable_sort(rows.begin(), rows.end(),
                     [&](const json& a, const json& b) { return util(a) > util(b); });
    const size_t kRows = 60;
    out << "<p>Nothing failed, and under the worst single failure (from the capacity_spof "
           "findings: a failure that pushes the element above 100%).</p><table><thead><tr>"
           "<th>element</th><th>load (req/s)</th><th>capacity</th><th>utilization</th>"
           "<th>worst single failure</th></tr></thead><tbody>";
    for (size_t i = 0; i < rows.size() && i < kRows; ++i) {
      const json& r = rows[i];
      double u = util(r);
      std::string id = r.value("id", "");
      out << "<tr><td>" << markup_escape(id) << "</td><td class=\"num\">"
          << (r["load"].is_number() ? common::format("%.0f", r["load"].get<double>()) : "unbounded")
          << "</td><td class=\"num\">" << common::format("%.0f", r.value("capacity", 0.0))
          << "</td><td class=\"num" << (u > 1 ? " bad" : "") << "\">"
          << (std::isfinite(u) ? common::format("%.0f%%", u * 100) : "unbounded") << "</td><td>";
      auto w = worst.find(id);
      if (w != worst.end())
        out << "<span class=\"bad\">" << common::format("%.0f%%", w->second.first * 100)
            << "</span> if " << markup_escape(w->second.second) << " fails";
      else
        out << "<span class=\"na\">no single failure takes it above 100%</span>";
      out << "</td></tr>";
    }
    out << "</tbody></table>";
    if (rows.size() > kRows)
      out << "<p class=\"muted\">The " << kRows << " most utilized of " << rows.size() << ".</p>";
  }
  out << "</section>\n</main>\n"
      << "<script type=\"application/json\" id=\"achilles-data\">" << script_json(data)
      << "</script>\n<script>" << kScript << "</script>\n</body>\n</html>\n";
  return out.str();
}

}  // namespace achilles::reports
