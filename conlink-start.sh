#!/usr/bin/env bash
# Start conlink in a container without compose, with the original conlink's
# flags. For example (test3 with docker):
#
#   docker run --name=ZZZ_node_1 --rm -d --network none alpine sleep 864000
#   docker run --name=ZZZ_node_2 --rm -d --network none alpine sleep 864000
#   ./conlink-start.sh -v --mode docker --host-mode docker --network-file examples/test3-network.yaml \
#       -- --name ZZZ_network --rm -e NODE_NAME_1=ZZZ_node_1 -e NODE_NAME_2=ZZZ_node_2
#
# Every value is passed as its own argv element (bash arrays, no eval), so
# paths with spaces or shell characters are safe.
set -euo pipefail

usage() {
    cat <<USAGE
Usage: ${0##*/} [CONLINK_OPTIONS] CONFIG_OPTIONS [-- ENGINE-RUN-ARGS...]

CONLINK_OPTIONS
  -v, --verbose            print the settings; also passed to conlink (-v)
  --dry-run                print the commands instead of running them
  --mode MODE              engine that runs the conlink container: podman or
                           docker (default: \$MODE, else podman)
  --image IMAGE            conlink image (default: \$IMAGE, else conlink)
  --host-mode HOST_MODE    engine whose containers conlink connects: podman,
                           docker or none (default: \$HOST_MODE, else none)
  --compose-project NAME   passed to conlink
  -h, --help               this help
  Any other option before "--" is passed to conlink (e.g. --default-mtu 1500).

CONFIG_OPTIONS (at least one)
  --network-file FILE      conlink network config file (mounted read-only)
  --compose-file FILE      compose file with an x-network section (mounted read-only)

Arguments after "--" are passed to "MODE run" (e.g. --name conlink --rm -d -e VAR=value).
USAGE
}

die() { echo >&2 "${0##*/}: $*"; exit 1; }

verbose=${VERBOSE:-}
dry_run=${DRY_RUN:-}
mode=${MODE:-podman}
image=${IMAGE:-conlink}
host_mode=${HOST_MODE:-}
cmd_path=${CMD:-/bin/conlink}
network_file=${NETWORK_FILE:-}
compose_file=${COMPOSE_FILE:-}
conlink_args=()
engine_args=()

need_value() { [ "$2" -ge 2 ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
    case "$1" in
        -v|--verbose) verbose=1; conlink_args+=(-v) ;;
        --dry-run) dry_run=1 ;;
        --mode) need_value "$1" $#; mode=$2; shift ;;
        --image) need_value "$1" $#; image=$2; shift ;;
        --host-mode) need_value "$1" $#; host_mode=$2; shift ;;
        --network-file) need_value "$1" $#; network_file=$2; shift ;;
        --compose-file) need_value "$1" $#; compose_file=$2; shift ;;
        --compose-project) need_value "$1" $#; conlink_args+=(--compose-project "$2"); shift ;;
        -h|--help) usage; exit 0 ;;
        --) shift; engine_args=("$@"); break ;;
        *) conlink_args+=("$1") ;;
    esac
    shift
done

vecho() { [ -z "$verbose" ] || echo >&2 "$@"; }

case "$mode" in
    podman|docker) ;;
    *) die "unknown mode '$mode' (use podman or docker)" ;;
esac
case "$host_mode" in
    podman|docker|none|"") ;;
    *) die "unknown host mode '$host_mode' (use podman, docker or none)" ;;
esac
[ -n "$network_file" ] || [ -n "$compose_file" ] || die "one or both required: --network-file or --compose-file"

vecho "Settings:"
run_opts=(--security-opt apparmor=unconfined)

vecho "  - mount network/compose config files"
mount_config() { # FILE CONLINK-FLAG
    [ -f "$1" ] || die "file not found: '$1'"
    local inside
    inside=/root/$(basename "$1")
    run_opts+=(-v "$(readlink -f "$1"):$inside:ro")
    conlink_args+=("$2" "$inside")
}
[ -z "$network_file" ] || mount_config "$network_file" --network-file
[ -z "$compose_file" ] || mount_config "$compose_file" --compose-file

# A network given after "--" wins (e.g. `--network bridge -p 8080:80` to
# publish forwarded ports).
network_given=
for a in "${engine_args[@]}"; do
    case "$a" in --network|--network=*|--net|--net=*) network_given=1 ;; esac
done
if [ -z "$network_given" ]; then
    if [ "$mode" = podman ] && [ "$(id -u)" != 0 ]; then
        # Rootless podman: its default slirp4netns network, with the port handler
        # that keeps clients' source addresses for conlink's port forwards.
        vecho "  - port forwarding with slirp4netns (for rootless mode)"
        run_opts+=(--network=slirp4netns:port_handler=slirp4netns)
    else
        # conlink's bridges live in its container's own namespace: it needs no
        # engine network.
        vecho "  - no engine network (give -- --network NAME for port forwards)"
        run_opts+=(--network none)
    fi
fi

if [ "$mode" = podman ] && [ "$(id -u)" != 0 ]; then
    # Rootless: conlink's state (control socket, locks) in the user's runtime dir,
    # shared with the host, so `conlink status` run there by the user reaches it.
    [ -n "${XDG_RUNTIME_DIR:-}" ] || die "rootless podman needs XDG_RUNTIME_DIR (the user's runtime directory)"
    state_dir=$XDG_RUNTIME_DIR/conlink
    vecho "  - conlink state in $state_dir"
    [ -n "$dry_run" ] || mkdir -p "$state_dir"
    run_opts+=(-e "XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR" -v "$state_dir:$state_dir")
fi

if [ "$(id -u)" = 0 ]; then
    vecho "  - adding base capabilities"
    # SYS_PTRACE: entering the namespaces of containers run by other users.
    for cap in SYS_ADMIN NET_ADMIN SYS_NICE NET_BROADCAST IPC_LOCK SYS_PTRACE; do
        run_opts+=(--cap-add "$cap")
    done
else
    vecho "  - adding --privileged (for rootless)"
    run_opts+=(--privileged)
fi

host_sock=
case "$host_mode" in
    podman)
        vecho "  - adding connectivity to outer podman"
        host_sock=$(mktemp -u "$PWD/podman.sock.XXXXXXXXXX")
        run_opts+=(--pid host -v "$host_sock:/var/run/podman/podman.sock")
        ;;
    docker)
        vecho "  - adding connectivity to outer docker"
        run_opts+=(--pid host -v /var/run/docker.sock:/var/run/docker.sock)
        ;;
esac

cmd=("$mode" run "${run_opts[@]}" "${engine_args[@]}" "$image" "$cmd_path" "${conlink_args[@]}")

if [ -n "$dry_run" ]; then
    if [ -n "$host_sock" ]; then
        printf '%q ' podman system service --time=0 "unix://$host_sock"
        echo '&'
    fi
    printf '%q ' "${cmd[@]}"
    echo
    exit 0
fi

# The outer podman's API for conlink: a service of our own on a socket in the
# current directory, stopped (and the socket removed) when we exit.
service_pid=
cleanup() {
    trap - EXIT INT TERM
    if [ -n "$service_pid" ]; then
        kill "$service_pid" 2>/dev/null || true
        wait "$service_pid" 2>/dev/null || true
        rm -f "$host_sock"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ -n "$host_sock" ]; then
    vecho "Starting outer podman API service on $host_sock"
    podman system service --time=0 "unix://$host_sock" &
    service_pid=$!
    for _ in $(seq 50); do
        [ -S "$host_sock" ] && break
        kill -0 "$service_pid" 2>/dev/null || die "podman system service exited"
        sleep 0.1
    done
    [ -S "$host_sock" ] || die "podman service did not start in 5 seconds"
fi

vecho "Starting conlink"
echo >&2 "Running: ${cmd[*]}"
# Not exec: the trap above must stop the podman service afterwards.
"${cmd[@]}"
