// Reading an input file whole, with a bound: every file a user names (a topology, a manifest,
// a plan, a policy, a baseline, an overlay, a drill history, a token file) is read through
// here, so that a device or an endless stream named by mistake (`achilles analyze /dev/zero`,
// a FIFO nobody closes) is refused with its name once past the bound instead of growing the
// process until the machine gives out.
#pragma once

#include <cstddef>
#include <string>

#include "achilles/common/diagnostic.h"

namespace achilles::common {

/// An input file that cannot be read whole: what() is `PATH: error: REASON`; a reader that
/// reports problems its own way (a plan's token file, at the plan's line) takes reason().
class InputFileError : public UsageError {
 public:
  InputFileError(const std::string& path, std::string reason)
      : UsageError(path + ": error: " + reason), reason_(std::move(reason)) {}
  const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

/// The most bytes read from one input file: 1 GiB, five times the largest topology the
/// benchmarks load (10^6 components, 190 MB of JSON).
inline constexpr size_t kMaxInputBytes = size_t{1} << 30;

/// The whole of PATH. A file that cannot be opened or read, a directory, a device, or one longer
/// than `limit` bytes (a regular file by its size, before anything is read; a pipe or a device once
/// `limit` bytes have come) is an InputFileError, a UsageError (exit 2).
std::string read_input_file(const std::string& path, size_t limit = kMaxInputBytes);

/// The rest of an open file `fd` (PATH is its name for messages), at most `limit` bytes, by
/// the same rules; the caller keeps and closes `fd`.
std::string read_input_fd(int fd, const std::string& path, size_t limit = kMaxInputBytes);

/// The refusal of a file over `limit` bytes, for readers that map a file instead of reading it.
InputFileError too_large(const std::string& path, size_t limit);

}  // namespace achilles::common
