use super::*;
use crate::cluster::seal::KeySource;

#[test]
fn shipped_single_node_config_resolves() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../configs/single-node.toml"
    );
    let cfg = NodeConfigFile::load(std::path::Path::new(path))
        .expect("configs/single-node.toml is valid");
    assert_eq!(cfg.zones, vec!["default".to_owned()]);
    assert!(!cfg.mpps.is_empty());
}

#[test]
fn every_problem_is_reported_with_its_key() {
    let text = "[node]\nname = \"bad name\"\ndata_dir = \"/tmp/x\"\n[sip]\nt1_ms = 0\n";
    let err = NodeConfigFile::parse(text, "t")
        .and_then(|c| c.resolve("t"))
        .expect_err("invalid");
    let msg = err.to_string();
    assert!(msg.contains("node.name"), "{msg}");
    assert!(msg.contains("sip.t1_ms"), "{msg}");
    assert!(msg.contains("mpp"), "{msg}");
}

#[test]
fn the_sip_guard_is_configured_by_its_keys_and_held_to_their_bounds() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../configs/single-node.toml"
    );
    let shipped = NodeConfigFile::load(std::path::Path::new(path)).expect("shipped config");
    assert_eq!(shipped.sip_guard, sip::GuardConfig::default());
    let file = |sip: &str| {
        format!(
            "[node]\nname = \"a\"\ndata_dir = \"/tmp/x\"\n[sip]\n{sip}\n\
             [[mpp]]\nname = \"m\"\naddress = \"127.0.0.1:5080\"\ncapacity = 10\n"
        )
    };
    let cfg = NodeConfigFile::parse(
        &file("guard_requests_per_window = 100\nguard_window_ms = 1000\nguard_ban_ms = 0\nguard_sources = 128"),
        "t",
    )
    .and_then(|c| c.resolve("t"))
    .expect("a guard within bounds");
    assert_eq!(cfg.sip_guard.rate, 100);
    assert_eq!(cfg.sip_guard.window, std::time::Duration::from_secs(1));
    assert_eq!(cfg.sip_guard.ban, std::time::Duration::ZERO);
    assert_eq!(cfg.sip_guard.table_size, 128);
    let err = NodeConfigFile::parse(
        &file("guard_requests_per_window = 0\nguard_window_ms = 50\nguard_ban_ms = 3600001\nguard_sources = 8"),
        "t",
    )
    .and_then(|c| c.resolve("t"))
    .expect_err("every knob out of bounds")
    .to_string();
    for key in [
        "sip.guard_requests_per_window: 0",
        "sip.guard_window_ms: 50",
        "sip.guard_ban_ms: 3600001",
        "sip.guard_sources: 8",
    ] {
        assert!(err.contains(key), "{key} in {err}");
    }
}

#[test]
fn unknown_keys_are_refused() {
    let text = "[node]\nname = \"a\"\ndata_dir = \"/tmp/x\"\nbogus = 1\n";
    assert!(matches!(
        NodeConfigFile::parse(text, "t"),
        Err(ConfigError::Parse { .. })
    ));
}

#[test]
fn shipped_cluster_configs_resolve_for_each_of_their_nodes() {
    for (file, nodes) in [
        ("ha-2-nodes-1-zone.toml", 2),
        ("ha-3-nodes-2-zones.toml", 3),
        ("ha-4-nodes-2-zones.toml", 4),
    ] {
        let path = format!("{}/../../configs/{file}", env!("CARGO_MANIFEST_DIR"));
        let path = std::path::Path::new(&path);
        let mut sips = std::collections::HashSet::new();
        for i in 1..=nodes {
            let name = format!("pom{i}");
            let cfg = NodeConfigFile::load_node(path, Some(&name))
                .unwrap_or_else(|e| panic!("{file} as {name}: {e}"));
            assert_eq!(cfg.name, name);
            let c = cfg.cluster.expect("a cluster node");
            assert_eq!(c.nodes.len(), nodes);
            if let KeySource::File(key) = &c.heartbeat_key {
                assert!(key.ends_with("configs/ha-cluster.key"), "{}", key.display());
            }
            assert_eq!(c.me, name);
            assert!(
                sips.insert(cfg.sip_bind),
                "{file}: each node its own SIP port"
            );
        }
        let err = NodeConfigFile::load_node(path, None).expect_err("--node is required");
        assert!(err.to_string().contains("--node"), "{err}");
        let err = NodeConfigFile::load_node(path, Some("pom9")).expect_err("no such node");
        assert!(err.to_string().contains("pom9"), "{err}");
    }
}

#[test]
fn a_zone_given_to_two_nodes_and_a_short_ttl_are_refused() {
    let text = r#"
[node]
name = "x"
data_dir = "/tmp/x"
zones = ["z"]
[[mpp]]
name = "gw"
address = "127.0.0.1:5070"
[cluster]
database = "host=127.0.0.1"
lease_ttl_ms = 500
renew_every_ms = 400
[[cluster.node]]
name = "a"
sip = "127.0.0.1:1"
http = "127.0.0.1:2"
heartbeat = "127.0.0.1:3"
rtp_port_first = 20000
rtp_port_last = 20100
zones = ["z"]
[[cluster.node]]
name = "b"
sip = "127.0.0.1:4"
http = "127.0.0.1:5"
heartbeat = "127.0.0.1:6"
rtp_port_first = 20200
rtp_port_last = 20300
zones = ["z"]
"#;
    let err = NodeConfigFile::parse(text, "t")
        .and_then(|c| c.as_node(Some("a"), "t"))
        .and_then(|c| c.resolve("t"))
        .expect_err("invalid");
    let msg = err.to_string();
    assert!(msg.contains("one master per zone"), "{msg}");
    assert!(msg.contains("renew_every_ms"), "{msg}");
}

/// A minimal two-node cluster file with `extra` in `[cluster]`.
fn cluster_file(extra: &str) -> String {
    format!(
        r#"
[node]
name = "x"
data_dir = "/tmp/x"
zones = ["z"]
[[mpp]]
name = "gw"
address = "127.0.0.1:5070"
[cluster]
database = "host=127.0.0.1"
{extra}
[[cluster.node]]
name = "a"
sip = "127.0.0.1:1"
http = "127.0.0.1:2"
heartbeat = "127.0.0.1:3"
rtp_port_first = 20000
rtp_port_last = 20100
zones = ["z"]
[[cluster.node]]
name = "b"
sip = "127.0.0.1:4"
http = "127.0.0.1:5"
heartbeat = "127.0.0.1:6"
rtp_port_first = 20200
rtp_port_last = 20300
"#
    )
}

#[test]
fn a_cluster_names_its_heartbeat_key_and_a_relative_file_is_from_the_config_folder() {
    let resolved = |extra: &str| {
        NodeConfigFile::parse(&cluster_file(extra), "/etc/outdial/cluster.toml")
            .and_then(|c| c.as_node(Some("a"), "/etc/outdial/cluster.toml"))
            .and_then(|c| c.resolve("/etc/outdial/cluster.toml"))
    };
    // With OUTDIAL_CLUSTER_KEY in this test's environment the key would come from there.
    if std::env::var_os(crate::cluster::seal::KEY_ENV).is_some() {
        return;
    }
    let c = resolved("heartbeat_key_file = \"keys/beat.key\"")
        .expect("valid")
        .cluster
        .expect("a cluster");
    assert_eq!(
        c.heartbeat_key,
        KeySource::File("/etc/outdial/keys/beat.key".into())
    );
    assert_eq!(c.heartbeat_max_age, std::time::Duration::from_secs(5));
    let err = resolved("").expect_err("no key, no cluster");
    assert!(err.to_string().contains("heartbeat_key_file"), "{err}");
    let err =
        resolved("heartbeat_key_file = \"k\"\nheartbeat_max_age_ms = 50").expect_err("bounds");
    assert!(err.to_string().contains("heartbeat_max_age_ms"), "{err}");
}
