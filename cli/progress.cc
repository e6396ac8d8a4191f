#include "progress.h"

#include <cstdio>

#include "command.h"

namespace achilles::cli {

Progress::Progress()
    : enabled_(stderr_is_terminal()), start_(std::chrono::steady_clock::now()), last_(start_) {}

Progress::~Progress() {
  if (shown_) std::fputs("\r\033[K", stderr);
}

analyzer::ProgressFn Progress::callback() {
  if (!enabled_) return {};
  return [this](std::string_view stage, double fraction) { update(stage, fraction); };
}

void Progress::update(std::string_view stage, double fraction) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - start_ < std::chrono::seconds(2) || now - last_ < std::chrono::milliseconds(100))
    return;
  last_ = now;
  shown_ = true;
  std::fprintf(stderr, "\r\033[K%.*s: %3.0f%%", static_cast<int>(stage.size()), stage.data(),
               fraction * 100.0);
  std::fflush(stderr);
}

}  // namespace achilles::cli
