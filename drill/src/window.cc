// The drill window: whether a moment is inside a plan's `window`, in the window's own time
// zone. Zones come from Howard Hinnant's date library (Debian's libhowardhinnant-date-dev, the
// basis of C++20's zoned_time, which GCC 12 lacks) reading the system's zoneinfo: no TZ
// variable, no tzset(), nothing process-wide, so any thread may ask at any time.
#include <date/tz.h>

#include <algorithm>
#include <stdexcept>

#include "achilles/drill/schedule.h"

namespace achilles::drill {
namespace {

/// The zone, or nullptr when the tz database has no zone of that name. "" is UTC.
const date::time_zone* find_zone(const std::string& tz) {
  try {
    return date::locate_zone(tz.empty() ? "UTC" : tz);
  } catch (const std::runtime_error&) {
    return nullptr;
  }
}

}  // namespace

bool known_time_zone(const std::string& tz) {
  return find_zone(tz) != nullptr;
}

bool in_window(const DrillWindow& window, std::chrono::system_clock::time_point now) {
  const date::time_zone* zone = find_zone(window.tz);
  if (!zone)
    throw common::UsageError("unknown time zone '" + window.tz +
                             "' (expected an IANA name such as Europe/Berlin, see "
                             "/usr/share/zoneinfo)");
  using namespace std::chrono;
  const auto local = zone->to_local(floor<minutes>(now));
  const auto day = date::floor<date::days>(local);
  const int minute = static_cast<int>(duration_cast<minutes>(local - day).count());
  const int weekday = static_cast<int>(date::weekday(day).c_encoding());  // 0 = Sunday
  auto day_allowed = [&](int d) {
    return window.days.empty() ||
           std::find(window.days.begin(), window.days.end(), d) != window.days.end();
  };
  if (window.from_minute < window.to_minute)
    return minute >= window.from_minute && minute < window.to_minute && day_allowed(weekday);
  // Across midnight (or a whole day when from == to): the part after midnight belongs to
  // the day before, when the window opened.
  if (minute >= window.from_minute) return day_allowed(weekday);
  if (minute < window.to_minute) return day_allowed((weekday + 6) % 7);
  return false;
}

}  // namespace achilles::drill
