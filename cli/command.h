// The `achilles` subcommands and the small argument parser they share.
#pragma once

#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "achilles/analyzer/analysis.h"

namespace achilles::cli {

/// One option of a command: `--name VALUE`, or a flag when `takes_value` is false.
struct OptionSpec {
  std::string name;     ///< long name without dashes ("order")
  char short_name = 0;  ///< 'o' for -o, or 0
  bool takes_value = true;
  bool repeatable = false;  ///< values accumulate; with takes_value, also greedy (--fail A B)
  std::string value_name;   ///< shown in --help ("K")
  std::string help;
};

/// What a command accepts; also the text of its --help.
struct CommandSpec {
  std::string name;   ///< "analyze", or "drill run"
  std::string usage;  ///< "FILE [--order K] ..."
  std::string summary;
  std::string description;  ///< paragraphs shown under the usage, may be empty
  std::vector<OptionSpec> options;
  size_t min_positionals = 0;
  size_t max_positionals = 0;  ///< SIZE_MAX for any number
  std::string examples;        ///< shown at the end of --help
};

/// Parsed command line of one command.
struct Args {
  std::vector<std::string> positionals;
  std::map<std::string, std::vector<std::string>> values;  ///< by option name
  bool has(const std::string& name) const { return values.count(name) > 0; }
  /// The last value given, if any.
  std::optional<std::string> get(const std::string& name) const;
  std::vector<std::string> all(const std::string& name) const;
};

/// Parses `argv` against `spec`; throws achilles::common::UsageError on bad usage.
/// Returns nullopt after printing --help to stdout.
std::optional<Args> parse_args(const CommandSpec& spec, const std::vector<std::string>& argv);

/// The --help text of a command.
std::string help_text(const CommandSpec& spec);

/// A number option within [lo, hi]; throws UsageError naming the option otherwise.
double number_option(const Args& args, const std::string& name, double fallback, double lo,
                     double hi);

/// `--by fix|team` (default fix): what the risk groups gather their findings by; throws
/// UsageError, its message starting with `command`, for anything else.
analyzer::GroupBy group_by_option(const Args& args, const std::string& command);

/// --order (1..3, default 2), --threshold (default 0.8) and --cascade, for every command
/// that analyzes (analyze, report, whatif, recommend); throws UsageError, its message
/// starting with `command`.
analyzer::AnalysisOptions analysis_options(const Args& args, const std::string& command);

/// A subcommand: its spec and what it runs; returns the exit code.
struct Command {
  CommandSpec spec;
  std::function<int(const Args&)> run;
};

/// Every subcommand, in the order `achilles --help` lists them. Each cmd_*.cc adds its own.
std::vector<Command>& registry();

/// Registers a command at static-initialisation time: `static Registrar r{{spec, run}};`
struct Registrar {
  explicit Registrar(Command command) { registry().push_back(std::move(command)); }
};

/// Writes `text` to `path`, or to stdout when path is empty or "-". Throws UsageError
/// when the file cannot be written.
void write_output(const std::string& path, const std::string& text);
/// The same for output written piece by piece: `write` gets the stream to write to.
void write_output(const std::string& path, const std::function<void(std::ostream&)>& write);

/// True when stderr is a terminal (progress is shown only then).
bool stderr_is_terminal();

/// Moves `value` to the heap and keeps it there until the process exits, without running its
/// destructor: a command that is about to exit need not spend half a second freeing a model
/// of 10^6 elements. The object stays reachable, so leak checkers do not report it.
template <typename T>
T& keep_until_exit(T&& value) {
  static std::vector<const void*>* kept = new std::vector<const void*>;
  T* heap = new T(std::forward<T>(value));
  kept->push_back(heap);
  return *heap;
}

}  // namespace achilles::cli
