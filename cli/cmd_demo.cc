// achilles demo [--out DIR]: a small real system on loopback (haproxy in front of two web
// backends that call a data store through the agent's proxy), analyzed, drilled, reported, and
// stopped: everything Achilles is for, on one machine, in about half a minute.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "achilles/analyzer/analysis.h"
#include "achilles/analyzer/loader.h"
#include "achilles/common/diagnostic.h"
#include "achilles/common/text.h"
#include "achilles/drill/derive.h"
#include "achilles/drill/runner.h"
#include "achilles/drill/schedule.h"
#include "achilles/reports/drill.h"
#include "achilles/reports/html.h"
#include "achilles/reports/render.h"
#include "command.h"
#include "service_py.h"

namespace achilles::cli {
namespace {

using common::join;

namespace fs = std::filesystem;
using nlohmann::json;

volatile sig_atomic_t g_interrupted = 0;
extern "C" void on_interrupt(int) {
  g_interrupted = 1;
}

void catch_interrupts() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

/// A failure of the demo's own machinery (a tool missing, a process that would not start):
/// exit 3, after everything started is stopped.
struct DemoError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct Interrupted {};

void check_interrupt() {
  if (g_interrupted) throw Interrupted{};
}

/// An executable in PATH, or "".
std::string in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
  for (std::string dir; std::getline(ss, dir, ':');) {
    const std::string p = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

/// achilles-agent next to this binary (installed), in the build tree, or in PATH.
std::string find_agent() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const fs::path& p : {self.parent_path() / "achilles-agent",
                              self.parent_path().parent_path() / "injector" / "achilles-agent"})
      if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return in_path("achilles-agent");
}

/// A loopback port that was free a moment ago.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw DemoError(std::string("cannot find a free loopback port: ") + std::strerror(errno));
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

bool listening(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::string tail_of(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}

/// Every process the demo starts, each in its own process group (so that a Ctrl-C reaches
/// the demo, which then stops them in order) and set to die with the demo. Stopping is
/// SIGTERM, then SIGKILL for whatever is still there after a grace period.
class Processes {
 public:
  struct Proc {
    pid_t pid;
    std::string name;
    std::string log;
    bool reaped = false;
  };

  ~Processes() { stop_all(); }

  void start(const std::string& name, const std::vector<std::string>& argv,
             const std::string& log) {
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw DemoError("cannot start " + name + ": " + std::strerror(errno));
    if (pid == 0) {
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(1);
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (out >= 0) ::dup2(out, 1), ::dup2(out, 2);
      if (in >= 0) ::dup2(in, 0);
      std::vector<char*> args;
      for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
      ::_exit(127);
    }
    procs_.push_back({pid, name, log});
  }

  /// Throws DemoError when a process the demo started has exited.
  void check_alive() {
    for (auto& p : procs_) {
      int status = 0;
      if (!p.reaped && ::waitpid(p.pid, &status, WNOHANG) == p.pid) {
        p.reaped = true;
        throw DemoError(p.name + " exited at start: " + tail_of(p.log) + " (log: " + p.log + ")");
      }
    }
  }

  /// Waits until something listens on `port`, for the process `name`.
  void wait_listening(int port, const std::string& name) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!listening(port)) {
      check_interrupt();
      check_alive();
      if (std::chrono::steady_clock::now() > deadline)
        throw DemoError(name + " does not listen on 127.0.0.1:" + std::to_string(port) +
                        " after 15 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  /// Stops everything, newest first; returns how many processes were stopped.
  std::size_t stop_all() {
    std::size_t n = 0;
    for (auto it = procs_.rbegin(); it != procs_.rend(); ++it)
      if (!it->reaped) ::kill(it->pid, SIGTERM), ++n;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (auto& p : procs_) {
      while (!p.reaped) {
        int status = 0;
        const pid_t r = ::waitpid(p.pid, &status, WNOHANG);
        if (r == p.pid || (r < 0 && errno == ECHILD)) {
          p.reaped = true;
        } else if (std::chrono::steady_clock::now() > deadline) {
          ::kill(-p.pid, SIGKILL);  // its whole group: a supervisor and its service
          ::kill(p.pid, SIGKILL);
          ::waitpid(p.pid, &status, 0);
          p.reaped = true;
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    }
    return n;
  }

 private:
  std::vector<Proc> procs_;
};

/// Processes whose command line mentions `marker` (the demo's own files): after the stop,
/// there must be none.
std::vector<pid_t> leftovers(const std::string& marker) {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmd.find(marker) != std::string::npos && std::stoi(name) != ::getpid())
      out.push_back(std::stoi(name));
  }
  return out;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw DemoError("cannot write " + path);
}

int run_demo(const Args& args) {
  const std::string out_dir = args.get("out").value_or("achilles-demo");
  const std::string python = in_path("python3");
  const std::string haproxy = in_path("haproxy");
  const std::string agent = find_agent();
  if (python.empty() || haproxy.empty() || agent.empty())
    throw DemoError(std::string("the demo needs ") + (python.empty() ? "python3 " : "") +
                    (haproxy.empty() ? "haproxy " : "") + (agent.empty() ? "achilles-agent " : "") +
                    "installed: ./scripts/quickstart installs and builds them");
  std::error_code ec;
  fs::create_directories(fs::path(out_dir) / "logs", ec);
  if (ec)
    throw common::UsageError("achilles demo: error: cannot create " + out_dir + ": " +
                             ec.message());
  const std::string dir = fs::canonical(out_dir).string();
  const std::string logs = dir + "/logs";
  const std::string service = dir + "/service.py";
  write_file(service, kServicePy);
  // Logs of an earlier run would mix with this one's.
  for (const auto& e : fs::directory_iterator(logs))
    fs::remove(e.path(), ec);

  catch_interrupts();
  const auto started = std::chrono::steady_clock::now();
  std::cout << "achilles demo: a real system on loopback, analyzed, drilled and stopped; "
               "outputs in "
            << out_dir << "/\n"
            << std::flush;
  Processes procs;
  int code = 0;
  try {
    const int agent_port = free_port(), store_port = free_port(), proxy_port = free_port(),
              web1 = free_port(), web2 = free_port(), www = free_port();
    const std::string agent_addr = "127.0.0.1:" + std::to_string(agent_port);
    // The services' process names carry the agent's port ("d45553-web-1", within the
    // kernel's 15 characters), and the agent may signal only those: a kill by name acts on
    // every process of that name, and the demo must never touch one of the machine's own
    // that happens to be called web-1 or store.
    const std::string tag = "d" + std::to_string(agent_port) + "-";
    procs.start("achilles-agent",
                {agent, "--listen", agent_addr, "--insecure-loopback", "--state-file",
                 dir + "/agent-state.json", "--audit-log", logs + "/agent-audit.jsonl",
                 "--allow-process", tag + "web-*", "--allow-process", tag + "store", "--proxy",
                 "store,127.0.0.1:" + std::to_string(proxy_port) +
                     ",127.0.0.1:" + std::to_string(store_port)},
                logs + "/agent.log");
    // The store comes back 3 s after it dies, the web backends after 0.5 s: a supervisor
    // (systemd's Restart=) that the agent sees restoring the process.
    procs.start("store",
                {python, service, "store", "--name", tag + "store", "--port",
                 std::to_string(store_port), "--restart-after", "3"},
                logs + "/store.log");
    for (int i : {1, 2})
      procs.start("web-" + std::to_string(i),
                  {python, service, "web", "--name", tag + "web-" + std::to_string(i), "--port",
                   std::to_string(i == 1 ? web1 : web2), "--store",
                   "127.0.0.1:" + std::to_string(proxy_port), "--restart-after", "0.5"},
                  logs + "/web-" + std::to_string(i) + ".log");
    std::ostringstream cfg;
    cfg << "# haproxy for `achilles demo`: round robin over two web backends, health-checked\n"
        << "global\n  maxconn 512\n"
        << "defaults\n  mode http\n  timeout connect 300ms\n  timeout client 5s\n"
        << "  timeout server 1500ms\n  retries 2\n  option redispatch\n"
        << "frontend www\n  bind 127.0.0.1:" << www << "\n  default_backend web\n"
        << "backend web\n  balance roundrobin\n  option httpchk GET /health\n"
        << "  default-server inter 200ms fall 2 rise 2\n"
        << "  server web-1 127.0.0.1:" << web1 << " check\n"
        << "  server web-2 127.0.0.1:" << web2 << " check\n";
    write_file(dir + "/haproxy.cfg", cfg.str());
    procs.start("haproxy", {haproxy, "-f", dir + "/haproxy.cfg", "-db"}, logs + "/haproxy.log");
    procs.wait_listening(agent_port, "achilles-agent");
    procs.wait_listening(store_port, "the store");
    procs.wait_listening(web1, "web-1");
    procs.wait_listening(web2, "web-2");
    procs.wait_listening(www, "haproxy");
    std::cout << "  up: haproxy on 127.0.0.1:" << www << " -> web-1 (:" << web1
              << "), web-2 (:" << web2 << ") -> the agent's proxy (:" << proxy_port
              << ") -> store (:" << store_port << "); agent on " << agent_addr << "\n";

    // 1. The topology of what is running, and its analysis.
    std::ostringstream topo;
    topo << "# Written by `achilles demo`: the system it started on this machine.\n"
         << "version: 1\nname: demo shop\n"
         << "domains:\n  - {id: this-host, kind: host}\n"
         << "components:\n"
         << "  - {id: lb, kind: haproxy, domain: this-host, depends_on: [web], target: {agent: \""
         << agent_addr << "\", port: \"" << www << "\"}}\n";
    for (int i : {1, 2})
      // The backends wait 1 s for the store (service.py --store-timeout): the derived latency
      // stays below it.
      topo << "  - {id: web-" << i << ", kind: web, domain: this-host, "
           << "depends_on: [{id: store, timeout_ms: 1000}], "
           << "target: {agent: \"" << agent_addr << "\", process: " << tag << "web-" << i << "}}\n";
    topo << "  - {id: store, kind: database, domain: this-host, target: {agent: \"" << agent_addr
         << "\", process: " << tag << "store, proxy: store}}\n"
         << "services:\n  - {id: web, members: [web-1, web-2], min_healthy: 1}\n"
         << "entrypoints:\n  - {id: www, target: lb, labels: {url: \"http://127.0.0.1:" << www
         << "/\"}}\n";
    const std::string topo_path = dir + "/topology.yaml";
    write_file(topo_path, topo.str());
    auto topology = analyzer::load_topology(topo_path);
    analyzer::AnalysisOptions options;
    auto analysis = analyzer::analyze(topology, options);
    const json analysis_json = analyzer::to_json(topology, analysis);
    write_file(dir + "/analysis.json", analysis_json.dump(2) + "\n");
    write_file(dir + "/report.html", reports::format_html(topology, analysis_json));
    write_file(dir + "/graph.svg", reports::render(topology, analysis_json, {}, "svg"));
    std::vector<std::string> spofs, domains;
    for (const auto& f : analysis.findings) {
      if (f.kind == "spof") spofs.push_back(join(f.subject, "+"));
      if (f.kind == "domain_spof") domains.push_back(join(f.subject, "+"));
    }
    std::cout << "analysis: single points of failure: " << join(spofs, ", ")
              << (domains.empty() ? "" : "; failure domain: " + join(domains, ", "))
              << "; web-1 and web-2 are redundant (web needs 1 of 2)\n";

    // 2. The drill the analysis predicts, run against the live system.
    drill::DeriveOptions derive;
    derive.gap_ms = 8000;
    derive.recover_within_ms = 5000;
    derive.latency_ms =
        700;  // above the probe's p99 objective (500 ms), below the backends' 1 s store timeout
    derive.include_spofs = true;
    // Everything runs on this host's loopback, which an isolate never blocks: losing
    // `this-host` could not be seen from here (a zone loss needs hosts apart, docs/game-day.md).
    derive.include_domains = false;
    const std::string plan_path = dir + "/drill.yaml";
    write_file(plan_path, drill::derive_plan(topology, topo_path, plan_path, derive).yaml);
    auto plan = drill::load_resolved_plan(plan_path);
    std::cout << "drill: " << plan.steps.size() << " steps derived from the predictions ("
              << plan_path << "); it takes about "
              << (plan.hold_ms + plan.step_end_ms(plan.steps.size() - 1)) / 1000 << " s\n"
              << std::flush;
    check_interrupt();
    drill::RunOptions run_options;
    run_options.log = [](const std::string& line) {
      std::cout << (stderr_is_terminal() ? "\r\033[K" : "") << "  " << line << "\n" << std::flush;
    };
    if (stderr_is_terminal())
      run_options.status = [](const std::string& line) {
        std::cerr << "\r\033[K" << line << std::flush;
      };
    const json journal = drill::run(plan, run_options);
    catch_interrupts();  // the runner's own handling of Ctrl-C has ended
    write_file(dir + "/journal.json", journal.dump(2) + "\n");
    write_file(dir + "/drill.html", reports::drill_html(journal));
    write_file(dir + "/drill.xml", reports::drill_junit(journal));
    drill::append_history(dir + "/history.jsonl", journal);
    std::cout << drill::format_summary(journal);
    for (const auto& p : journal["predictions"])
      if (!p["agreed"].is_null())
        std::cout << "  prediction " << p.value("kind", "") << " " << p.value("subject", "") << ": "
                  << (p["agreed"].get<bool>() ? "confirmed" : "NOT confirmed")
                  << " by the live system\n";
    code = drill::exit_code(journal);
  } catch (const Interrupted&) {
    std::cout << "\ninterrupted: stopping everything the demo started\n";
    code = 1;
  } catch (const DemoError& e) {
    const std::size_t n = procs.stop_all();
    std::cerr << "achilles demo: error: " << e.what() << "\n";
    std::cerr << "stopped the " << n << " processes the demo had started\n";
    return 3;
  }
  const std::size_t stopped = procs.stop_all();
  auto left = leftovers(service);
  for (pid_t p : left)
    ::kill(p, SIGKILL);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "stopped the " << stopped << " processes the demo started"
            << (left.empty() ? "" : " (and killed " + std::to_string(left.size()) + " left behind)")
            << "; " << static_cast<int>(seconds) << " s in all\n"
            << "wrote " << out_dir << "/: report.html (planning review), graph.svg, "
            << "analysis.json, drill.yaml, drill.html (drill report), journal.json, drill.xml, "
               "topology.yaml; and what ran: haproxy.cfg, service.py, logs/, history.jsonl\n";
  return code;
}

const Registrar registrar{Command{
    CommandSpec{
        .name = "demo",
        .usage = "[--out DIR]",
        .summary = "bring up a small live system, analyze it, drill it, write the reports",
        .description =
            "Starts, on loopback only, a real haproxy in front of two web backends (each under\n"
            "a supervisor that restarts it) that call a data store through a proxy of a real\n"
            "achilles-agent; writes its topology; analyzes it (the store is a single point of\n"
            "failure, the web backends are redundant); derives a drill from the predictions and\n"
            "runs it: kill one backend (failover verified, recovery measured), add latency to\n"
            "the store (degraded, latency measured), kill the store (the predicted outage\n"
            "confirmed). Writes the planning-review report, the graph, the drill report and the\n"
            "journal into DIR, and stops everything it started, also on Ctrl-C or a failure.\n"
            "Needs python3 and haproxy (./scripts/quickstart installs them).\n"
            "Exit 0: every prediction confirmed; 1: one was not, or interrupted; 3: the system\n"
            "could not be started.",
        .options = {{.name = "out",
                     .value_name = "DIR",
                     .help = "where to write the outputs (default ./achilles-demo)"}},
        .min_positionals = 0,
        .max_positionals = 0,
        .examples = "  achilles demo\n  achilles demo --out /tmp/demo\n",
    },
    run_demo}};

}  // namespace
}  // namespace achilles::cli
