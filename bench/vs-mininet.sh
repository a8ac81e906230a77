#!/usr/bin/env bash
# conlink's engine-free netns runtime side by side with mininet (issue 14). As root:
#
#   bench/vs-mininet.sh                 # N = 100 500 1000, 1 and 2 links per node
#   bench/vs-mininet.sh 100 500         # chosen N
#
# Same topology for both: N hosts on one bridge, one address each (10.1.0.0/16),
# and with 2 links per node a second bridge and address (10.2.0.0/16); timed from
# start to the first ping reply from the first host to the last. conlink: a
# RELEASE build run through bench/netns-run.sh (also gives its own elapsed_ms,
# CPU time, peak RSS and SIGTERM -> exit). mininet: Debian's package (installed
# here if missing, with bridge-utils), LinuxBridge switches, no controller,
# through bench/mininet_run.py.
#
# mininet's bridges live in the host namespace, where dockerd's FORWARD DROP and
# net.bridge.bridge-nf-call-iptables=1 would drop bridged frames: the sysctl is set
# to 0 only while mininet runs and restored to its exact earlier value after each
# run (also on failure). dockerd is never touched.
#
# Environment: BENCH_ROUNDS (3; medians reported), BENCH_MININET_ROUNDS (as many;
# mininet at N=1000 takes a minute or two per run), BENCH_LINKS ("1 2"),
# BENCH_MININET=0 (conlink only), BENCH_SETTLE_SECS (15, pause after each mininet
# run while the kernel frees its namespaces), CONLINK_BIN (default: release build, built if
# missing), BENCH_OUT=DIR (keep raw results). Prints a table; per-link cost is
# conlink's connected_ms / links.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
NS=("$@")
[ ${#NS[@]} -gt 0 ] || NS=(100 500 1000)
ROUNDS=${BENCH_ROUNDS:-3}
LINKS=${BENCH_LINKS:-1 2}
MININET=${BENCH_MININET:-1}
MININET_ROUNDS=${BENCH_MININET_ROUNDS:-$ROUNDS}
BIN=${CONLINK_BIN:-$ROOT/target/x86_64-unknown-linux-gnu/release/conlink}
OUT=${BENCH_OUT:-$(mktemp -d /tmp/conlink-vs-mininet.XXXXXX)}
mkdir -p "$OUT"
RAW=$OUT/raw.txt
: >"$RAW"
NF_KEY=net.bridge.bridge-nf-call-iptables
NF_SAVED=
MN_PID=
MN_PIDS=
SW=m$(( $$ % 100 ))   # mininet bridges ${SW}s1, ${SW}s2; ports ${SW}s1-ethK stay ≤ 15 chars up to N=9999

say() { echo "vs-mininet: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

restore_nf() {
    if [ -n "$NF_SAVED" ]; then
        sysctl -qw "$NF_KEY=$NF_SAVED" || say "WARNING: could not restore $NF_KEY=$NF_SAVED"
        NF_SAVED=
    fi
}

# What a killed mininet run leaves: its host shells (by the PIDs it recorded) and
# the bridges and ports named after this run (never anything else).
mininet_leftovers() {
    if [ -n "$MN_PID" ] && kill -0 "$MN_PID" 2>/dev/null; then
        kill -TERM "$MN_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$MN_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$MN_PID" 2>/dev/null || true
    fi
    MN_PID=
    if [ -n "$MN_PIDS" ] && [ -s "$MN_PIDS" ]; then
        while read -r pid; do
            [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
        done <"$MN_PIDS"
    fi
    local dev
    for dev in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "^${SW}s[12](-eth[0-9]+)?$" || true); do
        ip link del "$dev" 2>/dev/null || true
    done
}

cleanup() {
    local rc=$?
    mininet_leftovers
    restore_nf
    if [ -z "${BENCH_OUT:-}" ]; then rm -rf "$OUT"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || die "must run as root"
if [ ! -x "$BIN" ]; then
    say "building release conlink (cargo build --release -p conlink)"
    cargo build --release -q -p conlink >&2
fi
if [ "$MININET" = 1 ]; then
    if ! [ -x /usr/bin/mn ] || ! command -v brctl >/dev/null; then
        say "installing Debian's mininet and bridge-utils (apt-get)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mininet bridge-utils >&2 \
            || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mininet bridge-utils >&2; }
    fi
    /usr/bin/python3 -c "import mininet.net" || die "mininet's python package is missing"
fi

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<" $2"; }
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]; else print "-"}'; }

run_conlink() { # N LINKS -> RESULT line
    bench/netns-run.sh "$1" "$2" "$BIN" | grep '^RESULT'
}

run_mininet() { # N LINKS -> RESULT line
    MN_PIDS=$OUT/mininet-pids
    : >"$MN_PIDS"
    NF_SAVED=$(sysctl -n "$NF_KEY")
    sysctl -qw "$NF_KEY=0"
    /usr/bin/python3 bench/mininet_run.py "$SW" "$1" "$2" "$MN_PIDS" >"$OUT/mininet.out" 2>"$OUT/mininet.err" &
    MN_PID=$!
    local rc=0
    wait "$MN_PID" || rc=$?
    MN_PID=
    restore_nf
    mininet_leftovers
    [ "$rc" = 0 ] || { tail -5 "$OUT/mininet.err" >&2; die "mininet run N=$1 links=$2 failed"; }
    grep '^RESULT' "$OUT/mininet.out"
    # The kernel frees mininet's N namespaces in the background, under the rtnl lock:
    # let that finish before the next conlink run is timed.
    sleep "${BENCH_SETTLE_SECS:-15}"
}

for n in "${NS[@]}"; do
    for l in $LINKS; do
        for r in $(seq 1 "$ROUNDS"); do
            load=$(cut -d' ' -f1 /proc/loadavg)
            line=$(run_conlink "$n" "$l")
            say "conlink N=$n links/node=$l round $r (load $load): ${line#RESULT }"
            echo "tool=conlink load=$load ${line#RESULT }" >>"$RAW"
            if [ "$MININET" = 1 ] && [ "$r" -le "$MININET_ROUNDS" ]; then
                load=$(cut -d' ' -f1 /proc/loadavg)
                line=$(run_mininet "$n" "$l")
                say "mininet N=$n links/node=$l round $r (load $load): ${line#RESULT }"
                echo "tool=mininet load=$load ${line#RESULT }" >>"$RAW"
            fi
        done
    done
done

echo
echo "conlink netns runtime vs mininet, $(date -u +%FT%TZ), $(nproc) cores, kernel $(uname -r), medians of $ROUNDS (mininet: $MININET_ROUNDS), load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$RAW" "${NS[*]}" "$LINKS" <<'PY'
import re, sys, statistics
raw, ns, links = sys.argv[1], [int(x) for x in sys.argv[2].split()], [int(x) for x in sys.argv[3].split()]
rows = [dict(re.findall(r"(\w+)=([\w.]+)", line)) for line in open(raw)]
def med(tool, n, l, key):
    v = [float(r[key]) for r in rows if r.get("tool") == tool and r.get("n") == str(n) and r.get("links") == str(n * l) and key in r]
    return statistics.median(v) if v else None
print(f"{'N':>5} {'links/n':>7} {'links':>6} | {'connected':>9} {'wall':>7} {'ms/link':>8} {'cpu ms':>7} {'RSS MB':>7} {'stop ms':>8} | {'mininet':>8} | {'ratio':>6}")
for n in ns:
    for l in links:
        c, w = med("conlink", n, l, "connected_ms"), med("conlink", n, l, "wall_ms")
        if c is None:
            continue
        cpu, hwm, stop = med("conlink", n, l, "cpu_ms"), med("conlink", n, l, "hwm_kb"), med("conlink", n, l, "shutdown_ms")
        m = med("mininet", n, l, "wall_ms")
        ratio = f"{m / w:.0f}x" if m and w else "-"
        mtxt = f"{m:.0f}" if m else "-"
        print(f"{n:>5} {l:>7} {n * l:>6} | {c:>9.0f} {w:>7.0f} {c / (n * l):>8.3f} {cpu:>7.0f} {hwm / 1024:>7.1f} {stop:>8.0f} | {mtxt:>8} | {ratio:>6}")
PY
echo "(connected = conlink's own 'All links connected' elapsed_ms; wall = start -> first ping reply"
echo " first->last host, the figure mininet's column gives too; ratio = mininet wall / conlink wall)"
echo
echo "raw ($RAW):"
cat "$RAW"
