// `achilles whatif` and `achilles recommend` as a user runs them: the diff's outputs, the
// changed topology that --write-topology writes (valid, and analyzed to the "after"), exit
// code 2 with located messages for a bad overlay, and recommend's written plan taken by
// whatif as it is, showing the effect recommend claims.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "support/run.h"

namespace {

achilles::testing::CommandResult run_achilles(const std::string& args) {
  return achilles::testing::run_binary(ACHILLES_BINARY, args);
}

const std::string kShop = std::string(ACHILLES_TEST_DATA) + "/cli/shop.yaml";
const std::string kThreeTier = std::string(ACHILLES_TOPOLOGIES) + "/three-tier.yaml";

/// A scratch directory for one test, removed at its end.
struct Scratch {
  std::string dir;
  Scratch() {
    char tmpl[] = "/tmp/achilles-whatif-cli-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  ~Scratch() { std::system(("rm -rf '" + dir + "'").c_str()); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  }
};

std::set<std::string> finding_ids(const nlohmann::json& analysis) {
  std::set<std::string> out;
  for (const auto& f : analysis["findings"])
    out.insert(f["id"].get<std::string>());
  return out;
}

}  // namespace

TEST_CASE(
    "whatif shows the findings resolved and new and writes a changed topology that "
    "analyzes to the after",
    "[cli][whatif]") {
  Scratch s;
  // lb-1 is alone in lb: a second one in az2 resolves the spof of lb-1 and the domain_spofs of
  // rack-1 and az1 that took it down.
  const std::string overlay = s.write("o.yaml",
                                      "version: 1\nchanges:\n"
                                      "  - add_member: {service: lb, id: lb-2, domain: az2}\n");
  auto r = run_achilles("whatif " + kShop + " " + overlay + " --format json --write-topology " +
                        s.dir + "/after.yaml");
  REQUIRE(r.code == 0);
  CHECK(r.err == "");
  const auto diff = nlohmann::json::parse(r.out);
  CHECK(diff["schema"] == "achilles.whatif/v1");
  CHECK(diff["changes"] == 1);
  CHECK(diff["before"]["critical"] == 4);

  auto v = run_achilles("validate " + s.dir + "/after.yaml");
  CHECK(v.code == 0);
  auto before = run_achilles("analyze " + kShop + " --format json");
  auto after = run_achilles("analyze " + s.dir + "/after.yaml --format json");
  REQUIRE(before.code == 0);
  REQUIRE(after.code == 0);
  const auto b = finding_ids(nlohmann::json::parse(before.out)),
             a = finding_ids(nlohmann::json::parse(after.out));
  std::set<std::string> resolved, added;
  for (const auto& id : b)
    if (!a.count(id)) resolved.insert(id);
  for (const auto& id : a)
    if (!b.count(id)) added.insert(id);
  CHECK(diff["resolved"].get<std::set<std::string>>() == resolved);
  CHECK(diff["new"].get<std::set<std::string>>() == added);
  CHECK(diff["after"]["findings"] == a.size());
  CHECK(resolved.count("spof:lb-1") == 1);

  auto text = run_achilles("whatif " + kShop + " " + overlay);
  REQUIRE(text.code == 0);
  CHECK(text.out.find("(1 change)\n\n"
                      "                       before    after\n"
                      "  critical findings         4 ") != std::string::npos);
  CHECK(text.out.find("  critical  spof:lb-1\n      lb-1 is a single point of failure for www\n") !=
        std::string::npos);
  auto md = run_achilles("whatif " + kShop + " " + overlay + " --format md");
  REQUIRE(md.code == 0);
  CHECK(md.out.find("| critical | spof:lb-1 | lb-1 is a single point of failure for www |") !=
        std::string::npos);
}

TEST_CASE("whatif with a bad overlay exits 2 and names every problem with its line and column",
          "[cli][whatif]") {
  Scratch s;
  const std::string overlay = s.write("bad.yaml",
                                      "version: 1\nchanges:\n"
                                      "  - remove: {id: lb-9}\n"
                                      "  - scale: {service: web, capacity_factor: -2}\n");
  auto r = run_achilles("whatif " + kShop + " " + overlay);
  CHECK(r.code == 2);
  CHECK(r.out == "");
  // The form is checked first (reading); the ids once the form is right.
  CHECK(r.err ==
        overlay + ":4:44: error: change 2 (scale): capacity_factor must be positive, not -2\n");
  const std::string second = s.write("bad2.yaml",
                                     "version: 1\nchanges:\n"
                                     "  - remove: {id: lb-9}\n"
                                     "  - move: {id: web-1, domain: az9}\n");
  r = run_achilles("whatif " + kShop + " " + second);
  CHECK(r.code == 2);
  CHECK(r.err == second +
                     ":3:18: error: change 1 (remove): element 'lb-9' does not exist; did you "
                     "mean 'lb-1'?\n" +
                     second +
                     ":4:31: error: change 2 (move): domain 'az9' does not exist; did "
                     "you mean 'az1'?\n");
  r = run_achilles("whatif " + kShop);
  CHECK(r.code == 2);
}

TEST_CASE(
    "recommend's plan, written as an overlay, is taken by whatif as it is and shows the "
    "effect recommend claims",
    "[cli][recommend]") {
  Scratch s;
  auto json = run_achilles("recommend " + kThreeTier + " --max-changes 4 --format json");
  REQUIRE(json.code == 0);
  const auto plan = nlohmann::json::parse(json.out);
  CHECK(plan["schema"] == "achilles.recommend/v1");
  REQUIRE(plan["changes"].size() >= 1);
  CHECK(plan["changes"].size() <= 4);
  auto yaml = run_achilles("recommend " + kThreeTier + " --max-changes 4 --format yaml -o " +
                           s.dir + "/plan.yaml");
  REQUIRE(yaml.code == 0);
  auto w = run_achilles("whatif " + kThreeTier + " " + s.dir + "/plan.yaml --format json");
  REQUIRE(w.code == 0);
  const auto diff = nlohmann::json::parse(w.out);
  // A spread is one change of several entries: whatif counts entries.
  size_t entries = 0;
  for (const auto& step : plan["changes"]) {
    CHECK(step["change"] == step["entries"][0]);
    entries += step["entries"].size();
  }
  CHECK(diff["changes"] == entries);
  CHECK(diff["before"] == plan["before"]);
  CHECK(diff["after"] == plan["after"]);
  // What the steps say they resolve, less what later steps introduce again, is what whatif
  // finds resolved over the whole plan.
  std::set<std::string> resolved, introduced;
  for (const auto& step : plan["changes"]) {
    for (const auto& id : step["resolved"]) {
      const std::string x = id.get<std::string>();
      if (introduced.erase(x) == 0) resolved.insert(x);
    }
    for (const auto& id : step["introduced"]) {
      const std::string x = id.get<std::string>();
      if (resolved.erase(x) == 0) introduced.insert(x);
    }
  }
  CHECK(diff["resolved"].get<std::set<std::string>>() == resolved);
  CHECK(diff["new"].get<std::set<std::string>>() == introduced);

  auto text = run_achilles("recommend " + kThreeTier + " --max-changes 2 --allow scale,move");
  REQUIRE(text.code == 0);
  CHECK(text.out.find("add_member") == std::string::npos);
  auto bad = run_achilles("recommend " + kThreeTier + " --allow remove");
  CHECK(bad.code == 2);
  CHECK(bad.err ==
        "achilles recommend: error: --allow takes add_member, scale, move and set, not 'remove'\n");
}

namespace {

const std::string kSpread = std::string(ACHILLES_TEST_DATA) + "/cli/spread.yaml";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE(
    "report --recommend opens with what to do first: each change, why, its measured effect, "
    "and the availability before and after",
    "[cli][report][recommend]") {
  Scratch scratch;
  const std::string html = scratch.dir + "/spread.html";
  auto r = run_achilles("report " + kSpread + " --recommend 1 -o " + html);
  REQUIRE(r.code == 0);
  CHECK(r.err == "achilles report: wrote " + html + "\n");
  const std::string page = read_file(html);
  // After the summary, before the graph.
  const auto plan = page.find("<section id=\"plan\"><h2>What to do first</h2>");
  REQUIRE(plan != std::string::npos);
  CHECK(page.find("<section id=\"summary\">") < plan);
  CHECK(plan < page.find("<section id=\"graph\">"));
  CHECK_THAT(page, Catch::Contains(
                       "<p>1 change (3 overlay entries) from achilles recommend --max-changes 1, "
                       "each measured by re-analysis of this topology with every change above it "
                       "applied"));
  CHECK_THAT(page, Catch::Contains("<p class=\"totals\" id=\"plan-totals\">Critical findings "
                                   "<b>7 &rarr; 0</b> (100% fewer); high findings 4 &rarr; 28; "
                                   "all findings 11 &rarr; 28; entrypoints down 1 &rarr; 1.</p>"));
  // The spread: its three entries, why, and its effect, linked to the finding it comes from
  // and to the rows of the findings it resolves.
  CHECK_THAT(page, Catch::Contains("<td><b>spread</b>: 3 overlay entries, measured together"));
  for (const char* service : {"orders", "stock", "users"})
    CHECK_THAT(page, Catch::Contains(std::string("<code>add_member: {service: &quot;") + service +
                                     "&quot;, id: &quot;" + service +
                                     "-2&quot;, domain: &quot;h4&quot;, like: &quot;" + service +
                                     "-1&quot;}</code>"));
  CHECK_THAT(page, Catch::Contains("<td>zone z1 holds every member of 3 services that lack "
                                   "redundancy (7 critical findings): give each a member outside "
                                   "it (<a href=\"#finding-domain_spof:z1\"><code>domain_spof:z1"
                                   "</code></a>)</td><td>7 &rarr; 0</td><td>1 &rarr; 1</td><td>8 "
                                   "findings<details>"));
  CHECK_THAT(page, Catch::Contains("<td id=\"finding-domain_spof:z1\" data-sort=\"0\">"));
  CHECK_THAT(page, Catch::Contains("<a href=\"#finding-spof:users-1\"><code>spof:users-1</code>"));
  CHECK_THAT(page, Catch::Contains("<tr><td>shop</td><td>99.9%</td><td class=\"bad\">99.39135%"
                                   "</td><td class=\"ok\">99.99838%</td></tr>"));

  // A change drawn from a risk group links to the row of the group's first finding.
  REQUIRE(run_achilles("report " + kSpread + " --recommend 2 -o " + html).code == 0);
  CHECK_THAT(read_file(html),
             Catch::Contains("<td>stock lacks redundancy across hosts: 7 findings (risk group "
                             "<code>stock</code>: <a href=\"#finding-domain_spof:h2\"><code>"
                             "domain_spof:h2</code></a>)</td><td>0 &rarr; 0</td>"));

  // What the section says is what whatif shows of the plan recommend writes.
  const std::string yaml = scratch.dir + "/plan.yaml";
  REQUIRE(run_achilles("recommend " + kSpread + " --max-changes 1 --format yaml -o " + yaml).code ==
          0);
  auto diff = run_achilles("whatif " + kSpread + " " + yaml + " --format json");
  REQUIRE(diff.code == 0);
  const auto d = nlohmann::json::parse(diff.out);
  CHECK(d["before"]["critical"] == 7);
  CHECK(d["after"]["critical"] == 0);
  CHECK(d["after"]["high"] == 28);
  CHECK(d["resolved"].size() == 8);
  CHECK(d["new"].size() == 25);
  CHECK(d["availability"][0]["after"].get<double>() == Approx(0.9999838).margin(5e-9));
}

TEST_CASE(
    "report --plan measures a written plan entry by entry, as whatif does, and escapes what it "
    "shows",
    "[cli][report][recommend]") {
  Scratch scratch;
  const std::string overlay =
      scratch.write("a&b.yaml",
                    "version: 1\nchanges:\n"
                    "  - add_member: {service: orders, id: orders-2, domain: h4, like: orders-1}\n"
                    "  - add_member: {service: stock, id: stock-2, domain: h4, like: stock-1}\n");
  const std::string html = scratch.dir + "/plan.html";
  auto r = run_achilles("report " + kSpread + " --plan '" + overlay + "' -o " + html);
  REQUIRE(r.code == 0);
  const std::string page = read_file(html);
  const std::string escaped = scratch.dir + "/a&amp;b.yaml";
  CHECK_THAT(page, Catch::Contains("<p>2 changes from the overlay " + escaped + ", each measured"));
  CHECK_THAT(page, Catch::Contains("Critical findings <b>7 &rarr; 3</b> (57% fewer); high "
                                   "findings 4 &rarr; 17; all findings 11 &rarr; 20;"));
  CHECK_THAT(page,
             Catch::Contains("<td>entry 1 of " + escaped +
                             "</td><td>7 &rarr; 5</td><td>1 &rarr; 1</td><td>2 findings<details>"
                             "<summary>which</summary><a href=\"#finding-domain_spof:h1\"><code>"
                             "domain_spof:h1</code></a>, <a href=\"#finding-spof:orders-1\"><code>"
                             "spof:orders-1</code></a></details></td><td>7 findings"));
  CHECK_THAT(page, Catch::Contains("<td>entry 2 of " + escaped + "</td><td>5 &rarr; 3</td>"));
  CHECK_THAT(page, Catch::Contains("<tr><td>shop</td><td>99.9%</td><td class=\"bad\">99.39135%"
                                   "</td><td class=\"bad\">99.78897%</td></tr>"));
  // The command that checks it names the file as one shell word.
  CHECK_THAT(page, Catch::Contains("Check it: <code>achilles whatif " + kSpread + " &#39;" +
                                   escaped + "&#39;</code>"));
  CHECK(page.find("a&b") == std::string::npos);
  // Under other analysis options, the command carries them: the same plan measures the same
  // only under the same analysis.
  REQUIRE(
      run_achilles("report " + kSpread + " --plan '" + overlay + "' --order 3 -o " + html).code ==
      0);
  CHECK_THAT(read_file(html), Catch::Contains("&#39; --order 3</code>"));
  // The same totals as whatif of the overlay.
  auto diff = run_achilles("whatif " + kSpread + " '" + overlay + "' --format json");
  REQUIRE(diff.code == 0);
  const auto d = nlohmann::json::parse(diff.out);
  CHECK(d["after"]["critical"] == 3);
  CHECK(d["after"]["findings"] == 20);
  CHECK(d["availability"][0]["after"].get<double>() == Approx(0.9978897).margin(5e-9));
}

TEST_CASE("report takes --recommend or --plan, not both, and a bad plan stops it with exit 2",
          "[cli][report][recommend]") {
  Scratch scratch;
  const std::string html = scratch.dir + "/x.html";
  auto both = run_achilles("report " + kSpread + " --recommend 2 --plan p.yaml -o " + html);
  CHECK(both.code == 2);
  CHECK(both.err == "achilles report: error: give --recommend or --plan, not both\n");
  auto half = run_achilles("report " + kSpread + " --recommend 1.5 -o " + html);
  CHECK(half.code == 2);
  CHECK(half.err == "achilles report: error: --recommend must be a whole number\n");
  const std::string bad =
      scratch.write("bad.yaml", "version: 1\nchanges:\n  - add_member: {service: nope, id: x-2}\n");
  auto r = run_achilles("report " + kSpread + " --plan " + bad + " -o " + html);
  CHECK(r.code == 2);
  CHECK(r.err == bad + ":3:27: error: change 1 (add_member): service 'nope' does not exist\n");
  CHECK_FALSE(std::ifstream(html).good());
}
