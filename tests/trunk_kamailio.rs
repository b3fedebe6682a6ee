//! A node's `[[trunk]]` (over UDP, TCP and TLS) against Kamailio (Debian `kamailio`) as
//! registrar and outbound proxy: the trunk registers with digest, Kamailio's location table
//! shows the binding with the node's Contact, the node honours the short expiry Kamailio grants
//! and refreshes before it lapses; then a campaign dials through Kamailio (a 407 answered with
//! the trunk's credentials) to a SIPp UAS, whose INVITEs carry Kamailio's Via and Record-Route
//! and the trunk's caller identity, and every attempt completes answered. When the node stops,
//! its un-REGISTER empties Kamailio's location table. Over TLS the edge's certificate must
//! chain to the trunk's `tls_ca_file` and name its domain; one signed by another CA is refused.

mod support;

use std::time::Duration;

use support::kamailio::{certificates, Kamailio, KamailioConf};
use support::node::*;
use support::*;

const CONTACTS: usize = 5;
/// The longest binding Kamailio grants: the node asks for 60 s and must honour 4 s.
const MAX_EXPIRES_S: u32 = 4;

#[test]
fn a_udp_trunk_registers_at_kamailio_and_dials_through_it() {
    trunk_through_kamailio("udp");
}

#[test]
fn a_tcp_trunk_registers_and_dials_over_one_connection() {
    trunk_through_kamailio("tcp");
}

#[test]
fn a_tls_trunk_checks_the_edges_certificate_and_dials_over_it() {
    trunk_through_kamailio("tls");
}

/// The whole story over `transport` (`udp` or `tcp`) between the node and Kamailio; Kamailio
/// reaches SIPp over UDP either way.
fn trunk_through_kamailio(transport: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let sipp_port = free_udp_port();
    let msg_log = dir.path().join("sipp-messages.log");
    let msg_log_arg = msg_log.display().to_string();
    let uas = sipp_uas(
        None,
        sipp_port,
        &["-trace_msg", "-message_file", &msg_log_arg],
    );
    let certs = (transport == "tls").then(|| certificates(dir.path(), "trunk.test"));
    let kamailio = Kamailio::start(
        dir.path(),
        &KamailioConf {
            user: "trunk1",
            password: "s3cret",
            max_expires_s: MAX_EXPIRES_S,
            invite_to: format!("127.0.0.1:{sipp_port}").parse().expect("addr"),
            tls: certs
                .as_ref()
                .map(|(_, cert, key)| (cert.clone(), key.clone())),
        },
    );
    // The trunk reaches Kamailio's TLS listener over TLS, its UDP/TCP one otherwise.
    let k = kamailio.tls_addr.unwrap_or(kamailio.addr);
    let ca = match &certs {
        Some((ca, _, _)) => format!("tls_ca_file = \"{}\"\n", ca.display()),
        None => String::new(),
    };
    let tp = transport;
    let probe = kamailio.addr;
    // Over TCP the campaign names the trunk; otherwise the MPP does.
    let by_campaign = transport == "tcp";
    let mpp_trunk = if by_campaign {
        ""
    } else {
        "trunk = \"kamailio\"\n"
    };
    let extra = format!(
        "[[mpp]]\nname = \"edge\"\naddress = \"{probe}\"\ncapacity = 10\noptions_interval_ms = 600000\n\
         {mpp_trunk}\n\
         [[trunk]]\nname = \"kamailio\"\ntransport = \"{tp}\"\ndomain = \"trunk.test\"\nproxy = \"sip:{k};lr\"\n\
         username = \"trunk1\"\npassword = \"s3cret\"\nregister = true\nregister_expires_s = 60\n\
         register_retry_min_ms = 500\nfrom_display = \"Outdial Test\"\n\
         asserted_identity = \"+14155550123\"\nprivacy = \"id\"\nsession_expires_s = 90\n{ca}"
    );
    let mut node = Node::start_with(dir.path(), "node-trunk", &[], &extra);

    // Registered, with the expiry Kamailio granted rather than the one asked for.
    let first = wait_trunk(&node, &kamailio, Duration::from_secs(10), |t| {
        t["registration"] == "registered"
    });
    assert_eq!(first["expires_s"], u64::from(MAX_EXPIRES_S), "{first}");
    let bindings = kamailio.bindings();
    let contact = match transport {
        "tcp" => format!("sip:outdial@{};transport=tcp", node.sip),
        "tls" => format!("sips:outdial@{}", node.sip),
        _ => format!("sip:outdial@{}", node.sip),
    };
    assert!(
        bindings.contains("trunk1") && bindings.contains(&contact),
        "Kamailio's location table holds the node's binding: {bindings}\n{}",
        kamailio.log_tail()
    );
    // Refreshed before it lapses (at half its life, 2 s), more than once, never failing.
    let refreshed = wait_trunk(&node, &kamailio, Duration::from_secs(10), |t| {
        t["registrations"].as_u64().unwrap_or(0) >= 3
    });
    assert_eq!(refreshed["registration"], "registered", "{refreshed}");
    assert_eq!(refreshed["registration_failures"], 0, "{refreshed}");
    let (_, metrics) = node.get("/metrics");
    assert!(
        metrics.contains("outdial_trunk_registered{trunk=\"kamailio\"} 1"),
        "the registration shows in /metrics: {metrics}"
    );

    let mut spec = agentless_campaign(
        "trunk",
        5.0,
        5,
        3000,
        &[("network-failure", 1, 1), ("timeout", 1, 1)],
    );
    if by_campaign {
        spec["trunk"] = "nope".into();
        let (status, body) = node.post(
            "/v1/campaigns",
            Some("application/json"),
            spec.to_string().as_bytes(),
        );
        assert!(
            status == 422 && body.contains("no [[trunk]] named"),
            "a campaign naming no trunk of the node is refused: {status} {body}"
        );
        spec["trunk"] = "kamailio".into();
    }
    let (_campaign, job) = node.create_campaign(&spec);
    let report = node.upload_csv(job, &contacts_csv(CONTACTS));
    assert_eq!(report["imported"], CONTACTS as u64, "{report}");
    node.start_job(job);
    let over = node.wait_job_over(job, Duration::from_secs(60));
    assert_eq!(over["job"]["state"], "finished", "{over}");
    let attempts = node.attempts(job);
    let codes = code_counts(&attempts);
    assert_eq!(
        codes.get("answered-human").copied(),
        Some(CONTACTS as u64),
        "every call through Kamailio answered by SIPp: {codes:?}\n{}\n{}",
        node.stderr_tail(),
        kamailio.log_tail()
    );

    if transport != "udp" {
        // Registration, its refreshes, the INVITEs, ACKs and BYEs: all on the node's first
        // connection to Kamailio, still open.
        let conns = kamailio.rpc(&["core.tcp_list"]).unwrap_or_default();
        let ids: Vec<&str> = conns
            .lines()
            .filter_map(|l| l.trim().strip_prefix("id: "))
            .collect();
        assert_eq!(
            ids,
            vec!["1"],
            "one TCP connection, never replaced: {conns}"
        );
    }
    // Kamailio logs each INVITE it relayed, only once the trunk answered its 407.
    let log = kamailio.log();
    let relayed: std::collections::BTreeSet<&str> = log
        .lines()
        .filter_map(|l| l.split_once("trunk INVITE ").map(|(_, r)| r))
        .filter_map(|r| r.split_whitespace().next())
        .collect();
    assert_eq!(
        relayed.len(),
        CONTACTS,
        "Kamailio relayed one authenticated INVITE per contact: {relayed:?}"
    );

    drop(uas.terminate());
    let invites = received_invites(&msg_log);
    assert_eq!(invites.len(), CONTACTS, "SIPp saw one INVITE per attempt");
    for inv in &invites {
        let vias: Vec<&String> = inv.iter().filter(|l| header_is(l, "via", "v")).collect();
        assert_eq!(vias.len(), 2, "Kamailio's Via above the node's: {inv:#?}");
        let ours = format!("SIP/2.0/{} {}", transport.to_ascii_uppercase(), node.sip);
        assert!(
            vias[1].contains(&ours),
            "the node's Via names the trunk's transport: {}",
            vias[1]
        );
        // Kamailio record-routes once per side when the transport changes (r2=on): the side
        // facing the node names the address the node reached it at.
        let rr: Vec<&String> = inv
            .iter()
            .filter(|l| header_is(l, "record-route", ""))
            .collect();
        assert!(
            rr.iter().any(|l| l.contains(&k.to_string())),
            "Kamailio record-routed: {rr:#?}"
        );
        assert!(
            inv[0].starts_with("INVITE sip:+1212555") && inv[0].contains("@trunk.test"),
            "the trunk's Request-URI, E.164 with '+': {}",
            inv[0]
        );
        let from = inv
            .iter()
            .find(|l| header_is(l, "from", "f"))
            .expect("From");
        assert!(
            from.contains("\"Outdial Test\" <sip:trunk1@trunk.test>"),
            "the trunk's From: {from}"
        );
        assert!(
            inv.iter()
                .any(|l| l == "P-Asserted-Identity: <sip:+14155550123@trunk.test>"),
            "P-Asserted-Identity: {inv:#?}"
        );
        assert!(inv.iter().any(|l| l == "Privacy: id"), "Privacy: {inv:#?}");
        assert!(
            inv.iter().any(|l| l == "Session-Expires: 90"),
            "the trunk's session timer offered: {inv:#?}"
        );
        assert!(
            !inv.iter().any(|l| header_is(l, "route", "")),
            "Kamailio consumed the Route to itself: {inv:#?}"
        );
    }

    // A stopping node takes its binding off the registrar.
    node.stop();
    let deadline = wall_now() + Duration::from_secs(5);
    while kamailio.bindings().contains("trunk1") {
        assert!(
            wall_now() < deadline,
            "the binding outlived the node: {}",
            kamailio.bindings()
        );
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

/// Polls GET /v1/node until the first trunk satisfies `pred` (bounded); returns it.
fn wait_trunk(
    node: &Node,
    kamailio: &Kamailio,
    limit: Duration,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = wall_now() + limit;
    loop {
        let st = node.get_json("/v1/node");
        let t = st["trunks"][0].clone();
        if pred(&t) {
            return t;
        }
        assert!(
            wall_now() < deadline,
            "trunk state not reached within {limit:?}: {t}\n{}\n{}",
            node.stderr_tail(),
            kamailio.log_tail()
        );
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

fn header_is(line: &str, long: &str, compact: &str) -> bool {
    line.split_once(':').is_some_and(|(k, _)| {
        let k = k.trim();
        k.eq_ignore_ascii_case(long) || (!compact.is_empty() && k.eq_ignore_ascii_case(compact))
    })
}

/// Every INVITE SIPp received (retransmissions folded by Call-ID), as its lines: the start
/// line, then the headers.
fn received_invites(log: &std::path::Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(log)
        .unwrap_or_else(|e| panic!("no SIPp message log at {}: {e}", log.display()));
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if !l.contains("message received") {
            continue;
        }
        let mut msg: Vec<String> = Vec::new();
        for m in lines.by_ref() {
            let t = m.trim();
            if msg.is_empty() {
                if !t.is_empty() {
                    msg.push(t.to_owned());
                }
                continue;
            }
            if t.is_empty() {
                break;
            }
            msg.push(t.to_owned());
        }
        if !msg.first().is_some_and(|s| s.starts_with("INVITE ")) {
            continue;
        }
        let call_id = msg
            .iter()
            .find(|l| header_is(l, "call-id", "i"))
            .cloned()
            .unwrap_or_default();
        if seen.insert(call_id) {
            out.push(msg);
        }
    }
    out
}

#[test]
fn a_tls_trunk_refuses_an_edge_its_ca_did_not_sign() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, cert, key) = certificates(dir.path(), "trunk.test");
    let other = dir.path().join("other-ca");
    std::fs::create_dir(&other).expect("mkdir");
    let (wrong_ca, _, _) = certificates(&other, "trunk.test");
    let kamailio = Kamailio::start(
        dir.path(),
        &KamailioConf {
            user: "trunk1",
            password: "s3cret",
            max_expires_s: MAX_EXPIRES_S,
            invite_to: kamailio_unused(),
            tls: Some((cert, key)),
        },
    );
    let k = kamailio.tls_addr.expect("a TLS listener");
    let extra = format!(
        "[[mpp]]\nname = \"edge\"\naddress = \"{}\"\noptions_interval_ms = 600000\ntrunk = \"t\"\n\n\
         [[trunk]]\nname = \"t\"\ntransport = \"tls\"\ndomain = \"trunk.test\"\nproxy = \"sip:{k}\"\n\
         username = \"trunk1\"\npassword = \"s3cret\"\nregister = true\ntls_ca_file = \"{}\"\n",
        kamailio.addr,
        wrong_ca.display()
    );
    let node = Node::start_with(dir.path(), "node-tls-refused", &[], &extra);
    let deadline = wall_now() + Duration::from_secs(10);
    while !node.stderr_tail().contains("SIP connection closed") {
        assert!(
            wall_now() < deadline,
            "no refused TLS connection logged: {}",
            node.stderr_tail()
        );
        std::thread::park_timeout(Duration::from_millis(50));
    }
    let tail = node.stderr_tail();
    // Both test CAs bear one name, so rustls finds the issuer and refuses its signature.
    assert!(
        tail.contains("invalid peer certificate"),
        "refused for its certificate: {tail}"
    );
    let st = node.get_json("/v1/node");
    assert_ne!(st["trunks"][0]["registration"], "registered", "{st}");
    assert!(
        !kamailio.bindings().contains("trunk1"),
        "nothing registered past a refused certificate"
    );
}

/// An address nothing listens on (the refused trunk never gets to send an INVITE).
fn kamailio_unused() -> std::net::SocketAddr {
    format!("127.0.0.1:{}", free_udp_port())
        .parse()
        .expect("addr")
}
