// What every fuzz target of the input parsers shares: bad input must end in the project's
// own input errors (InputError, UsageError, PlanError); anything else escaping, a crash, a
// sanitizer report, a leak, a timeout or running out of memory is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

#include "achilles/analyzer/loader.h"
#include "achilles/analyzer/model.h"
#include "achilles/analyzer/writer.h"
#include "achilles/common/diagnostic.h"

namespace achilles::fuzz {

inline std::string_view text_of(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// An accepted topology must also be writable: invalid UTF-8 accepted on input once died
/// in the JSON writer (nlohmann's type_error.316).
inline void write_both(const analyzer::Topology& t) {
  std::ostringstream json, yaml;
  analyzer::write_topology(t, analyzer::Syntax::kJson, json);
  analyzer::write_topology(t, analyzer::Syntax::kYaml, yaml);
}

}  // namespace achilles::fuzz

/// The body of a target: the code given runs on `text`; the project's input errors are
/// expected.
#define ACHILLES_FUZZ_TARGET(...)                                           \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
    std::string_view text = achilles::fuzz::text_of(data, size);            \
    try {                                                                   \
      __VA_ARGS__;                                                          \
    } catch (const achilles::analyzer::InputError&) {                       \
    } catch (const achilles::analyzer::UsageError&) {                       \
    }                                                                       \
    return 0;                                                               \
  }
