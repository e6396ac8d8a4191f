// A brute-force reference for spec topology.md, "What is up" and "What the analyzer reports"
// (spof, domain_spof, cut_set, cycle). It is written straight from the spec's rules, as
// plainly as possible and without sharing any code with the analyzer, so that property tests
// can hold the real, clever analyzer to it. It is slow on purpose: use it on small topologies.
#pragma once

#include <string>
#include <vector>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/model.h"
#include "achilles/analyzer/status.h"

namespace achilles::reference {

using analyzer::ElementId;
using analyzer::Impact;
using analyzer::Status;
using analyzer::Topology;

/// Statuses of every element (indexed like Topology::elements) under F = `failed`: the
/// greatest fixpoint of rules 1-4, found by starting with everything up except F and
/// re-applying the rules to every element until a whole pass changes nothing. Domains are
/// down iff they or an ancestor are in F, else up; they are never degraded.
std::vector<Status> statuses(const Topology& topology, const std::vector<ElementId>& failed);

/// The impact of a scenario given its statuses: entrypoints down and degraded (sorted ids)
/// and how many components and services are down (the failed components included).
Impact impact_of(const Topology& topology, const std::vector<Status>& status);

/// A finding as the reference sees it: no severity, message or explanation.
struct Finding {
  /// spof, domain_spof, cut_set or cycle.
  std::string kind;
  /// Sorted element ids.
  std::vector<std::string> subject;
  Impact impact;

  /// `KIND:` + subject joined with `+`, as in analysis-json.md.
  std::string id() const;
};

/// Components c such that F = {c} puts some entrypoint down; sorted by id.
std::vector<Finding> spofs(const Topology& topology);

/// Domains d such that F = {d} puts some entrypoint down; sorted by id.
std::vector<Finding> domain_spofs(const Topology& topology);

/// Every set S of 2..`max_order` components and domains such that, for some entrypoint e,
/// F = S puts e down and no proper subset of S (the empty set included) does; sorted by id.
/// Components and domains mix freely; a set holding a domain and something inside it is
/// never minimal, since the domain alone does as much. The impact is that of F = S.
std::vector<Finding> cut_sets(const Topology& topology, unsigned max_order);

/// The outcome of a cold start (spec "Cold start").
struct ColdStart {
  /// Indexed like Topology::elements: true for a component, service or entrypoint that is
  /// still down when nothing more can start. Domains are never stuck.
  std::vector<bool> stuck;
  /// The strongly connected groups among stuck components and services over the edges
  /// "x hard-depends on y" and "service x has member y", that have two or more elements or
  /// a self-loop. Each group sorted by element index; groups sorted by their first index.
  std::vector<std::vector<ElementId>> groups;
  /// reaches[x][y]: y can be reached from x in one or more steps along those edges, every
  /// element on the way (x and y included) stuck.
  std::vector<std::vector<bool>> reaches;
};

/// Runs the cold start and finds the groups, by naive iteration and transitive closure.
ColdStart cold_start(const Topology& topology);

/// One `cycle` finding per group of cold_start(); sorted by id.
///
/// How the spec is read here (the lead reconciles with the analyzer):
/// - Edges between stuck elements only: a hard dependency x -> y, and service x -> member y
///   for EVERY stuck member, even when the service is stuck for another reason (its hard
///   dependency, while enough other members are up). Soft dependencies are never edges.
/// - A self-loop is a component or service that hard-depends on itself.
/// - impact.entrypoints_down: the entrypoints whose target is stuck and is in the group or
///   reaches it along those edges through stuck elements.
/// - impact.entrypoints_degraded: always empty (the cold start knows only up and down).
/// - impact.components_down / services_down: the stuck components / services that are in the
///   group or reach it in the same way (what can never come up because of that loop).
std::vector<Finding> cycles(const Topology& topology);

/// spofs, domain_spofs, cut_sets(order) (nothing when order < 2) and cycles; sorted by id.
std::vector<Finding> findings(const Topology& topology, unsigned order);

}  // namespace achilles::reference
