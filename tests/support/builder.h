// Builds small topologies in memory for tests, by id, resolving references at the end.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "achilles/analyzer/model.h"

namespace achilles::testing {

/// A dependency written as "id" (hard) or "~id" (soft).
class Builder {
 public:
  Builder& domain(std::string id, std::string parent = "", std::string type = "domain") {
    domains_.push_back({std::move(id), std::move(parent), std::move(type)});
    return *this;
  }
  Builder& component(std::string id, std::string domain = "", std::vector<std::string> deps = {}) {
    components_.push_back({std::move(id), std::move(domain), std::move(deps)});
    return *this;
  }
  Builder& service(std::string id, std::vector<std::string> members, uint32_t min_healthy = 1,
                   std::vector<std::string> deps = {}) {
    services_.push_back({std::move(id), std::move(members), min_healthy, std::move(deps)});
    return *this;
  }
  Builder& entrypoint(std::string id, std::string target) {
    entrypoints_.push_back({std::move(id), std::move(target)});
    return *this;
  }

  analyzer::Topology build() const {
    using namespace analyzer;
    Topology t;
    t.name = "test";
    for (const auto& d : domains_)
      t.add(element(d.id, ElementKind::kDomain, d.type));
    for (const auto& c : components_)
      t.add(element(c.id, ElementKind::kComponent, "component"));
    for (const auto& s : services_)
      t.add(element(s.id, ElementKind::kService, "service"));
    for (const auto& e : entrypoints_)
      t.add(element(e.id, ElementKind::kEntrypoint, "entrypoint"));
    for (const auto& d : domains_)
      if (!d.parent.empty()) t[at(t, d.id)].parent = at(t, d.parent);
    for (const auto& c : components_) {
      auto& e = t[at(t, c.id)];
      if (!c.domain.empty()) e.domain = at(t, c.domain);
      e.depends_on = deps(t, c.deps);
    }
    for (const auto& s : services_) {
      auto& e = t[at(t, s.id)];
      for (const auto& m : s.members)
        e.members.push_back(at(t, m));
      e.min_healthy = s.min_healthy;
      e.depends_on = deps(t, s.deps);
    }
    for (const auto& ep : entrypoints_)
      t[at(t, ep.id)].target = at(t, ep.target);
    return t;
  }

 private:
  static analyzer::Element element(const std::string& id, analyzer::ElementKind kind,
                                   const std::string& type) {
    analyzer::Element e;
    e.id = id;
    e.kind = kind;
    e.type = type;
    return e;
  }
  static analyzer::ElementId at(const analyzer::Topology& t, const std::string& id) {
    auto x = t.find(id);
    if (!x) throw std::logic_error("builder: unknown id " + id);
    return *x;
  }
  static std::vector<analyzer::Dependency> deps(const analyzer::Topology& t,
                                                const std::vector<std::string>& ids) {
    std::vector<analyzer::Dependency> out;
    for (const auto& d : ids) {
      analyzer::Dependency dep;
      bool soft = !d.empty() && d[0] == '~';
      dep.target = at(t, soft ? d.substr(1) : d);
      dep.mode = soft ? analyzer::DepMode::kSoft : analyzer::DepMode::kHard;
      out.push_back(dep);
    }
    return out;
  }
  struct D {
    std::string id, parent, type;
  };
  struct C {
    std::string id, domain;
    std::vector<std::string> deps;
  };
  struct S {
    std::string id;
    std::vector<std::string> members;
    uint32_t min_healthy;
    std::vector<std::string> deps;
  };
  struct E {
    std::string id, target;
  };
  std::vector<D> domains_;
  std::vector<C> components_;
  std::vector<S> services_;
  std::vector<E> entrypoints_;
};

}  // namespace achilles::testing
