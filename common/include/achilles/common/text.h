// Small string helpers that every part of Achilles needs: joining, splitting, case and
// whitespace, and printf-style formatting (GCC 12 has no std::format). One copy each.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace achilles::common {

/// The items, each turned into text by `text(item)`, with `sep` between them.
template <typename Range, typename Text>
std::string join(const Range& items, std::string_view sep, Text text) {
  std::string out;
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += sep;
    first = false;
    out += text(item);
  }
  return out;
}

/// The items (strings or string views) with `sep` between them.
template <typename Range>
std::string join(const Range& items, std::string_view sep) {
  return join(items, sep, [](const auto& s) { return std::string_view(s); });
}

/// `s` cut at every `sep`; empty parts are kept ("a,,b" gives "a", "", "b").
std::vector<std::string> split(std::string_view s, char sep);

/// `s` in ASCII lower case.
std::string lower(std::string_view s);

/// `s` without leading and trailing white space (spaces, tabs, CR, LF).
std::string_view trim(std::string_view s);

/// The candidate nearest to `word` by edit distance (insertions, deletions, substitutions),
/// if it is near enough to be a likely typo (at most a third of the word's length, and at
/// least 1); empty otherwise. For "does not exist; did you mean ...?".
std::string closest(std::string_view word, const std::vector<std::string>& candidates);

/// `s` on one line: each control character (below 0x20, and DEL) written as `\n`, `\r`,
/// `\t` or `\xHH`, and a backslash as `\\`; the rest (UTF-8 included) as it is. For text
/// from an input that goes into a comment line of a file, or a line on a terminal.
std::string one_line(std::string_view s);

/// `s` as a whole integer, as std::stoll reads it (leading white space and a sign allowed,
/// nothing after the digits); nothing when it is empty, has anything else, or is out of range.
std::optional<long long> whole_integer(const std::string& s);

/// printf into a string; the compiler checks the arguments against the format.
[[gnu::format(printf, 1, 2)]] std::string format(const char* fmt, ...);

}  // namespace achilles::common
