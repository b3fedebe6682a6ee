//! One attempt: its ledger entry (every change of the attempt and its contact, with the
//! writes that record it) and its call flow after the INVITE.

pub mod flow;
pub mod ledger;

pub use ledger::LedgerEntry;
