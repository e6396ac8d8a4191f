// Fuzz target: the agent's configuration file, from bytes to an AgentConfig: parse_config (the
// YAML guard, yaml-cpp, every key's check), then the addresses it names. The file is the
// operator's, not a client's, but the agent reads it as root at start: a refusal must be a
// ConfigError with a message; any other exception, a crash, a hang or a sanitizer report is a
// finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "achilles/injector/config.h"

using namespace achilles::injector;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const AgentConfig c = parse_config(text, "agent.yaml");
    split_host_port(c.listen, "listen");
    for (const auto& p : c.proxies) {
      split_host_port(p.listen, "proxy listen");
      split_host_port(p.upstream, "proxy upstream");
    }
  } catch (const ConfigError& e) {
    if (std::string_view(e.what()).empty()) std::abort();
  }
  return 0;
}
