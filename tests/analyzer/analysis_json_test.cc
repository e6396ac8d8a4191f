// write_json() streams the analysis; it must write exactly what to_json(...).dump(2) does.
#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/generate.h"
#include "achilles/analyzer/loader.h"
#include "support/builder.h"

using namespace achilles::analyzer;

namespace {

std::string streamed(const Topology& t, const Analysis& a) {
  std::ostringstream out;
  write_json(t, a, out);
  return out.str();
}

}  // namespace

TEST_CASE("The streamed JSON equals the document's dump for every sample topology",
          "[analysis][json]") {
  for (const auto& entry : std::filesystem::directory_iterator(ACHILLES_TOPOLOGIES)) {
    if (entry.path().extension() != ".yaml") continue;
    Topology t = load_topology(entry.path().string());
    for (unsigned order : {1u, 2u, 3u}) {
      for (bool cascade : {false, true}) {
        AnalysisOptions options;
        options.order = order;
        options.cascade = cascade;
        Analysis a = analyze(t, options);
        INFO(entry.path() << " order " << order << " cascade " << cascade);
        CHECK(streamed(t, a) == to_json(t, a).dump(2));
      }
    }
  }
}

TEST_CASE("The streamed JSON equals the document's dump for a generated estate",
          "[analysis][json]") {
  GenerateOptions g;
  g.components = 3000;
  g.cycles = true;
  Topology t = generate_topology(g);
  AnalysisOptions options;
  options.cascade = true;
  Analysis a = analyze(t, options);
  CHECK(streamed(t, a) == to_json(t, a).dump(2));
}

TEST_CASE("Two threads and one give the same analysis", "[analysis][threads]") {
  // 10^4 components: enough single failures and capacity scenarios for both passes to
  // split them over two threads (they stay on one below a few thousand), enough entrypoints
  // (24) for the availability's cones and rare-event approximations, and enough findings
  // (some 9000) and utilization rows (some 12000) for the writer to format them in chunks
  // on two threads.
  GenerateOptions g;
  g.components = 10000;
  g.seed = 3;
  Topology t = generate_topology(g);
  for (bool cascade : {false, true}) {
    AnalysisOptions options;
    options.cascade = cascade;
    options.threads = 1;
    std::string one = streamed(t, analyze(t, options));
    options.threads = 2;
    INFO("cascade " << cascade);
    CHECK(streamed(t, analyze(t, options)) == one);
  }
}

TEST_CASE("The streamed JSON escapes strings and writes numbers as nlohmann does",
          "[analysis][json]") {
  Topology t;
  t.name = "tab\there \"quoted\" back\\slash \x01 caf\xc3\xa9 \x7f";
  t.file = "dir/file.yaml";
  Analysis a;
  a.options.threshold = 0.1 + 0.2;
  Finding f;
  f.kind = "spof";
  f.severity = "critical";
  f.subject = {"a"};
  f.message = "line\nbreak";
  // A detail named like one of the finding's own keys replaces it, as in to_json().
  f.details = {{"zeta", {1, -2, 3.5, 1e-7, 1e300, nullptr, true}},
               {"message", "replaced"},
               {"alpha", nlohmann::json::object()},
               {"beta", nlohmann::json::array()},
               {"nested", {{"x", {{"y", std::numeric_limits<double>::infinity()}}}}}};
  a.findings.push_back(f);
  a.findings.push_back(Finding{});
  // Whatever needs escaping is found wherever it sits in a string: strings are checked eight
  // bytes at a time, then byte by byte.
  for (std::string bad : {"\x01", "\x1f", "\"", "\\", "\xc3\xa9", "\x7f", " ", "~"})
    for (size_t at = 0; at <= 20; ++at) {
      Finding g;
      g.message = std::string(at, 'a') + bad + std::string(20 - at, 'b');
      a.findings.push_back(g);
    }
  a.utilization.push_back({"u1", 1000.0, 3.0, 1000.0 / 3.0});
  a.utilization.push_back({"u2", std::numeric_limits<double>::infinity(), 5.0,
                           std::numeric_limits<double>::infinity()});
  CHECK(streamed(t, a) == to_json(t, a).dump(2));
}
