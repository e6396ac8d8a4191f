// The shared "did you mean" helper of suggest.h. Hand-written: the one routine (a bounded
// edit distance) is twenty lines, and no Debian package offers it as a C++ library.
#include "achilles/analyzer/suggest.h"

#include <algorithm>
#include <vector>

namespace achilles::analyzer {

size_t edit_distance(std::string_view a, std::string_view b, size_t limit) {
  const size_t n = a.size(), m = b.size();
  if ((n > m ? n - m : m - n) > limit) return limit + 1;
  // Three rows of the dynamic programme: two back for the swap of neighbours.
  std::vector<size_t> before(m + 1), previous(m + 1), current(m + 1);
  for (size_t j = 0; j <= m; ++j)
    previous[j] = j;
  for (size_t i = 1; i <= n; ++i) {
    current[0] = i;
    size_t row_min = current[0];
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        current[j] = std::min(current[j], before[j - 2] + 1);
      row_min = std::min(row_min, current[j]);
    }
    if (row_min > limit) return limit + 1;
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return std::min(previous[m], limit + 1);
}

Suggestion::Suggestion(std::string_view word)
    : word_(word),
      limit_(word.size() < 3 ? 0 : std::clamp<size_t>(word.size() / 3, 1, 3)),
      best_distance_(limit_ + 1) {}

void Suggestion::consider(std::string_view candidate) {
  if (limit_ == 0 || candidate.empty() || candidate == word_) return;
  size_t d = edit_distance(word_, candidate, std::min(limit_, best_distance_ - 1));
  if (d < best_distance_ && d <= limit_) {
    best_distance_ = d;
    best_ = candidate;
  }
}

std::string Suggestion::did_you_mean() const {
  return best_.empty() ? std::string() : "; did you mean '" + best_ + "'?";
}

std::string did_you_mean_id(const Topology& topology, std::string_view id,
                            bool (*allowed)(ElementKind)) {
  Suggestion s(id);
  for (const Element& e : topology.elements)
    if (!allowed || allowed(e.kind)) s.consider(e.id);
  return s.did_you_mean();
}

}  // namespace achilles::analyzer
