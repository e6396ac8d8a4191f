// RFC 3339 timestamps. gmtime_r and strftime are thread-safe and already in the agent; the date
// library's format() would do the same with iostreams, 26 KB more in the agent's binary.
#include "achilles/common/time.h"

#include <cstdio>
#include <ctime>

namespace achilles::common {

std::string format_time(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

}  // namespace achilles::common
