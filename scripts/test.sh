#!/usr/bin/env bash
# The project's test command (README "Test"): installs and starts what is missing
# (dockerd, compose plugin, test images), builds once, runs every test suite, and
# stops what it started.
#   scripts/test.sh            # everything
#   SKIP_WEB=1 scripts/test.sh # without the headless-browser page test
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# Style and lints first: cheap, and a failure here fails the run before anything starts.
echo "== cargo fmt --check, cargo clippy"
cargo fmt --all -- --check
# Same target directory as the build below (static, this architecture).
scripts/cargo-static.sh clippy --workspace --all-targets -- -D warnings
# A missing dockerd or image is a failure here, not a skip.
export CONLINK_E2E_REQUIRED=1

log_dir=$(mktemp -d /tmp/conlink-test.XXXXXX)
# Stop at the end only the daemons this run started; ones already up stay.
export KEEP_DOCKERD=0 KEEP_PODMAN=0
if docker info >/dev/null 2>&1; then KEEP_DOCKERD=1; fi
if [ -S /var/run/podman/podman.sock ] && curl -sf --unix-socket /var/run/podman/podman.sock http://d/_ping >/dev/null 2>&1; then
    KEEP_PODMAN=1
fi
cleanup() { scripts/test-env.sh down || true; }
trap cleanup EXIT

echo "== environment"
scripts/test-env.sh up
# net2dot's tests render with graphviz `dot`; the web page test needs chromium.
need_pkgs=()
command -v dot >/dev/null || need_pkgs+=(graphviz)
if [ "${SKIP_WEB:-0}" != 1 ]; then
    command -v chromium >/dev/null || command -v chromium-browser >/dev/null || need_pkgs+=(chromium)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
    echo "== installing ${need_pkgs[*]}"
    apt-get -o DPkg::Lock::Timeout=600 update -q
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "${need_pkgs[@]}"
fi

# cargo-static.sh: static binaries for this machine's architecture in
# target/ARCH-unknown-linux-gnu/, so the e2e tests can bind-mount the tools
# into any image; the image itself is the root Dockerfile's (built from source
# on local stand-in base images: no registry needed).
echo "== build (one static debug build serves the tests)"
scripts/cargo-static.sh build --workspace --bins
scripts/cargo-static.sh test --workspace --no-run 2>&1 | tail -n 3
echo "== conlink image (root Dockerfile, debug profile)"
scripts/build-image.sh debug

echo "== cargo test (unit, kernel, engine, e2e)"
set +e
scripts/cargo-static.sh test --workspace --no-fail-fast -- --test-threads=2 2>&1 | tee "$log_dir/cargo-test.log"
cargo_rc=${PIPESTATUS[0]}
set -e

web_passed=0 web_failed=0
if [ "${SKIP_WEB:-0}" != 1 ] && [ -x tests/web/test-web.sh ]; then
    echo "== web page in headless chromium"
    if tests/web/test-web.sh; then web_passed=1; else web_failed=1; fi
    echo "== live graph page (conlink graph --serve) in headless chromium against a netns lab"
    if python3 tests/web/test-live.py; then web_passed=$((web_passed + 1)); else web_failed=$((web_failed + 1)); fi
fi

passed=$(grep -Eo '[0-9]+ passed' "$log_dir/cargo-test.log" | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$log_dir/cargo-test.log" | awk '{s+=$1} END {print s+0}')
ignored=$(grep -Eo '[0-9]+ ignored' "$log_dir/cargo-test.log" | awk '{s+=$1} END {print s+0}')
skips=$(grep -c '^skipped' "$log_dir/cargo-test.log" || true)
echo "== skips reported by tests: $skips"
grep '^skipped' "$log_dir/cargo-test.log" || true
passed=$((passed + web_passed))
failed=$((failed + web_failed))
if [ "$cargo_rc" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
echo "tests: $passed passed, $failed failed, $ignored skipped"
[ "$failed" = 0 ]
