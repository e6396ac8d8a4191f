// Probes (see probe.h): an exec probe is spawned without a shell and killed at its timeout,
// a TCP probe is a connect, an HTTP probe a request judged by its status and body, a
// prometheus probe an instant query judged by its one value.
#include "probe.h"

#include "achilles/drill/runner.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include <asio/experimental/awaitable_operators.hpp>

extern char** environ;

namespace achilles::drill {

using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {

/// An exec probe's child, in a process group of its own: killed (the whole group, so that a
/// shell's children go too) and reaped when the sample ends without its exit, at the timeout,
/// or when the drill stops with the sample still running (the run's io_context then destroys
/// the suspended coroutine, and with it this guard: at the end of a drill and on Ctrl-C).
struct ChildGuard {
  pid_t pid = -1;
  bool reaped = false;
  void kill_and_reap() {
    if (pid <= 0 || reaped) return;
    ::kill(-pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    reaped = true;
  }
  ~ChildGuard() { kill_and_reap(); }
};

/// One exec sample: spawn without a shell, poll for the exit, kill at the timeout.
awaitable<std::pair<bool, std::string>> exec_once(const ProbeSpec& p) {
  std::vector<char*> argv;
  for (const auto& a : p.command)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) co_return std::pair{false, "cannot run '" + p.command[0] + "': " + strerror(rc)};
  ChildGuard child{pid};
  const auto deadline = Clock::now() + std::chrono::milliseconds(p.timeout_ms);
  asio::steady_timer t(co_await asio::this_coro::executor);
  while (true) {
    int status = 0;
    // Exited? Asked without reaping (WNOWAIT): while the leader is a zombie its group id
    // cannot be reused, so killing what the probe left in its group cannot hit anyone else.
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid) {
      ::kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      child.reaped = true;
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) co_return std::pair{true, std::string()};
      co_return std::pair{false, WIFEXITED(status)
                                     ? "exit code " + std::to_string(WEXITSTATUS(status))
                                     : "killed by signal " + std::to_string(WTERMSIG(status))};
    }
    if (Clock::now() >= deadline) {
      child.kill_and_reap();
      co_return std::pair{false, "timed out after " + std::to_string(p.timeout_ms) + " ms"};
    }
    t.expires_after(std::chrono::milliseconds(5));
    std::error_code ec;
    co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

/// A TCP connect; the error's message, or "" on success. It never throws: `||` below would
/// otherwise wait for the timeout after a connection refused at once.
awaitable<std::string> tcp_once(std::string host, std::string port) {
  try {
    tcp::socket s = co_await connect(host, port);
  } catch (const std::system_error& e) {
    co_return e.code().message();
  }
  co_return std::string();
}

}  // namespace

ProbeState make_probe_state(const ProbeSpec& spec) {
  ProbeState s;
  s.spec = &spec;
  if (spec.kind == ProbeKind::kHttp || spec.kind == ProbeKind::kPrometheus) {
    s.url = parse_url(spec.url);
    s.tls = probe_tls(spec);
  }
  return s;
}

std::string url_encode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string prometheus_target(const std::string& base_path, const std::string& query) {
  std::string path = base_path;
  while (!path.empty() && path.back() == '/')
    path.pop_back();
  return path + "/api/v1/query?query=" + url_encode(query);
}

std::string prometheus_authorization(const ProbeSpec& spec) {
  if (!spec.bearer_token.empty()) return "Bearer " + spec.bearer_token;
  if (spec.basic_auth_user.empty() && spec.basic_auth_password.empty()) return "";
  // Base64 by OpenSSL (already linked for TLS) rather than by hand.
  const std::string plain = spec.basic_auth_user + ":" + spec.basic_auth_password;
  std::string encoded(4 * ((plain.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                reinterpret_cast<const unsigned char*>(plain.data()),
                                static_cast<int>(plain.size()));
  encoded.resize(static_cast<std::size_t>(n));
  return "Basic " + encoded;
}

namespace {

std::string excerpt(const std::string& body) {
  std::string s = body.size() > 80 ? body.substr(0, 80) + "..." : body;
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

std::string number_text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

ProbeResult interpret_prometheus(const ProbeSpec& spec, const HttpResult& r) {
  using nlohmann::json;
  if (!r.error.empty()) return {false, r.error, std::nullopt};
  const json j = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  const std::string http = "HTTP " + std::to_string(r.status);
  if (j.is_discarded() || !j.is_object()) {
    if (r.status != 200)
      return {false, http + (r.body.empty() ? "" : ": " + excerpt(r.body)), std::nullopt};
    return {false, "the answer is not Prometheus's JSON: " + excerpt(r.body), std::nullopt};
  }
  const auto text = [&](const json& o, const char* key) -> std::string {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : "";
  };
  if (text(j, "status") == "error")
    return {false,
            "Prometheus answered " + http + ": " +
                (text(j, "errorType").empty() ? "" : text(j, "errorType") + ": ") +
                text(j, "error"),
            std::nullopt};
  if (r.status != 200 || text(j, "status") != "success")
    return {false, http + " without a successful answer: " + excerpt(r.body), std::nullopt};
  const auto data = j.find("data");
  if (data == j.end() || !data->is_object())
    return {false, "the answer has no 'data'", std::nullopt};
  const std::string type = text(*data, "resultType");
  const auto result = data->find("result");
  if (result == data->end()) return {false, "the answer has no 'data.result'", std::nullopt};
  const json* pair = nullptr;  // [time, "value"]
  if (type == "scalar") {
    pair = &*result;
  } else if (type == "vector") {
    if (!result->is_array()) return {false, "'data.result' is not a list", std::nullopt};
    if (result->empty())
      return {false, "the query returned no sample (an empty vector)", std::nullopt};
    if (result->size() > 1)
      return {false,
              "the query returned " + std::to_string(result->size()) +
                  " series; a probe judges one value: aggregate them (e.g. sum(...) or max(...))",
              std::nullopt};
    const json& series = (*result)[0];
    if (!series.is_object() || !series.contains("value"))
      return {false, "the series has no 'value'", std::nullopt};
    pair = &series["value"];
  } else {
    return {false,
            "the query returned a " + (type.empty() ? std::string("result of no type") : type) +
                ", not an instant value (a scalar or a vector of one series)",
            std::nullopt};
  }
  if (!pair->is_array() || pair->size() != 2 || !(*pair)[1].is_string())
    return {false, "the value is not [time, \"number\"]", std::nullopt};
  const std::string v = (*pair)[1].get<std::string>();
  char* end = nullptr;
  const double value = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0')
    return {false, "the value '" + v + "' is not a number", std::nullopt};
  // NaN (0/0, a ratio of no traffic) compares false with everything: neither healthy nor
  // down would be honest, so it is no value at all.
  if (std::isnan(value)) return {false, "the value is NaN", std::nullopt};
  if (spec.down_when && spec.down_when->holds(value))
    return {false,
            "the value " + number_text(value) + " is " + spec.down_when->str() + " (down_when)",
            value};
  return {true, "", value};
}

/// Takes one sample of `p`: success and latency (for a failure, the time it took to fail).
awaitable<ProbeResult> sample_once(ProbeState& p) {
  const ProbeSpec& spec = *p.spec;
  switch (spec.kind) {
    case ProbeKind::kHttp: {
      HttpResult r =
          co_await http_call(p.url, spec.method, std::string(), {}, p.tls.get(), spec.timeout_ms);
      if (!r.error.empty()) co_return ProbeResult{false, r.error, std::nullopt};
      const bool status_ok = spec.statuses.empty()
                                 ? (r.status >= 200 && r.status < 400)
                                 : std::find(spec.statuses.begin(), spec.statuses.end(),
                                             r.status) != spec.statuses.end();
      if (!status_ok)
        co_return ProbeResult{false, "status " + std::to_string(r.status), std::nullopt};
      if (!spec.body_contains.empty() && r.body.find(spec.body_contains) == std::string::npos)
        co_return ProbeResult{false, "the body lacks '" + spec.body_contains + "'", std::nullopt};
      co_return ProbeResult{true, std::string(), std::nullopt};
    }
    case ProbeKind::kTcp: {
      auto [host, port] = split_address(spec.address);
      try {
        auto connecting = tcp_once(host, port);
        auto timeout = sleep_for(std::chrono::milliseconds(spec.timeout_ms));
        auto v = co_await (std::move(connecting) || std::move(timeout));
        if (v.index() == 1)
          co_return ProbeResult{
              false, "connect timed out after " + std::to_string(spec.timeout_ms) + " ms",
              std::nullopt};
        const std::string error = std::get<0>(v);
        co_return ProbeResult{error.empty(), error, std::nullopt};
      } catch (const std::system_error& e) {
        co_return ProbeResult{false, e.code().message(), std::nullopt};
      }
    }
    case ProbeKind::kExec: {
      auto [ok, error] = co_await exec_once(spec);
      co_return ProbeResult{ok, error, std::nullopt};
    }
    case ProbeKind::kPrometheus: {
      Url u = p.url;
      u.target = prometheus_target(p.url.target, spec.query);
      std::vector<std::pair<std::string, std::string>> headers = {{"Accept", "application/json"}};
      const std::string auth = prometheus_authorization(spec);
      if (!auth.empty()) headers.emplace_back("Authorization", auth);
      HttpResult r = co_await http_call(u, "GET", std::string(), std::move(headers), p.tls.get(),
                                        spec.timeout_ms);
      co_return interpret_prometheus(spec, r);
    }
  }
  co_return ProbeResult{false, "unknown probe kind", std::nullopt};
}

namespace {

awaitable<void> sample_into(ProbeState& state, ProbeOutcome& out) {
  ProbeResult r = co_await sample_once(state);
  out.ok = r.ok;
  out.error = r.error;
  out.value = r.value;
}

}  // namespace

ProbeOutcome sample_probe(const ProbeSpec& spec) {
  ProbeState state = make_probe_state(spec);
  asio::io_context io;
  ProbeOutcome out;
  std::exception_ptr failure;
  const auto start = Clock::now();
  asio::co_spawn(io, sample_into(state, out), [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
  out.ms = ms_since(start);
  return out;
}

}  // namespace achilles::drill
