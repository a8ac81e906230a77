#!/usr/bin/python3
"""One timed mininet run for bench/vs-mininet.sh (Debian's mininet 2.3, as root).

  mininet_run.py PREFIX N LINKS PIDFILE

The topology bench/topology.py gives conlink: N hosts on one LinuxBridge
(PREFIXs1), one address each (10.1.0.0/16 + i); with LINKS=2 every host also
has a second interface on bridge PREFIXs2 (10.2.0.0/16 + i). No controller.
Timed: from building the network (hosts, links, bridges) to the first ping
reply from the first host to the last. Prints
  RESULT n=N links=L wall_ms=X ping_ms=Y stop_ms=Z
The host shells' PIDs go to PIDFILE as they start, so the caller can stop
exactly those if this process dies; net.stop() removes everything otherwise.
"""
import sys
import time

from mininet.log import setLogLevel
from mininet.net import Mininet
from mininet.nodelib import LinuxBridge
from mininet.topo import Topo


def addr(net, i):
    return f"10.{net}.{i // 256}.{i % 256}"


class Star(Topo):
    def build(self, prefix, n, links):
        switches = [self.addSwitch(f"{prefix}s{k}", dpid=f"{k:016x}") for k in range(1, links + 1)]
        for i in range(1, n + 1):
            h = self.addHost(f"h{i}", ip=f"{addr(1, i)}/16")
            for k, s in enumerate(switches, start=1):
                self.addLink(h, s, params1={"ip": f"{addr(k, i)}/16"})


def main():
    prefix, n, links, pidfile = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    setLogLevel("warning")
    net = Mininet(
        topo=None, switch=LinuxBridge, controller=None, build=False, autoSetMacs=False, waitConnected=False
    )
    t0 = time.monotonic()
    net.topo = Star(prefix=prefix, n=n, links=links)
    try:
        with open(pidfile, "w") as pids:
            # Mininet.build() adds the hosts first; record each shell as it exists.
            orig_add_host = net.addHost

            def add_host(*args, **kw):
                h = orig_add_host(*args, **kw)
                pids.write(f"{h.pid}\n")
                pids.flush()
                return h

            net.addHost = add_host
            net.build()
        net.start()
        first, last = net.hosts[0], net.hosts[-1]
        t_ping = time.monotonic()
        for _ in range(20):
            out = first.cmd(f"ping -c1 -W1 -q {addr(1, n)}")
            if " 1 received" in out:
                break
        else:
            print(f"mininet_run: ping {first.name} -> {addr(1, n)} failed:\n{out}", file=sys.stderr)
            sys.exit(1)
        t1 = time.monotonic()
    finally:
        t_stop = time.monotonic()
        net.stop()
        stop_ms = (time.monotonic() - t_stop) * 1000
    print(
        f"RESULT n={n} links={n * links} wall_ms={(t1 - t0) * 1000:.0f} "
        f"ping_ms={(t1 - t_ping) * 1000:.0f} stop_ms={stop_ms:.0f}"
    )


if __name__ == "__main__":
    main()
