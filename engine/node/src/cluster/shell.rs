//! The cluster thread: the IO around [`super::plan`]. Every heartbeat interval it sends its
//! beats, reads the leases, nodes and assignments, renews what it holds, drops what ran out
//! by its own deadline, and carries out the plan. A peer leaving or a nudge makes it decide
//! at once, which is what makes a graceful handover take milliseconds.
//!
//! It is a plain OS thread, not an actor: the database client blocks, and mastership must
//! keep being renewed (or given up) however busy the actors are.
//!
//! Every beat it sends is sealed with the cluster's key, and only beats the [`BeatGate`] lets
//! in (right key, a configured peer's address, fresh, newer than that peer's last) count;
//! the refused are counted in the view. A cluster refuses to start without a key.

use std::collections::{BTreeMap, HashMap};
use std::net::UdpSocket;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cluster::coordination::{Assignment, Coordination, LeaseRow, NodeBeat, NodeRow};
use outdial_core::clock::Clock;
use outdial_core::sync::{AtomicBool, Ordering};

use super::peers::{Beat, BeatKind, PeerTable};
use super::plan::{plan, Action, Inputs};
use super::seal::{BeatCounts, BeatGate, HeartbeatKey, Stamps};
use super::{ClusterSettings, ZoneLease};

/// Why this node stopped mastering a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Loss {
    /// Assigned elsewhere ("save and apply", or the director moved it): handed over.
    Handover,
    /// The node is stopping.
    Leaving,
    /// Another node took the lease (this node was cut off and seen as dead).
    Taken,
    /// No renewal reached the database before this node's own deadline.
    Expired,
}

/// What the node does when mastership changes. Called on the cluster thread, in order.
pub trait Hooks: Send + 'static {
    /// The zone is this node's under `epoch`: resolve what the last master left in flight,
    /// then start its agent manager and jobs.
    fn zone_taken(&mut self, zone: &str, epoch: u64);
    /// The zone is no longer this node's: stop dialing, log its agents out. Returns once the
    /// agents are out (the lease is released after it).
    fn zone_lost(&mut self, zone: &str, why: Loss);
    fn control_changed(&mut self, lease: &str, master: bool);
}

/// The cluster as this node last saw it, for `GET /v1/cluster` and status.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClusterView {
    pub me: String,
    pub leases: Vec<LeaseRow>,
    pub nodes: Vec<NodeRow>,
    pub assignments: Vec<Assignment>,
    /// Live nodes by heartbeats (UDP or database).
    pub live: Vec<String>,
    /// Leases this node holds, with epochs.
    pub held: BTreeMap<String, u64>,
    /// The last database error, if the last tick had one.
    pub db_error: Option<String>,
    /// Mastership changes of this node, newest last (at most 64).
    pub changes: Vec<Change>,
    /// Datagrams on the heartbeat port: beats accepted, and the refused by reason (forged,
    /// replayed, stale, from the wrong address ...).
    pub beats: BeatCounts,
}

/// One change of mastership on this node.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub at_ms: u64,
    pub lease: String,
    pub epoch: u64,
    /// `taken`, or the [`Loss`].
    pub what: String,
}

/// The node's handle on its cluster thread.
pub struct ClusterHandle {
    view: Arc<Mutex<ClusterView>>,
    leaving: Arc<AtomicBool>,
    done: Mutex<Option<mpsc::Receiver<()>>>,
    wake: std::net::SocketAddr,
    coord: Arc<dyn Coordination>,
    nudge: mpsc::Sender<()>,
    seal: Sealer,
}

/// What sealing this node's beats takes, shared by every thread that sends one.
#[derive(Clone)]
struct Sealer {
    me: String,
    key: HeartbeatKey,
    stamps: Arc<Stamps>,
    clock: Arc<dyn Clock>,
}

impl Sealer {
    fn beat(&self, kind: BeatKind) -> Vec<u8> {
        self.key.seal(&Beat {
            node: self.me.clone(),
            kind,
            stamp_us: self.stamps.next(self.clock.unix_ms()),
        })
    }
}

impl ClusterHandle {
    pub fn view(&self) -> ClusterView {
        self.view.lock().map(|v| v.clone()).unwrap_or_default()
    }

    pub fn coordination(&self) -> &Arc<dyn Coordination> {
        &self.coord
    }

    /// Graceful stop: tells the peers, logs the zones' agents out and releases every lease,
    /// then returns (bounded by `within`).
    pub fn leave(&self, within: Duration) {
        self.leaving.store(true, Ordering::Release);
        self.wake_up();
        let rx = self.done.lock().ok().and_then(|mut d| d.take());
        if let Some(rx) = rx {
            if rx.recv_timeout(within).is_err() {
                tracing::warn!("cluster: leases not all released in time; they will run out");
            }
        }
    }

    /// Tells every peer to look at the database now (an assignment changed here).
    pub fn nudge_peers(&self) {
        let _ = self.nudge.send(());
        self.wake_up();
    }

    /// Decide now rather than at the next tick (after an assignment was changed here): a
    /// sealed nudge from this node to itself, over loopback.
    pub fn wake_up(&self) {
        if let Ok(s) = UdpSocket::bind("127.0.0.1:0") {
            let _ = s.send_to(&self.seal.beat(BeatKind::Nudge), self.wake);
        }
    }
}

struct Held {
    epoch: u64,
    deadline: Instant,
}

struct Shell {
    s: ClusterSettings,
    coord: Arc<dyn Coordination>,
    clock: Arc<dyn Clock>,
    socket: UdpSocket,
    peers: PeerTable,
    gate: BeatGate,
    seal: Sealer,
    held: BTreeMap<String, Held>,
    zones: Vec<String>,
    zone_leases: HashMap<String, Arc<ZoneLease>>,
    base: Instant,
    hooks: Box<dyn Hooks>,
    view: Arc<Mutex<ClusterView>>,
    leaving: Arc<AtomicBool>,
    done: Option<mpsc::Sender<()>>,
    /// Asks for a nudge to the peers at the next decision.
    nudges: mpsc::Receiver<()>,
    api: String,
    last_renew: Option<Instant>,
    last_db_beat: Option<Instant>,
    leases: Vec<LeaseRow>,
    assignments: Vec<Assignment>,
}

/// Starts the cluster thread. `zone_leases` are the node's per-zone lease cells (one per
/// zone of the cluster); `base` is the instant the cells' nanoseconds count from. Fails
/// without the cluster's heartbeat key (at least 32 bytes).
pub fn start(
    s: ClusterSettings,
    coord: Arc<dyn Coordination>,
    clock: Arc<dyn Clock>,
    zones: Vec<String>,
    zone_leases: HashMap<String, Arc<ZoneLease>>,
    base: Instant,
    hooks: Box<dyn Hooks>,
) -> std::io::Result<ClusterHandle> {
    let me = s
        .me()
        .cloned()
        .ok_or_else(|| std::io::Error::other(format!("{} is not a node of the cluster", s.me)))?;
    let key = HeartbeatKey::load(&s.heartbeat_key).map_err(std::io::Error::other)?;
    let gate = BeatGate::new(
        key.clone(),
        s.heartbeat_max_age,
        &s.me,
        s.nodes
            .iter()
            .map(|n| (n.name.clone(), vec![n.heartbeat, n.heartbeat_bind])),
    );
    let seal = Sealer {
        me: s.me.clone(),
        key,
        stamps: Arc::new(Stamps::default()),
        clock: Arc::clone(&clock),
    };
    let socket = UdpSocket::bind(me.heartbeat_bind)?;
    let wake = socket.local_addr()?;
    let now = clock.now();
    let peers = PeerTable::new(
        &s.me,
        s.peers().map(|p| p.name.clone()).collect(),
        s.peer_dead_after,
        now,
    );
    let view = Arc::new(Mutex::new(ClusterView {
        me: s.me.clone(),
        ..ClusterView::default()
    }));
    let leaving = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = mpsc::channel();
    let (nudge_tx, nudge_rx) = mpsc::channel();
    let shell = Shell {
        nudges: nudge_rx,
        api: me.http.to_string(),
        s,
        coord: Arc::clone(&coord),
        clock,
        socket,
        peers,
        gate,
        seal: seal.clone(),
        held: BTreeMap::new(),
        zones,
        zone_leases,
        base,
        hooks,
        view: Arc::clone(&view),
        leaving: Arc::clone(&leaving),
        done: Some(done_tx),
        last_renew: None,
        last_db_beat: None,
        leases: Vec::new(),
        assignments: Vec::new(),
    };
    // The beats have a thread of their own: a slow database call on the cluster thread must
    // not make this node fall silent on UDP and look dead to its peers.
    let beats = shell.socket.try_clone()?;
    let (sealer, every, left) = (seal.clone(), shell.s.heartbeat_every, Arc::clone(&leaving));
    let to: Vec<std::net::SocketAddr> = shell.s.peers().map(|p| p.heartbeat).collect();
    std::thread::Builder::new()
        .name("outdial-beats".into())
        .spawn(move || beat_forever(&beats, &sealer, &to, every, &left))?;
    std::thread::Builder::new()
        .name("outdial-cluster".into())
        .spawn(move || shell.run())?;
    Ok(ClusterHandle {
        view,
        leaving,
        done: Mutex::new(Some(done_rx)),
        wake,
        coord,
        nudge: nudge_tx,
        seal,
    })
}

impl Shell {
    fn run(mut self) {
        let tick = self.s.heartbeat_every;
        let mut next_tick = self.clock.now();
        let mut buf = [0u8; super::peers::MAX_BEAT + 1];
        loop {
            let now = self.clock.now();
            if now >= next_tick {
                next_tick = now + tick;
                self.tick(now);
            } else {
                let wait = next_tick
                    .saturating_duration_since(now)
                    .max(Duration::from_millis(1));
                let _ = self.socket.set_read_timeout(Some(wait));
                if let Ok((n, from)) = self.socket.recv_from(&mut buf) {
                    let admitted = self.gate.admit(&buf[..n], from, self.clock.unix_ms());
                    let Ok(beat) = admitted else {
                        self.note_refused(from);
                        continue;
                    };
                    let now = self.clock.now();
                    // Its own name is this node's own wake-up (leave, or a local change).
                    if beat.node == self.s.me || self.peers.on_beat(&beat, now) {
                        self.decide(now);
                    }
                }
            }
            if self.leaving.load(Ordering::Acquire) && self.done.is_none() {
                return;
            }
        }
    }

    fn leaving(&self) -> bool {
        self.leaving.load(Ordering::Acquire)
    }

    fn send_beats(&self, kind: BeatKind) {
        let beat = self.seal.beat(kind);
        for p in self.s.peers() {
            let _ = self.socket.send_to(&beat, p.heartbeat);
        }
    }

    /// A datagram the gate refused: counted in the view, logged now and then (a forger must
    /// not be able to fill the log).
    fn note_refused(&self, from: std::net::SocketAddr) {
        let counts = self.gate.counts();
        let refused = counts.malformed
            + counts.bad_mac
            + counts.unknown_node
            + counts.wrong_address
            + counts.stale
            + counts.replayed;
        if refused.is_power_of_two() {
            tracing::warn!(%from, ?counts, "cluster: heartbeat refused");
        }
        if let Ok(mut v) = self.view.lock() {
            v.beats = counts;
        }
    }

    fn tick(&mut self, now: Instant) {
        let leaving = self.leaving();
        // The database heartbeat and the nodes' rows, twice per liveness limit.
        if self
            .last_db_beat
            .is_none_or(|t| now.saturating_duration_since(t) >= self.s.peer_dead_after / 3)
        {
            self.last_db_beat = Some(now);
            let beat = NodeBeat {
                node: self.s.me.clone(),
                api: self.api.clone(),
                state: if leaving { "leaving" } else { "up" }.into(),
            };
            match self
                .coord
                .heartbeat(&beat)
                .and_then(|()| self.coord.nodes())
            {
                Ok(rows) => {
                    self.peers.on_db_rows(&rows);
                    if let Ok(mut v) = self.view.lock() {
                        v.nodes = rows;
                    }
                }
                Err(e) => self.note_error(&e.to_string()),
            }
        }
        if self
            .last_renew
            .is_none_or(|t| now.saturating_duration_since(t) >= self.s.renew_every)
        {
            self.last_renew = Some(now);
            self.renew();
        }
        self.expire(self.clock.now());
        self.decide(self.clock.now());
    }

    fn renew(&mut self) {
        let names: Vec<(String, u64)> = self
            .held
            .iter()
            .map(|(l, h)| (l.clone(), h.epoch))
            .collect();
        for (lease, epoch) in names {
            let sent = self.clock.now();
            match self
                .coord
                .renew(&lease, &self.s.me, epoch, self.s.lease_ttl)
            {
                Ok(true) => self.hold(&lease, epoch, sent),
                Ok(false) => {
                    tracing::warn!(%lease, epoch, "cluster: lease taken by another node");
                    self.lost(&lease, Loss::Taken);
                }
                Err(e) => self.note_error(&e.to_string()),
            }
        }
    }

    /// Leases whose own deadline passed without a renewal: this node may no longer act.
    fn expire(&mut self, now: Instant) {
        let gone: Vec<String> = self
            .held
            .iter()
            .filter(|(_, h)| h.deadline <= now)
            .map(|(l, _)| l.clone())
            .collect();
        for lease in gone {
            tracing::error!(%lease, "cluster: lease ran out before a renewal reached the database; no more dialing under it");
            self.lost(&lease, Loss::Expired);
        }
    }

    fn note_error(&self, e: &str) {
        if let Ok(mut v) = self.view.lock() {
            if v.db_error.as_deref() != Some(e) {
                tracing::warn!(error = %e, "cluster: database unreachable");
            }
            v.db_error = Some(e.to_owned());
        }
    }

    fn ns(&self, at: Instant) -> u64 {
        super::nanos_since(self.base, at)
    }

    /// Holds `lease` under `epoch`, counting its deadline from `sent` (when the request left,
    /// which is before the database stamped it).
    fn hold(&mut self, lease: &str, epoch: u64, sent: Instant) {
        let deadline = sent + self.s.lease_ttl - self.s.safety_margin();
        self.held.insert(lease.to_owned(), Held { epoch, deadline });
        if let Some(z) = self.zone_of(lease) {
            if let Some(cell) = self.zone_leases.get(&z) {
                cell.hold(epoch, self.ns(deadline));
            }
        }
    }

    fn zone_of(&self, lease: &str) -> Option<String> {
        lease.strip_prefix("zone/").map(str::to_owned)
    }

    fn record(&self, lease: &str, epoch: u64, what: &str) {
        if let Ok(mut v) = self.view.lock() {
            if v.changes.len() == 64 {
                v.changes.remove(0);
            }
            v.changes.push(Change {
                at_ms: self.clock.unix_ms(),
                lease: lease.to_owned(),
                epoch,
                what: what.to_owned(),
            });
        }
    }

    /// Stops acting under `lease` (the database may already have given it to someone else).
    fn lost(&mut self, lease: &str, why: Loss) {
        let Some(h) = self.held.remove(lease) else {
            return;
        };
        if let Some(z) = self.zone_of(lease) {
            if let Some(cell) = self.zone_leases.get(&z) {
                cell.drop_lease();
            }
            self.hooks.zone_lost(&z, why);
        } else {
            self.hooks.control_changed(lease, false);
        }
        let what = serde_json::to_value(why)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        self.record(lease, h.epoch, &what);
    }

    fn decide(&mut self, now: Instant) {
        let leaving = self.leaving();
        if leaving && self.done.is_some() {
            // Peers hear it first, so none waits for this node's leases to run out.
            self.send_beats(BeatKind::Leaving);
            let beat = NodeBeat {
                node: self.s.me.clone(),
                api: self.api.clone(),
                state: "leaving".into(),
            };
            if let Err(e) = self.coord.heartbeat(&beat) {
                self.note_error(&e.to_string());
            }
        }
        match self
            .coord
            .leases()
            .and_then(|l| Ok((l, self.coord.assignments()?)))
        {
            Ok((l, a)) => {
                self.leases = l;
                self.assignments = a;
                if let Ok(mut v) = self.view.lock() {
                    v.db_error = None;
                }
            }
            Err(e) => {
                self.note_error(&e.to_string());
                if !leaving {
                    self.publish(now);
                    return;
                }
            }
        }
        let ranks: Vec<String> = self.s.nodes.iter().map(|n| n.name.clone()).collect();
        let live = self.peers.live(now, leaving);
        let dead = self.peers.dead(now);
        let held: BTreeMap<String, u64> = self
            .held
            .iter()
            .map(|(l, h)| (l.clone(), h.epoch))
            .collect();
        let actions = plan(&Inputs {
            me: &self.s.me,
            ranks: &ranks,
            live: &live,
            dead: &dead,
            zones: &self.zones,
            leases: &self.leases,
            assignments: &self.assignments,
            held: &held,
            leaving,
            may_allocate: self.peers.past_grace(now),
        });
        let mut changed = self.nudges.try_iter().count() > 0;
        for a in actions {
            changed |= self.act(a, &dead);
        }
        if changed {
            self.send_beats(if leaving {
                BeatKind::Leaving
            } else {
                BeatKind::Nudge
            });
        }
        if leaving {
            if let Some(done) = self.done.take() {
                let _ = done.send(());
            }
        }
        self.publish(now);
    }

    /// Carries out one action; true when peers should look again now.
    fn act(&mut self, a: Action, dead: &[String]) -> bool {
        match a {
            Action::Acquire(lease) => {
                let sent = self.clock.now();
                match self
                    .coord
                    .acquire(&lease, &self.s.me, self.s.lease_ttl, dead)
                {
                    Ok(Some(epoch)) => {
                        self.hold(&lease, epoch, sent);
                        tracing::info!(%lease, epoch, "cluster: lease taken");
                        self.record(&lease, epoch, "taken");
                        if let Some(z) = self.zone_of(&lease) {
                            self.hooks.zone_taken(&z, epoch);
                        } else {
                            self.hooks.control_changed(&lease, true);
                        }
                        true
                    }
                    Ok(None) => false,
                    Err(e) => {
                        self.note_error(&e.to_string());
                        false
                    }
                }
            }
            Action::Release(lease) => {
                let epoch = self.held.get(&lease).map(|h| h.epoch);
                let why = if self.leaving() {
                    Loss::Leaving
                } else {
                    Loss::Handover
                };
                self.lost(&lease, why);
                if let Some(epoch) = epoch {
                    if let Err(e) = self.coord.release(&lease, &self.s.me, epoch) {
                        self.note_error(&e.to_string());
                    }
                }
                true
            }
            Action::Assign { zone, node } => {
                tracing::info!(%zone, %node, "cluster: director assigns the zone");
                match self.coord.assign(&zone, &node) {
                    Ok(()) => {
                        if let Some(a) = self.assignments.iter_mut().find(|a| a.zone == zone) {
                            a.node = node;
                        }
                        true
                    }
                    Err(e) => {
                        self.note_error(&e.to_string());
                        false
                    }
                }
            }
        }
    }

    fn publish(&self, now: Instant) {
        if let Ok(mut v) = self.view.lock() {
            v.beats = self.gate.counts();
            v.leases = self.leases.clone();
            v.assignments = self.assignments.clone();
            v.live = self.peers.live(now, self.leaving());
            v.held = self
                .held
                .iter()
                .map(|(l, h)| (l.clone(), h.epoch))
                .collect();
        }
    }
}

/// Sends `Up` to every peer each `every` until the node leaves, then a last few `Leaving`,
/// each beat sealed with a fresh stamp. The pause between beats is the one sleep of the
/// cluster's IO: it is the beat's period.
fn beat_forever(
    socket: &UdpSocket,
    seal: &Sealer,
    peers: &[std::net::SocketAddr],
    every: Duration,
    leaving: &AtomicBool,
) {
    while !leaving.load(Ordering::Acquire) {
        let up = seal.beat(BeatKind::Up);
        for p in peers {
            let _ = socket.send_to(&up, p);
        }
        std::thread::sleep(every);
    }
    for _ in 0..3 {
        let left = seal.beat(BeatKind::Leaving);
        for p in peers {
            let _ = socket.send_to(&left, p);
        }
        std::thread::sleep(every);
    }
}
