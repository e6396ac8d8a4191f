// What the importers share: a draft of a topology built by id, and the small parsers of
// host names, URLs and ports that infer dependencies from configuration text.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "achilles/analyzer/importers.h"
#include "achilles/analyzer/model.h"
#include "achilles/common/diagnostic.h"

namespace achilles::analyzer::detail {

/// The most replicas or instances one workload, service or group may have: each becomes a
/// component, so a count written as 10^18 must be an error, not a runaway loop.
constexpr long kMaxReplicas = 100'000;

/// A dependency by id, before ids are resolved.
struct DraftDep {
  std::string target;
  DepMode mode = DepMode::kHard;
};

/// An element by id, before ids are resolved; fields as in Element.
struct DraftElement {
  ElementKind kind = ElementKind::kComponent;
  std::string id;
  std::string type;
  /// Domain: parent; component: domain; entrypoint: target (ids, empty for none).
  std::string parent, domain, target;
  std::vector<DraftDep> depends_on;
  std::vector<std::string> members;
  uint32_t min_healthy = 1;
  std::optional<double> capacity, availability, load, slo;
  StringMap labels;

  /// Sets a label, replacing one of the same key.
  void label(std::string key, std::string value);
  /// Adds a dependency unless it is on itself or already there.
  void depend(const std::string& target, DepMode mode = DepMode::kHard);
};

/// A topology under construction: elements by id in any order, then build() resolves the
/// references and stores the elements in the order the loaders keep (domains, components,
/// services, entrypoints).
class Draft {
 public:
  /// The element with this id, created with `kind` if new. References stay valid.
  DraftElement& get(ElementKind kind, const std::string& id);
  /// The element with this id, or nullptr.
  DraftElement* find(const std::string& id);
  bool has(const std::string& id) const { return find_index(id) != SIZE_MAX; }
  /// `base`, or `base-2`, `base-3`, ... : the first id not yet used.
  std::string fresh_id(const std::string& base) const;

  /// The topology; dependencies and members naming nothing are dropped, min_healthy is
  /// clamped to 1..members. Ids must be valid (see sanitize_id).
  Topology build(const std::string& name, const std::string& file) const;

 private:
  size_t find_index(const std::string& id) const;
  std::deque<DraftElement> elements_;
  std::unordered_map<std::string, size_t> index_;
};

/// `text` made into a valid id: characters outside [A-Za-z0-9_.:/@-] become '-', brackets
/// and quotes are dropped (`aws_instance.web[0]` -> `aws_instance.web-0`).
std::string sanitize_id(std::string_view text);
/// True when `id` matches the id pattern of topology.md.
bool valid_id(std::string_view id);

/// The host names a configuration value refers to as a network peer: `cart:8080`,
/// `http://cart:8080/x`, `postgres://u:p@db/x`, `cart.shop.svc.cluster.local`; a value that
/// is a bare name counts when `bare` is true. Returned lower-case, as written (with domain).
std::vector<std::string> referenced_hosts(std::string_view value, bool bare);

/// Edit distance of two ids (insertions, deletions, substitutions), for "did you mean".
size_t edit_distance(std::string_view a, std::string_view b);

/// Collects located problems; throws them all at the end.
class Problems {
 public:
  void add(const std::string& file, SourcePos pos, std::string message) {
    diagnostics_.push_back({file, pos, {}, std::move(message)});
  }
  bool empty() const { return diagnostics_.empty(); }
  size_t size() const { return diagnostics_.size(); }
  /// Forgets the problems added after the first `n` (one better message replaces them).
  void keep_first(size_t n) {
    if (n < diagnostics_.size()) diagnostics_.resize(n);
  }
  /// Throws InputError with every problem, if any.
  void throw_if_any();

 private:
  std::vector<Diagnostic> diagnostics_;
};

/// Every YAML document of `src`, or nothing after adding its syntax error to `problems`.
std::optional<std::vector<YAML::Node>> load_yaml(const ImportSource& src, Problems& problems);

/// True when an image (`redis:alpine`, `docker.io/library/postgres:16`) is a known database,
/// cache or queue, by the words of its repository; an admin UI (`mongo-express`) is not.
/// Defined with the Compose importer's classifier of images.
bool datastore_image(const std::string& image);

ImportResult import_k8s(const std::vector<ImportSource>& sources);
ImportResult import_compose(const std::vector<ImportSource>& sources, const ImportOptions& options);
ImportResult import_terraform(const std::vector<ImportSource>& sources,
                              const ImportOptions& options);
ImportResult import_dot(const std::vector<ImportSource>& sources);

}  // namespace achilles::analyzer::detail
