// Fake OS mechanisms for the fault engine: a process table the test fills, a signaller that
// records instead of signalling, a clock the test moves, loads that only count.
#pragma once

#include <signal.h>

#include <map>
#include <utility>
#include <vector>

#include "achilles/injector/engine.h"
#include "achilles/injector/os.h"

namespace achilles::injector::testing {

class FakeProcs : public ProcessTable {
 public:
  std::map<int, ProcessInfo> procs;
  ProcessInfo& add(int pid, const std::string& name, const std::string& cmdline = "",
                   unsigned uid = 1000) {
    ProcessInfo p;
    p.pid = pid;
    p.ppid = 1;
    p.name = name;
    p.cmdline = cmdline.empty() ? name : cmdline;
    p.tgid = pid;
    p.uid = uid;
    p.euid = uid;
    p.start_time = 1000 + static_cast<std::uint64_t>(pid);
    p.state = 'S';
    return procs[pid] = p;
  }
  std::vector<ProcessInfo> list() const override {
    std::vector<ProcessInfo> out;
    for (const auto& [pid, p] : procs)
      out.push_back(p);
    return out;
  }
  std::optional<ProcessInfo> get(int pid) const override {
    auto it = procs.find(pid);
    if (it == procs.end()) return std::nullopt;
    return it->second;
  }
};

class FakeSignals : public Signaller {
 public:
  explicit FakeSignals(FakeProcs& p) : procs(p) {}
  FakeProcs& procs;
  std::vector<std::pair<int, int>> sent;
  int fail_with = 0;
  int send(int pid, int signal) override {
    if (fail_with) return fail_with;
    sent.emplace_back(pid, signal);
    auto it = procs.procs.find(pid);
    if (it == procs.procs.end()) return ESRCH;
    if (signal == SIGSTOP) it->second.state = 'T';
    if (signal == SIGCONT) it->second.state = 'S';
    if (signal == SIGKILL || signal == SIGTERM) procs.procs.erase(it);
    return 0;
  }
};

class FakeClock : public Clock {
 public:
  std::chrono::steady_clock::time_point t{std::chrono::hours(1)};
  std::chrono::steady_clock::time_point now() const override { return t; }
  std::chrono::system_clock::time_point wall() const override {
    return std::chrono::system_clock::time_point(t.time_since_epoch());
  }
  void advance(std::int64_t ms) { t += std::chrono::milliseconds(ms); }
};

class FakeLoads : public LoadRunner {
 public:
  int running = 0;
  struct Counted : Load {
    explicit Counted(int& r) : running(r) { ++running; }
    ~Counted() override { --running; }
    int& running;
  };
  std::unique_ptr<Load> cpu(int, double) override { return std::make_unique<Counted>(running); }
  std::unique_ptr<Load> memory(std::uint64_t) override {
    return std::make_unique<Counted>(running);
  }
  HostCapacity host{4, std::uint64_t{1} << 40, 0};
  HostCapacity capacity() const override { return host; }
};

class FakeToxics : public ToxicSink {
 public:
  std::map<std::string, std::string> toxics;  // toxic -> proxy
  void add_latency(const std::string& proxy, const std::string& toxic, std::int64_t,
                   std::int64_t) override {
    if (proxy != "redis") throw ApiError(404, "proxy not found: '" + proxy + "'");
    toxics[toxic] = proxy;
  }
  void remove_toxic(const std::string&, const std::string& toxic) override { toxics.erase(toxic); }
  void revert_all() override { toxics.clear(); }
};

/// Everything an engine needs, faked, with an allowlist of "redis-server" and "web-*".
struct Rig {
  FakeProcs procs;
  FakeSignals signals{procs};
  FakeClock clock;
  FakeLoads loads;
  FakeToxics toxics;
  EngineOptions options() const {
    EngineOptions o;
    o.guard.allow.processes = {"redis-server", "web-*"};
    o.guard.self_pid = 500;
    o.guard.parent_pid = 499;
    o.limits.max_cores = 4;
    return o;
  }
  EngineDeps deps() { return {procs, signals, clock, loads, &toxics}; }
};

}  // namespace achilles::injector::testing
