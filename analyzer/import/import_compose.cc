// A Docker Compose file into a topology: each service is a service of its replicas on the one
// host, `depends_on` and URLs in the environment are dependencies, published ports are
// entrypoints. See docs/importers.md.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>

#include "import_common.h"
#include "import_yaml.h"

namespace achilles::analyzer::detail {
namespace {

class ComposeImporter {
 public:
  ImportResult run(const std::vector<ImportSource>& sources) {
    for (const auto& src : sources)
      read(src);
    problems_.throw_if_any();
    ImportResult r;
    r.topology = draft_.build(project_, sources.size() == 1 ? sources[0].file : "");
    r.notes = std::move(notes_);
    return r;
  }

 private:
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
    host_ = sanitize_id("host:" + project_);
    auto& host = draft_.get(ElementKind::kDomain, host_);
    host.type = "host";
    host.label("source", "compose: every service runs on the one Docker host");

    // Names first, so that dependencies can be checked whatever the order.
    for (auto it = services.begin(); it != services.end(); ++it)
      names_.push_back(it->first.Scalar());
    for (auto it = services.begin(); it != services.end(); ++it)
      service(file, it->first.Scalar(), it->second);
  }

  void service(const std::string& file, const std::string& name, const YAML::Node& s) {
    const std::string path = "/services/" + name;
    if (!s.IsMap() && !s.IsNull()) {
      error(file, s, path, "a service must be a map, not " + describe(s));
      return;
    }
    std::string id = sanitize_id(name);
    std::string src = "compose:" + name;
    long replicas = 1;
    auto count = [&](const YAML::Node& n, const std::string& p) {
      if (!n.IsDefined() || n.IsNull()) return;
      char* end = nullptr;
      std::string text = n.IsScalar() ? n.Scalar() : "";
      long x = std::strtol(text.c_str(), &end, 10);
      if (!n.IsScalar() || text.empty() || *end != '\0' || x < 0)
        error(file, n, p, "must be a whole number of 0 or more, not " + describe(n));
      else if (x > kMaxReplicas)  // strtol gives LONG_MAX for more
        error(file, n, p,
              text + " replicas is more than " + std::to_string(kMaxReplicas) +
                  " (each becomes a component)");
      else
        replicas = x;
    };
    if (child(s, "scale").IsDefined()) count(child(s, "scale"), path + "/scale");
    if (child(s, "deploy").IsMap())
      count(child(child(s, "deploy"), "replicas"), path + "/deploy/replicas");
    if (replicas == 0) {
      notes_.push_back("compose: service " + name + " has 0 replicas: left out");
      return;
    }
    auto& svc = draft_.get(ElementKind::kService, id);
    svc.type = "service";
    svc.label("source", src);
    svc.members.clear();
    for (long i = 1; i <= replicas; ++i) {  // Compose numbers containers from 1
      std::string member = id + "-" + std::to_string(i);
      auto& c = draft_.get(ElementKind::kComponent, member);
      c.type = "container";
      c.domain = host_;
      c.label("source", src);
      if (child(s, "image").IsScalar()) c.label("image", child(s, "image").Scalar());
      svc.members.push_back(member);
    }

    // depends_on: a list of names, or a map of name -> {condition, required}.
    YAML::Node deps = child(s, "depends_on");
    auto depend = [&](const std::string& target, const YAML::Node& at, const std::string& p,
                      DepMode mode) {
      if (std::find(names_.begin(), names_.end(), target) == names_.end()) {
        error(file, at, p, "depends on '" + target + "', which is not a service of this file");
        return;
      }
      draft_.get(ElementKind::kService, id).depend(sanitize_id(target), mode);
    };
    if (deps.IsSequence()) {
      for (size_t i = 0; i < deps.size(); ++i) {
        std::string p = path + "/depends_on/" + std::to_string(i);
        if (!deps[i].IsScalar())
          error(file, deps[i], p, "must be a service name, not " + describe(deps[i]));
        else
          depend(deps[i].Scalar(), deps[i], p, DepMode::kHard);
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
        depend(target, it->first, p, mode);
      }
    } else if (deps.IsDefined() && !deps.IsNull()) {
      error(file, deps, path + "/depends_on", "must be a list or a map, not " + describe(deps));
    }

    // environment: a list of NAME=VALUE or a map; URLs naming a service are dependencies.
    YAML::Node env = child(s, "environment");
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
      for (const auto& h : referenced_hosts(v, true))
        if (std::find(names_.begin(), names_.end(), h) != names_.end())
          draft_.get(ElementKind::kService, id).depend(sanitize_id(h));

    // ports: published ones are where users come in.
    YAML::Node ports = child(s, "ports");
    std::vector<std::string> published;
    if (ports.IsSequence()) {
      for (size_t i = 0; i < ports.size(); ++i) {
        const YAML::Node& p = ports[i];
        if (p.IsScalar()) {
          published.push_back(p.Scalar());
        } else if (p.IsMap() && child(p, "target").IsScalar()) {
          published.push_back(
              (child(p, "published").IsScalar() ? child(p, "published").Scalar() + ":" : "") +
              child(p, "target").Scalar());
        } else {
          error(file, p, path + "/ports/" + std::to_string(i),
                "must be HOST:CONTAINER or a map with 'target', not " + describe(p));
        }
      }
    } else if (ports.IsDefined() && !ports.IsNull()) {
      error(file, ports, path + "/ports", "must be a list, not " + describe(ports));
    }
    if (!published.empty()) {
      std::string list;
      for (const auto& p : published)
        list += (list.empty() ? "" : ", ") + p;
      auto& e = draft_.get(ElementKind::kEntrypoint, draft_.fresh_id("published:" + id));
      e.target = id;
      e.label("source", src);
      e.label("ports", list);
    }
  }

  Problems problems_;
  std::vector<std::string> notes_;
  std::vector<std::string> names_;
  std::string project_, host_;
  Draft draft_;
};

}  // namespace

ImportResult import_compose(const std::vector<ImportSource>& sources) {
  return ComposeImporter().run(sources);
}

}  // namespace achilles::analyzer::detail
