// achilles-agent: the fault-injection agent. A thin main: parses the command line, runs the
// agent, maps errors to the exit codes of cli.md.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "achilles/injector/agent.h"
#include "achilles/injector/config.h"
#include "achilles/injector/netfault.h"

int main(int argc, char** argv) {
  using namespace achilles::injector;
  try {
    auto cl = parse_command_line(std::vector<std::string>(argv + 1, argv + argc));
    if (cl.help) {
      std::cout << usage();
      return 0;
    }
    if (cl.version) {
      std::cout << "achilles-agent 0.1.0\n";
      return 0;
    }
    if (cl.check) {
      const auto support = check_network_support();
      std::cout << "network faults on this host (probed in a network namespace of its own):\n";
      const std::pair<const char*, const char*> parts[] = {
          {"nftables", "blackhole, reject, loss, dns, isolate"},
          {"tbf", "bandwidth"},
          {"netem", "delay"}};
      for (const auto& [name, actions] : parts) {
        const auto& p = support.at(name);
        std::cout << "  " << name << ": " << (p.at("usable") == true ? "usable" : "not usable")
                  << " (" << p.at("detail").get<std::string>() << ") -> " << actions << "\n";
      }
      std::string usable;
      for (const auto& a : support.at("actions")) {
        if (!usable.empty()) usable += ' ';
        usable += a.get<std::string>();
      }
      std::cout << "supported actions: " << (usable.empty() ? "none" : usable) << "\n";
      return 0;
    }
    return run_agent(cl.config, std::cout);
  } catch (const ConfigError& e) {
    std::cerr << "achilles-agent: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "achilles-agent: error: " << e.what() << "\n";
    return 3;
  } catch (...) {
    std::cerr << "achilles-agent: error: unknown failure\n";
    return 3;
  }
}
