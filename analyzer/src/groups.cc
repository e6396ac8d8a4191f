// Risk groups (spec whatif.md, "Risk groups"): the findings of an analysis gathered by the
// element a team would change to resolve them, or by the team that owns it (`--by team`),
// most harmful first, each with a one-line summary. docs/analysis.md says what each kind of
// group means for a planning review.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/harm.h"
#include "achilles/common/text.h"

namespace achilles::analyzer {

namespace {

/// A finding's group: its kind, its fix and the elements the fix names (to find a team).
struct Key {
  std::string kind;
  std::string fix;
  std::vector<ElementId> elements;
};

std::string plural(size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

/// Works out each finding's key; the services of each member are indexed once.
class Grouper {
 public:
  explicit Grouper(const Topology& t) : t_(t) {}

  Key key(const Finding& f) {
    const std::string& k = f.kind;
    if (k == "spof" || k == "domain_spof" || k == "cut_set") {
      // The last service of the chain that fell through its own members lacks redundancy
      // or spread on the path; without one (a service that fell only because something it
      // depends on fell does not lack them), the subject itself does. On a shortened chain
      // the link across the ids left out is not a membership.
      const auto& chain = f.explanation;
      const size_t cut = f.details.is_object() && f.details.contains("explanation_elided")
                             ? kExplanationMax / 2
                             : chain.size();
      for (size_t i = chain.size() - (chain.empty() ? 0 : 1); i-- > 0;) {
        if (i + 1 == cut) continue;
        auto x = t_.find(chain[i]);
        if (!x || t_[*x].kind != ElementKind::kService) continue;
        auto below = t_.find(chain[i + 1]);
        const auto& members = t_[*x].members;
        if (below && std::find(members.begin(), members.end(), *below) != members.end())
          return {"redundancy", t_[*x].id, {*x}};
      }
      // A domain at the end of the chain, with what it holds above it: the component in it
      // lacks spread (rack-a2 holds nfs-1: nfs-1 is what to change).
      if (f.subject.size() == 1 && chain.size() >= 2 && cut == chain.size()) {
        size_t i = chain.size() - 1;
        while (i > 0) {
          auto outer = t_.find(chain[i]), inner = t_.find(chain[i - 1]);
          if (!outer || !inner || t_[*outer].kind != ElementKind::kDomain) break;
          const Element& in = t_[*inner];
          if (!(in.kind == ElementKind::kDomain && in.parent == *outer) &&
              !(in.kind == ElementKind::kComponent && in.domain == *outer))
            break;
          --i;
        }
        if (auto x = t_.find(chain[i]);
            x && i + 1 < chain.size() && t_[*x].kind == ElementKind::kComponent)
          return {"redundancy", t_[*x].id, {*x}};
      }
      return subject_key("redundancy", f);
    }
    if (k == "overload" || k == "capacity_spof") {
      // What runs out of capacity: the overloaded element, or the survivor pushed furthest.
      std::string out_of = f.subject.empty() ? "" : f.subject[0];
      if (k == "capacity_spof") {
        if (auto s = f.details.find("survivor");
            f.details.is_object() && s != f.details.end() && s->is_string())
          out_of = s->get<std::string>();
        else if (!f.explanation.empty())
          out_of = f.explanation.back();
      }
      auto x = t_.find(out_of);
      if (!x) return subject_key("capacity", f);
      ElementId fix = *x;
      if (t_[fix].kind == ElementKind::kComponent)
        if (ElementId s = service_of(fix, f.explanation); s != kNoElement) fix = s;
      return {"capacity", t_[fix].id, {fix}};
    }
    if (k == "slo_risk") return subject_key("slo", f);
    if (k == "cycle") return subject_key("cycle", f);
    // articulation_point and bridge (undirected input): the subject has no alternative.
    if (k == "articulation_point" || k == "bridge") return subject_key("redundancy", f);
    return subject_key("other", f);
  }

  /// Who owns x: its `labels.team`; for a service without one, the team all its labelled
  /// members share; for an entrypoint without one, its target's. Empty when none.
  std::string team(ElementId x, int depth = 0) const {
    const Element& e = t_[x];
    for (const auto& [name, value] : e.labels)
      if (name == "team" && !value.empty()) return value;
    if (depth > 8) return "";
    if (e.kind == ElementKind::kEntrypoint && e.target != kNoElement)
      return team(e.target, depth + 1);
    if (e.kind == ElementKind::kService) {
      std::string shared;
      for (ElementId m : e.members) {
        std::string tm = team(m, depth + 1);
        if (tm.empty()) continue;
        if (!shared.empty() && tm != shared) return "";
        shared = tm;
      }
      return shared;
    }
    return "";
  }

 private:
  Key subject_key(std::string kind, const Finding& f) const {
    Key key{std::move(kind), common::join(f.subject, "+"), {}};
    for (const auto& s : f.subject)
      if (auto x = t_.find(s)) key.elements.push_back(*x);
    return key;
  }

  /// The service x is a member of: the one just before it in `chain` if it is one, else the
  /// first in file order; kNoElement if none.
  ElementId service_of(ElementId x, const std::vector<std::string>& chain) {
    for (size_t i = 1; i < chain.size(); ++i)
      if (chain[i] == t_[x].id)
        if (auto s = t_.find(chain[i - 1]); s && t_[*s].kind == ElementKind::kService) {
          const auto& m = t_[*s].members;
          if (std::find(m.begin(), m.end(), x) != m.end()) return *s;
        }
    if (!indexed_) {
      indexed_ = true;
      for (ElementId s = 0; s < t_.size(); ++s)
        if (t_[s].kind == ElementKind::kService)
          for (ElementId m : t_[s].members)
            first_service_.emplace(m, s);  // keeps the first
    }
    auto it = first_service_.find(x);
    return it == first_service_.end() ? kNoElement : it->second;
  }

  const Topology& t_;
  bool indexed_ = false;
  std::unordered_map<ElementId, ElementId> first_service_;
};

std::string describe(const RiskGroup& g, GroupBy by) {
  std::string what;
  if (by == GroupBy::kTeam) {
    std::vector<std::string> names(g.fixes.begin(),
                                   g.fixes.begin() + std::min<size_t>(3, g.fixes.size()));
    std::string list = common::join(names, ", ");
    if (g.fixes.size() > names.size())
      list += " and " + std::to_string(g.fixes.size() - names.size()) + " more";
    what = (g.has_team ? "team " + g.team : std::string("no team label")) + ": " +
           plural(g.fixes.size(), "thing") + " to change (" + list + ")";
  } else if (g.kind == "redundancy") {
    what = g.fix + " lacks redundancy or spread";
  } else if (g.kind == "capacity") {
    what = g.fix + " has no headroom";
  } else if (g.kind == "slo") {
    what = g.fix + " is below its objective";
  } else if (g.kind == "cycle") {
    what = "the loop " + g.fix + " cannot start cold";
  } else {
    what = g.fix;
  }
  what += ": " + plural(g.findings.size(), "finding");
  if (!g.entrypoints_down.empty())
    what += ", " + plural(g.entrypoints_down.size(), "entrypoint") + " down";
  if (!g.entrypoints_degraded.empty())
    what += ", " + plural(g.entrypoints_degraded.size(), "entrypoint") + " degraded";
  return what;
}

}  // namespace

std::pair<std::string, std::string> group_key(const Topology& topology, const Finding& finding) {
  Key k = Grouper(topology).key(finding);
  return {std::move(k.kind), std::move(k.fix)};
}

std::vector<RiskGroup> group_risks(const Topology& topology, const std::vector<Finding>& findings,
                                   GroupBy by) {
  Grouper grouper(topology);
  std::vector<Harm> harms(findings.size());
  std::vector<int8_t> stateful(topology.size(), -1);
  std::vector<RiskGroup> groups;
  std::vector<std::string> fix_of;  // by team: each finding's fix
  if (by == GroupBy::kTeam) fix_of.resize(findings.size());
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < findings.size(); ++i) {
    // harm_of(), with each subject's is_stateful() worked out once: the same few services
    // and domains are the subjects of many findings.
    const Finding& f = findings[i];
    harms[i] = {severity_rank(f.severity), f.impact.entrypoints_down.size(), f.impact.services_down,
                f.impact.components_down, false};
    for (const auto& s : f.subject)
      if (auto x = topology.find(s)) {
        if (stateful[*x] < 0) stateful[*x] = is_stateful(topology, *x) ? 1 : 0;
        if (stateful[*x] == 1) harms[i].stateful = true;
      }
    Key key = grouper.key(findings[i]);
    std::string name;
    RiskGroup fresh;
    if (by == GroupBy::kTeam) {
      // The fix's team, if all the elements it names share one.
      std::string team;
      bool shared = !key.elements.empty();
      for (ElementId x : key.elements) {
        std::string tm = grouper.team(x);
        if (tm.empty() || (!team.empty() && tm != team)) shared = false;
        team = tm;
      }
      fresh.kind = "team";
      fresh.has_team = shared;
      if (shared) fresh.team = team;
      name = shared ? "t" + team : std::string("-");
    } else {
      fresh.kind = key.kind;
      fresh.fix = key.fix;
      name = key.kind + '\0' + key.fix;
    }
    auto [it, added] = index.emplace(std::move(name), groups.size());
    if (added) groups.push_back(std::move(fresh));
    groups[it->second].findings.push_back(i);
    if (by == GroupBy::kTeam) fix_of[i] = std::move(key.fix);
  }

  // Each group's findings most harmful first, its entrypoints, its harm and its summary.
  std::vector<Harm> group_harm(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    RiskGroup& group = groups[g];
    std::stable_sort(group.findings.begin(), group.findings.end(),
                     [&](size_t a, size_t b) { return more_harmful(harms[a], harms[b]); });
    std::unordered_set<std::string_view> down, degraded, seen_fix;
    Harm h = harms[group.findings.front()];
    for (size_t i : group.findings) {
      const Finding& f = findings[i];
      down.insert(f.impact.entrypoints_down.begin(), f.impact.entrypoints_down.end());
      degraded.insert(f.impact.entrypoints_degraded.begin(), f.impact.entrypoints_degraded.end());
      h.services_down = std::max(h.services_down, harms[i].services_down);
      h.components_down = std::max(h.components_down, harms[i].components_down);
      h.stateful = h.stateful || harms[i].stateful;
      if (by == GroupBy::kTeam) {
        if (seen_fix.insert(fix_of[i]).second) group.fixes.push_back(fix_of[i]);
      }
    }
    for (auto e : down)
      degraded.erase(e);
    group.entrypoints_down.assign(down.begin(), down.end());
    group.entrypoints_degraded.assign(degraded.begin(), degraded.end());
    std::sort(group.entrypoints_down.begin(), group.entrypoints_down.end());
    std::sort(group.entrypoints_degraded.begin(), group.entrypoints_degraded.end());
    h.entrypoints_down = down.size();
    group_harm[g] = h;
    group.severity = findings[group.findings.front()].severity;
    group.summary = describe(group, by);
  }

  std::vector<size_t> order(groups.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (more_harmful(group_harm[a], group_harm[b])) return true;
    if (more_harmful(group_harm[b], group_harm[a])) return false;
    const RiskGroup &x = groups[a], &y = groups[b];
    if (x.findings.size() != y.findings.size()) return x.findings.size() > y.findings.size();
    // The group without a team label last among equals; then by name.
    if (x.has_team != y.has_team) return x.has_team;
    return std::tie(x.kind, x.fix, x.team) < std::tie(y.kind, y.fix, y.team);
  });
  std::vector<RiskGroup> sorted;
  sorted.reserve(groups.size());
  for (size_t g : order)
    sorted.push_back(std::move(groups[g]));
  return sorted;
}

}  // namespace achilles::analyzer
