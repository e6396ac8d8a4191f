#include "progress.h"

#include <cstdio>

#include "command.h"

namespace achilles::cli {

Progress::Progress(bool timings) : enabled_(stderr_is_terminal()), timings_(timings) {
  if (enabled_) ticker_ = std::thread([this] { tick(); });
}

Progress::~Progress() {
  if (timings_) print_timings();
  if (!enabled_) return;
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  wake_.notify_all();
  ticker_.join();
  if (shown_) std::fputs("\r\033[K", stderr);
}

analyzer::ProgressFn Progress::callback() {
  if (!enabled_ && !timings_) return {};
  return [this](std::string_view stage, double fraction) { update(stage, fraction); };
}

void Progress::update(std::string_view stage, double fraction) {
  if (!enabled_ && !timings_) return;
  std::lock_guard lock(mutex_);
  if (timings_ && stage != stage_) {
    const auto now = std::chrono::steady_clock::now();
    if (!stage_.empty()) stages_.emplace_back(stage_, now - stage_start_);
    stage_start_ = now;
  }
  stage_ = stage;
  fraction_ = fraction;
}

void Progress::print_timings() {
  std::lock_guard lock(mutex_);
  if (!stage_.empty())
    stages_.emplace_back(stage_, std::chrono::steady_clock::now() - stage_start_);
  stage_.clear();
  std::chrono::duration<double> total{0};
  for (const auto& [stage, took] : stages_)
    total += took;
  // Below the progress line, which the destructor clears afterwards.
  if (shown_) std::fputs("\r\033[K", stderr);
  for (const auto& [stage, took] : stages_)
    std::fprintf(stderr, "time: %7.3f s  %s\n", std::chrono::duration<double>(took).count(),
                 stage.c_str());
  std::fprintf(stderr, "time: %7.3f s  in all\n", total.count());
  shown_ = false;
}

void Progress::tick() {
  std::unique_lock lock(mutex_);
  // Quiet for the first two seconds: short work shows nothing.
  if (wake_.wait_for(lock, std::chrono::seconds(2), [this] { return done_; })) return;
  while (!done_) {
    if (!stage_.empty()) {
      if (fraction_ < 0)
        std::fprintf(stderr, "\r\033[K%s...", stage_.c_str());
      else
        std::fprintf(stderr, "\r\033[K%s: %3.0f%%", stage_.c_str(), fraction_ * 100.0);
      std::fflush(stderr);
      shown_ = true;
    }
    wake_.wait_for(lock, std::chrono::milliseconds(200), [this] { return done_; });
  }
}

}  // namespace achilles::cli
