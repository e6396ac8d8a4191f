// JSON that a user passes in (a baseline, a Terraform plan), read into nlohmann's tree with
// every problem located and said in Achilles' words: nlohmann's own exceptions (a number
// beyond a double, out_of_range.406; a syntax error) never reach the user.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "achilles/analyzer/model.h"
#include "achilles/common/diagnostic.h"

namespace achilles::analyzer {

/// The JSON value of `text`; throws InputError (`file:line:col: error: ...`) for a syntax
/// error, a number beyond the range of a double, invalid UTF-8 or a duplicate key.
nlohmann::json parse_json_input(std::string_view text, const std::string& file);

}  // namespace achilles::analyzer
