// The real operating-system mechanisms behind the interfaces of os.h: /proc, kill(2), the
// clocks, and stress loads in child processes.
#include "achilles/injector/os.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

namespace achilles::injector {

namespace {

// PF_KTHREAD in the flags field of /proc/PID/stat (include/linux/sched.h).
constexpr unsigned long kPfKthread = 0x00200000;

// At most `max` bytes of a file (of /proc: no FIFO there, and reads are cheap).
bool read_file(const std::string& path, std::string& out, std::size_t max = 65536) {
  out.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return false;
  char buf[4096];
  while (out.size() < max) {
    const ssize_t n = ::read(fd, buf, std::min(sizeof buf, max - out.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return true;
}

// The first number of a "Key:\tN\tN..." line of /proc/PID/status, or the `index`th.
bool status_number(const std::string& text, const char* key, std::size_t index,
                   unsigned long& out) {
  const std::string k = std::string("\n") + key + ":";
  auto at = text.rfind(key, 0) == 0 ? 0 : text.find(k);
  if (at == std::string::npos) return false;
  if (at != 0) ++at;
  std::istringstream in(text.substr(at + std::strlen(key) + 1, 128));
  unsigned long v = 0;
  for (std::size_t i = 0; i <= index; ++i)
    if (!(in >> v)) return false;
  out = v;
  return true;
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
    if (read_file(base + "/cmdline", text, kMaxCmdline)) {
      while (!text.empty() && text.back() == '\0')
        text.pop_back();
      std::replace(text.begin(), text.end(), '\0', ' ');
      info->cmdline = text;
    }
    if (!read_file(base + "/status", text)) return std::nullopt;
    unsigned long tgid = 0, uid = 0, euid = 0;
    // Without Tgid and both uids the process cannot be judged: treat it as gone.
    if (!status_number(text, "Tgid", 0, tgid) || !status_number(text, "Uid", 0, uid) ||
        !status_number(text, "Uid", 1, euid))
      return std::nullopt;
    info->tgid = static_cast<int>(tgid);
    info->uid = static_cast<unsigned>(uid);
    info->euid = static_cast<unsigned>(euid);
    char exe[PATH_MAX];
    const ssize_t n = ::readlink((base + "/exe").c_str(), exe, sizeof exe - 1);
    if (n > 0) info->exe.assign(exe, static_cast<std::size_t>(n));
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

// ---- Stress loads in child processes ----
//
// The agent forks (no exec) and the child runs only async-signal-safe calls (the agent may
// have other threads, whose locks a forked child must not touch): a busy loop on
// clock_gettime and nanosleep, or mmap and a page-touching loop, then pause. A child waits
// on a pipe until the parent has placed it (in its cgroup), so that no load runs before it
// is contained.

void child_prepare(pid_t parent, int go_fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) _exit(0);  // the agent died before the line above
  prctl(PR_SET_NAME, "achilles-stress", 0, 0, 0);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < 32; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  const int oom = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (oom >= 0) {
    (void)!::write(oom, "1000", 4);
    ::close(oom);
  }
  char go = 0;
  while (::read(go_fd, &go, 1) < 0 && errno == EINTR) {
  }
  if (go != 'g') _exit(0);
  // Nothing of the agent's (sockets, the state file's lock) stays open in the child.
  if (::syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
    for (int fd = 3; fd < 65536; ++fd)
      ::close(fd);
}

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

[[noreturn]] void cpu_child(double load) {
  const std::int64_t period = 100000000;  // 100 ms
  const auto busy = static_cast<std::int64_t>(static_cast<double>(period) * load);
  for (;;) {
    const std::int64_t start = now_ns();
    volatile std::uint64_t sink = 0;
    while (now_ns() - start < busy)
      sink = sink + 1;
    const std::int64_t rest = period - (now_ns() - start);
    if (rest > 0) {
      timespec ts{static_cast<time_t>(rest / 1000000000), static_cast<long>(rest % 1000000000)};
      nanosleep(&ts, nullptr);
    }
  }
}

[[noreturn]] void memory_child(std::uint64_t bytes, long page) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) _exit(1);
  char* base = static_cast<char*>(p);
  for (std::uint64_t off = 0; off < bytes; off += static_cast<std::uint64_t>(page))
    base[off] = 1;
  for (;;)
    pause();
}

// Where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup on a pure v2 host,
// /sys/fs/cgroup/unified on a hybrid one (v1 controllers beside a v2 tree that has none, as
// on the machine this is tested on); read from /proc/self/mountinfo ("... - cgroup2 ...").
std::optional<std::string> cgroup2_mount() {
  std::string text;
  if (!read_file("/proc/self/mountinfo", text, 1 << 20)) return {};
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto dash = line.find(" - cgroup2 ");
    if (dash == std::string::npos) continue;
    std::istringstream fields(line.substr(0, dash));
    std::string id, parent, dev, root, mount;
    if (fields >> id >> parent >> dev >> root >> mount && root == "/") return mount;
  }
  return {};
}

// The agent's own cgroup in the v2 hierarchy ("0::/PATH" of /proc/self/cgroup), if the agent
// may create cgroups there; nothing on a host without cgroup v2.
std::optional<std::string> cgroup2_dir() {
  const auto mount = cgroup2_mount();
  if (!mount) return {};
  std::string text;
  if (!read_file("/proc/self/cgroup", text)) return {};
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("0::", 0) == 0) {
      // A process moved out of its cgroup namespace's root sees "/../x": that is outside the
      // mount, on the ordinary filesystem, where nothing must be made.
      const std::string path = line.substr(3);
      if (path.empty() || path[0] != '/' || ("/" + path + "/").find("/../") != std::string::npos)
        return {};
      std::string dir = *mount + path;
      while (dir.size() > 1 && dir.back() == '/')
        dir.pop_back();
      if (::access(dir.c_str(), W_OK) == 0) return dir;
      return {};
    }
  return {};
}

bool write_text(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

class ProcessLoad final : public Load {
 public:
  ~ProcessLoad() override {
    for (pid_t pid : pids_) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    for (const auto& dir : cgroups_)
      ::rmdir(dir.c_str());
  }
  std::vector<int> pids() const override { return {pids_.begin(), pids_.end()}; }

  // Forks one child that runs `work` once placed; throws when it cannot.
  template <typename Work>
  void spawn(Work work, std::optional<std::uint64_t> memory_max) {
    int go[2];
    if (::pipe2(go, O_CLOEXEC) != 0)
      throw std::runtime_error(std::string("cannot start a stress process: pipe: ") +
                               std::strerror(errno));
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int err = errno;
      ::close(go[0]);
      ::close(go[1]);
      throw std::runtime_error(std::string("cannot start a stress process: fork: ") +
                               std::strerror(err));
    }
    if (pid == 0) {
      child_prepare(parent, go[0]);
      work();
    }
    ::close(go[0]);
    pids_.push_back(pid);
    place(pid, memory_max);
    (void)!::write(go[1], "g", 1);
    ::close(go[1]);
  }

 private:
  // Its own cgroup where the host has a writable cgroup v2 hierarchy; else it stays where
  // the agent is (oom_score_adj still makes it the OOM killer's choice).
  void place(pid_t pid, std::optional<std::uint64_t> memory_max) {
    static const std::optional<std::string> base = cgroup2_dir();
    if (!base) return;
    const std::string dir = *base + "/achilles-stress-" + std::to_string(pid);
    if (::mkdir(dir.c_str(), 0755) != 0) return;
    // Headroom for the child's own pages on top of the load.
    if (memory_max) write_text(dir + "/memory.max", std::to_string(*memory_max + (16u << 20)));
    if (!write_text(dir + "/cgroup.procs", std::to_string(pid))) {
      ::rmdir(dir.c_str());
      return;
    }
    cgroups_.push_back(dir);
  }

  std::vector<pid_t> pids_;
  std::vector<std::string> cgroups_;
};

class ProcessLoadRunner final : public LoadRunner {
 public:
  // Cgroups of stress workers that a killed agent left (its workers died with it, so they are
  // empty): removed. rmdir refuses a cgroup that still has a process.
  ProcessLoadRunner() {
    const auto base = cgroup2_dir();
    if (!base) return;
    if (DIR* d = opendir(base->c_str())) {
      while (dirent* e = readdir(d))
        if (std::strncmp(e->d_name, "achilles-stress-", 16) == 0)
          ::rmdir((*base + "/" + e->d_name).c_str());
      closedir(d);
    }
  }
  std::unique_ptr<Load> cpu(int cores, double load) override {
    auto l = std::make_unique<ProcessLoad>();
    for (int i = 0; i < cores; ++i)
      l->spawn([load] { cpu_child(load); }, std::nullopt);
    return l;
  }
  std::unique_ptr<Load> memory(std::uint64_t bytes) override {
    auto l = std::make_unique<ProcessLoad>();
    const long page = sysconf(_SC_PAGESIZE);
    l->spawn([bytes, page] { memory_child(bytes, page); }, bytes);
    return l;
  }
  HostCapacity capacity() const override {
    HostCapacity c;
    c.cpus = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
    std::string text;
    unsigned long total_kb = 0, avail_kb = 0;
    if (!read_file("/proc/meminfo", text) || !status_number(text, "MemTotal", 0, total_kb) ||
        !status_number(text, "MemAvailable", 0, avail_kb))
      return c;
    std::uint64_t avail = static_cast<std::uint64_t>(avail_kb) * 1024;
    if (auto room = cgroup_room()) avail = std::min(avail, *room);
    // 5% of the RAM, at least 128 MiB: the host's own work keeps that much.
    c.memory_margin = std::max<std::uint64_t>(128ull << 20, total_kb * 1024ull / 20);
    c.memory_available = avail > c.memory_margin ? avail - c.memory_margin : 0;
    return c;
  }

 private:
  // What the agent's memory cgroup still allows (v2 memory.max, v1 limit_in_bytes), if any.
  static std::optional<std::uint64_t> cgroup_room() {
    std::string text;
    if (!read_file("/proc/self/cgroup", text)) return {};
    std::istringstream lines(text);
    std::vector<std::pair<std::string, std::string>> candidates;  // limit, usage
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("0::", 0) == 0) {
        static const std::optional<std::string> mount = cgroup2_mount();
        if (!mount) continue;
        const std::string d = *mount + line.substr(3);
        candidates.emplace_back(d + "/memory.max", d + "/memory.current");
      } else if (auto at = line.find(":memory:"); at != std::string::npos) {
        const std::string d = "/sys/fs/cgroup/memory" + line.substr(at + 8);
        candidates.emplace_back(d + "/memory.limit_in_bytes", d + "/memory.usage_in_bytes");
        // In a cgroup namespace the agent's own cgroup is the mount's root.
        candidates.emplace_back("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                "/sys/fs/cgroup/memory/memory.usage_in_bytes");
      }
    }
    for (const auto& [limit_file, usage_file] : candidates) {
      std::string limit, usage;
      if (!read_file(limit_file, limit, 64) || !read_file(usage_file, usage, 64)) continue;
      if (limit.rfind("max", 0) == 0) return {};
      const auto l = std::strtoull(limit.c_str(), nullptr, 10);
      const auto u = std::strtoull(usage.c_str(), nullptr, 10);
      return l > u ? l - u : 0;
    }
    return {};
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
std::unique_ptr<LoadRunner> make_process_load_runner() {
  return std::make_unique<ProcessLoadRunner>();
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
