#!/usr/bin/env bash
# End-to-end test of conlink's swarm mode on a three-node swarm built by
# scripts/swarm-env.sh (one dockerd per network namespace, one test LAN).
#
#   scripts/swarm-test.sh [CONLINK_BINARY]      SWARM_TEST_MODE=service|host
#
# Deploys examples/swarm/stack.yaml. Mode `service` (default): conlink runs
# as the stack's global service `network`, from an image made of
# CONLINK_BINARY and imported into every node. Mode `host`: that service is
# removed and conlink runs on every host (in the node's network namespace,
# against the node's dockerd) as a plain process. Then it
# checks and measures: pings across hosts (latency), MTU after vxlan, a new
# task's links on another node (time from task start to links up), a drain
# (tasks move and reconnect: time to reconverge), a stopped node (its
# tunnels disappear from the others). Prints `swarm-test: PASS` or exits 1.
# Everything it made (dockerds, conlinks, namespaces, data dirs) is removed
# on exit, failure included (SWARM_TEST_KEEP_LOGS=1 keeps the conlink logs in
# STATE.logs/). The default dockerd is only read from (image).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BIN=${1:-$ROOT/target/x86_64-unknown-linux-gnu/debug/conlink}
export SWARM_ENV_NAME=${SWARM_ENV_NAME:-cswt}
export SWARM_ENV_STATE=${SWARM_ENV_STATE:-/tmp/$SWARM_ENV_NAME}
S=$SWARM_ENV_STATE
STACK=${SWARM_TEST_STACK:-lab}
FILE=$ROOT/examples/swarm/stack.yaml
MODE=${SWARM_TEST_MODE:-service}
IMAGE=conlink-swarm:test
FAILS=0

say() { echo "swarm-test: $*"; }
fail() { echo "swarm-test: FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
die() { echo "swarm-test: FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
ms_since() { echo "$1 $(now)" | awk '{printf "%d", ($2 - $1) * 1000}'; }
dk() { local i=$1; shift; docker -H "unix://$S/n$i/docker.sock" "$@"; }

[ "$(id -u)" = 0 ] || { echo "skipped: swarm-test needs root (namespaces, dockerd)"; exit 0; }
command -v dockerd >/dev/null || { echo "skipped: no dockerd installed"; exit 0; }
[ -x "$BIN" ] || die "no conlink binary at $BIN (cargo build -p conlink)"

stop_conlink() {
    local i=$1 pid deadline
    [ "$MODE" = host ] || return 0
    pid=$(cat "$S/n$i/conlink.pid" 2>/dev/null || true)
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$S/n$i/conlink.pid"
}

cleanup() {
    local rc=$? i
    trap - EXIT
    for i in 1 2 3; do stop_conlink "$i"; done
    local keep=${SWARM_TEST_KEEP_LOGS:-}
    if [ $rc != 0 ] || [ $FAILS != 0 ] || [ -n "$keep" ]; then
        # Tails on failure; whole logs only on request (SWARM_TEST_KEEP_LOGS=1 keeps
        # them in $S.logs/), so a failed run leaves nothing behind either.
        [ -z "$keep" ] || mkdir -p "$S.logs"
        [ -z "$keep" ] || dk 1 stack ps "$STACK" --no-trunc >"$S.logs/stack-ps.txt" 2>&1 || true
        for i in 1 2 3; do
            [ "$MODE" = host ] || conlink_log "$i" >"$S/n$i/conlink.log" 2>/dev/null || true
            [ -s "$S/n$i/conlink.log" ] || continue
            [ -z "$keep" ] || cp "$S/n$i/conlink.log" "$S.logs/conlink-n$i.log"
            if [ $rc != 0 ] || [ $FAILS != 0 ]; then
                echo "--- conlink log of n$i (tail)" >&2
                tail -25 "$S/n$i/conlink.log" >&2
            fi
        done
    fi
    # conlink removes its bridge namespace on exit; a killed one may leave it.
    for i in 1 2 3; do ip netns del "$SWARM_ENV_NAME-n${i}cl" 2>/dev/null || true; done
    "$HERE/swarm-env.sh" down >/dev/null || true
    exit $rc
}
trap cleanup EXIT
# A signal ends the run through the same cleanup.
trap 'exit 130' INT
trap 'exit 143' TERM

# conlink's output on node I.
conlink_log() {
    if [ "$MODE" = host ]; then
        cat "$S/n$1/conlink.log"
    else
        local c
        c=$(dk "$1" ps -aq -f "name=^${STACK}_network\." | head -1)
        [ -n "$c" ] && dk "$1" logs "$c" 2>&1
    fi
}

# An image of just the static binary, in every node's engine (no registry).
import_image() {
    local root i
    root=$(mktemp -d "$S/image.XXXX")
    mkdir -p "$root/bin" "$root/run" "$root/tmp"
    cp "$BIN" "$root/bin/conlink"
    for i in 1 2 3; do tar -C "$root" -c . | dk "$i" import - "$IMAGE" >/dev/null; done
    rm -rf "$root"
}

start_conlink() {
    local i=$1
    nsenter --net="/run/netns/$SWARM_ENV_NAME-n$i" "$BIN" --swarm --compose-project "$STACK" \
        --compose-file "$FILE" --docker-socket "$S/n$i/docker.sock" --podman-socket "$S/no-podman.sock" \
        --netns "$SWARM_ENV_NAME-n${i}cl" --control-socket "$S/n$i/conlink.sock" \
        >>"$S/n$i/conlink.log" 2>&1 &
    echo $! >"$S/n$i/conlink.pid"
}

# Node number (1..3) running task SERVICE.SLOT, or nothing.
task_node() {
    local i
    for i in 1 2 3; do
        [ -S "$S/n$i/docker.sock" ] || continue
        if [ -n "$(dk "$i" ps -q -f "name=^${STACK}_$1\.$2\." 2>/dev/null)" ]; then echo "$i"; return; fi
    done
}
task_pid() {
    local n
    n=$(task_node "$1" "$2")
    [ -n "$n" ] || return 1
    dk "$n" inspect -f '{{.State.Pid}}' "$(dk "$n" ps -q -f "name=^${STACK}_$1\.$2\.")"
}
in_task() { local pid; pid=$(task_pid "$1" "$2") || return 1; shift 2; nsenter --net="/proc/$pid/ns/net" "$@"; }
pings() { in_task "$1" "$2" ping -c1 -W1 "$3" >/dev/null 2>&1; }
# Wait (up to $4 s) until task $1.$2 pings $3.
wait_ping() {
    local deadline=$((SECONDS + $4))
    until pings "$1" "$2" "$3"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}
# conlink's bridge namespace on node I (service mode: seen through its container's root).
cl_ns() {
    if [ "$MODE" = host ]; then
        echo "/run/netns/$SWARM_ENV_NAME-n${1}cl"
    else
        local c pid
        c=$(dk "$1" ps -q -f "name=^${STACK}_network\." | head -1)
        pid=$(dk "$1" inspect -f '{{.State.Pid}}' "$c" 2>/dev/null)
        echo "/proc/$pid/root/run/netns/conlink"
    fi
}
fdb_peers() { nsenter --net="$(cl_ns "$1")" bridge fdb show dev "vxs-$2" 2>/dev/null | awk '/^00:00:00:00:00:00/ {print $3}' | sort | paste -sd' '; }

say "building the swarm (conlink as a $MODE)"
"$HERE/swarm-env.sh" up >/dev/null
if [ "$MODE" = host ]; then
    CONLINK_IMAGE=none NODE_DOCKER_SOCK=$S/node/docker.sock dk 1 stack deploy -c "$FILE" "$STACK" >/dev/null 2>&1
    dk 1 service rm "${STACK}_network" >/dev/null
    for i in 1 2 3; do start_conlink "$i"; done
else
    import_image
    # Each node's own engine, wherever the global service runs (see swarm-env.sh).
    CONLINK_IMAGE=$IMAGE NODE_DOCKER_SOCK=$S/node/docker.sock dk 1 stack deploy -c "$FILE" "$STACK" >/dev/null 2>&1
fi

# h1.N: 10.0.1.(100+N-1), h2.N: 10.0.2.(100+N-1), r0: 10.0.1.1 / 10.0.2.1.
say "waiting for every task to reach the router"
for t in "h1 1 10.0.1.1" "h1 2 10.0.1.1" "h2 1 10.0.2.1" "h2 2 10.0.2.1"; do
    set -- $t
    wait_ping "$1" "$2" "$3" 60 || die "$1.$2 cannot ping $3"
done
dk 1 stack ps "$STACK" --filter desired-state=running --format '{{.Name}} {{.Node}}' | sed 's/^/swarm-test:   /'

# Cross-host: the two replicas of h1 are on different nodes (max_replicas_per_node: 1).
[ "$(task_node h1 1)" != "$(task_node h1 2)" ] || fail "h1 replicas on one node: placement broken"
say "ping across hosts"
pings h1 1 10.0.1.101 || fail "h1.1 -> h1.2 (same switch, other host)"
pings h1 1 10.0.2.101 || fail "h1.1 -> h2.2 (through r0)"
pings h2 1 10.0.1.100 || fail "h2.1 -> h1.1 (through r0)"
LAT_L2=$(in_task h1 1 ping -c 20 -i 0.05 -q 10.0.1.101 | awk -F/ '/^rtt/ {print $5}')
LAT_L3=$(in_task h1 1 ping -c 20 -i 0.05 -q 10.0.2.101 | awk -F/ '/^rtt/ {print $5}')
say "latency: h1.1(n$(task_node h1 1)) -> h1.2(n$(task_node h1 2)) avg ${LAT_L2} ms; -> h2.2(n$(task_node h2 2)) via r0(n$(task_node r0 1)) avg ${LAT_L3} ms"

say "MTU after vxlan"
MTU=$(in_task h1 1 ip -o link show eth0 | sed 's/.* mtu \([0-9]*\).*/\1/')
[ "$MTU" = 1450 ] || fail "h1.1 eth0 mtu is $MTU, want 1450 (1500 - 50)"
in_task h1 1 ping -c1 -W1 -M do -s 1422 10.0.1.101 >/dev/null || fail "a full 1450-byte packet does not cross hosts"
MAC=$(in_task h1 2 ip -o link show eth0 | sed 's/.*link\/ether \([0-9a-f:]*\).*/\1/')
[ "$MAC" = 00:0a:0b:0c:01:02 ] || fail "h1.2 mac $MAC, want 00:0a:0b:0c:01:02 (slot 2)"
[ "$(in_task h1 1 ip -o link | grep -vc ': lo:')" = 1 ] || fail "task h1.1 has other interfaces than conlink's eth0"

# The control socket reaches tasks too (in the service form through docker exec).
ctl() {
    local n=$1
    shift
    if [ "$MODE" = host ]; then
        "$BIN" --control-socket "$S/n$n/conlink.sock" "$@"
    else
        dk "$n" exec "$(dk "$n" ps -q -f "name=^${STACK}_network\.")" /bin/conlink "$@"
    fi
}
say "conlink link down/up on a task"
N2=$(task_node h1 2)
C2=$(dk "$N2" ps --format '{{.Names}}' -f "name=^${STACK}_h1\.2\.")
ctl "$N2" link "$C2" eth0 down >/dev/null || fail "conlink link $C2 eth0 down"
pings h1 1 10.0.1.101 && fail "h1.2 still answers with its link down"
ctl "$N2" link "$C2" eth0 up >/dev/null || fail "conlink link $C2 eth0 up"
wait_ping h1 1 10.0.1.101 5 || fail "h1.2 unreachable after its link came back up"
ctl "$N2" status | grep -q "$C2" || fail "conlink status does not list $C2"

say "a new task on another node: scale h2 to 3"
dk 1 service scale -d "${STACK}_h2=3" >/dev/null
deadline=$((SECONDS + 30))
until [ -n "$(task_node h2 3)" ]; do [ $SECONDS -lt $deadline ] || die "h2.3 never started"; sleep 0.1; done
N3=$(task_node h2 3)
# Its first answered ping to a replica on another node (r0 may share its node).
PEER=10.0.2.100
[ "$(task_node h2 1)" = "$N3" ] && PEER=10.0.2.101
wait_ping h2 3 "$PEER" 30 || fail "h2.3 cannot ping $PEER on another node"
T_PING=$(now)
STARTED=$(dk "$N3" inspect -f '{{.State.StartedAt}}' "$(dk "$N3" ps -q -f "name=^${STACK}_h2\.3\.")")
UP_LINE=$(conlink_log "$N3" | grep 'link up' | grep "container=${STACK}_h2.3." | tail -1 | cut -d' ' -f1)
START_TO_LINK=$(python3 -c "
import datetime,sys
p=lambda s: datetime.datetime.fromisoformat(s.rstrip('Z')[:26])
print(int((p(sys.argv[2])-p(sys.argv[1])).total_seconds()*1000))" "$STARTED" "$UP_LINE")
START_TO_PING=$(python3 -c "
import datetime,sys
s=datetime.datetime.fromisoformat(sys.argv[1].rstrip('Z')[:26]).replace(tzinfo=datetime.timezone.utc).timestamp()
print(int((float(sys.argv[2])-s)*1000))" "$STARTED" "$T_PING")
say "h2.3 on n$N3: task start -> links up ${START_TO_LINK} ms; -> first answered ping to $PEER on another node ${START_TO_PING} ms (includes up to 100 ms polling)"

# Back to two replicas per service: two nodes must be able to hold them all.
dk 1 service scale -d "${STACK}_h2=2" >/dev/null
deadline=$((SECONDS + 30))
while [ -n "$(task_node h2 3)" ]; do [ $SECONDS -lt $deadline ] || die "h2.3 never stopped"; sleep 0.1; done

# Drain a node that is not the router's.
R0N=$(task_node r0 1)
for d in 1 2 3; do [ "$d" != "$R0N" ] && break; done
MOVING=$(dk "$d" ps --format '{{.Names}}' | grep -c "^${STACK}_" || true)
say "drain n$d ($MOVING tasks)"
T0=$(now)
dk 1 node update --availability drain "n$d" >/dev/null
deadline=$((SECONDS + 90))
BLOCKERS=""
while :; do
    ok=1 why=""
    [ -z "$(dk "$d" ps -q -f "name=^${STACK}_[hr]")" ] || { ok=0; why="tasks still on n$d"; }
    for t in "h1 1 10.0.1.100" "h1 2 10.0.1.101" "h2 1 10.0.2.100" "h2 2 10.0.2.101"; do
        set -- $t
        [ $ok = 1 ] || break
        n=$(task_node "$1" "$2")
        if [ -z "$n" ] || [ "$n" = "$d" ]; then ok=0 why="$1.$2 not running elsewhere"
        elif ! pings r0 1 "$3"; then ok=0 why="r0 cannot ping $1.$2 ($3) on n$n"
        fi
    done
    # What held the drain up, in order, for the record.
    [ -z "$why" ] || [ "${BLOCKERS##*; }" = "$why" ] || BLOCKERS="$BLOCKERS; $why"
    [ $ok = 1 ] && break
    [ $SECONDS -lt $deadline ] || { fail "drain did not reconverge in 90 s"; break; }
    sleep 0.1
done
DRAIN_MS=$(ms_since "$T0")
say "drain reconverged (all tasks off n$d, r0 reaches every host) in ${DRAIN_MS} ms; waited for: ${BLOCKERS#; }"
dk 1 stack ps "$STACK" --filter desired-state=running --format '{{.Name}} {{.Node}}' | sed 's/^/swarm-test:   /'

say "stop n$d (dockerd and conlink)"
others=()
for i in 1 2 3; do [ "$i" != "$d" ] && others+=("$i"); done
ADDR_D=$(cat "$S/n$d/addr")
for i in "${others[@]}"; do
    peers=$(fdb_peers "$i" s1)
    grep -qw "$ADDR_D" <<<"$peers" || fail "n$i had no tunnel to n$d before the stop (has: $peers)"
done
stop_conlink "$d"
T0=$(now)
"$HERE/swarm-env.sh" stop "$d" >/dev/null
deadline=$((SECONDS + 60))
all_peers() { local i b; for i in "${others[@]}"; do for b in s1 s2; do fdb_peers "$i" "$b"; done; done; }
# (captured first: with pipefail, grep -q closing the pipe early would fail the producer)
while peers=$(all_peers) && grep -qw "$ADDR_D" <<<"$peers"; do
    [ $SECONDS -lt $deadline ] || { fail "tunnels to the stopped n$d still there after 60 s"; break; }
    sleep 0.2
done
say "tunnels to n$d removed on n${others[0]} and n${others[1]} $(ms_since "$T0") ms after the stop; left: n${others[0]} s1 -> $(fdb_peers "${others[0]}" s1)"
for ip in 10.0.1.100 10.0.1.101 10.0.2.100 10.0.2.101; do
    pings r0 1 "$ip" || fail "r0 cannot reach $ip after n$d stopped"
done

if [ "$MODE" = host ]; then
    say "conlink exits clean: its namespaces go"
    for i in "${others[@]}"; do stop_conlink "$i"; done
    for i in 1 2 3; do [ -e "$(cl_ns "$i")" ] && fail "namespace $(cl_ns "$i") left after conlink exited"; done
else
    say "conlink stops with the stack and removes the tasks' links"
    pid=$(task_pid h1 1)
    dk "${others[0]}" service rm "${STACK}_network" >/dev/null
    deadline=$((SECONDS + 20))
    while [ -n "$(dk "${others[0]}" ps -q -f "name=^${STACK}_network\.")$(dk "${others[1]}" ps -q -f "name=^${STACK}_network\.")" ]; do
        [ $SECONDS -lt $deadline ] || { fail "conlink service did not stop"; break; }
        sleep 0.2
    done
    [ "$(nsenter --net="/proc/$pid/ns/net" ip -o link | grep -vc ': lo:')" = 0 ] || fail "h1.1 kept links after conlink stopped"
fi

[ $FAILS = 0 ] || die "$FAILS check(s) failed"
say "PASS"
