#!/usr/bin/env python3
"""Soak benchmark of achilles-agent (issue 18): one agent, DURATION seconds of mixed faults,
reverts, halts, lease lapses and abusive clients; its RSS, open descriptors and threads are
sampled all along and must end within 10% of where they stood after the warm-up.

usage: soak.py AGENT_BINARY [DURATION_S]   (bench/agent/soak runs it; DURATION_S default 1800)
Environment: SOAK_SAMPLE_S (default 5) seconds between samples; SOAK_SEED (default: the time)
the seed of the mix, printed so a run can be repeated; SOAK_CSV the samples' CSV file
(default achilles-soak-SEED.csv in the current directory); SOAK_KEEP=1 keeps the temporary
directory (the agent's audit log, state file and output).

Everything it touches it started itself, on 127.0.0.1 with ports the OS picks: the agent (its
token file mode 0600, state file and audit log in a temporary directory, the audit log rotated
with --audit-max-bytes), an echo server behind the agent's proxy, and its victims: copies of
sleep(1) under a unique name in that directory, the only executable the agent's allowlist
names (--allow-executable). Faults target victims by pid, by name and by command line; the
soak restarts a victim the agent killed. After every round it waits for every fault to end and
checks that /v1/faults lists nothing active, that no victim is left stopped (state T) and that
the agent has no stress worker left. Any 5xx, refused connection, unexpected answer, fault not
reverted or leak beyond the bounds is a failure: the exit status is 1, with the list.
The warm-up is the first tenth of DURATION (20 to 120 s, or longer: after the first round it
fills the agent's history of ended faults, which GET /v1/faults lists, with 1,200 pauses of
1 ms, so that the bound measures what grows beyond that designed, bounded history); then all
client connections are closed, the agent is left alone for SETTLE_S, and the median of a few
samples is the start; the same at the end. On exit or Ctrl-C it stops the agent (SIGTERM: it reverts everything),
its victims and the echo server, and removes the temporary directory.
One file past 500 lines: every scenario acts on the one agent, its victims and the list of
failures that the checks share; split, each part would take all of them along.
"""
import collections
import csv
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import free_port, wait_port  # noqa: E402  (the helpers of the other benchmark)

SAMPLE_S = float(os.environ.get("SOAK_SAMPLE_S", "5"))
SETTLE_S = 10
BOUND = 0.10
MAX_CONNECTIONS = 128
READ_TIMEOUT_MS = 2000
VICTIMS = 4
REVERTIBLE = ("pause", "cpu", "memory", "latency")


class Failures:
    """Every failure, with the time into the run; the soak goes on and reports them all."""

    def __init__(self):
        self.items = []
        self.lock = threading.Lock()
        self.start = time.time()

    def add(self, what):
        with self.lock:
            line = f"{time.time() - self.start:7.1f} s: {what}"
            self.items.append(line)
            print("soak: FAIL " + line, file=sys.stderr, flush=True)


FAIL = Failures()


# --- the agent's API -------------------------------------------------------------------------

class Api:
    """Requests with the token on a kept-alive connection, reconnecting when the agent closed
    it (idle timeout, or evicted by a flood of connections). Counts answers by status; a 5xx
    or a refused connection is a failure."""

    def __init__(self, port, token):
        self.port, self.token = port, token
        self.conn = None
        self.codes = collections.Counter()

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def call(self, method, path, body=None, expect=None):
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                self.conn.request(method, path,
                                  body=None if body is None else json.dumps(body),
                                  headers={"Authorization": f"Bearer {self.token}",
                                           "Content-Type": "application/json"})
                r = self.conn.getresponse()
                data = r.read()
                break
            except ConnectionRefusedError:
                FAIL.add(f"{method} {path}: connection refused")
                self.close()
                return 0, None
            except (http.client.RemoteDisconnected, ConnectionError, BrokenPipeError):
                self.close()
                if attempt:
                    FAIL.add(f"{method} {path}: the agent closed the connection twice")
                    return 0, None
            except (OSError, http.client.HTTPException) as e:
                FAIL.add(f"{method} {path}: {e!r}")
                self.close()
                return 0, None
        self.codes[r.status] += 1
        try:
            answer = json.loads(data) if data and r.getheader("Content-Type", "").startswith(
                "application/json") else data.decode(errors="replace")
        except ValueError:
            answer = data
        if r.status >= 500:
            FAIL.add(f"{method} {path} {json.dumps(body)[:200]}: {r.status} {answer}")
        elif expect is not None and r.status not in (expect if isinstance(expect, tuple)
                                                     else (expect,)):
            FAIL.add(f"{method} {path} {json.dumps(body)[:200]}: expected {expect}, got "
                     f"{r.status} {str(answer)[:300]}")
        return r.status, answer


# --- the processes the soak starts -----------------------------------------------------------

def proc_state(pid):
    """The state letter of /proc/PID/stat (R, S, T, Z, ...), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def children_of(ppid):
    """Pids whose parent is ppid (the agent's stress workers, forked, never exec'd)."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == ppid:
                        out.append(int(name))
            except (OSError, IndexError, ValueError):
                pass
    return out


class Victims:
    """VICTIMS sleep processes started from the soak's own copy of sleep(1); a victim that
    exited (killed through the agent) is started again with the same command line."""

    def __init__(self, exe):
        self.exe = exe
        self.procs = [None] * VICTIMS
        self.restarts = 0
        for i in range(VICTIMS):
            self._start(i)

    def argv(self, i):
        return [self.exe, str(100000 + i)]

    def _start(self, i):
        # A session of its own: a stopped victim in the soak's process group would get
        # SIGHUP and SIGCONT from the kernel when that group is orphaned (its shell exits).
        self.procs[i] = subprocess.Popen(self.argv(i), stdin=subprocess.DEVNULL,
                                         start_new_session=True)

    def refresh(self):
        for i, p in enumerate(self.procs):
            if p.poll() is not None:
                self.restarts += 1
                self._start(i)

    def pick(self, rng):
        self.refresh()
        return rng.choice(self.procs).pid

    def pids(self):
        return [p.pid for p in self.procs]

    def stop(self):
        for p in self.procs:
            if p and p.poll() is None:
                p.kill()
                p.wait()


class Sampler(threading.Thread):
    """Every SAMPLE_S seconds: the agent's VmRSS (KiB), open descriptors and threads, and the
    phase of the run, into rows (and the CSV at the end)."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.rows = []
        self.phase = "warm-up"
        self.t0 = time.time()
        self.stopped = threading.Event()

    def sample(self):
        status = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                status[k] = v.split()
        fds = len(os.listdir(f"/proc/{self.pid}/fd"))
        row = (round(time.time() - self.t0, 1), int(status["VmRSS"][0]), fds,
               int(status["Threads"][0]), self.phase)
        self.rows.append(row)
        return row

    def run(self):
        while not self.stopped.wait(SAMPLE_S):
            try:
                self.sample()
            except (OSError, KeyError):
                return  # the agent is gone; the main loop reports it

    def settled(self, n=5):
        """The median RSS, descriptors and threads of n samples a second apart."""
        rows = []
        for _ in range(n):
            rows.append(self.sample())
            time.sleep(1)
        return tuple(statistics.median(r[i] for r in rows) for i in (1, 2, 3))


# --- the soak --------------------------------------------------------------------------------

class Soak:
    def __init__(self, tmp, rng):
        self.tmp, self.rng = tmp, rng
        self.own = []  # processes to stop at the end, other than the victims and the agent

    def start(self, agent_binary):
        """Starts the echo server, the agent and the victims (stop() ends what was started)."""
        self.echo_port = free_port()
        me = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench.py")
        self.own.append(subprocess.Popen([sys.executable, me, "--echo", str(self.echo_port)],
                                         start_new_session=True))
        wait_port(self.echo_port)

        self.tag = "sv-" + secrets.token_hex(4)  # the victims' name: unique on the host
        exe = os.path.join(self.tmp, self.tag)
        shutil.copy(shutil.which("sleep"), exe)
        self.token = secrets.token_hex(32)
        token_file = os.path.join(self.tmp, "token")
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, self.token.encode())
        os.close(fd)
        self.audit = os.path.join(self.tmp, "audit.jsonl")
        self.out = open(os.path.join(self.tmp, "agent.out"), "w+")
        self.agent = subprocess.Popen(
            [agent_binary, "--listen", "127.0.0.1:0", "--token-file", token_file,
             "--state-file", os.path.join(self.tmp, "state.json"), "--audit-log", self.audit,
             "--audit-max-bytes", str(64 << 10), "--allow-executable", exe,
             "--proxy", f"echo,127.0.0.1:0,127.0.0.1:{self.echo_port}",
             "--max-connections", str(MAX_CONNECTIONS),
             "--read-timeout-ms", str(READ_TIMEOUT_MS), "--idle-timeout-ms", "5000",
             "--max-memory-bytes", str(256 << 20), "--max-cpu-cores", "1",
             "--max-duration-ms", "60000"],
            stdout=self.out, stderr=open(os.path.join(self.tmp, "agent.err"), "w"),
            stdin=subprocess.DEVNULL, start_new_session=True)  # Ctrl-C reaches the soak only
        deadline = time.time() + 30
        self.port = None
        while self.port is None and time.time() < deadline and self.agent.poll() is None:
            self.out.seek(0)
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.out.read())
            if m:
                self.port = int(m.group(1))
            else:
                time.sleep(0.05)
        if self.port is None:
            raise RuntimeError("the agent did not start: "
                               + open(os.path.join(self.tmp, "agent.err")).read())
        self.api = Api(self.port, self.token)
        _, proxies = self.api.call("GET", "/proxies", expect=200)
        self.proxy_port = int(proxies["echo"]["listen"].rsplit(":", 1)[1])
        self.victims = Victims(exe)
        self.created = collections.Counter()  # faults the soak created, by kind
        self.unchecked = {}  # fault id -> kind, created since the last check of the records
        self.reasons = collections.Counter()  # why the faults the soak created ended
        self.toxics = 0
        self.abuse = collections.Counter()

    def stop(self):
        if hasattr(self, "api"):
            self.api.close()
        if hasattr(self, "agent") and self.agent.poll() is None:
            self.agent.send_signal(signal.SIGTERM)
            try:
                code = self.agent.wait(30)
                if code != 0:
                    FAIL.add(f"the agent exited with {code} on SIGTERM")
            except subprocess.TimeoutExpired:
                FAIL.add("the agent did not exit within 30 s of SIGTERM")
                self.agent.kill()
                self.agent.wait()
        if hasattr(self, "victims"):
            self.victims_stopped_check("after the agent's shutdown")
            self.victims.stop()
        for p in self.own:
            p.kill()
            p.wait()

    # - faults -

    def fault(self, body, expect=201):
        status, rec = self.api.call("POST", "/v1/faults", body, expect=expect)
        if status == 201:
            self.created[body["kind"]] += 1
            self.unchecked[rec["id"]] = body["kind"]
            return rec["id"]
        return None

    def wait_ended(self, fid, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, rec = self.api.call("GET", f"/v1/faults/{fid}", expect=200)
            if status != 200 or rec["state"] != "active":
                return rec
            time.sleep(0.1)
        FAIL.add(f"fault {fid} still active {timeout} s after it should have ended")
        return None

    def kill(self):
        target = self.rng.choice([
            {"pid": self.victims.pick(self.rng)},
            {"process": self.tag, "count": "one"},
            {"cmdline": re.escape(self.tag) + r" 10000[0-9]$", "count": "one"}])
        self.victims.refresh()
        fid = self.fault({"kind": "kill", "target": target,
                          "signal": self.rng.choice(["SIGKILL", "SIGTERM"]),
                          "observe_ms": self.rng.choice([0, 500, 1500])})
        if fid is None:
            return
        # The soak's supervisor restarts the victim it killed.
        deadline = time.time() + 10
        while time.time() < deadline and all(p.poll() is None for p in self.victims.procs):
            time.sleep(0.02)
        if all(p.poll() is None for p in self.victims.procs):
            FAIL.add(f"kill {fid} of {target}: no victim exited")
        self.victims.refresh()

    def pause_short(self):
        pid = self.victims.pick(self.rng)
        fid = self.fault({"kind": "pause", "target": {"pid": pid},
                          "duration_ms": self.rng.randint(100, 1500)})
        if fid:
            self.wait_ended(fid)

    def pause_deleted(self):
        """One pause, or two overlapping ones of one victim (counted: it stays stopped until
        the last ends), each DELETEd long before it would expire."""
        pid = self.victims.pick(self.rng)
        ids = [self.fault({"kind": "pause", "target": {"pid": pid}, "duration_ms": 30000})
               for _ in range(self.rng.choice([1, 2]))]
        time.sleep(self.rng.uniform(0.05, 0.4))
        for n, fid in enumerate(ids):
            if fid is None:
                continue
            if proc_state(pid) != "T":
                FAIL.add(f"pause {fid}: victim {pid} is not stopped while {len(ids) - n} "
                         "pause(s) hold it")
            self.api.call("DELETE", f"/v1/faults/{fid}", expect=200)

    def stress(self):
        if self.rng.random() < 0.5:
            body = {"kind": "cpu", "cores": 1, "load": round(self.rng.uniform(0.1, 0.5), 2),
                    "duration_ms": self.rng.randint(300, 1500)}
        else:
            body = {"kind": "memory", "bytes": self.rng.randint(4, 32) << 20,
                    "duration_ms": self.rng.randint(300, 1500)}
        fid = self.fault(body)
        if fid and self.rng.random() < 0.4:
            time.sleep(0.1)
            self.api.call("DELETE", f"/v1/faults/{fid}", expect=200)
        elif fid:
            self.wait_ended(fid)

    def traffic(self, n=20, size=64):
        """Echo round trips through the agent's proxy; the slowest in ms (or None)."""
        worst = 0.0
        try:
            with socket.create_connection(("127.0.0.1", self.proxy_port), timeout=20) as s:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                payload = os.urandom(size)
                for _ in range(n):
                    start = time.perf_counter()
                    s.sendall(payload)
                    got = b""
                    while len(got) < size:
                        chunk = s.recv(65536)
                        if not chunk:
                            raise ConnectionError("closed by the proxy")
                        got += chunk
                    if got != payload:
                        raise ValueError("the echo came back changed")
                    worst = max(worst, (time.perf_counter() - start) * 1000)
        except (OSError, ValueError) as e:
            FAIL.add(f"traffic through the proxy: {e!r}")
            return None
        return worst

    def latency(self):
        ms = self.rng.randint(20, 120)
        fid = self.fault({"kind": "latency", "proxy": "echo", "latency_ms": ms,
                          "duration_ms": 60000})
        if fid is None:
            return
        worst = self.traffic(n=5)
        if worst is not None and worst < ms:
            FAIL.add(f"latency {fid}: {ms} ms asked, slowest round trip {worst:.1f} ms")
        self.api.call("DELETE", f"/v1/faults/{fid}", expect=200)
        self.traffic(n=3, size=256 << 10)  # a bulk exchange once the toxic is gone

    def toxic(self):
        """A toxic through Toxiproxy's API, traffic through it, then removed."""
        kind = self.rng.choice(["latency", "bandwidth", "slicer"])
        attrs = {"latency": {"latency": 30, "jitter": 5}, "bandwidth": {"rate": 1000},
                 "slicer": {"average_size": 16, "size_variation": 8, "delay": 100}}[kind]
        name = f"soak_{kind}"
        status, _ = self.api.call("POST", "/proxies/echo/toxics",
                                  {"name": name, "type": kind, "attributes": attrs}, expect=200)
        if status == 200:
            self.toxics += 1
            self.traffic(n=3, size=4096)
            self.api.call("DELETE", f"/proxies/echo/toxics/{name}", expect=204)

    def harm_everything(self):
        """A long pause, cpu, memory, latency and a Toxiproxy toxic, all at once; the ids."""
        ids = [self.fault({"kind": "pause", "target": {"pid": self.victims.pick(self.rng)},
                           "duration_ms": 30000}),
               self.fault({"kind": "cpu", "cores": 1, "load": 0.2, "duration_ms": 30000}),
               self.fault({"kind": "memory", "bytes": 8 << 20, "duration_ms": 30000}),
               self.fault({"kind": "latency", "proxy": "echo", "latency_ms": 50,
                           "duration_ms": 30000})]
        status, _ = self.api.call("POST", "/proxies/echo/toxics",
                                  {"name": "soak_halt", "type": "bandwidth",
                                   "attributes": {"rate": 100}}, expect=200)
        self.toxics += status == 200
        return [i for i in ids if i]

    def expect_halted(self, why):
        self.fault({"kind": "cpu", "cores": 1, "load": 0.1, "duration_ms": 1000}, expect=409)
        _, st = self.api.call("GET", "/v1/status", expect=200)
        if st and (not st.get("halted") or st.get("active_faults")):
            FAIL.add(f"after {why}: status {json.dumps(st)[:300]}")
        self.api.call("POST", "/v1/resume", expect=200)

    def halt(self):
        ids = self.harm_everything()
        self.api.call("POST", "/v1/halt", expect=200)
        for fid in ids:
            rec = self.wait_ended(fid, timeout=5)
            if rec and rec.get("reason") != "halt":
                FAIL.add(f"fault {fid} ended by {rec.get('reason')!r} at a halt")
        self.expect_halted("a halt")

    def lease(self):
        ids = self.harm_everything()
        ttl = self.rng.randint(300, 1500)
        self.api.call("POST", "/v1/lease", {"ttl_ms": ttl}, expect=200)
        for _ in range(self.rng.randint(0, 2)):  # renewed a few times, then left to lapse
            self.api.call("POST", "/v1/lease", {"ttl_ms": ttl}, expect=200)
        deadline = time.time() + 30
        while time.time() < deadline:
            _, st = self.api.call("GET", "/v1/status", expect=200)
            if not st or st.get("halted"):
                break
            time.sleep(0.1)
        else:
            FAIL.add(f"a lease of {ttl} ms did not lapse within 30 s")
        for fid in ids:
            rec = self.wait_ended(fid, timeout=5)
            if rec and rec.get("reason") != "lease expired":
                FAIL.add(f"fault {fid} ended by {rec.get('reason')!r} at a lapsed lease")
        self.expect_halted("a lapsed lease")

    def lease_ended(self):
        """A lease taken, renewed and ended (ttl 0) in time: nothing lapses."""
        self.api.call("POST", "/v1/lease", {"ttl_ms": 30000}, expect=200)
        self.pause_short()
        self.api.call("POST", "/v1/lease", {"ttl_ms": 0}, expect=200)

    # - abusive clients -

    def raw(self, data, what, expect, token=True, slow=None):
        """Sends raw bytes (a request head gets the token unless token=False) and reads the
        answer until the agent closes or a deadline: its status must be one of `expect`
        (None: no answer, the connection closed, is also fine)."""
        self.abuse[what] += 1
        if token and b"\r\n\r\n" in data and b"Authorization" not in data:
            data = data.replace(b"\r\n", f"\r\nAuthorization: Bearer {self.token}\r\n".encode(),
                                1)
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        except ConnectionRefusedError:
            FAIL.add(f"{what}: connection refused")
            return
        got = b""
        try:
            with s:
                try:
                    if slow:
                        for b in data:
                            s.sendall(bytes([b]))
                            time.sleep(slow)
                    else:
                        s.sendall(data)
                    if not slow:
                        s.shutdown(socket.SHUT_WR)
                except OSError:
                    pass  # the agent answered (or closed) before reading it all
                deadline = time.time() + READ_TIMEOUT_MS / 1000 + 20
                while time.time() < deadline:
                    try:
                        chunk = s.recv(65536)
                    except ConnectionResetError:
                        break
                    except socket.timeout:
                        continue
                    if not chunk:
                        break
                    got += chunk
                else:
                    FAIL.add(f"{what}: neither answered nor closed")
                    return
        except OSError as e:
            FAIL.add(f"{what}: {e!r}")
            return
        m = re.match(rb"HTTP/1\.[01] (\d{3})", got)
        status = int(m.group(1)) if m else None
        if status is not None and status >= 500 or status not in expect:
            FAIL.add(f"{what}: expected {expect}, got {got[:200]!r}")

    def head(self, method, path, body=b"", extra=""):
        return (f"{method} {path} HTTP/1.1\r\nHost: soak\r\nContent-Length: {len(body)}\r\n"
                f"{extra}\r\n").encode() + body

    def abusive(self):
        kinds = [
            ("bad token", lambda: self.raw(self.head(
                "POST", "/v1/halt", extra="Authorization: Bearer " + "x" * 64 + "\r\n"),
                "bad token", (401,))),
            ("no token", lambda: self.raw(self.head("GET", "/v1/faults"), "no token", (401,),
                                          token=False)),
            ("oversized body", lambda: self.raw(
                b"POST /v1/faults HTTP/1.1\r\nHost: soak\r\nContent-Length: 104857600\r\n\r\n"
                + b"{" * 65536, "oversized body", (413,))),
            ("oversized body, no token", lambda: self.raw(
                b"POST /v1/faults HTTP/1.1\r\nHost: soak\r\nContent-Length: 104857600\r\n\r\n"
                + b"{" * 65536, "oversized body, no token", (401,), token=False)),
            ("oversized head", lambda: self.raw(self.head(
                "GET", "/v1/status", extra="X-Pad: " + "a" * 70000 + "\r\n"),
                "oversized head", (431, 400, None))),
            ("garbage bytes", lambda: self.raw(os.urandom(self.rng.randint(1, 8192)),
                                               "garbage bytes", (400, 431, None),
                                               token=False)),
            ("invalid UTF-8", lambda: self.raw(self.head(
                "POST", "/v1/faults",
                b'{"kind":"kill","target":{"process":"\xff\xfe' + self.tag.encode() + b'"}}'),
                "invalid UTF-8", (400,))),
            ("deep JSON", lambda: self.raw(self.head(
                "POST", "/v1/faults", b"[" * 60000 + b"]" * 60000), "deep JSON", (400,))),
            ("deep JSON, Toxiproxy", lambda: self.raw(self.head(
                "POST", "/proxies", b'{"a":' * 30000 + b"1" + b"}" * 30000),
                "deep JSON, Toxiproxy", (400,))),
            ("1e400", lambda: self.raw(self.head(
                "POST", "/v1/faults",
                b'{"kind":"pause","target":{"pid":1},"duration_ms":1e400}'), "1e400", (400,))),
            ("duplicate Content-Length", lambda: self.raw(
                b"POST /v1/halt HTTP/1.1\r\nHost: soak\r\nContent-Length: 0\r\n"
                b"Content-Length: 0\r\n\r\n", "duplicate Content-Length", (400,))),
            ("bare LF", lambda: self.raw(b"GET /v1/status HTTP/1.1\nHost: soak\n\n",
                                         "bare LF", (400,), token=False)),
            ("browser", lambda: self.raw(self.head(
                "POST", "/v1/halt", extra="User-Agent: Mozilla/5.0\r\n"), "browser", (403,))),
            ("Toxiproxy bad name", lambda: self.raw(self.head(
                "POST", "/proxies", b'{"name":"a/b","listen":"127.0.0.1:0",'
                b'"upstream":"127.0.0.1:1"}'), "Toxiproxy bad name", (400,))),
            ("huge toxic attribute", lambda: self.raw(self.head(
                "POST", "/proxies/echo/toxics",
                b'{"type":"timeout","attributes":{"timeout":9223372036854775807}}'),
                "huge toxic attribute", (400,))),
        ]
        for _, run in self.rng.sample(kinds, self.rng.randint(3, len(kinds))):
            run()

    def slowloris(self, n=4):
        """Connections that send a request head a byte at a time, slower than the read
        timeout allows: the agent must drop them (or answer 408) without hurting others."""
        threads = [threading.Thread(target=self.raw, args=(
            self.head("GET", "/v1/status"), "slowloris", (408, None)),
            kwargs={"slow": 0.4}, daemon=True) for _ in range(n)]
        for t in threads:
            t.start()
        return threads

    def flood(self):
        """Idle connections up to the limit and beyond; a halt must still get through (the
        agent evicts the connection that waited longest), and every one is then closed."""
        self.abuse["idle flood"] += 1
        socks = []
        try:
            for _ in range(MAX_CONNECTIONS + 16):
                try:
                    socks.append(socket.create_connection(("127.0.0.1", self.port), timeout=10))
                except ConnectionRefusedError:
                    FAIL.add("idle flood: connection refused")
                    break
            time.sleep(0.2)
            api = Api(self.port, self.token)
            api.call("POST", "/v1/halt", expect=200)
            api.call("POST", "/v1/resume", expect=200)
            api.close()
            self.api.close()  # it may have been evicted
        finally:
            for s in socks:
                s.close()

    # - checks -

    def victims_stopped_check(self, when):
        deadline = time.time() + 5
        while True:
            stopped = [p.pid for p in self.victims.procs
                       if p.poll() is None and proc_state(p.pid) == "T"]
            if not stopped:
                return
            if time.time() > deadline:
                FAIL.add(f"{when}: victims {stopped} left stopped (T)")
                return
            time.sleep(0.05)

    def quiet_check(self, when):
        """Once everything has ended: nothing active in /v1/faults or /v1/status, no victim
        stopped, no stress worker left, the agent alive."""
        if self.agent.poll() is not None:
            raise RuntimeError(f"{when}: the agent died (exit {self.agent.returncode}); "
                               + open(os.path.join(self.tmp, "agent.err")).read()[-2000:])
        deadline = time.time() + 30
        while True:
            _, faults = self.api.call("GET", "/v1/faults", expect=200)
            faults = (faults or {}).get("faults", [])
            active = [f["id"] for f in faults if f.get("state") == "active"]
            if not active:
                break
            if time.time() > deadline:
                FAIL.add(f"{when}: faults still active: {active}")
                break
            time.sleep(0.1)
        self.verify_records(faults, when)
        _, st = self.api.call("GET", "/v1/status", expect=200)
        if st and (st.get("active_faults") or st.get("halted")):
            FAIL.add(f"{when}: status {json.dumps(st)[:300]}")
        self.victims_stopped_check(when)
        deadline = time.time() + 5
        while children_of(self.agent.pid):
            if time.time() > deadline:
                FAIL.add(f"{when}: stress workers left: {children_of(self.agent.pid)}")
                break
            time.sleep(0.05)

    def round(self):
        slow = self.slowloris() if self.rng.random() < 0.5 else []
        steps = [self.kill, self.kill, self.pause_short, self.pause_deleted,
                 self.pause_deleted, self.stress, self.stress, self.latency, self.toxic,
                 self.abusive, self.lease_ended]
        steps += self.rng.sample([self.halt, self.lease, self.flood], self.rng.randint(1, 2))
        self.rng.shuffle(steps)
        for step in steps:
            step()
        for t in slow:
            t.join()
        self.quiet_check("after a round")

    def verify_records(self, faults, when):
        """Every fault created since the last check: reverted (or done, for a kill), and
        listed (the agent forgets the oldest ended faults beyond its history, so this is
        checked after every round, long before they could go)."""
        by_id = {f["id"]: f for f in faults}
        bad = collections.Counter()
        for fid, kind in self.unchecked.items():
            rec = by_id.get(fid)
            want = "done" if kind == "kill" else "reverted"
            if rec is None or rec.get("state") != want:
                bad[(kind, rec and rec.get("state"))] += 1
            elif kind != "kill":
                self.reasons[rec.get("reason")] += 1
        for (kind, state), n in bad.items():
            FAIL.add(f"{when}: {n} {kind} fault(s) ended in state {state!r}, not reverted")
        self.unchecked = {}

    def fill_history(self, n=1200):
        """Pauses of 1 ms, enough to fill the agent's history of ended faults (it lists at
        most the last 1000): from then on its records no longer grow, and what grows is a
        leak. The number of records listed before and after."""
        _, before = self.api.call("GET", "/v1/faults", expect=200)
        for i in range(n):
            self.fault({"kind": "pause", "target": {"pid": self.victims.pick(self.rng)},
                        "duration_ms": 1})
            if i % 100 == 99:
                self.quiet_check("filling the history")
        self.quiet_check("filling the history")
        _, after = self.api.call("GET", "/v1/faults", expect=200)
        return len((before or {}).get("faults", [])), len((after or {}).get("faults", []))


def metrics(api):
    """The counters of GET /metrics: {(name, labels): value}."""
    _, text = api.call("GET", "/metrics", expect=200)
    out = {}
    for line in (text or "").splitlines():
        m = re.match(r"(achilles_agent_\w+)(\{[^}]*\})? (\S+)$", line)
        if m:
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def main():
    binary = os.path.abspath(sys.argv[1])
    duration = float(sys.argv[2]) if len(sys.argv) > 2 else 1800.0
    seed = int(os.environ.get("SOAK_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    warmup = max(20.0, min(120.0, duration / 10))
    tmp = tempfile.mkdtemp(prefix="achilles-soak-")
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    soak = None
    try:
        soak = Soak(tmp, rng)
        soak.start(binary)
        sampler = Sampler(soak.agent.pid)
        sampler.start()
        print(f"soak: agent pid {soak.agent.pid} on 127.0.0.1:{soak.port}, seed {seed}, "
              f"{duration:.0f} s ({warmup:.0f} s warm-up), samples every {SAMPLE_S:g} s, "
              f"victims {soak.tag}, temporary directory {tmp}", flush=True)
        t0 = time.time()
        rounds = 0
        start = None
        while time.time() - t0 < duration:
            soak.round()
            rounds += 1
            if rounds == 1:
                rss0 = sampler.sample()[1]
                listed = soak.fill_history()
                rss1 = sampler.sample()[1]
                print(f"soak: history filled: {listed[0]} -> {listed[1]} faults listed, RSS "
                      f"{rss0} -> {rss1} KiB", flush=True)
            if start is None and time.time() - t0 >= warmup:
                soak.api.close()
                sampler.phase = "settle"
                time.sleep(SETTLE_S)
                start = sampler.settled()
                sampler.phase = "soak"
                print(f"soak: after warm-up ({rounds} rounds): RSS {start[0]:.0f} KiB, "
                      f"{start[1]:.0f} fds, {start[2]:.0f} threads", flush=True)
        if start is None:
            raise RuntimeError(f"DURATION {duration:.0f} s is shorter than the warm-up")
        counters = metrics(soak.api)
        soak.api.close()
        sampler.phase = "settle"
        time.sleep(SETTLE_S)
        end = sampler.settled()
        sampler.stopped.set()
        rows = sampler.rows
        soak_rows = [r for r in rows if r[4] == "soak"]
        print(f"soak: {rounds} rounds in {time.time() - t0:.0f} s; victims restarted "
              f"{soak.victims.restarts} times", flush=True)

        print("\n| agent resource | after warm-up | end | change | bound | max during the "
              "soak |")
        print("| --- | --- | --- | --- | --- | --- |")
        for i, (name, unit) in enumerate((("RSS (VmRSS)", " KiB"), ("open fds", ""),
                                          ("threads", ""))):
            change = (end[i] - start[i]) / start[i]
            ok = abs(change) <= BOUND
            peak = max((r[i + 1] for r in soak_rows), default=end[i])
            print(f"| {name} | {start[i]:.0f}{unit} | {end[i]:.0f}{unit} | {change:+.1%} | "
                  f"{'PASS' if ok else 'FAIL'} (±{BOUND:.0%}) | {peak:.0f}{unit} |")
            if not ok:
                FAIL.add(f"{name}: {start[i]:.0f} after warm-up, {end[i]:.0f} at the end "
                         f"({change:+.1%}, beyond ±{BOUND:.0%})")

        created = soak.created
        print("\n| fault kind | created by the soak | metrics: injected / refused / failed |")
        print("| --- | --- | --- |")
        for kind in ("kill", "pause", "latency", "cpu", "memory"):
            got = [int(counters.get(("achilles_agent_faults_total",
                                     f'{{kind="{kind}",outcome="{o}"}}'), -1))
                   for o in ("injected", "refused", "failed")]
            print(f"| {kind} | {created[kind]} | {got[0]} / {got[1]} / {got[2]} |")
            if got[0] != created[kind]:
                FAIL.add(f"metrics count {got[0]} {kind} faults injected, the soak created "
                         f"{created[kind]}")
            if got[2]:
                FAIL.add(f"metrics count {got[2]} failed {kind} faults")
        reverts = []
        for label, reason in (("expired", "expired"), ("deleted", "deleted"), ("halt", "halt"),
                              ("lease", "lease expired")):
            n = int(counters.get(("achilles_agent_reverts_total", f'{{reason="{label}"}}'), -1))
            reverts.append(f"{label} {soak.reasons[reason]} / {n}")
        print("\nreverted faults by reason (the soak's records / metrics): " + ", ".join(reverts))
        print(f"Toxiproxy toxics added and removed: {soak.toxics}; abusive requests: "
              + ", ".join(f"{k} {v}" for k, v in sorted(soak.abuse.items())))
        print("answers by status: " + ", ".join(
            f"{k} {v}" for k, v in sorted(soak.api.codes.items())))
        rotated = os.path.exists(soak.audit + ".1")
        print(f"audit log rotated: {'yes' if rotated else 'NO'} ({os.path.getsize(soak.audit)} "
              f"bytes now)")
        if not rotated:
            FAIL.add("the audit log never rotated (--audit-max-bytes)")
        csv_path = os.environ.get("SOAK_CSV") or f"achilles-soak-{seed}.csv"
        with open(csv_path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["seconds", "rss_kib", "fds", "threads", "phase"])
            w.writerows(rows)
        print(f"samples: {len(rows)} rows in {csv_path}")
    except KeyboardInterrupt:
        FAIL.add("interrupted")
    finally:
        if soak:
            soak.stop()
        if not os.environ.get("SOAK_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
    if FAIL.items:
        print(f"\nFAIL: {len(FAIL.items)} failure(s):")
        for line in FAIL.items:
            print("  " + line)
        sys.exit(1)
    print("\nPASS")


if __name__ == "__main__":
    main()
