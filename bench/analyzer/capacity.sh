#!/usr/bin/env bash
# Capacity and availability benchmark. Run from the repository root after a build:
#
#   cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && bench/analyzer/capacity.sh
#
# Times `achilles analyze --order 1` (single failures, loads, overload, capacity_spof,
# availability) on generated topologies: CAP_SIZE components (default 10^5) for loads and
# capacity findings, AVAIL_SIZE (default 10^4) for the availability. Prints markdown rows:
# wall seconds and peak MiB from /usr/bin/time, and what the JSON holds.
set -euo pipefail
BUILD=${BUILD:-build}
CAP_SIZE=${CAP_SIZE:-100000}
AVAIL_SIZE=${AVAIL_SIZE:-10000}
SEED=${SEED:-1}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
A="$BUILD/cli/achilles"
echo "| components | wall s | peak MiB | capacity_spof | overload | entrypoints exact / rare-event / monte-carlo |"
echo "| --- | --- | --- | --- | --- | --- |"
for n in $AVAIL_SIZE $CAP_SIZE; do
  "$A" generate --components "$n" --seed "$SEED" -o "$TMP/t$n.json" >/dev/null
  /usr/bin/time -f '%e %M' -o "$TMP/time" "$A" analyze "$TMP/t$n.json" --order 1 --format json \
    -o "$TMP/a$n.json"
  read -r wall kib <"$TMP/time"
  summary=$(python3 - "$TMP/a$n.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
kinds = [f["kind"] for f in d["findings"]]
m = [e.get("method") for e in d["entrypoints"]]
print(kinds.count("capacity_spof"), kinds.count("overload"),
      f'{m.count("exact")} / {m.count("rare-event")} / {m.count("monte-carlo")}', sep=" | ")
PY
)
  echo "| $n | $wall | $((kib / 1024)) | $summary |"
done
