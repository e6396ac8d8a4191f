// The Open-PSA export solved by SCRAM, independently of the analyzer: for every sample
// topology and fixture, SCRAM's top-event probabilities must match `analyze`'s availabilities
// (within SCRAM's six printed digits) and its minimal cut sets up to order 3 must be the
// spof, domain_spof and cut_set findings of `analyze --order 3`, per entrypoint.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/availability.h"
#include "achilles/analyzer/loader.h"
#include "achilles/analyzer/openpsa.h"
#include "reference/random_topology.h"

using namespace achilles::analyzer;
namespace fs = std::filesystem;

namespace {

using CutSets = std::set<std::set<std::string>>;

struct TopEvent {
  double probability = 0;
  CutSets products;
};

std::string attribute(const std::string& tag, const std::string& name) {
  auto p = tag.find(" " + name + "=\"");
  if (p == std::string::npos) return "";
  p += name.size() + 3;
  return tag.substr(p, tag.find('"', p) - p);
}

/// Runs scram on `xml` with `flags`; the sum-of-products of each top event, by gate name.
std::map<std::string, TopEvent> scram(const std::string& xml, const std::string& flags,
                                      const std::map<std::string, std::string>& ids) {
  std::string report = xml + ".report.xml";
  std::string cmd =
      std::string(ACHILLES_SCRAM) + " " + flags + " " + xml + " -o " + report + " >/dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream in(report);
  std::stringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  std::map<std::string, TopEvent> out;
  for (size_t p = text.find("<sum-of-products "); p != std::string::npos;
       p = text.find("<sum-of-products ", p + 1)) {
    std::string tag = text.substr(p, text.find('>', p) - p + 1);
    TopEvent& top = out[attribute(tag, "name")];
    if (auto p_text = attribute(tag, "probability"); !p_text.empty())
      top.probability = std::stod(p_text);
    if (tag.ends_with("/>")) continue;
    size_t end = text.find("</sum-of-products>", p);
    for (size_t q = text.find("<product ", p); q < end; q = text.find("<product ", q + 1)) {
      size_t close = text.find("</product>", q);
      std::set<std::string> product;
      for (size_t b = text.find("<basic-event ", q); b < close;
           b = text.find("<basic-event ", b + 1))
        product.insert(ids.at(attribute(text.substr(b, text.find('>', b) - b + 1), "name")));
      top.products.insert(product);
    }
  }
  std::remove(report.c_str());
  return out;
}

void check_against_scram(const Topology& t, const std::string& label) {
  INFO(label);
  std::string xml =
      (fs::temp_directory_path() / ("achilles-openpsa-" + std::to_string(::getpid()) + ".xml"))
          .string();
  {
    std::ofstream out(xml);
    out << to_openpsa(t);
  }
  std::map<std::string, std::string> ids;  // basic event -> element id
  std::set<std::string> fallible;
  for (const auto& e : t.elements)
    if (e.availability) {
      ids[openpsa_name("fail_", e.id)] = e.id;
      fallible.insert(e.id);
    }
  auto exact = scram(xml, "--bdd --probability true", ids);
  auto mocus = scram(xml, "--mocus --limit-order 3", ids);
  std::remove(xml.c_str());

  AnalysisOptions options;
  options.order = 3;
  auto analysis = analyze(t, options);
  for (const auto& a : analysis.availability) {
    INFO("entrypoint " << a.id);
    std::string gate = openpsa_name("down_", a.id);
    REQUIRE(exact.count(gate));
    REQUIRE(mocus.count(gate));
    REQUIRE(a.method == "exact");
    double down = 1 - a.availability;
    // SCRAM prints six significant digits.
    CHECK(exact[gate].probability == Approx(down).epsilon(1e-5).margin(1e-12));
    // Minimal cut sets of this entrypoint up to order 3, from the findings: the minimal
    // subjects among those that take it down, keeping those made only of what can fail.
    std::vector<std::set<std::string>> sets;
    for (const auto& f : analysis.findings) {
      if (f.kind != "spof" && f.kind != "domain_spof" && f.kind != "cut_set") continue;
      const auto& down_eps = f.impact.entrypoints_down;
      if (std::find(down_eps.begin(), down_eps.end(), a.id) == down_eps.end()) continue;
      // A grouped cut set (analysis-json.md, `any`) stands for every k of its subject.
      const size_t k = f.details.contains("any") ? f.details["any"].get<size_t>() : 0;
      const auto& x = f.subject;
      if (k == 0) sets.emplace_back(x.begin(), x.end());
      for (size_t i = 0; k && i < x.size(); ++i)
        for (size_t j = i + 1; j < x.size(); ++j) {
          if (k == 2) sets.push_back({x[i], x[j]});
          for (size_t l = j + 1; k == 3 && l < x.size(); ++l)
            sets.push_back({x[i], x[j], x[l]});
        }
    }
    CutSets expected;
    for (const auto& s : sets) {
      bool minimal = std::none_of(sets.begin(), sets.end(), [&](const auto& o) {
        return o.size() < s.size() && std::includes(s.begin(), s.end(), o.begin(), o.end());
      });
      bool all_fallible =
          std::all_of(s.begin(), s.end(), [&](auto& x) { return fallible.count(x); });
      if (minimal && all_fallible) expected.insert(s);
    }
    CutSets got;
    for (const auto& p : mocus[gate].products)
      if (p.size() <= 3) got.insert(p);
    CHECK(got == expected);
  }
}

}  // namespace

TEST_CASE("SCRAM agrees with analyze on the sample topologies and fixtures", "[openpsa]") {
  std::vector<fs::path> files;
  for (const char* dir : {ACHILLES_TOPOLOGIES, ACHILLES_TEST_DATA "/availability"})
    if (fs::exists(dir))
      for (const auto& entry : fs::directory_iterator(dir))
        if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  REQUIRE_FALSE(files.empty());
  for (const auto& file : files)
    check_against_scram(load_topology(file.string()), file.string());
}

TEST_CASE("SCRAM agrees with analyze on random topologies with cycles", "[openpsa]") {
  namespace reference = achilles::reference;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    Topology t = reference::random_topology(seed);
    size_t i = 0;
    for (auto& e : t.elements)
      if ((e.kind == ElementKind::kComponent || e.kind == ElementKind::kDomain) && ++i % 5 != 0)
        e.availability = 0.9 + 0.01 * static_cast<double>(i % 9);
    check_against_scram(t, "seed " + std::to_string(seed) + "\n" + reference::to_yaml(t));
  }
}

TEST_CASE("Open-PSA names keep letters and digits and escape the rest", "[openpsa]") {
  CHECK(openpsa_name("down_", "web-1") == "down_web_2d1");
  CHECK(openpsa_name("fail_", "a_b.c") == "fail_a__b_2ec");
}
