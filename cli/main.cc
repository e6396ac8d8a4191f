// achilles: finds the single points of failure in an infrastructure and proves failover.
// A thin main: it dispatches to a subcommand and maps errors to the exit codes of cli.md.
#include <algorithm>
#include <exception>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "achilles/common/diagnostic.h"
#include "command.h"

namespace {

using achilles::cli::Command;

// The order `achilles --help` lists the commands in; unknown names sort last.
const std::vector<std::string> kOrder = {"validate", "analyze", "blast",    "render",
                                         "report",   "check",   "generate", "export",
                                         "import",   "drill",   "demo"};

void print_help(const std::vector<Command>& commands) {
  std::cout << "usage: achilles COMMAND [ARGS...]\n\n"
               "Achilles finds the single points of failure in an infrastructure topology.\n\n"
               "commands:\n";
  size_t width = 0;
  for (const auto& c : commands)
    width = std::max(width, c.spec.name.size());
  for (const auto& c : commands)
    std::cout << "  " << c.spec.name << std::string(width + 3 - c.spec.name.size(), ' ')
              << c.spec.summary << "\n";
  std::cout << "\nRun 'achilles COMMAND --help' for a command's options.\n"
               "Exit codes: 0 done, 1 a check or drill failed, 2 bad input or usage,\n"
               "3 a runtime failure outside the input.\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto commands = achilles::cli::registry();
  auto rank = [](const std::string& name) {
    auto first = name.substr(0, name.find(' '));
    return std::find(kOrder.begin(), kOrder.end(), first) - kOrder.begin();
  };
  std::stable_sort(commands.begin(), commands.end(), [&](const Command& a, const Command& b) {
    return std::make_pair(rank(a.spec.name), a.spec.name) <
           std::make_pair(rank(b.spec.name), b.spec.name);
  });
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    print_help(commands);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::cout << "achilles 0.1.0\n";
    return 0;
  }
  // Longest match first, so that "drill run" wins over a hypothetical "drill".
  const Command* chosen = nullptr;
  size_t used = 0;
  for (const auto& c : commands) {
    std::vector<std::string> words;
    for (size_t p = 0, q; p <= c.spec.name.size(); p = q + 1) {
      q = c.spec.name.find(' ', p);
      if (q == std::string::npos) q = c.spec.name.size();
      words.push_back(c.spec.name.substr(p, q - p));
    }
    if (words.size() <= args.size() && std::equal(words.begin(), words.end(), args.begin()) &&
        words.size() > used) {
      chosen = &c;
      used = words.size();
    }
  }
  if (!chosen) {
    // A group such as `drill` without its subcommand: name the subcommands.
    std::string subcommands;
    for (const auto& c : commands)
      if (c.spec.name.rfind(args[0] + " ", 0) == 0)
        subcommands += (subcommands.empty() ? "" : ", ") + c.spec.name.substr(args[0].size() + 1);
    if (!subcommands.empty() && (args.size() == 1 || args[1] == "--help" || args[1] == "-h")) {
      std::cerr << "achilles " << args[0] << ": error: a subcommand is needed: " << subcommands
                << " (see achilles " << args[0] << " SUBCOMMAND --help)\n";
      return 2;
    }
    if (!subcommands.empty()) {
      std::cerr << "achilles " << args[0] << ": error: unknown subcommand '" << args[1]
                << "' (one of: " << subcommands << ")\n";
      return 2;
    }
    std::cerr << "achilles: error: unknown command '" << args[0] << "' (see achilles --help)\n";
    return 2;
  }
  try {
    auto parsed = achilles::cli::parse_args(
        chosen->spec, std::vector<std::string>(args.begin() + used, args.end()));
    if (!parsed) return 0;
    return chosen->run(*parsed);
  } catch (const achilles::common::InputError& e) {
    for (const auto& d : e.diagnostics())
      std::cerr << d.str() << "\n";
    return 2;
  } catch (const achilles::common::UsageError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "achilles: error: out of memory\n";
    return 3;
  } catch (const std::exception& e) {
    std::cerr << "achilles: error: " << e.what() << "\n";
    return 3;
  }
}
