#!/usr/bin/env python3
"""Writes the netns-runtime topology of bench/vs-mininet.sh.

  topology.py PREFIX N LINKS  > network.yaml

N nodes PREFIXn1..PREFIXnN; every node has `eth0` on bridge s1 with
10.1.X.Y/16 (node i gets 10.1.0.0 + i) and, with LINKS=2, `eth1` on s2 with
10.2.X.Y/16. The same topology mininet builds in vs-mininet.py (N hosts on one
bridge, one address each). Outer ends are named explicitly (oI / pI) so long
node names never have to be shortened.
"""
import sys


def addr(net, i):
    return f"10.{net}.{i // 256}.{i % 256}/16"


def main():
    prefix, n, links = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    out = ["nodes:"]
    out += [f"  - name: {prefix}n{i}" for i in range(1, n + 1)]
    out.append("links:")
    for i in range(1, n + 1):
        out.append(f"  - {{container: {prefix}n{i}, bridge: s1, dev: eth0, outer-dev: o{i}, ip: [{addr(1, i)}]}}")
        if links == 2:
            out.append(f"  - {{container: {prefix}n{i}, bridge: s2, dev: eth1, outer-dev: p{i}, ip: [{addr(2, i)}]}}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
