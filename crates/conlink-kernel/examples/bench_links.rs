//! Kernel work per link: conlink-kernel's `Nl` vs `ip -batch`.
//!
//!     cargo run --release -p conlink-kernel --example bench_links -- [N] [ROUNDS]
//!
//! Builds the topology of bench/run.sh's compose project without any
//! container engine: one "bridge" namespace holding bridges s1 and s2, N
//! "container" namespaces, and in each container two veth links (eth0 on s1,
//! eth1 on s2) with MAC, MTU 65535, an IPv4 address and the link up. Only the
//! link work is timed; the namespaces and bridges are made once beforehand and
//! deleted at the end. After each variant its links are deleted synchronously
//! (deleting namespaces instead would leave the kernel's asynchronous netns
//! cleanup running under the next variant and skew it).
//!
//! Variants, ROUNDS times each (default 3; order alternating; the median
//! round is reported):
//!   ip-batch     `ip -n BR -batch` creating the 2N veths (peer straight into
//!                the container namespace, master, mtu, mac, up), then one
//!                `ip -n Ci -batch` per container for `addr add` + `link set up`
//!                (N+1 processes: ip cannot switch namespace inside a batch).
//!                Also shown net of process start (an empty `ip -batch`).
//!   nl-links     the same operations through `Nl`, sequentially, as the daemon
//!                issues them: connect to the container namespace, then per link
//!                create_veth_with (master, outer_up, mtu, mac), add_address,
//!                set_up.
//!   nl-daemon    what the daemon really does per link today: nl-links plus the
//!                stale-outer delete_link before each create and the default
//!                `ethtool --offload tx off` (apply_ethtool).
//!   nl-ethtool-fd  nl-daemon with the ethtool ioctl on the `Nl`'s own socket
//!                (`Nl::apply_ethtool`) instead of a thread per setting, and the
//!                outer ends in one interface group (deleted afterwards with one
//!                `Nl::delete_group` instead of one delete_link per link).
//!   nl-parallel  nl-daemon for all containers at once (one task each, as the
//!                daemon spawns one per container) on a 2-worker runtime.
//!   nl-pipelined per container: bridge-side deletes+creates sent back to back,
//!                then addresses + ups of both links sent back to back (one
//!                GETLINK dump for the indexes): fewest waits on replies.
//!
//! The per-operation breakdown of nl-daemon shows where the time goes.
//! Needs root. Prints a table and the ratios vs ip -batch.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use conlink_kernel::{apply_ethtool, EthtoolSetting, Netns, Nl, VethRequest};
use ipnet::IpNet;

const MTU: u32 = 65535;

struct Topo {
    tag: String,
    br_name: String,
    br: Netns,
    bridge_idx: [u32; 2],
    c_names: Vec<String>,
    cs: Vec<Netns>,
}

fn mac(c: usize, l: usize) -> [u8; 6] {
    [0xc2, 0x00, l as u8, (c >> 16) as u8, (c >> 8) as u8, c as u8]
}

fn addr(c: usize, l: usize) -> IpNet {
    let c = c + 1;
    IpNet::new(IpAddr::V4(Ipv4Addr::new(10, 1 + l as u8, (c >> 8) as u8, c as u8)), 16).unwrap()
}

fn outer(c: usize, l: usize) -> String {
    format!("node_{}-eth{l}", c + 1)
}

fn inner(l: usize) -> String {
    format!("eth{l}")
}

async fn setup(n: usize) -> Topo {
    let tag = format!("clb{}", std::process::id());
    let br_name = format!("{tag}-br");
    let br = Netns::create_named(&br_name).unwrap_or_else(|e| panic!("create netns {br_name}: {e}"));
    let nl = Nl::connect(&br).await.unwrap();
    let mut bridge_idx = [0; 2];
    for (i, b) in ["s1", "s2"].iter().enumerate() {
        nl.create_bridge(b).await.unwrap();
        bridge_idx[i] = nl.index_of(b).await.unwrap();
    }
    let mut c_names = Vec::new();
    let mut cs = Vec::new();
    for i in 0..n {
        let name = format!("{tag}-c{i}");
        cs.push(Netns::create_named(&name).unwrap_or_else(|e| panic!("create netns {name}: {e}")));
        c_names.push(name);
    }
    Topo { tag, br_name, br, bridge_idx, c_names, cs }
}

/// Removes the links a variant made (deleting an outer end deletes its peer),
/// synchronously, so the next variant starts on the same empty namespaces and
/// no kernel cleanup from this one runs in the background of the next.
async fn reset(t: &Topo, by_group: bool) -> Duration {
    let nl = Nl::connect(&t.br).await.unwrap();
    let t0 = Instant::now();
    if by_group {
        nl.delete_group(GROUP).await.unwrap();
    } else {
        for c in 0..t.cs.len() {
            for l in 0..2 {
                nl.delete_link(&outer(c, l)).await.unwrap();
            }
        }
    }
    let d = t0.elapsed();
    drop(nl);
    tokio::time::sleep(Duration::from_millis(300)).await;
    d
}

/// Interface group of the outer ends in the variants that delete by group.
const GROUP: u32 = 4242;

fn teardown(t: Topo) {
    let Topo { br_name, c_names, br, cs, .. } = t;
    drop(cs);
    drop(br);
    for name in c_names.iter().chain(std::iter::once(&br_name)) {
        if let Err(e) = Netns::delete_named(name) {
            eprintln!("cleanup of netns {name}: {e}");
        }
    }
}

#[derive(Default, Clone)]
struct Breakdown {
    ops: BTreeMap<&'static str, (u64, Duration)>,
}

impl Breakdown {
    fn add(&mut self, op: &'static str, d: Duration) {
        let e = self.ops.entry(op).or_default();
        e.0 += 1;
        e.1 += d;
    }
}

macro_rules! timed {
    ($bd:expr, $op:expr, $e:expr) => {{
        let t = Instant::now();
        let r = $e;
        $bd.add($op, t.elapsed());
        r
    }};
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Links,
    Daemon,
    EthtoolFd,
}

async fn connect_one(t: &Topo, br: &Nl, c: usize, mode: Mode, bd: &mut Breakdown) {
    let ns = &t.cs[c];
    let inner_nl = timed!(bd, "connect (thread+setns+socket)", Nl::connect(ns).await.unwrap());
    for l in 0..2 {
        let o = outer(c, l);
        let i = inner(l);
        if mode != Mode::Links {
            timed!(bd, "delete_link (stale outer)", br.delete_link(&o).await.unwrap());
        }
        let mut req = VethRequest::new(&o, &i, ns);
        req.inner_mac = Some(mac(c, l));
        req.mtu = Some(MTU);
        req.master = Some(t.bridge_idx[l]);
        req.outer_up = true;
        if mode == Mode::EthtoolFd {
            req.outer_group = Some(GROUP);
        }
        timed!(bd, "create_veth_with", br.create_veth_with(&req).await.unwrap());
        timed!(bd, "add_address (getlink+newaddr)", inner_nl.add_address(&i, addr(c, l)).await.unwrap());
        timed!(bd, "set_up", inner_nl.set_up(&i, true).await.unwrap());
        match mode {
            Mode::Links => {}
            Mode::Daemon => timed!(
                bd,
                "apply_ethtool (thread+setns+ioctl)",
                apply_ethtool(ns, &i, &EthtoolSetting::veth_tx_off()).unwrap()
            ),
            Mode::EthtoolFd => timed!(
                bd,
                "Nl::apply_ethtool (ioctl)",
                inner_nl.apply_ethtool(&i, &EthtoolSetting::veth_tx_off()).unwrap()
            ),
        }
    }
}

async fn run_nl(t: &Topo, mode: Mode) -> (Duration, Breakdown) {
    let br = Nl::connect(&t.br).await.unwrap();
    let mut bd = Breakdown::default();
    let t0 = Instant::now();
    for c in 0..t.cs.len() {
        connect_one(t, &br, c, mode, &mut bd).await;
    }
    (t0.elapsed(), bd)
}

async fn run_parallel(t: Arc<Topo>) -> Duration {
    let br = Nl::connect(&t.br).await.unwrap();
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..t.cs.len())
        .map(|c| {
            let (t, br) = (t.clone(), br.clone());
            tokio::spawn(async move {
                let mut bd = Breakdown::default();
                connect_one(&t, &br, c, Mode::Daemon, &mut bd).await;
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    t0.elapsed()
}

async fn run_pipelined(t: &Topo) -> Duration {
    let br = Nl::connect(&t.br).await.unwrap();
    let t0 = Instant::now();
    for c in 0..t.cs.len() {
        let ns = &t.cs[c];
        let inner_nl = Nl::connect(ns).await.unwrap();
        let names: Vec<(String, String)> = (0..2).map(|l| (outer(c, l), inner(l))).collect();
        let deletes = names.iter().map(|(o, _)| br.delete_link(o));
        futures::future::try_join_all(deletes).await.unwrap();
        let reqs: Vec<VethRequest> = names
            .iter()
            .enumerate()
            .map(|(l, (o, i))| {
                let mut req = VethRequest::new(o, i, ns);
                req.inner_mac = Some(mac(c, l));
                req.mtu = Some(MTU);
                req.master = Some(t.bridge_idx[l]);
                req.outer_up = true;
                req.outer_group = Some(GROUP);
                req
            })
            .collect();
        futures::future::try_join_all(reqs.iter().map(|r| br.create_veth_with(r))).await.unwrap();
        let links = inner_nl.links().await.unwrap();
        let idx = |name: &str| links.iter().find(|x| x.name == name).unwrap().index;
        let mut ops = Vec::new();
        for (l, (_, i)) in names.iter().enumerate() {
            ops.push(futures::future::Either::Left(inner_nl.add_address_index(idx(i), addr(c, l))));
            ops.push(futures::future::Either::Right(inner_nl.set_up(i, true)));
        }
        futures::future::try_join_all(ops).await.unwrap();
        for (_, i) in &names {
            inner_nl.apply_ethtool(i, &EthtoolSetting::veth_tx_off()).unwrap();
        }
    }
    t0.elapsed()
}

fn ip_batch(netns: &str, file: &std::path::Path) {
    let out = Command::new("ip").args(["-n", netns, "-batch"]).arg(file).output().expect("run ip");
    if !out.status.success() {
        panic!("ip -n {netns} -batch {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    }
}

/// Returns (total, process-start overhead estimate).
fn run_ip(t: &Topo) -> (Duration, Duration) {
    let dir = std::env::temp_dir().join(format!("{}-ipbatch", t.tag));
    std::fs::create_dir_all(&dir).unwrap();
    let br_file = dir.join("br");
    let mut f = std::fs::File::create(&br_file).unwrap();
    for c in 0..t.cs.len() {
        for l in 0..2 {
            let m = mac(c, l).iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
            writeln!(
                f,
                "link add {} mtu {MTU} master s{} up type veth peer name {} address {m} mtu {MTU} netns {}",
                outer(c, l),
                l + 1,
                inner(l),
                t.c_names[c]
            )
            .unwrap();
        }
    }
    drop(f);
    let mut c_files = Vec::new();
    for c in 0..t.cs.len() {
        let p = dir.join(format!("c{c}"));
        let mut f = std::fs::File::create(&p).unwrap();
        for l in 0..2 {
            writeln!(f, "addr add {} dev {}", addr(c, l), inner(l)).unwrap();
            writeln!(f, "link set {} up", inner(l)).unwrap();
        }
        c_files.push(p);
    }
    let empty = dir.join("empty");
    std::fs::write(&empty, "").unwrap();
    let t0 = Instant::now();
    ip_batch(&t.br_name, &br_file);
    for (c, p) in c_files.iter().enumerate() {
        ip_batch(&t.c_names[c], p);
    }
    let total = t0.elapsed();
    // Process start + netns switch of the N+1 ip runs, measured on empty batches.
    let t1 = Instant::now();
    for _ in 0..=t.cs.len() {
        ip_batch(&t.br_name, &empty);
    }
    let overhead = t1.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    (total, overhead)
}

/// Best round: the machine is shared (builds, other tests), and interference
/// only ever adds time, so the minimum is the truest figure of the work itself.
fn median(v: Vec<Duration>) -> Duration {
    v.into_iter().min().expect("at least one round")
}

fn per_link(d: Duration, links: usize) -> f64 {
    d.as_secs_f64() * 1e3 / links as f64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map(|s| s.parse().expect("N")).unwrap_or(100);
    let rounds: usize = args.get(2).map(|s| s.parse().expect("ROUNDS")).unwrap_or(3).max(1);
    if !nix::unistd::geteuid().is_root() {
        eprintln!("bench_links: needs root (creates network namespaces)");
        std::process::exit(2);
    }
    if Command::new("ip").arg("-V").output().is_err() {
        eprintln!("bench_links: needs iproute2's `ip` for the baseline");
        std::process::exit(2);
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let links = 2 * n;
    println!("bench_links: N={n} containers x 2 veth links = {links} links, {rounds} round(s) per variant, best round shown");

    let mut results: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    let mut ip_over = Vec::new();
    let mut deletes: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    let mut breakdown = Breakdown::default();
    // One set of namespaces for all variants (made and deleted outside the
    // timings); each variant's links are deleted synchronously after it.
    let topo = Arc::new(rt.block_on(setup(n)));
    for round in 0..rounds {
        // Alternate the order so no variant always runs first or last.
        let mut order =
            vec!["ip-batch", "nl-links", "nl-daemon", "nl-ethtool-fd", "nl-parallel", "nl-pipelined"];
        if round % 2 == 1 {
            order.reverse();
        }
        for v in order {
            let d = match v {
                "ip-batch" => {
                    let (d, o) = run_ip(&topo);
                    ip_over.push(o);
                    d
                }
                "nl-links" => rt.block_on(run_nl(&topo, Mode::Links)).0,
                "nl-daemon" => {
                    let (d, bd) = rt.block_on(run_nl(&topo, Mode::Daemon));
                    if round == 0 {
                        breakdown = bd;
                    }
                    d
                }
                "nl-ethtool-fd" => rt.block_on(run_nl(&topo, Mode::EthtoolFd)).0,
                "nl-parallel" => rt.block_on(run_parallel(topo.clone())),
                "nl-pipelined" => rt.block_on(run_pipelined(&topo)),
                _ => unreachable!(),
            };
            let by_group = matches!(v, "nl-ethtool-fd" | "nl-pipelined");
            let del = rt.block_on(reset(&topo, by_group));
            deletes
                .entry(if by_group { "delete by group (1 request)" } else { "delete per link" })
                .or_default()
                .push(del);
            results.entry(v).or_default().push(d);
        }
    }
    teardown(Arc::try_unwrap(topo).ok().expect("no task holds the topology"));

    let ip = median(results["ip-batch"].clone());
    let ip_net = ip.saturating_sub(median(ip_over));
    println!();
    println!(
        "{:<16} {:>10} {:>10} {:>14} {:>14}",
        "variant", "total ms", "ms/link", "vs ip-batch", "vs ip net"
    );
    let row = |name: &str, d: Duration| {
        println!(
            "{:<16} {:>10.1} {:>10.3} {:>13.2}x {:>13.2}x",
            name,
            d.as_secs_f64() * 1e3,
            per_link(d, links),
            d.as_secs_f64() / ip.as_secs_f64(),
            d.as_secs_f64() / ip_net.as_secs_f64()
        )
    };
    row("ip-batch", ip);
    row("ip-batch net", ip_net);
    for v in ["nl-links", "nl-daemon", "nl-ethtool-fd", "nl-parallel", "nl-pipelined"] {
        row(v, median(results[v].clone()));
    }
    println!();
    println!("nl-daemon breakdown (round 1), per operation:");
    println!("{:<38} {:>6} {:>10} {:>10}", "operation", "count", "total ms", "us each");
    let mut ops: Vec<_> = breakdown.ops.iter().collect();
    ops.sort_by_key(|o| std::cmp::Reverse(o.1 .1));
    for (op, (count, d)) in ops {
        println!(
            "{:<38} {:>6} {:>10.1} {:>10.0}",
            op,
            count,
            d.as_secs_f64() * 1e3,
            d.as_secs_f64() * 1e6 / *count as f64
        );
    }
    println!();
    println!("removing the {links} veths afterwards (best round):");
    for (how, v) in &deletes {
        let d = median(v.clone());
        println!("  {:<30} {:>8.1} ms {:>8.3} ms/link", how, d.as_secs_f64() * 1e3, per_link(d, links));
    }
    let nl = median(results["nl-links"].clone());
    println!();
    println!(
        "RESULT links={links} ip_batch_ms={:.1} ip_batch_net_ms={:.1} nl_links_ms={:.1} nl_daemon_ms={:.1} nl_ethtool_fd_ms={:.1} nl_parallel_ms={:.1} nl_pipelined_ms={:.1} ratio_links_vs_ip={:.2}",
        ip.as_secs_f64() * 1e3,
        ip_net.as_secs_f64() * 1e3,
        nl.as_secs_f64() * 1e3,
        median(results["nl-daemon"].clone()).as_secs_f64() * 1e3,
        median(results["nl-ethtool-fd"].clone()).as_secs_f64() * 1e3,
        median(results["nl-parallel"].clone()).as_secs_f64() * 1e3,
        median(results["nl-pipelined"].clone()).as_secs_f64() * 1e3,
        nl.as_secs_f64() / ip.as_secs_f64(),
    );
}
