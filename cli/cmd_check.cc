// achilles check FILE: the pre-release gate (spec policy.md).
#include <iostream>
#include <set>
#include <string>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/loader.h"
#include "achilles/common/diagnostic.h"
#include "achilles/reports/check.h"
#include "achilles/reports/summary.h"
#include "command.h"
#include "progress.h"

namespace achilles::cli {
namespace {

int run_check(const Args& args) {
  // Every input is read before any work, so that a bad policy or baseline is reported
  // even when the topology is large.
  reports::Policy policy =
      args.get("policy") ? reports::load_policy(*args.get("policy")) : reports::default_policy();
  std::set<std::string> baseline;
  if (auto b = args.get("baseline")) baseline = reports::load_baseline(*b);

  Progress progress;
  progress.update("loading", 0);
  auto topology = analyzer::load_topology(args.positionals[0]);
  // A scope that matches nothing is a typo that would pass the gate: reported before the
  // analysis, at its place in the policy.
  reports::validate_scopes(policy, topology);
  // So would a topology without entrypoints: every rule is about entrypoints going down.
  if (topology.count(analyzer::ElementKind::kEntrypoint) == 0) {
    if (!args.has("allow-no-entrypoints"))
      throw analyzer::UsageError(args.positionals[0] + ": error: " + reports::kNoEntrypoints +
                                 "; the gate cannot pass on it (add entrypoints, or pass "
                                 "--allow-no-entrypoints)");
    std::cerr << args.positionals[0] << ": warning: " << reports::kNoEntrypoints << "\n";
  }
  auto options = reports::analysis_options_for(policy);
  options.progress = progress.callback();
  auto analysis = analyzer::analyze(topology, options);
  auto result = reports::check(topology, analyzer::to_json(topology, analysis), policy, baseline);

  if (auto j = args.get("junit")) write_output(*j, reports::format_junit(result));
  if (auto s = args.get("sarif")) write_output(*s, reports::format_sarif(result).dump(2) + "\n");
  if (auto j = args.get("json")) write_output(*j, reports::check_to_json(result).dump(2) + "\n");
  write_output("", reports::format_check_text(result));
  return result.passed() ? 0 : 1;
}

const Registrar registrar{Command{
    CommandSpec{
        .name = "check",
        .usage = "FILE [--policy P] [--baseline B] [--junit J] [--sarif S] [--json OUT]\n"
                 "       [--allow-no-entrypoints]",
        .summary = "pre-release gate: fail when a new finding breaks the policy",
        .description =
            "Analyzes the topology and judges the findings against a policy (see\n"
            "docs/ci.md). Without --policy the rules are no_spof, survive_domain_loss for\n"
            "every kind, no_capacity_spof, min_availability: slo and no_cycle, over every\n"
            "entrypoint. With --baseline (an earlier `analyze --format json` or `check\n"
            "--json` output) findings already there are reported but do not fail.\n"
            "A rule whose scope matches nothing (a domain kind or entrypoint labels that\n"
            "no element has) and a topology without entrypoints are bad input: the gate\n"
            "would pass without judging anything.\n"
            "Exit 0: no rule broken by a new finding; 1: some rule is; 2: bad input.",
        .options =
            {
                {.name = "policy", .value_name = "P", .help = "the policy file (YAML)"},
                {.name = "baseline",
                 .value_name = "B",
                 .help = "earlier analysis or check JSON: its findings do not fail"},
                {.name = "junit",
                 .value_name = "J",
                 .help = "write JUnit XML, a test case per rule"},
                {.name = "sarif",
                 .value_name = "S",
                 .help = "write SARIF 2.1.0, a result per finding"},
                {.name = "json", .value_name = "OUT", .help = "write the result as JSON"},
                {.name = "allow-no-entrypoints",
                 .takes_value = false,
                 .value_name = "",
                 .help = "pass a topology without entrypoints (with a warning) instead of "
                         "failing"},
            },
        .min_positionals = 1,
        .max_positionals = 1,
        .examples = "  achilles check topologies/three-tier.yaml\n"
                    "  achilles check shop.yaml --policy policy.yaml --baseline main.json \\\n"
                    "      --junit check.xml --sarif check.sarif\n",
    },
    run_check}};

}  // namespace
}  // namespace achilles::cli
