//! Compliance that cannot be broken: the rules of law every call obeys, as pure functions of
//! the campaign, the callee, the number's history and `now`.
//!
//! Two gates. A campaign definition that would break a rule never resolves
//! ([`check_campaign`], run by [`crate::campaign::CampaignSpec::resolve`]), and the refusal
//! names every rule broken ([`Violation`], with stable codes). A resolved campaign then carries
//! its [`DialRules`], which answer for each number whether it may be dialled now and, if not,
//! until when and by which rule ([`DialVerdict`]). Only a campaign marked `load_test = true`
//! lifts the rules, and it may dial only the test ranges it declares.
//!
//! ```text
//!   campaign      the definition's rules: caller ID, information message, connect window,
//!                 nuisance cap, calling hours, retries inside lock-outs
//!   violation     a broken rule, typed, with its code and key
//!   caller_id     E.164, diallable, never withheld
//!   jurisdiction  whose law applies to a callee: calling windows and per-number caps
//!   hours         a callee's calling window: the campaign's hours within the law's
//!   redial        a number's recent attempts and the lock-outs they set
//!   test_ranges   the numbers a load test may dial
//!   dial          the per-number verdict the prefetcher asks for
//! ```

pub mod caller_id;
pub mod campaign;
pub mod dial;
pub mod hours;
pub mod jurisdiction;
pub mod redial;
pub mod test_ranges;
pub mod violation;

use std::time::Duration;

pub use campaign::{check_campaign, MAX_CONNECT_WINDOW};
pub use dial::{DialRules, DialVerdict, Rule};
pub use hours::{Callee, CallingWindow, Closed};
pub use jurisdiction::{HoursRule, Jurisdiction};
pub use redial::{AgentGuarantee, NumberHistory, RedialRule};
pub use test_ranges::TestRanges;
pub use violation::Violation;

use crate::domain::UnixMs;

/// How soon after the connect window closes the information message must start.
pub const MESSAGE_START_AFTER_WINDOW: Duration = Duration::from_secs(1);
/// How soon after the start of the callee's speech the message must start at the latest.
pub const MESSAGE_START_AFTER_SPEECH: Duration = Duration::from_secs(2);

/// When the information message of an abandoned call must have started: within 1 s of the
/// connect window closing, and never later than 2 s after the callee began to speak.
pub fn information_message_deadline(speech_started_at: UnixMs, window_closed_at: UnixMs) -> UnixMs {
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    window_closed_at
        .saturating_add(ms(MESSAGE_START_AFTER_WINDOW))
        .min(speech_started_at.saturating_add(ms(MESSAGE_START_AFTER_SPEECH)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_starts_within_a_second_of_the_window_and_two_of_speech() {
        // Window of 800 ms from speech at 10_000: closes 10_800, message by 11_800.
        assert_eq!(information_message_deadline(10_000, 10_800), 11_800);
        // Window of 2 s: the 2 s from speech binds, the message starts as the window closes.
        assert_eq!(information_message_deadline(10_000, 12_000), 12_000);
        assert_eq!(information_message_deadline(u64::MAX, u64::MAX), u64::MAX);
    }
}
