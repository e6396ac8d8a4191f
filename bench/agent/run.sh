#!/usr/bin/env bash
# Benchmarks of achilles-agent (see bench.py): builds the agent in Release in build-bench/,
# and relay_bound.cc (the bare relays that bound any proxy here) with the system g++, then
# prints a Markdown table with the machine, the date and the load, for bench/RESULTS.md.
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
mkdir -p build-bench
g++ -std=c++20 -O2 -Wall -Wextra -Werror -o build-bench/relay_bound bench/agent/relay_bound.cc
command -v socat >/dev/null || echo "warning: socat is missing: the socat row is skipped" >&2
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(uname -sr); date $(date -u '+%Y-%m-%d %H:%M') UTC; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 bench/agent/bench.py "$agent" build-bench/relay_bound
