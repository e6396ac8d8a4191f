// `achilles whatif` and `achilles recommend` as a user runs them: the diff's outputs, the
// changed topology that --write-topology writes (valid, and analyzed to the "after"), exit
// code 2 with located messages for a bad overlay, and recommend's written plan taken by
// whatif as it is, showing the effect recommend claims.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
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
  CHECK(diff["changes"] == plan["changes"].size());
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
