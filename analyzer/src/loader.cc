// Loading a topology: read the file, parse it into a position-keeping Document, then check
// every rule of "What is rejected" (spec topology.md) while building the model.
//
// The checks run in three passes so that every problem is found in one run:
//   1. declare: the top level, and every element's id (pattern, uniqueness), so that
//      references can be resolved whatever order the sections come in;
//   2. fill: every other field of every element, references resolved by id;
//   3. cycles: domain parents and service membership.
// An element whose id is bad is still checked (into a scratch element), and references to
// an id that was declared but invalid are not reported again: one mistake, one message.
//
// One file past 500 lines: its three passes over one document (declare the ids, fill and resolve
// the references, the domain and membership cycles) share the id table and the diagnostics, and
// read best in order.
#include "achilles/analyzer/loader.h"
#include "achilles/common/input_file.h"
#include "achilles/common/text.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <unordered_set>

#include "achilles/analyzer/importers.h"
#include "achilles/analyzer/suggest.h"
#include "document.h"
#include "parallel.h"

namespace achilles::analyzer {

namespace {

using doc::Type;
using doc::Value;

using Keys = std::span<const std::string_view>;
constexpr std::string_view kTopKeys[] = {"version",  "name",        "domains", "components",
                                         "services", "entrypoints", "agents"};
constexpr std::string_view kAgentKeys[] = {"url", "token_file"};
constexpr std::string_view kDomainKeys[] = {"id", "kind", "parent", "availability", "labels"};
constexpr std::string_view kComponentKeys[] = {"id",       "kind",         "domain", "depends_on",
                                               "capacity", "availability", "labels", "target"};
constexpr std::string_view kServiceKeys[] = {"id",         "kind",     "members", "min_healthy",
                                             "depends_on", "capacity", "labels"};
constexpr std::string_view kEntrypointKeys[] = {"id", "target", "load", "slo", "labels"};
// A component's `target` block: where the injector acts (docs/topology.md).
constexpr std::string_view kInjectTargetKeys[] = {"agent",   "process", "pid",  "cmdline",
                                                  "pidfile", "port",    "proxy"};
// The kernel keeps a process name (`comm`) to 15 characters; the agent matches it exactly.
constexpr size_t kMaxProcessName = 15;
constexpr std::string_view kDependencyKeys[] = {"id", "mode", "calls", "timeout_ms"};

/// `HOST:PORT` (a host name, an IPv4 address or a bracketed IPv6 address, then a port): how
/// a target block may name an agent that the top-level `agents` does not declare.
bool is_host_port(std::string_view s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) return false;
  const std::string_view host = s.substr(0, colon), port = s.substr(colon + 1);
  if (port.size() > 5) return false;
  for (char c : port)
    if (c < '0' || c > '9') return false;
  if (host.front() == '[') return host.back() == ']' && host.size() > 2;
  return host.find(':') == std::string_view::npos;
}

/// The sections of the top level, in the order elements are stored.
constexpr std::string_view kSections[] = {"domains", "components", "services", "entrypoints"};
constexpr ElementKind kSectionKinds[] = {ElementKind::kDomain, ElementKind::kComponent,
                                         ElementKind::kService, ElementKind::kEntrypoint};

std::string join(Keys keys) {
  return common::join(keys, ", ");
}

/// "a domain", "an entrypoint", ...
std::string a(ElementKind kind) {
  return (kind == ElementKind::kEntrypoint ? "an " : "a ") + std::string(to_string(kind));
}

bool is_component_or_service(ElementKind k) {
  return k == ElementKind::kComponent || k == ElementKind::kService;
}
bool is_domain(ElementKind k) {
  return k == ElementKind::kDomain;
}

/// One element as written, on its way into the model.
struct Item {
  Value node;
  ElementKind kind;
  /// Its place in its section, from 1: names it while it has no string id.
  uint32_t number;
  /// In the topology, once its id is known to be valid and new.
  ElementId id = kNoElement;
  /// Its id as written, once checked and found to be a string, valid or not.
  std::string_view id_text = {};
  /// Where the id is written, once it is known to be valid.
  SourcePos id_pos = {};
  /// id_text is set: messages name the item by it.
  bool has_string_id = false;
  /// id_text is not a valid id: references to it are not reported again.
  bool id_invalid = false;

  /// How messages name it: "service 'web'", or "service #3" without a string id. Built
  /// only for a message: there is one item per element and few messages.
  std::string label() const {
    return std::string(to_string(kind)) +
           (has_string_id ? " '" + std::string(id_text) + "'" : " #" + std::to_string(number));
  }
};

/// What a message about an item starts with, "service 'web': ", or nothing for the top
/// level. The checks pass it for every item and build its text only for a message.
struct Prefix {
  const Item* item = nullptr;

  std::string text() const { return item ? item->label() + ": " : std::string(); }
};

class TopologyBuilder {
 public:
  TopologyBuilder(const doc::Document& document, const std::string& file,
                  std::vector<Diagnostic>& diagnostics)
      : document_(document), file_(file), diagnostics_(diagnostics) {}

  Topology build() {
    topology_.file = file_;
    if (declare()) {
      fill_all();
      domain_cycles();
      service_cycles();
    }
    return std::move(topology_);
  }

 private:
  void error(SourcePos pos, std::string message) {
    (sink_ ? *sink_ : diagnostics_).push_back({file_, pos, {}, std::move(message)});
  }
  void wrong_type(Prefix pre, Value v, std::string_view key, std::string_view expected) {
    error(v.pos(), pre.text() + "'" + std::string(key) + "' must be " + std::string(expected) +
                       ", not " + std::string(doc::describe(v.type())));
  }

  // Reports every key of `map` not in `allowed`. The message says where the map is: `where`
  // and then the label of `of`, if given ("in service 'web'", "at the top level"), put
  // together only for an unknown key since every item's map is checked.
  void check_keys(Value map, Keys allowed, std::string_view where, const Item* of = nullptr) {
    for (size_t i = 0; i < map.size(); ++i) {
      auto entry = map.entry(i);
      if (std::find(allowed.begin(), allowed.end(), entry.key) != allowed.end()) continue;
      error(
          entry.key_pos, "unknown key '" + std::string(entry.key) + "' " + std::string(where) +
                             (of ? of->label() : std::string()) +
                             " (expected one of: " + join(allowed) + ")" + [&] {
                               Suggestion s(entry.key);
                               for (auto k : allowed)
                                 s.consider(k);
                               return s.did_you_mean();
                             }());
    }
  }

  // A typed optional field: absent gives nullopt silently, a wrong type reports it.
  std::optional<Value> field(Prefix pre, Value map, std::string_view key, Type type) {
    Value v = map.find(key);
    if (!v) return std::nullopt;
    if (v.type() != type) {
      wrong_type(pre, v, key, doc::describe(type));
      return std::nullopt;
    }
    return v;
  }

  // --- Pass 1 ----------------------------------------------------------------------------

  // The top level and the ids. False when there is nothing more to check.
  bool declare() {
    Value root = document_.root();
    if (!root) return false;
    if (root.type() == Type::kNull) {
      error(root.pos(), "the file is empty (expected a map with keys " + join(kTopKeys) + ")");
      return false;
    }
    if (root.type() != Type::kMap) {
      error(root.pos(),
            "the top level must be a map, not " + std::string(doc::describe(root.type())));
      return false;
    }
    check_keys(root, kTopKeys, "at the top level");
    if (Value version = root.find("version"); !version) {
      error(root.pos(), "missing required key 'version'");
    } else if (version.type() != Type::kNumber) {
      wrong_type({}, version, "version", "a number");
    } else if (version.number() != 1) {
      error(version.pos(), "version must be 1, not " + std::string(version.text()));
    }
    if (auto name = field({}, root, "name", Type::kString)) topology_.name = name->text();
    agents(root);

    for (size_t s = 0; s < std::size(kSections); ++s) {
      auto list = field({}, root, kSections[s], Type::kSequence);
      if (!list) continue;
      for (size_t i = 0; i < list->size(); ++i) {
        Value node = list->item(i);
        if (node.type() != Type::kMap) {
          error(node.pos(), "an entry of '" + std::string(kSections[s]) + "' must be a map, not " +
                                std::string(doc::describe(node.type())));
          continue;
        }
        // A section has fewer entries than the document has nodes, which uint32_t counts.
        items_.push_back(
            {.node = node, .kind = kSectionKinds[s], .number = static_cast<uint32_t>(i + 1)});
      }
    }
    topology_.reserve(items_.size());
    kinds_.reserve(items_.size());
    check_ids();
    // The elements of the items with a valid id are made and indexed on two threads, in
    // file order, so that a duplicate is reported against the first.
    std::vector<Item*> named;
    for (auto& item : items_) {
      if (item.id_invalid)
        invalid_ids_.emplace(item.id_text);
      else if (item.has_string_id)  // else no id
        named.push_back(&item);
    }
    std::vector<Element> batch(named.size());
    detail::parallel_blocks(batch.size(), 4096, detail::thread_count(batch.size(), 4096),
                            [&](unsigned, size_t, size_t begin, size_t end) {
                              for (size_t i = begin; i < end; ++i) {
                                batch[i].id = named[i]->id_text;
                                batch[i].kind = named[i]->kind;
                                batch[i].pos = named[i]->node.pos();
                              }
                            });
    const auto added = topology_.try_add_all(std::move(batch), 0);
    for (size_t i = 0; i < named.size(); ++i) {
      Item& item = *named[i];
      const ElementId x = added[i].first;
      if (!added[i].second) {
        const Element& first = topology_[x];
        error(item.id_pos, "id '" + std::string(item.id_text) + "' is already used by the " +
                               std::string(to_string(first.kind)) + " at line " +
                               std::to_string(first.pos.line));
        continue;
      }
      item.id = x;
      kinds_.push_back(item.kind);
    }
    return true;
  }

  // Each item's id, checked on two threads (see in_blocks()): a valid one is left in
  // item.id_text for the indexing, an invalid one too, marked.
  void check_ids() {
    in_blocks(4096, [&](Item& item) { check_id(item); });
  }

  // Calls each(item) for every item, on two threads in blocks of `block` consecutive items.
  // each() writes only its own item (and its own element); each block reports into its own
  // list (error() writes to the calling thread's sink_), and the lists are appended in block
  // order, so the diagnostics come out as one thread would have written them.
  template <typename Each>
  void in_blocks(size_t block, Each each) {
    std::vector<std::vector<Diagnostic>> found(detail::block_count(items_.size(), block));
    detail::parallel_blocks(items_.size(), block, detail::thread_count(found.size(), 8),
                            [&](unsigned, size_t b, size_t begin, size_t end) {
                              struct Sink {  // resets sink_ even when each() throws
                                explicit Sink(std::vector<Diagnostic>* to) { sink_ = to; }
                                ~Sink() { sink_ = nullptr; }
                              } sink(&found[b]);
                              for (size_t i = begin; i < end; ++i)
                                each(items_[i]);
                            });
    for (auto& list : found)
      for (Diagnostic& d : list)
        diagnostics_.push_back(std::move(d));
  }

  void check_id(Item& item) {
    Value id = item.node.find("id");
    if (!id) {
      error(item.node.pos(), "missing required key 'id' in " + item.label());
      return;
    }
    if (id.type() != Type::kString) {
      wrong_type({&item}, id, "id", "a string");
      return;
    }
    // From here on messages name the item by its id, even an invalid one.
    std::string_view text = id.text();
    item.id_text = text;
    item.has_string_id = true;
    if (!is_valid_id(text)) {
      error(id.pos(), "id '" + std::string(text) +
                          "' is not valid (allowed: a letter or digit, then letters, digits and "
                          "_ . : / @ -)");
      item.id_invalid = true;
      return;
    }
    item.id_pos = id.pos();
  }

  // The top-level `agents`: NAME: {url, token_file}.
  void agents(Value root) {
    auto m = field({}, root, "agents", Type::kMap);
    if (!m) return;
    for (size_t i = 0; i < m->size(); ++i) {
      auto entry = m->entry(i);
      const std::string name(entry.key);
      const std::string pre = "agent '" + name + "': ";
      if (entry.value.type() != Type::kMap) {
        error(entry.value.pos(), pre + "must be a map {url, token_file}, not " +
                                     std::string(doc::describe(entry.value.type())));
        continue;
      }
      check_keys(entry.value, kAgentKeys, ("in agent '" + name + "'").c_str());
      AgentDecl agent;
      agent.name = name;
      agent.pos = entry.key_pos;
      if (Value url = entry.value.find("url"); !url) {
        error(entry.value.pos(), "missing required key 'url' in agent '" + name + "'");
      } else if (url.type() != Type::kString) {
        error(url.pos(),
              pre + "url must be a string, not " + std::string(doc::describe(url.type())));
      } else if (!url.text().starts_with("http://") && !url.text().starts_with("https://")) {
        error(url.pos(), pre + "url must start with http:// or https://, not '" +
                             std::string(url.text()) + "'");
      } else {
        agent.url = url.text();
      }
      if (Value t = entry.value.find("token_file"); t && t.type() != Type::kString)
        error(t.pos(),
              pre + "token_file must be a string, not " + std::string(doc::describe(t.type())));
      else if (t)
        agent.token_file = t.text();
      topology_.agents.push_back(std::move(agent));
    }
  }

  bool agent_declared(std::string_view name) const {
    for (const auto& a : topology_.agents)
      if (a.name == name) return true;
    return false;
  }

  // --- Pass 2 ----------------------------------------------------------------------------

  // Every item, on two threads (see in_blocks()): filling an item writes only its own
  // element and reads the ids that pass 1 indexed.
  void fill_all() {
    in_blocks(1024, [&](const Item& item) { fill(item); });
  }

  void fill(const Item& item) {
    // An element that did not make it into the model is still checked, into a scratch.
    Element scratch;
    Element& e = item.id == kNoElement ? scratch : topology_[item.id];
    Value map = item.node;
    Prefix pre{&item};
    switch (item.kind) {
      case ElementKind::kDomain:
        check_keys(map, kDomainKeys, "in ", &item);
        e.type = kind_field(pre, map, "domain");
        if (auto parent = field(pre, map, "parent", Type::kString))
          e.parent = resolve(item, *parent, "parent", is_domain, "a domain");
        e.availability = probability(pre, map, "availability");
        e.labels = string_map(pre, map, "labels", "label");
        break;
      case ElementKind::kComponent:
        check_keys(map, kComponentKeys, "in ", &item);
        e.type = kind_field(pre, map, "component");
        if (auto domain = field(pre, map, "domain", Type::kString))
          e.domain = resolve(item, *domain, "domain", is_domain, "a domain");
        e.depends_on = dependencies(item, map);
        e.capacity = capacity(pre, map);
        e.availability = probability(pre, map, "availability");
        e.labels = string_map(pre, map, "labels", "label");
        e.inject_target = string_map(pre, map, "target", "target");
        if (Value t = map.find("target"); t && t.type() == Type::kMap) {
          check_keys(t, kInjectTargetKeys, "in the target of ", &item);
          if (Value ag = t.find("agent"); ag && ag.type() == Type::kString &&
                                          !agent_declared(ag.text()) && !is_host_port(ag.text()))
            error(ag.pos(), pre.text() + "agent '" + std::string(ag.text()) +
                                "' is not declared in the top-level 'agents' (and is not "
                                "HOST:PORT)");
          if (Value p = t.find("process");
              p && p.type() == Type::kString && p.text().size() > kMaxProcessName)
            error(p.pos(), pre.text() + "process '" + std::string(p.text()) + "' is longer than " +
                               std::to_string(kMaxProcessName) +
                               " characters, the most a process name has on Linux, so the agent "
                               "could never find it: use cmdline for a longer name");
        }
        break;
      case ElementKind::kService:
        check_keys(map, kServiceKeys, "in ", &item);
        e.type = kind_field(pre, map, "service");
        members(item, map, e);
        e.depends_on = dependencies(item, map);
        e.capacity = capacity(pre, map);
        e.labels = string_map(pre, map, "labels", "label");
        break;
      case ElementKind::kEntrypoint:
        check_keys(map, kEntrypointKeys, "in ", &item);
        if (Value target = map.find("target"); !target) {
          error(map.pos(), "missing required key 'target' in " + item.label());
        } else if (target.type() != Type::kString) {
          wrong_type(pre, target, "target", "a string");
        } else {
          e.target =
              resolve(item, target, "target", is_component_or_service, "a component or service");
        }
        if (auto load = field(pre, map, "load", Type::kNumber)) {
          if (!(load->number() >= 0) || std::isinf(load->number()))
            error(load->pos(),
                  pre.text() + "load must be 0 or more, not " + std::string(load->text()));
          else
            e.load = load->number();
        }
        e.slo = probability(pre, map, "slo");
        e.labels = string_map(pre, map, "labels", "label");
        break;
    }
  }

  std::string kind_field(Prefix pre, Value map, std::string_view fallback) {
    auto kind = field(pre, map, "kind", Type::kString);
    return std::string(kind ? kind->text() : fallback);
  }

  // availability and slo: in (0, 1].
  std::optional<double> probability(Prefix pre, Value map, std::string_view key) {
    auto v = field(pre, map, key, Type::kNumber);
    if (!v) return std::nullopt;
    double x = v->number();
    if (!(x > 0 && x <= 1)) {
      error(v->pos(),
            pre.text() + std::string(key) + " " + std::string(v->text()) + " is outside (0, 1]");
      return std::nullopt;
    }
    return x;
  }

  std::optional<double> capacity(Prefix pre, Value map) {
    auto v = field(pre, map, "capacity", Type::kNumber);
    if (!v) return std::nullopt;
    double x = v->number();
    if (!(x > 0) || std::isinf(x)) {
      error(v->pos(), pre.text() + "capacity must be positive, not " + std::string(v->text()));
      return std::nullopt;
    }
    return x;
  }

  // labels, and a component's injector target: a map of scalars, kept as their text.
  StringMap string_map(Prefix pre, Value map, std::string_view key, std::string_view what) {
    StringMap out;
    auto m = field(pre, map, key, Type::kMap);
    if (!m) return out;
    out.reserve(m->size());
    for (size_t i = 0; i < m->size(); ++i) {
      auto entry = m->entry(i);
      if (!entry.value.is_scalar() || entry.value.type() == Type::kNull) {
        error(entry.value.pos(), pre.text() + std::string(what) + " '" + std::string(entry.key) +
                                     "' must be a string, number or boolean, not " +
                                     std::string(doc::describe(entry.value.type())));
        continue;
      }
      out.emplace_back(entry.key, entry.value.text());
    }
    return out;
  }

  // "; did you mean 'web'?": the closest id of an allowed kind. Skipped above
  // kSuggestLimit elements, where a file with many dangling references would spend minutes
  // comparing each with every id.
  static constexpr size_t kSuggestLimit = 50000;
  std::string suggest_id(std::string_view id, bool (*allowed)(ElementKind)) const {
    if (kinds_.size() > kSuggestLimit) return "";
    Suggestion s(id);
    for (size_t x = 0; x < kinds_.size(); ++x)
      if (allowed(kinds_[x])) s.consider(topology_.elements[x].id);
    return s.did_you_mean();
  }

  // A reference by id (a string node) to an element of an allowed kind.
  ElementId resolve(const Item& item, Value ref, std::string_view role,
                    bool (*allowed)(ElementKind), std::string_view expected) {
    std::string_view id = ref.text();
    auto found = topology_.find(id);
    if (!found) {
      if (!invalid_ids_.count(std::string(id)))
        error(ref.pos(), Prefix{&item}.text() + std::string(role) + " '" + std::string(id) +
                             "' does not exist" + suggest_id(id, allowed));
      return kNoElement;
    }
    ElementKind kind = kinds_[*found];
    if (!allowed(kind)) {
      error(ref.pos(), Prefix{&item}.text() + std::string(role) + " '" + std::string(id) + "' is " +
                           a(kind) + ", not " + std::string(expected));
      return kNoElement;
    }
    return *found;
  }

  std::vector<Dependency> dependencies(const Item& item, Value map) {
    std::vector<Dependency> out;
    Prefix pre{&item};
    auto list = field(pre, map, "depends_on", Type::kSequence);
    if (!list) return out;
    out.reserve(list->size());
    for (size_t i = 0; i < list->size(); ++i) {
      Value d = list->item(i);
      Dependency dep;
      dep.pos = d.pos();
      if (d.type() == Type::kString) {
        dep.target =
            resolve(item, d, "dependency", is_component_or_service, "a component or service");
      } else if (d.type() == Type::kMap) {
        check_keys(d, kDependencyKeys, "in a dependency of ", &item);
        if (auto mode = field(pre, d, "mode", Type::kString)) {
          if (mode->text() == "soft") {
            dep.mode = DepMode::kSoft;
          } else if (mode->text() != "hard") {
            error(mode->pos(), pre.text() + "mode must be 'hard' or 'soft', not '" +
                                   std::string(mode->text()) + "'");
          }
        }
        if (auto calls = field(pre, d, "calls", Type::kNumber)) {
          if (!(calls->number() >= 0) || std::isinf(calls->number()))
            error(calls->pos(),
                  pre.text() + "calls must be 0 or more, not " + std::string(calls->text()));
          else
            dep.calls = calls->number();
        }
        if (auto t = field(pre, d, "timeout_ms", Type::kNumber)) {
          const double ms = t->number();
          if (!(ms >= 1 && ms <= kMaxTimeoutMs) || ms != std::floor(ms))
            error(t->pos(), pre.text() +
                                "timeout_ms must be a whole number of milliseconds from 1 "
                                "to " +
                                std::to_string(kMaxTimeoutMs) + ", not " + std::string(t->text()));
          else
            dep.timeout_ms = static_cast<uint32_t>(ms);
        }
        if (Value id = d.find("id"); !id) {
          error(d.pos(), "missing required key 'id' in a dependency of " + item.label());
        } else if (id.type() != Type::kString) {
          wrong_type(pre, id, "id", "a string");
        } else {
          dep.target =
              resolve(item, id, "dependency", is_component_or_service, "a component or service");
        }
      } else {
        error(d.pos(),
              pre.text() +
                  "a dependency must be an id or a map {id, mode, calls, timeout_ms}, not " +
                  std::string(doc::describe(d.type())));
      }
      if (dep.target != kNoElement) out.push_back(dep);
    }
    return out;
  }

  void members(const Item& item, Value map, Element& e) {
    Prefix pre{&item};
    size_t written = 0;  // members as written, for the range of min_healthy
    if (Value list = map.find("members"); !list) {
      error(map.pos(), "missing required key 'members' in " + item.label());
    } else if (list.type() != Type::kSequence) {
      wrong_type(pre, list, "members", "a list");
    } else if (list.size() == 0) {
      error(list.pos(), pre.text() + "'members' must not be empty");
    } else {
      written = list.size();
      e.members.reserve(written);
      std::unordered_set<ElementId> seen;
      for (size_t i = 0; i < list.size(); ++i) {
        Value m = list.item(i);
        if (m.type() != Type::kString) {
          error(m.pos(), pre.text() + "a member must be an id (a string), not " +
                             std::string(doc::describe(m.type())));
          continue;
        }
        ElementId id =
            resolve(item, m, "member", is_component_or_service, "a component or service");
        if (id == kNoElement) continue;
        bool twice = written <= 16
                         ? std::find(e.members.begin(), e.members.end(), id) != e.members.end()
                         : !seen.insert(id).second;
        if (twice) {
          error(m.pos(), pre.text() + "member '" + std::string(m.text()) + "' is listed twice");
          continue;
        }
        e.members.push_back(id);
      }
    }
    if (auto k = field(pre, map, "min_healthy", Type::kNumber)) {
      double x = k->number();
      if (x != std::floor(x) || std::isinf(x)) {
        error(k->pos(),
              pre.text() + "min_healthy " + std::string(k->text()) + " is not a whole number");
      } else if (x < 1 || x > static_cast<double>(written > 0 ? written : UINT32_MAX)) {
        // Without members (an error of its own) the bound is still the type's: a cast of
        // 3e45 to uint32_t is undefined behaviour (found by fuzz_topology_json).
        error(k->pos(), pre.text() + "min_healthy " + std::string(k->text()) + " is outside 1.." +
                            (written > 0 ? std::to_string(written) : std::string("n")));
      } else {
        e.min_healthy = static_cast<uint32_t>(x);
      }
    }
  }

  // --- Pass 3 ----------------------------------------------------------------------------

  // Lists a cycle starting at its earliest element: "a -> b -> a".
  std::string cycle_text(std::vector<ElementId>& cycle) {
    std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
    std::string s;
    for (ElementId id : cycle)
      s += topology_[id].id + " -> ";
    return s + topology_[cycle.front()].id;
  }

  // Each domain has at most one parent: follow the chain from every domain, and a chain
  // that meets itself is a cycle.
  void domain_cycles() {
    std::vector<uint8_t> state(topology_.size(), 0);  // 0 new, 1 on the current chain, 2 done
    std::vector<ElementId> chain;
    for (ElementId start = 0; start < topology_.size(); ++start) {
      if (topology_[start].kind != ElementKind::kDomain || state[start]) continue;
      chain.clear();
      ElementId d = start;
      while (d != kNoElement && state[d] == 0) {
        state[d] = 1;
        chain.push_back(d);
        d = topology_[d].parent;
      }
      if (d != kNoElement && state[d] == 1) {
        std::vector<ElementId> cycle(std::find(chain.begin(), chain.end(), d), chain.end());
        std::string text = cycle_text(cycle);
        error(topology_[cycle.front()].pos, "cycle of domain parents: " + text);
      }
      for (ElementId c : chain)
        state[c] = 2;
    }
  }

  // A depth-first search over membership between services (iterative: nesting can be deep).
  // A back edge closes a cycle; it is reported unless it shares a service with one already
  // reported, so that one tangle gives one message.
  void service_cycles() {
    std::vector<uint8_t> color(topology_.size(), 0);  // 0 white, 1 on the stack, 2 done
    std::vector<bool> reported(topology_.size(), false);
    struct Frame {
      ElementId service;
      size_t next_member;
    };
    std::vector<Frame> stack;
    for (ElementId start = 0; start < topology_.size(); ++start) {
      if (topology_[start].kind != ElementKind::kService || color[start]) continue;
      stack.push_back({start, 0});
      color[start] = 1;
      while (!stack.empty()) {
        Frame& f = stack.back();
        const auto& members = topology_[f.service].members;
        if (f.next_member == members.size()) {
          color[f.service] = 2;
          stack.pop_back();
          continue;
        }
        ElementId m = members[f.next_member++];
        if (topology_[m].kind != ElementKind::kService || color[m] == 2) continue;
        if (color[m] == 0) {
          color[m] = 1;
          stack.push_back({m, 0});
          continue;
        }
        // m is on the stack: the stack from m to here is a cycle.
        std::vector<ElementId> cycle;
        bool fresh = true;
        for (auto it = std::find_if(stack.begin(), stack.end(),
                                    [&](const Frame& g) { return g.service == m; });
             it != stack.end(); ++it) {
          cycle.push_back(it->service);
          fresh = fresh && !reported[it->service];
        }
        if (!fresh) continue;
        for (ElementId c : cycle)
          reported[c] = true;
        std::string text = cycle_text(cycle);
        const Element& first = topology_[cycle.front()];
        error(first.pos, "service '" + first.id + "' contains itself: " + text);
      }
    }
  }

  const doc::Document& document_;
  const std::string& file_;
  std::vector<Diagnostic>& diagnostics_;
  /// Where error() reports on this thread while fill_all() runs; diagnostics_ otherwise.
  static inline thread_local std::vector<Diagnostic>* sink_ = nullptr;
  Topology topology_;
  std::vector<Item> items_;
  std::unordered_set<std::string> invalid_ids_;
  /// The kind of each element by index: resolve() reads it without touching the Element.
  std::vector<ElementKind> kinds_;
};

[[noreturn]] void fail(std::vector<Diagnostic> diagnostics) {
  // In file order; problems without a position last.
  std::stable_sort(
      diagnostics.begin(), diagnostics.end(), [](const Diagnostic& x, const Diagnostic& y) {
        auto key = [](const Diagnostic& d) {
          return std::make_pair(d.pos.line == 0 ? UINT32_MAX : d.pos.line, d.pos.column);
        };
        return key(x) < key(y);
      });
  throw InputError(std::move(diagnostics));
}

doc::Document parse(std::string_view text, Syntax syntax, const std::string& file,
                    std::vector<Diagnostic>& diagnostics) {
  return syntax == Syntax::kJson ? doc::read_json(text, file, diagnostics)
                                 : doc::read_yaml(text, file, diagnostics);
}

Topology build(const doc::Document& document, const std::string& file,
               std::vector<Diagnostic>& diagnostics) {
  Topology topology = TopologyBuilder(document, file, diagnostics).build();
  if (!diagnostics.empty()) fail(std::move(diagnostics));
  return topology;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  auto tail = s.substr(s.size() - suffix.size());
  return std::equal(tail.begin(), tail.end(), suffix.begin(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == y;
  });
}

}  // namespace

Syntax syntax_for(std::string_view path, std::string_view text) {
  if (ends_with(path, ".json")) return Syntax::kJson;
  if (ends_with(path, ".yaml") || ends_with(path, ".yml")) return Syntax::kYaml;
  if (ends_with(path, ".dot") || ends_with(path, ".gv")) return Syntax::kDot;
  auto first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{' ? Syntax::kJson : Syntax::kYaml;
}

namespace {

// load_topology_text, calling `release` once the text is parsed: the document holds what it
// needs, so a large input is freed before the model is built.
template <typename Release>
Topology load_text(std::string_view text, Syntax syntax, const std::string& file, Release release) {
  if (syntax == Syntax::kDot) return import_dot_text(text, file);
  std::vector<Diagnostic> diagnostics;
  doc::Document document = parse(text, syntax, file, diagnostics);
  release();
  if (!document.root()) fail(std::move(diagnostics));  // a syntax error
  return build(document, file, diagnostics);
}

}  // namespace

Topology load_topology_text(std::string_view text, Syntax syntax, const std::string& file) {
  return load_text(text, syntax, file, [] {});
}

Topology load_topology(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw common::InputFileError(path, std::string("cannot read: ") + std::strerror(errno));
  struct Close {
    int fd;
    ~Close() {
      if (fd >= 0) ::close(fd);
    }
  } close{fd};
  // A regular file is mapped, not copied: the parser reads it once, and at 10^6 components
  // the copy alone is 190 MB of fresh pages. Pipes, devices, empty files (which may still
  // grow, as /proc files do) and files that cannot be mapped are read; read_input_fd also
  // refuses directories and anything over common::kMaxInputBytes.
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
      static_cast<unsigned long long>(st.st_size) <= common::kMaxInputBytes) {
    void* mapped = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (mapped != MAP_FAILED) {
      struct Unmap {
        void* at;
        size_t size;
        void release() {
          if (at) ::munmap(at, size);
          at = nullptr;
        }
        ~Unmap() { release(); }
      } unmap{mapped, static_cast<size_t>(st.st_size)};
      ::close(fd);
      close.fd = -1;
      ::madvise(mapped, unmap.size, MADV_SEQUENTIAL);
      std::string_view text(static_cast<const char*>(mapped), unmap.size);
      return load_text(text, syntax_for(path, text), path, [&] { unmap.release(); });
    }
  }
  std::string text = common::read_input_fd(fd, path);
  return load_text(text, syntax_for(path, text), path, [&] { std::string().swap(text); });
}

}  // namespace achilles::analyzer
