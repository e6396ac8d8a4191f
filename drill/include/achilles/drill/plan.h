// Game-day drills (spec drill.md, reference docs/drill.md): the plan as read from YAML, and
// the pure judgement of probe samples against expectations. The runner that drives agents
// and probes is in drill_runner.h.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "achilles/drill/schedule.h"

namespace achilles::drill {

/// One problem in a plan, located in its file (line 0 when no position is known).
struct PlanProblem {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;
  /// `FILE:LINE:COLUMN: error: MESSAGE` or `FILE: error: MESSAGE`.
  std::string str() const;
};

/// A plan that cannot be used: every problem found, in file order.
class PlanError : public std::runtime_error {
 public:
  explicit PlanError(std::vector<PlanProblem> problems);
  const std::vector<PlanProblem>& problems() const { return problems_; }

 private:
  std::vector<PlanProblem> problems_;
};

/// An agent the plan talks to.
struct AgentRef {
  std::string name;
  /// `http://HOST:PORT` or `https://HOST:PORT`.
  std::string url;
  /// The bearer token, read from `token_file` when the plan is loaded ("" without one).
  std::string token;
  std::string token_file;
  /// TLS: the CA that signed the agent's certificate, and the runner's client certificate.
  std::string ca_file, cert_file, key_file;
  /// The agent's max_duration_ms, when the plan states it (`max_duration_ms`): fault
  /// durations are checked against it when the plan is read. The agent's default otherwise.
  std::int64_t max_duration_ms = 900000;
};

enum class ProbeKind { kHttp, kTcp, kExec, kPrometheus };
const char* probe_kind_name(ProbeKind kind);

/// A bound on a prometheus probe's value: `below: X` (value < X) or `above: X` (value > X).
struct Threshold {
  bool below = true;
  double limit = 0;
  bool holds(double value) const { return below ? value < limit : value > limit; }
  /// "below 0.01", "above 0.5".
  std::string str() const;
};

struct ProbeSpec {
  std::string name;
  ProbeKind kind = ProbeKind::kHttp;
  /// http: the URL, method, accepted statuses (empty: any 2xx or 3xx) and a body substring.
  std::string url;
  std::string method = "GET";
  std::vector<int> statuses;
  std::string body_contains;
  /// https: the CA that signed the server's certificate (else the system's), or no
  /// verification at all (insecure_skip_verify, for a lab's self-signed certificate).
  std::string ca_file;
  bool insecure_skip_verify = false;
  /// tcp: HOST:PORT.
  std::string address;
  /// exec: argv, run without a shell.
  std::vector<std::string> command;
  /// prometheus: the server's base URL is `url`, the PromQL `query`, judged by
  /// `healthy_when` (`value`) and, optionally, `down_when`; a sample whose value meets
  /// `down_when` counts as failed (an outage). Credentials, read from their files when the
  /// plan is loaded, are never written out (to_json names the files only).
  std::string query;
  std::optional<Threshold> value;
  std::optional<Threshold> down_when;
  std::string basic_auth_user, basic_auth_password, basic_auth_password_file;
  std::string bearer_token, bearer_token_file;
  std::int64_t timeout_ms = 1000;
  std::int64_t every_ms = 200;
  /// healthy_when
  double success_ratio = 1.0;
  std::optional<double> p99_ms;
  std::int64_t window_ms = 1000;
  /// What the probe looks at, for people: the URL, the address, the command or the query.
  std::string describe() const;
  /// `healthy_when` as the journal writes it: success_ratio, window_ms, and p99_ms or the
  /// value's bound (`below` or `above`).
  nlohmann::json healthy_when_json() const;
  /// `down_when` as `{below: X}` or `{above: X}` (null without one).
  nlohmann::json down_when_json() const;
};

enum class Health { kHealthy, kDegraded, kDown };
const char* health_name(Health h);

struct Expectation {
  std::string probe;
  Health expected = Health::kHealthy;
  /// `up`: healthy or degraded, never down (`expected` is then kDegraded, the worst allowed).
  bool up = false;
  /// "healthy", "degraded", "up" or "down", as written.
  const char* name() const { return up ? "up" : health_name(expected); }
};

/// One fault of a step: the agent it goes to and the body it posts.
struct StepFault {
  /// The agent's name in the plan ("" until a component or domain target is resolved).
  std::string agent;
  /// The fault body for POST /v1/faults (without `agent`).
  nlohmann::json fault;
  /// Where the fault is in the plan, and where it names a component or a domain (else the
  /// fault's own position), for messages about it.
  int line = 0;
  int column = 0;
  int component_line = 0;
  int component_column = 0;
  /// For a fault resolved from `target: {domain: ID}`: the domain; and for the kill of a
  /// component whose agent also hosts components outside the domain, that component.
  std::string domain;
  std::string component;
};

struct Step {
  std::string name;
  std::int64_t at_ms = 0;
  /// `fault:` (one) or `faults:` (several, injected together); a `target: {domain: ID}`
  /// becomes one fault per host of the domain when targets are resolved.
  std::vector<StepFault> faults;
  std::vector<Expectation> expect;
  std::optional<std::int64_t> recover_within_ms;
  std::optional<std::int64_t> observe_ms;
  /// Written by `drill plan`: what the analyzer predicted (null when none).
  nlohmann::json prediction;
  /// Where the step is in the plan, for messages about it.
  int line = 0;
  int column = 0;

  /// The longest `duration_ms` of its faults (0 when none has one: kills).
  std::int64_t duration_ms() const;
  /// Whether every fault is instant (a kill): the step has no fault to wait for.
  bool instant() const;
  /// The domains the step loses (`target: {domain: ID}`), in plan order, each once.
  std::vector<std::string> domains() const;
};

struct AbortWhen {
  std::string probe;
  std::int64_t unhealthy_for_ms = 0;
};

/// Where the runner posts the drill's events (docs/drill.md "Notifications"): a webhook
/// (JSON events, Slack-compatible `text`) or Grafana (annotations, a bearer token).
struct NotifyTarget {
  enum class Kind { kWebhook, kGrafana };
  Kind kind = Kind::kWebhook;
  std::string url;
  /// Grafana's bearer token, read from `token_file` when the plan is loaded; never written out.
  std::string token, token_file;
  /// "webhook URL" or "grafana URL (token from FILE)", the URL's path elided (a webhook's
  /// path is often its secret: Slack's are), for the journal, --dry-run and messages.
  std::string describe() const;
};

struct Plan {
  /// The file as named, and its directory (relative paths in the plan resolve against it).
  std::string file;
  std::string dir;
  std::string title;
  /// The topology file, resolved against `dir` ("" without one).
  std::string topology;
  std::map<std::string, AgentRef> agents;
  std::optional<DrillWindow> window;
  std::vector<ProbeSpec> probes;
  std::int64_t hold_ms = 3000;
  std::int64_t steady_timeout_ms = 33000;
  std::vector<Step> steps;
  std::optional<AbortWhen> abort_when;
  std::int64_t lease_ms = 5000;
  std::vector<NotifyTarget> notify;
  /// What is allowed but probably a mistake (a latency step that nothing judges), located;
  /// `drill run` prints them as warnings before it starts.
  std::vector<PlanProblem> warnings;

  /// When observation of step `i` ends, in ms after the steady state (see docs/drill.md).
  std::int64_t step_end_ms(std::size_t i) const;
  /// The plan as JSON, for the journal and --dry-run (tokens left out).
  nlohmann::json to_json() const;
};

/// Reads and checks a plan; throws PlanError with every problem found. Reads token files.
Plan load_plan(const std::string& path);
/// The same from text; `file` names it in messages and `dir` resolves relative paths.
Plan parse_plan(const std::string& text, const std::string& file, const std::string& dir);

/// A component's `target` block from the topology: key -> value.
using TargetBlock = std::map<std::string, std::string>;
/// Finds a component's target block by id; nothing when the component has none or is unknown.
using TargetLookup = std::function<std::optional<TargetBlock>(const std::string& component)>;

/// The failure domains of a topology, for `target: {domain: ID}`.
struct DomainIndex {
  /// Every domain id, in topology order.
  std::vector<std::string> domains;
  /// For each domain, the components in it or in one of its sub-domains, in topology order.
  std::map<std::string, std::vector<std::string>> components;
  /// Every component whose target block names an agent, with that agent as written: which
  /// components share an agent (and so a host) with components outside a domain.
  std::map<std::string, std::string> agent_of;
};

/// Declared agents (a plan's or a topology's): name -> URL.
using AgentUrls = std::map<std::string, std::string>;

/// The declared agent that a target block's `agent` names: a declared agent's name, or the
/// HOST:PORT of a declared agent's URL; nothing when it is neither.
std::optional<std::string> resolve_agent(const AgentUrls& agents, const std::string& name);

/// The components of `agent_of` (component -> agent as written) on the same agent as
/// `agent`, outside `members` (a domain's components); agents resolve through resolve_agent
/// (one that does not resolve compares as written). Empty: the agent serves only the
/// domain's components, so losing the domain there can isolate its host. Shared by the plan
/// (resolve_targets) and `drill plan` (derive) so that both decide alike.
std::vector<std::string> others_on_agent(const AgentUrls& agents,
                                         const std::map<std::string, std::string>& agent_of,
                                         const std::string& agent,
                                         const std::vector<std::string>& members);

/// Where a domain's loss would kill `component` through its target `block` on an agent it
/// shares with `others` (components outside the domain, with their blocks): why that kill
/// could also kill one of them, or "" when it cannot (the block names a pid or pidfile, or a
/// process and cmdline that differ from every other's). `agent` names the shared agent.
std::string shared_kill_problem(const std::string& domain, const std::string& component,
                                const TargetBlock& block, const std::string& agent,
                                const std::vector<std::pair<std::string, TargetBlock>>& others);

/// Resolves `target: {component: ID}` (and `component: ID` on latency faults) through the
/// topology's target blocks. An agent named in a block is a plan agent's name or the
/// HOST:PORT of a plan agent's URL. Throws PlanError naming each step that cannot resolve;
/// given the topology's `components` (ids), a component that is not one "does not exist",
/// with the closest id suggested.
///
/// Given `domains`, `target: {domain: ID}` becomes an `isolate` network fault (agent-api.md)
/// on the agent of every host in the domain (each agent that hosts only components of the
/// domain), and the kill of each process of a domain's component whose agent also hosts
/// components outside it (spec drill.md). A domain that does not exist, one with no
/// component whose target block names an agent, and one whose kill could also kill a
/// component outside it (shared_kill_problem) are errors.
void resolve_targets(Plan& plan, const TargetLookup& lookup,
                     const std::vector<std::string>& components = {},
                     const DomainIndex* domains = nullptr);

// ---- Judging samples (pure; the runner collects the samples) ----

/// One probe sample: when (ms after the steady state; negative before it), whether it
/// succeeded, and its latency (for a failure, the time until it failed).
struct Sample {
  std::int64_t t_ms = 0;
  bool ok = false;
  double latency_ms = 0;
  /// A prometheus probe's value (nothing for a failed query and for other probes).
  std::optional<double> value;
  /// A failed sample that says nothing of the service: a prometheus query that got no value
  /// (an error, a timeout, an empty result). Such samples count as failed (spec drill.md),
  /// but an expected `down` is not confirmed by them alone.
  bool unanswered = false;
};

/// The probe's health over the window of `probe.window_ms` that ends at samples[i]: down
/// when no sample in it succeeded, degraded when fewer than success_ratio were good (a
/// success; for a prometheus probe, a value within healthy_when) or the p99 latency is above
/// p99_ms, else healthy.
Health health_at(const ProbeSpec& probe, const std::vector<Sample>& samples, std::size_t i);
/// health_at for every sample.
std::vector<Health> health_series(const ProbeSpec& probe, const std::vector<Sample>& samples);

struct Verdict {
  Health observed = Health::kHealthy;
  /// From the injection to the first sample after which the probe stays healthy to the end
  /// of the window; nothing when it is not healthy at the end.
  std::optional<std::int64_t> recovery_ms;
  /// From the first failed sample of the outage to the next successful one (spec drill.md
  /// `outage_ms`); nothing when no sample failed. Its precision is the probe's every_ms.
  std::optional<std::int64_t> outage_ms;
  /// The outage had not ended at the end of the window (outage_ms is then a lower bound).
  bool outage_open = false;
  bool passed = false;
  std::string message;
};

/// An outage among the samples sent in [from_ms, to_ms): the first run of two or more
/// consecutive failed samples (else the first failed sample), from its first sample to the
/// next successful one (or to_ms when none came: `open`).
struct Outage {
  std::int64_t start_ms = 0;
  std::int64_t ms = 0;
  std::size_t failed = 0;
  bool open = false;
};
std::optional<Outage> find_outage(const std::vector<Sample>& samples, std::int64_t from_ms,
                                  std::int64_t to_ms);

/// Judges one expectation over the step's window [from_ms, to_ms) (docs/drill.md): every
/// sample sent in the window counts, however late its answer came.
Verdict judge(const Expectation& expectation, std::optional<std::int64_t> recover_within_ms,
              const std::vector<Sample>& samples, const std::vector<Health>& health,
              std::int64_t from_ms, std::int64_t to_ms);

/// `{samples, success_ratio, p50_ms, p99_ms, max_ms}` of the samples in [from_ms, to_ms), or
/// null when there are none; with `min_value` and `max_value` when samples have values (a
/// prometheus probe's).
nlohmann::json summarize(const std::vector<Sample>& samples, std::int64_t from_ms,
                         std::int64_t to_ms);

}  // namespace achilles::drill
