// Writing a topology as JSON or YAML, by hand and streamed: one element per line, so that a
// generated topology of 10^6 components is written in about a second and reads well in a
// diff. The YAML is block style at the top and flow style within an element; every string
// is double-quoted with JSON escapes, which YAML's double-quoted style also reads.
#include "achilles/analyzer/writer.h"

#include <charconv>
#include <cmath>
#include <string>

namespace achilles::analyzer {

namespace {

class Out {
 public:
  Out(Syntax syntax, std::ostream& out) : json_(syntax == Syntax::kJson), out_(out) {
    buf_.reserve(kFlushAt + 4096);
  }
  ~Out() { flush(); }

  bool json() const { return json_; }

  Out& raw(std::string_view s) {
    buf_ += s;
    if (buf_.size() >= kFlushAt) flush();
    return *this;
  }

  Out& str(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    buf_ += '"';
    for (char ch : s) {
      auto c = static_cast<unsigned char>(ch);
      switch (c) {
        case '"':
          buf_ += "\\\"";
          break;
        case '\\':
          buf_ += "\\\\";
          break;
        case '\n':
          buf_ += "\\n";
          break;
        case '\t':
          buf_ += "\\t";
          break;
        case '\r':
          buf_ += "\\r";
          break;
        default:
          if (c < 0x20 || c == 0x7f) {
            buf_ += "\\u00";
            buf_ += kHex[c >> 4];
            buf_ += kHex[c & 15];
          } else {
            buf_ += ch;
          }
      }
    }
    buf_ += '"';
    return *this;
  }

  // The shortest text that reads back to the same double.
  Out& num(double x) {
    if (std::isinf(x))
      return raw(json_ ? (x > 0 ? "1e999" : "-1e999") : (x > 0 ? ".inf" : "-.inf"));
    char text[32];
    auto [end, ec] = std::to_chars(text, text + sizeof text, x);
    return raw(std::string_view(text, static_cast<size_t>(end - text)));
  }

  // `"key": ` in JSON, `key: ` in YAML.
  Out& key(std::string_view k) {
    if (json_) return str(k).raw(": ");
    return raw(k).raw(": ");
  }

  void flush() {
    out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    buf_.clear();
  }

 private:
  static constexpr size_t kFlushAt = 1 << 20;
  bool json_;
  std::ostream& out_;
  std::string buf_;
};

void write_map(Out& out, std::string_view key, const StringMap& map) {
  if (map.empty()) return;
  out.raw(", ").key(key).raw("{");
  bool first = true;
  for (const auto& [k, v] : map) {
    if (!first) out.raw(", ");
    first = false;
    out.str(k).raw(": ").str(v);
  }
  out.raw("}");
}

void write_element(Out& out, const Topology& t, const Element& e) {
  out.raw("{").key("id").str(e.id);
  std::string_view fallback = to_string(e.kind);
  if (e.kind != ElementKind::kEntrypoint && e.type != fallback)
    out.raw(", ").key("kind").str(e.type);
  switch (e.kind) {
    case ElementKind::kDomain:
      if (e.parent != kNoElement) out.raw(", ").key("parent").str(t[e.parent].id);
      break;
    case ElementKind::kComponent:
      if (e.domain != kNoElement) out.raw(", ").key("domain").str(t[e.domain].id);
      break;
    case ElementKind::kService:
      out.raw(", ").key("members").raw("[");
      for (size_t i = 0; i < e.members.size(); ++i) {
        if (i) out.raw(", ");
        out.str(t[e.members[i]].id);
      }
      out.raw("]");
      if (e.min_healthy != 1) out.raw(", ").key("min_healthy").num(e.min_healthy);
      break;
    case ElementKind::kEntrypoint:
      if (e.target != kNoElement) out.raw(", ").key("target").str(t[e.target].id);
      if (e.load) out.raw(", ").key("load").num(*e.load);
      if (e.slo) out.raw(", ").key("slo").num(*e.slo);
      break;
  }
  if (!e.depends_on.empty()) {
    out.raw(", ").key("depends_on").raw("[");
    for (size_t i = 0; i < e.depends_on.size(); ++i) {
      const Dependency& d = e.depends_on[i];
      if (i) out.raw(", ");
      if (d.mode == DepMode::kHard && d.calls == 1.0) {
        out.str(t[d.target].id);
        continue;
      }
      out.raw("{").key("id").str(t[d.target].id);
      if (d.mode == DepMode::kSoft) out.raw(", ").key("mode").str("soft");
      if (d.calls != 1.0) out.raw(", ").key("calls").num(d.calls);
      out.raw("}");
    }
    out.raw("]");
  }
  if (e.capacity) out.raw(", ").key("capacity").num(*e.capacity);
  if (e.availability) out.raw(", ").key("availability").num(*e.availability);
  write_map(out, "labels", e.labels);
  if (e.kind == ElementKind::kComponent) write_map(out, "target", e.inject_target);
  out.raw("}");
}

}  // namespace

void write_topology(const Topology& topology, Syntax syntax, std::ostream& out_stream) {
  Out out(syntax, out_stream);
  constexpr std::pair<ElementKind, std::string_view> kSections[] = {
      {ElementKind::kDomain, "domains"},
      {ElementKind::kComponent, "components"},
      {ElementKind::kService, "services"},
      {ElementKind::kEntrypoint, "entrypoints"}};
  if (out.json()) {
    out.raw("{\"version\": 1");
    if (!topology.name.empty()) out.raw(",\n\"name\": ").str(topology.name);
  } else {
    out.raw("version: 1\n");
    if (!topology.name.empty()) out.raw("name: ").str(topology.name).raw("\n");
  }
  for (auto [kind, section] : kSections) {
    bool any = false;
    for (const auto& e : topology.elements) {
      if (e.kind != kind) continue;
      if (out.json()) {
        if (any)
          out.raw(",\n  ");
        else
          out.raw(",\n").str(section).raw(": [\n  ");
      } else {
        if (!any) out.raw(section).raw(":\n");
        out.raw("  - ");
      }
      any = true;
      write_element(out, topology, e);
      if (!out.json()) out.raw("\n");
    }
    if (any && out.json()) out.raw("\n]");
  }
  out.raw(out.json() ? "}\n" : "");
}

}  // namespace achilles::analyzer
