//! The one place this crate reads the clock: transport glue's `now()`, and tests' virtual epoch.

use std::time::Instant;

/// Wall-clock now, for the transport shell only; protocol cores are handed `now`.
#[allow(clippy::disallowed_methods)] // the single sanctioned clock read of the crate
pub fn now() -> Instant {
    Instant::now()
}

/// An arbitrary origin for virtual-time tests: only differences from it matter.
pub fn virtual_epoch() -> Instant {
    now()
}
