# The conlink image, built from source:
#
#   docker build -t conlink .
#   docker build -t conlink --build-arg PROFILE=debug .     # faster build, bigger binaries
#
# Stage 1 compiles conlink and conlink-tools (static, for the build machine's
# architecture); stage 2 is Debian slim with the debugging toolbox of the
# original conlink image, so `docker compose exec network tcpdump -i s1` works.
# Compose files may call conlink as /bin/conlink or, like the original's,
# /app/build/conlink.js. No ENTRYPOINT: compose files give the command.
#
# Base images are build arguments so that a machine without registry access
# can build this same file from local stand-ins (scripts/build-image.sh).
ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
# release (optimised, stripped) or debug
ARG PROFILE=release
WORKDIR /src
COPY scripts/cargo-static.sh scripts/
COPY Cargo.toml Cargo.lock ./
COPY crates/conlink/Cargo.toml crates/conlink/
COPY crates/conlink-config/Cargo.toml crates/conlink-config/
COPY crates/conlink-kernel/Cargo.toml crates/conlink-kernel/
COPY crates/conlink-settings/Cargo.toml crates/conlink-settings/
COPY crates/conlink-tools/Cargo.toml crates/conlink-tools/
# Dependencies first, against empty crates: this layer is reused until
# Cargo.toml/Cargo.lock change, so a source change recompiles only conlink's crates.
RUN set -eu; \
    case "$PROFILE" in release) flag=--release ;; debug) flag= ;; \
        *) echo "PROFILE must be release or debug, not '$PROFILE'" >&2; exit 1 ;; esac; \
    for c in crates/*/; do mkdir -p "$c/src"; echo 'fn main() {}' > "$c/src/main.rs"; : > "$c/src/lib.rs"; done; \
    scripts/cargo-static.sh build --locked $flag -p conlink -p conlink-tools; \
    rm -rf crates/*/src
COPY crates/ crates/
# The page `conlink graph` serves is compiled in (include_str!).
COPY web/index.html web/topology.js web/
# touch: the sources are older than the stub build, whose results cargo would
# otherwise take as up to date.
RUN set -eu; \
    case "$PROFILE" in release) flag=--release ;; *) flag= ;; esac; \
    find crates -name '*.rs' -exec touch {} +; \
    scripts/cargo-static.sh build --locked $flag -p conlink -p conlink-tools; \
    out=$(scripts/cargo-static.sh --print-target-dir "$PROFILE"); \
    mkdir -p /out/utils; cp "$out/conlink" "$out/conlink-runc" "$out/conlink-tools" /out/; \
    for t in wait copy echo; do ln /out/conlink-tools "/out/utils/$t"; done; \
    for t in wait copy; do \
        printf '#!/bin/sh\n# %s.sh as in the original image: runs the %s tool next to this script.\nexec "$(dirname "$0")/%s" "$@"\n' "$t" "$t" "$t" > "/out/utils/$t.sh"; \
        chmod 755 "/out/utils/$t.sh"; \
    done

FROM ${RUNTIME_IMAGE}
# The original image's toolbox: ip/tc/bridge, tcpdump, ping, ethtool, nft and
# iptables (conlink itself runs `nft` for port forwards and NAT), jq, socat,
# nc, brctl, curl and Open vSwitch (`ovs` bridges run a private OVS).
ARG TOOLBOX_PACKAGES="iproute2 tcpdump iputils-ping ethtool nftables iptables jq socat netcat-openbsd bridge-utils curl openvswitch-switch procps"
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $TOOLBOX_PACKAGES \
 && rm -rf /var/lib/apt/lists/*
# conlink-runc: the OCI runtime of "links before the workload starts" (README).
COPY --from=build /out/conlink /out/conlink-runc /out/conlink-tools /bin/
# The original's layout: /app/build/conlink.js is conlink; /utils holds the
# static helpers that compose files copy out of this image into workloads
# (real files, each picking its tool from its own name); wait.sh and copy.sh
# run the binary next to them.
COPY --from=build /out/utils/ /utils/
RUN mkdir -p /app/build \
 && ln -s /bin/conlink /app/build/conlink.js \
 && for t in wait copy mdc net2dot; do ln -s conlink-tools "/usr/bin/$t"; done
ENV PATH=/app:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /app
