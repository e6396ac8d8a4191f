// Importers (docs/importers.md): realistic inputs under tests/data/import, the models they
// give, the findings those models lead to, and the messages malformed input gets.
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include "support/run.h"

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/importers.h"
#include "achilles/analyzer/loader.h"
#include "achilles/analyzer/writer.h"
#include "achilles/common/diagnostic.h"

namespace {

using namespace achilles::analyzer;

const std::string kData = std::string(ACHILLES_TEST_DATA) + "/import/";

/// Writes the topology out and loads it back: what the importers make must validate.
Topology round_trip(const Topology& t, Syntax syntax = Syntax::kYaml) {
  std::ostringstream out;
  write_topology(t, syntax, out);
  Topology back = load_topology_text(out.str(), syntax, "imported");
  REQUIRE(back.size() == t.size());
  return back;
}

const Element& at(const Topology& t, const std::string& id) {
  auto x = t.find(id);
  INFO("element " << id);
  REQUIRE(x);
  return t[*x];
}

std::vector<std::string> ids(const Topology& t, const std::vector<ElementId>& xs) {
  std::vector<std::string> out;
  for (auto x : xs)
    out.push_back(t[x].id);
  return out;
}

std::vector<std::string> deps(const Topology& t, const std::string& id) {
  std::vector<std::string> out;
  for (const auto& d : at(t, id).depends_on)
    out.push_back(t[d.target].id + (d.mode == DepMode::kSoft ? " (soft)" : ""));
  return out;
}

std::string domain_of(const Topology& t, const std::string& id) {
  ElementId d = at(t, id).domain;
  return d == kNoElement ? "" : t[d].id;
}

std::string label(const Element& e, const std::string& key) {
  for (const auto& [k, v] : e.labels)
    if (k == key) return v;
  return "";
}

std::vector<std::string> finding_ids(const Topology& t, unsigned order = 1) {
  AnalysisOptions options;
  options.order = order;
  std::vector<std::string> out;
  for (const auto& f : analyze(t, options).findings)
    out.push_back(f.id());
  return out;
}

std::vector<std::string> entrypoint_ids(const Topology& t) {
  std::vector<std::string> out;
  for (const auto& e : t.elements)
    if (e.kind == ElementKind::kEntrypoint) out.push_back(e.id);
  return out;
}

std::string import_error(std::string_view kind, const std::string& file, const std::string& text) {
  try {
    import_sources(kind, {{file, text}});
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

achilles::testing::CommandResult run_cli(const std::string& args) {
  return achilles::testing::run_binary(ACHILLES_BINARY, args);
}

}  // namespace

// --- Kubernetes -----------------------------------------------------------------------------

/// What importing tests/data/import/k8s notes: the zones assumed, the budgets read as quorums,
/// what holds data, and that zone failures cover the spread workload only.
const std::vector<std::string> kShopNotes = {
    "k8s: zones are not known (no Node objects): spread over zones assumes 3 zones, "
    "zone-1..zone-3",
    "k8s: PodDisruptionBudgets read as quorums (min_healthy; a budget limits voluntary "
    "evictions, it does not say how many pods the service needs): frontend 2 of 3 "
    "(PodDisruptionBudget frontend), cart 1 of 2 (PodDisruptionBudget cart)",
    "k8s: workloads taken as holding data (label stateful; their failures rank above equally "
    "harmful ones of stateless pods): postgres (a StatefulSet; image postgres:16 is a database, "
    "cache or queue)",
    "k8s: placement: zone failures are judged for the spread workloads only (frontend); the "
    "pods of the others are in no zone domain, as where the scheduler puts them is not in the "
    "manifests: postgres, cart, catalog"};

TEST_CASE("k8s: a shop's manifests become services of replicas with quorums and placement",
          "[import]") {
  auto r = import_paths("k8s", {kData + "k8s"});
  Topology t = round_trip(r.topology);
  CHECK(t.name == "shop");

  CHECK(ids(t, at(t, "frontend").members) ==
        std::vector<std::string>{"frontend-0", "frontend-1", "frontend-2"});
  CHECK(at(t, "frontend").type == "deployment");
  CHECK(at(t, "frontend").min_healthy == 2);  // PDB minAvailable: 2
  CHECK(label(at(t, "frontend"), "min_healthy_from") == "PodDisruptionBudget/shop/frontend");
  CHECK(at(t, "cart").min_healthy == 1);  // maxUnavailable 50% of 2, rounded up
  CHECK(ids(t, at(t, "postgres").members) == std::vector<std::string>{"postgres-0"});
  CHECK(at(t, "postgres").type == "statefulset");
  CHECK(label(at(t, "postgres"), "min_healthy_from") == "default 1: no PodDisruptionBudget");

  // Spread over zones: round-robin over the (assumed) zones; otherwise said in a label.
  CHECK(domain_of(t, "frontend-0") == "zone-1");
  CHECK(domain_of(t, "frontend-1") == "zone-2");
  CHECK(domain_of(t, "frontend-2") == "zone-3");
  CHECK(at(t, "zone-1").type == "zone");
  CHECK(domain_of(t, "cart-0") == "");
  CHECK(label(at(t, "cart"), "placement") ==
        "one per host (podAntiAffinity (required)); hosts not modelled");
  CHECK(label(at(t, "catalog"), "placement") ==
        "not stated: no topologySpreadConstraints or podAntiAffinity, replicas may share a "
        "host or zone");

  // Dependencies from env values (URL, host:port, cluster DNS name) and args.
  CHECK(deps(t, "frontend") == std::vector<std::string>{"cart", "catalog"});
  CHECK(deps(t, "cart") == std::vector<std::string>{"postgres"});
  CHECK(deps(t, "catalog") == std::vector<std::string>{"postgres"});

  const Element& www = at(t, "ingress:shop");
  CHECK(www.kind == ElementKind::kEntrypoint);
  CHECK(t[www.target].id == "frontend");
  CHECK(label(www, "source") == "k8s:Ingress/shop/shop");
  CHECK(label(at(t, "postgres-0"), "source") == "k8s:StatefulSet/shop/postgres");

  CHECK(r.notes == kShopNotes);
  CHECK(label(at(t, "postgres-0"), "stateful") ==
        "a StatefulSet; image postgres:16 is a database, cache or queue");

  // The single-replica StatefulSet is the one single point of failure.
  CHECK(finding_ids(t) == std::vector<std::string>{"spof:postgres-0"});
  auto pairs = finding_ids(t, 2);
  CHECK(std::find(pairs.begin(), pairs.end(), "cut_set:zone-1+zone-2") != pairs.end());
  CHECK(std::find(pairs.begin(), pairs.end(), "cut_set:cart-0+cart-1") != pairs.end());
}

TEST_CASE(
    "k8s: Nodes give zones and hosts, DaemonSets run one pod per node, LoadBalancers "
    "are entrypoints",
    "[import]") {
  const std::string text = R"(apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: Node, metadata: {name: n1, labels: {topology.kubernetes.io/zone: eu-west-1a, topology.kubernetes.io/region: eu-west-1}}}
  - {apiVersion: v1, kind: Node, metadata: {name: n2, labels: {topology.kubernetes.io/zone: eu-west-1b, topology.kubernetes.io/region: eu-west-1}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: proxy}
spec:
  template:
    metadata: {labels: {app: proxy}}
    spec:
      containers: [{name: envoy, image: envoy, args: ["--upstream", "api.default.svc:8080"]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 3
  template:
    metadata: {labels: {app: api}}
    spec:
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                topologyKey: topology.kubernetes.io/zone
                labelSelector: {matchLabels: {app: api}}
      containers: [{name: api, image: api}]
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec: {selector: {app: api}}
---
apiVersion: v1
kind: Service
metadata: {name: edge}
spec: {type: LoadBalancer, selector: {app: proxy}}
)";
  auto r = import_sources("k8s", {{"cluster.yaml", text}});
  Topology t = round_trip(r.topology);
  CHECK(t.name == "default");
  CHECK(ids(t, at(t, "proxy").members) == std::vector<std::string>{"proxy-n1", "proxy-n2"});
  CHECK(domain_of(t, "proxy-n1") == "node:n1");
  CHECK(at(t, "node:n1").type == "host");
  CHECK(t[at(t, "node:n1").parent].id == "eu-west-1a");
  CHECK(t[at(t, "eu-west-1a").parent].id == "eu-west-1");
  CHECK(domain_of(t, "api-0") == "eu-west-1a");
  CHECK(domain_of(t, "api-1") == "eu-west-1b");
  CHECK(domain_of(t, "api-2") == "eu-west-1a");
  CHECK(deps(t, "proxy") == std::vector<std::string>{"api"});
  CHECK(t[at(t, "lb:edge").target].id == "proxy");
  CHECK(label(at(t, "lb:edge"), "inferred") == "a LoadBalancer Service");
  CHECK(r.notes.empty());
  CHECK(finding_ids(t) == std::vector<std::string>{"domain_spof:eu-west-1"});
}

TEST_CASE("k8s: malformed manifests are reported with file, document and path", "[import]") {
  const std::string text = R"(apiVersion: v1
kind: Service
metadata: {name: db}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: three
  template:
    spec:
      containers:
        - name: web
          env:
            - name: A
              value: x
            - B=http://db
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  minAvailable: half
  selector: {matchLabels: {app: web}}
---
kind: Deployment
spec: {}
)";
  CHECK(import_error("k8s", "app.yaml", text) ==
        "app.yaml:9:13: error: document 2: /spec/replicas: must be a whole number of 0 or "
        "more, not 'three'\n"
        "app.yaml:17:15: error: document 2: /spec/template/spec/containers/0/env/1: an env "
        "entry must be a map with 'name' and 'value' or 'valueFrom', not 'B=http://db'\n"
        "app.yaml:26:1: error: document 4: missing required key 'metadata'");
  CHECK(import_error("k8s", "bad.yaml", "kind: Service\nmetadata: {name: [x\n") ==
        "bad.yaml:3:1: error: syntax error: end of sequence flow not found");
}

TEST_CASE("k8s: a PodDisruptionBudget that is not a number or a percentage is an error",
          "[import]") {
  const std::string text = R"(kind: Deployment
metadata: {name: web}
spec:
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web}]}
---
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  minAvailable: half
  selector: {matchLabels: {app: web}}
)";
  CHECK(import_error("k8s", "pdb.yaml", text) ==
        "pdb.yaml:11:17: error: document 2: /spec/minAvailable: must be a whole number or a "
        "percentage such as '50%', not 'half'");
}

// --- Kubernetes: entrypoints, Service groups, ConfigMaps, placement, state (issue 21) ---------

ImportResult k8s(const std::string& text, const ImportOptions& options = {}) {
  return import_sources("k8s", {{"app.yaml", text}}, options);
}

/// A Deployment `NAME` of `replicas` pods labelled app=APP (and version=NAME), with `extra`
/// lines of pod spec (indented 6) and `env` lines of its container (indented 10).
std::string deployment(const std::string& name, const std::string& app, int replicas = 1,
                       const std::string& env = "", const std::string& extra = "",
                       const std::string& image = "example/app") {
  return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: " + name +
         "}\nspec:\n  replicas: " + std::to_string(replicas) +
         "\n  template:\n    metadata: {labels: {app: " + app + ", version: " + name +
         "}}\n    spec:\n" + extra +
         "      containers:\n        - name: main\n          image: " + image + "\n" +
         (env.empty() ? "" : "          env:\n" + env) + "---\n";
}

std::string service(const std::string& name, const std::string& app, const std::string& more = "") {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + "}\nspec:\n" + more +
         "  selector: {app: " + app + "}\n---\n";
}

std::string note_with(const ImportResult& r, const std::string& start) {
  for (const auto& n : r.notes)
    if (n.rfind(start, 0) == 0) return n;
  return "(no note starting '" + start + "')";
}

TEST_CASE("k8s: NodePort Services and internal load balancers are entrypoints labelled as inferred",
          "[import]") {
  std::string text =
      deployment("web", "web", 2) + deployment("admin", "admin") + deployment("api", "api") +
      deployment("billing", "billing") +
      service("web", "web", "  type: NodePort\n  ports: [{port: 80, nodePort: 30080}]\n") +
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: admin\n  annotations:\n"
      "    service.beta.kubernetes.io/aws-load-balancer-internal: \"true\"\n"
      "spec: {type: LoadBalancer, selector: {app: admin}}\n---\n"
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  annotations:\n"
      "    networking.gke.io/load-balancer-type: Internal\n"
      "spec: {type: LoadBalancer, selector: {app: api}}\n---\n"
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: billing\n  annotations:\n"
      "    service.beta.kubernetes.io/azure-load-balancer-internal: \"true\"\n"
      "spec: {type: LoadBalancer, selector: {app: billing}}\n";
  auto r = k8s(text);
  Topology t = round_trip(r.topology);
  CHECK(entrypoint_ids(t) ==
        std::vector<std::string>{"nodeport:web", "lb:admin", "lb:api", "lb:billing"});
  CHECK(t[at(t, "nodeport:web").target].id == "web");
  CHECK(label(at(t, "nodeport:web"), "inferred") ==
        "a NodePort Service: reachable on every node's port 30080");
  CHECK(label(at(t, "lb:admin"), "inferred") ==
        "an internal LoadBalancer Service (service.beta.kubernetes.io/aws-load-balancer-internal: "
        "true): callers inside the private network, not the internet");
  CHECK(label(at(t, "lb:api"), "inferred") ==
        "an internal LoadBalancer Service (networking.gke.io/load-balancer-type: Internal): "
        "callers inside the private network, not the internet");
  CHECK(
      label(at(t, "lb:billing"), "inferred") ==
      "an internal LoadBalancer Service (service.beta.kubernetes.io/azure-load-balancer-internal: "
      "true): callers inside the private network, not the internet");
  CHECK(r.warnings.empty());

  // Only ClusterIP Services: the import says it found no entrypoint.
  auto none = k8s(deployment("web", "web") + service("web", "web"));
  CHECK(none.topology.count(ElementKind::kEntrypoint) == 0);
  CHECK(none.warnings ==
        std::vector<std::string>{
            "no entrypoint could be inferred, so analyze has no request path to judge and finds "
            "nothing: name where users come in with --entrypoint ID (services: web)"});
}

TEST_CASE(
    "k8s: a Service over several Deployments (versions of one app) is one group of those "
    "workloads, not a dependency on each",
    "[import]") {
  std::string text = deployment("page", "page", 1,
                                "            - {name: REVIEWS, value: \"http://reviews:9080\"}\n") +
                     service("page", "page", "  type: LoadBalancer\n") +
                     deployment("reviews-v1", "reviews") + deployment("reviews-v2", "reviews", 2) +
                     deployment("reviews-v3", "reviews", 1,
                                "            - {name: PEERS, value: \"reviews:9080\"}\n") +
                     service("reviews", "reviews");
  auto r = k8s(text);
  Topology t = round_trip(r.topology);
  CHECK(deps(t, "page") == std::vector<std::string>{"reviews"});
  CHECK(deps(t, "reviews-v3").empty());  // it names its own Service: no loop through itself
  const Element& g = at(t, "reviews");
  CHECK(g.type == "k8s-service");
  CHECK(ids(t, g.members) == std::vector<std::string>{"reviews-v1", "reviews-v2", "reviews-v3"});
  CHECK(ids(t, at(t, "reviews-v2").members) ==
        std::vector<std::string>{"reviews-v2-0", "reviews-v2-1"});
  CHECK(g.min_healthy == 1);
  CHECK(label(g, "selects") == "reviews-v1, reviews-v2, reviews-v3");
  CHECK(note_with(r, "k8s: Services that select") ==
        "k8s: Services that select several workloads are one service of those workloads, not a "
        "dependency on each: reviews over reviews-v1, reviews-v2, reviews-v3 (any 1 serves: "
        "service reviews)");
  // No version is a single point of failure: only the page itself is.
  CHECK(finding_ids(t) == std::vector<std::string>{"spof:page-0"});
}

TEST_CASE(
    "k8s: each workload behind a Service over several workloads falls with its own dependencies, "
    "so a database all versions call is a single point of failure",
    "[import]") {
  std::string db = "            - {name: DB, value: \"http://db:5432\"}\n";
  std::string text =
      deployment("front", "front", 2, "            - {name: API, value: \"http://api:80\"}\n") +
      service("front", "front", "  type: LoadBalancer\n") + deployment("api-v1", "api", 2, db) +
      deployment("api-v2", "api", 2, db) + service("api", "api") + deployment("db", "db") +
      service("db", "db");
  auto r = k8s(text);
  Topology t = round_trip(r.topology);
  CHECK(ids(t, at(t, "api").members) == std::vector<std::string>{"api-v1", "api-v2"});
  CHECK(at(t, "api").min_healthy == 1);
  CHECK(deps(t, "front") == std::vector<std::string>{"api"});
  CHECK(deps(t, "api-v1") == std::vector<std::string>{"db"});
  CHECK(deps(t, "api-v2") == std::vector<std::string>{"db"});
  CHECK(t[at(t, "lb:front").target].id == "front");
  // db-0 takes both versions, so the group, so the front end: a single point of failure. No
  // version nor any one api pod is.
  CHECK(finding_ids(t, 2) == std::vector<std::string>{"spof:db-0", "cut_set:front-0+front-1"});
  CHECK(note_with(r, "k8s: Services that select") ==
        "k8s: Services that select several workloads are one service of those workloads, not a "
        "dependency on each: api over api-v1, api-v2 (any 1 serves: service api)");
}

TEST_CASE(
    "k8s: many Services over the same large Deployments are groups of the workloads, not copies "
    "of every pod",
    "[import][slow]") {
  // Before, each Service's group held every pod of its targets: 20 Services over two
  // Deployments of 100,000 replicas made 4,000,000 members (213 s). Now two members each.
  std::string text = deployment("big-v1", "big", 100000) + deployment("big-v2", "big", 100000);
  for (int i = 0; i < 20; ++i)
    text += service("s" + std::to_string(i), "big");
  auto r = k8s(text);
  size_t members = 0;
  for (const auto& e : r.topology.elements)
    if (e.kind == ElementKind::kService) members += e.members.size();
  CHECK(members == 200000 + 20 * 2);
  CHECK(ids(r.topology, at(r.topology, "s19").members) ==
        std::vector<std::string>{"big-v1", "big-v2"});
}

TEST_CASE(
    "k8s: a value naming thousands of hosts and a ConfigMap read by hundreds of references give "
    "each dependency and each unmatched name once, in the order found",
    "[import]") {
  // Shapes that took the import minutes when every reference re-scanned the ConfigMap and the
  // notes were de-duplicated by linear search; here only the result is checked.
  std::string hosts, expected;
  for (int i = 0; i < 5000; ++i) {
    hosts += "http://h" + std::to_string(i) + ".svc:80 ";
    expected += (expected.empty() ? "" : ", ") + ("h" + std::to_string(i)) + ".svc (front env X)";
  }
  std::string map = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shop}\ndata:\n";
  for (int i = 0; i < 2000; ++i) {
    map += "  K" + std::to_string(i) + ": \"http://m" + std::to_string(i) + ".svc:80\"\n";
    expected += ", m" + std::to_string(i) + ".svc (front envFrom ConfigMap shop key K" +
                std::to_string(i) + ")";
  }
  map += "  DB: \"db:5432\"\n---\n";
  std::string env = "            - {name: X, value: \"" + hosts + hosts + "\"}\n";
  for (int i = 0; i < 300; ++i)
    env += "            - name: DB" + std::to_string(i) +
           "\n              valueFrom: {configMapKeyRef: {name: shop, key: DB}}\n";
  env += "          envFrom:\n";
  for (int i = 0; i < 300; ++i)
    env += "            - configMapRef: {name: shop}\n            - configMapRef: {name: gone}\n";
  auto r = k8s(map + deployment("front", "front", 1, env) +
               service("front", "front", "  type: LoadBalancer\n") + deployment("db", "db") +
               service("db", "db"));
  Topology t = round_trip(r.topology);
  CHECK(deps(t, "front") == std::vector<std::string>{"db"});
  CHECK(note_with(r, "k8s: names that look") ==
        "k8s: names that look like Services but match none of the manifests (not deployed with "
        "them, or a name to check): " +
            expected);
  CHECK(note_with(r, "k8s: ConfigMaps read") ==
        "k8s: ConfigMaps read by workloads but not in the manifests, so not searched for Service "
        "names: gone (front)");
}

TEST_CASE(
    "k8s: envFrom, configMapKeyRef and mounted ConfigMaps are read for Service names, and a name "
    "that matches nothing is listed in a note",
    "[import]") {
  std::string text =
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shop-env}\n"
      "data: {CART_ADDR: \"cart:7070\", THEME: dark, ASSISTANT_ADDR: "
      "\"shoppingassistantservice:80\"}\n---\n"
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: urls}\n"
      "data: {catalog: \"http://catalog.default.svc.cluster.local:3550/api\"}\n---\n"
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: proxy-conf}\n"
      "data: {nginx.conf: \"upstream x { server ads:9555; }\\nserver { proxy_pass "
      "http://api.stripe.com; }\"}\n---\n" +
      deployment("web", "web", 1,
                 "            - name: CATALOG\n"
                 "              valueFrom: {configMapKeyRef: {name: urls, key: catalog}}\n"
                 "            - {name: ORDERS, value: \"orders.default.svc:80\"}\n",
                 "      volumes: [{name: conf, configMap: {name: proxy-conf}}, "
                 "{name: more, configMap: {name: absent}}]\n") +
      service("web", "web", "  type: LoadBalancer\n") + deployment("cart", "cart") +
      service("cart", "cart") + deployment("catalog", "catalog") + service("catalog", "catalog") +
      deployment("ads", "ads") + service("ads", "ads");
  // envFrom goes on the container: add it to web's.
  const std::string anchor = "          image: example/app\n";
  text.replace(text.find(anchor, text.find("name: web")), anchor.size(),
               anchor + "          envFrom: [{configMapRef: {name: shop-env}}]\n");
  auto r = k8s(text);
  Topology t = round_trip(r.topology);
  CHECK(deps(t, "web") == std::vector<std::string>{"ads", "catalog", "cart"});
  CHECK(note_with(r, "k8s: names that look") ==
        "k8s: names that look like Services but match none of the manifests (not deployed with "
        "them, or a name to check): orders.default.svc (web env ORDERS), shoppingassistantservice "
        "(web envFrom ConfigMap shop-env key ASSISTANT_ADDR)");
  CHECK(note_with(r, "k8s: ConfigMaps read") ==
        "k8s: ConfigMaps read by workloads but not in the manifests, so not searched for Service "
        "names: absent (web)");
  CHECK(note_with(r, "k8s: skipped kinds").find("(no note") == 0);  // ConfigMaps are read
}

TEST_CASE(
    "k8s: spread whose selector does not match the workload's own pods is flagged and not "
    "credited, and the zone analysis says which workloads it covers",
    "[import]") {
  const std::string zone_spread =
      "      topologySpreadConstraints:\n"
      "        - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, "
      "labelSelector: {matchLabels: {app: web}}}\n";
  const std::string wrong_anti =
      "      affinity:\n        podAntiAffinity:\n"
      "          requiredDuringSchedulingIgnoredDuringExecution:\n"
      "            - topologyKey: topology.kubernetes.io/zone\n"
      "              labelSelector: {matchLabels: {app: kart}}\n";
  const std::string no_selector =
      "      affinity:\n        podAntiAffinity:\n"
      "          preferredDuringSchedulingIgnoredDuringExecution:\n"
      "            - weight: 100\n"
      "              podAffinityTerm: {topologyKey: kubernetes.io/hostname}\n";
  const std::string expressions =
      "      topologySpreadConstraints:\n"
      "        - maxSkew: 1\n          topologyKey: topology.kubernetes.io/zone\n"
      "          labelSelector:\n            matchExpressions:\n"
      "              - {key: app, operator: In, values: [db, cache]}\n";
  auto r = k8s(deployment("web", "web", 3, "", zone_spread) +
               deployment("cart", "cart", 3, "", wrong_anti) +
               deployment("search", "search", 2, "", no_selector) +
               deployment("db", "db", 3, "", expressions));
  Topology t = round_trip(r.topology);
  CHECK(domain_of(t, "web-1") == "zone-2");
  CHECK(domain_of(t, "db-1") == "zone-2");
  CHECK(domain_of(t, "cart-0") == "");
  CHECK(label(at(t, "cart"), "placement") ==
        "not stated: no topologySpreadConstraints or podAntiAffinity, replicas may share a host "
        "or zone");
  std::vector<std::string> flagged;
  for (const auto& n : r.notes)
    if (n.find("not credited") != std::string::npos) flagged.push_back(n);
  CHECK(flagged ==
        std::vector<std::string>{
            "k8s: Deployment default/cart: podAntiAffinity (required) over "
            "topology.kubernetes.io/zone selects app=kart, not this workload's own pods "
            "(app=cart, version=cart): not credited as spread",
            "k8s: Deployment default/search: podAntiAffinity (preferred) over "
            "kubernetes.io/hostname selects no pods (it has no labelSelector): not credited as "
            "spread"});
  CHECK(note_with(r, "k8s: placement") ==
        "k8s: placement: zone failures are judged for the spread workloads only (web, db); the "
        "pods of the others are in no zone domain, as where the scheduler puts them is not in "
        "the manifests: cart, search");
}

TEST_CASE(
    "k8s: a stateful single replica (StatefulSet, volume claim, emptyDir at a data path, database "
    "image) is labelled and ranks above stateless pods, while scratch emptyDirs do not count",
    "[import]") {
  const std::string scratch = "      volumes: [{name: tmp, emptyDir: {}}]\n";
  std::string text =
      deployment("web", "web", 1,
                 "            - {name: A, value: \"api:80\"}\n            - {name: B, value: "
                 "\"cache:11211\"}\n"
                 "            - {name: C, value: \"files:80\"}\n",
                 scratch) +
      service("web", "web", "  type: LoadBalancer\n") +
      deployment("api", "api", 1, "            - {name: Q, value: \"queue:5672\"}\n") +
      service("api", "api") + deployment("queue", "queue", 1, "", "", "rabbitmq:3-management") +
      service("queue", "queue") +
      deployment("cache", "cache", 1, "", "      volumes: [{name: d, emptyDir: {}}]\n",
                 "example/cache") +
      service("cache", "cache") +
      deployment("files", "files", 1, "",
                 "      volumes: [{name: f, persistentVolumeClaim: {claimName: files}}]\n") +
      service("files", "files");
  // Mounts: web's emptyDir at /tmp (scratch), cache's at /var/lib/cache, files' claim at /srv.
  auto mount = [&](const std::string& workload, const std::string& volume, const std::string& at) {
    const std::string anchor = "          image: ";
    size_t pos = text.find(anchor, text.find("name: " + workload + "}"));
    pos = text.find('\n', pos) + 1;
    text.insert(pos, "          volumeMounts: [{name: " + volume + ", mountPath: " + at + "}]\n");
  };
  mount("web", "tmp", "/tmp");
  mount("cache", "d", "/var/lib/cache");
  mount("files", "f", "/srv");
  auto r = k8s(text);
  Topology t = round_trip(r.topology);
  CHECK(label(at(t, "web"), "stateful") == "");
  CHECK(label(at(t, "api"), "stateful") == "");
  CHECK(label(at(t, "queue-0"), "stateful") ==
        "image rabbitmq:3-management is a database, cache or queue");
  CHECK(label(at(t, "cache"), "stateful") ==
        "emptyDir volume d at /var/lib/cache, lost with the pod");
  CHECK(label(at(t, "files"), "stateful") == "persistentVolumeClaim volume f at /srv");
  // The queue takes the most down; the cache and the files hold data and rank above the api,
  // which takes as much down (one entrypoint, two services, one component); the web last.
  auto groups = analyze(t, AnalysisOptions{}).groups;
  std::vector<std::string> fixes;
  for (const auto& g : groups)
    fixes.push_back(g.fix);
  CHECK(fixes == std::vector<std::string>{"queue", "cache", "files", "api", "web"});
}

TEST_CASE(
    "k8s: Helm charts and Kustomize trees are refused with the command that renders them, and in a "
    "directory patches and non-manifest YAML are skipped with a note",
    "[import]") {
  const std::string real = kData + "real/k8s/";
  auto chart = run_cli("import k8s " + real + "boutique-helm-chart");
  CHECK(chart.code == 2);
  CHECK(chart.err == real + "boutique-helm-chart/Chart.yaml: error: " + real +
                         "boutique-helm-chart is a Helm chart (Chart.yaml), not manifests: render "
                         "it first with `helm template RELEASE " +
                         real + "boutique-helm-chart > out.yaml`, then import out.yaml\n");
  auto kustomize = run_cli("import k8s " + real + "boutique-kustomize");
  CHECK(kustomize.code == 2);
  CHECK(kustomize.err == real + "boutique-kustomize/kustomization.yaml: error: " + real +
                             "boutique-kustomize is a Kustomize tree (kustomization.yaml), not "
                             "manifests: render it first with `kubectl kustomize " +
                             real + "boutique-kustomize > out.yaml`, then import out.yaml\n");
  // One template given by itself: not YAML a manifest can be read from.
  auto tmpl = run_cli("import k8s " + real + "boutique-helm-chart/templates/redis.yaml");
  CHECK(tmpl.code == 2);
  CHECK(tmpl.err == real +
                        "boutique-helm-chart/templates/redis.yaml:1:1: error: a Helm template "
                        "('{{'), not a manifest: render the chart first with `helm template "
                        "RELEASE CHART_DIR > out.yaml`, then import out.yaml\n");

  // `{{` in a ConfigMap value (an Alertmanager template) is no Helm template: the file reads.
  auto alerts =
      k8s("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: alerts}\ndata:\n  t.tmpl: |\n"
          "    {{ if .Labels }}{{ .Labels.instance }}{{ end }}\n---\n" +
          deployment("web", "web"));
  CHECK(alerts.topology.find("web"));

  // A directory of manifests with a values file and a patch beside them.
  std::string dir = "/tmp/achilles-import-test-k8s-dir";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/app.yaml")
      << deployment("web", "web", 2) << service("web", "web", "  type: LoadBalancer\n");
  std::ofstream(dir + "/values.yaml") << "replicaCount: 3\nimage: {tag: v2}\n";
  std::ofstream(dir + "/list.yaml")
      << "apiVersion: v1\nkind: List\nitems:\n  - {replicaCount: 2}\n";
  std::ofstream(dir + "/replicas-patch.yaml")
      << "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 5}\n";
  auto r = import_paths("k8s", {dir});
  CHECK(note_with(r, "k8s: skipped in") ==
        "k8s: skipped in the directories, not manifests: " + dir +
            "/list.yaml (no kind: not a manifest); " + dir +
            "/replicas-patch.yaml (Deployment without spec.template: a patch?); " + dir +
            "/values.yaml (no kind: not a manifest)");
  CHECK(ids(r.topology, at(r.topology, "web").members) ==
        std::vector<std::string>{"web-0", "web-1"});
  // The same files named one by one are errors: the user said they are manifests.
  CHECK_THROWS_WITH(import_paths("k8s", {dir + "/values.yaml"}),
                    dir + "/values.yaml:1:1: error: missing required key 'kind'");
  std::filesystem::remove_all(dir);
}

// --- Kubernetes: real, public manifests (tests/data/import/real/k8s/SOURCES.md) ---------------

const std::string kRealK8s = kData + "real/k8s/";

TEST_CASE(
    "k8s, real: every manifest of tests/data/import/real/k8s imports (exit 0) and analyzes, and "
    "the Helm chart and the Kustomize tree are refused (exit 2)",
    "[import]") {
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kRealK8s)) {
    INFO(entry.path());
    if (entry.is_directory()) {
      CHECK(run_cli("import k8s " + entry.path().string()).code == 2);
      continue;
    }
    if (entry.path().extension() != ".yaml") continue;
    ++files;
    auto r = run_cli("import k8s " + entry.path().string() + " -o /tmp/achilles-real-k8s.yaml");
    CHECK(r.code == 0);
    auto a = run_cli("analyze /tmp/achilles-real-k8s.yaml --order 2");
    CHECK(a.code == 0);
  }
  std::remove("/tmp/achilles-real-k8s.yaml");
  CHECK(files == 4);
}

TEST_CASE(
    "k8s, real: Online Boutique: redis-cart, its carts on an emptyDir, is the first finding of "
    "analyze, and the LoadBalancer is the one entrypoint",
    "[import]") {
  auto r = import_paths("k8s", {kRealK8s + "online-boutique.yaml"});
  Topology t = round_trip(r.topology);
  CHECK(entrypoint_ids(t) == std::vector<std::string>{"lb:frontend-external"});
  CHECK(label(at(t, "lb:frontend-external"), "inferred") == "a LoadBalancer Service");
  CHECK(deps(t, "frontend") == std::vector<std::string>{"productcatalogservice", "currencyservice",
                                                        "cartservice", "recommendationservice",
                                                        "shippingservice", "checkoutservice",
                                                        "adservice"});
  CHECK(deps(t, "cartservice") == std::vector<std::string>{"redis-cart"});
  CHECK(label(at(t, "redis-cart-0"), "stateful") ==
        "image redis:alpine is a database, cache or queue; emptyDir volume redis-data at /data, "
        "lost with the pod");
  CHECK(r.warnings.empty());

  std::string out = "/tmp/achilles-import-test-boutique.yaml";
  CHECK(run_cli("import k8s " + kRealK8s + "online-boutique.yaml -o " + out).code == 0);
  auto a = run_cli("analyze " + out + " --order 1");
  std::remove(out.c_str());
  CHECK(a.code == 0);
  // The first risk group and the first finding listed.
  auto groups = a.out.find("RISK GROUPS");
  REQUIRE(groups != std::string::npos);
  auto line = a.out.substr(a.out.find('\n', groups) + 1);
  CHECK(line.substr(0, line.find('\n')) ==
        "  critical redis-cart lacks redundancy or spread: 1 finding, 1 entrypoint down");
  auto first = a.out.find("spof:");
  REQUIRE(first != std::string::npos);
  CHECK(a.out.substr(first, a.out.find('\n', first) - first) == "spof:redis-cart-0");
}

TEST_CASE(
    "k8s, real: Istio bookinfo: reviews v1, v2 and v3 are one group behind the reviews Service, "
    "and with no entrypoint the import warns",
    "[import]") {
  auto r = import_paths("k8s", {kRealK8s + "bookinfo.yaml"});
  Topology t = round_trip(r.topology);
  CHECK(ids(t, at(t, "reviews").members) ==
        std::vector<std::string>{"reviews-v1", "reviews-v2", "reviews-v3"});
  CHECK(ids(t, at(t, "reviews-v3").members) == std::vector<std::string>{"reviews-v3-0"});
  CHECK(at(t, "reviews").min_healthy == 1);
  CHECK(note_with(r, "k8s: Services that select") ==
        "k8s: Services that select several workloads are one service of those workloads, not a "
        "dependency on each: reviews over reviews-v1, reviews-v2, reviews-v3 (any 1 serves: "
        "service reviews)");
  // The /tmp and output emptyDirs are scratch space, not data.
  CHECK(label(at(t, "reviews-v1"), "stateful") == "");
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].rfind("no entrypoint could be inferred", 0) == 0);
  ImportOptions page;
  page.entrypoints = {"productpage-v1"};
  // productpage calls details and reviews by names built into its image: not in the manifests.
  CHECK(finding_ids(round_trip(import_paths("k8s", {kRealK8s + "bookinfo.yaml"}, page).topology),
                    2) == std::vector<std::string>{"spof:productpage-v1-0"});
}

TEST_CASE(
    "k8s, real: Sock Shop: the NodePort front end is the entrypoint, the Zipkin name in "
    "another namespace is noted, the databases are stateful",
    "[import]") {
  auto r = import_paths("k8s", {kRealK8s + "sock-shop.yaml"});
  Topology t = round_trip(r.topology);
  CHECK(entrypoint_ids(t) == std::vector<std::string>{"nodeport:front-end"});
  CHECK(label(at(t, "nodeport:front-end"), "inferred") ==
        "a NodePort Service: reachable on every node's port 30001");
  CHECK(deps(t, "user") == std::vector<std::string>{"user-db"});
  CHECK(note_with(r, "k8s: names that look") ==
        "k8s: names that look like Services but match none of the manifests (not deployed with "
        "them, or a name to check): zipkin.jaeger.svc.cluster.local (shipping env ZIPKIN)");
  CHECK(label(at(t, "carts-db"), "stateful") == "image mongo is a database, cache or queue");
  CHECK(label(at(t, "carts"), "stateful") == "");  // an emptyDir at /tmp
  CHECK(finding_ids(t) == std::vector<std::string>{"spof:front-end-0"});
}

TEST_CASE(
    "k8s, real: guestbook: no LoadBalancer (commented out), so the import warns, and the Redis "
    "master is stateful",
    "[import]") {
  auto r = import_paths("k8s", {kRealK8s + "guestbook.yaml"});
  Topology t = round_trip(r.topology);
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0] ==
        "no entrypoint could be inferred, so analyze has no request path to judge and finds "
        "nothing: name where users come in with --entrypoint ID (services: redis-master, "
        "redis-slave, frontend)");
  CHECK(label(at(t, "redis-master"), "stateful") ==
        "image k8s.gcr.io/redis:e2e is a database, cache or queue");
  std::string out = "/tmp/achilles-import-test-guestbook.yaml";
  CHECK(run_cli("import k8s " + kRealK8s + "guestbook.yaml -o " + out).code == 0);
  std::ifstream in(out);
  std::vector<std::string> head(4);
  for (auto& line : head)
    std::getline(in, line);
  CHECK(head[3] == "# warning: " + r.warnings[0]);
  std::remove(out.c_str());
}

// --- Compose --------------------------------------------------------------------------------

TEST_CASE("compose: services, replicas, depends_on, environment URLs and published ports",
          "[import]") {
  auto r = import_paths("compose", {kData + "docker-compose.yml"});
  Topology t = round_trip(r.topology, Syntax::kJson);
  CHECK(t.name == "webapp");
  CHECK(ids(t, at(t, "api").members) == std::vector<std::string>{"api-1", "api-2"});
  CHECK(ids(t, at(t, "db").members) == std::vector<std::string>{"db-1"});
  CHECK(domain_of(t, "api-2") == "host:webapp");
  CHECK(at(t, "host:webapp").type == "host");
  CHECK(deps(t, "nginx") == std::vector<std::string>{"api"});
  CHECK(deps(t, "api") == std::vector<std::string>{"db", "cache"});
  CHECK(deps(t, "worker") == std::vector<std::string>{"cache", "db"});
  const Element& ep = at(t, "published:nginx");
  CHECK(t[ep.target].id == "nginx");
  CHECK(label(ep, "ports") == "80:80, 443:443");
  CHECK(label(at(t, "api-1"), "source") == "compose:api");
  CHECK(t.count(ElementKind::kEntrypoint) == 1);
  CHECK(finding_ids(t) == std::vector<std::string>{"domain_spof:host:webapp", "spof:cache-1",
                                                   "spof:db-1", "spof:nginx-1"});
}

TEST_CASE("compose: depends_on an unknown service or condition is an error", "[import]") {
  const std::string text = R"(services:
  web:
    depends_on:
      db: {condition: service_ready}
      queue: {condition: service_started}
  db: {image: postgres}
)";
  CHECK(import_error("compose", "compose.yaml", text) ==
        "compose.yaml:4:23: error: /services/web/depends_on/db/condition: must be "
        "service_started, service_healthy or service_completed_successfully, not "
        "'service_ready'\n"
        "compose.yaml:5:7: error: /services/web/depends_on/queue: depends on 'queue', which is "
        "not a service of this file");
}

TEST_CASE(
    "compose: a merge key that names no map and a port with no container port are "
    "errors",
    "[import]") {
  const std::string text = R"(services:
  web:
    <<: 5
    ports: ["[::1]:8080:80", ":::", "8080:"]
  api:
    <<: [{image: shop/api}, latest]
)";
  CHECK(import_error("compose", "compose.yaml", text) ==
        "compose.yaml:3:9: error: /services/web/<<: a merge key names a map or a list of maps, "
        "not '5'\n"
        "compose.yaml:6:29: error: /services/api/<</1: a merge key lists maps, not 'latest'\n"
        "compose.yaml:4:30: error: /services/web/ports/1: must be [IP:][HOST:]CONTAINER or a map "
        "with 'target', not ':::'\n"
        "compose.yaml:4:37: error: /services/web/ports/2: must be [IP:][HOST:]CONTAINER or a map "
        "with 'target', not '8080:'");
}

// --- Compose: what is and is not on the request path (issue 21) -----------------------------

ImportResult compose(const std::string& text, const ImportOptions& options = {}) {
  return import_sources("compose", {{"compose.yaml", text}}, options);
}

std::string yaml_of(const Topology& t) {
  std::ostringstream out;
  write_topology(t, Syntax::kYaml, out);
  return out.str();
}

TEST_CASE(
    "compose: a tracing agent that every service lists is not a dependency, and its UI "
    "port is not an entrypoint",
    "[import]") {
  auto r = compose(R"(name: shop
services:
  web:
    image: shop/web
    ports: ["80:8080"]
    depends_on: [api, jaeger]
  api:
    image: shop/api
    depends_on: [jaeger]
    environment:
      OTEL_EXPORTER_OTLP_ENDPOINT: http://otel-collector:4318
  otel-collector:
    image: ${COLLECTOR_IMAGE}
    depends_on: [jaeger]
  jaeger:
    image: jaegertracing/all-in-one:1.58
    ports: ["16686:16686", "14268:14268"]
)");
  CHECK(r.notes == std::vector<std::string>{
                       "compose: otel-collector is an OpenTelemetry collector (by service name "
                       "otel-collector), never on the request path: not a dependency of api",
                       "compose: jaeger is Jaeger (tracing) (by image "
                       "jaegertracing/all-in-one:1.58), never on the request path: not a "
                       "dependency of api, otel-collector, web",
                       "compose: published ports not taken as entrypoints (not user traffic): "
                       "jaeger 16686:16686 (Jaeger (tracing), by image "
                       "jaegertracing/all-in-one:1.58); jaeger 14268:14268 (Jaeger (tracing), by "
                       "image jaegertracing/all-in-one:1.58)"});
  CHECK(r.warnings.empty());
  CHECK(yaml_of(r.topology) == R"(version: 1
name: "shop"
domains:
  - {id: "host:shop", kind: "host", labels: {"source": "compose: every service runs on the one Docker host"}}
components:
  - {id: "web-1", kind: "container", domain: "host:shop", labels: {"source": "compose:web", "image": "shop/web"}}
  - {id: "api-1", kind: "container", domain: "host:shop", labels: {"source": "compose:api", "image": "shop/api"}}
  - {id: "otel-collector-1", kind: "container", domain: "host:shop", labels: {"source": "compose:otel-collector", "image": "${COLLECTOR_IMAGE}"}}
  - {id: "jaeger-1", kind: "container", domain: "host:shop", labels: {"source": "compose:jaeger", "image": "jaegertracing/all-in-one:1.58"}}
services:
  - {id: "web", members: ["web-1"], depends_on: ["api"], labels: {"source": "compose:web"}}
  - {id: "api", members: ["api-1"], labels: {"source": "compose:api"}}
  - {id: "otel-collector", members: ["otel-collector-1"], labels: {"source": "compose:otel-collector", "role": "an OpenTelemetry collector, by service name otel-collector"}}
  - {id: "jaeger", members: ["jaeger-1"], labels: {"source": "compose:jaeger", "role": "Jaeger (tracing), by image jaegertracing/all-in-one:1.58"}}
entrypoints:
  - {id: "published:web", target: "web", labels: {"source": "compose:web", "ports": "80:8080", "inferred": "published ports that look like user traffic"}}
)");
  CHECK(finding_ids(round_trip(r.topology)) ==
        std::vector<std::string>{"domain_spof:host:shop", "spof:api-1", "spof:web-1"});
}

TEST_CASE(
    "compose: one-shot jobs (service_completed_successfully, a restart-no migration) are "
    "not runtime dependencies",
    "[import]") {
  auto r = compose(R"(name: shop
services:
  web:
    image: shop/web
    ports: ["443:8443"]
    depends_on:
      db: {condition: service_healthy}
      schema: {condition: service_completed_successfully}
      migrate: {condition: service_started}
  schema:
    image: shop/web
    command: ["rails", "db:setup"]
    depends_on: [db]
  migrate:
    image: shop/web
    restart: "no"
    command: ["rails", "db:migrate"]
  db:
    image: postgres:16
)");
  CHECK(r.notes == std::vector<std::string>{
                       "compose: one-shot jobs run before the services start and exit, so they "
                       "are not runtime dependencies; left out: schema (web waits for it to "
                       "complete (service_completed_successfully)); migrate (restart: \"no\" and "
                       "it runs once (migrat...))"});
  Topology t = round_trip(r.topology);
  CHECK(deps(t, "web") == std::vector<std::string>{"db"});
  CHECK_FALSE(t.find("schema"));
  CHECK_FALSE(t.find("migrate-1"));
  CHECK(finding_ids(t) ==
        std::vector<std::string>{"domain_spof:host:shop", "spof:db-1", "spof:web-1"});
}

TEST_CASE(
    "compose: services of a profile are imported only with --profile, as docker compose "
    "starts them",
    "[import]") {
  const std::string text = R"(name: ai
services:
  app:
    image: ai/app
    ports: ["8080:8080"]
    environment: [OLLAMA_HOST=ollama:11434]
  ollama-cpu:
    profiles: [cpu]
    container_name: ollama
    image: ollama/ollama
  ollama-gpu:
    profiles: ["gpu"]
    image: ollama/ollama
)";
  auto r = compose(text);
  CHECK(r.notes == std::vector<std::string>{
                       "compose: services of profiles not enabled are left out, as docker "
                       "compose does: ollama-cpu (cpu), ollama-gpu (gpu); enable a profile with "
                       "--profile NAME",
                       "compose: dependencies left out: app -> ollama-cpu (environment; "
                       "ollama-cpu is in a profile not enabled)"});
  CHECK_FALSE(r.topology.find("ollama-cpu"));
  CHECK(r.topology.count(ElementKind::kService) == 1);

  ImportOptions cpu;
  cpu.profiles = {"cpu"};
  auto with = compose(text, cpu);
  Topology t = round_trip(with.topology);
  CHECK(deps(t, "app") == std::vector<std::string>{"ollama-cpu"});
  CHECK(label(at(t, "app"), "inferred_dependencies") == "ollama-cpu (environment)");
  CHECK_FALSE(t.find("ollama-gpu"));
  ImportOptions all;
  all.profiles = {"*"};
  CHECK(compose(text, all).topology.count(ElementKind::kService) == 3);

  ImportOptions typo;
  typo.profiles = {"gpu-nvidia"};
  CHECK_THROWS_WITH(compose(text, typo),
                    "achilles import: error: --profile 'gpu-nvidia': no "
                    "service has it (profiles: cpu, gpu)");
}

TEST_CASE(
    "compose: links, host names in command and environment, and YAML merge keys give "
    "dependencies, a host name matching nothing is noted",
    "[import]") {
  auto r = compose(R"(name: blog
x-app: &app
  image: blog/app
  links: ["db:database"]
  environment:
    CACHE: redis://cache:6379
    SEARCH_URL: http://search:9200
services:
  web:
    <<: *app
    ports: ["80:3000"]
  sim:
    image: blog/load-test
    command: "-d 60 -h web"
  db:
    image: mysql:8
  memcached:
    image: memcached
    hostname: cache
)");
  CHECK(r.notes == std::vector<std::string>{
                       "compose: dependencies inferred from service names in environment, "
                       "command and entrypoint (label inferred_dependencies): web -> memcached "
                       "(environment), sim -> web (command)",
                       "compose: host names that match no service of the file (outside it, or a "
                       "name to check): search (web environment)"});
  Topology t = round_trip(r.topology);
  CHECK(deps(t, "web") == std::vector<std::string>{"db", "memcached"});
  CHECK(deps(t, "sim") == std::vector<std::string>{"web"});
  CHECK(label(at(t, "web-1"), "image") == "blog/app");
}

TEST_CASE(
    "compose: a Swarm stack spreads replicas over nodes, a global service runs on each, "
    "placement constraints are labels",
    "[import]") {
  auto r = compose(R"(name: vote
services:
  vote:
    image: vote/vote
    ports: ["5000:80"]
    depends_on: [redis]
    deploy: {replicas: 2}
  redis:
    image: redis:alpine
    deploy:
      replicas: 2
      update_config: {parallelism: 2}
  db:
    image: postgres:9.4
    deploy:
      placement:
        constraints: [node.role == manager]
  agent:
    image: vote/agent
    deploy: {mode: global}
)");
  CHECK(r.notes == std::vector<std::string>{
                       "compose: a Swarm stack (redis has deploy.update_config, db has "
                       "deploy.placement, agent has deploy.mode): the nodes are not in the file, "
                       "so 3 nodes swarm-node-1..swarm-node-3 are assumed; replicated tasks are "
                       "spread over them in turn, a global service runs one task on each; "
                       "placement constraints are kept as labels, not modelled: db: node.role == "
                       "manager"});
  Topology t = round_trip(r.topology);
  CHECK(ids(t, at(t, "vote").members) == std::vector<std::string>{"vote-1", "vote-2"});
  CHECK(domain_of(t, "vote-1") == "swarm-node-1");
  CHECK(domain_of(t, "vote-2") == "swarm-node-2");
  CHECK(domain_of(t, "redis-1") == "swarm-node-3");
  CHECK(domain_of(t, "redis-2") == "swarm-node-1");
  CHECK(domain_of(t, "db-1") == "swarm-node-2");
  CHECK(ids(t, at(t, "agent").members) ==
        std::vector<std::string>{"agent-1", "agent-2", "agent-3"});
  CHECK(domain_of(t, "agent-3") == "swarm-node-3");
  CHECK(label(at(t, "db"), "placement_constraints") == "node.role == manager");
  CHECK(label(at(t, "agent"), "swarm_mode") == "global: one task on each node");
  CHECK_FALSE(t.find("host:vote"));
  // Two vote tasks on two nodes: no single node takes the site down.
  CHECK(finding_ids(t) == std::vector<std::string>{});
}

TEST_CASE(
    "compose: loopback, database, admin and random ports are not entrypoints, without any "
    "the import warns and --entrypoint names one",
    "[import]") {
  const std::string text = R"(name: social
services:
  web:
    image: social/web
    ports: ["127.0.0.1:3000:3000", "9229:9229"]
    depends_on: [db]
  db:
    image: postgres:14-alpine
    ports: ["5432:5432"]
  admin:
    image: dpage/pgadmin4
    ports: [{target: 80, published: 5050}]
  cache:
    image: social/cache
    ports: ["6379"]
)";
  auto r = compose(text);
  CHECK(r.notes == std::vector<std::string>{
                       "compose: published ports not taken as entrypoints (not user traffic): "
                       "web 127.0.0.1:3000:3000 (bound to 127.0.0.1, reachable from the Docker "
                       "host only); web 9229:9229 (port 9229 is the Node.js debugger's); db "
                       "5432:5432 (a database, cache or queue, by image postgres:14-alpine); "
                       "admin 5050:80 (an admin UI, by image dpage/pgadmin4); cache 6379 (no host "
                       "port: Docker picks a random one)"});
  CHECK(r.warnings == std::vector<std::string>{
                          "no entrypoint could be inferred, so analyze has no request path to "
                          "judge and finds nothing: name where users come in with --entrypoint "
                          "ID (services: web, db, admin, cache)"});
  CHECK(r.topology.count(ElementKind::kEntrypoint) == 0);

  ImportOptions named;
  named.entrypoints = {"web"};
  auto e = compose(text, named);
  CHECK(e.warnings.empty());
  CHECK(e.notes.back() == "entrypoints named by --entrypoint: entry:web");
  Topology t = round_trip(e.topology);
  CHECK(t[at(t, "entry:web").target].id == "web");
  CHECK(finding_ids(t) ==
        std::vector<std::string>{"domain_spof:host:social", "spof:db-1", "spof:web-1"});

  named.entrypoints = {"wbe"};
  CHECK_THROWS_WITH(compose(text, named),
                    "achilles import: error: --entrypoint 'wbe': no service or component of the "
                    "import has this id (did you mean 'web'?)");
  named.entrypoints = {"host:social"};
  CHECK_THROWS_WITH(compose(text, named),
                    "achilles import: error: --entrypoint 'host:social': is a domain, not a "
                    "service or component of the import");
}

// --- Compose: real, public files (tests/data/import/real/compose/SOURCES.md) ------------------

const std::string kReal = kData + "real/compose/";

ImportResult real(const std::string& file, const ImportOptions& options = {}) {
  return import_paths("compose", {kReal + file}, options);
}

/// Whether any element depends on `id`.
bool depended_on(const Topology& t, const std::string& id) {
  for (const auto& e : t.elements)
    for (const auto& d : e.depends_on)
      if (t[d.target].id == id) return true;
  return false;
}

TEST_CASE(
    "compose, real: every file of tests/data/import/real/compose imports (exit 0) and "
    "analyzes",
    "[import]") {
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kReal)) {
    if (entry.path().extension() != ".yml") continue;
    ++files;
    INFO(entry.path());
    auto r = run_cli("import compose " + entry.path().string() + " -o /tmp/achilles-real.yaml");
    CHECK(r.code == 0);
    auto a = run_cli("analyze /tmp/achilles-real.yaml --order 1");
    CHECK(a.code == 0);
  }
  std::remove("/tmp/achilles-real.yaml");
  CHECK(files == 8);
}

TEST_CASE(
    "compose, real: OpenTelemetry demo: the collector every service lists is not a "
    "dependency, the Envoy proxy is the one entrypoint",
    "[import]") {
  Topology t = round_trip(real("otel-demo.yml").topology);
  CHECK(entrypoint_ids(t) == std::vector<std::string>{"published:frontend-proxy"});
  for (const char* agent : {"otel-collector", "jaeger", "grafana", "prometheus"}) {
    INFO(agent);
    CHECK_FALSE(depended_on(t, agent));
  }
  CHECK(deps(t, "checkout") == std::vector<std::string>{"cart", "currency", "email", "payment",
                                                        "product-catalog", "shipping", "kafka",
                                                        "flagd"});
  auto found = finding_ids(t);
  REQUIRE(found.size() == 19);
  CHECK(found[0] == "domain_spof:host:compose");
  CHECK(std::count(found.begin(), found.end(), "spof:flagd-1") == 1);
  CHECK(std::count(found.begin(), found.end(), "spof:kafka-1") == 1);
  for (const auto& f : found)
    CHECK(f.find("otel-collector") == std::string::npos);
}

TEST_CASE(
    "compose, real: Sock Shop: Zipkin in the environment is not a dependency, its port "
    "is not an entrypoint, the load test's -h names the edge router",
    "[import]") {
  auto r = real("sock-shop.yml");
  Topology t = round_trip(r.topology);
  CHECK(entrypoint_ids(t) == std::vector<std::string>{"published:edge-router"});
  CHECK_FALSE(depended_on(t, "zipkin"));
  CHECK(deps(t, "user") == std::vector<std::string>{"user-db"});
  CHECK(deps(t, "user-sim") == std::vector<std::string>{"edge-router"});
  CHECK(finding_ids(t) ==
        std::vector<std::string>{"domain_spof:host:compose", "spof:edge-router-1"});
}

TEST_CASE(
    "compose, real: the voting app's Swarm stack is spread over nodes, the visualizer "
    "and the random Redis port are not entrypoints",
    "[import]") {
  Topology t = round_trip(real("voting-app-stack.yml").topology);
  CHECK(entrypoint_ids(t) == std::vector<std::string>{"published:vote", "published:result"});
  CHECK(domain_of(t, "vote-1") != domain_of(t, "vote-2"));
  CHECK(label(at(t, "db"), "placement_constraints") == "node.role == manager");
  CHECK(deps(t, "vote") == std::vector<std::string>{"redis"});
  CHECK(finding_ids(t) == std::vector<std::string>{"domain_spof:swarm-node-3", "spof:db-1"});
}

TEST_CASE(
    "compose, real: swarmprom: global services run on every node, the Prometheus and "
    "Alertmanager ports of the proxy are not entrypoints",
    "[import]") {
  auto r = real("swarmprom.yml");
  Topology t = round_trip(r.topology);
  CHECK(ids(t, at(t, "caddy").members) ==
        std::vector<std::string>{"caddy-1", "caddy-2", "caddy-3"});
  CHECK(domain_of(t, "cadvisor-3") == "swarm-node-3");
  CHECK(entrypoint_ids(t) == std::vector<std::string>{"published:caddy"});
  CHECK(label(at(t, "published:caddy"), "ports") == "3000:3000");
  CHECK_FALSE(depended_on(t, "alertmanager"));
  // What the proxy forwards to is in its Caddyfile, which the importer does not read: the
  // proxy over three nodes is all the file shows, and no single failure takes it down. That
  // is no clean bill of health: the import says so.
  CHECK(finding_ids(t) == std::vector<std::string>{});
  CHECK(r.warnings ==
        std::vector<std::string>{
            "entrypoint published:caddy reaches caddy, a reverse proxy (image "
            "stefanprodan/caddy) that depends on nothing in the input: what it forwards to is in "
            "its own configuration, so analyze sees nothing behind it; add those services as its "
            "dependencies in the topology, or name them with --entrypoint ID"});
}

TEST_CASE("compose: a reverse proxy that depends on something is no warning", "[import]") {
  auto r = compose(
      "services:\n"
      "  proxy: {image: \"nginx:1.25\", ports: [\"80:80\"], depends_on: [app]}\n"
      "  app: {image: example/app}\n");
  CHECK(r.warnings.empty());
  auto alone = compose("services:\n  proxy: {image: traefik, ports: [\"80:80\"]}\n");
  REQUIRE(alone.warnings.size() == 1);
  CHECK(alone.warnings[0].rfind("entrypoint published:proxy reaches proxy, a reverse proxy "
                                "(image traefik)",
                                0) == 0);
}

TEST_CASE(
    "compose, real: n8n starter kit: profiles and the one-shot import job are left out, "
    "merge keys are read",
    "[import]") {
  Topology t = round_trip(real("n8n-ai-starter-kit.yml").topology);
  std::vector<std::string> services;
  for (const auto& e : t.elements)
    if (e.kind == ElementKind::kService) services.push_back(e.id);
  CHECK(services == std::vector<std::string>{"postgres", "n8n", "qdrant", "minio", "nginx"});
  CHECK(label(at(t, "n8n-1"), "image") == "n8nio/n8n:latest");
  CHECK(deps(t, "n8n") == std::vector<std::string>{"postgres"});
  CHECK(entrypoint_ids(t) == std::vector<std::string>{"published:n8n", "published:nginx"});
  CHECK(finding_ids(t) == std::vector<std::string>{"domain_spof:host:compose", "spof:n8n-1",
                                                   "spof:nginx-1", "spof:postgres-1"});
  ImportOptions cpu;
  cpu.profiles = {"cpu"};
  Topology with = round_trip(real("n8n-ai-starter-kit.yml", cpu).topology);
  CHECK(with.find("ollama-cpu"));
  CHECK(deps(with, "ollama-pull-llama-cpu") == std::vector<std::string>{"ollama-cpu"});
}

TEST_CASE(
    "compose, real: Misskey (behind a tunnel) and Mastodon (behind a host proxy on "
    "127.0.0.1) have no inferable entrypoint: a warning, then --entrypoint",
    "[import]") {
  for (const char* file : {"misskey.yml", "mastodon.yml"}) {
    INFO(file);
    auto r = real(file);
    CHECK(r.topology.count(ElementKind::kEntrypoint) == 0);
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].rfind("no entrypoint could be inferred", 0) == 0);
    ImportOptions web;
    web.entrypoints = {"web"};
    Topology t = round_trip(real(file, web).topology);
    CHECK(deps(t, "web") == std::vector<std::string>{"db", "redis"});
    CHECK(finding_ids(t) == std::vector<std::string>{"domain_spof:host:compose", "spof:db-1",
                                                     "spof:redis-1", "spof:web-1"});
  }
}

TEST_CASE(
    "compose, real: Temporal: the published Cassandra port is not an entrypoint, the "
    "server and its web UI are",
    "[import]") {
  Topology t = round_trip(real("temporal.yml").topology);
  CHECK(entrypoint_ids(t) ==
        std::vector<std::string>{"published:temporal", "published:temporal-web"});
  CHECK(deps(t, "temporal") == std::vector<std::string>{"cassandra"});
  CHECK(finding_ids(t) == std::vector<std::string>{"domain_spof:host:compose", "spof:cassandra-1",
                                                   "spof:temporal-1", "spof:temporal-web-1"});
}

TEST_CASE(
    "achilles import --entrypoint and --profile, warnings and notes are comments in the "
    "topology",
    "[import]") {
  std::string out = "/tmp/achilles-import-test-mastodon.yaml";
  auto r = run_cli("import compose " + kReal + "mastodon.yml -o " + out);
  CHECK(r.code == 0);
  const std::string warning =
      "no entrypoint could be inferred, so analyze has no request path to judge and finds "
      "nothing: name where users come in with --entrypoint ID (services: db, redis, web, "
      "streaming, sidekiq)";
  const std::string note =
      "compose: published ports not taken as entrypoints (not user traffic): web "
      "127.0.0.1:3000:3000 (bound to 127.0.0.1, reachable from the Docker host only); streaming "
      "127.0.0.1:4000:4000 (bound to 127.0.0.1, reachable from the Docker host only)";
  CHECK(r.err ==
        "achilles import: note: " + note + "\nachilles import: warning: " + warning + "\n");
  std::ifstream in(out);
  std::vector<std::string> head(5);
  for (auto& line : head)
    std::getline(in, line);
  CHECK(head[3] == "# warning: " + warning);
  CHECK(head[4] == "# note: " + note);

  auto named =
      run_cli("import compose " + kReal + "mastodon.yml -o " + out + " --entrypoint web streaming");
  CHECK(named.code == 0);
  CHECK(named.err.find("warning") == std::string::npos);
  auto a = run_cli("analyze " + out + " --order 1");
  CHECK(a.out.find("spof:db-1") != std::string::npos);
  std::remove(out.c_str());

  auto typo = run_cli("import compose " + kReal + "mastodon.yml --entrypoint streming");
  CHECK(typo.code == 2);
  CHECK(typo.err ==
        "achilles import: error: --entrypoint 'streming': no service or component of the import "
        "has this id (did you mean 'streaming'?)\n");
  auto profile = run_cli("import compose " + kReal + "mastodon.yml --profile gpu");
  CHECK(profile.code == 2);
  CHECK(profile.err ==
        "achilles import: error: --profile 'gpu': no service has it (the file has no profiles)\n");
  auto k8s = run_cli("import k8s " + kData + "k8s --profile gpu");
  CHECK(k8s.code == 2);
  CHECK(k8s.err == "achilles import: error: --profile is for compose, not k8s\n");
}

// --- Terraform ------------------------------------------------------------------------------

TEST_CASE("terraform: an ASG behind an ALB, a multi-AZ RDS and a Redis replication group",
          "[import]") {
  auto r = import_paths("terraform", {kData + "terraform-state.json"});
  Topology t = round_trip(r.topology);
  const std::string asg = "aws_autoscaling_group.web";
  CHECK(ids(t, at(t, asg).members) == std::vector<std::string>{asg + "-0", asg + "-1", asg + "-2"});
  CHECK(domain_of(t, asg + "-0") == "eu-west-1a");
  CHECK(domain_of(t, asg + "-1") == "eu-west-1b");
  CHECK(t[at(t, "eu-west-1b").parent].id == "eu-west-1");
  CHECK(ids(t, at(t, "aws_lb_target_group.web").members) == std::vector<std::string>{asg});
  CHECK(deps(t, "aws_lb.web") == std::vector<std::string>{"aws_lb_target_group.web"});
  CHECK(t[at(t, "entry:aws_lb.web").target].id == "aws_lb.web");
  const std::string db = "module.data.aws_db_instance.main";
  CHECK(ids(t, at(t, db).members) == std::vector<std::string>{db + "-primary", db + "-standby"});
  CHECK(label(at(t, db), "address") == db);
  const std::string redis = "module.data.aws_elasticache_replication_group.sessions";
  CHECK(at(t, redis).members.size() == 2);
  CHECK(domain_of(t, redis + "-1") == "eu-west-1b");
  CHECK(label(at(t, "aws_instance.bastion"), "address") == "aws_instance.bastion");
  CHECK(r.notes ==
        std::vector<std::string>{
            "terraform: skipped resource types it does not read: aws_security_group (1)"});
  CHECK(finding_ids(t, 2) ==
        std::vector<std::string>{"domain_spof:eu-west-1", "spof:aws_lb.web",
                                 "cut_set:aws_autoscaling_group.web-1+eu-west-1a",
                                 "cut_set:eu-west-1a+eu-west-1b"});
}

TEST_CASE("terraform: a plan links attachments through the configuration's references",
          "[import]") {
  auto r = import_paths("terraform", {kData + "terraform-plan.json"});
  Topology t = round_trip(r.topology);
  CHECK(ids(t, at(t, "aws_lb_target_group.front").members) ==
        std::vector<std::string>{"aws_instance.web-0", "aws_instance.web-1"});
  CHECK(label(at(t, "aws_instance.web-0"), "address") == "aws_instance.web[0]");
  CHECK(ids(t, at(t, "aws_db_instance.db").members) ==
        std::vector<std::string>{"aws_db_instance.db-primary"});
  CHECK(deps(t, "aws_alb.front") == std::vector<std::string>{"aws_lb_target_group.front"});
  CHECK(r.notes == std::vector<std::string>{
                       "terraform: no listener links aws_alb.front to a target group: assumed "
                       "to send to every target group"});
}

TEST_CASE("terraform: input that is not terraform show -json is an error", "[import]") {
  CHECK(import_error("terraform", "tf.json", "{\"resources\": []}") ==
        "tf.json:1:1: error: /: has neither 'values' (a state) nor 'planned_values' (a plan): is "
        "it the output of terraform show -json?");
  CHECK(import_error("terraform", "tf.json", "{\"values\":\n {\"root_module\": [}") ==
        "tf.json:2:19: error: syntax error: unexpected '}'; expected "
        "'[', '{', or a literal");
  CHECK(import_error("terraform", "tf.json",
                     R"({"values": {"root_module": {"resources": [{"type": "aws_instance"}]}}})") ==
        "tf.json:1:43: error: /values/root_module/resources/0: a resource must be an object with "
        "'address' and 'type'");
}

ImportResult tf(const std::string& text, const ImportOptions& options = {}) {
  return import_sources("terraform", {{"tf.json", text}}, options);
}

TEST_CASE("terraform: a plan that leaves out a resource's values (all unknown) is read",
          "[import]") {
  // Terraform writes no `values` for a resource none of whose attributes is known before
  // apply; its change says what is (`after`) and what is not (`after_unknown`).
  auto r = tf(R"({"format_version": "1.2", "planned_values": {"root_module": {"resources": [
    {"address": "aws_db_instance.db", "mode": "managed", "type": "aws_db_instance"},
    {"address": "aws_instance.web", "mode": "managed", "type": "aws_instance", "values": null}]}},
  "resource_changes": [{"address": "aws_db_instance.db", "type": "aws_db_instance",
    "change": {"actions": ["create"], "after": {"multi_az": false},
               "after_unknown": {"id": true, "availability_zone": true}}}],
  "configuration": {"root_module": {"resources": [
    {"address": "aws_instance.web", "type": "aws_instance",
     "expressions": {"user_data": {"references": ["aws_db_instance.db.address", "aws_db_instance.db"]}}}]}}})");
  Topology t = round_trip(r.topology);
  CHECK(ids(t, at(t, "aws_db_instance.db").members) ==
        std::vector<std::string>{"aws_db_instance.db-primary"});
  CHECK(label(at(t, "aws_db_instance.db"), "multi_az") == "false");
  CHECK(deps(t, "aws_instance.web") == std::vector<std::string>{"aws_db_instance.db"});
  CHECK(std::find(r.notes.begin(), r.notes.end(),
                  "terraform: resources whose values the plan leaves out (all unknown until "
                  "apply), read with what the plan's changes and configuration say: "
                  "aws_db_instance.db, aws_instance.web") != r.notes.end());
}

TEST_CASE("terraform: resource types the importer does not read never fail the import",
          "[import]") {
  auto r = tf(R"({"values": {"root_module": {"resources": [
    {"type": "aws_s3_bucket", "values": "not an object"},
    {"address": "random_id.x", "type": "random_id"},
    {"address": "aws_iam_role.r", "type": "aws_iam_role", "values": {"name": 7}},
    {"address": "aws_instance.web", "type": "aws_instance", "values": {"availability_zone": "eu-west-1a"}}]}}})");
  CHECK(r.topology.find("aws_instance.web"));
  CHECK(r.notes[0] ==
        "terraform: skipped resource types it does not read: aws_iam_role (1), aws_s3_bucket "
        "(1), random_id (1)");
  // A type it reads is still checked.
  CHECK(
      import_error(
          "terraform", "tf.json",
          R"({"values": {"root_module": {"resources": [{"address": "aws_instance.x", "type": "aws_instance", "values": []}]}}})") ==
      "tf.json:1:107: error: /values/root_module/resources/0/values: must be an object");
}

TEST_CASE("terraform: two addresses that make one id are told apart by a suffix and a note",
          "[import]") {
  auto r = tf(R"({"values": {"root_module": {"resources": [
    {"address": "aws_instance.web[0]", "type": "aws_instance", "values": {}},
    {"address": "aws_instance.web[\"0\"]", "type": "aws_instance", "values": {}},
    {"address": "aws_instance.web[\"0]\"]", "type": "aws_instance", "values": {}}]}}})");
  Topology t = round_trip(r.topology);
  CHECK(label(at(t, "aws_instance.web-0"), "address") == "aws_instance.web[0]");
  CHECK(label(at(t, "aws_instance.web-0-2"), "address") == "aws_instance.web[\"0\"]");
  CHECK(label(at(t, "aws_instance.web-0-3"), "address") == "aws_instance.web[\"0]\"]");
  CHECK(std::find(r.notes.begin(), r.notes.end(),
                  "terraform: addresses that make the same id got a suffix: "
                  "aws_instance.web[\"0\"] is aws_instance.web-0-2, aws_instance.web[\"0]\"] is "
                  "aws_instance.web-0-3") != r.notes.end());
}

TEST_CASE(
    "terraform: depends_on in a state makes an instance depend on its database and cache, "
    "noted as inferred; a depends_on on the load balancer in front is no loop",
    "[import]") {
  auto r = tf(R"({"values": {"root_module": {"resources": [
    {"address": "aws_instance.app[0]", "type": "aws_instance", "values": {"id": "i-1", "availability_zone": "eu-west-1a"},
     "depends_on": ["aws_db_instance.db", "aws_elasticache_replication_group.cache", "aws_security_group.app"]},
    {"address": "aws_instance.app[1]", "type": "aws_instance", "values": {"id": "i-2", "availability_zone": "eu-west-1b"},
     "depends_on": ["aws_db_instance.db", "aws_elasticache_replication_group.cache", "aws_security_group.app"]},
    {"address": "aws_elb.front", "type": "aws_elb", "values": {"name": "front", "instances": ["i-1", "i-2"],
     "availability_zones": ["eu-west-1a", "eu-west-1b"]}},
    {"address": "aws_autoscaling_group.workers", "type": "aws_autoscaling_group",
     "values": {"name": "workers", "desired_capacity": 2, "availability_zones": ["eu-west-1a", "eu-west-1b"],
                "load_balancers": ["front"]},
     "depends_on": ["aws_elb.front", "aws_db_instance.db"]},
    {"address": "aws_db_instance.db", "type": "aws_db_instance",
     "values": {"multi_az": false, "availability_zone": "eu-west-1a"}},
    {"address": "aws_elasticache_replication_group.cache", "type": "aws_elasticache_replication_group",
     "values": {"num_cache_clusters": 2, "preferred_cache_cluster_azs": ["eu-west-1a", "eu-west-1b"]}},
    {"address": "aws_security_group.app", "type": "aws_security_group", "values": {"id": "sg-1"}},
    {"address": "aws_instance.search[0]", "type": "aws_instance", "values": {"availability_zone": "eu-west-1a"}},
    {"address": "aws_instance.search[1]", "type": "aws_instance", "values": {"availability_zone": "eu-west-1b"}},
    {"address": "aws_instance.batch", "type": "aws_instance", "values": {"availability_zone": "eu-west-1a"},
     "depends_on": ["aws_instance.search"]}]}}})");
  Topology t = round_trip(r.topology);
  // Two search instances: which one is called is not in Terraform, so no dependency.
  CHECK(deps(t, "aws_instance.batch").empty());
  CHECK(std::find(r.notes.begin(), r.notes.end(),
                  "terraform: depends_on a group of instances not taken (which of them is "
                  "called, and whether one is enough, is not in Terraform: add the dependency by "
                  "hand): aws_instance.batch -> aws_instance.search (2)") != r.notes.end());
  CHECK(deps(t, "aws_instance.app-0") ==
        std::vector<std::string>{"aws_db_instance.db", "aws_elasticache_replication_group.cache"});
  CHECK(label(at(t, "aws_instance.app-1"), "inferred_dependencies") ==
        "aws_db_instance.db (depends_on), aws_elasticache_replication_group.cache (depends_on)");
  // The ELB sends to the group, so the group's depends_on on it is not a call.
  CHECK(deps(t, "aws_autoscaling_group.workers") == std::vector<std::string>{"aws_db_instance.db"});
  CHECK(ids(t, at(t, "aws_elb.front-instances").members) ==
        std::vector<std::string>{"aws_instance.app-0", "aws_instance.app-1",
                                 "aws_autoscaling_group.workers"});
  CHECK(std::find(r.notes.begin(), r.notes.end(),
                  "terraform: dependencies inferred from depends_on and the configuration's "
                  "references (Terraform's order of creation, usually a call: check them): "
                  "aws_instance.app-0 -> aws_db_instance.db, aws_instance.app-0 -> "
                  "aws_elasticache_replication_group.cache, aws_instance.app-1 -> "
                  "aws_db_instance.db, aws_instance.app-1 -> "
                  "aws_elasticache_replication_group.cache, aws_autoscaling_group.workers -> "
                  "aws_db_instance.db") != r.notes.end());
  CHECK(std::find(r.notes.begin(), r.notes.end(),
                  "terraform: depends_on that would close a loop not taken (the callee already "
                  "reaches the caller, as a load balancer in front of it does): "
                  "aws_autoscaling_group.workers -> aws_elb.front") != r.notes.end());
  // The single-AZ database is now on the request path.
  auto found = finding_ids(t);
  CHECK(std::find(found.begin(), found.end(), "spof:aws_db_instance.db-primary") != found.end());
}

namespace {

/// A state of `n` instances `aws_instance.{name}{i}`, each with a depends_on on the one before
/// it; with `ring`, the first depends on the last.
std::string instance_chain(const std::string& name, int n, bool ring) {
  std::string text = R"({"values": {"root_module": {"resources": [)";
  for (int i = 0; i < n; ++i) {
    std::string before = i ? std::to_string(i - 1) : ring ? std::to_string(n - 1) : "";
    text += std::string(i ? "," : "") + "\n" + R"({"address": "aws_instance.)" + name +
            std::to_string(i) + R"(", "type": "aws_instance", "values": {"id": "i-)" +
            std::to_string(i) + R"("})" +
            (before.empty() ? "" : R"(, "depends_on": ["aws_instance.)" + name + before + R"("])") +
            "}";
  }
  return text + "]}}}";
}

}  // namespace

TEST_CASE(
    "terraform: a chain of 10,000 instances, each with a depends_on on the one before, is "
    "imported with every dependency",
    "[import]") {
  // Each dependency used to be checked for a loop by a walk of the whole draft: 10,000 took
  // minutes. Only dependencies inside a loop are walked now.
  constexpr int kN = 10'000;
  auto r = tf(instance_chain("a", kN, false));
  const Topology& t = r.topology;
  CHECK(deps(t, "aws_instance.a0").empty());
  int wrong = 0;
  for (int i = 1; i < kN; ++i)
    if (deps(t, "aws_instance.a" + std::to_string(i)) !=
        std::vector<std::string>{"aws_instance.a" + std::to_string(i - 1)})
      ++wrong;
  CHECK(wrong == 0);
  CHECK(label(at(t, "aws_instance.a9999"), "inferred_dependencies") ==
        "aws_instance.a9998 (depends_on)");
  std::string listed;
  for (int i = 1; i <= 50; ++i)
    listed += (i > 1 ? ", " : " ") + ("aws_instance.a" + std::to_string(i)) + " -> " +
              ("aws_instance.a" + std::to_string(i - 1));
  CHECK(r.notes == std::vector<std::string>{
                       "terraform: dependencies inferred from depends_on and the configuration's "
                       "references (Terraform's order of creation, usually a call: check them):" +
                       listed + " and 9949 more"});
}

TEST_CASE(
    "terraform: past its budget, the check for loops leaves the dependencies inside a loop out, "
    "with a note",
    "[import]") {
  // A ring of 8,000: the n-th dependency's check walks back n instances, 32 million in all,
  // past the budget of 20 million. Those checked are taken; the rest are left out and noted,
  // the one that closes the ring among them.
  constexpr int kN = 8'000;
  auto r = tf(instance_chain("r", kN, true));
  const Topology& t = r.topology;
  CHECK(deps(t, "aws_instance.r0") == std::vector<std::string>{"aws_instance.r7999"});
  int taken = 0;  // r1 .. r{taken} depend on the one before, the others on nothing
  while (taken + 1 < kN && deps(t, "aws_instance.r" + std::to_string(taken + 1)).size() == 1)
    ++taken;
  CHECK(taken > 1'000);
  CHECK(taken < kN - 51);
  int wrong = 0;
  for (int i = taken + 1; i < kN; ++i)
    if (!deps(t, "aws_instance.r" + std::to_string(i)).empty()) ++wrong;
  CHECK(wrong == 0);
  std::string listed;
  for (int i = taken + 1; i <= taken + 50; ++i)
    listed += (i > taken + 1 ? ", " : " ") + ("aws_instance.r" + std::to_string(i)) + " -> " +
              ("aws_instance.r" + std::to_string(i - 1));
  REQUIRE(r.notes.size() == 2);
  CHECK(r.notes[1] ==
        "terraform: depends_on inside loops not taken, unchecked (checking whether "
        "each would close a loop took more than 20000000 steps: add the dependency "
        "by hand if it is a call):" +
            listed + " and " + std::to_string(kN - 1 - taken - 50) + " more");
}

TEST_CASE(
    "terraform: a classic ELB and an internal load balancer are entrypoints labelled inferred",
    "[import]") {
  auto r = tf(R"({"values": {"root_module": {"resources": [
    {"address": "aws_elb.web", "type": "aws_elb", "values": {"name": "web", "instances": ["i-1"],
     "availability_zones": ["us-west-2a"]}},
    {"address": "aws_instance.web", "type": "aws_instance", "values": {"id": "i-1", "availability_zone": "us-west-2a"}},
    {"address": "aws_lb.api", "type": "aws_lb", "values": {"internal": true}}]}}})");
  Topology t = round_trip(r.topology);
  CHECK(entrypoint_ids(t) == std::vector<std::string>{"entry:aws_elb.web", "entry:aws_lb.api"});
  CHECK(label(at(t, "entry:aws_elb.web"), "inferred") ==
        "a classic load balancer: users come in here");
  CHECK(label(at(t, "entry:aws_lb.api"), "inferred") ==
        "a load balancer marked internal: callers inside the network come in here");
  CHECK(deps(t, "aws_elb.web") == std::vector<std::string>{"aws_elb.web-instances"});
  CHECK(domain_of(t, "aws_elb.web") == "us-west-2");
  CHECK(finding_ids(t) == std::vector<std::string>{"domain_spof:us-west-2",
                                                   "domain_spof:us-west-2a", "spof:aws_elb.web",
                                                   "spof:aws_instance.web", "spof:aws_lb.api"});
}

TEST_CASE(
    "terraform: without a load balancer, a single-AZ RDS and an ASG of one are still found, "
    "with a warning",
    "[import]") {
  const std::string state = R"({"values": {"root_module": {"resources": [
    {"address": "aws_db_instance.db", "type": "aws_db_instance",
     "values": {"multi_az": false, "availability_zone": "eu-west-1a"}},
    {"address": "aws_autoscaling_group.web", "type": "aws_autoscaling_group",
     "values": {"min_size": 1, "max_size": 1, "desired_capacity": 1, "availability_zones": ["eu-west-1b"]},
     "depends_on": ["aws_db_instance.db"]}]}}})";
  auto r = tf(state);
  Topology t = round_trip(r.topology);
  CHECK(entrypoint_ids(t) == std::vector<std::string>{"entry:aws_autoscaling_group.web"});
  CHECK(label(at(t, "entry:aws_autoscaling_group.web"), "inferred") ==
        "no load balancer in the input, and nothing in it depends on "
        "aws_autoscaling_group.web: assumed to be called directly");
  CHECK(r.warnings ==
        std::vector<std::string>{
            "terraform: no load balancer (aws_lb, aws_alb, aws_elb) to take as an entrypoint: "
            "entrypoints were assumed at the resources nothing depends on "
            "(entry:aws_autoscaling_group.web), labelled inferred; their findings hold for "
            "callers that reach them directly: name the real entrypoints with --entrypoint ID"});
  CHECK(finding_ids(t) ==
        std::vector<std::string>{"domain_spof:eu-west-1", "domain_spof:eu-west-1a",
                                 "domain_spof:eu-west-1b", "spof:aws_autoscaling_group.web-0",
                                 "spof:aws_db_instance.db-primary"});
  // Named entrypoints replace the assumed ones, and the warning goes with them.
  ImportOptions named;
  named.entrypoints = {"aws_db_instance.db"};
  auto n = tf(state, named);
  CHECK(n.warnings.empty());
  CHECK(entrypoint_ids(n.topology) == std::vector<std::string>{"entry:aws_db_instance.db"});
  // Written out, the warning is a comment, and analyze does not come out clean.
  const std::string in = "/tmp/achilles-import-test-tf-nolb.json";
  const std::string out = "/tmp/achilles-import-test-tf-nolb.yaml";
  std::ofstream(in) << state;
  auto written = run_cli("import terraform " + in + " -o " + out);
  CHECK(written.code == 0);
  std::ifstream file(out);
  std::string content((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  CHECK(content.find("# warning: terraform: no load balancer") != std::string::npos);
  auto a = run_cli("analyze " + out + " --order 1");
  CHECK(a.code == 0);
  CHECK(a.out.find("spof:aws_db_instance.db-primary") != std::string::npos);
  CHECK(a.err.find("no entrypoints") == std::string::npos);
  std::remove(in.c_str());
  std::remove(out.c_str());
}

// --- Terraform: real, public inputs (tests/data/import/real/terraform/SOURCES.md) -----------

TEST_CASE(
    "terraform, real: four public terraform show -json outputs import; what they hold is "
    "noted, and none is silently empty",
    "[import]") {
  const std::string dir = kData + "real/terraform/";
  auto real_tf = [&](const std::string& file) { return import_paths("terraform", {dir + file}); };
  const std::string none =
      "no entrypoint could be inferred, so analyze has no request path to judge and finds "
      "nothing: name where users come in with --entrypoint ID";
  // hashicorp/terraform-json: a state of null resources, a data source and a child module.
  auto state = real_tf("terraform-json-no-changes-state.json");
  CHECK(state.topology.size() == 0);
  CHECK(state.notes ==
        std::vector<std::string>{"terraform: skipped resource types it does not read: "
                                 "null_resource (6)"});
  CHECK(state.warnings == std::vector<std::string>{none});
  // A plan whose prior state has depends_on between two null resources.
  auto plan = real_tf("terraform-json-depends-on-plan.json");
  CHECK(plan.notes == std::vector<std::string>{"terraform: skipped resource types it does not "
                                               "read: null_resource (2)"});
  CHECK(plan.warnings == std::vector<std::string>{none});
  // terraform-compliance: an S3 bucket in a child module with no address.
  auto bucket = real_tf("terraform-compliance-child-modules-state.json");
  CHECK(bucket.notes == std::vector<std::string>{"terraform: skipped resource types it does "
                                                 "not read: aws_s3_bucket (1)"});
  CHECK(bucket.warnings == std::vector<std::string>{none});
  // infracost: an EC2 instance (its zone unknown until apply) and no load balancer: the
  // instance is the assumed entrypoint, and its single point of failure is found.
  auto infracost = real_tf("infracost-small-plan.json");
  Topology t = round_trip(infracost.topology);
  CHECK(infracost.notes ==
        std::vector<std::string>{"terraform: skipped resource types it does not read: "
                                 "aws_ebs_volume (2), aws_eip (1), aws_nat_gateway (1)"});
  REQUIRE(infracost.warnings.size() == 1);
  CHECK(infracost.warnings[0].rfind("terraform: no load balancer", 0) == 0);
  CHECK(entrypoint_ids(t) == std::vector<std::string>{"entry:aws_instance.web_app"});
  CHECK(finding_ids(t) == std::vector<std::string>{"spof:aws_instance.web_app"});
}

// --- DOT ------------------------------------------------------------------------------------

TEST_CASE("dot: a directed graph maps to components, services, dependencies and entrypoints",
          "[import]") {
  Topology t = round_trip(load_topology(kData + "directed.dot"));
  CHECK(t.name == "shop");
  CHECK(!t.undirected);
  CHECK(ids(t, at(t, "web").members) == std::vector<std::string>{"web1", "web2"});
  CHECK(deps(t, "lb") == std::vector<std::string>{"web"});  // lhead=cluster_web
  CHECK(deps(t, "web1") == std::vector<std::string>{"db", "cache (soft)"});
  CHECK(at(t, "web1").depends_on[1].calls == 0.5);
  CHECK(*at(t, "web1").capacity == 200);
  CHECK(domain_of(t, "web2") == "az2");
  CHECK(t[at(t, "www").target].id == "lb");
  CHECK(*at(t, "www").load == 300);
  CHECK(finding_ids(t) == std::vector<std::string>{"domain_spof:az1", "spof:db", "spof:lb",
                                                   "capacity_spof:az2", "capacity_spof:web1",
                                                   "capacity_spof:web2"});
}

TEST_CASE("dot: an undirected graph gives its articulation points and bridges", "[import]") {
  Topology t = load_topology(kData + "undirected.gv");
  CHECK(t.undirected);
  CHECK(t.undirected_edges.size() >= 9);  // cgraph may merge a repeated pair
  AnalysisOptions options;
  auto analysis = analyze(t, options);
  std::vector<std::string> found;
  for (const auto& f : analysis.findings)
    found.push_back(f.id());
  CHECK(found == std::vector<std::string>{"spof:edge1", "articulation_point:core1",
                                          "articulation_point:dist1", "articulation_point:site_b",
                                          "bridge:core1+edge1", "bridge:dist1+site_b"});
  const Finding& ap = analysis.findings[1];
  CHECK(ap.severity == "medium");
  CHECK(ap.message == "core1 is an articulation point: losing it splits the graph into 2 parts");
  CHECK(ap.explanation == std::vector<std::string>{"core1"});
  CHECK(ap.impact.entrypoints_down.empty());
  CHECK(ap.impact.components_down == 1);
  const Finding& bridge = analysis.findings[4];
  CHECK(bridge.explanation == std::vector<std::string>{"core1", "edge1"});
  CHECK(bridge.message == "the link core1 -- edge1 is a bridge: losing it splits the graph");
}

TEST_CASE("dot: articulation points agree with removing each node on random graphs", "[import]") {
  // A brute-force reference: v is an articulation point when removing it leaves more
  // connected pieces (among the rest) than its own piece had.
  uint64_t seed = 12345;
  auto next = [&] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(seed >> 33);
  };
  for (int round = 0; round < 200; ++round) {
    int n = 2 + static_cast<int>(next() % 8);
    int m = static_cast<int>(next() % 14);
    std::string dot = "graph g {\n";
    std::vector<std::pair<int, int>> edges;
    for (int i = 0; i < n; ++i)
      dot += "  n" + std::to_string(i) + ";\n";
    for (int i = 0; i < m; ++i) {
      int a = static_cast<int>(next() % n), b = static_cast<int>(next() % n);
      edges.emplace_back(a, b);
      dot += "  n" + std::to_string(a) + " -- n" + std::to_string(b) + ";\n";
    }
    dot += "}\n";
    auto pieces = [&](int removed) {
      std::vector<int> parent(n);
      for (int i = 0; i < n; ++i)
        parent[i] = i;
      std::function<int(int)> root = [&](int x) {
        return parent[x] == x ? x : parent[x] = root(parent[x]);
      };
      for (auto [a, b] : edges)
        if (a != removed && b != removed) parent[root(a)] = root(b);
      int count = 0;
      for (int i = 0; i < n; ++i)
        count += i != removed && root(i) == i;
      return count;
    };
    Topology t = import_dot_text(dot, "random.gv");
    std::set<std::string> expected;
    int whole = pieces(-1);
    for (int v = 0; v < n; ++v) {
      bool isolated = std::none_of(edges.begin(), edges.end(),
                                   [&](auto e) { return (e.first == v) != (e.second == v); });
      // Removing v takes away its own piece only if it is isolated.
      if (pieces(v) > whole - (isolated ? 1 : 0)) expected.insert("n" + std::to_string(v));
    }
    std::set<std::string> found;
    for (const auto& f : analyze(t, AnalysisOptions{}).findings)
      if (f.kind == "articulation_point") found.insert(f.subject[0]);
    INFO(dot);
    REQUIRE(found == expected);
  }
}

TEST_CASE("dot: syntax errors name the line, bad attributes the element", "[import]") {
  try {
    load_topology_text("digraph g {\n a -> b;\n b -> ;\n}\n", Syntax::kDot, "bad.dot");
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()) ==
          "bad.dot:3:7: error: syntax error: ';' where a node or a subgraph was expected");
  }
  const std::string attrs =
      "digraph g {\n a [capacity=-1, availability=2];\n \"x y\" -> a [mode=maybe];\n"
      " subgraph cluster_s { min_healthy=3; a; }\n}\n";
  // analyze reads a DOT file by the spec's mapping: a name that is no id is an error there.
  CHECK_THROWS_WITH(
      load_topology_text(attrs, Syntax::kDot, "attrs.dot"),
      "attrs.dot:2:14: error: node 'a': capacity must be a positive number, not '-1'\n"
      "attrs.dot:2:31: error: node 'a': availability must be a number in (0, 1], not '2'\n"
      "attrs.dot:3:2: error: node 'x y': id 'x y' is not valid (allowed: a letter or digit, then "
      "letters, digits and _ . : / @ -; `achilles import dot` maps such names to ids)\n"
      "attrs.dot:3:8: error: edge 'x y -> a': mode must be 'hard' or 'soft', not 'maybe'\n"
      "attrs.dot:4:11: error: service 's': min_healthy must be a whole number in 1..1, not "
      "'3'");
  // The importer maps the name; the other problems stay errors.
  CHECK(import_error("dot", "attrs.dot", attrs) ==
        "attrs.dot:2:14: error: node 'a': capacity must be a positive number, not '-1'\n"
        "attrs.dot:2:31: error: node 'a': availability must be a number in (0, 1], not '2'\n"
        "attrs.dot:3:8: error: edge 'x y -> a': mode must be 'hard' or 'soft', not 'maybe'\n"
        "attrs.dot:4:11: error: service 's': min_healthy must be a whole number in 1..1, not "
        "'3'");
}

ImportResult dot(const std::string& text) {
  return import_sources("dot", {{"g.dot", text}});
}

TEST_CASE(
    "dot: quoted names that are no valid id are mapped to ids, the name kept in dot_id, "
    "collisions get a suffix and a note",
    "[import]") {
  auto r =
      dot("digraph {\n  \"frontend[Deployment]\" -> \"backend/api v2\" -> \"db.main\"\n"
          "  \"backend/api-v2\" -> \"db.main\"\n  \"[root] aws_instance.web (expand)\"\n"
          "  \"x y\" [domain=\"zone a\"]\n}\n");
  Topology t = round_trip(r.topology);
  CHECK(label(at(t, "frontend-Deployment"), "dot_id") == "frontend[Deployment]");
  CHECK(deps(t, "frontend-Deployment") == std::vector<std::string>{"backend/api-v2-2"});
  CHECK(deps(t, "backend/api-v2-2") == std::vector<std::string>{"db.main"});
  CHECK(label(at(t, "backend/api-v2-2"), "dot_id") == "backend/api v2");
  CHECK(label(at(t, "backend/api-v2"), "dot_id") == "");  // a valid name is kept as it is
  CHECK(label(at(t, "db.main"), "dot_id") == "");
  CHECK(t.find("root-aws_instance.web--expand"));
  CHECK(domain_of(t, "x-y") == "zone-a");
  REQUIRE(r.notes.size() == 3);
  CHECK(r.notes[0] ==
        "dot: names that are no valid id were mapped to ids (the name is kept in the label "
        "dot_id): 'frontend[Deployment]' -> frontend-Deployment, 'backend/api v2' -> "
        "backend/api-v2-2, '[root] aws_instance.web (expand)' -> root-aws_instance.web--expand, "
        "'x y' -> x-y, 'zone a' -> zone-a");
  CHECK(r.notes[1] ==
        "dot: names that map to the same id got a suffix: 'backend/api v2' is backend/api-v2-2 "
        "(backend/api-v2 was taken)");
}

TEST_CASE("dot: many names that map to one id each get their own, and the note stays short",
          "[import]") {
  // "x " + any run of characters that are no id characters maps to x: there is no end of
  // them, so the suffixes are counted per id, and the note lists the first 50.
  const std::string junk = " ()[]{}<>!?,;";
  std::string text = "digraph {\n  x\n";
  std::vector<std::string> names;
  for (char a : junk)
    for (char b : junk)
      names.push_back(std::string("x") + a + b);
  for (const auto& n : names)
    text += "  \"" + n + "\" -> x\n";
  text += "}\n";
  auto r = dot(text);
  Topology t = round_trip(r.topology);
  CHECK(t.count(ElementKind::kComponent) == names.size() + 1);
  CHECK(label(at(t, "x-2"), "dot_id") == names[0]);
  CHECK(label(at(t, "x-" + std::to_string(names.size() + 1)), "dot_id") == names.back());
  CHECK(r.notes[1].size() < 3000);
  CHECK(r.notes[1].find(" and " + std::to_string(names.size() - 50) + " more") !=
        std::string::npos);
}

TEST_CASE("dot: a node's label is kept in the topology", "[import]") {
  const std::string text =
      "digraph {\n  web [label=\"Web tier\"]\n  db [label=\"db\"]\n  web -> db\n}\n";
  Topology t = round_trip(dot(text).topology);
  CHECK(label(at(t, "web"), "label") == "Web tier");
  CHECK(label(at(t, "db"), "label") == "");  // the same as its id: nothing to add
  // analyze of the DOT file keeps it too.
  CHECK(label(at(load_topology_text(text, Syntax::kDot, "g.dot"), "web"), "label") == "Web tier");
}

TEST_CASE("dot: dashed and dotted edges are soft dependencies unless mode says otherwise",
          "[import]") {
  auto r =
      dot("digraph {\n  web -> db\n  web -> cache [style=dashed]\n  web -> recs [style=\"dotted\"]"
          "\n  web -> auth [style=\"dashed,bold\", mode=hard]\n}\n");
  Topology t = round_trip(r.topology);
  CHECK(deps(t, "web") == std::vector<std::string>{"db", "cache (soft)", "recs (soft)", "auth"});
  CHECK(std::find(r.notes.begin(), r.notes.end(),
                  "dot: dashed or dotted edges taken as soft dependencies: web -> cache "
                  "(dashed), web -> recs (dotted)") != r.notes.end());
  CHECK(finding_ids(t) == std::vector<std::string>{"spof:auth", "spof:db", "spof:web"});
}

TEST_CASE("dot: without declared entrypoints, what no edge points to is an inferred entrypoint",
          "[import]") {
  auto r =
      dot("digraph {\n  lb -> web1; lb -> web2\n  web1 -> db; web2 -> db\n  cron -> db\n"
          "  subgraph cluster_api { min_healthy=1; api1; api2 }\n  api1 -> db\n}\n");
  Topology t = round_trip(r.topology);
  CHECK(entrypoint_ids(t) == std::vector<std::string>{"entry:lb", "entry:cron", "entry:api"});
  CHECK(t[at(t, "entry:api").target].id == "api");  // the service, not one of its members
  CHECK(label(at(t, "entry:lb"), "inferred") == "no edge in the graph points to it");
  CHECK(r.warnings.empty());
  CHECK(std::find(r.notes.begin(), r.notes.end(),
                  "dot: entrypoints inferred at what no edge points to (labelled inferred; name "
                  "the real ones with --entrypoint ID): entry:lb, entry:cron, entry:api") !=
        r.notes.end());
  CHECK(finding_ids(t) ==
        std::vector<std::string>{"spof:cron", "spof:db", "spof:lb", "spof:web1", "spof:web2"});
  // A file that declares its entrypoints is taken at its word.
  Topology declared =
      dot("digraph {\n  lb [entrypoint=www]\n  lb -> web\n  cron -> web\n}\n").topology;
  CHECK(entrypoint_ids(declared) == std::vector<std::string>{"www"});
  // A loop with no way in has no entrypoint: the import warns.
  auto loop = dot("digraph {\n  a -> b -> a\n}\n");
  CHECK(entrypoint_ids(loop.topology).empty());
  REQUIRE(loop.warnings.size() == 1);
  CHECK(loop.warnings[0].rfind("no entrypoint could be inferred", 0) == 0);
}

// --- DOT: real, public graphs (tests/data/import/real/dot/SOURCES.md) ------------------------

TEST_CASE(
    "dot, real: netpol-analyzer's connectivity map of the ACS demo: Deployment names mapped, "
    "the two ingress controllers are the inferred entrypoints",
    "[import]") {
  auto r = import_paths("dot", {kData + "real/dot/netpol-acs-security-demos.dot"});
  Topology t = round_trip(r.topology);
  CHECK(t.count(ElementKind::kComponent) == 13);
  CHECK(label(at(t, "backend/checkout-Deployment"), "dot_id") == "backend/checkout[Deployment]");
  CHECK(label(at(t, "backend/checkout-Deployment"), "label") == "checkout[Deployment]");
  CHECK(deps(t, "frontend/webapp-Deployment") ==
        std::vector<std::string>{"backend/checkout-Deployment", "backend/recommendation-Deployment",
                                 "backend/reports-Deployment", "backend/shipping-Deployment"});
  CHECK(entrypoint_ids(t) ==
        std::vector<std::string>{"entry:ingress-nginx", "entry:openshift-ingress-operator"});
  CHECK(r.warnings.empty());
  CHECK(finding_ids(t) ==
        std::vector<std::string>{
            "spof:backend/catalog-Deployment", "spof:backend/checkout-Deployment",
            "spof:backend/notification-Deployment", "spof:backend/recommendation-Deployment",
            "spof:backend/reports-Deployment", "spof:backend/shipping-Deployment",
            "spof:frontend/asset-cache-Deployment", "spof:frontend/webapp-Deployment",
            "spof:ingress-nginx", "spof:openshift-ingress-operator",
            "spof:payments/gateway-Deployment", "spof:payments/mastercard-processor-Deployment",
            "spof:payments/visa-processor-Deployment"});
}

TEST_CASE(
    "dot, real: netpol-analyzer's demo app with routes and ingress: the ingress controller is "
    "the entrypoint, the mesh of allowed connections is a loop",
    "[import]") {
  auto r = import_paths("dot", {kData + "real/dot/netpol-demo-app-routes-ingress.dot"});
  Topology t = round_trip(r.topology);
  CHECK(entrypoint_ids(t) == std::vector<std::string>{"entry:ingress-controller"});
  CHECK(label(at(t, "ingress-controller"), "dot_id") == "{ingress-controller}");
  CHECK(finding_ids(t) ==
        std::vector<std::string>{
            "spof:0.0.0.0-255.255.255.255", "spof:hello-world-Deployment",
            "spof:ingress-controller", "spof:ingress-world-Deployment",
            "spof:route-world-Deployment",
            "cycle:0.0.0.0-255.255.255.255+hello-world-Deployment+ingress-world-Deployment+"
            "route-world-Deployment"});
}

// --- The command ----------------------------------------------------------------------------

TEST_CASE("A name with a newline in an imported file stays inside its comment line", "[import]") {
  // A tracing agent is named in a note as the file names it; a "\n" in its name once started
  // a line of YAML in the written topology (and raw control bytes went to the terminal).
  const std::string in = "/tmp/achilles-import-test-newline.yaml";
  const std::string out = "/tmp/achilles-import-test-newline-out.yaml";
  {
    std::ofstream f(in);
    f << "services:\n  web:\n    image: nginx\n    ports: [\"8080:80\"]\n"
         "    depends_on: [\"jaeger\\nentrypoints: []\\e[31m\"]\n"
         "  \"jaeger\\nentrypoints: []\\e[31m\":\n    image: jaegertracing/all-in-one\n";
  }
  auto r = run_cli("import compose " + in + " -o " + out);
  CHECK(r.code == 0);
  CHECK(r.err.find('\x1b') == std::string::npos);
  CHECK(r.err.find("jaeger\\nentrypoints: []\\x1b[31m is Jaeger") != std::string::npos);
  std::ifstream written(out);
  std::string line;
  bool header = true;
  while (std::getline(written, line)) {
    if (header && (line.empty() || line[0] != '#')) header = false;
    INFO(line);
    if (header) CHECK(line.rfind("# ", 0) == 0);
    CHECK(line.rfind("entrypoints: []", 0) == std::string::npos);
  }
  // The written topology keeps its entrypoint: the text did not end the list.
  auto a = run_cli("analyze " + out + " --format json");
  CHECK(a.code == 0);
  CHECK(a.out.find("\"entrypoints\": [\n    {") != std::string::npos);
  std::remove(in.c_str());
  std::remove(out.c_str());
}

TEST_CASE("achilles import writes a topology that analyze reads, notes on stderr", "[import]") {
  std::string out = "/tmp/achilles-import-test-k8s.yaml";
  auto r = run_cli("import k8s " + kData + "k8s -o " + out);
  CHECK(r.code == 0);
  std::string notes;
  for (const auto& n : kShopNotes)
    notes += "achilles import: note: " + n + "\n";
  CHECK(r.err == notes);
  std::ifstream in(out);
  std::string first;
  std::getline(in, first);
  CHECK(first == "# Imported by `achilles import k8s " + kData + "k8s`.");
  auto a = run_cli("analyze " + out + " --order 1");
  CHECK(a.code == 0);
  CHECK(a.out.find("spof:postgres-0") != std::string::npos);
  std::remove(out.c_str());

  auto bad = run_cli("import helm chart/");
  CHECK(bad.code == 2);
  CHECK(bad.err ==
        "achilles import: error: unknown kind 'helm' (expected k8s, compose, terraform or dot)\n");
  auto missing = run_cli("import compose /nonexistent/compose.yaml");
  CHECK(missing.code == 2);
  CHECK(missing.err ==
        "/nonexistent/compose.yaml: error: cannot read: No such file or directory\n");
  auto json = run_cli("analyze " + kData + "undirected.gv --format json");
  CHECK(json.code == 0);
  CHECK(json.out.find("\"id\": \"bridge:dist1+site_b\"") != std::string::npos);
}
