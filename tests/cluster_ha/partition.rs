//! A node cut from the database (and, in one case, from its peers too): it stops dialing
//! when its lease runs out and rejoins dormant.

use super::*;

#[test]
fn a_node_cut_from_the_database_and_its_peers_stops_dialing_and_rejoins_dormant() {
    partition(true);
}

/// The database alone: the node still beats over UDP, so its peers do not count it dead and
/// wait for its lease to run out; it gives the zone up by its own (earlier) deadline.
#[test]
fn a_node_cut_from_the_database_only_gives_its_zone_up_when_its_lease_runs_out() {
    partition(false);
}

/// pom1 (master of zone 1 and the control roles) loses the database, and its peers too when
/// `from_peers`; then the partition heals.
fn partition(from_peers: bool) {
    let started = wall_now();
    let (_turn, mut plant) = Plant::start();
    let url = plant.pg.url();
    let pg_addr: SocketAddr = format!("127.0.0.1:{}", plant.pg.port())
        .parse()
        .expect("addr");
    let proxy = TcpProxy::start(pg_addr);
    let proxied = url.replace(
        &format!("port={}", plant.pg.port()),
        &format!("port={}", proxy.addr.port()),
    );
    assert_ne!(proxied, url, "the URL names its port: {url}");
    let mut c = plant.cluster_with(&[("pom1", &["zone1"]), ("pom2", &[])], |n| {
        if n == "pom1" {
            proxied.clone()
        } else {
            url.clone()
        }
    });
    // Both directions between the nodes go through relays the test can cut.
    let into_pom1 = c.relay_heartbeats("pom1");
    let into_pom2 = c.relay_heartbeats("pom2");
    c.start("pom1");
    c.start("pom2");
    c.wait_table(
        &[
            ("Agent Manager", &["MASTER (zone1)", "DORMANT"]),
            ("Campaign Director", &["MASTER", "DORMANT"]),
        ],
        Duration::from_secs(20),
    );
    let desktops = Desktops::start(c.apis(), &["zone1"], plant.phones_port, viewer(&c));
    wait_agents_on(&c, "pom1", "zone1");
    let job = create_job(c.node("pom1"), "zone1");
    wait_attempts(&c, "pom2", job, 20, Duration::from_secs(30));

    // The partition: pom1 reaches neither the database nor pom2 (its API still answers).
    let cut_at = unix_ms_now();
    proxy.cut();
    if from_peers {
        into_pom1.cut();
        into_pom2.cut();
    }
    // pom1 gives the zone up by itself when its own deadline passes; pom2 takes it.
    c.wait_node("pom1", "giving zone 1 up", Duration::from_secs(10), |v| {
        zone_status(v, "zone1").is_none()
    });
    let st = c.wait_node("pom2", "dialing zone 1", Duration::from_secs(10), |v| {
        dialing_resumed_at(v, "zone1").is_some()
    });
    let resumed = dialing_resumed_at(&st, "zone1").unwrap_or(0);
    wait_agents_on(&c, "pom2", "zone1");
    let during = attempt_count(c.node("pom2"), job);
    wait_attempts(&c, "pom2", job, during + 5, Duration::from_secs(30));

    // Healed: pom1 rejoins DORMANT for the zone; its director takes the role back.
    let healed_at = unix_ms_now();
    proxy.heal();
    into_pom1.heal();
    into_pom2.heal();
    c.wait_table(
        &[
            ("Agent Manager", &["DORMANT", "MASTER (zone1)"]),
            ("Campaign Director", &["MASTER", "DORMANT"]),
        ],
        Duration::from_secs(15),
    );
    wait_job_over(&c, "pom2", job, Duration::from_secs(120));
    let attempts = finish(
        &mut plant,
        &c,
        desktops,
        &[("zone1", "pom2")],
        "pom2",
        &[job],
    );
    // pom1 dialed nothing after it was cut off (beyond what it recorded before the cut), and
    // nothing at all after the heal.
    let lease_ttl = LEASE_TTL_MS;
    for a in &attempts {
        if a.raw["node"] == "pom1" {
            let t = a
                .history
                .iter()
                .find(|(_, s)| s == "dialing")
                .map_or(0, |(t, _)| *t);
            assert!(
                t <= cut_at + lease_ttl && t < healed_at,
                "pom1 dialed attempt {} at {t}, after the cut at {cut_at}",
                a.id
            );
        }
    }
    eprintln!(
        "cluster_ha partition (peers cut too: {from_peers}): zone 1 dialing again on pom2 {} ms after the cut; {} attempts, codes {:?}; {:?}",
        resumed.saturating_sub(cut_at),
        attempts.len(),
        code_counts(&attempts),
        started.elapsed()
    );
}
