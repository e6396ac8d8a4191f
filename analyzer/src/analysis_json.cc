// The analysis as JSON text (analysis-json.md), streamed. to_json() builds nlohmann's
// document, which at 10^6 components holds some 10^7 nodes and, dumped, half a gigabyte
// of text at once; write_json() writes the same bytes as to_json(...).dump(2) straight to
// a stream: the keys of every object in nlohmann's order (sorted, as its std::map keeps
// them), numbers through nlohmann's own conversion, strings escaped as it escapes them.
// tests/analyzer/analysis_json_test.cc holds the two to the same output.
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>

#include "achilles/analyzer/analysis.h"
#include "parallel.h"

namespace achilles::analyzer {

namespace {

using nlohmann::json;

/// Pretty-printed JSON with an indent of 2, as nlohmann's dump(2) writes it, into a
/// buffer flushed to the stream now and then; without a stream, into the buffer only (a
/// chunk of the findings formatted on another thread, take()n once done).
class Out {
 public:
  explicit Out(std::ostream& out) : out_(&out) { buf_.reserve(kFlushAt + 4096); }
  /// Into `buf`, cleared but with its capacity kept, never flushed.
  explicit Out(std::string&& buf) : out_(nullptr), buf_(std::move(buf)) { buf_.clear(); }
  ~Out() { flush(); }

  Out& raw(std::string_view s) {
    buf_ += s;
    if (buf_.size() >= kFlushAt) flush();
    return *this;
  }

  /// A string as dump_escaped() writes it with ensure_ascii off. Only printable ASCII is
  /// written here; anything else (control characters, UTF-8, invalid bytes, which nlohmann
  /// rejects) goes through nlohmann itself.
  Out& str(std::string_view s) {
    if (!plain(s)) return raw(json(s).dump());
    buf_ += '"';
    buf_ += s;
    buf_ += '"';
    return *this;
  }

  Out& num(double x) {
    if (!std::isfinite(x)) return raw("null");
    // nlohmann's serializer writes a double with exactly this (grisu2, "1.0", "1e-05").
    char text[64];
    char* end = nlohmann::detail::to_chars(text, text + sizeof text, x);
    return raw(std::string_view(text, static_cast<size_t>(end - text)));
  }

  template <typename Int>
  Out& integer(Int x) {
    char text[24];
    auto [end, ec] = std::to_chars(text, text + sizeof text, x);
    return raw(std::string_view(text, static_cast<size_t>(end - text)));
  }

  Out& boolean(bool b) { return raw(b ? "true" : "false"); }

  /// A newline and the indent of `depth` levels.
  Out& line(int depth) {
    buf_ += '\n';
    buf_.append(static_cast<size_t>(2 * depth), ' ');
    return *this;
  }

  /// Starts an element of an array at `depth`: the comma unless it is the first, the indent.
  Out& item(bool first, int depth) {
    if (!first) buf_ += ',';
    return line(depth);
  }
  /// Starts a member of an object at `depth` the same way, up to its value.
  Out& key(bool first, int depth, std::string_view k) {
    item(first, depth).str(k);
    buf_ += ": ";
    return *this;
  }

  /// A list of strings at `depth` ("[]" when empty).
  template <typename String>
  Out& strings(const std::vector<String>& items, int depth) {
    if (items.empty()) return raw("[]");
    raw("[");
    for (size_t i = 0; i < items.size(); ++i)
      item(i == 0, depth + 1).str(items[i]);
    return line(depth).raw("]");
  }

  /// Any nlohmann value at `depth`, as serializer::dump writes it.
  Out& value(const json& v, int depth) {
    switch (v.type()) {
      case json::value_t::object: {
        if (v.empty()) return raw("{}");
        raw("{");
        bool first = true;
        for (auto it = v.begin(); it != v.end(); ++it, first = false)
          key(first, depth + 1, it.key()).value(it.value(), depth + 1);
        return line(depth).raw("}");
      }
      case json::value_t::array: {
        if (v.empty()) return raw("[]");
        raw("[");
        bool first = true;
        for (const json& e : v) {
          item(first, depth + 1).value(e, depth + 1);
          first = false;
        }
        return line(depth).raw("]");
      }
      case json::value_t::string:
        return str(v.get_ref<const std::string&>());
      case json::value_t::boolean:
        return boolean(v.get<bool>());
      case json::value_t::number_integer:
        return integer(v.get<json::number_integer_t>());
      case json::value_t::number_unsigned:
        return integer(v.get<json::number_unsigned_t>());
      case json::value_t::number_float:
        return num(v.get<double>());
      case json::value_t::null:
      case json::value_t::discarded:
      case json::value_t::binary:
        break;
    }
    // dump() writes "null" for null and discarded; a binary value never occurs here.
    return v.is_null() || v.is_discarded() ? raw("null") : raw(v.dump());
  }

  void flush() {
    if (!out_) return;
    out_->write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    buf_.clear();
  }

  /// The text formatted so far, for an Out without a stream.
  std::string take() { return std::move(buf_); }

 private:
  /// Whether `s` is printable ASCII without '"' or '\\', written as it is between quotes.
  /// Eight bytes at a time: ids are most of the text, and a byte at a time the check took
  /// longer than copying them.
  static bool plain(std::string_view s) {
    constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
    // The high bit of each byte that is zero, and maybe of some above one that is (exact
    // as to whether there is any).
    auto zero = [](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      uint64_t v;
      std::memcpy(&v, s.data() + i, sizeof v);
      // Below 0x20 (as zero() with 0x20 for 1: exact for a bound up to 0x80), from 0x80,
      // a quote, a backslash.
      uint64_t bad =
          ((v - 0x20 * kOnes) & ~v) | v | zero(v ^ ('"' * kOnes)) | zero(v ^ ('\\' * kOnes));
      if (bad & kHigh) return false;
    }
    for (; i < s.size(); ++i) {
      auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') return false;
    }
    return true;
  }

  static constexpr size_t kFlushAt = 1 << 20;
  std::ostream* out_;
  std::string buf_;
};

/// A finding's own keys, sorted as nlohmann sorts them.
enum class Key { kExplanation, kId, kImpact, kKind, kMessage, kSeverity, kSubject };
constexpr std::pair<std::string_view, Key> kFindingKeys[] = {
    {"explanation", Key::kExplanation}, {"id", Key::kId},
    {"impact", Key::kImpact},           {"kind", Key::kKind},
    {"message", Key::kMessage},         {"severity", Key::kSeverity},
    {"subject", Key::kSubject}};

void write_own(Out& out, const Finding& f, Key k, int depth) {
  switch (k) {
    case Key::kExplanation:
      out.strings(f.explanation, depth);
      break;
    case Key::kId:
      out.str(f.id());
      break;
    case Key::kImpact:
      out.raw("{");
      out.key(true, depth + 1, "components_down").integer(f.impact.components_down);
      out.key(false, depth + 1, "entrypoints_degraded")
          .strings(f.impact.entrypoints_degraded, depth + 1);
      out.key(false, depth + 1, "entrypoints_down").strings(f.impact.entrypoints_down, depth + 1);
      out.key(false, depth + 1, "services_down").integer(f.impact.services_down);
      out.line(depth).raw("}");
      break;
    case Key::kKind:
      out.str(f.kind);
      break;
    case Key::kMessage:
      out.str(f.message);
      break;
    case Key::kSeverity:
      out.str(f.severity);
      break;
    case Key::kSubject:
      out.strings(f.subject, depth);
      break;
  }
}

// The finding's own keys and its details merged in key order; a detail with the name of an
// own key replaces it, as `j[key] = value` does in to_json().
void write_finding(Out& out, const Finding& f, int depth) {
  out.raw("{");
  static const json kNoDetails = json::object();
  const json& details = f.details.is_object() ? f.details : kNoDetails;
  auto it = details.begin();
  size_t i = 0;
  bool first = true;
  constexpr size_t kOwn = std::size(kFindingKeys);
  while (i < kOwn || it != details.end()) {
    if (it == details.end() || (i < kOwn && kFindingKeys[i].first < it.key())) {
      out.key(first, depth + 1, kFindingKeys[i].first);
      write_own(out, f, kFindingKeys[i].second, depth + 1);
      ++i;
    } else {
      if (i < kOwn && kFindingKeys[i].first == it.key()) ++i;
      out.key(first, depth + 1, it.key()).value(it.value(), depth + 1);
      ++it;
    }
    first = false;
  }
  out.line(depth).raw("}");
}

// The findings and the utilization table are the bulk of the text (two thirds and one third
// of half a gigabyte at 10^6 components), and each element's text depends on nothing before
// it. So the threads format consecutive chunks of `chunk` elements into buffers of their
// own, and whoever finishes the chunk next in line writes it and any done after it, in
// order: the bytes are those of one thread. A chunk is only started once the one `window`
// chunks before it is written, so the text waiting in memory stays bounded and each chunk
// reuses that one's buffer. write_item(out, i) writes element i of [0, n), with its comma
// and indent.
template <typename WriteItem>
void write_items(Out& out, std::ostream& stream, size_t n, size_t chunk, unsigned requested,
                 WriteItem write_item) {
  const size_t chunks = (n + chunk - 1) / chunk;
  const unsigned threads = detail::thread_count(chunks, 4, requested);
  if (threads == 1) {
    for (size_t i = 0; i < n; ++i)
      write_item(out, i);
    return;
  }
  out.flush();
  const size_t window = 4 * size_t{threads};
  std::vector<std::string> buffers(window);
  std::vector<uint8_t> ready(chunks, 0);
  size_t written = 0;
  bool failed = false;
  std::mutex mutex;
  std::condition_variable cv;
  detail::parallel_for(chunks, threads, [&](unsigned, size_t c) {
    std::string& buffer = buffers[c % window];
    {
      std::unique_lock lock(mutex);
      cv.wait(lock, [&] { return c < written + window || failed; });
      if (failed) return;
    }
    try {
      Out text(std::move(buffer));
      for (size_t i = c * chunk; i < std::min(n, (c + 1) * chunk); ++i)
        write_item(text, i);
      buffer = text.take();
    } catch (...) {
      // Wake whoever waits for this chunk to be written; parallel_for rethrows.
      std::lock_guard lock(mutex);
      failed = true;
      cv.notify_all();
      throw;
    }
    std::lock_guard lock(mutex);
    ready[c] = 1;
    for (; written < chunks && ready[written]; ++written) {
      const std::string& text = buffers[written % window];
      stream.write(text.data(), static_cast<std::streamsize>(text.size()));
    }
    cv.notify_all();
  });
}

}  // namespace

void write_json(const Topology& topology, const Analysis& analysis, std::ostream& stream) {
  Out out(stream);
  out.raw("{");
  // "entrypoints": every entrypoint in file order, with its availability where computed.
  out.key(true, 1, "entrypoints").raw("[");
  // Each entrypoint's availability by id (the last one, as to_json's overwrites): looking
  // it up in the list for each entrypoint would cost their number squared.
  std::unordered_map<std::string_view, const EntrypointAvailability*> availability;
  for (const EntrypointAvailability& a : analysis.availability)
    availability[a.id] = &a;
  bool first = true;
  for (const Element& e : topology.elements) {
    if (e.kind != ElementKind::kEntrypoint) continue;
    out.item(first, 2).raw("{");
    first = false;
    auto found = availability.find(e.id);
    const EntrypointAvailability* a = found == availability.end() ? nullptr : found->second;
    bool none = true;
    auto key = [&](std::string_view k) -> Out& {
      out.key(none, 3, k);
      none = false;
      return out;
    };
    if (a) key("availability").num(a->availability);
    if (a && !a->error.is_null()) key("error").value(a->error, 3);
    key("id").str(e.id);
    if (a) {
      key("importance").raw("[");
      for (size_t i = 0; i < a->importance.size(); ++i) {
        const Importance& imp = a->importance[i];
        out.item(i == 0, 4).raw("{");
        out.key(true, 5, "birnbaum").num(imp.birnbaum);
        out.key(false, 5, "gain").num(imp.gain);
        out.key(false, 5, "id").str(imp.id);
        out.line(4).raw("}");
      }
      if (!a->importance.empty()) out.line(3);
      out.raw("]");
    }
    if (e.load) key("load").num(*e.load);
    if (a) key("method").str(a->method);
    if (e.slo) key("slo").num(*e.slo);
    key("target").str(topology[e.target].id);
    out.line(2).raw("}");
  }
  if (!first) out.line(1);
  out.raw("]");

  out.key(false, 1, "findings").raw("[");
  write_items(out, stream, analysis.findings.size(), 256, analysis.options.threads,
              [&](Out& o, size_t i) {
                o.item(i == 0, 2);
                write_finding(o, analysis.findings[i], 2);
              });
  if (!analysis.findings.empty()) out.line(1);
  out.raw("]");

  // "groups": keys in nlohmann's order, as to_json() writes them.
  out.key(false, 1, "groups").raw("[");
  for (size_t g = 0; g < analysis.groups.size(); ++g) {
    const RiskGroup& group = analysis.groups[g];
    const bool team = group.kind == "team";
    out.item(g == 0, 2).raw("{");
    out.key(true, 3, "entrypoints_degraded").strings(group.entrypoints_degraded, 3);
    out.key(false, 3, "entrypoints_down").strings(group.entrypoints_down, 3);
    out.key(false, 3, "findings");
    if (group.findings.empty()) {
      out.raw("[]");
    } else {
      out.raw("[");
      for (size_t i = 0; i < group.findings.size(); ++i)
        out.item(i == 0, 4).str(analysis.findings[group.findings[i]].id());
      out.line(3).raw("]");
    }
    if (team)
      out.key(false, 3, "fixes").strings(group.fixes, 3);
    else
      out.key(false, 3, "fix").str(group.fix);
    out.key(false, 3, "kind").str(group.kind);
    out.key(false, 3, "severity").str(group.severity);
    out.key(false, 3, "summary").str(group.summary);
    if (team) {
      out.key(false, 3, "team");
      if (group.has_team)
        out.str(group.team);
      else
        out.raw("null");
    }
    out.line(2).raw("}");
  }
  if (!analysis.groups.empty()) out.line(1);
  out.raw("]");

  out.key(false, 1, "options").raw("{");
  out.key(true, 2, "cascade").boolean(analysis.options.cascade);
  out.key(false, 2, "order").integer(analysis.options.order);
  out.key(false, 2, "threshold").num(analysis.options.threshold);
  out.line(1).raw("}");

  out.key(false, 1, "schema").str("achilles.analysis/v1");

  out.key(false, 1, "topology").raw("{");
  // One walk over the elements for all the counts, not one per count (at 10^6 components
  // each walk reads some 300 MB of elements).
  size_t kinds[4] = {0, 0, 0, 0}, dependencies = 0;
  for (const Element& e : topology.elements) {
    ++kinds[static_cast<int>(e.kind)];
    dependencies += e.depends_on.size();
  }
  auto count = [&](ElementKind kind) { return kinds[static_cast<int>(kind)]; };
  out.key(true, 2, "counts").raw("{");
  out.key(true, 3, "components").integer(count(ElementKind::kComponent));
  out.key(false, 3, "dependencies").integer(dependencies);
  out.key(false, 3, "domains").integer(count(ElementKind::kDomain));
  out.key(false, 3, "entrypoints").integer(count(ElementKind::kEntrypoint));
  out.key(false, 3, "services").integer(count(ElementKind::kService));
  out.line(2).raw("}");
  out.key(false, 2, "file").str(topology.file);
  out.key(false, 2, "name").str(topology.name);
  out.line(1).raw("}");

  if (!analysis.utilization.empty()) {
    // An unbounded load or utilization is null, with "unbounded": true.
    out.key(false, 1, "utilization").raw("[");
    write_items(out, stream, analysis.utilization.size(), 1024, analysis.options.threads,
                [&](Out& o, size_t i) {
                  const Utilization& u = analysis.utilization[i];
                  bool unbounded = !std::isfinite(u.load);
                  o.item(i == 0, 2).raw("{");
                  o.key(true, 3, "capacity").num(u.capacity);
                  o.key(false, 3, "id").str(u.id);
                  o.key(false, 3, "load");
                  if (unbounded)
                    o.raw("null").key(false, 3, "unbounded").boolean(true);
                  else
                    o.num(u.load);
                  o.key(false, 3, "utilization");
                  if (unbounded)
                    o.raw("null");
                  else
                    o.num(u.utilization);
                  o.line(2).raw("}");
                });
    out.line(1).raw("]");
  }
  out.line(0).raw("}");
}

}  // namespace achilles::analyzer
