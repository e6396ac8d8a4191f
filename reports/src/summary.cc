#include "achilles/reports/summary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "achilles/common/markup.h"
#include "achilles/common/text.h"
#include "achilles/reports/order.h"

namespace achilles::reports {

using analyzer::Analysis;
using analyzer::Element;
using analyzer::ElementId;
using analyzer::ElementKind;
using analyzer::Finding;
using analyzer::Status;
using analyzer::Topology;

namespace {

using common::md_escape;

using common::join;

const char* const kSeverities[] = {"critical", "high", "medium", "low"};

std::string plural(size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

std::string title(const Topology& topology) {
  if (!topology.name.empty()) return topology.name;
  return topology.file.empty() ? "topology" : topology.file;
}

std::string counts_line(const Topology& t) {
  return plural(t.count(ElementKind::kDomain), "failure domain") + ", " +
         plural(t.count(ElementKind::kComponent), "component") + ", " +
         plural(t.count(ElementKind::kService), "service") + ", " +
         plural(t.count(ElementKind::kEntrypoint), "entrypoint");
}

/// "12 findings: 3 critical, 8 high, 1 low", or "no findings".
std::string findings_line(const Analysis& analysis) {
  if (analysis.findings.empty()) return "no findings";
  std::map<int, size_t> by_rank;
  for (const Finding& f : analysis.findings)
    ++by_rank[analyzer::severity_rank(f.severity)];
  std::vector<std::string> parts;
  for (const auto& [rank, n] : by_rank)
    parts.push_back(std::to_string(n) + " " + kSeverities[rank]);
  return plural(analysis.findings.size(), "finding") + ": " + join(parts, ", ");
}

/// Whether a finding takes anything down or degrades anything (an slo_risk does not: its
/// harm is its availability, said in its message).
bool has_impact(const Finding& f) {
  const auto& i = f.impact;
  return !i.entrypoints_down.empty() || !i.entrypoints_degraded.empty() || i.components_down ||
         i.services_down;
}

/// Whether the explanation says more than the subject's own name ("why: donate" does not).
bool explains(const Finding& f) {
  return !f.explanation.empty() &&
         !(f.explanation.size() == 1 && f.subject.size() == 1 && f.explanation[0] == f.subject[0]);
}

std::string impact_text(const Finding& f) {
  const auto& i = f.impact;
  std::string out;
  if (!i.entrypoints_down.empty())
    out += join(i.entrypoints_down, ", ") + (f.kind == "cycle" ? " never up; " : " down; ");
  if (!i.entrypoints_degraded.empty()) out += join(i.entrypoints_degraded, ", ") + " degraded; ";
  // "1 component down", not "1 component and 0 services down": a zero is left out.
  out += plural(i.components_down, "component") +
         (i.services_down ? " and " + plural(i.services_down, "service") : "") +
         (f.kind == "cycle" ? " never start" : " down");
  return out;
}

std::string percent(double u) {
  return std::isfinite(u) ? common::format("%.0f%%", u * 100) : "unbounded";
}

/// The cascade that followed a capacity_spof under --cascade, in one line; empty without.
std::string cascade_text(const Finding& f) {
  if (!f.details.contains("cascade")) return "";
  const auto& c = f.details["cascade"];
  std::vector<std::string> eps = c["entrypoints_down"].get<std::vector<std::string>>();
  size_t down = c["down"].size(), fell = c["failed"].size();
  return plural(fell, "overloaded survivor") + " failed in turn; at the end " +
         (down == 1 ? std::string("1 component or service")
                    : std::to_string(down) + " components or services") +
         " down, " + (eps.empty() ? "every entrypoint up" : "entrypoints down: " + join(eps, ", "));
}

/// "www: 0.998494 (exact), slo 0.999; fix first: nfs-1 +0.000499, ..."
std::string availability_text(const Topology& topology, const analyzer::EntrypointAvailability& a) {
  std::string out = a.id + ": " + common::format("%.6f", a.availability) + " (" + a.method;
  if (a.error.contains("interval"))
    out += ", 95% in " + common::format("%.6f", a.error["interval"][0].get<double>()) + ".." +
           common::format("%.6f", a.error["interval"][1].get<double>());
  out += ")";
  auto ep = topology.find(a.id);
  if (ep && topology[*ep].slo) out += ", slo " + common::format("%.6g", *topology[*ep].slo);
  if (!a.importance.empty()) {
    std::vector<std::string> fixes;
    for (size_t i = 0; i < a.importance.size() && i < 3; ++i)
      fixes.push_back(a.importance[i].id + " +" + common::format("%.3g", a.importance[i].gain));
    out += "; fix first: " + join(fixes, ", ");
  }
  return out;
}

/// The busiest elements with nothing failed, at most `n`, busiest first.
std::vector<const analyzer::Utilization*> busiest(const Analysis& analysis, size_t n) {
  std::vector<const analyzer::Utilization*> rows;
  for (const auto& u : analysis.utilization)
    rows.push_back(&u);
  std::stable_sort(rows.begin(), rows.end(),
                   [](auto* a, auto* b) { return a->utilization > b->utilization; });
  if (rows.size() > n) rows.resize(n);
  return rows;
}

/// The name a group's line starts with: its fix, or by team the team.
std::string group_label(const analyzer::RiskGroup& g) {
  if (g.kind != "team") return g.fix;
  return g.has_team ? g.team : "no team label";
}

}  // namespace

namespace {
/// How many ids were left out of a finding's explanation after its first half, 0 if none.
size_t elided(const nlohmann::json& details) {
  if (!details.is_object()) return 0;
  auto it = details.find("explanation_elided");
  return it != details.end() && it->is_number_integer() && *it > 0 ? it->get<size_t>() : 0;
}
std::string elided_text(size_t n) {
  return "... " + std::to_string(n) + " more ...";
}
}  // namespace

std::string explanation_line(const Finding& f, std::string_view arrow) {
  std::string out;
  const size_t left_out = elided(f.details);
  for (size_t i = 0; i < f.explanation.size(); ++i) {
    if (i) out += arrow;
    if (left_out && i == analyzer::kExplanationMax / 2) out += elided_text(left_out) += arrow;
    out += f.explanation[i];
    if (i < f.explanation_notes.size() && !f.explanation_notes[i].empty())
      out += " (" + f.explanation_notes[i] + ")";
  }
  return out;
}

std::string explanation_line(const nlohmann::json& f, std::string_view arrow) {
  std::string out;
  const size_t left_out = elided(f);
  size_t i = 0;
  for (const auto& x : f.value("explanation", nlohmann::json::array())) {
    if (i) out += arrow;
    if (left_out && i == analyzer::kExplanationMax / 2) out += elided_text(left_out) += arrow;
    out += x.is_string() ? x.get<std::string>() : x.dump();
    ++i;
  }
  return out;
}

std::string subject_line(const nlohmann::json& f, std::string_view sep) {
  std::string out;
  if (auto any = f.find("any"); any != f.end() && any->is_number_integer() && *any > 0)
    out = "any " + std::to_string(any->get<size_t>()) + " of ";
  bool first = true;
  for (const auto& x : f.value("subject", nlohmann::json::array())) {
    if (!first) out += sep;
    first = false;
    out += x.is_string() ? x.get<std::string>() : x.dump();
  }
  return out;
}

std::string format_text(const Topology& topology, const Analysis& analysis) {
  std::ostringstream out;
  out << title(topology) << " (" << counts_line(topology) << "): " << findings_line(analysis)
      << "\n";
  // The risk groups first (spec whatif.md): one line each, most harmful first.
  if (!analysis.groups.empty()) {
    out << "\nRISK GROUPS (" << analysis.groups.size() << "), most harmful first\n";
    for (const auto& g : analysis.groups)
      out << "  " << g.severity
          << std::string(g.severity.size() < 9 ? 9 - g.severity.size() : 1, ' ') << g.summary
          << "\n";
  }
  const auto order = harm_order(topology, analysis.findings);
  for (int rank = 0; rank < 4; ++rank) {
    std::vector<const Finding*> group;
    for (size_t i : order)
      if (analyzer::severity_rank(analysis.findings[i].severity) == rank)
        group.push_back(&analysis.findings[i]);
    if (group.empty()) continue;
    std::string heading = kSeverities[rank];
    for (char& c : heading)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out << "\n" << heading << " (" << group.size() << ")\n";
    for (const Finding* f : group) {
      out << "  " << f->id() << "\n"
          << "      " << f->message << "\n";
      if (has_impact(*f)) out << "      impact: " << impact_text(*f) << "\n";
      if (explains(*f)) out << "      why: " << explanation_line(*f) << "\n";
      if (auto c = cascade_text(*f); !c.empty()) out << "      cascade: " << c << "\n";
    }
  }
  if (!analysis.utilization.empty()) {
    out << "\nBUSIEST (nothing failed)\n";
    for (const auto* u : busiest(analysis, 5))
      out << "  " << u->id << ": " << percent(u->utilization) << " of "
          << common::format("%.6g", u->capacity) << "\n";
  }
  if (!analysis.availability.empty()) {
    out << "\nAVAILABILITY\n";
    for (const auto& a : analysis.availability)
      out << "  " << availability_text(topology, a) << "\n";
  }
  return out.str();
}

std::string format_markdown(const Topology& topology, const Analysis& analysis) {
  std::ostringstream out;
  out << "### Achilles: " << md_escape(title(topology)) << "\n\n"
      << "**" << findings_line(analysis) << "** (" << counts_line(topology) << ")\n\n";
  if (analysis.findings.empty()) return out.str();
  // The risk groups first (spec whatif.md), most harmful first.
  out << "**Risk groups**, most harmful first:\n\n| severity | "
      << (analysis.options.group_by == analyzer::GroupBy::kTeam ? "team" : "change")
      << " | risk group |\n| --- | --- | --- |\n";
  for (const auto& g : analysis.groups)
    out << "| " << g.severity << " | " << md_escape(group_label(g)) << " | " << md_escape(g.summary)
        << " |\n";
  out << "\n**Findings**, most harmful first:\n\n";
  out << "| severity | finding | entrypoints down | services down | why |\n"
      << "| --- | --- | --- | --: | --- |\n";
  for (size_t i : harm_order(topology, analysis.findings)) {
    const Finding& f = analysis.findings[i];
    std::vector<std::string> subject;
    for (const auto& s : f.subject)
      subject.push_back("`" + s + "`");
    // A grouped cut set (analysis-json.md) stands for every `any` of its subject.
    std::string any;
    if (f.details.is_object())
      if (auto k = f.details.find("any"); k != f.details.end() && k->is_number_integer() && *k > 0)
        any = "any " + std::to_string(k->get<size_t>()) + " of ";
    out << "| " << f.severity << " | " << f.kind << " " << any << join(subject, " + ") << " | "
        << (f.impact.entrypoints_down.empty() ? "-"
                                              : md_escape(join(f.impact.entrypoints_down, ", ")))
        << " | " << f.impact.services_down << " | "
        << (explains(f) ? md_escape(explanation_line(f, " → ")) : "-") << " |\n";
  }
  if (!analysis.availability.empty()) {
    out << "\n| entrypoint | availability | fix first |\n| --- | --- | --- |\n";
    for (const auto& a : analysis.availability) {
      std::string fix = a.importance.empty() ? "-" : "`" + a.importance[0].id + "`";
      out << "| " << md_escape(a.id) << " | " << common::format("%.6f", a.availability) << " ("
          << a.method << ") | " << fix << " |\n";
    }
  }
  return out.str();
}

std::string format_blast_text(const Topology& topology, std::span<const ElementId> failed,
                              const std::vector<Status>& statuses) {
  std::ostringstream out;
  std::vector<std::string> names;
  for (ElementId f : failed)
    names.push_back(topology[f].id);
  std::vector<std::string> down, degraded;
  for (ElementId x = 0; x < topology.size(); ++x) {
    const Element& e = topology[x];
    if (e.kind == ElementKind::kEntrypoint) continue;
    if (statuses[x] == Status::kDown) down.push_back(e.id);
    if (statuses[x] == Status::kDegraded) degraded.push_back(e.id);
  }
  out << "failing " << join(names, ", ") << ":\n\nentrypoints:\n";
  for (ElementId x = 0; x < topology.size(); ++x) {
    if (topology[x].kind != ElementKind::kEntrypoint) continue;
    out << "  " << topology[x].id << ": " << to_string(statuses[x]) << "\n";
  }
  out << "\ndown (" << down.size() << "): " << (down.empty() ? "-" : join(down, ", ")) << "\n"
      << "degraded (" << degraded.size() << "): " << (degraded.empty() ? "-" : join(degraded, ", "))
      << "\n";
  return out.str();
}

std::string format_blast_json(const Topology& topology, std::span<const ElementId> failed,
                              const std::vector<Status>& statuses) {
  nlohmann::json doc;
  std::vector<std::string> names;
  for (ElementId f : failed)
    names.push_back(topology[f].id);
  doc["failed"] = names;
  nlohmann::json elements = nlohmann::json::array();
  std::vector<std::string> eps_down, eps_degraded;
  for (ElementId x = 0; x < topology.size(); ++x) {
    const Element& e = topology[x];
    elements.push_back(
        {{"id", e.id}, {"kind", to_string(e.kind)}, {"status", to_string(statuses[x])}});
    if (e.kind == ElementKind::kEntrypoint && statuses[x] == Status::kDown)
      eps_down.push_back(e.id);
    if (e.kind == ElementKind::kEntrypoint && statuses[x] == Status::kDegraded)
      eps_degraded.push_back(e.id);
  }
  std::sort(eps_down.begin(), eps_down.end());
  std::sort(eps_degraded.begin(), eps_degraded.end());
  doc["entrypoints_down"] = eps_down;
  doc["entrypoints_degraded"] = eps_degraded;
  doc["elements"] = std::move(elements);
  return doc.dump(2) + "\n";
}

}  // namespace achilles::reports
