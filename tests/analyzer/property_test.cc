// Holds the analyzer (status.h, analysis.h) to the brute-force reference of tests/reference
// on thousands of small random topologies. On a mismatch the output names the seed, prints
// the topology as YAML and both answers, so the case can be reproduced from the log alone.
#include <catch2/catch.hpp>

#include <algorithm>
#include <exception>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/loader.h"
#include "achilles/analyzer/status.h"
#include "reference/random_topology.h"
#include "reference/reference.h"

namespace {

using achilles::analyzer::AnalysisOptions;
using achilles::analyzer::DepMode;
using achilles::analyzer::ElementId;
using achilles::analyzer::ElementKind;
using achilles::analyzer::Impact;
using achilles::analyzer::kNoElement;
using achilles::analyzer::Status;
using achilles::analyzer::Topology;
namespace analyzer = achilles::analyzer;
namespace reference = achilles::reference;

// The finding kinds the reference computes; the random topologies have no loads or SLOs.
const std::set<std::string> kCompared = {"spof", "domain_spof", "cut_set", "cycle"};
constexpr unsigned kOrder = 3;
constexpr int kScenariosPerTopology = 16;

template <typename Strings>
std::string join(const Strings& items, const char* sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

const char* name(Status s) {
  return s == Status::kUp ? "up" : s == Status::kDegraded ? "degraded" : "down";
}

std::string describe(const Topology& t, const std::vector<Status>& s) {
  std::string out;
  for (ElementId x = 0; x < t.size(); ++x) {
    out += (x ? " " : "") + t[x].id + "=" + name(s[x]);
  }
  return out;
}

std::string describe(const Impact& i) {
  return "down=[" + join(i.entrypoints_down, ",") + "] degraded=[" +
         join(i.entrypoints_degraded, ",") +
         "] components_down=" + std::to_string(i.components_down) +
         " services_down=" + std::to_string(i.services_down);
}

std::string ids_of(const Topology& t, const std::vector<ElementId>& xs) {
  std::vector<std::string> ids;
  for (auto x : xs) {
    ids.push_back(t[x].id);
  }
  // Appended piecewise: `"{" + join(...)` trips GCC 12's false -Wrestrict warning.
  std::string out = "{";
  out += join(ids, ",");
  out += "}";
  return out;
}

// Whether `y` is the domain of component `x`, or an ancestor of it (or of domain `x`).
bool is_domain_ancestor(const Topology& t, ElementId x, ElementId y) {
  ElementId d = t[x].kind == ElementKind::kComponent ? t[x].domain
                : t[x].kind == ElementKind::kDomain  ? t[x].parent
                                                     : kNoElement;
  for (; d != kNoElement; d = t[d].parent) {
    if (d == y) return true;
  }
  return false;
}

bool is_member(const Topology& t, ElementId x, ElementId y) {
  const auto& m = t[x].members;
  return std::find(m.begin(), m.end(), y) != m.end();
}

bool is_hard_dependency(const Topology& t, ElementId x, ElementId y) {
  for (const auto& d : t[x].depends_on) {
    if (d.target == y && d.mode == DepMode::kHard) return true;
  }
  return false;
}

// Why `finding`'s explanation is not a valid chain, or "" when it is. A valid chain starts at
// an entrypoint the finding puts down (a cycle that holds back no entrypoint: in its group), ends
// at an element of the subject, repeats no element (except that a cycle's chain may end by coming
// back to an element of its group), and each next element is the previous one's target
// (entrypoint), a member (service), a hard dependency, or the domain or a domain ancestor, and is
// itself down in the finding's scenario: F = subject, or for a cycle the cold start (down = stuck;
// then only targets, hard dependencies and memberships link, as those are the edges that hold a
// start back).
std::string explanation_problem(const Topology& t, const analyzer::Finding& finding) {
  const auto& chain = finding.explanation;
  if (chain.empty()) return "empty explanation";
  const bool cycle = finding.kind == "cycle";
  const auto& subject = finding.subject;
  auto in_subject = [&](const std::string& id) {
    return std::find(subject.begin(), subject.end(), id) != subject.end();
  };
  std::vector<ElementId> xs;
  for (size_t i = 0; i < chain.size(); ++i) {
    auto x = t.find(chain[i]);
    if (!x) return "unknown id " + chain[i];
    // A cycle's chain may close its loop: its last element may repeat one of the group.
    bool closes_loop = cycle && i + 1 == chain.size() && in_subject(chain[i]);
    if (!closes_loop && std::find(xs.begin(), xs.end(), *x) != xs.end()) {
      return "repeats " + chain[i];
    }
    xs.push_back(*x);
  }
  const auto& down = finding.impact.entrypoints_down;
  if (cycle && down.empty()) {
    // A loop that holds back no entrypoint: the chain can only go round the loop.
    if (!in_subject(chain.front())) return "starts at " + chain.front() + ", not in the group";
  } else if (t[xs.front()].kind != ElementKind::kEntrypoint ||
             std::find(down.begin(), down.end(), chain.front()) == down.end()) {
    return "starts at " + chain.front() + ", not at an entrypoint it puts down";
  }
  if (!in_subject(chain.back())) return "ends at " + chain.back() + ", not in the subject";
  std::vector<bool> fails(t.size(), false);
  if (cycle) {
    fails = reference::cold_start(t).stuck;
  } else {
    std::vector<ElementId> f;
    for (const auto& id : subject) {
      f.push_back(*t.find(id));
    }
    auto s = reference::statuses(t, f);
    for (ElementId x = 0; x < t.size(); ++x) {
      fails[x] = s[x] == Status::kDown;
    }
  }
  for (size_t i = 0; i + 1 < xs.size(); ++i) {
    ElementId x = xs[i], y = xs[i + 1];
    bool linked = (t[x].kind == ElementKind::kEntrypoint && t[x].target == y) ||
                  is_member(t, x, y) || is_hard_dependency(t, x, y) ||
                  (!cycle && is_domain_ancestor(t, x, y));
    if (!linked) return "no link " + chain[i] + " -> " + chain[i + 1];
    if (!fails[y]) {
      return chain[i + 1] + (cycle ? " is not stuck at cold start" : " is not down");
    }
  }
  return "";
}

// Grouped cut sets met so far (a test of them checks that it met some).
size_t grouped_seen = 0, grouped_triples_seen = 0;

// Every disagreement between the analyzer and the reference on `t`, one line each.
std::vector<std::string> disagreements(const Topology& t, uint64_t seed) {
  std::vector<std::string> problems;
  std::mt19937_64 dice(seed * 7919 + 1);
  std::vector<ElementId> failable;
  for (ElementId x = 0; x < t.size(); ++x) {
    if (t[x].kind == ElementKind::kComponent || t[x].kind == ElementKind::kDomain) {
      failable.push_back(x);
    }
  }

  // evaluate() against the fixpoint, on random scenarios of 0..4 failures.
  for (int n = 0; n < kScenariosPerTopology; ++n) {
    auto f = failable;
    std::shuffle(f.begin(), f.end(), dice);
    f.resize(std::min<size_t>(f.size(), std::uniform_int_distribution<size_t>(0, 4)(dice)));
    std::string real;
    try {
      real = describe(t, analyzer::evaluate(t, f));
    } catch (const std::exception& e) {
      real = std::string("threw: ") + e.what();
    }
    auto expected = describe(t, reference::statuses(t, f));
    if (real != expected) {
      problems.push_back("evaluate(F=" + ids_of(t, f) + ")\n    analyzer:  " + real +
                         "\n    reference: " + expected);
    }
  }

  // analyze() against the brute-force findings.
  std::vector<analyzer::Finding> real;
  try {
    AnalysisOptions options;
    options.order = kOrder;
    for (auto& f : analyzer::analyze(t, options).findings) {
      if (kCompared.count(f.kind)) real.push_back(std::move(f));
    }
  } catch (const std::exception& e) {
    problems.push_back(std::string("analyze threw: ") + e.what());
    return problems;
  }
  // A grouped cut set (analysis-json.md, `any`) stands for every pair (or triple, `any: 3`) of
  // its subject, each with its impact: held to the reference set by set.
  std::vector<analyzer::Finding> sets;
  for (const auto& f : real) {
    if (!f.details.contains("any")) {
      sets.push_back(f);
      continue;
    }
    ++grouped_seen;
    const size_t n = f.subject.size();
    const bool triples = f.details["any"] == 3;
    if (triples) ++grouped_triples_seen;
    const size_t count = triples ? n * (n - 1) * (n - 2) / 6 : n * (n - 1) / 2;
    if (f.kind != "cut_set" || (f.details["any"] != 2 && !triples) || f.details["count"] != count ||
        n < (triples ? 6 : 3)) {
      problems.push_back("grouped " + f.id() + " with " + f.details.dump());
    }
    auto add = [&](std::vector<std::string> subject) {
      analyzer::Finding set = f;
      set.subject = std::move(subject);
      set.details = analyzer::Finding{}.details;
      sets.push_back(std::move(set));
    };
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = i + 1; j < n; ++j) {
        if (!triples) add({f.subject[i], f.subject[j]});
        for (size_t k = j + 1; triples && k < n; ++k)
          add({f.subject[i], f.subject[j], f.subject[k]});
      }
    }
  }
  std::map<std::string, const analyzer::Finding*> by_id;
  for (const auto& f : sets) {
    if (!by_id.emplace(f.id(), &f).second) problems.push_back("duplicate finding " + f.id());
  }
  std::set<std::string> expected_ids;
  for (const auto& f : reference::findings(t, kOrder)) {
    expected_ids.insert(f.id());
    auto it = by_id.find(f.id());
    if (it == by_id.end()) {
      problems.push_back("missing " + f.id() + " (reference: " + describe(f.impact) + ")");
      continue;
    }
    auto got = describe(it->second->impact);
    if (got != describe(f.impact)) {
      problems.push_back("impact of " + f.id() + "\n    analyzer:  " + got +
                         "\n    reference: " + describe(f.impact));
    }
  }
  for (const auto& f : sets) {
    if (!expected_ids.count(f.id())) {
      problems.push_back("unexpected " + f.id() + " (analyzer: " + describe(f.impact) + ")");
    }
  }
  // A grouped cut set's chain is that of one of its pairs, valid for the whole group too.
  for (const auto& f : real) {
    if (auto why = explanation_problem(t, f); !why.empty()) {
      problems.push_back("explanation of " + f.id() + " [" + join(f.explanation, " -> ") +
                         "]: " + why);
    }
  }
  return problems;
}

// Both full answers, for the failure message.
std::string answers(const Topology& t) {
  std::string out = "reference findings:\n";
  for (const auto& f : reference::findings(t, kOrder)) {
    out += "  " + f.id() + " " + describe(f.impact) + "\n";
  }
  out += "analyzer findings:\n";
  try {
    AnalysisOptions options;
    options.order = kOrder;
    for (const auto& f : analyzer::analyze(t, options).findings) {
      if (!kCompared.count(f.kind)) continue;
      out += "  " + f.id() + " " + describe(f.impact) + " [" + join(f.explanation, " -> ") + "]\n";
    }
  } catch (const std::exception& e) {
    out += std::string("  threw: ") + e.what() + "\n";
  }
  return out;
}

// Few hard dependencies and entrypoints mostly on services: many cut sets, few cycles.
reference::RandomParams redundant() {
  reference::RandomParams p;
  p.min_components = 4;
  p.max_dependency_rate = 0.4;
  p.p_self_loop = 0;
  p.p_entrypoint_on_service = 0.9;
  return p;
}

// Many dependencies: long chains, tangled cycles, degradation through soft loops.
reference::RandomParams dense() {
  reference::RandomParams p;
  p.max_dependency_rate = 3.0;
  return p;
}

// Most components in deep domain trees.
reference::RandomParams domain_heavy() {
  reference::RandomParams p;
  p.max_domains = 8;
  p.p_in_domain = 0.9;
  p.p_root_domain = 0.2;
  p.max_dependency_rate = 0.6;
  return p;
}

// Services of many members with little else depending on them: k-of-n groups whose pairs
// are grouped cut sets, some with a third failure that breaks a further quorum at order 3.
reference::RandomParams quorums() {
  reference::RandomParams p;
  p.min_components = 6;
  p.max_members = 7;
  p.max_dependency_rate = 0.5;
  p.p_entrypoint_on_service = 0.9;
  return p;
}

void check_seeds(uint64_t first, uint64_t last, const reference::RandomParams& params = {},
                 const char* variant = "{}") {
  constexpr size_t kReported = 5;  // seeds printed in full; the rest are only listed
  std::vector<std::string> failing;
  for (uint64_t seed = first; seed <= last; ++seed) {
    auto t = reference::random_topology(seed, params);
    auto problems = disagreements(t, seed);
    if (problems.empty()) continue;
    failing.push_back(std::to_string(seed));
    if (failing.size() > kReported) continue;
    INFO("seed " << seed << " (reference::random_topology(" << seed << ", " << variant << "))");
    INFO("topology:\n" << reference::to_yaml(t));
    INFO(answers(t));
    FAIL_CHECK(join(problems, "\n"));
  }
  INFO("failing seeds: " << join(failing, " "));
  CHECK(failing.empty());
}

}  // namespace

TEST_CASE("The analyzer agrees with the reference on random topologies, seeds 1-500",
          "[analyzer][property]") {
  check_seeds(1, 500);
}

TEST_CASE("The analyzer agrees with the reference on random topologies, seeds 501-1000",
          "[analyzer][property]") {
  check_seeds(501, 1000);
}

TEST_CASE("The analyzer agrees with the reference on random topologies, seeds 1001-1500",
          "[analyzer][property]") {
  check_seeds(1001, 1500);
}

TEST_CASE("The analyzer agrees with the reference on random topologies, seeds 1501-2000",
          "[analyzer][property]") {
  check_seeds(1501, 2000);
}

TEST_CASE("The analyzer agrees with the reference on redundant random topologies",
          "[analyzer][property]") {
  check_seeds(1, 500, redundant(), "redundant()");
}

TEST_CASE("The analyzer agrees with the reference on densely dependent random topologies",
          "[analyzer][property]") {
  check_seeds(1, 500, dense(), "dense()");
}

TEST_CASE("The analyzer agrees with the reference on random topologies with deep domains",
          "[analyzer][property]") {
  check_seeds(1, 500, domain_heavy(), "domain_heavy()");
}

TEST_CASE("The analyzer's grouped cut sets stand for exactly the reference's pairs and triples",
          "[analyzer][property]") {
  grouped_seen = grouped_triples_seen = 0;
  check_seeds(1, 1000, quorums(), "quorums()");
  INFO("grouped cut sets met: " << grouped_seen << ", of any 3: " << grouped_triples_seen);
  CHECK(grouped_seen >= 5);
  CHECK(grouped_triples_seen >= 3);
}

TEST_CASE("The YAML printed for a random topology loads back as the same topology",
          "[analyzer][property]") {
  // So that a failing seed's YAML, copied from the log, reproduces it with the CLI.
  for (uint64_t seed = 1; seed <= 500; ++seed) {
    auto yaml = reference::to_yaml(reference::random_topology(seed));
    INFO("seed " << seed << "\n" << yaml);
    std::string again;
    try {
      again = reference::to_yaml(
          analyzer::load_topology_text(yaml, analyzer::Syntax::kYaml, "random.yaml"));
    } catch (const std::exception& e) {
      again = std::string("load_topology_text threw: ") + e.what();
    }
    CHECK(again == yaml);
  }
}
