// Losing a zone (issue 22, the drill side; spec drill.md): steps with several faults
// (`faults:`), `target: {domain: ID}` resolved through the topology into an isolate on the
// agent of each host of the domain (or kills where an agent also serves others), the
// `network` fault bodies of agent-api.md in the shared schema, derived "lose DOMAIN" steps,
// and the runner against fake agents: every body it posts, the revert at the step's end and
// on an abort (a failed one tried again, one never reverted failing the drill and keeping its
// agent's lease to lapse), and the journal's predicted-against-observed entrypoints; a lost
// domain's kill that could also kill another component's process is refused.
// One file past 500 lines: the plan, derivation and runner tests of one feature share the
// zones topology and the fake agents below.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "achilles/analyzer/loader.h"
#include "achilles/common/fault_schema.h"
#include "achilles/drill/derive.h"
#include "achilles/drill/plan.h"
#include "achilles/drill/runner.h"
#include "achilles/reports/drill.h"
#include "plan_support.h"
#include "support.h"

using namespace achilles;
using namespace achilles::drill;
using achilles::drill::testing::problems_of;
using namespace achilles::injector::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string kHead =
    "version: 1\ntitle: t\nagents:\n  a: {url: \"http://10.0.1.5:8474\"}\n"
    "  b: {url: \"http://10.0.2.5:8474\"}\n"
    "probes: [{name: www, tcp: {address: \"127.0.0.1:80\"}}]\nsteps:\n";

/// Every message of a network body's problems, one a line.
std::string network_problems(const std::string& body) {
  std::string out;
  for (const auto& p : common::check_fault_body(json::parse(body), {}))
    out += p.message + "\n";
  return out;
}

/// The domains of the topology below: zone-a (with rack-a1), zone-b, and their components.
/// web-1 (agent a) is alone on its host; store-1 (agent b) too; cache-1 shares agent `shared`
/// with lb, which is in no zone; web-2 is in zone-b on agent c; orphan in zone-c has no agent.
DomainIndex domain_index_for_test() {
  DomainIndex d;
  d.domains = {"zone-a", "rack-a1", "zone-b", "zone-c"};
  d.components["zone-a"] = {"web-1", "store-1", "cache-1"};
  d.components["rack-a1"] = {"store-1"};
  d.components["zone-b"] = {"web-2"};
  d.components["zone-c"] = {"orphan"};
  d.agent_of = {{"web-1", "a"},
                {"store-1", "10.0.2.5:8474"},
                {"cache-1", "shared"},
                {"lb", "shared"},
                {"web-2", "c"}};
  return d;
}

TargetLookup lookup_for_test() {
  return [](const std::string& id) -> std::optional<TargetBlock> {
    if (id == "web-1") return TargetBlock{{"agent", "a"}, {"process", "web"}};
    if (id == "store-1") return TargetBlock{{"agent", "10.0.2.5:8474"}, {"process", "postgres"}};
    if (id == "cache-1") return TargetBlock{{"agent", "shared"}, {"process", "redis-server"}};
    if (id == "lb") return TargetBlock{{"agent", "shared"}, {"process", "haproxy"}};
    if (id == "web-2") return TargetBlock{{"agent", "c"}, {"process", "web"}};
    return std::nullopt;
  };
}

}  // namespace

TEST_CASE("A step's faults list is read, every fault injected together and checked",
          "[drill][zone]") {
  Plan p = parse_plan(kHead +
                          "  - name: both\n    at_ms: 0\n    faults:\n"
                          "      - {agent: a, kind: network, action: isolate, duration_ms: 5000}\n"
                          "      - {agent: b, kind: network, action: blackhole, to: "
                          "[\"10.0.3.0/24\"], ports: [5432], protocol: tcp, duration_ms: 4000}\n"
                          "    expect: {www: up}\n",
                      "plan.yaml", "");
  REQUIRE(p.steps.size() == 1);
  REQUIRE(p.steps[0].faults.size() == 2);
  CHECK(p.steps[0].faults[0].agent == "a");
  CHECK(p.steps[0].faults[0].fault ==
        json::parse(R"({"kind":"network","action":"isolate","duration_ms":5000})"));
  CHECK(p.steps[0].faults[1].agent == "b");
  CHECK(p.steps[0].faults[1].fault["to"] == json::array({"10.0.3.0/24"}));
  CHECK(p.steps[0].duration_ms() == 5000);
  CHECK_FALSE(p.steps[0].instant());
  // The plan as the journal and --dry-run show it: the list, each fault with its agent.
  CHECK(p.to_json()["steps"][0]["faults"] ==
        json::parse(R"([{"agent":"a","fault":{"kind":"network","action":"isolate",
                        "duration_ms":5000}},
                       {"agent":"b","fault":{"kind":"network","action":"blackhole",
                        "to":["10.0.3.0/24"],"ports":[5432],"protocol":"tcp",
                        "duration_ms":4000}}])"));
  CHECK_FALSE(p.to_json()["steps"][0].contains("fault"));
  const std::string dry = format_dry_run(p);
  CHECK_THAT(
      dry, Catch::Contains("'both':\n      POST http://10.0.1.5:8474/v1/faults "
                           "{\"action\":\"isolate\",\"duration_ms\":5000,\"kind\":\"network\"}\n"
                           "      POST http://10.0.2.5:8474/v1/faults {\"action\":\"blackhole\""));
}

TEST_CASE("Every problem of a faults list is reported at once, each at its line and column",
          "[drill][zone]") {
  CHECK(problems_of(kHead +
                    "  - name: bad\n    at_ms: 0\n    faults:\n"
                    "      - {agent: a, kind: network, action: isolate}\n"
                    "      - {agent: z, kind: network, action: loss, to: [\"10.0.3.0/33\"], "
                    "percent: 130, duration_ms: 10}\n"
                    "      - {kind: cpu, cores: 1, duration_ms: 10}\n"
                    "  - name: both\n    at_ms: 1\n    fault: {agent: a, kind: kill, target: "
                    "{process: x}}\n    faults: [{agent: a, kind: kill, target: {process: x}}]\n"
                    "  - name: none\n    at_ms: 2\n"
                    "  - name: empty\n    at_ms: 3\n    faults: []\n") ==
        "plan.yaml:11:9: error: step 'bad': missing field 'duration_ms' (it bounds the fault in "
        "time)\n"
        "plan.yaml:12:17: error: unknown agent 'z' (the plan's agents: a, b)\n"
        "plan.yaml:12:53: error: step 'bad': field 'to[0]': '10.0.3.0/33' is not a network: the "
        "prefix length must be a number from 0 to 32\n"
        "plan.yaml:12:79: error: step 'bad': field 'percent' must be between 1 and 100, got 130\n"
        "plan.yaml:13:9: error: step 'bad': the fault needs 'agent'\n"
        "plan.yaml:17:13: error: step 'both': give 'fault' (one) or 'faults' (a list of "
        "several), not both\n"
        "plan.yaml:18:5: error: a step needs 'fault' (or 'faults', a list of faults injected "
        "together)\n"
        "plan.yaml:22:13: error: step 'empty': 'faults' must be a list of at least one fault, "
        "each a fault body of the agent API plus 'agent'");
}

TEST_CASE("A network fault body is checked as agent-api.md specifies", "[drill][zone]") {
  // The spec's own examples are accepted.
  for (
      const char* ok :
      {R"({"kind": "network", "action": "blackhole", "to": ["10.0.3.0/24"], "ports": [5432], "protocol": "tcp", "direction": "both", "duration_ms": 30000})",
       R"({"kind": "network", "action": "reject", "to": ["10.0.3.7/32"], "duration_ms": 30000})",
       R"({"kind": "network", "action": "loss", "to": ["2001:db8::/32"], "percent": 30, "duration_ms": 30000})",
       R"({"kind": "network", "action": "bandwidth", "interface": "eth0", "rate_kbit": 512, "duration_ms": 30000})",
       R"({"kind": "network", "action": "delay", "interface": "eth0", "delay_ms": 100, "jitter_ms": 10, "duration_ms": 30000})",
       R"({"kind": "network", "action": "dns", "duration_ms": 30000})",
       R"({"kind": "network", "action": "isolate", "except": ["10.0.0.2/32"], "duration_ms": 60000})"})
    CHECK(network_problems(ok) == "");
  CHECK(network_problems(R"({"kind": "network", "duration_ms": 10})") ==
        "missing field 'action' for a network fault\n");
  CHECK(network_problems(R"({"kind": "network", "action": "partition", "duration_ms": 10})") ==
        "field 'action' must be one of blackhole, reject, loss, bandwidth, delay, dns, isolate\n");
  CHECK(network_problems(R"({"kind": "network", "action": "isolate"})") ==
        "missing field 'duration_ms' (it bounds the fault in time)\n");
  CHECK(network_problems(R"({"kind": "network", "action": "isolate", "to": ["10.0.0.0/8"],
                             "duration_ms": 10})") ==
        "unknown field 'to' for a network isolate fault\n");
  CHECK(network_problems(R"({"kind": "network", "action": "reject", "ports": [0],
                             "protocol": "icmp", "direction": "up", "duration_ms": 10})") ==
        "field 'ports[0]' must be an integer between 1 and 65535, got 0\n"
        "field 'protocol' must be one of tcp, udp\n"
        "field 'direction' must be one of egress, ingress, both\n");
  CHECK(network_problems(R"({"kind": "network", "action": "delay", "interface": "eth0/1",
                             "duration_ms": 10})") ==
        "field 'interface' is not an interface name (at most 15 characters, none of them '/', "
        "':', white space or control characters)\n"
        "missing field 'delay_ms'\n");
  CHECK(network_problems(R"({"kind": "network", "action": "bandwidth", "interface": "eth0",
                             "rate_kbit": 0, "duration_ms": 900001})") ==
        "field 'rate_kbit' must be between 8 and 100000000, got 0\n"
        "field 'duration_ms' must be between 1 and 900000, got 900001\n");
  CHECK(network_problems(R"({"kind": "network", "action": "isolate", "except": "10.0.0.2",
                             "duration_ms": 10})") ==
        "field 'except' must be a list of networks (CIDRs)\n");
}

TEST_CASE("A domain target is checked as the isolate it becomes, when the plan is read",
          "[drill][zone]") {
  CHECK(problems_of(kHead +
                    "  - {name: ok, at_ms: 0, fault: {target: {domain: zone-a}, duration_ms: 10}}\n"
                    "  - {name: ok2, at_ms: 1, fault: {kind: network, action: isolate, target: "
                    "{domain: zone-a}, except: [\"10.0.0.2/32\"], duration_ms: 10}}\n") == "");
  CHECK(problems_of(kHead +
                    "  - {name: a, at_ms: 0, fault: {target: {domain: zone-a}}}\n"
                    "  - {name: b, at_ms: 1, fault: {agent: a, kind: kill, target: {domain: "
                    "zone-a, process: x}, duration_ms: 10}}\n"
                    "  - {name: c, at_ms: 2, fault: {target: {domain: zone-a}, action: loss, "
                    "duration_ms: 99999999}}\n") ==
        "plan.yaml:8:32: error: step 'a': missing field 'duration_ms' (it bounds the fault in "
        "time)\n"
        "plan.yaml:9:40: error: step 'b': a domain is lost on the agents of its hosts, which "
        "the topology's target blocks name: remove 'agent'\n"
        "plan.yaml:9:49: error: step 'b': losing a domain is an isolate network fault: 'kind' "
        "can only be 'network' (or be left out)\n"
        "plan.yaml:9:80: error: step 'b': a domain target takes 'domain' alone, not 'process'\n"
        "plan.yaml:10:67: error: step 'c': losing a domain is an isolate network fault: "
        "'action' can only be 'isolate' (or be left out)\n"
        "plan.yaml:10:86: error: step 'c': field 'duration_ms' must be between 1 and 900000, "
        "got 99999999");
}

TEST_CASE(
    "A lost domain resolves to an isolate on each host's agent, or kills where an agent "
    "also serves others",
    "[drill][zone]") {
  Plan p = parse_plan(kHead +
                          "  - {name: lose zone-a, at_ms: 0, fault: {target: {domain: zone-a}, "
                          "duration_ms: 6000}}\n"
                          "  - name: lose both\n    at_ms: 1\n    faults:\n"
                          "      - {target: {domain: rack-a1}, duration_ms: 100}\n"
                          "      - {agent: a, kind: cpu, cores: 1, duration_ms: 50}\n",
                      "plan.yaml", "");
  AgentRef shared;
  shared.name = "shared";
  shared.url = "http://10.0.9.9:8474";
  p.agents["shared"] = shared;
  const DomainIndex index = domain_index_for_test();
  resolve_targets(p, lookup_for_test(), {"web-1", "store-1", "cache-1", "lb", "web-2", "orphan"},
                  &index);
  const auto& f = p.steps[0].faults;
  REQUIRE(f.size() == 3);
  // web-1's host (agent a) and store-1's (10.0.2.5:8474, the plan's agent b) are isolated;
  // cache-1's agent also serves lb, outside zone-a: its process is killed instead.
  CHECK(f[0].agent == "a");
  CHECK(f[0].fault == json::parse(R"({"kind":"network","action":"isolate","duration_ms":6000})"));
  CHECK(f[0].domain == "zone-a");
  CHECK(f[1].agent == "b");
  CHECK(f[1].fault == f[0].fault);
  CHECK(f[2].agent == "shared");
  CHECK(f[2].fault == json::parse(R"({"kind":"kill","target":{"process":"redis-server"}})"));
  CHECK(f[2].component == "cache-1");
  CHECK(p.steps[0].domains() == std::vector<std::string>{"zone-a"});
  // A sub-domain alone, beside another fault of the same step.
  REQUIRE(p.steps[1].faults.size() == 2);
  CHECK(p.steps[1].faults[0].agent == "b");
  CHECK(p.steps[1].faults[0].fault["action"] == "isolate");
  CHECK(p.steps[1].faults[1].fault["kind"] == "cpu");
  CHECK(p.to_json()["steps"][0]["domains"] == json::array({"zone-a"}));
}

TEST_CASE(
    "An unknown domain, one without an agent, and one without a topology are errors, "
    "located",
    "[drill][zone]") {
  const std::string text =
      kHead +
      "  - {name: typo, at_ms: 0, fault: {target: {domain: zone-x}, duration_ms: 10}}\n"
      "  - name: dark\n    at_ms: 1\n    faults:\n"
      "      - {target: {domain: zone-c}, duration_ms: 10}\n"
      "  - {name: foreign, at_ms: 2, fault: {target: {domain: zone-b}, duration_ms: 10}}\n";
  Plan p = parse_plan(text, "plan.yaml", "");
  const DomainIndex index = domain_index_for_test();
  try {
    resolve_targets(p, lookup_for_test(), {}, &index);
    FAIL("resolve_targets accepted domains it cannot lose");
  } catch (const PlanError& e) {
    CHECK(std::string(e.what()) ==
          "plan.yaml:8:53: error: step 'typo': domain 'zone-x' does not exist in the topology "
          "(did you mean 'zone-a'?)\n"
          "plan.yaml:12:9: error: step 'dark': domain 'zone-c' has no reachable agent: none of "
          "its components (orphan) has a target block that names an agent, so nothing can "
          "lose it\n"
          "plan.yaml:13:5: error: step 'foreign': losing domain 'zone-b': the target block of "
          "'web-2' names agent 'c', which is neither an agent of the plan nor the HOST:PORT of "
          "one");
  }
  Plan q = parse_plan(text, "plan.yaml", "");
  try {
    resolve_targets(q, nullptr);
    FAIL("a domain resolved without a topology");
  } catch (const PlanError& e) {
    CHECK_THAT(std::string(e.what()),
               Catch::StartsWith("plan.yaml:8:5: error: step 'typo': the fault loses domain "
                                 "'zone-x' but the plan has no 'topology'\n"));
  }
}

namespace {

/// Two zones, one host (one agent) per component: zone-a holds web-1 and the store (a
/// domain_spof: losing zone-a loses the store, and www with it); zone-b holds web-2 (losing
/// it is survived: web-1 serves). The load balancer is in no zone.
const char* const kZones = R"(version: 1
name: zones
agents:
  edge: {url: "http://127.0.0.1:PORT_EDGE"}
  host-a1: {url: "http://127.0.0.1:PORT_A1"}
  host-a2: {url: "http://127.0.0.1:PORT_A2"}
  host-b1: {url: "http://127.0.0.1:PORT_B1"}
domains:
  - {id: zone-a, kind: zone}
  - {id: zone-b, kind: zone}
components:
  - {id: lb, depends_on: [web], target: {agent: edge, process: haproxy}}
  - {id: web-1, domain: zone-a, depends_on: [store], target: {agent: host-a1, process: web}}
  - {id: web-2, domain: zone-b, depends_on: [store], target: {agent: host-b1, process: web}}
  - {id: store, domain: zone-a, target: {agent: host-a2, process: postgres}}
services:
  - {id: web, members: [web-1, web-2]}
entrypoints:
  - {id: www, target: lb, labels: {url: "http://127.0.0.1:PORT_WWW/"}}
)";

}  // namespace

TEST_CASE(
    "drill plan loses each zone the analyzer says is survived, and with --include-spofs "
    "each domain_spof",
    "[drill][zone][derive]") {
  TempDir dir;
  std::ofstream(dir.file("zones.yaml")) << kZones;
  const auto t = analyzer::load_topology(dir.file("zones.yaml"));
  DeriveOptions options;
  const std::string plain = derive_plan(t, dir.file("zones.yaml"), "-", options).yaml;
  CHECK_THAT(plain, Catch::Contains("  - name: \"lose zone-b\"\n"
                                    "    at_ms: 0\n"
                                    "    fault: {target: {domain: \"zone-b\"}, duration_ms: 6000}\n"
                                    "    expect: {\"www\": up}\n"
                                    "    prediction: {kind: redundant_domain, subject: "
                                    "\"zone-b\", down: [], up: [\"www\"]}\n"));
  CHECK_THAT(plain, !Catch::Contains("zone-a\"}"));
  CHECK_THAT(plain, !Catch::Contains(": down"));
  CHECK_THAT(plain, Catch::Contains(
                        "# 1 failure domain(s) whose loss is an outage (domain_spof) are left "
                        "out: add\n# --include-spofs (for staging) to lose them and confirm the "
                        "predicted outage.\n"));
  options.include_spofs = true;
  const std::string staging = derive_plan(t, dir.file("zones.yaml"), "-", options).yaml;
  CHECK_THAT(staging, Catch::Contains("  - name: \"lose zone-a\"\n"
                                      "    at_ms: 48000\n"
                                      "    fault: {target: {domain: \"zone-a\"}, duration_ms: "
                                      "6000}\n"
                                      "    expect: {\"www\": down}\n"
                                      "    prediction: {kind: domain_spof, subject: \"zone-a\", "
                                      "down: [\"www\"], up: []}\n"));
  // Without domains (the demo, all on one machine's loopback), no zone is lost.
  DeriveOptions no_domains = options;
  no_domains.include_domains = false;
  CHECK_THAT(derive_plan(t, dir.file("zones.yaml"), "-", no_domains).yaml,
             !Catch::Contains("lose zone-"));
  // The plan as written resolves: losing zone-a isolates its two hosts, no other.
  std::ofstream(dir.file("plan.yaml")) << staging;
  const Plan plan = load_resolved_plan(dir.file("plan.yaml"));
  const Step* lose_a = nullptr;
  for (const auto& s : plan.steps)
    if (s.name == "lose zone-a") lose_a = &s;
  REQUIRE(lose_a);
  REQUIRE(lose_a->faults.size() == 2);
  CHECK(lose_a->faults[0].agent == "host-a1");
  CHECK(lose_a->faults[1].agent == "host-a2");
  for (const auto& f : lose_a->faults)
    CHECK(f.fault == json::parse(R"({"kind":"network","action":"isolate","duration_ms":6000})"));
}

namespace {

void create_file(const std::string& path) {
  std::ofstream(path) << "ok\n";
}

/// A fake agent (Python's http.server, on a loopback port it picked and prints): every
/// request is logged as `MONOTONIC_SECONDS METHOD PATH BODY`; POST /v1/faults answers 201
/// with a fault id of its own, GET of a fault says it is active, DELETE reverts it, except
/// that the first `delete_failures` DELETEs (every one when negative) answer 500.
Child fake_agent(const std::string& log, const std::string& prefix, int delete_failures = 0) {
  return Child(
      {"python3", "-c",
       "import http.server, json, sys, time\n"
       "log = open(sys.argv[1], 'a', buffering=1)\n"
       "n = [0]\n"
       "fails = [int(sys.argv[3])]\n"
       "class H(http.server.BaseHTTPRequestHandler):\n"
       "  def log_message(self, *a): pass\n"
       "  def reply(self, code, body):\n"
       "    b = json.dumps(body).encode()\n"
       "    self.send_response(code); self.send_header('Content-Length', str(len(b)))\n"
       "    self.end_headers(); self.wfile.write(b)\n"
       "  def handle_one(self):\n"
       "    length = int(self.headers.get('Content-Length') or 0)\n"
       "    body = self.rfile.read(length).decode()\n"
       "    log.write('%.6f %s %s %s\\n' % (time.monotonic(), self.command, self.path, body))\n"
       "    if self.path == '/v1/status': return self.reply(200, {'halted': False})\n"
       "    if self.path == '/v1/lease': return self.reply(200, {})\n"
       "    if self.command == 'POST':\n"
       "      n[0] += 1\n"
       "      return self.reply(201, {'id': sys.argv[2] + str(n[0]), 'state': 'active'})\n"
       "    if self.command == 'GET': return self.reply(200, {'state': 'active'})\n"
       "    if fails[0] != 0:\n"
       "      fails[0] -= 1\n"
       "      return self.reply(500, {'error': 'nft: operation not permitted'})\n"
       "    return self.reply(200, {'kind': 'network', 'state': 'reverted'})\n"
       "  do_GET = do_POST = do_DELETE = handle_one\n"
       "s = http.server.HTTPServer(('127.0.0.1', 0), H)\n"
       "print(s.server_address[1], flush=True)\n"
       "s.serve_forever()\n",
       log, prefix, std::to_string(delete_failures)},
      true);
}

/// A fake agent's logged requests to /v1/faults: {time, method, path, body}.
struct Logged {
  double t;
  std::string method, path, body;
};
std::vector<Logged> fault_requests(const std::string& log) {
  std::vector<Logged> out;
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    std::istringstream s(line);
    Logged l;
    s >> l.t >> l.method >> l.path;
    std::getline(s, l.body);
    if (!l.body.empty() && l.body[0] == ' ') l.body.erase(0, 1);
    if (l.path.rfind("/v1/faults", 0) == 0) out.push_back(l);
  }
  return out;
}

/// Three hosts with a fake agent each: zone-a holds web-1 (host-a1) and the store
/// (host-a2), zone-b holds web-2 (host-b1), whose agent fails its first `b1_delete_failures`
/// DELETEs (every one when negative).
struct ZoneRig {
  TempDir dir;
  Child a1 = fake_agent(dir.file("a1.log"), "a1-");
  Child a2 = fake_agent(dir.file("a2.log"), "a2-");
  Child b1 = fake_agent(dir.file("b1.log"), "b1-");
  std::string flag = dir.file("up");
  int pa1 = std::stoi(a1.read_line()), pa2 = std::stoi(a2.read_line()),
      pb1 = std::stoi(b1.read_line());

  explicit ZoneRig(int b1_delete_failures = 0)
      : b1(fake_agent(dir.file("b1.log"), "b1-", b1_delete_failures)) {
    create_file(flag);
    std::ofstream(dir.file("zones.yaml"))
        << "version: 1\nagents:\n  host-a1: {url: \"http://127.0.0.1:" << pa1
        << "\"}\n  host-a2: {url: \"http://127.0.0.1:" << pa2
        << "\"}\n  host-b1: {url: \"http://127.0.0.1:" << pb1
        << "\"}\ndomains: [{id: zone-a}, {id: zone-b}]\ncomponents:\n"
           "  - {id: web-1, domain: zone-a, depends_on: [store], target: {agent: host-a1, "
           "process: web}}\n"
           "  - {id: web-2, domain: zone-b, depends_on: [store], target: {agent: host-b1, "
           "process: web}}\n"
           "  - {id: store, domain: zone-a, target: {agent: host-a2, process: postgres}}\n"
           "services: [{id: web, members: [web-1, web-2]}]\n"
           "entrypoints: [{id: file, target: web}]\n";
  }
  Plan plan(const std::string& steps, const std::string& extra = "") {
    std::ofstream(dir.file("plan.yaml"))
        << "version: 1\ntitle: lose zones\ntopology: zones.yaml\nagents:\n"
        << "  host-a1: {url: \"http://127.0.0.1:" << pa1 << "\"}\n"
        << "  host-a2: {url: \"http://127.0.0.1:" << pa2 << "\"}\n"
        << "  host-b1: {url: \"http://127.0.0.1:" << pb1 << "\"}\n"
        << "probes: [{name: file, exec: {command: [test, -e, \"" << flag
        << "\"]}, every_ms: 50, window_ms: 200}]\n"
        << "steady_state: {hold_ms: 300, timeout_ms: 10000}\nlease_ms: 3000\n"
        << extra << "steps:\n"
        << steps;
    return load_resolved_plan(dir.file("plan.yaml"));
  }
};

}  // namespace

TEST_CASE(
    "Losing a zone isolates each of its hosts at once, reverts them at the step's end, "
    "and the journal compares the prediction",
    "[drill][zone][slow]") {
  ZoneRig rig;
  Plan plan = rig.plan(
      "  - name: lose zone-a\n    at_ms: 0\n    fault: {target: {domain: zone-a}, "
      "duration_ms: 60000}\n    expect: {file: down}\n    observe_ms: 700\n"
      "    prediction: {kind: domain_spof, subject: zone-a, down: [file], up: []}\n"
      "  - name: lose zone-b\n    at_ms: 800\n    fault: {target: {domain: zone-b}, "
      "duration_ms: 60000}\n    expect: {file: up}\n    observe_ms: 500\n"
      "    prediction: {kind: redundant_domain, subject: zone-b, down: [], up: [file]}\n");
  // The probe's file is gone for 300 ms once zone-a is lost: the outage the store's zone
  // predicts (the fake agents do no harm of their own).
  RunOptions options;
  std::atomic<bool> once{false};
  options.log = [&](const std::string& line) {
    if (line.find("'lose zone-a': network injected") != std::string::npos && !once.exchange(true))
      std::thread([flag = rig.flag] {
        std::remove(flag.c_str());
        std::this_thread::sleep_for(300ms);
        create_file(flag);
      }).detach();
  };
  const json j = run(plan, options);
  INFO(j.dump(2));
  CHECK(j["verdict"] == "passed");
  const auto a1 = fault_requests(rig.dir.file("a1.log"));
  const auto a2 = fault_requests(rig.dir.file("a2.log"));
  const auto b1 = fault_requests(rig.dir.file("b1.log"));
  // Each host of zone-a got one isolate, bounded in time, and its DELETE at the step's end,
  // before zone-b was lost.
  for (const auto* log : {&a1, &a2}) {
    REQUIRE(log->size() >= 2);
    CHECK(log->front().method == "POST");
    CHECK(json::parse(log->front().body) ==
          json::parse(R"({"kind":"network","action":"isolate","duration_ms":60000})"));
    CHECK(log->back().method == "DELETE");
    REQUIRE_FALSE(b1.empty());
    CHECK(log->back().t < b1.front().t);
  }
  REQUIRE(b1.size() >= 2);
  CHECK(json::parse(b1.front().body) ==
        json::parse(R"({"kind":"network","action":"isolate","duration_ms":60000})"));
  CHECK(b1.back().method == "DELETE");
  CHECK(b1.back().path == "/v1/faults/b1-1");
  // The journal: both faults of the step, each reverted, zone-a's at the step's end.
  const json& step = j["steps"][0];
  CHECK(step["domains"] == json::array({"zone-a"}));
  REQUIRE(step["faults"].size() == 2);
  CHECK(step["faults"][0]["agent"] == "host-a1");
  CHECK(step["faults"][0]["domain"] == "zone-a");
  CHECK(step["faults"][0]["response"]["status"] == 201);
  CHECK(step["faults"][1]["agent"] == "host-a2");
  CHECK(step["faults"][1]["final"]["state"] == "reverted");
  CHECK_FALSE(step.contains("fault"));
  const json expected_rollback = json::parse(R"([
    {"agent": "host-a1", "fault_id": "a1-1", "step": "lose zone-a", "result": "reverted", "when": "step end"},
    {"agent": "host-a2", "fault_id": "a2-1", "step": "lose zone-a", "result": "reverted", "when": "step end"},
    {"agent": "host-b1", "fault_id": "b1-1", "step": "lose zone-b", "result": "reverted"}])");
  CHECK(j["rollback"] == expected_rollback);
  // Predicted against observed, per domain step.
  REQUIRE(j["predictions"].size() == 2);
  CHECK(j["predictions"][0]["predicted_down"] == json::array({"file"}));
  CHECK(j["predictions"][0]["observed_down"] == json::array({"file"}));
  CHECK(j["predictions"][0]["agreed"] == true);
  CHECK(j["predictions"][1]["predicted_down"] == json::array());
  CHECK(j["predictions"][1]["observed_down"] == json::array());
  CHECK(j["predictions"][1]["agreed"] == true);
  const std::string summary = format_summary(j);
  CHECK_THAT(summary, Catch::Contains("  step 'lose zone-a' (loses domain zone-a: isolate on "
                                      "agent 'host-a1', isolate on agent 'host-a2')\n"));
  CHECK_THAT(summary, Catch::Contains("  prediction for 'lose zone-a' (domain_spof zone-a): "
                                      "predicted down: file; observed down: file; the live "
                                      "system agreed\n"
                                      "  prediction for 'lose zone-b' (redundant_domain zone-b): "
                                      "predicted down: none; observed down: none; the live "
                                      "system agreed\n"));
  CHECK_THAT(summary, Catch::Contains("  rollback: fault a1-1 of step 'lose zone-a': reverted "
                                      "(at the step's end)\n"));
  const std::string html = reports::drill_html(j);
  CHECK_THAT(html, Catch::Contains("<th>predicted down</th><th>observed down</th>"));
  CHECK_THAT(html, Catch::Contains("<td>zone-a</td><td>file</td><td>file</td>"));
  CHECK_THAT(html, Catch::Contains("<br>loses domain zone-a<br>2 faults, injected together:"));
}

TEST_CASE("An abort while a zone is lost reverts every host's isolate", "[drill][zone][slow]") {
  ZoneRig rig;
  Plan plan = rig.plan(
      "  - name: lose zone-a\n    at_ms: 0\n    fault: {target: {domain: zone-a}, "
      "duration_ms: 60000}\n    expect: {file: up}\n    observe_ms: 30000\n",
      "abort_when: {probe: file, unhealthy_for_ms: 200}\n");
  RunOptions options;
  std::atomic<bool> once{false};
  options.log = [&](const std::string& line) {
    if (line.find("network injected") != std::string::npos && !once.exchange(true))
      std::remove(rig.flag.c_str());
  };
  const json j = run(plan, options);
  INFO(j.dump(2));
  CHECK(j["verdict"] == "aborted");
  CHECK(j["steps"][0]["window"]["to_ms"].get<std::int64_t>() < 30000);  // cut short
  REQUIRE(j["rollback"].size() == 2);
  for (const auto& r : j["rollback"]) {
    CHECK(r["result"] == "reverted");
    CHECK_FALSE(r.contains("when"));  // the rollback's, not the step end's
  }
  for (const char* log : {"a1.log", "a2.log"}) {
    const auto requests = fault_requests(rig.dir.file(log));
    REQUIRE(requests.size() >= 2);
    CHECK(requests.back().method == "DELETE");
  }
  CHECK(fault_requests(rig.dir.file("b1.log")).empty());
}

namespace {

/// Every line of a fake agent's log (all its requests, the leases too).
std::string requests_of(const std::string& log) {
  std::ifstream in(log);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// Zone-b lost first and reverted at its step's end, then zone-a.
const char* const kTwoLosses =
    "  - name: lose zone-b\n    at_ms: 0\n    fault: {target: {domain: zone-b}, "
    "duration_ms: 600000}\n    expect: {file: up}\n    observe_ms: 300\n"
    "  - name: lose zone-a\n    at_ms: 500\n    fault: {target: {domain: zone-a}, "
    "duration_ms: 600000}\n    expect: {file: up}\n    observe_ms: 300\n";

}  // namespace

TEST_CASE("A revert that fails at the step's end is tried again by the rollback",
          "[drill][zone][slow]") {
  ZoneRig rig(1);
  Plan plan = rig.plan(kTwoLosses);
  std::vector<std::string> lines;
  RunOptions options;
  options.log = [&](const std::string& line) { lines.push_back(line); };
  const json j = run(plan, options);
  INFO(j.dump(2));
  CHECK(j["verdict"] == "passed");
  CHECK(exit_code(j) == 0);
  CHECK_FALSE(j.contains("unreverted"));
  const json expected_rollback = json::parse(R"([
    {"agent": "host-b1", "fault_id": "b1-1", "step": "lose zone-b", "when": "step end",
     "result": "failed: HTTP 500: nft: operation not permitted"},
    {"agent": "host-b1", "fault_id": "b1-1", "step": "lose zone-b", "retry": true,
     "result": "reverted"},
    {"agent": "host-a1", "fault_id": "a1-1", "step": "lose zone-a", "result": "reverted"},
    {"agent": "host-a2", "fault_id": "a2-1", "step": "lose zone-a", "result": "reverted"}])");
  CHECK(j["rollback"] == expected_rollback);
  const auto b1 = fault_requests(rig.dir.file("b1.log"));
  REQUIRE(b1.size() == 5);  // POST, GET, DELETE (500), GET, DELETE
  CHECK(b1[2].method == "DELETE");
  CHECK(b1[4].method == "DELETE");
  CHECK_THAT(requests_of(rig.dir.file("b1.log")), Catch::Contains("POST /v1/lease {\"ttl_ms\":0}"));
  auto has = [&](const std::string& text) {
    return std::find(lines.begin(), lines.end(), text) != lines.end();
  };
  CHECK(
      has("could not revert fault b1-1 on agent 'host-b1': HTTP 500: nft: operation not "
          "permitted; the rollback tries again"));
  CHECK(has("fault b1-1 on agent 'host-b1': trying the failed revert again"));
  CHECK(has("reverted: fault b1-1 of step 'lose zone-b' (on a second try)"));
  CHECK_THAT(format_summary(j),
             Catch::Contains("  rollback: fault b1-1 of step 'lose zone-b': reverted (a retry)\n"));
}

TEST_CASE(
    "A fault no revert removes fails the drill, keeps its agent's lease to lapse, and the "
    "journal names it",
    "[drill][zone][slow]") {
  ZoneRig rig(-1);
  Plan plan = rig.plan(kTwoLosses);
  std::vector<std::string> lines;
  RunOptions options;
  options.log = [&](const std::string& line) { lines.push_back(line); };
  const json j = run(plan, options);
  INFO(j.dump(2));
  CHECK(j["verdict"] == "failed");
  CHECK(exit_code(j) == 1);
  REQUIRE(j["unreverted"].size() == 1);
  const json& u = j["unreverted"][0];
  CHECK(u["agent"] == "host-b1");
  CHECK(u["fault_id"] == "b1-1");
  CHECK(u["step"] == "lose zone-b");
  const std::string until = u["until"].get<std::string>();
  CHECK(j["reason"] ==
        "fault b1-1 of step 'lose zone-b' on agent 'host-b1' could not be "
        "reverted and stays active until " +
            until + " at the latest (its duration ends, or the agent's lease lapses)");
  // Tried at the step's end and again by the rollback; both failed.
  REQUIRE(j["rollback"].size() == 4);
  CHECK(j["rollback"][0]["when"] == "step end");
  CHECK_THAT(j["rollback"][0]["result"].get<std::string>(), Catch::StartsWith("failed: HTTP 500"));
  CHECK(j["rollback"][1]["retry"] == true);
  CHECK_THAT(j["rollback"][1]["result"].get<std::string>(), Catch::StartsWith("failed: HTTP 500"));
  // host-b1's lease is left to lapse (which reverts the fault); the others are released.
  CHECK_THAT(requests_of(rig.dir.file("b1.log")),
             !Catch::Contains("POST /v1/lease {\"ttl_ms\":0}"));
  CHECK_THAT(requests_of(rig.dir.file("a1.log")), Catch::Contains("POST /v1/lease {\"ttl_ms\":0}"));
  CHECK(std::find(lines.begin(), lines.end(),
                  "fault b1-1 of step 'lose zone-b' on agent 'host-b1' could not be reverted: it "
                  "stays active until " +
                      until +
                      " at the latest (its duration ends, or the agent's lease, not released, "
                      "lapses and the agent reverts it)") != lines.end());
  CHECK_THAT(format_summary(j), Catch::Contains("  LEFT ACTIVE: fault b1-1 of step 'lose zone-b' "
                                                "on agent 'host-b1' until " +
                                                until + " at the latest\n"));
}

namespace {

/// web-a (zone-a, agent a) and web-b (zone-b, on agent a too, named by the HOST:PORT of its
/// URL), with the target blocks given.
DomainIndex one_agent_index() {
  DomainIndex d;
  d.domains = {"zone-a", "zone-b"};
  d.components["zone-a"] = {"web-a"};
  d.components["zone-b"] = {"web-b"};
  d.agent_of = {{"web-a", "a"}, {"web-b", "10.0.1.5:8474"}};
  return d;
}

TargetLookup one_agent_lookup(const TargetBlock& a, const TargetBlock& b) {
  return [=](const std::string& id) -> std::optional<TargetBlock> {
    if (id == "web-a") return a;
    if (id == "web-b") return b;
    return std::nullopt;
  };
}

const std::string kLoseZoneA =
    kHead +
    "  - {name: lose zone-a, at_ms: 0, fault: {target: {domain: zone-a}, "
    "duration_ms: 6000}}\n";

/// web-a (zone-a) and web-b (zone-b) on one host, its agent named `host` and, in web-b's
/// block, by HOST:PORT; each block's extra keys as given.
std::string one_host_topology(const std::string& a_extra, const std::string& b_extra) {
  return "version: 1\nname: one host\nagents:\n"
         "  host: {url: \"http://127.0.0.1:9001\"}\n"
         "  edge: {url: \"http://127.0.0.1:9002\"}\n"
         "domains: [{id: zone-a, kind: zone}, {id: zone-b, kind: zone}]\n"
         "components:\n"
         "  - {id: lb, depends_on: [web], target: {agent: edge, process: haproxy}}\n"
         "  - {id: web-a, domain: zone-a, target: {agent: host, process: nginx" +
         a_extra +
         "}}\n"
         "  - {id: web-b, domain: zone-b, target: {agent: \"127.0.0.1:9001\", process: nginx" +
         b_extra +
         "}}\n"
         "services: [{id: web, members: [web-a, web-b]}]\n"
         "entrypoints: [{id: www, target: lb, labels: {url: \"http://127.0.0.1:8080/\"}}]\n";
}

}  // namespace

TEST_CASE(
    "Losing a domain by a kill that would also kill another component's process on its "
    "agent is an error at the step",
    "[drill][zone]") {
  Plan p = parse_plan(kLoseZoneA, "plan.yaml", "");
  const DomainIndex index = one_agent_index();
  try {
    resolve_targets(p,
                    one_agent_lookup({{"agent", "a"}, {"process", "nginx"}},
                                     {{"agent", "10.0.1.5:8474"}, {"process", "nginx"}}),
                    {"web-a", "web-b"}, &index);
    FAIL("a kill of nginx for zone-a was accepted although web-b's nginx shares the agent");
  } catch (const PlanError& e) {
    CHECK(std::string(e.what()) ==
          "plan.yaml:8:5: error: step 'lose zone-a': losing domain 'zone-a' kills 'web-a' "
          "(agent 'a' also serves components outside the domain) through its target block "
          "(process 'nginx'), which would also kill web-b, outside the domain on the same "
          "agent: give their target blocks a pid or pidfile, or a distinct process name or "
          "cmdline");
  }
  // A pidfile names one process: accepted.
  Plan q = parse_plan(kLoseZoneA, "plan.yaml", "");
  resolve_targets(q,
                  one_agent_lookup({{"agent", "a"}, {"pidfile", "/run/nginx-a.pid"}},
                                   {{"agent", "10.0.1.5:8474"}, {"process", "nginx"}}),
                  {"web-a", "web-b"}, &index);
  REQUIRE(q.steps[0].faults.size() == 1);
  CHECK(q.steps[0].faults[0].fault ==
        json::parse(R"({"kind":"kill","target":{"pidfile":"/run/nginx-a.pid"}})"));
}

TEST_CASE("Losing a domain by kills is accepted where the cmdlines differ, and kills exactly those",
          "[drill][zone]") {
  Plan p = parse_plan(kLoseZoneA, "plan.yaml", "");
  const DomainIndex index = one_agent_index();
  resolve_targets(
      p,
      one_agent_lookup(
          {{"agent", "a"}, {"process", "nginx"}, {"cmdline", "-c /etc/nginx/a.conf"}},
          {{"agent", "10.0.1.5:8474"}, {"process", "nginx"}, {"cmdline", "-c /etc/nginx/b.conf"}}),
      {"web-a", "web-b"}, &index);
  REQUIRE(p.steps[0].faults.size() == 1);
  CHECK(p.steps[0].faults[0].agent == "a");
  CHECK(p.steps[0].faults[0].fault ==
        json::parse(
            R"({"kind":"kill","target":{"process":"nginx","cmdline":"-c /etc/nginx/a.conf"}})"));
  const std::string dry = format_dry_run(p);
  INFO(dry);
  CHECK_THAT(dry, Catch::Contains("POST http://10.0.1.5:8474/v1/faults "
                                  "{\"kind\":\"kill\",\"target\":{\"cmdline\":\"-c "
                                  "/etc/nginx/a.conf\",\"process\":\"nginx\"}}"));
  CHECK_THAT(dry, !Catch::Contains("b.conf"));
}

TEST_CASE(
    "drill plan does not lose a domain whose kills would take another component's process "
    "on the same agent",
    "[drill][zone][derive]") {
  TempDir dir;
  std::ofstream(dir.file("shared.yaml")) << one_host_topology("", "");
  const auto t = analyzer::load_topology(dir.file("shared.yaml"));
  DeriveOptions options;
  options.include_spofs = true;
  const std::string yaml = derive_plan(t, dir.file("shared.yaml"), "-", options).yaml;
  INFO(yaml);
  CHECK_THAT(yaml, !Catch::Contains("lose zone-"));
  CHECK_THAT(yaml, Catch::Contains(
                       "# 'zone-a' is not lost: losing domain 'zone-a' kills 'web-a' (agent 'host' "
                       "also serves components outside the domain) through its target block "
                       "(process 'nginx'), which would also kill web-b, outside the domain on "
                       "the same agent: give their target blocks a pid or pidfile, or a distinct "
                       "process name or cmdline.\n"));
  // Distinct cmdlines: zone-a is lost, by a kill of web-a's nginx alone.
  std::ofstream(dir.file("distinct.yaml"))
      << one_host_topology(", cmdline: a.conf", ", cmdline: b.conf");
  const auto u = analyzer::load_topology(dir.file("distinct.yaml"));
  const std::string ok = derive_plan(u, dir.file("distinct.yaml"), "-", options).yaml;
  INFO(ok);
  CHECK_THAT(ok, Catch::Contains("  - name: \"lose zone-a\"\n"));
  CHECK_THAT(ok, !Catch::Contains("is not lost"));
}
