#!/bin/bash
# Losing a zone for real (issue 22): the network lab (scripts/lab up) builds the two-zone
# estate of docs/examples/lab-zones.yaml in network namespaces this test makes: haproxy on an
# edge host in front of web-a (zone-a) and web-b (zone-b), both calling a store in zone-a,
# an agent on each host. The derived plan, --include-spofs, is run from the lab's operator
# namespace: losing zone-b (an isolate on b1's host) and each redundant host keeps www up;
# killing the store, losing host-a2 and losing zone-a (isolates on a1 and a2 at once) take
# www down; every prediction must agree. A topology that is wrong about the estate (web-b
# calls the store, it says not) must be caught: its "lose zone-a" expects www up and the
# drill fails, saying the live system disagreed. Then no nftables table is left in any host, and
# `scripts/lab down` leaves no namespace and no process. Nothing is connected to the
# machine's own network: the lab's only links are veths to a bridge in its own namespace.
#   zone_lab_test.sh ACHILLES AGENT REPO
set -euo pipefail
ACHILLES=$1 AGENT=$2 REPO=$3
if [[ $(id -u) != 0 ]] || ! ip netns list >/dev/null 2>&1; then
  echo "skipped: needs root and CAP_NET_ADMIN (network namespaces, nftables inside them)"
  exit 77
fi
# Entering a namespace (`ip -n`, `ip netns exec`) remounts / as a slave, which a chroot whose
# / is not a mount point refuses ("mount --make-rslave / failed"): then namespaces cannot be
# used here, as the agent's netns tests also find.
probe=achilles-probe-$$
if ! ip netns add "$probe" 2>/dev/null || ! why=$(ip -n "$probe" link set lo up 2>&1); then
  ip netns del "$probe" 2>/dev/null || true
  echo "skipped: needs root and CAP_NET_ADMIN, and network namespaces that can be entered (${why:-ip netns add failed})"
  exit 77
fi
ip netns del "$probe"
if ! command -v haproxy >/dev/null || ! python3 -c 'import yaml' 2>/dev/null; then
  echo "skipped: haproxy or python3-yaml is not installed (scripts/setup installs them)"
  exit 77
fi
TAG=z$(($$ % 100000))
W=$(mktemp -d /tmp/achilles-zone-lab.XXXXXX)
links_before=$(ip -o link | wc -l)
cleanup() {
  "$REPO/scripts/lab" down --dir "$W" >/dev/null 2>&1 || true
  if [[ ${KEEP:-} == 1 ]]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$REPO/scripts/lab" up "$REPO/docs/examples/lab-zones.yaml" --dir "$W" --tag "$TAG" \
  --achilles "$ACHILLES" --agent "$AGENT" || fail "the lab did not come up"
[[ $(ip -o link | wc -l) == "$links_before" ]] || fail "the lab made a link in the machine's own namespace"
ops=(ip netns exec "$TAG-ops")
# The operator's seat reaches the site, each agent needs its token.
"${ops[@]}" curl -sf --max-time 3 http://10.215.0.10:8080/ | grep -q "hello from the store" ||
  fail "www does not answer through haproxy"
code=$("${ops[@]}" curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://10.215.0.11:8474/v1/status)
[[ $code == 401 ]] || fail "agent a1 answered $code without its token"

"${ops[@]}" "$ACHILLES" drill plan "$W/topology.yaml" --include-spofs --gap-ms 9000 \
  -o "$W/plan.yaml" 2>/dev/null
steps=$(sed -n '/^steps:/,$p' "$W/plan.yaml" | grep -o '^  - name: "[^"]*"' | sed 's/^  - name: //' | tr '\n' ' ')
want='"lose zone-b" "lose host-a1" "lose host-b1" "kill web-a (one of 2 in web)" "kill store (single point of failure)" "lose zone-a" "lose host-a2" '
[[ $steps == "$want" ]] || fail "the derived steps are $steps"

set +e
"${ops[@]}" "$ACHILLES" drill run "$W/plan.yaml" --journal "$W/journal.json" >"$W/run.out" 2>&1
rc=$?
set -e
[[ $rc == 0 ]] || { cat "$W/run.out"; fail "the drill exited $rc"; }
python3 - "$W/journal.json" <<'PY' || fail "the journal's predictions"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["verdict"] == "passed", j["verdict"]
seen = {p["step"]: (p["agreed"], p["predicted_down"], p["observed_down"]) for p in j["predictions"]}
want = {"lose zone-b": [], "lose host-a1": [], "lose host-b1": [],
        "kill web-a (one of 2 in web)": [], "kill store (single point of failure)": ["www"],
        "lose zone-a": ["www"], "lose host-a2": ["www"]}
for step, down in want.items():
    agreed, predicted, observed = seen[step]
    assert agreed and predicted == down and observed == down, (step, seen[step])
# The zone-a loss was one isolate on each agent of the zone, at once.
step = next(s for s in j["steps"] if s["name"] == "lose zone-a")
bodies = sorted((f["agent"], f["fault"]["action"]) for f in step["faults"])
assert bodies == [("a1", "isolate"), ("a2", "isolate")], bodies
# Every fault of the drill ended on its agent: the isolates reverted, the kills done.
for s in j["steps"]:
    for f in s["faults"]:
        assert f["final"]["state"] == ("done" if f["fault"]["kind"] == "kill" else "reverted"), (s["name"], f["final"])
PY
grep -q "lose zone-a.*the live system agreed" "$W/run.out" || fail "the summary does not say zone-a agreed"
# A topology that is wrong about the estate is caught: without web-b's dependency on the
# store, the analyzer calls zone-a redundant; the same lab loses www when zone-a goes.
python3 - "$W" <<'PY'
import sys, yaml
w = sys.argv[1]
t = yaml.safe_load(open(w + "/topology.yaml"))
next(c for c in t["components"] if c["id"] == "web-b").pop("depends_on")
yaml.safe_dump(t, open(w + "/wrong.yaml", "w"), sort_keys=False)
PY
"${ops[@]}" "$ACHILLES" drill plan "$W/wrong.yaml" -o "$W/wrong-plan.yaml" 2>/dev/null
python3 - "$W/wrong-plan.yaml" <<'PY'
import sys, yaml
p = yaml.safe_load(open(sys.argv[1]))
p["steps"] = [s for s in p["steps"] if s["name"] == "lose zone-a"]
assert p["steps"] and p["steps"][0]["expect"] == {"www": "up"}, p["steps"]
p["steps"][0].pop("observe_ms", None)
yaml.safe_dump(p, open(sys.argv[1], "w"), sort_keys=False)
PY
set +e
"${ops[@]}" "$ACHILLES" drill run "$W/wrong-plan.yaml" >"$W/wrong.out" 2>&1
rc=$?
set -e
[[ $rc == 1 ]] || { cat "$W/wrong.out"; fail "a wrong topology's drill exited $rc, not 1"; }
grep -q "prediction for 'lose zone-a' (redundant_domain zone-a): predicted down: none; observed down: www; the live system DISAGREED" \
  "$W/wrong.out" || { cat "$W/wrong.out"; fail "the disagreement is not reported"; }

for host in edge host-a1 host-a2 host-b1; do
  left=$(ip netns exec "$TAG-$host" nft list tables)
  [[ -z $left ]] || fail "tables left in $host: $left"
done
"$REPO/scripts/lab" down --dir "$W" | grep -q "lab: down (7 processes stopped, 6 namespaces deleted)" ||
  fail "scripts/lab down"
! ip netns list | grep -q "^$TAG-" || fail "namespaces left: $(ip netns list | grep "^$TAG-")"
# (a zombie has ended: one whose parent, an ancestor of the lab's, has not reaped it yet)
left=$(ps -eo stat=,pid=,args= | awk '$1 !~ /^Z/' | grep -E -- "$TAG-(web|store)" | grep -v grep || true)
[[ -z $left ]] || fail "processes left: $left"
[[ $(ip -o link | wc -l) == "$links_before" ]] || fail "links changed in the machine's own namespace"
echo "ok: the zone drill in namespaces agreed with every prediction, and left nothing"
