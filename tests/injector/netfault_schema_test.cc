// Network fault bodies (`"kind": "network"`): every bad value is a 400 that names the field,
// allow.network decides what is refused (403), the nftables script a fault becomes keeps
// loopback, the agent's API port and IPv6 neighbour discovery open, and the engine's life
// cycle of a network fault (state file, reverts, recovery) with a fake mechanism. No kernel is
// touched here (netfault_netns_test.cc does that, in network namespaces of its own).
#include <catch2/catch.hpp>

#include "achilles/common/fault_schema.h"
#include "achilles/injector/api.h"
#include "achilles/injector/config.h"
#include "achilles/injector/engine.h"
#include "achilles/injector/fault.h"
#include "achilles/injector/netfault.h"
#include "fakes.h"
#include "support.h"

#include <unistd.h>
#include <fstream>

using namespace achilles::injector;
using nlohmann::json;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Limits allowing_network() {
  Limits l;
  l.network.allowed = true;
  l.network.any = true;
  return l;
}

// The 400 (or other refusal) a body gets, or "" when it is accepted.
std::string refusal_of(const json& body, const Limits& limits = allowing_network(),
                       int* status = nullptr) {
  try {
    parse_fault(body, limits);
    return "";
  } catch (const ApiError& e) {
    if (status) *status = e.status();
    return e.what();
  }
}

json network(const std::string& action, json extra = json::object()) {
  json b = {{"kind", "network"}, {"action", action}, {"duration_ms", 1000}};
  b.update(extra);
  return b;
}

}  // namespace

TEST_CASE("a network fault with a bad field is refused with a message naming the field",
          "[netfault]") {
  int status = 0;
  CHECK(refusal_of({{"kind", "network"}, {"duration_ms", 1000}}, allowing_network(), &status) ==
        "missing field 'action' for a network fault");
  CHECK(status == 400);
  CHECK(refusal_of(network("partition")) ==
        "field 'action' must be one of blackhole, reject, loss, bandwidth, delay, dns, isolate");
  CHECK(refusal_of({{"kind", "network"}, {"action", "blackhole"}}) ==
        "missing field 'duration_ms' (it bounds the fault in time)");
  CHECK(refusal_of(network("blackhole", {{"to", "10.0.0.0/8"}})) ==
        "field 'to' must be a list of networks (CIDRs)");
  CHECK(refusal_of(network("blackhole", {{"to", json::array()}})) ==
        "field 'to' must not be empty");
  CHECK(refusal_of(network("blackhole", {{"to", {"10.0.0.0/8", 7}}})) ==
        "field 'to[1]' must be a string (a CIDR)");
  CHECK(refusal_of(network("blackhole", {{"to", {"10.0.3.7/24"}}})) ==
        "field 'to[0]': '10.0.3.7/24' has bits set beyond its prefix: write 10.0.3.0/24 (the "
        "network) or 10.0.3.7/32 (the host)");
  CHECK(refusal_of(network("reject", {{"to", {"fd00::1/130"}}})) ==
        "field 'to[0]': 'fd00::1/130' is not a network: the prefix length must be a number from "
        "0 to 128");
  CHECK(refusal_of(network("reject", {{"to", {"10.0.0.300"}}})) ==
        "field 'to[0]': '10.0.0.300' is not a network: '10.0.0.300' is not an IPv4 or IPv6 "
        "address");
  CHECK(refusal_of(network("blackhole", {{"to", {"127.0.0.1"}}})) ==
        "field 'to[0]': 127.0.0.1/32 is loopback, which network faults never block (the agent's "
        "own API and local traffic use it)");
  CHECK(refusal_of(network("blackhole", {{"to", {"::1/128"}}})) ==
        "field 'to[0]': ::1/128 is loopback, which network faults never block (the agent's own "
        "API and local traffic use it)");
  CHECK(refusal_of(network("blackhole", {{"ports", {80, 0}}})) ==
        "field 'ports[1]' must be an integer between 1 and 65535, got 0");
  CHECK(refusal_of(network("blackhole", {{"ports", {65536}}})) ==
        "field 'ports[0]' must be an integer between 1 and 65535, got 65536");
  CHECK(refusal_of(network("blackhole", {{"ports", json::array()}})) ==
        "field 'ports' must not be empty");
  CHECK(refusal_of(network("blackhole", {{"protocol", "icmp"}})) ==
        "field 'protocol' must be one of tcp, udp");
  CHECK(refusal_of(network("reject", {{"direction", "out"}})) ==
        "field 'direction' must be one of egress, ingress, both");
  CHECK(refusal_of(network("loss")) == "missing field 'percent'");
  CHECK(refusal_of(network("loss", {{"percent", 0}})) ==
        "field 'percent' must be between 1 and 100, got 0");
  CHECK(refusal_of(network("loss", {{"percent", 30.5}})) == "field 'percent' must be an integer");
  CHECK(refusal_of(network("bandwidth", {{"rate_kbit", 512}})) == "missing field 'interface'");
  CHECK(refusal_of(network("bandwidth", {{"interface", "eth0"}})) == "missing field 'rate_kbit'");
  CHECK(refusal_of(network("bandwidth", {{"interface", "eth0/x"}, {"rate_kbit", 512}})) ==
        "field 'interface' is not an interface name (at most 15 characters, none of them '/', "
        "':', white space or control characters)");
  CHECK(refusal_of(network("bandwidth", {{"interface", "lo"}, {"rate_kbit", 512}})) ==
        "field 'interface': loopback ('lo') is never slowed (the agent's own API and local "
        "traffic use it)");
  CHECK(refusal_of(network("delay", {{"interface", "eth0"}, {"delay_ms", 0}})) ==
        "field 'delay_ms' must be between 1 and 60000, got 0");
  CHECK(refusal_of(network("isolate", {{"except", {"10.0.0.2/33"}}})) ==
        "field 'except[0]': '10.0.0.2/33' is not a network: the prefix length must be a number "
        "from 0 to 32");
  // Fields of another action are unknown for this one.
  CHECK(refusal_of(network("dns", {{"ports", {53}}})) ==
        "unknown field 'ports' for a network dns fault");
  CHECK(refusal_of(network("isolate", {{"to", {"10.0.0.0/8"}}})) ==
        "unknown field 'to' for a network isolate fault");
  CHECK(refusal_of(network("blackhole", {{"interface", "eth0"}})) ==
        "unknown field 'interface' for a network blackhole fault");
  CHECK(refusal_of({{"kind", "kill"}, {"target", {{"pid", 5}}}, {"action", "x"}}) ==
        "unknown field 'action' for a kill fault");
  // The drill runner's check (the same schema) finds them all at once, located.
  const auto problems = achilles::common::check_fault_body(
      network("loss", {{"percent", 200}, {"ports", {0}}}), achilles::common::FaultLimits{});
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].path == std::vector<std::string>{"ports"});
  CHECK(problems[1].path == std::vector<std::string>{"percent"});
}

TEST_CASE("a valid network fault is read with its defaults and shown as asked", "[netfault]") {
  const FaultSpec s = parse_fault(
      network("blackhole",
              {{"to", {"10.0.3.0/24", "fd00::7"}}, {"ports", {5432}}, {"protocol", "tcp"}}),
      allowing_network());
  CHECK(s.kind == FaultKind::kNetwork);
  CHECK(s.net.direction == "both");
  REQUIRE(s.net.to.size() == 2);
  CHECK(s.net.to[1].str() == "fd00::7/128");
  CHECK(to_json(s) == json{{"kind", "network"},
                           {"action", "blackhole"},
                           {"to", {"10.0.3.0/24", "fd00::7/128"}},
                           {"ports", {5432}},
                           {"protocol", "tcp"},
                           {"direction", "both"},
                           {"duration_ms", 1000}});
}

TEST_CASE("network faults are refused unless allow.network allows them", "[netfault]") {
  int status = 0;
  CHECK(refusal_of(network("dns"), Limits{}, &status) ==
        "network faults are refused: the configuration does not allow them (allow.network, "
        "--allow-network)");
  CHECK(status == 403);
  Limits listed;
  listed.network.allowed = true;
  std::string why;
  listed.network.cidrs = {*achilles::common::parse_cidr("10.0.0.0/16", why)};
  listed.network.interfaces = {"eth1"};
  CHECK(refusal_of(network("reject", {{"to", {"10.0.3.0/24"}}}), listed).empty());
  CHECK(refusal_of(network("reject", {{"to", {"10.0.3.0/24", "10.1.0.0/24"}}}), listed, &status) ==
        "a network reject fault acts on 10.1.0.0/24, which allow.network.cidrs (10.0.0.0/16) "
        "does not cover");
  CHECK(status == 403);
  // No `to` is every address; an isolate always is.
  CHECK(refusal_of(network("dns"), listed) ==
        "a network dns fault acts on 0.0.0.0/0, which allow.network.cidrs (10.0.0.0/16) does "
        "not cover");
  CHECK(refusal_of(network("isolate", {{"except", {"10.0.0.2"}}}), listed) ==
        "a network isolate fault acts on 0.0.0.0/0, which allow.network.cidrs (10.0.0.0/16) "
        "does not cover");
  CHECK(
      refusal_of(network("bandwidth", {{"interface", "eth1"}, {"rate_kbit", 64}}), listed).empty());
  CHECK(refusal_of(network("bandwidth", {{"interface", "eth0"}, {"rate_kbit", 64}}), listed) ==
        "interface 'eth0' is not in allow.network.interfaces (eth1)");
}

TEST_CASE("every nftables fault keeps loopback, the agent's API and neighbour discovery open",
          "[netfault]") {
  NetworkSpec n;
  n.action = "isolate";
  std::string why;
  n.except = {*achilles::common::parse_cidr("10.0.0.2", why),
              *achilles::common::parse_cidr("fd00::2", why)};
  const std::string script = nft_script("achilles_ab_1", n, 8474);
  CHECK(script ==
        "create table inet achilles_ab_1\n"
        "table inet achilles_ab_1 {\n"
        "  chain input {\n"
        "    type filter hook input priority -10; policy accept;\n"
        "    iifname \"lo\" accept\n"
        "    tcp dport 8474 accept\n"
        "    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, "
        "nd-router-advert } accept\n"
        "    ip saddr { 10.0.0.2/32 } accept\n"
        "    ip6 saddr { fd00::2/128 } accept\n"
        "    drop\n"
        "  }\n"
        "  chain output {\n"
        "    type filter hook output priority -10; policy accept;\n"
        "    oifname \"lo\" accept\n"
        "    tcp sport 8474 accept\n"
        "    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, "
        "nd-router-advert } accept\n"
        "    ip daddr { 10.0.0.2/32 } accept\n"
        "    ip6 daddr { fd00::2/128 } accept\n"
        "    drop\n"
        "  }\n"
        "}\n");
  NetworkSpec loss;
  loss.action = "loss";
  loss.percent = 30;
  loss.direction = "egress";
  loss.protocol = "udp";
  loss.ports = {53, 5353};
  const std::string l = nft_script("achilles_ab_2", loss, 8474);
  CHECK(l.find("chain input") == std::string::npos);
  CHECK(l.find("    meta l4proto udp th dport { 53, 5353 } numgen random mod 100 < 30 drop\n") !=
        std::string::npos);
  CHECK(l.find("    meta l4proto udp th sport { 53, 5353 } numgen random mod 100 < 30 drop\n") !=
        std::string::npos);
  CHECK(table_name("1b8038-10") == "achilles_1b8038_10");
}

TEST_CASE("allow.network is true, false or a map of cidrs and interfaces, and flags narrow it",
          "[netfault]") {
  using Allowed = AgentConfig::NetworkAllowed;
  CHECK(parse_config("allow: {network: true}\n", "a.yaml").allow_network == Allowed::kAny);
  CHECK(parse_config("allow: {network: false}\n", "a.yaml").allow_network == Allowed::kOff);
  CHECK(parse_config("listen: 127.0.0.1:1\n", "a.yaml").allow_network == Allowed::kOff);
  const AgentConfig listed = parse_config(
      "allow:\n  network:\n    cidrs: [10.0.0.0/8]\n    interfaces: [eth1]\n", "a.yaml");
  CHECK(listed.allow_network == Allowed::kListed);
  CHECK(listed.allow_network_cidrs == std::vector<std::string>{"10.0.0.0/8"});
  CHECK(listed.allow_network_interfaces == std::vector<std::string>{"eth1"});
  try {
    parse_config("allow:\n  network:\n    hosts: [a]\n", "a.yaml");
    FAIL("accepted");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) == "a.yaml:3:5: error: unknown key 'allow.network.hosts'");
  }
  CHECK(parse_command_line({"--allow-network"}).config.allow_network == Allowed::kAny);
  const auto narrowed =
      parse_command_line({"--allow-network", "--allow-network-cidr", "10.1.0.0/16"}).config;
  CHECK(narrowed.allow_network == Allowed::kListed);
  CHECK(narrowed.allow_network_cidrs == std::vector<std::string>{"10.1.0.0/16"});
  try {
    parse_command_line({"--allow-network-cidr", "10.1.0.1/16"});
    FAIL("accepted");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) ==
          "allow.network.cidrs: '10.1.0.1/16' has bits set beyond its prefix: write 10.1.0.0/16 "
          "(the network) or 10.1.0.1/32 (the host)");
  }
  CHECK(parse_command_line({"--check"}).check);
}

TEST_CASE("the real agent refuses a network fault with 403 unless allow.network allows it",
          "[netfault][agent]") {
  // Refused before anything is written or done: this runs without root, on loopback.
  testing::TempDir dir;
  testing::Agent agent(dir, {"--insecure-loopback"});
  const auto r = testing::http(agent.port(), "POST", "/v1/faults",
                               R"({"kind":"network","action":"dns","duration_ms":1000})");
  CHECK(r.status == 403);
  CHECK(r.json()["error"] ==
        "network faults are refused: the configuration does not allow them (allow.network, "
        "--allow-network)");
}

namespace {

// Records what the engine asks of the kernel; `fail` makes install throw it.
class FakeNetwork : public NetworkFaults {
 public:
  std::vector<std::string> installed, removed;
  std::uint16_t api_port = 0;
  std::optional<ApiError> fail;
  int fail_removes = 0;
  std::string state_at_install;
  std::string state_file;
  void install(const std::string& id, const NetworkSpec& n, std::uint16_t port) override {
    if (!state_file.empty()) {
      std::ifstream in(state_file);
      state_at_install.assign(std::istreambuf_iterator<char>(in), {});
    }
    if (fail) throw *fail;
    installed.push_back(id + " " + n.action);
    api_port = port;
  }
  void remove(const std::string& id, const NetworkSpec& n) override {
    if (fail_removes > 0) {
      --fail_removes;
      throw std::runtime_error("cannot delete nftables table " + table_name(id) + ": busy");
    }
    removed.push_back(id + " " + n.action + (n.qdisc() ? " " + n.interface : ""));
  }
  std::vector<std::string> sweep() override { return {"deleted nftables table inet achilles_x"}; }
};

json net(const std::string& action, json extra = json::object()) {
  json b = {{"kind", "network"}, {"action", action}, {"duration_ms", 1000}};
  b.update(extra);
  return b;
}

}  // namespace

TEST_CASE(
    "the engine writes a network fault down before installing it and removes it on every "
    "revert",
    "[netfault]") {
  testing::Rig rig;
  FakeNetwork network;
  auto options = rig.options();
  options.limits.network = {true, true, {}, {}};
  options.state_file = "/tmp/achilles-netfault-" + std::to_string(::getpid()) + ".json";
  network.state_file = options.state_file;
  auto deps = rig.deps();
  deps.network = &network;
  FaultEngine engine(deps, options);
  engine.set_api_port(8474);
  const json a = engine.create(net("reject"));
  const std::string id = a["id"];
  CHECK(network.installed == std::vector<std::string>{id + " reject"});
  CHECK(network.api_port == 8474);
  CHECK(network.state_at_install.find("\"table\":\"" + table_name(id) + "\"") != std::string::npos);
  // Expiry.
  rig.clock.advance(1000);
  engine.tick();
  CHECK(network.removed == std::vector<std::string>{id + " reject"});
  // DELETE and halt.
  const std::string b = engine.create(net("dns"))["id"];
  engine.remove(b);
  const std::string c =
      engine.create(net("bandwidth", {{"interface", "eth1"}, {"rate_kbit", 64}}))["id"];
  // One qdisc per interface: refused before anything is done.
  try {
    engine.create(net("delay", {{"interface", "eth1"}, {"delay_ms", 5}}));
    FAIL("accepted");
  } catch (const ApiError& e) {
    CHECK(e.status() == 409);
    CHECK(std::string(e.what()) == "interface 'eth1' already carries fault " + c +
                                       " (bandwidth): one bandwidth or delay fault per interface "
                                       "at a time");
  }
  engine.halt();
  CHECK(network.removed ==
        std::vector<std::string>{id + " reject", b + " dns", c + " bandwidth eth1"});
  std::remove(options.state_file.c_str());
}

TEST_CASE("a network fault the kernel cannot run fails with the mechanism's status", "[netfault]") {
  testing::Rig rig;
  FakeNetwork network;
  network.fail = ApiError(422, "the kernel has no sch_netem");
  auto options = rig.options();
  options.limits.network = {true, true, {}, {}};
  auto deps = rig.deps();
  deps.network = &network;
  FaultEngine engine(deps, options);
  try {
    engine.create(net("delay", {{"interface", "eth1"}, {"delay_ms", 5}}));
    FAIL("accepted");
  } catch (const ApiError& e) {
    CHECK(e.status() == 422);
  }
  CHECK(engine.list()[0]["state"] == "failed");
  CHECK(engine.active() == 0);
}

TEST_CASE("recovery deletes a recorded network fault and sweeps what no record names",
          "[netfault]") {
  testing::Rig rig;
  FakeNetwork network;
  const std::string path = "/tmp/achilles-netfault-rec-" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << "{\"achilles_state\": 1, \"agent_pid\": 1, \"halted\": null}\n"
                      << "{\"id\": \"ab-1\", \"kind\": \"network\", \"action\": \"isolate\", "
                         "\"table\": \"achilles_ab_1\"}\n"
                      << "{\"id\": \"ab-2\", \"kind\": \"network\", \"action\": "
                         "\"bandwidth\", \"interface\": \"eth1\"}\n";
  const Recovery r = recover_state(path, rig.procs, rig.signals, rig.options().guard, &network);
  CHECK(network.removed == std::vector<std::string>{"ab-1 isolate", "ab-2 bandwidth eth1"});
  REQUIRE(r.actions.size() == 3);
  CHECK(r.actions[0]["action"] == "deleted nftables table achilles_ab_1");
  CHECK(r.actions[1]["action"] == "deleted the qdisc on 'eth1'");
  CHECK(r.actions[2]["action"] == "deleted nftables table inet achilles_x");
  CHECK(r.faults == 2);
  std::remove(path.c_str());
}

TEST_CASE("an agent that does not own the network namespace deletes its recorded tables only",
          "[netfault]") {
  testing::Rig rig;
  FakeNetwork network;
  const std::string path = "/tmp/achilles-netfault-rec2-" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << "{\"achilles_state\": 1, \"agent_pid\": 1, \"halted\": null}\n"
                      << "{\"id\": \"ab-1\", \"kind\": \"network\", \"action\": \"isolate\", "
                         "\"table\": \"achilles_ab_1\"}\n"
                      << "{\"id\": \"ab-2\", \"kind\": \"network\", \"action\": "
                         "\"bandwidth\", \"interface\": \"eth1\"}\n";
  // Its table's name holds its id: deleting it cannot touch another agent's. The qdisc has
  // the handle every agent's has: the one on eth1 now may be the owner's live fault.
  const Recovery r =
      recover_state(path, rig.procs, rig.signals, rig.options().guard, &network, false);
  CHECK(network.removed == std::vector<std::string>{"ab-1 isolate"});
  REQUIRE(r.actions.size() == 2);
  CHECK(r.actions[0]["action"] == "deleted nftables table achilles_ab_1");
  CHECK(r.actions[1]["action"] ==
        "left: the qdisc on 'eth1' may be the live fault of the agent that owns this network "
        "namespace");
  std::remove(path.c_str());
}

TEST_CASE("a network fault whose table could not be deleted is tried again every second",
          "[netfault]") {
  testing::Rig rig;
  FakeNetwork network;
  network.fail_removes = 2;
  testing::TempDir dir;
  auto options = rig.options();
  options.state_file = dir.file("state.json");
  options.limits.network = {true, true, {}, {}};
  auto deps = rig.deps();
  deps.network = &network;
  FaultEngine engine(deps, options);
  std::vector<json> audit;
  engine.set_audit([&](const json& e) { audit.push_back(e); });
  const std::string id = engine.create(net("blackhole"))["id"];
  const json gone = engine.remove(id);
  // Not "reverted": the table is still there, and the fault is listed as active (and kept in
  // the state file) until a retry deletes it.
  CHECK(gone["state"] == "revert_failed");
  CHECK(gone["errors"][0]["error"] == "cannot delete nftables table " + table_name(id) + ": busy");
  CHECK(network.removed.empty());
  CHECK(engine.status()["active_faults"].size() == 1);
  CHECK(engine.status()["active_faults"][0]["id"] == id);
  CHECK(read_file(options.state_file).find(id) != std::string::npos);
  engine.tick();  // not yet a second later
  CHECK(network.fail_removes == 1);
  rig.clock.advance(1000);
  engine.tick();  // fails again
  CHECK(network.removed.empty());
  rig.clock.advance(1000);
  engine.tick();
  CHECK(network.removed == std::vector<std::string>{id + " blackhole"});
  CHECK(audit.back()["event"] == "revert retried");
  CHECK(engine.get(id)["state"] == "reverted");
  CHECK(engine.status()["active_faults"].empty());
  CHECK(read_file(options.state_file).find(id) == std::string::npos);
  rig.clock.advance(5000);
  engine.tick();
  CHECK(network.removed.size() == 1);
}

TEST_CASE("at shutdown the reverts that failed are tried again at once, and each failure is named",
          "[netfault]") {
  testing::Rig rig;
  FakeNetwork network;
  network.fail_removes = 2;
  auto options = rig.options();
  options.limits.network = {true, true, {}, {}};
  auto deps = rig.deps();
  deps.network = &network;
  FaultEngine engine(deps, options);
  const std::string id = engine.create(net("blackhole"))["id"];
  engine.revert_all("agent shutdown");
  CHECK(engine.reverts_pending());
  // No clock advance: a shutdown does not wait for the once-a-second schedule.
  CHECK(
      engine.retry_reverts(true) ==
      std::vector<std::string>{id + ": cannot delete nftables table " + table_name(id) + ": busy"});
  CHECK(engine.retry_reverts(true).empty());
  CHECK_FALSE(engine.reverts_pending());
  CHECK(network.removed == std::vector<std::string>{id + " blackhole"});
  CHECK(engine.get(id)["state"] == "reverted");
}

TEST_CASE("DELETE of a network fault whose table stays answers 500, not a success", "[netfault]") {
  testing::Rig rig;
  FakeNetwork network;
  auto options = rig.options();
  options.limits.network = {true, true, {}, {}};
  auto deps = rig.deps();
  deps.network = &network;
  FaultEngine engine(deps, options);
  AuditLog audit("");
  ApiOptions api_options;
  api_options.require_token = false;
  Api api(engine, nullptr, audit, rig.clock, api_options);
  auto call = [&](const std::string& method, const std::string& path, const std::string& body) {
    HttpRequest r;
    r.method = method;
    r.target = path;
    r.path = path;
    r.version = "HTTP/1.1";
    r.remote = "127.0.0.1:40000";
    r.body = body;
    r.content_length = body.size();
    return api.handle(r);
  };
  const HttpResponse created = call("POST", "/v1/faults", net("blackhole").dump());
  REQUIRE(created.status == 201);
  const std::string id = json::parse(created.body)["id"];
  network.fail_removes = 1;
  const HttpResponse failed = call("DELETE", "/v1/faults/" + id, "");
  CHECK(failed.status == 500);
  const json body = json::parse(failed.body);
  CHECK(body["state"] == "revert_failed");
  CHECK(body["error"] == "the fault '" + id +
                             "' could not be reverted; the agent retries every second: "
                             "[{\"error\":\"cannot delete nftables table " +
                             table_name(id) + ": busy\"}]");
  rig.clock.advance(1000);
  engine.tick();
  CHECK(network.removed == std::vector<std::string>{id + " blackhole"});
  // Deleted by the retry: a second DELETE is the final record, with 200.
  const HttpResponse again = call("DELETE", "/v1/faults/" + id, "");
  CHECK(again.status == 200);
  CHECK(json::parse(again.body)["state"] == "reverted");
}
