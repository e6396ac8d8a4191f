// Structural findings of an undirected graph (a DOT `graph`, spec topology.md): its links have
// no dependency direction, so what can be said is where the graph hangs by one thread. An
// articulation point is a node whose loss splits the graph; a bridge is a link whose loss
// does, which is a biconnected component of a single edge.
#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/biconnected_components.hpp>
#include <map>
#include <set>

#include "passes.h"
#include "propagation.h"

namespace achilles::analyzer::detail {

void structure_pass(const Topology& topology, std::vector<Finding>& findings) {
  if (!topology.undirected) return;
  using Graph =
      boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, boost::no_property,
                            boost::property<boost::edge_index_t, size_t>>;
  // Why deduplicate: biconnected_components in Boost 1.74 puts parallel edges in component 0
  // (fixed only in 1.80); a repeated link does not make a graph any more connected either.
  std::set<std::pair<ElementId, ElementId>> edges;
  for (auto [a, b] : topology.undirected_edges)
    if (a != b) edges.insert(std::minmax(a, b));
  Graph g(topology.size());
  size_t index = 0;
  for (auto [a, b] : edges)
    boost::add_edge(a, b, index++, g);
  std::vector<size_t> component(edges.size());
  auto edge_index = boost::get(boost::edge_index, g);
  std::vector<Graph::vertex_descriptor> cut_vertices;
  boost::biconnected_components(g, boost::make_iterator_property_map(component.begin(), edge_index),
                                std::back_inserter(cut_vertices));

  // The number of pieces a cut vertex leaves is the number of blocks it belongs to.
  std::map<size_t, size_t> edges_in;  // component -> edge count
  for (size_t c : component)
    ++edges_in[c];
  Net net(topology);
  Propagator propagator(net);
  for (auto v : cut_vertices) {
    std::set<size_t> blocks;
    for (auto [e, end] = boost::out_edges(v, g); e != end; ++e)
      blocks.insert(component[edge_index[*e]]);
    ElementId x = static_cast<ElementId>(v);
    Finding f;
    f.kind = "articulation_point";
    f.severity = "medium";
    f.subject = {topology[x].id};
    f.message = topology[x].id + " is an articulation point: losing it splits the graph into " +
                std::to_string(blocks.size()) + " parts";
    f.details = {{"parts", blocks.size()}};
    // Its impact as a failure of the component, by the rules of "What is up".
    if (topology[x].kind == ElementKind::kComponent) {
      propagator.run(std::span<const ElementId>(&x, 1));
      for (ElementId y : propagator.down_list()) {
        if (topology[y].kind == ElementKind::kEntrypoint)
          f.impact.entrypoints_down.push_back(topology[y].id);
      }
      for (ElementId y : propagator.degraded_entrypoints())
        f.impact.entrypoints_degraded.push_back(topology[y].id);
      std::sort(f.impact.entrypoints_down.begin(), f.impact.entrypoints_down.end());
      std::sort(f.impact.entrypoints_degraded.begin(), f.impact.entrypoints_degraded.end());
      f.impact.components_down = propagator.count_down(ElementKind::kComponent);
      f.impact.services_down = propagator.count_down(ElementKind::kService);
    }
    f.explanation = {topology[x].id};
    f.explanation_notes = {""};
    findings.push_back(std::move(f));
  }
  index = 0;
  for (auto [a, b] : edges) {
    if (edges_in[component[index++]] != 1) continue;
    Finding f;
    f.kind = "bridge";
    f.severity = "medium";
    f.subject = {topology[a].id, topology[b].id};
    std::sort(f.subject.begin(), f.subject.end());
    f.message = "the link " + f.subject[0] + " -- " + f.subject[1] +
                " is a bridge: losing it splits the graph";
    f.explanation = f.subject;
    f.explanation_notes = {"", ""};
    findings.push_back(std::move(f));
  }
}

}  // namespace achilles::analyzer::detail
