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

# Extra rootfs content for the FROM-scratch image: the `nft` binary (port
# forwards and static NAT run `nft -f -` in conlink's/containers' namespaces)
# with the shared libraries it loads, at the paths `ldd` reports.
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
mkdir -p "$stage/usr/sbin"
cp -L "$NFT" "$stage/usr/sbin/nft"
# "libx.so => /lib/.../libx.so (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
ldd "$NFT" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u |
while read -r lib; do
    mkdir -p "$stage$(dirname "$lib")"
    cp -L "$lib" "$stage$lib"
done
echo "build-image: staged $(find "$stage" -type f | wc -l) files for nft in $stage"

echo "build-image: docker build -t $IMAGE (PROFILE=$PROFILE)"
docker build -t "$IMAGE" --build-arg "PROFILE=$PROFILE" -f "$ROOT/Dockerfile" "$ROOT"
echo "build-image: built $IMAGE from $bin_dir"
