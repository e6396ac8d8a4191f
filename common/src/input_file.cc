// Reading an input file whole, with a bound (input_file.h).
#include "achilles/common/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>

namespace achilles::common {

namespace {

std::string size_text(size_t bytes) {
  if (bytes >= (size_t{1} << 30) && bytes % (size_t{1} << 30) == 0)
    return std::to_string(bytes >> 30) + " GiB";
  if (bytes >= (size_t{1} << 20) && bytes % (size_t{1} << 20) == 0)
    return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

InputFileError too_large(const std::string& path, size_t limit) {
  return InputFileError(path, "longer than " + size_text(limit) +
                                  ", the most Achilles reads from one input file (is it a "
                                  "device, or a stream that does not end?)");
}

std::string read_input_fd(int fd, const std::string& path, size_t limit) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    throw InputFileError(path, std::string("cannot read: ") + std::strerror(errno));
  if (S_ISDIR(st.st_mode))
    throw InputFileError(path, std::string("cannot read: ") + std::strerror(EISDIR));
  // A device is never an input (/dev/zero, /dev/urandom and a disk never end, a terminal is
  // not a file to analyze): refused before a byte is read. Pipes and FIFOs are read, bounded.
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
    throw InputFileError(path, "cannot read: a device, not a file");
  if (S_ISREG(st.st_mode) && static_cast<unsigned long long>(st.st_size) > limit)
    throw too_large(path, limit);
  // Read in blocks of 1 MiB, then joined once: a string grown by appending doubles its
  // capacity (libstdc++ doubles even on reserve), so a 1 GiB stream would take 2 GiB; the
  // blocks are mapped allocations, each returned to the system as it is copied, so the peak
  // is the text and one block.
  constexpr size_t kBlock = size_t{1} << 20;
  std::deque<std::string> blocks;
  size_t size = 0;
  for (;;) {
    if (blocks.empty() || blocks.back().size() == kBlock) {
      blocks.emplace_back();
      blocks.back().reserve(kBlock);
    }
    std::string& block = blocks.back();
    const size_t used = block.size();
    block.resize(kBlock);
    const ssize_t n = ::read(fd, block.data() + used, kBlock - used);
    block.resize(used + static_cast<size_t>(std::max<ssize_t>(n, 0)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw InputFileError(path, std::string("cannot read: ") + std::strerror(errno));
    if (n == 0) break;
    size += static_cast<size_t>(n);
    if (size > limit) throw too_large(path, limit);
  }
  if (blocks.size() == 1) return std::move(blocks.front());
  std::string text;
  text.reserve(size);
  while (!blocks.empty()) {
    text += blocks.front();
    blocks.pop_front();
  }
  return text;
}

std::string read_input_file(const std::string& path, size_t limit) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputFileError(path, std::string("cannot read: ") + std::strerror(errno));
  struct Close {
    int fd;
    ~Close() { ::close(fd); }
  } close{fd};
  return read_input_fd(fd, path, limit);
}

}  // namespace achilles::common
