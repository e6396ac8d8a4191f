// The importers' shared parts: the draft topology, id and host-name parsing, reading the
// inputs, and dispatch by kind.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "import_common.h"

#include "achilles/common/input_file.h"
#include "achilles/common/yaml_guard.h"

namespace achilles::analyzer {
namespace detail {

void DraftElement::label(std::string key, std::string value) {
  for (auto& [k, v] : labels) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  labels.emplace_back(std::move(key), std::move(value));
}

void DraftElement::depend(const std::string& to, DepMode mode) {
  if (to == id) return;
  for (auto& d : depends_on) {
    if (d.target != to) continue;
    if (mode == DepMode::kHard) d.mode = mode;  // hard wins over soft
    return;
  }
  depends_on.push_back({to, mode});
}

size_t Draft::find_index(const std::string& id) const {
  auto it = index_.find(id);
  return it == index_.end() ? SIZE_MAX : it->second;
}

DraftElement* Draft::find(const std::string& id) {
  size_t i = find_index(id);
  return i == SIZE_MAX ? nullptr : &elements_[i];
}

DraftElement& Draft::get(ElementKind kind, const std::string& id) {
  if (DraftElement* e = find(id)) return *e;
  DraftElement e;
  e.kind = kind;
  e.id = id;
  e.type = std::string(to_string(kind));
  index_.emplace(id, elements_.size());
  elements_.push_back(std::move(e));
  return elements_.back();
}

std::string Draft::fresh_id(const std::string& base) const {
  if (!has(base)) return base;
  for (int i = 2;; ++i)
    if (!has(base + "-" + std::to_string(i))) return base + "-" + std::to_string(i);
}

Topology Draft::build(const std::string& name, const std::string& file) const {
  Topology t;
  t.name = name;
  t.file = file;
  // A service without members would not validate: leave it out, and what names it.
  std::unordered_set<std::string> dropped;
  for (const auto& e : elements_)
    if (e.kind == ElementKind::kService && e.members.empty()) dropped.insert(e.id);
  std::vector<const DraftElement*> order;
  for (ElementKind kind : {ElementKind::kDomain, ElementKind::kComponent, ElementKind::kService,
                           ElementKind::kEntrypoint})
    for (const auto& e : elements_)
      if (e.kind == kind && !dropped.count(e.id)) order.push_back(&e);
  t.reserve(order.size());
  for (const DraftElement* d : order) {
    Element e;
    e.id = d->id;
    e.kind = d->kind;
    e.type = d->type;
    e.labels = d->labels;
    e.capacity = d->capacity;
    e.availability = d->availability;
    e.load = d->load;
    e.slo = d->slo;
    t.add(std::move(e));
  }
  auto ref = [&](const std::string& id, bool want_domain) -> ElementId {
    if (id.empty()) return kNoElement;
    auto x = t.find(id);
    if (!x) return kNoElement;
    bool is_domain = t[*x].kind == ElementKind::kDomain;
    bool is_node = t[*x].kind == ElementKind::kComponent || t[*x].kind == ElementKind::kService;
    return (want_domain ? is_domain : is_node) ? *x : kNoElement;
  };
  for (size_t i = 0; i < order.size(); ++i) {
    const DraftElement& d = *order[i];
    Element& e = t[static_cast<ElementId>(i)];
    switch (d.kind) {
      case ElementKind::kDomain:
        e.parent = ref(d.parent, true);
        break;
      case ElementKind::kComponent:
        e.domain = ref(d.domain, true);
        break;
      case ElementKind::kService:
        for (const auto& m : d.members) {
          ElementId x = ref(m, false);
          if (x != kNoElement &&
              std::find(e.members.begin(), e.members.end(), x) == e.members.end())
            e.members.push_back(x);
        }
        e.min_healthy = std::clamp<uint32_t>(
            d.min_healthy, 1, std::max<uint32_t>(1, static_cast<uint32_t>(e.members.size())));
        break;
      case ElementKind::kEntrypoint:
        e.target = ref(d.target, false);
        break;
    }
    for (const auto& dep : d.depends_on) {
      ElementId x = ref(dep.target, false);
      if (x != kNoElement && x != static_cast<ElementId>(i))
        e.depends_on.push_back({x, dep.mode, 1.0, {}});
    }
  }
  return t;
}

bool valid_id(std::string_view id) {
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (id.empty() || !alnum(id[0])) return false;
  for (char c : id.substr(1))
    if (!alnum(c) && !std::strchr("_.:/@-", c)) return false;
  return true;
}

std::string sanitize_id(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\'' || c == ']') continue;
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || std::strchr("_.:/@-", c);
    out += ok && c != '\0' ? c : '-';
  }
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out[0])))
    out.erase(0, 1);
  while (!out.empty() && out.back() == '-')
    out.pop_back();
  return out.empty() ? "x" : out;
}

namespace {

bool is_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

std::vector<std::string> referenced_hosts(std::string_view value, bool bare) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;  // out, to keep each host once in linear time
  std::vector<std::string_view> tokens;
  size_t start = 0;
  for (size_t i = 0; i <= value.size(); ++i) {
    if (i == value.size() || std::isspace(static_cast<unsigned char>(value[i])) ||
        std::strchr(",;\"'=()[]{}<>|", value[i])) {
      if (i > start) tokens.push_back(value.substr(start, i - start));
      start = i + 1;
    }
  }
  for (std::string_view t : tokens) {
    bool strong = bare && tokens.size() == 1;
    if (auto s = t.find("://"); s != std::string_view::npos) {
      t.remove_prefix(s + 3);
      strong = true;
    }
    t = t.substr(0, t.find_first_of("/?#"));
    if (auto at = t.rfind('@'); at != std::string_view::npos) t.remove_prefix(at + 1);
    std::string_view host = t.substr(0, t.find(':'));
    if (host.size() < t.size()) {
      std::string_view port = t.substr(host.size() + 1);
      if (!port.empty() && std::all_of(port.begin(), port.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c));
          }))
        strong = true;
      else if (!strong)
        continue;
    }
    if (host.empty() || !std::isalnum(static_cast<unsigned char>(host[0])) ||
        !std::all_of(host.begin(), host.end(), is_host_char))
      continue;
    if (std::all_of(host.begin(), host.end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.'; }))
      continue;  // an IP address
    std::string h(host);
    std::transform(h.begin(), h.end(), h.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!strong && h.find(".svc") == std::string::npos) continue;
    if (seen.insert(h).second) out.push_back(std::move(h));
  }
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

void Problems::throw_if_any() {
  if (diagnostics_.empty()) return;
  throw InputError(std::move(diagnostics_));
}

std::optional<std::vector<YAML::Node>> load_yaml(const ImportSource& src, Problems& problems) {
  // The guard first: it refuses what would make LoadAll loop forever or the walks below
  // recurse without end or expand aliases without bound.
  std::vector<Diagnostic> found;
  if (!common::check_yaml(src.text, src.file, common::YamlDocuments::kMany, found)) {
    for (auto& d : found)
      problems.add(d.file, d.pos, std::move(d.message));
    return std::nullopt;
  }
  try {
    return YAML::LoadAll(src.text);
  } catch (const YAML::Exception& e) {
    problems.add(src.file,
                 {static_cast<uint32_t>(e.mark.line + 1), static_cast<uint32_t>(e.mark.column + 1)},
                 e.msg);
    return std::nullopt;
  }
}

}  // namespace detail

namespace {

bool manifest_extension(const std::filesystem::path& p) {
  auto ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

}  // namespace

const std::vector<std::string>& import_kinds() {
  static const std::vector<std::string> kinds = {"k8s", "compose", "terraform", "dot"};
  return kinds;
}

ImportResult import_paths(std::string_view kind, const std::vector<std::string>& paths,
                          const ImportOptions& options) {
  if (std::find(import_kinds().begin(), import_kinds().end(), kind) == import_kinds().end())
    return import_sources(kind, {}, options);  // reports the unknown kind before any path
  std::vector<ImportSource> sources;
  for (const auto& path : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      if (kind != "k8s")
        throw UsageError(path + ": error: is a directory (only k8s reads directories)");
      std::vector<std::string> files;
      for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
           !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file() && manifest_extension(it->path()))
          files.push_back(it->path().string());
      if (ec) throw UsageError(path + ": error: cannot read: " + ec.message());
      std::sort(files.begin(), files.end());
      for (auto& f : files)
        sources.push_back({f, common::read_input_file(f), true});
    } else {
      sources.push_back({path, common::read_input_file(path)});
    }
  }
  return import_sources(kind, sources, options);
}

namespace {

/// `--entrypoint ID...`: the entrypoints the user named replace the inferred ones. The
/// entrypoints are the last elements (Draft::build's order), so dropping them keeps the
/// indices of everything else.
void name_entrypoints(ImportResult& r, const std::vector<std::string>& wanted) {
  const Topology& t = r.topology;
  for (const auto& id : wanted) {
    auto x = t.find(id);
    if (x && (t[*x].kind == ElementKind::kComponent || t[*x].kind == ElementKind::kService))
      continue;
    std::string message = "achilles import: error: --entrypoint '" + id + "': ";
    message += x ? "is a " + std::string(to_string(t[*x].kind)) +
                       ", not a service or component of the import"
                 : "no service or component of the import has this id";
    std::string best;
    size_t best_distance = SIZE_MAX;
    for (const auto& e : t.elements) {
      if (e.kind != ElementKind::kService && e.kind != ElementKind::kComponent) continue;
      size_t d = detail::edit_distance(id, e.id);
      if (d < best_distance) best_distance = d, best = e.id;
    }
    if (!best.empty() && best_distance <= std::max<size_t>(2, id.size() / 3))
      message += " (did you mean '" + best + "'?)";
    throw UsageError(message);
  }
  Topology out;
  out.name = t.name;
  out.file = t.file;
  out.agents = t.agents;
  std::string dropped;
  for (const auto& e : t.elements) {
    if (e.kind == ElementKind::kEntrypoint)
      dropped += (dropped.empty() ? "" : ", ") + e.id;
    else
      out.add(e);
  }
  std::vector<std::string> added;
  for (const auto& id : wanted) {
    std::string entry = "entry:" + id;
    if (std::find(added.begin(), added.end(), entry) != added.end()) continue;
    Element e;
    e.id = entry;
    e.kind = ElementKind::kEntrypoint;
    e.type = "entrypoint";
    e.target = *out.find(id);
    e.labels = {{"source", "--entrypoint " + id}};
    out.add(std::move(e));
    added.push_back(entry);
  }
  r.notes.push_back("entrypoints named by --entrypoint: " + [&] {
    std::string list;
    for (const auto& a : added)
      list += (list.empty() ? "" : ", ") + a;
    return list;
  }() + (dropped.empty() ? "" : "; inferred ones dropped: " + dropped));
  r.topology = std::move(out);
}

}  // namespace

namespace {

/// The reverse proxy an element's `image` label names (caddy, nginx, traefik, haproxy,
/// envoy, httpd, openresty), or "".
std::string proxy_image(const Element& e) {
  for (const auto& [key, value] : e.labels) {
    if (key != "image") continue;
    std::string name =
        value.substr(value.rfind('/') == std::string::npos ? 0 : value.rfind('/') + 1);
    name = name.substr(0, name.find_first_of(":@"));
    for (const char* proxy :
         {"caddy", "nginx", "traefik", "haproxy", "envoy", "httpd", "openresty"})
      if (name.rfind(proxy, 0) == 0) return value;
  }
  return {};
}

/// An entrypoint on a reverse proxy that depends on nothing in the input: what it forwards to
/// is in its own configuration (a Caddyfile, nginx.conf), which no importer reads, so nothing
/// behind it is on a request path and an analysis without findings would not be earned.
void warn_proxies_without_upstreams(ImportResult& r) {
  const auto& els = r.topology.elements;
  for (const Element& ep : els) {
    if (ep.kind != ElementKind::kEntrypoint || ep.target == kNoElement) continue;
    const Element& target = els[ep.target];
    std::vector<const Element*> parts{&target};
    for (ElementId m : target.members)
      parts.push_back(&els[m]);
    std::string image;
    bool depends = false;
    for (const Element* p : parts) {
      depends = depends || !p->depends_on.empty();
      if (image.empty()) image = proxy_image(*p);
    }
    if (depends || image.empty()) continue;
    r.warnings.push_back("entrypoint " + ep.id + " reaches " + target.id +
                         ", a reverse proxy (image " + image +
                         ") that depends on nothing in the input: what it forwards to is in "
                         "its own configuration, so analyze sees nothing behind it; add those "
                         "services as its dependencies in the topology, or name them with "
                         "--entrypoint ID");
  }
}

}  // namespace

ImportResult import_sources(std::string_view kind, const std::vector<ImportSource>& sources,
                            const ImportOptions& options) {
  if (!options.profiles.empty() && kind != "compose")
    throw UsageError("achilles import: error: --profile is for compose, not " + std::string(kind));
  ImportResult r;
  if (kind == "k8s")
    r = detail::import_k8s(sources);
  else if (kind == "compose")
    r = detail::import_compose(sources, options);
  else if (kind == "terraform")
    r = detail::import_terraform(sources, options);
  else if (kind == "dot")
    r = detail::import_dot(sources);
  else
    throw UsageError("achilles import: error: unknown kind '" + std::string(kind) +
                     "' (expected k8s, compose, terraform or dot)");
  if (!options.entrypoints.empty()) name_entrypoints(r, options.entrypoints);
  // Never a clean bill of health by accident: without an entrypoint nothing is on a request
  // path, and analyze finds nothing.
  if (r.topology.count(ElementKind::kEntrypoint) == 0 && !r.topology.undirected) {
    std::string candidates;
    size_t n = 0;
    for (const auto& e : r.topology.elements)
      if (e.kind == ElementKind::kService && n++ < 8)
        candidates += (candidates.empty() ? "" : ", ") + e.id;
    r.warnings.push_back(
        "no entrypoint could be inferred, so analyze has no request path to judge and finds "
        "nothing: name where users come in with --entrypoint ID" +
        (candidates.empty() ? std::string()
                            : " (services: " + candidates + (n > 8 ? ", ..." : "") + ")"));
  }
  warn_proxies_without_upstreams(r);
  return r;
}

}  // namespace achilles::analyzer
