// What the drill tests share about reading plans: the problems a plan's text gives, as the
// reader reports them ("" when it is accepted).
#pragma once

#include <string>

#include "achilles/drill/plan.h"

namespace achilles::drill::testing {

inline std::string problems_of(const std::string& text) {
  try {
    parse_plan(text, "plan.yaml", "");
  } catch (const PlanError& e) {
    return e.what();
  }
  return "";
}

}  // namespace achilles::drill::testing
