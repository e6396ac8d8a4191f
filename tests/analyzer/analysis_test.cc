#include <catch2/catch.hpp>

#include <algorithm>
#include <utility>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/status.h"
#include "support/builder.h"

using namespace achilles::analyzer;
using achilles::testing::Builder;

namespace {

std::vector<std::string> ids(const Analysis& a) {
  std::vector<std::string> out;
  for (const auto& f : a.findings)
    out.push_back(f.id());
  return out;
}

const Finding& finding(const Analysis& a, const std::string& id) {
  for (const auto& f : a.findings)
    if (f.id() == id) return f;
  FAIL("no finding " << id);
  throw std::logic_error("unreachable");
}

// A finding's impact holds views of the topology's ids, so analyze() takes a topology that
// outlives the result: a temporary must not compile.
template <typename T>
concept AnalyzesTemporary = requires(T&& t) {
  analyze(std::move(t), AnalysisOptions{});
};
template <typename T>
concept AnalyzesLvalue = requires(const T& t) {
  analyze(t, AnalysisOptions{});
};
static_assert(AnalyzesLvalue<Topology> && !AnalyzesTemporary<Topology>);

Status status_of(const Topology& t, const std::vector<Status>& s, const std::string& id) {
  return s[*t.find(id)];
}

// www -> lb (1 of 1) -> web (2 of 3) -> db (1 of 2); lb-1 and the web tier in one rack.
Topology shop() {
  return Builder()
      .domain("region")
      .domain("az1", "region", "zone")
      .domain("az2", "region", "zone")
      .domain("rack-1", "az1", "rack")
      .component("lb-1", "rack-1", {"web"})
      .component("web-1", "rack-1", {"db", "~recs"})
      .component("web-2", "az1", {"db", "~recs"})
      .component("web-3", "az2", {"db", "~recs"})
      .component("db-1", "az1")
      .component("db-2", "az2")
      .component("recs-1", "az2")
      .service("lb", {"lb-1"})
      .service("web", {"web-1", "web-2", "web-3"}, 2)
      .service("db", {"db-1", "db-2"})
      .service("recs", {"recs-1"})
      .entrypoint("www", "lb")
      .build();
}

}  // namespace

TEST_CASE("A failure spreads along hard dependencies and breaks quorums", "[analysis]") {
  auto t = shop();
  std::vector<ElementId> f{*t.find("web-1")};
  auto s = evaluate(t, f);
  CHECK(status_of(t, s, "web-1") == Status::kDown);
  CHECK(status_of(t, s, "web") == Status::kDegraded);
  CHECK(status_of(t, s, "lb-1") == Status::kDegraded);
  CHECK(status_of(t, s, "www") == Status::kDegraded);
  CHECK(status_of(t, s, "db") == Status::kUp);

  f = {*t.find("az1")};
  s = evaluate(t, f);
  for (auto id : {"rack-1", "lb-1", "web-1", "web-2", "db-1", "lb", "web", "www"})
    CHECK(status_of(t, s, id) == Status::kDown);
  CHECK(status_of(t, s, "db") == Status::kDegraded);
  CHECK(status_of(t, s, "az2") == Status::kUp);
}

TEST_CASE("A soft dependency that fails only degrades", "[analysis]") {
  auto t = shop();
  std::vector<ElementId> f{*t.find("recs-1")};
  auto s = evaluate(t, f);
  CHECK(status_of(t, s, "recs") == Status::kDown);
  CHECK(status_of(t, s, "web-3") == Status::kDegraded);
  CHECK(status_of(t, s, "www") == Status::kDegraded);
}

TEST_CASE("Failing a service is refused: only components and domains fail", "[analysis]") {
  auto t = shop();
  std::vector<ElementId> f{*t.find("web")};
  CHECK_THROWS_WITH(evaluate(t, f),
                    "achilles: error: 'web' is a service; only components and domains fail");
}

TEST_CASE("Single points of failure, domain failures and pairs are found with impact",
          "[analysis]") {
  auto t = shop();
  AnalysisOptions options;
  auto a = analyze(t, options);
  CHECK(ids(a) == std::vector<std::string>{"domain_spof:az1", "domain_spof:rack-1",
                                           "domain_spof:region", "spof:lb-1", "cut_set:az2+db-1",
                                           "cut_set:az2+web-1", "cut_set:az2+web-2",
                                           "cut_set:db-1+db-2", "cut_set:web-1+web-2+web-3"});
  // az2 with rack-1 is no cut set: rack-1 alone takes www down.
  // Any two of the three web servers: one grouped finding for the three pairs.
  const auto& web = finding(a, "cut_set:web-1+web-2+web-3");
  CHECK(web.details["any"] == 2);
  CHECK(web.details["count"] == 3);
  CHECK(web.message ==
        "losing any 2 of these 3 members of web together takes down www (3 cut "
        "sets)");
  const auto& lb = finding(a, "spof:lb-1");
  CHECK(lb.severity == "critical");
  CHECK(lb.message == "lb-1 is a single point of failure for www");
  CHECK(lb.explanation == std::vector<std::string>{"www", "lb", "lb-1"});
  CHECK(lb.explanation_notes[1] == "1 of 1 healthy needed");
  CHECK(lb.impact.components_down == 1);
  CHECK(lb.impact.services_down == 1);

  const auto& rack = finding(a, "domain_spof:rack-1");
  CHECK(rack.message == "losing rack rack-1 takes down www");
  CHECK(rack.explanation == std::vector<std::string>{"www", "lb", "lb-1", "rack-1"});

  const auto& db = finding(a, "cut_set:db-1+db-2");
  CHECK(db.severity == "high");
  CHECK(db.impact.entrypoints_down == std::vector<std::string_view>{"www"});
  CHECK(db.impact.components_down == 6);  // db-1, db-2, lb-1 and the three web servers
  CHECK(db.impact.services_down == 3);
  CHECK(db.message == "losing db-1 and db-2 together takes down www");
}

TEST_CASE("A cut set is minimal per entrypoint", "[analysis]") {
  // a alone takes down e1; a and b together take down e2, which neither takes down alone.
  auto t = Builder()
               .component("a")
               .component("b")
               .service("s", {"a", "b"})
               .entrypoint("e1", "a")
               .entrypoint("e2", "s")
               .build();
  auto a = analyze(t, {});
  CHECK(ids(a) == std::vector<std::string>{"spof:a", "cut_set:a+b"});
  CHECK(finding(a, "cut_set:a+b").impact.entrypoints_down ==
        std::vector<std::string_view>{"e1", "e2"});
}

TEST_CASE("Cut sets of three are found at order 3 only", "[analysis]") {
  auto t = Builder()
               .component("a")
               .component("b")
               .component("c")
               .service("s", {"a", "b", "c"})
               .entrypoint("e", "s")
               .build();
  AnalysisOptions options;
  CHECK(analyze(t, options).findings.empty());
  options.order = 3;
  auto a = analyze(t, options);
  CHECK(ids(a) == std::vector<std::string>{"cut_set:a+b+c"});
  CHECK(a.findings[0].severity == "medium");
}

TEST_CASE("A loop of hard dependencies stays up but can never cold-start", "[analysis]") {
  auto t = Builder()
               .component("auth", "", {"users"})
               .component("users-1", "", {"auth"})
               .component("cache")
               .service("users", {"users-1"})
               .entrypoint("login", "auth")
               .build();
  auto s = evaluate(t, std::vector<ElementId>{});
  for (auto& st : s)
    CHECK(st == Status::kUp);
  auto a = analyze(t, {});
  const auto& c = finding(a, "cycle:auth+users+users-1");
  CHECK(c.severity == "high");
  CHECK(c.impact.entrypoints_down == std::vector<std::string_view>{"login"});
  CHECK(c.impact.components_down == 2);
  CHECK(c.explanation == std::vector<std::string>{"login", "auth", "users", "users-1", "auth"});
  CHECK(c.message ==
        "auth, users and users-1 wait on each other and can never start; login can never come up");
}

TEST_CASE("A quorum that can start without the loop is not a cycle", "[analysis]") {
  auto t = Builder()
               .component("a", "", {"s"})
               .component("b")
               .service("s", {"a", "b"})
               .entrypoint("e", "s")
               .build();
  auto a = analyze(t, {});
  for (const auto& f : a.findings)
    CHECK(f.kind != "cycle");
}

TEST_CASE("A component that needs itself is a cycle of one", "[analysis]") {
  auto t = Builder().component("a", "", {"a"}).component("b").build();
  auto a = analyze(t, {});
  CHECK(ids(a) == std::vector<std::string>{"cycle:a"});
  CHECK(a.findings[0].severity == "low");
  CHECK(a.findings[0].explanation == std::vector<std::string>{"a", "a"});
}

// Lists of ids (here the entrypoints a failure takes down) are in the order of the strings,
// which the analyzer compares by their first 24 bytes and only then whole: ids that agree
// that far, ids that are prefixes of others and short ids must still come out in order.
TEST_CASE("Ids are listed in the order of the strings, however long their common prefix",
          "[analysis]") {
  const std::string p24 = "region-zone-rack-host-00";  // 24 bytes
  std::vector<std::string> names = {p24 + "-b",
                                    p24 + "-a",
                                    p24,
                                    p24 + "-a-long-tail-1",
                                    p24 + "-a-long-tail-0",
                                    p24.substr(0, 23),
                                    p24.substr(0, 16),
                                    p24.substr(0, 16) + "x",
                                    p24.substr(0, 8),
                                    "z",
                                    "a"};
  Builder b;
  b.component("db");
  for (const auto& n : names)
    b.entrypoint(n, "db");
  const Topology t = b.build();
  auto a = analyze(t, {});
  std::sort(names.begin(), names.end());
  CHECK(finding(a, "spof:db").impact.entrypoints_down ==
        std::vector<std::string_view>(names.begin(), names.end()));
}
