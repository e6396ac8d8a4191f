// Problems found in an input file, collected so that a user sees all of them at once, and the
// two error types every part of Achilles throws for bad input and bad usage. Shared by the
// analyzer, the drill runner, the reports and the agent (which must not link the analyzer).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace achilles::common {

/// A position in an input file, 1-based; line 0 means unknown.
struct SourcePos {
  uint32_t line = 0;
  uint32_t column = 0;
};

/// One problem in an input file.
struct Diagnostic {
  /// The file as the user named it.
  std::string file;
  /// Where it is; line 0 when no position is known.
  SourcePos pos;
  /// The element's path in the document (`/services/2/members/1`), used when pos is unknown.
  std::string path;
  std::string message;

  /// `FILE:LINE:COLUMN: error: MESSAGE`, or `FILE: error: PATH: MESSAGE` without a position.
  std::string str() const;
};

/// Bad input: carries every problem found, in file order. what() is all of them, one a line.
class InputError : public std::runtime_error {
 public:
  explicit InputError(std::vector<Diagnostic> diagnostics);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

/// Bad usage or an input problem without a file position (a missing file, an unknown id on
/// the command line). The CLI maps it to exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace achilles::common
