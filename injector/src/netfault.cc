// Network faults in the kernel (netfault.h).
//
// nftables through libnftables (Debian's libnftables-dev), not by running `nft`: the library
// takes the whole script as one buffer and sends it as one netlink batch, which the kernel
// applies as one transaction (all of a fault's table, chains and rules, or none of them), with
// no temporary file and no child process; its error text comes back in a buffer for the 500
// message. It is the same parser and code as the `nft` program, so every rule here can be
// tried by hand with `nft -f`.
//
// Qdiscs through the `tc` program (iproute2, on every Debian host), run with a fixed argument
// vector and no shell: a tbf qdisc's netlink message carries rate tables that tc computes
// (tc_calc_rtable) and that hand-written netlink code would have to copy, and no netlink
// library (libnl-route) is among the agent's dependencies. `tc -j` lists qdiscs as JSON.
#include "achilles/injector/netfault.h"

#include <fcntl.h>
#include <net/if.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

namespace achilles::injector {

using nlohmann::json;

std::string table_name(const std::string& id) {
  std::string out = "achilles_";
  for (char c : id)
    out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

namespace {

std::string set_of(const std::vector<std::string>& items) {
  std::string out = "{ ";
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i ? ", " : "") + items[i];
  return out + " }";
}

std::vector<std::string> cidrs_of(const std::vector<common::Cidr>& cidrs, int family) {
  std::vector<std::string> out;
  for (const auto& c : cidrs)
    if (c.family == family) out.push_back(c.str());
  return out;
}

// The address matches of one chain: `ip daddr {...}` and `ip6 daddr {...}` (one rule each),
// or one empty match for any address.
std::vector<std::string> address_matches(const std::vector<common::Cidr>& cidrs, bool out) {
  if (cidrs.empty()) return {""};
  const std::string dir = out ? "daddr " : "saddr ";
  std::vector<std::string> m;
  if (auto v4 = cidrs_of(cidrs, 4); !v4.empty()) m.push_back("ip " + dir + set_of(v4) + " ");
  if (auto v6 = cidrs_of(cidrs, 6); !v6.empty()) m.push_back("ip6 " + dir + set_of(v6) + " ");
  return m;
}

// The transport matches: ports at either end (one rule for each end), or the protocol.
std::vector<std::string> transport_matches(const NetworkSpec& n) {
  const std::string proto =
      n.protocol.empty() ? "meta l4proto { tcp, udp } " : "meta l4proto " + n.protocol + " ";
  if (n.action == "dns") return {proto + "th dport 53 "};
  if (!n.ports.empty()) {
    std::vector<std::string> ports;
    for (int p : n.ports)
      ports.push_back(std::to_string(p));
    return {proto + "th dport " + set_of(ports) + " ", proto + "th sport " + set_of(ports) + " "};
  }
  if (!n.protocol.empty()) return {proto};
  return {""};
}

// The verdicts of a scoped rule: one, or, for a reject of both protocols, a TCP reset for TCP
// and an ICMP port unreachable (ECONNREFUSED at the client) for the rest.
std::vector<std::string> verdicts(const NetworkSpec& n) {
  if (n.action == "loss") return {"numgen random mod 100 < " + std::to_string(n.percent) + " drop"};
  if (n.action == "reject") {
    if (n.protocol == "tcp") return {"reject with tcp reset"};
    if (n.protocol == "udp") return {"reject with icmpx type port-unreachable"};
    return {"meta l4proto tcp reject with tcp reset", "reject with icmpx type port-unreachable"};
  }
  return {"drop"};  // blackhole, dns
}

}  // namespace

std::string nft_script(const std::string& table, const NetworkSpec& n, std::uint16_t api_port) {
  std::ostringstream s;
  // `create` fails when the table exists: a fault never adds to a table it did not make.
  s << "create table inet " << table << "\n";
  s << "table inet " << table << " {\n";
  for (const bool out : {false, true}) {
    const bool wanted = n.action == "isolate" || n.direction == "both" ||
                        n.direction == (out ? "egress" : "ingress");
    if (!wanted) continue;
    s << "  chain " << (out ? "output" : "input") << " {\n";
    s << "    type filter hook " << (out ? "output" : "input") << " priority -10; policy accept;\n";
    // Never blocked: loopback, the agent's own API, and IPv6 neighbour discovery (without it
    // the API would become unreachable over IPv6 once the neighbour cache expires).
    s << "    " << (out ? "oifname" : "iifname") << " \"lo\" accept\n";
    if (api_port) s << "    tcp " << (out ? "sport " : "dport ") << api_port << " accept\n";
    s << "    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, "
         "nd-router-advert } accept\n";
    // A reject's own answers (a TCP reset, an ICMP unreachable) pass the chains they cross
    // on their way out; rejected again, they would be dropped, and clients would time out
    // instead of failing at once.
    if (n.action == "reject") {
      s << "    tcp flags & rst == rst accept\n";
      s << "    icmp type destination-unreachable accept\n";
      s << "    icmpv6 type destination-unreachable accept\n";
    }
    if (n.action == "isolate") {
      for (const auto& m : address_matches(n.except, out))
        if (!m.empty()) s << "    " << m << "accept\n";
      s << "    drop\n";
    } else {
      for (const auto& a : address_matches(n.to, out))
        for (const auto& t : transport_matches(n))
          for (const auto& v : verdicts(n))
            s << "    " << a << t << v << "\n";
    }
    s << "  }\n";
  }
  s << "}\n";
  return s.str();
}

std::vector<std::string> qdisc_add_args(const NetworkSpec& n) {
  std::vector<std::string> a = {"qdisc", "add", "dev", n.interface, "root", "handle", kQdiscHandle};
  if (n.action == "bandwidth") {
    // A burst of 20 ms at the rate, and never below 16000 bytes (more than a jumbo frame: a
    // packet larger than the burst could never pass).
    const std::int64_t burst = std::max<std::int64_t>(n.rate_kbit * 1000 / 8 / 50, 16000);
    a.insert(a.end(), {"tbf", "rate", std::to_string(n.rate_kbit) + "kbit", "burst",
                       std::to_string(burst), "latency", "400ms"});
  } else {
    a.insert(a.end(), {"netem", "delay", std::to_string(n.delay_ms) + "ms"});
    if (n.jitter_ms > 0) a.push_back(std::to_string(n.jitter_ms) + "ms");
  }
  return a;
}

namespace {

// One libnftables run: the whole buffer as one transaction. Empty on success, else the
// error text.
std::string run_nft(const std::string& script, std::string* output = nullptr) {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!ctx) return "cannot create an nftables context";
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  const int rc = nft_run_cmd_from_buffer(ctx, script.c_str());
  // Each buffer is read once: reading rewinds it, and a second read returns nothing.
  const char* err_text = nft_ctx_get_error_buffer(ctx);
  std::string err = err_text ? err_text : "";
  if (output) {
    const char* out_text = nft_ctx_get_output_buffer(ctx);
    *output = out_text ? out_text : "";
  }
  nft_ctx_free(ctx);
  if (rc == 0) return "";
  while (!err.empty() && (err.back() == '\n' || err.back() == ' '))
    err.pop_back();
  return err.empty() ? "nftables failed" : err;
}

std::string tc_program() {
  for (const char* p : {"/usr/sbin/tc", "/sbin/tc", "/usr/bin/tc", "/bin/tc"})
    if (::access(p, X_OK) == 0) return p;
  return "";
}

}  // namespace

RunResult run_program(const std::string& program, const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout) {
  RunResult r;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    r.output = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  // The child gets /dev/null, the pipe, and nothing else of the agent's: no listening or
  // client socket (asio opens them without O_CLOEXEC), and a fixed environment (no
  // TC_LIB_DIR that would make tc load a module from elsewhere).
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  std::vector<std::string> argv_s = {program};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string path_env = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char* envp[] = {path_env.data(), nullptr};
  pid_t pid = -1;
  const int err = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (err != 0) {
    ::close(fds[0]);
    r.output = "cannot run " + program + ": " + std::strerror(err);
    return r;
  }
  // It runs on the agent's only I/O thread: a program that hangs is killed at the deadline,
  // so that expiry, the lease, halt and DELETE go on.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;  // the deadline is checked above
    if (ready < 0) break;
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (r.output.size() < kMaxOutput)
      r.output.append(buf, static_cast<std::size_t>(n));
    else
      r.truncated = true;
  }
  ::close(fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (r.output.size() > kMaxOutput) {
    r.output.resize(kMaxOutput);
    r.truncated = true;
  }
  while (!r.output.empty() && (r.output.back() == '\n' || r.output.back() == ' '))
    r.output.pop_back();
  if (timed_out) {
    r.status = -1;
    r.output = program + " did not finish within " + std::to_string(timeout.count()) +
               " ms and was killed";
    return r;
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::vector<RootQdisc> parse_root_qdiscs(const RunResult& r, const std::string& dev) {
  if (r.status != 0) throw std::runtime_error("cannot list qdiscs: " + r.output);
  if (r.truncated)
    throw std::runtime_error("cannot list qdiscs: tc printed more than " +
                             std::to_string(kMaxOutput) + " bytes");
  const json list = json::parse(r.output, nullptr, false);
  if (!list.is_array())
    throw std::runtime_error("cannot list qdiscs: tc -j printed no JSON list: " +
                             r.output.substr(0, 200));
  std::vector<RootQdisc> out;
  for (const auto& q : list)
    if (q.is_object() && q.value("root", false))
      out.push_back({q.value("dev", dev), q.value("kind", ""), q.value("handle", "")});
  return out;
}

namespace {

// Runs `tc ARGS` (no shell) and collects what it printed.
RunResult run_tc(const std::vector<std::string>& args) {
  const std::string tc = tc_program();
  if (tc.empty()) {
    RunResult r;
    r.output = "the tc program (package iproute2) is not installed";
    return r;
  }
  return run_program(tc, args, kTcTimeout);
}

// The root qdiscs (of one interface, or of all with an empty `dev`), from `tc -j`.
std::vector<RootQdisc> root_qdiscs(const std::string& dev) {
  std::vector<std::string> args = {"-j", "qdisc", "show"};
  if (!dev.empty()) args.insert(args.end(), {"dev", dev});
  return parse_root_qdiscs(run_tc(args), dev);
}

bool contains(const std::string& text, const char* what) {
  return text.find(what) != std::string::npos;
}

class KernelNetworkFaults : public NetworkFaults {
 public:
  void install(const std::string& id, const NetworkSpec& n, std::uint16_t api_port) override {
    if (!n.qdisc()) {
      const std::string err = run_nft(nft_script(table_name(id), n, api_port));
      if (err.empty()) return;
      if (contains(err, "Operation not permitted"))
        throw ApiError(403, "nftables refused the fault's table: " + err +
                                " (the agent needs CAP_NET_ADMIN for network faults)");
      if (contains(err, "Protocol not supported") || contains(err, "No such file or directory"))
        throw ApiError(422,
                       "the kernel cannot run this fault's nftables table (needs nf_tables, "
                       "nft_reject_inet, nft_numgen): " +
                           err);
      throw ApiError(500, "cannot create nftables table " + table_name(id) + ": " + err);
    }
    if (::if_nametoindex(n.interface.c_str()) == 0)
      throw ApiError(404, "no interface '" + n.interface + "' on this host");
    for (const auto& q : root_qdiscs(n.interface)) {
      if (q.handle == kQdiscHandle)
        throw ApiError(409, "interface '" + n.interface +
                                "' already carries a qdisc of the agent's (" + q.kind +
                                ", handle " + q.handle + ")");
      if (q.handle != "0:")
        throw ApiError(409, "interface '" + n.interface + "' has a root qdisc of the host's own (" +
                                q.kind + ", handle " + q.handle + "): a network " + n.action +
                                " fault would replace it, and the agent replaces nothing of "
                                "the host's");
    }
    const RunResult r = run_tc(qdisc_add_args(n));
    if (r.status == 0) return;
    const std::string module = n.action == "bandwidth" ? "sch_tbf" : "sch_netem";
    if (contains(r.output, "qdisc kind is unknown"))
      throw ApiError(422, "the kernel has no " + module + " (the " +
                              (n.action == "bandwidth" ? "tbf" : "netem") +
                              " qdisc), which a network " + n.action +
                              " fault needs: load it (modprobe " + module +
                              ") or use a kernel that has it");
    if (contains(r.output, "Cannot find device"))
      throw ApiError(404, "no interface '" + n.interface + "' on this host");
    if (contains(r.output, "Exclusivity") || contains(r.output, "NLM_F_REPLACE") ||
        contains(r.output, "File exists"))
      throw ApiError(409, "interface '" + n.interface +
                              "' got a root qdisc of its own meanwhile; the agent replaces "
                              "nothing of the host's: " +
                              r.output);
    if (contains(r.output, "Operation not permitted"))
      throw ApiError(403, "tc refused the qdisc: " + r.output +
                              " (the agent needs CAP_NET_ADMIN for network faults)");
    throw ApiError(
        500, "cannot add the " + module.substr(4) + " qdisc on '" + n.interface + "': " + r.output);
  }

  void remove(const std::string& id, const NetworkSpec& n) override {
    if (!n.qdisc()) {
      const std::string table = table_name(id);
      const std::string err = run_nft("delete table inet " + table + "\n");
      if (err.empty() || contains(err, "No such file or directory")) return;
      throw std::runtime_error("cannot delete nftables table " + table + ": " + err);
    }
    // The kernel deletes the root qdisc only when its handle is ours: a qdisc someone put in
    // its place meanwhile is left alone.
    const RunResult r =
        run_tc({"qdisc", "del", "dev", n.interface, "root", "handle", kQdiscHandle});
    if (r.status == 0 || contains(r.output, "Cannot find device")) return;
    for (const auto& q : root_qdiscs(n.interface))
      if (q.handle == kQdiscHandle)
        throw std::runtime_error("cannot delete the qdisc on '" + n.interface + "': " + r.output);
  }

  std::vector<std::string> sweep() override {
    std::vector<std::string> done;
    std::string listing;
    if (auto err = run_nft("list tables\n", &listing); !err.empty()) {
      done.push_back("cannot list nftables tables: " + err);
    } else {
      std::istringstream lines(listing);
      for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::string word, family, name;
        if (!(words >> word >> family >> name) || word != "table") continue;
        // Only inet tables: the agent makes no other, and an achilles_ table of another
        // family is someone else's.
        if (family != "inet" || name.rfind("achilles_", 0) != 0) continue;
        const std::string what = "nftables table " + family + " " + name;
        const std::string failed = run_nft("delete table " + family + " " + name + "\n");
        done.push_back(failed.empty() ? "deleted " + what
                                      : "cannot delete " + what + ": " + failed);
      }
    }
    try {
      for (const auto& q : root_qdiscs("")) {
        if (q.handle != kQdiscHandle) continue;
        const RunResult r = run_tc({"qdisc", "del", "dev", q.dev, "root", "handle", kQdiscHandle});
        const std::string what = q.kind + " qdisc on '" + q.dev + "'";
        done.push_back(r.status == 0 ? "deleted " + what
                                     : "cannot delete " + what + ": " + r.output);
      }
    } catch (const std::exception& e) {
      done.push_back(e.what());
    }
    return done;
  }
};

}  // namespace

std::unique_ptr<NetworkFaults> make_kernel_network_faults() {
  return std::make_unique<KernelNetworkFaults>();
}

json check_network_support() {
  // The probes run in a child in a network namespace of its own, thrown away with it: they
  // add a real table and real qdiscs, and nothing of the host's may change.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(fds[0]);
    json out;
    if (::unshare(CLONE_NEWNET) != 0) {
      const std::string why = std::string("cannot probe: unshare(CLONE_NEWNET) failed: ") +
                              std::strerror(errno) + " (needs root)";
      out = {{"nftables", {{"usable", false}, {"detail", why}}},
             {"tbf", {{"usable", false}, {"detail", why}}},
             {"netem", {{"usable", false}, {"detail", why}}}};
    } else {
      NetworkSpec loss;
      loss.action = "loss";
      loss.percent = 1;
      loss.ports = {53};
      NetworkSpec reject;
      reject.action = "reject";
      NetworkSpec isolate;
      isolate.action = "isolate";
      std::string err = run_nft(nft_script("achilles_check_1", loss, 8474));
      if (err.empty()) err = run_nft(nft_script("achilles_check_2", reject, 8474));
      if (err.empty()) err = run_nft(nft_script("achilles_check_3", isolate, 8474));
      out["nftables"] = {{"usable", err.empty()},
                         {"detail", err.empty() ? "nf_tables with reject and numgen" : err}};
      for (const char* kind : {"tbf", "netem"}) {
        NetworkSpec q;
        q.action = std::string(kind) == "tbf" ? "bandwidth" : "delay";
        q.interface = "lo";
        q.rate_kbit = 1000;
        q.delay_ms = 10;
        const RunResult r = run_tc(qdisc_add_args(q));
        const std::string module = std::string("sch_") + kind;
        std::string detail = r.status == 0 ? module : r.output;
        if (contains(r.output, "qdisc kind is unknown")) detail = "the kernel has no " + module;
        out[kind] = {{"usable", r.status == 0}, {"detail", detail}};
        // The next probe needs the default root back.
        if (r.status == 0) run_tc({"qdisc", "del", "dev", "lo", "root", "handle", kQdiscHandle});
      }
    }
    const std::string text = out.dump() + "\n";
    (void)!::write(fds[1], text.data(), text.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  json out = json::parse(text, nullptr, false);
  if (!out.is_object()) throw std::runtime_error("the network probe failed");
  json actions = json::array();
  if (out["nftables"]["usable"] == true)
    for (const char* a : {"blackhole", "reject", "loss", "dns", "isolate"})
      actions.push_back(a);
  if (out["tbf"]["usable"] == true) actions.push_back("bandwidth");
  if (out["netem"]["usable"] == true) actions.push_back("delay");
  out["actions"] = actions;
  return out;
}

}  // namespace achilles::injector
