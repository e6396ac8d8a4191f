#include "achilles/analyzer/model.h"

#include <algorithm>
#include <cassert>
#include <functional>

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

namespace {
uint32_t hash_id(std::string_view id) {
  uint64_t h = std::hash<std::string_view>{}(id);
  return static_cast<uint32_t>(h ^ (h >> 32));
}
}  // namespace

void Topology::reserve(size_t n) {
  elements.reserve(n);
  size_t capacity = 16;
  while (capacity < 2 * n)
    capacity <<= 1;
  if (capacity <= slots_.size()) return;
  std::vector<Slot> old(capacity, Slot{0, kNoElement, 0, 0});
  old.swap(slots_);
  const size_t mask = capacity - 1;
  for (const Slot& slot : old) {
    if (slot.element == kNoElement) continue;
    size_t i = slot.hash & mask;
    while (slots_[i].element != kNoElement)
      i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

ElementId Topology::add(Element element) {
  assert(!find(element.id) && "Topology::add: duplicate id");
  return try_add(std::move(element)).first;
}

std::pair<ElementId, bool> Topology::try_add(Element element) {
  if (2 * (elements.size() + 1) > slots_.size()) reserve(std::max<size_t>(16, 2 * elements.size()));
  uint32_t h = hash_id(element.id);
  const size_t mask = slots_.size() - 1;
  size_t i = h & mask;
  for (; slots_[i].element != kNoElement; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.hash == h && std::string_view(ids_).substr(slot.offset, slot.size) == element.id)
      return {slot.element, false};
  }
  auto x = static_cast<ElementId>(elements.size());
  slots_[i] = {h, x, static_cast<uint32_t>(ids_.size()), static_cast<uint32_t>(element.id.size())};
  ids_ += element.id;
  elements.push_back(std::move(element));
  return {x, true};
}

std::optional<ElementId> Topology::find(std::string_view id) const {
  if (slots_.empty()) return std::nullopt;
  uint32_t h = hash_id(id);
  const size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.element == kNoElement) return std::nullopt;
    if (slot.hash == h && std::string_view(ids_).substr(slot.offset, slot.size) == id)
      return slot.element;
  }
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
