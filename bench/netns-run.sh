#!/usr/bin/env bash
# One timed run of conlink's engine-free netns runtime (used by bench/vs-mininet.sh,
# usable alone, as root):
#
#   bench/netns-run.sh N LINKS [CONLINK_BIN]
#
# Writes the topology (bench/topology.py: N nodes on bridge s1, with LINKS=2 also
# on s2), starts conlink on it, waits for `All links connected`, pings from the
# first node to the last (IPv4), engine-free (no docker/podman socket), reads conlink's peak RSS, SIGTERMs it and times
# the shutdown. Prints one line:
#   RESULT n=N links=L connected_ms=X wall_ms=Y ping_ms=Z cpu_ms=C hwm_kb=K shutdown_ms=S
# connected_ms is conlink's own elapsed_ms; wall_ms is spawn -> first successful
# ping reply (what mininet's figure measures too); cpu_ms is conlink's user+system
# CPU time until then (kernel work done in its syscalls included). Everything it creates (conlink's
# namespace, the node namespaces) is removed on exit, also on failure.
#
# BENCH_TMPFS_NETNS=1: run in a private mount namespace whose /run/netns is a tmpfs
# (what /run is on standard distributions; on this project's VMs /run is ext4, where
# creating 1000 namespace files costs ~0.3 s more). Nothing of it outlives the run.
# BENCH_FLOOR_DELETE=1: before the SIGTERM, delete conlink's outer ends with iproute2
# itself (`ip -n BRNS link del group 25452`, the one request conlink's shutdown
# sends) and print its time as floor_delete_ms: the kernel's cost of removing the
# links, which no shutdown can undercut. shutdown_ms is then what remains after it.
set -euo pipefail

if [ "${BENCH_TMPFS_NETNS:-0}" = 1 ] && [ -z "${BENCH_IN_MOUNT_NS:-}" ]; then
    exec unshare --mount --propagation private env BENCH_IN_MOUNT_NS=1 "$0" "$@"
fi
if [ -n "${BENCH_IN_MOUNT_NS:-}" ]; then
    mkdir -p /run/netns
    mount -t tmpfs -o mode=0755 conlink-bench /run/netns
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${1:?N}
LINKS=${2:-1}
BIN=${3:-${CONLINK_BIN:-$ROOT/target/x86_64-unknown-linux-gnu/release/conlink}}
TAG=cb$(( $$ % 100000 ))          # node and namespace names of this run
BRNS=${TAG}br
WORK=$(mktemp -d /tmp/conlink-netns-bench.XXXXXX)
PID=

say() { echo "netns-run: $*" >&2; }
now_ns() { date +%s%N; }

cleanup() {
    local rc=$?
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        for _ in $(seq 1 200); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    # conlink removes its namespaces itself; after a crash, remove what is left.
    local ns
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${TAG}(br|n[0-9]+)$" || true); do
        ip netns del "$ns" 2>/dev/null || true
    done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then say "logs kept in $WORK"; else rm -rf "$WORK"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { say "must run as root"; exit 1; }
[ -x "$BIN" ] || { say "no conlink binary at $BIN"; exit 1; }
python3 "$ROOT/bench/topology.py" "$TAG" "$N" "$LINKS" >"$WORK/network.yaml"
last_ip="10.1.$(( N / 256 )).$(( N % 256 ))"

spawn=$(now_ns)
CONLINK_LOG=${BENCH_CONLINK_LOG:-info} "$BIN" --network-file "$WORK/network.yaml" --netns "$BRNS" \
    --docker-socket /nonexistent/docker.sock --podman-socket /nonexistent/podman.sock >/dev/null 2>"$WORK/conlink.log" &
PID=$!
# Follow the log (inotify) instead of polling it: a poll loop's processes would take
# CPU from conlink on a 2-core machine. tail ends when conlink does (--pid).
if ! grep -q -m1 "All links connected" < <(timeout 120 tail -n +1 -F --pid="$PID" "$WORK/conlink.log" 2>/dev/null); then
    tail -20 "$WORK/conlink.log" >&2
    if kill -0 "$PID" 2>/dev/null; then say "timeout"; else say "conlink exited"; fi
    exit 1
fi
ping_t0=$(now_ns)
# -W1 per try; the first reply ends it (no sleep between tries: -i would add one).
ok=0
for _ in $(seq 1 20); do
    if ip netns exec "${TAG}n1" ping -c1 -W1 -q "$last_ip" >/dev/null 2>&1; then ok=1; break; fi
done
ping_t1=$(now_ns)
[ "$ok" = 1 ] || { say "ping ${TAG}n1 -> $last_ip failed"; exit 1; }
connected_ms=$(grep "All links connected" "$WORK/conlink.log" | sed -n 's/.*elapsed_ms=\([0-9]*\).*/\1/p' | head -1)
hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$PID/status")
# CPU time conlink used up to here (user+system, 10 ms ticks): what load does not inflate.
cpu_ms=$(awk '{print ($14 + $15) * 10}' "/proc/$PID/stat")
grep -q "failed\|ERROR" "$WORK/conlink.log" && { grep "failed\|ERROR" "$WORK/conlink.log" | head -3 >&2; say "conlink reported errors"; }

floor=
if [ "${BENCH_FLOOR_DELETE:-0}" = 1 ]; then
    del_t0=$(now_ns)
    ip -n "$BRNS" link del group 25452   # conlink's OUTER_GROUP (0x636c)
    floor=" floor_delete_ms=$(( ($(now_ns) - del_t0) / 1000000 ))"
fi
stop_t0=$(now_ns)
kill -TERM "$PID"
wait "$PID" 2>/dev/null || true
stop_t1=$(now_ns)
PID=
left=$(ip netns list | grep -cE "^${TAG}(br|n[0-9]+)( |$)" || true)
[ "$left" = 0 ] || say "WARNING: $left namespaces left after conlink's exit"

echo "RESULT n=$N links=$(( N * LINKS )) connected_ms=$connected_ms wall_ms=$(( (ping_t1 - spawn) / 1000000 ))" \
    "ping_ms=$(( (ping_t1 - ping_t0) / 1000000 )) cpu_ms=$cpu_ms hwm_kb=$hwm_kb shutdown_ms=$(( (stop_t1 - stop_t0) / 1000000 ))$floor"
