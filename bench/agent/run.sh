#!/usr/bin/env bash
# Benchmarks of achilles-agent (see bench.py): builds the agent in Release in build-bench/,
# then prints a Markdown table with the machine and the date, for bench/RESULTS.md.
# usage: bench/agent/run.sh [AGENT_BINARY]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
agent=${1:-}
if [[ -z $agent ]]; then
  if [[ ! -f build-bench/CMakeCache.txt ]]; then
    cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DACHILLES_TESTS=OFF >/dev/null
  fi
  cmake --build build-bench -j 2 --target achilles-agent
  agent=build-bench/injector/achilles-agent
fi
command -v socat >/dev/null || echo "warning: socat is missing: the socat row is skipped" >&2
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(uname -sr); date $(date -u +%Y-%m-%d)"
echo
python3 bench/agent/bench.py "$agent"
