// String helpers (see text.h).
#include "achilles/common/text.h"

#include <algorithm>

#include <cstdarg>
#include <cstdio>
#include <stdexcept>

namespace achilles::common {

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto at = s.find(sep, start);
    parts.emplace_back(s.substr(start, at == std::string_view::npos ? s.npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

std::string one_line(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (u < 0x20 || u == 0x7f)
      out += format("\\x%02x", u);
    else
      out += c;
  }
  return out;
}

std::optional<long long> whole_integer(const std::string& s) {
  std::size_t used = 0;
  try {
    const long long v = std::stoll(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {  // not a number, or out of range
  }
  return std::nullopt;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

std::string format(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list again;
  va_copy(again, args);
  const int n = std::vsnprintf(nullptr, 0, fmt, args);
  va_end(args);
  std::string out(n > 0 ? static_cast<std::size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(out.data(), out.size() + 1, fmt, again);
  va_end(again);
  return out;
}

std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
  const std::size_t limit = std::max<std::size_t>(1, word.size() / 3);
  std::size_t best = limit + 1;
  std::string found;
  std::vector<std::size_t> row, prev;
  for (const auto& c : candidates) {
    // One row of the Levenshtein table at a time.
    prev.resize(c.size() + 1);
    for (std::size_t j = 0; j <= c.size(); ++j)
      prev[j] = j;
    for (std::size_t i = 1; i <= word.size(); ++i) {
      row.assign(c.size() + 1, 0);
      row[0] = i;
      for (std::size_t j = 1; j <= c.size(); ++j)
        row[j] = std::min(
            {prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (word[i - 1] == c[j - 1] ? 0 : 1)});
      prev.swap(row);
    }
    if (prev[c.size()] < best) best = prev[c.size()], found = c;
  }
  return found;
}

}  // namespace achilles::common
