#include "reference/reference.h"

#include <algorithm>
#include <cassert>
#include <map>

namespace achilles::reference {

using analyzer::DepMode;
using analyzer::ElementKind;
using analyzer::kNoElement;

namespace {

bool is_failable(const Topology& topology, ElementId id) {
  auto kind = topology[id].kind;
  return kind == ElementKind::kComponent || kind == ElementKind::kDomain;
}

// The status rules 1-4 of the spec for one element, given the current statuses of all.
Status apply_rules(const Topology& topology, ElementId x, const std::vector<bool>& in_failed,
                   const std::vector<Status>& s) {
  const auto& e = topology[x];
  auto domain_or_ancestor_failed = [&](ElementId d) {
    for (; d != kNoElement; d = topology[d].parent) {
      if (in_failed[d]) return true;
    }
    return false;
  };
  // Rule 4's dependency part, shared by components and services.
  auto dependency_degrades = [&] {
    for (const auto& dep : e.depends_on) {
      if (dep.mode == DepMode::kSoft && s[dep.target] != Status::kUp) return true;
      if (dep.mode == DepMode::kHard && s[dep.target] == Status::kDegraded) return true;
    }
    return false;
  };
  auto hard_dependency_down = [&] {
    for (const auto& dep : e.depends_on) {
      if (dep.mode == DepMode::kHard && s[dep.target] == Status::kDown) return true;
    }
    return false;
  };
  switch (e.kind) {
    case ElementKind::kDomain:
      return domain_or_ancestor_failed(x) ? Status::kDown : Status::kUp;
    case ElementKind::kComponent:
      // Rule 1, then rule 4.
      if (in_failed[x] || domain_or_ancestor_failed(e.domain) || hard_dependency_down()) {
        return Status::kDown;
      }
      return dependency_degrades() ? Status::kDegraded : Status::kUp;
    case ElementKind::kService: {
      // Rule 2, then rule 4.
      size_t not_down = 0;
      bool member_not_up = false;
      for (auto m : e.members) {
        not_down += s[m] != Status::kDown;
        member_not_up = member_not_up || s[m] != Status::kUp;
      }
      if (not_down < e.min_healthy || hard_dependency_down()) return Status::kDown;
      return dependency_degrades() || member_not_up ? Status::kDegraded : Status::kUp;
    }
    case ElementKind::kEntrypoint:
      // Rule 3.
      return s[e.target];
  }
  return Status::kUp;
}

std::string join_id(const std::string& kind, const std::vector<std::string>& subject) {
  std::string id = kind + ":";
  for (size_t i = 0; i < subject.size(); ++i) {
    id += (i ? "+" : "") + subject[i];
  }
  return id;
}

Finding make_finding(const Topology& topology, std::string kind,
                     const std::vector<ElementId>& subject, Impact impact) {
  Finding f{std::move(kind), {}, std::move(impact)};
  for (auto id : subject) {
    f.subject.push_back(topology[id].id);
  }
  std::sort(f.subject.begin(), f.subject.end());
  return f;
}

void sort_by_id(std::vector<Finding>& findings) {
  std::sort(findings.begin(), findings.end(),
            [](const Finding& a, const Finding& b) { return a.id() < b.id(); });
}

// Findings for every single failure of elements of `kind`.
std::vector<Finding> single_failures(const Topology& topology, ElementKind kind,
                                     const std::string& finding_kind) {
  std::vector<Finding> out;
  for (ElementId x = 0; x < topology.size(); ++x) {
    if (topology[x].kind != kind) continue;
    auto impact = impact_of(topology, statuses(topology, {x}));
    if (!impact.entrypoints_down.empty()) {
      out.push_back(make_finding(topology, finding_kind, {x}, std::move(impact)));
    }
  }
  sort_by_id(out);
  return out;
}

}  // namespace

std::string Finding::id() const {
  return join_id(kind, subject);
}

std::vector<Status> statuses(const Topology& topology, const std::vector<ElementId>& failed) {
  std::vector<bool> in_failed(topology.size(), false);
  for (auto id : failed) {
    assert(is_failable(topology, id));
    in_failed[id] = true;
  }
  // Everything up except F (a domain is "in F" when it or an ancestor is).
  std::vector<Status> s(topology.size(), Status::kUp);
  for (ElementId x = 0; x < topology.size(); ++x) {
    if (topology[x].kind == ElementKind::kDomain) {
      s[x] = apply_rules(topology, x, in_failed, s);
    } else if (in_failed[x]) {
      s[x] = Status::kDown;
    }
  }
  // Rules 1-4 are monotone (a worse neighbour never makes an element better), so iterating
  // from "everything up" only ever worsens statuses and stops at the greatest fixpoint.
  for (bool changed = true; changed;) {
    changed = false;
    for (ElementId x = 0; x < topology.size(); ++x) {
      Status next = apply_rules(topology, x, in_failed, s);
      if (next != s[x]) {
        assert(next > s[x]);
        s[x] = next;
        changed = true;
      }
    }
  }
  return s;
}

Impact impact_of(const Topology& topology, const std::vector<Status>& status) {
  Impact impact;
  for (ElementId x = 0; x < topology.size(); ++x) {
    const auto& e = topology[x];
    switch (e.kind) {
      case ElementKind::kEntrypoint:
        if (status[x] == Status::kDown) impact.entrypoints_down.push_back(e.id);
        if (status[x] == Status::kDegraded) impact.entrypoints_degraded.push_back(e.id);
        break;
      case ElementKind::kComponent:
        impact.components_down += status[x] == Status::kDown;
        break;
      case ElementKind::kService:
        impact.services_down += status[x] == Status::kDown;
        break;
      case ElementKind::kDomain:
        break;
    }
  }
  std::sort(impact.entrypoints_down.begin(), impact.entrypoints_down.end());
  std::sort(impact.entrypoints_degraded.begin(), impact.entrypoints_degraded.end());
  return impact;
}

std::vector<Finding> spofs(const Topology& topology) {
  return single_failures(topology, ElementKind::kComponent, "spof");
}

std::vector<Finding> domain_spofs(const Topology& topology) {
  return single_failures(topology, ElementKind::kDomain, "domain_spof");
}

std::vector<Finding> cut_sets(const Topology& topology, unsigned max_order) {
  std::vector<ElementId> candidates;
  for (ElementId x = 0; x < topology.size(); ++x) {
    if (is_failable(topology, x)) candidates.push_back(x);
  }
  // Which elements are down under F, memoized by F (sorted).
  std::map<std::vector<ElementId>, std::vector<Status>> memo;
  auto status_of = [&](const std::vector<ElementId>& f) -> const std::vector<Status>& {
    auto it = memo.find(f);
    if (it == memo.end()) it = memo.emplace(f, statuses(topology, f)).first;
    return it->second;
  };

  std::vector<Finding> out;
  // Every combination of `order` candidates, as increasing positions into `candidates`.
  for (unsigned order = 2; order <= max_order; ++order) {
    if (order > candidates.size()) break;
    std::vector<size_t> pos(order);
    for (size_t i = 0; i < order; ++i) {
      pos[i] = i;
    }
    while (true) {
      std::vector<ElementId> set;
      for (auto p : pos) {
        set.push_back(candidates[p]);
      }
      const auto& s = status_of(set);
      bool minimal_for_some = false;
      for (ElementId e = 0; e < topology.size() && !minimal_for_some; ++e) {
        if (topology[e].kind != ElementKind::kEntrypoint || s[e] != Status::kDown) continue;
        // Every proper subset of `set`, the empty set included, as a bit mask.
        bool killed_by_subset = false;
        for (unsigned mask = 0; mask + 1 < (1u << order); ++mask) {
          std::vector<ElementId> subset;
          for (unsigned i = 0; i < order; ++i) {
            if (mask & (1u << i)) subset.push_back(set[i]);
          }
          if (status_of(subset)[e] == Status::kDown) killed_by_subset = true;
        }
        minimal_for_some = !killed_by_subset;
      }
      if (minimal_for_some) {
        out.push_back(make_finding(topology, "cut_set", set, impact_of(topology, s)));
      }
      // Next combination.
      size_t i = order;
      while (i > 0 && pos[i - 1] == candidates.size() - order + (i - 1)) {
        --i;
      }
      if (i == 0) break;
      ++pos[i - 1];
      for (size_t j = i; j < order; ++j) {
        pos[j] = pos[j - 1] + 1;
      }
    }
  }
  sort_by_id(out);
  return out;
}

ColdStart cold_start(const Topology& topology) {
  const size_t n = topology.size();
  // Begin with everything down; bring up what can start until nothing changes.
  std::vector<bool> up(n, false);
  auto hard_dependencies_up = [&](ElementId x) {
    for (const auto& dep : topology[x].depends_on) {
      if (dep.mode == DepMode::kHard && !up[dep.target]) return false;
    }
    return true;
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (ElementId x = 0; x < n; ++x) {
      if (up[x]) continue;
      const auto& e = topology[x];
      bool can_start = false;
      if (e.kind == ElementKind::kComponent) {
        can_start = hard_dependencies_up(x);
      } else if (e.kind == ElementKind::kService) {
        size_t members_up = 0;
        for (auto m : e.members) {
          members_up += up[m];
        }
        can_start = members_up >= e.min_healthy && hard_dependencies_up(x);
      } else if (e.kind == ElementKind::kEntrypoint) {
        can_start = up[e.target];
      }
      if (can_start) {
        up[x] = true;
        changed = true;
      }
    }
  }

  ColdStart result;
  result.stuck.assign(n, false);
  for (ElementId x = 0; x < n; ++x) {
    result.stuck[x] = topology[x].kind != ElementKind::kDomain && !up[x];
  }
  // Edges among stuck components and services: hard dependencies and service membership.
  auto waits = [&](ElementId x) {
    return result.stuck[x] && topology[x].kind != ElementKind::kEntrypoint;
  };
  std::vector<std::vector<bool>> edge(n, std::vector<bool>(n, false));
  for (ElementId x = 0; x < n; ++x) {
    if (!waits(x)) continue;
    for (const auto& dep : topology[x].depends_on) {
      if (dep.mode == DepMode::kHard && waits(dep.target)) edge[x][dep.target] = true;
    }
    for (auto m : topology[x].members) {
      if (waits(m)) edge[x][m] = true;
    }
  }
  // Naive transitive closure: extend paths by one edge until nothing changes.
  result.reaches = edge;
  for (bool changed = true; changed;) {
    changed = false;
    for (ElementId x = 0; x < n; ++x) {
      for (ElementId y = 0; y < n; ++y) {
        if (!result.reaches[x][y]) continue;
        for (ElementId z = 0; z < n; ++z) {
          if (edge[y][z] && !result.reaches[x][z]) {
            result.reaches[x][z] = true;
            changed = true;
          }
        }
      }
    }
  }
  // Strongly connected groups: x and y together when each reaches the other.
  std::vector<bool> grouped(n, false);
  for (ElementId x = 0; x < n; ++x) {
    if (!waits(x) || grouped[x]) continue;
    std::vector<ElementId> group{x};
    for (ElementId y = x + 1; y < n; ++y) {
      if (waits(y) && result.reaches[x][y] && result.reaches[y][x]) group.push_back(y);
    }
    for (auto y : group) {
      grouped[y] = true;
    }
    if (group.size() >= 2 || edge[x][x]) result.groups.push_back(group);
  }
  return result;
}

std::vector<Finding> cycles(const Topology& topology) {
  auto cs = cold_start(topology);
  std::vector<Finding> out;
  for (const auto& group : cs.groups) {
    // x is held back by the group when it is in it or reaches it through stuck elements.
    auto held_back = [&](ElementId x) {
      if (!cs.stuck[x]) return false;
      for (auto g : group) {
        if (x == g || cs.reaches[x][g]) return true;
      }
      return false;
    };
    Impact impact;
    for (ElementId x = 0; x < topology.size(); ++x) {
      const auto& e = topology[x];
      if (e.kind == ElementKind::kEntrypoint && held_back(e.target)) {
        impact.entrypoints_down.push_back(e.id);
      }
      if (e.kind == ElementKind::kComponent) impact.components_down += held_back(x);
      if (e.kind == ElementKind::kService) impact.services_down += held_back(x);
    }
    std::sort(impact.entrypoints_down.begin(), impact.entrypoints_down.end());
    out.push_back(make_finding(topology, "cycle", group, std::move(impact)));
  }
  sort_by_id(out);
  return out;
}

std::vector<Finding> findings(const Topology& topology, unsigned order) {
  std::vector<Finding> all;
  auto append = [&all](std::vector<Finding> more) {
    all.insert(all.end(), more.begin(), more.end());
  };
  append(spofs(topology));
  append(domain_spofs(topology));
  if (order >= 2) append(cut_sets(topology, order));
  append(cycles(topology));
  sort_by_id(all);
  return all;
}

}  // namespace achilles::reference
