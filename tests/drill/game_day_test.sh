#!/bin/bash
# docs/game-day.md runs as written: its lab (scripts/lab, fixed loopback ports), the agent
# command of section 2, the topology of section 2, `drill plan` of section 3, the dry run of
# section 4's plan, and a real run of the derived plan, each taken from the guide's own code
# blocks, so that a guide that drifts from the tools fails here. Every process is started by
# this test (the lab records its pids, the agent is our child) and stopped at the end, also on
# failure; afterwards none of them is left.
#   game_day_test.sh ACHILLES AGENT REPO
set -euo pipefail
ACHILLES=$1 AGENT=$2 REPO=$3
GUIDE=$REPO/docs/game-day.md
LAB=/tmp/gd-live  # the guide's own paths

if ! command -v haproxy >/dev/null; then
  echo "SKIP: haproxy is not installed (scripts/setup installs it)"
  exit 77
fi
# The guide's directory and process names are fixed: this test owns them only when nothing
# else uses them (the drill kills by name, and the cleanup removes the directory).
if [[ -e $LAB ]]; then
  echo "SKIP: $LAB exists (a lab of the guide's, running or left over: scripts/lab stop, rm -r $LAB)"
  exit 77
fi
for name in shop-web-1 shop-web-2 shop-store sup-shop-web-1 sup-shop-web-2 sup-shop-store; do
  if pgrep -x "$name" >/dev/null; then
    echo "SKIP: a process named $name is running, and the guide's drill acts on that name"
    exit 77
  fi
done
for port in 8080 8081 8082 6379 16379 8474; do
  # SO_REUSEADDR as the servers set it: a port left in TIME_WAIT by a previous run is free.
  if ! python3 -c "import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $port))" 2>/dev/null; then
    echo "SKIP: port $port is taken, and the guide's lab needs it"
    exit 77
  fi
done

W=$(mktemp -d /tmp/achilles-game-day.XXXXXX)
AGENT_PID=
lab_pids=()
cleanup() {
  [[ -n $AGENT_PID ]] && kill -TERM -- "-$AGENT_PID" 2>/dev/null || true
  "$REPO/scripts/lab" stop "$LAB" >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  if [[ ${KEEP:-} == 1 ]]; then echo "kept $W and $LAB"; else rm -rf "$W" "$LAB"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$W"/*.out "$LAB"/*.log; do [[ -f $f ]] && { echo "--- $f"; tail -n 20 "$f"; }; done
  exit 1
}

# The guide's commands call `achilles` and `achilles-agent` by name.
mkdir -p "$W/bin"
ln -s "$ACHILLES" "$W/bin/achilles"
ln -s "$AGENT" "$W/bin/achilles-agent"
export PATH=$W/bin:$PATH
cd "$W"

# The code block of the given kind (sh, yaml, or "" for a bare one) that follows the first
# line matching HEADING in the guide.
block() {
  awk -v heading="$1" -v kind="$2" '
    !found && index($0, heading) == 1 { found = 1; next }
    found && !inside && $0 == "```" kind { inside = 1; next }
    inside && $0 == "```" { exit }
    inside { print }' "$GUIDE"
}

# Section 2: the lab, then the agent exactly as the guide starts it.
"$REPO/scripts/lab" start >lab.out 2>&1 || fail "scripts/lab start"
mapfile -t lab_pids <"$LAB/lab.pids"
((${#lab_pids[@]} == 4)) || fail "the lab recorded ${#lab_pids[@]} processes, not 4"
[[ $("$REPO/scripts/lab" status | grep -c ' running$') == 4 ]] || fail "scripts/lab status"
# The supervisors' children (the services themselves) must be gone at the end as well.
children=()
for p in "${lab_pids[@]}"; do
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do children+=("$c"); done
done

block '### The agent' sh >agent.sh
grep -q 'achilles-agent --listen 127.0.0.1:8474' agent.sh || fail "no agent command in the guide"
# In a session of its own, so that the agent (a child of the shell running the guide's lines)
# is stopped with its process group.
setsid bash agent.sh >agent.out 2>&1 &
AGENT_PID=$!
for _ in $(seq 1 100); do
  grep -q 'achilles-agent listening on 127.0.0.1:8474' agent.out && break
  kill -0 "$AGENT_PID" 2>/dev/null || fail "the guide's agent command exited"
  sleep 0.1
done
grep -q 'achilles-agent listening on 127.0.0.1:8474' agent.out || fail "the agent did not start"
status=$(curl -s -H "Authorization: Bearer $(cat agent.token)" http://127.0.0.1:8474/v1/status)
[[ $status == *'"halted":false'* ]] || fail "the agent's status: $status"
[[ $(curl -s http://127.0.0.1:8474/v1/status) == *'"status":401'* ]] || fail "no 401 without a token"

# Section 2: the topology; the guide says what analyze finds.
block '### Target blocks' yaml >shop.yaml
achilles validate shop.yaml >validate.out 2>&1 || fail "achilles validate shop.yaml"
achilles analyze shop.yaml --format json >analysis.json 2>analyze.out
python3 - <<'PY' || fail "analyze does not find what the guide says"
import json
a = json.load(open("analysis.json"))
spofs = sorted(f["subject"][0] for f in a["findings"] if f["kind"] == "spof")
cuts = [sorted(f["subject"]) for f in a["findings"] if f["kind"] == "cut_set"]
assert spofs == ["lb", "store"], spofs
assert ["web-1", "web-2"] in cuts, cuts
PY

# Section 3: the derived plan, with the counts the guide shows.
block '## 3. Derive a plan' "" | sed -n 's/^\$ //p' | head -1 >plan.sh
grep -q '^achilles drill plan shop.yaml' plan.sh || fail "no drill plan command in section 3"
expected=$(block '## 3. Derive a plan' "" | sed -n '2p')
bash plan.sh >plan.out 2>&1 || fail "$(cat plan.sh)"
[[ $(cat plan.out) == "$expected" ]] || fail "drill plan printed '$(cat plan.out)', the guide '$expected'"

# Section 4's hand-written plan, dry run as section 5 shows (outside its window or not).
block '## 4. Write or edit a plan by hand' yaml >web-failover.yaml
achilles drill run web-failover.yaml --dry-run >dry.out 2>&1 || fail "the dry run"
grep -q "^dry run of 'web tier fails over when one backend dies or hangs' (web-failover.yaml): nothing is touched" dry.out ||
  fail "the dry run's first line"

# And the derived plan, for real: every prediction confirmed.
achilles drill run shop-drill.yaml --journal run.json --history history.jsonl >run.out 2>&1 ||
  fail "achilles drill run shop-drill.yaml"
python3 -c "import json; j = json.load(open('run.json')); assert j['verdict'] == 'passed', j['verdict']" ||
  fail "the derived drill did not pass"

# Stopped: the lab, its services and the agent; nothing left.
kill -TERM -- "-$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true
AGENT_PID=
pgrep -f "achilles-agent --listen 127.0.0.1:8474" >/dev/null && fail "the agent is still running"
"$REPO/scripts/lab" stop >/dev/null || fail "scripts/lab stop"
for p in "${lab_pids[@]}" "${children[@]}"; do
  for _ in $(seq 1 50); do [[ -d /proc/$p ]] || break; sleep 0.1; done
  [[ -d /proc/$p ]] && fail "process $p ($(cat /proc/$p/comm)) is still running after scripts/lab stop"
done
[[ $("$REPO/scripts/lab" status) == "lab: nothing started in $LAB" ]] || fail "status after stop"
echo "PASS: docs/game-day.md sections 2-5 run as written"
