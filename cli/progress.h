// Progress on stderr for long work, shown only when stderr is a terminal (cli.md).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "achilles/analyzer/analysis.h"

namespace achilles::cli {

/// Shows "stage: 42%" (or "stage..." while the fraction is unknown) on one rewritten line of
/// stderr, once the work has taken two seconds; clears the line when it goes out of scope.
/// A ticker thread redraws it, so a long step that reports nothing (loading a file) still
/// shows that it is alive. Silent when stderr is not a terminal.
/// With `timings`, it also times each stage and prints one line per stage on stderr when it
/// goes out of scope (terminal or not): where a long run spends its time.
class Progress {
 public:
  explicit Progress(bool timings = false);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// The callback to hand to the analyzer (empty when stderr is not a terminal).
  analyzer::ProgressFn callback();
  /// Sets the current stage; a negative fraction means "not known".
  void update(std::string_view stage, double fraction = -1);

 private:
  void tick();
  void print_timings();

  bool enabled_;
  bool timings_;
  std::vector<std::pair<std::string, std::chrono::steady_clock::duration>> stages_;
  std::chrono::steady_clock::time_point stage_start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  bool shown_ = false;
  std::string stage_;
  double fraction_ = -1;
  std::thread ticker_;
};

}  // namespace achilles::cli
