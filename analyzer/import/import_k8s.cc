// Kubernetes manifests into a topology: workloads become services of their replicas, Services
// and their selectors resolve the names that configuration refers to, PodDisruptionBudgets
// give quorums, spread constraints and anti-affinity give placement, and LoadBalancer
// Services and Ingresses become entrypoints. See docs/importers.md.
//
// One file past 500 lines: the Kubernetes kinds that make one topology (workloads, Services,
// PodDisruptionBudgets, spread and affinity, references in the environment) share one index of
// labels and selectors.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "import_common.h"
#include "import_yaml.h"

namespace achilles::analyzer::detail {
namespace {

constexpr int kDefaultDaemonSetNodes = 3;
constexpr int kDefaultZones = 3;

bool is_zone_key(const std::string& key) {
  return key == "topology.kubernetes.io/zone" || key == "failure-domain.beta.kubernetes.io/zone";
}
bool is_host_key(const std::string& key) {
  return key == "kubernetes.io/hostname";
}

/// Where a manifest object came from, for messages.
struct Where {
  const std::string* file;
  size_t document;  // 1-based
  size_t documents;
  std::string base;  // path of the object in its document ("" or "/items/3")
};

using Labels = std::map<std::string, std::string>;

struct Workload {
  std::string kind, ns, name, id;
  int replicas = 1;
  Labels pod_labels;
  /// Every string of env values, args and command, with whether a bare name counts.
  std::vector<std::pair<std::string, bool>> config;
  std::string zone_spread, host_spread;  // how it is stated, empty when not
  std::vector<std::string> members;
};

struct Service {
  std::string ns, name, type;
  Labels selector;
  std::vector<std::string> targets;  // workload ids
};

struct Pdb {
  std::string ns, name;
  Labels selector;
  YAML::Node min_available, max_unavailable;
  Where where;
};

struct Ingress {
  std::string ns, name;
  std::vector<std::string> backends;
};

struct NodeInfo {
  std::string name, zone, region;
};

class K8sImporter {
 public:
  ImportResult run(const std::vector<ImportSource>& sources) {
    for (const auto& src : sources)
      read_source(src);
    problems_.throw_if_any();
    build();
    ImportResult result;
    std::set<std::string> namespaces;
    for (const auto& w : workloads_)
      namespaces.insert(w.ns);
    std::string name = namespaces.size() == 1 ? *namespaces.begin() : "k8s";
    result.topology = draft_.build(name, sources.size() == 1 ? sources[0].file : "");
    if (!skipped_.empty()) {
      std::string text = "k8s: skipped kinds it does not read:";
      bool first = true;
      for (const auto& [kind, n] : skipped_) {
        text += (first ? " " : ", ") + kind + " (" + std::to_string(n) + ")";
        first = false;
      }
      notes_.insert(notes_.begin(), text);
    }
    result.notes = std::move(notes_);
    return result;
  }

 private:
  // --- Reading ---------------------------------------------------------------------------

  void error(const Where& w, const YAML::Node& node, const std::string& path,
             const std::string& message) {
    SourcePos pos;
    if (node.IsDefined() && !node.Mark().is_null())
      pos = {static_cast<uint32_t>(node.Mark().line + 1),
             static_cast<uint32_t>(node.Mark().column + 1)};
    std::string where =
        w.documents > 1 ? "document " + std::to_string(w.document) + ": " : std::string();
    std::string at = w.base + path;
    problems_.add(*w.file, pos, where + (at.empty() ? "" : at + ": ") + message);
  }

  static std::string describe(const YAML::Node& n) {
    if (n.IsMap()) return "a map";
    if (n.IsSequence()) return "a list";
    if (n.IsNull()) return "null";
    return "'" + n.Scalar() + "'";
  }

  // A string field; nullopt when absent, or after reporting a wrong type.
  std::optional<std::string> str(const Where& w, const YAML::Node& n, const std::string& path) {
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    if (!n.IsScalar()) {
      error(w, n, path, "must be a string, not " + describe(n));
      return std::nullopt;
    }
    return n.Scalar();
  }

  bool is_map(const Where& w, const YAML::Node& n, const std::string& path) {
    if (!n.IsDefined() || n.IsNull()) return false;
    if (!n.IsMap()) error(w, n, path, "must be a map, not " + describe(n));
    return n.IsMap();
  }
  bool is_list(const Where& w, const YAML::Node& n, const std::string& path) {
    if (!n.IsDefined() || n.IsNull()) return false;
    if (!n.IsSequence()) error(w, n, path, "must be a list, not " + describe(n));
    return n.IsSequence();
  }

  std::optional<long> integer(const Where& w, const YAML::Node& n, const std::string& path) {
    auto s = str(w, n, path);
    if (!s) return std::nullopt;
    char* end = nullptr;
    long v = std::strtol(s->c_str(), &end, 10);
    if (s->empty() || *end != '\0' || v < 0) {
      error(w, n, path, "must be a whole number of 0 or more, not '" + *s + "'");
      return std::nullopt;
    }
    return v;
  }

  Labels labels(const Where& w, const YAML::Node& n, const std::string& path) {
    Labels out;
    if (!is_map(w, n, path)) return out;
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string key = it->first.Scalar();
      if (auto v = str(w, it->second, path + "/" + key)) out[key] = *v;
    }
    return out;
  }

  void read_source(const ImportSource& src) {
    const auto loaded = load_yaml(src, problems_);
    if (!loaded) return;
    const std::vector<YAML::Node>& docs = *loaded;
    for (size_t i = 0; i < docs.size(); ++i) {
      if (docs[i].IsNull()) continue;
      read_object(Where{&src.file, i + 1, docs.size(), ""}, docs[i]);
    }
  }

  void read_object(const Where& w, const YAML::Node& obj) {
    if (!obj.IsMap()) {
      error(w, obj, "", "a manifest must be a map, not " + describe(obj));
      return;
    }
    auto kind = str(w, child(obj, "kind"), "/kind");
    if (!kind) {
      if (!child(obj, "kind").IsDefined()) error(w, obj, "", "missing required key 'kind'");
      return;
    }
    if (kind->ends_with("List")) {  // kubectl get -o yaml
      YAML::Node items = child(obj, "items");
      if (!is_list(w, items, "/items")) return;
      for (size_t i = 0; i < items.size(); ++i)
        read_object(Where{w.file, w.document, w.documents, w.base + "/items/" + std::to_string(i)},
                    items[i]);
      return;
    }
    static const std::set<std::string> known = {"Deployment", "StatefulSet",         "DaemonSet",
                                                "Service",    "PodDisruptionBudget", "Ingress",
                                                "Node"};
    if (!known.count(*kind)) {
      ++skipped_[*kind];
      return;
    }
    YAML::Node meta = child(obj, "metadata");
    if (!is_map(w, meta, "/metadata")) {
      if (!meta.IsDefined()) error(w, obj, "", "missing required key 'metadata'");
      return;
    }
    auto name = str(w, child(meta, "name"), "/metadata/name");
    if (!name) {
      if (!child(meta, "name").IsDefined())
        error(w, meta, "/metadata", "missing required key 'name'");
      return;
    }
    std::string ns = str(w, child(meta, "namespace"), "/metadata/namespace").value_or("default");
    YAML::Node spec = child(obj, "spec");
    if (*kind == "Node") {
      Labels l = labels(w, child(meta, "labels"), "/metadata/labels");
      NodeInfo n{*name, "", ""};
      for (const char* key :
           {"topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"})
        if (l.count(key) && n.zone.empty()) n.zone = l[key];
      for (const char* key :
           {"topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region"})
        if (l.count(key) && n.region.empty()) n.region = l[key];
      nodes_.push_back(n);
      return;
    }
    if (!is_map(w, spec, "/spec")) {
      if (!spec.IsDefined() && *kind != "Service") error(w, obj, "", "missing required key 'spec'");
      if (*kind != "Service") return;
    }
    if (*kind == "Service") {
      Service s{ns,
                *name,
                str(w, child(spec, "type"), "/spec/type").value_or("ClusterIP"),
                labels(w, child(spec, "selector"), "/spec/selector"),
                {}};
      services_.push_back(std::move(s));
    } else if (*kind == "PodDisruptionBudget") {
      Pdb p{ns, *name, {}, child(spec, "minAvailable"), child(spec, "maxUnavailable"), w};
      if (is_map(w, child(spec, "selector"), "/spec/selector"))
        p.selector =
            labels(w, child(child(spec, "selector"), "matchLabels"), "/spec/selector/matchLabels");
      pdbs_.push_back(std::move(p));
    } else if (*kind == "Ingress") {
      read_ingress(w, ns, *name, spec);
    } else {
      read_workload(w, *kind, ns, *name, spec);
    }
  }

  void read_ingress(const Where& w, const std::string& ns, const std::string& name,
                    const YAML::Node& spec) {
    Ingress ing{ns, name, {}};
    auto backend = [&](const YAML::Node& b, const std::string& path) {
      if (!is_map(w, b, path)) return;
      std::optional<std::string> svc;
      if (child(b, "service").IsDefined()) {
        if (is_map(w, child(b, "service"), path + "/service"))
          svc = str(w, child(child(b, "service"), "name"), path + "/service/name");
      } else {
        svc = str(w, child(b, "serviceName"), path + "/serviceName");  // extensions/v1beta1
      }
      if (svc && std::find(ing.backends.begin(), ing.backends.end(), *svc) == ing.backends.end())
        ing.backends.push_back(*svc);
    };
    backend(child(spec, "defaultBackend"), "/spec/defaultBackend");
    backend(child(spec, "backend"), "/spec/backend");
    YAML::Node rules = child(spec, "rules");
    if (is_list(w, rules, "/spec/rules")) {
      for (size_t i = 0; i < rules.size(); ++i) {
        std::string rp = "/spec/rules/" + std::to_string(i);
        if (!is_map(w, rules[i], rp) || !is_map(w, child(rules[i], "http"), rp + "/http")) continue;
        YAML::Node paths = child(child(rules[i], "http"), "paths");
        if (!is_list(w, paths, rp + "/http/paths")) continue;
        for (size_t j = 0; j < paths.size(); ++j) {
          std::string pp = rp + "/http/paths/" + std::to_string(j);
          if (is_map(w, paths[j], pp)) backend(child(paths[j], "backend"), pp + "/backend");
        }
      }
    }
    ingresses_.push_back(std::move(ing));
  }

  void read_workload(const Where& w, const std::string& kind, const std::string& ns,
                     const std::string& name, const YAML::Node& spec) {
    Workload wl{kind, ns, name, "", 1, {}, {}, "", "", {}};
    if (kind != "DaemonSet") {
      long replicas = integer(w, child(spec, "replicas"), "/spec/replicas").value_or(1);
      if (replicas > kMaxReplicas) {  // strtol gives LONG_MAX for more
        error(w, child(spec, "replicas"), "/spec/replicas",
              child(spec, "replicas").Scalar() + " replicas is more than " +
                  std::to_string(kMaxReplicas) + " (each becomes a component)");
        replicas = 1;
      }
      wl.replicas = static_cast<int>(replicas);
    }
    YAML::Node tmpl = child(spec, "template");
    const std::string tp = "/spec/template";
    if (!is_map(w, tmpl, tp)) {
      if (!tmpl.IsDefined()) error(w, spec, "/spec", "missing required key 'template'");
      return;
    }
    if (is_map(w, child(tmpl, "metadata"), tp + "/metadata"))
      wl.pod_labels = labels(w, child(child(tmpl, "metadata"), "labels"), tp + "/metadata/labels");
    YAML::Node pod = child(tmpl, "spec");
    const std::string pp = tp + "/spec";
    if (!is_map(w, pod, pp)) {
      if (!pod.IsDefined()) error(w, tmpl, tp, "missing required key 'spec'");
      return;
    }
    if (!child(pod, "containers").IsDefined())
      error(w, pod, pp, "missing required key 'containers'");
    for (const char* list : {"initContainers", "containers"}) {
      YAML::Node cs = pod[list];
      std::string cp = pp + "/" + list;
      if (!is_list(w, cs, cp)) continue;
      for (size_t i = 0; i < cs.size(); ++i)
        read_container(w, cs[i], cp + "/" + std::to_string(i), wl);
    }
    // Placement: topology spread constraints and pod anti-affinity.
    YAML::Node spread = child(pod, "topologySpreadConstraints");
    if (is_list(w, spread, pp + "/topologySpreadConstraints")) {
      for (size_t i = 0; i < spread.size(); ++i) {
        std::string p = pp + "/topologySpreadConstraints/" + std::to_string(i);
        if (!is_map(w, spread[i], p)) continue;
        auto key = str(w, child(spread[i], "topologyKey"), p + "/topologyKey").value_or("");
        auto when = str(w, child(spread[i], "whenUnsatisfiable"), p + "/whenUnsatisfiable")
                        .value_or("DoNotSchedule");
        std::string how = "topologySpreadConstraints (" + when + ")";
        if (is_zone_key(key)) wl.zone_spread = how;
        if (is_host_key(key)) wl.host_spread = how;
      }
    }
    YAML::Node anti = child(pod, "affinity").IsMap()
                          ? child(child(pod, "affinity"), "podAntiAffinity")
                          : YAML::Node();
    if (anti.IsDefined() && is_map(w, anti, pp + "/affinity/podAntiAffinity")) {
      auto terms = [&](const char* field, bool preferred) {
        YAML::Node list = anti[field];
        std::string p = pp + "/affinity/podAntiAffinity/" + field;
        if (!is_list(w, list, p)) return;
        for (size_t i = 0; i < list.size(); ++i) {
          YAML::Node term = list[i];
          if (!is_map(w, term, p + "/" + std::to_string(i))) continue;
          if (preferred) term = child(term, "podAffinityTerm");
          if (!term.IsMap()) continue;
          auto key =
              str(w, child(term, "topologyKey"), p + "/" + std::to_string(i) + "/topologyKey")
                  .value_or("");
          std::string how =
              std::string("podAntiAffinity (") + (preferred ? "preferred" : "required") + ")";
          if (is_zone_key(key) && wl.zone_spread.empty()) wl.zone_spread = how;
          if (is_host_key(key) && wl.host_spread.empty()) wl.host_spread = how;
        }
      };
      terms("requiredDuringSchedulingIgnoredDuringExecution", false);
      terms("preferredDuringSchedulingIgnoredDuringExecution", true);
    }
    workloads_.push_back(std::move(wl));
  }

  void read_container(const Where& w, const YAML::Node& c, const std::string& path, Workload& wl) {
    if (!is_map(w, c, path)) return;
    YAML::Node env = child(c, "env");
    if (is_list(w, env, path + "/env")) {
      for (size_t i = 0; i < env.size(); ++i) {
        std::string ep = path + "/env/" + std::to_string(i);
        const YAML::Node& e = env[i];
        if (!e.IsMap() || !child(e, "name").IsDefined()) {
          error(w, e, ep,
                "an env entry must be a map with 'name' and 'value' or 'valueFrom', not " +
                    describe(e));
          continue;
        }
        if (auto v = str(w, child(e, "value"), ep + "/value")) wl.config.emplace_back(*v, true);
      }
    }
    for (const char* field : {"command", "args"}) {
      YAML::Node list = c[field];
      std::string lp = path + "/" + field;
      if (!is_list(w, list, lp)) continue;
      for (size_t i = 0; i < list.size(); ++i)
        if (auto v = str(w, list[i], lp + "/" + std::to_string(i)))
          wl.config.emplace_back(*v, false);
    }
  }

  // --- Building --------------------------------------------------------------------------

  static bool selects(const Labels& selector, const Labels& labels) {
    if (selector.empty()) return false;
    for (const auto& [k, v] : selector) {
      auto it = labels.find(k);
      if (it == labels.end() || it->second != v) return false;
    }
    return true;
  }

  /// min_healthy from a PDB's minAvailable / maxUnavailable (ints or percentages, rounded up
  /// as the disruption controller does); nullopt after reporting a malformed value.
  std::optional<long> quorum(const Pdb& p, int n) {
    auto parse = [&](const YAML::Node& v, const std::string& path) -> std::optional<long> {
      auto s = str(p.where, v, path);
      if (!s) return std::nullopt;
      char* end = nullptr;
      bool pct = !s->empty() && s->back() == '%';
      std::string digits = pct ? s->substr(0, s->size() - 1) : *s;
      long x = std::strtol(digits.c_str(), &end, 10);
      if (digits.empty() || *end != '\0' || x < 0 || (pct && x > 100)) {
        error(p.where, v, path,
              "must be a whole number or a percentage such as '50%', not '" + *s + "'");
        return std::nullopt;
      }
      if (pct) return static_cast<long>(std::ceil(static_cast<double>(x) * n / 100.0));
      return x;
    };
    if (p.min_available.IsDefined()) return parse(p.min_available, "/spec/minAvailable");
    if (p.max_unavailable.IsDefined()) {
      auto x = parse(p.max_unavailable, "/spec/maxUnavailable");
      if (x) return n - *x;
    }
    return std::nullopt;
  }

  std::string source(const std::string& kind, const std::string& ns, const std::string& name) {
    return "k8s:" + kind + "/" + ns + "/" + name;
  }

  void build() {
    // Failure domains: nodes as hosts under their zones and regions.
    for (const auto& n : nodes_) {
      std::string host = "node:" + n.name;
      auto& h = draft_.get(ElementKind::kDomain, sanitize_id(host));
      h.type = "host";
      h.label("source", "k8s:Node/" + n.name);
      if (!n.zone.empty()) {
        auto& z = draft_.get(ElementKind::kDomain, sanitize_id(n.zone));
        z.type = "zone";
        z.label("source", "k8s:Node labels");
        h.parent = z.id;
        if (!n.region.empty()) {
          auto& r = draft_.get(ElementKind::kDomain, sanitize_id(n.region));
          r.type = "region";
          r.label("source", "k8s:Node labels");
          z.parent = r.id;
        }
        if (std::find(zones_.begin(), zones_.end(), z.id) == zones_.end()) zones_.push_back(z.id);
      }
    }
    std::sort(zones_.begin(), zones_.end());

    // Workloads: a service of its replicas.
    std::map<std::string, int> name_count;
    for (const auto& wl : workloads_)
      ++name_count[wl.name];
    for (auto& wl : workloads_) {
      std::string base = sanitize_id(name_count[wl.name] > 1 ? wl.ns + "/" + wl.name : wl.name);
      wl.id = draft_.fresh_id(base);
      std::string src = source(wl.kind, wl.ns, wl.name);
      std::vector<std::string> hosts;  // DaemonSet: one member per node
      int n = wl.replicas;
      if (wl.kind == "DaemonSet") {
        if (nodes_.empty()) {
          n = kDefaultDaemonSetNodes;
          notes_.push_back("k8s: no Node objects given: DaemonSet " + wl.ns + "/" + wl.name +
                           " is assumed to run on " + std::to_string(n) + " nodes");
        } else {
          for (const auto& node : nodes_)
            hosts.push_back(node.name);
          n = static_cast<int>(hosts.size());
        }
      }
      if (n <= 0) {
        notes_.push_back("k8s: " + wl.kind + " " + wl.ns + "/" + wl.name +
                         " has 0 replicas: left out");
        wl.id.clear();
        continue;
      }
      auto& svc = draft_.get(ElementKind::kService, wl.id);
      std::string kind = wl.kind;
      std::transform(kind.begin(), kind.end(), kind.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      svc.type = kind;
      svc.label("source", src);
      // Placement: zones where spread over zones is stated, hosts for DaemonSets.
      bool by_zone = !wl.zone_spread.empty();
      if (by_zone && zones_.empty()) {
        for (int z = 1; z <= kDefaultZones; ++z) {
          auto& d = draft_.get(ElementKind::kDomain, "zone-" + std::to_string(z));
          d.type = "zone";
          d.label("source", "k8s:assumed (no Node objects with zone labels given)");
          zones_.push_back(d.id);
        }
        notes_.push_back("k8s: zones are not known (no Node objects): spread over zones assumes " +
                         std::to_string(kDefaultZones) + " zones, zone-1..zone-" +
                         std::to_string(kDefaultZones));
      }
      std::string placement;
      if (!hosts.empty())
        placement = "one per node (DaemonSet)";
      else if (by_zone)
        placement = "spread over zones round-robin: " + wl.zone_spread;
      else if (!wl.host_spread.empty())
        placement = "one per host (" + wl.host_spread + "); hosts not modelled";
      else
        placement =
            "not stated: no topologySpreadConstraints or podAntiAffinity, replicas "
            "may share a host or zone";
      svc.label("placement", placement);
      for (int i = 0; i < n; ++i) {
        std::string member = draft_.fresh_id(
            wl.id + "-" + (hosts.empty() ? std::to_string(i) : sanitize_id(hosts[i])));
        auto& c = draft_.get(ElementKind::kComponent, member);
        c.type = "pod";
        c.label("source", src);
        if (!hosts.empty())
          c.domain = sanitize_id("node:" + hosts[i]);
        else if (by_zone)
          c.domain = zones_[static_cast<size_t>(i) % zones_.size()];
        svc.members.push_back(member);
        wl.members.push_back(member);
      }
      svc.min_healthy = 1;
      svc.label("min_healthy_from", "default 1: no PodDisruptionBudget");
    }

    // PodDisruptionBudgets: the quorum of the workloads they select.
    for (const auto& p : pdbs_) {
      bool any = false;
      for (const auto& wl : workloads_) {
        if (wl.id.empty() || wl.ns != p.ns || !selects(p.selector, wl.pod_labels)) continue;
        any = true;
        int n = static_cast<int>(wl.members.size());
        auto k = quorum(p, n);
        if (!k) continue;
        auto* svc = draft_.find(wl.id);
        long clamped = std::clamp<long>(*k, 1, n);
        svc->min_healthy = static_cast<uint32_t>(clamped);
        svc->label("min_healthy_from",
                   "PodDisruptionBudget/" + p.ns + "/" + p.name +
                       (clamped != *k ? " (" + std::to_string(*k) + ", clamped to 1.." +
                                            std::to_string(n) + ")"
                                      : ""));
      }
      if (!any)
        notes_.push_back("k8s: PodDisruptionBudget " + p.ns + "/" + p.name +
                         " selects no workload");
    }
    problems_.throw_if_any();

    // Services: the workloads they select.
    for (auto& s : services_) {
      for (const auto& wl : workloads_)
        if (!wl.id.empty() && wl.ns == s.ns && selects(s.selector, wl.pod_labels))
          s.targets.push_back(wl.id);
      if (s.targets.empty())
        notes_.push_back("k8s: Service " + s.ns + "/" + s.name + " selects no workload: not used");
    }

    // Dependencies: configuration that names a Service.
    for (const auto& wl : workloads_) {
      if (wl.id.empty()) continue;
      for (const auto& [value, bare] : wl.config)
        for (const auto& host : referenced_hosts(value, bare))
          if (const Service* s = resolve(host, wl.ns))
            for (const auto& t : s->targets)
              draft_.find(wl.id)->depend(t);
    }

    // Entrypoints: LoadBalancer Services and Ingresses.
    for (const auto& s : services_) {
      if (s.type != "LoadBalancer" || s.targets.empty()) continue;
      auto& e = draft_.get(ElementKind::kEntrypoint, draft_.fresh_id(sanitize_id("lb:" + s.name)));
      e.target = s.targets[0];
      e.label("source", source("Service", s.ns, s.name));
    }
    for (const auto& ing : ingresses_) {
      for (const auto& b : ing.backends) {
        const Service* s = resolve(b, ing.ns);
        if (!s || s->targets.empty()) {
          notes_.push_back("k8s: Ingress " + ing.ns + "/" + ing.name + " sends to Service " + b +
                           ", which selects no workload");
          continue;
        }
        std::string id = "ingress:" + ing.name + (ing.backends.size() > 1 ? ":" + b : "");
        auto& e = draft_.get(ElementKind::kEntrypoint, draft_.fresh_id(sanitize_id(id)));
        e.target = s->targets[0];
        e.label("source", source("Ingress", ing.ns, ing.name));
      }
    }
  }

  /// The Service a host name means from namespace `ns`: `cart`, `cart.shop`,
  /// `cart.shop.svc`, `cart.shop.svc.cluster.local`.
  const Service* resolve(std::string host, const std::string& ns) {
    for (const char* suffix : {".svc.cluster.local", ".svc"})
      if (host.ends_with(suffix)) host.resize(host.size() - std::strlen(suffix));
    std::string name = host, in = ns;
    if (auto dot = host.find('.'); dot != std::string::npos) {
      name = host.substr(0, dot);
      in = host.substr(dot + 1);
      if (in.find('.') != std::string::npos) return nullptr;  // an outside name
    }
    for (const auto& s : services_)
      if (s.name == name && s.ns == in) return &s;
    return nullptr;
  }

  Problems problems_;
  std::vector<std::string> notes_;
  std::map<std::string, int> skipped_;
  std::vector<Workload> workloads_;
  std::vector<Service> services_;
  std::vector<Pdb> pdbs_;
  std::vector<Ingress> ingresses_;
  std::vector<NodeInfo> nodes_;
  std::vector<std::string> zones_;
  Draft draft_;
};

}  // namespace

ImportResult import_k8s(const std::vector<ImportSource>& sources) {
  return K8sImporter().run(sources);
}

}  // namespace achilles::analyzer::detail
