// "did you mean 'web'?": the closest of the known names to a word that names nothing, for
// every message about an unknown id, command, option, key, rule, kind or label. One helper so
// that every such message suggests the same way.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

#include "achilles/analyzer/model.h"

namespace achilles::analyzer {

/// The optimal-string-alignment distance (Levenshtein plus the swap of two neighbours, so
/// that "wbe" is one edit from "web"), or `limit + 1` as soon as it is sure to exceed `limit`.
size_t edit_distance(std::string_view a, std::string_view b, size_t limit);

/// Collects candidates one by one and keeps the closest to `word` that is near enough to be
/// a typo of it: at most a third of the word's length in edits (at least 1, at most 3);
/// a word of one or two characters gets no suggestion, since every short word is near it.
/// Of equally close candidates the first one considered wins, so the result is deterministic
/// when the candidates come in a fixed order.
class Suggestion {
 public:
  explicit Suggestion(std::string_view word);
  void consider(std::string_view candidate);
  void consider(std::initializer_list<std::string_view> candidates) {
    for (auto c : candidates)
      consider(c);
  }
  /// The closest candidate, or empty when none is near enough.
  const std::string& best() const { return best_; }
  /// "; did you mean 'web'?" or empty: to append to a message.
  std::string did_you_mean() const;

 private:
  std::string word_;
  size_t limit_;
  size_t best_distance_;
  std::string best_;
};

/// "; did you mean 'web'?" for an id that names no element of `topology`, or empty; only ids
/// of elements for which `allowed` is true (every element when null) are candidates.
std::string did_you_mean_id(const Topology& topology, std::string_view id,
                            bool (*allowed)(ElementKind) = nullptr);

}  // namespace achilles::analyzer
