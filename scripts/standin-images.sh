#!/usr/bin/env bash
# Local stand-ins for the root Dockerfile's base images, for machines that
# cannot pull from an image registry (like the one the tests run on):
#
#   scripts/standin-images.sh          # create what is missing, print the build args
#   scripts/standin-images.sh python   # conlink-standin/python:3 (workload image
#                                      # for the original's test10/test11)
#
# - conlink-standin/debian:bookworm-slim  for RUNTIME_IMAGE (debian:bookworm-slim):
#   a minbase debootstrap of Debian bookworm whose apt source is a local
#   file: repository holding the Dockerfile's TOOLBOX_PACKAGES and their
#   dependencies, so the Dockerfile's own `apt-get update && apt-get install`
#   runs unchanged with `docker build --network none`;
# - conlink-standin/rust:bookworm          for RUST_IMAGE (rust:1-bookworm):
#   debootstrap + gcc/libc6-dev, this machine's Rust toolchain at the official
#   image's paths (RUSTUP_HOME=/usr/local/rustup, CARGO_HOME=/usr/local/cargo)
#   and `cargo vendor` of Cargo.lock with source replacement in
#   $CARGO_HOME/config.toml, so `cargo build --locked` needs no network.
#
# The debootstrapped images carry a label with the hash of what they were
# made from (package list, toolchain version); a matching image is reused, any
# other is replaced. The crates layer is rebuilt from docker's cache. debootstrap needs the Debian mirror once per machine (its
# downloads are cached in $STANDIN_CACHE).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${STANDIN_CACHE:-/var/cache/conlink-standin}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
RUNTIME=conlink-standin/debian:bookworm-slim
RUST_BASE=conlink-standin/rust-base:bookworm
RUST=conlink-standin/rust:bookworm
LABEL=org.conlink.standin.key
# Bump to rebuild a stand-in after changing how it is made.
RUNTIME_RECIPE=2
RUST_RECIPE=1

say() { echo "standin: $*" >&2; }
die() { echo "standin: ERROR: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot)"

need() { # COMMAND PACKAGE
    command -v "$1" >/dev/null && return
    say "installing $2"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "$2" >/dev/null ||
        { apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null &&
          DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "$2" >/dev/null; }
}

key_of() { sha256sum | cut -c1-16; }
image_key() { docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true; }

# Work directories are removed on exit, whatever happens.
WORK=
cleanup() { [ -z "$WORK" ] || rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$CACHE/debs"
WORK=$(mktemp -d "$CACHE/work.XXXXXX")

debootstrap_into() { # DIR [PACKAGE,...]
    local include=()
    [ -z "${2:-}" ] || include=(--include="$2")
    say "debootstrap $SUITE into $1 ${2:+(+ $2)}"
    debootstrap --variant=minbase --cache-dir="$CACHE/debs" "${include[@]}" "$SUITE" "$1" "$MIRROR" \
        >"$WORK/debootstrap.log" 2>&1 || { tail -n 20 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
    slim "$1"
}

slim() { # DIR: drop what the official slim images leave out, and apt's caches
    rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb \
        "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/locale/*
}

import_rootfs() { # DIR IMAGE KEY CHANGE...
    local dir=$1 image=$2 key=$3
    shift 3
    local changes=(--change "LABEL $LABEL=$key")
    local c
    for c in "$@"; do changes+=(--change "$c"); done
    tar --numeric-owner -C "$dir" -c . | docker import "${changes[@]}" - "$image" >/dev/null
    say "imported $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
}

toolbox_packages() { # the default of the Dockerfile's ARG TOOLBOX_PACKAGES
    sed -n 's/^ARG TOOLBOX_PACKAGES="\(.*\)"$/\1/p' "$ROOT/Dockerfile"
}

runtime_standin() {
    local pkgs key
    pkgs=$(toolbox_packages)
    [ -n "$pkgs" ] || die "no ARG TOOLBOX_PACKAGES=\"...\" line in $ROOT/Dockerfile"
    key=$(printf '%s\n' "$RUNTIME_RECIPE" "$SUITE" "$pkgs" | key_of)
    if [ "$(image_key "$RUNTIME")" = "$key" ]; then
        say "$RUNTIME present"
        return
    fi
    need debootstrap debootstrap
    need apt-ftparchive apt-utils
    local dir=$WORK/runtime repo=/var/local/standin-repo
    debootstrap_into "$dir"
    # The toolbox's .debs (with what they need beyond minbase), downloaded in
    # the rootfs's own apt so dependencies resolve against its package set.
    cp /etc/resolv.conf "$dir/etc/resolv.conf"
    say "downloading the toolbox packages: $pkgs"
    # shellcheck disable=SC2086 # the package list is words
    chroot "$dir" sh -c "apt-get update -q && apt-get install -y -q --download-only --no-install-recommends $pkgs" \
        >"$WORK/download.log" 2>&1 || { tail -n 20 "$WORK/download.log" >&2; die "downloading the toolbox failed"; }
    mkdir -p "$dir$repo"
    mv "$dir"/var/cache/apt/archives/*.deb "$dir$repo/"
    (cd "$dir$repo" && apt-ftparchive packages . >Packages)
    rm -rf "$dir"/etc/apt/sources.list.d/*
    slim "$dir"
    echo "deb [trusted=yes] file:$repo ./" >"$dir/etc/apt/sources.list"
    : >"$dir/etc/resolv.conf"
    say "local apt repository: $(find "$dir$repo" -name '*.deb' | wc -l) packages, $(du -sh "$dir$repo" | cut -f1)"
    import_rootfs "$dir" "$RUNTIME" "$key" 'CMD ["bash"]'
    rm -rf "$dir"
}

rust_base_standin() {
    local sysroot version key
    sysroot=$(rustc --print sysroot) || die "no Rust toolchain here (rustc)"
    version=$(rustc -vV | sed -n 's/^release: //p')
    key=$(printf '%s\n' "$RUST_RECIPE" "$SUITE" "$(rustc -vV)" | key_of)
    if [ "$(image_key "$RUST_BASE")" = "$key" ]; then
        say "$RUST_BASE present (rustc $version)"
        return
    fi
    need debootstrap debootstrap
    local dir=$WORK/rust
    debootstrap_into "$dir" gcc,libc6-dev,ca-certificates
    local host tc
    host=$(rustc -vV | sed -n 's/^host: //p')
    tc=$dir/usr/local/rustup/toolchains/$version-$host
    mkdir -p "$tc" "$dir/usr/local/cargo/bin"
    # The toolchain without its documentation (800 MB).
    say "copying the Rust toolchain $sysroot"
    (cd "$sysroot" && tar -c --exclude=./share/doc .) | tar -C "$tc" -x
    for b in cargo rustc rustdoc; do
        ln -s "../../rustup/toolchains/$(basename "$tc")/bin/$b" "$dir/usr/local/cargo/bin/$b"
    done
    import_rootfs "$dir" "$RUST_BASE" "$key" \
        'ENV RUSTUP_HOME=/usr/local/rustup' 'ENV CARGO_HOME=/usr/local/cargo' \
        'ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        'CMD ["bash"]'
    rm -rf "$dir"
}

# The crates of Cargo.lock on top of the toolchain image, rebuilt every time:
# `docker build` keeps its cached layers (and so the image id the Dockerfile's
# own cache depends on) while the vendored sources are the same.
rust_standin() {
    # Skipped while Cargo.lock and the toolchain image are those of the last run.
    local stamp=$CACHE/rust-standin.key key
    key=$(cat "$ROOT/Cargo.lock"; docker image inspect -f '{{.Id}}' "$RUST_BASE")
    key=$(printf '%s' "$key" | key_of)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] && docker image inspect "$RUST" >/dev/null 2>&1; then
        say "$RUST present"
        return
    fi
    local ctx=$WORK/rust-ctx
    mkdir -p "$ctx"
    (cd "$ROOT" && cargo vendor --locked --quiet "$ctx/vendor" >/dev/null) || die "cargo vendor failed"
    cat >"$ctx/config.toml" <<'CONF'
# conlink stand-in: crates come from the vendored copy, never the network.
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "/usr/local/cargo/vendor"

[net]
offline = true
CONF
    printf '%s\n' "FROM $RUST_BASE" 'COPY vendor /usr/local/cargo/vendor' \
        'COPY config.toml /usr/local/cargo/config.toml' >"$ctx/Dockerfile"
    docker build -q --network none -t "$RUST" "$ctx" >/dev/null
    echo "$key" >"$stamp"
    say "$RUST: toolchain and the vendored crates of Cargo.lock"
}

# A workload image for the original's examples that say `image: python`:
# python3 (also as `python`), curl, sh, ip and ping (python:3-alpine has the
# last two from busybox), from the runtime stand-in's repository.
python_standin() {
    local image=conlink-standin/python:3 key
    key=$(image_key "$RUNTIME")-python2
    if [ "$(image_key "$image")" = "$key" ]; then
        say "$image present"
        return
    fi
    printf '%s\n' "FROM $RUNTIME" \
        'RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 curl iproute2 iputils-ping && rm -rf /var/lib/apt/lists/* && ln -s python3 /usr/bin/python' \
        "LABEL $LABEL=$key" | docker build -q --network none -t "$image" - >/dev/null
    say "built $image"
}

runtime_standin
if [ "${1:-}" = python ]; then
    python_standin
    exit 0
fi
rust_base_standin
rust_standin
echo "--build-arg RUST_IMAGE=$RUST --build-arg RUNTIME_IMAGE=$RUNTIME"
