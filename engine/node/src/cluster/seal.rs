//! Authenticated heartbeats: the cluster's shared key, the seal on every beat (HMAC-SHA256 over
//! the beat and its stamp), and the gate that lets a beat in only from a configured peer's
//! address, sealed with the key, fresh, and newer than the last one that peer got in. Sans-IO:
//! the gate is handed the bytes, their source and the wall clock.
//!
//! A beat's stamp is its sender's wall clock in microseconds, moved on by at least one per
//! beat: it is both the timestamp (older than `max_age` and the beat is stale) and the
//! sequence (not above the last accepted from that node and it is a replay). A node that
//! restarts stamps above its last run, since the clock has moved on.
//!
//! On the wire: the beat as JSON, then the 32-byte MAC of a domain tag and that JSON.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use outdial_core::sync::{AtomicU64, Ordering};
use serde::Serialize;
use sha2_hmac::Sha256;

use super::peers::{Beat, MAX_BEAT};

/// Shortest key accepted: 256 bits, HMAC-SHA256's own strength.
pub const MIN_KEY_BYTES: usize = 32;
/// The environment variable that holds the key instead of a file.
pub const KEY_ENV: &str = "OUTDIAL_CLUSTER_KEY";
const MAC_BYTES: usize = 32;
/// Binds a MAC to this use of the key and to this format.
const DOMAIN: &[u8] = b"outdial-heartbeat-v1\n";

/// Where the cluster's key comes from, as the configuration names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `OUTDIAL_CLUSTER_KEY` in the environment.
    Env,
    /// `[cluster] heartbeat_key_file`, resolved against the config file's folder.
    File(PathBuf),
}

/// Why the key could not be had (the operator's configuration is to blame).
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{KEY_ENV} is not set (or not UTF-8)")]
    EnvMissing,
    #[error("cannot read the heartbeat key file {path}: {source}")]
    Unreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the heartbeat key from {from} is {len} bytes; at least {MIN_KEY_BYTES} are needed (openssl rand -hex 32)")]
    TooShort { from: String, len: usize },
}

/// The cluster's shared secret. Never printed.
#[derive(Clone)]
pub struct HeartbeatKey(Vec<u8>);

impl std::fmt::Debug for HeartbeatKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HeartbeatKey({} bytes)", self.0.len())
    }
}

impl HeartbeatKey {
    /// The key's bytes, surrounding whitespace trimmed; at least [`MIN_KEY_BYTES`].
    pub fn from_bytes(bytes: &[u8], from: &str) -> Result<Self, KeyError> {
        let key = bytes.trim_ascii();
        if key.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort {
                from: from.to_owned(),
                len: key.len(),
            });
        }
        Ok(Self(key.to_vec()))
    }

    /// Reads the key from where the configuration says.
    pub fn load(source: &KeySource) -> Result<Self, KeyError> {
        match source {
            KeySource::Env => {
                let v = std::env::var(KEY_ENV).map_err(|_| KeyError::EnvMissing)?;
                Self::from_bytes(v.as_bytes(), KEY_ENV)
            }
            KeySource::File(path) => {
                let shown = path.display().to_string();
                let bytes = std::fs::read(path).map_err(|source| KeyError::Unreadable {
                    path: shown.clone(),
                    source,
                })?;
                Self::from_bytes(&bytes, &shown)
            }
        }
    }

    fn mac(&self, body: &[u8]) -> Hmac<Sha256> {
        // INVARIANT: HMAC takes a key of any length.
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("any key length");
        m.update(DOMAIN);
        m.update(body);
        m
    }

    /// The datagram for `beat`: its JSON, then the MAC.
    pub fn seal(&self, beat: &Beat) -> Vec<u8> {
        let mut out = beat.encode();
        let tag = self.mac(&out).finalize().into_bytes();
        out.extend_from_slice(&tag);
        out
    }

    /// The beat in a datagram whose MAC is right (compared in constant time).
    pub fn open(&self, bytes: &[u8]) -> Result<Beat, Refusal> {
        if bytes.len() > MAX_BEAT || bytes.len() <= MAC_BYTES {
            return Err(Refusal::Malformed);
        }
        let (body, tag) = bytes.split_at(bytes.len() - MAC_BYTES);
        self.mac(body)
            .verify_slice(tag)
            .map_err(|_| Refusal::BadMac)?;
        Beat::decode(body).ok_or(Refusal::Malformed)
    }
}

/// A sender's stamps: wall-clock microseconds, strictly increasing across every thread that
/// beats for this node.
#[derive(Debug, Default)]
pub struct Stamps {
    last: AtomicU64,
}

impl Stamps {
    pub fn next(&self, unix_ms: u64) -> u64 {
        let floor = unix_ms.saturating_mul(1_000);
        let mut cur = self.last.load(Ordering::Relaxed);
        loop {
            let next = floor.max(cur.saturating_add(1));
            match self
                .last
                .compare_exchange(cur, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(seen) => cur = seen,
            }
        }
    }
}

/// Why a datagram on the heartbeat port was not taken as a beat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a sealed beat at all (stray traffic, truncated).
    Malformed,
    /// Sealed with another key, or altered.
    BadMac,
    /// Sealed right but names no node of this cluster.
    UnknownNode,
    /// Sealed right, but from an address that node does not beat from.
    WrongAddress,
    /// Its stamp is further from our clock than the allowed age.
    Stale,
    /// Not newer than the last beat accepted from that node.
    Replayed,
}

/// What the gate did, for the cluster view.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BeatCounts {
    pub accepted: u64,
    pub malformed: u64,
    pub bad_mac: u64,
    pub unknown_node: u64,
    pub wrong_address: u64,
    pub stale: u64,
    pub replayed: u64,
}

impl BeatCounts {
    fn count(&mut self, r: Refusal) {
        let n = match r {
            Refusal::Malformed => &mut self.malformed,
            Refusal::BadMac => &mut self.bad_mac,
            Refusal::UnknownNode => &mut self.unknown_node,
            Refusal::WrongAddress => &mut self.wrong_address,
            Refusal::Stale => &mut self.stale,
            Refusal::Replayed => &mut self.replayed,
        };
        *n += 1;
    }
}

/// Lets in the beats of this cluster's nodes only.
#[derive(Debug)]
pub struct BeatGate {
    key: HeartbeatKey,
    max_age: Duration,
    /// Per node (this one included, for its own wake-ups): the IPs its beats may come from.
    from: HashMap<String, Vec<IpAddr>>,
    last: HashMap<String, u64>,
    counts: BeatCounts,
}

impl BeatGate {
    /// `nodes` are each node's name and the addresses its beats may come from (its advertised
    /// heartbeat address and where it listens: the IPs are checked, not the ports, which a
    /// relay may change; the MAC is the proof). `me` may also wake itself from loopback.
    pub fn new(
        key: HeartbeatKey,
        max_age: Duration,
        me: &str,
        nodes: impl IntoIterator<Item = (String, Vec<SocketAddr>)>,
    ) -> Self {
        let mut from: HashMap<String, Vec<IpAddr>> = HashMap::new();
        for (name, addrs) in nodes {
            let ips = from.entry(name).or_default();
            for a in addrs {
                let ip = a.ip().to_canonical();
                if !ip.is_unspecified() && !ips.contains(&ip) {
                    ips.push(ip);
                }
            }
        }
        let own = from.entry(me.to_owned()).or_default();
        for ip in [
            IpAddr::from([127, 0, 0, 1]),
            IpAddr::from(Ipv6Addr::LOCALHOST),
        ] {
            if !own.contains(&ip) {
                own.push(ip);
            }
        }
        Self {
            key,
            max_age,
            from,
            last: HashMap::new(),
            counts: BeatCounts::default(),
        }
    }

    pub fn counts(&self) -> BeatCounts {
        self.counts
    }

    /// The beat in `bytes` from `source`, if it may be believed at `now_unix_ms`.
    pub fn admit(
        &mut self,
        bytes: &[u8],
        source: SocketAddr,
        now_unix_ms: u64,
    ) -> Result<Beat, Refusal> {
        let verdict = self.check(bytes, source, now_unix_ms);
        match &verdict {
            Ok(_) => self.counts.accepted += 1,
            Err(r) => self.counts.count(*r),
        }
        verdict
    }

    fn check(
        &mut self,
        bytes: &[u8],
        source: SocketAddr,
        now_unix_ms: u64,
    ) -> Result<Beat, Refusal> {
        let beat = self.key.open(bytes)?;
        let ips = self.from.get(&beat.node).ok_or(Refusal::UnknownNode)?;
        if !ips.contains(&source.ip().to_canonical()) {
            return Err(Refusal::WrongAddress);
        }
        let now_us = now_unix_ms.saturating_mul(1_000);
        let age = u64::try_from(self.max_age.as_micros()).unwrap_or(u64::MAX);
        if now_us.abs_diff(beat.stamp_us) > age {
            return Err(Refusal::Stale);
        }
        let last = self.last.entry(beat.node.clone()).or_insert(0);
        if beat.stamp_us <= *last {
            return Err(Refusal::Replayed);
        }
        *last = beat.stamp_us;
        Ok(beat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::peers::BeatKind;

    const NOW_MS: u64 = 1_750_000_000_000;

    fn key(fill: u8) -> HeartbeatKey {
        HeartbeatKey::from_bytes(&[fill; 32], "test").expect("32 bytes")
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("addr")
    }

    /// pom1 (this node) at 192.0.2.1, pom2 at 192.0.2.2 behind a relay listening on 192.0.2.12.
    fn gate() -> BeatGate {
        BeatGate::new(
            key(7),
            Duration::from_secs(5),
            "pom1",
            [
                ("pom1".to_owned(), vec![addr("192.0.2.1:7061")]),
                (
                    "pom2".to_owned(),
                    vec![addr("192.0.2.2:7062"), addr("192.0.2.12:7062")],
                ),
            ],
        )
    }

    fn beat(node: &str, kind: BeatKind, at_ms: u64) -> Beat {
        Beat {
            node: node.into(),
            kind,
            stamp_us: at_ms * 1_000,
        }
    }

    fn pom2() -> SocketAddr {
        addr("192.0.2.2:7062")
    }

    #[test]
    fn a_sealed_fresh_beat_from_its_node_is_accepted_once() {
        let mut g = gate();
        let b = beat("pom2", BeatKind::Leaving, NOW_MS);
        let sealed = key(7).seal(&b);
        assert_eq!(g.admit(&sealed, pom2(), NOW_MS), Ok(b.clone()));
        // The very same datagram again (a replay), and an older one.
        assert_eq!(g.admit(&sealed, pom2(), NOW_MS), Err(Refusal::Replayed));
        let older = key(7).seal(&beat("pom2", BeatKind::Up, NOW_MS - 1));
        assert_eq!(g.admit(&older, pom2(), NOW_MS), Err(Refusal::Replayed));
        // The next one, from the relay's address or another port of its own: accepted.
        let next = key(7).seal(&beat("pom2", BeatKind::Up, NOW_MS + 100));
        assert!(g
            .admit(&next, addr("192.0.2.12:40000"), NOW_MS + 100)
            .is_ok());
        let c = g.counts();
        assert_eq!((c.accepted, c.replayed), (2, 2));
    }

    #[test]
    fn a_forged_beat_is_refused_and_counted() {
        let mut g = gate();
        let b = beat("pom2", BeatKind::Leaving, NOW_MS);
        // Sealed with another key: an outsider's spoofed `leaving`.
        let forged = key(8).seal(&b);
        assert_eq!(g.admit(&forged, pom2(), NOW_MS), Err(Refusal::BadMac));
        // The right seal on altered contents.
        let mut altered = key(7).seal(&beat("pom2", BeatKind::Up, NOW_MS));
        let at = altered
            .windows(2)
            .position(|w| w == b"up")
            .expect("the kind in the JSON");
        altered[at..at + 2].copy_from_slice(b"UP");
        assert_eq!(g.admit(&altered, pom2(), NOW_MS), Err(Refusal::BadMac));
        // The unsealed JSON of old, and junk.
        assert_eq!(g.admit(&b.encode(), pom2(), NOW_MS), Err(Refusal::BadMac));
        assert_eq!(g.admit(b"x", pom2(), NOW_MS), Err(Refusal::Malformed));
        assert_eq!(
            g.admit(&[0u8; MAX_BEAT + 1], pom2(), NOW_MS),
            Err(Refusal::Malformed)
        );
        let c = g.counts();
        assert_eq!((c.bad_mac, c.malformed, c.accepted), (3, 2, 0));
        // The genuine beat still gets in afterwards.
        assert!(g.admit(&key(7).seal(&b), pom2(), NOW_MS).is_ok());
    }

    #[test]
    fn a_stale_or_future_beat_is_refused() {
        let mut g = gate();
        let old = key(7).seal(&beat("pom2", BeatKind::Leaving, NOW_MS - 5_001));
        assert_eq!(g.admit(&old, pom2(), NOW_MS), Err(Refusal::Stale));
        let ahead = key(7).seal(&beat("pom2", BeatKind::Up, NOW_MS + 5_001));
        assert_eq!(g.admit(&ahead, pom2(), NOW_MS), Err(Refusal::Stale));
        let edge = key(7).seal(&beat("pom2", BeatKind::Up, NOW_MS - 5_000));
        assert!(g.admit(&edge, pom2(), NOW_MS).is_ok());
        assert_eq!(g.counts().stale, 2);
    }

    #[test]
    fn a_beat_from_the_wrong_address_or_an_unknown_node_is_refused() {
        let mut g = gate();
        let b = key(7).seal(&beat("pom2", BeatKind::Leaving, NOW_MS));
        // pom2's name, sealed right, but sent from pom1's host or from elsewhere.
        assert_eq!(
            g.admit(&b, addr("192.0.2.1:7061"), NOW_MS),
            Err(Refusal::WrongAddress)
        );
        assert_eq!(
            g.admit(&b, addr("198.51.100.9:7062"), NOW_MS),
            Err(Refusal::WrongAddress)
        );
        let stranger = key(7).seal(&beat("pom9", BeatKind::Up, NOW_MS));
        assert_eq!(
            g.admit(&stranger, pom2(), NOW_MS),
            Err(Refusal::UnknownNode)
        );
        // A refused beat leaves no trace: the same beat from the right place is accepted.
        assert!(g.admit(&b, pom2(), NOW_MS).is_ok());
        // This node wakes itself from loopback.
        let wake = key(7).seal(&beat("pom1", BeatKind::Nudge, NOW_MS));
        assert!(g.admit(&wake, addr("127.0.0.1:50000"), NOW_MS).is_ok());
        let c = g.counts();
        assert_eq!((c.wrong_address, c.unknown_node, c.accepted), (2, 1, 2));
    }

    #[test]
    fn stamps_rise_strictly_even_when_the_clock_does_not() {
        let s = Stamps::default();
        let a = s.next(NOW_MS);
        let b = s.next(NOW_MS);
        let c = s.next(NOW_MS - 10);
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(s.next(NOW_MS + 1), (NOW_MS + 1) * 1_000);
    }

    #[test]
    fn keys_shorter_than_32_bytes_are_refused_and_never_printed() {
        assert!(matches!(
            HeartbeatKey::from_bytes(b"  short-key  \n", "f"),
            Err(KeyError::TooShort { len: 9, .. })
        ));
        let k = HeartbeatKey::from_bytes(&[b'k'; 40], "f").expect("40 bytes");
        assert_eq!(format!("{k:?}"), "HeartbeatKey(40 bytes)");
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("cluster.key");
        std::fs::write(&file, "0123456789abcdef0123456789abcdef\n").expect("write");
        let from_file = HeartbeatKey::load(&KeySource::File(file)).expect("a 32-byte file");
        assert_eq!(from_file.0.len(), 32);
        let missing = HeartbeatKey::load(&KeySource::File(dir.path().join("none")));
        assert!(matches!(missing, Err(KeyError::Unreadable { .. })));
    }
}
