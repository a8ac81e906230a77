#!/usr/bin/env bash
# Build the conlink image (conlink:latest, or $IMAGE).
#
#   scripts/build-image.sh [debug|release]             # the root Dockerfile, from source
#   scripts/build-image.sh --scratch [debug|release]   # small FROM-scratch variant
#
# The root Dockerfile compiles conlink inside its builder stage. Its base
# images are build arguments: the official rust:1-bookworm and
# debian:bookworm-slim when both are present locally (BASE_IMAGES=official
# forces them, pulling what is missing), otherwise local stand-ins made by
# scripts/standin-images.sh and a build with --network none, so it works on a
# machine without registry access. debug builds faster; release is smaller.
#
# --scratch copies this machine's static binaries (scripts/cargo-static.sh
# build, run when they are missing) with nft, and Open vSwitch and busybox
# when installed here, onto an empty base (scripts/Dockerfile.scratch).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
IMAGE=${IMAGE:-conlink:latest}
variant=dockerfile
if [ "${1:-}" = --scratch ]; then variant=scratch; shift; fi
PROFILE=${1:-release}
case "$PROFILE" in
    release|debug) ;;
    *) echo "usage: $0 [--scratch] [debug|release]" >&2; exit 2 ;;
esac
cd "$ROOT"
say() { echo "build-image: $*"; }

report() {
    say "built $IMAGE: $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
}

if [ "$variant" = dockerfile ]; then
    build_args=(--build-arg "PROFILE=$PROFILE")
    network=()
    if [ "${BASE_IMAGES:-}" = official ] ||
        { [ -z "${BASE_IMAGES:-}" ] && docker image inspect rust:1-bookworm debian:bookworm-slim >/dev/null 2>&1; }; then
        say "base images: rust:1-bookworm, debian:bookworm-slim"
    else
        say "base images: local stand-ins (scripts/standin-images.sh), no network"
        read -r -a standin_args <<<"$(scripts/standin-images.sh)"
        build_args+=("${standin_args[@]}")
        network=(--network none)
    fi
    say "docker build -t $IMAGE ${build_args[*]} ${network[*]} ."
    start=$SECONDS
    if ! docker build -t "$IMAGE" "${build_args[@]}" "${network[@]}" . 2>&1 | grep -v -e '^DEPRECATED: The legacy builder' \
        -e '^ *Install the buildx component' -e '^ *https://docs.docker.com/go/buildx/'; then
        say "docker build failed" >&2
        exit 1
    fi
    say "docker build took $((SECONDS - start)) s"
    report
    exit 0
fi

# ---------------------------------------------------------------- --scratch
bin_dir=$(scripts/cargo-static.sh --print-target-dir "$PROFILE")
if [ ! -x "$bin_dir/conlink" ] || [ ! -x "$bin_dir/conlink-tools" ]; then
    say "$bin_dir lacks conlink or conlink-tools, running cargo build"
    flags=()
    [ "$PROFILE" = release ] && flags=(--release)
    scripts/cargo-static.sh build -p conlink -p conlink-tools "${flags[@]}"
fi
for b in conlink conlink-tools; do
    [ -x "$bin_dir/$b" ] || { say "$bin_dir/$b still missing" >&2; exit 1; }
done

ctx=target/image-scratch
stage=$ctx/rootfs
rm -rf "$ctx"
mkdir -p "$stage/bin" "$stage/utils" "$stage/app/build"
cp "$bin_dir/conlink" "$bin_dir/conlink-tools" "$stage/bin/"
[ -x "$bin_dir/conlink-runc" ] && cp "$bin_dir/conlink-runc" "$stage/bin/"
# No `ln -s` in scratch: the tools are links made here, each picking its
# tool from its own name.
for t in wait copy mdc net2dot; do ln "$stage/bin/conlink-tools" "$stage/bin/$t"; done
for t in wait copy echo; do ln "$stage/bin/conlink-tools" "$stage/utils/$t"; done
ln "$stage/bin/conlink" "$stage/app/build/conlink.js"

# Each program with the shared libraries `ldd` reports, at the same paths:
# - `nft`: port forwards and static NAT run `nft -f -`;
# - Open vSwitch (when installed here): `ovs` bridges start a private OVS
#   through ovs-ctl, a /bin/sh script, so a static busybox provides sh and
#   the utilities the script calls.
NFT=${NFT:-$(command -v nft || echo /usr/sbin/nft)}
if [ ! -x "$NFT" ]; then
    say "nft missing, installing nftables"
    DEBIAN_FRONTEND=noninteractive apt-get install -y nftables >/dev/null 2>&1 ||
        { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y nftables >/dev/null; }
fi
[ -x "$NFT" ] || { say "$NFT still missing" >&2; exit 1; }

stage_program() { # PATH-ON-HOST: copy it and its libraries into the stage
    local prog=$1
    mkdir -p "$stage$(dirname "$prog")"
    cp -L "$prog" "$stage$prog"
    # "libx.so => /lib/.../libx.so (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
    ldd "$prog" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u |
        while read -r lib; do
            mkdir -p "$stage$(dirname "$lib")"
            cp -L "$lib" "$stage$lib"
        done
}
stage_program "$(readlink -f "$NFT")"
[ "$(readlink -f "$NFT")" = /usr/sbin/nft ] || { mkdir -p "$stage/usr/sbin"; cp -L "$NFT" "$stage/usr/sbin/nft"; }

ovs_programs=(/usr/bin/ovs-vsctl /usr/sbin/ovs-vswitchd /usr/sbin/ovsdb-server /usr/bin/ovsdb-tool /usr/bin/ovs-appctl)
busybox=$(command -v busybox || true)
if [ -x /usr/share/openvswitch/scripts/ovs-ctl ] && [ -n "$busybox" ]; then
    for p in "${ovs_programs[@]}"; do stage_program "$p"; done
    mkdir -p "$stage/usr/share/openvswitch" "$stage/etc"
    cp -a /usr/share/openvswitch/scripts /usr/share/openvswitch/vswitch.ovsschema "$stage/usr/share/openvswitch/"
    cp -L "$busybox" "$stage/bin/busybox"
    # Applets as symlinks, except names the image's own tools use.
    for applet in $("$busybox" --list); do
        case "$applet" in busybox|wait|copy|mdc|net2dot|conlink) continue ;; esac
        [ -e "$stage/bin/$applet" ] || ln -s busybox "$stage/bin/$applet"
    done
    # ovs-ctl runs the daemons under `nice -n N`; this busybox build has no nice applet.
    if [ ! -e "$stage/bin/nice" ]; then
        # shellcheck disable=SC2016 # the script's own $1 and $@
        printf '#!/bin/sh\n# nice stand-in for ovs-ctl: drop "-n N" (priority is left as is)\n[ "$1" = -n ] && shift 2\nexec "$@"\n' >"$stage/bin/nice"
        chmod 755 "$stage/bin/nice"
    fi
    if [ ! -e "$stage/bin/uuidgen" ]; then
        printf '#!/bin/sh\n# uuidgen stand-in for ovs-ctl (system-id=random)\nexec cat /proc/sys/kernel/random/uuid\n' >"$stage/bin/uuidgen"
        chmod 755 "$stage/bin/uuidgen"
    fi
    echo 'root:x:0:0:root:/root:/bin/sh' >"$stage/etc/passwd"
    echo 'root:x:0:' >"$stage/etc/group"
    say "staged Open vSwitch and busybox"
else
    say "Open vSwitch or busybox not installed here: image without ovs support"
fi
say "staged $(find "$stage" -type f | wc -l) files in $stage"
docker build -q -t "$IMAGE" -f scripts/Dockerfile.scratch "$ctx" >/dev/null
report
