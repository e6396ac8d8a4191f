// Valid but adversarial estates (issue 24): deep dependency chains, whose explanations are
// shortened; k-of-n groups, whose pairs are one grouped cut set; deep failure-domain trees,
// whose pairs are searched as intervals. Each held to the full answer or to the reference.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "achilles/analyzer/analysis.h"
#include "reference/reference.h"
#include "support/builder.h"

using namespace achilles::analyzer;
using achilles::testing::Builder;
namespace reference = achilles::reference;

namespace {

// c0 -> c1 -> ... -> c(n-1), www on c0.
Topology chain(int n) {
  Builder b;
  for (int i = 0; i < n; ++i)
    b.component("c" + std::to_string(i), "",
                i + 1 < n ? std::vector<std::string>{"c" + std::to_string(i + 1)}
                          : std::vector<std::string>{});
  return b.entrypoint("www", "c0").build();
}

// Service q of members m0..m(n-1) that needs all but `spare`, www on it.
Builder quorum(int n, int spare = 1) {
  Builder b;
  std::vector<std::string> members;
  for (int i = 0; i < n; ++i) {
    members.push_back("m" + std::to_string(i));
    b.component(members.back());
  }
  b.service("q", members, n - spare).entrypoint("www", "q");
  return b;
}

std::string describe(const Impact& i) {
  std::string out = "down=";
  for (auto e : i.entrypoints_down)
    out += std::string(e) + ",";
  out += " degraded=";
  for (auto e : i.entrypoints_degraded)
    out += std::string(e) + ",";
  return out + " components=" + std::to_string(i.components_down) +
         " services=" + std::to_string(i.services_down);
}

// The cut sets of an analysis, a grouped one as each of its pairs or triples, by id with
// their impact.
std::map<std::string, std::string> cut_sets(const Analysis& a) {
  std::map<std::string, std::string> out;
  for (const Finding& f : a.findings) {
    if (f.kind != "cut_set") continue;
    if (!f.details.contains("any")) {
      out[f.id()] = describe(f.impact);
      continue;
    }
    const auto& s = f.subject;
    for (size_t i = 0; i < s.size(); ++i)
      for (size_t j = i + 1; j < s.size(); ++j) {
        if (f.details["any"] == 2) {
          out["cut_set:" + s[i] + "+" + s[j]] = describe(f.impact);
          continue;
        }
        for (size_t k = j + 1; k < s.size(); ++k)
          out["cut_set:" + s[i] + "+" + s[j] + "+" + s[k]] = describe(f.impact);
      }
  }
  return out;
}

std::map<std::string, std::string> reference_cut_sets(const Topology& t, unsigned order) {
  std::map<std::string, std::string> out;
  for (const auto& f : reference::cut_sets(t, order))
    out[f.id()] = describe(f.impact);
  return out;
}

const Finding& finding_by_id(const Analysis& a, const std::string& id) {
  for (const auto& f : a.findings)
    if (f.id() == id) return f;
  FAIL("no finding " << id);
  throw std::logic_error("unreachable");
}

std::vector<std::string> ids(const Analysis& a) {
  std::vector<std::string> out;
  for (const auto& f : a.findings)
    out.push_back(f.id());
  return out;
}

}  // namespace

TEST_CASE("An explanation longer than 32 keeps its first and last 16 and counts the rest",
          "[analysis]") {
  auto t = chain(100);
  AnalysisOptions options;
  auto short_ = analyze(t, options);
  options.full_explanations = true;
  auto full = analyze(t, options);
  REQUIRE(short_.findings.size() == 100);
  REQUIRE(full.findings.size() == 100);
  size_t elided = 0;
  for (size_t i = 0; i < full.findings.size(); ++i) {
    const Finding& s = short_.findings[i];
    const Finding& f = full.findings[i];
    REQUIRE(s.id() == f.id());
    CHECK_FALSE(f.details.contains("explanation_elided"));
    if (f.explanation.size() <= kExplanationMax) {
      CHECK(s.explanation == f.explanation);
      CHECK_FALSE(s.details.contains("explanation_elided"));
      continue;
    }
    ++elided;
    std::vector<std::string> kept(f.explanation.begin(), f.explanation.begin() + 16);
    kept.insert(kept.end(), f.explanation.end() - 16, f.explanation.end());
    CHECK(s.explanation == kept);
    CHECK(s.explanation_notes.size() == 32);
    CHECK(s.details["explanation_elided"] == f.explanation.size() - 32);
  }
  CHECK(elided == 100 - 31);  // c31 is explained by www, c0..c31: 33 links
  const Finding& last = finding_by_id(short_, "spof:c99");
  CHECK(last.details["explanation_elided"] == 101 - 32);

  // Both JSON writers carry the count, beside the shortened chain.
  auto doc = to_json(t, short_);
  std::ostringstream streamed;
  write_json(t, short_, streamed);
  CHECK(streamed.str() == doc.dump(2));
  for (const auto& f : doc["findings"])
    if (f["id"] == "spof:c99") {
      CHECK(f["explanation"].size() == 32);
      CHECK(f["explanation_elided"] == 69);
      CHECK(f["explanation"][15] == "c14");
      CHECK(f["explanation"][16] == "c84");
    }
}

TEST_CASE("The pairs of a quorum that needs all but one are one grouped cut set", "[analysis]") {
  auto t = quorum(10).build();
  auto a = analyze(t, {});
  REQUIRE(ids(a) == std::vector<std::string>{"cut_set:m0+m1+m2+m3+m4+m5+m6+m7+m8+m9"});
  const Finding& f = a.findings[0];
  CHECK(f.severity == "high");
  CHECK(f.details["any"] == 2);
  CHECK(f.details["count"] == 45);
  CHECK(f.message == "losing any 2 of these 10 members of q together takes down www (45 cut sets)");
  CHECK(f.explanation == std::vector<std::string>{"www", "q", "m1"});
  CHECK(f.explanation_notes[1] == "9 of 10 healthy needed");
  CHECK(cut_sets(a) == reference_cut_sets(t, 2));
  CHECK(cut_sets(a).size() == 45);
}

TEST_CASE("Three members any two of which break a service are one grouped cut set", "[analysis]") {
  // Three pods of a Deployment that can spare one: one finding for the three pairs, as a
  // reader wants; two members are one pair and stay a plain cut set.
  auto t = quorum(3).build();
  auto a = analyze(t, {});
  REQUIRE(ids(a) == std::vector<std::string>{"cut_set:m0+m1+m2"});
  CHECK(a.findings[0].details["count"] == 3);
  CHECK(cut_sets(a) == reference_cut_sets(t, 2));
  auto two = quorum(2).build();
  CHECK(ids(analyze(two, {})) == std::vector<std::string>{"cut_set:m0+m1"});
}

TEST_CASE("A member that something else depends on is paired with the group, not in it",
          "[analysis]") {
  auto b = quorum(5);
  b.component("x", "", {"~m4"}).service("side", {"x"}).entrypoint("api", "side");
  auto t = b.build();
  auto a = analyze(t, {});
  CHECK(ids(a) == std::vector<std::string>{"spof:x", "cut_set:m0+m1+m2+m3", "cut_set:m0+m4",
                                           "cut_set:m1+m4", "cut_set:m2+m4", "cut_set:m3+m4"});
  CHECK(finding_by_id(a, "cut_set:m0+m1+m2+m3").details["count"] == 6);
  CHECK(cut_sets(a) == reference_cut_sets(t, 2));
}

TEST_CASE("A member that falls with its service is paired with the group, not in it",
          "[analysis]") {
  // m5 depends on q: every pair without it takes it down too, one component more.
  auto t = Builder()
               .component("m0")
               .component("m1")
               .component("m2")
               .component("m3")
               .component("m4")
               .component("m5", "", {"q"})
               .service("q", {"m0", "m1", "m2", "m3", "m4", "m5"}, 5)
               .entrypoint("www", "q")
               .build();
  auto a = analyze(t, {});
  CHECK(ids(a) == std::vector<std::string>{"cut_set:m0+m1+m2+m3+m4", "cut_set:m0+m5",
                                           "cut_set:m1+m5", "cut_set:m2+m5", "cut_set:m3+m5",
                                           "cut_set:m4+m5"});
  CHECK(finding_by_id(a, "cut_set:m0+m1+m2+m3+m4").impact.components_down == 3);
  CHECK(finding_by_id(a, "cut_set:m0+m5").impact.components_down == 2);
  CHECK(cut_sets(a) == reference_cut_sets(t, 2));
}

TEST_CASE("At order 3 a group whose pairs a third failure extends is reported pair by pair",
          "[analysis]") {
  // Any two of m0..m3 take down q, and with it z; z and c together are all of r, so each
  // pair with c is a cut set of three for api, which differs from pair to pair.
  auto b = quorum(4);
  b.component("z", "", {"q"}).component("c").service("r", {"z", "c"}).entrypoint("api", "r");
  auto t = b.build();
  AnalysisOptions options;
  options.order = 3;
  auto a = analyze(t, options);
  for (const Finding& f : a.findings)
    CHECK_FALSE(f.details.contains("any"));
  CHECK(cut_sets(a) == reference_cut_sets(t, 3));
  CHECK(cut_sets(a).size() == 6 + 1 + 6);  // and c with z
  // Without the third failure's service, the group stands at order 3 too.
  auto plain = quorum(4).build();
  auto grouped = analyze(plain, options);
  CHECK(ids(grouped) == std::vector<std::string>{"cut_set:m0+m1+m2+m3"});
  CHECK(cut_sets(grouped) == reference_cut_sets(plain, 3));
}

TEST_CASE("The pairs of a deep failure-domain tree are found however its members are ordered",
          "[analysis]") {
  // d0 > d1 > ... > d23, host hi in di, a pool of all hosts that needs half of them: every
  // domain weakens the pool, and the deep ones are nested in one another. The members are
  // listed in order (each domain's loss is one run of positions) and shuffled (scattered).
  constexpr int kDepth = 24;
  for (bool shuffled : {false, true}) {
    Builder b;
    std::vector<std::string> hosts;
    for (int i = 0; i < kDepth; ++i) {
      b.domain("d" + std::to_string(i), i ? "d" + std::to_string(i - 1) : "", "zone");
      hosts.push_back("h" + std::to_string(i));
    }
    for (int i = 0; i < kDepth; ++i)
      b.component(hosts[i], "d" + std::to_string(i));
    if (shuffled) std::shuffle(hosts.begin(), hosts.end(), std::mt19937(7));
    b.service("pool", hosts, kDepth / 2).entrypoint("www", "pool");
    auto t = b.build();
    INFO("shuffled: " << shuffled);
    auto a = analyze(t, {});
    CHECK(cut_sets(a) == reference_cut_sets(t, 2));
    CHECK(cut_sets(a).size() == kDepth / 2);  // d12 with each host above it
  }
}

TEST_CASE("The rare-event availability counts every pair of a grouped cut set, however many",
          "[analysis][availability]") {
  // Members that fail with probability q: any two of n take www down, so the rare-event sum
  // is n(n-1)/2 q^2. Up to 65,536 pairs they are taken one by one, beyond in closed form.
  for (int n : {300, 400}) {
    auto t = quorum(n).build();
    for (auto& e : t.elements)
      if (e.kind == ElementKind::kComponent) e.availability = 0.9999;
    AnalysisOptions options;
    options.bdd_node_budget = 1;  // no exact diagram: the cut sets' approximation
    auto a = analyze(t, options);
    REQUIRE(a.availability.size() == 1);
    INFO("n = " << n);
    const double pairs = n * (n - 1) / 2.0, q = 1 - 0.9999;
    CHECK(a.availability[0].method == "rare-event");
    CHECK(a.availability[0].availability == Approx(1 - pairs * q * q).epsilon(1e-9));
    CHECK(a.availability[0].error["cut_sets"] == n * (n - 1) / 2);
    REQUIRE_FALSE(a.availability[0].importance.empty());
    CHECK(a.availability[0].importance[0].birnbaum == Approx((n - 1) * q).epsilon(1e-9));
  }
}

TEST_CASE("At order 3 the triples of a quorum that needs all but two are one grouped cut set",
          "[analysis]") {
  // 1.7×10^11 sets of three for 10^4 members: one finding, not one each.
  auto t = quorum(8, 2).build();
  AnalysisOptions options;
  options.order = 3;
  auto a = analyze(t, options);
  REQUIRE(ids(a) == std::vector<std::string>{"cut_set:m0+m1+m2+m3+m4+m5+m6+m7"});
  const Finding& f = a.findings[0];
  CHECK(f.severity == "medium");
  CHECK(f.details["any"] == 3);
  CHECK(f.details["count"] == 56);
  CHECK(f.message == "losing any 3 of these 8 members of q together takes down www (56 cut sets)");
  CHECK(cut_sets(a) == reference_cut_sets(t, 3));
  CHECK(cut_sets(a).size() == 56);
  // At order 2 there is nothing to find; below 2k members the sets are listed one by one.
  CHECK(analyze(t, {}).findings.empty());
  auto small = quorum(5, 2).build();
  auto listed = analyze(small, options);
  CHECK(listed.findings.size() == 10);
  for (const Finding& g : listed.findings)
    CHECK_FALSE(g.details.contains("any"));
  CHECK(cut_sets(listed) == reference_cut_sets(small, 3));
}

TEST_CASE("Triples of a group of any 3 with something outside it are found one by one",
          "[analysis]") {
  // h takes down m0 alone: with any two of m1..m7 it is a set of three that the group's
  // finding does not stand for (h is not a member); with m0 it loses nothing more.
  Builder b;
  b.component("h").component("m0", "", {"h"});
  std::vector<std::string> members{"m0"};
  for (int i = 1; i < 8; ++i) {
    members.push_back("m" + std::to_string(i));
    b.component(members.back());
  }
  auto t = b.service("q", members, 6).entrypoint("www", "q").build();
  AnalysisOptions options;
  options.order = 3;
  auto a = analyze(t, options);
  CHECK(cut_sets(a) == reference_cut_sets(t, 3));
  CHECK(cut_sets(a).size() == 56 + 21);
  CHECK(finding_by_id(a, "cut_set:m0+m1+m2+m3+m4+m5+m6+m7").details["any"] == 3);
}

TEST_CASE("The rare-event availability counts every triple of a grouped cut set, however many",
          "[analysis][availability]") {
  // Any three of n take www down: the rare-event sum is C(n,3) q^3, taken one by one up to
  // 65,536 triples (n = 60: 34,220) and in closed form beyond (n = 80: 82,160).
  for (int n : {60, 80}) {
    auto t = quorum(n, 2).build();
    for (auto& e : t.elements)
      if (e.kind == ElementKind::kComponent) e.availability = 0.999;
    AnalysisOptions options;
    options.order = 3;
    options.bdd_node_budget = 1;  // no exact diagram: the cut sets' approximation
    auto a = analyze(t, options);
    REQUIRE(a.availability.size() == 1);
    INFO("n = " << n);
    const double triples = n * (n - 1) * (n - 2) / 6.0, q = 1 - 0.999;
    CHECK(a.availability[0].method == "rare-event");
    CHECK(a.availability[0].availability == Approx(1 - triples * q * q * q).epsilon(1e-12));
    CHECK(a.availability[0].error["cut_sets"] == n * (n - 1) * (n - 2) / 6);
    REQUIRE_FALSE(a.availability[0].importance.empty());
    CHECK(a.availability[0].importance[0].birnbaum ==
          Approx((n - 1) * (n - 2) / 2.0 * q * q).epsilon(1e-9));
  }
}
