// JUnit XML for `achilles check --junit`: CI systems show each rule as a test case.
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
  size_t failures = 0;
  for (const auto& r : result.rules)
    failures += r.new_count;
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<testsuites name=\"achilles check\" tests=\"" << result.rules.size() << "\" failures=\""
      << failures << "\" errors=\"0\">\n"
      << "  <testsuite name=\"" << markup_escape(suite) << "\" tests=\"" << result.rules.size()
      << "\" failures=\"" << failures << "\" errors=\"0\" skipped=\"0\">\n";
  for (const auto& r : result.rules) {
    out << "    <testcase classname=\"achilles.check." << markup_escape(r.rule->name)
        << "\" name=\"" << markup_escape(r.rule->title()) << "\" file=\"" << markup_escape(t.file)
        << "\">\n";
    std::string known;
    for (size_t i : r.breaking) {
      const auto& f = result.findings[i];
      std::string id = f.value("id", "");
      if (!f["new"].get<bool>()) {
        known += id + ": " + f.value("message", "") + "\n";
        continue;
      }
      out << "      <failure type=\"" << markup_escape(f.value("kind", "")) << "\" message=\""
          << markup_escape(id + ": " + f.value("message", "")) << "\">"
          << markup_escape("severity: " + f.value("severity", "") + "\n" +
                           "why: " + explanation_line(f) + "\n")
          << "</failure>\n";
    }
    if (!known.empty() || !r.note.empty())
      out << "      <system-out>"
          << markup_escape((known.empty() ? "" : "known from the baseline:\n" + known) +
                           (r.note.empty() ? "" : "note: " + r.note + "\n"))
          << "</system-out>\n";
    out << "    </testcase>\n";
  }
  out << "  </testsuite>\n</testsuites>\n";
  return out.str();
}

}  // namespace achilles::reports
