#!/usr/bin/env python3
"""The live graph page in real headless Chromium against a real netns-runtime lab.

`conlink graph --serve` starts first (the lab is not up: the page says the
daemon is not reachable), then the conlink daemon builds the lab (the edges
turn connected), `conlink link NODE eth0 down` must turn that edge to the down
colour within a second, `up` back, the exports must be valid (dot accepted by
`dot`, mermaid, standalone SVG), and when the daemon stops the page says so.

Needs root (network namespaces) and chromium; prints `SKIP:` and exits 0 without them.
  CONLINK_BIN=path   the conlink binary [default: the static debug build, target/ARCH-unknown-linux-gnu/debug/conlink]
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Page  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("CONLINK_BIN") or os.path.join(
    subprocess.check_output([os.path.join(ROOT, "scripts/cargo-static.sh"), "--print-target-dir", "debug"], text=True).strip(),
    "conlink",
)
DOWN_COLOUR = "#ef6c00"
CONNECTED_COLOUR = "#2e7d32"
TAG = f"gw{os.getpid() % 1000}"   # namespaces gwNNN-r0 …: unique per run
NODES = [f"{TAG}-r0", f"{TAG}-h1", f"{TAG}-h2"]
CONFIG = f"""
nodes:
  - {{name: {TAG}-r0}}
  - {{name: {TAG}-h1}}
  - {{name: {TAG}-h2}}
links:
  - {{container: {TAG}-r0, bridge: s1, dev: eth-s1, ip: [192.0.2.1/24, "2001:db8:1::1/64"]}}
  - {{container: {TAG}-r0, bridge: s2, dev: eth-s2, ip: 198.51.100.1/24}}
  - {{container: {TAG}-h1, bridge: s1, ip: [192.0.2.10/24, "2001:db8:1::10/64"]}}
  - {{container: {TAG}-h2, bridge: s2, ip: 198.51.100.10/24, netem: delay 5ms}}
"""
H1_EDGE = f'.edge[data-from="container:{TAG}-h1"][data-dev="eth0"]'
H2_EDGE = f'.edge[data-from="container:{TAG}-h2"][data-dev="eth0"]'
FAILED_COLOUR = "#c62828"

checks = 0


def fail(msg):
    raise AssertionError(msg)


def check(cond, msg):
    global checks
    if not cond:
        fail(msg)
    checks += 1


def wait_for(what, fn, timeout, interval=0.02):
    """Polls fn until it returns a truthy value; returns (value, seconds taken)."""
    start = time.monotonic()
    while True:
        v = fn()
        if v:
            return v, time.monotonic() - start
        if time.monotonic() - start > timeout:
            fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def chromium_path():
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    return None


def main():
    if os.geteuid() != 0:
        print("SKIP: live graph test needs root (network namespaces)")
        return 0
    chromium = chromium_path()
    if not chromium:
        print("SKIP: chromium is not installed (apt-get install -y chromium)")
        return 0
    if not os.access(BIN, os.X_OK):
        fail(f"no conlink binary at {BIN} (cargo build -p conlink)")

    work = tempfile.mkdtemp(prefix="conlink-live-")
    procs = []
    try:
        run(work, chromium, procs)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for ns in NODES + [f"{TAG}-br"]:
            if os.path.exists(f"/run/netns/{ns}"):
                subprocess.run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(work, ignore_errors=True)
    print(f"PASS: live graph page follows the lab ({checks} checks)")
    return 0


def run(work, chromium, procs):
    cfg = os.path.join(work, "lab.yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG)
    sock = os.path.join(work, "ctl.sock")
    common = ["--network-file", cfg, "--netns", f"{TAG}-br", "--control-socket", sock]

    # 1. The server first: the lab is not up yet.
    serve_log = open(os.path.join(work, "serve.log"), "w+")
    serve = subprocess.Popen([BIN, "graph", "--serve", "127.0.0.1:0"] + common, stdout=serve_log,
                             stderr=subprocess.STDOUT)
    procs.append(serve)

    def url():
        serve_log.seek(0)
        for line in serve_log.read().splitlines():
            if "serving http://" in line:
                return line.split("serving ", 1)[1].split(" ", 1)[0]
        return None
    base, _ = wait_for("conlink graph --serve to print its URL", url, 20)
    check(base.startswith("http://127.0.0.1:"), f"served on loopback: {base}")

    profile = os.path.join(work, "profile")
    chrome = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         f"--user-data-dir={profile}", "--remote-debugging-port=0", "--remote-allow-origins=*",
         "--window-size=1200,800", base],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "chromium.log"), "w"))
    procs.append(chrome)

    def devtools_port():
        try:
            with open(os.path.join(profile, "DevToolsActivePort")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None
    port, _ = wait_for("chromium's DevToolsActivePort", devtools_port, 30, 0.1)
    page = Page.first(port)

    status = lambda: page.eval("(document.getElementById('status') || {}).textContent || ''")  # noqa: E731
    wait_for("the page to say the daemon is not reachable", lambda: "daemon not reachable" in status(), 10, 0.1)
    check(page.eval("document.body.dataset.rendered") == "5", "config drawn without the daemon: 2 bridges, 3 nodes")
    check(page.eval("document.querySelectorAll('.edge').length") == 4, "4 edges, one per link")

    # 2. The lab comes up: the edges turn connected (h2's, with netem, fails
    #    where the kernel lacks netem: then it must be drawn failed, in red).
    daemon_log = open(os.path.join(work, "daemon.log"), "w+")
    daemon = subprocess.Popen([BIN] + common, stdout=daemon_log, stderr=subprocess.STDOUT)
    procs.insert(0, daemon)  # stopped last
    states = "[...document.querySelectorAll('.edge')].map(e => e.dataset.state).join(',')"
    settled = ("connected,connected,connected,connected", "connected,connected,connected,failed")
    _, took = wait_for("every edge connected or failed", lambda: page.eval(states) in settled, 30)
    print(f"page showed the lab's states {took:.2f}s after the daemon started")
    label = page.eval(f"document.querySelector('{H1_EDGE} text').textContent")
    check("192.0.2.10/24" in label and "2001:db8:1::10/64" in label, f"dual-stack label has both addresses: {label}")
    h2_label = page.eval(f"document.querySelector('{H2_EDGE} text').textContent")
    check("netem delay 5ms" in h2_label, f"netem shown on the edge: {h2_label}")
    if page.eval(f"document.querySelector('{H2_EDGE}').dataset.state") == "failed":
        check(page.eval(f"document.querySelector('{H2_EDGE} line').getAttribute('stroke')") == FAILED_COLOUR,
              "failed link in the failed colour")
        tip = page.eval(f"document.querySelector('{H2_EDGE} > title').textContent")
        check("kernel lacks netem" in tip, f"the error is in the edge's tooltip: {tip}")
        check("1 failed" in status(), f"status line counts the failed link: {status()}")
        print("kernel lacks netem here: h2's link drawn failed with its error")
    else:
        check("all links connected" in status(), f"status line: {status()}")

    # 3. A cut cable: the edge turns the down colour within a second.
    stroke = f"document.querySelector('{H1_EDGE} line').getAttribute('stroke')"
    check(page.eval(stroke) == CONNECTED_COLOUR, "connected colour before")
    start = time.monotonic()
    out = subprocess.run([BIN, "link", f"{TAG}-h1", "eth0", "down", "--control-socket", sock],
                         capture_output=True, text=True)
    check(out.returncode == 0 and "link set down" in out.stdout, f"conlink link down: {out.stdout}{out.stderr}")
    wait_for("the h1 edge in the down colour", lambda: page.eval(stroke) == DOWN_COLOUR, 5)
    took = time.monotonic() - start
    print(f"edge turned the down colour {took * 1000:.0f} ms after `conlink link … down` was started")
    check(took < 1.0, f"down colour within a second (took {took:.2f}s)")
    check(page.eval(f"document.querySelector('{H1_EDGE}').dataset.state") == "down", "edge state down")
    check("1 down" in status() and "all links connected" not in status(), f"status line counts the down link: {status()}")
    out = subprocess.run([BIN, "status", "--check", "--control-socket", sock], capture_output=True, text=True)
    check(out.returncode == 1, f"status --check fails while a link is down (rc {out.returncode})")
    req = "GET /graph.json HTTP/1.1\r\nHost: rebound.example:80\r\n\r\n"
    with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1].strip("/")))) as s:
        s.sendall(req.encode())
        reply = s.recv(200).decode()
    check(reply.startswith("HTTP/1.1 403"), f"a foreign Host is refused (DNS rebinding): {reply[:40]}")

    start = time.monotonic()
    subprocess.run([BIN, "link", f"{TAG}-h1", "eth0", "up", "--control-socket", sock], check=True, capture_output=True)
    wait_for("the h1 edge connected again", lambda: page.eval(stroke) == CONNECTED_COLOUR, 5)
    check(time.monotonic() - start < 1.0, "connected colour back within a second")

    # Zoom (wheel) and pan (drag) move the view, and survive the next update.
    transform = "document.getElementById('viewport').getAttribute('transform')"
    scale = lambda: float(page.eval(transform).split("scale(")[1].rstrip(")"))  # noqa: E731
    before = scale()
    page.call("Input.dispatchMouseEvent", type="mouseWheel", x=600, y=400, deltaX=0, deltaY=-400)
    wait_for("the wheel to zoom in", lambda: scale() > before * 1.3, 3)
    t0 = page.eval(transform)
    page.call("Input.dispatchMouseEvent", type="mousePressed", x=600, y=400, button="left", clickCount=1)
    page.call("Input.dispatchMouseEvent", type="mouseMoved", x=680, y=450, button="left", buttons=1)
    page.call("Input.dispatchMouseEvent", type="mouseReleased", x=680, y=450, button="left", clickCount=1)
    panned = page.eval(transform)
    check(panned != t0 and panned.startswith("translate("), f"drag pans: {t0} -> {panned}")
    updates = page.eval("Number(document.body.dataset.updates)")
    subprocess.run([BIN, "link", f"{TAG}-h1", "eth0", "down", "--control-socket", sock], check=True, capture_output=True)
    wait_for("an update", lambda: page.eval("Number(document.body.dataset.updates)") > updates, 5)
    check(page.eval(transform) == panned, "zoom and pan kept across updates")
    subprocess.run([BIN, "link", f"{TAG}-h1", "eth0", "up", "--control-socket", sock], check=True, capture_output=True)

    # 4. Exports: dot that graphviz accepts, mermaid, a standalone SVG.
    dot = page.eval("fetch('graph.dot').then(r => r.text())")
    check(dot.startswith("digraph conlink {") and dot.count(" -> ") == 4, f"dot export: {dot[:200]}")
    if shutil.which("dot"):
        r = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True)
        check(r.returncode == 0 and "<svg" in r.stdout, f"dot -Tsvg accepts the export: {r.stderr}")
    else:
        print("skipped: dot -Tsvg check of the export: graphviz is not installed")
    mmd = page.eval("fetch('graph.mmd').then(r => r.text())")
    check(mmd.startswith("flowchart TB") and mmd.count("---|") == 4, f"mermaid export: {mmd[:200]}")
    svg = page.eval("svgText()")
    root = ET.fromstring(svg.split("?>", 1)[1])
    check(root.tag.endswith("svg") and f"{TAG}-h1" in svg and CONNECTED_COLOUR in svg,
          "SVG export is standalone XML with the nodes and state colours")

    # 5. A second server without config files: config and states from the daemon alone.
    serve2_log = open(os.path.join(work, "serve2.log"), "w+")
    serve2 = subprocess.Popen([BIN, "graph", "--serve", "127.0.0.1:0", "--control-socket", sock],
                              stdout=serve2_log, stderr=subprocess.STDOUT)
    procs.append(serve2)

    def url2():
        serve2_log.seek(0)
        text = serve2_log.read()
        return text.split("serving ", 1)[1].split(" ", 1)[0] if "serving http://" in text else None
    base2, _ = wait_for("the second server's URL", url2, 20)
    page2 = Page.open(port, base2)
    wait_for("the daemon-only page to draw the lab", lambda: page2.eval(states) in settled, 10)

    # 6. The daemon goes away: the pages say so. With config files the config
    #    stays drawn without states; from the daemon alone the last drawing stays, marked stale.
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(20)
    wait_for("the page to notice the daemon stopped", lambda: "daemon not reachable" in status(), 5, 0.1)
    check(page.eval(states) == ",,,", "no live state without the daemon")
    wait_for("the daemon-only page to mark its drawing stale", lambda: page2.eval("document.body.dataset.stale") == "1", 5)
    check(page2.eval("document.querySelectorAll('.edge').length") == 4, "the last drawing stays")
    msg = page2.eval("document.getElementById('status').textContent")
    check("cannot reach conlink" in msg and "last known state" in msg, f"daemon-only page says why: {msg}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (AssertionError, RuntimeError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
