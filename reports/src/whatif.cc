// The terminal text and Markdown of `achilles whatif`, and the text of `achilles recommend`
// (whatif.h).
#include "achilles/reports/whatif.h"

#include <map>
#include <sstream>

#include "achilles/common/markup.h"
#include "achilles/common/text.h"

namespace achilles::reports {

using analyzer::Analysis;
using analyzer::Finding;
using analyzer::HarmCounts;
using analyzer::WhatIfDiff;

namespace {

using common::md_escape;

std::string plural(size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

std::map<std::string, const Finding*> by_id(const Analysis& a) {
  std::map<std::string, const Finding*> out;
  for (const Finding& f : a.findings)
    out.emplace(f.id(), &f);
  return out;
}

std::string availability(const std::optional<double>& x) {
  return x ? common::format("%.6f", *x) : std::string("-");
}

struct Row {
  const char* name;
  size_t HarmCounts::*field;
};
constexpr Row kRows[] = {{"critical findings", &HarmCounts::critical},
                         {"high findings", &HarmCounts::high},
                         {"all findings", &HarmCounts::findings},
                         {"entrypoints down", &HarmCounts::entrypoints_down}};

}  // namespace

std::string format_whatif_text(const std::string& title, size_t changes, const WhatIfDiff& diff,
                               const Analysis& before, const Analysis& after) {
  std::ostringstream out;
  out << "what if: " << common::one_line(title) << " (" << plural(changes, "change") << ")\n\n";
  out << common::format("  %-18s %8s %8s\n", "", "before", "after");
  for (const Row& r : kRows)
    out << common::format("  %-18s %8zu %8zu\n", r.name, diff.before.*r.field, diff.after.*r.field);
  auto list = [&](const char* heading, const std::vector<std::string>& ids, const Analysis& a) {
    out << "\n" << heading << " (" << ids.size() << ")" << (ids.empty() ? "\n" : ":\n");
    const auto findings = by_id(a);
    for (const auto& id : ids) {
      const Finding* f = findings.at(id);
      out << "  " << f->severity << "  " << id << "\n      " << common::one_line(f->message)
          << "\n";
    }
  };
  list("resolved", diff.resolved, before);
  list("new", diff.added, after);
  out << "\nunchanged: " << plural(diff.unchanged.size(), "finding") << "\n";
  if (!diff.availability.empty()) {
    out << "\navailability per entrypoint:\n";
    out << common::format("  %-24s %10s %10s\n", "", "before", "after");
    for (const auto& a : diff.availability)
      out << common::format("  %-24s %10s %10s\n", common::one_line(a.id).c_str(),
                            availability(a.before).c_str(), availability(a.after).c_str());
  }
  return out.str();
}

std::string format_whatif_markdown(const std::string& title, size_t changes, const WhatIfDiff& diff,
                                   const Analysis& before, const Analysis& after) {
  std::ostringstream out;
  out << "### What if: " << md_escape(title) << " (" << plural(changes, "change") << ")\n\n"
      << "| | before | after |\n| --- | --- | --- |\n";
  for (const Row& r : kRows)
    out << "| " << r.name << " | " << diff.before.*r.field << " | " << diff.after.*r.field
        << " |\n";
  auto table = [&](const char* heading, const std::vector<std::string>& ids, const Analysis& a) {
    out << "\n**" << heading << "** (" << ids.size() << ")\n";
    if (ids.empty()) return;
    out << "\n| severity | finding | message |\n| --- | --- | --- |\n";
    const auto findings = by_id(a);
    for (const auto& id : ids) {
      const Finding* f = findings.at(id);
      out << "| " << f->severity << " | " << md_escape(id) << " | "
          << md_escape(common::one_line(f->message)) << " |\n";
    }
  };
  table("Resolved", diff.resolved, before);
  table("New", diff.added, after);
  out << "\n**Unchanged**: " << plural(diff.unchanged.size(), "finding") << "\n";
  if (!diff.availability.empty()) {
    out << "\n| entrypoint | availability before | after |\n| --- | --- | --- |\n";
    for (const auto& a : diff.availability)
      out << "| " << md_escape(a.id) << " | " << availability(a.before) << " | "
          << availability(a.after) << " |\n";
  }
  return out.str();
}

std::string format_plan_text(const std::string& file, const analyzer::Plan& plan) {
  std::ostringstream out;
  auto counts = [](const HarmCounts& h) {
    return plural(h.critical, "critical finding") + ", " + std::to_string(h.high) + " high, " +
           plural(h.findings, "finding") + " in all, " + plural(h.entrypoints_down, "entrypoint") +
           " down";
  };
  out << "recommend: " << common::one_line(file) << ": " << plural(plan.steps.size(), "change")
      << ", each measured by re-analysis with the changes before it applied\n"
      << "before: " << counts(plan.before) << "\n";
  if (plan.steps.empty())
    out << "\nno change drawn from the findings removes a critical finding, an entrypoint "
           "down or a high finding\n";
  HarmCounts last = plan.before;
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const auto& s = plan.steps[i];
    out << "\n" << i + 1 << ". ";
    if (s.changes.size() == 1)
      out << common::one_line(analyzer::change_line(s.changes[0]));
    else
      out << s.kind << ", " << s.changes.size() << " overlay entries measured together:";
    for (size_t k = 0; s.changes.size() > 1 && k < s.changes.size(); ++k)
      out << "\n     - " << common::one_line(analyzer::change_line(s.changes[k]));
    out << "\n   why: " << common::one_line(s.reason) << "\n   measured: resolves "
        << plural(s.resolved.size(), "finding") << ", introduces " << s.introduced.size()
        << "; critical " << last.critical << " -> " << s.after.critical << ", entrypoints down "
        << last.entrypoints_down << " -> " << s.after.entrypoints_down << "\n";
    last = s.after;
  }
  out << "\nafter: " << counts(last) << "\n";
  if (plan.before.critical > 0)
    out << common::format("critical findings removed: %.0f%%\n",
                          100.0 * (double(plan.before.critical) - double(last.critical)) /
                              double(plan.before.critical));
  out << "(" << plan.analyses << (plan.analyses == 1 ? " analysis" : " analyses")
      << " run; check the plan with: achilles "
      << "recommend FILE --format yaml -o plan.yaml && achilles whatif FILE plan.yaml)\n";
  return out.str();
}

}  // namespace achilles::reports
