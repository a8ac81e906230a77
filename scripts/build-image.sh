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

echo "build-image: docker build -t $IMAGE (PROFILE=$PROFILE)"
docker build -t "$IMAGE" --build-arg "PROFILE=$PROFILE" -f "$ROOT/Dockerfile" "$ROOT"
echo "build-image: built $IMAGE from $bin_dir"
