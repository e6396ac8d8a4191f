// Formatting of diagnostics (spec cli.md "Messages").
#include "achilles/common/diagnostic.h"
#include "achilles/common/text.h"

#include <utility>

namespace achilles::common {

std::string Diagnostic::str() const {
  std::string s = file;
  if (pos.line > 0) {
    s += ':';
    s += std::to_string(pos.line);
    s += ':';
    s += std::to_string(pos.column);
  }
  s += ": error: ";
  if (pos.line == 0 && !path.empty()) {
    s += path;
    s += ": ";
  }
  s += message;
  return s;
}

namespace {

std::string join(const std::vector<Diagnostic>& diagnostics) {
  return common::join(diagnostics, "\n", [](const Diagnostic& d) { return d.str(); });
}

}  // namespace

InputError::InputError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(join(diagnostics)), diagnostics_(std::move(diagnostics)) {}

}  // namespace achilles::common
