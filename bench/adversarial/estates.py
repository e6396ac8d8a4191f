#!/usr/bin/python3
"""Writes the adversarial estates of issue 24 as YAML topologies, valid but built to take an
analysis to its limits (bench/adversarial/run.sh times them):

  chain N   a dependency chain of N components (c0 -> c1 -> ... ), one entrypoint on c0:
            every component is a spof whose explanation is as long as its depth.
  quorum N  one service of N components that needs all but one (min_healthy N-1), one
            entrypoint on it: every pair of members is a cut set, N(N-1)/2 of them.
  quorum3 N the same service needing all but two (min_healthy N-2): at --order 3 every
            triple of members is a cut set, N(N-1)(N-2)/6 of them.
  tree N    a failure-domain tree N deep (d0 > d1 > ... > dN-1), a host component in each
            domain, one service over all the hosts that needs half of them, an entrypoint
            on it: every domain weakens the service, and the deep ones are nested in one
            another.
  shuffled N  the same tree with the service's members listed in a random order (seed 1),
            so that what a domain takes down of them is not a run of the list.

usage: estates.py chain|quorum|quorum3|tree|shuffled N > FILE.yaml
"""
import random
import sys


def chain(n, out):
    out.write("version: 1\nname: chain-%d\ncomponents:\n" % n)
    for i in range(n):
        dep = ", depends_on: [c%d]" % (i + 1) if i + 1 < n else ""
        out.write("  - {id: c%d%s}\n" % (i, dep))
    out.write("entrypoints:\n  - {id: www, target: c0}\n")


def quorum(n, out, spare=1):
    out.write("version: 1\nname: quorum%s-%d\ncomponents:\n" % ("3" if spare == 2 else "", n))
    for i in range(n):
        out.write("  - {id: m%d}\n" % i)
    out.write("services:\n  - {id: q, members: [%s], min_healthy: %d}\n"
              % (", ".join("m%d" % i for i in range(n)), n - spare))
    out.write("entrypoints:\n  - {id: www, target: q}\n")


def tree(n, out, shuffle=False):
    out.write("version: 1\nname: %s-%d\ndomains:\n" % ("shuffled" if shuffle else "tree", n))
    for i in range(n):
        parent = ", parent: d%d" % (i - 1) if i else ""
        out.write("  - {id: d%d, kind: zone%s}\n" % (i, parent))
    out.write("components:\n")
    for i in range(n):
        out.write("  - {id: h%d, kind: host, domain: d%d}\n" % (i, i))
    hosts = ["h%d" % i for i in range(n)]
    if shuffle:
        random.Random(1).shuffle(hosts)
    out.write("services:\n  - {id: pool, members: [%s], min_healthy: %d}\n"
              % (", ".join(hosts), max(1, n // 2)))
    out.write("entrypoints:\n  - {id: www, target: pool}\n")


def main():
    kinds = {"chain": chain, "quorum": quorum, "tree": tree,
             "quorum3": lambda n, out: quorum(n, out, spare=2),
             "shuffled": lambda n, out: tree(n, out, shuffle=True)}
    if len(sys.argv) != 3 or sys.argv[1] not in kinds or not sys.argv[2].isdigit():
        sys.exit(__doc__.strip().splitlines()[-1])
    kinds[sys.argv[1]](int(sys.argv[2]), sys.stdout)


if __name__ == "__main__":
    main()
