// The order findings are put in front of people (order.h) and what each output says about
// them: most harmful first within a severity, the report's worst risks and fix first, and no
// empty impact or explanation lines.
#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/loader.h"
#include "achilles/reports/html.h"
#include "achilles/reports/order.h"
#include "achilles/reports/summary.h"

namespace {

using achilles::analyzer::Topology;
namespace analyzer = achilles::analyzer;
namespace reports = achilles::reports;

Topology load_text(const std::string& text) {
  std::string path = "/tmp/achilles-order-test.yaml";
  std::ofstream(path) << text;
  auto t = analyzer::load_topology(path);
  std::remove(path.c_str());
  return t;
}

// aux and zdb each take www down with the same impact; zdb is a database.
const char* const kEqualHarm =
    "version: 1\nname: equal\ncomponents:\n"
    "  - {id: lb-1, depends_on: [app]}\n"
    "  - {id: app, depends_on: [aux, zdb]}\n"
    "  - {id: aux, kind: host}\n"
    "  - {id: zdb, kind: database}\n"
    "entrypoints:\n  - {id: www, target: lb-1}\n";

std::string section(const std::string& html, const std::string& open, const std::string& close) {
  auto a = html.find(open);
  if (a == std::string::npos) return "";
  return html.substr(a, html.find(close, a) - a + close.size());
}

}  // namespace

TEST_CASE(
    "stateful kinds: the database, cache, queue and storage family, volumes, and the label "
    "stateful",
    "[reports][order]") {
  auto t = load_text(
      "version: 1\ncomponents:\n  - {id: a, kind: database}\n  - {id: b, kind: redis-cache}\n"
      "  - {id: c, kind: message_queue}\n  - {id: d, kind: host}\n  - {id: e, kind: volume}\n"
      "  - {id: f, kind: pod, depends_on: [e]}\n  - {id: g, kind: dbx}\n"
      "  - {id: h, kind: pod, labels: {stateful: \"emptyDir volume d at /data\"}}\n"
      "  - {id: i, kind: pod, labels: {stateful: \"false\"}}\n"
      "services:\n  - {id: s, members: [a]}\n  - {id: u, members: [d]}\n"
      "entrypoints:\n  - {id: www, target: s}\n");
  auto stateful = [&](const char* id) { return reports::is_stateful(t, *t.find(id)); };
  CHECK(stateful("a"));
  CHECK(stateful("b"));
  CHECK(stateful("c"));
  CHECK_FALSE(stateful("d"));
  CHECK(stateful("e"));
  CHECK(stateful("f"));
  CHECK_FALSE(stateful("g"));
  CHECK(stateful("h"));  // the label an importer writes (issue 21)
  CHECK_FALSE(stateful("i"));
  CHECK(stateful("s"));
  CHECK_FALSE(stateful("u"));
}

TEST_CASE("text and Markdown list a stateful finding before an equally harmful stateless one",
          "[reports][order]") {
  auto t = load_text(kEqualHarm);
  analyzer::AnalysisOptions options;
  options.order = 1;
  auto a = analyzer::analyze(t, options);
  // The analyzer's own (JSON) order stays by id.
  REQUIRE(a.findings.size() == 4);
  CHECK(a.findings[1].id() == "spof:aux");
  CHECK(a.findings[3].id() == "spof:zdb");
  // aux and zdb take 3 components down, app 2, lb-1 1.
  std::string text = reports::format_text(t, a);
  CHECK(text.find("\nCRITICAL (4)\n  spof:zdb\n") != std::string::npos);
  CHECK(text.find("  spof:zdb\n") < text.find("  spof:aux\n"));
  CHECK(text.find("  spof:aux\n") < text.find("  spof:app\n"));
  CHECK(text.find("  spof:app\n") < text.find("  spof:lb-1\n"));
  std::string md = reports::format_markdown(t, a);
  CHECK(md.find("spof `zdb`") < md.find("spof `aux`"));
}

TEST_CASE(
    "campaign-2012: the report's worst risks are the first five risk groups, what to "
    "change first",
    "[reports][order]") {
  auto t = analyzer::load_topology(std::string(ACHILLES_TOPOLOGIES) + "/campaign-2012.yaml");
  auto a = analyzer::analyze(t, {});
  std::string html = reports::format_html(t, analyzer::to_json(t, a));
  // The region is reached through dashboards, its only copy sits in use1-az3; the region's
  // capacity_spof is web's headroom; db-primary is db-writes' only member.
  CHECK(section(html, "<p>The worst risks", "</p>") ==
        "<p>The worst risks, what to change first (15 risk groups for 27 findings):</p>");
  CHECK(section(html, "<ol id=\"worst\">", "</ol>") ==
        "<ol id=\"worst\"><li><b class=\"sev-critical\">critical</b> <code>dashboards</code> "
        "lacks redundancy or spread: 3 findings, 4 entrypoints down, 1 entrypoint degraded "
        "(analytics-dashboard, call-tool, donate, mobile-api down)<br><span "
        "class=\"muted\">domain_spof:us-east-1, domain_spof:use1-az3, "
        "spof:dashboards</span></li><li><b class=\"sev-critical\">critical</b> <code>web</code> "
        "has no headroom: 1 finding, 4 entrypoints down, 1 entrypoint degraded "
        "(analytics-dashboard, call-tool, donate, mobile-api down)<br><span "
        "class=\"muted\">capacity_spof:us-east-1</span></li><li><b "
        "class=\"sev-critical\">critical</b> <code>db-writes</code> lacks redundancy or spread: "
        "2 findings, 2 entrypoints down, 3 entrypoints degraded (call-tool, mobile-api "
        "down)<br><span class=\"muted\">domain_spof:use1-az1, spof:db-primary</span></li><li><b "
        "class=\"sev-critical\">critical</b> <code>donate-web</code> has no headroom: 5 "
        "findings, 2 entrypoints down, 3 entrypoints degraded (call-tool, mobile-api "
        "down)<br><span class=\"muted\">capacity_spof:use1-az1, capacity_spof:use1-az2, "
        "capacity_spof:donate-web-1 and 2 more</span></li><li><b "
        "class=\"sev-critical\">critical</b> <code>donations-queue</code> lacks redundancy or "
        "spread: 1 finding, 1 entrypoint down (donate down)<br><span "
        "class=\"muted\">spof:donations-queue</span></li></ol>");
  CHECK(html.find("<p class=\"muted\">and 10 more risk groups; every finding is in the table "
                  "below.</p>") != std::string::npos);
}

TEST_CASE(
    "campaign-2012: from a document without risk groups, the report's worst risks are "
    "the most harmful findings and include db-primary",
    "[reports][order]") {
  auto t = analyzer::load_topology(std::string(ACHILLES_TOPOLOGIES) + "/campaign-2012.yaml");
  auto a = analyzer::analyze(t, {});
  auto doc = analyzer::to_json(t, a);
  doc.erase("groups");
  std::string html = reports::format_html(t, doc);
  std::string worst = section(html, "<ul id=\"worst\">", "</ul>");
  // One per subject: us-east-1's capacity_spof and domain_spof are one risk.
  CHECK(worst ==
        "<ul id=\"worst\"><li><b>critical</b> <code>capacity_spof:us-east-1</code>: losing "
        "region us-east-1 pushes web-usw2-1 to 133% of its capacity (4 entrypoints, 7 services "
        "and 24 components down)</li><li><b>critical</b> <code>capacity_spof:use1-az1</code>: "
        "losing zone use1-az1 pushes donate-web-3 to 211% of its capacity (2 entrypoints, 5 "
        "services and 10 components down)</li><li><b>critical</b> <code>spof:db-primary</code>: "
        "db-primary is a single point of failure for call-tool and mobile-api (2 entrypoints, 4 "
        "services and 4 components down)</li><li><b>critical</b> "
        "<code>spof:donations-queue</code>: donations-queue is a single point of failure for "
        "donate (1 entrypoint, 2 services and 4 components down)</li><li><b>critical</b> "
        "<code>capacity_spof:use1-az2</code>: losing zone use1-az2 pushes donate-web-1 to 105% "
        "of its capacity (and 1 more above 100%) (1 entrypoint, 1 service and 6 components "
        "down)</li></ul>");
  // Fix first, as analyze says it.
  CHECK(section(html, "<ul id=\"fix-first\">", "</ul>")
            .find("<li><code>mobile-api</code>: <code>db-primary</code> +") != std::string::npos);
  // The table: a services-down column, the most harmful first, no "why: donate".
  CHECK(html.find("<th>degraded</th><th>services down</th><th>components down</th>") !=
        std::string::npos);
  auto first_row = html.find("<tr data-id=");
  CHECK(html.find("<tr data-id=\"capacity_spof:us-east-1\"") == first_row);
  std::string slo = section(html, "<tr data-id=\"slo_risk:donate\"", "</tr>");
  CHECK(slo.substr(slo.size() - 19) == "</td><td></td></tr>");
}

TEST_CASE("an slo_risk shows neither an empty impact nor the entrypoint as its why",
          "[reports][order]") {
  auto t = analyzer::load_topology(std::string(ACHILLES_TOPOLOGIES) + "/campaign-2012.yaml");
  auto a = analyzer::analyze(t, {});
  std::string text = reports::format_text(t, a);
  CHECK(text.find("  slo_risk:donate\n      donate's availability 0.999249 (exact) is below its "
                  "slo 0.9995; the largest gain is making payment-provider never fail\n  "
                  "slo_risk:mobile-api\n") != std::string::npos);
  CHECK(text.find("impact: 0 components") == std::string::npos);
  CHECK(text.find("why: donate\n") == std::string::npos);
  CHECK(text.rfind("campaign-2012 (9 failure domains, 30 components, 9 services, 5 entrypoints): "
                   "27 findings: 18 critical, 9 high\n",
                   0) == 0);
}

TEST_CASE("counts are singular for one: 1 failure domain, 1 service", "[reports][order]") {
  auto t = load_text(
      "version: 1\nname: one\ndomains:\n  - {id: az1, kind: zone}\ncomponents:\n"
      "  - {id: web-1, domain: az1}\nservices:\n  - {id: web, members: [web-1]}\n"
      "entrypoints:\n  - {id: www, target: web}\n");
  analyzer::AnalysisOptions options;
  options.order = 1;
  auto a = analyzer::analyze(t, options);
  CHECK(reports::format_text(t, a).rfind(
            "one (1 failure domain, 1 component, 1 service, 1 entrypoint): 2 findings: 2 "
            "critical\n",
            0) == 0);
  std::string html = reports::format_html(t, analyzer::to_json(t, a));
  CHECK(html.find("<p>1 component, 1 service, 1 failure domain, 1 entrypoint") !=
        std::string::npos);
}
