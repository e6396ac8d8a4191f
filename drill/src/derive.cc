// Deriving a drill plan from a topology's predictions (spec drill.md "Derived drills"), for
// `achilles drill plan` and `achilles demo`.
#include "achilles/drill/derive.h"

#include <unistd.h>

#include <algorithm>
#include <set>
#include <span>
#include <sstream>

#include <nlohmann/json.hpp>

#include "achilles/common/diagnostic.h"
#include "achilles/analyzer/loader.h"
#include "achilles/analyzer/status.h"

namespace achilles::drill {
namespace {

using nlohmann::json;

/// A YAML double-quoted string (JSON's escaping is valid YAML).
std::string q(const std::string& s) {
  return json(s).dump();
}

std::string list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i)
    out += (i ? ", " : "") + q(v[i]);
  return out + "]";
}

std::string value_of(const analyzer::StringMap& m, const std::string& key) {
  for (const auto& [k, v] : m)
    if (k == key) return v;
  return "";
}

/// A relative path from directory `from` to `to` when both are relative, else `to` absolute.
std::string path_from(const std::string& plan_path, const std::string& topo_path) {
  auto absolute = [](const std::string& p) {
    if (!p.empty() && p[0] == '/') return p;
    char buf[4096];
    const char* cwd = getcwd(buf, sizeof buf);
    return std::string(cwd ? cwd : ".") + "/" + p;
  };
  const std::string plan_abs = absolute(plan_path), topo_abs = absolute(topo_path);
  // Split both into components and drop the common prefix of directories.
  auto split = [](const std::string& p) {
    std::vector<std::string> parts;
    std::stringstream ss(p);
    for (std::string part; std::getline(ss, part, '/');)
      if (!part.empty() && part != ".") parts.push_back(part);
    return parts;
  };
  auto a = split(plan_abs), b = split(topo_abs);
  a.pop_back();  // the plan's file name
  std::size_t common = 0;
  while (common < a.size() && common + 1 < b.size() && a[common] == b[common])
    ++common;
  std::string out;
  for (std::size_t i = common; i < a.size(); ++i)
    out += "../";
  for (std::size_t i = common; i < b.size(); ++i)
    out += b[i] + (i + 1 < b.size() ? "/" : "");
  return out;
}

/// A plan's problems as the CLI's input errors (exit 2, FILE:LINE:COLUMN).
[[noreturn]] void throw_input_error(const drill::PlanError& e) {
  std::vector<common::Diagnostic> ds;
  for (const auto& p : e.problems()) {
    common::Diagnostic d;
    d.file = p.file;
    d.pos = {static_cast<uint32_t>(p.line), static_cast<uint32_t>(p.column)};
    d.message = p.message;
    ds.push_back(std::move(d));
  }
  throw common::InputError(std::move(ds));
}

}  // namespace

/// Loads the plan and resolves its targets through its topology, if it names one.
drill::Plan load_resolved_plan(const std::string& path) {
  try {
    drill::Plan plan = drill::load_plan(path);
    drill::TargetLookup lookup;
    std::optional<analyzer::Topology> topology;
    if (!plan.topology.empty()) {
      topology = analyzer::load_topology(plan.topology);
      lookup = [&](const std::string& id) -> std::optional<drill::TargetBlock> {
        auto x = topology->find(id);
        if (!x || (*topology)[*x].inject_target.empty()) return std::nullopt;
        drill::TargetBlock block;
        for (const auto& [k, v] : (*topology)[*x].inject_target)
          block[k] = v;
        return block;
      };
    }
    drill::resolve_targets(plan, lookup);
    return plan;
  } catch (const drill::PlanError& e) {
    throw_input_error(e);
  }
}

DerivedPlan derive_plan(const analyzer::Topology& topology, const std::string& topo_path,
                        const std::string& out_path, const DeriveOptions& options) {
  const std::int64_t gap = options.gap_ms, recover = options.recover_within_ms,
                     latency = options.latency_ms;
  const bool include_spofs = options.include_spofs;
  using analyzer::ElementKind;
  using analyzer::Status;

  // Agents: every distinct `agent` of a target block.
  std::vector<std::string> agents;
  auto agent_of = [&](const analyzer::Element& e) { return value_of(e.inject_target, "agent"); };
  // A component the agent can kill: an agent, and a process to find.
  auto killable = [&](const analyzer::Element& e) {
    if (agent_of(e).empty()) return false;
    for (const char* key : {"process", "pid", "cmdline", "pidfile"})
      if (!value_of(e.inject_target, key).empty()) return true;
    return false;
  };
  for (const auto& e : topology.elements)
    if (e.kind == ElementKind::kComponent && !agent_of(e).empty())
      if (std::find(agents.begin(), agents.end(), agent_of(e)) == agents.end())
        agents.push_back(agent_of(e));
  if (agents.empty())
    throw common::UsageError(topo_path +
                               ": error: no component has a target block with an agent, so "
                               "there is nothing a drill could act on (see docs/drill.md)");

  // Probes: one per entrypoint, from its `url` label, else a TCP connect to its target's port.
  std::ostringstream probes;
  std::vector<std::string> watched, unwatched;
  for (const auto& e : topology.elements) {
    if (e.kind != ElementKind::kEntrypoint) continue;
    const std::string url = value_of(e.labels, "url");
    std::string address;
    if (url.empty()) {
      const auto& t = topology[e.target];
      const std::string port = value_of(t.inject_target, "port");
      const std::string agent = agent_of(t);
      if (!port.empty() && !agent.empty()) address = agent.substr(0, agent.rfind(':')) + ":" + port;
    }
    if (url.empty() && address.empty()) {
      unwatched.push_back(e.id);
      continue;
    }
    watched.push_back(e.id);
    probes << "  - name: " << q(e.id) << "\n";
    if (!url.empty())
      probes << "    http: {url: " << q(url) << ", timeout_ms: 2000}\n";
    else
      probes << "    tcp: {address: " << q(address) << ", timeout_ms: 1000}\n";
    probes << "    every_ms: 100\n"
           << "    healthy_when: {success_ratio: 0.9, p99_ms: 500}\n";
  }
  if (watched.empty())
    throw common::UsageError(
        topo_path +
        ": error: no entrypoint can be watched: give one a `url` label, or a target component "
        "whose target block has a `port`");

  struct Derived {
    std::string name, fault, kind, subject;
    std::vector<std::string> down = {}, up = {};
    bool expect = true;
    bool recover = false;
  };
  std::vector<Derived> steps;
  auto predict = [&](analyzer::ElementId c, Derived& d) {
    auto statuses = analyzer::evaluate(topology, std::span<const analyzer::ElementId>(&c, 1));
    for (const auto& w : watched)
      (statuses[*topology.find(w)] == Status::kDown ? d.down : d.up).push_back(w);
  };
  // 1. Redundancy: one member of each service that has members to spare.
  std::set<analyzer::ElementId> killed;
  for (const auto& s : topology.elements) {
    if (s.kind != ElementKind::kService || s.members.size() <= s.min_healthy) continue;
    for (analyzer::ElementId m : s.members) {
      const auto& c = topology[m];
      if (c.kind != ElementKind::kComponent || !killable(c) || killed.count(m)) continue;
      Derived d;
      d.name =
          "kill " + c.id + " (one of " + std::to_string(s.members.size()) + " in " + s.id + ")";
      d.fault = "{kind: kill, target: {component: " + q(c.id) + "}}";
      d.kind = "redundant";
      d.subject = s.id;
      predict(m, d);
      d.recover = d.down.empty();
      steps.push_back(d);
      killed.insert(m);
      break;
    }
  }
  // 2. Latency on every dependency reached through a proxy: recorded, not judged.
  for (const auto& c : topology.elements) {
    if (c.kind != ElementKind::kComponent || agent_of(c).empty() ||
        value_of(c.inject_target, "proxy").empty())
      continue;
    Derived d;
    d.name = "latency " + std::to_string(latency) + " ms on " + c.id;
    d.fault = "{kind: latency, component: " + q(c.id) + ", latency_ms: " + std::to_string(latency) +
              ", duration_ms: " + std::to_string(gap / 2) + "}";
    d.kind = "latency";
    d.subject = c.id;
    d.expect = false;
    steps.push_back(d);
  }
  // 3. Single points of failure, last: they take the service down (staging only).
  std::size_t spofs = 0;
  for (analyzer::ElementId i = 0; i < topology.size(); ++i) {
    const auto& c = topology[i];
    if (c.kind != ElementKind::kComponent || !killable(c) || killed.count(i)) continue;
    Derived d;
    d.name = "kill " + c.id + " (single point of failure)";
    d.fault = "{kind: kill, target: {component: " + q(c.id) + "}}";
    d.kind = "spof";
    d.subject = c.id;
    predict(i, d);
    if (d.down.empty()) continue;
    ++spofs;
    if (include_spofs) steps.push_back(d);
  }
  if (steps.empty())
    throw common::UsageError(topo_path +
                               ": error: nothing to drill: no service has a member "
                               "to spare with a target, no proxied dependency" +
                               std::string(spofs && !include_spofs
                                               ? ", and single points of failure are only "
                                                 "drilled with --include-spofs"
                                               : ""));

  std::ostringstream out;
  const std::string title =
      "derived drill for " + (topology.name.empty() ? topo_path : topology.name);
  out << "# Derived by `achilles drill plan " << topo_path << "` from the analyzer's\n"
      << "# predictions (docs/drill.md). Each step's `prediction` is what the analyzer expects;\n"
      << "# the journal says whether the live system agreed.\n";
  if (!unwatched.empty())
    out << "# Not watched (no `url` label and no target port): " << [&] {
      std::string s;
      for (const auto& u : unwatched)
        s += (s.empty() ? "" : ", ") + u;
      return s;
    }() << "\n";
  if (spofs && !include_spofs)
    out << "# " << spofs
        << " single point(s) of failure with a target are left out: add --include-spofs\n"
        << "# (for staging) to kill them and confirm the predicted outage.\n";
  out << "version: 1\n"
      << "title: " << q(title) << "\n"
      << "topology: "
      << q(out_path.empty() || out_path == "-" ? topo_path : path_from(out_path, topo_path)) << "\n"
      << "agents:\n";
  const auto& token = options.token_file;
  for (const auto& a : agents) {
    out << "  " << q(a) << ": {url: " << q("http://" + a);
    // Relative to the plan, as `drill run` reads it.
    if (token)
      out << ", token_file: "
          << q(out_path.empty() || out_path == "-" || (*token)[0] == '/'
                   ? *token
                   : path_from(out_path, *token));
    out << "}\n";
  }
  out << "probes:\n" << probes.str() << "steady_state: {hold_ms: 3000}\nsteps:\n";
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& d = steps[i];
    out << "  - name: " << q(d.name) << "\n"
        << "    at_ms: " << i * gap << "\n"
        << "    fault: " << d.fault << "\n";
    if (d.expect) {
      out << "    expect: {";
      bool first = true;
      for (const auto& w : d.down) {
        out << (first ? "" : ", ") << q(w) << ": down";
        first = false;
      }
      for (const auto& w : d.up) {
        out << (first ? "" : ", ") << q(w) << ": healthy";
        first = false;
      }
      if (d.recover) out << ", recover_within_ms: " << recover;
      out << "}\n";
    }
    out << "    prediction: {kind: " << d.kind << ", subject: " << q(d.subject)
        << ", down: " << list(d.down) << ", up: " << list(d.up) << "}\n";
  }
  out << "rollback: always\nlease_ms: 5000\n";
  return {out.str(), steps.size(), watched.size()};
}

}  // namespace achilles::drill
