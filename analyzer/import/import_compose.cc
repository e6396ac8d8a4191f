// A Docker Compose file into a topology: each service is a service of its replicas on the one
// host (or over the nodes of a Swarm stack), `depends_on`, `links` and the service names in
// `environment`, `command` and `entrypoint` are dependencies, published ports that look like
// user traffic are entrypoints. What cannot be on the request path (tracing, logging and
// metrics agents; one-shot jobs; services of profiles not asked for) is left out of it, each
// decision in a note. See docs/importers.md.
//
// Past 500 lines: one reading of one format, whose rules (profiles, one-shot jobs, roles of
// images, ports, Swarm) share the table of services built first; split, each part would need
// that table and the notes passed around.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>

#include "import_common.h"
#include "import_yaml.h"

namespace achilles::analyzer::detail {
namespace {

/// What a service is, as far as the request path goes.
enum class Role { kApp, kTelemetry, kDatastore, kAdmin };

struct Classified {
  Role role = Role::kApp;
  std::string what;  ///< "Jaeger (tracing)", empty for an app
  std::string by;    ///< "image jaegertracing/all-in-one" or "service name jaeger"
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

/// The words of an image's repository (registry and tag left out) or of a service name.
std::set<std::string> words(const std::string& text) {
  std::string repo = lower(text);
  if (auto at = repo.find('@'); at != std::string::npos) repo.resize(at);
  if (auto slash = repo.rfind('/'), colon = repo.rfind(':');
      colon != std::string::npos && (slash == std::string::npos || colon > slash))
    repo.resize(colon);
  std::set<std::string> out;
  std::string word;
  for (char c : repo + "/") {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      word += c;
    } else if (!word.empty()) {
      out.insert(word);
      word.clear();
    }
  }
  return out;
}

/// Known images by the words of their name: tracing, logging and metrics agents (never on
/// the request path), databases, caches and queues, and admin UIs (whose ports are not user
/// traffic). Admin first: `mongo-express` is an admin UI, not a database.
Classified classify_words(const std::set<std::string>& w) {
  auto has = [&](const char* x) { return w.count(x) > 0; };
  if (has("pgadmin") || has("pgadmin4") || has("adminer") || has("phpmyadmin") ||
      (has("mongo") && has("express")) || (has("redis") && has("commander")) ||
      has("redisinsight") || has("kibana") || has("portainer") || has("visualizer"))
    return {Role::kAdmin, "an admin UI", ""};
  if (has("jaeger") || has("jaegertracing")) return {Role::kTelemetry, "Jaeger (tracing)", ""};
  if (has("zipkin") || has("openzipkin")) return {Role::kTelemetry, "Zipkin (tracing)", ""};
  if (has("otelcol") || ((has("otel") || has("opentelemetry")) && has("collector")))
    return {Role::kTelemetry, "an OpenTelemetry collector", ""};
  if (has("fluentd") || has("fluentbit") || (has("fluent") && has("bit")))
    return {Role::kTelemetry, "Fluentd/Fluent Bit (logging)", ""};
  if (has("loki") || has("promtail") || has("logspout"))
    return {Role::kTelemetry, "a log collector", ""};
  if (has("tempo")) return {Role::kTelemetry, "Tempo (tracing)", ""};
  if (has("exporter") || has("cadvisor"))
    return {Role::kTelemetry, "a Prometheus exporter (metrics)", ""};
  if (has("prometheus")) return {Role::kTelemetry, "Prometheus (metrics)", ""};
  if (has("alertmanager")) return {Role::kTelemetry, "Alertmanager (metrics)", ""};
  if (has("grafana")) return {Role::kTelemetry, "Grafana (dashboards)", ""};
  for (const char* db :
       {"postgres",  "postgresql",    "pgvector",   "postgis",    "mysql",     "mariadb",
        "mongo",     "mongodb",       "redis",      "valkey",     "memcached", "cassandra",
        "scylla",    "elasticsearch", "opensearch", "clickhouse", "rabbitmq",  "kafka",
        "zookeeper", "etcd",          "consul",     "nats",       "couchdb",   "influxdb",
        "neo4j",     "cockroach",     "qdrant",     "minio",      "mssql"})
    if (has(db)) return {Role::kDatastore, "a database, cache or queue", ""};
  return {};
}

/// Ports that serve a database, a queue, tracing, metrics, an admin UI or a debugger, not
/// users, by the container port.
const char* known_port(long port) {
  static const std::map<long, const char*> kPorts = {{5432, "PostgreSQL"},
                                                     {3306, "MySQL"},
                                                     {27017, "MongoDB"},
                                                     {6379, "Redis"},
                                                     {11211, "Memcached"},
                                                     {9042, "Cassandra"},
                                                     {9200, "Elasticsearch"},
                                                     {9300, "Elasticsearch"},
                                                     {8123, "ClickHouse"},
                                                     {5672, "AMQP"},
                                                     {15672, "RabbitMQ admin"},
                                                     {9092, "Kafka"},
                                                     {2181, "ZooKeeper"},
                                                     {2379, "etcd"},
                                                     {8500, "Consul"},
                                                     {6333, "Qdrant"},
                                                     {8086, "InfluxDB"},
                                                     {1433, "SQL Server"},
                                                     {16686, "the Jaeger UI"},
                                                     {14250, "Jaeger"},
                                                     {14268, "Jaeger"},
                                                     {14269, "Jaeger"},
                                                     {6831, "Jaeger"},
                                                     {6832, "Jaeger"},
                                                     {5775, "Jaeger"},
                                                     {5778, "Jaeger"},
                                                     {9411, "Zipkin"},
                                                     {4317, "OTLP"},
                                                     {4318, "OTLP"},
                                                     {9090, "Prometheus"},
                                                     {9093, "Alertmanager"},
                                                     {9100, "node exporter"},
                                                     {5601, "Kibana"},
                                                     {24224, "Fluentd"},
                                                     {9229, "the Node.js debugger"},
                                                     {5005, "the Java debugger"},
                                                     {2345, "the Go debugger"}};
  auto it = kPorts.find(port);
  return it == kPorts.end() ? nullptr : it->second;
}

/// A published port: `[IP:][HOST:]CONTAINER[/PROTO]`, or the long syntax.
struct Port {
  std::string text, host_ip, host_port, container;
};

/// Splits at ':' outside `${...}` (whose `:-default` has colons of its own).
std::vector<std::string> split_colons(const std::string& s) {
  std::vector<std::string> out(1);
  int braces = 0;
  for (char c : s) {
    if (c == '{') ++braces;
    if (c == '}' && braces > 0) --braces;
    if (c == ':' && braces == 0)
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

Port parse_port(const std::string& text) {
  Port p;
  p.text = text;
  std::string s = text.substr(0, text.find('/'));
  if (!s.empty() && s[0] == '[') {  // [::1]:8080:80
    auto close = s.find(']');
    p.host_ip = s.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    s = close == std::string::npos || close + 1 >= s.size() ? "" : s.substr(close + 2);
    auto parts = split_colons(s);
    p.container = parts.back();
    if (parts.size() > 1) p.host_port = parts[parts.size() - 2];
    return p;
  }
  auto parts = split_colons(s);
  p.container = parts.back();
  if (parts.size() == 2) p.host_port = parts[0];
  if (parts.size() >= 3) {
    p.host_ip = parts[parts.size() - 3];
    p.host_port = parts[parts.size() - 2];
  }
  return p;
}

bool loopback(const std::string& ip) {
  return ip.rfind("127.", 0) == 0 || ip == "::1" || ip == "localhost";
}

/// A number at the start of `text` (`8080`, `8000-8010`), or -1.
long leading_number(const std::string& text) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) return -1;
  return std::strtol(text.c_str(), nullptr, 10);
}

std::string join(const std::vector<std::string>& xs, const char* sep = ", ") {
  std::string out;
  for (const auto& x : xs)
    out += (out.empty() ? "" : sep) + x;
  return out;
}

/// Options after which a bare word is a host: `-h edge-router`, `--host=db`.
bool host_flag(const std::string& flag) {
  static const char* kFlags[] = {"-h",     "-H",        "--host",  "--hostname",
                                 "--addr", "--address", "--server"};
  return std::find_if(std::begin(kFlags), std::end(kFlags),
                      [&](const char* f) { return flag == f; }) != std::end(kFlags);
}

class ComposeImporter {
 public:
  explicit ComposeImporter(const ImportOptions& options) : options_(options) {}

  ImportResult run(const std::vector<ImportSource>& sources) {
    for (const auto& src : sources)
      read(src);
    select_profiles();
    detect_swarm();
    find_one_shot_jobs();
    for (auto& s : services_)
      if (s.included && !s.one_shot) service(s);
    problems_.throw_if_any();
    write_notes();
    ImportResult r;
    r.topology = draft_.build(project_, sources.size() == 1 ? sources[0].file : "");
    r.notes = std::move(notes_);
    return r;
  }

 private:
  struct Service {
    std::string file, name, id;
    YAML::Node node;  ///< with `<<` merge keys resolved
    std::vector<std::string> profiles;
    bool included = true;
    bool one_shot = false;
    std::string one_shot_why;
    Classified role;
  };

  void error(const std::string& file, const YAML::Node& n, const std::string& path,
             const std::string& message) {
    SourcePos pos;
    if (n.IsDefined() && !n.Mark().is_null())
      pos = {static_cast<uint32_t>(n.Mark().line + 1), static_cast<uint32_t>(n.Mark().column + 1)};
    problems_.add(file, pos, path + ": " + message);
  }
  static std::string describe(const YAML::Node& n) {
    if (n.IsMap()) return "a map";
    if (n.IsSequence()) return "a list";
    if (n.IsNull()) return "null";
    return "'" + n.Scalar() + "'";
  }

  /// A map with its `<<` merge keys (YAML 1.1, used with `x-` anchors) resolved: yaml-cpp
  /// keeps `<<` as an ordinary key. Keys of the map win over merged ones, and among merged
  /// maps the earlier wins, as the merge key type says. Anything but a map or a list of maps
  /// after `<<` is an error.
  YAML::Node merged(const std::string& file, const YAML::Node& n, const std::string& path,
                    int depth = 0) {
    YAML::Node merge = child(n, "<<");
    if (!merge.IsDefined() || depth > 16) return n;
    YAML::Node out(YAML::NodeType::Map);
    std::vector<YAML::Node> bases;
    if (merge.IsMap()) {
      bases.push_back(merge);
    } else if (merge.IsSequence()) {
      for (size_t i = merge.size(); i-- > 0;) {  // the earlier wins: applied last
        if (merge[i].IsMap())
          bases.push_back(merge[i]);
        else
          error(file, merge[i], path + "/<</" + std::to_string(i),
                "a merge key lists maps, not " + describe(merge[i]));
      }
    } else {
      error(file, merge, path + "/<<",
            "a merge key names a map or a list of maps, not " + describe(merge));
    }
    for (const auto& base : bases) {
      YAML::Node b = merged(file, base, path + "/<<", depth + 1);
      for (auto it = b.begin(); it != b.end(); ++it)
        out[it->first.Scalar()] = it->second;
    }
    for (auto it = n.begin(); it != n.end(); ++it)
      if (it->first.Scalar() != "<<") out[it->first.Scalar()] = it->second;
    return out;
  }

  void read(const ImportSource& src) {
    const auto docs = load_yaml(src, problems_);
    if (!docs) return;
    // A Compose file is one document (a second one, if any, is ignored as docker compose does).
    const YAML::Node root = docs->empty() ? YAML::Node() : (*docs)[0];
    const std::string& file = src.file;
    if (!root.IsMap()) {
      error(file, root, "/", "a Compose file must be a map, not " + describe(root));
      return;
    }
    if (project_.empty()) {
      if (child(root, "name").IsScalar()) {
        project_ = child(root, "name").Scalar();
      } else {
        auto dir = std::filesystem::absolute(std::filesystem::path(file)).parent_path().filename();
        project_ = dir.empty() ? "compose" : dir.string();
      }
    }
    YAML::Node services = child(root, "services");
    if (!services.IsDefined()) {
      error(file, root, "/", "missing required key 'services'");
      return;
    }
    if (!services.IsMap()) {
      error(file, services, "/services", "must be a map of services, not " + describe(services));
      return;
    }
    YAML::Node networks = child(root, "networks");
    if (networks.IsMap())
      for (auto it = networks.begin(); it != networks.end(); ++it)
        if (child(it->second, "driver").IsScalar() &&
            child(it->second, "driver").Scalar() == "overlay")
          swarm_why_.push_back("network " + it->first.Scalar() + " uses the overlay driver");

    for (auto it = services.begin(); it != services.end(); ++it) {
      Service s;
      s.file = file;
      s.name = it->first.Scalar();
      s.id = sanitize_id(s.name);
      const std::string path = "/services/" + s.name;
      if (!it->second.IsMap() && !it->second.IsNull()) {
        error(file, it->second, path, "a service must be a map, not " + describe(it->second));
        continue;
      }
      s.node =
          it->second.IsMap() ? merged(file, it->second, path) : YAML::Node(YAML::NodeType::Map);
      YAML::Node profiles = child(s.node, "profiles");
      if (profiles.IsSequence()) {
        for (size_t i = 0; i < profiles.size(); ++i) {
          if (profiles[i].IsScalar())
            s.profiles.push_back(profiles[i].Scalar());
          else
            error(file, profiles[i], path + "/profiles/" + std::to_string(i),
                  "must be a profile name, not " + describe(profiles[i]));
        }
      } else if (profiles.IsDefined() && !profiles.IsNull()) {
        error(file, profiles, path + "/profiles", "must be a list, not " + describe(profiles));
      }
      // The role by image; by the service name when the image is not known (absent, built
      // here, or a variable).
      YAML::Node image = child(s.node, "image");
      std::string image_name = image.IsScalar() ? image.Scalar() : "";
      if (!image_name.empty() && image_name.find('$') == std::string::npos) {
        s.role = classify_words(words(image_name));
        s.role.by = "image " + image_name;
      } else {
        s.role = classify_words(words(s.name));
        s.role.by = "service name " + s.name;
      }
      // Other services reach it by its name, its container_name and its hostname.
      for (const char* key : {"container_name", "hostname"})
        if (child(s.node, key).IsScalar())
          aliases_.emplace(lower(child(s.node, key).Scalar()), s.name);
      aliases_[lower(s.name)] = s.name;
      auto old = std::find_if(services_.begin(), services_.end(),
                              [&](const Service& o) { return o.name == s.name; });
      if (old != services_.end())
        *old = std::move(s);  // a later file replaces the service
      else
        services_.push_back(std::move(s));
    }
  }

  Service* find(const std::string& name) {
    auto it = std::find_if(services_.begin(), services_.end(),
                           [&](const Service& s) { return s.name == name; });
    return it == services_.end() ? nullptr : &*it;
  }

  /// Compose starts a service with `profiles` only when one of them is enabled.
  void select_profiles() {
    std::set<std::string> known;
    for (const auto& s : services_)
      known.insert(s.profiles.begin(), s.profiles.end());
    bool all = std::find(options_.profiles.begin(), options_.profiles.end(), "*") !=
               options_.profiles.end();
    for (const auto& p : options_.profiles)
      if (p != "*" && !known.count(p))
        throw UsageError("achilles import: error: --profile '" + p + "': no service has it" +
                         (known.empty()
                              ? std::string(" (the file has no profiles)")
                              : " (profiles: " + join({known.begin(), known.end()}) + ")"));
    std::vector<std::string> left_out;
    for (auto& s : services_) {
      if (s.profiles.empty() || all) continue;
      s.included = std::any_of(s.profiles.begin(), s.profiles.end(), [&](const std::string& p) {
        return std::find(options_.profiles.begin(), options_.profiles.end(), p) !=
               options_.profiles.end();
      });
      if (!s.included) left_out.push_back(s.name + " (" + join(s.profiles) + ")");
    }
    if (!left_out.empty())
      notes_.push_back(
          "compose: services of profiles not enabled are left out, as docker compose "
          "does: " +
          join(left_out) + "; enable a profile with --profile NAME");
  }

  /// Keys only `docker stack deploy` reads make the file a Swarm stack: its tasks run on
  /// several nodes, not on one host.
  void detect_swarm() {
    for (const auto& s : services_) {
      if (!s.included) continue;
      YAML::Node deploy = child(s.node, "deploy");
      for (const char* key :
           {"mode", "placement", "update_config", "rollback_config", "endpoint_mode"})
        if (child(deploy, key).IsDefined()) {
          swarm_why_.push_back(s.name + " has deploy." + key);
          break;
        }
    }
    swarm_ = !swarm_why_.empty();
  }

  /// One-shot jobs (schema setup, migrations) run before the others start and exit: not
  /// runtime dependencies. Compose says so with `condition: service_completed_successfully`;
  /// a service with `restart: "no"` named or run as a migration, init or setup job is one too.
  void find_one_shot_jobs() {
    for (const auto& s : services_) {
      if (!s.included) continue;
      YAML::Node deps = child(s.node, "depends_on");
      if (!deps.IsMap()) continue;
      for (auto it = deps.begin(); it != deps.end(); ++it) {
        YAML::Node cond = child(it->second, "condition");
        if (!cond.IsScalar() || cond.Scalar() != "service_completed_successfully") continue;
        Service* job = find(it->first.Scalar());
        if (job && !job->one_shot) {
          job->one_shot = true;
          job->one_shot_why = s.name + " waits for it to complete (service_completed_successfully)";
        }
      }
    }
    static const char* kJobWords[] = {"migrat",    "init",      "setup",   "seed",
                                      "bootstrap", "provision", "install", "import"};
    for (auto& s : services_) {
      YAML::Node restart = child(s.node, "restart");
      if (s.one_shot || !restart.IsScalar() || restart.Scalar() != "no") continue;
      std::string text = lower(s.name + " " + command_text(child(s.node, "command")));
      for (const char* w : kJobWords)
        if (text.find(w) != std::string::npos) {
          s.one_shot = true;
          s.one_shot_why = "restart: \"no\" and it runs once (" + std::string(w) + "...)";
          break;
        }
    }
    std::vector<std::string> jobs;
    for (const auto& s : services_)
      if (s.included && s.one_shot) jobs.push_back(s.name + " (" + s.one_shot_why + ")");
    if (!jobs.empty())
      notes_.push_back(
          "compose: one-shot jobs run before the services start and exit, so they are not "
          "runtime dependencies; left out: " +
          join(jobs, "; "));
  }

  static std::string command_text(const YAML::Node& n) {
    if (n.IsScalar()) return n.Scalar();
    std::string out;
    if (n.IsSequence())
      for (size_t i = 0; i < n.size(); ++i)
        if (n[i].IsScalar()) out += (out.empty() ? "" : " ") + n[i].Scalar();
    return out;
  }

  /// The Swarm nodes assumed (their names and count are not in a stack file).
  static constexpr int kSwarmNodes = 3;
  std::string node_domain(int i) {
    std::string id = "swarm-node-" + std::to_string(i + 1);
    auto& d = draft_.get(ElementKind::kDomain, id);
    d.type = "host";
    d.label("source", "compose: an assumed Swarm node (the nodes are not in the file)");
    return id;
  }

  void service(Service& s) {
    const std::string& file = s.file;
    const std::string path = "/services/" + s.name;
    const YAML::Node& n = s.node;
    const std::string src = "compose:" + s.name;
    long replicas = 1;
    auto count = [&](const YAML::Node& c, const std::string& p) {
      if (!c.IsDefined() || c.IsNull()) return;
      char* end = nullptr;
      std::string text = c.IsScalar() ? c.Scalar() : "";
      long x = std::strtol(text.c_str(), &end, 10);
      if (!c.IsScalar() || text.empty() || *end != '\0' || x < 0)
        error(file, c, p, "must be a whole number of 0 or more, not " + describe(c));
      else if (x > kMaxReplicas)  // strtol gives LONG_MAX for more
        error(file, c, p,
              text + " replicas is more than " + std::to_string(kMaxReplicas) +
                  " (each becomes a component)");
      else
        replicas = x;
    };
    YAML::Node deploy = child(n, "deploy");
    if (child(n, "scale").IsDefined()) count(child(n, "scale"), path + "/scale");
    if (deploy.IsMap()) count(child(deploy, "replicas"), path + "/deploy/replicas");
    bool global = child(deploy, "mode").IsScalar() && child(deploy, "mode").Scalar() == "global";
    if (global) replicas = kSwarmNodes;
    if (replicas == 0) {
      notes_.push_back("compose: service " + s.name + " has 0 replicas: left out");
      return;
    }
    auto& svc = draft_.get(ElementKind::kService, s.id);
    svc.type = "service";
    svc.label("source", src);
    if (s.role.role != Role::kApp) svc.label("role", s.role.what + ", by " + s.role.by);
    if (swarm_) {
      svc.label("swarm_mode", global ? "global: one task on each node" : "replicated");
      YAML::Node constraints = child(child(deploy, "placement"), "constraints");
      std::vector<std::string> cs;
      if (constraints.IsSequence())
        for (size_t i = 0; i < constraints.size(); ++i)
          if (constraints[i].IsScalar()) cs.push_back(constraints[i].Scalar());
      if (!cs.empty()) {
        svc.label("placement_constraints", join(cs, "; "));
        constraints_.push_back(s.name + ": " + join(cs, "; "));
      }
    }
    svc.members.clear();
    for (long i = 1; i <= replicas; ++i) {  // Compose numbers containers from 1
      std::string member = s.id + "-" + std::to_string(i);
      auto& c = draft_.get(ElementKind::kComponent, member);
      c.type = "container";
      if (!swarm_) {
        c.domain = host_domain();
      } else if (global) {
        c.domain = node_domain(static_cast<int>(i - 1));
      } else {
        c.domain = node_domain(next_node_);
        next_node_ = (next_node_ + 1) % kSwarmNodes;
      }
      c.label("source", src);
      if (child(n, "image").IsScalar()) c.label("image", child(n, "image").Scalar());
      draft_.get(ElementKind::kService, s.id).members.push_back(member);
    }

    // depends_on: a list of names, or a map of name -> {condition, required}.
    YAML::Node deps = child(n, "depends_on");
    if (deps.IsSequence()) {
      for (size_t i = 0; i < deps.size(); ++i) {
        std::string p = path + "/depends_on/" + std::to_string(i);
        if (!deps[i].IsScalar())
          error(file, deps[i], p, "must be a service name, not " + describe(deps[i]));
        else
          declared(s, deps[i].Scalar(), deps[i], p, DepMode::kHard, "depends_on");
      }
    } else if (deps.IsMap()) {
      for (auto it = deps.begin(); it != deps.end(); ++it) {
        std::string target = it->first.Scalar();
        std::string p = path + "/depends_on/" + target;
        DepMode mode = DepMode::kHard;
        if (it->second.IsMap()) {
          YAML::Node req = child(it->second, "required");
          if (req.IsScalar() && req.Scalar() == "false") mode = DepMode::kSoft;
          YAML::Node cond = child(it->second, "condition");
          if (cond.IsDefined()) {
            static const char* kConditions[] = {"service_started", "service_healthy",
                                                "service_completed_successfully"};
            if (!cond.IsScalar() || std::find(std::begin(kConditions), std::end(kConditions),
                                              cond.Scalar()) == std::end(kConditions))
              error(file, cond, p + "/condition",
                    "must be service_started, service_healthy or "
                    "service_completed_successfully, not " +
                        describe(cond));
          }
        } else if (!it->second.IsNull()) {
          error(file, it->second, p,
                "must be a map {condition, required}, not " + describe(it->second));
          continue;
        }
        declared(s, target, it->first, p, mode, "depends_on");
      }
    } else if (deps.IsDefined() && !deps.IsNull()) {
      error(file, deps, path + "/depends_on", "must be a list or a map, not " + describe(deps));
    }

    // links: SERVICE or SERVICE:ALIAS, a dependency like depends_on.
    YAML::Node links = child(n, "links");
    if (links.IsSequence()) {
      for (size_t i = 0; i < links.size(); ++i) {
        std::string p = path + "/links/" + std::to_string(i);
        if (!links[i].IsScalar())
          error(file, links[i], p, "must be SERVICE or SERVICE:ALIAS, not " + describe(links[i]));
        else
          declared(s, links[i].Scalar().substr(0, links[i].Scalar().find(':')), links[i], p,
                   DepMode::kHard, "links");
      }
    } else if (links.IsDefined() && !links.IsNull()) {
      error(file, links, path + "/links", "must be a list, not " + describe(links));
    }

    // environment: a list of NAME=VALUE or a map; host names in the values.
    YAML::Node env = child(n, "environment");
    std::vector<std::string> values;
    if (env.IsSequence()) {
      for (size_t i = 0; i < env.size(); ++i) {
        if (!env[i].IsScalar()) {
          error(file, env[i], path + "/environment/" + std::to_string(i),
                "must be NAME=VALUE, not " + describe(env[i]));
          continue;
        }
        const std::string& kv = env[i].Scalar();
        auto eq = kv.find('=');
        if (eq != std::string::npos) values.push_back(kv.substr(eq + 1));
      }
    } else if (env.IsMap()) {
      for (auto it = env.begin(); it != env.end(); ++it) {
        if (it->second.IsNull()) continue;
        if (!it->second.IsScalar()) {
          error(file, it->second, path + "/environment/" + it->first.Scalar(),
                "must be a string, number or boolean, not " + describe(it->second));
          continue;
        }
        values.push_back(it->second.Scalar());
      }
    } else if (env.IsDefined() && !env.IsNull()) {
      error(file, env, path + "/environment", "must be a list or a map, not " + describe(env));
    }
    for (const auto& v : values)
      referenced(s, v, "environment", true);
    // command and entrypoint: URLs, HOST:PORT, and the word after -h/--host.
    for (const char* key : {"command", "entrypoint"}) {
      YAML::Node c = child(n, key);
      std::vector<std::string> parts;
      if (c.IsScalar()) parts.push_back(c.Scalar());
      if (c.IsSequence())
        for (size_t i = 0; i < c.size(); ++i)
          if (c[i].IsScalar()) parts.push_back(c[i].Scalar());
      for (const auto& part : parts)
        referenced(s, part, key, false);
      std::vector<std::string> tokens;
      for (const auto& part : parts) {
        std::string t;
        for (char ch : part + " ") {
          if (std::isspace(static_cast<unsigned char>(ch))) {
            if (!t.empty()) tokens.push_back(t);
            t.clear();
          } else {
            t += ch;
          }
        }
      }
      for (size_t i = 0; i < tokens.size(); ++i) {
        std::string flag = tokens[i], word;
        if (auto eq = flag.find('='); eq != std::string::npos && flag[0] == '-') {
          word = flag.substr(eq + 1);
          flag.resize(eq);
        } else if (i + 1 < tokens.size()) {
          word = tokens[i + 1];
        }
        if (host_flag(flag) && aliases_.count(lower(word))) inferred(s, aliases_[lower(word)], key);
      }
    }

    // ports: the published ones that look like user traffic are entrypoints.
    YAML::Node ports = child(n, "ports");
    std::vector<Port> published;
    if (ports.IsSequence()) {
      for (size_t i = 0; i < ports.size(); ++i) {
        const YAML::Node& p = ports[i];
        if (p.IsScalar() && !parse_port(p.Scalar()).container.empty()) {
          published.push_back(parse_port(p.Scalar()));
        } else if (p.IsMap() && child(p, "target").IsScalar()) {
          Port port;
          port.container = child(p, "target").Scalar();
          if (child(p, "published").IsScalar()) port.host_port = child(p, "published").Scalar();
          if (child(p, "host_ip").IsScalar()) port.host_ip = child(p, "host_ip").Scalar();
          port.text = (port.host_ip.empty() ? "" : port.host_ip + ":") +
                      (port.host_port.empty() ? "" : port.host_port + ":") + port.container;
          published.push_back(port);
        } else {
          error(file, p, path + "/ports/" + std::to_string(i),
                "must be [IP:][HOST:]CONTAINER or a map with 'target', not " + describe(p));
        }
      }
    } else if (ports.IsDefined() && !ports.IsNull()) {
      error(file, ports, path + "/ports", "must be a list, not " + describe(ports));
    }
    std::vector<std::string> kept;
    for (const auto& p : published) {
      std::string why;
      long number = leading_number(p.container);
      if (loopback(p.host_ip))
        why = "bound to " + p.host_ip + ", reachable from the Docker host only";
      else if (p.host_port.empty())
        why = "no host port: Docker picks a random one";
      else if (s.role.role != Role::kApp)
        why = s.role.what + ", by " + s.role.by;
      else if (const char* what = known_port(number))
        why = "port " + std::to_string(number) + " is " + what + "'s";
      if (why.empty())
        kept.push_back(p.text);
      else
        ports_left_out_.push_back(s.name + " " + p.text + " (" + why + ")");
    }
    if (!kept.empty()) {
      auto& e = draft_.get(ElementKind::kEntrypoint, draft_.fresh_id("published:" + s.id));
      e.target = s.id;
      e.label("source", src);
      e.label("ports", join(kept));
      e.label("inferred", "published ports that look like user traffic");
    }
    if (!inferred_labels_[s.name].empty())
      draft_.get(ElementKind::kService, s.id)
          .label("inferred_dependencies", join(inferred_labels_[s.name]));
  }

  std::string host_domain() {
    if (host_.empty()) {
      host_ = sanitize_id("host:" + project_);
      auto& host = draft_.get(ElementKind::kDomain, host_);
      host.type = "host";
      host.label("source", "compose: every service runs on the one Docker host");
    }
    return host_;
  }

  /// The services a dependency may not point at, and why; empty when it may.
  std::string not_a_dependency(const Service& to) {
    if (!to.included) return "profile";
    if (to.one_shot) return "one-shot";
    if (to.role.role == Role::kTelemetry) return "telemetry";
    return "";
  }

  /// A dependency the file declares (depends_on, links).
  void declared(const Service& from, const std::string& target, const YAML::Node& at,
                const std::string& p, DepMode mode, const char* how) {
    const Service* to = find(target);
    if (!to) {
      error(from.file, at, p, "depends on '" + target + "', which is not a service of this file");
      return;
    }
    depend(from, *to, mode, how);
  }

  void depend(const Service& from, const Service& to, DepMode mode, const std::string& how) {
    std::string why = not_a_dependency(to);
    if (why == "telemetry")
      telemetry_dropped_[to.name].insert(from.name);
    else if (why == "profile")
      dropped_.push_back(from.name + " -> " + to.name + " (" + how + "; " + to.name +
                         " is in a profile not enabled)");
    else if (why.empty() && from.name != to.name)
      draft_.get(ElementKind::kService, from.id).depend(to.id, mode);
    // one-shot: said once in the note on one-shot jobs
  }

  /// Host names in a value of `how` (environment, command, entrypoint): a service's name,
  /// container_name or hostname is a dependency, noted as inferred; a name in a URL or
  /// HOST:PORT that matches nothing is listed in a note.
  void referenced(const Service& from, const std::string& value, const std::string& how,
                  bool bare) {
    auto strong = referenced_hosts(value, false);
    for (const auto& h : referenced_hosts(value, bare)) {
      auto alias = aliases_.find(h);
      if (alias != aliases_.end()) {
        inferred(from, alias->second, how);
      } else if (std::find(strong.begin(), strong.end(), h) != strong.end() &&
                 h.find('.') == std::string::npos && h != "localhost") {
        std::string entry = h + " (" + from.name + " " + how + ")";
        if (std::find(unmatched_.begin(), unmatched_.end(), entry) == unmatched_.end())
          unmatched_.push_back(entry);
      }
    }
  }

  void inferred(const Service& from, const std::string& target, const std::string& how) {
    const Service* to = find(target);
    if (!to || to->name == from.name) return;
    depend(from, *to, DepMode::kHard, how);
    if (not_a_dependency(*to).empty()) {
      std::string entry = to->name + " (" + how + ")";
      auto& list = inferred_labels_[from.name];
      if (std::find(list.begin(), list.end(), entry) == list.end()) list.push_back(entry);
    }
  }

  void write_notes() {
    std::vector<std::string> inferred;
    for (const auto& s : services_)
      for (const auto& i : inferred_labels_[s.name])
        inferred.push_back(s.name + " -> " + i);
    if (!inferred.empty())
      notes_.push_back(
          "compose: dependencies inferred from service names in environment, "
          "command and entrypoint (label inferred_dependencies): " +
          join(inferred));
    if (!unmatched_.empty())
      notes_.push_back(
          "compose: host names that match no service of the file (outside it, or a name "
          "to check): " +
          join(unmatched_));
    for (const auto& s : services_) {
      auto it = telemetry_dropped_.find(s.name);
      if (it == telemetry_dropped_.end()) continue;
      notes_.push_back("compose: " + s.name + " is " + s.role.what + " (by " + s.role.by +
                       "), never on the request path: not a dependency of " +
                       join({it->second.begin(), it->second.end()}));
    }
    if (!dropped_.empty()) notes_.push_back("compose: dependencies left out: " + join(dropped_));
    if (!ports_left_out_.empty())
      notes_.push_back("compose: published ports not taken as entrypoints (not user traffic): " +
                       join(ports_left_out_, "; "));
    if (swarm_)
      notes_.push_back(
          "compose: a Swarm stack (" +
          join({swarm_why_.begin(), swarm_why_.begin() + std::min<size_t>(3, swarm_why_.size())}) +
          (swarm_why_.size() > 3 ? ", ..." : "") + "): the nodes are not in the file, " + "so " +
          std::to_string(kSwarmNodes) + " nodes swarm-node-1..swarm-node-" +
          std::to_string(kSwarmNodes) +
          " are assumed; replicated tasks are spread over them in turn, a global service runs "
          "one task on each" +
          (constraints_.empty() ? std::string()
                                : "; placement constraints are kept as labels, not modelled: " +
                                      join(constraints_, ", ")));
  }

  const ImportOptions& options_;
  Problems problems_;
  std::vector<std::string> notes_;
  std::vector<Service> services_;
  std::map<std::string, std::string> aliases_;  ///< lower-case name -> service name
  std::string project_, host_;
  bool swarm_ = false;
  std::vector<std::string> swarm_why_, constraints_;
  int next_node_ = 0;
  std::map<std::string, std::vector<std::string>> inferred_labels_;
  std::map<std::string, std::set<std::string>> telemetry_dropped_;
  std::vector<std::string> dropped_, unmatched_, ports_left_out_;
  Draft draft_;
};

}  // namespace

bool datastore_image(const std::string& image) {
  return classify_words(words(image)).role == Role::kDatastore;
}

ImportResult import_compose(const std::vector<ImportSource>& sources,
                            const ImportOptions& options) {
  return ComposeImporter(options).run(sources);
}

}  // namespace achilles::analyzer::detail
