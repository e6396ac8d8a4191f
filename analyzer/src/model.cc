#include "achilles/analyzer/model.h"

#include <cassert>

namespace achilles::analyzer {

std::string_view to_string(ElementKind kind) {
  switch (kind) {
    case ElementKind::kDomain:
      return "domain";
    case ElementKind::kComponent:
      return "component";
    case ElementKind::kService:
      return "service";
    case ElementKind::kEntrypoint:
      return "entrypoint";
  }
  return "element";
}

ElementId Topology::add(Element element) {
  auto id = static_cast<ElementId>(elements.size());
  [[maybe_unused]] auto [it, inserted] = index_.emplace(element.id, id);
  assert(inserted && "Topology::add: duplicate id");
  elements.push_back(std::move(element));
  return id;
}

std::optional<ElementId> Topology::find(std::string_view id) const {
  auto it = index_.find(id);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

size_t Topology::count(ElementKind kind) const {
  size_t n = 0;
  for (const auto& e : elements)
    n += e.kind == kind;
  return n;
}

size_t Topology::dependency_count() const {
  size_t n = 0;
  for (const auto& e : elements)
    n += e.depends_on.size();
  return n;
}

}  // namespace achilles::analyzer
