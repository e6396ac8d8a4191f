// The TCP proxies (one file past 500 lines: a connection's paths, its toxics' timers and the
// manager share the Link and ProxyState types, which nothing else needs). Each connection is
// two directions (client to server is "upstream", server to client "downstream"), and each
// direction runs on one of two paths:
//
// - While no toxic applies to it, a plain relay moves the bytes: non-blocking read(2) and
//   send(2) on the sockets through a buffer that exists from the first data on (64 KiB, grown
//   to 1 MiB while reads fill it), waiting with asio only when a call would block. Between
//   chunks it checks the toxics again, so an existing connection picks up a toxic that was
//   just added (after at most one chunk, read before the toxic).
//   It copies each byte in and out where splice(2) through a kernel pipe copies nothing, and
//   was chosen over splice by measurement (bench/agent/relay_bound.cc, bench/RESULTS.md): the
//   proxy shares the cores with the sender and the sink, and splicing moves work to them
//   rather than saving it. Per GiB the splicing agent spent 0.23-0.25 CPU-s against 0.32-0.33
//   for the copying one, but its sink 0.28-0.29 against 0.16 (and the bare splice relay's
//   sender 0.23 against 0.18). Alternated 1 GiB runs on the 2-core VM, quiet (load average
//   under 1): the agent copying 2.23-2.31 GB/s median, splicing 1.84-1.86, copying ahead in
//   every round; bare relays 2.35-2.37 against 1.75. Larger socket buffers (SO_RCVBUF and
//   SO_SNDBUF of 1 and 4 MiB) did not lower the CPU per GiB of the bare copy relay (tried on a
//   loaded machine only).
// - Otherwise a reader stamps every chunk with the time it may leave, after the toxics of its
//   stream, and a writer sends chunks when their time comes. Stamping instead of sleeping
//   keeps a latency toxic from also cutting throughput. Once the toxics are gone and every
//   queued chunk is written, the reader hands the direction back to the plain relay.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>

#include <asio.hpp>

#include "achilles/common/time.h"
#include "achilles/injector/config.h"
#include "achilles/injector/proxy.h"

namespace achilles::injector {

using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

constexpr std::size_t kReadSize = 65536;
// A pipe stops reading while this much waits to be written (backpressure).
constexpr std::size_t kMaxQueued = 1 << 20;
// The plain relay's buffer: none until the first data, then 64 KiB, doubled while reads fill
// it up to 1 MiB, so that idle and small connections stay cheap and a bulk transfer moves
// large chunks (fewer system calls and wake-ups per byte).
constexpr std::size_t kFirstBuffer = 64 << 10;
constexpr std::size_t kMaxBuffer = 1 << 20;
// The plain relay yields to other connections after this many chunks in a row.
constexpr int kChunksPerTurn = 16;

struct Chunk {
  std::string data;
  steady::time_point release;
  bool eof = false;
  /// limit_data reached: close the whole connection rather than half of it.
  bool close_all = false;
};

struct Pipe {
  explicit Pipe(const asio::any_io_executor& ex) : wake_writer(ex), wake_reader(ex) {}
  std::deque<Chunk> queue;
  std::size_t queued = 0;
  asio::steady_timer wake_writer;
  asio::steady_timer wake_reader;
  steady::time_point last_release{};
  steady::time_point bandwidth_free{};
  std::uint64_t passed = 0;
  /// The plain relay's buffer, none until the first data. Not zero-filled, so that only the
  /// pages that data went through are resident.
  std::unique_ptr<char[]> buffer;
  std::size_t buffer_size = 0;
  /// Bumped whenever the direction changes path: a writer whose number is stale stops.
  std::uint64_t path_generation = 0;
  /// The writer has a chunk in flight.
  bool writing = false;
  /// The proxy's count of bytes delivered in this direction (achilles_agent_proxy_bytes_total).
  std::atomic<std::uint64_t>* delivered = nullptr;
};

/// A connection-level timer of a timeout or reset_peer toxic.
struct ToxicTimer {
  std::unique_ptr<asio::steady_timer> timer;
  /// The attributes it was armed with: a PATCH that changes them restarts the toxic.
  json attributes;
  /// reset_peer: data arrived and the reset is scheduled.
  bool triggered = false;
};

struct ProxyState;

struct Link : std::enable_shared_from_this<Link> {
  Link(std::shared_ptr<ProxyState> p, tcp::socket c);
  ~Link();

  std::shared_ptr<ProxyState> proxy;
  tcp::socket client;
  tcp::socket server;
  Pipe up;
  Pipe down;
  std::map<std::string, bool> draws;
  std::map<std::string, ToxicTimer> toxic_timers;
  /// timeout toxics that applied to this connection: its data was dropped, so removing one
  /// closes the connection, as Toxiproxy 2.x does.
  std::set<std::string> dropping;
  bool closed = false;
  int finished = 0;

  bool applies(const Toxic& t);
  /// No toxic applies to `stream`: the plain relay may move it.
  bool untouched(const char* stream);
  void close(bool reset = false);
  void refresh();
  /// (Re)starts the timer of toxic `name`: after `ms` the connection is closed (reset).
  void arm(const Toxic& t, std::int64_t ms, bool reset);
  /// The end of one direction: half-close `dst`, or close both once both ended.
  void finish(tcp::socket& dst);
  void push(Pipe& p, Chunk c) {
    p.queued += c.data.size();
    p.queue.push_back(std::move(c));
    p.wake_writer.cancel();
  }
  awaitable<void> start();
  /// Runs one direction, on the plain relay while it can, then on the toxic-aware path.
  awaitable<void> relay(tcp::socket& src, tcp::socket& dst, Pipe& p, const char* stream);
  /// True when a toxic now applies (hand over), false when the direction ended.
  awaitable<bool> plain_relay(tcp::socket& src, tcp::socket& dst, Pipe& p, const char* stream);
  awaitable<void> reader(tcp::socket& src, tcp::socket& dst, Pipe& p, const char* stream);
  awaitable<void> writer(tcp::socket& dst, Pipe& p, std::uint64_t generation);
};

struct ProxyState : std::enable_shared_from_this<ProxyState> {
  ProxyState(asio::io_context& ctx, ProxyInfo i) : io(ctx), info(std::move(i)), acceptor(ctx) {
    rng.seed(std::random_device{}());
  }
  asio::io_context& io;
  ProxyInfo info;
  tcp::acceptor acceptor;
  std::map<Link*, std::weak_ptr<Link>> links;
  std::mt19937 rng;
  /// While disabled: when it is enabled again (the agent's time bound), and since when.
  steady::time_point disabled_until{};
  std::chrono::system_clock::time_point disabled_wall{};
  /// Bytes delivered to the server (upstream) and to the client (downstream), by every
  /// connection of this proxy.
  std::atomic<std::uint64_t> upstream_bytes{0};
  std::atomic<std::uint64_t> downstream_bytes{0};

  void start_listening() {
    auto [host, port] = split_host_port(info.listen, "listen");
    std::error_code ec;
    tcp::resolver resolver(io);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty())
      throw ApiError(500, "listen " + info.listen + ": cannot resolve: " + ec.message());
    const tcp::endpoint ep = results.begin()->endpoint();
    tcp::acceptor a(io);
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw ApiError(500, "listen tcp " + info.listen + ": " + ec.message());
    acceptor = std::move(a);
    const auto bound = acceptor.local_endpoint(ec);
    const std::string h = bound.address().to_string();
    info.listen =
        (bound.address().is_v6() ? "[" + h + "]" : h) + ":" + std::to_string(bound.port());
    asio::co_spawn(io, accept_loop(shared_from_this()), asio::detached);
  }

  void stop_listening() {
    std::error_code ec;
    acceptor.close(ec);
    close_links();
  }

  void close_links() {
    auto copy = links;
    for (auto& [ptr, weak] : copy)
      if (auto l = weak.lock()) l->close();
  }

  void refresh_links() {
    auto copy = links;
    for (auto& [ptr, weak] : copy)
      if (auto l = weak.lock()) l->refresh();
  }

  static awaitable<void> accept_loop(std::shared_ptr<ProxyState> self) {
    for (;;) {
      std::error_code ec;
      tcp::socket s = co_await self->acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (!self->acceptor.is_open()) co_return;
        asio::steady_timer t(self->io, std::chrono::milliseconds(50));
        co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      s.set_option(tcp::no_delay(true), ec);
      auto link = std::make_shared<Link>(self, std::move(s));
      self->links[link.get()] = link;
      asio::co_spawn(self->io, link->start(), asio::detached);
    }
  }
};

Link::Link(std::shared_ptr<ProxyState> p, tcp::socket c)
    : proxy(std::move(p)),
      client(std::move(c)),
      server(proxy->io),
      up(client.get_executor()),
      down(client.get_executor()) {
  up.delivered = &proxy->upstream_bytes;
  down.delivered = &proxy->downstream_bytes;
}

Link::~Link() {
  proxy->links.erase(this);
}

bool Link::applies(const Toxic& t) {
  auto it = draws.find(t.name);
  if (it != draws.end()) return it->second;
  const bool on =
      t.toxicity >= 1.0 || std::uniform_real_distribution<double>(0, 1)(proxy->rng) < t.toxicity;
  draws[t.name] = on;
  return on;
}

bool Link::untouched(const char* stream) {
  for (const auto& t : proxy->info.toxics)
    if (t.stream == stream && applies(t)) return false;
  return true;
}

void Link::close(bool reset) {
  if (closed) return;
  closed = true;
  std::error_code ec;
  if (reset) client.set_option(asio::socket_base::linger(true, 0), ec);
  client.close(ec);
  server.close(ec);
  for (Pipe* p : {&up, &down}) {
    p->wake_writer.cancel();
    p->wake_reader.cancel();
  }
  for (auto& [name, t] : toxic_timers)
    if (t.timer) t.timer->cancel();
  proxy->links.erase(this);
}

void Link::finish(tcp::socket& dst) {
  std::error_code ec;
  if (++finished == 2)
    close();
  else
    dst.shutdown(tcp::socket::shutdown_send, ec);
}

void Link::arm(const Toxic& t, std::int64_t ms, bool reset) {
  auto& slot = toxic_timers[t.name];
  if (!slot.timer) slot.timer = std::make_unique<asio::steady_timer>(proxy->io);
  slot.attributes = t.attributes;
  // Moving the expiry cancels a pending wait, whose handler then sees operation_aborted.
  slot.timer->expires_after(std::chrono::milliseconds(ms));
  std::weak_ptr<Link> weak = shared_from_this();
  slot.timer->async_wait([weak, reset](const std::error_code& ec) {
    if (auto l = weak.lock(); l && !ec) l->close(reset);
  });
}

// Toxiproxy 2.x runs a toxic on each connection from when it is added (or the connection
// opens), and restarts it when its attributes change. A timeout toxic closes the connection
// once its stream has been silent for `timeout` ms (each chunk, dropped, starts the wait
// again), so its timer starts here. A reset_peer toxic waits for the first data on its
// stream, drops it, and resets the connection `timeout` ms later: the reader arms it.
void Link::refresh() {
  if (closed) return;
  std::map<std::string, bool> present;
  for (const auto& t : proxy->info.toxics) {
    present[t.name] = true;
    if (t.type != "timeout" && t.type != "reset_peer") continue;
    auto it = toxic_timers.find(t.name);
    if (it != toxic_timers.end()) {
      if (it->second.attributes == t.attributes) continue;
      if (it->second.timer) it->second.timer->cancel();
      toxic_timers.erase(it);
    }
    if (!applies(t)) continue;
    if (t.type == "timeout") dropping.insert(t.name);
    const std::int64_t ms = t.attributes.value("timeout", std::int64_t{0});
    if (t.type == "timeout" && ms > 0) arm(t, ms, false);
    if (t.type == "reset_peer") toxic_timers[t.name].attributes = t.attributes;
  }
  for (auto it = toxic_timers.begin(); it != toxic_timers.end();) {
    if (present.count(it->first)) {
      ++it;
    } else {
      if (it->second.timer) it->second.timer->cancel();
      it = toxic_timers.erase(it);
    }
  }
  // A toxic that is gone holds nothing back: what it queued leaves now, as Toxiproxy flushes
  // a removed toxic's buffer (rather than keeping it for the full latency).
  bool removed = false;
  for (const auto& [name, on] : draws)
    removed |= on && !present.count(name);
  if (removed) {
    const auto now = steady::now();
    for (Pipe* p : {&up, &down}) {
      for (auto& c : p->queue)
        c.release = std::min(c.release, now);
      p->last_release = std::min(p->last_release, now);
      p->bandwidth_free = std::min(p->bandwidth_free, now);
      p->wake_writer.cancel();
    }
  }
  for (auto it = draws.begin(); it != draws.end();)
    it = present.count(it->first) ? std::next(it) : draws.erase(it);
  for (const auto& name : dropping)
    if (!present.count(name)) return close();
}

awaitable<void> Link::start() {
  auto self = shared_from_this();
  std::error_code ec;
  try {
    auto [host, port] = split_host_port(proxy->info.upstream, "upstream");
    tcp::resolver resolver(proxy->io);
    auto results = co_await resolver.async_resolve(host, std::to_string(port),
                                                   asio::redirect_error(use_awaitable, ec));
    if (!ec) co_await asio::async_connect(server, results, asio::redirect_error(use_awaitable, ec));
  } catch (const std::exception&) {
    ec = asio::error::invalid_argument;
  }
  if (ec || closed) {
    close();
    co_return;
  }
  server.set_option(tcp::no_delay(true), ec);
  refresh();
  auto ex = client.get_executor();
  asio::co_spawn(ex, relay(client, server, up, "upstream"), asio::detached);
  asio::co_spawn(ex, relay(server, client, down, "downstream"), asio::detached);
}

awaitable<void> Link::relay(tcp::socket& src, tcp::socket& dst, Pipe& p, const char* stream) {
  auto self = shared_from_this();
  if (untouched(stream) && !co_await plain_relay(src, dst, p, stream)) co_return;
  if (closed) co_return;
  asio::co_spawn(src.get_executor(), writer(dst, p, ++p.path_generation), asio::detached);
  co_await reader(src, dst, p, stream);
}

awaitable<bool> Link::plain_relay(tcp::socket& src, tcp::socket& dst, Pipe& p, const char* stream) {
  auto self = shared_from_this();
  std::error_code ec;
  // The relay calls read(2) and send(2) itself and waits with asio only when they would block.
  src.native_non_blocking(true, ec);
  if (!ec) dst.native_non_blocking(true, ec);
  if (ec) {  // only a closed socket refuses
    close();
    co_return false;
  }
  const auto wait = [&](tcp::socket& s, tcp::socket::wait_type what) {
    return s.async_wait(what, asio::redirect_error(use_awaitable, ec));
  };
  for (int chunks = 0;;) {
    if (closed) co_return false;
    if (!untouched(stream)) co_return true;
    if (!p.buffer) {
      // Only connections that carry data hold a buffer: wait for the first bytes.
      co_await wait(src, tcp::socket::wait_read);
      chunks = 0;
      if (closed) co_return false;
      if (!untouched(stream)) co_return true;
      p.buffer = std::make_unique_for_overwrite<char[]>(p.buffer_size = kFirstBuffer);
    }
    const ssize_t n = ::read(src.native_handle(), p.buffer.get(), p.buffer_size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      co_await wait(src, tcp::socket::wait_read);
      chunks = 0;
      continue;  // an error shows in the next read
    }
    if (n <= 0) {  // end of stream, or an error (a reset): end this direction
      finish(dst);
      co_return false;
    }
    const auto size = static_cast<std::size_t>(n);
    p.passed += size;
    // Everything read goes out before the toxics are checked again.
    for (std::size_t off = 0; off < size;) {
      if (closed) co_return false;
      const ssize_t w = ::send(dst.native_handle(), p.buffer.get() + off, size - off, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        co_await wait(dst, tcp::socket::wait_write);
        chunks = 0;
        continue;
      }
      if (w <= 0) {
        close();
        co_return false;
      }
      off += static_cast<std::size_t>(w);
      p.delivered->fetch_add(static_cast<std::uint64_t>(w), std::memory_order_relaxed);
    }
    // A read that filled the buffer left more waiting: a larger one takes it in fewer calls.
    if (size == p.buffer_size && size < kMaxBuffer)
      p.buffer = std::make_unique_for_overwrite<char[]>(p.buffer_size = 2 * size);
    if (++chunks == kChunksPerTurn) {
      chunks = 0;
      co_await asio::post(src.get_executor(), use_awaitable);
    }
  }
}

awaitable<void> Link::reader(tcp::socket& src, tcp::socket& dst, Pipe& p, const char* stream) {
  auto self = shared_from_this();
  std::vector<char> buf(kReadSize);
  auto& rng = proxy->rng;
  for (;;) {
    // The toxics are gone and the writer is idle: back to the plain relay.
    if (p.queue.empty() && !p.writing && untouched(stream)) {
      ++p.path_generation;
      p.wake_writer.cancel();
      asio::co_spawn(src.get_executor(), relay(src, dst, p, stream), asio::detached);
      co_return;
    }
    std::error_code ec;
    const std::size_t n =
        co_await src.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
    if (closed) co_return;
    const auto now = steady::now();
    if (ec) {
      Chunk c;
      c.eof = true;
      auto release = std::max(now, p.last_release);
      for (const auto& t : proxy->info.toxics) {
        if (t.stream != stream || !applies(t)) continue;
        if (t.type == "slow_close")
          release += std::chrono::milliseconds(t.attributes.value("delay", std::int64_t{0}));
        // Toxiproxy's timeout toxic closes the whole connection when its stream ends.
        if (t.type == "timeout") c.close_all = true;
      }
      c.release = release;
      push(p, std::move(c));
      co_return;
    }
    // A chunk's latency counts from when it was read, as in Toxiproxy, not from when the one
    // before it leaves (which would space chunks a latency apart and cap the stream at a
    // chunk per latency); chunks still leave in order (below).
    auto release = now;
    std::string_view data(buf.data(), n);
    bool drop = false, limit_hit = false;
    std::int64_t rate = 0, slice_avg = 0, slice_var = 0, slice_delay_us = 0;
    for (const auto& t : proxy->info.toxics) {
      if (t.stream != stream || !applies(t)) continue;
      const auto& a = t.attributes;
      if (t.type == "latency") {
        std::int64_t ms = a.value("latency", std::int64_t{0});
        const std::int64_t jitter = a.value("jitter", std::int64_t{0});
        if (jitter > 0) ms += std::uniform_int_distribution<std::int64_t>(-jitter, jitter)(rng);
        if (ms > 0) release += std::chrono::milliseconds(ms);
      } else if (t.type == "bandwidth") {
        rate = a.value("rate", std::int64_t{0});
      } else if (t.type == "timeout") {
        drop = true;
        const std::int64_t ms = a.value("timeout", std::int64_t{0});
        if (ms > 0) arm(t, ms, false);  // the wait starts again with each chunk
      } else if (t.type == "reset_peer") {
        drop = true;
        auto& slot = toxic_timers[t.name];
        if (!slot.triggered) {
          slot.triggered = true;
          arm(t, a.value("timeout", std::int64_t{0}), true);
        }
      } else if (t.type == "slicer") {
        slice_avg = a.value("average_size", std::int64_t{0});
        slice_var = a.value("size_variation", std::int64_t{0});
        slice_delay_us = a.value("delay", std::int64_t{0});
      } else if (t.type == "limit_data") {
        const auto limit = static_cast<std::uint64_t>(a.value("bytes", std::int64_t{0}));
        if (p.passed + data.size() >= limit) {
          data = data.substr(0, limit > p.passed ? limit - p.passed : 0);
          limit_hit = true;
        }
      }
    }
    if (drop) continue;
    release = std::max(release, p.last_release);
    std::size_t off = 0;
    while (off < data.size()) {
      std::size_t size = data.size() - off;
      if (slice_avg > 0) {
        std::int64_t s = slice_avg;
        if (slice_var > 0)
          s += std::uniform_int_distribution<std::int64_t>(-slice_var, slice_var)(rng);
        size = std::min<std::size_t>(size, static_cast<std::size_t>(std::max<std::int64_t>(1, s)));
      }
      if (rate > 0) {
        // rate is in KB/s: 1000 bytes per second per unit, as Toxiproxy counts.
        const auto start = std::max(release, p.bandwidth_free);
        release = start + std::chrono::microseconds(static_cast<std::int64_t>(size) * 1000 / rate);
        p.bandwidth_free = release;
      }
      push(p, Chunk{std::string(data.substr(off, size)), release});
      off += size;
      if (slice_avg > 0 && off < data.size()) release += std::chrono::microseconds(slice_delay_us);
    }
    p.last_release = release;
    p.passed += data.size();
    if (limit_hit) {
      Chunk c;
      c.eof = c.close_all = true;
      c.release = release;
      push(p, std::move(c));
      co_return;
    }
    while (p.queued > kMaxQueued && !closed) {
      p.wake_reader.expires_at(steady::time_point::max());
      co_await p.wake_reader.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    if (closed) co_return;
  }
}

awaitable<void> Link::writer(tcp::socket& dst, Pipe& p, std::uint64_t generation) {
  auto self = shared_from_this();
  for (;;) {
    if (closed || p.path_generation != generation) co_return;
    std::error_code ec;
    if (p.queue.empty() || steady::now() < p.queue.front().release) {
      p.wake_writer.expires_at(p.queue.empty() ? steady::time_point::max()
                                               : p.queue.front().release);
      co_await p.wake_writer.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    Chunk c = std::move(p.queue.front());
    p.queue.pop_front();
    p.queued -= c.data.size();
    p.wake_reader.cancel();
    if (c.eof) {
      if (c.close_all)
        close();
      else
        finish(dst);
      co_return;
    }
    p.writing = true;
    co_await asio::async_write(dst, asio::buffer(c.data), asio::redirect_error(use_awaitable, ec));
    p.writing = false;
    if (ec) {
      close();
      co_return;
    }
    p.delivered->fetch_add(c.data.size(), std::memory_order_relaxed);
  }
}

json parse_body_object(const json& body) {
  if (!body.is_object()) throw ApiError(400, "bad request body: the body must be a JSON object");
  return body;
}

}  // namespace

struct ProxyManager::Impl {
  Impl(asio::io_context& i, const Clock& c, std::int64_t max) : io(i), clock(c), max_ms(max) {}
  asio::io_context& io;
  const Clock& clock;
  std::int64_t max_ms;
  std::map<std::string, std::shared_ptr<ProxyState>> proxies;
  std::function<void()> gate;

  // A proxy is being disabled: refused by the gate (halted), else bounded in time.
  void disabling(ProxyState& p) {
    if (gate) gate();
    p.disabled_until = clock.now() + std::chrono::milliseconds(max_ms);
    p.disabled_wall = clock.wall();
  }

  ProxyState& find(const std::string& name) const {
    auto it = proxies.find(name);
    if (it == proxies.end()) throw ApiError(404, "proxy not found");
    return *it->second;
  }
  static std::vector<Toxic>::iterator find_toxic(ProxyState& p, const std::string& name) {
    auto it = std::find_if(p.info.toxics.begin(), p.info.toxics.end(),
                           [&](const Toxic& t) { return t.name == name; });
    if (it == p.info.toxics.end()) throw ApiError(404, "toxic not found");
    return it;
  }
};

ProxyManager::ProxyManager(asio::io_context& io, const Clock& clock, std::int64_t max_toxic_ms)
    : impl_(std::make_unique<Impl>(io, clock, max_toxic_ms)) {}

ProxyManager::~ProxyManager() {
  close_all();
}

std::vector<ProxyInfo> ProxyManager::list() const {
  std::vector<ProxyInfo> out;
  for (const auto& [name, p] : impl_->proxies)
    out.push_back(p->info);
  return out;
}

ProxyInfo ProxyManager::get(const std::string& name) const {
  return impl_->find(name).info;
}

ProxyInfo ProxyManager::create(ProxyInfo info) {
  if (impl_->proxies.count(info.name)) throw ApiError(409, "proxy already exists");
  try {
    split_host_port(info.upstream, "upstream");
    split_host_port(info.listen, "listen");
  } catch (const ConfigError& e) {
    throw ApiError(400, e.what());
  }
  info.toxics.clear();
  auto p = std::make_shared<ProxyState>(impl_->io, info);
  if (!p->info.enabled) impl_->disabling(*p);
  if (p->info.enabled) p->start_listening();
  impl_->proxies[info.name] = p;
  return p->info;
}

ProxyInfo ProxyManager::update(const std::string& name, const json& patch) {
  ProxyState& p = impl_->find(name);
  parse_body_object(patch);
  ProxyInfo next = p.info;
  for (const auto& [key, v] : patch.items()) {
    if (key == "listen" || key == "upstream") {
      if (!v.is_string())
        throw ApiError(400, "bad request body: field '" + key + "' must be a string");
      try {
        split_host_port(v.get<std::string>(), key);
      } catch (const ConfigError& e) {
        throw ApiError(400, e.what());
      }
      (key == "listen" ? next.listen : next.upstream) = v.get<std::string>();
    } else if (key == "enabled") {
      if (!v.is_boolean())
        throw ApiError(400, "bad request body: field 'enabled' must be a boolean");
      next.enabled = v.get<bool>();
    } else if (key != "name" && key != "toxics") {
      throw ApiError(400, "bad request body: unknown field '" + key + "'");
    }
  }
  if (p.info.enabled && !next.enabled) impl_->disabling(p);
  const bool restart = next.listen != p.info.listen || next.upstream != p.info.upstream;
  if (p.info.enabled && (!next.enabled || restart)) p.stop_listening();
  const bool was_listening = p.acceptor.is_open();
  p.info.listen = next.listen;
  p.info.upstream = next.upstream;
  p.info.enabled = next.enabled;
  if (p.info.enabled && !was_listening) p.start_listening();
  return p.info;
}

void ProxyManager::remove(const std::string& name) {
  impl_->find(name).stop_listening();
  impl_->proxies.erase(name);
}

std::vector<ProxyInfo> ProxyManager::populate(const json& list) {
  if (!list.is_array()) throw ApiError(400, "bad request body: the body must be a JSON list");
  std::vector<ProxyInfo> parsed;
  for (const auto& item : list)
    parsed.push_back(parse_proxy(item));
  for (const auto& info : parsed)
    if (!info.enabled && impl_->gate) impl_->gate();
  std::vector<ProxyInfo> out;
  for (auto& info : parsed) {
    auto it = impl_->proxies.find(info.name);
    if (it != impl_->proxies.end()) {
      const auto& old = it->second->info;
      if (old.listen == info.listen && old.upstream == info.upstream &&
          old.enabled == info.enabled) {
        out.push_back(old);
        continue;
      }
      remove(info.name);
    }
    out.push_back(create(info));
  }
  return out;
}

Toxic ProxyManager::add_toxic(const std::string& proxy, Toxic toxic) {
  ProxyState& p = impl_->find(proxy);
  for (const auto& t : p.info.toxics)
    if (t.name == toxic.name) throw ApiError(409, "toxic already exists");
  toxic.expires = impl_->clock.now() + std::chrono::milliseconds(impl_->max_ms);
  toxic.added_wall = impl_->clock.wall();
  toxic.expires_wall = toxic.added_wall + std::chrono::milliseconds(impl_->max_ms);
  p.info.toxics.push_back(toxic);
  p.refresh_links();
  return toxic;
}

Toxic ProxyManager::get_toxic(const std::string& proxy, const std::string& name) const {
  return *Impl::find_toxic(impl_->find(proxy), name);
}

Toxic ProxyManager::update_toxic(const std::string& proxy, const std::string& name,
                                 const json& patch) {
  ProxyState& p = impl_->find(proxy);
  auto it = Impl::find_toxic(p, name);
  Toxic t = *it;
  patch_toxic(t, patch);
  *it = t;
  p.refresh_links();
  return t;
}

void ProxyManager::delete_toxic(const std::string& proxy, const std::string& name) {
  ProxyState& p = impl_->find(proxy);
  p.info.toxics.erase(Impl::find_toxic(p, name));
  p.refresh_links();
}

void ProxyManager::reset() {
  for (auto& [name, p] : impl_->proxies) {
    p->info.toxics.clear();
    p->refresh_links();
    if (!p->info.enabled) {
      p->info.enabled = true;
      p->start_listening();
    }
  }
}

std::size_t ProxyManager::expire() {
  const auto now = impl_->clock.now();
  std::size_t removed = 0;
  for (auto& [name, p] : impl_->proxies) {
    const auto before = p->info.toxics.size();
    std::erase_if(p->info.toxics, [&](const Toxic& t) { return t.expires <= now; });
    if (p->info.toxics.size() != before) {
      removed += before - p->info.toxics.size();
      p->refresh_links();
    }
    if (!p->info.enabled && p->disabled_until <= now) {
      try {
        p->start_listening();
        p->info.enabled = true;
      } catch (const ApiError&) {
        // The port is taken meanwhile: tried again at the next tick.
      }
    }
  }
  return removed;
}

void ProxyManager::set_harm_gate(std::function<void()> gate) {
  impl_->gate = std::move(gate);
}

void ProxyManager::close_all() {
  for (auto& [name, p] : impl_->proxies)
    p->stop_listening();
}

std::vector<ProxyTraffic> ProxyManager::traffic() const {
  std::vector<ProxyTraffic> out;
  for (const auto& [name, p] : impl_->proxies)
    out.push_back({name, p->upstream_bytes.load(std::memory_order_relaxed),
                   p->downstream_bytes.load(std::memory_order_relaxed)});
  return out;
}

void ProxyManager::add_latency(const std::string& proxy, const std::string& toxic,
                               std::int64_t latency_ms, std::int64_t jitter_ms) {
  Toxic t;
  t.name = toxic;
  t.type = "latency";
  t.attributes = {{"latency", latency_ms}, {"jitter", jitter_ms}};
  t.engine_owned = true;
  try {
    add_toxic(proxy, t);
  } catch (const ApiError& e) {
    if (e.status() == 404) throw ApiError(404, "proxy not found: '" + proxy + "'");
    throw;
  }
}

void ProxyManager::remove_toxic(const std::string& proxy, const std::string& toxic) {
  auto it = impl_->proxies.find(proxy);
  if (it == impl_->proxies.end()) return;
  std::erase_if(it->second->info.toxics, [&](const Toxic& t) { return t.name == toxic; });
  it->second->refresh_links();
}

void ProxyManager::revert_all() {
  for (auto& [name, p] : impl_->proxies) {
    p->info.toxics.clear();
    p->refresh_links();
    if (!p->info.enabled) {
      try {
        p->start_listening();
        p->info.enabled = true;
      } catch (const ApiError&) {
        // The port is taken meanwhile: expire() tries again at the next tick.
        p->disabled_until = impl_->clock.now();
      }
    }
  }
}

json ProxyManager::external_faults() const {
  json out = json::array();
  for (const auto& [name, p] : impl_->proxies) {
    if (!p->info.enabled) {
      const auto until = p->disabled_wall + std::chrono::milliseconds(impl_->max_ms);
      out.push_back({{"id", "toxiproxy:" + name},
                     {"kind", "proxy_disabled"},
                     {"state", "active"},
                     {"proxy", name},
                     {"started_at", common::format_time(p->disabled_wall)},
                     {"expires_at", common::format_time(until)}});
    }
    for (const auto& t : p->info.toxics) {
      if (t.engine_owned) continue;
      json e = {{"id", "toxiproxy:" + name + "/" + t.name},
                {"kind", "toxic"},
                {"state", "active"},
                {"proxy", name}};
      e.update(to_json(t));
      e["toxic"] = t.name;
      e.erase("name");
      e["started_at"] = common::format_time(t.added_wall);
      e["expires_at"] = common::format_time(t.expires_wall);
      out.push_back(e);
    }
  }
  return out;
}

}  // namespace achilles::injector
