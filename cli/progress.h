// Progress on stderr for long work, shown only when stderr is a terminal (cli.md).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "achilles/analyzer/analysis.h"

namespace achilles::cli {

/// Prints "stage: 42%" on one rewritten line after the first two seconds of work; clears the
/// line when it goes out of scope. Silent when stderr is not a terminal.
class Progress {
 public:
  Progress();
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// The callback to hand to the analyzer (empty when stderr is not a terminal).
  analyzer::ProgressFn callback();
  void update(std::string_view stage, double fraction);

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace achilles::cli
