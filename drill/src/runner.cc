// The drill runner: one Asio loop drives the probes, the steps, the lease renewals, the
// notifications (`notify:`, each target on a coroutine of its own) and the signals. Whatever
// happens (the stop condition, Ctrl-C, an agent refusing, a bug), the rollback runs before run()
// returns: every fault this drill created and that is still active is deleted on its agent, and
// each lease is released.
//
// The Run class is one state machine, about 900 lines: the probes' samples, the steps' faults
// (several per step, reverted at the step's end), the leases, the rollback and the events
// notified share its state, and the guarantee that the
// rollback sees every fault rests on that state living in one place. The HTTP client
// (http_client.cc), the probes (probe.cc) and the journal's summaries (journal.cc) are apart.
#include "achilles/drill/runner.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <iomanip>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <tuple>

#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ssl.hpp>

#include "achilles/common/time.h"
#include "http_client.h"
#include "probe.h"

namespace achilles::drill {

using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using nlohmann::json;
using namespace asio::experimental::awaitable_operators;

namespace {

// ---------------------------------------------------------------- the run

struct FaultRecord {
  std::size_t step = 0;
  /// Which of the step's faults.
  std::size_t index = 0;
  std::string agent;
  std::string id;  // empty when not created
  /// Reverted (the agent confirmed it): at its step's end or by the rollback, which retries
  /// every fault whose revert failed.
  bool reverted = false;
  /// Revert attempts so far.
  int attempts = 0;
};

/// One fault of a step as it went: the agent's answer, its final record, or why it failed.
struct FaultRun {
  json response = nullptr;
  json final_record = nullptr;
  std::string error;
  std::string fault_id;
};

struct StepRun {
  bool injected = false;  // the POSTs were attempted
  Clock::time_point at{};
  std::chrono::system_clock::time_point at_wall{};
  std::vector<FaultRun> faults;
  /// The first fault's failure, named by its agent when the step has several ("" when every
  /// fault was injected).
  std::string error;
  /// Its faults were reverted at its end.
  bool reverted = false;
};

class Run {
 public:
  Run(const Plan& plan, const RunOptions& options)
      : plan_(plan), options_(options), wake_(io_), signals_(io_, SIGINT, SIGTERM) {
    for (const auto& [name, ref] : plan_.agents) {
      Agent a;
      a.ref = &ref;
      a.url = parse_url(ref.url);
      a.tls = client_tls(ref);
      agents_.emplace(name, std::move(a));
    }
    for (const auto& p : plan_.probes)
      probes_.push_back(make_probe_state(p));
    steps_.resize(plan_.steps.size());
    for (std::size_t i = 0; i < plan_.steps.size(); ++i)
      steps_[i].faults.resize(plan_.steps[i].faults.size());
    for (const auto& t : plan_.notify) {
      Notifier n;
      n.target = &t;
      n.url = parse_url(t.url);
      if (t.kind == NotifyTarget::Kind::kGrafana) {
        while (!n.url.target.empty() && n.url.target.back() == '/')
          n.url.target.pop_back();
        n.url.target += "/api/annotations";
      }
      ProbeSpec tls_of;  // the system's CAs, as for an https probe without a ca_file
      tls_of.url = t.url;
      n.tls = probe_tls(tls_of);
      notifiers_.push_back(std::move(n));
    }
  }

  json run() {
    started_wall_ = std::chrono::system_clock::now();
    started_ = Clock::now();
    signals_.async_wait([this](const std::error_code& ec, int sig) { on_signal(ec, sig); });
    std::exception_ptr failure;
    asio::co_spawn(io_, drive(), [&](std::exception_ptr e) {
      failure = e;
      stopping_ = true;
      signals_.cancel();
      io_.stop();
    });
    io_.run();
    if (options_.status) options_.status("");  // the live line, before anything else prints
    if (failure) std::rethrow_exception(failure);
    json j = final_journal_ ? std::move(*final_journal_) : journal();
    if (!notifiers_.empty()) j["notifications"] = notifications_;
    return j;
  }

 private:
  struct Agent {
    const AgentRef* ref = nullptr;
    Url url;
    std::unique_ptr<asio::ssl::context> tls;
    bool leased = false;
    /// When the lease lapses at the latest, from its last successful grant or renewal.
    std::chrono::system_clock::time_point lease_until{};
    /// It answered 201 without a fault id: it may hold a fault this drill cannot name.
    bool holds_unnamed = false;
  };

  void log(const std::string& line) {
    if (options_.log) options_.log(line);
  }

  // ------------------------------------------------------ the notifications

  /// How long one notification may take; a target that fails or takes longer is recorded in
  /// the journal and the drill goes on (docs/drill.md "Notifications").
  static constexpr std::int64_t kNotifyTimeoutMs = 2000;

  /// A notify target and the events waiting for it: each target gets its events in order, one
  /// request at a time, on a coroutine of its own, so that neither the probes nor the steps
  /// ever wait for it.
  struct Notifier {
    const NotifyTarget* target = nullptr;
    Url url;
    std::unique_ptr<asio::ssl::context> tls;
    std::deque<std::pair<std::string, json>> queue;  // event name, body
    std::string in_flight;                           // the event being posted, if any
    bool sending = false;
  };

  struct Event {
    Event(std::string n, std::chrono::system_clock::time_point t) : name(std::move(n)), time(t) {}
    std::string name;  // start, inject, revert, end
    std::chrono::system_clock::time_point time;
    json fields = json::object();
    std::string text;
    /// For Grafana: a region annotation from `from` to `time` with these tags; no annotation
    /// without it.
    std::optional<std::chrono::system_clock::time_point> from;
    std::vector<std::string> tags;
  };

  static std::int64_t epoch_ms(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  }

  std::chrono::system_clock::time_point wall(Clock::time_point t) const {
    return started_wall_ +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(t - started_);
  }

  /// Queues `e` for every target; never waits.
  void notify(const Event& e) {
    for (auto& n : notifiers_) {
      json body;
      if (n.target->kind == NotifyTarget::Kind::kWebhook) {
        body = {{"event", e.name}, {"drill", plan_.title}, {"time", common::format_time(e.time)}};
        body.update(e.fields);
        body["text"] = e.text;
      } else {
        if (!e.from) continue;
        json tags = {"achilles", "drill"};
        for (const auto& t : e.tags)
          tags.push_back(t);
        body = {{"time", epoch_ms(*e.from)},
                {"timeEnd", epoch_ms(e.time)},
                {"tags", tags},
                {"text", e.text}};
      }
      n.queue.emplace_back(e.name, std::move(body));
      if (!n.sending) {
        n.sending = true;
        asio::co_spawn(io_, deliver(n), asio::detached);
      }
    }
  }

  void record_notification(const Notifier& n, const std::string& event, const std::string& error) {
    json rec = {{"target", n.target->describe()}, {"event", event}, {"ok", error.empty()}};
    if (!error.empty()) {
      rec["error"] = error;
      log("warning: the " + event + " notification to " + n.target->describe() +
          " failed: " + error + "; the drill goes on");
    }
    notifications_.push_back(std::move(rec));
  }

  awaitable<void> deliver(Notifier& n) {
    while (!n.queue.empty()) {
      const std::string event = n.queue.front().first;
      const std::string body = n.queue.front().second.dump();
      n.queue.pop_front();
      n.in_flight = event;
      std::vector<std::pair<std::string, std::string>> headers;
      if (!n.target->token.empty())
        headers.emplace_back("Authorization", "Bearer " + n.target->token);
      HttpResult r;
      try {
        r = co_await http_call(n.url, "POST", body, std::move(headers), n.tls.get(),
                               kNotifyTimeoutMs);
      } catch (const std::exception& e) {
        r.error = e.what();
      }
      n.in_flight.clear();
      std::string error = r.error;
      if (error.empty() && r.status / 100 != 2) error = "HTTP " + std::to_string(r.status);
      record_notification(n, event, error);
    }
    n.sending = false;
  }

  /// The end: the verdict to every target, then at most two timeouts for what is still being
  /// posted; what is not answered by then is recorded as such.
  awaitable<void> notify_end() {
    final_journal_ = journal();
    const std::string verdict = (*final_journal_)["verdict"].get<std::string>();
    const std::string reason = final_journal_->value("reason", "");
    Event e{"end", std::chrono::system_clock::now()};
    e.fields = {{"verdict", verdict}, {"reason", reason}};
    e.text = "Achilles drill '" + plan_.title + "' ended: " + verdict +
             (reason.empty() ? "" : " (" + reason + ")");
    e.from = started_wall_;
    e.tags = {"end", verdict};
    notify(e);
    const auto deadline = Clock::now() + std::chrono::milliseconds(2 * kNotifyTimeoutMs);
    asio::steady_timer t(io_);
    auto busy = [&] {
      return std::any_of(notifiers_.begin(), notifiers_.end(),
                         [](const Notifier& n) { return n.sending; });
    };
    while (busy() && Clock::now() < deadline) {
      t.expires_after(std::chrono::milliseconds(20));
      std::error_code ec;
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    for (auto& n : notifiers_) {
      if (!n.in_flight.empty())
        record_notification(n, n.in_flight, "no answer when the drill ended");
      for (const auto& [event, body] : n.queue)
        record_notification(n, event,
                            "not sent: the drill ended while the target was still "
                            "answering earlier events");
      n.queue.clear();
    }
  }

  void on_signal(const std::error_code& ec, int sig) {
    if (ec) return;
    if (!interrupted_) {
      interrupted_ = true;
      log(std::string("interrupted by ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
          ": rolling back");
      if (!abort_reason_)
        abort_reason_ = std::string("interrupted by ") + (sig == SIGINT ? "SIGINT" : "SIGTERM");
      wake_.cancel();
    } else {
      log("still rolling back; the faults are being reverted");
    }
    signals_.async_wait([this](const std::error_code& e, int s) { on_signal(e, s); });
  }

  // Coroutine parameters are taken by value and every temporary is a named local: GCC 12
  // mishandles temporaries that live across a co_await (a conditional's std::string, for one).
  awaitable<HttpResult> agent_call(Agent& a, std::string method, std::string path,
                                   json body = nullptr, std::int64_t timeout_ms = 5000) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!a.ref->token.empty()) headers.emplace_back("Authorization", "Bearer " + a.ref->token);
    Url u = a.url;
    u.target = path;
    std::string text;
    if (!body.is_null()) text = body.dump();
    HttpResult r = co_await http_call(u, method, text, std::move(headers), a.tls.get(), timeout_ms);
    co_return r;
  }

  /// An agent's JSON answer, or a discarded value (is_discarded()) when it is not JSON: the
  /// callers say so in the journal rather than treating it as an empty answer.
  static json parse_answer(const std::string& body) {
    return json::parse(body, nullptr, /*allow_exceptions=*/false);
  }

  /// The start of an answer that is not JSON, for a message.
  static std::string excerpt(const std::string& body) {
    return body.size() > 80 ? body.substr(0, 80) + "..." : body;
  }

  static std::string describe_failure(const HttpResult& r) {
    if (!r.error.empty()) return r.error;
    const std::string status = "HTTP " + std::to_string(r.status);
    if (r.body.empty()) return status;
    const json j = parse_answer(r.body);
    if (j.is_discarded()) return status + " (the answer is not JSON: " + excerpt(r.body) + ")";
    if (j.is_object() && j.contains("error") && j["error"].is_string())
      return status + ": " + j["error"].get<std::string>();
    return status;
  }

  /// Waits until `t` or until woken by an abort; whether the time came (not woken).
  awaitable<bool> wait_until(Clock::time_point t) {
    if (aborting()) co_return false;
    wake_.expires_at(t);
    std::error_code ec;
    co_await wake_.async_wait(asio::redirect_error(use_awaitable, ec));
    co_return !aborting();
  }

  bool aborting() const { return interrupted_ || abort_reason_.has_value(); }

  awaitable<void> drive() {
    // 1. Every agent answers, before anything else.
    for (auto& [name, a] : agents_) {
      auto r = co_await agent_call(a, "GET", "/v1/status");
      if (r.error.empty() && r.status == 401)
        throw RunError("agent '" + name + "' at " + a.ref->url + ": the agent refused the token (" +
                       describe_failure(r) + ")" +
                       (a.ref->token.empty() ? "; the plan gives it none (token_file)" : "") +
                       "; nothing was injected");
      if (!r.error.empty() || r.status != 200)
        throw RunError("agent '" + name + "' at " + a.ref->url + " does not answer /v1/status: " +
                       describe_failure(r) + "; nothing was injected");
      // A halted agent refuses every fault: say so now, not after the steps injected nothing.
      const json st = parse_answer(r.body);
      if (st.is_object() && st.value("halted", false))
        throw RunError("agent '" + name + "' at " + a.ref->url +
                       " is halted: it refuses every fault until someone finds out why and "
                       "POSTs /v1/resume; nothing was injected");
    }
    if (interrupted_) {
      skipped_ = "interrupted before the steady state";
      co_return;
    }
    // 2. Leases, renewed every third of lease_ms.
    for (auto& [name, a] : agents_) {
      const json lease = {{"ttl_ms", plan_.lease_ms}};
      auto r = co_await agent_call(a, "POST", "/v1/lease", lease);
      if (!r.error.empty() || r.status != 200)
        throw RunError("agent '" + name + "' refused the lease: " + describe_failure(r) +
                       "; nothing was injected");
      a.leased = true;
      a.lease_until = std::chrono::system_clock::now() + std::chrono::milliseconds(plan_.lease_ms);
    }
    auto ex = co_await asio::this_coro::executor;
    asio::co_spawn(ex, renew_leases(), asio::detached);
    // 3. Probes, and the steady state.
    for (auto& p : probes_)
      asio::co_spawn(ex, probe_loop(p), asio::detached);
    asio::co_spawn(ex, show_status(), asio::detached);
    {
      Event e{"start", std::chrono::system_clock::now()};
      e.fields = {{"steps", plan_.steps.size()}, {"agents", plan_.agents.size()}};
      e.text = "Achilles drill '" + plan_.title +
               "' started: " + std::to_string(plan_.steps.size()) + " step(s) on " +
               std::to_string(plan_.agents.size()) + " agent(s)";
      notify(e);
    }
    const auto steady_deadline = Clock::now() + std::chrono::milliseconds(plan_.steady_timeout_ms);
    log("waiting for the steady state: every probe healthy for " + std::to_string(plan_.hold_ms) +
        " ms");
    while (true) {
      if (steady()) break;
      if (Clock::now() >= steady_deadline) {
        skipped_ = "no steady state: " + unsteady_reason() + " within " +
                   std::to_string(plan_.steady_timeout_ms) + " ms";
        break;
      }
      if (!co_await wait_until(Clock::now() + std::chrono::milliseconds(20))) {
        skipped_ = "interrupted before the steady state";
        break;
      }
    }
    if (!skipped_) {
      t0_ = Clock::now();
      steady_waited_ms_ = static_cast<std::int64_t>(
          std::chrono::duration<double, std::milli>(*t0_ - started_).count());
      log("steady state held; the drill begins");
      try {
        co_await run_steps();
      } catch (const std::exception& e) {
        // A bug or an unexpected failure: still roll back below.
        if (!abort_reason_) abort_reason_ = std::string("runner failure: ") + e.what();
      }
    }
    end_ = Clock::now();
    co_await rollback();
    stopping_ = true;
    wake_.cancel();
    const json release = {{"ttl_ms", 0}};
    for (auto& [name, a] : agents_) {
      // An agent that still holds a fault this drill could not revert keeps its lease: a
      // released lease (ttl 0) reverts nothing, a lapsed one reverts every fault of the agent.
      bool keep = a.holds_unnamed;
      for (const auto& f : faults_)
        if (f.agent == name && !f.reverted) {
          keep = true;
          const std::string until = common::format_time(left_until(f, a));
          unreverted_.push_back({{"agent", name},
                                 {"fault_id", f.id},
                                 {"step", plan_.steps[f.step].name},
                                 {"until", until}});
          log("fault " + f.id + " of step '" + plan_.steps[f.step].name + "' on agent '" + name +
              "' could not be reverted: it stays active until " + until +
              " at the latest (its duration ends, or the agent's lease, not released, lapses "
              "and the agent reverts it)");
        }
      if (a.holds_unnamed)
        log("agent '" + name +
            "': the lease is not released: the agent answered 201 without a fault id and may "
            "hold a fault this drill cannot name; the lease lapses by " +
            common::format_time(a.lease_until) + " and the agent then reverts it");
      if (keep) {
        a.leased = false;  // not renewed: it lapses
        continue;
      }
      if (a.leased) {
        a.leased = false;
        std::string failed;
        try {
          auto r = co_await agent_call(a, "POST", "/v1/lease", release);
          if (!r.error.empty() || r.status != 200) failed = describe_failure(r);
        } catch (const std::exception& e) {
          failed = e.what();
        }
        if (!failed.empty())
          log("agent '" + name + "': could not release the lease (" + failed +
              "); it expires on its own");
      }
    }
    signals_.cancel();
    if (!notifiers_.empty()) co_await notify_end();
    // Let samples in flight finish or time out; the journal ignores those after the end.
    io_.stop();
  }

  awaitable<void> run_steps() {
    for (std::size_t i = 0; i < plan_.steps.size(); ++i) {
      const Step& s = plan_.steps[i];
      if (!co_await wait_reverting(i, *t0_ + std::chrono::milliseconds(s.at_ms))) co_return;
      current_step_ = i;
      StepRun& run = steps_[i];
      run.injected = true;
      run.at = Clock::now();
      run.at_wall = wall(run.at);
      // Every fault of the step at once, each on its own coroutine: an agent that is slow to
      // answer does not hold the others back.
      std::size_t pending = s.faults.size();
      asio::steady_timer done(io_);
      done.expires_at(Clock::time_point::max());
      for (std::size_t j = 0; j < s.faults.size(); ++j)
        asio::co_spawn(io_, inject(i, j), [this, &pending, &done, i, j](std::exception_ptr e) {
          if (e) {
            std::string what = "unknown error";
            try {
              std::rethrow_exception(e);
            } catch (const std::exception& x) {
              what = x.what();
            }
            steps_[i].faults[j].error = "runner failure: " + what;
          }
          if (--pending == 0) done.cancel();
        });
      while (pending > 0) {
        std::error_code ec;
        co_await done.async_wait(asio::redirect_error(use_awaitable, ec));
      }
      // In plan order, whichever agent answered first: the rollback reverts them so.
      std::stable_sort(faults_.begin(), faults_.end(), [](const auto& x, const auto& y) {
        return std::pair(x.step, x.index) < std::pair(y.step, y.index);
      });
      for (std::size_t j = 0; j < s.faults.size() && run.error.empty(); ++j)
        if (!run.faults[j].error.empty())
          run.error = (s.faults.size() > 1 ? "agent '" + s.faults[j].agent + "': " : "") +
                      run.faults[j].error;
    }
    // The last step's faults are the rollback's, as are those of a step observed longer.
    co_await wait_reverting(
        plan_.steps.size() - 1,
        *t0_ + std::chrono::milliseconds(plan_.step_end_ms(plan_.steps.size() - 1)));
  }

  /// Posts fault `j` of step `i` to its agent and records what the agent answered.
  awaitable<void> inject(std::size_t i, std::size_t j) {
    const Step& s = plan_.steps[i];
    const StepFault& sf = s.faults[j];
    FaultRun& run = steps_[i].faults[j];
    Agent& a = agents_.at(sf.agent);
    auto r = co_await agent_call(a, "POST", "/v1/faults", sf.fault);
    json body = r.body.empty() ? json() : parse_answer(r.body);
    const bool not_json = body.is_discarded();
    if (not_json) body = excerpt(r.body);
    run.response = {{"status", r.status}, {"body", body}};
    const std::string kind = sf.fault.value("kind", "?");
    if (r.error.empty() && r.status == 201 && body.is_object() && body.contains("id") &&
        body["id"].is_string()) {
      run.fault_id = body["id"].get<std::string>();
      faults_.push_back({i, j, sf.agent, run.fault_id});
      log("step '" + s.name + "': " + kind + " injected on agent '" + sf.agent + "' (fault " +
          run.fault_id + ")");
      Event e{"inject", steps_[i].at_wall};
      e.fields = {
          {"step", s.name}, {"agent", sf.agent}, {"fault_kind", kind}, {"fault_id", run.fault_id}};
      e.text = "Achilles drill '" + plan_.title + "': step '" + s.name + "': " + kind +
               " injected on agent '" + sf.agent + "' (fault " + run.fault_id + ")";
      notify(e);
    } else {
      run.error = describe_failure(r);
      // A 201 without a fault id: the agent may hold a fault this drill cannot name; its
      // lease (then not released, left to lapse) is what reverts it.
      if (r.error.empty() && r.status == 201) {
        a.holds_unnamed = true;
        run.error = "the agent answered 201 without a fault id" +
                    std::string(not_json ? " (the answer is not JSON)" : "") +
                    "; the lease, left to lapse, reverts whatever it started";
      }
      log("step '" + s.name + "': the fault was not injected on agent '" + sf.agent +
          "': " + run.error);
    }
  }

  /// Waits until `t`, reverting on the way the faults of each step before `before` whose
  /// window has ended (a step's faults end with its window: the next step's "before" starts
  /// clean). Whether the time came (not woken by an abort, which leaves the rest to the
  /// rollback).
  awaitable<bool> wait_reverting(std::size_t before, Clock::time_point t) {
    while (true) {
      std::optional<std::size_t> due;
      for (std::size_t k = 0; k < before; ++k)
        if (steps_[k].injected && !steps_[k].reverted &&
            (!due || plan_.step_end_ms(k) < plan_.step_end_ms(*due)))
          due = k;
      const auto end = due ? *t0_ + std::chrono::milliseconds(plan_.step_end_ms(*due)) : t;
      if (!due || end > t) co_return co_await wait_until(t);
      if (!co_await wait_until(end)) co_return false;
      // The step's end came and its faults' reverts were tried; a fault whose revert failed
      // stays unreverted, for the rollback to try again.
      steps_[*due].reverted = true;
      for (std::size_t k = 0; k < faults_.size(); ++k)
        if (faults_[k].step == *due && !faults_[k].reverted) {
          std::string at_step_end = "step end";
          co_await revert_safely(k, at_step_end);
        }
    }
  }

  /// Reverts every fault not reverted yet (those never tried and those whose revert at the
  /// step's end failed), each on its own: one that throws (a bug, a broken answer) is
  /// recorded as failed and the next one is still reverted.
  awaitable<void> rollback() {
    for (std::size_t k = 0; k < faults_.size(); ++k)
      if (!faults_[k].reverted) {
        if (faults_[k].attempts > 0)
          log("fault " + faults_[k].id + " on agent '" + faults_[k].agent +
              "': trying the failed revert again");
        std::string at_rollback;  // a named local: see agent_call on GCC 12's temporaries
        co_await revert_safely(k, at_rollback);
      }
  }

  /// When fault `f`, left unreverted on agent `a`, ends at the latest: when the agent's
  /// lease lapses, or earlier when its duration_ms runs out.
  std::chrono::system_clock::time_point left_until(const FaultRecord& f, const Agent& a) const {
    auto until = a.lease_until;
    const json& fault = plan_.steps[f.step].faults[f.index].fault;
    if (fault.contains("duration_ms") && fault["duration_ms"].is_number_integer())
      until =
          std::min(until, steps_[f.step].at_wall +
                              std::chrono::milliseconds(fault["duration_ms"].get<std::int64_t>()));
    return until;
  }

  /// Reverts fault `k` of faults_ and marks it reverted only when the agent confirmed it;
  /// one that throws (a bug, a broken answer) is recorded as failed. `when` is "step end"
  /// for a revert at the end of its step's window, "" at the rollback.
  awaitable<void> revert_safely(std::size_t k, std::string when) {
    {
      const FaultRecord f = faults_[k];
      const bool retry = f.attempts > 0;
      ++faults_[k].attempts;
      std::exception_ptr failure;
      try {
        faults_[k].reverted = co_await revert(f, when, retry);
      } catch (const std::exception&) {
        failure = std::current_exception();
      }
      if (failure) {
        std::string what = "unknown error";
        try {
          std::rethrow_exception(failure);
        } catch (const std::exception& e) {
          what = e.what();
        }
        json entry = {{"agent", f.agent},
                      {"fault_id", f.id},
                      {"step", plan_.steps[f.step].name},
                      {"result", "failed: " + what}};
        if (!when.empty()) entry["when"] = when;
        if (retry) entry["retry"] = true;
        rollback_.push_back(entry);
        log("could not revert fault " + f.id + " on agent '" + f.agent + "': " + what +
            (when.empty() ? "" : "; the rollback tries again"));
      }
    }
  }

  /// Whether an agent's record of a fault says its revert did not complete: state
  /// "revert_failed", or a non-empty `errors`.
  static bool revert_incomplete(const json& record) {
    if (!record.is_object()) return false;
    if (record.contains("errors") && !record["errors"].is_null() &&
        !(record["errors"].is_array() && record["errors"].empty()))
      return true;
    return record.contains("state") && record["state"] == "revert_failed";
  }

  /// Why an agent's 200 answer to a DELETE does not confirm the revert ("" when it does): its
  /// record must say the fault is reverted (or done, or ended) without errors.
  static std::string unconfirmed(const json& record) {
    if (!record.is_object()) return "the agent's answer is not a fault record";
    const json state = record.value("state", json());
    if (revert_incomplete(record))
      return "the agent's record says the revert failed (state " + state.dump() +
             (record.contains("errors") ? ", errors " + record["errors"].dump() : "") + ")";
    if (state != "reverted" && state != "done" && state != "ended")
      return "the agent's record says state " + state.dump() + ", not reverted";
    return "";
  }

  /// Reverts one fault: whether the agent confirmed it (or it had already ended).
  awaitable<bool> revert(FaultRecord f, std::string when, bool retry) {
    {
      bool ok = false;
      Agent& a = agents_.at(f.agent);
      FaultRun& run = steps_[f.step].faults[f.index];
      json entry = {{"agent", f.agent}, {"fault_id", f.id}, {"step", plan_.steps[f.step].name}};
      if (!when.empty()) entry["when"] = when;
      if (retry) entry["retry"] = true;
      const std::string path = "/v1/faults/" + f.id;
      auto g = co_await agent_call(a, "GET", path);
      json record = nullptr;
      if (g.error.empty() && g.status == 200) {
        record = parse_answer(g.body);
        if (record.is_discarded()) {
          log("fault " + f.id + ": the agent's record is not JSON; deleting it to be sure");
          record = nullptr;
        }
      }
      const bool live = record.is_object() &&
                        (record.value("state", "") == "active" ||
                         record.value("state", "") == "starting" || revert_incomplete(record));
      if (record.is_object() && !live) {
        entry["result"] = "already ended";
        run.final_record = record;
        ok = true;
      } else {
        // Live, or unknown (the GET failed), or its revert failed: delete it to be sure.
        auto d = co_await agent_call(a, "DELETE", path);
        std::string failure;
        json answer = nullptr;
        if (d.error.empty() && d.status == 200) {
          answer = parse_answer(d.body);
          failure = unconfirmed(answer);
        } else {
          failure = describe_failure(d);
        }
        if (failure.empty()) {
          run.final_record = answer;
          entry["result"] = answer.value("kind", "") == "kill" ? "observation ended" : "reverted";
          log(entry["result"].get<std::string>() + ": fault " + f.id + " of step '" +
              plan_.steps[f.step].name + "'" + (retry ? " (on a second try)" : ""));
          ok = true;
        } else {
          if (answer.is_object()) run.final_record = answer;
          entry["result"] = "failed: " + failure;
          log("could not revert fault " + f.id + " on agent '" + f.agent + "': " + failure +
              (when.empty() ? "" : "; the rollback tries again"));
        }
      }
      rollback_.push_back(entry);
      notify_revert(f, entry["result"].get<std::string>());
      co_return ok;
    }
  }

  /// The revert event; for a fault that had already ended on its own, it ended at its
  /// injection plus its duration_ms (if that is earlier than now).
  void notify_revert(const FaultRecord& f, const std::string& result) {
    if (notifiers_.empty()) return;
    const Step& s = plan_.steps[f.step];
    const StepRun& run = steps_[f.step];
    const json& fault = s.faults[f.index].fault;
    const std::string kind = fault.value("kind", "?");
    auto ended = std::chrono::system_clock::now();
    if (result == "already ended" && fault.contains("duration_ms") &&
        fault["duration_ms"].is_number_integer())
      ended = std::min(
          ended, run.at_wall + std::chrono::milliseconds(fault["duration_ms"].get<std::int64_t>()));
    Event e{"revert", ended};
    e.fields = {{"step", s.name},
                {"agent", f.agent},
                {"fault_kind", kind},
                {"fault_id", f.id},
                {"result", result}};
    e.text = "Achilles drill '" + plan_.title + "': step '" + s.name + "': " + kind +
             " on agent '" + f.agent + "' " +
             (result.rfind("failed", 0) == 0 ? "could not be reverted (" + result + ")" : result) +
             " (fault " + f.id + ")";
    e.from = run.at_wall;
    e.tags = {"fault", kind, f.agent};
    notify(e);
  }

  awaitable<void> renew_leases() {
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (!stopping_) {
      t.expires_after(std::chrono::milliseconds(plan_.lease_ms / 3));
      std::error_code ec;
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
      if (stopping_) break;
      for (auto& [name, a] : agents_) {
        if (!a.leased || stopping_) continue;
        const json lease = {{"ttl_ms", plan_.lease_ms}};
        auto r = co_await agent_call(a, "POST", "/v1/lease", lease, plan_.lease_ms / 3);
        if (!r.error.empty() || r.status != 200)
          log("agent '" + name + "': lease renewal failed (" + describe_failure(r) + ")");
        else
          a.lease_until =
              std::chrono::system_clock::now() + std::chrono::milliseconds(plan_.lease_ms);
      }
    }
  }

  awaitable<void> probe_loop(ProbeState& p) {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer t(ex);
    auto next = Clock::now();
    // Samples overlap when a target is slow, so that the rate stays even during an outage;
    // a cap keeps a hung target from piling them up.
    const int max_in_flight =
        static_cast<int>(std::max<std::int64_t>(2, p.spec->timeout_ms / p.spec->every_ms + 2));
    while (!stopping_) {
      if (p.in_flight < max_in_flight) asio::co_spawn(ex, take_sample(p), asio::detached);
      next += std::chrono::milliseconds(p.spec->every_ms);
      t.expires_at(next);
      std::error_code ec;
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
    }
  }

  awaitable<void> take_sample(ProbeState& p) {
    ++p.in_flight;
    const auto start = Clock::now();
    p.pending.push_back(start);
    ProbeResult r;
    try {
      r = co_await sample_once(p);
    } catch (const std::exception& e) {
      r = {false, e.what(), std::nullopt};
    }
    --p.in_flight;
    if (auto it = std::find(p.pending.begin(), p.pending.end(), start); it != p.pending.end())
      p.pending.erase(it);
    if (stopping_) co_return;
    RawSample s{start, r.ok, ms_since(start), r.value, r.ok ? std::string() : r.error};
    if (!r.ok) p.last_error = r.error;
    auto it =
        std::upper_bound(p.samples.begin(), p.samples.end(), s,
                         [](const RawSample& a, const RawSample& b) { return a.start < b.start; });
    p.samples.insert(it, s);
    update_health(p);
  }

  /// The probe's health at its latest sample, and the stop condition.
  void update_health(ProbeState& p) {
    std::vector<Sample> window;
    const auto last = p.samples.back().start;
    for (auto it = p.samples.rbegin(); it != p.samples.rend(); ++it) {
      const auto age = std::chrono::duration<double, std::milli>(last - it->start).count();
      if (age >= static_cast<double>(p.spec->window_ms)) break;
      window.push_back({-static_cast<std::int64_t>(age), it->ok, it->ms, it->value});
    }
    std::reverse(window.begin(), window.end());
    const Health h = health_at(*p.spec, window, window.size() - 1);
    if (!p.any || h != p.current) {
      p.current = h;
      p.since = last;
      p.any = true;
    }
    if (t0_ && plan_.abort_when && !aborting() && p.spec->name == plan_.abort_when->probe &&
        p.current != Health::kHealthy && p.since >= *t0_ &&
        last - p.since >= std::chrono::milliseconds(plan_.abort_when->unhealthy_for_ms)) {
      abort_reason_ = "probe '" + p.spec->name + "' not healthy for " +
                      std::to_string(plan_.abort_when->unhealthy_for_ms) + " ms (abort_when)";
      log("aborting: " + *abort_reason_);
      wake_.cancel();
    }
  }

  bool steady() const {
    const auto need = std::chrono::milliseconds(plan_.hold_ms);
    for (const auto& p : probes_) {
      if (!p.any || p.current != Health::kHealthy) return false;
      if (Clock::now() - p.since < need) return false;
    }
    return true;
  }

  std::string unsteady_reason() const {
    for (const auto& p : probes_) {
      if (!p.any) return "probe '" + p.spec->name + "' got no answer";
      if (p.current != Health::kHealthy)
        return "probe '" + p.spec->name + "' was " + health_name(p.current) +
               (p.last_error.empty() ? "" : " (last failure: " + p.last_error + ")");
    }
    return "the probes were not healthy long enough";
  }

  /// A probe's health for the live line: its latest judgement, unless a sample has waited
  /// for its answer longer than the objective allows (p99_ms, else window_ms): then it is
  /// unhealthy, whatever the last answers said.
  static std::string live_health(const ProbeState& p) {
    if (!p.pending.empty()) {
      const auto oldest = *std::min_element(p.pending.begin(), p.pending.end());
      const auto waited =
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - oldest).count();
      const double limit =
          p.spec->p99_ms ? *p.spec->p99_ms : static_cast<double>(p.spec->window_ms);
      if (static_cast<double>(waited) > limit)
        return "unhealthy (no answer for " + std::to_string(waited) + " ms)";
    }
    return p.any ? health_name(p.current) : "no sample yet";
  }

  awaitable<void> show_status() {
    if (!options_.status) co_return;
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (!stopping_) {
      std::ostringstream line;
      if (!t0_) {
        line << "steady state: ";
      } else if (current_step_) {
        line << "step " << (*current_step_ + 1) << "/" << plan_.steps.size() << " '"
             << plan_.steps[*current_step_].name << "' t=" << std::fixed << std::setprecision(1)
             << std::chrono::duration<double>(Clock::now() - *t0_).count() << "s: ";
      } else {
        line << "waiting for step 1: ";
      }
      bool first = true;
      for (const auto& p : probes_) {
        line << (first ? "" : ", ") << p.spec->name << " " << live_health(p);
        first = false;
      }
      options_.status(line.str());
      t.expires_after(std::chrono::milliseconds(250));
      std::error_code ec;
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    options_.status("");
  }

  // ------------------------------------------------------------ the journal

  std::int64_t rel(Clock::time_point t) const {
    return static_cast<std::int64_t>(
        std::floor(std::chrono::duration<double, std::milli>(t - *t0_).count()));
  }

  /// How far back a step's `before` summary looks.
  static constexpr std::int64_t kBeforeMs = 5000;

  json journal() {
    json j = {{"achilles_drill_journal", 1},
              {"title", plan_.title},
              {"plan_file", plan_.file},
              {"plan", plan_.to_json()},
              {"started_at", common::format_time(started_wall_)}};
    const auto end_wall =
        started_wall_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                            (end_ ? *end_ : Clock::now()) - started_);
    j["ended_at"] = common::format_time(end_wall);
    if (skipped_) {
      j["verdict"] = "skipped";
      j["reason"] = *skipped_;
      j["steady_state"] = {{"held", false}, {"hold_ms", plan_.hold_ms}};
      // The probes' samples still tell why.
      t0_ = end_ ? *end_ : Clock::now();
    } else {
      j["steady_state"] = {
          {"held", true}, {"waited_ms", steady_waited_ms_}, {"hold_ms", plan_.hold_ms}};
    }
    const std::int64_t end_ms = rel(end_ ? *end_ : Clock::now());

    // Samples relative to t0, and each probe's health series.
    std::vector<std::vector<Sample>> samples(probes_.size());
    std::vector<std::vector<Health>> health(probes_.size());
    json probes = json::array();
    for (std::size_t k = 0; k < probes_.size(); ++k) {
      const auto& p = probes_[k];
      const bool valued = p.spec->kind == ProbeKind::kPrometheus;
      json arr = json::array();
      // Why samples failed: each run of consecutive failures with the same reason, once.
      json failures = json::array();
      bool previous_failed = false;
      for (const auto& s : p.samples) {
        const std::int64_t t = rel(s.start);
        if (t > end_ms) continue;
        samples[k].push_back({t, s.ok, s.ms, s.value, valued && !s.ok && !s.value});
        json sample = {t, s.ok ? 1 : 0, std::round(s.ms * 100) / 100};
        // [t, ok, ms, value]: a prometheus probe's value, null when the query gave none;
        // infinities as "+Inf" and "-Inf", as Prometheus writes them (JSON has no such number).
        if (valued)
          sample.push_back(!s.value                  ? json(nullptr)
                           : std::isfinite(*s.value) ? json(*s.value)
                                                     : json(*s.value > 0 ? "+Inf" : "-Inf"));
        arr.push_back(std::move(sample));
        if (!s.ok) {
          if (previous_failed && failures.back()["reason"] == s.error) {
            failures.back()["to_ms"] = t;
            failures.back()["samples"] = failures.back()["samples"].get<int>() + 1;
          } else {
            failures.push_back({{"from_ms", t}, {"to_ms", t}, {"samples", 1}, {"reason", s.error}});
          }
        }
        previous_failed = !s.ok;
      }
      health[k] = health_series(*p.spec, samples[k]);
      json probe = {{"name", p.spec->name},
                    {"kind", probe_kind_name(p.spec->kind)},
                    {"target", p.spec->describe()},
                    {"every_ms", p.spec->every_ms},
                    {"healthy_when", p.spec->healthy_when_json()}};
      if (valued) {
        probe["query"] = p.spec->query;
        probe["url"] = p.spec->url;
        if (p.spec->down_when) probe["down_when"] = p.spec->down_when_json();
      }
      probe["samples"] = arr;
      probe["failures"] = failures;
      probes.push_back(probe);
    }
    j["probes"] = probes;

    // A step is judged on the samples sent in its window alone, their health over sliding
    // windows of those samples: a sample belongs to the window in which it was sent, and the
    // previous step's samples do not leak into this one through the sliding window.
    std::map<std::tuple<std::size_t, std::int64_t, std::int64_t>,
             std::pair<std::vector<Sample>, std::vector<Health>>>
        subsets;
    auto step_samples =
        [&](std::size_t k, std::int64_t from,
            std::int64_t to) -> const std::pair<std::vector<Sample>, std::vector<Health>>& {
      auto [it, added] = subsets.try_emplace({k, from, to});
      if (added) {
        for (const auto& x : samples[k])
          if (x.t_ms >= from && x.t_ms < to) it->second.first.push_back(x);
        it->second.second = health_series(*probes_[k].spec, it->second.first);
      }
      return it->second;
    };
    bool all_passed = true;
    bool any_expectation = false;
    std::string first_refusal;
    // The end of the previous step's faults: a step's "before" starts after it.
    std::int64_t previous_fault_end = std::numeric_limits<std::int64_t>::min();
    json steps = json::array();
    json predictions = json::array();
    for (std::size_t i = 0; i < plan_.steps.size(); ++i) {
      const Step& s = plan_.steps[i];
      const StepRun& run = steps_[i];
      json step = {{"name", s.name}, {"at_ms", s.at_ms}};
      // Each fault: where it went, what it was, the agent's answer and final record. A step
      // of one fault also has them at its top, as journals always had.
      json faults = json::array();
      for (std::size_t k = 0; k < s.faults.size(); ++k) {
        const StepFault& sf = s.faults[k];
        const FaultRun& fr = run.faults[k];
        json f = {{"agent", sf.agent},
                  {"agent_url", plan_.agents.at(sf.agent).url},
                  {"fault", sf.fault},
                  {"response", fr.response},
                  {"final", fr.final_record},
                  {"error", fr.error.empty() ? json(nullptr) : json(fr.error)}};
        if (!sf.domain.empty()) f["domain"] = sf.domain;
        if (!sf.component.empty()) f["component"] = sf.component;
        faults.push_back(std::move(f));
      }
      if (s.faults.size() == 1)
        for (const char* key : {"agent", "agent_url", "fault"})
          step[key] = faults[0][key];
      if (const auto d = s.domains(); !d.empty()) step["domains"] = d;
      step["faults"] = faults;
      const std::int64_t injected = run.injected ? rel(run.at) : s.at_ms;
      const std::int64_t planned_end = plan_.step_end_ms(i);
      const std::int64_t window_end = std::min(planned_end, end_ms);
      step["injected_at_ms"] = run.injected ? json(injected) : json(nullptr);
      step["window"] = {{"from_ms", injected}, {"to_ms", window_end}};
      if (s.faults.size() == 1) {
        step["response"] = faults[0]["response"];
        step["final"] = faults[0]["final"];
      }
      step["error"] = run.error.empty() ? json(nullptr) : json(run.error);
      json expectations = json::array();
      bool step_passed = true;
      for (const auto& e : s.expect) {
        const std::size_t k = probe_index(e.probe);
        json x = {{"probe", e.probe}, {"expected", e.name()}};
        if (s.recover_within_ms) x["recover_within_ms"] = *s.recover_within_ms;
        if (!run.injected) {
          x.update({{"observed", nullptr},
                    {"recovery_ms", nullptr},
                    {"passed", false},
                    {"message", skipped_ ? "not run: the drill was skipped"
                                         : "not run: the drill ended before this step"}});
        } else if (!run.error.empty()) {
          x.update({{"observed", nullptr},
                    {"recovery_ms", nullptr},
                    {"passed", false},
                    {"message", "the fault was not injected: " + run.error}});
        } else {
          const auto& [in, hin] = step_samples(k, injected, window_end);
          Verdict v = judge(e, s.recover_within_ms, in, hin, injected, window_end);
          if (window_end < planned_end && v.passed) {
            v.passed = false;
            v.message += " (but the drill ended before the step's window did)";
          }
          x.update({{"observed", health_name(v.observed)},
                    {"recovery_ms", v.recovery_ms ? json(*v.recovery_ms) : json(nullptr)},
                    {"outage_ms", v.outage_ms ? json(*v.outage_ms) : json(nullptr)},
                    {"outage_precision_ms", plan_.probes[k].every_ms},
                    {"passed", v.passed},
                    {"message", v.message}});
        }
        step_passed &= x["passed"].get<bool>();
        expectations.push_back(x);
      }
      any_expectation |= !s.expect.empty();
      if (!run.error.empty()) {
        step_passed = false;
        if (first_refusal.empty())
          first_refusal = "step '" + s.name + "': the fault was not injected: " + run.error;
      }
      all_passed &= step_passed;
      step["expectations"] = expectations;
      // Recovery per probe, also for probes without an expectation: what the drill measured.
      json recovery = json::object();
      json outage = json::object();
      json observed = json::object();
      json summary = json::object();
      const std::int64_t duration = s.duration_ms();
      const std::int64_t during_end =
          s.instant() || duration == 0 ? window_end : std::min(window_end, injected + duration);
      for (std::size_t k = 0; k < probes_.size(); ++k) {
        const auto& name = probes_[k].spec->name;
        if (run.injected && run.error.empty()) {
          const auto& [in, hin] = step_samples(k, injected, window_end);
          Verdict v = judge({name, Health::kHealthy}, std::nullopt, in, hin, injected, window_end);
          // Judged as `healthy` with no allowance: the worst health over the whole window.
          recovery[name] = v.recovery_ms ? json(*v.recovery_ms) : json(nullptr);
          outage[name] = v.outage_ms ? json(*v.outage_ms) : json(nullptr);
          observed[name] = health_name(v.observed);
        }
        summary[name] = {
            {"before",
             summarize(samples[k], std::max(injected - kBeforeMs, previous_fault_end), injected)},
            {"during", summarize(samples[k], injected, during_end)},
            {"after", during_end < window_end ? summarize(samples[k], during_end, window_end)
                                              : json(nullptr)}};
      }
      step["recovery_ms"] = recovery;
      step["outage_ms"] = outage;
      if (run.injected) previous_fault_end = during_end;
      step["observed"] = observed;
      step["summary"] = summary;
      step["prediction"] = s.prediction;
      // A prediction is judged by the step's expectations; a step without any (latency,
      // recorded only) neither agrees nor disagrees.
      // A step whose window an abort cut short is not judged either.
      step["agreed"] =
          s.prediction.is_null() || !run.injected || s.expect.empty() || window_end < planned_end
              ? json(nullptr)
              : json(step_passed);
      if (!s.prediction.is_null()) {
        json pr = s.prediction;
        pr["step"] = s.name;
        pr["agreed"] = step["agreed"];
        // Predicted against observed, entrypoint by entrypoint (each watched by the probe of
        // its name): which went down (an outage in the step's window) and which did not.
        if (pr.is_object()) {
          json predicted_down = json::array(), observed_down = json::array();
          bool judged = run.injected && run.error.empty() && window_end >= planned_end;
          for (const char* list : {"down", "up"}) {
            if (!pr.contains(list) || !pr[list].is_array()) continue;
            for (const auto& id : pr[list]) {
              if (!id.is_string()) continue;
              const std::string name = id.get<std::string>();
              if (std::string(list) == "down") predicted_down.push_back(name);
              const auto k = std::find_if(probes_.begin(), probes_.end(),
                                          [&](const auto& p) { return p.spec->name == name; });
              if (k == probes_.end() || !judged) continue;
              const auto& [in, hin] =
                  step_samples(std::size_t(k - probes_.begin()), injected, window_end);
              if (judge({name, Health::kDown}, std::nullopt, in, hin, injected, window_end).passed)
                observed_down.push_back(name);
            }
          }
          pr["predicted_down"] = predicted_down;
          pr["observed_down"] = judged ? observed_down : json(nullptr);
          step["prediction_observed_down"] = pr["observed_down"];
        }
        predictions.push_back(pr);
      }
      steps.push_back(step);
    }
    j["steps"] = steps;
    j["rollback"] = rollback_;
    j["predictions"] = predictions;
    // Faults left active on an agent (their reverts failed, the rollback's too): which, where
    // and until when; the drill then cannot pass.
    std::string left;
    if (!unreverted_.empty()) {
      j["unreverted"] = unreverted_;
      for (const auto& u : unreverted_)
        left += std::string(left.empty() ? "" : "; ") + "fault " +
                u["fault_id"].get<std::string>() + " of step '" + u["step"].get<std::string>() +
                "' on agent '" + u["agent"].get<std::string>() +
                "' could not be reverted and stays active until " + u["until"].get<std::string>() +
                " at the latest (its duration ends, or the agent's lease lapses)";
    }
    if (skipped_) {
      // Verdict set above.
    } else if (abort_reason_) {
      j["verdict"] = "aborted";
      j["reason"] = *abort_reason_ + (left.empty() ? "" : "; " + left);
    } else if (!left.empty()) {
      j["verdict"] = "failed";
      j["reason"] = left;
    } else if (!first_refusal.empty()) {
      // A fault the agent refused (403, 404, ...) is the reason, not the expectations that
      // then had nothing to judge.
      j["verdict"] = "failed";
      j["reason"] = first_refusal;
    } else if (all_passed && !any_expectation) {
      j["verdict"] = "passed";
      j["reason"] =
          "every fault was injected, but the plan has no expectations: nothing was "
          "judged";
    } else if (all_passed) {
      j["verdict"] = "passed";
      j["reason"] = "every expectation held";
    } else {
      j["verdict"] = "failed";
      j["reason"] = "some expectation did not hold";
    }
    return j;
  }

  std::size_t probe_index(const std::string& name) const {
    for (std::size_t k = 0; k < probes_.size(); ++k)
      if (probes_[k].spec->name == name) return k;
    return 0;
  }

  const Plan& plan_;
  RunOptions options_;
  std::map<std::string, Agent> agents_;
  std::vector<ProbeState> probes_;
  std::vector<StepRun> steps_;
  std::vector<FaultRecord> faults_;
  json rollback_ = json::array();
  /// The faults left active at the end: {agent, fault_id, step, until}.
  json unreverted_ = json::array();
  std::vector<Notifier> notifiers_;
  json notifications_ = json::array();
  /// The journal as it stood when the end was notified (with notify targets only).
  std::optional<json> final_journal_;
  std::chrono::system_clock::time_point started_wall_;
  Clock::time_point started_;
  std::optional<Clock::time_point> t0_, end_;
  std::int64_t steady_waited_ms_ = 0;
  std::optional<std::size_t> current_step_;
  std::optional<std::string> skipped_, abort_reason_;
  bool interrupted_ = false;
  bool stopping_ = false;
  // Last, so destroyed first: destroying the io_context destroys the coroutines still
  // suspended on it (probe loops, samples in flight), and their frames hold references to the
  // probes, agents and steps above, which must still exist while the frames unwind.
  asio::io_context io_;
  asio::steady_timer wake_;
  asio::signal_set signals_;
};

}  // namespace

json run(const Plan& plan, const RunOptions& options) {
  // SIGPIPE would end the runner on a peer that closed early, before the rollback.
  ::signal(SIGPIPE, SIG_IGN);
  Run r(plan, options);
  return r.run();
}

json skipped_journal(const Plan& plan, const std::string& reason) {
  const auto now = common::format_time(std::chrono::system_clock::now());
  return {
      {"achilles_drill_journal", 1}, {"title", plan.title},
      {"plan_file", plan.file},      {"plan", plan.to_json()},
      {"started_at", now},           {"ended_at", now},
      {"verdict", "skipped"},        {"reason", reason},
      {"outside_window", true},      {"steady_state", {{"held", false}, {"hold_ms", plan.hold_ms}}},
      {"probes", json::array()},     {"steps", json::array()},
      {"rollback", json::array()},   {"predictions", json::array()}};
}

}  // namespace achilles::drill
