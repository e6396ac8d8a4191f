#include "achilles/analyzer/openpsa.h"
#include "achilles/common/markup.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "achilles/analyzer/availability.h"
#include "achilles/common/text.h"

namespace achilles::analyzer {

namespace {

using ::achilles::common::markup_escape;

/// A formula as MEF XML, or empty for the constant false.
using Formula = std::string;

Formula any_of(const std::vector<Formula>& parts) {
  std::vector<Formula> live;
  for (const auto& p : parts)
    if (!p.empty()) live.push_back(p);
  if (live.empty()) return "";
  if (live.size() == 1) return live[0];
  std::string out = "<or>";
  for (const auto& p : live)
    out += p;
  return out + "</or>";
}

/// At least m of `parts` true; the empty (false) ones never are.
Formula at_least(size_t m, const std::vector<Formula>& parts) {
  std::vector<Formula> live;
  for (const auto& p : parts)
    if (!p.empty()) live.push_back(p);
  if (m == 0) return "<constant value=\"true\"/>";
  if (live.size() < m) return "";
  if (m == 1) return any_of(live);
  std::string out = m == live.size() ? "<and>" : "<atleast min=\"" + std::to_string(m) + "\">";
  for (const auto& p : live)
    out += p;
  return out + (m == live.size() ? "</and>" : "</atleast>");
}

}  // namespace

std::string openpsa_name(std::string_view prefix, std::string_view id) {
  std::string out(prefix);
  for (char c : id) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      out += c;
    } else if (c == '_') {
      out += "__";
    } else {
      out += common::format("_%02x", static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::string to_openpsa(const Topology& t) {
  auto inputs = down_inputs(t);
  std::vector<ElementId> eps;
  for (ElementId x = 0; x < t.size(); ++x)
    if (t[x].kind == ElementKind::kEntrypoint) eps.push_back(x);
  auto groups = components_dependencies_first(inputs, eps);

  // The reference to x's gate at unrolling level `level` of its group (0: false); the final
  // level is the gate named after x alone. Empty when that gate is constant false.
  std::vector<std::vector<uint8_t>> live(t.size());  // per level: the gate is not false
  std::vector<uint32_t> levels(t.size(), 1), group_of(t.size(), UINT32_MAX);
  // Gates in definition order; only those referenced, and the entrypoints', are written, so
  // that the entrypoints are the only top events (the last level of a cycle may be unused).
  struct Gate {
    std::string name, text;
    std::vector<std::string> inputs;
    bool top;
  };
  std::vector<Gate> gates;
  std::vector<std::string> refs;  // the gates the formula being built refers to
  auto gate_name = [&](ElementId x, uint32_t level) {
    std::string name = openpsa_name("down_", t[x].id);
    if (level != levels[x]) name += "_L" + std::to_string(level);
    return name;
  };
  auto ref = [&](ElementId x, uint32_t level) -> Formula {
    if (level == 0 || !live[x][level]) return "";
    refs.push_back(gate_name(x, level));
    return "<gate name=\"" + gate_name(x, level) + "\"/>";
  };
  std::vector<ElementId> basic;
  for (uint32_t g = 0; g < groups.size(); ++g) {
    const auto& group = groups[g];
    for (ElementId x : group)
      group_of[x] = g;
    bool cyclic = group.size() > 1 || std::find(inputs[group[0]].begin(), inputs[group[0]].end(),
                                                group[0]) != inputs[group[0]].end();
    uint32_t s = cyclic ? static_cast<uint32_t>(group.size()) : 1;
    for (ElementId x : group) {
      levels[x] = s;
      live[x].assign(s + 1, 0);
    }
    for (uint32_t level = 1; level <= s; ++level) {
      for (ElementId x : group) {
        const Element& e = t[x];
        // An input inside the group is read one level down; outside, at its final level.
        auto input = [&](ElementId y) {
          return group_of[y] == g ? ref(y, level - 1) : ref(y, levels[y]);
        };
        std::vector<Formula> parts;
        refs.clear();
        if (e.availability &&
            (e.kind == ElementKind::kComponent || e.kind == ElementKind::kDomain)) {
          parts.push_back("<basic-event name=\"" + openpsa_name("fail_", e.id) + "\"/>");
          if (level == 1) basic.push_back(x);
        }
        if (e.kind == ElementKind::kService) {
          std::vector<Formula> members;
          for (ElementId m : e.members)
            members.push_back(input(m));
          parts.push_back(at_least(e.members.size() - e.min_healthy + 1, members));
          for (const Dependency& d : e.depends_on)
            if (d.mode == DepMode::kHard) parts.push_back(input(d.target));
        } else {
          for (ElementId y : inputs[x])
            parts.push_back(input(y));
        }
        Formula f = any_of(parts);
        bool top = e.kind == ElementKind::kEntrypoint;
        if (f.empty() && !top) continue;
        live[x][level] = 1;
        std::string text = "    <define-gate name=\"" + gate_name(x, level) + "\">\n";
        if (level == s) text += "      <label>" + markup_escape(e.id) + "</label>\n";
        text += "      " + (f.empty() ? "<constant value=\"false\"/>" : f) + "\n";
        text += "    </define-gate>\n";
        gates.push_back({gate_name(x, level), std::move(text), refs, top});
      }
    }
  }
  std::sort(basic.begin(), basic.end());
  std::ostringstream out;
  out << "<?xml version=\"1.0\"?>\n"
      << "<!-- Generated by achilles export openpsa from " << markup_escape(t.file)
      << ". One top gate per entrypoint (down_ID): true when it is down. -->\n"
      << "<opsa-mef>\n"
      << "  <define-fault-tree name=\""
      << openpsa_name("topology_", t.name.empty() ? "unnamed" : t.name) << "\">\n";
  std::unordered_map<std::string, const Gate*> by_name;
  std::vector<const Gate*> stack;
  for (const Gate& g : gates) {
    by_name[g.name] = &g;
    if (g.top) stack.push_back(&g);
  }
  std::unordered_set<const Gate*> used(stack.begin(), stack.end());
  while (!stack.empty()) {
    const Gate* g = stack.back();
    stack.pop_back();
    for (const auto& name : g->inputs)
      if (used.insert(by_name.at(name)).second) stack.push_back(by_name.at(name));
  }
  for (const Gate& g : gates)
    if (used.count(&g)) out << g.text;
  out << "  </define-fault-tree>\n"
      << "  <model-data>\n";
  for (ElementId x : basic) {
    const std::string q = common::format("%.17g", 1 - *t[x].availability);
    out << "    <define-basic-event name=\"" << openpsa_name("fail_", t[x].id) << "\">\n"
        << "      <label>" << markup_escape(t[x].id) << "</label>\n"
        << "      <float value=\"" << q << "\"/>\n"
        << "    </define-basic-event>\n";
  }
  out << "  </model-data>\n</opsa-mef>\n";
  return out.str();
}

}  // namespace achilles::analyzer
