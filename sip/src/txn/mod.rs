//! RFC 3261 §17 transactions: the layer that routes messages by transaction key to four
//! machines (client INVITE, client non-INVITE, server INVITE, server non-INVITE).
//!
//! The layer owns the machines, the bytes they retransmit and the transmit queue; the dialog
//! layer above hears about them only through the outcomes returned here, and names a
//! transaction only by its [`TxnId`].

pub mod client_invite;
pub mod client_non_invite;
pub mod server_invite;
pub mod server_non_invite;
mod timers;

use std::collections::HashMap;
use std::time::Instant;

use crate::peer::Peer;

pub use client_invite::{ClientInvite, ClientInviteAction, ClientInviteState};
pub use client_non_invite::{ClientNonInvite, ClientNonInviteAction, ClientNonInviteState};
pub use server_invite::{ServerInvite, ServerInviteAction, ServerInviteState};
pub use server_non_invite::{ServerNonInvite, ServerNonInviteAction, ServerNonInviteState};
pub use timers::{Retransmit, Timer, TimerConfig};

/// A message the core wants sent: a datagram for a UDP peer, a whole message to write on the
/// connection to a TCP or TLS peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub dest: Peer,
    pub payload: Vec<u8>,
}

/// Names one transaction inside a [`Layer`]; never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxnId(pub u64);

/// The method classes transaction matching cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MethodClass {
    Invite,
    Ack,
    Cancel,
    Other,
}

impl MethodClass {
    pub fn of(method: &rsip::Method) -> Self {
        match method {
            rsip::Method::Invite => Self::Invite,
            rsip::Method::Ack => Self::Ack,
            rsip::Method::Cancel => Self::Cancel,
            _ => Self::Other,
        }
    }
}

// The variant names are RFC 3261's four transaction kinds; the shared suffix is the point.
#[allow(clippy::enum_variant_names)]
#[derive(Debug)]
enum Machine {
    ClientInvite(ClientInvite),
    ClientNonInvite(ClientNonInvite),
    ServerInvite(ServerInvite),
    ServerNonInvite(ServerNonInvite),
}

impl Machine {
    fn is_terminated(&self) -> bool {
        match self {
            Machine::ClientInvite(m) => m.is_terminated(),
            Machine::ClientNonInvite(m) => m.is_terminated(),
            Machine::ServerInvite(m) => m.is_terminated(),
            Machine::ServerNonInvite(m) => m.is_terminated(),
        }
    }

    fn deadline(&self) -> Option<(Instant, Timer)> {
        match self {
            Machine::ClientInvite(m) => m.deadline(),
            Machine::ClientNonInvite(m) => m.deadline(),
            Machine::ServerInvite(m) => m.deadline(),
            Machine::ServerNonInvite(m) => m.deadline(),
        }
    }
}

#[derive(Debug)]
struct Entry {
    machine: Machine,
    dest: Peer,
    /// Client: the request. Server: the last response sent.
    last: Vec<u8>,
    /// Client INVITE: the ACK for its final (non-2xx, or the TU's 2xx ACK), resent on each
    /// retransmission of that final.
    ack: Option<Vec<u8>>,
    owner: u64,
    client_key: Option<(String, MethodClass)>,
    server_key: Option<ServerKey>,
}

/// RFC 3261 §17.2.3: branch, sent-by and method (ACK folds into INVITE).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerKey {
    pub branch: String,
    pub sent_by: String,
    pub method: MethodClass,
}

/// A request to send in a new client transaction.
#[derive(Debug)]
pub struct ClientRequest {
    pub method: MethodClass,
    /// Top Via branch; unique per request (CANCEL reuses its INVITE's).
    pub branch: String,
    pub dest: Peer,
    pub request: Vec<u8>,
    /// Who hears about this transaction (a call slot, or a probe).
    pub owner: u64,
}

/// What a matched response means for the transaction's owner.
#[derive(Debug, PartialEq, Eq)]
pub enum ResponseOutcome {
    /// Absorbed by the transaction (a retransmission); nothing for the owner.
    Absorbed,
    /// Hand the response to the owner.
    Deliver,
    /// First non-2xx final to an INVITE: the owner must supply the ACK via [`Layer::send_ack`].
    NeedAck,
}

/// A timer outcome the owner must hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerOutcome {
    /// Client transaction got no final response (Timer B or F).
    TimedOut,
    /// Server INVITE transaction never got its ACK (Timer H, or 2xx retransmits exhausted).
    AckTimeout,
}

/// Counters the layer keeps; cheap to copy.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TxnStats {
    pub client_retransmissions: u64,
    pub server_retransmissions: u64,
    pub timeouts: u64,
}

/// The transaction layer: machines by id, keys to ids, and the transmit queue.
#[derive(Debug, Default)]
pub struct Layer {
    cfg: TimerConfig,
    next_id: u64,
    txns: HashMap<TxnId, Entry>,
    /// By branch; CANCEL shares its INVITE's branch, so it has a map of its own.
    client_keys: HashMap<String, TxnId>,
    cancel_keys: HashMap<String, TxnId>,
    server_keys: HashMap<ServerKey, TxnId>,
    stats: TxnStats,
}

impl Layer {
    pub fn new(cfg: TimerConfig) -> Self {
        Self {
            cfg,
            ..Self::default()
        }
    }

    pub fn config(&self) -> TimerConfig {
        self.cfg
    }

    pub fn stats(&self) -> TxnStats {
        self.stats
    }

    /// Live transactions (for leak checks and status pages).
    pub fn len(&self) -> usize {
        self.txns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.txns.is_empty()
    }

    fn alloc(&mut self) -> TxnId {
        self.next_id += 1;
        TxnId(self.next_id)
    }

    /// Starts a client transaction and queues its first transmission. `branch` must be unique.
    pub fn start_client(
        &mut self,
        now: Instant,
        req: ClientRequest,
        out: &mut Vec<Transmit>,
    ) -> TxnId {
        let ClientRequest {
            method,
            branch,
            dest,
            request,
            owner,
        } = req;
        let id = self.alloc();
        let machine = match method {
            MethodClass::Invite => {
                Machine::ClientInvite(ClientInvite::over(now, self.cfg, dest.transport))
            }
            _ => Machine::ClientNonInvite(ClientNonInvite::over(now, self.cfg, dest.transport)),
        };
        out.push(Transmit {
            dest,
            payload: request.clone(),
        });
        let key = (branch, method);
        if method == MethodClass::Cancel {
            self.cancel_keys.insert(key.0.clone(), id);
        } else {
            self.client_keys.insert(key.0.clone(), id);
        }
        self.txns.insert(
            id,
            Entry {
                machine,
                dest,
                last: request,
                ack: None,
                owner,
                client_key: Some(key),
                server_key: None,
            },
        );
        id
    }

    /// Finds the client transaction a response belongs to (§17.1.3) and its owner.
    pub fn match_response(&self, branch: &str, cseq_method: MethodClass) -> Option<(TxnId, u64)> {
        let keys = if cseq_method == MethodClass::Cancel {
            &self.cancel_keys
        } else {
            &self.client_keys
        };
        let id = *keys.get(branch)?;
        let owner = self.txns.get(&id)?.owner;
        Some((id, owner))
    }

    /// Feeds a matched response to its client transaction.
    pub fn on_response(
        &mut self,
        now: Instant,
        id: TxnId,
        status: u16,
        out: &mut Vec<Transmit>,
    ) -> ResponseOutcome {
        let Some(entry) = self.txns.get_mut(&id) else {
            return ResponseOutcome::Absorbed;
        };
        match &mut entry.machine {
            Machine::ClientInvite(m) => match m.on_response(now, status) {
                ClientInviteAction::Deliver => ResponseOutcome::Deliver,
                ClientInviteAction::AckNon2xx { first: true } => ResponseOutcome::NeedAck,
                ClientInviteAction::AckNon2xx { first: false } | ClientInviteAction::ReAck2xx => {
                    if let Some(ack) = &entry.ack {
                        out.push(Transmit {
                            dest: entry.dest,
                            payload: ack.clone(),
                        });
                    }
                    ResponseOutcome::Absorbed
                }
                _ => ResponseOutcome::Absorbed,
            },
            Machine::ClientNonInvite(m) => match m.on_response(now, status) {
                ClientNonInviteAction::Deliver => ResponseOutcome::Deliver,
                _ => ResponseOutcome::Absorbed,
            },
            _ => ResponseOutcome::Absorbed,
        }
    }

    /// Sends the ACK for a final response and keeps it for that final's retransmissions.
    pub fn send_ack(&mut self, id: TxnId, ack: Vec<u8>, out: &mut Vec<Transmit>) {
        if let Some(entry) = self.txns.get_mut(&id) {
            out.push(Transmit {
                dest: entry.dest,
                payload: ack.clone(),
            });
            entry.ack = Some(ack);
        }
    }

    /// The TU abandons a client INVITE (no final response after its CANCEL).
    pub fn abandon(&mut self, id: TxnId) {
        if let Some(entry) = self.txns.get_mut(&id) {
            if let Machine::ClientInvite(m) = &mut entry.machine {
                m.abandon();
            }
        }
        self.remove_if_terminated(id);
    }

    /// Matches a request to an existing server transaction (ACK matches its INVITE's).
    pub fn match_request(&self, key: &ServerKey) -> Option<(TxnId, u64)> {
        let id = *self.server_keys.get(key)?;
        Some((id, self.txns.get(&id)?.owner))
    }

    /// Creates a server transaction for a new request from `dest`, answered where it came
    /// from (over its connection, for TCP and TLS).
    pub fn start_server(&mut self, key: ServerKey, dest: Peer, owner: u64) -> TxnId {
        let id = self.alloc();
        let machine = match key.method {
            MethodClass::Invite => {
                Machine::ServerInvite(ServerInvite::over(self.cfg, dest.transport))
            }
            _ => Machine::ServerNonInvite(ServerNonInvite::over(self.cfg, dest.transport)),
        };
        self.server_keys.insert(key.clone(), id);
        self.txns.insert(
            id,
            Entry {
                machine,
                dest,
                last: Vec::new(),
                ack: None,
                owner,
                client_key: None,
                server_key: Some(key),
            },
        );
        id
    }

    /// Re-points a transaction at a new owner (a server transaction created before its dialog).
    pub fn set_owner(&mut self, id: TxnId, owner: u64) {
        if let Some(e) = self.txns.get_mut(&id) {
            e.owner = owner;
        }
    }

    /// Sends a response through a server transaction.
    pub fn respond(
        &mut self,
        now: Instant,
        id: TxnId,
        status: u16,
        response: Vec<u8>,
        out: &mut Vec<Transmit>,
    ) -> bool {
        let Some(entry) = self.txns.get_mut(&id) else {
            return false;
        };
        match &mut entry.machine {
            Machine::ServerInvite(m) => m.on_send(now, status),
            Machine::ServerNonInvite(m) => m.on_send(now, status),
            _ => return false,
        }
        out.push(Transmit {
            dest: entry.dest,
            payload: response.clone(),
        });
        entry.last = response;
        true
    }

    /// Whether a server INVITE transaction has already sent a final response.
    pub fn server_has_final(&self, id: TxnId) -> bool {
        match self.txns.get(&id).map(|e| &e.machine) {
            Some(Machine::ServerInvite(m)) => m.has_final(),
            Some(Machine::ServerNonInvite(m)) => m.has_final(),
            _ => true,
        }
    }

    /// A request retransmission from `from` matched `id`; resends the last response when the
    /// machine says so, to where the retransmission came from (a NATed or re-bound peer keeps
    /// its transaction).
    pub fn on_retransmitted_request(&mut self, id: TxnId, from: Peer, out: &mut Vec<Transmit>) {
        let Some(entry) = self.txns.get_mut(&id) else {
            return;
        };
        entry.dest = from;
        let resend = match &mut entry.machine {
            Machine::ServerInvite(m) => {
                m.on_retransmitted_request() == ServerInviteAction::ResendLast
            }
            Machine::ServerNonInvite(m) => {
                m.on_retransmitted_request() == ServerNonInviteAction::ResendLast
            }
            _ => false,
        };
        if resend && !entry.last.is_empty() {
            self.stats.server_retransmissions += 1;
            out.push(Transmit {
                dest: entry.dest,
                payload: entry.last.clone(),
            });
        }
    }

    /// An ACK for a server INVITE transaction's final response; true the first time.
    pub fn on_ack(&mut self, now: Instant, id: TxnId) -> bool {
        match self.txns.get_mut(&id).map(|e| &mut e.machine) {
            Some(Machine::ServerInvite(m)) => m.on_ack(now) == ServerInviteAction::Acked,
            _ => false,
        }
    }

    /// Where the transaction sends.
    pub fn dest(&self, id: TxnId) -> Option<Peer> {
        self.txns.get(&id).map(|e| e.dest)
    }

    /// The transaction's next deadline, if it is still alive.
    pub fn deadline(&self, id: TxnId) -> Option<Instant> {
        self.txns
            .get(&id)
            .and_then(|e| e.machine.deadline())
            .map(|(at, _)| at)
    }

    /// Fires `id`'s due timer. Returns the owner and what it must hear, if anything.
    pub fn on_timeout(
        &mut self,
        now: Instant,
        id: TxnId,
        out: &mut Vec<Transmit>,
    ) -> Option<(u64, TimerOutcome)> {
        let entry = self.txns.get_mut(&id)?;
        let owner = entry.owner;
        let mut report = None;
        match &mut entry.machine {
            Machine::ClientInvite(m) => match m.on_timeout(now) {
                ClientInviteAction::Retransmit => {
                    self.stats.client_retransmissions += 1;
                    out.push(Transmit {
                        dest: entry.dest,
                        payload: entry.last.clone(),
                    });
                }
                ClientInviteAction::TimedOut => report = Some(TimerOutcome::TimedOut),
                _ => {}
            },
            Machine::ClientNonInvite(m) => match m.on_timeout(now) {
                ClientNonInviteAction::Retransmit => {
                    self.stats.client_retransmissions += 1;
                    out.push(Transmit {
                        dest: entry.dest,
                        payload: entry.last.clone(),
                    });
                }
                ClientNonInviteAction::TimedOut => report = Some(TimerOutcome::TimedOut),
                _ => {}
            },
            Machine::ServerInvite(m) => match m.on_timeout(now) {
                ServerInviteAction::ResendLast => {
                    self.stats.server_retransmissions += 1;
                    out.push(Transmit {
                        dest: entry.dest,
                        payload: entry.last.clone(),
                    });
                }
                ServerInviteAction::AckTimeout => report = Some(TimerOutcome::AckTimeout),
                _ => {}
            },
            Machine::ServerNonInvite(m) => {
                m.on_timeout(now);
            }
        }
        if report == Some(TimerOutcome::TimedOut) {
            self.stats.timeouts += 1;
        }
        self.remove_if_terminated(id);
        report.map(|r| (owner, r))
    }

    fn remove_if_terminated(&mut self, id: TxnId) {
        let done = self
            .txns
            .get(&id)
            .is_some_and(|e| e.machine.is_terminated());
        if done {
            if let Some(e) = self.txns.remove(&id) {
                if let Some((branch, method)) = e.client_key {
                    if method == MethodClass::Cancel {
                        self.cancel_keys.remove(&branch);
                    } else {
                        self.client_keys.remove(&branch);
                    }
                }
                if let Some(k) = e.server_key {
                    self.server_keys.remove(&k);
                }
            }
        }
    }
}
