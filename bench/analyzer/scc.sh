#!/usr/bin/env bash
# bench/analyzer/scc.sh [N]: the analyzer's strongly connected components against Boost.Graph's
# (bench/analyzer/scc.cc), built with the system g++ -O2.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
g++ -std=c++20 -O2 -DNDEBUG -I "$here/../../analyzer/src" -I "$here/../../analyzer/include" \
  -I "$here/../../common/include" "$here/scc.cc" -o "$out/scc"
"$out/scc" "${1:-1000000}"
