// Overlays (overlay.h): reading a change set with every problem located, applying it to a
// topology change by change, and validating the result as a topology.
//
// Reading checks the form of every change (its kind, keys, types and ranges); applying
// checks what depends on the topology (ids that exist and are of the right kind, a new id
// that is free, a removal that leaves nothing dangling), against the elements as the earlier
// changes left them. A change that cannot apply is reported and skipped, and the ids a failed
// add_member would have added are not reported again where later changes name them: one
// mistake, one message. The result is rebuilt in the loader's element order, written out and
// read back by the loader, which is the validation "like a topology" of spec whatif.md.
//
// One file past 500 lines: reading, applying and writing an overlay are three views of the
// same six kinds of change (their keys, which fields each kind uses, the "change N (KIND): "
// of every message), and a change added to one must be added to the other two.
#include "achilles/analyzer/overlay.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <set>
#include <span>
#include <sstream>

#include "achilles/analyzer/loader.h"
#include "achilles/analyzer/suggest.h"
#include "achilles/analyzer/writer.h"
#include "achilles/common/input_file.h"
#include "achilles/common/text.h"
#include "document.h"

namespace achilles::analyzer {

namespace {

using doc::Type;
using doc::Value;
using Keys = std::span<const std::string_view>;

constexpr std::string_view kTopKeys[] = {"version", "changes"};
constexpr std::string_view kKinds[] = {"add_member",     "set",   "scale", "move",
                                       "add_dependency", "remove"};
constexpr std::string_view kAddMemberKeys[] = {"service", "id", "domain", "like"};
constexpr std::string_view kSetKeys[] = {"id",     "capacity", "availability", "min_healthy",
                                         "domain", "load",     "slo"};
constexpr std::string_view kScaleKeys[] = {"service", "capacity_factor"};
constexpr std::string_view kMoveKeys[] = {"id", "domain"};
constexpr std::string_view kAddDependencyKeys[] = {"from", "to"};
constexpr std::string_view kToKeys[] = {"id", "mode", "calls", "timeout_ms"};
constexpr std::string_view kRemoveKeys[] = {"id"};

Keys keys_of(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kAddMember:
      return kAddMemberKeys;
    case ChangeKind::kSet:
      return kSetKeys;
    case ChangeKind::kScale:
      return kScaleKeys;
    case ChangeKind::kMove:
      return kMoveKeys;
    case ChangeKind::kAddDependency:
      return kAddDependencyKeys;
    case ChangeKind::kRemove:
      return kRemoveKeys;
  }
  return {};
}

std::string join(Keys keys) {
  return common::join(keys, ", ");
}

std::string suggest(std::string_view word, Keys candidates) {
  Suggestion s(word);
  for (auto c : candidates)
    s.consider(c);
  return s.did_you_mean();
}

// The shortest text that reads back to the same double.
std::string number(double x) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, r.ptr);
}

/// "a domain", "an entrypoint", ...
std::string a(ElementKind kind) {
  return (kind == ElementKind::kEntrypoint ? "an " : "a ") + std::string(to_string(kind));
}

// --- Reading ------------------------------------------------------------------------------

class OverlayReader {
 public:
  OverlayReader(const std::string& file, std::vector<Diagnostic>& diagnostics)
      : file_(file), diagnostics_(diagnostics) {}

  Overlay read(const doc::Document& document) {
    Overlay overlay;
    overlay.file = file_;
    Value root = document.root();
    if (!root) return overlay;
    if (root.type() == Type::kNull) {
      error(root.pos(), "the file is empty (expected a map with keys " + join(kTopKeys) + ")");
      return overlay;
    }
    if (root.type() != Type::kMap) {
      error(root.pos(), "the top level must be a map with keys " + join(kTopKeys) + ", not " +
                            std::string(doc::describe(root.type())));
      return overlay;
    }
    for (size_t i = 0; i < root.size(); ++i) {
      auto entry = root.entry(i);
      if (std::find(std::begin(kTopKeys), std::end(kTopKeys), entry.key) == std::end(kTopKeys))
        error(entry.key_pos, "unknown key '" + std::string(entry.key) +
                                 "' at the top level (expected one of: " + join(kTopKeys) + ")" +
                                 suggest(entry.key, kTopKeys));
    }
    if (Value version = root.find("version"); !version)
      error(root.pos(), "missing required key 'version'");
    else if (version.type() != Type::kNumber || version.number() != 1)
      error(version.pos(), "version must be 1, not " + std::string(version.text()));
    Value changes = root.find("changes");
    if (!changes) {
      error(root.pos(), "missing required key 'changes'");
    } else if (changes.type() != Type::kSequence) {
      error(changes.pos(),
            "'changes' must be a list, not " + std::string(doc::describe(changes.type())));
    } else {
      for (size_t i = 0; i < changes.size(); ++i)
        if (auto c = change(changes.item(i), i + 1)) overlay.changes.push_back(std::move(*c));
    }
    return overlay;
  }

 private:
  void error(SourcePos pos, std::string message) {
    diagnostics_.push_back({file_, pos, {}, std::move(message)});
  }

  std::optional<Change> change(Value node, size_t number) {
    const std::string pre = "change " + std::to_string(number) + ": ";
    if (node.type() != Type::kMap || node.size() != 1) {
      error(node.pos(),
            pre + "a change must be a map with one key, the kind of change (one of: " +
                join(kKinds) + "), not " +
                (node.type() == Type::kMap ? "a map with " + std::to_string(node.size()) + " keys"
                                           : std::string(doc::describe(node.type()))));
      return std::nullopt;
    }
    auto entry = node.entry(0);
    auto kind = std::find(std::begin(kKinds), std::end(kKinds), entry.key);
    if (kind == std::end(kKinds)) {
      error(entry.key_pos, pre + "unknown kind of change '" + std::string(entry.key) +
                               "' (expected one of: " + join(kKinds) + ")" +
                               suggest(entry.key, kKinds));
      return std::nullopt;
    }
    Change c;
    c.kind = static_cast<ChangeKind>(kind - std::begin(kKinds));
    c.pos = node.pos();
    c.number = number;
    prefix_ = "change " + std::to_string(number) + " (" + std::string(*kind) + "): ";
    Value map = entry.value;
    const Keys keys = keys_of(c.kind);
    if (map.type() != Type::kMap) {
      error(map.pos(), prefix_ + "must be a map {" + join(keys) + "}, not " +
                           std::string(doc::describe(map.type())));
      return std::nullopt;
    }
    const size_t before = diagnostics_.size();
    for (size_t i = 0; i < map.size(); ++i) {
      auto e = map.entry(i);
      if (std::find(keys.begin(), keys.end(), e.key) == keys.end())
        error(e.key_pos, prefix_ + "unknown key '" + std::string(e.key) +
                             "' (expected one of: " + join(keys) + ")" + suggest(e.key, keys));
    }
    switch (c.kind) {
      case ChangeKind::kAddMember:
        id_field(c, map, "service", c.service, true);
        id_field(c, map, "id", c.id, true);
        id_field(c, map, "domain", c.domain, false);
        id_field(c, map, "like", c.like, false);
        break;
      case ChangeKind::kSet: {
        id_field(c, map, "id", c.id, true);
        c.capacity = positive(c, map, "capacity");
        c.availability = probability(c, map, "availability");
        if (auto v = number_field(c, map, "min_healthy")) {
          if (v->number() != std::floor(v->number()) || !(v->number() >= 1) ||
              std::isinf(v->number()))
            error(v->pos(), prefix_ + "min_healthy must be a whole number from 1, not " + text(*v));
          else
            c.min_healthy = v->number();
        }
        id_field(c, map, "domain", c.domain, false);
        if (auto v = number_field(c, map, "load")) {
          if (!(v->number() >= 0) || std::isinf(v->number()))
            error(v->pos(), prefix_ + "load must be 0 or more, not " + text(*v));
          else
            c.load = v->number();
        }
        c.slo = probability(c, map, "slo");
        bool any = false;
        for (auto k : kSetKeys)
          any = any || (k != "id" && map.find(k));
        if (!any)
          error(map.pos(), prefix_ +
                               "nothing to set (expected one or more of: capacity, "
                               "availability, min_healthy, domain, load, slo)");
        break;
      }
      case ChangeKind::kScale:
        id_field(c, map, "service", c.service, true);
        if (auto f = positive(c, map, "capacity_factor"))
          c.factor = *f;
        else if (!map.find("capacity_factor"))
          error(map.pos(), prefix_ + "missing required key 'capacity_factor'");
        break;
      case ChangeKind::kMove:
        id_field(c, map, "id", c.id, true);
        id_field(c, map, "domain", c.domain, true);
        break;
      case ChangeKind::kAddDependency:
        id_field(c, map, "from", c.id, true);
        dependency(c, map);
        break;
      case ChangeKind::kRemove:
        id_field(c, map, "id", c.id, true);
        break;
    }
    if (diagnostics_.size() != before) return std::nullopt;
    return c;
  }

  static std::string text(Value v) { return std::string(v.text()); }

  void wrong_type(Value v, std::string_view key, std::string_view expected) {
    error(v.pos(), prefix_ + "'" + std::string(key) + "' must be " + std::string(expected) +
                       ", not " + std::string(doc::describe(v.type())));
  }

  // An id-valued key: a string, recorded with its position.
  void id_field(Change& c, Value map, std::string_view key, std::string& out, bool required) {
    Value v = map.find(key);
    if (!v) {
      if (required) error(map.pos(), prefix_ + "missing required key '" + std::string(key) + "'");
      return;
    }
    if (v.type() != Type::kString) return wrong_type(v, key, "an id (a string)");
    out = v.text();
    c.at.emplace(std::string(key), v.pos());
  }

  std::optional<Value> number_field(Change& c, Value map, std::string_view key) {
    Value v = map.find(key);
    if (!v) return std::nullopt;
    if (v.type() != Type::kNumber) {
      wrong_type(v, key, "a number");
      return std::nullopt;
    }
    c.at.emplace(std::string(key), v.pos());
    return v;
  }

  std::optional<double> positive(Change& c, Value map, std::string_view key) {
    auto v = number_field(c, map, key);
    if (!v) return std::nullopt;
    if (!(v->number() > 0) || std::isinf(v->number())) {
      error(v->pos(), prefix_ + std::string(key) + " must be positive, not " + text(*v));
      return std::nullopt;
    }
    return v->number();
  }

  std::optional<double> probability(Change& c, Value map, std::string_view key) {
    auto v = number_field(c, map, key);
    if (!v) return std::nullopt;
    if (!(v->number() > 0 && v->number() <= 1)) {
      error(v->pos(), prefix_ + std::string(key) + " " + text(*v) + " is outside (0, 1]");
      return std::nullopt;
    }
    return v->number();
  }

  // add_dependency's `to`: an id, or a map {id, mode, calls, timeout_ms} as in a topology.
  void dependency(Change& c, Value map) {
    Value to = map.find("to");
    if (!to) return error(map.pos(), prefix_ + "missing required key 'to'");
    if (to.type() == Type::kString) {
      c.to = to.text();
      c.at.emplace("to", to.pos());
      return;
    }
    if (to.type() != Type::kMap)
      return error(to.pos(), prefix_ + "'to' must be an id or a map {" + join(kToKeys) + "}, not " +
                                 std::string(doc::describe(to.type())));
    for (size_t i = 0; i < to.size(); ++i) {
      auto e = to.entry(i);
      if (std::find(std::begin(kToKeys), std::end(kToKeys), e.key) == std::end(kToKeys))
        error(e.key_pos, prefix_ + "unknown key '" + std::string(e.key) +
                             "' in 'to' (expected one of: " + join(kToKeys) + ")" +
                             suggest(e.key, kToKeys));
    }
    if (Value id = to.find("id"); !id)
      error(to.pos(), prefix_ + "missing required key 'id' in 'to'");
    else if (id.type() != Type::kString)
      wrong_type(id, "id", "an id (a string)");
    else
      c.to = id.text(), c.at.emplace("to", id.pos());
    if (Value mode = to.find("mode")) {
      if (mode.type() != Type::kString)
        wrong_type(mode, "mode", "a string");
      else if (mode.text() == "soft")
        c.mode = DepMode::kSoft;
      else if (mode.text() != "hard")
        error(mode.pos(), prefix_ + "mode must be 'hard' or 'soft', not '" + text(mode) + "'");
    }
    if (auto calls = number_field(c, to, "calls")) {
      if (!(calls->number() >= 0) || std::isinf(calls->number()))
        error(calls->pos(), prefix_ + "calls must be 0 or more, not " + text(*calls));
      else
        c.calls = calls->number();
    }
    if (auto t = number_field(c, to, "timeout_ms")) {
      const double ms = t->number();
      if (!(ms >= 1 && ms <= kMaxTimeoutMs) || ms != std::floor(ms))
        error(t->pos(), prefix_ + "timeout_ms must be a whole number of milliseconds from 1 to " +
                            std::to_string(kMaxTimeoutMs) + ", not " + text(*t));
      else
        c.timeout_ms = static_cast<uint32_t>(ms);
    }
  }

  const std::string& file_;
  std::vector<Diagnostic>& diagnostics_;
  std::string prefix_;
};

[[noreturn]] void fail(std::vector<Diagnostic> diagnostics) {
  std::stable_sort(
      diagnostics.begin(), diagnostics.end(), [](const Diagnostic& x, const Diagnostic& y) {
        auto key = [](const Diagnostic& d) {
          return std::make_pair(d.pos.line == 0 ? UINT32_MAX : d.pos.line, d.pos.column);
        };
        return key(x) < key(y);
      });
  throw InputError(std::move(diagnostics));
}

// --- Applying -----------------------------------------------------------------------------

constexpr unsigned bit(ElementKind k) {
  return 1u << static_cast<unsigned>(k);
}
constexpr unsigned kAnyKind = 15;
constexpr unsigned kComponentOrService = bit(ElementKind::kComponent) | bit(ElementKind::kService);

class Applier {
 public:
  Applier(const Topology& topology, const Overlay& overlay)
      : t_(topology), overlay_(overlay), removed_(topology.size(), false) {}

  Topology run(const std::string& file) {
    if (t_.undirected)
      throw UsageError(overlay_.file +
                       ": error: an overlay applies to a topology in YAML or "
                       "JSON, not to the undirected graph of " +
                       t_.file);
    for (const Change& c : overlay_.changes) {
      prefix_ =
          "change " + std::to_string(c.number) + " (" + std::string(to_string(c.kind)) + "): ";
      const size_t added = t_.size();
      apply(c);
      if (c.kind == ChangeKind::kAddMember && t_.size() == added) failed_ids_.insert(c.id);
    }
    if (!diagnostics_.empty()) fail(std::move(diagnostics_));
    return validate(rebuild(), file.empty() ? t_.file : file);
  }

 private:
  void error(const Change& c, std::string_view key, std::string message) {
    diagnostics_.push_back({overlay_.file, c.pos_of(key), {}, prefix_ + std::move(message)});
  }

  bool live(ElementId x) const { return !removed_[x]; }

  // The element `id` (the value of `key`), of a kind in `kinds`; kNoElement after reporting
  // why not (unless it is the id of a failed add_member, reported there).
  ElementId ref(const Change& c, std::string_view key, std::string_view role, const std::string& id,
                unsigned kinds, std::string_view expected) {
    auto found = t_.find(id);
    if (!found || !live(*found)) {
      if (failed_ids_.count(id)) return kNoElement;
      std::string why = found ? "' was removed by an earlier change" : "' does not exist";
      error(c, key, std::string(role) + " '" + id + why + (found ? "" : did_you_mean(id, kinds)));
      return kNoElement;
    }
    const ElementKind kind = t_[*found].kind;
    if (!(kinds & bit(kind))) {
      error(c, key,
            std::string(role) + " '" + id + "' is " + a(kind) + ", not " + std::string(expected));
      return kNoElement;
    }
    return *found;
  }

  std::string did_you_mean(std::string_view id, unsigned kinds) const {
    if (t_.size() > 50000) return "";  // as the loader: no quadratic search on huge estates
    Suggestion s(id);
    for (ElementId x = 0; x < t_.size(); ++x)
      if (live(x) && (kinds & bit(t_[x].kind))) s.consider(t_[x].id);
    return s.did_you_mean();
  }

  void apply(const Change& c) {
    switch (c.kind) {
      case ChangeKind::kAddMember:
        return add_member(c);
      case ChangeKind::kSet:
        return set(c);
      case ChangeKind::kScale:
        return scale(c);
      case ChangeKind::kMove:
        return move(c);
      case ChangeKind::kAddDependency:
        return add_dependency(c);
      case ChangeKind::kRemove:
        return remove(c);
    }
  }

  void add_member(const Change& c) {
    const size_t before = diagnostics_.size();
    const ElementId s =
        ref(c, "service", "service", c.service, bit(ElementKind::kService), "a service");
    ElementId like = kNoElement;
    if (!c.like.empty()) {
      like = ref(c, "like", "like", c.like, bit(ElementKind::kComponent), "a component");
    } else if (s != kNoElement) {
      for (ElementId m : t_[s].members)
        if (live(m) && t_[m].kind == ElementKind::kComponent) {
          like = m;
          break;
        }
      if (like == kNoElement)
        error(c, "service",
              "service '" + c.service + "' has no component member to copy (name one with 'like')");
    }
    if (!is_valid_id(c.id)) {
      error(
          c, "id",
          "id '" + c.id +
              "' is not valid (allowed: a letter or digit, then letters, digits and _ . : / @ -)");
    } else if (auto taken = t_.find(c.id)) {
      error(c, "id",
            "id '" + c.id + "' is already used by " + a(t_[*taken].kind) +
                (live(*taken) ? "" : " that an earlier change removed"));
    }
    ElementId domain = kNoElement;
    if (!c.domain.empty())
      domain = ref(c, "domain", "domain", c.domain, bit(ElementKind::kDomain), "a domain");
    // A reference to the id of a failed add_member is not reported again, but fails too.
    if (diagnostics_.size() != before || s == kNoElement || like == kNoElement ||
        (!c.domain.empty() && domain == kNoElement))
      return;
    Element e;
    const Element& model = t_[like];
    e.id = c.id;
    e.kind = ElementKind::kComponent;
    e.type = model.type;
    e.labels = model.labels;
    e.availability = model.availability;
    e.capacity = model.capacity;
    e.domain = c.domain.empty() ? model.domain : domain;
    e.depends_on = model.depends_on;
    // Its injector target is not copied: it names a live process that the new member is not.
    const ElementId x = t_.add(std::move(e));
    removed_.push_back(false);
    t_[s].members.push_back(x);
  }

  void set(const Change& c) {
    const ElementId x = ref(c, "id", "element", c.id, kAnyKind, "");
    if (x == kNoElement) return;
    Element& e = t_[x];
    const bool component = e.kind == ElementKind::kComponent,
               service = e.kind == ElementKind::kService, domain = e.kind == ElementKind::kDomain,
               entrypoint = e.kind == ElementKind::kEntrypoint;
    auto not_for = [&](std::string_view key, std::string_view to) {
      error(c, key,
            "'" + std::string(key) + "' does not apply to " + a(e.kind) + " (only to " +
                std::string(to) + ")");
    };
    if (c.capacity) {
      if (component || service)
        e.capacity = c.capacity;
      else
        not_for("capacity", "components and services");
    }
    if (c.availability) {
      if (component || domain)
        e.availability = c.availability;
      else
        not_for("availability", "components and domains");
    }
    if (c.min_healthy) {
      if (!service) {
        not_for("min_healthy", "services");
      } else {
        const size_t n =
            std::count_if(e.members.begin(), e.members.end(), [&](ElementId m) { return live(m); });
        if (*c.min_healthy > static_cast<double>(n))
          error(c, "min_healthy",
                "min_healthy " + number(*c.min_healthy) + " is outside 1.." + std::to_string(n) +
                    " (service '" + e.id + "' has " + std::to_string(n) + " members)");
        else
          e.min_healthy = static_cast<uint32_t>(*c.min_healthy);
      }
    }
    if (!c.domain.empty()) {
      if (component || domain)
        place(c, x);
      else
        not_for("domain", "components, and domains for their parent");
    }
    if (c.load) {
      if (entrypoint)
        e.load = c.load;
      else
        not_for("load", "entrypoints");
    }
    if (c.slo) {
      if (entrypoint)
        e.slo = c.slo;
      else
        not_for("slo", "entrypoints");
    }
  }

  // A component's domain, or a domain's parent, becomes c.domain.
  void place(const Change& c, ElementId x) {
    const ElementId d = ref(c, "domain", "domain", c.domain, bit(ElementKind::kDomain), "a domain");
    if (d == kNoElement) return;
    Element& e = t_[x];
    if (e.kind == ElementKind::kComponent) {
      e.domain = d;
      return;
    }
    for (ElementId up = d; up != kNoElement; up = t_[up].parent)
      if (up == x) {
        error(c, "domain",
              "domain '" + e.id + "' cannot move into '" + c.domain +
                  (d == x ? "', itself" : "', which it contains"));
        return;
      }
    e.parent = d;
  }

  void scale(const Change& c) {
    const ElementId s =
        ref(c, "service", "service", c.service, bit(ElementKind::kService), "a service");
    if (s == kNoElement) return;
    bool any = false;
    auto times = [&](ElementId x) {
      if (!t_[x].capacity) return;
      any = true;
      const double scaled = *t_[x].capacity * c.factor;
      if (std::isfinite(scaled) && scaled > 0)
        t_[x].capacity = scaled;
      else
        error(c, "capacity_factor",
              "capacity_factor " + number(c.factor) + " takes the capacity of '" + t_[x].id +
                  "' out of range (" + number(*t_[x].capacity) + " times it)");
    };
    times(s);
    for (ElementId m : t_[s].members)
      if (live(m)) times(m);
    if (!any)
      error(c, "service",
            "service '" + c.service +
                "' has no capacity to scale: neither it nor its members declare one");
  }

  void move(const Change& c) {
    const ElementId x =
        ref(c, "id", "element", c.id, bit(ElementKind::kComponent) | bit(ElementKind::kDomain),
            "a component or domain");
    if (x != kNoElement) place(c, x);
  }

  void add_dependency(const Change& c) {
    const ElementId from =
        ref(c, "from", "from", c.id, kComponentOrService, "a component or service");
    const ElementId to = ref(c, "to", "to", c.to, kComponentOrService, "a component or service");
    if (from == kNoElement || to == kNoElement) return;
    auto& deps = t_[from].depends_on;
    if (std::any_of(deps.begin(), deps.end(), [&](const Dependency& d) { return d.target == to; }))
      return error(c, "to", "'" + c.id + "' already depends on '" + c.to + "'");
    Dependency d;
    d.target = to;
    d.mode = c.mode;
    d.calls = c.calls.value_or(1.0);
    d.timeout_ms = c.timeout_ms;
    deps.push_back(d);
  }

  void remove(const Change& c) {
    const ElementId x = ref(c, "id", "element", c.id, kAnyKind, "");
    if (x == kNoElement) return;
    const size_t before = diagnostics_.size();
    for (ElementId y = 0; y < t_.size(); ++y) {
      if (!live(y) || y == x) continue;
      const Element& e = t_[y];
      if (e.kind == ElementKind::kEntrypoint && e.target == x)
        error(c, "id",
              "entrypoint '" + e.id + "' sends its users to '" + c.id +
                  "' (remove the entrypoint, or give it another target, first)");
      if (e.kind == ElementKind::kComponent && e.domain == x)
        error(c, "id",
              "domain '" + c.id + "' still holds component '" + e.id + "' (move it first)");
      if (e.kind == ElementKind::kDomain && e.parent == x)
        error(c, "id", "domain '" + c.id + "' still holds domain '" + e.id + "' (move it first)");
      if (e.kind == ElementKind::kService &&
          std::find(e.members.begin(), e.members.end(), x) != e.members.end()) {
        const size_t left = std::count_if(e.members.begin(), e.members.end(),
                                          [&](ElementId m) { return live(m) && m != x; });
        if (left == 0)
          error(c, "id",
                "service '" + e.id + "' would have no member left (remove the service first)");
        else if (left < e.min_healthy)
          error(c, "id",
                "service '" + e.id + "' would keep " + std::to_string(left) +
                    (left == 1 ? " member" : " members") + ", fewer than its min_healthy " +
                    std::to_string(e.min_healthy) + " (lower its min_healthy first)");
      }
    }
    if (diagnostics_.size() != before) return;
    removed_[x] = true;
    for (Element& e : t_.elements) {
      std::erase(e.members, x);
      std::erase_if(e.depends_on, [&](const Dependency& d) { return d.target == x; });
    }
  }

  // The live elements in the loader's order (domains, components, services, entrypoints),
  // their references renumbered.
  Topology rebuild() const {
    Topology out;
    out.name = t_.name;
    out.file = t_.file;
    out.agents = t_.agents;
    out.reserve(t_.size());
    std::vector<ElementId> to(t_.size(), kNoElement);
    for (ElementKind kind : {ElementKind::kDomain, ElementKind::kComponent, ElementKind::kService,
                             ElementKind::kEntrypoint})
      for (ElementId x = 0; x < t_.size(); ++x)
        if (live(x) && t_[x].kind == kind) to[x] = out.add(t_[x]);
    auto map = [&](ElementId& x) {
      if (x != kNoElement) x = to[x];
    };
    for (Element& e : out.elements) {
      map(e.parent);
      map(e.domain);
      map(e.target);
      for (ElementId& m : e.members)
        map(m);
      for (Dependency& d : e.depends_on)
        map(d.target);
    }
    return out;
  }

  // Written out and read back by the loader: every rule of a topology checked, and the
  // model is exactly the one that --write-topology's file loads to.
  Topology validate(const Topology& changed, const std::string& file) const {
    std::ostringstream text;
    write_topology(changed, Syntax::kYaml, text);
    try {
      return load_topology_text(text.str(), Syntax::kYaml, file);
    } catch (const InputError& e) {
      std::vector<Diagnostic> out;
      for (const Diagnostic& d : e.diagnostics())
        out.push_back(
            {overlay_.file,
             {},
             "/changes",
             "applied to " + t_.file + ", the changes give an invalid topology: " + d.message});
      throw InputError(std::move(out));
    }
  }

  Topology t_;
  const Overlay& overlay_;
  std::vector<bool> removed_;
  std::set<std::string, std::less<>> failed_ids_;
  std::vector<Diagnostic> diagnostics_;
  std::string prefix_;
};

// A string as YAML reads it back: JSON's escapes in double quotes.
std::string yaml_string(std::string_view s) {
  return nlohmann::json(std::string(s))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void comment(std::ostream& out, std::string_view indent, const std::string& note) {
  std::istringstream lines(note);
  for (std::string line; std::getline(lines, line);)
    out << indent << "# " << line << "\n";
}

}  // namespace

std::string_view to_string(ChangeKind kind) {
  return kKinds[static_cast<size_t>(kind)];
}

SourcePos Change::pos_of(std::string_view key) const {
  auto it = at.find(key);
  return it == at.end() ? pos : it->second;
}

Overlay load_overlay_text(std::string_view text, const std::string& file) {
  std::vector<Diagnostic> diagnostics;
  const Syntax syntax = syntax_for(file, text);
  doc::Document document = syntax == Syntax::kJson ? doc::read_json(text, file, diagnostics)
                                                   : doc::read_yaml(text, file, diagnostics);
  Overlay overlay = OverlayReader(file, diagnostics).read(document);
  if (!diagnostics.empty()) fail(std::move(diagnostics));
  return overlay;
}

Overlay load_overlay(const std::string& path) {
  return load_overlay_text(common::read_input_file(path), path);
}

Topology apply_overlay(const Topology& topology, const Overlay& overlay, const std::string& file) {
  return Applier(topology, overlay).run(file);
}

void write_overlay(const Overlay& overlay, std::ostream& out) {
  comment(out, "", overlay.note);
  out << "version: 1\nchanges:" << (overlay.changes.empty() ? " []\n" : "\n");
  for (const Change& c : overlay.changes) {
    comment(out, "  ", c.note);
    std::vector<std::pair<std::string, std::string>> fields;
    auto id = [&](const char* key, const std::string& v) {
      if (!v.empty()) fields.emplace_back(key, yaml_string(v));
    };
    auto num = [&](const char* key, const std::optional<double>& v) {
      if (v) fields.emplace_back(key, number(*v));
    };
    switch (c.kind) {
      case ChangeKind::kAddMember:
        id("service", c.service), id("id", c.id), id("domain", c.domain), id("like", c.like);
        break;
      case ChangeKind::kSet:
        id("id", c.id), num("capacity", c.capacity), num("availability", c.availability);
        num("min_healthy", c.min_healthy), id("domain", c.domain), num("load", c.load);
        num("slo", c.slo);
        break;
      case ChangeKind::kScale:
        id("service", c.service), fields.emplace_back("capacity_factor", number(c.factor));
        break;
      case ChangeKind::kMove:
        id("id", c.id), id("domain", c.domain);
        break;
      case ChangeKind::kAddDependency: {
        id("from", c.id);
        std::string to = "{id: " + yaml_string(c.to);
        if (c.mode == DepMode::kSoft) to += ", mode: soft";
        if (c.calls) to += ", calls: " + number(*c.calls);
        if (c.timeout_ms) to += ", timeout_ms: " + std::to_string(c.timeout_ms);
        fields.emplace_back("to", to + "}");
        break;
      }
      case ChangeKind::kRemove:
        id("id", c.id);
        break;
    }
    out << "  - " << to_string(c.kind) << ": {";
    for (size_t i = 0; i < fields.size(); ++i)
      out << (i ? ", " : "") << fields[i].first << ": " << fields[i].second;
    out << "}\n";
  }
}

}  // namespace achilles::analyzer
