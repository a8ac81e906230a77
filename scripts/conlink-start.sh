#!/usr/bin/env bash
# Start conlink in a container without compose (SPEC §6 "start without
# compose"): the right capabilities, the engine socket and a network file.
# Every value is passed as its own argv element (bash arrays, no eval), so
# paths with spaces or shell characters are safe.
set -euo pipefail

usage() {
  cat <<USAGE
Usage: ${0##*/} [OPTIONS] --network-file FILE [CONLINK-OPTIONS...] [-- ENGINE-RUN-ARGS...]

OPTIONS
  --docker | --podman     container engine (default: \$CONLINK_ENGINE, else
                          docker if installed, else podman)
  --engine ENGINE         same as above: docker or podman
  --image IMAGE           conlink image (default: \$CONLINK_IMAGE or conlink)
  --network-file FILE     conlink network config file (required; also \$NETWORK_FILE)
  --socket PATH           engine socket on the host (default: /var/run/docker.sock
                          for docker, /var/run/podman/podman.sock for podman)
  --dry-run               print the engine command instead of running it
  -h, --help              this help
Any other option before "--" is passed to conlink (e.g. -v, --default-mtu 1500).
Arguments after "--" are passed to "ENGINE run" (e.g. --name conlink -d --rm).

Example:
  ${0##*/} --docker --network-file examples/test3-network.yaml -- --name conlink --rm
USAGE
}

die() { echo >&2 "${0##*/}: $*"; exit 1; }

engine="${CONLINK_ENGINE:-}"
image="${CONLINK_IMAGE:-conlink}"
network_file="${NETWORK_FILE:-}"
socket=
dry_run=
conlink_args=()
engine_args=()

while [ $# -gt 0 ]; do
  case "$1" in
    --docker) engine=docker ;;
    --podman) engine=podman ;;
    --engine) [ $# -ge 2 ] || die "--engine needs a value"; engine="$2"; shift ;;
    --image) [ $# -ge 2 ] || die "--image needs a value"; image="$2"; shift ;;
    --network-file) [ $# -ge 2 ] || die "--network-file needs a value"; network_file="$2"; shift ;;
    --socket) [ $# -ge 2 ] || die "--socket needs a value"; socket="$2"; shift ;;
    --dry-run) dry_run=1 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; engine_args=("$@"); break ;;
    *) conlink_args+=("$1") ;;
  esac
  shift
done

if [ -z "${engine}" ]; then
  if command -v docker >/dev/null 2>&1; then engine=docker; else engine=podman; fi
fi
case "${engine}" in
  docker) socket="${socket:-/var/run/docker.sock}"; socket_in=/var/run/docker.sock ;;
  podman) socket="${socket:-/var/run/podman/podman.sock}"; socket_in=/var/run/podman/podman.sock ;;
  *) die "unknown engine '${engine}' (use docker or podman)" ;;
esac

[ -n "${network_file}" ] || { usage >&2; die "--network-file is required"; }
[ -f "${network_file}" ] || die "network file not found: '${network_file}'"
[ -n "${dry_run}" ] || [ -S "${socket}" ] \
  || echo >&2 "${0##*/}: warning: ${engine} socket '${socket}' does not exist (is the engine running?)"

network_path="/root/$(basename "${network_file}")"
cmd=(
  "${engine}" run
  --pid host --network none
  --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add SYS_NICE
  --cap-add NET_BROADCAST --cap-add SYS_PTRACE
  -v "${socket}:${socket_in}"
  -v "$(readlink -f "${network_file}"):${network_path}:ro"
  "${engine_args[@]}"
  "${image}"
  /bin/conlink --network-file "${network_path}" "${conlink_args[@]}"
)

if [ -n "${dry_run}" ]; then
  printf '%q ' "${cmd[@]}"
  echo
  exit 0
fi
echo >&2 "Running: ${cmd[*]}"
exec "${cmd[@]}"
