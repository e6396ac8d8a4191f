// Fuzz target: the baseline reader of `achilles check --baseline` (JSON).
#include "achilles/reports/check.h"
#include "fuzz.h"

ACHILLES_FUZZ_TARGET({ achilles::reports::parse_baseline(text, "fuzz.json"); })
