#!/usr/bin/env python3
"""The network lab: a small estate built from a topology in network namespaces on this
machine, each host of the topology a namespace of its own with its own address, its agent
and its processes, so that a game day can lose a whole zone for real on one machine
(docs/game-day.md, "Losing a zone"). Needs root (namespaces, nftables inside them).

  scripts/lab up TOPOLOGY [--dir DIR] [--tag TAG]   build it; writes DIR/topology.yaml
  scripts/lab down [--dir DIR]                      stop what `up` started, delete its namespaces
  scripts/lab status [--dir DIR]                    what runs, where

What it builds (DIR defaults to /run/achilles-lab, which must be root's own and writable by
nobody else; TAG defaults to "lab"):
  - TAG-sw: a namespace holding only a bridge; every other namespace has one veth on it, and
    nothing is connected to the machine's own network: no packet leaves the lab.
  - TAG-ops, 10.215.0.2: the operator's seat; run `achilles drill` here (`ip netns exec`).
  - TAG-HOST for each `kind: host` domain, 10.215.0.10 and up in file order, with
    the agent its components name on :8474 (a token in DIR/token, --allow-network, and
    allowed to signal exactly that host's processes; one host per agent) and one process per component placed on it:
      * a component of kind `loadbalancer` runs haproxy in front of the members of what it
        depends on, on its target's port (default 8080);
      * a component that depends on another runs service.py's web backend, which calls that
        one on every request (so the dependency is real), restarted 0.5 s after it dies;
      * a component that depends on nothing runs service.py's data store, restarted after 2 s.
    Each component other than the load balancer needs `target: {agent: NAME, process: NAME,
    port: PORT}`, the agent declared in `agents:` (the lab moves it to its host's address); the processes are named TAG-NAME (15 characters
    at most, what the kernel keeps), so that one lab's agents can never signal another's.
DIR/topology.yaml is the topology with the lab's agents (`agents:`), process names and each
entrypoint's `url` label filled in: `achilles drill plan DIR/topology.yaml` drills the lab.
"""
import argparse
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import time

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBNET = ipaddress.ip_network("10.215.0.0/24")
OPS_ADDRESS = "10.215.0.2"
AGENT_PORT = 8474


class LabError(Exception):
    pass


class TextLoader(yaml.SafeLoader):
    """PyYAML reads YAML 1.1, where an unquoted `no`, `on` or `yes` is a boolean; Achilles
    reads a topology's ids as text, and the topology has no boolean field: read them as text."""


TextLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def safe_name(ident):
    """An id as a file or haproxy name: ids may hold '/', ':' or '@' (imported ones do)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", ident)


def secure_dir(d, create):
    """The lab's directory, as root writes a token, configurations and its state there and
    `down` trusts that state: it must be this user's own directory, a real one, writable by
    nobody else (another user could plant a symlink or a state file in a shared one)."""
    if create:
        os.makedirs(d, mode=0o700, exist_ok=True)
    st = os.lstat(d)
    if not stat.S_ISDIR(st.st_mode):
        raise LabError("%s is not a directory (a symbolic link?)" % d)
    if st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise LabError("%s must be owned by this user and writable by nobody else: another user "
                       "could plant files there that root would write through or trust" % d)


def run(*args, check=True):
    r = subprocess.run(args, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise LabError("%s: %s" % (" ".join(args), (r.stderr or r.stdout).strip()))
    return r


def find_binary(given, name, built):
    for candidate in ([given] if given else []) + [os.path.join(REPO, built), shutil.which(name)]:
        if candidate and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    raise LabError("cannot find %s (build the project, or give --%s)" % (name, name.split("-")[-1]))


def dependency_ids(component):
    out = []
    for d in component.get("depends_on") or []:
        out.append(d["id"] if isinstance(d, dict) else d)
    return out


def plan_estate(topology, tag):
    """Where everything goes, or a LabError naming what the lab cannot build."""
    components = {c["id"]: c for c in topology.get("components") or []}
    services = {s["id"]: s for s in topology.get("services") or []}
    hosts = [d["id"] for d in topology.get("domains") or [] if d.get("kind") == "host"]
    if not hosts:
        raise LabError("the lab makes a namespace per `kind: host` domain, and this topology has none")
    if len(hosts) > 200:
        raise LabError("the lab holds at most 200 hosts, this topology has %d" % len(hosts))
    problems = []
    address = {h: str(SUBNET.network_address + 10 + i) for i, h in enumerate(hosts)}

    def members_of(ident):
        if ident in components:
            return [ident]
        if ident in services:
            out = []
            for m in services[ident].get("members") or []:
                out += members_of(m)
            return out
        return []

    placed = {}  # component id -> what runs
    agent_host = {}  # agent name -> the host it runs on
    for cid, c in components.items():
        host = c.get("domain")
        if host not in address:
            problems.append("component '%s' is not on a `kind: host` domain (it is on %s)"
                            % (cid, "'%s'" % host if host else "none"))
            continue
        target = c.get("target") or {}
        role = "lb" if c.get("kind") == "loadbalancer" else (
            "web" if dependency_ids(c) else "store")
        if role != "lb":
            if not target.get("agent") or not target.get("process") or not target.get("port"):
                problems.append("component '%s' needs target: {agent: NAME, process: NAME, port: "
                                "PORT}: the lab runs it and an agent on host %s" % (cid, host))
                continue
            if agent_host.setdefault(target["agent"], host) != host:
                problems.append("agent '%s' serves components on hosts %s and %s; in the lab an "
                                "agent is on one host" % (target["agent"], agent_host[target["agent"]], host))
                continue
            name = "%s-%s" % (tag, target["process"])
            if re.search(r"[*?\[\]/\s]", str(target["process"])):
                problems.append("component '%s': process name '%s' holds a glob character, a "
                                "'/' or a space: the agent would be allowed to signal more than "
                                "it (--allow-process takes a glob)" % (cid, target["process"]))
                continue
            if len(name) > 15:
                problems.append("component '%s': process name '%s' is longer than the 15 "
                                "characters the kernel keeps (a shorter process or --tag)" % (cid, name))
                continue
        entry = {"host": host, "role": role, "port": int(target.get("port") or 8080)}
        if role != "lb":
            entry["name"] = "%s-%s" % (tag, target["process"])
            entry["agent"] = target["agent"]
            same = [o for o, q in placed.items() if q.get("name") == entry["name"]]
            if same:
                problems.append("components '%s' and '%s' have the same process name '%s': the "
                                "lab's hosts share one process table, so a kill of one would kill "
                                "both" % (same[0], cid, target["process"]))
                continue
        if role == "web":
            called = [m for d in dependency_ids(c) for m in members_of(d)]
            if len(called) != 1:
                problems.append("component '%s' depends on %d components; the lab's web "
                                "backend calls exactly one" % (cid, len(called)))
                continue
            entry["calls"] = called[0]
        if role == "lb":
            entry["backends"] = [m for d in dependency_ids(c) for m in members_of(d)]
            if not entry["backends"]:
                problems.append("load balancer '%s' depends on nothing to balance" % cid)
        placed[cid] = entry
    for cid, entry in placed.items():
        for other in ([entry["calls"]] if "calls" in entry else []) + entry.get("backends", []):
            if other not in placed or placed[other]["role"] == "lb":
                problems.append("component '%s' calls '%s', which the lab does not run as a "
                                "service" % (cid, other))
    entries = []
    for e in topology.get("entrypoints") or []:
        if placed.get(e["target"], {}).get("role") != "lb":
            problems.append("entrypoint '%s' must target a component of kind loadbalancer: "
                            "the lab puts haproxy there" % e["id"])
        else:
            entries.append(e["id"])
    if not entries and not problems:
        problems.append("the topology has no entrypoint, so nothing could be probed")
    if problems:
        raise LabError("the lab cannot build this topology:\n  " + "\n  ".join(problems))
    return {"hosts": hosts, "address": address, "placed": placed, "agents": agent_host}


def lab_topology(topology, estate, tag, token_file):
    """The topology with the lab's agents, process names and entrypoint URLs filled in."""
    t = json.loads(json.dumps(topology))
    t["agents"] = {a: {"url": "http://%s:%d" % (estate["address"][h], AGENT_PORT),
                       "token_file": token_file} for a, h in sorted(estate["agents"].items())}
    for c in t.get("components") or []:
        p = estate["placed"][c["id"]]
        if p["role"] != "lb":
            c["target"]["process"] = p["name"]
    for e in t.get("entrypoints") or []:
        lb = estate["placed"][e["target"]]
        e.setdefault("labels", {})["url"] = "http://%s:%d/" % (estate["address"][lb["host"]], lb["port"])
    return t


def haproxy_config(estate, lb):
    p = estate["placed"][lb]
    lines = ["global", "  maxconn 512", "defaults", "  mode http", "  timeout connect 300ms",
             "  timeout client 5s", "  timeout server 1500ms", "  retries 2", "  option redispatch",
             "frontend www", "  bind %s:%d" % (estate["address"][p["host"]], p["port"]),
             "  default_backend backends", "backend backends", "  balance roundrobin",
             "  option httpchk GET /health", "  default-server inter 200ms fall 2 rise 2"]
    for b in p["backends"]:
        q = estate["placed"][b]
        lines.append("  server %s %s:%d check" % (safe_name(b), estate["address"][q["host"]], q["port"]))
    return "\n".join(lines) + "\n"


def reachable(ns, address, port, timeout=10.0):
    deadline = time.monotonic() + timeout
    probe = ("import socket,sys\ntry:\n socket.create_connection((%r, %d), 0.3).close()\n"
             "except OSError:\n sys.exit(1)\n" % (address, port))
    while time.monotonic() < deadline:
        if run("ip", "netns", "exec", ns, sys.executable, "-c", probe, check=False).returncode == 0:
            return True
        time.sleep(0.1)
    return False


def state_path(d):
    return os.path.join(d, "lab.json")


def up(args):
    if os.geteuid() != 0:
        raise LabError("the network lab needs root (network namespaces, nftables inside them); "
                       "`scripts/lab start` runs the loopback lab without it")
    for tool in ("ip", "haproxy"):
        if not shutil.which(tool):
            raise LabError("%s is not installed (scripts/setup installs it)" % tool)
    if not (args.tag.isascii() and args.tag.replace("-", "").isalnum() and len(args.tag) <= 8):
        raise LabError("--tag must be up to 8 letters, digits or '-', not '%s'" % args.tag)
    achilles = find_binary(args.achilles, "achilles", "build/cli/achilles")
    agent = find_binary(args.agent, "achilles-agent", "build/injector/achilles-agent")
    service = os.path.join(REPO, "cli", "demo", "service.py")
    d = os.path.abspath(args.dir)
    secure_dir(d, create=True)
    if os.path.exists(state_path(d)):
        raise LabError("a lab is already up in %s (scripts/lab down --dir %s first)" % (d, d))
    check = run(achilles, "validate", args.topology, check=False)
    if check.returncode != 0:
        raise LabError((check.stderr or check.stdout).strip())
    with open(args.topology) as f:
        topology = yaml.load(f, Loader=TextLoader)
    estate = plan_estate(topology, args.tag)
    existing = run("ip", "netns", "list").stdout.split()
    names = ["%s-sw" % args.tag, "%s-ops" % args.tag] + ["%s-%s" % (args.tag, h) for h in estate["hosts"]]
    taken = [n for n in names if n in existing]
    if taken:
        raise LabError("namespaces %s exist already (another lab with tag '%s'?)" % (", ".join(taken), args.tag))
    os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    state = {"tag": args.tag, "namespaces": [], "processes": [], "dir": d}

    def save():
        with open(state_path(d), "w") as f:
            json.dump(state, f, indent=1)

    def start(ns, label, argv):
        log = open(os.path.join(d, "logs", safe_name(label) + ".log"), "w")
        p = subprocess.Popen(["ip", "netns", "exec", ns] + argv, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        time.sleep(0.05)
        state["processes"].append({"pid": p.pid, "label": label, "namespace": ns,
                                   "cmdline": "\0".join(argv)})
        save()

    try:
        token = secrets.token_hex(16)
        token_file = os.path.join(d, "token")
        with open(os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(token + "\n")
        sw = "%s-sw" % args.tag
        run("ip", "netns", "add", sw)
        state["namespaces"].append(sw)
        save()
        run("ip", "-n", sw, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", sw, "link", "set", "br0", "up")
        seats = [("%s-ops" % args.tag, OPS_ADDRESS)] + [
            ("%s-%s" % (args.tag, h), estate["address"][h]) for h in estate["hosts"]]
        for i, (ns, address) in enumerate(seats):
            run("ip", "netns", "add", ns)
            state["namespaces"].append(ns)
            save()
            run("ip", "-n", sw, "link", "add", "p%d" % i, "type", "veth", "peer", "name", "eth0",
                "netns", ns)
            run("ip", "-n", sw, "link", "set", "p%d" % i, "master", "br0", "up")
            run("ip", "-n", ns, "addr", "add", "%s/%d" % (address, SUBNET.prefixlen), "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")
        # The processes, stores first, then what calls them, the load balancers last.
        order = sorted(estate["placed"].items(), key=lambda kv: ["store", "web", "lb"].index(kv[1]["role"]))
        for cid, p in order:
            ns = "%s-%s" % (args.tag, p["host"])
            if p["role"] == "lb":
                cfg = os.path.join(d, "haproxy-%s.cfg" % safe_name(cid))
                with open(cfg, "w") as f:
                    f.write(haproxy_config(estate, cid))
                start(ns, cid, [shutil.which("haproxy"), "-f", cfg, "-db"])
            else:
                argv = [sys.executable, service, p["role"], "--name", p["name"], "--port", str(p["port"]),
                        "--bind", estate["address"][p["host"]],
                        "--restart-after", "0.5" if p["role"] == "web" else "2"]
                if p["role"] == "web":
                    q = estate["placed"][p["calls"]]
                    argv += ["--store", "%s:%d" % (estate["address"][q["host"]], q["port"])]
                start(ns, cid, argv)
        for a, h in sorted(estate["agents"].items()):
            adir = os.path.join(d, "agents", a)
            os.makedirs(adir, exist_ok=True)
            argv = [agent, "--listen", "%s:%d" % (estate["address"][h], AGENT_PORT),
                    "--token-file", token_file, "--state-file", os.path.join(adir, "state.json"),
                    "--audit-log", os.path.join(adir, "audit.jsonl"), "--allow-network"]
            for p in estate["placed"].values():
                if p.get("agent") == a:
                    argv += ["--allow-process", p["name"]]
            start("%s-%s" % (args.tag, h), "agent-" + a, argv)
        ops = "%s-ops" % args.tag
        waits = [(estate["address"][p["host"]], p["port"], cid) for cid, p in estate["placed"].items()]
        waits += [(estate["address"][h], AGENT_PORT, "agent-" + a) for a, h in sorted(estate["agents"].items())]
        for address, port, label in waits:
            if not reachable(ops, address, port):
                raise LabError("%s does not answer on %s:%d (see %s)" % (
                    label, address, port, os.path.join(d, "logs", safe_name(label) + ".log")))
        with open(os.path.join(d, "topology.yaml"), "w") as f:
            f.write("# Written by scripts/lab up from %s: the lab's agents, process names and\n"
                    "# entrypoint URLs filled in.\n" % os.path.abspath(args.topology))
            yaml.safe_dump(lab_topology(topology, estate, args.tag, token_file), f, sort_keys=False)
    except BaseException:
        down_state(state, quiet=True)
        raise
    print("lab: up in %s (namespaces %s-*)" % (d, args.tag))
    for h in estate["hosts"]:
        on = [cid for cid, p in estate["placed"].items() if p["host"] == h]
        print("  %-16s %-12s %s" % (h, estate["address"][h], ", ".join(on) or "-"))
    print("lab: drill it from the operator's seat, for example:")
    print("  ip netns exec %s-ops %s drill plan %s/topology.yaml --include-spofs -o %s/plan.yaml"
          % (args.tag, achilles, d, d))
    print("  ip netns exec %s-ops %s drill run %s/plan.yaml --journal %s/journal.json"
          % (args.tag, achilles, d, d))
    print("lab: scripts/lab down --dir %s stops it" % d)


def alive(p):
    """Whether the recorded process still runs the recorded command (a pid may be reused)."""
    try:
        with open("/proc/%d/cmdline" % p["pid"], "rb") as f:
            return f.read().rstrip(b"\0").decode(errors="replace") == p["cmdline"]
    except OSError:
        return False


def down_state(state, quiet=False):
    procs = [p for p in state["processes"] if alive(p)]
    for p in procs:  # SIGTERM: the agents revert their faults, the supervisors stop their child
        try:
            os.kill(p["pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(p) for p in procs):
        time.sleep(0.1)
    for p in procs:
        if alive(p):
            try:
                os.kill(p["pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass
    for ns in reversed(state["namespaces"]):
        run("ip", "netns", "del", ns, check=False)
    try:
        os.unlink(state_path(state["dir"]))
    except FileNotFoundError:
        pass
    if not quiet:
        print("lab: down (%d processes stopped, %d namespaces deleted)"
              % (len(procs), len(state["namespaces"])))


def load_state(d):
    d = os.path.abspath(d)
    try:
        secure_dir(d, create=False)
        with open(state_path(d)) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def main():
    parser = argparse.ArgumentParser(prog="scripts/lab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="build the lab from a topology")
    p_up.add_argument("topology")
    for p in (p_up, sub.add_parser("down", help="stop it"), sub.add_parser("status", help="what runs")):
        p.add_argument("--dir", default="/run/achilles-lab")
    p_up.add_argument("--tag", default="lab", help="prefix of the namespaces and process names")
    p_up.add_argument("--achilles", help="the achilles binary (default: build/cli/achilles, then PATH)")
    p_up.add_argument("--agent", help="the achilles-agent binary")
    args = parser.parse_args()
    try:
        if args.command == "up":
            up(args)
        elif args.command == "down":
            state = load_state(args.dir)
            if state is None:
                print("lab: nothing is up in %s" % args.dir)
                return 0
            down_state(state)
        else:
            state = load_state(args.dir)
            if state is None:
                print("lab: nothing is up in %s" % args.dir)
                return 0
            for p in state["processes"]:
                print("%-8d %-14s %-22s %s" % (p["pid"], p["label"], p["namespace"],
                                                "running" if alive(p) else "gone"))
    except LabError as e:
        print("lab: error: %s" % e, file=sys.stderr)
        return 2
    except OSError as e:
        print("lab: error: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
