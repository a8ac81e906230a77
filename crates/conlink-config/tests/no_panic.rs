//! The loader never panics, whatever it is fed: it returns `Ok` or `Err`.
//! And what it accepts is sane (interface names the kernel takes, ranges).
//!
//! The default is proptest's 256 cases per property, so the suite stays
//! fast. For a long run:
//!
//! ```sh
//! PROPTEST_CASES=100000 cargo test --release -p conlink-config --test no_panic
//! ```

use std::collections::BTreeMap;

use conlink_config::{
    check_ifname, load_from_sources, show_config, BridgeMode, LoadOptions, NetworkConfig, Source, SourceKind,
};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn src(kind: SourceKind, text: String) -> Source {
    Source { origin: "prop.yaml".into(), kind, text }
}

fn opts(env: BTreeMap<String, String>, mode: BridgeMode, mtu: u32, ovs: bool) -> LoadOptions {
    LoadOptions { default_bridge_mode: mode, default_mtu: mtu, ovs_available: ovs, env, ..Default::default() }
}

/// Loads, and on success checks what the daemon will rely on.
fn load_checked(sources: &[Source], o: &LoadOptions) {
    match load_from_sources(sources, o) {
        Ok(cfg) => {
            assert_sane(&cfg);
            let _ = show_config(&cfg);
        }
        Err(e) => {
            assert!(!e.issues.is_empty(), "an Err without issues");
            for i in &e.issues {
                assert!(!i.path.is_empty(), "issue without a path: {i:?}");
            }
            let _ = e.to_string();
        }
    }
}

fn assert_sane(cfg: &NetworkConfig) {
    for b in cfg.bridges.keys() {
        assert!(check_ifname(b).is_ok(), "accepted bridge name {b:?}");
    }
    for l in &cfg.links {
        assert!(check_ifname(&l.dev).is_ok(), "accepted dev {:?}", l.dev);
        if let Some(o) = &l.outer_dev {
            assert!(check_ifname(o).is_ok(), "accepted outer-dev {o:?}");
        }
        if let Some(m) = l.mtu {
            assert!((68..=65535).contains(&m), "accepted mtu {m}");
        }
        if let Some(v) = l.vlanid {
            assert!((1..=4094).contains(&v.get()), "accepted vlanid {v}");
        }
        for f in &l.forward {
            assert!(f.conlink_port > 0 && f.container_port > 0);
        }
        let name = l.target.name();
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "accepted target {name:?}"
        );
    }
    for n in &cfg.nodes {
        // Becomes /run/netns/NAME.
        assert!(
            !n.name.is_empty() && !n.name.contains('/') && n.name != "." && n.name != "..",
            "accepted node {:?}",
            n.name
        );
    }
    for t in &cfg.tunnels {
        assert!(t.vni < (1 << 24), "accepted vni {}", t.vni);
    }
}

fn any_mode() -> impl Strategy<Value = BridgeMode> {
    prop_oneof![
        Just(BridgeMode::Auto),
        Just(BridgeMode::Linux),
        Just(BridgeMode::Ovs),
        Just(BridgeMode::Patch)
    ]
}

fn any_kind() -> impl Strategy<Value = SourceKind> {
    prop_oneof![Just(SourceKind::Network), Just(SourceKind::Compose)]
}

// ---- structured configs from a vocabulary of real keys and nasty values

const LINK_KEYS: &[&str] = &[
    "type",
    "service",
    "container",
    "bridge",
    "outer-dev",
    "dev",
    "ip",
    "mac",
    "mtu",
    "route",
    "nat",
    "netem",
    "mode",
    "vlanid",
    "forward",
    "ethtool",
    "<<",
    "",
    "Type",
    "ip ",
];
const TOP_KEYS: &[&str] =
    &["links", "bridges", "tunnels", "commands", "nodes", "services", "x-network", "networks", "version"];
const OTHER_KEYS: &[&str] = &[
    "bridge",
    "mode",
    "type",
    "remote",
    "vni",
    "netem",
    "service",
    "container",
    "command",
    "name",
    "x-network",
    "links",
];

fn nasty_string() -> impl Strategy<Value = String> {
    let fixed: Vec<&'static str> = vec![
        "",
        " ",
        "eth0",
        "s1",
        "a",
        "web",
        "veth",
        "dummy",
        "vlan",
        "ipvlan",
        "ipvtap",
        "macvlan",
        "macvtap",
        "geneve",
        "vxlan",
        "linux",
        "ovs",
        "patch",
        "auto",
        "bridge",
        "l2",
        "l3s private",
        "10.0.0.1/24",
        "10.0.0.300/24",
        "10.0.0.1/33",
        "2001:db8::1/64",
        "2001:db8:::1/64",
        "::/0",
        "0.0.0.0/0",
        "255.255.255.255/32",
        "192.0.2.1",
        "::",
        "::ffff:1.2.3.4",
        "02:00:00:00:00:01",
        "ff:ff:ff:ff:ff:ff",
        "zz:zz",
        "default via 10.0.0.1",
        "default via",
        "10.0.0.0/8 via ::1",
        "default dev eth0:1 metric 4294967296 table -1 onlink",
        "8080:80/tcp",
        "0:0/udp",
        "65535:65535/tcp",
        "1:2:3/tcp",
        "99999999999999999999:1/tcp",
        "delay 40ms",
        "-K tx off",
        "${X}",
        "${X:-eth0}",
        "${X:?}",
        "${X:?boom}",
        "${",
        "${}",
        "${X",
        "$$",
        "$",
        "${X:-${Y:-${Z}}}",
        "${X+${",
        "abcdefghijklmnop",
        "abcdefghijklmno",
        "ééééééééé",
        "a/b",
        "a:b",
        "..",
        ".",
        "$(touch /tmp/pwned)",
        "`id`",
        "a;b",
        "a|b",
        "a&&b",
        "'\"",
        "\n",
        "\t",
        "\u{0}",
        "\u{feff}",
        "𝕏𝕏𝕏𝕏",
        "-1",
        "1e309",
        "NaN",
        "true",
        "null",
        "~",
        "*a",
        "&a",
        "!!binary aGk=",
        "<<",
    ];
    prop_oneof![
        4 => proptest::sample::select(fixed).prop_map(str::to_string),
        1 => ".{0,40}",
        1 => "[a-z0-9:./ $\\{\\}?-]{0,30}",
        1 => Just("x".repeat(5000)),
    ]
}

fn nasty_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::from(0)),
        Just(Value::from(-1)),
        Just(Value::from(68)),
        Just(Value::from(1500)),
        Just(Value::from(4094)),
        Just(Value::from(4095)),
        Just(Value::from(65535)),
        Just(Value::from(65536)),
        Just(Value::from(16777215)),
        Just(Value::from(i64::MIN)),
        Just(Value::from(i64::MAX)),
        Just(Value::from(u64::MAX)),
        Just(Value::from(1500.0)),
        Just(Value::from(1.5)),
        Just(Value::from(1e308)),
        Just(Value::from(-1e308)),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)),
    ]
}

fn nasty_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        6 => nasty_string().prop_map(Value::String),
        2 => nasty_number(),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                proptest::sample::select(OTHER_KEYS).prop_map(str::to_string),
                inner,
                0..3
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn object_of(keys: &'static [&'static str], max: usize) -> impl Strategy<Value = Value> {
    proptest::collection::btree_map(
        proptest::sample::select(keys).prop_map(str::to_string),
        nasty_value(),
        0..max,
    )
    .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>()))
}

/// A mostly well-formed link, so that validation passes often enough for
/// enrichment to be exercised, with one or two nasty fields.
fn plausible_link() -> impl Strategy<Value = Value> {
    (
        proptest::sample::select(&["veth", "dummy", "vlan", "macvlan", "ipvlan"][..]),
        "[a-c]",
        object_of(LINK_KEYS, 3),
    )
        .prop_map(|(t, svc, extra)| {
            let mut l = serde_json::json!({"type": t, "service": svc, "dev": "eth1"});
            match t {
                "veth" => l["bridge"] = "s1".into(),
                "vlan" => {
                    l["vlanid"] = 5.into();
                    l["outer-dev"] = "eth0".into();
                }
                "macvlan" | "ipvlan" => l["outer-dev"] = "eth0".into(),
                _ => {}
            }
            for (k, v) in extra.as_object().unwrap() {
                l[k] = v.clone();
            }
            l
        })
}

fn structured_doc() -> impl Strategy<Value = Value> {
    let link = prop_oneof![2 => plausible_link(), 1 => object_of(LINK_KEYS, 8), 1 => nasty_value()];
    let other = prop_oneof![3 => object_of(OTHER_KEYS, 6), 1 => nasty_value()];
    (
        proptest::collection::vec(link, 0..5),
        proptest::collection::vec(other.clone(), 0..3),
        proptest::collection::vec(other.clone(), 0..3),
        proptest::collection::vec(other.clone(), 0..3),
        proptest::collection::vec(other, 0..3),
        object_of(TOP_KEYS, 2),
        any::<u8>(),
    )
        .prop_map(|(links, bridges, tunnels, commands, nodes, junk, mask)| {
            let mut m = Map::new();
            let parts = [
                ("links", links),
                ("bridges", bridges),
                ("tunnels", tunnels),
                ("commands", commands),
                ("nodes", nodes),
            ];
            for (i, (k, v)) in parts.into_iter().enumerate() {
                if mask & (1 << i) != 0 {
                    m.insert(k.into(), Value::Array(v));
                }
            }
            if mask & 0x80 != 0 {
                for (k, v) in junk.as_object().unwrap() {
                    m.insert(k.clone(), v.clone());
                }
            }
            Value::Object(m)
        })
}

fn env_map() -> impl Strategy<Value = BTreeMap<String, String>> {
    proptest::collection::btree_map(
        proptest::sample::select(&["X", "Y", "Z", "IP", "MTU"][..]).prop_map(str::to_string),
        nasty_string(),
        0..4,
    )
}

proptest! {
    /// Any text at all, as a network file and as a compose file.
    #[test]
    fn arbitrary_text_never_panics(text in any::<String>(), kind in any_kind()) {
        load_checked(&[src(kind, text)], &LoadOptions::default());
    }

    /// Text made of YAML's syntax characters, more likely to reach deep into the parser.
    #[test]
    fn yaml_like_text_never_panics(
        text in "([ \t\n:,\\-\\[\\]{}&*!|>'\"%@`#?$]|links|bridge|service|x-network|services|<<|10\\.0\\.0\\.1/24|\\$\\{X\\}|[a-z0-9]){0,120}",
        kind in any_kind(),
        env in env_map(),
    ) {
        load_checked(&[src(kind, text)], &opts(env, BridgeMode::Auto, 65535, false));
    }

    /// Random configs from real keys and nasty values, as JSON and YAML text,
    /// alone or merged with a second document, in every bridge mode.
    #[test]
    fn structured_configs_never_panic(
        doc in structured_doc(),
        second in structured_doc(),
        env in env_map(),
        mode in any_mode(),
        // What the CLI accepts for --default-mtu (clap checks the range, not the loader).
        mtu in prop_oneof![Just(65535u32), Just(1500u32), Just(68u32), 68u32..=65535],
        ovs in any::<bool>(),
        two in any::<bool>(),
        as_yaml in any::<bool>(),
    ) {
        let text = |v: &Value| if as_yaml { serde_norway::to_string(v).unwrap() } else { v.to_string() };
        let mut sources = vec![src(SourceKind::Network, text(&doc))];
        if two {
            // The same shapes as a compose file's top-level and per-service x-network.
            let compose = serde_json::json!({"x-network": second, "services": {"svc": {"image": "x", "x-network": doc}}});
            sources.push(src(SourceKind::Compose, text(&compose)));
        }
        load_checked(&sources, &opts(env, mode, mtu, ovs));
    }
}

/// Inputs that break naive parsers: deep nesting, alias bombs, huge files.
#[test]
fn pathological_documents_do_not_panic_or_hang() {
    let deep_flow = format!("links: {}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_block: String = (0..2_000).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
    let mut bomb =
        String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for i in 1..12 {
        let prev = if i == 1 { "a".to_string() } else { format!("a{}", i - 1) };
        bomb.push_str(&format!(
            "a{i}: &a{i} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
    }
    let many_links: String = std::iter::once("links:\n".to_string())
        .chain((0..5_000).map(|i| {
            format!("  - {{service: s{i}, bridge: b{}, ip: 10.0.{}.{}/16}}\n", i % 7, i / 250, i % 250 + 1)
        }))
        .collect();
    let deep_interp = format!(
        "links: [{{service: a, bridge: s1, dev: '{}X{}'}}]",
        "${X:-".repeat(5_000),
        "}".repeat(5_000)
    );
    let big_merge_key: String =
        (1..200u32).map(|i| format!("k{i}: &k{i} {{<<: *k{}, m{i}: 1}}\n", i - 1)).collect();
    for (name, text) in [
        ("deep flow", deep_flow),
        ("deep block", deep_block),
        ("alias bomb", bomb),
        ("many links", many_links),
        ("deep interpolation", deep_interp),
        ("merge key chain", format!("k0: &k0 {{a: 1}}\n{big_merge_key}")),
        ("NUL bytes", "links:\n  - {service: \"a\\0\", bridge: \"\\0\"}\n".to_string()),
        ("BOM", "\u{feff}links: []\n".to_string()),
    ] {
        for kind in [SourceKind::Network, SourceKind::Compose] {
            let start = std::time::Instant::now();
            load_checked(&[src(kind, text.clone())], &LoadOptions::default());
            assert!(
                start.elapsed() < std::time::Duration::from_secs(20),
                "{name}: took {:?}",
                start.elapsed()
            );
        }
    }
}
