// The `achilles` binary as a user runs it: output, exit codes, messages.
#include <sys/wait.h>

#include <array>
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include "support/run.h"

namespace {

/// Runs the built achilles with `args` (shell words), capturing stdout and stderr.
achilles::testing::CommandResult run_achilles(const std::string& args) {
  return achilles::testing::run_binary(ACHILLES_BINARY, args);
}

const std::string kShop = std::string(ACHILLES_TEST_DATA) + "/cli/shop.yaml";

}  // namespace

TEST_CASE("analyze prints a summary line and the findings grouped by severity", "[cli]") {
  auto r = run_achilles("analyze " + kShop);
  CHECK(r.code == 0);
  CHECK(r.err == "");
  // The counts of the topology, then of the findings; the most harmful first (the region
  // takes 4 services down, az1 2, rack-1 and lb-1 one each).
  CHECK(r.out.rfind("shop (4 failure domains, 7 components, 4 services, 1 entrypoint): 9 "
                    "findings: 4 critical, 5 high\n\n"
                    "RISK GROUPS (3), most harmful first\n"
                    "  critical lb lacks redundancy or spread: 4 findings, 1 entrypoint down\n"
                    "  high     db lacks redundancy or spread: 2 findings, 1 entrypoint down\n"
                    "  high     web lacks redundancy or spread: 3 findings, 1 entrypoint down\n"
                    "\nCRITICAL (4)\n  domain_spof:region\n",
                    0) == 0);
  CHECK(r.out.find("  spof:lb-1\n      lb-1 is a single point of failure for www\n"
                   "      impact: www down; 1 component and 1 service down\n"
                   "      why: www -> lb (1 of 1 healthy needed) -> lb-1\n") != std::string::npos);
  CHECK(r.out.find("\nHIGH (5)\n  cut_set:az2+db-1\n") != std::string::npos);
}

TEST_CASE("analyze --format json follows the analysis schema", "[cli]") {
  auto r = run_achilles("analyze " + kShop + " --format json --order 1");
  REQUIRE(r.code == 0);
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["schema"] == "achilles.analysis/v1");
  CHECK(doc["topology"]["name"] == "shop");
  CHECK(doc["topology"]["counts"]["components"] == 7);
  CHECK(doc["topology"]["counts"]["dependencies"] == 7);
  CHECK(doc["options"]["order"] == 1);
  REQUIRE(doc["findings"].size() == 4);
  const auto& f = doc["findings"][3];
  CHECK(f["id"] == "spof:lb-1");
  CHECK(f["kind"] == "spof");
  CHECK(f["severity"] == "critical");
  CHECK(f["subject"] == nlohmann::json::array({"lb-1"}));
  CHECK(f["impact"]["entrypoints_down"] == nlohmann::json::array({"www"}));
  CHECK(f["impact"]["entrypoints_degraded"] == nlohmann::json::array());
  CHECK(f["explanation"] == nlohmann::json::array({"www", "lb", "lb-1"}));
  CHECK(doc["entrypoints"][0]["id"] == "www");
  // The risk groups (spec whatif.md): lb-1, its rack, zone and region are all lb's.
  CHECK(doc["groups"] ==
        nlohmann::json::parse(R"([{"entrypoints_degraded": [], "entrypoints_down": ["www"],
          "findings": ["domain_spof:region", "domain_spof:az1", "domain_spof:rack-1", "spof:lb-1"],
          "fix": "lb", "kind": "redundancy", "severity": "critical",
          "summary": "lb lacks redundancy or spread: 4 findings, 1 entrypoint down"}])"));
}

TEST_CASE("analyze --by team gathers the risk groups by labels.team, and what has none apart",
          "[cli]") {
  const std::string teams = std::string(ACHILLES_TEST_DATA) + "/cli/teams.yaml";
  auto r = run_achilles("analyze " + teams + " --by team");
  CHECK(r.code == 0);
  CHECK(
      r.out.find("\n\nRISK GROUPS (3), most harmful first\n"
                 "  critical team shop: 1 thing to change (web): 6 findings, 1 entrypoint down\n"
                 "  critical no team label: 4 things to change (auth-1, cfg-1, nfs-1 and 1 more): "
                 "4 findings, 1 entrypoint down\n"
                 "  critical team edge: 2 things to change (lb-1, www): 3 findings, 1 entrypoint "
                 "down\n\nCRITICAL (6)\n") != std::string::npos);
  auto j = run_achilles("analyze " + teams + " --by team --format json");
  REQUIRE(j.code == 0);
  auto doc = nlohmann::json::parse(j.out);
  REQUIRE(doc["groups"].size() == 3);
  CHECK(doc["groups"][1]["team"] == nullptr);
  CHECK(doc["groups"][1]["fixes"] ==
        nlohmann::json::array({"auth-1", "cfg-1", "nfs-1", "auth-1+cfg-1"}));
  // Without any team label, one group holds every finding.
  auto none = run_achilles("analyze " + kShop + " --by team --format json");
  REQUIRE(none.code == 0);
  auto all = nlohmann::json::parse(none.out);
  REQUIRE(all["groups"].size() == 1);
  CHECK(all["groups"][0]["team"] == nullptr);
  CHECK(all["groups"][0]["findings"].size() == all["findings"].size());
  CHECK(all["groups"][0]["summary"] ==
        "no team label: 3 things to change (lb, db, web): 9 findings, 1 entrypoint down");
  // The report's worst risks are the teams' groups.
  const std::string html = "/tmp/achilles-cli-teams-report.html";
  auto rep = run_achilles("report " + teams + " --by team -o " + html);
  REQUIRE(rep.code == 0);
  std::ifstream in(html);
  std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(html.c_str());
  CHECK(page.find("<ol id=\"worst\"><li><b class=\"sev-critical\">critical</b> team shop: 1 "
                  "thing to change (web): 6 findings, 1 entrypoint down (www down)<br>") !=
        std::string::npos);
  // Anything but fix or team is bad usage.
  auto bad = run_achilles("analyze " + kShop + " --by owner");
  CHECK(bad.code == 2);
  CHECK(bad.err == "achilles analyze: error: --by must be fix or team, not 'owner'\n");
}

TEST_CASE("analyze --format md writes a table for a pull request", "[cli]") {
  auto r = run_achilles("analyze " + kShop + " --format md --order 1");
  REQUIRE(r.code == 0);
  CHECK(r.out ==
        "### Achilles: shop\n\n**4 findings: 4 critical** (4 failure domains, 7 components, 4 "
        "services, 1 entrypoint)\n\n"
        "**Risk groups**, most harmful first:\n\n"
        "| severity | change | risk group |\n| --- | --- | --- |\n"
        "| critical | lb | lb lacks redundancy or spread: 4 findings, 1 entrypoint down |\n\n"
        "**Findings**, most harmful first:\n\n"
        "| severity | finding | entrypoints down | services down | why |\n"
        "| --- | --- | --- | --: | --- |\n"
        "| critical | domain_spof `region` | www | 4 | www → lb (1 of 1 healthy needed) → lb-1 → "
        "rack-1 → az1 → region |\n"
        "| critical | domain_spof `az1` | www | 2 | www → lb (1 of 1 healthy needed) → lb-1 → "
        "rack-1 → az1 |\n"
        "| critical | domain_spof `rack-1` | www | 1 | www → lb (1 of 1 healthy needed) → lb-1 → "
        "rack-1 |\n"
        "| critical | spof `lb-1` | www | 1 | www → lb (1 of 1 healthy needed) → lb-1 |\n");
}

TEST_CASE("analyze --timings reports each stage on stderr and leaves the output alone", "[cli]") {
  auto plain = run_achilles("analyze " + kShop + " --format json --order 2");
  auto timed = run_achilles("analyze " + kShop + " --format json --order 2 --timings");
  REQUIRE(timed.code == 0);
  CHECK(timed.out == plain.out);
  // One line per stage, in the order they ran, then the sum (shop has no loads or
  // availabilities, so no capacity and availability stages).
  std::istringstream lines(timed.err);
  std::vector<std::string> stages;
  for (std::string line; std::getline(lines, line);) {
    REQUIRE(line.rfind("time: ", 0) == 0);
    REQUIRE(line.find(" s  ") != std::string::npos);
    stages.push_back(line.substr(line.find(" s  ") + 4));
  }
  CHECK(stages == std::vector<std::string>{"loading " + kShop, "preparing", "single failures",
                                           "cut sets of 2", "cold start", "loads", "structure",
                                           "sorting", "risk groups", "writing the json output",
                                           "in all"});
}

TEST_CASE("blast shows what is down and degraded", "[cli]") {
  auto r = run_achilles("blast " + kShop + " recs-1 db-1");
  CHECK(r.code == 0);
  CHECK(r.out ==
        "failing recs-1, db-1:\n\nentrypoints:\n  www: degraded\n\n"
        "down (3): db-1, recs-1, recs\n"
        "degraded (7): lb-1, web-1, web-2, web-3, lb, web, db\n");
  auto j = run_achilles("blast " + kShop + " az2 --format json");
  REQUIRE(j.code == 0);
  auto doc = nlohmann::json::parse(j.out);
  CHECK(doc["failed"] == nlohmann::json::array({"az2"}));
  CHECK(doc["entrypoints_degraded"] == nlohmann::json::array({"www"}));
}

TEST_CASE("Bad usage exits 2 with a message that says what is wrong", "[cli]") {
  auto r = run_achilles("analyze " + kShop + " --order 4");
  CHECK(r.code == 2);
  CHECK(r.err == "achilles: error: --order: 4 is outside 1..3\n");
  r = run_achilles("analyze " + kShop + " --format xml");
  CHECK(r.code == 2);
  CHECK(r.err == "achilles analyze: error: --format must be text, json or md, not 'xml'\n");
  r = run_achilles("blast " + kShop + " nosuch");
  CHECK(r.code == 2);
  CHECK(r.err == "achilles blast: error: 'nosuch' is not an element of " + kShop + "\n");
  r = run_achilles("blast " + kShop + " web");
  CHECK(r.code == 2);
  CHECK(r.err == "achilles: error: 'web' is a service; only components and domains fail\n");
  r = run_achilles("frobnicate");
  CHECK(r.code == 2);
  CHECK(r.err == "achilles: error: unknown command 'frobnicate' (see achilles --help)\n");
  r = run_achilles("analyze");
  CHECK(r.code == 2);
  r = run_achilles("analyze " + kShop + " --bogus");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "achilles analyze: error: unknown option '--bogus' (see achilles analyze --help)\n");
}

TEST_CASE("Every command explains itself with --help", "[cli]") {
  auto r = run_achilles("--help");
  CHECK(r.code == 0);
  CHECK(r.out.find("  analyze ") != std::string::npos);
  r = run_achilles("analyze --help");
  CHECK(r.code == 0);
  CHECK(r.out.rfind("usage: achilles analyze FILE", 0) == 0);
  CHECK(r.out.find("--order K") != std::string::npos);
  CHECK(r.out.find("examples:") != std::string::npos);
}

TEST_CASE("analyze shortens a long explanation unless asked for it whole", "[cli]") {
  const std::string chain = std::string(ACHILLES_TEST_DATA) + "/cli/chain-40.yaml";
  std::string head = "www", tail;
  for (int i = 0; i <= 14; ++i)
    head += " -> c" + std::to_string(i);
  for (int i = 24; i <= 39; ++i)
    tail += " -> c" + std::to_string(i);
  auto r = run_achilles("analyze " + chain);
  CHECK(r.code == 0);
  CHECK(r.out.find("  spof:c39\n      c39 is a single point of failure for www\n"
                   "      impact: www down; 40 components down\n"
                   "      why: " +
                   head + " -> ... 9 more ..." + tail + "\n") != std::string::npos);
  auto md = run_achilles("analyze " + chain + " --format md");
  CHECK(md.out.find("| critical | spof `c39` | www | 0 | www → c0 → ") != std::string::npos);
  CHECK(md.out.find(" → c14 → ... 9 more ... → c24 → ") != std::string::npos);
  auto json = nlohmann::json::parse(run_achilles("analyze " + chain + " --format json").out);
  CHECK(json["findings"][0]["id"] == "spof:c0");
  for (const auto& f : json["findings"])
    if (f["id"] == "spof:c39") {
      CHECK(f["explanation"].size() == 32);
      CHECK(f["explanation_elided"] == 9);
    }
  auto whole = run_achilles("analyze " + chain + " --full-explanations");
  std::string all = "www";
  for (int i = 0; i <= 39; ++i)
    all += " -> c" + std::to_string(i);
  CHECK(whole.out.find("      why: " + all + "\n") != std::string::npos);
  CHECK(whole.out.find("more ...") == std::string::npos);
}

TEST_CASE("analyze reports the pairs of a k-of-n group as one finding", "[cli]") {
  const std::string quorum = std::string(ACHILLES_TEST_DATA) + "/cli/quorum-5.yaml";
  auto r = run_achilles("analyze " + quorum);
  CHECK(r.code == 0);
  CHECK(r.out ==
        "quorum-5 (0 failure domains, 5 components, 1 service, 1 entrypoint): 1 finding: 1 high\n"
        "\n"
        "RISK GROUPS (1), most harmful first\n"
        "  high     q lacks redundancy or spread: 1 finding, 1 entrypoint down\n"
        "\n"
        "HIGH (1)\n"
        "  cut_set:m0+m1+m2+m3+m4\n"
        "      losing any 2 of these 5 members of q together takes down www (10 cut sets)\n"
        "      impact: www down; 2 components and 1 service down\n"
        "      why: www -> q (4 of 5 healthy needed) -> m1\n");
  auto md = run_achilles("analyze " + quorum + " --format md");
  CHECK(md.out.find("| high | cut_set any 2 of `m0` + `m1` + `m2` + `m3` + `m4` | www | ") !=
        std::string::npos);
  auto json = nlohmann::json::parse(run_achilles("analyze " + quorum + " --format json").out);
  REQUIRE(json["findings"].size() == 1);
  CHECK(json["findings"][0]["id"] == "cut_set:m0+m1+m2+m3+m4");
  CHECK(json["findings"][0]["any"] == 2);
  CHECK(json["findings"][0]["count"] == 10);
}

TEST_CASE("Every command and subcommand answers --help and help with exit 0", "[cli]") {
  auto top = run_achilles("--help");
  REQUIRE(top.code == 0);
  // The command names, from the list in `achilles --help`.
  std::vector<std::string> commands;
  std::istringstream lines(top.out.substr(top.out.find("commands:\n") + 10));
  for (std::string line; std::getline(lines, line) && line.rfind("  ", 0) == 0;)
    commands.push_back(line.substr(2, line.find(' ', 2) - 2));
  REQUIRE(commands.size() >= 10);
  size_t seen = 0;
  while (!commands.empty()) {
    std::string c = commands.front();
    commands.erase(commands.begin());
    ++seen;
    auto r = run_achilles(c + " --help");
    INFO(c);
    CHECK(r.code == 0);
    CHECK(r.err == "");
    CHECK(r.out.rfind("usage: achilles " + c + " ", 0) == 0);
    auto h = run_achilles("help " + c);
    CHECK(h.code == 0);
    CHECK(h.out == r.out);
    auto short_help = run_achilles(c + " -h");
    CHECK(short_help.out == r.out);
    // A group (drill, export) lists its subcommands: each answers --help too.
    auto at = r.out.find("\nsubcommands:\n");
    if (at == std::string::npos) continue;
    std::istringstream subs(r.out.substr(at + 14));
    for (std::string line; std::getline(subs, line) && line.rfind("  ", 0) == 0;)
      commands.push_back(c + " " + line.substr(2, line.find(' ', 2) - 2));
  }
  CHECK(seen >= 15);
  auto drill = run_achilles("drill --help");
  CHECK(drill.out.find("\n  run        run a game-day drill against live agents\n") !=
        std::string::npos);
  auto exp = run_achilles("export --help");
  CHECK(exp.out ==
        "usage: achilles export SUBCOMMAND [ARGS...]\n\nsubcommands:\n"
        "  openpsa   write the topology as an Open-PSA fault tree, one top event per "
        "entrypoint\n\nRun 'achilles export SUBCOMMAND --help' for a subcommand's options.\n");
  auto analyze = run_achilles("help analyze");
  CHECK(analyze.out.rfind("usage: achilles analyze FILE", 0) == 0);
  auto nothing = run_achilles("help frobnicate");
  CHECK(nothing.code == 2);
  CHECK(nothing.err == "achilles: error: unknown command 'frobnicate' (see achilles --help)\n");
}

TEST_CASE("An unknown command, subcommand, option or id suggests the closest one", "[cli]") {
  auto r = run_achilles("anlyze " + kShop);
  CHECK(r.code == 2);
  CHECK(r.err ==
        "achilles: error: unknown command 'anlyze'; did you mean 'analyze'? (see achilles "
        "--help)\n");
  r = run_achilles("help rendr");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "achilles: error: unknown command 'rendr'; did you mean 'render'? (see achilles --help)\n");
  r = run_achilles("drill rnu plan.yaml");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "achilles drill: error: unknown subcommand 'rnu'; did you mean 'run'? (one of: history, "
        "plan, run, schedule)\n");
  r = run_achilles("drill");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "achilles drill: error: a subcommand is needed: history, plan, run, schedule (see "
        "achilles drill SUBCOMMAND --help)\n");
  r = run_achilles("analyze " + kShop + " --ordre 1");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "achilles analyze: error: unknown option '--ordre'; did you mean '--order'? (see achilles "
        "analyze --help)\n");
  r = run_achilles("blast " + kShop + " wbe-1");
  CHECK(r.code == 2);
  CHECK(r.err == "achilles blast: error: 'wbe-1' is not an element of " + kShop +
                     "; did you mean 'web-1'?\n");
}
