// Fuzz target: the load-time check of a prometheus probe's query (drill/src/promql.cc). Every
// query gets an answer (accepted, or why it may return several series); nothing may throw.
#include <cstddef>
#include <cstdint>
#include <string>

#include "promql.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string query(reinterpret_cast<const char*>(data), size);
  (void)achilles::drill::promql_multi_series(query);
  return 0;
}
