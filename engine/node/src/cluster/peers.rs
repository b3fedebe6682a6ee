//! Direct heartbeats between nodes: the datagram they exchange and, sans-IO, what a node
//! concludes from the ones it hears (who is live, who is dead, who is leaving).
//!
//! Two judgements, from two paths:
//! - *live* (may be given zones and roles): its heartbeat row in the database is fresh and it
//!   is not leaving. A node that cannot reach the database cannot master anything, however
//!   well it beats over UDP.
//! - *dead* (its leases may be taken before they run out): silent on both paths, its UDP
//!   beats and its database row. One path alone failing (a lost route between two nodes that
//!   both still reach the database) must not make two nodes take each other's leases in turn;
//!   a node cut from the database but still beating is not dead, and its leases are taken
//!   only once they run out.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// One heartbeat (JSON, a few dozen bytes; sealed on the wire, see [`super::seal`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Beat {
    pub node: String,
    pub kind: BeatKind,
    /// The sender's wall clock in microseconds, strictly increasing per sender: against
    /// replays ([`super::seal::Stamps`]).
    pub stamp_us: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BeatKind {
    /// Alive.
    Up,
    /// Stopping gracefully: its leases are being released, take them now.
    Leaving,
    /// Something changed in the database (an assignment, a released lease): look now rather
    /// than at the next tick.
    Nudge,
}

/// Datagrams larger than this are not beats (MAC included).
pub const MAX_BEAT: usize = 512;

impl Beat {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// None for anything that is not a beat (stray traffic on the port is ignored).
    pub fn decode(bytes: &[u8]) -> Option<Beat> {
        if bytes.len() > MAX_BEAT {
            return None;
        }
        serde_json::from_slice(bytes).ok()
    }
}

#[derive(Debug, Clone, Copy)]
struct Heard {
    at: Instant,
    leaving: bool,
}

/// What this node has heard from its peers.
#[derive(Debug)]
pub struct PeerTable {
    me: String,
    peers: Vec<String>,
    started: Instant,
    dead_after: Duration,
    heard: HashMap<String, Heard>,
    /// Per peer, how long its database heartbeat row has been silent, as of the last read.
    db_silent: HashMap<String, Duration>,
}

impl PeerTable {
    pub fn new(me: &str, peers: Vec<String>, dead_after: Duration, now: Instant) -> Self {
        Self {
            me: me.to_owned(),
            peers,
            started: now,
            dead_after,
            heard: HashMap::new(),
            db_silent: HashMap::new(),
        }
    }

    /// A beat arrived. Returns true when it should prompt a decision at once (a peer is
    /// leaving, or nudged).
    pub fn on_beat(&mut self, beat: &Beat, now: Instant) -> bool {
        if beat.node == self.me || !self.peers.contains(&beat.node) {
            return false;
        }
        let leaving = beat.kind == BeatKind::Leaving;
        let was_leaving = self.heard.get(&beat.node).is_some_and(|h| h.leaving);
        if beat.kind != BeatKind::Nudge || !was_leaving {
            self.heard
                .insert(beat.node.clone(), Heard { at: now, leaving });
        }
        (leaving && !was_leaving) || beat.kind == BeatKind::Nudge
    }

    /// The database's view: each node's silence and state, as `Coordination::nodes` gives it.
    pub fn on_db_rows(&mut self, rows: &[crate::cluster::coordination::NodeRow]) {
        for r in rows {
            if r.node == self.me {
                continue;
            }
            let silent = if r.state == "leaving" {
                Duration::MAX
            } else {
                Duration::from_millis(r.silent_ms)
            };
            self.db_silent.insert(r.node.clone(), silent);
        }
    }

    fn leaving(&self, peer: &str) -> bool {
        self.heard.get(peer).is_some_and(|h| h.leaving)
    }

    fn udp_fresh(&self, peer: &str, now: Instant) -> bool {
        self.heard
            .get(peer)
            .is_some_and(|h| now.saturating_duration_since(h.at) < self.dead_after)
    }

    fn db_fresh(&self, peer: &str) -> bool {
        self.db_silent
            .get(peer)
            .is_some_and(|s| *s < self.dead_after)
    }

    /// Reaches the database (its row is fresh) and is not leaving: it may master things.
    pub fn is_live(&self, peer: &str, _now: Instant) -> bool {
        peer == self.me || (!self.leaving(peer) && self.db_fresh(peer))
    }

    /// Past the start-up grace (a node just started has not heard anyone yet), and leaving or
    /// silent on both paths.
    pub fn is_dead(&self, peer: &str, now: Instant) -> bool {
        peer != self.me
            && self.past_grace(now)
            && (self.leaving(peer) || (!self.udp_fresh(peer, now) && !self.db_fresh(peer)))
    }

    pub fn past_grace(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.started) >= self.dead_after
    }

    /// Every peer this node may act on as dead.
    pub fn dead(&self, now: Instant) -> Vec<String> {
        self.peers
            .iter()
            .filter(|p| self.is_dead(p, now))
            .cloned()
            .collect()
    }

    /// Live nodes, this one included (unless `me_leaving`).
    pub fn live(&self, now: Instant, me_leaving: bool) -> Vec<String> {
        let mut v: Vec<String> = self
            .peers
            .iter()
            .filter(|p| self.is_live(p, now))
            .cloned()
            .collect();
        if !me_leaving {
            v.push(self.me.clone());
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::coordination::NodeRow;

    fn t0() -> Instant {
        outdial_core::clock::now()
    }

    fn beat(node: &str, kind: BeatKind) -> Beat {
        Beat {
            node: node.into(),
            kind,
            stamp_us: 1,
        }
    }

    #[test]
    fn beats_round_trip_and_junk_is_ignored() {
        let b = beat("pom2", BeatKind::Leaving);
        assert_eq!(Beat::decode(&b.encode()), Some(b));
        assert_eq!(Beat::decode(b"INVITE sip:x SIP/2.0"), None);
        assert_eq!(Beat::decode(&[b' '; MAX_BEAT + 1]), None);
    }

    fn row(node: &str, silent_ms: u64) -> NodeRow {
        NodeRow {
            node: node.into(),
            api: String::new(),
            state: "up".into(),
            silent_ms,
        }
    }

    #[test]
    fn a_peer_is_dead_only_when_silent_on_both_paths_and_after_the_grace() {
        let now = t0();
        let dead_after = Duration::from_millis(600);
        let mut t = PeerTable::new("pom1", vec!["pom2".into(), "pom3".into()], dead_after, now);
        // Nobody is dead before the grace: a node that just started has heard no one yet.
        assert!(t.dead(now + Duration::from_millis(100)).is_empty());
        t.on_beat(&beat("pom2", BeatKind::Up), now);
        let later = now + Duration::from_millis(700);
        assert_eq!(t.dead(later), vec!["pom2".to_string(), "pom3".to_string()]);
        // pom3 silent on UDP but fresh in the database: alive (a lost route, not a dead node).
        t.on_db_rows(&[row("pom3", 100)]);
        assert_eq!(t.dead(later), vec!["pom2".to_string()]);
        assert_eq!(
            t.live(later, false),
            vec!["pom3".to_string(), "pom1".to_string()]
        );
        t.on_beat(&beat("pom2", BeatKind::Up), later);
        assert!(t.dead(later).is_empty());
    }

    #[test]
    fn a_peer_cut_from_the_database_is_not_live_but_not_dead_while_it_beats() {
        let now = t0() + Duration::from_secs(5);
        let mut t = PeerTable::new(
            "pom1",
            vec!["pom2".into()],
            Duration::from_millis(600),
            t0(),
        );
        t.on_beat(&beat("pom2", BeatKind::Up), now);
        t.on_db_rows(&[row("pom2", 5_000)]);
        // It can master nothing (no zone or role goes to it) ...
        assert!(!t.is_live("pom2", now));
        assert_eq!(t.live(now, false), vec!["pom1".to_string()]);
        // ... but its leases are not taken before they run out: it may still be dialing.
        assert!(t.dead(now).is_empty());
        t.on_db_rows(&[row("pom2", 100)]);
        assert!(t.is_live("pom2", now));
    }

    #[test]
    fn a_leaving_peer_is_dead_at_once_and_prompts_a_decision() {
        let now = t0() + Duration::from_secs(5);
        let mut t = PeerTable::new(
            "pom1",
            vec!["pom2".into()],
            Duration::from_millis(600),
            t0(),
        );
        assert!(!t.on_beat(&beat("pom2", BeatKind::Up), now));
        t.on_db_rows(&[row("pom2", 50)]);
        assert!(t.is_live("pom2", now));
        assert!(t.on_beat(&beat("pom2", BeatKind::Leaving), now));
        assert!(!t.is_live("pom2", now));
        assert_eq!(t.dead(now), vec!["pom2".to_string()]);
        // A stranger's beats change nothing.
        assert!(!t.on_beat(&beat("mallory", BeatKind::Leaving), now));
    }
}
