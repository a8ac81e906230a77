#!/usr/bin/env bash
# A three-node Docker Swarm on one machine, for conlink's swarm tests.
#
#   scripts/swarm-env.sh up      build it (idempotent only in the sense that
#                                `up` after a failed `up` first runs `down`)
#   scripts/swarm-env.sh down    remove everything `up` made, by recorded PID
#   scripts/swarm-env.sh status  nodes as the first manager sees them
#   scripts/swarm-env.sh stop N  stop node N's dockerd (and what runs in its
#                                namespace), keep its namespace: "a node dies"
#
# Every "host" is a network namespace NAME-nI with its own dockerd (own
# --data-root, --exec-root, --pidfile and unix socket under STATE/nI/), its
# eth0 (198.51.100.1I/24) a veth into the namespace NAME-lan, where the bridge
# br0 joins them: a LAN that reaches nothing else. All nodes are managers
# (three managers keep quorum when one stops, and every manager can list the
# swarm's nodes). The workload image (bbox:local, tagged alpine:latest) is
# copied from the default dockerd with `docker save | docker load`: no
# registry. The default dockerd itself is only read from, never changed.
#
# Environment: SWARM_ENV_NAME (prefix of namespaces, default cswarm),
# SWARM_ENV_STATE (default /tmp/$SWARM_ENV_NAME), SWARM_ENV_NODES (default 3),
# SWARM_ENV_IMAGE (default bbox:local), SWARM_ENV_SOURCE_SOCK (the dockerd the
# image comes from, default /var/run/docker.sock).
# For each node: STATE/nI/docker.sock, STATE/nI/addr, STATE/nI/dockerd.log.
# STATE/node/docker.sock is, seen from inside any node (its mount namespace
# has a private tmpfs there), that node's own dockerd: the one path a global
# service bind-mounts to reach its node's engine. From outside it is empty.
set -euo pipefail

NAME=${SWARM_ENV_NAME:-cswarm}
STATE=${SWARM_ENV_STATE:-/tmp/$NAME}
NODES=${SWARM_ENV_NODES:-3}
IMAGE=${SWARM_ENV_IMAGE:-bbox:local}
SOURCE_SOCK=${SWARM_ENV_SOURCE_SOCK:-/var/run/docker.sock}
LAN=$NAME-lan
NET=198.51.100
READY_TIMEOUT=${READY_TIMEOUT:-60}

say() { echo "swarm-env: $*"; }
die() { echo "swarm-env: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (namespaces, dockerd)"
[ ${#NAME} -le 10 ] || die "SWARM_ENV_NAME must be at most 10 characters (interface names)"

node_ns() { echo "$NAME-n$1"; }
node_dir() { echo "$STATE/n$1"; }
node_addr() { echo "$NET.$((10 + $1))"; }
node_sock() { echo "$(node_dir "$1")/docker.sock"; }
dk() { local i=$1; shift; docker -H "unix://$(node_sock "$i")" "$@"; }

# Processes whose network namespace is NS: dockerd, its containerd, shims and
# the containers themselves. All of them were started by `up`.
pids_in_ns() { ip netns pids "$1" 2>/dev/null || true; }

# Shell commands that recreate the host's /sys/fs/cgroup tree in a fresh /sys.
cgroup_mounts() {
    local src dst type opts rest
    while read -r src dst type opts rest; do
        case $dst in /sys/fs/cgroup | /sys/fs/cgroup/*) ;; *) continue ;; esac
        [ "$type" = tmpfs ] || [ "$type" = cgroup ] || [ "$type" = cgroup2 ] || continue
        [ "$type" = cgroup ] && opts=$(echo "$opts" | tr ',' '\n' | grep -v -e '^rw$' -e '^relatime$' | paste -sd,)
        [ "$type" = cgroup2 ] && opts=rw
        printf 'mkdir -p %s && mount -t %s -o %s %s %s && ' "$dst" "$type" "$opts" "$type" "$dst"
    done </proc/mounts
}

wait_docker() {
    local i=$1 deadline=$((SECONDS + READY_TIMEOUT))
    until dk "$i" info >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || { tail -20 "$(node_dir "$i")/dockerd.log" >&2; die "dockerd of node $i not ready"; }
        sleep 0.3
    done
}

make_lan() {
    ip netns add "$LAN"
    ip -n "$LAN" link set lo up
    ip -n "$LAN" link add br0 type bridge
    ip -n "$LAN" link set br0 up
}

make_node() {
    local i=$1 ns dir
    ns=$(node_ns "$i") dir=$(node_dir "$i")
    mkdir -p "$dir"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$LAN" link add "$NAME-n$i" type veth peer name eth0 netns "$ns"
    ip -n "$LAN" link set "$NAME-n$i" master br0 up
    ip -n "$ns" addr add "$(node_addr "$i")/24" dev eth0
    ip -n "$ns" link set eth0 up
    node_addr "$i" >"$dir/addr"
    # `ip netns exec` gives dockerd a private mount namespace with this
    # namespace's own /sys (so its mounts vanish with it), but that /sys has
    # no cgroup hierarchies: remount the host's ones (read from /proc/mounts)
    # there first. Own UTS namespace: each node has its own hostname (nI).
    mkdir -p "$STATE/node"
    ip netns exec "$ns" unshare --uts sh -c "$(cgroup_mounts) mount -t tmpfs -o size=1m,mode=755 tmpfs $STATE/node && hostname n$i; exec \"\$@\"" sh dockerd \
        --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
        -H "unix://$dir/docker.sock" -H "unix://$STATE/node/docker.sock" --userland-proxy=false \
        >"$dir/dockerd.log" 2>&1 &
    echo $! >"$dir/started.pid"
}

load_image() {
    local i=$1
    docker -H "unix://$SOURCE_SOCK" save "$IMAGE" | dk "$i" load -q >/dev/null
    dk "$i" tag "$IMAGE" alpine:latest
}

form_swarm() {
    local token i
    dk 1 swarm init --advertise-addr "$(node_addr 1)" --listen-addr "$(node_addr 1):2377" >/dev/null
    token=$(dk 1 swarm join-token -q manager)
    for ((i = 2; i <= NODES; i++)); do
        dk "$i" swarm join --token "$token" --advertise-addr "$(node_addr "$i")" \
            --listen-addr "$(node_addr "$i"):2377" "$(node_addr 1):2377" >/dev/null
    done
}

up() {
    if [ -e "$STATE" ] || ip netns list | grep -q "^$LAN\b"; then
        say "leftovers found: cleaning first"
        down
    fi
    trap 'rc=$?; [ $rc = 0 ] || { say "up failed: cleaning"; down; }' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    mkdir -p "$STATE"
    make_lan
    local i
    for ((i = 1; i <= NODES; i++)); do make_node "$i"; done
    for ((i = 1; i <= NODES; i++)); do wait_docker "$i"; load_image "$i"; done
    form_swarm
    trap - EXIT INT TERM
    say "up: $NODES nodes; sockets $STATE/n*/docker.sock"
    status
}

# Stop node I: every process in its namespace, dockerd first (SIGTERM, then
# SIGKILL after 10 s). The namespace and its eth0 stay.
stop_node() {
    local i=$1 ns pid deadline
    ns=$(node_ns "$i")
    pid=$(cat "$(node_dir "$i")/started.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 10))
        while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    fi
    for pid in $(pids_in_ns "$ns"); do kill -9 "$pid" 2>/dev/null || true; done
    deadline=$((SECONDS + 10))
    while [ -n "$(pids_in_ns "$ns")" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
}

down() {
    local i d
    for d in "$STATE"/n[0-9]*; do
        [ -d "$d" ] || continue
        i=${d##*/n}
        stop_node "$i"
        ip netns del "$(node_ns "$i")" 2>/dev/null || true
    done
    ip netns del "$LAN" 2>/dev/null || true
    # Mounts lived in the dockerds' private mount namespaces, gone with them;
    # anything still mounted under STATE would make rm fail loudly, not silently.
    rm -rf "$STATE"
    say "down: done"
}

status() {
    dk 1 node ls --format '{{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}}' 2>/dev/null || true
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    stop) stop_node "${2:?node number}" ;;
    *) die "usage: $0 up|down|status|stop N" ;;
esac
