// The drill window: whether a moment is inside a plan's `window`, in the window's own time
// zone. Zones come from Howard Hinnant's date library (Debian's libhowardhinnant-date-dev, the
// basis of C++20's zoned_time, which GCC 12 lacks) reading the system's zoneinfo: no TZ
// variable, no tzset(), nothing process-wide, so any thread may ask at any time.
#include <date/tz.h>

#include <algorithm>
#include <ctime>
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

std::optional<std::chrono::system_clock::time_point> next_window_open(
    const DrillWindow& window, std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  // Minute by minute: eight days are 11,520 questions to in_window(), a few milliseconds, and
  // every daylight saving jump is handled by in_window() itself.
  auto t = floor<minutes>(now);
  if (in_window(window, now)) return t;
  for (int i = 1; i <= 8 * 24 * 60; ++i)
    if (in_window(window, t + minutes(i))) return t + minutes(i);
  return std::nullopt;
}

std::string format_window_time(const DrillWindow& window, std::chrono::system_clock::time_point t) {
  const date::time_zone* zone = find_zone(window.tz);
  if (!zone) return "?";
  const auto local = zone->to_local(std::chrono::floor<std::chrono::minutes>(t));
  return date::format("%Y-%m-%d %H:%M ", local) + (window.tz.empty() ? "UTC" : window.tz);
}

std::optional<std::chrono::system_clock::time_point> first_run_in_window(
    const CronSchedule& cron, const DrillWindow& window,
    std::chrono::system_clock::time_point from) {
  using namespace std::chrono;
  // Every minute of a year (366 days covers every month and weekday combination, and
  // February the 29th is rare enough to ignore): half a million localtime_r() calls, a
  // fraction of a second, and in_window() only where the cron fires.
  const auto start = floor<minutes>(from);
  for (int i = 0; i < 366 * 24 * 60; ++i) {
    const auto t = start + minutes(i);
    const std::time_t tt = system_clock::to_time_t(t);
    std::tm local{};
    localtime_r(&tt, &local);
    if (cron.matches(local) && in_window(window, t)) return t;
  }
  return std::nullopt;
}

}  // namespace achilles::drill
