#include "progress.h"

#include <cstdio>

#include "command.h"

namespace achilles::cli {

Progress::Progress() : enabled_(stderr_is_terminal()) {
  if (enabled_) ticker_ = std::thread([this] { tick(); });
}

Progress::~Progress() {
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
  if (!enabled_) return {};
  return [this](std::string_view stage, double fraction) { update(stage, fraction); };
}

void Progress::update(std::string_view stage, double fraction) {
  if (!enabled_) return;
  std::lock_guard lock(mutex_);
  stage_ = stage;
  fraction_ = fraction;
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
