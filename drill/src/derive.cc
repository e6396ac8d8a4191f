// Deriving a drill plan from a topology's predictions (spec drill.md "Derived drills"), for
// `achilles drill plan` and `achilles demo`.
#include "achilles/drill/derive.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <span>
#include <sstream>

#include <nlohmann/json.hpp>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/loader.h"
#include "achilles/analyzer/status.h"
#include "achilles/common/diagnostic.h"

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

/// Whether component `c` is in domain `d` or one of its sub-domains.
bool in_domain(const analyzer::Topology& t, const analyzer::Element& c, analyzer::ElementId d) {
  for (auto x = c.domain; x != analyzer::kNoElement; x = t[x].parent)
    if (x == d) return true;
  return false;
}

}  // namespace

drill::DomainIndex domain_index(const analyzer::Topology& topology) {
  drill::DomainIndex index;
  for (analyzer::ElementId d = 0; d < topology.size(); ++d) {
    if (topology[d].kind != analyzer::ElementKind::kDomain) continue;
    index.domains.push_back(topology[d].id);
    auto& in = index.components[topology[d].id];
    for (const auto& c : topology.elements)
      if (c.kind == analyzer::ElementKind::kComponent && in_domain(topology, c, d))
        in.push_back(c.id);
  }
  for (const auto& c : topology.elements)
    if (c.kind == analyzer::ElementKind::kComponent)
      if (const std::string a = value_of(c.inject_target, "agent"); !a.empty())
        index.agent_of[c.id] = a;
  return index;
}

/// Loads the plan and resolves its targets through its topology, if it names one.
drill::Plan load_resolved_plan(const std::string& path) {
  try {
    drill::Plan plan = drill::load_plan(path);
    drill::TargetLookup lookup;
    std::optional<analyzer::Topology> topology;
    std::vector<std::string> components;
    std::optional<drill::DomainIndex> domains;
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
      for (const auto& e : topology->elements)
        if (e.kind == analyzer::ElementKind::kComponent) components.push_back(e.id);
      domains = domain_index(*topology);
    }
    drill::resolve_targets(plan, lookup, components, domains ? &*domains : nullptr);
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

  // Agents: every distinct `agent` of a target block, with its URL: a name declared in the
  // topology's `agents`, or HOST:PORT. Anything else is an error naming it: guessing that
  // `edge` is a host name would send the drill wherever DNS points.
  struct AgentUrl {
    std::string name, url, token_file;
  };
  std::vector<AgentUrl> agents;
  std::vector<std::string> undeclared;
  auto agent_of = [&](const analyzer::Element& e) { return value_of(e.inject_target, "agent"); };
  auto host_port = [](const std::string& s) {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return false;
    for (std::size_t i = colon + 1; i < s.size(); ++i)
      if (s[i] < '0' || s[i] > '9') return false;
    const std::string host = s.substr(0, colon);
    return host.front() == '[' ? host.back() == ']' : host.find(':') == std::string::npos;
  };
  // A component the agent can kill: an agent, and a process to find.
  auto killable = [&](const analyzer::Element& e) {
    if (agent_of(e).empty()) return false;
    for (const char* key : {"process", "pid", "cmdline", "pidfile"})
      if (!value_of(e.inject_target, key).empty()) return true;
    return false;
  };
  for (const auto& e : topology.elements) {
    if (e.kind != ElementKind::kComponent || agent_of(e).empty()) continue;
    const std::string name = agent_of(e);
    if (std::any_of(agents.begin(), agents.end(), [&](const auto& a) { return a.name == name; }) ||
        std::find(undeclared.begin(), undeclared.end(), name) != undeclared.end())
      continue;
    auto declared = std::find_if(topology.agents.begin(), topology.agents.end(),
                                 [&](const auto& a) { return a.name == name; });
    if (declared != topology.agents.end())
      agents.push_back({name, declared->url, declared->token_file});
    else if (host_port(name))
      agents.push_back({name, "http://" + name, ""});
    else
      undeclared.push_back(name);
  }
  if (!undeclared.empty()) {
    std::string names;
    for (const auto& n : undeclared)
      names += (names.empty() ? "'" : ", '") + n + "'";
    throw common::UsageError(topo_path + ": error: target blocks name agent" +
                             (undeclared.size() > 1 ? "s " : " ") + names +
                             ", not declared in the topology's `agents` and not HOST:PORT: "
                             "declare each with its url (docs/topology.md)");
  }
  if (agents.empty())
    throw common::UsageError(topo_path +
                             ": error: no component has a target block with an agent, so "
                             "there is nothing a drill could act on (see docs/drill.md)");
  // The host of an agent's URL, for a TCP probe of a component it hosts.
  auto agent_host = [&](const std::string& name) -> std::string {
    for (const auto& a : agents) {
      if (a.name != name) continue;
      std::string hp = a.url.substr(a.url.find("://") + 3);
      hp = hp.substr(0, hp.find('/'));
      const auto colon = hp.rfind(':');
      if (colon != std::string::npos && (hp.front() != '[' || hp[colon - 1] == ']'))
        hp = hp.substr(0, colon);
      return hp;
    }
    return "";
  };

  // Probes: one per entrypoint, from its `url` label, else a TCP connect to its target's port.
  std::ostringstream probes;
  std::vector<std::string> watched, unwatched;
  // The shortest HTTP probe timeout (a TCP connect does not wait for the backends; without an
  // HTTP probe, the shortest TCP one): derived latency stays below half of it.
  std::int64_t probe_timeout_ms = 0;
  bool http_probe = false;
  std::int64_t longest_probe_timeout_ms = 0;
  for (const auto& e : topology.elements) {
    if (e.kind != ElementKind::kEntrypoint) continue;
    const std::string url = value_of(e.labels, "url");
    std::string address;
    if (url.empty()) {
      const auto& t = topology[e.target];
      const std::string port = value_of(t.inject_target, "port");
      const std::string agent = agent_of(t);
      if (!port.empty() && !agent.empty()) address = agent_host(agent) + ":" + port;
    }
    if (url.empty() && address.empty()) {
      unwatched.push_back(e.id);
      continue;
    }
    watched.push_back(e.id);
    probes << "  - name: " << q(e.id) << "\n";
    const std::int64_t timeout = url.empty() ? 1000 : 2000;
    if (!url.empty() && !http_probe) probe_timeout_ms = 0;
    if (!url.empty() || !http_probe)
      probe_timeout_ms = probe_timeout_ms ? std::min(probe_timeout_ms, timeout) : timeout;
    http_probe = http_probe || !url.empty();
    longest_probe_timeout_ms = std::max(longest_probe_timeout_ms, timeout);
    if (!url.empty())
      probes << "    http: {url: " << q(url) << ", timeout_ms: " << timeout << "}\n";
    else
      probes << "    tcp: {address: " << q(address) << ", timeout_ms: " << timeout << "}\n";
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
    bool recover = false;
    /// Expect the entrypoints `up` (latency), not `healthy`.
    bool stay_up = false;
  };
  std::vector<Derived> steps;
  auto predict = [&](analyzer::ElementId c, Derived& d) {
    auto statuses = analyzer::evaluate(topology, std::span<const analyzer::ElementId>(&c, 1));
    for (const auto& w : watched)
      (statuses[*topology.find(w)] == Status::kDown ? d.down : d.up).push_back(w);
  };
  // Redundancy (2, below): one member of each service that has members to spare. The candidates
  // come from the analyzer's findings, not from membership alone: a member that is a `spof` (it is
  // also needed on its own, like a primary that a service of readers shares) is never one,
  // nor one that would complete a cut set with the members killed before it (a kill is not
  // undone: the process stays down unless a supervisor restarts it). The evaluation of
  // everything killed so far, plus the candidate, putting no entrypoint down is what makes
  // the step safe, watched or not.
  analyzer::AnalysisOptions analysis_options;
  analysis_options.order = 1;
  analysis_options.threads = 1;
  const analyzer::Analysis analysis = analyzer::analyze(topology, analysis_options);
  std::set<std::string> spof_subjects;
  for (const auto& f : analysis.findings)
    if (f.kind == "spof" || f.kind == "domain_spof")
      for (const auto& id : f.subject)
        spof_subjects.insert(id);
  std::vector<analyzer::ElementId> killed;
  auto no_outage_with = [&](analyzer::ElementId c) {
    std::vector<analyzer::ElementId> failed = killed;
    failed.push_back(c);
    const auto statuses = analyzer::evaluate(topology, failed);
    for (analyzer::ElementId x = 0; x < topology.size(); ++x)
      if (topology[x].kind == ElementKind::kEntrypoint && statuses[x] == Status::kDown)
        return false;
    return true;
  };
  // 1. Failure domains whose loss the analyzer says every entrypoint survives (no
  // `domain_spof` names them): lose each, expect every entrypoint to stay up. First: an
  // isolate is reverted at its step's end, a kill is not, so losing a zone after the kills
  // below would lose it on top of them. A domain is lost
  // on the agents of its hosts (`target: {domain: ID}`), so one without a component whose
  // target block names an agent cannot be drilled; nor one whose loss, on top of what the
  // kills above left down, would be an outage.
  auto drillable_domain = [&](analyzer::ElementId d) {
    if (!options.include_domains) return false;
    for (const auto& c : topology.elements)
      if (c.kind == ElementKind::kComponent && !agent_of(c).empty() && in_domain(topology, c, d))
        return true;
    return false;
  };
  // The components a domain's loss kills rather than isolates (docs/drill.md): those whose
  // agent also hosts components outside the domain, decided as the plan decides it
  // (drill::others_on_agent, which resolves an agent's name and the HOST:PORT of its URL
  // alike). A kill is not undone, so later steps count them as down, as they do the kills
  // above. Given `problem`, the first kill that could also kill a component outside the
  // domain (drill::shared_kill_problem): the plan would refuse the step, so it is not derived.
  drill::AgentUrls agent_urls;
  for (const auto& a : topology.agents)
    agent_urls[a.name] = a.url;
  const drill::DomainIndex domain_idx = domain_index(topology);
  auto block_of = [](const analyzer::Element& e) {
    return drill::TargetBlock(e.inject_target.begin(), e.inject_target.end());
  };
  auto killed_by_losing = [&](analyzer::ElementId d, std::string* problem = nullptr) {
    std::vector<analyzer::ElementId> out;
    const auto members = domain_idx.components.find(topology[d].id);
    if (members == domain_idx.components.end()) return out;
    for (analyzer::ElementId c = 0; c < topology.size(); ++c) {
      const auto& e = topology[c];
      if (e.kind != ElementKind::kComponent || agent_of(e).empty() || !in_domain(topology, e, d))
        continue;
      const auto others =
          drill::others_on_agent(agent_urls, domain_idx.agent_of, agent_of(e), members->second);
      if (others.empty()) continue;
      out.push_back(c);
      if (problem && problem->empty()) {
        std::vector<std::pair<std::string, drill::TargetBlock>> blocks;
        for (const auto& o : others)
          blocks.push_back({o, block_of(topology[*topology.find(o)])});
        *problem =
            drill::shared_kill_problem(topology[d].id, e.id, block_of(e), agent_of(e), blocks);
      }
    }
    return out;
  };
  // Domains not lost because their kills could take others down: a comment each.
  std::vector<std::string> unsafe_domains;
  auto unsafe_to_lose = [&](analyzer::ElementId d) {
    std::string problem;
    killed_by_losing(d, &problem);
    if (problem.empty()) return false;
    const std::string line = "# '" + topology[d].id + "' is not lost: " + problem + ".\n";
    if (std::find(unsafe_domains.begin(), unsafe_domains.end(), line) == unsafe_domains.end())
      unsafe_domains.push_back(line);
    return true;
  };
  auto domain_step = [&](analyzer::ElementId d, const std::string& kind) {
    Derived x;
    x.name = "lose " + topology[d].id;
    x.fault = "{target: {domain: " + q(topology[d].id) +
              "}, duration_ms: " + std::to_string(gap / 2) + "}";
    x.kind = kind;
    x.subject = topology[d].id;
    x.stay_up = true;
    return x;
  };
  std::map<std::string, const analyzer::Finding*> domain_spofs;
  for (const auto& f : analysis.findings)
    if (f.kind == "domain_spof" && f.subject.size() == 1) domain_spofs[f.subject[0]] = &f;
  for (analyzer::ElementId d = 0; d < topology.size(); ++d) {
    if (topology[d].kind != ElementKind::kDomain || domain_spofs.count(topology[d].id) ||
        !drillable_domain(d) || !no_outage_with(d) || unsafe_to_lose(d))
      continue;
    Derived x = domain_step(d, "redundant_domain");
    x.up = watched;
    steps.push_back(x);
    for (auto c : killed_by_losing(d))
      if (std::find(killed.begin(), killed.end(), c) == killed.end()) killed.push_back(c);
  }
  // 2. Redundancy, as said above.
  for (const auto& s : topology.elements) {
    if (s.kind != ElementKind::kService || s.members.size() <= s.min_healthy) continue;
    for (analyzer::ElementId m : s.members) {
      const auto& c = topology[m];
      if (c.kind != ElementKind::kComponent || !killable(c) || spof_subjects.count(c.id) ||
          std::find(killed.begin(), killed.end(), m) != killed.end() || !no_outage_with(m))
        continue;
      Derived d;
      d.name =
          "kill " + c.id + " (one of " + std::to_string(s.members.size()) + " in " + s.id + ")";
      d.fault = "{kind: kill, target: {component: " + q(c.id) + "}}";
      d.kind = "redundant";
      d.subject = s.id;
      predict(m, d);
      d.recover = true;
      steps.push_back(d);
      killed.push_back(m);
      break;
    }
  }
  // 3. Latency on every dependency reached through a proxy, below what its callers wait for
  // (their `timeout_ms`) and below half the shortest probe timeout, so that the entrypoints
  // stay up: slower, maybe degraded, never failing.
  for (analyzer::ElementId i = 0; i < topology.size(); ++i) {
    const auto& c = topology[i];
    if (c.kind != ElementKind::kComponent || agent_of(c).empty() ||
        value_of(c.inject_target, "proxy").empty())
      continue;
    std::int64_t limit = probe_timeout_ms / 2;
    for (const auto& caller : topology.elements)
      for (const auto& dep : caller.depends_on) {
        if (!dep.timeout_ms) continue;
        const auto& t = topology[dep.target];
        if (dep.target == i ||
            (t.kind == ElementKind::kService &&
             std::find(t.members.begin(), t.members.end(), i) != t.members.end()))
          limit = std::min<std::int64_t>(limit, dep.timeout_ms);
      }
    // Strictly below the limit: the requested latency, else half the limit.
    const std::int64_t ms = latency < limit ? latency : std::max<std::int64_t>(1, limit / 2);
    Derived d;
    d.name = "latency " + std::to_string(ms) + " ms on " + c.id;
    d.fault = "{kind: latency, component: " + q(c.id) + ", latency_ms: " + std::to_string(ms) +
              ", duration_ms: " + std::to_string(gap / 2) + "}";
    d.kind = "latency";
    d.subject = c.id;
    d.up = watched;
    d.stay_up = true;
    steps.push_back(d);
  }
  // 4. Single points of failure, last: they take the service down (staging only).
  std::size_t spofs = 0;
  for (analyzer::ElementId i = 0; i < topology.size(); ++i) {
    const auto& c = topology[i];
    if (c.kind != ElementKind::kComponent || !killable(c) ||
        std::find(killed.begin(), killed.end(), i) != killed.end())
      continue;
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
  // 5. Each `domain_spof` the analyzer found (staging only): lost, with exactly the
  // entrypoints its finding puts down expected down, every other watched one up.
  std::size_t lost_domains = 0;
  for (analyzer::ElementId d = 0; d < topology.size(); ++d) {
    auto f = domain_spofs.find(topology[d].id);
    if (topology[d].kind != ElementKind::kDomain || f == domain_spofs.end() ||
        !drillable_domain(d) || unsafe_to_lose(d))
      continue;
    Derived x = domain_step(d, "domain_spof");
    const auto& down = f->second->impact.entrypoints_down;
    for (const auto& w : watched)
      (std::find(down.begin(), down.end(), w) != down.end() ? x.down : x.up).push_back(w);
    if (x.down.empty()) continue;  // it only takes down entrypoints no probe watches
    ++lost_domains;
    if (include_spofs) steps.push_back(x);
  }
  if (steps.empty())
    throw common::UsageError(topo_path +
                             ": error: nothing to drill: no service has a member "
                             "to spare with a target, no proxied dependency" +
                             std::string((spofs || lost_domains) && !include_spofs
                                             ? ", and single points of failure (and domains "
                                               "whose loss is an outage) are only drilled "
                                               "with --include-spofs"
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
  for (const auto& line : unsafe_domains)
    out << line;
  if (lost_domains && !include_spofs)
    out << "# " << lost_domains
        << " failure domain(s) whose loss is an outage (domain_spof) are left out: add\n"
        << "# --include-spofs (for staging) to lose them and confirm the predicted outage.\n";
  out << "version: 1\n"
      << "title: " << q(title) << "\n"
      << "topology: "
      << q(out_path.empty() || out_path == "-" ? topo_path : path_from(out_path, topo_path)) << "\n"
      << "agents:\n";
  const auto& token = options.token_file;
  auto relative = [&](const std::string& file) {
    return out_path.empty() || out_path == "-" || file[0] == '/' ? file : path_from(out_path, file);
  };
  for (const auto& a : agents) {
    out << "  " << q(a.name) << ": {url: " << q(a.url);
    // Relative to the plan, as `drill run` reads it; --token-file wins over the topology's.
    if (token)
      out << ", token_file: " << q(relative(*token));
    else if (!a.token_file.empty()) {
      // The topology's is relative to the topology.
      std::string file = a.token_file;
      if (file[0] != '/' && topo_path.find('/') != std::string::npos)
        file = topo_path.substr(0, topo_path.rfind('/') + 1) + file;
      out << ", token_file: " << q(relative(file));
    }
    out << "}\n";
  }
  out << "probes:\n" << probes.str() << "steady_state: {hold_ms: 3000}\nsteps:\n";
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& d = steps[i];
    out << "  - name: " << q(d.name) << "\n"
        << "    at_ms: " << i * gap << "\n"
        << "    fault: " << d.fault << "\n";
    {
      out << "    expect: {";
      bool first = true;
      for (const auto& w : d.down) {
        out << (first ? "" : ", ") << q(w) << ": down";
        first = false;
      }
      for (const auto& w : d.up) {
        out << (first ? "" : ", ") << q(w) << (d.stay_up ? ": up" : ": healthy");
        first = false;
      }
      if (d.recover) out << ", recover_within_ms: " << recover;
      out << "}\n";
    }
    out << "    prediction: {kind: " << d.kind << ", subject: " << q(d.subject)
        << ", down: " << list(d.down) << ", up: " << list(d.up) << "}\n";
    // A sample counts for the window in which it was sent: a step's observation ends a probe
    // timeout before the next fault, so that no sample it judges is still waiting when the
    // next fault starts (and is slowed or failed by it).
    if (i + 1 < steps.size() && gap - longest_probe_timeout_ms >= recover + 1000)
      out << "    observe_ms: " << gap - longest_probe_timeout_ms << "\n";
  }
  out << "rollback: always\nlease_ms: 5000\n";
  return {out.str(), steps.size(), watched.size()};
}

}  // namespace achilles::drill
