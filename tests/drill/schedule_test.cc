// Drill windows, cron expressions and their systemd form, the scheduler files of
// `achilles drill schedule`, and the history file.
// One file past 500 lines: windows, cron and the emitters share the time helpers and the
// independent judges (glibc, systemd-analyze) they are checked against.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "achilles/drill/schedule.h"
#include "support/run.h"

using namespace achilles::drill;
using achilles::common::InputError;
using achilles::common::UsageError;
using nlohmann::json;

namespace {

/// The instant of a UTC wall-clock time.
std::chrono::system_clock::time_point utc(int year, int month, int day, int hour, int minute) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

/// A scratch directory removed at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/achilles-schedule-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
};

using achilles::testing::slurp;

/// Runs a shell command, returning its exit code and stdout.
std::pair<int, std::string> shell(const std::string& command) {
  auto r = achilles::testing::run_shell(command);
  return {r.code, r.out};
}

std::string cron_error(const std::string& expr) {
  try {
    to_on_calendar(parse_cron(expr));
  } catch (const UsageError& e) {
    return e.what();
  }
  return "accepted";
}

json journal(const std::string& title, const std::string& started, const std::string& verdict,
             json recovery, bool passed = true) {
  return {{"achilles_drill_journal", 1},
          {"title", title},
          {"plan_file", "drills/web.yaml"},
          {"started_at", started},
          {"verdict", verdict},
          {"steps",
           {{{"name", "kill web-1"},
             {"injected_at_ms", 3},
             {"error", nullptr},
             {"expectations",
              {{{"probe", "www"},
                {"expected", "healthy"},
                {"recovery_ms", recovery},
                {"passed", passed}}}}}}}};
}

}  // namespace

TEST_CASE("A drill window holds on its days between from and to, in UTC", "[schedule]") {
  DrillWindow w{{1, 2, 3, 4, 5}, 9 * 60, 16 * 60, ""};
  // 2026-11-25 is a Wednesday, 2026-11-28 a Saturday.
  CHECK_FALSE(in_window(w, utc(2026, 11, 25, 8, 59)));
  CHECK(in_window(w, utc(2026, 11, 25, 9, 0)));
  CHECK(in_window(w, utc(2026, 11, 25, 15, 59)));
  CHECK_FALSE(in_window(w, utc(2026, 11, 25, 16, 0)));
  CHECK_FALSE(in_window(w, utc(2026, 11, 28, 10, 0)));
  DrillWindow every_day{{}, 9 * 60, 16 * 60, ""};
  CHECK(in_window(every_day, utc(2026, 11, 28, 10, 0)));
}

TEST_CASE("A window across midnight belongs to the day it opened", "[schedule]") {
  // Fridays 22:00 to 02:00: Saturday 01:30 is in it, Friday 01:00 (Thursday's) is not.
  DrillWindow w{{5}, 22 * 60, 2 * 60, ""};
  CHECK(in_window(w, utc(2026, 11, 27, 23, 0)));
  CHECK(in_window(w, utc(2026, 11, 28, 1, 30)));
  CHECK_FALSE(in_window(w, utc(2026, 11, 28, 2, 0)));
  CHECK_FALSE(in_window(w, utc(2026, 11, 28, 23, 0)));
  CHECK_FALSE(in_window(w, utc(2026, 11, 27, 1, 0)));
  CHECK_FALSE(in_window(w, utc(2026, 11, 27, 21, 59)));
  // from == to is a whole day from that minute on.
  DrillWindow day{{3}, 6 * 60, 6 * 60, ""};
  CHECK(in_window(day, utc(2026, 11, 25, 6, 0)));
  CHECK(in_window(day, utc(2026, 11, 26, 5, 59)));
  CHECK_FALSE(in_window(day, utc(2026, 11, 26, 6, 0)));
  CHECK_FALSE(in_window(day, utc(2026, 11, 25, 5, 59)));
}

TEST_CASE("A window in Europe/Berlin follows summer and winter time", "[schedule]") {
  DrillWindow w{{}, 9 * 60, 10 * 60, "Europe/Berlin"};
  // Winter: CET is UTC+1.
  CHECK(in_window(w, utc(2026, 1, 14, 8, 30)));
  CHECK_FALSE(in_window(w, utc(2026, 1, 14, 7, 30)));
  CHECK_FALSE(in_window(w, utc(2026, 1, 14, 9, 0)));
  // Summer: CEST is UTC+2.
  CHECK(in_window(w, utc(2026, 7, 15, 7, 30)));
  CHECK_FALSE(in_window(w, utc(2026, 7, 15, 8, 30)));
  // The morning after the switch (2026-03-29, 01:00 UTC) is already summer time.
  CHECK(in_window(w, utc(2026, 3, 29, 7, 0)));
  CHECK_FALSE(in_window(w, utc(2026, 3, 29, 8, 0)));
  // The day is Berlin's: Friday 23:30 UTC is Saturday 00:30 in Berlin.
  DrillWindow saturday{{6}, 0, 60, "Europe/Berlin"};
  CHECK(in_window(saturday, utc(2026, 11, 27, 23, 30)));
  CHECK_FALSE(in_window(saturday, utc(2026, 11, 28, 23, 30)));
}

TEST_CASE("Checking a drill window never changes the time zone that other threads see",
          "[schedule]") {
  // The window used to point the process's TZ at the drill's zone and call tzset(): a thread
  // formatting local time at that moment got the drill's zone. Here one thread checks a
  // Tokyo window in a loop while this one reads local time under TZ=UTC.
  const char* before = std::getenv("TZ");
  const std::string saved = before ? before : "";
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  std::atomic<bool> stop{false};
  std::thread windows([&] {
    const DrillWindow tokyo{{}, 9 * 60, 17 * 60, "Asia/Tokyo"};
    while (!stop)
      (void)in_window(tokyo, std::chrono::system_clock::now());
  });
  int wrong = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (std::chrono::steady_clock::now() < until) {
    const std::time_t t = std::time(nullptr);
    std::tm local{}, universal{};
    ::tzset();
    ::localtime_r(&t, &local);
    ::gmtime_r(&t, &universal);
    if (local.tm_hour != universal.tm_hour) ++wrong;
  }
  stop = true;
  windows.join();
  if (before)
    ::setenv("TZ", saved.c_str(), 1);
  else
    ::unsetenv("TZ");
  ::tzset();
  CHECK(wrong == 0);
}

TEST_CASE("A window across both daylight saving changes in Europe/Berlin", "[schedule]") {
  // Spring forward, 2026-03-29: at 01:00 UTC the clocks jump from 02:00 to 03:00 CEST, so the
  // local hour 02:00..03:00 does not exist that night.
  DrillWindow two_am{{}, 2 * 60, 3 * 60, "Europe/Berlin"};
  CHECK(in_window(two_am, utc(2026, 3, 28, 1, 30)));        // the night before: 02:30 CET
  CHECK_FALSE(in_window(two_am, utc(2026, 3, 29, 0, 59)));  // 01:59 CET
  CHECK_FALSE(in_window(two_am, utc(2026, 3, 29, 1, 0)));   // 03:00 CEST
  CHECK(in_window(DrillWindow{{}, 3 * 60, 4 * 60, "Europe/Berlin"}, utc(2026, 3, 29, 1, 0)));
  // Fall back, 2026-10-25: at 01:00 UTC the clocks go from 03:00 CEST back to 02:00 CET, so
  // 02:00..03:00 happens twice, and the window is open both times.
  CHECK_FALSE(in_window(two_am, utc(2026, 10, 24, 23, 59)));  // 01:59 CEST
  CHECK(in_window(two_am, utc(2026, 10, 25, 0, 0)));          // 02:00 CEST
  CHECK(in_window(two_am, utc(2026, 10, 25, 0, 59)));         // 02:59 CEST
  CHECK(in_window(two_am, utc(2026, 10, 25, 1, 0)));          // 02:00 CET, again
  CHECK(in_window(two_am, utc(2026, 10, 25, 1, 59)));         // 02:59 CET
  CHECK_FALSE(in_window(two_am, utc(2026, 10, 25, 2, 0)));    // 03:00 CET
  // The same in the southern hemisphere, where summer time ends in April: Sydney's clocks go
  // back from 03:00 AEDT to 02:00 AEST on 2026-04-05 (16:00 UTC on the 4th).
  DrillWindow sydney{{}, 2 * 60, 3 * 60, "Australia/Sydney"};
  CHECK(in_window(sydney, utc(2026, 4, 4, 15, 30)));  // 02:30 AEDT
  CHECK(in_window(sydney, utc(2026, 4, 4, 16, 30)));  // 02:30 AEST
  CHECK_FALSE(in_window(sydney, utc(2026, 4, 4, 17, 0)));
}

TEST_CASE("Every zone of the system's database gives the local time that glibc gives",
          "[schedule]") {
  // An independent judge: glibc's localtime_r with TZ set (this test's process only).
  const char* before = std::getenv("TZ");
  const std::string saved = before ? before : "";
  std::ifstream zones("/usr/share/zoneinfo/tzdata.zi");
  REQUIRE(zones);
  std::vector<std::string> names;
  for (std::string line; std::getline(zones, line);) {
    std::istringstream words(line);
    std::string kind, name;
    words >> kind >> name;
    if (kind == "Z" || kind == "L") names.push_back(kind == "Z" ? name : (words >> name, name));
  }
  // "Factory" is the database's placeholder for "no zone configured yet" (its abbreviation is
  // "-00"), not a place a drill can be scheduled in; the date library leaves it out.
  std::erase(names, "Factory");
  REQUIRE(names.size() > 300);
  const std::time_t instants[] = {1774746000, 1774746000 + 3599, 1792890000, 1792890000 - 60,
                                  1767225600, 1783000000,        1799999940};
  std::size_t checked = 0;
  for (const auto& zone : names) {
    INFO(zone);
    REQUIRE(known_time_zone(zone));
    ::setenv("TZ", (":" + zone).c_str(), 1);
    ::tzset();
    for (std::time_t t : instants) {
      std::tm tm{};
      ::localtime_r(&t, &tm);
      const int m = tm.tm_hour * 60 + tm.tm_min;
      const auto at = std::chrono::system_clock::from_time_t(t);
      INFO("at " << t << ": glibc says day " << tm.tm_wday << ", minute " << m);
      CHECK(in_window(DrillWindow{{tm.tm_wday}, m, m + 1, zone}, at));
      CHECK_FALSE(in_window(DrillWindow{{}, (m + 1) % 1440, (m + 1) % 1440 + 1, zone}, at));
      ++checked;
    }
  }
  if (before)
    ::setenv("TZ", saved.c_str(), 1);
  else
    ::unsetenv("TZ");
  ::tzset();
  CHECK(checked == names.size() * std::size(instants));
}

TEST_CASE("An unknown time zone is detected, and TZ is left as it was", "[schedule]") {
  CHECK(known_time_zone(""));
  CHECK(known_time_zone("UTC"));
  CHECK(known_time_zone("Europe/Berlin"));
  CHECK(known_time_zone("America/Argentina/Buenos_Aires"));
  CHECK_FALSE(known_time_zone("Mars/Olympus_Mons"));
  CHECK_FALSE(known_time_zone("Europe"));
  CHECK_FALSE(known_time_zone("/etc/passwd"));
  CHECK_FALSE(known_time_zone("../../../etc/passwd"));
  CHECK_FALSE(known_time_zone("Europe/Berlin "));
  REQUIRE_THROWS_WITH(in_window({{}, 0, 60, "Mars/Olympus_Mons"}, utc(2026, 1, 1, 0, 0)),
                      "unknown time zone 'Mars/Olympus_Mons' (expected an IANA name such as "
                      "Europe/Berlin, see /usr/share/zoneinfo)");

  const char* before = std::getenv("TZ");
  std::string saved = before ? before : "";
  ::setenv("TZ", "America/New_York", 1);
  CHECK(in_window({{}, 9 * 60, 10 * 60, "Europe/Berlin"}, utc(2026, 1, 14, 8, 30)));
  CHECK(std::string(std::getenv("TZ")) == "America/New_York");
  ::unsetenv("TZ");
  CHECK(in_window({{}, 9 * 60, 10 * 60, "Asia/Tokyo"}, utc(2026, 1, 14, 0, 30)));
  CHECK(std::getenv("TZ") == nullptr);
  if (before) ::setenv("TZ", saved.c_str(), 1);
}

TEST_CASE("Cron fields take numbers, ranges, steps, lists, names and shortcuts", "[schedule]") {
  auto c = parse_cron("*/15 9-17 1,15 jan-MAR,dec mon-fri");
  CHECK(c.minutes == std::set<int>{0, 15, 30, 45});
  CHECK(c.hours == std::set<int>{9, 10, 11, 12, 13, 14, 15, 16, 17});
  CHECK(c.days_of_month == std::set<int>{1, 15});
  CHECK(c.months == std::set<int>{1, 2, 3, 12});
  CHECK(c.days_of_week == std::set<int>{1, 2, 3, 4, 5});
  CHECK(c.dom_restricted);
  CHECK(c.dow_restricted);
  CHECK(parse_cron("0 0 * * 7").days_of_week == std::set<int>{0});
  CHECK(parse_cron("0 0 * * 5-7").days_of_week == std::set<int>{0, 5, 6});
  CHECK(parse_cron("5/20 1-10/3 * * *").minutes == std::set<int>{5, 25, 45});
  CHECK(parse_cron("5/20 1-10/3 * * *").hours == std::set<int>{1, 4, 7, 10});
  CHECK_FALSE(parse_cron("0 0 */2 * 1").dom_restricted);
  auto weekly = parse_cron("@weekly");
  CHECK(weekly.minutes == std::set<int>{0});
  CHECK(weekly.days_of_week == std::set<int>{0});
  CHECK(parse_cron("@yearly").months == std::set<int>{1});
  CHECK(parse_cron("  @HOURLY ").hours.size() == 24);
}

TEST_CASE("A bad cron expression is refused with a message naming the field", "[schedule]") {
  CHECK(cron_error("61 * * * *") ==
        "cron expression '61 * * * *': minute: 61 is out of range 0-59");
  CHECK(cron_error("* 24 * * *") == "cron expression '* 24 * * *': hour: 24 is out of range 0-23");
  CHECK(cron_error("* * 0 * *") ==
        "cron expression '* * 0 * *': day of month: 0 is out of range 1-31");
  CHECK(cron_error("* * * foo *") ==
        "cron expression '* * * foo *': month: 'foo' is not a number or a month name (jan..dec)");
  CHECK(cron_error("* * * * 8") ==
        "cron expression '* * * * 8': day of week: 8 is out of range 0-7");
  CHECK(cron_error("* * * * mon-funday") ==
        "cron expression '* * * * mon-funday': day of week: 'funday' is not a number or a day "
        "name (sun..sat)");
  CHECK(cron_error("*/0 * * * *") ==
        "cron expression '*/0 * * * *': minute: the step in '*/0' must be at least 1");
  CHECK(cron_error("*/x * * * *") ==
        "cron expression '*/x * * * *': minute: the step in '*/x' is not a number");
  CHECK(cron_error("1,,2 * * * *") ==
        "cron expression '1,,2 * * * *': minute: an empty item in the list '1,,2'");
  CHECK(cron_error("* 17-9 * * *") ==
        "cron expression '* 17-9 * * *': hour: the range '17-9' ends before it starts");
  CHECK(cron_error("* 1- * * *") == "cron expression '* 1- * * *': hour: a value is missing");
  CHECK(cron_error("* * * *") ==
        "cron expression '* * * *': expected 5 fields (minute hour day-of-month month "
        "day-of-week), got 4");
  CHECK(cron_error("0 0 * * * root") ==
        "cron expression '0 0 * * * root': expected 5 fields (minute hour day-of-month month "
        "day-of-week), got 6");
  CHECK(cron_error("@reboot") ==
        "cron expression '@reboot': unknown shortcut '@reboot' (expected @hourly, @daily, "
        "@weekly, @monthly or @yearly)");
  CHECK(cron_error("") ==
        "cron expression '': expected 5 fields (minute hour day-of-month month day-of-week), "
        "got 0");
}

TEST_CASE("Cron converts to an OnCalendar expression with the same times", "[schedule]") {
  auto cal = [](const std::string& e) { return to_on_calendar(parse_cron(e)); };
  CHECK(cal("*/15 9-17 * * mon-fri") == "Mon..Fri *-*-* 09..17:00/15:00");
  CHECK(cal("0 0 * * *") == "*-*-* 00:00:00");
  CHECK(cal("@daily") == "*-*-* 00:00:00");
  CHECK(cal("@hourly") == "*-*-* *:00:00");
  CHECK(cal("@monthly") == "*-*-01 00:00:00");
  CHECK(cal("@yearly") == "*-01-01 00:00:00");
  CHECK(cal("@weekly") == "Sun *-*-* 00:00:00");
  CHECK(cal("30 2 1,15 * *") == "*-*-01,15 02:30:00");
  CHECK(cal("0 12 * * 0,6") == "Sat,Sun *-*-* 12:00:00");
  CHECK(cal("0 12 * * 0-5") == "Mon..Fri,Sun *-*-* 12:00:00");
  CHECK(cal("0 12 * * */2") == "Tue,Thu,Sat,Sun *-*-* 12:00:00");
  CHECK(cal("1,2,4,8 * * * *") == "*-*-* *:01,02,04,08:00");
  CHECK(cal("0 0,12 * 1-3,6 *") == "*-01..03,06-* 00,12:00:00");
  CHECK(cal("10-40/10 */6 * * *") == "*-*-* 00/6:10..40/10:00");
  // `*/2` counts as unrestricted for cron's either-or rule, so both must match: as systemd.
  CHECK(cal("0 0 */2 * 1") == "Mon *-*-01/2 00:00:00");
  // Both restricted, but one matches every day: every day matches.
  CHECK(cal("0 0 1-31 * 1") == "*-*-* 00:00:00");
  CHECK(cron_error("0 0 13 * 5") ==
        "cron expression '0 0 13 * 5': it restricts both the day of month and the day of "
        "week, which cron runs when either matches; systemd's OnCalendar needs both to match, "
        "so no timer fires at the same times. Restrict only one of the two (use * in the "
        "other), or schedule two drills");
}

TEST_CASE("systemd fires the OnCalendar expressions at the minutes cron would", "[schedule]") {
  if (shell("command -v systemd-analyze >/dev/null").first != 0) {
    FAIL(
        "systemd-analyze is not installed (Debian's systemd package; scripts/common.sh installs "
        "it): this test would check nothing");
    return;
  }
  // Random expressions, each compared over its next 12 firings against a minute-by-minute
  // walk of CronSchedule::matches: systemd-analyze is an independent judge of the OnCalendar
  // text (its ranges, steps and lists), and matches() follows cron's rules.
  std::mt19937 rng(20261126);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto field = [&](int lo, int hi, bool allow_star) {
    switch (pick(allow_star ? 0 : 1, 5)) {
      case 0:
        return std::string("*");
      case 1:
        return "*/" + std::to_string(pick(2, (hi - lo) / 2 + 1));
      case 2: {
        int a = pick(lo, hi), b = pick(a, hi);
        return std::to_string(a) + "-" + std::to_string(b);
      }
      case 3: {
        int a = pick(lo, hi), b = pick(a, hi);
        return std::to_string(a) + "-" + std::to_string(b) + "/" + std::to_string(pick(1, 4));
      }
      case 4:
        return std::to_string(pick(lo, hi)) + "," + std::to_string(pick(lo, hi)) + "," +
               std::to_string(pick(lo, hi));
      default:
        return std::to_string(pick(lo, hi));
    }
  };
  const std::time_t base = std::chrono::system_clock::to_time_t(utc(2026, 1, 1, 0, 0));
  for (int round = 0; round < 40; ++round) {
    std::string dom = field(1, 28, true), dow = field(0, 6, true);
    if (dom[0] != '*' && dow[0] != '*') dow = "*";  // the combination systemd cannot express
    std::string expr = field(0, 59, true) + " " + field(0, 23, true) + " " + dom + " " +
                       field(1, 12, true) + " " + dow;
    CronSchedule c = parse_cron(expr);
    std::string calendar = to_on_calendar(c);
    INFO(expr << "  ->  " << calendar);

    std::vector<std::string> expected;
    std::tm tm{};
    for (std::time_t t = base + 60; expected.size() < 12 && t < base + 20LL * 366 * 86400;) {
      ::gmtime_r(&t, &tm);
      if (c.matches(tm)) {
        char buf[64];
        std::strftime(buf, sizeof buf, "%a %Y-%m-%d %H:%M:%S UTC", &tm);
        expected.push_back(buf);
      }
      // Skip whole days and hours that cannot match.
      tm.tm_min = 0;
      if (!c.months.count(tm.tm_mon + 1) ||
          !(c.dom_restricted && c.dow_restricted
                ? c.days_of_month.count(tm.tm_mday) || c.days_of_week.count(tm.tm_wday)
                : c.days_of_month.count(tm.tm_mday) && c.days_of_week.count(tm.tm_wday)))
        t = ::timegm(&tm) - tm.tm_hour * 3600 + 86400;
      else if (!c.hours.count(tm.tm_hour))
        t = ::timegm(&tm) + 3600;
      else
        t += 60;
    }
    auto [code, out] = shell(
        "TZ=UTC systemd-analyze calendar --iterations=12 "
        "--base-time='2026-01-01 00:00:00 UTC' '" +
        calendar + "' 2>&1");
    REQUIRE(code == 0);
    std::vector<std::string> actual;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      for (const char* key : {"Next elapse: ", "Iter. #"}) {
        auto p = line.find(key);
        if (p == std::string::npos) continue;
        p = line.find(": ", p);
        actual.push_back(line.substr(p + 2));
      }
    }
    CHECK(actual == expected);
  }
}

TEST_CASE("A drill's name comes from its plan's file name", "[schedule]") {
  CHECK(drill_name("/srv/Drills/Web Tier.yaml") == "web-tier");
  CHECK(drill_name("web.yaml") == "web");
  CHECK(drill_name("/a/b/db_fail-over..v2.yml") == "db-fail-over-v2");
  CHECK(drill_name("/a/.yaml") == "yaml");
  CHECK(drill_name("/a/ü.yaml") == "drill");
  CHECK(drill_name("/a/" + std::string(60, 'x') + ".yaml") == std::string(37, 'x'));
  CHECK(drill_name("/a/" + std::string(36, 'x') + " y.yaml") == std::string(36, 'x'));
}

TEST_CASE("Paths are quoted for the shell and for systemd", "[schedule]") {
  CHECK(shell_quote("/usr/bin/achilles") == "/usr/bin/achilles");
  CHECK(shell_quote("/srv/my drills/it's.yaml") == "'/srv/my drills/it'\\''s.yaml'");
  CHECK(shell_quote("") == "''");
  CHECK(shell_quote("$HOME") == "'$HOME'");
  CHECK(systemd_quote("/usr/bin/achilles") == "/usr/bin/achilles");
  CHECK(systemd_quote("/srv/my drills/a\"b\\c.yaml") == "\"/srv/my drills/a\\\"b\\\\c.yaml\"");
  CHECK(systemd_quote("/srv/100%/$x") == "/srv/100%%/$$x");
}

TEST_CASE("systemd: a oneshot service and its timer, with every path absolute", "[schedule]") {
  ScheduleRequest r{"/srv/my drills/web.yaml", "web tier 100% up",  "*/30 9-16 * * mon-fri",
                    "/usr/local/bin/achilles", "/var/lib/achilles", ScheduleFormat::kSystemd};
  auto files = emit_schedule(r);
  REQUIRE(files.size() == 2);
  CHECK(files[0].name == "achilles-drill-web.service");
  CHECK(files[1].name == "achilles-drill-web.timer");
  CHECK(files[0].content ==
        "# Runs the Achilles drill \"web tier 100% up\" once; achilles-drill-web.timer starts "
        "it.\n"
        "# Install: copy both files to /etc/systemd/system/, then\n"
        "#   systemctl daemon-reload && systemctl enable --now achilles-drill-web.timer\n"
        "# A failed or aborted drill (exit 1) leaves the unit failed: `systemctl status "
        "achilles-drill-web`\n"
        "# shows it, and the report says why.\n"
        "[Unit]\n"
        "Description=Achilles drill: web tier 100%% up\n"
        "Wants=network-online.target\n"
        "After=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        "WorkingDirectory=/srv/my drills\n"
        "ExecStartPre=/bin/mkdir -p -- /var/lib/achilles\n"
        "ExecStart=/usr/local/bin/achilles drill run \"/srv/my drills/web.yaml\" --journal "
        "/var/lib/achilles/web.journal.json --report /var/lib/achilles/web.report.html "
        "--history /var/lib/achilles/achilles-drill-history.jsonl\n"
        "# On SIGTERM (systemctl stop, shutdown) the runner reverts every fault before it "
        "exits;\n"
        "# give it the time to.\n"
        "TimeoutStopSec=120\n");
  CHECK(files[1].content ==
        "# Starts achilles-drill-web.service on the cron schedule '*/30 9-16 * * mon-fri',\n"
        "# in the machine's local time zone (the plan's window is checked by the runner).\n"
        "[Unit]\n"
        "Description=Schedule of the Achilles drill: web tier 100%% up\n"
        "\n"
        "[Timer]\n"
        "OnCalendar=Mon..Fri *-*-* 09..16:00,30:00\n"
        "# A drill missed while the machine was off is not made up at boot, at a time nobody "
        "planned.\n"
        "Persistent=false\n"
        "# Drills run when the team expects them, not spread out over a random delay.\n"
        "RandomizedDelaySec=0\n"
        "AccuracySec=1s\n"
        "Unit=achilles-drill-web.service\n"
        "\n"
        "[Install]\n"
        "WantedBy=timers.target\n");
  // The state directory defaults to the plan's: no mkdir then.
  r.state_dir = "/srv/my drills";
  CHECK(emit_schedule(r)[0].content.find("ExecStartPre") == std::string::npos);
  r.cron = "0 0 13 * fri";
  CHECK_THROWS_AS(emit_schedule(r), UsageError);
}

TEST_CASE("systemd-analyze verify accepts the emitted units", "[schedule]") {
  if (shell("command -v systemd-analyze >/dev/null").first != 0) {
    FAIL(
        "systemd-analyze is not installed (Debian's systemd package; scripts/common.sh installs "
        "it): this test would check nothing");
    return;
  }
  TempDir tmp;
  std::string dir = tmp / "my drills";
  REQUIRE(shell("mkdir -p '" + dir + "' && cp /bin/true '" + dir + "/achilles'").first == 0);
  ScheduleRequest r{dir + "/web.yaml", "web", "@daily",
                    dir + "/achilles", dir,   ScheduleFormat::kSystemd};
  for (const auto& f : emit_schedule(r))
    std::ofstream(tmp / f.name) << f.content;
  auto [code, out] =
      shell("cd " + tmp.path + " && systemd-analyze verify --man=no achilles-drill-web.timer " +
            "achilles-drill-web.service 2>&1");
  INFO(out);
  CHECK(code == 0);
  CHECK(out.find("achilles-drill-web") == std::string::npos);  // no complaint about our units
}

TEST_CASE("cron: one crontab line whose command the shell runs with the paths intact",
          "[schedule]") {
  TempDir tmp;
  std::string dir = tmp / "it's 100% mine";
  REQUIRE(shell("mkdir -p \"" + dir + "\"").first == 0);
  // A stand-in achilles that records its working directory and arguments.
  std::string fake = dir + "/fake achilles";
  std::ofstream(fake) << "#!/bin/sh\npwd > \"$0.args\"\nfor a in \"$@\"; do echo \"$a\" >> "
                         "\"$0.args\"; done\necho ran\n";
  REQUIRE(::chmod(fake.c_str(), 0755) == 0);
  ScheduleRequest r{dir + "/web.yaml",    "web", "@hourly", fake, dir + "/state",
                    ScheduleFormat::kCron};
  auto files = emit_schedule(r);
  REQUIRE(files.size() == 1);
  CHECK(files[0].name == "achilles-drill-web.cron");
  std::string text = files[0].content;
  auto last = text.substr(text.rfind('\n', text.size() - 2) + 1);
  REQUIRE(last.rfind("@hourly ", 0) == 0);
  CHECK(text.rfind("# The Achilles drill \"web\" (" + dir + "/web.yaml).\n", 0) == 0);
  // What cron hands to /bin/sh: the command with `\%` turned back into `%`.
  std::string command = last.substr(8, last.size() - 9);
  CHECK(command.find("100\\%") != std::string::npos);
  std::string sh;
  for (size_t i = 0; i < command.size(); ++i)
    if (!(command[i] == '\\' && i + 1 < command.size() && command[i + 1] == '%')) sh += command[i];
  std::ofstream(tmp / "cmd.sh") << sh << "\n";
  REQUIRE(shell("sh " + (tmp / "cmd.sh")).first == 0);
  std::string state = dir + "/state";
  CHECK(slurp(fake + ".args") == dir + "\ndrill\nrun\n" + dir + "/web.yaml\n--journal\n" + state +
                                     "/web.journal.json\n--report\n" + state +
                                     "/web.report.html\n--history\n" + state +
                                     "/achilles-drill-history.jsonl\n");
  CHECK(slurp(state + "/web.log") == "ran\n");
  // In the plan's directory, which exists, nothing is made.
  r.state_dir = dir;
  CHECK(emit_schedule(r)[0].content.find("mkdir") == std::string::npos);
}

TEST_CASE("k8s: a CronJob that runs the plan from a ConfigMap, never twice at once", "[schedule]") {
  ScheduleRequest r{"/srv/drills/Web Tier.yaml", "web \"tier\"", "*/30 9-16 * * 1-5",
                    "/usr/bin/achilles",         "/srv/drills",  ScheduleFormat::kK8s};
  auto files = emit_schedule(r);
  REQUIRE(files.size() == 1);
  CHECK(files[0].name == "achilles-drill-web-tier.yaml");
  const std::string& text = files[0].content;
  CHECK(text.find("#        kubectl create configmap achilles-drill-web-tier "
                  "--from-file='Web-Tier.yaml=/srv/drills/Web Tier.yaml'\n") != std::string::npos);
  CHECK(text.find("# SET THIS: an image") != std::string::npos);
  YAML::Node doc = YAML::Load(text);
  CHECK(doc["apiVersion"].as<std::string>() == "batch/v1");
  CHECK(doc["kind"].as<std::string>() == "CronJob");
  CHECK(doc["metadata"]["name"].as<std::string>() == "achilles-drill-web-tier");
  CHECK(doc["metadata"]["annotations"]["achilles/title"].as<std::string>() == "web \"tier\"");
  CHECK(doc["spec"]["schedule"].as<std::string>() == "*/30 9-16 * * 1-5");
  CHECK(doc["spec"]["concurrencyPolicy"].as<std::string>() == "Forbid");
  auto job = doc["spec"]["jobTemplate"]["spec"];
  CHECK(job["backoffLimit"].as<int>() == 0);
  auto pod = job["template"]["spec"];
  CHECK(pod["restartPolicy"].as<std::string>() == "Never");
  CHECK(pod["volumes"][0]["configMap"]["name"].as<std::string>() == "achilles-drill-web-tier");
  auto container = pod["containers"][0];
  CHECK(container["image"].as<std::string>() == "REPLACE-ME/achilles:0.1.0");
  CHECK(container["command"].as<std::vector<std::string>>() ==
        std::vector<std::string>{"achilles", "drill", "run", "/etc/achilles/drill/Web-Tier.yaml",
                                 "--journal", "/var/lib/achilles/web-tier.journal.json", "--report",
                                 "/var/lib/achilles/web-tier.report.html", "--history",
                                 "/var/lib/achilles/achilles-drill-history.jsonl"});
  CHECK(container["volumeMounts"][0]["mountPath"].as<std::string>() == "/etc/achilles/drill");
}

TEST_CASE("Emitted files print with a header comment each", "[schedule]") {
  CHECK(format_emitted({{"a.service", "x\n"}, {"a.timer", "y\n"}}) ==
        "# ==> a.service <==\nx\n\n# ==> a.timer <==\ny\n");
}

TEST_CASE("The history line of a journal, appended whole by concurrent runs", "[schedule]") {
  json j = journal("web", "2026-11-26T12:00:00.000Z", "failed", 1210, false);
  j["steps"].push_back({{"name", "slow db"},
                        {"error", "agent refused: 400 unknown proxy 'db'"},
                        {"expectations", json::array()},
                        {"summary", nullptr}});
  CHECK(history_line(j) == json::parse(R"({"title": "web", "plan_file": "drills/web.yaml",
          "started_at": "2026-11-26T12:00:00.000Z", "verdict": "failed",
          "steps": [{"name": "kill web-1", "passed": false, "injected": true,
                     "recovery_ms": {"www": 1210}},
                    {"name": "slow db", "passed": false, "injected": false,
                     "recovery_ms": {}}]})"));
  json skipped = {{"title", "web"}, {"started_at", "x"}, {"verdict", "skipped"}};
  CHECK(history_line(skipped)["steps"] == json::array());

  TempDir tmp;
  std::string path = tmp / "history.jsonl";
  std::vector<std::thread> writers;
  for (int w = 0; w < 8; ++w)
    writers.emplace_back([&, w] {
      json big = journal("drill " + std::to_string(w) + std::string(3000, 'x'), "t", "passed", w);
      for (int i = 0; i < 50; ++i)
        append_history(path, big);
    });
  for (auto& t : writers)
    t.join();
  History h = read_history(path);
  CHECK(h.problems.empty());
  CHECK(h.runs.size() == 400);
  REQUIRE_THROWS_WITH(
      append_history(tmp / "no/such/dir/h.jsonl", j),
      tmp / "no/such/dir/h.jsonl" + ": cannot open the history file: No such file or directory");
}

TEST_CASE("Recovery trends read noise as steady", "[schedule]") {
  CHECK(recovery_trend({}) == "");
  CHECK(recovery_trend({1000, 1000, 1000}) == "");
  CHECK(recovery_trend({1000, 1050, 980, 1010}) == "steady");
  CHECK(recovery_trend({1000, 1000, 1500, 1600, 1400}) == "worse");
  CHECK(recovery_trend({2000, 2100, 1000, 900, 1100}) == "better");
  // 50% slower but only by 60 ms: noise at this scale.
  CHECK(recovery_trend({120, 120, 180, 180, 180}) == "steady");
  // 150 ms slower but only by 5%: noise too.
  CHECK(recovery_trend({3000, 3000, 3150, 3150, 3150}) == "steady");
}

TEST_CASE("The history summary: per drill, its runs, pass rate and recovery trends", "[schedule]") {
  TempDir tmp;
  std::string path = tmp / "h.jsonl";
  const double times[] = {900, 1000, 950, 1000, 1500, 1600, 1700, 1650, 1800};
  for (int i = 0; i < 9; ++i)
    append_history(path, journal("web", "2026-11-" + std::to_string(10 + i), "passed", times[i]));
  append_history(path, journal("web", "2026-11-20", "failed", nullptr, false));
  append_history(path, {{"title", "db"}, {"started_at", "2026-11-21"}, {"verdict", "skipped"}});
  // A corrupt line and a line of another shape, between good ones.
  std::ofstream(path, std::ios::app) << "{\"title\": \"web\", \"started_at\n"
                                     << "\n"
                                     << R"({"title": "web", "started_at": "x", "verdict": "won"})"
                                     << "\n";
  append_history(path, journal("db", "2026-11-22", "passed", 40));
  History h = read_history(path);
  CHECK(h.runs.size() == 12);
  REQUIRE(h.problems.size() == 2);
  CHECK(h.problems[0].str() == path +
                                   ":12:29: error: not a JSON history line: syntax error while "
                                   "parsing object key - invalid string: missing closing quote; "
                                   "last read: '\"started_at'; expected string literal");
  CHECK(h.problems[1].str() ==
        path + ":14:1: error: 'verdict' must be passed, failed, aborted or skipped, not 'won'");
  CHECK(format_history(h) ==
        "drill \"web\": 10 runs; last 2026-11-20 failed; pass rate 90% (9 of 10)\n"
        "  step \"kill web-1\"\n"
        "    www: last did not recover; recent (oldest first, ms): 950 1000 1500 1600 1700 "
        "1650 1800 none; worse\n"
        "drill \"db\": 2 runs (1 skipped); last 2026-11-22 passed; pass rate 100% (1 of 1)\n"
        "  step \"kill web-1\"\n"
        "    www: last recovery 40 ms; recent (oldest first, ms): 40\n");
  REQUIRE_THROWS_AS(format_history(path), InputError);
  // A step never injected (the agent refused it) did not "fail to recover"; a step without
  // expectations gets no bare heading; the trend comes from the runs that measured something.
  std::string other = tmp / "other.jsonl";
  for (double ms : {1000.0, 1000.0, 1000.0, 1000.0})
    append_history(other, journal("api", "2026-11-01", "passed", ms));
  json refused = journal("api", "2026-11-02", "failed", nullptr, false);
  refused["steps"][0].erase("injected_at_ms");
  refused["steps"][0]["error"] = "HTTP 403: process 'web-1' is not allowed";
  refused["steps"].push_back({{"name", "slow db"},
                              {"injected_at_ms", 12000},
                              {"error", nullptr},
                              {"expectations", json::array()}});
  append_history(other, refused);
  CHECK(format_history(other) ==
        "drill \"api\": 5 runs; last 2026-11-02 failed; pass rate 80% (4 of 5)\n"
        "  step \"kill web-1\"\n"
        "    www: last never injected; recent (oldest first, ms): 1000 1000 1000 1000 "
        "not-injected; steady\n"
        "  step \"slow db\": no expectations, nothing judged\n");
  std::ofstream(tmp / "empty.jsonl") << "\n";
  CHECK(format_history(tmp / "empty.jsonl") == "no drill runs in " + (tmp / "empty.jsonl") + "\n");
  REQUIRE_THROWS_WITH(format_history(tmp / "none.jsonl"),
                      tmp / "none.jsonl" + ": error: cannot read: No such file or directory");
}
