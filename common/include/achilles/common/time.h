// Time as Achilles writes it: RFC 3339 in UTC with milliseconds, in the agent's API, its audit
// log, the drill journal and the history.
#pragma once

#include <chrono>
#include <string>

namespace achilles::common {

/// `2026-12-04T23:20:59.123Z`.
std::string format_time(std::chrono::system_clock::time_point t);

}  // namespace achilles::common
