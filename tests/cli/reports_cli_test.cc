// The achilles binary's render, report and check commands as a user and a CI job run them.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "support/run.h"

namespace {

using achilles::testing::slurp;

/// Runs the built achilles with `args` (shell words) in `dir`, capturing stdout and stderr.
achilles::testing::CommandResult run_achilles(const std::string& args,
                                              const std::string& dir = REPORTS_TEST_DATA) {
  return achilles::testing::run_binary(ACHILLES_BINARY, args, dir);
}

/// A scratch directory removed at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/achilles-reports-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::system(("rm -rf " + path).c_str()); }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
};

}  // namespace

TEST_CASE("check exits 1 on the default policy and prints each broken rule", "[reports][cli]") {
  auto r = run_achilles("check gate.yaml");
  CHECK(r.code == 1);
  CHECK(r.err == "");
  CHECK(r.out ==
        "achilles check: gate: FAILED: 5 rules, 2 broken, 6 new findings breaking them\n"
        "\nFAIL  no_spof: 3 new, 0 known\n"
        "      spof:batch-1: batch-1 is a single point of failure for batch\n"
        "      spof:db-1: db-1 is a single point of failure for www\n"
        "      spof:lb-1: lb-1 is a single point of failure for www\n"
        "\nFAIL  survive_domain_loss: 3 new, 0 known\n"
        "      domain_spof:az1: losing zone az1 takes down www\n"
        "      domain_spof:az2: losing zone az2 takes down batch\n"
        "      domain_spof:region: losing region region takes down batch and www\n"
        "\npass  no_capacity_spof\n"
        "\npass  min_availability {value: slo}\n"
        "\npass  no_cycle\n");
}

TEST_CASE(
    "check exits 0 when every breaking finding is in the baseline, from analyze or check "
    "JSON",
    "[reports][cli]") {
  TempDir tmp;
  REQUIRE(run_achilles("analyze gate.yaml --format json -o " + (tmp / "analysis.json")).code == 0);
  auto r = run_achilles("check gate.yaml --baseline " + (tmp / "analysis.json"));
  CHECK(r.code == 0);
  CHECK(r.out.rfind("achilles check: gate: PASSED: 5 rules, 0 broken, 0 new findings breaking "
                    "them, 6 known from the baseline\n",
                    0) == 0);
  // A check's own JSON is a baseline too; a stricter policy then fails only on what is new.
  REQUIRE(run_achilles("check gate.yaml --json " + (tmp / "check.json")).code == 1);
  auto doc = nlohmann::json::parse(slurp(tmp / "check.json"));
  CHECK(doc["schema"] == "achilles.check/v1");
  CHECK(doc["passed"] == false);
  auto again = run_achilles("check gate.yaml --baseline " + (tmp / "check.json"));
  CHECK(again.code == 0);
  std::ofstream(tmp / "cuts.yaml") << "version: 1\nrules:\n  - no_cut_set: {max_order: 2}\n";
  auto cuts = run_achilles("check gate.yaml --policy " + (tmp / "cuts.yaml") + " --baseline " +
                           (tmp / "check.json"));
  CHECK(cuts.code == 1);
  CHECK(cuts.out ==
        "achilles check: gate: FAILED: 1 rule, 1 broken, 2 new findings breaking them\n"
        "\nFAIL  no_cut_set {max_order: 2}: 2 new, 0 known\n"
        "      cut_set:az2+web-1: losing az2 and web-1 together takes down batch and www\n"
        "      cut_set:web-1+web-2: losing web-1 and web-2 together takes down www\n");
}

TEST_CASE("check exits 2 on a bad policy, naming every problem's line and column",
          "[reports][cli]") {
  auto r = run_achilles("check gate.yaml --policy policy-bad.yaml");
  CHECK(r.code == 2);
  CHECK(r.out == "");
  CHECK(r.err ==
        "policy-bad.yaml:1:10: error: 'version' must be 1\n"
        "policy-bad.yaml:3:29: error: unknown key 'labelz' in 'entrypoints' (expected labels)\n"
        "policy-bad.yaml:4:5: error: unknown rule 'no_such_rule' (expected no_spof, "
        "survive_domain_loss, no_cut_set, max_utilization, no_capacity_spof, "
        "min_availability, no_cycle)\n"
        "policy-bad.yaml:5:29: error: 'max_order' must be 2 or 3\n"
        "policy-bad.yaml:6:5: error: 'max_utilization' needs a 'value', such as {value: 0.8}\n"
        "policy-bad.yaml:7:1: error: unknown key 'colour' (expected version, rules)\n");
  auto missing = run_achilles("check gate.yaml --policy nowhere.yaml");
  CHECK(missing.code == 2);
  CHECK(missing.err == "nowhere.yaml: error: cannot read: No such file or directory\n");
  auto usage = run_achilles("check");
  CHECK(usage.code == 2);
}

TEST_CASE("check writes JUnit and SARIF files for CI", "[reports][cli]") {
  TempDir tmp;
  auto r = run_achilles("check gate.yaml --policy policy-tier1.yaml --junit " + (tmp / "j.xml") +
                        " --sarif " + (tmp / "s.sarif"));
  CHECK(r.code == 1);
  std::string xml = slurp(tmp / "j.xml");
  // One failed test case per (rule, finding): tests and failures add up.
  CHECK(xml.find("<testsuites name=\"achilles check\" tests=\"6\" failures=\"6\" errors=\"0\" "
                 "skipped=\"0\">") != std::string::npos);
  CHECK(xml.find("    <testcase classname=\"achilles.check.no_spof\" name=\"no_spof {entrypoints: "
                 "{labels: {tier: &quot;1&quot;}}}: spof:db-1\" file=\"gate.yaml\">\n"
                 "      <failure type=\"spof\" message=\"spof:db-1: db-1 is a single point of "
                 "failure for www\">severity: critical\nwhy: www -&gt; lb-1 -&gt; web -&gt; web-2 "
                 "-&gt; db-1\n</failure>\n    </testcase>\n") != std::string::npos);
  auto sarif = nlohmann::json::parse(slurp(tmp / "s.sarif"));
  CHECK(sarif["version"] == "2.1.0");
  const auto& results = sarif["runs"][0]["results"];
  CHECK(results.size() == 8);
  for (const auto& res : results) {
    // Relative to where check ran, as a CI job in the repository root gives it.
    CHECK(res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "gate.yaml");
  }
}

TEST_CASE("render writes each format and rejects what it cannot draw", "[reports][cli]") {
  TempDir tmp;
  for (const char* ext : {"svg", "png", "pdf", "dot"}) {
    auto r = run_achilles("render gate.yaml -o " + (tmp / (std::string("g.") + ext)));
    CHECK(r.code == 0);
    CHECK(r.err == "achilles render: wrote " + (tmp / (std::string("g.") + ext)) + "\n");
    CHECK(slurp(tmp / (std::string("g.") + ext)).size() > 100);
  }
  auto fail = run_achilles("render gate.yaml -o " + (tmp / "f.svg") + " --fail az2 web-1");
  CHECK(fail.code == 0);
  CHECK(slurp(tmp / "f.svg").find("Failing: az2, web&#45;1") != std::string::npos);
  auto comp = run_achilles("render gate.yaml -o " + (tmp / "c.dot") + " --level component");
  CHECK(comp.code == 0);
  CHECK(slurp(tmp / "c.dot").find("\"a-web-1\"") != std::string::npos);

  auto jpg = run_achilles("render gate.yaml -o x.jpg");
  CHECK(jpg.code == 2);
  CHECK(jpg.err ==
        "achilles render: error: x.jpg: the output must end in .svg, .png, .pdf or "
        ".dot\n");
  auto svc = run_achilles("render gate.yaml -o " + (tmp / "x.svg") + " --fail web");
  CHECK(svc.code == 2);
  CHECK(svc.err ==
        "achilles render: error: --fail web: only components and failure domains "
        "fail, and this is a service\n");
  auto unknown = run_achilles("render gate.yaml -o " + (tmp / "x.svg") + " --fail nothing");
  CHECK(unknown.code == 2);
  CHECK(unknown.err == "achilles render: error: 'nothing' is not an element of gate.yaml\n");
  auto typo = run_achilles("render gate.yaml -o " + (tmp / "x.svg") + " --fail wbe-1");
  CHECK(typo.code == 2);
  CHECK(typo.err ==
        "achilles render: error: 'wbe-1' is not an element of gate.yaml; did you mean 'web-1'?\n");
  auto layout = run_achilles("render gate.yaml -o " + (tmp / "x.svg") + " --layout neato");
  CHECK(layout.code == 2);
  CHECK(layout.err == "achilles render: error: --layout must be dot or sfdp, not 'neato'\n");
  auto no_out = run_achilles("render gate.yaml");
  CHECK(no_out.code == 2);
  CHECK(no_out.err == "achilles render: error: -o OUT is required\n");
}

TEST_CASE("report shows a grouped cut set and a shortened explanation", "[reports][cli]") {
  TempDir tmp;
  auto q = run_achilles("report quorum-5.yaml -o " + (tmp / "q.html"));
  CHECK(q.code == 0);
  std::string html = slurp(tmp / "q.html");
  CHECK(html.find("<code>any 2 of m0 + m1 + m2 + m3 + m4</code>") != std::string::npos);
  auto c = run_achilles("report chain-40.yaml -o " + (tmp / "c.html"));
  CHECK(c.code == 0);
  html = slurp(tmp / "c.html");
  CHECK(html.find(" \u2192 c14 \u2192 ... 9 more ... \u2192 c24 \u2192 ") != std::string::npos);
}

TEST_CASE("report writes one self-contained HTML file", "[reports][cli]") {
  TempDir tmp;
  auto r = run_achilles("report gate.yaml -o " + (tmp / "r.html"));
  CHECK(r.code == 0);
  CHECK(r.err == "achilles report: wrote " + (tmp / "r.html") + "\n");
  std::string html = slurp(tmp / "r.html");
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("<tr data-id=\"spof:lb-1\"") != std::string::npos);
  CHECK(html.find("src=\"http") == std::string::npos);
  auto bad = run_achilles("report gate.yaml");
  CHECK(bad.code == 2);
  CHECK(bad.err == "achilles report: error: -o report.html is required\n");
}

TEST_CASE("check JUnit: a rule nothing breaks passes, a known finding is skipped",
          "[reports][cli]") {
  TempDir tmp;
  REQUIRE(run_achilles("analyze gate.yaml --format json -o " + (tmp / "a.json")).code == 0);
  std::ofstream(tmp / "p.yaml") << "version: 1\nrules:\n  - no_spof: {}\n  - no_cycle: {}\n";
  auto r = run_achilles("check gate.yaml --policy " + (tmp / "p.yaml") + " --baseline " +
                        (tmp / "a.json") + " --junit " + (tmp / "j.xml"));
  CHECK(r.code == 0);
  std::string xml = slurp(tmp / "j.xml");
  CHECK(xml.find("<testsuites name=\"achilles check\" tests=\"4\" failures=\"0\" errors=\"0\" "
                 "skipped=\"3\">") != std::string::npos);
  CHECK(xml.find("    <testcase classname=\"achilles.check.no_spof\" name=\"no_spof: spof:lb-1\" "
                 "file=\"gate.yaml\">\n      <skipped message=\"known from the baseline: "
                 "spof:lb-1: lb-1 is a single point of failure for www\"/>\n    </testcase>\n") !=
        std::string::npos);
  CHECK(xml.find("    <testcase classname=\"achilles.check.no_cycle\" name=\"no_cycle\" "
                 "file=\"gate.yaml\">\n    </testcase>\n") != std::string::npos);
}

TEST_CASE("check exits 2 on a policy scope that matches nothing in the topology",
          "[reports][cli]") {
  TempDir tmp;
  std::ofstream(tmp / "p.yaml") << "version: 1\nrules:\n  - survive_domain_loss: {kind: zones}\n"
                                   "  - no_spof: {entrypoints: {labels: {teir: \"1\"}}}\n";
  auto r = run_achilles("check gate.yaml --policy " + (tmp / "p.yaml"));
  CHECK(r.code == 2);
  CHECK(r.out == "");
  CHECK(r.err == tmp / "p.yaml" +
                     ":3:33: error: survive_domain_loss: no failure domain is of kind 'zones' "
                     "(the kinds are region, zone); did you mean 'zone'?\n" +
                     tmp / "p.yaml" +
                     ":4:38: error: no_spof: no entrypoint has the label 'teir' (the entrypoints' "
                     "labels are tier); did you mean 'tier'?\n");
}

TEST_CASE("a topology without entrypoints is warned about, and fails check unless allowed",
          "[reports][cli]") {
  TempDir tmp;
  std::ofstream(tmp / "none.yaml") << "version: 1\nname: none\ncomponents:\n  - {id: db-1}\n";
  const std::string warning = tmp / "none.yaml" +
                              ": warning: no entrypoints: no failure can take an entrypoint down, "
                              "so the absence of findings proves nothing\n";
  auto check = run_achilles("check " + (tmp / "none.yaml"));
  CHECK(check.code == 2);
  CHECK(check.out == "");
  CHECK(check.err == tmp / "none.yaml" +
                         ": error: no entrypoints: no failure can take an entrypoint down, so "
                         "the absence of findings proves nothing; the gate cannot pass on it "
                         "(add entrypoints, or pass --allow-no-entrypoints)\n");
  auto allowed = run_achilles("check " + (tmp / "none.yaml") + " --allow-no-entrypoints");
  CHECK(allowed.code == 0);
  CHECK(allowed.err == warning);
  auto analyze = run_achilles("analyze " + (tmp / "none.yaml"));
  CHECK(analyze.code == 0);
  CHECK(analyze.err == warning);
  auto report = run_achilles("report " + (tmp / "none.yaml") + " -o " + (tmp / "r.html"));
  CHECK(report.code == 0);
  CHECK(report.err == warning + "achilles report: wrote " + (tmp / "r.html") + "\n");
  std::string html = slurp(tmp / "r.html");
  CHECK(
      html.find("<div class=\"badges\"><span class=\"sev-medium\">no entrypoints</span></div>\n"
                "<p class=\"warning\" id=\"no-entrypoints\"><b>Warning:</b> no entrypoints: no "
                "failure can take an entrypoint down, so the absence of findings proves "
                "nothing. Declare the entrypoints users come in by (see docs/topology.md).</p>") !=
      std::string::npos);
  CHECK(html.find("class=\"sev-none\"") == std::string::npos);  // no green badge
}
