# conlink image: static binaries on an empty base, so it builds offline
# (nothing to pull) and runs anywhere. Build with scripts/build-image.sh.
# No ENTRYPOINT: compose files say `command: /bin/conlink --compose-file ...`
# exactly as with the original image.
FROM scratch
ARG PROFILE=release
COPY target/x86_64-unknown-linux-gnu/${PROFILE}/conlink /bin/conlink
COPY target/x86_64-unknown-linux-gnu/${PROFILE}/conlink-tools /bin/conlink-tools
# scratch has no `ln`: the helper tools are copies of the multi-call binary,
# which dispatches on its argv[0].
COPY target/x86_64-unknown-linux-gnu/${PROFILE}/conlink-tools /bin/wait
COPY target/x86_64-unknown-linux-gnu/${PROFILE}/conlink-tools /bin/copy
COPY target/x86_64-unknown-linux-gnu/${PROFILE}/conlink-tools /bin/mdc
COPY target/x86_64-unknown-linux-gnu/${PROFILE}/conlink-tools /bin/net2dot
# nft and its shared libraries, staged by scripts/build-image.sh (port
# forwards and static NAT are nftables rulesets).
COPY target/image-rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# WORKDIR creates the (empty) directory without needing a shell in the image.
WORKDIR /tmp
WORKDIR /
