// Availability (topology.md "Availability"): closed forms on hand-made examples, and the
// exact BDD method against brute-force enumeration of every failure set on random topologies.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <random>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/availability.h"
#include "reference/random_topology.h"
#include "reference/reference.h"
#include "support/builder.h"

using namespace achilles::analyzer;
using achilles::testing::Builder;

namespace {

void set_availability(Topology& t, const std::string& id, double a) {
  t[*t.find(id)].availability = a;
}

double availability_of(const Topology& t, const std::string& ep) {
  for (const auto& a : compute_availability(t, AnalysisOptions{}))
    if (a.id == ep) {
      CHECK(a.method == "exact");
      return a.availability;
    }
  FAIL("no entrypoint " << ep);
  return 0;
}

}  // namespace

TEST_CASE("Availability in series is the product", "[availability]") {
  auto t = Builder().component("c1", "", {"c2"}).component("c2").entrypoint("e", "c1").build();
  set_availability(t, "c1", 0.99);
  set_availability(t, "c2", 0.95);
  CHECK(availability_of(t, "e") == Approx(0.99 * 0.95).epsilon(1e-12));
}

TEST_CASE("Availability in parallel is one minus the product of unavailabilities",
          "[availability]") {
  auto t =
      Builder().component("a").component("b").service("s", {"a", "b"}).entrypoint("e", "s").build();
  set_availability(t, "a", 0.9);
  set_availability(t, "b", 0.8);
  CHECK(availability_of(t, "e") == Approx(1 - 0.1 * 0.2).epsilon(1e-12));
}

TEST_CASE("Availability of 2 of 3 is the binomial sum", "[availability]") {
  auto t = Builder()
               .component("a")
               .component("b")
               .component("c")
               .service("s", {"a", "b", "c"}, 2)
               .entrypoint("e", "s")
               .build();
  for (const char* id : {"a", "b", "c"})
    set_availability(t, id, 0.9);
  double p = 0.9, q = 0.1;
  CHECK(availability_of(t, "e") == Approx(p * p * p + 3 * p * p * q).epsilon(1e-12));
}

TEST_CASE("A component shared by two services is counted once", "[availability]") {
  auto t = Builder()
               .component("a")
               .component("b")
               .component("c")
               .service("s1", {"a", "b"})
               .service("s2", {"a", "c"})
               .component("x", "", {"s1", "s2"})
               .entrypoint("e", "x")
               .build();
  set_availability(t, "a", 0.9);
  set_availability(t, "b", 0.8);
  set_availability(t, "c", 0.7);
  // Condition on a: up, both services are; down, both b and c are needed.
  CHECK(availability_of(t, "e") == Approx(0.9 + 0.1 * 0.8 * 0.7).epsilon(1e-12));
}

TEST_CASE("A domain shared across services is a common cause", "[availability]") {
  auto t = Builder()
               .domain("rack")
               .component("a", "rack")
               .component("b", "rack")
               .component("c", "rack")
               .service("s1", {"a", "b"})
               .service("s2", {"c"})
               .component("x", "", {"s1", "s2"})
               .entrypoint("e", "x")
               .build();
  set_availability(t, "rack", 0.99);
  set_availability(t, "a", 0.9);
  set_availability(t, "b", 0.9);
  set_availability(t, "c", 0.95);
  CHECK(availability_of(t, "e") == Approx(0.99 * (1 - 0.01) * 0.95).epsilon(1e-12));
}

TEST_CASE("Availability through a dependency cycle is the least fixpoint of down",
          "[availability]") {
  // c1 and c2 need each other: either failing takes both down; nothing else does.
  auto t = Builder()
               .component("c1", "", {"c2"})
               .component("c2", "", {"c1"})
               .entrypoint("e", "c1")
               .build();
  set_availability(t, "c1", 0.9);
  set_availability(t, "c2", 0.8);
  CHECK(availability_of(t, "e") == Approx(0.72).epsilon(1e-12));
}

TEST_CASE("Importance ranks by the gain if an element never failed", "[availability]") {
  auto t = Builder().component("c1", "", {"c2"}).component("c2").entrypoint("e", "c1").build();
  set_availability(t, "c1", 0.99);
  set_availability(t, "c2", 0.95);
  auto a = compute_availability(t, AnalysisOptions{});
  REQUIRE(a.size() == 1);
  REQUIRE(a[0].importance.size() == 2);
  CHECK(a[0].importance[0].id == "c2");
  CHECK(a[0].importance[0].gain == Approx(0.05 * 0.99).epsilon(1e-12));
  CHECK(a[0].importance[0].birnbaum == Approx(0.99).epsilon(1e-12));
  CHECK(a[0].importance[1].gain == Approx(0.01 * 0.95).epsilon(1e-12));
}

TEST_CASE(
    "Beyond the BDD budget the availability is a Monte Carlo estimate with an interval, the same "
    "with any standard library",
    "[availability]") {
  auto t =
      Builder().component("a").component("b").service("s", {"a", "b"}).entrypoint("e", "s").build();
  set_availability(t, "a", 0.5);
  set_availability(t, "b", 0.5);
  AnalysisOptions options;
  options.bdd_node_budget = 3;
  options.samples = 20000;
  auto a = compute_availability(t, options);
  REQUIRE(a.size() == 1);
  CHECK(a[0].method == "monte-carlo");
  double lo = a[0].error["interval"][0], hi = a[0].error["interval"][1];
  CHECK(lo < 0.75);
  CHECK(hi > 0.75);
  CHECK(hi - lo < 0.03);
  // The draws come from mt19937_64's bits (fully specified by the standard), not from
  // std::uniform_real_distribution (each library's own): this figure is the same everywhere.
  CHECK(std::to_string(a[0].availability) == "0.747300");
}

TEST_CASE("Beyond the BDD budget analyze approximates from the cut sets it found",
          "[availability]") {
  // e needs x, x needs c and the pair s = {a, b}: minimal cut sets {c} and {a, b}.
  auto t = Builder()
               .component("a")
               .component("b")
               .component("c")
               .service("s", {"a", "b"})
               .component("x", "", {"s", "c"})
               .entrypoint("e", "x")
               .build();
  set_availability(t, "a", 0.9);
  set_availability(t, "b", 0.8);
  set_availability(t, "c", 0.99);
  const double exact = 0.99 * (1 - 0.1 * 0.2);
  AnalysisOptions options;
  options.bdd_node_budget = 3;
  SECTION("order 2: every minimal cut set is summed") {
    auto analysis = analyze(t, options);
    REQUIRE(analysis.availability.size() == 1);
    const auto& a = analysis.availability[0];
    CHECK(a.method == "rare-event");
    CHECK(a.availability == Approx(1 - (0.01 + 0.1 * 0.2)).epsilon(1e-12));
    CHECK(a.availability <= exact);
    CHECK(a.error["cut_sets"] == 2);
    CHECK(a.error["order"] == 2);
    CHECK(double(a.error["upper_bound"]) >= exact - 1e-12);
    REQUIRE(!a.importance.empty());
    CHECK(a.importance[0].id == "a");  // 0.1 x 0.2 against 0.01
  }
  SECTION("order 1: the pair is neglected, and the bound says so") {
    options.order = 1;
    auto analysis = analyze(t, options);
    REQUIRE(analysis.availability.size() == 1);
    const auto& a = analysis.availability[0];
    CHECK(a.method == "rare-event");
    CHECK(a.availability == Approx(0.99).epsilon(1e-12));
    CHECK(a.error["cut_sets"] == 1);
    CHECK(double(a.error["upper_bound"]) >= exact);
    CHECK(std::string(a.error["neglects"]).find("more than 1 element") != std::string::npos);
  }
  SECTION("no cut set up to the order: a small cone is sampled") {
    options.order = 1;
    set_availability(t, "c", 1.0);
    auto analysis = analyze(t, options);
    REQUIRE(analysis.availability.size() == 1);
    const auto& a = analysis.availability[0];
    CHECK(a.method == "monte-carlo");
    double lo = a.error["interval"][0], hi = a.error["interval"][1];
    CHECK(lo < 0.98);
    CHECK(hi > 0.98);
  }
}

TEST_CASE("An entrypoint below its slo is an slo_risk finding", "[availability]") {
  auto t = Builder().component("c").entrypoint("e", "c").build();
  set_availability(t, "c", 0.99);
  t[*t.find("e")].slo = 0.999;
  auto analysis = analyze(t, AnalysisOptions{});
  REQUIRE(analysis.availability.size() == 1);
  bool found = false;
  for (const auto& f : analysis.findings)
    if (f.id() == "slo_risk:e") {
      found = true;
      CHECK(f.message ==
            "e's availability 0.990000 (exact) is below its slo 0.999; the largest gain is "
            "making c never fail");
    }
  CHECK(found);
}

TEST_CASE("Independent modules are exact where one diagram of the cone would not fit",
          "[availability]") {
  // x needs twenty 2-of-3 services; each replica sits on a host of its own. As one diagram
  // the cone needs about 160 nodes; each module (a replica with its host, a service over
  // three replicas, x over twenty services) needs a handful.
  Builder b;
  std::vector<std::string> services;
  for (int s = 0; s < 20; ++s) {
    std::vector<std::string> members;
    for (int r = 0; r < 3; ++r) {
      const std::string id = "c" + std::to_string(s) + "-" + std::to_string(r);
      b.domain("h" + id).component(id, "h" + id);
      members.push_back(id);
    }
    services.push_back("s" + std::to_string(s));
    b.service(services.back(), members, 2);
  }
  auto t = b.component("x", "", services).entrypoint("e", "x").build();
  double expected = 0.99;
  set_availability(t, "x", 0.99);
  for (int s = 0; s < 20; ++s) {
    const double c = 0.9 + 0.004 * s, h = 0.999;
    for (int r = 0; r < 3; ++r) {
      const std::string id = "c" + std::to_string(s) + "-" + std::to_string(r);
      set_availability(t, id, c);
      set_availability(t, "h" + id, h);
    }
    const double u = c * h;
    expected *= u * u * u + 3 * u * u * (1 - u);
  }
  AnalysisOptions options;
  options.bdd_node_budget = 128;
  auto a = compute_availability(t, options);
  REQUIRE(a.size() == 1);
  CHECK(a[0].method == "exact");
  CHECK(a[0].availability == Approx(expected).epsilon(1e-12));
  // The chain rule across modules: x is in series with everything, so its Birnbaum
  // importance is the availability of the rest.
  REQUIRE(!a[0].importance.empty());
  for (const auto& i : a[0].importance)
    if (i.id == "x") CHECK(i.birnbaum == Approx(expected / 0.99).epsilon(1e-12));
}

namespace {

// Brute force: the sum, over every subset of the elements that can fail, of its probability
// when the reference's statuses put the entrypoint down; and each element's Birnbaum
// importance, P(up | it never fails) - P(up | it has failed), by the same enumeration.
void check_against_enumeration(const achilles::reference::RandomParams& params, uint64_t seeds) {
  namespace reference = achilles::reference;
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    Topology t = reference::random_topology(seed, params);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> avail(0.5, 0.999);
    std::vector<ElementId> vars;
    for (ElementId x = 0; x < t.size(); ++x) {
      auto kind = t[x].kind;
      if ((kind == ElementKind::kComponent || kind == ElementKind::kDomain) && rng() % 4 != 0) {
        t[x].availability = avail(rng);
        vars.push_back(x);
      }
    }
    if (vars.size() > 12) vars.resize(12);
    for (ElementId x = 0; x < t.size(); ++x)
      if (std::find(vars.begin(), vars.end(), x) == vars.end()) t[x].availability.reset();
    std::vector<double> expected(t.size(), 0.0);
    // up_given[x][i][b]: P(x up and variable i failed (b = 1) or not (b = 0)).
    std::vector<std::vector<std::array<double, 2>>> up_given(
        t.size(), std::vector<std::array<double, 2>>(vars.size(), {0.0, 0.0}));
    for (uint32_t mask = 0; mask < (1u << vars.size()); ++mask) {
      std::vector<ElementId> failed;
      double p = 1;
      for (size_t i = 0; i < vars.size(); ++i) {
        double a = *t[vars[i]].availability;
        if (mask & (1u << i))
          failed.push_back(vars[i]), p *= 1 - a;
        else
          p *= a;
      }
      auto s = reference::statuses(t, failed);
      for (ElementId x = 0; x < t.size(); ++x)
        if (t[x].kind == ElementKind::kEntrypoint && s[x] != achilles::analyzer::Status::kDown) {
          expected[x] += p;
          for (size_t i = 0; i < vars.size(); ++i)
            up_given[x][i][(mask >> i) & 1] += p;
        }
    }
    auto got = compute_availability(t, AnalysisOptions{});
    for (const auto& a : got) {
      INFO("seed " << seed << "\n" << reference::to_yaml(t));
      const ElementId ep = *t.find(a.id);
      CHECK(a.method == "exact");
      CHECK(a.availability == Approx(expected[ep]).margin(1e-12));
      for (const auto& imp : a.importance) {
        INFO("importance of " << imp.id);
        const size_t i = std::find(vars.begin(), vars.end(), *t.find(imp.id)) - vars.begin();
        REQUIRE(i < vars.size());
        const double q = 1 - *t[vars[i]].availability;
        const double birnbaum = up_given[ep][i][0] / (1 - q) - up_given[ep][i][1] / q;
        CHECK(imp.birnbaum == Approx(birnbaum).margin(1e-9));
        CHECK(imp.gain == Approx(birnbaum * q).margin(1e-9));
      }
    }
  }
}

}  // namespace

TEST_CASE("Exact availability equals enumeration of every failure set on random topologies",
          "[availability][property]") {
  achilles::reference::RandomParams params;
  params.max_components = 7;
  params.max_domains = 4;
  check_against_enumeration(params, 300);
}

// Larger topologies with more services and domains, so that the cones hold modules below and
// above shared parts (only 12 elements fail, so that enumeration stays cheap).
TEST_CASE("Exact availability by modules equals enumeration on larger random topologies",
          "[availability][property]") {
  achilles::reference::RandomParams params;
  params.max_components = 14;
  params.max_services = 8;
  params.max_domains = 8;
  params.max_entrypoints = 4;
  check_against_enumeration(params, 400);
}
