#!/usr/bin/env bash
# The kernel's floor for bench/netns-run.sh's topology, built without conlink by
# iproute2's batch mode (as root):
#
#   bench/floor-ip.sh N LINKS
#
# The same kernel objects conlink makes, with the same choices that keep them cheap
# (bridges without multicast snooping, no IPv6 on any veth end, outer ends sharing
# their bridge's MAC, outer ends in one interface group), in as few processes as ip
# allows: one `ip -batch` creates the N+1 namespaces, one `ip -n BR -batch` all veth
# pairs (peer straight into its node, master, up), then one `ip -n NODE -batch` per
# node for lo up, addresses and up (ip cannot change namespace inside a batch; the
# start-up of those N processes, measured on empty batches, is subtracted). No
# ethtool offload change (conlink's default `tx off`): the floor is, if anything,
# low. Then a ping from the first node to the last, and the timed delete of all
# outer ends with one request, as conlink's shutdown sends it. Prints one line:
#   RESULT n=N links=L ns_ms=A links_ms=B proc_ms=C floor_ms=A+B-C delete_ms=D
# Everything is removed on exit, also on failure (only this run's namespaces).
set -euo pipefail

N=${1:?N}
LINKS=${2:-1}
TAG=fi$(( $$ % 100000 ))
BR=${TAG}br
GROUP=25452   # conlink's OUTER_GROUP (0x636c), as in bench/netns-run.sh
WORK=$(mktemp -d /tmp/conlink-floor-ip.XXXXXX)

say() { echo "floor-ip: $*" >&2; }
now_ns() { date +%s%N; }
ms_since() { echo $(( ($(now_ns) - $1) / 1000000 )); }

cleanup() {
    local rc=$?
    ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${TAG}(br|n[0-9]+)$" \
        | sed 's/^/netns del /' >"$WORK/del" || true
    [ -s "$WORK/del" ] && ip -force -batch "$WORK/del" 2>/dev/null || true
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { say "must run as root"; exit 1; }
addr() { echo "10.$1.$(( $2 / 256 )).$(( $2 % 256 ))/16"; }

{ echo "netns add $BR"; for i in $(seq 1 "$N"); do echo "netns add ${TAG}n$i"; done; } >"$WORK/ns"
t0=$(now_ns)
ip -batch "$WORK/ns"
ns_ms=$(ms_since "$t0")

# Not timed: the bridges (a few ms in conlink too) and the IPv6 defaults, which
# conlink sets with one /proc write per namespace and ip needs a process for. With
# them, new veth ends run no IPv6 (as in conlink).
{
    echo "link add s1 type bridge mcast_snooping 0"
    echo "link set s1 up"
    if [ "$LINKS" = 2 ]; then echo "link add s2 type bridge mcast_snooping 0"; echo "link set s2 up"; fi
} >"$WORK/bridges"
ip -n "$BR" -batch "$WORK/bridges"
for i in $(seq 1 "$N"); do echo "netns exec ${TAG}n$i sysctl -qw net.ipv6.conf.default.disable_ipv6=1"; done >"$WORK/sysctl"
echo "netns exec $BR sysctl -qw net.ipv6.conf.default.disable_ipv6=1" >>"$WORK/sysctl"
ip -batch "$WORK/sysctl" >/dev/null
mac1=$(ip -n "$BR" -br link show s1 | awk '{print $3}')
mac2=$( [ "$LINKS" = 2 ] && ip -n "$BR" -br link show s2 | awk '{print $3}' || true)

for i in $(seq 1 "$N"); do
    echo "link add o$i address $mac1 group $GROUP master s1 up type veth peer name eth0 netns ${TAG}n$i"
    if [ "$LINKS" = 2 ]; then
        echo "link add p$i address $mac2 group $GROUP master s2 up type veth peer name eth1 netns ${TAG}n$i"
    fi
done >"$WORK/links"
for i in $(seq 1 "$N"); do
    {
        echo "link set lo up"
        echo "addr add $(addr 1 "$i") dev eth0"
        echo "link set eth0 up"
        if [ "$LINKS" = 2 ]; then echo "addr add $(addr 2 "$i") dev eth1"; echo "link set eth1 up"; fi
    } >"$WORK/n$i"
done
: >"$WORK/empty"

t0=$(now_ns)
ip -n "$BR" -batch "$WORK/links"
for i in $(seq 1 "$N"); do ip -n "${TAG}n$i" -batch "$WORK/n$i"; done
links_ms=$(ms_since "$t0")
t0=$(now_ns)
for i in $(seq 1 "$N"); do ip -n "${TAG}n$i" -batch "$WORK/empty"; done
proc_ms=$(ms_since "$t0")

last_ip=$(addr 1 "$N"); last_ip=${last_ip%/16}
ok=0
for _ in $(seq 1 20); do
    if ip netns exec "${TAG}n1" ping -c1 -W1 -q "$last_ip" >/dev/null 2>&1; then ok=1; break; fi
done
[ "$ok" = 1 ] || { say "ping ${TAG}n1 -> $last_ip failed"; exit 1; }

t0=$(now_ns)
ip -n "$BR" link del group "$GROUP"
delete_ms=$(ms_since "$t0")

echo "RESULT n=$N links=$(( N * LINKS )) ns_ms=$ns_ms links_ms=$links_ms proc_ms=$proc_ms" \
    "floor_ms=$(( ns_ms + links_ms - proc_ms )) delete_ms=$delete_ms"
