#!/usr/bin/env bash
# Renders web/index.html in real headless Chromium with real `conlink
# --show-config` JSON (test1, dual stack) and checks that every node is drawn
# and every link once. tests/web/test-live.py then checks the live page.
#   WEB_SCREENSHOT=path.png keeps the screenshot for a person to look at.
# Exits 0 with a SKIP line if chromium is not installed, non-zero on failure.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fixture="${root}/crates/conlink-tools/tests/fixtures/test1-show-config.json"

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "${chromium}" ]; then
  echo "SKIP: chromium is not installed (apt-get install -y chromium)"
  exit 0
fi

work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "${server_pid}" ]; then
    kill "${server_pid}" 2>/dev/null || true
    wait "${server_pid}" 2>/dev/null || true
  fi
  rm -rf "${work}"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# Serve only a copy of the page and the fixture, on loopback, any free port.
mkdir -p "${work}/site"
cp "${root}/web/index.html" "${root}/web/topology.js" "${work}/site/"
cp "${fixture}" "${work}/site/test1.json"
cp "${root}/crates/conlink-tools/tests/fixtures/dual-stack-show-config.json" "${work}/site/dual.json"
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "${work}/site" >"${work}/http.log" 2>&1 &
server_pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.* port \([0-9][0-9]*\).*/\1/p' "${work}/http.log" | head -n1)
  [ -n "${port}" ] && break
  sleep 0.1
done
[ -n "${port}" ] || fail "http.server did not start: $(cat "${work}/http.log")"

browse() {  # browse OUTPUT_FLAG URL
  timeout 90 "${chromium}" --headless --no-sandbox --disable-gpu \
    --disable-background-networking --disable-component-update --disable-sync \
    --no-first-run --user-data-dir="${work}/profile" \
    --virtual-time-budget=5000 --window-size=1100,750 "$1" "$2" 2>>"${work}/chromium.log"
}

url="http://127.0.0.1:${port}/index.html?src=test1.json"
browse --dump-dom "${url}" >"${work}/dom.html" || fail "chromium --dump-dom failed: $(tail -5 "${work}/chromium.log")"

checks=0
expect() {  # expect DESCRIPTION GREP-PATTERN
  grep -q -- "$2" "${work}/dom.html" || fail "$1 (pattern: $2)"
  checks=$((checks + 1))
}
expect "page rendered 7 nodes" 'data-rendered="7"'
for name in s1 s2 s3; do
  expect "bridge ${name} drawn" "class=\"node bridge\" data-id=\"bridge:${name}\""
done
for name in r0 h1 h2 h3; do
  expect "service ${name} drawn" "class=\"node service\" data-id=\"service:${name}\""
done
expect "edge h1 - s1 drawn" 'class="edge" data-from="service:h1" data-to="bridge:s1"'
expect "link label with ip" '192.168.1.100/24'
expect "link label with dev" '>eth-s3<'
expect "status line: each link once" '7 nodes, 6 links'
edges=$(grep -o 'class="edge"' "${work}/dom.html" | wc -l)
[ "${edges}" = 6 ] || fail "test1 drew ${edges} edges, not 6"
checks=$((checks + 1))

# Dual stack: both addresses of a link in its label.
browse --dump-dom "http://127.0.0.1:${port}/index.html?src=dual.json" >"${work}/dual.html" \
  || fail "chromium --dump-dom failed for dual.json"
grep -q '5 nodes, 4 links' "${work}/dual.html" || fail "dual stack: not 5 nodes, 4 links"
grep -q '>192.0.2.10/24<' "${work}/dual.html" || fail "dual stack: IPv4 address missing"
grep -q '>2001:db8:1::10/64<' "${work}/dual.html" || fail "dual stack: IPv6 address missing"
checks=$((checks + 3))

# A missing source must show an error, not a blank page.
browse --dump-dom "http://127.0.0.1:${port}/index.html?src=missing.json" >"${work}/missing.html" \
  || fail "chromium --dump-dom failed for missing source"
grep -q 'class="error"' "${work}/missing.html" || fail "missing source: no error shown"
grep -q 'HTTP 404' "${work}/missing.html" || fail "missing source: error does not say HTTP 404"
checks=$((checks + 2))

shot="${WEB_SCREENSHOT:-${work}/screenshot.png}"
browse --screenshot="${shot}" "${url}" >/dev/null || fail "chromium --screenshot failed"
[ "$(stat -c %s "${shot}")" -gt 5000 ] || fail "screenshot ${shot} is empty"
checks=$((checks + 1))

echo "PASS: web page draws the topology (${checks} checks)${WEB_SCREENSHOT:+; screenshot at ${shot}}"
