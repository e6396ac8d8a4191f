#!/usr/bin/env bash
# Risk groups benchmark (spec whatif.md, "Risk groups"). Run from the repository root after a
# build:
#
#   cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && bench/analyzer/groups.sh
#
# On generated estates of SIZE components (default 10^4), seeds SEEDS (default 1 2 3), with
# `achilles analyze --order 2`: how many findings and risk groups (and critical ones), the
# text's lines (all of it, and the opening RISK GROUPS section), and the time of the "risk
# groups" stage of --timings (median of RUNS runs, default 5) against the whole analysis.
# Prints markdown rows.
set -euo pipefail
BUILD=${BUILD:-build}
SIZE=${SIZE:-10000}
SEEDS=${SEEDS:-1 2 3}
RUNS=${RUNS:-5}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
A="$BUILD/cli/achilles"
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo "| seed | findings (critical) | groups (critical) | text lines | of which the groups | groups s (median) | analysis s (median) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for seed in $SEEDS; do
  "$A" generate --components "$SIZE" --seed "$seed" -o "$TMP/t.json" >/dev/null
  "$A" analyze "$TMP/t.json" --format json -o "$TMP/a.json"
  counts=$(python3 - "$TMP/a.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
f, g = d["findings"], d["groups"]
crit = lambda xs: sum(1 for x in xs if x["severity"] == "critical")
print(f"{len(f)} ({crit(f)}) | {len(g)} ({crit(g)})")
PY
)
  groups_s=""
  all_s=""
  for _ in $(seq "$RUNS"); do
    "$A" analyze "$TMP/t.json" --timings -o "$TMP/a.txt" 2>"$TMP/err"
    groups_s+="$(awk '/risk groups$/ {print $2}' "$TMP/err")"$'\n'
    all_s+="$(awk '/in all$/ {print $2}' "$TMP/err")"$'\n'
  done
  lines=$(wc -l <"$TMP/a.txt")
  opening=$(awk '/^RISK GROUPS/ {f=1} f && /^$/ {exit} f' "$TMP/a.txt" | wc -l)
  echo "| $seed | $counts | $lines | $opening | $(printf '%s' "$groups_s" | median) | $(printf '%s' "$all_s" | median) |"
done
