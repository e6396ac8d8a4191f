// The topology model: what can fail, what needs what, and where load comes in.
// See shared spec topology.md; every other module reads this.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "achilles/common/diagnostic.h"

namespace achilles::analyzer {

// The analyzer reports bad input with common's types (the agent and the drill runner share
// them); these declarations let the analyzer and its callers name them as its own.
using common::Diagnostic;
using common::InputError;
using common::SourcePos;
using common::UsageError;

/// Index of an element in Topology::elements.
using ElementId = uint32_t;
/// Marks an absent reference (a domain without parent, a component without domain).
inline constexpr ElementId kNoElement = std::numeric_limits<ElementId>::max();

/// The four kinds of element; all share one id namespace.
enum class ElementKind : uint8_t { kDomain, kComponent, kService, kEntrypoint };

/// "domain", "component", "service" or "entrypoint".
std::string_view to_string(ElementKind kind);

/// An id as topology.md allows it: a letter or digit, then letters, digits and `_.:/@-`.
bool is_valid_id(std::string_view id);

/// Hard: the dependent is down when the dependency is. Soft: only degraded.
enum class DepMode : uint8_t { kHard, kSoft };

/// One `depends_on` entry.
struct Dependency {
  /// A component or a service.
  ElementId target = kNoElement;
  DepMode mode = DepMode::kHard;
  /// Requests the dependency receives per request served.
  double calls = 1.0;
  /// Where the entry is written.
  SourcePos pos;
  /// How long the caller waits for the dependency (`timeout_ms`, 1..kMaxTimeoutMs), 0 when
  /// not given. Last, so that the positional initialisers {target, mode, calls, pos} of the
  /// importers stay valid; it grows a Dependency from 24 to 32 bytes.
  uint32_t timeout_ms = 0;
};

/// The largest `timeout_ms` of a dependency: an hour.
inline constexpr uint32_t kMaxTimeoutMs = 3600000;

/// Ordered key/value strings: `labels`, and a component's injector `target` block.
using StringMap = std::vector<std::pair<std::string, std::string>>;

/// One domain, component, service or entrypoint. Fields that do not apply to the
/// element's kind keep their defaults.
struct Element {
  std::string id;
  ElementKind kind = ElementKind::kComponent;
  /// The free `kind` label of the file (region, zone, host, database, ...).
  std::string type;
  /// Where the element's declaration starts in the file.
  SourcePos pos;
  StringMap labels;
  /// Steady-state availability in (0, 1]; absent means it never fails.
  std::optional<double> availability;
  /// Requests per second it can serve (components and services).
  std::optional<double> capacity;

  /// Domain: its parent domain, or kNoElement for a root.
  ElementId parent = kNoElement;
  /// Component: its failure domain, or kNoElement.
  ElementId domain = kNoElement;
  /// Component or service: what it needs.
  std::vector<Dependency> depends_on;
  /// Service: its members (components or services), in file order.
  std::vector<ElementId> members;
  /// Service: how many members must be not down; 1..members.size().
  uint32_t min_healthy = 1;
  /// Entrypoint: the component or service it sends users to.
  ElementId target = kNoElement;
  /// Entrypoint: requests per second coming in.
  std::optional<double> load;
  /// Entrypoint: availability objective in (0, 1].
  std::optional<double> slo;
  /// Component: where the injector acts (agent, process, port, ...).
  StringMap inject_target;
};

/// A top-level `agents` entry: a name that `target` blocks use for an agent (spec
/// topology.md).
struct AgentDecl {
  std::string name;
  /// http:// or https:// URL of its API.
  std::string url;
  /// The bearer token's file, as written (relative to the topology), or empty.
  std::string token_file;
  SourcePos pos;
};

/// A whole topology. Elements are stored in declaration order: domains first, then
/// components, services and entrypoints (the loaders keep this order).
struct Topology {
  /// `name` from the file, or empty.
  std::string name;
  /// The path it was loaded from, as given; empty when built in memory.
  std::string file;
  std::vector<Element> elements;
  /// The top-level `agents`, in file order.
  std::vector<AgentDecl> agents;
  /// True for a topology read from an undirected DOT graph: its links have no dependency
  /// direction, and the analyzer reports articulation points and bridges over them.
  bool undirected = false;
  /// The links of an undirected graph, between components, as written (maybe repeated).
  std::vector<std::pair<ElementId, ElementId>> undirected_edges;

  /// Adds an element and indexes its id; returns its index. The id must be new.
  ElementId add(Element element);
  /// Adds the element unless its id is taken: returns the index of the element with that id
  /// and whether it is the one just added. One probe of the index, not two (find, then add).
  std::pair<ElementId, bool> try_add(Element element);
  /// try_add() of each element in turn, on up to `threads` threads: the same elements, ids
  /// and results (each element's index, or that of the element with its id), in order.
  std::vector<std::pair<ElementId, bool>> try_add_all(std::vector<Element> batch, unsigned threads);
  /// Makes room for `n` elements in all, so that adding them does not reallocate or rehash.
  void reserve(size_t n);
  /// The element with this id, if any.
  std::optional<ElementId> find(std::string_view id) const;
  /// How many elements of this kind.
  size_t count(ElementKind kind) const;
  /// Number of `depends_on` entries over all elements.
  size_t dependency_count() const;

  const Element& operator[](ElementId id) const { return elements[id]; }
  Element& operator[](ElementId id) { return elements[id]; }
  size_t size() const { return elements.size(); }

 private:
  /// Open addressing over the ids: each slot holds a 32-bit hash, an element index and where
  /// a copy of the id sits in ids_, so a lookup among 10^6 ids costs two cache misses (the
  /// slot, then the id's characters), not those of the Element and of its string's buffer.
  /// The slots are two tables of the same size, and an id's hash says which one it is in
  /// and probes only that one: two threads can then index a batch of ids, one table each.
  struct Slot {
    uint32_t hash;
    ElementId element;
    uint32_t offset;
    uint32_t size;
  };
  /// The slot of `id` (hash `h`) in its table, or the empty slot where it would go.
  template <typename Same>
  size_t probe(uint32_t h, Same same) const;
  void index(size_t slot, uint32_t h, ElementId x, std::string_view id);
  std::vector<Slot> slots_;
  /// Every indexed id, one after another.
  std::string ids_;
};

}  // namespace achilles::analyzer
