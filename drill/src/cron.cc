// Cron expressions: parsing the five fields (and the @ shorthands) into the sets of values
// they match, and the systemd OnCalendar= expression that fires at the same minutes.
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "achilles/common/text.h"
#include "achilles/drill/schedule.h"

namespace achilles::drill {

using common::lower;
using common::split;
using common::UsageError;

namespace {

struct CronField {
  const char* name;
  int lo;
  int hi;
  /// Names for the values from `lo` on (months from 1, days from 0), or null.
  const char* const* names;
};

const char* const kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec"};
const char* const kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

// Day of week accepts 7 for Sunday, as every cron does.
const CronField kFields[] = {{"minute", 0, 59, nullptr},
                             {"hour", 0, 23, nullptr},
                             {"day of month", 1, 31, nullptr},
                             {"month", 1, 12, kMonthNames},
                             {"day of week", 0, 7, kDayNames}};

/// Parses one field into `out`; `fail` throws with the field's name.
template <typename Fail>
void parse_field(const std::string& text, const CronField& f, std::set<int>& out, Fail fail) {
  auto value = [&](const std::string& v) {
    if (v.empty()) fail("a value is missing");
    if (f.names) {
      std::string l = lower(v);
      int count = f.hi - f.lo + (f.names == kDayNames ? 0 : 1);
      for (int i = 0; i < count; ++i)
        if (l == f.names[i]) return f.lo + i;
    }
    if (!std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        v.size() > 4)
      fail("'" + v + "' is not a number" +
           (f.names == kMonthNames ? " or a month name (jan..dec)"
            : f.names == kDayNames ? " or a day name (sun..sat)"
                                   : ""));
    int n = std::stoi(v);
    if (n < f.lo || n > f.hi)
      fail(v + " is out of range " + std::to_string(f.lo) + "-" + std::to_string(f.hi));
    return n;
  };
  for (const std::string& item : split(text, ',')) {
    if (item.empty()) fail("an empty item in the list '" + text + "'");
    std::string range = item;
    int step = 1;
    if (auto slash = item.find('/'); slash != std::string::npos) {
      range = item.substr(0, slash);
      std::string s = item.substr(slash + 1);
      if (s.empty() || s.size() > 4 ||
          !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
        fail("the step in '" + item + "' is not a number");
      step = std::stoi(s);
      if (step < 1) fail("the step in '" + item + "' must be at least 1");
    }
    int from, to;
    if (range == "*") {
      from = f.lo;
      to = f.hi;
    } else if (auto dash = range.find('-'); dash != std::string::npos) {
      from = value(range.substr(0, dash));
      to = value(range.substr(dash + 1));
      if (to < from) fail("the range '" + range + "' ends before it starts");
    } else {
      from = value(range);
      // `a/n` runs from a to the end of the field, as in cronie and systemd.
      to = item.find('/') != std::string::npos ? f.hi : from;
    }
    for (int v = from; v <= to; v += step)
      out.insert(v);
  }
}

}  // namespace

CronSchedule parse_cron(const std::string& text) {
  CronSchedule c;
  c.text = text;
  std::string trimmed = text;
  trimmed.erase(0, trimmed.find_first_not_of(" \t"));
  trimmed.erase(trimmed.find_last_not_of(" \t") + 1);
  std::string expr = trimmed;
  if (!expr.empty() && expr[0] == '@') {
    static const std::map<std::string, std::string> kShortcuts = {
        {"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
        {"@weekly", "0 0 * * 0"},  {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"}};
    auto it = kShortcuts.find(lower(expr));
    if (it == kShortcuts.end())
      throw UsageError("cron expression '" + text + "': unknown shortcut '" + expr +
                       "' (expected @hourly, @daily, @weekly, @monthly or @yearly)");
    expr = it->second;
  }
  std::vector<std::string> fields;
  std::istringstream words(expr);
  for (std::string w; words >> w;)
    fields.push_back(w);
  if (fields.size() != 5)
    throw UsageError("cron expression '" + text + "': expected 5 fields (minute hour " +
                     "day-of-month month day-of-week), got " + std::to_string(fields.size()));
  std::set<int>* sets[] = {&c.minutes, &c.hours, &c.days_of_month, &c.months, &c.days_of_week};
  for (size_t i = 0; i < 5; ++i) {
    const CronField& f = kFields[i];
    parse_field(fields[i], f, *sets[i], [&](const std::string& message) {
      throw UsageError("cron expression '" + text + "': " + f.name + ": " + message);
    });
  }
  if (c.days_of_week.erase(7)) c.days_of_week.insert(0);
  // Cron decides "either" or "both" on how the field is written, not on what it matches:
  // `*/2` counts as unrestricted (vixie cron and cronie look at the first character).
  c.dom_restricted = fields[2][0] != '*';
  c.dow_restricted = fields[4][0] != '*';
  return c;
}

bool CronSchedule::matches(const std::tm& local) const {
  if (!minutes.count(local.tm_min) || !hours.count(local.tm_hour) ||
      !months.count(local.tm_mon + 1))
    return false;
  bool dom = days_of_month.count(local.tm_mday) > 0;
  bool dow = days_of_week.count(local.tm_wday) > 0;
  return dom_restricted && dow_restricted ? dom || dow : dom && dow;
}

namespace {

std::string two_digits(int v) {
  return common::format("%02d", v);
}

/// One OnCalendar component for a set of values in [lo, hi]: `*`, `a/n` (a, a+n, ... to the
/// end), `a..b/n`, or a list of values and ranges `a..b`.
std::string calendar_component(const std::set<int>& values, int lo, int hi) {
  if (static_cast<int>(values.size()) == hi - lo + 1) return "*";
  std::vector<int> v(values.begin(), values.end());
  if (v.size() >= 3) {
    int step = v[1] - v[0];
    bool progression = step > 1;
    for (size_t i = 2; i < v.size() && progression; ++i)
      progression = v[i] - v[i - 1] == step;
    if (progression) {
      std::string s = two_digits(v.front());
      if (v.back() + step <= hi) s += ".." + two_digits(v.back());
      return s + "/" + std::to_string(step);
    }
  }
  std::string out;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1)
      ++j;
    if (!out.empty()) out += ',';
    if (j - i >= 2) {
      out += two_digits(v[i]) + ".." + two_digits(v[j]);
    } else {
      for (size_t k = i; k <= j; ++k)
        out += (k > i ? "," : "") + two_digits(v[k]);
    }
    i = j + 1;
  }
  return out;
}

/// Days of the week for OnCalendar, in systemd's order (the week starts on Monday), with
/// runs of three or more as ranges: `Mon..Fri`, `Sat,Sun`.
std::string calendar_weekdays(const std::set<int>& days) {
  static const char* const kNames[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  std::vector<int> order;
  for (int d : {1, 2, 3, 4, 5, 6, 0})
    if (days.count(d)) order.push_back(d);
  auto index = [](int d) { return d == 0 ? 7 : d; };
  std::string out;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && index(order[j + 1]) == index(order[j]) + 1)
      ++j;
    if (!out.empty()) out += ',';
    if (j - i >= 2) {
      out += std::string(kNames[order[i]]) + ".." + kNames[order[j]];
    } else {
      for (size_t k = i; k <= j; ++k)
        out += std::string(k > i ? "," : "") + kNames[order[k]];
    }
    i = j + 1;
  }
  return out;
}

}  // namespace

std::string to_on_calendar(const CronSchedule& c) {
  bool dom_all = c.days_of_month.size() == 31;
  bool dow_all = c.days_of_week.size() == 7;
  std::set<int> dom = c.days_of_month, dow = c.days_of_week;
  if (c.dom_restricted && c.dow_restricted) {
    // Either field matching is enough; systemd needs both. Only when one of them matches
    // every day is the result the same: then every day matches.
    if (!dom_all && !dow_all)
      throw UsageError("cron expression '" + c.text +
                       "': it restricts both the day of month and the day of week, which cron "
                       "runs when either matches; systemd's OnCalendar needs both to match, so "
                       "no timer fires at the same times. Restrict only one of the two (use * "
                       "in the other), or schedule two drills");
    for (int d = 1; d <= 31; ++d)
      dom.insert(d);
    for (int d = 0; d <= 6; ++d)
      dow.insert(d);
  }
  std::string out;
  if (dow.size() < 7) out += calendar_weekdays(dow) + " ";
  out += "*-" + calendar_component(c.months, 1, 12) + "-" + calendar_component(dom, 1, 31) + " " +
         calendar_component(c.hours, 0, 23) + ":" + calendar_component(c.minutes, 0, 59) + ":00";
  return out;
}

// ---- Handing a drill to a scheduler ---------------------------------------------------------

}  // namespace achilles::drill
