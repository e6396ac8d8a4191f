#include "achilles/analyzer/model.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <functional>

#include "parallel.h"

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

bool is_valid_id(std::string_view id) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (id.empty() || !alnum(id[0])) return false;
  for (char c : id.substr(1))
    if (!alnum(c) && !std::strchr("_.:/@-", c)) return false;
  return true;
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
  for (const Slot& slot : old) {
    if (slot.element == kNoElement) continue;
    slots_[probe(slot.hash, [](const Slot&) { return false; })] = slot;
  }
}

template <typename Same>
size_t Topology::probe(uint32_t h, Same same) const {
  // The hash's top bit picks the table, its low bits the first slot in it.
  const size_t half = slots_.size() / 2, mask = half - 1, base = (h >> 31) ? half : 0;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[base + i];
    if (slot.element == kNoElement || (slot.hash == h && same(slot))) return base + i;
  }
}

void Topology::index(size_t slot, uint32_t h, ElementId x, std::string_view id) {
  slots_[slot] = {h, x, static_cast<uint32_t>(ids_.size()), static_cast<uint32_t>(id.size())};
  ids_ += id;
}

ElementId Topology::add(Element element) {
  assert(!find(element.id) && "Topology::add: duplicate id");
  return try_add(std::move(element)).first;
}

std::pair<ElementId, bool> Topology::try_add(Element element) {
  if (2 * (elements.size() + 1) > slots_.size()) reserve(std::max<size_t>(16, 2 * elements.size()));
  const uint32_t h = hash_id(element.id);
  const size_t i = probe(h, [&](const Slot& slot) {
    return std::string_view(ids_).substr(slot.offset, slot.size) == element.id;
  });
  if (slots_[i].element != kNoElement) return {slots_[i].element, false};
  auto x = static_cast<ElementId>(elements.size());
  index(i, h, x, element.id);
  elements.push_back(std::move(element));
  return {x, true};
}

std::vector<std::pair<ElementId, bool>> Topology::try_add_all(std::vector<Element> batch,
                                                              unsigned threads) {
  const size_t m = batch.size(), before = elements.size();
  reserve(before + m);
  // Each table is filled by a thread of its own, in batch order, so the first of two equal
  // ids is the one indexed, as in try_add(). A new slot holds, for now, the element's place
  // in the batch with kInBatch set, and is compared through the batch; once every place has
  // its index, the slots are given it and the ids are copied into ids_.
  constexpr ElementId kInBatch = ElementId{1} << 31;
  assert(before + m < kInBatch);
  std::vector<uint32_t> hashes(m);
  std::vector<std::pair<ElementId, bool>> out(m);
  detail::parallel_blocks(m, 4096, detail::thread_count(m, 4096, threads),
                          [&](unsigned, size_t, size_t begin, size_t end) {
                            for (size_t i = begin; i < end; ++i)
                              hashes[i] = hash_id(batch[i].id);
                          });
  detail::parallel_for(2, detail::thread_count(m, 4096, threads), [&](unsigned, size_t table) {
    for (size_t i = 0; i < m; ++i) {
      const uint32_t h = hashes[i];
      if ((h >> 31) != table) continue;
      const std::string_view id = batch[i].id;
      const size_t at = probe(h, [&](const Slot& slot) {
        return slot.element & kInBatch
                   ? batch[slot.element & ~kInBatch].id == id
                   : std::string_view(ids_).substr(slot.offset, slot.size) == id;
      });
      ElementId& x = slots_[at].element;
      if (x == kNoElement) {
        slots_[at].hash = h;
        x = static_cast<ElementId>(i) | kInBatch;
        out[i] = {kNoElement, true};
      } else {
        out[i] = {x, false};  // resolved below when it is in the batch
      }
    }
  });
  // The indices, in batch order; an id taken in the batch refers to the first's.
  std::vector<uint32_t> offsets(m, 0);
  size_t next = before, bytes = ids_.size();
  for (size_t i = 0; i < m; ++i) {
    if (out[i].second) {
      out[i].first = static_cast<ElementId>(next++);
      offsets[i] = static_cast<uint32_t>(bytes);
      bytes += batch[i].id.size();
    } else if (out[i].first & kInBatch) {
      out[i].first = out[out[i].first & ~kInBatch].first;
    }
  }
  ids_.resize(bytes);
  elements.resize(next);
  detail::parallel_blocks(slots_.size(), 4096, detail::thread_count(m, 4096, threads),
                          [&](unsigned, size_t, size_t begin, size_t end) {
                            for (size_t s = begin; s < end; ++s) {
                              Slot& slot = slots_[s];
                              if (slot.element == kNoElement || !(slot.element & kInBatch))
                                continue;
                              const size_t i = slot.element & ~kInBatch;
                              const std::string& id = batch[i].id;
                              slot.element = out[i].first;
                              slot.offset = offsets[i];
                              slot.size = static_cast<uint32_t>(id.size());
                              std::copy(id.begin(), id.end(), ids_.begin() + offsets[i]);
                            }
                          });
  detail::parallel_blocks(m, 4096, detail::thread_count(m, 4096, threads),
                          [&](unsigned, size_t, size_t begin, size_t end) {
                            for (size_t i = begin; i < end; ++i)
                              if (out[i].second) elements[out[i].first] = std::move(batch[i]);
                          });
  return out;
}

std::optional<ElementId> Topology::find(std::string_view id) const {
  if (slots_.empty()) return std::nullopt;
  const uint32_t h = hash_id(id);
  const Slot& found = slots_[probe(h, [&](const Slot& slot) {
    return std::string_view(ids_).substr(slot.offset, slot.size) == id;
  })];
  if (found.element == kNoElement) return std::nullopt;
  return found.element;
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
