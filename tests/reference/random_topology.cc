#include "reference/random_topology.h"

#include <algorithm>
#include <random>
#include <sstream>
#include <vector>

namespace achilles::reference {

using analyzer::Dependency;
using analyzer::DepMode;
using analyzer::Element;
using analyzer::ElementId;
using analyzer::ElementKind;
using analyzer::kNoElement;
using analyzer::Topology;

namespace {

class Dice {
 public:
  explicit Dice(uint64_t seed) : engine_(seed) {}
  /// Uniform in lo..hi, both included.
  unsigned between(unsigned lo, unsigned hi) {
    return std::uniform_int_distribution<unsigned>(lo, hi)(engine_);
  }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(engine_) < p; }
  double real(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(engine_);
  }
  /// `count` distinct values of `from`, in random order.
  std::vector<ElementId> pick(std::vector<ElementId> from, unsigned count) {
    std::shuffle(from.begin(), from.end(), engine_);
    from.resize(std::min<size_t>(count, from.size()));
    return from;
  }

 private:
  std::mt19937_64 engine_;
};

// A number of dependencies with mean about `rate`: one Bernoulli trial per possible slot.
unsigned dependency_count(Dice& dice, double rate) {
  unsigned n = 0;
  for (int slot = 0; slot < 4; ++slot) {
    n += dice.chance(rate / 4);
  }
  return n;
}

}  // namespace

Topology random_topology(uint64_t seed, const RandomParams& params) {
  Dice dice(seed);
  const unsigned n_domains = dice.between(0, params.max_domains);
  const unsigned n_components = dice.between(params.min_components, params.max_components);
  const unsigned n_services = dice.between(0, params.max_services);
  const unsigned n_entrypoints = dice.between(params.min_entrypoints, params.max_entrypoints);
  const double rate = dice.real(0, params.max_dependency_rate);
  // Element indices are known in advance: domains, components, services, entrypoints.
  const ElementId first_component = n_domains;
  const ElementId first_service = first_component + n_components;
  const ElementId first_entrypoint = first_service + n_services;

  std::vector<Element> elements;
  std::vector<unsigned> depth;  // of each domain: 1 region, 2 zone, 3 host
  for (ElementId i = 0; i < n_domains; ++i) {
    Element d;
    d.kind = ElementKind::kDomain;
    std::vector<ElementId> parents;
    for (ElementId j = 0; j < i; ++j) {
      if (depth[j] < 3) parents.push_back(j);
    }
    if (!parents.empty() && !dice.chance(params.p_root_domain)) {
      d.parent = parents[dice.between(0, parents.size() - 1)];
    }
    depth.push_back(d.parent == kNoElement ? 1 : depth[d.parent] + 1);
    static const char* const kKinds[] = {"region", "zone", "host"};
    d.type = kKinds[depth.back() - 1];
    d.id = d.type + std::to_string(i);
    elements.push_back(std::move(d));
  }

  std::vector<ElementId> needables;  // components and services: members, dependencies, targets
  for (ElementId x = first_component; x < first_entrypoint; ++x) {
    needables.push_back(x);
  }
  auto add_dependencies = [&](Element& e, ElementId self) {
    for (auto target : dice.pick(needables, dependency_count(dice, rate))) {
      e.depends_on.push_back(Dependency{
          target, dice.chance(params.p_soft) ? DepMode::kSoft : DepMode::kHard, 1.0, {}});
    }
    bool has_self = std::any_of(e.depends_on.begin(), e.depends_on.end(),
                                [&](const Dependency& d) { return d.target == self; });
    if (!has_self && dice.chance(params.p_self_loop)) {
      e.depends_on.push_back(Dependency{self, DepMode::kHard, 1.0, {}});
    }
  };

  for (ElementId x = first_component; x < first_service; ++x) {
    Element c;
    c.kind = ElementKind::kComponent;
    c.type = "component";
    c.id = "c" + std::to_string(x - first_component);
    if (n_domains > 0 && dice.chance(params.p_in_domain)) c.domain = dice.between(0, n_domains - 1);
    add_dependencies(c, x);
    elements.push_back(std::move(c));
  }

  for (ElementId x = first_service; x < first_entrypoint; ++x) {
    Element s;
    s.kind = ElementKind::kService;
    s.type = "service";
    s.id = "s" + std::to_string(x - first_service);
    // Members among components and earlier services: no membership cycle is possible.
    std::vector<ElementId> candidates;
    for (ElementId m = first_component; m < x; ++m) {
      candidates.push_back(m);
    }
    unsigned size = dice.between(1, std::min<unsigned>(params.max_members, candidates.size()));
    s.members = dice.pick(candidates, size);
    s.min_healthy = dice.between(1, s.members.size());
    add_dependencies(s, x);
    elements.push_back(std::move(s));
  }

  for (ElementId x = first_entrypoint; x < first_entrypoint + n_entrypoints; ++x) {
    Element e;
    e.kind = ElementKind::kEntrypoint;
    e.type = "entrypoint";
    e.id = "e" + std::to_string(x - first_entrypoint);
    e.target = n_services > 0 && dice.chance(params.p_entrypoint_on_service)
                   ? first_service + dice.between(0, n_services - 1)
                   : first_component + dice.between(0, n_components - 1);
    elements.push_back(std::move(e));
  }

  Topology topology;
  topology.name = "random-" + std::to_string(seed);
  for (auto& e : elements) {
    topology.add(std::move(e));
  }
  return topology;
}

std::string to_yaml(const Topology& topology) {
  std::ostringstream out;
  out << "version: 1\n";
  if (!topology.name.empty()) out << "name: " << topology.name << "\n";
  auto section = [&](ElementKind kind, const char* title) {
    bool first = true;
    for (const auto& e : topology.elements) {
      if (e.kind != kind) continue;
      if (first) out << title << ":\n";
      first = false;
      out << "  - id: " << e.id << "\n";
      if (!e.type.empty() && kind != ElementKind::kEntrypoint) {
        out << "    kind: " << e.type << "\n";
      }
      if (e.parent != kNoElement) out << "    parent: " << topology[e.parent].id << "\n";
      if (e.domain != kNoElement) out << "    domain: " << topology[e.domain].id << "\n";
      if (!e.members.empty()) {
        out << "    members: [";
        for (size_t i = 0; i < e.members.size(); ++i) {
          out << (i ? ", " : "") << topology[e.members[i]].id;
        }
        out << "]\n    min_healthy: " << e.min_healthy << "\n";
      }
      if (!e.depends_on.empty()) {
        out << "    depends_on: [";
        for (size_t i = 0; i < e.depends_on.size(); ++i) {
          const auto& dep = e.depends_on[i];
          out << (i ? ", " : "");
          if (dep.mode == DepMode::kSoft) {
            out << "{id: " << topology[dep.target].id << ", mode: soft}";
          } else {
            out << topology[dep.target].id;
          }
        }
        out << "]\n";
      }
      if (e.target != kNoElement) out << "    target: " << topology[e.target].id << "\n";
    }
  };
  section(ElementKind::kDomain, "domains");
  section(ElementKind::kComponent, "components");
  section(ElementKind::kService, "services");
  section(ElementKind::kEntrypoint, "entrypoints");
  return out.str();
}

}  // namespace achilles::reference
