#!/usr/bin/env python3
"""Helpers for bench/run.sh: parse conlink's log and docker's events, print the table.

  analyze.py connected LOG SPAWN_NS          -> "elapsed_ms=X wall_ms=Y" for `All links connected`
  analyze.py latency LOG EVENTS N            -> event->links-up stats of the burst (b)
  analyze.py table RESULTS                   -> the final table

conlink logs RFC3339 UTC timestamps with microseconds (tracing-subscriber's
default); docker events give TimeNano. Both come from the same host clock.
"""
import re
import sys
from datetime import datetime, timezone

TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z\s")


def ts_ns(line):
    m = TS.match(line)
    if not m:
        return None
    base = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    frac = (m.group(2) or "0").ljust(9, "0")[:9]
    return int(base.timestamp()) * 1_000_000_000 + int(frac)


def field(line, name):
    m = re.search(r"\b" + name + r"=(\"[^\"]*\"|\S+)", line)
    return m.group(1).strip('"') if m else None


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    # nearest-rank percentile
    k = max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))
    return v[k]


def connected(log, spawn_ns):
    for line in open(log, errors="replace"):
        if "All links connected" in line:
            t = ts_ns(line)
            wall = (t - int(spawn_ns)) / 1e6 if t else float("nan")
            print(f"elapsed_ms={field(line, 'elapsed_ms')} wall_ms={wall:.1f}")
            return
    print("elapsed_ms=nan wall_ms=nan")


def latency(log, events, n):
    n = int(n)
    start = {}
    for line in open(events):
        parts = line.split()
        if len(parts) == 2:
            start[parts[0]] = int(parts[1])
    up = {}      # container -> time of its last "link up" line
    links = {}   # container -> number of link-up lines
    conn_us = {}  # container -> daemon's own connect duration (debug line)
    for line in open(log, errors="replace"):
        if " link up" in line:
            c = field(line, "container")
            t = ts_ns(line)
            if c in start and t:
                up[c] = max(up.get(c, 0), t)
                links[c] = links.get(c, 0) + 1
        elif "container connected" in line:
            c = field(line, "container")
            us = field(line, "elapsed_us")
            if c in start and us:
                conn_us[c] = int(us)
    lat = [(up[c] - start[c]) / 1e6 for c in up]
    missing = [c for c in start if links.get(c, 0) < 2]
    first_ev = min(start.values()) if start else 0
    last_ev = max(start.values()) if start else 0
    last_up = max(up.values()) if up else 0
    conn = [v / 1e3 for v in conn_us.values()]
    print(
        f"containers={len(start)} connected={len(up)} missing={len(missing)} "
        f"p50_ms={pct(lat, 50):.1f} p99_ms={pct(lat, 99):.1f} max_ms={max(lat) if lat else float('nan'):.1f} "
        f"events_span_ms={(last_ev - first_ev) / 1e6:.0f} burst_ms={(last_up - first_ev) / 1e6:.0f} "
        f"connect_p50_ms={pct(conn, 50):.1f} connect_p99_ms={pct(conn, 99):.1f}"
    )
    if len(start) != n:
        print(f"WARNING: expected {n} start events, got {len(start)}", file=sys.stderr)


ORIG_A = {10: 3800, 25: 5700, 50: 7600, 100: 12200}


def table(results):
    rows = []
    for line in open(results):
        d = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
        rows.append(d)

    def g(d, k, fmt="{:.1f}"):
        v = d.get(k)
        try:
            return fmt.format(float(v))
        except (TypeError, ValueError):
            return "-" if v is None else v

    hdr = f"{'N':>4} {'links':>5} | {'(a) all ms':>10} {'wall ms':>8} {'orig ms':>8} {'x faster':>8} | " \
          f"{'(b) p50':>7} {'p99 ms':>7} {'burst':>6} | {'(c) nl':>7} {'ip':>7} {'ratio':>5} {'daemon':>7} | " \
          f"{'(d) HWM MB':>10} {'idle ticks':>10}"
    print(hdr)
    print("-" * len(hdr))
    for d in rows:
        n = int(d["N"])
        orig = ORIG_A.get(n)
        a = d.get("a_wall_ms")
        faster = f"{orig / float(a):.0f}x" if orig and a not in (None, "nan") else "-"
        print(
            f"{n:>4} {2 * n:>5} | {g(d, 'a_elapsed_ms', '{:.0f}'):>10} {g(d, 'a_wall_ms', '{:.0f}'):>8} "
            f"{(str(orig) if orig else '-'):>8} {faster:>8} | "
            f"{g(d, 'b_p50_ms'):>7} {g(d, 'b_p99_ms'):>7} {g(d, 'b_burst_ms', '{:.0f}'):>6} | "
            f"{g(d, 'c_nl_ms_link', '{:.3f}'):>7} {g(d, 'c_ip_ms_link', '{:.3f}'):>7} {g(d, 'c_ratio', '{:.2f}'):>5} "
            f"{g(d, 'c_daemon_ms_link', '{:.3f}'):>7} | "
            f"{g(d, 'd_hwm_mb'):>10} {g(d, 'd_idle_ticks', '{:.0f}'):>10}"
        )
    print()
    print("targets (issue 7): (a) N=100: <= 250 ms from start to `All links connected` "
          "(original: 3.8 s/7.6 s/12.2 s at N=10/50/100, 61 ms per link);")
    print("  (b) p99 start event -> links up < 50 ms with 100 concurrent starts;")
    print("  (c) kernel work per link (nl ms/link) <= 1/3 of ip -batch (ratio <= 0.33);")
    print("  (d) peak RSS (VmHWM) < 15 MB (original ~140 MB), idle CPU ~0 (ticks of 10 ms over the idle window).")
    print("columns: (c) nl = Nl link ops only (create_veth_with, add_address, set_up) ms/link; ip = ip -batch ms/link "
          "(N+1 processes); daemon = Nl with the daemon's extra stale delete + ethtool per link.")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"connected": connected, "latency": latency, "table": table}[cmd](*args)
