#!/usr/bin/env bash
# Network faults of achilles-agent (issue 22), measured in two network namespaces this script
# makes and deletes (a veth pair, 10.214.0.1 and 10.214.0.2; nothing leaves them, no rule or
# qdisc is made in the machine's own namespace): the time from the API request to the rule in
# place (the 201: the table is made before the agent answers) and to the rule removed (the
# 200 of DELETE), the share of 10,000 UDP packets a 30% loss drops, and the agent's RSS
# before and after a blackhole of 10,000 connection attempts. Needs root.
# usage: bench/agent/netfault.sh [AGENT_BINARY]   (default build/injector/achilles-agent)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
agent=$(realpath "${1:-build/injector/achilles-agent}")
[[ $(id -u) == 0 ]] || { echo "skipped: needs root and CAP_NET_ADMIN" >&2; exit 77; }
a=achbench$$a b=achbench$$b dir=$(mktemp -d) pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
ip netns add "$a"
ip netns add "$b"
ip link add "nfb$$a" netns "$a" type veth peer name "nfb$$b" netns "$b"
ip -n "$a" addr add 10.214.0.1/24 dev "nfb$$a"
ip -n "$b" addr add 10.214.0.2/24 dev "nfb$$b"
for n in "$a" "$b"; do ip -n "$n" link set lo up; done
ip -n "$a" link set "nfb$$a" up
ip -n "$b" link set "nfb$$b" up

ip netns exec "$a" "$agent" --listen 127.0.0.1:18474 --insecure-loopback --allow-network \
  --state-file "$dir/state.json" --audit-log "$dir/audit.jsonl" >"$dir/out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q listening "$dir/out" && break; sleep 0.05; done
api() { ip netns exec "$a" curl -s -o "$dir/reply" -w '%{time_total}\n' -X "$1" "http://127.0.0.1:18474$2" ${3:+-d "$3"}; }

echo "Machine: $(nproc) cores; $(uname -sr); date $(date -u '+%Y-%m-%d %H:%M') UTC; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
# 1. Request to rule in place, and to rule removed (20 rounds; curl's total time, in ms).
: >"$dir/add" && : >"$dir/del"
for _ in $(seq 20); do
  api POST /v1/faults '{"kind":"network","action":"blackhole","to":["10.214.0.2/32"],"duration_ms":60000}' >>"$dir/add"
  id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$dir/reply")
  ip netns exec "$a" nft list tables | grep -q "achilles_${id//-/_}" || { echo "table missing after the 201" >&2; exit 1; }
  api DELETE "/v1/faults/$id" >>"$dir/del"
  [[ -z $(ip netns exec "$a" nft list tables) ]] || { echo "table left after the 200" >&2; exit 1; }
done
python3 - "$dir/add" "$dir/del" <<'EOF'
import statistics, sys
for name, path in (("request to rule in place (POST, 201)", sys.argv[1]), ("request to rule removed (DELETE, 200)", sys.argv[2])):
    v = sorted(float(x) * 1000 for x in open(path))
    print(f"| {name} | median {statistics.median(v):.1f} ms | p95 {v[int(len(v) * 0.95) - 1]:.1f} ms | max {v[-1]:.1f} ms |")
EOF

# 2. 10,000 UDP packets from the peer at a 30% ingress loss, counted by a receiver on the host.
api POST /v1/faults '{"kind":"network","action":"loss","to":["10.214.0.2/32"],"protocol":"udp","direction":"ingress","percent":30,"duration_ms":120000}' >/dev/null
ip netns exec "$a" python3 - "$dir/count" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("10.214.0.1", 9999))
s.settimeout(3)
n = 0
try:
    while True:
        s.recv(64)
        n += 1
except socket.timeout:
    open(sys.argv[1], "w").write(str(n))
EOF
receiver=$!
sleep 0.3
ip netns exec "$b" python3 - <<'EOF'
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(10000):
    s.sendto(b"0123456789abcdef", ("10.214.0.1", 9999))
    if i % 100 == 99:
        time.sleep(0.002)  # no queue of the veth overflows: only the fault drops
EOF
wait "$receiver"
python3 - "$(cat "$dir/count")" <<'EOF'
import math, sys
n = int(sys.argv[1]); sd = math.sqrt(10000 * 0.3 * 0.7)
print(f"| 30% loss over 10,000 UDP packets | {10000 - n} dropped ({(10000 - n) / 100:.2f}%) | expected 3000 +- {sd:.0f} (1 sd) | {abs(10000 - n - 3000) / sd:.1f} sd off |")
EOF
api POST /v1/halt >/dev/null && api POST /v1/resume >/dev/null

# 3. The agent's RSS before and after a blackhole of 10,000 connection attempts from the peer.
rss() { awk '/VmRSS/{print $2}' "/proc/$pid/status"; }
before=$(rss)
api POST /v1/faults '{"kind":"network","action":"blackhole","to":["10.214.0.2/32"],"duration_ms":120000}' >/dev/null
ip netns exec "$b" python3 - <<'EOF'
import errno, socket, time
for batch in range(10):
    socks = []
    for _ in range(1000):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(("10.214.0.1", 18474 + 1))
        s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s2.sendto(b"x" * 512, ("10.214.0.1", 7))
        s2.close()
        socks.append(s)
    time.sleep(0.2)
    for s in socks:
        s.close()
EOF
after=$(rss)
echo "| agent RSS around a blackhole of 10,000 TCP connection attempts and 10,000 UDP datagrams | before ${before} KiB | after ${after} KiB | growth $((after - before)) KiB |"
