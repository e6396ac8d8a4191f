// The history of past drill runs (`achilles drill history`): one JSON line per run, appended
// after each run, read back with every bad line named, and summarised per drill with the trend
// of its recovery times.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>
#include <sstream>

#include "achilles/common/input_file.h"
#include "achilles/common/text.h"
#include "achilles/drill/schedule.h"

namespace achilles::drill {

using common::Diagnostic;
using common::UsageError;
using nlohmann::json;

json history_line(const json& journal) {
  auto text = [&](const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  json steps = json::array();
  if (auto s = journal.find("steps"); s != journal.end() && s->is_array()) {
    for (const auto& step : *s) {
      if (!step.is_object()) continue;
      bool passed = !step.contains("error") || step["error"].is_null();
      // Injected: the agent created the fault. A step never injected has no recovery to
      // speak of: the history says so rather than "did not recover".
      const bool injected =
          passed && step.contains("injected_at_ms") && step["injected_at_ms"].is_number();
      json recovery = json::object();
      if (auto e = step.find("expectations"); e != step.end() && e->is_array()) {
        for (const auto& x : *e) {
          if (!x.is_object()) continue;
          passed = passed && x.value("passed", false);
          auto r = x.find("recovery_ms");
          recovery[text(x, "probe")] = r != x.end() && r->is_number() ? *r : json();
        }
      }
      steps.push_back({{"name", text(step, "name")},
                       {"passed", passed},
                       {"injected", injected},
                       {"recovery_ms", recovery}});
    }
  }
  return {{"title", text(journal, "title")},
          {"plan_file", text(journal, "plan_file")},
          {"started_at", text(journal, "started_at")},
          {"verdict", text(journal, "verdict")},
          {"steps", steps}};
}

void append_history(const std::string& path, const json& journal) {
  // dump() escapes every newline inside strings, so the record is one line.
  std::string line = history_line(journal).dump() + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error(path + ": cannot open the history file: " + std::strerror(errno));
  ssize_t n = ::write(fd, line.data(), line.size());
  int error = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(line.size()))
    throw std::runtime_error(path + ": cannot append to the history file: " +
                             (n < 0 ? std::strerror(error) : "short write (disk full?)"));
}

namespace {

/// Why `line` is not a valid history record, or "" when it is.
std::string check_record(const json& j) {
  if (!j.is_object()) return "a history line must be a JSON object";
  for (const char* key : {"title", "started_at", "verdict"}) {
    if (!j.contains(key)) return std::string("missing '") + key + "'";
    if (!j[key].is_string()) return std::string("'") + key + "' must be a string";
  }
  if (j.contains("plan_file") && !j["plan_file"].is_string()) return "'plan_file' must be a string";
  static const std::set<std::string> kVerdicts = {"passed", "failed", "aborted", "skipped"};
  if (!kVerdicts.count(j["verdict"].get<std::string>()))
    return "'verdict' must be passed, failed, aborted or skipped, not '" +
           j["verdict"].get<std::string>() + "'";
  if (!j.contains("steps") || !j["steps"].is_array()) return "'steps' must be a list";
  for (size_t i = 0; i < j["steps"].size(); ++i) {
    const json& s = j["steps"][i];
    std::string at = "'steps/" + std::to_string(i);
    if (!s.is_object()) return at + "' must be an object";
    if (!s.contains("name") || !s["name"].is_string()) return at + "/name' must be a string";
    if (!s.contains("passed") || !s["passed"].is_boolean())
      return at + "/passed' must be true or false";
    if (s.contains("injected") && !s["injected"].is_boolean())
      return at + "/injected' must be true or false";
    if (!s.contains("recovery_ms") || !s["recovery_ms"].is_object())
      return at + "/recovery_ms' must be an object of probe names";
    for (const auto& [probe, ms] : s["recovery_ms"].items())
      if (!ms.is_null() && !(ms.is_number() && ms.get<double>() >= 0))
        return at + "/recovery_ms/" + probe + "' must be a number of milliseconds or null";
  }
  return "";
}

/// nlohmann's message without its `[json.exception...] parse error at line 1, column 7: `.
std::string parse_message(const json::parse_error& e) {
  std::string m = e.what();
  if (auto p = m.find("column "); p != std::string::npos)
    if (auto colon = m.find(": ", p); colon != std::string::npos) m = m.substr(colon + 2);
  return m;
}

std::string milliseconds(double ms) {
  return common::format(ms == std::floor(ms) ? "%.0f" : "%.1f", ms);
}

}  // namespace

History read_history(const std::string& path) {
  std::istringstream in(common::read_input_file(path));
  History h;
  h.file = path;
  std::string line;
  for (uint32_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Diagnostic d{path, {number, 1}, "", ""};
    try {
      json j = json::parse(line);
      d.message = check_record(j);
      if (d.message.empty()) {
        h.runs.push_back(std::move(j));
        continue;
      }
    } catch (const json::parse_error& e) {
      d.pos.column = static_cast<uint32_t>(std::max<size_t>(e.byte, 1));
      d.message = "not a JSON history line: " + parse_message(e);
    }
    h.problems.push_back(std::move(d));
  }
  return h;
}

std::string recovery_trend(const std::vector<double>& v) {
  if (v.size() < 4) return "";
  auto mean = [](auto first, auto last) {
    double sum = 0;
    for (auto it = first; it != last; ++it)
      sum += *it;
    return sum / static_cast<double>(last - first);
  };
  double earlier = mean(v.begin(), v.end() - 3);
  double recent = mean(v.end() - 3, v.end());
  // Recovery times jitter by a probe interval or two; only a change that is large both
  // relatively and absolutely is a trend.
  double delta = recent - earlier;
  if (std::fabs(delta) <= 100 || std::fabs(delta) <= 0.2 * earlier) return "steady";
  return delta < 0 ? "better" : "worse";
}

std::string format_history(const History& h) {
  struct StepSeries {
    std::string name;
    std::vector<std::string> probes;  // first-seen order
    std::map<std::string, std::vector<std::optional<double>>> recovery;
    /// Per probe, whether the step was injected in each run (older lines lack the field:
    /// taken as injected).
    std::map<std::string, std::vector<bool>> injected;
  };
  struct Drill {
    std::string title;
    size_t runs = 0, passed = 0, skipped = 0;
    const json* last = nullptr;
    std::vector<StepSeries> steps;
  };
  std::vector<Drill> drills;
  for (const json& run : h.runs) {
    std::string title = run["title"];
    auto d = std::find_if(drills.begin(), drills.end(), [&](auto& x) { return x.title == title; });
    if (d == drills.end()) {
      d = drills.emplace(drills.end());
      d->title = title;
    }
    ++d->runs;
    d->last = &run;
    std::string verdict = run["verdict"];
    d->passed += verdict == "passed";
    d->skipped += verdict == "skipped";
    for (const json& step : run["steps"]) {
      std::string name = step["name"];
      auto s =
          std::find_if(d->steps.begin(), d->steps.end(), [&](auto& x) { return x.name == name; });
      if (s == d->steps.end()) {
        s = d->steps.emplace(d->steps.end());
        s->name = name;
      }
      const bool injected = step.value("injected", true);
      for (const auto& [probe, ms] : step["recovery_ms"].items()) {
        if (!s->recovery.count(probe)) s->probes.push_back(probe);
        s->recovery[probe].push_back(ms.is_number() ? std::optional(ms.get<double>())
                                                    : std::nullopt);
        s->injected[probe].push_back(injected);
      }
    }
  }

  std::ostringstream out;
  if (drills.empty()) out << "no drill runs in " << h.file << "\n";
  for (const Drill& d : drills) {
    size_t ran = d.runs - d.skipped;
    out << "drill \"" << d.title << "\": " << d.runs << (d.runs == 1 ? " run" : " runs");
    if (d.skipped) out << " (" << d.skipped << " skipped)";
    out << "; last " << (*d.last)["started_at"].get<std::string>() << " "
        << (*d.last)["verdict"].get<std::string>() << "; pass rate ";
    if (ran == 0)
      out << "none (every run was skipped)\n";
    else
      out << static_cast<int>(std::lround(100.0 * d.passed / ran)) << "% (" << d.passed << " of "
          << ran << ")\n";
    for (const StepSeries& s : d.steps) {
      if (s.probes.empty()) {
        // Nothing was expected of it, so nothing was judged or measured for the history.
        out << "  step \"" << s.name << "\": no expectations, nothing judged\n";
        continue;
      }
      out << "  step \"" << s.name << "\"\n";
      for (const std::string& probe : s.probes) {
        const auto& all = s.recovery.at(probe);
        const auto& injected = s.injected.at(probe);
        const std::size_t first = all.size() - std::min<size_t>(all.size(), 8);
        std::string list;
        for (std::size_t i = first; i < all.size(); ++i)
          list +=
              (list.empty() ? "" : " ") +
              (all[i] ? milliseconds(*all[i]) : std::string(injected[i] ? "none" : "not-injected"));
        // The trend is taken over every run in which the fault was injected and the probe
        // recovered, not over the runs where there was nothing to measure.
        std::vector<double> measured;
        for (std::size_t i = 0; i < all.size(); ++i)
          if (all[i] && injected[i]) measured.push_back(*all[i]);
        out << "    " << probe << ": last "
            << (all.back()        ? "recovery " + milliseconds(*all.back()) + " ms"
                : injected.back() ? std::string("did not recover")
                                  : std::string("never injected"))
            << "; recent (oldest first, ms): " << list;
        std::string trend = recovery_trend(measured);
        out << (trend.empty() ? "" : "; " + trend) << "\n";
      }
    }
  }
  return out.str();
}

std::string format_history(const std::string& path) {
  History h = read_history(path);
  if (!h.problems.empty()) throw common::InputError(h.problems);
  return format_history(h);
}

}  // namespace achilles::drill
