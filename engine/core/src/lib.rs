//! outdial's domain core: what a dialer decides, with no runtime under it.
//!
//! Everything here is a plain state machine or a pure function that takes `now` (or a
//! [`clock::Clock`] where a caller wants one injected) and returns what to do; nothing opens
//! a socket, spawns a task or reads the wall clock. The node (`outdial-node`) runs these
//! types inside actors; the simulator (`outdial-tools`) runs the very same types in virtual
//! time.
//!
//! ```text
//!   zone       the zone core: a zone's dialing decisions, previews and the board of agents
//!   attempt    one attempt's ledger entry (contact and attempt transitions with their
//!              writes) and its call flow after the INVITE
//!   agent      an agent's session (nail, readiness, call states), Table 9 takeovers
//!   desktop    the desktop protocol's messages
//!   pacing     pacers (preview, progressive, predictive, agentless), the estimator and the
//!              nuisance meter, the zone snapshot and the pre-fetched contact queue
//!   campaign   campaign definitions, calling hours, retry rules
//!   compliance the rules of law: campaign checks, calling windows, redial lock-outs
//!   contacts   phone numbers (E.164, time zone and US state or country from the number)
//!   store      the storage contract: records, write batches, the `Store` trait
//!   domain     ids, contacts, attempts, completion codes
//!   clock, sync  injected time; the atomics shim for loom
//! ```
#![forbid(unsafe_code)]

pub mod agent;
pub mod attempt;
pub mod campaign;
pub mod clock;
pub mod compliance;
pub mod contacts;
pub mod desktop;
pub mod domain;
pub mod pacing;
pub mod store;
pub mod sync;
pub mod zone;

/// An error and its causes in one line (`a: b: c`), for people reading a report or a log.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        // thiserror's `transparent` and `#[error("{0}")]` repeat the cause in the message.
        if !out.ends_with(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn the_chain_names_every_cause_once() {
        let e = Outer(std::io::Error::other("disk full"));
        assert_eq!(super::error_chain(&e), "outer: disk full");
    }
}
