#!/usr/bin/python3
"""The NetworkX baseline for `achilles analyze --order 1`: single points of failure found
by failing each element in turn and re-checking the entrypoints.

Run it with Debian's interpreter (python3-networkx), not a pyenv one:

    /usr/bin/python3 bench/analyzer/networkx_spof.py TOPOLOGY.json [--findings OUT.json]

What it computes, and why this way
----------------------------------
The question is the one `achilles analyze --order 1` answers for spof and domain_spof:
which single component, and which single failure domain, puts some entrypoint down under
the rules of the topology format (docs/topology.md, "What is up"). The obvious program a
user writes with NetworkX is: build the dependency graph, then for every element remove
it and check whether each entrypoint still works. We keep that shape and make it as good
as a short script reasonably gets:

* The graph is an nx.DiGraph whose edge u -> v means "u needs v": entrypoint -> target,
  component or service -> hard dependency, service -> member (marked as a member edge),
  component -> its domain, domain -> its parent. Soft dependencies are left out: they
  never put anything down.
* Plain reachability ("can the entrypoint still reach a database?") is not the right
  check: a service with k-of-n members is an OR/threshold, dependencies are an AND, and
  articulation points or dominators ignore both. So "re-check" is done exactly: removing
  element x, everything that needs x through a hard edge goes down, a service goes down
  when fewer than min_healthy members are left, and so on outward. The walk follows the
  reversed edges (G.predecessors) from x only as far as the failure reaches, so each
  failure costs its blast radius, not the whole graph. This is the greatest fixpoint of
  the spec's rules, cycles included (a failure only spreads from F).
* Every component and every domain is failed once. An element is reported when some
  entrypoint goes down.

The truly naive version is there too (--naive): mark x failed, then evaluate every
entrypoint from scratch over the whole graph. It costs O(V * (V + E)) over all failures;
it is shown for contrast, not as the baseline, since it would flatter Achilles. Its
evaluation assumes an element on the current path is up, which is exact without
dependency cycles (generated topologies have none unless asked).

--sample K times K failures drawn at random and scales fail_each_s to all of them: an
extrapolation, flagged as such in the output, for sizes that would take hours.

Output: one line of JSON on stdout with the counts and the timings of each phase; with
--findings (and no --sample), the sorted subjects of the spof and domain_spof findings,
for checking that both tools agree.
"""

import argparse
import json
import random
import sys
import time

import networkx as nx


def load(path):
    with open(path, "rb") as f:
        return json.load(f)


def build_graph(doc):
    """Returns (G, kind, min_healthy, members) for the topology document."""
    G = nx.DiGraph()
    kind = {}
    min_healthy = {}
    n_members = {}

    def need(u, v, member=False):
        if G.has_edge(u, v):
            # A service may both contain and depend on the same element: the hard edge wins
            # for "down", the member edge for counting.
            data = G[u][v]
            data["member"] = data["member"] or member
            data["hard"] = data["hard"] or not member
        else:
            G.add_edge(u, v, member=member, hard=not member)

    for d in doc.get("domains", []):
        kind[d["id"]] = "domain"
        G.add_node(d["id"])
        if "parent" in d:
            need(d["id"], d["parent"])
    for c in doc.get("components", []):
        kind[c["id"]] = "component"
        G.add_node(c["id"])
        if "domain" in c:
            need(c["id"], c["domain"])
        for dep in c.get("depends_on", []):
            if isinstance(dep, str):
                need(c["id"], dep)
            elif dep.get("mode", "hard") == "hard":
                need(c["id"], dep["id"])
    for s in doc.get("services", []):
        kind[s["id"]] = "service"
        G.add_node(s["id"])
        min_healthy[s["id"]] = s.get("min_healthy", 1)
        n_members[s["id"]] = len(s["members"])
        for m in s["members"]:
            need(s["id"], m, member=True)
        for dep in s.get("depends_on", []):
            if isinstance(dep, str):
                need(s["id"], dep)
            elif dep.get("mode", "hard") == "hard":
                need(s["id"], dep["id"])
    for e in doc.get("entrypoints", []):
        kind[e["id"]] = "entrypoint"
        need(e["id"], e["target"])
    return G, kind, min_healthy, n_members


def fail(G, kind, min_healthy, n_members, x):
    """The entrypoints that go down when x fails."""
    down = {x}
    healthy = {}  # members not down, for the services this failure touched
    stack = [x]
    entrypoints_down = []
    pred = G.pred  # the reverse adjacency: pred[v] maps each u that needs v to the edge data
    while stack:
        v = stack.pop()
        for u, data in pred[v].items():
            if u in down:
                continue
            if data["hard"]:
                falls = True
            else:  # a member edge: u is a service that loses one member
                h = healthy.get(u, n_members[u]) - 1
                healthy[u] = h
                falls = h < min_healthy[u]
            if falls:
                down.add(u)
                stack.append(u)
                if kind[u] == "entrypoint":
                    entrypoints_down.append(u)
    return entrypoints_down


def fail_naive(G, kind, min_healthy, entrypoints, x):
    """The same question answered the naive way: mark x failed, then evaluate every
    entrypoint from scratch over the whole graph (memoized within this one failure)."""
    memo = {x: False}
    adj = G.adj

    def up(v):
        if v in memo:
            return memo[v]
        memo[v] = True  # on the current path: assumed up, exact when there is no cycle
        members_up = 0
        ok = True
        for w, data in adj[v].items():
            w_up = up(w)
            if data["hard"] and not w_up:
                ok = False
            if data["member"]:
                members_up += w_up
        if kind[v] == "service" and members_up < min_healthy[v]:
            ok = False
        memo[v] = ok
        return ok

    return [e for e in entrypoints if not up(e)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("topology", help="a topology in JSON")
    parser.add_argument("--findings", help="write the spof and domain_spof subjects here")
    parser.add_argument("--naive", action="store_true",
                        help="re-evaluate every entrypoint over the whole graph per failure")
    parser.add_argument("--sample", type=int, default=0,
                        help="time only this many failures drawn at random and extrapolate "
                             "fail_each_s to all of them (no findings are written)")
    args = parser.parse_args()
    sys.setrecursionlimit(1_000_000)

    t0 = time.perf_counter()
    doc = load(args.topology)
    t1 = time.perf_counter()
    G, kind, min_healthy, n_members = build_graph(doc)
    del doc
    t2 = time.perf_counter()
    entrypoints = [v for v, k in kind.items() if k == "entrypoint"]
    failures = [v for v, k in kind.items() if k in ("component", "domain")]
    timed = failures
    if args.sample and args.sample < len(failures):
        timed = random.Random(1).sample(failures, args.sample)
    spofs, domain_spofs = [], []
    for x in timed:
        if args.naive:
            down = fail_naive(G, kind, min_healthy, entrypoints, x)
        else:
            down = fail(G, kind, min_healthy, n_members, x)
        if down:
            (spofs if kind[x] == "component" else domain_spofs).append(x)
    t3 = time.perf_counter()
    fail_each = (t3 - t2) * len(failures) / len(timed)

    if args.findings and timed is failures:
        with open(args.findings, "w") as f:
            json.dump({"spof": sorted(spofs), "domain_spof": sorted(domain_spofs)}, f)
    print(json.dumps({
        "mode": "naive" if args.naive else "propagate",
        "nodes": G.number_of_nodes(),
        "edges": G.number_of_edges(),
        "failures": len(failures),
        "timed_failures": len(timed),
        "extrapolated": timed is not failures,
        "spofs": len(spofs),
        "domain_spofs": len(domain_spofs),
        "load_s": round(t1 - t0, 3),
        "build_s": round(t2 - t1, 3),
        "fail_each_s": round(fail_each, 3),
        "total_s": round(t2 - t0 + fail_each, 3),
        "networkx": nx.__version__,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
