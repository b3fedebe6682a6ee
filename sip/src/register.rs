//! The registration client (RFC 3261 §10): one binding of our Contact at a registrar, kept
//! alive by refreshes, answered challenges and bounded back-off, removed on shutdown.
//!
//! A [`Registration`] is sans-IO and knows nothing of transactions: it writes REGISTER
//! requests ([`Request`]) for the endpoint to send in client transactions, takes their final
//! responses ([`Reply`]) or their failure, and names one deadline (a refresh or a retry).
//! Its state is an enum of per-state data, so a refresh time exists only while registered
//! and a retry time only while backing off.

use std::time::{Duration, Instant};

use crate::auth::{self, Challenge, Credentials};
use crate::build::{self, RequestSpec};
use crate::dialog::{Local, Request};
use crate::ids::IdGen;
use crate::peer::Peer;
use crate::txn::MethodClass;

/// The longest binding we ask for or believe (a week): a registrar's bigger number is clamped.
const MAX_EXPIRES: Duration = Duration::from_secs(7 * 24 * 3600);
/// Refresh this long before the binding lapses, or at half its life if that is later.
const REFRESH_MARGIN: Duration = Duration::from_secs(32);
/// Challenges answered for one REGISTER before giving up (a cached one, a fresh one, a stale one).
const MAX_AUTH_TRIES: u8 = 3;

/// What to register and where.
#[derive(Debug, Clone)]
pub struct RegisterParams {
    /// The next hop: the registrar, or the outbound proxy in front of it.
    pub next_hop: Peer,
    /// Request-URI: the registrar's domain (`sip:example.com`).
    pub request_uri: String,
    /// Address of record, written in From and To (`sip:trunk1@example.com`).
    pub aor: String,
    /// Route headers, in order (an outbound proxy's `<sip:proxy;lr>`).
    pub route: Vec<String>,
    pub credentials: Option<Credentials>,
    /// The binding's life we ask for (`Expires`), 1 s..=1 week.
    pub expires: Duration,
    /// Back-off after a failure: `retry_min` doubled per failure up to `retry_max`.
    pub retry_min: Duration,
    pub retry_max: Duration,
}

/// What the owner sees of a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegState {
    /// A REGISTER is out and no binding is known to hold.
    Registering,
    /// The registrar holds our binding until `until` (`expires` as granted).
    Registered { expires: Duration, until: Instant },
    /// The last attempt failed (`status`, or `None` for no answer); retrying at `retry_at`.
    Failed {
        status: Option<u16>,
        failures: u32,
        retry_at: Instant,
    },
    /// The un-REGISTER is out.
    Unregistering,
    /// Nothing registered and nothing more will be sent.
    Stopped,
}

/// A final response to one of our REGISTERs, as the endpoint hands it over.
#[derive(Debug, Clone, Default)]
pub struct Reply<'a> {
    pub status: u16,
    /// The top Via's branch, to tell a stale answer from the current one.
    pub branch: &'a str,
    /// Every Contact value, in order (a registrar lists all bindings of the AoR).
    pub contacts: Vec<&'a str>,
    pub expires: Option<&'a str>,
    pub min_expires: Option<&'a str>,
    pub www_auth: Option<&'a str>,
    pub proxy_auth: Option<&'a str>,
    pub retry_after: Option<Duration>,
}

#[derive(Debug, Clone)]
struct Outstanding {
    branch: String,
    /// Fresh challenges answered for this REGISTER so far (a cached one re-answered on a
    /// refresh does not count).
    auth_tries: u8,
    /// The binding still held while a refresh is out: its granted life and its end.
    held: Option<(Duration, Instant)>,
    failures: u32,
}

#[derive(Debug, Clone)]
enum State {
    Sending(Outstanding),
    Registered {
        expires: Duration,
        until: Instant,
        refresh_at: Instant,
    },
    BackingOff {
        status: Option<u16>,
        failures: u32,
        retry_at: Instant,
    },
    Removing {
        branch: String,
    },
    Stopped,
}

/// One registration binding. Drive it from an endpoint: send what [`start`](Self::start),
/// [`on_reply`](Self::on_reply), [`on_deadline`](Self::on_deadline) and
/// [`unregister`](Self::unregister) return, and call [`on_failure`](Self::on_failure) when a
/// REGISTER's transaction times out.
#[derive(Debug, Clone)]
pub struct Registration {
    params: RegisterParams,
    call_id: String,
    from_tag: String,
    cseq: u32,
    /// The binding's life to ask for next (raised by a 423's Min-Expires).
    asking: Duration,
    /// The last challenge, answered again on refreshes with a growing nonce count.
    challenge: Option<(&'static str, Challenge, u32)>,
    state: State,
}

impl Registration {
    /// A registration not yet started; its Call-ID and From-tag stay for its whole life
    /// (RFC 3261 §10.2.4: refreshes reuse the Call-ID).
    pub fn new(params: RegisterParams, host: &str, ids: &mut IdGen) -> Self {
        let asking = params.expires.clamp(Duration::from_secs(1), MAX_EXPIRES);
        Self {
            call_id: ids.call_id(host),
            from_tag: ids.tag(),
            cseq: 0,
            asking,
            challenge: None,
            state: State::Stopped,
            params,
        }
    }

    pub fn params(&self) -> &RegisterParams {
        &self.params
    }

    pub fn state(&self) -> RegState {
        match &self.state {
            State::Sending(o) => match o.held {
                // A refresh is out; the binding still holds, unchanged until it is answered.
                Some((expires, until)) => RegState::Registered { expires, until },
                None => RegState::Registering,
            },
            State::Registered { expires, until, .. } => RegState::Registered {
                expires: *expires,
                until: *until,
            },
            State::BackingOff {
                status,
                failures,
                retry_at,
            } => RegState::Failed {
                status: *status,
                failures: *failures,
                retry_at: *retry_at,
            },
            State::Removing { .. } => RegState::Unregistering,
            State::Stopped => RegState::Stopped,
        }
    }

    /// When [`on_deadline`](Self::on_deadline) has work: a refresh or a retry.
    pub fn deadline(&self) -> Option<Instant> {
        match &self.state {
            State::Registered { refresh_at, .. } => Some(*refresh_at),
            State::BackingOff { retry_at, .. } => Some(*retry_at),
            _ => None,
        }
    }

    /// Sends the first REGISTER. `None` unless stopped (a running registration goes on).
    pub fn start(&mut self, local: Local<'_>, ids: &mut IdGen) -> Option<Request> {
        if !matches!(self.state, State::Stopped) {
            return None;
        }
        Some(self.send(local, ids, None, 0, 0))
    }

    /// A refresh or a retry falls due.
    pub fn on_deadline(
        &mut self,
        now: Instant,
        local: Local<'_>,
        ids: &mut IdGen,
    ) -> Option<Request> {
        match self.state {
            State::Registered {
                refresh_at,
                until,
                expires,
            } if now >= refresh_at => Some(self.send(local, ids, Some((expires, until)), 0, 0)),
            State::BackingOff {
                retry_at, failures, ..
            } if now >= retry_at => Some(self.send(local, ids, None, failures, 0)),
            _ => None,
        }
    }

    /// A final response to the REGISTER with `reply.branch`. Returns the next REGISTER to
    /// send, if the response asks for one (a challenge, a 423).
    pub fn on_reply(
        &mut self,
        now: Instant,
        reply: &Reply<'_>,
        local: Local<'_>,
        ids: &mut IdGen,
    ) -> Option<Request> {
        match &self.state {
            State::Removing { branch } if branch == reply.branch => {
                self.state = State::Stopped;
                None
            }
            State::Sending(o) if o.branch == reply.branch => {
                let o = o.clone();
                self.on_answer(now, o, reply, local, ids)
            }
            _ => None,
        }
    }

    /// The outstanding REGISTER got no final response (its transaction timed out, or its
    /// connection failed).
    pub fn on_failure(&mut self, now: Instant) {
        match &self.state {
            State::Removing { .. } => self.state = State::Stopped,
            State::Sending(o) => {
                let failures = o.failures;
                self.back_off(now, None, failures, None);
            }
            _ => {}
        }
    }

    /// Removes the binding (`Expires: 0`) if one may be held; stops the registration either way.
    pub fn unregister(&mut self, local: Local<'_>, ids: &mut IdGen) -> Option<Request> {
        match self.state {
            State::Stopped | State::Removing { .. } => None,
            State::BackingOff { .. } => {
                self.state = State::Stopped;
                None
            }
            State::Sending(_) | State::Registered { .. } => {
                let req = self.request(local, ids, Duration::ZERO);
                self.state = State::Removing {
                    branch: req.branch.clone(),
                };
                Some(req)
            }
        }
    }

    fn on_answer(
        &mut self,
        now: Instant,
        o: Outstanding,
        reply: &Reply<'_>,
        local: Local<'_>,
        ids: &mut IdGen,
    ) -> Option<Request> {
        match reply.status {
            200..=299 => {
                let granted = granted_expires(reply, local, self.asking);
                if granted.is_zero() {
                    // The registrar kept no binding of ours: a failure, retried.
                    self.back_off(now, Some(reply.status), o.failures, None);
                    return None;
                }
                let refresh_in = (granted / 2).max(granted.saturating_sub(REFRESH_MARGIN));
                self.state = State::Registered {
                    expires: granted,
                    until: now + granted,
                    refresh_at: now + refresh_in,
                };
                None
            }
            401 | 407 => {
                let (header, value) = match reply.status {
                    401 => ("Authorization", reply.www_auth),
                    _ => ("Proxy-Authorization", reply.proxy_auth),
                };
                let challenge = value.and_then(|v| auth::parse_challenge(v).ok());
                // A second fresh challenge that is not stale means our answer was refused.
                let answerable =
                    |c: &Challenge| o.auth_tries < MAX_AUTH_TRIES && (o.auth_tries == 0 || c.stale);
                match (challenge, &self.params.credentials) {
                    (Some(c), Some(_)) if answerable(&c) => {
                        self.challenge = Some((header, c, 0));
                        Some(self.send(local, ids, o.held, o.failures, o.auth_tries + 1))
                    }
                    _ => {
                        self.back_off(now, Some(reply.status), o.failures, None);
                        None
                    }
                }
            }
            423 => {
                let min = reply
                    .min_expires
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs)
                    .filter(|m| *m > self.asking && *m <= MAX_EXPIRES);
                match min {
                    // Min-Expires only ever grows what we ask for, so this cannot loop.
                    Some(min) => {
                        self.asking = min;
                        Some(self.send(local, ids, o.held, o.failures, o.auth_tries))
                    }
                    _ => {
                        self.back_off(now, Some(423), o.failures, None);
                        None
                    }
                }
            }
            status => {
                self.back_off(now, Some(status), o.failures, reply.retry_after);
                None
            }
        }
    }

    fn back_off(
        &mut self,
        now: Instant,
        status: Option<u16>,
        failures: u32,
        hint: Option<Duration>,
    ) {
        let failures = failures.saturating_add(1);
        let wait = backoff(self.params.retry_min, self.params.retry_max, failures);
        // A registrar's Retry-After is honoured up to our own ceiling.
        let wait = hint.map_or(wait, |h| h.min(self.params.retry_max).max(wait));
        self.state = State::BackingOff {
            status,
            failures,
            retry_at: now + wait,
        };
    }

    /// Writes a REGISTER and moves to `Sending`.
    fn send(
        &mut self,
        local: Local<'_>,
        ids: &mut IdGen,
        held: Option<(Duration, Instant)>,
        failures: u32,
        auth_tries: u8,
    ) -> Request {
        let req = self.request(local, ids, self.asking);
        self.state = State::Sending(Outstanding {
            branch: req.branch.clone(),
            auth_tries,
            held,
            failures,
        });
        req
    }

    fn request(&mut self, local: Local<'_>, ids: &mut IdGen, expires: Duration) -> Request {
        self.cseq = self.cseq.wrapping_add(1);
        let branch = ids.branch();
        let expires = expires.as_secs().to_string();
        let authorization = match (&mut self.challenge, &self.params.credentials) {
            (Some((header, c, nc)), Some(creds)) => {
                *nc = nc.saturating_add(1);
                let cnonce = ids.tag();
                let value = auth::authorization(
                    c,
                    creds,
                    "REGISTER",
                    &self.params.request_uri,
                    &cnonce,
                    *nc,
                );
                Some((*header, value))
            }
            _ => None,
        };
        let mut extra: Vec<(&str, &str)> = vec![("Expires", &expires)];
        if let Some((h, v)) = &authorization {
            extra.push((h, v));
        }
        let bytes = RequestSpec {
            method: "REGISTER",
            request_uri: &self.params.request_uri,
            local: local.addr,
            transport: local.transport,
            branch: &branch,
            from_uri: &self.params.aor,
            from_tag: &self.from_tag,
            to_uri: &self.params.aor,
            to_tag: None,
            call_id: &self.call_id,
            cseq: self.cseq,
            cseq_method: None,
            route: &self.params.route,
            contact: true,
            extra: &extra,
            body: None,
            user_agent: local.user_agent,
        }
        .to_bytes();
        Request {
            method: MethodClass::Other,
            branch,
            dest: self.params.next_hop,
            bytes,
        }
    }
}

/// `retry_min · 2^(failures-1)`, at most `retry_max`.
pub fn backoff(retry_min: Duration, retry_max: Duration, failures: u32) -> Duration {
    let shift = failures.saturating_sub(1).min(20);
    retry_min.saturating_mul(1 << shift).min(retry_max)
}

/// The life the registrar granted our binding: our Contact's `expires` parameter, else the
/// Expires header, else what we asked for (RFC 3261 §10.2.4); clamped to a week.
fn granted_expires(reply: &Reply<'_>, local: Local<'_>, asked: Duration) -> Duration {
    let ours = format!("outdial@{}", local.addr);
    let from_contact = reply
        .contacts
        .iter()
        .flat_map(|v| split_contacts(v))
        .find(|c| build::uri_of(c).contains(&ours))
        .and_then(contact_expires);
    let secs = from_contact.or_else(|| reply.expires.and_then(|v| v.trim().parse::<u64>().ok()));
    secs.map_or(asked, Duration::from_secs).min(MAX_EXPIRES)
}

/// Splits a Contact header value holding several comma-separated contacts (commas inside
/// `<...>` or quotes belong to the contact).
fn split_contacts(value: &str) -> Vec<&str> {
    let (mut out, mut start, mut angle, mut quote) = (Vec::new(), 0, false, false);
    for (i, ch) in value.char_indices() {
        match ch {
            '"' => quote = !quote,
            '<' if !quote => angle = true,
            '>' if !quote => angle = false,
            ',' if !quote && !angle => {
                out.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(value[start..].trim());
    out
}

/// The `expires` parameter after a contact's URI.
fn contact_expires(contact: &str) -> Option<u64> {
    let params = match contact.rfind('>') {
        Some(i) => &contact[i + 1..],
        None => contact,
    };
    params.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("expires") {
            v.trim().parse().ok()
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests;
