// Fuzz target: the body of POST /v1/faults, from bytes to a fault: parse_json_body (depth,
// UTF-8, numbers) then parse_fault. A refusal must be an ApiError with status 400; any other
// exception, crash or sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "achilles/injector/fault.h"
#include "achilles/injector/http.h"

using namespace achilles::injector;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Limits limits;
  limits.max_cores = 4;
  limits.max_memory_bytes = 1ULL << 30;
  try {
    const FaultSpec spec = parse_fault(parse_json_body(bytes, "malformed JSON: "), limits);
    // What the agent answers and records about it.
    HttpResponse::json(201, to_json(spec));
  } catch (const ApiError& e) {
    if (e.status() != 400) std::abort();
    HttpResponse::error(e.status(), e.what());
  }
  return 0;
}
