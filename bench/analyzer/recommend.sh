#!/usr/bin/env bash
# recommend benchmark (spec whatif.md, issue 25). Run from the repository root after a
# Release build:
#
#   cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && bench/analyzer/recommend.sh
#
# On generated estates of SIZE components (default 10^4), seeds SEEDS (default 1 2 3):
# `achilles recommend --max-changes K` (default 10) with its wall and CPU time, the number of
# analyses it ran and their median time (from its JSON), the critical findings before and
# after and the share removed, the kinds of change it chose and the overlay entries they hold
# (a spread holds one add_member per service), and the high findings before and after (what
# the new members' pairs add); then `whatif` of the written plan, whose counts after must be
# recommend's (column "whatif agrees").
# Prints markdown rows.
set -euo pipefail
BUILD=${BUILD:-build}
SIZE=${SIZE:-10000}
SEEDS=${SEEDS:-1 2 3}
K=${K:-10}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
A="$BUILD/cli/achilles"
echo "| seed | wall s | CPU s | analyses | median analysis s | critical before -> after | removed | changes | entries | high before -> after | whatif agrees |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for seed in $SEEDS; do
  "$A" generate --components "$SIZE" --seed "$seed" -o "$TMP/t.json" >/dev/null
  /usr/bin/time -f "%e %U %S" -o "$TMP/time" \
    "$A" recommend "$TMP/t.json" --max-changes "$K" --format json -o "$TMP/plan.json"
  "$A" recommend "$TMP/t.json" --max-changes "$K" --format yaml -o "$TMP/plan.yaml"
  "$A" whatif "$TMP/t.json" "$TMP/plan.yaml" --format json -o "$TMP/diff.json"
  read -r wall user sys <"$TMP/time"
  python3 - "$TMP/plan.json" "$TMP/diff.json" "$seed" "$wall" "$user" "$sys" <<'PY'
import collections, json, sys
plan, diff = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
seed, wall, user, sys_ = sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
b, a = plan["before"]["critical"], plan["after"]["critical"]
kinds = collections.Counter(c["kind"] for c in plan["changes"])
entries = sum(len(c.get("entries", [c["change"]])) for c in plan["changes"])
share = 100.0 * (b - a) / b if b else 0.0
agrees = "yes" if diff["after"] == plan["after"] else "NO"
print(f"| {seed} | {wall:.1f} | {user + sys_:.1f} | {plan['analyses']} | "
      f"{plan['median_analysis_seconds']:.2f} | {b} -> {a} | {share:.0f}% | "
      f"{', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))} | {entries} | "
      f"{plan['before']['high']} -> {plan['after']['high']} | {agrees} |")
PY
done
