#!/bin/sh
# cargo, building static binaries for this machine's architecture:
#
#   scripts/cargo-static.sh build -p conlink --release
#   scripts/cargo-static.sh --print-target-dir [debug|release]
#
# The target is the host's own (x86_64-, aarch64-… -unknown-linux-gnu) and glibc
# is linked statically (+crt-static), so one build serves the unit and kernel
# tests, the e2e binaries and the images. It sets the target through cargo's
# environment, not a .cargo/config.toml, so a plain `cargo build` still builds
# ordinary binaries for any architecture. CARGO_BUILD_TARGET, when already
# set, wins (cross-building: see README "Other architectures").
set -eu
arch=$(uname -m)
[ "$arch" = arm64 ] && arch=aarch64
: "${CARGO_BUILD_TARGET:=$arch-unknown-linux-gnu}"
export CARGO_BUILD_TARGET
# CARGO_TARGET_<TRIPLE>_RUSTFLAGS: the triple upper-cased, '-' and '.' as '_'.
var=CARGO_TARGET_$(printf '%s' "$CARGO_BUILD_TARGET" | LC_ALL=C tr '[:lower:]' '[:upper:]' | LC_ALL=C tr -c 'A-Z0-9' '_')_RUSTFLAGS
current=$(printenv "$var" || true)
case " $current " in
    *crt-static*) ;;
    *) export "$var=${current:+$current }-C target-feature=+crt-static" ;;
esac
if [ "${1:-}" = --print-target-dir ]; then
    root=$(CDPATH='' cd "$(dirname "$0")/.." && pwd)
    echo "${CARGO_TARGET_DIR:-$root/target}/$CARGO_BUILD_TARGET/${2:-debug}"
    exit 0
fi
exec cargo "$@"
