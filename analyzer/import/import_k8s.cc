// Kubernetes manifests into a topology: workloads become services of their replicas, Services
// and their selectors resolve the names that configuration (env, envFrom, ConfigMaps, args)
// refers to, a Service over several workloads is one group of those workloads (any one serves),
// PodDisruptionBudgets give quorums, spread constraints and anti-affinity give placement,
// volumes and images say what holds data, and LoadBalancer, NodePort Services and Ingresses
// become entrypoints. Helm charts and Kustomize trees are refused with the command that renders
// them. See docs/importers.md.
//
// One file past 500 lines: the Kubernetes kinds that make one topology (workloads, Services,
// ConfigMaps, PodDisruptionBudgets, spread and affinity, references in the environment) share
// one index of labels and selectors.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

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
  std::string base;           // path of the object in its document ("" or "/items/3")
  bool in_directory = false;  // found by walking a directory (ImportSource::in_directory)
};

using Labels = std::map<std::string, std::string>;

std::string join(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string out;
  for (const auto& i : items)
    out += (out.empty() ? "" : sep) + i;
  return out;
}

std::string show(const Labels& labels) {
  std::vector<std::string> out;
  for (const auto& [k, v] : labels)
    out.push_back(k + "=" + v);
  return join(out);
}

/// A label selector: matchLabels and matchExpressions. Absent (`given` false) it selects no
/// pods, as Kubernetes reads a null selector; empty it selects every pod.
struct Selector {
  struct Expression {
    std::string key, op;
    std::vector<std::string> values;
  };
  bool given = false;
  Labels match;
  std::vector<Expression> expressions;

  bool selects(const Labels& labels) const {
    if (!given) return false;
    for (const auto& [k, v] : match) {
      auto it = labels.find(k);
      if (it == labels.end() || it->second != v) return false;
    }
    for (const auto& e : expressions) {
      auto it = labels.find(e.key);
      bool in = it != labels.end() &&
                std::find(e.values.begin(), e.values.end(), it->second) != e.values.end();
      if ((e.op == "In" && !in) || (e.op == "NotIn" && in) ||
          (e.op == "Exists" && it == labels.end()) ||
          (e.op == "DoesNotExist" && it != labels.end()))
        return false;
    }
    return true;
  }
  std::string text() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : match)
      out.push_back(k + "=" + v);
    for (const auto& e : expressions)
      out.push_back(e.key + " " + e.op + (e.values.empty() ? "" : " (" + join(e.values) + ")"));
    return out.empty() ? "every pod" : join(out);
  }
};

/// A string of the configuration that may name a Service, and where it was written.
struct ConfigValue {
  std::string value;
  bool bare;        // a value that is just a name counts
  std::string how;  // "env CART_ADDR", "args", "envFrom ConfigMap shop key DB"
};

/// A ConfigMap the workload reads: `key` empty for all its values.
struct ConfigRef {
  std::string name, key;
  bool bare;
  std::string how;
};

struct Workload {
  std::string kind, ns, name, id;
  int replicas = 1;
  Labels pod_labels;
  /// Every string of env values, args and command, with whether a bare name counts.
  std::vector<ConfigValue> config;
  std::vector<ConfigRef> config_refs;
  std::string zone_spread, host_spread;  // how it is stated, empty when not
  std::vector<std::string> flagged;      // spread stated but not credited, and why
  std::vector<std::string> images;
  std::vector<std::string> stateful;  // why it holds data; empty when it does not
  std::vector<std::string> members;
};

struct Service {
  std::string ns, name, type;
  Labels selector;
  std::string internal;              // the annotation that makes a LoadBalancer internal
  std::vector<std::string> targets;  // workload ids
  std::string group;                 // with several targets: the service of those workloads
  std::vector<std::string> node_ports;
  /// The element a name of this Service means: its group, or its one workload.
  const std::string& target() const { return group.empty() ? targets.at(0) : group; }
};

struct ConfigMap {
  std::string ns, name;
  std::vector<std::pair<std::string, std::string>> data;
};

struct Pdb {
  std::string ns, name;
  Selector selector;
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
    refuse_unrendered(sources);
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

  /// Helm charts and Kustomize trees are not manifests until rendered: each is refused with
  /// the command that renders it, before any of their files is read.
  void refuse_unrendered(const std::vector<ImportSource>& sources) {
    for (const auto& src : sources) {
      std::filesystem::path path(src.file);
      std::string base = path.filename().string();
      std::string dir = path.parent_path().empty() ? "." : path.parent_path().string();
      if (base == "Chart.yaml" || base == "Chart.yml")
        problems_.add(src.file, {},
                      dir + " is a Helm chart (" + base +
                          "), not manifests: render it first with `helm template RELEASE " + dir +
                          " > out.yaml`, then import out.yaml");
      else if (base == "kustomization.yaml" || base == "kustomization.yml")
        problems_.add(src.file, {},
                      dir + " is a Kustomize tree (" + base +
                          "), not manifests: render it first with `kubectl kustomize " + dir +
                          " > out.yaml`, then import out.yaml");
    }
    problems_.throw_if_any();
  }

  /// A Helm template (`{{ .Values.x }}`) is not YAML, or YAML of another shape: when its file
  /// gave problems and holds template actions, they are replaced by one that says what to
  /// run. A file that reads as manifests is never refused: `{{` may be in a ConfigMap value
  /// (an Alertmanager template).
  void refuse_template(const ImportSource& src, size_t problems_before) {
    if (problems_.size() == problems_before) return;
    size_t at = std::string::npos;
    for (const char* mark : {"{{ .Values", "{{- .Values", "{{ .Release", "{{- .Release",
                             "{{ .Chart", "{{ include", "{{- include", "{{ template",
                             "{{- template", "{{- if", "{{ if", "{{- toYaml", "{{ toYaml"})
      at = std::min(at, src.text.find(mark));
    if (at == std::string::npos) return;
    problems_.keep_first(problems_before);
    uint32_t line =
        static_cast<uint32_t>(std::count(src.text.begin(), src.text.begin() + at, '\n'));
    size_t start = src.text.rfind('\n', at);
    uint32_t column = static_cast<uint32_t>(at - (start == std::string::npos ? 0 : start + 1));
    problems_.add(src.file, {line + 1, column + 1},
                  "a Helm template ('{{'), not a manifest: render the chart first with `helm "
                  "template RELEASE CHART_DIR > out.yaml`, then import out.yaml");
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

  /// A label selector at `n` (`matchLabels`, `matchExpressions`).
  Selector selector(const Where& w, const YAML::Node& n, const std::string& path) {
    Selector s;
    if (!is_map(w, n, path)) return s;
    s.given = true;
    s.match = labels(w, child(n, "matchLabels"), path + "/matchLabels");
    YAML::Node exprs = child(n, "matchExpressions");
    if (!is_list(w, exprs, path + "/matchExpressions")) return s;
    for (size_t i = 0; i < exprs.size(); ++i) {
      std::string ep = path + "/matchExpressions/" + std::to_string(i);
      if (!is_map(w, exprs[i], ep)) continue;
      Selector::Expression e;
      e.key = str(w, child(exprs[i], "key"), ep + "/key").value_or("");
      e.op = str(w, child(exprs[i], "operator"), ep + "/operator").value_or("");
      if (e.op != "In" && e.op != "NotIn" && e.op != "Exists" && e.op != "DoesNotExist") {
        error(w, child(exprs[i], "operator"), ep + "/operator",
              "must be In, NotIn, Exists or DoesNotExist, not '" + e.op + "'");
        continue;
      }
      YAML::Node values = child(exprs[i], "values");
      if (is_list(w, values, ep + "/values"))
        for (size_t j = 0; j < values.size(); ++j)
          if (auto v = str(w, values[j], ep + "/values/" + std::to_string(j)))
            e.values.push_back(*v);
      s.expressions.push_back(std::move(e));
    }
    return s;
  }

  void read_source(const ImportSource& src) {
    size_t before = problems_.size();
    const auto loaded = load_yaml(src, problems_);
    if (loaded) {
      const std::vector<YAML::Node>& docs = *loaded;
      for (size_t i = 0; i < docs.size(); ++i) {
        if (docs[i].IsNull()) continue;
        read_object(Where{&src.file, i + 1, docs.size(), "", src.in_directory}, docs[i]);
      }
    }
    refuse_template(src, before);
  }

  /// In a directory, what is not a manifest (a values file, a patch) is skipped with a note;
  /// in a file the user named, it is an error.
  bool skip_in_directory(const Where& w, const std::string& what) {
    if (!w.in_directory) return false;
    std::string doc = w.documents > 1 ? " document " + std::to_string(w.document) : "";
    skipped_files_.push_back(*w.file + doc + " (" + what + ")");
    return true;
  }

  void read_object(const Where& w, const YAML::Node& obj) {
    if (!obj.IsMap()) {
      error(w, obj, "", "a manifest must be a map, not " + describe(obj));
      return;
    }
    auto kind = str(w, child(obj, "kind"), "/kind");
    if (!kind) {
      if (!child(obj, "kind").IsDefined() && !skip_in_directory(w, "no kind: not a manifest"))
        error(w, obj, "", "missing required key 'kind'");
      return;
    }
    if (*kind == "Kustomization") {  // kustomization.yaml under another name
      problems_.add(*w.file, {},
                    "a Kustomization, not manifests: render its directory first with `kubectl "
                    "kustomize DIR > out.yaml`, then import out.yaml");
      return;
    }
    if (kind->ends_with("List")) {  // kubectl get -o yaml
      YAML::Node items = child(obj, "items");
      if (!is_list(w, items, "/items")) return;
      for (size_t i = 0; i < items.size(); ++i)
        read_object(Where{w.file, w.document, w.documents, w.base + "/items/" + std::to_string(i),
                          w.in_directory},
                    items[i]);
      return;
    }
    static const std::set<std::string> known = {
        "Deployment",          "StatefulSet", "DaemonSet", "Service",
        "PodDisruptionBudget", "Ingress",     "Node",      "ConfigMap"};
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
    if (*kind == "ConfigMap") {
      ConfigMap cm{ns, *name, {}};
      YAML::Node data = child(obj, "data");
      if (is_map(w, data, "/data"))
        for (auto it = data.begin(); it != data.end(); ++it)
          if (auto v = str(w, it->second, "/data/" + it->first.Scalar()))
            cm.data.emplace_back(it->first.Scalar(), *v);
      config_maps_.push_back(std::move(cm));
      return;
    }
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
      Service s;
      s.ns = ns;
      s.name = *name;
      s.type = str(w, child(spec, "type"), "/spec/type").value_or("ClusterIP");
      s.selector = labels(w, child(spec, "selector"), "/spec/selector");
      s.internal =
          internal_annotation(labels(w, child(meta, "annotations"), "/metadata/annotations"));
      YAML::Node ports = child(spec, "ports");
      if (is_list(w, ports, "/spec/ports"))
        for (size_t i = 0; i < ports.size(); ++i)
          if (auto p = str(w, child(ports[i], "nodePort"),
                           "/spec/ports/" + std::to_string(i) + "/nodePort"))
            s.node_ports.push_back(*p);
      services_.push_back(std::move(s));
    } else if (*kind == "PodDisruptionBudget") {
      Pdb p{ns,
            *name,
            selector(w, child(spec, "selector"), "/spec/selector"),
            child(spec, "minAvailable"),
            child(spec, "maxUnavailable"),
            w};
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
    Workload wl;
    wl.kind = kind;
    wl.ns = ns;
    wl.name = name;
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
      if (!tmpl.IsDefined() && !skip_in_directory(w, kind + " without spec.template: a patch?"))
        error(w, spec, "/spec", "missing required key 'template'");
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
    // Volumes, by name: what a container mounts where says whether the pod holds data.
    std::map<std::string, std::string> volumes;  // name -> "emptyDir", "persistentVolumeClaim"
    YAML::Node vols = child(pod, "volumes");
    if (is_list(w, vols, pp + "/volumes")) {
      for (size_t i = 0; i < vols.size(); ++i) {
        std::string vp = pp + "/volumes/" + std::to_string(i);
        if (!is_map(w, vols[i], vp)) continue;
        std::string vname = str(w, child(vols[i], "name"), vp + "/name").value_or("");
        for (const char* type : {"emptyDir", "persistentVolumeClaim"})
          if (child(vols[i], type).IsDefined()) volumes[vname] = type;
        if (is_map(w, child(vols[i], "configMap"), vp + "/configMap"))
          if (auto cm = str(w, child(child(vols[i], "configMap"), "name"), vp + "/configMap/name"))
            wl.config_refs.push_back(
                {*cm, "", false, "ConfigMap " + *cm + " (volume " + vname + ")"});
      }
    }
    if (kind == "StatefulSet") wl.stateful.push_back("a StatefulSet");
    for (const char* list : {"initContainers", "containers"}) {
      YAML::Node cs = pod[list];
      std::string cp = pp + "/" + list;
      if (!is_list(w, cs, cp)) continue;
      for (size_t i = 0; i < cs.size(); ++i)
        read_container(w, cs[i], cp + "/" + std::to_string(i), wl, volumes,
                       std::string(list) == "containers");
    }
    // Placement: topology spread constraints and pod anti-affinity, credited only where their
    // selector matches the workload's own pods (else they spread something else).
    auto credited = [&](const YAML::Node& term, const std::string& p, const std::string& how,
                        const std::string& key) {
      Selector sel = selector(w, child(term, "labelSelector"), p + "/labelSelector");
      if (sel.selects(wl.pod_labels)) return true;
      wl.flagged.push_back(
          how + " over " + key + " selects " +
          (sel.given ? sel.text() : "no pods (it has no labelSelector)") +
          (sel.given
               ? ", not this workload's own pods (" +
                     (wl.pod_labels.empty() ? std::string("no labels") : show(wl.pod_labels)) + ")"
               : ""));
      return false;
    };
    YAML::Node spread = child(pod, "topologySpreadConstraints");
    if (is_list(w, spread, pp + "/topologySpreadConstraints")) {
      for (size_t i = 0; i < spread.size(); ++i) {
        std::string p = pp + "/topologySpreadConstraints/" + std::to_string(i);
        if (!is_map(w, spread[i], p)) continue;
        auto key = str(w, child(spread[i], "topologyKey"), p + "/topologyKey").value_or("");
        auto when = str(w, child(spread[i], "whenUnsatisfiable"), p + "/whenUnsatisfiable")
                        .value_or("DoNotSchedule");
        std::string how = "topologySpreadConstraints (" + when + ")";
        if (!is_zone_key(key) && !is_host_key(key)) continue;
        if (!credited(spread[i], p, how, key)) continue;
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
          if (!is_zone_key(key) && !is_host_key(key)) continue;
          if (!credited(term, p + "/" + std::to_string(i) + (preferred ? "/podAffinityTerm" : ""),
                        how, key))
            continue;
          if (is_zone_key(key) && wl.zone_spread.empty()) wl.zone_spread = how;
          if (is_host_key(key) && wl.host_spread.empty()) wl.host_spread = how;
        }
      };
      terms("requiredDuringSchedulingIgnoredDuringExecution", false);
      terms("preferredDuringSchedulingIgnoredDuringExecution", true);
    }
    workloads_.push_back(std::move(wl));
  }

  void read_container(const Where& w, const YAML::Node& c, const std::string& path, Workload& wl,
                      const std::map<std::string, std::string>& volumes, bool main) {
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
        std::string var = str(w, child(e, "name"), ep + "/name").value_or("");
        if (auto v = str(w, child(e, "value"), ep + "/value"))
          wl.config.push_back({*v, true, "env " + var});
        YAML::Node ref = child(child(e, "valueFrom"), "configMapKeyRef");
        if (is_map(w, ref, ep + "/valueFrom/configMapKeyRef")) {
          auto cm = str(w, child(ref, "name"), ep + "/valueFrom/configMapKeyRef/name");
          auto key = str(w, child(ref, "key"), ep + "/valueFrom/configMapKeyRef/key");
          if (cm && key)
            wl.config_refs.push_back({*cm, *key, true, "env " + var + " from ConfigMap " + *cm});
        }
      }
    }
    YAML::Node env_from = child(c, "envFrom");
    if (is_list(w, env_from, path + "/envFrom")) {
      for (size_t i = 0; i < env_from.size(); ++i) {
        std::string ep = path + "/envFrom/" + std::to_string(i);
        YAML::Node ref = child(env_from[i], "configMapRef");
        if (!is_map(w, ref, ep + "/configMapRef")) continue;
        if (auto cm = str(w, child(ref, "name"), ep + "/configMapRef/name"))
          wl.config_refs.push_back({*cm, "", true, "envFrom ConfigMap " + *cm});
      }
    }
    for (const char* field : {"command", "args"}) {
      YAML::Node list = c[field];
      std::string lp = path + "/" + field;
      if (!is_list(w, list, lp)) continue;
      for (size_t i = 0; i < list.size(); ++i)
        if (auto v = str(w, list[i], lp + "/" + std::to_string(i)))
          wl.config.push_back({*v, false, field});
    }
    if (!main) return;  // an init container has run and exited before the pod serves
    if (auto image = str(w, child(c, "image"), path + "/image")) {
      wl.images.push_back(*image);
      if (datastore_image(*image))
        wl.stateful.push_back("image " + *image + " is a database, cache or queue");
    }
    YAML::Node mounts = child(c, "volumeMounts");
    if (!is_list(w, mounts, path + "/volumeMounts")) return;
    for (size_t i = 0; i < mounts.size(); ++i) {
      std::string mp = path + "/volumeMounts/" + std::to_string(i);
      if (!is_map(w, mounts[i], mp)) continue;
      auto vname = str(w, child(mounts[i], "name"), mp + "/name");
      auto at = str(w, child(mounts[i], "mountPath"), mp + "/mountPath");
      if (!vname || !at) continue;
      auto v = volumes.find(*vname);
      if (v == volumes.end()) continue;
      if (v->second == "persistentVolumeClaim")
        wl.stateful.push_back("persistentVolumeClaim volume " + *vname + " at " + *at);
      else if (data_path(*at))
        wl.stateful.push_back("emptyDir volume " + *vname + " at " + *at + ", lost with the pod");
    }
  }

  /// A mount path where data is kept (`/data`, `/var/lib/mysql`, `/data/db`), not scratch
  /// space (`/tmp`, `/var/log`, `/cache`): a segment `data`, `db`, `storage` or `state`, or
  /// under `/var/lib`.
  static bool data_path(const std::string& path) {
    if (path.rfind("/var/lib/", 0) == 0) return true;
    std::string segment;
    for (char c : path + "/") {
      if (c != '/') {
        segment += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        continue;
      }
      if (segment == "data" || segment == "db" || segment == "storage" || segment == "state")
        return true;
      segment.clear();
    }
    return false;
  }

  /// The annotation that makes a LoadBalancer Service internal (reachable from the private
  /// network only), as `KEY: VALUE`; empty for a public one.
  static std::string internal_annotation(const Labels& annotations) {
    auto lower = [](std::string s) {
      std::transform(s.begin(), s.end(), s.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      return s;
    };
    static const std::vector<std::pair<std::string, std::string>> kInternal = {
        {"service.beta.kubernetes.io/aws-load-balancer-internal", ""},
        {"service.beta.kubernetes.io/aws-load-balancer-scheme", "internal"},
        {"networking.gke.io/load-balancer-type", "internal"},
        {"cloud.google.com/load-balancer-type", "internal"},
        {"service.beta.kubernetes.io/azure-load-balancer-internal", "true"},
        {"service.beta.kubernetes.io/oci-load-balancer-internal", "true"},
        {"service.beta.kubernetes.io/openstack-internal-load-balancer", "true"}};
    for (const auto& [key, want] : kInternal) {
      auto it = annotations.find(key);
      if (it == annotations.end()) continue;
      std::string v = lower(it->second);
      // aws-load-balancer-internal: "true", or a CIDR in old releases; never "false"
      if (want.empty() ? v != "false" : v == want) return key + ": " + it->second;
    }
    return "";
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
      if (!hosts.empty() || by_zone)
        spread_.push_back(wl.name);
      else
        unspread_.push_back(wl.name);
      for (const auto& f : wl.flagged)
        notes_.push_back("k8s: " + wl.kind + " " + wl.ns + "/" + wl.name + ": " + f +
                         ": not credited as spread");
      if (!wl.stateful.empty()) {
        svc.label("stateful", join(wl.stateful, "; "));
        stateful_.push_back(wl.name + " (" + join(wl.stateful, "; ") + ")");
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
        if (!wl.stateful.empty()) c.label("stateful", join(wl.stateful, "; "));
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
        if (wl.id.empty() || wl.ns != p.ns || !p.selector.selects(wl.pod_labels)) continue;
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
        quorums_.push_back(wl.name + " " + std::to_string(clamped) + " of " + std::to_string(n) +
                           " (PodDisruptionBudget " + p.name + ")");
      }
      if (!any)
        notes_.push_back("k8s: PodDisruptionBudget " + p.ns + "/" + p.name +
                         " selects no workload");
    }
    problems_.throw_if_any();

    // Services: the workloads they select. A Service over several workloads (versions
    // v1, v2, v3 of one app) sends each request to any ready pod of any of them: one service
    // whose members are those workloads, any one of which serves, not a dependency on each.
    // The members are the workload services, not their pods: each workload falls with its own
    // dependencies (which sit on the workload service), and the group only when all do.
    std::vector<std::string> groups;
    for (auto& s : services_) {
      std::vector<std::string> names;
      for (const auto& wl : workloads_)
        if (!wl.id.empty() && wl.ns == s.ns && selects(s.selector, wl.pod_labels)) {
          s.targets.push_back(wl.id);
          names.push_back(wl.name);
        }
      if (s.targets.empty())
        notes_.push_back("k8s: Service " + s.ns + "/" + s.name + " selects no workload: not used");
      if (s.targets.size() < 2) continue;
      std::string base = sanitize_id(s.name);
      s.group =
          draft_.has(base) ? draft_.fresh_id(sanitize_id("svc:" + s.ns + "/" + s.name)) : base;
      auto& g = draft_.get(ElementKind::kService, s.group);
      g.type = "k8s-service";
      g.label("source", source("Service", s.ns, s.name));
      g.label("selects", join(names));
      g.members = s.targets;
      g.min_healthy = 1;
      g.label("min_healthy_from", "a Service sends to any ready pod it selects");
      groups.push_back(s.name + " over " + join(names) + " (any 1 serves: service " + s.group +
                       ")");
    }
    if (!groups.empty())
      notes_.push_back(
          "k8s: Services that select several workloads are one service of those workloads, "
          "not a dependency on each: " +
          join(groups, "; "));

    // Dependencies: configuration that names a Service, in the workload's own values and in
    // the ConfigMaps it reads (envFrom, configMapKeyRef, volumes). Each ConfigMap is scanned
    // once and each (ConfigMap, key) a workload reads is taken once, however often it is
    // referenced; the notes keep their entries once, in the order found.
    struct Scanned {
      std::string key;
      std::vector<std::string> hosts;
      std::unordered_set<std::string> strong;
    };
    struct ScannedMap {
      std::vector<Scanned> entries;
      std::unordered_map<std::string, std::vector<size_t>> by_key;
    };
    std::map<std::pair<const ConfigMap*, bool>, ScannedMap> scanned;
    auto scan = [&](const ConfigMap* cm, bool bare) -> const ScannedMap& {
      auto [it, fresh] = scanned.try_emplace({cm, bare});
      if (fresh)
        for (const auto& [key, value] : cm->data) {
          auto strong = referenced_hosts(value, false);
          it->second.by_key[key].push_back(it->second.entries.size());
          it->second.entries.push_back(
              {key, referenced_hosts(value, bare), {strong.begin(), strong.end()}});
        }
      return it->second;
    };
    std::vector<std::string> unmatched, missing_maps;
    std::unordered_set<std::string> unmatched_seen, missing_seen;
    auto once = [](std::vector<std::string>& list, std::unordered_set<std::string>& seen,
                   std::string entry) {
      if (seen.insert(entry).second) list.push_back(std::move(entry));
    };
    for (auto& wl : workloads_) {
      if (wl.id.empty()) continue;
      DraftElement* self = draft_.find(wl.id);
      auto use = [&](const std::string& host, bool strong, const std::string& how,
                     const std::string* key) {
        if (const Service* s = resolve(host, wl.ns)) {
          // A workload naming its own Service (peers, a cluster) does not depend on itself.
          bool own = std::find(s->targets.begin(), s->targets.end(), wl.id) != s->targets.end();
          if (!s->targets.empty() && !own) self->depend(s->target());
        } else if (strong && cluster_name(host)) {
          once(unmatched, unmatched_seen,
               host + " (" + wl.name + " " + how + (key ? " key " + *key : "") + ")");
        }
      };
      for (const auto& c : wl.config) {
        auto strong_list = referenced_hosts(c.value, false);
        std::unordered_set<std::string> strong(strong_list.begin(), strong_list.end());
        for (const auto& host : referenced_hosts(c.value, c.bare))
          use(host, strong.count(host) > 0, c.how, nullptr);
      }
      std::set<std::tuple<std::string, std::string, bool>> read;
      for (const auto& ref : wl.config_refs) {
        if (!read.emplace(ref.name, ref.key, ref.bare).second) continue;
        const ConfigMap* cm = config_map(ref.name, wl.ns);
        if (!cm) {
          once(missing_maps, missing_seen, ref.name + " (" + wl.name + ")");
          continue;
        }
        const ScannedMap& m = scan(cm, ref.bare);
        auto visit = [&](const Scanned& e) {
          for (const auto& host : e.hosts)
            use(host, e.strong.count(host) > 0, ref.how, ref.key.empty() ? &e.key : nullptr);
        };
        if (ref.key.empty()) {
          for (const auto& e : m.entries)
            visit(e);
        } else if (auto k = m.by_key.find(ref.key); k != m.by_key.end()) {
          for (size_t i : k->second)
            visit(m.entries[i]);
        }
      }
    }
    if (!unmatched.empty())
      notes_.push_back(
          "k8s: names that look like Services but match none of the manifests (not "
          "deployed with them, or a name to check): " +
          join(unmatched));
    if (!missing_maps.empty())
      notes_.push_back(
          "k8s: ConfigMaps read by workloads but not in the manifests, so not "
          "searched for Service names: " +
          join(missing_maps));

    // Entrypoints: LoadBalancer and NodePort Services and Ingresses, labelled as inferred.
    for (const auto& s : services_) {
      if ((s.type != "LoadBalancer" && s.type != "NodePort") || s.targets.empty()) continue;
      bool lb = s.type == "LoadBalancer";
      auto& e = draft_.get(ElementKind::kEntrypoint,
                           draft_.fresh_id(sanitize_id((lb ? "lb:" : "nodeport:") + s.name)));
      e.target = s.target();
      e.label("source", source("Service", s.ns, s.name));
      if (!lb)
        e.label("inferred", "a NodePort Service: reachable on every node's port" +
                                (s.node_ports.empty() ? std::string(" (chosen by the cluster)")
                                                      : " " + join(s.node_ports)));
      else if (!s.internal.empty())
        e.label("inferred", "an internal LoadBalancer Service (" + s.internal +
                                "): callers inside the private network, not the internet");
      else
        e.label("inferred", "a LoadBalancer Service");
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
        e.target = s->target();
        e.label("source", source("Ingress", ing.ns, ing.name));
        e.label("inferred", "an Ingress backend");
      }
    }
    write_notes();
  }

  void write_notes() {
    if (!quorums_.empty())
      notes_.push_back(
          "k8s: PodDisruptionBudgets read as quorums (min_healthy; a budget limits "
          "voluntary evictions, it does not say how many pods the service needs): " +
          join(quorums_));
    if (!stateful_.empty())
      notes_.push_back(
          "k8s: workloads taken as holding data (label stateful; their failures "
          "rank above equally harmful ones of stateless pods): " +
          join(stateful_, ", "));
    if (!unspread_.empty() && spread_.empty())
      notes_.push_back(
          "k8s: placement: no workload states a spread over zones or runs on given Nodes, so no "
          "pod is in a zone domain and zone failures are not judged (where the scheduler puts "
          "pods is not in the manifests)");
    else if (!unspread_.empty())
      notes_.push_back("k8s: placement: zone failures are judged for the spread workloads only (" +
                       join(spread_) +
                       "); the pods of the others are in no zone domain, as where the scheduler "
                       "puts them is not in the manifests: " +
                       join(unspread_));
    if (!skipped_files_.empty())
      notes_.push_back("k8s: skipped in the directories, not manifests: " +
                       join(skipped_files_, "; "));
  }

  /// Whether a name that resolves to nothing is still a cluster name worth a note: a bare
  /// name (`cart`), NAME.NAMESPACE of a namespace of the manifests, or a `.svc` name; not an
  /// outside host (`api.stripe.com`) or localhost.
  bool cluster_name(const std::string& host) const {
    if (host == "localhost") return false;
    auto dot = host.find('.');
    if (dot == std::string::npos || host.find(".svc") != std::string::npos) return true;
    std::string ns = host.substr(dot + 1);
    if (ns.find('.') != std::string::npos) return false;
    for (const auto& wl : workloads_)
      if (wl.ns == ns) return true;
    return false;
  }

  const ConfigMap* config_map(const std::string& name, const std::string& ns) const {
    for (const auto& cm : config_maps_)
      if (cm.name == name && cm.ns == ns) return &cm;
    return nullptr;
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
  std::vector<ConfigMap> config_maps_;
  std::vector<std::string> spread_, unspread_, stateful_, quorums_, skipped_files_;
  std::vector<NodeInfo> nodes_;
  std::vector<std::string> zones_;
  Draft draft_;
};

}  // namespace

ImportResult import_k8s(const std::vector<ImportSource>& sources) {
  return K8sImporter().run(sources);
}

}  // namespace achilles::analyzer::detail
