#!/usr/bin/env bash
# conlink benchmark (issue 7, "Fast at scale"). Run on demand, as root:
#
#   bench/run.sh            # N = 10 50 100 200
#   bench/run.sh 10 50      # chosen N
#
# For each N (replicas of service `node`, 2 veth links each on bridges s1/s2,
# see bench/compose.yaml), with a real dockerd and a RELEASE conlink run on the
# host (so its RSS and CPU are read straight from /proc/PID):
#  (a) all N containers already running, then conlink starts: its own
#      `All links connected elapsed_ms=` and the wall clock from spawn to that
#      log line (the line's timestamp minus the spawn time);
#  (d) then ~BENCH_IDLE_SECS (5) idle: CPU ticks (utime+stime, /proc/PID/stat)
#      and, at the very end, peak RSS (VmHWM);
#  (b) containers removed, then N started at once (`docker compose up -d
#      --scale node=N`) with conlink running: per container, docker's start
#      event (TimeNano) -> conlink's last `link up` log line of it; p50/p99;
#  (c) kernel work alone: crates/conlink-kernel/examples/bench_links.rs, Nl vs
#      `ip -batch` on N namespaces x 2 links, no engine involved.
# A table with the targets and the original conlink's figures ends the run.
#
# Environment: BENCH_PARTS="a b c d" (subset to run), BENCH_IDLE_SECS=5,
# BENCH_KERNEL_ROUNDS=3, BENCH_OUT=DIR (logs kept there; default a temp dir
# removed unless BENCH_KEEP=1), CONLINK_BIN (default: release build, built if
# needed). Everything created is removed on exit (compose project down,
# namespaces deleted, conlink SIGTERMed by PID).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
NS=("$@")
[ ${#NS[@]} -gt 0 ] || NS=(10 50 100 200)
PARTS=${BENCH_PARTS:-a b c d}
IDLE_SECS=${BENCH_IDLE_SECS:-5}
KERNEL_ROUNDS=${BENCH_KERNEL_ROUNDS:-3}
# One static build for this machine's architecture (scripts/cargo-static.sh).
TARGET_DIR=$("$ROOT/scripts/cargo-static.sh" --print-target-dir release)
CONLINK_BIN=${CONLINK_BIN:-$TARGET_DIR/conlink}
BENCH_LINKS=$TARGET_DIR/examples/bench_links
COMPOSE_FILE=$ROOT/bench/compose.yaml
PROJECT=${BENCH_PROJECT:-clbench$$}
NETNS=clbench$$
OUT=${BENCH_OUT:-$(mktemp -d /tmp/conlink-bench.XXXXXX)}
mkdir -p "$OUT"
RESULTS=$OUT/results.txt
: >"$RESULTS"
CONLINK_PID=
EVENTS_PID=

say() { echo "bench: $*" >&2; }
die() { echo "bench: ERROR: $*" >&2; exit 1; }
has() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
now_ns() { date +%s%N; }
ms_since() { echo $(( ($(now_ns) - $1) / 1000000 )); }
compose() { docker compose -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; }

[ "$(id -u)" = 0 ] || die "must run as root (namespaces, /proc/PID of conlink)"

stop_conlink() {
    if [ -n "$CONLINK_PID" ] && kill -0 "$CONLINK_PID" 2>/dev/null; then
        kill -TERM "$CONLINK_PID"
        local t0; t0=$(now_ns)
        for _ in $(seq 1 600); do kill -0 "$CONLINK_PID" 2>/dev/null || break; sleep 0.05; done
        if kill -0 "$CONLINK_PID" 2>/dev/null; then
            say "conlink $CONLINK_PID ignored SIGTERM for 30 s, killing it"
            kill -KILL "$CONLINK_PID" 2>/dev/null || true
        fi
        wait "$CONLINK_PID" 2>/dev/null || true
        say "conlink stopped (SIGTERM -> exit $(ms_since "$t0") ms)"
    fi
    CONLINK_PID=
}

cleanup() {
    local rc=$?
    if [ -n "$EVENTS_PID" ]; then kill -TERM "$EVENTS_PID" 2>/dev/null || true; fi
    stop_conlink
    if docker info >/dev/null 2>&1; then
        compose down -t 0 --remove-orphans >/dev/null 2>&1 || true
    fi
    if [ -e "/run/netns/$NETNS" ]; then ip netns del "$NETNS" 2>/dev/null || true; fi
    if [ -z "${BENCH_OUT:-}" ] && [ "${BENCH_KEEP:-0}" != 1 ]; then rm -rf "$OUT"; else say "logs kept in $OUT"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- prerequisites -------------------------------------------------------
if has a || has b || has d; then
    if ! docker info >/dev/null 2>&1; then
        say "no dockerd answering: scripts/test-env.sh up"
        scripts/test-env.sh up >&2
    fi
    docker image inspect alpine:latest >/dev/null 2>&1 || die "image alpine:latest missing (scripts/test-env.sh up builds it)"
    if [ "$CONLINK_BIN" = "$TARGET_DIR/conlink" ]; then
        say "building release conlink (cargo build --release -p conlink)"
        "$ROOT/scripts/cargo-static.sh" build --release -q -p conlink >&2
    fi
    [ -x "$CONLINK_BIN" ] || die "no conlink binary at $CONLINK_BIN"
fi
if has c; then
    say "building the kernel bench (cargo build --release -p conlink-kernel --example bench_links)"
    "$ROOT/scripts/cargo-static.sh" build --release -q -p conlink-kernel --example bench_links >&2
fi

wait_for() { # TIMEOUT_S DESCRIPTION COMMAND... : poll every 10 ms
    local timeout=$1 what=$2; shift 2
    local deadline=$(( $(date +%s) + timeout ))
    until "$@"; do
        [ "$(date +%s)" -lt "$deadline" ] || { say "timeout waiting for $what"; return 1; }
        sleep 0.01
    done
}
running_count() { docker ps -q --filter "label=com.docker.compose.project=$PROJECT" --filter status=running | wc -l; }
veth_count() { ip -n "$NETNS" -o link show type veth 2>/dev/null | wc -l; }
has_line() { grep -q "$2" "$1" 2>/dev/null; }
count_ge() { [ "$("$1")" -ge "$2" ]; }
count_eq() { [ "$("$1")" -eq "$2" ]; }
linkup_after() { [ "$(tail -n +"$(( $1 + 1 ))" "$2" | grep -c ' link up')" -ge "$3" ]; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# --- one N -----------------------------------------------------------------
# Appends its figures to ROW (no $(...): conlink must stay a child of this shell).
bench_engine() {
    local n=$1 log=$OUT/conlink-$1.log r=""
    say "N=$n: docker compose up -d --scale node=$n (containers first)"
    local t0; t0=$(now_ns)
    compose up -d --scale node="$n" >/dev/null 2>&1
    wait_for 300 "$n running containers" count_ge running_count "$n"
    say "N=$n: $n containers running after $(ms_since "$t0") ms"

    # (a) start conlink with everything already running.
    local spawn; spawn=$(now_ns)
    CONLINK_LOG=${BENCH_CONLINK_LOG:-warn,conlink=debug} "$CONLINK_BIN" \
        --compose-file "$COMPOSE_FILE" --compose-project "$PROJECT" --netns "$NETNS" >/dev/null 2>"$log" &
    CONLINK_PID=$!
    if ! wait_for 120 "All links connected" has_line "$log" "All links connected"; then
        tail -20 "$log" >&2; die "conlink did not connect $n containers"
    fi
    local seen; seen=$(ms_since "$spawn")
    local a; a=$(python3 bench/analyze.py connected "$log" "$spawn")
    local veths; veths=$(veth_count)
    [ "$veths" -eq $(( 2 * n )) ] || say "WARNING: $veths outer veths in $NETNS, expected $((2 * n))"
    say "N=$n (a): $a (seen by the poller after $seen ms), $veths outer veths"
    r+=" $(echo "$a" | sed 's/elapsed_ms=/a_elapsed_ms=/; s/wall_ms=/a_wall_ms=/')"

    # (d) idle CPU over IDLE_SECS after connecting.
    if has d; then
        sleep 1
        local k0 k1; k0=$(cpu_ticks "$CONLINK_PID"); sleep "$IDLE_SECS"; k1=$(cpu_ticks "$CONLINK_PID")
        r+=" d_idle_ticks=$(( k1 - k0 )) d_idle_secs=$IDLE_SECS d_hwm_after_a_mb=$(awk -v k="$(hwm_kb "$CONLINK_PID")" 'BEGIN{printf "%.1f", k/1024}')"
        say "N=$n (d): $(( k1 - k0 )) CPU ticks in ${IDLE_SECS} s idle, VmHWM $(hwm_kb "$CONLINK_PID") kB"
    fi

    # (b) N containers started at once while conlink runs.
    if has b; then
        compose down -t 0 >/dev/null 2>&1
        wait_for 120 "links of removed containers gone" count_eq veth_count 0 || true
        sleep 1
        local lines; lines=$(wc -l <"$log")
        # Streamed, not replayed with --since: dockerd keeps only its last 256 events.
        docker events --filter type=container --filter event=start --filter "label=com.docker.compose.project=$PROJECT" \
            --format '{{.Actor.Attributes.name}} {{.TimeNano}}' >"$OUT/events-$n.txt" &
        EVENTS_PID=$!
        sleep 0.5
        t0=$(now_ns)
        compose up -d --scale node="$n" >/dev/null 2>&1
        local up_ms; up_ms=$(ms_since "$t0")
        wait_for 120 "links of $n started containers" linkup_after "$lines" "$log" $(( 2 * n )) || true
        sleep 0.2
        kill -TERM "$EVENTS_PID" 2>/dev/null || true; wait "$EVENTS_PID" 2>/dev/null || true; EVENTS_PID=
        tail -n +"$(( lines + 1 ))" "$log" >"$OUT/conlink-$n-b.log"
        local b; b=$(python3 bench/analyze.py latency "$OUT/conlink-$n-b.log" "$OUT/events-$n.txt" "$n")
        say "N=$n (b): $b (compose up took $up_ms ms)"
        r+=" $(echo "$b" | sed 's/\([a-z0-9_]*\)=/b_\1=/g') b_compose_up_ms=$up_ms"
    fi
    if has d; then
        r+=" d_hwm_mb=$(awk -v k="$(hwm_kb "$CONLINK_PID")" 'BEGIN{printf "%.1f", k/1024}')"
        r+=" d_total_ticks=$(cpu_ticks "$CONLINK_PID")"
    fi
    stop_conlink
    compose down -t 0 >/dev/null 2>&1
    ROW+="$r"
}

bench_kernel() {
    local n=$1 out=$OUT/kernel-$1.txt
    say "N=$n (c): bench_links $n $KERNEL_ROUNDS"
    "$BENCH_LINKS" "$n" "$KERNEL_ROUNDS" | tee "$out" >&2
    local line; line=$(grep '^RESULT ' "$out")
    local links ip nl daemon
    links=$(sed -n 's/.* links=\([0-9]*\).*/\1/p' <<<"$line")
    ip=$(sed -n 's/.* ip_batch_ms=\([0-9.]*\).*/\1/p' <<<"$line")
    nl=$(sed -n 's/.* nl_links_ms=\([0-9.]*\).*/\1/p' <<<"$line")
    daemon=$(sed -n 's/.* nl_daemon_ms=\([0-9.]*\).*/\1/p' <<<"$line")
    awk -v l="$links" -v ip="$ip" -v nl="$nl" -v d="$daemon" -v raw="${line#RESULT }" 'BEGIN {
        printf " c_ip_ms_link=%.3f c_nl_ms_link=%.3f c_daemon_ms_link=%.3f c_ratio=%.2f %s", ip/l, nl/l, d/l, nl/ip, raw }'
}

for n in "${NS[@]}"; do
    ROW="N=$n"
    if has a || has b || has d; then bench_engine "$n"; fi
    if has c; then ROW+=$(bench_kernel "$n"); fi
    echo "$ROW" >>"$RESULTS"
done

echo
echo "conlink benchmark, $(date -u +%FT%TZ), $(nproc) cores, kernel $(uname -r), conlink $CONLINK_BIN"
python3 bench/analyze.py table "$RESULTS"
echo
echo "raw results ($RESULTS):"
cat "$RESULTS"
