// JUnit XML for `achilles check --junit`: CI systems show each finding that breaks a rule as a
// failed test case of its own, and each rule nothing breaks as a passing one.
#include <sstream>
#include "achilles/common/markup.h"

#include "achilles/reports/check.h"
#include "achilles/reports/summary.h"

namespace achilles::reports {

namespace {

using ::achilles::common::markup_escape;

}  // namespace

std::string format_junit(const CheckResult& result) {
  const auto& t = *result.topology;
  std::string suite = "achilles check: " + (t.name.empty() ? t.file : t.name);
  // One test case per (rule, finding that breaks it): failed when the finding is new,
  // skipped when the baseline knows it; a rule that no finding breaks is one passing case.
  size_t tests = 0, failures = 0, skipped = 0;
  for (const auto& r : result.rules) {
    tests += r.breaking.empty() ? 1 : r.breaking.size();
    failures += r.new_count;
    skipped += r.breaking.size() - r.new_count;
  }
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<testsuites name=\"achilles check\" tests=\"" << tests << "\" failures=\"" << failures
      << "\" errors=\"0\" skipped=\"" << skipped << "\">\n"
      << "  <testsuite name=\"" << markup_escape(suite) << "\" tests=\"" << tests
      << "\" failures=\"" << failures << "\" errors=\"0\" skipped=\"" << skipped << "\">\n";
  for (const auto& r : result.rules) {
    auto open_case = [&](const std::string& name) {
      out << "    <testcase classname=\"achilles.check." << markup_escape(r.rule->name)
          << "\" name=\"" << markup_escape(name) << "\" file=\"" << markup_escape(t.file)
          << "\">\n";
    };
    if (r.breaking.empty()) {
      open_case(r.rule->title());
      if (!r.note.empty())
        out << "      <system-out>" << markup_escape("note: " + r.note + "\n") << "</system-out>\n";
      out << "    </testcase>\n";
      continue;
    }
    for (size_t i : r.breaking) {
      const auto& f = result.findings[i];
      std::string id = f.value("id", "");
      open_case(r.rule->title() + ": " + id);
      if (f["new"].get<bool>())
        out << "      <failure type=\"" << markup_escape(f.value("kind", "")) << "\" message=\""
            << markup_escape(id + ": " + f.value("message", "")) << "\">"
            << markup_escape("severity: " + f.value("severity", "") + "\n" +
                             "why: " + explanation_line(f) + "\n")
            << "</failure>\n";
      else
        out << "      <skipped message=\""
            << markup_escape("known from the baseline: " + id + ": " + f.value("message", ""))
            << "\"/>\n";
      out << "    </testcase>\n";
    }
  }
  out << "  </testsuite>\n</testsuites>\n";
  return out.str();
}

}  // namespace achilles::reports
