#!/usr/bin/env python3
"""Benchmarks of achilles-agent on loopback: proxy throughput (direct, agent, socat), latency
toxic accuracy, 1000 concurrent proxied connections, API request to signal delivered.

usage: bench.py AGENT_BINARY [RELAY_BOUND_BINARY]   (prints Markdown for bench/RESULTS.md)
BENCH_ROUNDS (default 7): throughput rounds; direct, agent and socat take turns in each, and
with RELAY_BOUND_BINARY (relay_bound.cc) so do its C++ sender and sink, directly and through
its bare splice and copy relays, which show what any relay can reach on this machine.
Everything runs on 127.0.0.1 with ports the OS picks; every process is started here and
stopped at the end.
"""
import http.client
import json
import os
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

CHUNK = 1 << 20
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- helper servers, each run as its own process (python3 bench.py --sink|--echo PORT) ----

def serve_sink(port):
    """Counts what each connection sends until EOF, then answers the count and closes."""
    srv = socket.create_server(("127.0.0.1", port), backlog=4096)
    buf = bytearray(CHUNK)
    while True:
        conn, _ = srv.accept()
        total = 0
        while True:
            n = conn.recv_into(buf)
            if n == 0:
                break
            total += n
        conn.sendall(str(total).encode())
        conn.close()


def serve_echo(port):
    """Echoes on any number of connections (one thread, selectors)."""
    sel = selectors.DefaultSelector()
    srv = socket.create_server(("127.0.0.1", port), backlog=4096)
    srv.setblocking(False)
    sel.register(srv, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is srv:
                conn, _ = srv.accept()
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ)
                continue
            conn = key.fileobj
            try:
                data = conn.recv(65536)
            except ConnectionError:
                data = b""
            if not data:
                sel.unregister(conn)
                conn.close()
            else:
                conn.sendall(data)


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port}")


class Procs:
    def __init__(self):
        self.procs = []

    def start(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()


class Agent:
    def __init__(self, procs, binary, tmp, extra=()):
        self.proc = procs.start(
            [binary, "--listen", "127.0.0.1:0", "--insecure-loopback",
             "--state-file", os.path.join(tmp, "state.json"), "--audit-log", "", *extra],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.port = int(line.rsplit(":", 1)[1])
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port)

    def call(self, method, path, body=None):
        """One request on the kept-alive connection, reconnecting when the agent closed it
        (it closes connections idle longer than idle_timeout_ms)."""
        try:
            return self._call(method, path, body)
        except (http.client.RemoteDisconnected, ConnectionError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port)
            return self._call(method, path, body)

    def _call(self, method, path, body):
        self.conn.request(method, path, body=None if body is None else json.dumps(body),
                          headers={"Content-Type": "application/json"})
        r = self.conn.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data else None)

    def proxy(self, name, upstream_port):
        status, p = self.call("POST", "/proxies", {
            "name": name, "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{upstream_port}"})
        assert status == 201, p
        return int(p["listen"].rsplit(":", 1)[1])


# --- measurements ----------------------------------------------------------------------------

def throughput(port, total=1 << 30):
    """GB/s of one connection pushing `total` bytes to the sink and reading its count back,
    and this process's (the sender's) CPU seconds for it."""
    payload = bytes(CHUNK)
    s = socket.create_connection(("127.0.0.1", port))
    cpu = time.process_time()
    start = time.perf_counter()
    sent = 0
    while sent < total:
        s.sendall(payload)
        sent += len(payload)
    s.shutdown(socket.SHUT_WR)
    answer = s.recv(64)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    s.close()
    assert int(answer) == total, answer
    return total / elapsed / 1e9, cpu


def cpu_seconds(pid, children=False):
    """User + system CPU time of a process so far, from /proc/PID/stat; with `children`, that
    of its children that it has waited for too (socat relays in a forked child)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = [int(x) for x in f.read().rsplit(")", 1)[1].split()[11:15]]
    return sum(fields if children else fields[:2]) / os.sysconf("SC_CLK_TCK")


def relay_bound(binary, mode):
    """One run of relay_bound.cc: GB/s and the CPU seconds per GiB of sender, sink, relay."""
    out = subprocess.run([binary, mode], check=True, capture_output=True, text=True).stdout
    v = dict(kv.split("=") for kv in out.split())
    return float(v["gbps"]), (float(v["sender_cpu"]), float(v["sink_cpu"]),
                              float(v["relay_cpu"]))


def round_trips(port, n):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out = []
    for _ in range(n):
        start = time.perf_counter()
        s.sendall(b"ping")
        got = b""
        while len(got) < 4:
            got += s.recv(16)
        out.append((time.perf_counter() - start) * 1000)
    s.close()
    return out


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def concurrent(port, n=1000):
    """Opens n connections, then one echo on each, all at once; seconds and successes."""
    start = time.perf_counter()
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    connected = time.perf_counter() - start
    sel = selectors.DefaultSelector()
    for s in socks:
        s.sendall(b"x" * 100)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, bytearray())
    done = 0
    deadline = time.time() + 30
    while done < n and time.time() < deadline:
        for key, _ in sel.select(timeout=1):
            data = key.fileobj.recv(4096)
            key.data.extend(data)
            if len(key.data) >= 100 or not data:
                sel.unregister(key.fileobj)
                done += len(key.data) >= 100
    total = time.perf_counter() - start
    for s in socks:
        s.close()
    return connected, total, done


SIGNAL_CHILD = r"""
import os, signal, sys, time
w = int(sys.argv[1])
signal.signal(signal.SIGUSR1, lambda *a: os.write(w, b"!"))
os.write(w, b"r")
while True:
    time.sleep(3600)
"""


def api_to_signal(agent, n=100):
    """ms from sending POST /v1/faults (kill, SIGUSR1) to the child's handler running."""
    r, w = os.pipe()
    child = subprocess.Popen([sys.executable, "-c", SIGNAL_CHILD, str(w)], pass_fds=(w,))
    os.close(w)
    assert os.read(r, 1) == b"r"
    out = []
    body = {"kind": "kill", "target": {"pid": child.pid}, "signal": "SIGUSR1", "observe_ms": 0}
    try:
        for _ in range(n):
            start = time.perf_counter()
            status, rec = agent.call("POST", "/v1/faults", body)
            assert status == 201, rec
            assert os.read(r, 1) == b"!"
            out.append((time.perf_counter() - start) * 1000)
    finally:
        child.kill()
        child.wait()
        os.close(r)
    return out


def main():
    if len(sys.argv) == 3 and sys.argv[1] in ("--sink", "--echo"):
        (serve_sink if sys.argv[1] == "--sink" else serve_echo)(int(sys.argv[2]))
        return
    binary = os.path.abspath(sys.argv[1])
    bound_binary = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
    procs = Procs()
    tmp = tempfile.mkdtemp(prefix="achilles-bench-")
    try:
        me = os.path.abspath(__file__)
        sink, echo = free_port(), free_port()
        sink_proc = procs.start([sys.executable, me, "--sink", str(sink)])
        procs.start([sys.executable, me, "--echo", str(echo)])
        wait_port(sink)
        wait_port(echo)
        child_name = "python3*"  # the signal benchmark signals a Python child of its own
        agent = Agent(procs, binary, tmp, ["--allow-process", child_name])

        rows = []
        # Each path moves 1 GiB and answers its GB/s and the CPU seconds of the sender, the
        # sink and the relay (0 for none). They take turns, round after round, so that a
        # burst of load from elsewhere on a shared machine hits them alike; best and median of
        # the rounds.
        def python_path(port, relay_pid=None, children=False):
            def run():
                sink0 = cpu_seconds(sink_proc.pid)
                relay0 = cpu_seconds(relay_pid, children) if relay_pid else 0.0
                gbps, sender = throughput(port)
                if children:
                    time.sleep(0.3)  # socat's relaying child exits and is waited for
                relay = cpu_seconds(relay_pid, children) - relay0 if relay_pid else 0.0
                return gbps, (sender, cpu_seconds(sink_proc.pid) - sink0, relay)
            return run

        agent_path = "through achilles-agent's proxy"
        paths = {"direct loopback": python_path(sink),
                 agent_path: python_path(agent.proxy("sink", sink), agent.proc.pid)}
        if shutil.which("socat"):
            sp = free_port()
            socat = procs.start(["socat", f"TCP-LISTEN:{sp},bind=127.0.0.1,reuseaddr,fork",
                                 f"TCP:127.0.0.1:{sink}"])
            wait_port(sp)
            paths["through socat"] = python_path(sp, socat.pid, children=True)
        bare = {"direct": "C++ direct (relay_bound)", "splice": "bare splice relay",
                "copy": "bare copy relay"}
        if bound_binary:
            for mode, name in bare.items():
                paths[name] = lambda mode=mode: relay_bound(bound_binary, mode)
        runs = {name: [] for name in paths}
        cpus = {name: [] for name in paths}
        for _ in range(ROUNDS):
            for name, run in paths.items():
                gbps, cpu = run()
                runs[name].append(gbps)
                cpus[name].append(cpu)
        # CPU seconds per GiB of (sender, sink, relay), the median of each over the rounds.
        cpu = {name: [statistics.median(c[i] for c in cpus[name]) for i in range(3)]
               for name in paths}
        for name in paths:
            v = runs[name]
            rows.append((f"throughput, 1 connection, 1 GiB, {name}: best / median of {ROUNDS}",
                         f"{max(v):.2f} / {statistics.median(v):.2f} GB/s"))
        direct = runs["direct loopback"]
        agent_runs = runs[agent_path]
        rows.append(("throughput: agent's proxy / direct loopback, best / median",
                     f"{max(agent_runs) / max(direct):.0%} / "
                     f"{statistics.median(agent_runs) / statistics.median(direct):.0%}"))
        if "through socat" in runs:
            socat_runs = runs["through socat"]
            rows.append(("throughput: agent's proxy / socat, best / median",
                         f"{max(agent_runs) / max(socat_runs):.0%} / "
                         f"{statistics.median(agent_runs) / statistics.median(socat_runs):.0%}"))
        else:
            rows.append(("throughput: through socat", "socat missing"))
        for name in paths:
            sender, sink_cpu, relay = cpu[name]
            rows.append((f"CPU per GiB (user + system, median), {name}: sender / sink / relay",
                         f"{sender:.2f} / {sink_cpu:.2f} / "
                         + (f"{relay:.2f} s" if relay else "no relay")))
        # Relaying costs CPU that a direct connection does not spend. When the processes of
        # both paths are held back by the CPU they get (the same cores), a relay reaches at
        # most direct's CPU per GiB over its own of direct's throughput; and with every core
        # busy, at most the cores over its processes' CPU per GiB.
        relays = [(agent_path, "direct loopback")]
        if bound_binary:
            relays += [(bare[mode], bare["direct"]) for mode in ("splice", "copy")]
        cores = os.cpu_count()
        for name, base in relays:
            total_cpu, base_cpu = sum(cpu[name]), sum(cpu[base])
            rows.append((f"{name}: CPU per GiB of the whole path, {base}'s / this one's",
                         f"{base_cpu:.2f} / {total_cpu:.2f} s = {base_cpu / total_cpu:.0%}"))
            ceiling = cores * (1 << 30) / total_cpu / 1e9
            rows.append((f"{name}: ceiling with {cores} cores busy (cores / its CPU per GiB)",
                         f"{ceiling:.2f} GB/s = {ceiling / max(runs[base]):.0%} of "
                         f"{base}'s best"))

        eport = agent.proxy("echo", echo)
        base = round_trips(eport, 200)
        rows.append(("echo round trip through the proxy, no toxic (p50 / p99)",
                     f"{pct(base, 50):.3f} / {pct(base, 99):.3f} ms"))
        status, _ = agent.call("POST", "/proxies/echo/toxics",
                               {"type": "latency", "attributes": {"latency": 100}})
        assert status == 200
        lat = round_trips(eport, 200)
        rows.append(("latency toxic 100 ms: round trip p50 / p99 / max (200 samples)",
                     f"{pct(lat, 50):.2f} / {pct(lat, 99):.2f} / {max(lat):.2f} ms"))
        rows.append(("latency toxic 100 ms: p99 error over the 100 ms asked",
                     f"+{pct(lat, 99) - 100:.2f} ms"))
        agent.call("POST", "/reset")

        connected, total, ok = concurrent(eport)
        rows.append(("1000 concurrent proxied connections: connect all / all echoed",
                     f"{connected * 1000:.0f} ms / {total * 1000:.0f} ms, {ok}/1000 echoed"))
        agent.call("POST", "/proxies/echo/toxics",
                   {"type": "latency", "attributes": {"latency": 100}})
        connected, total, ok = concurrent(eport)
        rows.append(("1000 concurrent connections with a 100 ms latency toxic: all echoed",
                     f"{total * 1000:.0f} ms, {ok}/1000 echoed"))
        agent.call("POST", "/reset")

        sig = api_to_signal(agent)
        rows.append(("API request (POST /v1/faults kill SIGUSR1) to signal handled: "
                     "median / p99 (100 requests)",
                     f"{statistics.median(sig):.3f} / {pct(sig, 99):.3f} ms"))

        print("| measurement | result |")
        print("| --- | --- |")
        for name, value in rows:
            print(f"| {name} | {value} |")
    finally:
        procs.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
