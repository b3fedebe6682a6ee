//! Registrations hosted by the endpoint: their REGISTERs run in client transactions like any
//! request, their answers and failures are routed back by owner, their refreshes and retries
//! are timers on the endpoint's heap.

use std::time::Instant;

use super::{local, Endpoint, Event, TimerRef, PROBE_OWNER};
use crate::dialog::Request;
use crate::error::Error;
use crate::msg::Incoming;
use crate::register::{RegState, RegisterParams, Registration, Reply};
use crate::txn::TxnId;

/// Owners in `REG_OWNER..PROBE_OWNER` are registrations (call slots never get this high).
pub(super) const REG_OWNER: u64 = 1 << 62;

/// Names a registration inside one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegKey(pub u64);

pub(super) fn is_registration(owner: u64) -> bool {
    (REG_OWNER..PROBE_OWNER).contains(&owner)
}

impl Endpoint {
    /// Starts registering a binding; its state changes come as [`Event::Registration`].
    pub fn register(&mut self, now: Instant, params: RegisterParams) -> Result<RegKey, Error> {
        let now = self.clamp(now);
        self.next_registration += 1;
        let key = RegKey(self.next_registration);
        let host = self
            .cfg
            .local_for(params.next_hop.transport)
            .ip()
            .to_string();
        let mut reg = Registration::new(params, &host, &mut self.ids);
        let local = local(&self.cfg, reg.params().next_hop.transport);
        let req = reg.start(local, &mut self.ids);
        self.registrations.insert(key, reg);
        if let Some(req) = req {
            self.send_register(now, key, req);
        }
        self.report_registration(key);
        self.flush();
        Ok(key)
    }

    /// Removes a registration's binding (un-REGISTER) and stops it.
    pub fn unregister(&mut self, now: Instant, key: RegKey) -> Result<(), Error> {
        let now = self.clamp(now);
        let Some(reg) = self.registrations.get_mut(&key) else {
            return Err(Error::Usage("no such registration"));
        };
        let local = local(&self.cfg, reg.params().next_hop.transport);
        if let Some(req) = reg.unregister(local, &mut self.ids) {
            self.send_register(now, key, req);
        }
        self.report_registration(key);
        self.flush();
        Ok(())
    }

    /// A registration's state, while the endpoint keeps it.
    pub fn registration(&self, key: RegKey) -> Option<RegState> {
        self.registrations.get(&key).map(Registration::state)
    }

    fn send_register(&mut self, now: Instant, key: RegKey, req: Request) {
        let txn = self
            .layer
            .start_client(now, req.owned_by(REG_OWNER | key.0), &mut self.out);
        self.arm_txn(txn);
        self.register_txns.insert(key, txn);
    }

    /// Re-arms a registration's deadline and reports its state if it changed.
    fn report_registration(&mut self, key: RegKey) {
        let Some(reg) = self.registrations.get(&key) else {
            return;
        };
        if let Some(at) = reg.deadline() {
            self.timers
                .push(std::cmp::Reverse((at, TimerRef::Reg(key))));
        }
        let state = reg.state();
        if self.reported.get(&key) != Some(&state) {
            self.reported.insert(key, state);
            self.events.push_back(Event::Registration { key, state });
        }
        if state == RegState::Stopped {
            self.registrations.remove(&key);
            self.reported.remove(&key);
            self.register_txns.remove(&key);
        }
    }

    pub(super) fn on_registration_timer(&mut self, now: Instant, key: RegKey) {
        let Some(reg) = self.registrations.get_mut(&key) else {
            return;
        };
        // Stale heap entries (the registration moved on) find nothing due.
        if reg.deadline().is_none_or(|d| d > now) {
            return;
        }
        let local = local(&self.cfg, reg.params().next_hop.transport);
        if let Some(req) = reg.on_deadline(now, local, &mut self.ids) {
            self.send_register(now, key, req);
        }
        self.report_registration(key);
    }

    /// A final response to one of our REGISTERs.
    pub(super) fn on_register_response(
        &mut self,
        now: Instant,
        owner: u64,
        status: u16,
        inc: &Incoming,
    ) {
        let key = RegKey(owner & !REG_OWNER);
        let Some(reg) = self.registrations.get_mut(&key) else {
            return;
        };
        let reply = reply_of(status, inc);
        let local = local(&self.cfg, reg.params().next_hop.transport);
        if let Some(req) = reg.on_reply(now, &reply, local, &mut self.ids) {
            self.send_register(now, key, req);
        }
        self.report_registration(key);
    }

    /// A REGISTER's transaction timed out.
    pub(super) fn on_register_timeout(&mut self, now: Instant, owner: u64, txn: TxnId) {
        let key = RegKey(owner & !REG_OWNER);
        // Only the outstanding REGISTER's failure counts, not one a later REGISTER replaced.
        if self.register_txns.get(&key) != Some(&txn) {
            return;
        }
        let Some(reg) = self.registrations.get_mut(&key) else {
            return;
        };
        reg.on_failure(now);
        self.report_registration(key);
    }
}

/// The headers of a REGISTER's response the registration reads.
fn reply_of(status: u16, inc: &Incoming) -> Reply<'_> {
    use rsip::headers::UntypedHeader;
    let headers = match &inc.msg {
        rsip::SipMessage::Request(r) => &r.headers,
        rsip::SipMessage::Response(r) => &r.headers,
    };
    let mut reply = Reply {
        status,
        branch: inc.head.top_via_branch.as_deref().unwrap_or(""),
        ..Reply::default()
    };
    for h in headers.iter() {
        match h {
            rsip::Header::Contact(v) => reply.contacts.push(v.value()),
            rsip::Header::Expires(v) => reply.expires = Some(v.value()),
            rsip::Header::MinExpires(v) => reply.min_expires = Some(v.value()),
            rsip::Header::WwwAuthenticate(v) => reply.www_auth = Some(v.value()),
            rsip::Header::ProxyAuthenticate(v) => reply.proxy_auth = Some(v.value()),
            rsip::Header::RetryAfter(v) => {
                reply.retry_after = super::inbound::retry_after(Some(v.value()))
            }
            _ => {}
        }
    }
    reply
}
