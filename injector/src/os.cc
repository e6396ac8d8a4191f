// The real operating-system mechanisms behind the interfaces of os.h.
#include "achilles/injector/os.h"

#include <dirent.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

namespace achilles::injector {

namespace {

// PF_KTHREAD in the flags field of /proc/PID/stat (include/linux/sched.h).
constexpr unsigned long kPfKthread = 0x00200000;

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

class ProcTable final : public ProcessTable {
 public:
  explicit ProcTable(std::string root) : root_(std::move(root)) {}

  std::vector<ProcessInfo> list() const override {
    std::vector<ProcessInfo> out;
    DIR* dir = opendir(root_.c_str());
    if (!dir) return out;
    while (dirent* e = readdir(dir)) {
      const char* n = e->d_name;
      if (*n < '1' || *n > '9' || !std::all_of(n, n + std::strlen(n), ::isdigit)) continue;
      if (auto p = get(std::atoi(n))) out.push_back(std::move(*p));
    }
    closedir(dir);
    std::sort(out.begin(), out.end(),
              [](const ProcessInfo& a, const ProcessInfo& b) { return a.pid < b.pid; });
    return out;
  }

  std::optional<ProcessInfo> get(int pid) const override {
    if (pid <= 0) return std::nullopt;
    const std::string base = root_ + "/" + std::to_string(pid);
    std::string text;
    if (!read_file(base + "/stat", text)) return std::nullopt;
    auto info = parse_proc_stat(text);
    if (!info || info->pid != pid) return std::nullopt;
    if (read_file(base + "/cmdline", text)) {
      while (!text.empty() && text.back() == '\0')
        text.pop_back();
      std::replace(text.begin(), text.end(), '\0', ' ');
      info->cmdline = text;
    }
    if (read_file(base + "/status", text)) {
      std::istringstream lines(text);
      for (std::string line; std::getline(lines, line);) {
        if (line.rfind("Uid:", 0) == 0) {
          info->uid = static_cast<unsigned>(std::strtoul(line.c_str() + 4, nullptr, 10));
          break;
        }
      }
    } else {
      return std::nullopt;
    }
    return info;
  }

 private:
  std::string root_;
};

class KillSignaller final : public Signaller {
 public:
  int send(int pid, int signal) override { return ::kill(pid, signal) == 0 ? 0 : errno; }
};

class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override {
    return std::chrono::steady_clock::now();
  }
  std::chrono::system_clock::time_point wall() const override {
    return std::chrono::system_clock::now();
  }
};

// Busy for `load` of each 100 ms period, asleep for the rest, until stopped.
class CpuLoad final : public Load {
 public:
  CpuLoad(int cores, double load) {
    for (int i = 0; i < cores; ++i) {
      threads_.emplace_back([this, load] {
        using namespace std::chrono;
        const auto period = milliseconds(100);
        const auto busy = duration_cast<steady_clock::duration>(period * load);
        while (!stop_.load(std::memory_order_relaxed)) {
          const auto start = steady_clock::now();
          volatile std::uint64_t sink = 0;
          while (steady_clock::now() - start < busy)
            sink = sink + 1;
          const auto rest = period - (steady_clock::now() - start);
          if (rest > steady_clock::duration::zero()) std::this_thread::sleep_for(rest);
        }
      });
    }
  }
  ~CpuLoad() override {
    stop_ = true;
    for (auto& t : threads_)
      t.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

// Touches every page in a thread of its own, so that a large allocation does not hold up
// the caller; stopping interrupts the touching and unmaps.
class MemoryLoad final : public Load {
 public:
  explicit MemoryLoad(std::uint64_t bytes) : size_(bytes) {
    void* p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      throw std::runtime_error("cannot map " + std::to_string(bytes) +
                               " bytes: " + std::strerror(errno));
    base_ = static_cast<char*>(p);
    toucher_ = std::thread([this] {
      const std::uint64_t page = static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
      for (std::uint64_t off = 0; off < size_ && !stop_.load(std::memory_order_relaxed);
           off += page)
        base_[off] = 1;
    });
  }
  ~MemoryLoad() override {
    stop_ = true;
    toucher_.join();
    munmap(base_, size_);
  }

 private:
  std::uint64_t size_;
  char* base_ = nullptr;
  std::atomic<bool> stop_{false};
  std::thread toucher_;
};

class ThreadLoadRunner final : public LoadRunner {
 public:
  std::unique_ptr<Load> cpu(int cores, double load) override {
    return std::make_unique<CpuLoad>(cores, load);
  }
  std::unique_ptr<Load> memory(std::uint64_t bytes) override {
    return std::make_unique<MemoryLoad>(bytes);
  }
};

}  // namespace

std::unique_ptr<ProcessTable> make_proc_table(std::string root) {
  return std::make_unique<ProcTable>(std::move(root));
}
std::unique_ptr<Signaller> make_kill_signaller() {
  return std::make_unique<KillSignaller>();
}
std::unique_ptr<Clock> make_system_clock() {
  return std::make_unique<SystemClock>();
}
std::unique_ptr<LoadRunner> make_thread_load_runner() {
  return std::make_unique<ThreadLoadRunner>();
}

std::optional<ProcessInfo> parse_proc_stat(const std::string& text) {
  // "PID (COMM) STATE PPID ..." where COMM may itself hold ") ": the name ends at the last ')'.
  const auto open = text.find('(');
  const auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return {};
  ProcessInfo info;
  info.pid = std::atoi(text.c_str());
  info.name = text.substr(open + 1, close - open - 1);
  std::istringstream rest(text.substr(close + 1));
  std::vector<std::string> f;  // f[0] is field 3 (state)
  for (std::string w; rest >> w;)
    f.push_back(w);
  if (f.size() < 20 || f[0].size() != 1) return {};
  info.state = f[0][0];
  info.ppid = std::atoi(f[1].c_str());
  info.kernel_thread = (std::strtoul(f[6].c_str(), nullptr, 10) & kPfKthread) != 0;
  info.start_time = std::strtoull(f[19].c_str(), nullptr, 10);
  if (info.pid <= 0) return {};
  return info;
}

std::optional<int> signal_number(const std::string& name) {
  static const std::pair<const char*, int> kSignals[] = {
      {"SIGKILL", SIGKILL}, {"SIGTERM", SIGTERM}, {"SIGINT", SIGINT},   {"SIGHUP", SIGHUP},
      {"SIGQUIT", SIGQUIT}, {"SIGABRT", SIGABRT}, {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2}};
  for (const auto& [n, s] : kSignals)
    if (name == n) return s;
  return {};
}

std::int64_t elapsed_ms(std::chrono::steady_clock::time_point from,
                        std::chrono::steady_clock::time_point to) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
  return ms < 0 ? 0 : ms;
}

}  // namespace achilles::injector
