#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "achilles/analyzer/suggest.h"
#include "achilles/common/diagnostic.h"
#include "command.h"

namespace achilles::cli {

using common::UsageError;

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = values.find(name);
  if (it == values.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Args::all(const std::string& name) const {
  auto it = values.find(name);
  return it == values.end() ? std::vector<std::string>{} : it->second;
}

std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}

std::string help_text(const CommandSpec& spec) {
  std::ostringstream out;
  out << "usage: achilles " << spec.name << (spec.usage.empty() ? "" : " ") << spec.usage << "\n\n"
      << spec.summary << "\n";
  if (!spec.description.empty()) out << "\n" << spec.description << "\n";
  out << "\noptions:\n";
  auto option_line = [](const OptionSpec& o) {
    std::string s = "  ";
    s += o.short_name ? std::string("-") + o.short_name + ", " : "    ";
    s += "--" + o.name;
    if (o.takes_value) s += " " + (o.value_name.empty() ? std::string("VALUE") : o.value_name);
    return s;
  };
  size_t width = 0;
  for (const auto& o : spec.options)
    width = std::max(width, option_line(o).size());
  width = std::max<size_t>(width, 12);
  for (const auto& o : spec.options) {
    auto line = option_line(o);
    out << line << std::string(width + 2 - line.size(), ' ') << o.help << "\n";
  }
  out << "  -h, --help" << std::string(width + 2 - 12, ' ') << "show this help\n";
  if (!spec.examples.empty()) out << "\nexamples:\n" << spec.examples;
  return out.str();
}

std::optional<Args> parse_args(const CommandSpec& spec, const std::vector<std::string>& argv) {
  Args args;
  auto fail = [&](const std::string& message) -> UsageError {
    return UsageError("achilles " + spec.name + ": error: " + message + " (see achilles " +
                      spec.name + " --help)");
  };
  auto find_long = [&](const std::string& name) -> const OptionSpec* {
    for (const auto& o : spec.options)
      if (o.name == name) return &o;
    return nullptr;
  };
  auto find_short = [&](char c) -> const OptionSpec* {
    for (const auto& o : spec.options)
      if (o.short_name == c) return &o;
    return nullptr;
  };
  bool only_positionals = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (only_positionals || a == "-" || a.empty() || a[0] != '-') {
      args.positionals.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positionals = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      std::cout << help_text(spec);
      return std::nullopt;
    }
    const OptionSpec* option = nullptr;
    std::optional<std::string> inline_value;
    if (a.rfind("--", 0) == 0) {
      auto name = a.substr(2);
      if (auto eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      option = find_long(name);
      if (!option) {
        analyzer::Suggestion s("--" + name);
        for (const auto& o : spec.options)
          s.consider("--" + o.name);
        s.consider("--help");
        throw fail("unknown option '--" + name + "'" + s.did_you_mean());
      }
    } else {
      if (a.size() != 2) throw fail("unknown option '" + a + "'");
      option = find_short(a[1]);
      if (!option) throw fail("unknown option '" + a + "'");
    }
    auto& slot = args.values[option->name];
    if (!option->repeatable && !slot.empty())
      throw fail("option '--" + option->name + "' given twice");
    if (!option->takes_value) {
      if (inline_value) throw fail("option '--" + option->name + "' takes no value");
      slot.push_back("true");
      continue;
    }
    if (inline_value) {
      slot.push_back(*inline_value);
      continue;
    }
    if (i + 1 >= argv.size() || (argv[i + 1].size() > 1 && argv[i + 1][0] == '-'))
      throw fail("option '--" + option->name + "' needs a value");
    slot.push_back(argv[++i]);
    // A repeatable option takes every following word up to the next option: --fail a b c.
    while (option->repeatable && i + 1 < argv.size() && !argv[i + 1].empty() &&
           argv[i + 1][0] != '-')
      slot.push_back(argv[++i]);
  }
  if (args.positionals.size() < spec.min_positionals)
    throw fail(spec.min_positionals == 1 && spec.max_positionals == 1
                   ? "expects one argument: " + spec.usage.substr(0, spec.usage.find(' '))
                   : "missing arguments; usage: achilles " + spec.name + " " + spec.usage);
  if (args.positionals.size() > spec.max_positionals)
    throw fail("unexpected argument '" + args.positionals[spec.max_positionals] + "'");
  return args;
}

analyzer::AnalysisOptions analysis_options(const Args& args, const std::string& command) {
  analyzer::AnalysisOptions options;
  options.order = static_cast<unsigned>(number_option(args, "order", 2, 1, 3));
  if (args.get("order") && *args.get("order") != std::to_string(options.order))
    throw UsageError(command + ": error: --order must be 1, 2 or 3");
  options.threshold = number_option(args, "threshold", 0.8, 0.0, 100.0);
  options.cascade = args.has("cascade");
  return options;
}

double number_option(const Args& args, const std::string& name, double fallback, double lo,
                     double hi) {
  auto v = args.get(name);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  double d = std::strtod(v->c_str(), &end);
  if (v->empty() || *end != '\0' || errno != 0 || !std::isfinite(d))
    throw UsageError("achilles: error: --" + name + ": '" + *v + "' is not a number");
  if (d < lo || d > hi) {
    std::ostringstream s;
    s << "achilles: error: --" + name + ": " << *v << " is outside " << lo << ".." << hi;
    throw UsageError(s.str());
  }
  return d;
}

analyzer::GroupBy group_by_option(const Args& args, const std::string& command) {
  std::string by = args.get("by").value_or("fix");
  if (by == "fix") return analyzer::GroupBy::kFix;
  if (by == "team") return analyzer::GroupBy::kTeam;
  throw UsageError(command + ": error: --by must be fix or team, not '" + by + "'");
}

void write_output(const std::string& path, const std::string& text) {
  write_output(path, [&](std::ostream& out) { out << text; });
}

void write_output(const std::string& path, const std::function<void(std::ostream&)>& write) {
  if (path.empty() || path == "-") {
    write(std::cout);
    std::cout.flush();
    return;
  }
  std::ofstream out(path, std::ios::binary);
  if (out) write(out);
  if (out) out.close();
  if (!out) throw UsageError(path + ": error: cannot write: " + std::strerror(errno));
}

bool stderr_is_terminal() {
  return ::isatty(STDERR_FILENO) == 1;
}

}  // namespace achilles::cli
