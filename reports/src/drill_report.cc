// The HTML report and the JUnit XML of one drill journal.
//
// One file past 500 lines: one self-contained HTML page (its styles, its script and its charts)
// written in the order a reader meets it.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <sstream>
#include <tuple>
#include <vector>

#include "achilles/common/markup.h"
#include "achilles/common/text.h"
#include "achilles/reports/drill.h"

namespace achilles::reports {

using ::achilles::common::markup_escape;
using nlohmann::json;

namespace {

// ---- Reading a journal that may lack anything -----------------------------------------------

const json kNull;

/// `j[key]`, or null when j is not an object or has no such key.
const json& at(const json& j, const char* key) {
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

/// A string field as text: strings as they are, other values as JSON, null as "".
std::string text(const json& j, const char* key) {
  const json& v = at(j, key);
  if (v.is_null()) return "";
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::optional<double> number(const json& j, const char* key) {
  const json& v = at(j, key);
  if (!v.is_number()) return std::nullopt;
  return v.get<double>();
}

/// The array at `key`, or an empty one.
const json& list(const json& j, const char* key) {
  static const json kEmpty = json::array();
  const json& v = at(j, key);
  return v.is_array() ? v : kEmpty;
}

/// Milliseconds for people: `812 ms`, `12.5 s`.
std::string duration(double ms) {
  if (std::fabs(ms) < 10000)
    return common::format(std::fabs(ms - std::round(ms)) < 0.05 ? "%.0f ms" : "%.1f ms", ms);
  return common::format("%.1f s", ms / 1000);
}

std::string optional_ms(const json& j, const char* key) {
  auto v = number(j, key);
  return v ? duration(*v) : "&mdash;";
}

/// Whether the step's fault was created: no `error`.
bool injected(const json& step) {
  return at(step, "error").is_null();
}

const char* const kVerdicts[] = {"passed", "failed", "aborted", "skipped"};

std::string verdict_of(const json& journal) {
  std::string v = text(journal, "verdict");
  return std::find(std::begin(kVerdicts), std::end(kVerdicts), v) != std::end(kVerdicts)
             ? v
             : "unknown";
}

// ---- The timeline chart ---------------------------------------------------------------------

/// Round numbers for axis ticks: about `count` of them from lo to hi.
std::vector<double> ticks(double lo, double hi, int count) {
  double span = hi - lo;
  // Never empty, and never an endless loop: a span that is not a finite positive number,
  // or one so far from zero that adding a step no longer changes a double, gives one tick.
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(span > 0) || !std::isfinite(span))
    return {std::isfinite(lo) ? lo : 0};
  double raw = span / count;
  double magnitude = std::pow(10, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  std::vector<double> out;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9 && out.size() < 64; t += step)
    out.push_back(std::fabs(t) < step * 1e-9 ? 0 : t);
  if (out.empty()) out.push_back(lo);
  return out;
}

/// A step's longest fault `duration_ms`: its `fault`'s, or of its several `faults`; nothing
/// when no fault has one (kills).
std::optional<double> fault_duration(const json& step) {
  if (auto d = number(at(step, "fault"), "duration_ms")) return d;
  std::optional<double> longest;
  for (const auto& f : list(step, "faults"))
    if (auto d = number(at(f, "fault"), "duration_ms"); d && (!longest || *d > *longest))
      longest = d;
  return longest;
}

/// When a step's fault ended: injection plus `duration_ms`, else (a kill) its window's end.
std::optional<double> fault_end(const json& step) {
  auto injected_at = number(step, "injected_at_ms");
  if (!injected_at) return std::nullopt;
  auto window_end = number(at(step, "window"), "to_ms");
  if (auto d = fault_duration(step)) {
    double end = *injected_at + *d;
    return window_end ? std::min(end, std::max(*window_end, *injected_at)) : end;
  }
  return window_end ? std::max(*window_end, *injected_at) : *injected_at;
}

/// A probe's samples drawn as one SVG: the latency of the successful samples as a line (one
/// path element however many samples: a long drill has tens of thousands), failed samples as
/// red ticks along the top, each step's injection as a labelled vertical line with its
/// fault's duration shaded, and the p99 objective as a dashed line. A prometheus probe's
/// chart draws its values instead ([t, ok, ms, value]: also those of samples that failed by
/// down_when), with its healthy_when and down_when bounds as dashed lines.
std::string timeline_svg(const json& probe, const json& steps) {
  constexpr double kWidth = 1000, kPlotHeight = 192;
  constexpr double kLeft = 64, kRight = 16, kBottom = 34;
  constexpr double kTickBand = 14;  // where failed samples are marked, above the plot
  const double plot_w = kWidth - kLeft - kRight, plot_h = kPlotHeight;

  constexpr double kMaxValue = 1e300, kMaxTime = 1e12;  // 1e12 ms: 31 years
  // What the line shows: a successful sample's latency, or a prometheus probe's value.
  const bool valued = text(probe, "kind") == "prometheus";
  struct Sample {
    double t;
    bool ok;
    double latency;  // the value, for a prometheus probe
    bool drawn;      // on the line
  };
  std::vector<Sample> samples;
  for (const auto& s : list(probe, "samples")) {
    if (!s.is_array() || s.size() < 3 || !s[0].is_number() || !s[2].is_number()) continue;
    bool ok = s[1].is_boolean() ? s[1].get<bool>() : s[1].is_number() && s[1].get<double>() != 0;
    // Within what a chart can scale: a journal may hold any finite number (a query's value
    // of 1.7e308; a hand-edited time), and the scale's arithmetic must stay finite.
    const double t = std::clamp(s[0].get<double>(), -kMaxTime, kMaxTime);
    if (valued) {
      const bool has_value = s.size() >= 4 && s[3].is_number();
      samples.push_back({t, ok,
                         has_value ? std::clamp(s[3].get<double>(), -kMaxValue, kMaxValue) : 0,
                         has_value});
    } else {
      samples.push_back({t, ok, std::clamp(s[2].get<double>(), 0.0, kMaxValue), ok});
    }
  }
  std::sort(samples.begin(), samples.end(), [](auto& a, auto& b) { return a.t < b.t; });

  // The time axis covers the samples and every step's window.
  double t0 = 0, t1 = 1000;
  bool any = false;
  auto cover = [&](double t) {
    t = std::clamp(t, -kMaxTime, kMaxTime);
    t0 = any ? std::min(t0, t) : t;
    t1 = any ? std::max(t1, t) : t;
    any = true;
  };
  for (const auto& s : samples)
    cover(s.t);
  for (const auto& step : steps) {
    for (const char* k : {"injected_at_ms", "at_ms"})
      if (auto t = number(step, k)) cover(*t);
    if (auto t = number(at(step, "window"), "to_ms")) cover(*t);
  }
  if (!any) t0 = 0;
  if (t1 - t0 < 1000) t1 = t0 + 1000;
  double y_min = 0, y_max = valued ? 0 : 1;
  for (const auto& s : samples)
    if (s.drawn) {
      y_max = std::max(y_max, s.latency);
      y_min = std::min(y_min, s.latency);
    }
  auto p99 = number(at(probe, "healthy_when"), "p99_ms");
  if (p99 && *p99 < y_max * 4) y_max = std::max(y_max, *p99 * 1.1);
  // A prometheus probe's bounds: healthy_when and down_when, each `below` or `above`.
  struct Bound {
    double value;
    const char* css;
    std::string label;
  };
  std::vector<Bound> bounds;
  if (valued)
    for (auto [key, css, what] : {std::tuple{"healthy_when", "objective", "healthy when"},
                                  std::tuple{"down_when", "down-bound", "down when"}})
      for (const char* side : {"below", "above"})
        if (auto given = number(at(probe, key), side)) {
          auto v = std::optional(std::clamp(*given, -kMaxValue, kMaxValue));
          bounds.push_back(
              {*v, css, std::string(what) + " " + side + " " + common::format("%g", *v)});
          y_max = std::max(y_max, *v);
          y_min = std::min(y_min, *v);
        }
  if (valued) {
    // Room above the highest value or bound, so that a line at the top stays visible.
    const double span = y_max - y_min;
    y_max += span > 0 ? span * 0.1 : 1;
  }
  std::vector<double> y_ticks = ticks(y_min, y_max, 4);
  y_max = std::max(y_max, y_ticks.back());
  y_min = std::min(y_min, y_ticks.front());

  auto x = [&](double t) { return kLeft + (t - t0) / (t1 - t0) * plot_w; };

  // Each step's injection is a vertical line labelled at its top, left to right. A label goes
  // on the first row where it does not touch the one before it (its width estimated from its
  // length: 11 px bold text is under 7 px a character); three rows are always there and up to
  // three more are added above the plot when steps crowd. Where no row has room for the name,
  // the step's number stands in for it (the step cards below are numbered the same way, and
  // the full name is the tooltip); where no row has room even for that, the number goes just
  // after the row that ends first, a few pixels from its line rather than over another label.
  constexpr double kCharWidth = 7, kGap = 8;
  constexpr size_t kRows = 3, kMaxRows = 6;
  struct Mark {
    double t;
    size_t index;
    const json* step;
  };
  struct Placed {
    Mark mark;
    std::string full, shown;
    size_t row;
    double from, to;
    bool end_anchored;
  };
  std::vector<Mark> marks;
  size_t index = 0;
  for (const auto& step : steps) {
    ++index;
    bool done = injected(step) && number(step, "injected_at_ms");
    if (auto t = done ? number(step, "injected_at_ms") : number(step, "at_ms"))
      marks.push_back({*t, index, &step});
  }
  std::stable_sort(marks.begin(), marks.end(), [](auto& a, auto& b) { return a.t < b.t; });
  std::array<double, kMaxRows> row_end;
  row_end.fill(-1e9);
  std::vector<Placed> labels;
  size_t rows = kRows;
  for (const Mark& m : marks) {
    const json& step = *m.step;
    bool done = injected(step) && number(step, "injected_at_ms");
    Placed l{m, text(step, "name") + (done ? "" : " (not injected)"), "", 0, 0, 0, false};
    const double lx = x(m.t);
    auto fit = [&](const std::string& shown) {
      double w = static_cast<double>(shown.size()) * kCharWidth;
      l.shown = shown;
      l.end_anchored = lx + 3 + w > kWidth - kRight && lx - 3 - w >= 0;
      l.from = l.end_anchored ? lx - 3 - w : lx + 3;
      l.to = l.end_anchored ? lx - 3 : lx + 3 + w;
      for (l.row = 0; l.row < kMaxRows; ++l.row)
        if (row_end[l.row] + kGap <= l.from) return true;
      return false;
    };
    if (!fit(l.full) && !fit(std::to_string(m.index))) {
      l.row =
          static_cast<size_t>(std::min_element(row_end.begin(), row_end.end()) - row_end.begin());
      l.end_anchored = false;
      l.from = row_end[l.row] + kGap;
      l.to = l.from + static_cast<double>(l.shown.size()) * kCharWidth;
    }
    row_end[l.row] = l.to;
    rows = std::max(rows, l.row + 1);
    labels.push_back(std::move(l));
  }
  // The plot starts below the label rows.
  const double top = 54 + 12 * static_cast<double>(rows - kRows);
  const double height = top + plot_h + kBottom;
  auto y = [&](double v) {
    return top + plot_h - (std::clamp(v, y_min, y_max) - y_min) / (y_max - y_min) * plot_h;
  };
  auto px = [](double v) { return common::format("%.1f", v); };

  std::string name = text(probe, "name");
  size_t failed = std::count_if(samples.begin(), samples.end(), [](auto& s) { return !s.ok; });
  std::ostringstream out;
  out << "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << kWidth
      << " " << height << "\" role=\"img\" aria-label=\""
      << markup_escape("Timeline of probe " + name + ": " + std::to_string(samples.size()) +
                       " samples, " + std::to_string(failed) + " failed")
      << "\">\n";
  // Fault windows first, under everything else.
  for (const auto& step : steps) {
    auto from = number(step, "injected_at_ms");
    auto to = fault_end(step);
    if (!from || !to || !injected(step) || *to <= *from) continue;
    // A fault with a duration is shaded for that duration; a kill is an instant (its
    // injection line), and what follows is only its observation, drawn lighter.
    const bool instant = !fault_duration(step);
    out << "<rect class=\"" << (instant ? "observe" : "fault") << "\" x=\"" << px(x(*from))
        << "\" y=\"" << px(top - kTickBand) << "\" width=\"" << px(x(*to) - x(*from))
        << "\" height=\"" << px(plot_h + kTickBand) << "\"><title>"
        << markup_escape(text(step, "name"))
        << (instant ? ": an instant fault, observed from " : ": fault active from ")
        << duration(*from) << " to " << duration(*to) << "</title></rect>\n";
  }
  // Axes and grid.
  out << "<g class=\"grid\">";
  for (double v : y_ticks)
    out << "<line x1=\"" << kLeft << "\" x2=\"" << kWidth - kRight << "\" y1=\"" << px(y(v))
        << "\" y2=\"" << px(y(v)) << "\"/>";
  out << "</g>\n<g class=\"axis\">";
  for (double v : y_ticks)
    out << "<text x=\"" << kLeft - 6 << "\" y=\"" << px(y(v) + 4) << "\" text-anchor=\"end\">"
        << (valued ? common::format("%g", v)
                   : common::format(v < 10 && v != std::floor(v) ? "%.1f" : "%.0f", v))
        << "</text>";
  out << "<text x=\"12\" y=\"" << px(top + plot_h / 2) << "\" transform=\"rotate(-90 12 "
      << px(top + plot_h / 2) << ")\" text-anchor=\"middle\">"
      << (valued ? "value" : "latency (ms)") << "</text>";
  for (double t : ticks(t0, t1, 10))
    out << "<line x1=\"" << px(x(t)) << "\" x2=\"" << px(x(t)) << "\" y1=\"" << top + plot_h
        << "\" y2=\"" << top + plot_h + 4 << "\"/><text x=\"" << px(x(t)) << "\" y=\""
        << top + plot_h + 17 << "\" text-anchor=\"middle\">" << common::format("%g s", t / 1000)
        << "</text>";
  out << "<line x1=\"" << kLeft << "\" x2=\"" << kWidth - kRight << "\" y1=\"" << top + plot_h
      << "\" y2=\"" << top + plot_h << "\"/>";
  out << "<text x=\"" << kWidth - kRight << "\" y=\"" << height - 2
      << "\" text-anchor=\"end\">time from the end of the steady state</text></g>\n";
  // The objective, labelled on the chart. One far above every sample (more than 4 times the
  // slowest) would flatten the latency line to nothing: the scale stays with the samples and
  // the label says that the objective is above it, rather than a line drawn at the top edge
  // that a reader would take for the objective's value.
  if (p99 && *p99 <= y_max) {
    out << "<line class=\"objective\" x1=\"" << kLeft << "\" x2=\"" << kWidth - kRight << "\" y1=\""
        << px(y(*p99)) << "\" y2=\"" << px(y(*p99)) << "\"><title>p99 objective " << duration(*p99)
        << "</title></line><text class=\"objective\" x=\"" << kWidth - kRight - 4 << "\" y=\""
        << px(y(*p99) - 4) << "\" text-anchor=\"end\">p99 objective " << duration(*p99)
        << "</text>\n";
  } else if (p99) {
    out << "<text class=\"objective off-scale\" x=\"" << kWidth - kRight - 4 << "\" y=\""
        << px(top + 12) << "\" text-anchor=\"end\">&#8593; p99 objective " << duration(*p99)
        << ": above this scale</text>\n";
  }
  for (const auto& b : bounds)
    out << "<line class=\"" << b.css << "\" x1=\"" << kLeft << "\" x2=\"" << kWidth - kRight
        << "\" y1=\"" << px(y(b.value)) << "\" y2=\"" << px(y(b.value)) << "\"><title>"
        << markup_escape(b.label) << "</title></line>\n";

  // The line (latency or value). With more samples than pixels, each pixel column keeps its lowest
  // and highest latency, which is what the eye would see anyway.
  std::string d;
  size_t ok_count = std::count_if(samples.begin(), samples.end(), [](auto& s) { return s.drawn; });
  if (ok_count <= 2 * static_cast<size_t>(plot_w)) {
    bool pen_down = false;
    for (const auto& s : samples) {
      if (!s.drawn) {
        pen_down = false;
        continue;
      }
      d += (pen_down ? "L" : "M") + px(x(s.t)) + " " + px(y(s.latency));
      pen_down = true;
    }
  } else {
    int columns = static_cast<int>(plot_w);
    std::vector<double> lo(columns, std::numeric_limits<double>::infinity()), hi(columns, -1);
    std::vector<bool> had_failure(columns, false);
    for (const auto& s : samples) {
      int c = std::clamp(static_cast<int>(x(s.t) - kLeft), 0, columns - 1);
      if (!s.drawn) {
        had_failure[c] = true;
        continue;
      }
      lo[c] = std::min(lo[c], s.latency);
      hi[c] = std::max(hi[c], s.latency);
    }
    bool pen_down = false;
    for (int c = 0; c < columns; ++c) {
      if (hi[c] < 0) {
        pen_down = pen_down && !had_failure[c];
        continue;
      }
      d += (pen_down ? "L" : "M") + px(kLeft + c + 0.5) + " " + px(y(hi[c]));
      if (lo[c] < hi[c]) d += "L" + px(kLeft + c + 0.5) + " " + px(y(lo[c]));
      pen_down = !had_failure[c];
    }
  }
  const char* line_class = valued ? "value" : "latency";
  if (!d.empty()) out << "<path class=\"" << line_class << "\" d=\"" << d << "\"/>\n";
  // A single successful sample between failures is a dot, not an invisible segment.
  if (ok_count > 0 && ok_count <= 2 * static_cast<size_t>(plot_w)) {
    std::string dots;
    for (size_t i = 0; i < samples.size(); ++i) {
      if (!samples[i].drawn) continue;
      bool alone =
          (i == 0 || !samples[i - 1].drawn) && (i + 1 == samples.size() || !samples[i + 1].drawn);
      if (alone) dots += "M" + px(x(samples[i].t) - 1.5) + " " + px(y(samples[i].latency)) + "h3";
    }
    if (!dots.empty()) out << "<path class=\"" << line_class << "\" d=\"" << dots << "\"/>\n";
  }
  if (failed > 0) {
    std::string ticks_d;
    for (const auto& s : samples)
      if (!s.ok) ticks_d += "M" + px(x(s.t)) + " " + px(top - kTickBand) + "v10";
    out << "<path class=\"failed\" d=\"" << ticks_d << "\"><title>" << failed
        << " failed samples</title></path>\n";
  }
  // The lines first, then every label over them (with a white halo), so that no line
  // crosses a label.
  for (const Placed& l : labels) {
    const json& step = *l.mark.step;
    bool done = injected(step) && number(step, "injected_at_ms");
    const double lx = x(l.mark.t), ly = 12 + 12 * static_cast<double>(l.row);
    out << "<g class=\"step" << (done ? "" : " not-injected") << "\"><title>" << l.mark.index
        << ". " << markup_escape(l.full) << " at " << duration(l.mark.t) << "</title><line x1=\""
        << px(lx) << "\" x2=\"" << px(lx) << "\" y1=\"" << px(ly + 2) << "\" y2=\"" << top + plot_h
        << "\"/></g>\n";
  }
  for (const Placed& l : labels) {
    const json& step = *l.mark.step;
    bool done = injected(step) && number(step, "injected_at_ms");
    const double ly = 12 + 12 * static_cast<double>(l.row);
    out << "<text class=\"step-label" << (done ? "" : " not-injected") << "\" x=\""
        << px(l.end_anchored ? l.to : l.from) << "\" y=\"" << px(ly) << "\""
        << (l.end_anchored ? " text-anchor=\"end\"" : "") << "><title>" << l.mark.index << ". "
        << markup_escape(l.full) << "</title>" << markup_escape(l.shown) << "</text>\n";
  }
  if (samples.empty())
    out << "<text class=\"empty\" x=\"" << px(kLeft + plot_w / 2) << "\" y=\""
        << px(top + plot_h / 2) << "\" text-anchor=\"middle\">no samples</text>\n";
  out << "</svg>";
  return out.str();
}

// ---- The page -------------------------------------------------------------------------------

constexpr const char* kCss = R"css(
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#1f2933;background:#fff}
header{padding:18px 28px;background:#263238;color:#fff}
header h1{margin:0;font-size:24px}header p{margin:4px 0 0;color:#cfd8dc}
main{padding:8px 28px 40px;max-width:1500px}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e0e6eb;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
#verdict{display:flex;gap:14px;align-items:center;margin:18px 0 4px;padding:12px 16px;border-radius:6px}
#verdict .word{font-size:28px;font-weight:700;letter-spacing:.04em;text-transform:uppercase}
.v-passed{background:#e8f5e9;border-left:8px solid #2e7d32}.v-passed .word{color:#2e7d32}
.v-failed{background:#ffebee;border-left:8px solid #b71c1c}.v-failed .word{color:#b71c1c}
.v-aborted{background:#fff3e0;border-left:8px solid #e65100}.v-aborted .word{color:#e65100}
.v-skipped,.v-unknown{background:#eceff1;border-left:8px solid #546e7a}.v-skipped .word,.v-unknown .word{color:#37474f}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e6ebef;vertical-align:top}
th{background:#f4f6f8}
td.num{text-align:right;font-variant-numeric:tabular-nums}
th.num{text-align:right}
.ok{color:#2e7d32;font-weight:600}.bad{color:#b71c1c;font-weight:600}.na{color:#6b7785}
.muted{color:#6b7785}
code{font-size:13px;word-break:break-all}
svg.timeline{width:100%;height:auto;max-height:340px;border:1px solid #e0e6eb;background:#fff}
svg.timeline text{font:11px system-ui,sans-serif;fill:#52606d}
svg.timeline .grid line{stroke:#eef1f4}
svg.timeline .axis line{stroke:#9aa5b1}
svg.timeline rect.fault{fill:#ffcc80;fill-opacity:.35}
svg.timeline rect.observe{fill:#b0bec5;fill-opacity:.2}
svg.timeline path.latency{fill:none;stroke:#1565c0;stroke-width:1.3;stroke-linejoin:round}
svg.timeline path.failed{stroke:#d32f2f;stroke-width:1.5}
svg.timeline line.objective{stroke:#2e7d32;stroke-dasharray:6 4}
svg.timeline text.objective{fill:#2e7d32}
svg.timeline path.value{fill:none;stroke:#6a1b9a;stroke-width:1.3;stroke-linejoin:round}
svg.timeline line.down-bound{stroke:#b71c1c;stroke-dasharray:3 3}
svg.timeline .step line{stroke:#e65100;stroke-width:1.5}
svg.timeline text.step-label{fill:#bf360c;font-weight:600}
svg.timeline text.step-label,svg.timeline text.objective{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
svg.timeline .not-injected line{stroke:#78909c;stroke-dasharray:3 3}
svg.timeline text.step-label.not-injected{fill:#546e7a}
.legend{color:#52606d;font-size:12px;margin:2px 0 12px}
.legend b{display:inline-block;width:18px;height:10px;margin:0 4px 0 12px;vertical-align:middle}
.step-card{border:1px solid #e0e6eb;border-radius:6px;padding:8px 14px;margin:10px 0}
.error{color:#b71c1c}
)css";

std::string ratio(const json& phase) {
  auto r = number(phase, "success_ratio");
  return r ? common::format("%.1f%%", *r * 100) : "&mdash;";
}

void write_expectations(std::ostringstream& out, const json& steps) {
  out << "<section id=\"verdicts\"><h2>Expectations</h2>";
  size_t rows = 0;
  std::ostringstream body;
  for (const auto& step : steps) {
    std::string step_name = markup_escape(text(step, "name"));
    const json& expectations = list(step, "expectations");
    if (!injected(step) && expectations.empty()) {
      body << "<tr class=\"failed\"><td>" << step_name
           << "</td><td colspan=\"6\" class=\"na\">fault not injected</td><td "
              "class=\"bad\">failed</td><td class=\"error\">"
           << markup_escape(text(step, "error")) << "</td></tr>\n";
      ++rows;
    }
    for (const auto& e : expectations) {
      bool passed = at(e, "passed").is_boolean() && at(e, "passed").get<bool>();
      std::string message = text(e, "message");
      if (!injected(step) && message.empty())
        message = "fault not injected: " + text(step, "error");
      body << "<tr class=\"" << (passed ? "passed" : "failed") << "\"><td>" << step_name
           << "</td><td>" << markup_escape(text(e, "probe")) << "</td><td>"
           << markup_escape(text(e, "expected")) << "</td><td>"
           << markup_escape(text(e, "observed")) << "</td><td class=\"num\">"
           << optional_ms(e, "recover_within_ms") << "</td><td class=\"num\">"
           << optional_ms(e, "outage_ms")
           << (number(e, "outage_precision_ms")
                   ? " <span class=\"muted\">&plusmn;" +
                         duration(*number(e, "outage_precision_ms")) + "</span>"
                   : std::string())
           << "</td><td class=\"num\">"
           << (at(e, "recovery_ms").is_null() && at(e, "observed").is_string()
                   ? "<span class=\"na\">not recovered</span>"
                   : optional_ms(e, "recovery_ms"))
           << "</td><td class=\"" << (passed ? "ok\">passed" : "bad\">failed") << "</td><td>"
           << markup_escape(message) << "</td></tr>\n";
      ++rows;
    }
  }
  if (rows == 0) {
    out << "<p class=\"muted\">No expectation was judged.</p></section>\n";
    return;
  }
  out << "<table><thead><tr><th>step</th><th>probe</th><th>expected</th><th>observed</th>"
         "<th class=\"num\">recover within</th><th class=\"num\">outage</th>"
         "<th class=\"num\">recovery time</th><th>result</th>"
         "<th>message</th></tr>"
         "</thead><tbody>\n"
      << body.str() << "</tbody></table></section>\n";
}

/// Why samples failed (the journal's `failures`: runs of one reason), per probe.
void write_failures(std::ostringstream& out, const json& probes) {
  std::ostringstream rows;
  for (const auto& p : probes)
    for (const auto& f : list(p, "failures")) {
      auto from = number(f, "from_ms"), to = number(f, "to_ms"), n = number(f, "samples");
      rows << "<tr><td>" << markup_escape(text(p, "name")) << "</td><td class=\"num\">"
           << (from ? duration(*from) : "&mdash;") << "</td><td class=\"num\">"
           << (to ? duration(*to) : "&mdash;") << "</td><td class=\"num\">"
           << (n ? common::format("%.0f", *n) : "&mdash;") << "</td><td class=\"error\">"
           << markup_escape(text(f, "reason")) << "</td></tr>";
    }
  if (rows.str().empty()) return;
  out << "<h3>Why samples failed</h3><table class=\"failures\"><thead><tr><th>probe</th>"
         "<th>from</th><th>to</th><th>samples</th><th>reason</th></tr></thead><tbody>"
      << rows.str() << "</tbody></table>\n";
}

void write_timelines(std::ostringstream& out, const json& probes, const json& steps) {
  out << "<section id=\"timelines\"><h2>Timelines</h2>";
  if (probes.empty()) out << "<p class=\"muted\">No probe recorded.</p>";
  for (const auto& p : probes) {
    out << "<div class=\"probe\"><h3>" << markup_escape(text(p, "name"))
        << " <span class=\"muted\">" << markup_escape(text(p, "kind")) << " "
        << markup_escape(text(p, "target"));
    if (auto every = number(p, "every_ms")) out << ", every " << duration(*every);
    const json& hw = at(p, "healthy_when");
    if (hw.is_object()) {
      out << "; healthy when";
      if (auto r = number(hw, "success_ratio"))
        out << " success &ge; " << common::format("%g%%", *r * 100);
      if (auto q = number(hw, "p99_ms")) out << ", p99 &le; " << duration(*q);
      if (auto b = number(hw, "below")) out << ", value &lt; " << common::format("%g", *b);
      if (auto a = number(hw, "above")) out << ", value &gt; " << common::format("%g", *a);
      if (auto w = number(hw, "window_ms")) out << " over " << duration(*w);
    }
    const json& dw = at(p, "down_when");
    if (auto b = number(dw, "below")) out << "; down when value &lt; " << common::format("%g", *b);
    if (auto a = number(dw, "above")) out << "; down when value &gt; " << common::format("%g", *a);
    out << "</span></h3>\n" << timeline_svg(p, steps) << "\n</div>\n";
  }
  out << "<p class=\"legend\"><b style=\"border-top:2px solid #1565c0\"></b>latency of a "
         "successful sample <b style=\"border-left:2px solid #d32f2f\"></b>failed sample "
         "<b style=\"background:#ffcc80\"></b>fault active <b style=\"background:#dfe5e8\"></b>"
         "observation after an instant fault (a kill) <b style=\"border-left:2px solid "
         "#e65100\"></b>injection <b style=\"border-top:2px dashed #2e7d32\"></b>p99 "
         "objective (a prometheus probe: healthy_when) <b style=\"border-top:2px solid "
         "#6a1b9a\"></b>a prometheus probe's value <b style=\"border-top:2px dashed "
         "#b71c1c\"></b>down_when</p>\n";
  write_failures(out, probes);
  out << "</section>\n";
}

/// What the agent reported about the fault when it ended: for a kill, whether the process
/// came back, its new pid and how long that took.
std::string observed_text(const json& observed) {
  if (!observed.is_object() || observed.empty()) return "";
  std::string s;
  if (at(observed, "restarted").is_boolean()) {
    s = at(observed, "restarted").get<bool>() ? "restarted" : "not restarted";
    if (auto pid = number(observed, "new_pid")) s += ", new pid " + common::format("%.0f", *pid);
    if (auto after = number(observed, "restarted_after_ms")) s += ", after " + duration(*after);
  }
  for (const auto& [key, value] : observed.items()) {
    if (key == "restarted" || key == "new_pid" || key == "restarted_after_ms") continue;
    s += (s.empty() ? "" : "; ") + key + ": " +
         (value.is_string() ? value.get<std::string>() : value.dump());
  }
  return s;
}

void write_steps(std::ostringstream& out, const json& steps, const json& probes) {
  out << "<section id=\"steps\"><h2>Steps</h2>";
  if (steps.empty()) out << "<p class=\"muted\">No step ran.</p>";
  size_t index = 0;
  for (const auto& step : steps) {
    // Numbered as the timelines number a step whose name has no room.
    out << "<div class=\"step-card\"><h3><span class=\"muted\">" << ++index << ".</span> "
        << markup_escape(text(step, "name")) << "</h3><p>";
    if (auto a = number(step, "at_ms")) out << "planned at " << duration(*a);
    if (auto i = number(step, "injected_at_ms")) out << ", injected at " << duration(*i);
    const json& window = at(step, "window");
    if (auto from = number(window, "from_ms"), to = number(window, "to_ms"); from && to)
      out << ", observed from " << duration(*from) << " to " << duration(*to);
    const json& faults = list(step, "faults");
    if (!list(step, "domains").empty()) {
      std::string names;
      for (const auto& d : list(step, "domains"))
        names += (names.empty() ? "" : ", ") + (d.is_string() ? d.get<std::string>() : d.dump());
      out << "<br>loses domain " << markup_escape(names);
    }
    if (faults.size() > 1) {
      // Several faults at once: each with its agent and how it went.
      out << "<br>" << faults.size() << " faults, injected together:<ul class=\"faults\">";
      for (const auto& f : faults) {
        out << "<li><code>" << markup_escape(at(f, "fault").dump()) << "</code> via agent <code>"
            << markup_escape(text(f, "agent")) << "</code>";
        if (!text(f, "component").empty())
          out << " (kills " << markup_escape(text(f, "component")) << ")";
        if (auto status = number(at(f, "response"), "status"))
          out << "; agent answered " << common::format("%.0f", *status);
        if (!at(f, "error").is_null())
          out << " <span class=\"error\">not injected: " << markup_escape(text(f, "error"))
              << "</span>";
        if (!text(at(f, "final"), "state").empty())
          out << "; ended " << markup_escape(text(at(f, "final"), "state"));
        out << "</li>";
      }
      out << "</ul>";
    } else {
      out << "<br>fault: <code>" << markup_escape(at(step, "fault").dump()) << "</code>";
      if (!text(step, "agent").empty())
        out << " via agent <code>" << markup_escape(text(step, "agent")) << "</code>"
            << (text(step, "agent_url").empty()
                    ? ""
                    : " (" + markup_escape(text(step, "agent_url")) + ")");
    }
    if (auto status = number(at(step, "response"), "status"))
      out << "; agent answered " << common::format("%.0f", *status);
    if (!injected(step))
      out << "<br><span class=\"error\">not injected: " << markup_escape(text(step, "error"))
          << "</span>";
    const json& final_state = at(step, "final");
    if (!text(final_state, "state").empty())
      out << "<br>fault ended " << markup_escape(text(final_state, "state"));
    std::string observed = observed_text(at(final_state, "observed"));
    if (!observed.empty())
      out << "<br>the agent observed: <span class=\"observed\">" << markup_escape(observed)
          << "</span>";
    const json& prediction = at(step, "prediction");
    if (prediction.is_object()) {
      out << "<br>predicted: " << markup_escape(text(prediction, "kind")) << " "
          << markup_escape(text(prediction, "subject"));
      const json& agreed = at(step, "agreed");
      if (agreed.is_boolean())
        out << " &middot; "
            << (agreed.get<bool>() ? "<span class=\"ok\">the live system agreed</span>"
                                   : "<span class=\"bad\">the live system disagreed</span>");
    }
    out << "</p>";
    const json& summary = at(step, "summary");
    if (summary.is_object() && !summary.empty()) {
      // A prometheus probe's values get a column of their own (min to max in each phase).
      bool values = false;
      for (const auto& [probe, phases] : summary.items())
        for (const char* phase : {"before", "during", "after"})
          values |= number(at(phases, phase), "min_value").has_value();
      out << "<table class=\"summary\"><thead><tr><th>probe</th><th>phase</th>"
             "<th class=\"num\">samples</th><th class=\"num\">success</th>"
             "<th class=\"num\">p50</th><th class=\"num\">p99</th><th class=\"num\">max</th>"
          << (values ? "<th class=\"num\">value</th>" : "") << "</tr></thead><tbody>";
      // In the order of the journal's probes (a JSON object's keys come sorted), then any
      // probe the summary has that the list does not.
      std::vector<std::string> order;
      for (const auto& p : probes)
        if (summary.contains(text(p, "name"))) order.push_back(text(p, "name"));
      for (const auto& [probe, phases] : summary.items())
        if (std::find(order.begin(), order.end(), probe) == order.end()) order.push_back(probe);
      for (const std::string& probe : order) {
        const json& phases = summary[probe];
        for (const char* phase : {"before", "during", "after"}) {
          const json& s = at(phases, phase);
          out << "<tr><td>" << markup_escape(probe) << "</td><td>" << phase << "</td>";
          if (!s.is_object()) {
            out << "<td colspan=\"" << (values ? 6 : 5) << "\" class=\"na\">no samples</td></tr>";
            continue;
          }
          auto n = number(s, "samples");
          out << "<td class=\"num\">" << (n ? common::format("%.0f", *n) : "&mdash;")
              << "</td><td class=\"num\">" << ratio(s) << "</td><td class=\"num\">"
              << optional_ms(s, "p50_ms") << "</td><td class=\"num\">" << optional_ms(s, "p99_ms")
              << "</td><td class=\"num\">" << optional_ms(s, "max_ms") << "</td>";
          if (values) {
            auto lo = number(s, "min_value"), hi = number(s, "max_value");
            out << "<td class=\"num\">"
                << (!lo || !hi ? "&mdash;"
                    : *lo == *hi
                        ? common::format("%g", *lo)
                        : common::format("%g", *lo) + " &ndash; " + common::format("%g", *hi))
                << "</td>";
          }
          out << "</tr>";
        }
      }
      out << "</tbody></table>";
    }
    out << "</div>\n";
  }
  out << "</section>\n";
}

void write_rollback(std::ostringstream& out, const json& rollback) {
  out << "<section id=\"rollback\"><h2>Rollback</h2>";
  if (rollback.empty()) {
    out << "<p class=\"muted\">Nothing to revert.</p></section>\n";
    return;
  }
  out << "<table><thead><tr><th>step</th><th>agent</th><th>fault</th><th>result</th></tr>"
         "</thead><tbody>";
  for (const auto& r : rollback) {
    std::string result = text(r, "result");
    // "observation ended" is a kill's normal end (the agent stopped watching for the
    // process to come back): as good as "reverted", not a failure.
    bool ok = result == "reverted" || result == "already ended" || result == "observation ended";
    out << "<tr><td>" << markup_escape(text(r, "step")) << "</td><td>"
        << markup_escape(text(r, "agent")) << "</td><td><code>"
        << markup_escape(text(r, "fault_id")) << "</code></td><td class=\"" << (ok ? "ok" : "bad")
        << "\">" << markup_escape(result) << "</td></tr>";
  }
  out << "</tbody></table></section>\n";
}

void write_predictions(std::ostringstream& out, const json& predictions) {
  if (predictions.empty()) return;
  // Which entrypoints the analyzer said would go down, and which did (journals written
  // before the runner recorded these have neither: the columns then say nothing).
  auto names = [](const json& v) -> std::string {
    if (!v.is_array()) return "<span class=\"na\">not judged</span>";
    if (v.empty()) return "none";
    std::string s;
    for (const auto& x : v)
      s += (s.empty() ? "" : ", ") + markup_escape(x.is_string() ? x.get<std::string>() : x.dump());
    return s;
  };
  out << "<section id=\"predictions\"><h2>Predictions</h2><table><thead><tr><th>step</th>"
         "<th>kind</th><th>subject</th><th>predicted down</th><th>observed down</th>"
         "<th>the live system</th></tr></thead><tbody>";
  const std::string kNotRecorded = "<span class=\"na\">not recorded</span>";
  for (const auto& p : predictions) {
    const json& agreed = at(p, "agreed");
    const bool recorded = p.is_object() && p.contains("predicted_down");
    out << "<tr><td>" << markup_escape(text(p, "step")) << "</td><td>"
        << markup_escape(text(p, "kind")) << "</td><td>" << markup_escape(text(p, "subject"))
        << "</td><td>" << (recorded ? names(at(p, "predicted_down")) : kNotRecorded) << "</td><td>"
        << (recorded ? names(at(p, "observed_down")) : kNotRecorded) << "</td><td>"
        << (!agreed.is_boolean() ? "<span class=\"na\">not judged</span>"
            : agreed.get<bool>() ? "<span class=\"ok\">agreed</span>"
                                 : "<span class=\"bad\">disagreed</span>")
        << "</td></tr>";
  }
  out << "</tbody></table></section>\n";
}

}  // namespace

std::string drill_html(const json& journal) {
  std::string title = text(journal, "title");
  if (title.empty()) title = "drill";
  std::string verdict = verdict_of(journal);
  const json& steps = list(journal, "steps");
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      << "<title>Achilles drill: " << markup_escape(title) << " (" << verdict
      << ")</title>\n<style>" << kCss << "</style>\n"
      << "<script>window.addEventListener(\"error\",function(e){document.documentElement."
         "setAttribute(\"data-errors\",(document.documentElement.getAttribute(\"data-errors\")"
         "||\"\")+e.message+\";\");});</script>\n"
      << "</head>\n<body>\n<header><h1>" << markup_escape(title) << "</h1><p>game-day drill";
  if (!text(journal, "plan_file").empty())
    out << " &middot; " << markup_escape(text(journal, "plan_file"));
  out << " &middot; " << markup_escape(text(journal, "started_at")) << " &rarr; "
      << markup_escape(text(journal, "ended_at")) << "</p></header>\n<main>\n";

  out << "<div id=\"verdict\" class=\"v-" << verdict << "\" data-verdict=\"" << verdict
      << "\"><span class=\"word\">" << verdict << "</span><span class=\"reason\">"
      << markup_escape(text(journal, "reason")) << "</span></div>\n";
  const json& steady = at(journal, "steady_state");
  if (steady.is_object()) {
    out << "<p class=\"muted\">Steady state: ";
    const json& held = at(steady, "held");
    out << (held.is_boolean() ? (held.get<bool>() ? "held" : "not reached") : "unknown");
    if (auto hold = number(steady, "hold_ms"))
      out << " (every probe healthy for " << duration(*hold);
    if (auto waited = number(steady, "waited_ms")) out << ", after waiting " << duration(*waited);
    if (number(steady, "hold_ms")) out << ")";
    out << ".</p>\n";
  }

  write_expectations(out, steps);
  write_timelines(out, list(journal, "probes"), steps);
  write_steps(out, steps, list(journal, "probes"));
  write_rollback(out, list(journal, "rollback"));
  write_predictions(out, list(journal, "predictions"));
  out << "</main>\n<script>document.body.setAttribute(\"data-ready\",\"1\");</script>\n"
      << "</body>\n</html>\n";
  return out.str();
}

// ---- JUnit ----------------------------------------------------------------------------------

std::string drill_junit(const json& journal) {
  std::string title = text(journal, "title");
  if (title.empty()) title = "drill";
  std::string verdict = verdict_of(journal);
  bool skipped = verdict == "skipped";

  struct Case {
    std::string name;
    std::optional<std::string> failure;  // the message
    std::string details;
  };
  std::vector<Case> cases;
  const json& steps = list(journal, "steps");
  for (const auto& step : steps) {
    std::string step_name = text(step, "name");
    std::string error = injected(step) ? "" : text(step, "error");
    const json& expectations = list(step, "expectations");
    if (!error.empty() && expectations.empty())
      cases.push_back({step_name + ": fault injected", "fault not injected: " + error, ""});
    for (const auto& e : expectations) {
      Case c{step_name + ": " + text(e, "probe") + " expected " + text(e, "expected"), {}, ""};
      c.details = "observed: " + text(e, "observed") + "\n";
      if (number(e, "recover_within_ms"))
        c.details += "recover_within_ms: " + text(e, "recover_within_ms") + "\n";
      if (at(e, "recovery_ms").is_number())
        c.details += "recovery_ms: " + text(e, "recovery_ms") + "\n";
      else if (at(e, "recovery_ms").is_null() && at(e, "observed").is_string())
        c.details += "recovery_ms: not recovered\n";
      bool passed = at(e, "passed").is_boolean() && at(e, "passed").get<bool>();
      std::string message = text(e, "message");
      if (!error.empty()) {
        passed = false;
        message = "fault not injected: " + error + (message.empty() ? "" : " (" + message + ")");
      }
      if (!passed) c.failure = message.empty() ? "expectation not met" : message;
      cases.push_back(std::move(c));
    }
  }
  // A skipped drill ran no step: its cases come from the plan when the journal carries it.
  if (skipped && cases.empty()) {
    for (const auto& step : list(at(journal, "plan"), "steps")) {
      const json& expect = at(step, "expect");
      if (!expect.is_object()) continue;
      for (const auto& [probe, expected] : expect.items())
        if (probe != "recover_within_ms")
          cases.push_back(
              {text(step, "name") + ": " + probe + " expected " +
                   (expected.is_string() ? expected.get<std::string>() : expected.dump()),
               {},
               ""});
    }
    if (cases.empty()) cases.push_back({"drill", {}, ""});
  }
  if (verdict == "aborted")
    cases.push_back({"drill: not aborted", "aborted: " + text(journal, "reason"), ""});

  size_t failures = 0;
  for (const auto& c : cases)
    failures += !skipped && c.failure.has_value();
  size_t skips = skipped ? cases.size() : 0;
  std::string suite = markup_escape(title);
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<testsuites name=\"achilles drill\" tests=\"" << cases.size() << "\" failures=\""
      << failures << "\" errors=\"0\" skipped=\"" << skips << "\">\n"
      << "  <testsuite name=\"" << suite << "\" tests=\"" << cases.size() << "\" failures=\""
      << failures << "\" errors=\"0\" skipped=\"" << skips << "\"";
  if (!text(journal, "started_at").empty())
    out << " timestamp=\"" << markup_escape(text(journal, "started_at")) << "\"";
  out << ">\n";
  if (!text(journal, "plan_file").empty() || !text(journal, "reason").empty())
    out << "    <properties>\n"
        << "      <property name=\"plan_file\" value=\""
        << markup_escape(text(journal, "plan_file")) << "\"/>\n"
        << "      <property name=\"verdict\" value=\"" << verdict << "\"/>\n"
        << "      <property name=\"reason\" value=\"" << markup_escape(text(journal, "reason"))
        << "\"/>\n"
        << "    </properties>\n";
  for (const auto& c : cases) {
    out << "    <testcase classname=\"" << suite << "\" name=\"" << markup_escape(c.name) << "\"";
    if (skipped) {
      out << ">\n      <skipped message=\""
          << markup_escape("drill skipped: " + text(journal, "reason"))
          << "\"/>\n    </testcase>\n";
    } else if (c.failure) {
      out << ">\n      <failure type=\"drill\" message=\"" << markup_escape(*c.failure) << "\">"
          << markup_escape(c.details) << "</failure>\n    </testcase>\n";
    } else if (!c.details.empty()) {
      out << ">\n      <system-out>" << markup_escape(c.details)
          << "</system-out>\n    </testcase>\n";
    } else {
      out << "/>\n";
    }
  }
  out << "  </testsuite>\n</testsuites>\n";
  return out.str();
}

}  // namespace achilles::reports
