// The drill report and JUnit from journals: a failed drill, a skipped one, an aborted one
// with hostile strings, degenerate journals, and a long drill with tens of thousands of
// samples.
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "achilles/reports/drill.h"

namespace {

using nlohmann::json;
namespace reports = achilles::reports;
namespace pt = boost::property_tree;

json fixture(const std::string& name) {
  std::ifstream in(std::string(REPORTS_TEST_DATA) + "/" + name);
  REQUIRE(in);
  return json::parse(in);
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1))
    ++n;
  return n;
}

/// The text between the first `open` at or after `from` and the next `close`.
std::string between(const std::string& text, const std::string& open, const std::string& close,
                    size_t from = 0) {
  size_t a = text.find(open, from);
  REQUIRE(a != std::string::npos);
  size_t b = text.find(close, a);
  REQUIRE(b != std::string::npos);
  return text.substr(a, b + close.size() - a);
}

/// Parses XML (each SVG, the JUnit document): throws when it is not well-formed.
pt::ptree parse_xml(const std::string& xml) {
  std::istringstream in(xml);
  pt::ptree tree;
  pt::read_xml(in, tree);
  return tree;
}

}  // namespace

TEST_CASE("The drill report shows the verdict, every expectation and each probe's timeline",
          "[reports][drill]") {
  std::string html = reports::drill_html(fixture("drill-failed.json"));
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("<title>Achilles drill: web tier fails over when one instance dies "
                  "(failed)</title>") != std::string::npos);
  CHECK(html.find("<div id=\"verdict\" class=\"v-failed\" data-verdict=\"failed\"><span "
                  "class=\"word\">failed</span><span class=\"reason\">1 of 3 expectations "
                  "failed; 1 fault not injected</span></div>") != std::string::npos);
  CHECK(html.find("2026-11-26T12:00:00.000Z &rarr; 2026-11-26T12:00:34.250Z") != std::string::npos);

  std::string table = between(html, "<section id=\"verdicts\">", "</section>");
  // Both times of spec drill.md: the outage (to within the probe interval) and the recovery.
  // Numbers are right-aligned under right-aligned headers.
  CHECK(table.find("<th class=\"num\">recover within</th><th class=\"num\">outage</th><th "
                   "class=\"num\">recovery time</th>") != std::string::npos);
  CHECK(count(table, "<tr class=\"passed\">") == 3);
  CHECK(count(table, "<tr class=\"failed\">") == 2);
  CHECK(table.find("<tr class=\"passed\"><td>kill web-1</td><td>www</td><td>healthy</td><td>"
                   "healthy</td><td class=\"num\">5000 ms</td><td class=\"num\">&mdash;</td><td "
                   "class=\"num\">1210 ms</td><td "
                   "class=\"ok\">passed</td><td>healthy again after 1210 ms</td></tr>") !=
        std::string::npos);
  CHECK(table.find("<tr class=\"failed\"><td>slow database</td><td>api</td><td>down</td><td>"
                   "degraded</td><td class=\"num\">&mdash;</td><td class=\"num\">&mdash;</td><td "
                   "class=\"num\">10.4 s</td><td "
                   "class=\"bad\">failed</td><td>never down: the worst status was degraded</td>"
                   "</tr>") != std::string::npos);
  CHECK(table.find("<td>pause cache</td><td colspan=\"6\" class=\"na\">fault not injected</td>"
                   "<td class=\"bad\">failed</td><td class=\"error\">the agent refused the fault "
                   "(403): process memcached is not in allow.processes</td>") != std::string::npos);

  // One chart per probe; each well-formed, with the latency as one path, failed samples as
  // ticks, the two injected faults shaded and the third step marked as not injected.
  CHECK(count(html, "<svg class=\"timeline\"") == 2);
  size_t at = 0;
  for (int i = 0; i < 2; ++i) {
    std::string svg = between(html, "<svg class=\"timeline\"", "</svg>", at);
    at = html.find("</svg>", at) + 1;
    CHECK_NOTHROW(parse_xml(svg));
    // The latency fault shaded for its duration; the kill, an instant, followed by its
    // observation.
    CHECK(count(svg, "<rect class=\"fault\"") == 1);
    CHECK(count(svg, "<rect class=\"observe\"") == 1);
    CHECK(count(svg, "<g class=\"step\">") == 2);
    CHECK(count(svg, "<g class=\"step not-injected\">") == 1);
    CHECK(svg.find(">kill web-1</text>") != std::string::npos);
    CHECK(svg.find(">pause cache (not injected)</text>") != std::string::npos);
    CHECK(svg.find("<path class=\"failed\"") != std::string::npos);
    CHECK(svg.find("<path class=\"latency\" d=\"M") != std::string::npos);
  }
  std::string www = between(html, "<svg class=\"timeline\"", "</svg>");
  CHECK(www.find("aria-label=\"Timeline of probe www: 342 samples, 12 failed\"") !=
        std::string::npos);
  CHECK(www.find("<title>12 failed samples</title>") != std::string::npos);
  CHECK(www.find("<title>p99 objective 250 ms</title>") != std::string::npos);
  CHECK(www.find(">p99 objective 250 ms</text>") != std::string::npos);
  CHECK(www.find("<title>slow database: fault active from 15.0 s to 25.0 s</title>") !=
        std::string::npos);
  // A kill is an instant: what follows it is its observation, drawn as such, not as a fault
  // active for the whole window.
  CHECK(www.find("<rect class=\"observe\"") != std::string::npos);
  CHECK(www.find("<title>kill web-1: an instant fault, observed from 3 ms to 15.0 s</title>") !=
        std::string::npos);
  CHECK(www.find("kill web-1: fault active") == std::string::npos);

  // Steps: what the agent saw, the summaries with their empty phases, the prediction.
  std::string steps = between(html, "<section id=\"steps\">", "</section>");
  CHECK(steps.find("<h3><span class=\"muted\">1.</span> kill web-1</h3>") != std::string::npos);
  CHECK(steps.find("<th class=\"num\">samples</th><th class=\"num\">success</th>") !=
        std::string::npos);
  CHECK(steps.find("the agent observed: <span class=\"observed\">restarted, new pid 4242, after "
                   "812 ms</span>") != std::string::npos);
  CHECK(steps.find("<tr><td>www</td><td>during</td><td class=\"num\">150</td><td "
                   "class=\"num\">92.0%</td><td class=\"num\">2.2 ms</td><td class=\"num\">1000 "
                   "ms</td><td class=\"num\">1000 ms</td></tr>") != std::string::npos);
  CHECK(steps.find("<tr><td>www</td><td>after</td><td colspan=\"5\" class=\"na\">no "
                   "samples</td></tr>") != std::string::npos);
  // The summaries follow the journal's order of probes.
  CHECK(steps.find("<tr><td>www</td><td>before</td>") <
        steps.find("<tr><td>api</td><td>before</td>"));
  CHECK(steps.find("predicted: redundant web &middot; <span class=\"ok\">the live system "
                   "agreed</span>") != std::string::npos);
  CHECK(steps.find("<span class=\"error\">not injected: the agent refused the fault (403)") !=
        std::string::npos);

  std::string rollback = between(html, "<section id=\"rollback\">", "</section>");
  CHECK(rollback.find("<td><code>f-2</code></td><td class=\"ok\">reverted</td>") !=
        std::string::npos);
  std::string predictions = between(html, "<section id=\"predictions\">", "</section>");
  // A journal from before the runner recorded which entrypoints went down says so.
  CHECK(predictions.find("<td>slow database</td><td>latency</td><td>db</td><td><span "
                         "class=\"na\">not recorded</span></td><td><span class=\"na\">not "
                         "recorded</span></td><td><span class=\"bad\">disagreed</span></td>") !=
        std::string::npos);

  // Self-contained: nothing is fetched.
  CHECK_FALSE(std::regex_search(html, std::regex("(src|href)=\"")));
  CHECK(html.find("@import") == std::string::npos);
  CHECK(html.find("url(") == std::string::npos);
}

namespace {

/// A journal of one probe and `names.size()` steps injected at the given times (ms).
json journal_with_steps(const std::vector<std::pair<std::string, double>>& steps, double p99) {
  json j = {
      {"drill", "labels"},
      {"verdict", "passed"},
      {"probes",
       json::array(
           {{{"name", "www"}, {"healthy_when", {{"p99_ms", p99}}}, {"samples", json::array()}}})},
      {"steps", json::array()}};
  for (int t = 0; t < 20000; t += 100)
    j["probes"][0]["samples"].push_back(json::array({t, true, 20 + (t % 700) / 10}));
  for (const auto& [name, at] : steps)
    j["steps"].push_back({{"name", name},
                          {"at_ms", at},
                          {"injected_at_ms", at},
                          {"fault", {{"kind", "pause"}, {"duration_ms", 500}}},
                          {"window", {{"from_ms", at}, {"to_ms", at + 1000}}}});
  return j;
}

struct Label {
  double x0, x1, y;
  std::string text;
};

/// The step labels of the first timeline, with their extent as the report estimates it
/// (7 px a character) from where they start, or end when anchored there.
std::vector<Label> step_labels(const std::string& html) {
  std::string svg = between(html, "<svg class=\"timeline\"", "</svg>");
  std::regex text(
      R"re(<text class="step-label[^"]*" x="([0-9.-]+)" y="([0-9.]+)"( text-anchor="end")?><title>[^<]*</title>([^<]*)</text>)re");
  std::vector<Label> out;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), text); it != std::sregex_iterator();
       ++it) {
    double x = std::stod((*it)[1]);
    std::string t = (*it)[4];
    double w = 7.0 * static_cast<double>(t.size());
    bool end = (*it)[3].matched;
    out.push_back({end ? x - w : x, end ? x : x + w, std::stod((*it)[2]), t});
  }
  return out;
}

}  // namespace

TEST_CASE("Step labels never overlap on the timeline: close steps take other rows or their number",
          "[reports][drill]") {
  // Eight steps within 2.1 s of a 20 s drill, with long names: six rows hold six names, the
  // last two show their numbers; a step near the right edge ends its label at its line.
  std::vector<std::pair<std::string, double>> steps;
  for (int i = 0; i < 8; ++i)
    steps.emplace_back("kill the payment processor replica " + std::to_string(i), 5000 + 300 * i);
  steps.emplace_back("latency on the store", 19500);
  std::string html = reports::drill_html(journal_with_steps(steps, 250));
  std::vector<Label> labels = step_labels(html);
  REQUIRE(labels.size() == 9);
  for (size_t a = 0; a < labels.size(); ++a)
    for (size_t b = a + 1; b < labels.size(); ++b) {
      INFO(labels[a].text << " and " << labels[b].text);
      CHECK((labels[a].y != labels[b].y || labels[a].x1 <= labels[b].x0 ||
             labels[b].x1 <= labels[a].x0));
    }
  CHECK(labels[0].text == "kill the payment processor replica 0");
  CHECK(labels[5].text == "kill the payment processor replica 5");
  CHECK(labels[5].y == 72);  // the sixth row
  CHECK(labels[6].text == "7");
  CHECK(labels[7].text == "8");
  CHECK(labels[8].text == "latency on the store");
  CHECK(html.find("<title>7. kill the payment processor replica 6 at 6800 ms</title>") !=
        std::string::npos);
  CHECK(
      html.find("<h3><span class=\"muted\">7.</span> kill the payment processor replica 6</h3>") !=
      std::string::npos);
  // Three extra rows push the plot down: the picture is 36 px taller than the usual 280.
  CHECK(html.find("viewBox=\"0 0 1000 316\"") != std::string::npos);
  // A single step keeps the usual height.
  CHECK(reports::drill_html(journal_with_steps({{"pause", 5000}}, 250))
            .find("viewBox=\"0 0 1000 280\"") != std::string::npos);
}

TEST_CASE("An objective far above every sample is labelled as off the scale, not drawn at the top",
          "[reports][drill]") {
  // Samples reach 89 ms; an objective of 5000 ms would flatten them, so it is named, not drawn.
  std::string html = reports::drill_html(journal_with_steps({{"pause", 5000}}, 5000));
  std::string svg = between(html, "<svg class=\"timeline\"", "</svg>");
  CHECK(svg.find("<line class=\"objective\"") == std::string::npos);
  CHECK(svg.find(">&#8593; p99 objective 5000 ms: above this scale</text>") != std::string::npos);
  // Within reach of the samples, it is drawn and labelled where it is.
  html = reports::drill_html(journal_with_steps({{"pause", 5000}}, 300));
  svg = between(html, "<svg class=\"timeline\"", "</svg>");
  CHECK(svg.find("<line class=\"objective\"") != std::string::npos);
  CHECK(svg.find(">p99 objective 300 ms</text>") != std::string::npos);
  CHECK(svg.find("above this scale") == std::string::npos);
}

TEST_CASE("The expectations table shows the outage with its precision", "[reports][drill]") {
  json journal = fixture("drill-failed.json");
  journal["steps"][0]["expectations"][0]["outage_ms"] = 2400;
  journal["steps"][0]["expectations"][0]["outage_precision_ms"] = 50;
  std::string table =
      between(reports::drill_html(journal), "<section id=\"verdicts\">", "</section>");
  CHECK(table.find("<td class=\"num\">2400 ms <span class=\"muted\">&plusmn;50 ms</span></td>") !=
        std::string::npos);
}

TEST_CASE("A kill's normal end in the rollback is not shown as a failure", "[reports][drill]") {
  json journal = fixture("drill-aborted.json");
  journal["rollback"] = {
      {{"step", "kill web-1"},
       {"agent", "local"},
       {"fault_id", "f-1"},
       {"result", "observation ended"}},
      {{"step", "slow"}, {"agent", "local"}, {"fault_id", "f-2"}, {"result", "failed: HTTP 500"}}};
  std::string html = reports::drill_html(journal);
  std::string rollback = between(html, "<section id=\"rollback\">", "</section>");
  CHECK(rollback.find("<td><code>f-1</code></td><td class=\"ok\">observation ended</td>") !=
        std::string::npos);
  CHECK(rollback.find("<td><code>f-2</code></td><td class=\"bad\">failed: HTTP 500</td>") !=
        std::string::npos);
}

TEST_CASE("Every string from the journal is escaped in the drill report", "[reports][drill]") {
  json journal = fixture("drill-aborted.json");
  std::string html = reports::drill_html(journal);
  // Only the report's own two scripts.
  CHECK(count(html, "<script>") == 2);
  CHECK(count(html, "</svg>") == 1);
  CHECK(html.find("<b>") == std::string::npos);
  CHECK(html.find("<h1>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;"
                  "</h1>") != std::string::npos);
  CHECK(html.find(">kill db &lt;/svg&gt;&lt;script&gt;bad()&lt;/script&gt;</text>") !=
        std::string::npos);
  CHECK(html.find("data-verdict=\"aborted\"") != std::string::npos);
  CHECK_NOTHROW(parse_xml(between(html, "<svg class=\"timeline\"", "</svg>")));
  CHECK(html.find("the agent observed: <span class=\"observed\">not restarted</span>") !=
        std::string::npos);
  CHECK(html.find("<td class=\"bad\">failed: connection refused</td>") != std::string::npos);
  // The null summaries are empty phases, the step without a window is marked where planned.
  CHECK(count(html, "<td colspan=\"5\" class=\"na\">no samples</td>") == 3);
  CHECK(html.find(">never reached (not injected)</text>") != std::string::npos);
  CHECK(html.find("id=\"predictions\"") == std::string::npos);
}

TEST_CASE("A skipped drill's report says so and has nothing to chart but the steady state",
          "[reports][drill]") {
  std::string html = reports::drill_html(fixture("drill-skipped.json"));
  CHECK(html.find("data-verdict=\"skipped\"><span class=\"word\">skipped</span><span "
                  "class=\"reason\">the steady state was not reached within 33000 ms: www was "
                  "degraded</span>") != std::string::npos);
  CHECK(html.find("Steady state: not reached (every probe healthy for 3000 ms, after waiting "
                  "33.0 s).") != std::string::npos);
  CHECK(html.find("<p class=\"muted\">No expectation was judged.</p>") != std::string::npos);
  CHECK(html.find("<p class=\"muted\">No step ran.</p>") != std::string::npos);
  CHECK(html.find("<p class=\"muted\">Nothing to revert.</p>") != std::string::npos);
  CHECK(count(html, "<svg class=\"timeline\"") == 1);
}

TEST_CASE("Degenerate journals still give a page and a JUnit file", "[reports][drill]") {
  for (const json& j : {json::object(), json::array(), json(nullptr), json("x"),
                        json{{"steps", {1, json::object(), {{"expectations", {2}}}}},
                             {"probes", {{{"samples", {{1}, "x", {0, 1, "2"}}}}}}}}) {
    std::string html = reports::drill_html(j);
    CHECK(html.find("data-verdict=\"unknown\"") != std::string::npos);
    CHECK(html.find("</html>") != std::string::npos);
    std::string xml = reports::drill_junit(j);
    CHECK_NOTHROW(parse_xml(xml));
  }
}

TEST_CASE("Values and times at the edge of a double still give a finite chart",
          "[reports][drill]") {
  // A query may answer 1.7e308 (the runner keeps any finite value); a journal may be edited
  // by hand. The scale once overflowed to infinity, its ticks came back empty and the chart
  // read past the end of them.
  for (const json& samples : {json::array({{0, true, 1, 1.7e308}, {100, true, 1, -1.7e308}}),
                              json::array({{0, true, 1, 1.7e308}}),
                              json::array({{-1.7e308, true, 1e308, 5}, {1.7e308, false, 1, 1}})}) {
    for (const char* kind : {"prometheus", "http"}) {
      json j = {{"verdict", "passed"},
                {"probes",
                 {{{"name", "p"},
                   {"kind", kind},
                   {"healthy_when", {{"below", 1e308}, {"p99_ms", 1e308}}},
                   {"samples", samples}}}},
                {"steps", {{{"name", "s"}, {"at_ms", 1e308}, {"injected_at_ms", 1e308}}}}};
      std::string html = reports::drill_html(j);
      std::string svg = between(html, "<svg class=\"timeline\"", "</svg>");
      INFO(kind << " " << samples.dump());
      CHECK_NOTHROW(parse_xml(svg));
      CHECK(svg.find("nan") == std::string::npos);
      CHECK(svg.find("inf") == std::string::npos);
    }
  }
}

TEST_CASE("A drill with tens of thousands of samples stays a light page", "[reports][drill]") {
  json samples = json::array();
  for (int t = 0; t < 60000; ++t)
    samples.push_back({t * 10, t % 97 == 0 ? 0 : 1, 2.0 + (t % 50) / 10.0});
  json journal = {{"title", "long"},
                  {"verdict", "passed"},
                  {"probes", {{{"name", "www"}, {"samples", samples}}}},
                  {"steps",
                   {{{"name", "kill"},
                     {"at_ms", 1000},
                     {"injected_at_ms", 1000},
                     {"window", {{"from_ms", 1000}, {"to_ms", 600000}}}}}}};
  std::string html = reports::drill_html(journal);
  std::string svg = between(html, "<svg class=\"timeline\"", "</svg>");
  CHECK_NOTHROW(parse_xml(svg));
  // One path for the line (a point or two per pixel column) and one for the ticks.
  CHECK(count(svg, "<path class=\"latency\"") == 1);
  std::string line = between(svg, "<path class=\"latency\" d=\"", "\"/>");
  CHECK(count(line, "L") + count(line, "M") <= 2 * 920);
  CHECK(count(svg, "<path class=\"failed\"") == 1);
  CHECK(html.size() < 250000);
}

TEST_CASE("JUnit: one test case per expectation, failures with the message",
          "[reports][drill][junit]") {
  std::string xml = reports::drill_junit(fixture("drill-failed.json"));
  CHECK(xml ==
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<testsuites name=\"achilles drill\" tests=\"5\" failures=\"2\" errors=\"0\" "
        "skipped=\"0\">\n"
        "  <testsuite name=\"web tier fails over when one instance dies\" tests=\"5\" "
        "failures=\"2\" errors=\"0\" skipped=\"0\" timestamp=\"2026-11-26T12:00:00.000Z\">\n"
        "    <properties>\n"
        "      <property name=\"plan_file\" value=\"drills/web.yaml\"/>\n"
        "      <property name=\"verdict\" value=\"failed\"/>\n"
        "      <property name=\"reason\" value=\"1 of 3 expectations failed; 1 fault not "
        "injected\"/>\n"
        "    </properties>\n"
        "    <testcase classname=\"web tier fails over when one instance dies\" name=\"kill "
        "web-1: www expected healthy\">\n"
        "      <system-out>observed: healthy\nrecover_within_ms: 5000\nrecovery_ms: "
        "1210\n</system-out>\n"
        "    </testcase>\n"
        "    <testcase classname=\"web tier fails over when one instance dies\" name=\"kill "
        "web-1: api expected healthy\">\n"
        "      <system-out>observed: healthy\nrecovery_ms: 0\n</system-out>\n"
        "    </testcase>\n"
        "    <testcase classname=\"web tier fails over when one instance dies\" name=\"slow "
        "database: www expected degraded\">\n"
        "      <system-out>observed: degraded\nrecovery_ms: 10200\n</system-out>\n"
        "    </testcase>\n"
        "    <testcase classname=\"web tier fails over when one instance dies\" name=\"slow "
        "database: api expected down\">\n"
        "      <failure type=\"drill\" message=\"never down: the worst status was "
        "degraded\">observed: degraded\nrecovery_ms: 10400\n</failure>\n"
        "    </testcase>\n"
        "    <testcase classname=\"web tier fails over when one instance dies\" name=\"pause "
        "cache: fault injected\">\n"
        "      <failure type=\"drill\" message=\"fault not injected: the agent refused the "
        "fault (403): process memcached is not in allow.processes\"></failure>\n"
        "    </testcase>\n"
        "  </testsuite>\n"
        "</testsuites>\n");
  CHECK_NOTHROW(parse_xml(xml));
}

TEST_CASE("JUnit: an aborted drill fails, a fault not injected fails its expectations",
          "[reports][drill][junit]") {
  json journal = fixture("drill-aborted.json");
  // The step that was not injected, with an expectation this time.
  journal["steps"][1]["expectations"] = {{{"probe", "<b>www</b>"},
                                          {"expected", "healthy"},
                                          {"observed", nullptr},
                                          {"passed", true},
                                          {"message", ""}}};
  std::string xml = reports::drill_junit(journal);
  auto tree = parse_xml(xml);
  const auto& suite = tree.get_child("testsuites.testsuite");
  CHECK(suite.get<std::string>("<xmlattr>.name") == "<script>alert(\"x\")</script> & 'quotes'");
  CHECK(suite.get<int>("<xmlattr>.tests") == 3);
  CHECK(suite.get<int>("<xmlattr>.failures") == 3);
  std::vector<std::pair<std::string, std::string>> cases;
  for (const auto& [tag, c] : suite) {
    if (tag != "testcase") continue;
    CHECK(c.get<std::string>("<xmlattr>.classname") == "<script>alert(\"x\")</script> & 'quotes'");
    cases.emplace_back(c.get<std::string>("<xmlattr>.name"),
                       c.get<std::string>("failure.<xmlattr>.message", "(passed)"));
  }
  CHECK(cases ==
        std::vector<std::pair<std::string, std::string>>{
            {"kill db </svg><script>bad()</script>: <b>www</b> expected healthy",
             "down at 2 ms and never healthy again: \"connection refused\""},
            {"never reached: <b>www</b> expected healthy",
             "fault not injected: the drill was aborted before this step"},
            {"drill: not aborted", "aborted: www not healthy for 20000 ms (abort_when) <b>"}});
}

TEST_CASE("JUnit: a skipped drill is a suite of skipped test cases", "[reports][drill][junit]") {
  json journal = fixture("drill-skipped.json");
  std::string xml = reports::drill_junit(journal);
  auto suite = parse_xml(xml).get_child("testsuites.testsuite");
  CHECK(suite.get<int>("<xmlattr>.tests") == 2);
  CHECK(suite.get<int>("<xmlattr>.skipped") == 2);
  CHECK(suite.get<int>("<xmlattr>.failures") == 0);
  CHECK(count(xml,
              "<skipped message=\"drill skipped: the steady state was not reached within "
              "33000 ms: www was degraded\"/>") == 2);
  CHECK(xml.find("name=\"kill web-1: www expected healthy\"") != std::string::npos);
  CHECK(xml.find("name=\"slow database: www expected degraded\"") != std::string::npos);
  // Without the plan in the journal, one skipped case stands for the drill.
  journal.erase("plan");
  std::string bare = reports::drill_junit(journal);
  CHECK(count(bare, "<testcase ") == 1);
  CHECK(bare.find("name=\"drill\">\n      <skipped message=") != std::string::npos);
}

TEST_CASE("A prometheus probe's chart shows its values, its bounds and why samples failed",
          "[reports][drill]") {
  // Values 0.2 (healthy), 3 (degraded), 9 (down by down_when: a failed sample with its value)
  // and a failed query without a value.
  const json journal = {
      {"title", "prometheus"},
      {"verdict", "passed"},
      {"probes",
       {{{"name", "errors"},
         {"kind", "prometheus"},
         {"target", "sum(rate(errors[30s])) at http://127.0.0.1:9090"},
         {"every_ms", 1000},
         {"healthy_when", {{"below", 1}, {"success_ratio", 1}, {"window_ms", 1000}}},
         {"down_when", {{"above", 8}}},
         {"samples",
          {{0, 1, 3.5, 0.2},
           {1000, 1, 3.1, 3},
           {2000, 0, 2.9, 9},
           {3000, 0, 300, nullptr},
           {4000, 1, 3, 0.2}}},
         {"failures",
          {{{"from_ms", 2000},
            {"to_ms", 2000},
            {"samples", 1},
            {"reason",
             "the value 9 is "
             "above 8 (down_when)"}},
           {{"from_ms", 3000},
            {"to_ms", 3000},
            {"samples", 1},
            {"reason", "Prometheus answered HTTP 400: bad_data: <parse error>"}}}}}}},
      {"steps",
       {{{"name", "burst"},
         {"summary",
          {{"errors",
            {{"before",
              {{"samples", 2}, {"success_ratio", 1}, {"min_value", 0.2}, {"max_value", 0.2}}},
             {"during",
              {{"samples", 2}, {"success_ratio", 0.5}, {"min_value", 3}, {"max_value", 9}}},
             {"after", nullptr}}}}}}}}};
  const std::string html = reports::drill_html(journal);
  // The step's summary has a value column: min to max in each phase.
  const std::string summary = between(html, "<table class=\"summary\">", "</table>");
  CHECK(summary.find("<th class=\"num\">value</th>") != std::string::npos);
  CHECK(summary.find("<td class=\"num\">0.2</td>") != std::string::npos);
  CHECK(summary.find("<td class=\"num\">3 &ndash; 9</td>") != std::string::npos);
  CHECK(summary.find("<td colspan=\"6\" class=\"na\">no samples</td>") != std::string::npos);
  const std::string svg = between(html, "<svg class=\"timeline\"", "</svg>");
  CHECK_NOTHROW(parse_xml(svg));
  CHECK(svg.find(">value</text>") != std::string::npos);
  CHECK(svg.find(">latency (ms)</text>") == std::string::npos);
  // One line through the four samples with a value (the 9 of the down sample included), none
  // through the failed query; the latency line is not drawn.
  const std::string line = between(svg, "<path class=\"value\" d=\"", "\"/>");
  CHECK(count(line, "M") == 2);  // broken at the sample without a value
  CHECK(count(line, "L") == 2);
  CHECK(svg.find("class=\"latency\"") == std::string::npos);
  CHECK(svg.find("<title>2 failed samples</title>") != std::string::npos);
  CHECK(svg.find("<line class=\"objective\"") != std::string::npos);
  CHECK(svg.find("<title>healthy when below 1</title>") != std::string::npos);
  CHECK(svg.find("<line class=\"down-bound\"") != std::string::npos);
  CHECK(svg.find("<title>down when above 8</title>") != std::string::npos);
  CHECK(html.find("healthy when success &ge; 100%, value &lt; 1 over 1000 ms; down when value "
                  "&gt; 8") != std::string::npos);
  CHECK(html.find("<td class=\"error\">the value 9 is above 8 (down_when)</td>") !=
        std::string::npos);
  CHECK(html.find("Prometheus answered HTTP 400: bad_data: &lt;parse error&gt;") !=
        std::string::npos);
}
