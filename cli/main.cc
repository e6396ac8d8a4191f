// achilles: finds the single points of failure in an infrastructure and proves failover.
// A thin main: it dispatches to a subcommand and maps errors to the exit codes of cli.md.
#include <algorithm>
#include <exception>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "achilles/analyzer/suggest.h"
#include "achilles/common/diagnostic.h"
#include "command.h"

namespace {

using achilles::cli::Command;

// The order `achilles --help` lists the commands in; unknown names sort last.
const std::vector<std::string> kOrder = {"validate", "analyze", "whatif", "recommend", "blast",
                                         "render",   "report",  "check",  "generate",  "export",
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

/// The command that `args` names (the longest match, so that "drill run" wins over a
/// hypothetical "drill"), and how many words of args its name takes; null if none.
std::pair<const Command*, size_t> find_command(const std::vector<Command>& commands,
                                               const std::vector<std::string>& args) {
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
  return {chosen, used};
}

/// The commands of a group such as `drill` (`drill run`, `drill plan`, ...).
std::vector<const Command*> group_of(const std::vector<Command>& commands,
                                     const std::string& group) {
  std::vector<const Command*> out;
  for (const auto& c : commands)
    if (c.spec.name.rfind(group + " ", 0) == 0) out.push_back(&c);
  return out;
}

void print_group_help(const std::string& group, const std::vector<const Command*>& members) {
  std::cout << "usage: achilles " << group << " SUBCOMMAND [ARGS...]\n\nsubcommands:\n";
  size_t width = 0;
  for (const auto* c : members)
    width = std::max(width, c->spec.name.size() - group.size() - 1);
  for (const auto* c : members) {
    std::string sub = c->spec.name.substr(group.size() + 1);
    std::cout << "  " << sub << std::string(width + 3 - sub.size(), ' ') << c->spec.summary << "\n";
  }
  std::cout << "\nRun 'achilles " << group << " SUBCOMMAND --help' for a subcommand's options.\n";
}

/// The first word of every command name, once each: what `achilles WORD` may start with.
std::vector<std::string> first_words(const std::vector<Command>& commands) {
  std::vector<std::string> words;
  for (const auto& c : commands) {
    std::string w = c.spec.name.substr(0, c.spec.name.find(' '));
    if (std::find(words.begin(), words.end(), w) == words.end()) words.push_back(w);
  }
  return words;
}

/// Says that `args` names no command, suggesting the closest; returns the exit code 2.
int unknown_command(const std::vector<Command>& commands, const std::vector<std::string>& args) {
  auto members = group_of(commands, args[0]);
  if (members.empty()) {
    achilles::analyzer::Suggestion s(args[0]);
    for (const auto& w : first_words(commands))
      s.consider(w);
    s.consider("help");
    std::cerr << "achilles: error: unknown command '" << args[0] << "'" << s.did_you_mean()
              << " (see achilles --help)\n";
    return 2;
  }
  std::string subcommands;
  achilles::analyzer::Suggestion s(args.size() > 1 ? args[1] : "");
  for (const auto* c : members) {
    std::string sub = c->spec.name.substr(args[0].size() + 1);
    subcommands += (subcommands.empty() ? "" : ", ") + sub;
    s.consider(sub);
  }
  if (args.size() == 1) {
    std::cerr << "achilles " << args[0] << ": error: a subcommand is needed: " << subcommands
              << " (see achilles " << args[0] << " SUBCOMMAND --help)\n";
    return 2;
  }
  std::cerr << "achilles " << args[0] << ": error: unknown subcommand '" << args[1] << "'"
            << s.did_you_mean() << " (one of: " << subcommands << ")\n";
  return 2;
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
  auto is_help = [](const std::string& a) { return a == "-h" || a == "--help"; };
  if (args.empty() || is_help(args[0]) || (args[0] == "help" && args.size() == 1)) {
    print_help(commands);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::cout << "achilles 0.1.0\n";
    return 0;
  }
  if (args[0] == "help") {
    // `achilles help analyze`, `achilles help drill`, `achilles help drill run`.
    std::vector<std::string> rest(args.begin() + 1, args.end());
    auto [command, used] = find_command(commands, rest);
    if (command && used == rest.size()) {
      std::cout << achilles::cli::help_text(command->spec);
      return 0;
    }
    if (!command && rest.size() == 1 && !group_of(commands, rest[0]).empty()) {
      print_group_help(rest[0], group_of(commands, rest[0]));
      return 0;
    }
    return unknown_command(commands, rest);
  }
  auto [chosen, used] = find_command(commands, args);
  if (!chosen) {
    // A group such as `drill`: its --help lists the subcommands.
    auto members = group_of(commands, args[0]);
    if (!members.empty() && args.size() >= 2 && is_help(args[1])) {
      print_group_help(args[0], members);
      return 0;
    }
    return unknown_command(commands, args);
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
