// Overlays: a change set applied to a topology (spec whatif.md, "Overlays"), for `achilles
// whatif` and `achilles recommend`. An overlay is read with the loader's YAML guard and
// position-keeping document, every problem located in the overlay file and all of them
// reported in one run; applied to a topology, each change is checked against the elements as
// they are at that point (the changes apply in order), and the result is validated as a
// topology is: it is written out and read back by the loader, so that what `--write-topology`
// writes is exactly what the "after" analysis analyzed.
#pragma once

#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "achilles/analyzer/model.h"
#include "achilles/common/diagnostic.h"

namespace achilles::analyzer {

enum class ChangeKind : uint8_t { kAddMember, kSet, kScale, kMove, kAddDependency, kRemove };

/// "add_member", "set", "scale", "move", "add_dependency" or "remove".
std::string_view to_string(ChangeKind kind);

/// One change of an overlay. Which fields it uses depends on its kind:
///   add_member      service, id (the new component), domain (optional), like (optional)
///   set             id and any of capacity, availability, min_healthy, domain, load, slo
///   scale           service, factor (capacity_factor)
///   move            id (a component or domain), domain (its new domain or parent)
///   add_dependency  id (from), to, mode, calls, timeout_ms
///   remove          id
struct Change {
  ChangeKind kind = ChangeKind::kSet;
  /// Where the change is written (its entry in `changes`), and its number from 1.
  SourcePos pos;
  size_t number = 0;
  std::string id, service, domain, like, to;
  std::optional<double> capacity, availability, min_healthy, load, slo;
  double factor = 1;
  DepMode mode = DepMode::kHard;
  std::optional<double> calls;
  uint32_t timeout_ms = 0;
  /// Where each key's value is written (by key: "service", "id", "capacity_factor", ...).
  std::map<std::string, SourcePos, std::less<>> at;
  /// Written as a comment above the change by write_overlay (recommend's measured effect);
  /// not read back.
  std::string note;

  /// Where `key` is written, else where the change is.
  SourcePos pos_of(std::string_view key) const;
};

/// A change set: its file (for messages) and its changes, in order.
struct Overlay {
  std::string file;
  std::vector<Change> changes;
  /// Written as a comment at the top by write_overlay; not read back.
  std::string note;
};

/// Reads an overlay (YAML, or JSON by its extension or first character). Throws InputError
/// with every problem, located (`FILE:LINE:COL`), or UsageError if it cannot be read.
Overlay load_overlay(const std::string& path);
/// The same from text in memory; `file` names it in messages.
Overlay load_overlay_text(std::string_view text, const std::string& file);

/// `topology` with the overlay's changes applied in order, validated as a topology and in
/// the order the loader stores elements. Throws InputError with every change that cannot
/// apply, located in the overlay; a result the loader would reject is reported against the
/// overlay as a whole. `file` is the result's Topology::file (default: the topology's).
Topology apply_overlay(const Topology& topology, const Overlay& overlay,
                       const std::string& file = {});

/// Writes `overlay` as YAML that load_overlay reads back to the same changes, each preceded
/// by its note as a comment.
void write_overlay(const Overlay& overlay, std::ostream& out);

}  // namespace achilles::analyzer
