// achilles generate: a synthetic topology of the requested size, for benchmarks.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <vector>

#include "achilles/analyzer/generate.h"
#include "achilles/analyzer/loader.h"
#include "achilles/analyzer/writer.h"
#include "achilles/common/diagnostic.h"
#include "command.h"

namespace achilles::cli {
namespace {

using common::UsageError;

/// A whole number option within [lo, hi], or `fallback` when absent.
uint64_t count_option(const Args& args, const std::string& name, uint64_t fallback, uint64_t lo,
                      uint64_t hi) {
  auto v = args.get(name);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(v->c_str(), &end, 10);
  if (v->empty() || (*v)[0] == '-' || (*v)[0] == '+' || *end != '\0' || errno != 0)
    throw UsageError("achilles generate: error: --" + name + ": '" + *v +
                     "' is not a whole number");
  if (n < lo || n > hi)
    throw UsageError("achilles generate: error: --" + name + ": " + *v + " is outside " +
                     std::to_string(lo) + ".." + std::to_string(hi));
  return n;
}

std::vector<size_t> layer_counts(const std::string& text) {
  std::vector<size_t> counts;
  size_t at = 0;
  for (;;) {
    const size_t comma = text.find(',', at);
    const std::string part = text.substr(at, comma == std::string::npos ? comma : comma - at);
    char* end = nullptr;
    errno = 0;
    const unsigned long long n = std::strtoull(part.c_str(), &end, 10);
    if (part.empty() || part[0] == '-' || part[0] == '+' || *end != '\0' || errno != 0)
      throw UsageError("achilles generate: error: --services-per-layer: '" + text +
                       "' is not four whole numbers EDGE,WEB,APP,DATA");
    counts.push_back(n);
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  if (counts.size() != analyzer::kLayerCount)
    throw UsageError("achilles generate: error: --services-per-layer: '" + text +
                     "' is not four whole numbers EDGE,WEB,APP,DATA");
  return counts;
}

/// The `\r`-rewritten progress line on a terminal after the first two seconds; silent
/// otherwise.
class StatusLine {
 public:
  explicit StatusLine(bool enabled) : enabled_(enabled) {}
  ~StatusLine() { done(); }
  void show(const std::string& text) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    // Quiet for short work, and at most ten updates a second.
    if (now - start_ < std::chrono::seconds(2) || now - last_ < std::chrono::milliseconds(100))
      return;
    last_ = now;
    std::cerr << "\r\033[Kachilles generate: " << text << std::flush;
    shown_ = true;
  }
  void done() {
    if (shown_) std::cerr << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
};

/// Passes bytes through to another buffer, counting them for the progress line.
class CountingBuf : public std::streambuf {
 public:
  CountingBuf(std::streambuf* sink, StatusLine& progress) : sink_(sink), progress_(progress) {}

 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    count(1);
    return sink_->sputc(traits_type::to_char_type(c));
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    count(n);
    return sink_->sputn(s, n);
  }
  int sync() override { return sink_->pubsync(); }

 private:
  void count(std::streamsize n) {
    bytes_ += static_cast<uint64_t>(n);
    if ((bytes_ >> 20) != (reported_ >> 20)) {
      reported_ = bytes_;
      progress_.show("writing, " + std::to_string(bytes_ >> 20) + " MiB");
    }
  }
  std::streambuf* sink_;
  StatusLine& progress_;
  uint64_t bytes_ = 0;
  uint64_t reported_ = 0;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int run(const Args& args) {
  analyzer::GenerateOptions options;
  options.components = count_option(args, "components", 1000, 1, 100'000'000);
  options.seed = count_option(args, "seed", 1, 0, UINT64_MAX);
  options.regions = static_cast<unsigned>(count_option(args, "regions", 0, 1, 64));
  if (auto v = args.get("services-per-layer")) options.services_per_layer = layer_counts(*v);
  options.cycles = args.has("cycles");

  const std::string out_path = args.get("output").value_or("-");
  const bool to_stdout = out_path == "-";
  analyzer::Syntax syntax = analyzer::Syntax::kYaml;
  if (auto f = args.get("format")) {
    if (*f == "json")
      syntax = analyzer::Syntax::kJson;
    else if (*f != "yaml")
      throw UsageError("achilles generate: error: --format: '" + *f + "' is not one of yaml, json");
  } else if (ends_with(out_path, ".json")) {
    syntax = analyzer::Syntax::kJson;
  } else if (!to_stdout && !ends_with(out_path, ".yaml") && !ends_with(out_path, ".yml")) {
    throw UsageError("achilles generate: error: " + out_path +
                     ": cannot tell the format from the extension; name it .json, .yaml or "
                     ".yml, or give --format");
  }

  // A regular file is written under a temporary name next to it and renamed at the end,
  // so that a failure never leaves a truncated topology nor clobbers an existing file, and
  // an unwritable directory fails before the work. Devices (/dev/null) are written as is.
  std::error_code ec;
  const auto status = std::filesystem::status(out_path, ec);
  const bool via_temp =
      !to_stdout && (!std::filesystem::exists(status) || std::filesystem::is_regular_file(status));
  const std::string write_path =
      via_temp ? out_path + ".tmp-" + std::to_string(::getpid()) : out_path;
  std::ofstream file;
  std::vector<char> buffer(1 << 20);
  if (!to_stdout) {
    file.rdbuf()->pubsetbuf(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    file.open(write_path, std::ios::binary | std::ios::trunc);
    if (!file) throw UsageError(out_path + ": error: cannot write: " + std::strerror(errno));
  }
  auto discard = [&] {
    if (to_stdout) return;
    file.close();
    if (via_temp) std::filesystem::remove(write_path, ec);
  };

  StatusLine progress(stderr_is_terminal());
  options.progress = [&](double fraction) {
    progress.show("generating " + std::to_string(std::lround(fraction * 100)) + "%");
  };
  // Never freed: tearing down millions of elements costs about a second per 10^6
  // components in free(), and the process ends right after writing. A pointer in static
  // storage keeps the memory reachable, so LeakSanitizer does not report it.
  static const analyzer::Topology* kept = nullptr;
  try {
    kept = new analyzer::Topology(analyzer::generate_topology(options));
  } catch (...) {
    discard();
    throw;
  }

  std::ostream& sink = to_stdout ? std::cout : file;
  CountingBuf counting(sink.rdbuf(), progress);
  std::ostream out(&counting);
  analyzer::write_topology(*kept, syntax, out);
  out.flush();
  if (!to_stdout) file.close();
  progress.done();
  if (!out || !sink || (!to_stdout && file.fail())) {
    discard();
    throw std::runtime_error((to_stdout ? std::string("stdout") : out_path) +
                             ": write failed (disk full?)");
  }
  if (via_temp) {
    std::filesystem::rename(write_path, out_path, ec);
    if (ec) {
      discard();
      throw std::runtime_error(out_path + ": cannot replace it: " + ec.message());
    }
  }
  return 0;
}

const Registrar registrar{Command{
    CommandSpec{
        "generate",
        "[--components N] [--seed S] [--regions R] [--services-per-layer E,W,A,D] [--cycles] "
        "[-o OUT]",
        "writes a synthetic topology of the requested size, for benchmarks",
        "A realistic estate: regions > zones > racks > hosts as nested failure domains with\n"
        "availabilities; services in four layers (edge load balancers, web/API, app, data),\n"
        "each depending on deeper layers only; heavy-tailed replica counts, k-of-n quorums,\n"
        "some services packed into one rack or zone, a few shared databases; an entrypoint\n"
        "with load and slo on each edge service; capacities sized from the load. The same\n"
        "options and seed give the same file on every platform. Exactly N components.\n"
        "The format follows OUT's extension (.json, .yaml, .yml); stdout gets YAML.",
        {
            {"components", 0, true, false, "N", "how many components (default 1000)"},
            {"seed", 0, true, false, "S", "random seed (default 1)"},
            {"regions", 0, true, false, "R", "regions (default: 1 to 4 by size)"},
            {"services-per-layer", 0, true, false, "E,W,A,D",
             "services in the edge, web, app and data layers (default: from N)"},
            {"cycles", 0, false, false, "", "add a rare dependency cycle (a cold-start finding)"},
            {"format", 0, true, false, "yaml|json", "output syntax (default: from OUT)"},
            {"output", 'o', true, false, "OUT", "file to write (default: stdout)"},
        },
        0,
        0,
        "  achilles generate --components 1000000 --seed 7 -o big.json\n"
        "  achilles generate --components 200 --regions 2 --cycles -o small.yaml\n",
    },
    run}};

}  // namespace
}  // namespace achilles::cli
