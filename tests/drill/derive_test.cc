// Derived drills (spec drill.md "Derived drills"): what `achilles drill plan` may put in a plan.
// The property test holds, over random topologies and against the reference evaluator
// (tests/reference), that a plan derived without --include-spofs never causes an outage.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "achilles/drill/derive.h"
#include "reference/random_topology.h"
#include "reference/reference.h"

using namespace achilles;

namespace {

/// A hard dependency on `target`.
achilles::analyzer::Dependency hard_dependency(achilles::analyzer::ElementId target) {
  achilles::analyzer::Dependency d;
  d.target = target;
  return d;
}

/// Gives every component a target block (every third a proxy) and every entrypoint a url, so
/// that derive_plan() has everything to act on and to watch.
void add_targets(analyzer::Topology& t) {
  for (std::size_t i = 0; i < t.size(); ++i) {
    auto& e = t[static_cast<analyzer::ElementId>(i)];
    if (e.kind == analyzer::ElementKind::kComponent) {
      e.inject_target = {{"agent", "127.0.0.1:8474"}, {"process", e.id}};
      if (i % 3 == 0) e.inject_target.emplace_back("proxy", "p-" + e.id);
    } else if (e.kind == analyzer::ElementKind::kEntrypoint) {
      e.labels = {{"url", "http://127.0.0.1:8080/" + e.id}};
    }
  }
}

}  // namespace

TEST_CASE(
    "no plan derived without --include-spofs expects or causes an outage, over random "
    "topologies",
    "[drill][derive]") {
  std::size_t plans = 0, kills = 0, domains = 0;
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    analyzer::Topology t = reference::random_topology(seed);
    add_targets(t);
    drill::DeriveOptions options;
    drill::DerivedPlan derived;
    try {
      derived = drill::derive_plan(t, "t.yaml", "-", options);
    } catch (const common::UsageError&) {
      continue;  // nothing to drill in this one
    }
    ++plans;
    INFO("seed " << seed << "\n" << reference::to_yaml(t) << "\n" << derived.yaml);
    const YAML::Node plan = YAML::Load(derived.yaml);
    // Kills are not undone (without a supervisor the process stays down): the reference
    // statuses of everything killed so far must put no entrypoint down, at every step.
    std::vector<analyzer::ElementId> killed;
    for (const auto& step : plan["steps"]) {
      for (const auto& e : step["expect"])
        CHECK(e.second.as<std::string>() != "down");
      const YAML::Node target = step["fault"]["target"];
      if (target && target["domain"]) {
        // A lost domain: down with what was killed before. Every component shares the one
        // agent here, so unless the domain holds them all its components are killed (not
        // undone) rather than isolated (reverted at the step's end).
        const auto d = *t.find(target["domain"].as<std::string>());
        auto failed = killed;
        failed.push_back(d);
        const auto status = reference::statuses(t, failed);
        for (analyzer::ElementId x = 0; x < t.size(); ++x)
          if (t[x].kind == analyzer::ElementKind::kEntrypoint)
            CHECK(status[x] != analyzer::Status::kDown);
        std::vector<analyzer::ElementId> in;
        bool all = true;
        for (analyzer::ElementId x = 0; x < t.size(); ++x) {
          if (t[x].kind != analyzer::ElementKind::kComponent) continue;
          bool inside = false;
          for (auto y = t[x].domain; y != analyzer::kNoElement; y = t[y].parent)
            inside |= y == d;
          if (inside)
            in.push_back(x);
          else
            all = false;
        }
        if (!all) killed.insert(killed.end(), in.begin(), in.end());
        ++domains;
        continue;
      }
      if (step["fault"]["kind"].as<std::string>() != "kill") continue;
      killed.push_back(*t.find(target["component"].as<std::string>()));
      ++kills;
      const auto status = reference::statuses(t, killed);
      for (analyzer::ElementId x = 0; x < t.size(); ++x)
        if (t[x].kind == analyzer::ElementKind::kEntrypoint)
          CHECK(status[x] != analyzer::Status::kDown);
    }
  }
  // The property was exercised, not vacuously true.
  CHECK(plans > 100);
  CHECK(kills > 100);
  CHECK(domains > 10);
}

TEST_CASE("a derived plan does not kill a service member that is a single point of failure",
          "[drill][derive]") {
  // app needs db-primary itself and the service db-read = {db-primary, db-replica}: killing
  // db-primary "as one of 2 in db-read" takes www down. The replica is the member to kill.
  analyzer::Topology t;
  auto component = [&](const std::string& id, std::vector<std::string> deps) {
    analyzer::Element e;
    e.id = id;
    e.kind = analyzer::ElementKind::kComponent;
    e.inject_target = {{"agent", "127.0.0.1:8474"}, {"process", id}};
    const auto x = t.add(std::move(e));
    for (const auto& d : deps)
      t[x].depends_on.push_back(hard_dependency(*t.find(d)));
    return x;
  };
  component("db-primary", {});
  component("db-replica", {});
  analyzer::Element read;
  read.id = "db-read";
  read.kind = analyzer::ElementKind::kService;
  read.members = {*t.find("db-primary"), *t.find("db-replica")};
  t.add(std::move(read));
  component("app", {"db-primary", "db-read"});
  analyzer::Element www;
  www.id = "www";
  www.kind = analyzer::ElementKind::kEntrypoint;
  www.target = *t.find("app");
  www.labels = {{"url", "http://127.0.0.1:8080/"}};
  t.add(std::move(www));
  const std::string yaml = drill::derive_plan(t, "t.yaml", "-", {}).yaml;
  CHECK_THAT(yaml, Catch::Contains("- name: \"kill db-replica (one of 2 in db-read)\"\n"
                                   "    at_ms: 0\n"
                                   "    fault: {kind: kill, target: {component: \"db-replica\"}}\n"
                                   "    expect: {\"www\": healthy, recover_within_ms: 5000}\n"));
  CHECK_THAT(yaml, !Catch::Contains("component: \"db-primary\""));
  CHECK_THAT(yaml, !Catch::Contains(": down"));
}

TEST_CASE("A derived step's observation ends a probe timeout before the next fault",
          "[drill][derive]") {
  // A sample counts for the window in which it was sent: one sent just before the latency
  // step and slowed by it must not be judged with the kill before it.
  analyzer::Topology t;
  for (const char* id : {"web-1", "web-2", "db"}) {
    analyzer::Element e;
    e.id = id;
    e.kind = analyzer::ElementKind::kComponent;
    e.inject_target = {{"agent", "127.0.0.1:8474"}, {"process", id}};
    if (std::string(id) == "db") e.inject_target.emplace_back("proxy", "db");
    t.add(std::move(e));
  }
  analyzer::Element web;
  web.id = "web";
  web.kind = analyzer::ElementKind::kService;
  web.members = {*t.find("web-1"), *t.find("web-2")};
  web.depends_on.push_back(hard_dependency(*t.find("db")));
  t.add(std::move(web));
  analyzer::Element www;
  www.id = "www";
  www.kind = analyzer::ElementKind::kEntrypoint;
  www.target = *t.find("web");
  www.labels = {{"url", "http://127.0.0.1:8080/"}};
  t.add(std::move(www));
  const std::string yaml = drill::derive_plan(t, "t.yaml", "-", {}).yaml;
  // 12 s between steps, a 2 s probe timeout: observed for 10 s; the last step by default.
  CHECK_THAT(yaml, Catch::Contains("up: [\"www\"]}\n    observe_ms: 10000\n  - name: \"latency "));
  CHECK(yaml.find("observe_ms") == yaml.rfind("observe_ms"));
}
