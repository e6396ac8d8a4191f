// Fuzz target: the policy reader of `achilles check` (YAML through the YAML guard).
#include "achilles/reports/check.h"
#include "fuzz.h"

ACHILLES_FUZZ_TARGET({ achilles::reports::parse_policy(text, "fuzz.yaml"); })
