#!/usr/bin/env bash
# Build the conlink image (conlink:latest) offline from static binaries.
#
#   scripts/build-image.sh [debug|release]     (default: release)
#
# Compiles `conlink` and `conlink-tools` only when their binaries are
# missing; rebuild them yourself (cargo build ...) after changing code.
set -euo pipefail

PROFILE=${1:-release}
IMAGE=${IMAGE:-conlink:latest}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=x86_64-unknown-linux-gnu

case "$PROFILE" in
    release) cargo_flags=(--release) ;;
    debug) cargo_flags=() ;;
    *) echo "usage: $0 [debug|release]" >&2; exit 2 ;;
esac

cd "$ROOT"
bin_dir=target/$TARGET/$PROFILE
if [ ! -x "$bin_dir/conlink" ] || [ ! -x "$bin_dir/conlink-tools" ]; then
    echo "build-image: $bin_dir lacks conlink or conlink-tools, running cargo build"
    # The target comes from .cargo/config.toml (static, crt-static).
    cargo build -p conlink -p conlink-tools "${cargo_flags[@]}"
fi
for b in conlink conlink-tools; do
    [ -x "$bin_dir/$b" ] || { echo "build-image: $bin_dir/$b still missing" >&2; exit 1; }
done

# Extra rootfs content for the FROM-scratch image, each program with the shared
# libraries `ldd` reports, at the same paths:
# - `nft`: port forwards and static NAT run `nft -f -` in conlink's/containers' namespaces;
# - Open vSwitch (when installed here): `ovs` bridges start a private OVS inside
#   conlink's namespace through ovs-ctl, a /bin/sh script, so a static busybox
#   provides sh and the utilities the script calls.
stage=target/image-rootfs
NFT=${NFT:-$(command -v nft || true)}
[ -n "$NFT" ] || NFT=/usr/sbin/nft
if [ ! -x "$NFT" ]; then
    echo "build-image: nft missing, installing nftables"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y nftables >/dev/null 2>&1; then
        apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y nftables >/dev/null
    fi
fi
[ -x "$NFT" ] || { echo "build-image: $NFT still missing" >&2; exit 1; }
rm -rf "$stage"
mkdir -p "$stage"

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
    mkdir -p "$stage/usr/share/openvswitch"
    cp -a /usr/share/openvswitch/scripts /usr/share/openvswitch/vswitch.ovsschema "$stage/usr/share/openvswitch/"
    mkdir -p "$stage/bin" "$stage/etc"
    cp -L "$busybox" "$stage/bin/busybox"
    # Applets as symlinks, except names the image's own tools use.
    for applet in $("$busybox" --list); do
        case "$applet" in busybox|wait|copy|mdc|net2dot|conlink) continue ;; esac
        [ -e "$stage/bin/$applet" ] || ln -s busybox "$stage/bin/$applet"
    done
    # ovs-ctl runs the daemons under `nice -n N`; this busybox build has no nice applet.
    if [ ! -e "$stage/bin/nice" ]; then
        printf '#!/bin/sh\n# nice stand-in for ovs-ctl: drop "-n N" (priority is left as is)\n[ "$1" = -n ] && shift 2\nexec "$@"\n' > "$stage/bin/nice"
        chmod 755 "$stage/bin/nice"
    fi
    if [ ! -e "$stage/bin/uuidgen" ]; then
        printf '#!/bin/sh\n# uuidgen stand-in for ovs-ctl (system-id=random)\nexec cat /proc/sys/kernel/random/uuid\n' > "$stage/bin/uuidgen"
        chmod 755 "$stage/bin/uuidgen"
    fi
    echo 'root:x:0:0:root:/root:/bin/sh' > "$stage/etc/passwd"
    echo 'root:x:0:' > "$stage/etc/group"
    echo "build-image: staged Open vSwitch and busybox"
else
    echo "build-image: Open vSwitch or busybox not installed here: image without ovs support"
fi
echo "build-image: staged $(find "$stage" -type f | wc -l) files in $stage"

echo "build-image: docker build -t $IMAGE (PROFILE=$PROFILE)"
docker build -t "$IMAGE" --build-arg "PROFILE=$PROFILE" -f "$ROOT/Dockerfile" "$ROOT"
echo "build-image: built $IMAGE from $bin_dir"
