// whatif.h: the diff of two analyses, and `recommend`'s greedy plan.
// One file past 500 lines: the planner, its candidates, measure_plan and the plan's writers
// share the measuring (a topology kept with the analysis that views its ids) and the plan's
// form; split, each part would need the others' internals.
//
// recommend measures, it does not estimate: every candidate is applied, with every change
// chosen before it, to the original topology by apply_overlay (the same code `whatif` runs)
// and the result analyzed whole, so that the effect it states for a change is what `whatif`
// of the written plan shows. The candidates come from the current findings' risk groups
// (spec whatif.md): a capacity group's service scaled by the factor its worst finding needs,
// a redundancy group's service given a member in a domain none of its members uses, and a
// domain_spof's members spread: one moved out of the domain that the finding names. An slo
// group's entrypoint gets a member added to the service of the component that its
// availability depends on most. And a spread, the one candidate of several overlay entries:
// for a critical domain_spof, a member outside the domain for every service lacking
// redundancy whose members all lie in it (one domain_spof of a zone is resolved only when
// every such service is spread, so one service at a time cannot show it).
#include "achilles/analyzer/whatif.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "achilles/common/text.h"

namespace achilles::analyzer {

HarmCounts harm_counts(const Analysis& analysis) {
  HarmCounts h;
  h.findings = analysis.findings.size();
  std::unordered_set<std::string_view> down;
  for (const Finding& f : analysis.findings) {
    const int rank = severity_rank(f.severity);
    h.critical += rank == 0;
    h.high += rank == 1;
    down.insert(f.impact.entrypoints_down.begin(), f.impact.entrypoints_down.end());
    h.entrypoint_losses += f.impact.entrypoints_down.size();
  }
  h.entrypoints_down = down.size();
  return h;
}

namespace {

std::vector<std::string> sorted_ids(const Analysis& a) {
  std::vector<std::string> ids;
  ids.reserve(a.findings.size());
  for (const Finding& f : a.findings)
    ids.push_back(f.id());
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

nlohmann::json counts_json(const HarmCounts& h) {
  return {{"findings", h.findings},
          {"critical", h.critical},
          {"high", h.high},
          {"entrypoints_down", h.entrypoints_down},
          {"entrypoint_losses", h.entrypoint_losses}};
}

nlohmann::json maybe(const std::optional<double>& x) {
  return x ? nlohmann::json(*x) : nlohmann::json(nullptr);
}

}  // namespace

WhatIfDiff diff_analyses(const Analysis& before, const Analysis& after) {
  WhatIfDiff d;
  d.before = harm_counts(before);
  d.after = harm_counts(after);
  const auto b = sorted_ids(before), a = sorted_ids(after);
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(d.resolved));
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(d.added));
  std::set_intersection(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(d.unchanged));
  std::map<std::string, size_t, std::less<>> row;
  for (const auto& e : before.availability) {
    row.emplace(e.id, d.availability.size());
    d.availability.push_back({e.id, e.availability, std::nullopt});
  }
  for (const auto& e : after.availability) {
    auto [it, fresh] = row.emplace(e.id, d.availability.size());
    if (fresh) d.availability.push_back({e.id, std::nullopt, std::nullopt});
    d.availability[it->second].after = e.availability;
  }
  return d;
}

nlohmann::json to_json(const WhatIfDiff& diff, size_t changes) {
  nlohmann::json availability = nlohmann::json::array();
  for (const auto& a : diff.availability)
    availability.push_back({{"id", a.id}, {"before", maybe(a.before)}, {"after", maybe(a.after)}});
  return {{"schema", "achilles.whatif/v1"},     {"changes", changes},
          {"before", counts_json(diff.before)}, {"after", counts_json(diff.after)},
          {"resolved", diff.resolved},          {"new", diff.added},
          {"unchanged", diff.unchanged},        {"availability", availability}};
}

namespace {

/// A topology and its analysis, which holds views of the topology's ids: kept together.
struct Analyzed {
  Topology topology;
  Analysis analysis;
};

/// The analysis of `t`, counted and timed in the plan (its analyses and their seconds).
Analysis timed_analysis(Plan& plan, const Topology& t, const AnalysisOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  Analysis a = analyze(t, options);
  plan.analysis_seconds.push_back(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  ++plan.analyses;
  return a;
}

/// One step of a plan: its entries, why, and what the analysis after it shows against the
/// analysis before (`d`). A step of several entries is a spread.
PlanStep plan_step(std::vector<Change> changes, std::string group, std::string reason,
                   const WhatIfDiff& d) {
  PlanStep s;
  s.kind = changes.size() == 1 ? std::string(to_string(changes[0].kind)) : "spread";
  s.changes = std::move(changes);
  s.group = std::move(group);
  s.reason = std::move(reason);
  s.resolved = d.resolved;
  s.introduced = d.added;
  s.after = d.after;
  return s;
}

std::string plural(size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

/// A capacity factor a person would write: the need with 2% to spare, up to the next tenth.
double round_factor(double need) {
  return std::ceil(need * 1.02 * 10 - 1e-9) / 10;
}

class Planner {
 public:
  Planner(const Topology& topology, const RecommendOptions& options)
      : original_(topology), options_(options) {}

  Plan run() {
    Plan plan;
    Analyzed first{original_, {}};
    first.analysis = timed(plan, first.topology);
    plan.before = harm_counts(first.analysis);
    // The analysis the next step starts from: the first, then the last step's.
    const Analyzed* current = &first;
    std::unique_ptr<Analyzed> kept;
    std::vector<Change> chosen;
    using Score = std::tuple<long, long, long>;
    for (size_t step = 1; step <= options_.max_changes; ++step) {
      auto candidates = candidates_of(*current);
      // Lazily: those measured at an earlier step go in the order of what they did then,
      // and once the best measured now does at least as much as the next one did then, the
      // rest are not tried (docs/analysis.md). Those never measured go first.
      auto stale = [&](const Candidate& c) -> std::optional<Score> {
        auto it = measured_.find(c.key);
        return it == measured_.end() ? std::nullopt : std::optional<Score>(it->second);
      };
      std::stable_sort(candidates.begin(), candidates.end(),
                       [&](const Candidate& x, const Candidate& y) {
                         auto sx = stale(x), sy = stale(y);
                         if (!sx || !sy) return !sx && sy;
                         return *sx > *sy;
                       });
      std::unique_ptr<Analyzed> best;
      Score best_score{0, 0, 0};
      size_t best_index = 0;
      const HarmCounts now = harm_counts(current->analysis);
      for (size_t i = 0; i < candidates.size(); ++i) {
        if (auto before = stale(candidates[i]); before && best && best_score >= *before) break;
        auto next = std::make_unique<Analyzed>();
        Overlay overlay{"recommend", chosen, ""};
        overlay.changes.insert(overlay.changes.end(), candidates[i].changes.begin(),
                               candidates[i].changes.end());
        try {
          next->topology = apply_overlay(original_, overlay);
        } catch (const InputError&) {
          continue;  // a candidate the topology does not take (cannot happen by design)
        }
        next->analysis = timed(plan, next->topology);
        ++plan.candidates;
        if (options_.progress) options_.progress(step, i + 1, candidates.size());
        const HarmCounts h = harm_counts(next->analysis);
        const Score score{
            static_cast<long>(now.critical) - static_cast<long>(h.critical),
            static_cast<long>(now.entrypoint_losses) - static_cast<long>(h.entrypoint_losses),
            static_cast<long>(now.high) - static_cast<long>(h.high)};
        measured_[candidates[i].key] = score;
        if (score > best_score) best_score = score, best = std::move(next), best_index = i;
      }
      if (!best) break;
      Candidate& c = candidates[best_index];
      chosen.insert(chosen.end(), c.changes.begin(), c.changes.end());
      plan.steps.push_back(plan_step(c.changes, c.group, c.reason,
                                     diff_analyses(current->analysis, best->analysis)));
      kept = std::move(best);
      current = kept.get();
    }
    plan.availability = diff_analyses(first.analysis, current->analysis).availability;
    return plan;
  }

 private:
  struct Candidate {
    /// One overlay entry, or a spread's several.
    std::vector<Change> changes;
    std::string group, reason;
    /// The same for the same change at every step (an added member's id aside).
    std::string key;
  };

  Analysis timed(Plan& plan, const Topology& t) {
    return timed_analysis(plan, t, options_.analysis);
  }

  bool allowed(ChangeKind k) const { return options_.allow.count(k) > 0; }

  std::vector<Candidate> candidates_of(const Analyzed& current) {
    const Topology& t = current.topology;
    const Analysis& a = current.analysis;
    std::vector<Candidate> out;
    std::set<std::string> seen;
    planned_ids_.clear();  // the ids of this step's candidates; only one of them is kept
    auto add = [&](Change c, const RiskGroup& g, std::string reason) {
      std::string key = std::string(to_string(c.kind)) + " " + c.service + " " +
                        (c.kind == ChangeKind::kAddMember ? std::string() : c.id) + " " + c.domain;
      if (!seen.insert(key).second) return;
      out.push_back({{std::move(c)}, g.fix, std::move(reason), std::move(key)});
    };
    // The groups with the most critical findings first (then the most high ones), since
    // those are what a change can remove; ties in the groups' own order (most harmful first).
    std::vector<std::pair<size_t, size_t>> ranked;  // (critical, high) counts
    std::vector<size_t> order;
    for (const RiskGroup& g : a.groups) {
      size_t critical = 0, high = 0;
      for (size_t i : g.findings) {
        const int r = severity_rank(a.findings[i].severity);
        critical += r == 0, high += r == 1;
      }
      order.push_back(ranked.size());
      ranked.emplace_back(critical, high);
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t x, size_t y) { return ranked[x] > ranked[y]; });
    size_t taken = 0;
    for (size_t gi : order) {
      const RiskGroup& g = a.groups[gi];
      if (taken == options_.groups_per_step) break;
      if (ranked[gi].first == 0 && ranked[gi].second == 0) break;
      const size_t before = out.size();
      if (g.kind == "capacity")
        capacity(t, a, g, add);
      else if (g.kind == "redundancy")
        redundancy(t, a, g, g.fix, add);
      else if (g.kind == "slo")
        slo(t, a, g, add);
      if (out.size() != before) ++taken;
    }
    if (allowed(ChangeKind::kAddMember)) spreads(t, a, out);
    return out;
  }

  // The services that findings show lack redundancy (the fixes of the redundancy groups with a
  // critical finding, a component's service in its stead), each with the number of critical
  // findings its group holds.
  std::map<ElementId, size_t> lacking(const Topology& t, const Analysis& a) {
    std::map<ElementId, size_t> out;
    std::unordered_map<ElementId, ElementId> service_of;
    for (ElementId y = 0; y < t.size(); ++y)
      if (t[y].kind == ElementKind::kService)
        for (ElementId m : t[y].members)
          service_of.emplace(m, y);
    for (const RiskGroup& g : a.groups) {
      if (g.kind != "redundancy") continue;
      size_t critical = 0;
      for (size_t i : g.findings)
        critical += severity_rank(a.findings[i].severity) == 0;
      auto x = t.find(g.fix);
      if (!critical || !x) continue;
      ElementId s = *x;
      if (t[s].kind == ElementKind::kComponent) {
        auto it = service_of.find(s);
        if (it == service_of.end()) continue;
        s = it->second;
      }
      if (t[s].kind == ElementKind::kService) out[s] += critical;
    }
    return out;
  }

  // Spread (spec whatif.md: "spread members across the zones a domain_spof names"): for a
  // critical domain_spof, every service that lacks redundancy (lacking()) and whose members
  // all lie in the domain it names gets a member like its first one outside that domain, as
  // one change of one add_member per service. The new members go to the domains
  // spare_domains() ranks first for each service, taken in turn so that they do not all land
  // on one host. The domains whose services hold the most critical findings are tried first;
  // one of a single service is left to the service's own add_member.
  void spreads(const Topology& t, const Analysis& a, std::vector<Candidate>& out) {
    if (options_.spreads_per_step == 0) return;
    // A spread's new ids need only differ from each other's, not from other candidates'
    // (only one candidate is kept): "orders-2", not the "orders-3" that follows orders' own
    // add_member candidate.
    std::set<std::string> others;
    std::swap(others, planned_ids_);
    const auto services = lacking(t, a);
    // Each service's members' common domains: the deepest domain holding them all, and its
    // ancestors.
    std::map<ElementId, std::vector<ElementId>> in;  // domain -> services confined to it
    std::map<ElementId, ElementId> like;             // service -> the member to copy
    for (const auto& [s, critical] : services) {
      std::vector<ElementId> common;
      bool first = true, placed = true;
      for (ElementId m : t[s].members) {
        if (t[m].kind != ElementKind::kComponent) continue;
        if (first) like[s] = m;
        std::vector<ElementId> chain;
        for (ElementId up = t[m].domain; up != kNoElement; up = t[up].parent)
          chain.push_back(up);
        if (chain.empty()) placed = false;
        if (first) {
          common = chain;
        } else {
          std::vector<ElementId> both;
          for (ElementId d : common)
            if (std::find(chain.begin(), chain.end(), d) != chain.end()) both.push_back(d);
          common = std::move(both);
        }
        first = false;
      }
      if (first || !placed) continue;
      for (ElementId d : common)
        in[d].push_back(s);
    }
    struct Spread {
      size_t critical;
      ElementId domain;
      const Finding* finding;
    };
    std::vector<Spread> ranked;
    std::unordered_set<ElementId> named;
    for (const Finding& f : a.findings) {
      if (f.kind != "domain_spof" || severity_rank(f.severity) != 0 || f.subject.size() != 1)
        continue;
      auto d = t.find(f.subject[0]);
      if (!d || t[*d].kind != ElementKind::kDomain || !named.insert(*d).second) continue;
      auto it = in.find(*d);
      if (it == in.end() || it->second.size() < 2) continue;
      size_t critical = 0;
      for (ElementId s : it->second)
        critical += services.at(s);
      ranked.push_back({critical, *d, &f});
    }
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const Spread& x, const Spread& y) { return x.critical > y.critical; });
    for (size_t r = 0; r < ranked.size() && r < options_.spreads_per_step; ++r) {
      const ElementId d = ranked[r].domain;
      std::vector<ElementId> members = in.at(d);
      std::sort(members.begin(), members.end());  // file order
      Candidate c;
      std::map<ElementId, size_t> turn;  // how many new members each domain took
      for (ElementId s : members) {
        std::vector<ElementId> used;
        for (ElementId m : t[s].members)
          if (t[m].kind == ElementKind::kComponent && t[m].domain != kNoElement &&
              std::find(used.begin(), used.end(), t[m].domain) == used.end())
            used.push_back(t[m].domain);
        const auto spare = spare_domains(t, used, 0, d);  // outside the domain spread out of
        if (spare.empty()) continue;
        // Among the domains ranked first, the one that took the fewest new members so far.
        ElementId to = spare[0];
        for (ElementId x : spare)
          if (turn[x] < turn[to]) to = x;
        ++turn[to];
        Change e;
        e.kind = ChangeKind::kAddMember;
        e.service = t[s].id;
        e.like = t[like.at(s)].id;
        e.id = fresh_id(t, e.service, e.like);
        e.domain = t[to].id;
        planned_ids_.insert(e.id);
        c.changes.push_back(std::move(e));
      }
      if (c.changes.size() < 2) continue;
      c.group = ranked[r].finding->id();
      c.reason = t[d].type + " " + t[d].id + " holds every member of " +
                 plural(c.changes.size(), "service") + " that lack redundancy (" +
                 plural(ranked[r].critical, "critical finding") +
                 "): give each a member outside it";
      c.key = "spread " + t[d].id;
      out.push_back(std::move(c));
      planned_ids_.clear();
    }
    planned_ids_ = std::move(others);
  }

  template <typename Add>
  void capacity(const Topology& t, const Analysis& a, const RiskGroup& g, Add& add) {
    auto x = t.find(g.fix);
    if (!x) return;
    double need = 0;
    for (size_t i : g.findings) {
      const Finding& f = a.findings[i];
      auto u = f.details.find("utilization");
      if (u == f.details.end() || !u->is_number()) continue;
      const double v = u->get<double>();
      need = std::max(need, f.kind == "overload" ? v / options_.analysis.threshold : v);
    }
    if (!(need > 1) || std::isinf(need)) return;
    const double factor = round_factor(need);
    const Element& e = t[*x];
    const std::string why = g.fix +
                            " runs out of headroom: " + plural(g.findings.size(), "finding") +
                            ", the worst needs " + common::format("%.2f", need) + "x its capacity";
    if (e.kind == ElementKind::kService && allowed(ChangeKind::kScale)) {
      bool any = e.capacity.has_value();
      for (ElementId m : e.members)
        any = any || t[m].capacity.has_value();
      if (!any) return;
      Change c;
      c.kind = ChangeKind::kScale;
      c.service = e.id;
      c.factor = factor;
      add(std::move(c), g, why);
    } else if (e.kind == ElementKind::kComponent && e.capacity && allowed(ChangeKind::kSet)) {
      Change c;
      c.kind = ChangeKind::kSet;
      c.id = e.id;
      c.capacity = std::ceil(*e.capacity * factor);
      add(std::move(c), g, why);
    }
  }

  // The domains where a new member shares the least with the members: none that holds a
  // member or contains one, ranked by how many of its ancestors hold or contain a member
  // (a host in another zone before another host of the same rack), then those of the kind the
  // members are in (a host before a zone), then in file order; at most `most`, or with
  // `most` 0 every domain ranked as the first is. With `outside`, none under that domain.
  std::vector<ElementId> spare_domains(const Topology& t, const std::vector<ElementId>& used,
                                       size_t most = 2, ElementId outside = kNoElement) {
    std::unordered_set<ElementId> above;  // the used domains and their ancestors
    std::set<std::string_view> types;
    for (ElementId d : used) {
      types.insert(t[d].type);
      for (ElementId up = d; up != kNoElement; up = t[up].parent)
        above.insert(up);
    }
    std::vector<std::tuple<size_t, bool, ElementId>> ranked;
    for (ElementId d = 0; d < t.size() && t[d].kind == ElementKind::kDomain; ++d) {
      if (above.count(d)) continue;
      if (outside != kNoElement) {  // not `outside` nor any domain under it
        bool under = false;
        for (ElementId up = d; up != kNoElement && !under; up = t[up].parent)
          under = up == outside;
        if (under) continue;
      }
      size_t shared = 0;
      for (ElementId up = t[d].parent; up != kNoElement; up = t[up].parent)
        shared += above.count(up);
      ranked.emplace_back(shared, !types.count(t[d].type), d);
    }
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& x, const auto& y) {
      return std::tie(std::get<0>(x), std::get<1>(x)) < std::tie(std::get<0>(y), std::get<1>(y));
    });
    std::vector<ElementId> out;
    for (size_t i = 0; i < ranked.size() && (most == 0 || i < most); ++i) {
      if (most == 0 && (std::get<0>(ranked[i]) != std::get<0>(ranked[0]) ||
                        std::get<1>(ranked[i]) != std::get<1>(ranked[0])))
        break;
      out.push_back(std::get<2>(ranked[i]));
    }
    return out;
  }

  // A new member's id: its model's with the next free number ("app-1" gives "app-4"), or
  // the service's id with one.
  std::string fresh_id(const Topology& t, const std::string& service, const std::string& like) {
    std::string stem = like;
    while (!stem.empty() && stem.back() >= '0' && stem.back() <= '9')
      stem.pop_back();
    if (stem.empty() || stem.size() == like.size()) stem = service + "-";
    for (size_t n = 1;; ++n) {
      std::string id = stem + std::to_string(n);
      if (!t.find(id) && !planned_ids_.count(id)) return id;
    }
  }

  template <typename Add>
  void redundancy(const Topology& t, const Analysis& a, const RiskGroup& g, const std::string& fix,
                  Add& add) {
    auto x = t.find(fix);
    if (!x) return;
    ElementId s = *x;
    if (t[s].kind == ElementKind::kComponent) {
      // A component that is what lacks spread: its service, if it is in one.
      s = kNoElement;
      for (ElementId y = 0; y < t.size() && s == kNoElement; ++y)
        if (t[y].kind == ElementKind::kService &&
            std::find(t[y].members.begin(), t[y].members.end(), *x) != t[y].members.end())
          s = y;
      if (s == kNoElement) return;
    }
    if (t[s].kind != ElementKind::kService) return;
    const Element& service = t[s];
    ElementId like = kNoElement;
    std::vector<ElementId> used;
    for (ElementId m : service.members) {
      if (t[m].kind != ElementKind::kComponent) continue;
      if (like == kNoElement) like = m;
      if (t[m].domain != kNoElement &&
          std::find(used.begin(), used.end(), t[m].domain) == used.end())
        used.push_back(t[m].domain);
    }
    if (like == kNoElement) return;
    const auto spare = spare_domains(t, used);
    if (allowed(ChangeKind::kAddMember)) {
      auto member = [&](ElementId domain) {
        Change c;
        c.kind = ChangeKind::kAddMember;
        c.service = service.id;
        c.id = fresh_id(t, service.id, t[like].id);
        c.like = t[like].id;
        if (domain != kNoElement) c.domain = t[domain].id;
        planned_ids_.insert(c.id);
        add(std::move(c), g,
            service.id + " lacks redundancy" +
                (domain != kNoElement ? " across " + t[domain].type + "s" : std::string()) + ": " +
                plural(g.findings.size(), "finding"));
      };
      if (spare.empty() && used.empty()) member(kNoElement);
      if (!spare.empty()) member(spare[0]);
    }
    // Spread: a member moved out of a domain that a domain_spof of the group names, into a
    // domain of its kind that no member uses.
    if (!allowed(ChangeKind::kMove) || spare.empty()) return;
    for (size_t i : g.findings) {
      const Finding& f = a.findings[i];
      if (f.kind != "domain_spof" || f.subject.size() != 1) continue;
      auto d = t.find(f.subject[0]);
      if (!d) continue;
      size_t inside = 0;
      ElementId last = kNoElement;
      for (ElementId m : service.members)
        for (ElementId up = t[m].kind == ElementKind::kComponent ? t[m].domain : kNoElement;
             up != kNoElement; up = t[up].parent)
          if (up == *d) {
            ++inside, last = m;
            break;
          }
      if (inside < 2) continue;  // moving the only member in it moves the problem
      Change c;
      c.kind = ChangeKind::kMove;
      c.id = t[last].id;
      c.domain = t[spare[0]].id;
      add(std::move(c), g,
          service.id + " has " + plural(inside, "member") + " in " + t[*d].type + " " + t[*d].id +
              ": spread them");
      break;
    }
  }

  template <typename Add>
  void slo(const Topology& t, const Analysis& a, const RiskGroup& g, Add& add) {
    for (const auto& e : a.availability) {
      if (e.id != g.fix || e.importance.empty()) continue;
      auto x = t.find(e.importance[0].id);
      if (x && t[*x].kind == ElementKind::kComponent) redundancy(t, a, g, t[*x].id, add);
    }
  }

  const Topology& original_;
  const RecommendOptions& options_;
  std::set<std::string> planned_ids_;
  /// What each candidate (by key) did when it was last measured.
  std::map<std::string, std::tuple<long, long, long>> measured_;
};

}  // namespace

Plan recommend(const Topology& topology, const RecommendOptions& options) {
  return Planner(topology, options).run();
}

Plan measure_plan(const Topology& topology, const Overlay& overlay,
                  const RecommendOptions& options) {
  Plan plan;
  auto timed = [&](const Topology& t) { return timed_analysis(plan, t, options.analysis); };
  // The whole overlay first, so that an entry that does not apply is reported before any
  // analysis is run, with every problem located.
  apply_overlay(topology, overlay);
  Analyzed first{topology, {}};
  first.analysis = timed(first.topology);
  plan.before = harm_counts(first.analysis);
  const Analyzed* current = &first;
  std::unique_ptr<Analyzed> kept;
  Overlay prefix{overlay.file, {}, ""};
  for (const Change& c : overlay.changes) {
    prefix.changes.push_back(c);
    auto next = std::make_unique<Analyzed>();
    next->topology = apply_overlay(topology, prefix);
    next->analysis = timed(next->topology);
    if (options.progress) options.progress(prefix.changes.size(), 1, 1);
    plan.steps.push_back(
        plan_step({c}, "", "entry " + std::to_string(prefix.changes.size()) + " of " + overlay.file,
                  diff_analyses(current->analysis, next->analysis)));
    kept = std::move(next);
    current = kept.get();
  }
  plan.availability = diff_analyses(first.analysis, current->analysis).availability;
  return plan;
}

size_t plan_entries(const Plan& plan) {
  size_t n = 0;
  for (const PlanStep& s : plan.steps)
    n += s.changes.size();
  return n;
}

std::string change_line(const Change& change) {
  std::ostringstream yaml;
  Change bare = change;
  bare.note.clear();
  write_overlay(Overlay{"", {bare}, ""}, yaml);
  std::string line = yaml.str();
  // The change's one line of YAML, without the overlay around it.
  const size_t at = line.find("  - ");
  line = at == std::string::npos ? line : line.substr(at + 4);
  while (!line.empty() && line.back() == '\n')
    line.pop_back();
  return line;
}

Overlay plan_overlay(const Plan& plan, const std::string& topology_file) {
  Overlay o;
  o.file = "recommend";
  HarmCounts last = plan.before;
  const size_t entries = plan_entries(plan);
  o.note = "achilles recommend " + topology_file + ": " + plural(plan.steps.size(), "change") +
           (entries == plan.steps.size() ? std::string()
                                         : " in " + std::to_string(entries) + " entries below") +
           ", each measured by re-analysis with the changes above it applied.\n" +
           "Before: " + plural(plan.before.critical, "critical finding") + ", " +
           plural(plan.before.findings, "finding") + "; after: " +
           plural(plan.steps.empty() ? plan.before.critical : plan.steps.back().after.critical,
                  "critical finding") +
           ", " +
           plural(plan.steps.empty() ? plan.before.findings : plan.steps.back().after.findings,
                  "finding") +
           ".";
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const PlanStep& s = plan.steps[i];
    const size_t n = s.changes.size();
    for (size_t k = 0; k < n; ++k) {
      Change c = s.changes[k];
      if (k == 0)
        c.note =
            std::to_string(i + 1) + ". " + common::one_line(s.reason) +
            (n == 1 ? std::string()
                    : "\n   one change of " + std::to_string(n) + " entries, this one and the " +
                          std::to_string(n - 1) + " below it, measured together") +
            "\n   resolves " + plural(s.resolved.size(), "finding") + ", introduces " +
            std::to_string(s.introduced.size()) + "; critical " + std::to_string(last.critical) +
            " -> " + std::to_string(s.after.critical);
      else
        c.note = std::to_string(i + 1) + ". (entry " + std::to_string(k + 1) + " of " +
                 std::to_string(n) + ")";
      o.changes.push_back(std::move(c));
    }
    last = s.after;
  }
  return o;
}

nlohmann::json to_json(const Plan& plan) {
  nlohmann::json steps = nlohmann::json::array();
  for (const PlanStep& s : plan.steps) {
    nlohmann::json entries = nlohmann::json::array();
    for (const Change& c : s.changes)
      entries.push_back(change_line(c));
    steps.push_back({{"kind", s.kind},
                     {"change", entries.empty() ? nlohmann::json("") : entries[0]},
                     {"entries", entries},
                     {"group", s.group},
                     {"reason", s.reason},
                     {"resolved", s.resolved},
                     {"introduced", s.introduced},
                     {"after", counts_json(s.after)}});
  }
  nlohmann::json availability = nlohmann::json::array();
  for (const auto& a : plan.availability)
    availability.push_back({{"id", a.id}, {"before", maybe(a.before)}, {"after", maybe(a.after)}});
  std::vector<double> t = plan.analysis_seconds;
  std::sort(t.begin(), t.end());
  return {{"schema", "achilles.recommend/v1"},
          {"before", counts_json(plan.before)},
          {"after", counts_json(plan.steps.empty() ? plan.before : plan.steps.back().after)},
          {"changes", steps},
          {"availability", availability},
          {"analyses", plan.analyses},
          {"median_analysis_seconds", t.empty() ? 0.0 : t[t.size() / 2]}};
}

}  // namespace achilles::analyzer
