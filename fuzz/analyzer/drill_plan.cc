// Fuzz target: the drill plan reader (YAML through the YAML guard, then its checks).
#include "achilles/drill/plan.h"
#include "fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    achilles::drill::parse_plan(std::string(achilles::fuzz::text_of(data, size)), "fuzz.yaml", "");
  } catch (const achilles::drill::PlanError&) {
  }
  return 0;
}
