#!/bin/bash
# `achilles demo` as a newcomer runs it: every prediction confirmed, every output written, and
# nothing left running afterwards, also when interrupted with Ctrl-C halfway.
#   demo_test.sh ACHILLES
set -euo pipefail
ACHILLES=$1
if ! command -v haproxy >/dev/null; then
  echo "SKIP: haproxy is not installed (scripts/setup installs it)"
  exit 77
fi
W=$(mktemp -d /tmp/achilles-demo-test.XXXXXX)
cleanup() {
  pkill -KILL -f "$W/" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  # What the demo saw, for a failure that does not reproduce.
  for d in "$W"/*/; do
    [[ -f $d/journal.json ]] && python3 - "$d/journal.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print("journal %s: %s (%s)" % (sys.argv[1], j["verdict"], j["reason"]))
for s in j["steps"]:
    for e in s["expectations"]:
        print("  %s: %s expected %s: %s" % (s["name"], e["probe"], e["expected"], e["message"]))
PY
    tail -n 3 "$d"/logs/*.log 2>/dev/null
  done
  exit 1
}
left_behind() { pgrep -af "$W/" | grep -v pgrep || true; }

echo "== a full run"
rc=0
"$ACHILLES" demo --out "$W/full" >"$W/full.out" 2>"$W/full.err" || rc=$?
cat "$W/full.out"
[[ $rc == 0 ]] || fail "demo exited $rc: $(cat "$W/full.err")"
for f in topology.yaml analysis.json report.html graph.svg drill.yaml journal.json drill.html drill.xml; do
  [[ -s $W/full/$f ]] || fail "no $f"
done
grep -q "prediction spof store: confirmed" "$W/full.out" || fail "the store outage was not confirmed"
grep -q "prediction redundant web: confirmed" "$W/full.out" || fail "the failover was not confirmed"
grep -q "prediction latency store: confirmed" "$W/full.out" || fail "the latency step was not judged up"
grep -q '"kind": "spof"' "$W/full/analysis.json" || fail "no spof in the analysis"
[[ -z $(left_behind) ]] || fail "processes left behind: $(left_behind)"

echo "== interrupted with Ctrl-C (SIGINT) during the drill"
"$ACHILLES" demo --out "$W/int" >"$W/int.out" 2>"$W/int.err" &
demo=$!
for _ in $(seq 1 300); do
  grep -q "injected" "$W/int.out" 2>/dev/null && break
  sleep 0.1
done
grep -q "injected" "$W/int.out" || fail "the drill did not start: $(cat "$W/int.out" "$W/int.err")"
kill -INT $demo
rc=0
wait $demo || rc=$?
cat "$W/int.out"
[[ $rc == 1 ]] || fail "an interrupted demo exited $rc, expected 1"
grep -q '"verdict": "aborted"' "$W/int/journal.json" || fail "the journal does not say aborted"
[[ -z $(left_behind) ]] || fail "processes left behind after Ctrl-C: $(left_behind)"
echo PASS
