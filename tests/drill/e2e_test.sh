#!/bin/bash
# End-to-end drills against a real system on loopback: a real haproxy in front of two web
# backends (each under a supervisor that restarts it), a data store reached through the
# agent's proxy, and a real achilles-agent. Every process here is started by this script and
# stopped when it ends, also on failure.
#   e2e_test.sh ACHILLES AGENT SERVICE_PY
set -euo pipefail
ACHILLES=$1 AGENT=$2 SERVICE=$3
if ! command -v haproxy >/dev/null; then
  echo "SKIP: haproxy is not installed (scripts/setup installs it)"
  exit 77
fi

W=$(mktemp -d /tmp/achilles-drill-e2e.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ ${KEEP:-} == 1 ]]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() {  # wait until something listens on 127.0.0.1:$1
  for _ in $(seq 1 100); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  fail "nothing listens on port $1"
}

WEB1=$(free_port) WEB2=$(free_port) STORE=$(free_port) PROXY=$(free_port) WWW=$(free_port)

# The processes' names carry this script's pid, so that the agent, which may signal only
# them, can never touch another process on the host that happens to be called web-1 or store
# (a kill by name acts on every process of that name).
N="e$$-"
# The agent: loopback only, may signal the web backends and the store, proxies the store.
"$AGENT" --listen 127.0.0.1:0 --insecure-loopback --state-file "$W/agent-state.json" \
  --audit-log "$W/audit.jsonl" --allow-process "${N}web-*" --allow-process "${N}store" \
  --proxy "store,127.0.0.1:$PROXY,127.0.0.1:$STORE" >"$W/agent.out" 2>"$W/agent.err" &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q listening "$W/agent.out" && break; sleep 0.05; done
AGENT_ADDR=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$W/agent.out")
[[ -n $AGENT_ADDR ]] || fail "the agent did not start: $(cat "$W/agent.err")"

python3 "$SERVICE" store --name "${N}store" --port "$STORE" --restart-after 2 >/dev/null &
PIDS+=($!)
for n in 1 2; do
  port=$WEB1; [[ $n == 2 ]] && port=$WEB2
  python3 "$SERVICE" web --name "${N}web-$n" --port "$port" --store "127.0.0.1:$PROXY" \
    --restart-after 0.5 >/dev/null &
  PIDS+=($!)
done

cat >"$W/haproxy.cfg" <<CFG
global
  maxconn 512
defaults
  mode http
  timeout connect 300ms
  timeout client 5s
  timeout server 1500ms
  retries 2
  option redispatch
frontend www
  bind 127.0.0.1:$WWW
  default_backend webs
backend webs
  balance roundrobin
  option httpchk GET /health
  default-server inter 200ms fall 2 rise 2
  server web-1 127.0.0.1:$WEB1 check
  server web-2 127.0.0.1:$WEB2 check
CFG
haproxy -f "$W/haproxy.cfg" -db >"$W/haproxy.log" 2>&1 &
PIDS+=($!)
wait_port "$STORE"; wait_port "$WEB1"; wait_port "$WEB2"; wait_port "$WWW"

cat >"$W/topology.yaml" <<TOPO
version: 1
name: e2e shop
components:
  - {id: lb, depends_on: [web], target: {agent: "$AGENT_ADDR", port: "$WWW"}}
  - {id: web-1, depends_on: [store], target: {agent: "$AGENT_ADDR", process: "${N}web-1"}}
  - {id: web-2, depends_on: [store], target: {agent: "$AGENT_ADDR", process: "${N}web-2"}}
  - {id: store, target: {agent: "$AGENT_ADDR", process: "${N}store", proxy: store}}
services:
  - {id: web, members: [web-1, web-2]}
entrypoints:
  - {id: www, target: lb, labels: {url: "http://127.0.0.1:$WWW/"}}
TOPO

plan_header() {
  cat <<PLAN
version: 1
title: $1
topology: topology.yaml
agents:
  local: {url: "http://$AGENT_ADDR"}
probes:
  - name: www
    http: {url: "http://127.0.0.1:$WWW/", timeout_ms: 2000, body_contains: "hello from the store"}
    every_ms: 100
    healthy_when: {success_ratio: 0.9, p99_ms: 500}
steady_state: {hold_ms: 1500}
lease_ms: 3000
PLAN
}

run_drill() {  # name, expected exit code
  local name=$1 want=$2 rc=0
  "$ACHILLES" drill run "$W/$name.yaml" --journal "$W/$name.json" --report "$W/$name.html" \
    --junit "$W/$name.xml" --history "$W/history.jsonl" >"$W/$name.out" 2>"$W/$name.err" || rc=$?
  cat "$W/$name.out"
  [[ $rc == "$want" ]] || fail "drill $name exited $rc, expected $want: $(cat "$W/$name.err")"
}
jq_py() {  # FILE EXPR: evaluate a Python expression on the JSON document `j`
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"
}

echo "== losing one backend keeps the site healthy; the agent sees it restarted"
{ plan_header "one backend dies"
  cat <<PLAN
steps:
  - name: kill web-1
    at_ms: 0
    fault: {kind: kill, target: {component: web-1}}
    expect: {www: healthy, recover_within_ms: 3000}
    observe_ms: 4000
PLAN
} >"$W/one.yaml"
run_drill one 0
[[ $(jq_py "$W/one.json" 'j["verdict"]') == passed ]] || fail "verdict of one"
[[ $(jq_py "$W/one.json" 'j["steps"][0]["final"]["observed"]["restarted"]') == True ]] ||
  fail "the agent did not see web-1 restarted: $(jq_py "$W/one.json" 'j["steps"][0]["final"]')"
rec=$(jq_py "$W/one.json" 'j["steps"][0]["expectations"][0]["recovery_ms"]')
[[ $rec =~ ^[0-9]+$ ]] || fail "no recovery time measured: $rec"
echo "recovery time of www after losing web-1: $rec ms"

echo "== losing both backends takes the site down, and it comes back when they resume"
# The command line matches the supervisors too (and any other service.py on the host); the
# allowlist (this run's web-*) keeps them out.
{ plan_header "both backends stop"
  cat <<PLAN
steps:
  - name: pause both backends
    at_ms: 0
    fault: {agent: local, kind: pause, target: {cmdline: "service.py web", count: all}, duration_ms: 3000}
    expect: {www: down, recover_within_ms: 8000}
    observe_ms: 7000
PLAN
} >"$W/both.yaml"
run_drill both 0
[[ $(jq_py "$W/both.json" 'len(j["steps"][0]["final"]["targets"])') == 2 ]] ||
  fail "the pause did not act on both backends: $(jq_py "$W/both.json" 'j["steps"][0]["final"]')"

echo "== a wrong expectation fails the drill (exit 1)"
{ plan_header "a wrong expectation"
  cat <<PLAN
steps:
  - name: kill web-2, expecting an outage that redundancy prevents
    at_ms: 0
    fault: {kind: kill, target: {component: web-2}}
    expect: {www: down}
    observe_ms: 3000
PLAN
} >"$W/wrong.yaml"
run_drill wrong 1
[[ $(jq_py "$W/wrong.json" 'j["verdict"]') == failed ]] || fail "verdict of wrong"
grep -q '<failure' "$W/wrong.xml" || fail "no JUnit failure for the wrong expectation"

echo "== a fault still active at the end is reverted"
{ plan_header "latency left active"
  cat <<PLAN
steps:
  - name: slow store
    at_ms: 0
    fault: {kind: latency, component: store, latency_ms: 700, duration_ms: 60000}
    expect: {www: degraded}
    observe_ms: 3000
PLAN
} >"$W/latency.yaml"
run_drill latency 0
[[ $(jq_py "$W/latency.json" 'j["rollback"][0]["result"]') == reverted ]] ||
  fail "the latency fault was not reverted: $(jq_py "$W/latency.json" 'j["rollback"]')"
curl_status=$(python3 - "$AGENT_ADDR" <<'PY'
import json, sys, urllib.request
faults = json.load(urllib.request.urlopen("http://%s/v1/faults" % sys.argv[1]))["faults"]
print(sum(1 for f in faults if f["state"] in ("active", "starting")))
PY
)
[[ $curl_status == 0 ]] || fail "$curl_status faults still active on the agent"

echo "== a drill derived from the topology: the live system agrees with every prediction"
# 8 s between steps: each step is observed until a probe timeout (2 s) before the next fault,
# and that must leave the 5 s of failover allowed and a second more.
"$ACHILLES" drill plan "$W/topology.yaml" -o "$W/derived.yaml" --include-spofs --gap-ms 8000 \
  --latency-ms 700  # below the backends' 1 s timeout on the store: slow, not failing
grep -q "kind: redundant" "$W/derived.yaml" || fail "no redundancy step derived"
grep -q "kind: spof, subject: \"store\"" "$W/derived.yaml" || fail "the store is not derived as a SPOF"
grep -q "kind: latency" "$W/derived.yaml" || fail "no latency step for the proxied store"
run_drill derived 0
[[ $(jq_py "$W/derived.json" 'all(p["agreed"] is not False for p in j["predictions"])') == True ]] ||
  fail "a prediction disagreed: $(jq_py "$W/derived.json" 'j["predictions"]')"
# The latency step is judged too (www up), not only recorded.
[[ $(jq_py "$W/derived.json" 'sum(p["agreed"] is True for p in j["predictions"])') == 3 ]] ||
  fail "expected 3 predictions judged and agreed"
[[ $(jq_py "$W/derived.json" '[s["observed"]["www"] for s in j["steps"] if "latency" in s["name"]][0]') == degraded ]] ||
  fail "the latency on the store did not degrade www"

echo "== the reports and the history"
grep -q "<svg" "$W/one.html" || fail "the drill report has no chart"
grep -q "passed" "$W/one.html" || fail "the drill report does not show the verdict"
[[ $(wc -l <"$W/history.jsonl") == 5 ]] || fail "history has $(wc -l <"$W/history.jsonl") lines"
echo "PASS"
