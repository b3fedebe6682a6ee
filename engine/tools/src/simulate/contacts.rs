//! The simulated contact list: compact records, due retries first, then new contacts, and
//! the campaign's retry rules for what becomes of a contact after each attempt.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use outdial_core::campaign::Campaign;
use outdial_core::domain::{
    AttemptId, CompletionCode, Contact, ContactId, ContactState, JobId, UnixMs,
};

#[derive(Debug, Default)]
pub(super) struct Contacts {
    /// Most contacts; `None` makes new ones as needed.
    limit: Option<u64>,
    /// Per contact (its id is the index): attempts so far and state.
    records: Vec<(u32, ContactState)>,
    /// Contacts waiting for a retry, by when they are due.
    retries: BinaryHeap<Reverse<(UnixMs, u64)>>,
}

/// Where the list stands, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ContactTally {
    pub final_: u64,
    pub retry: u64,
    pub in_flight: u64,
}

impl Contacts {
    pub(super) fn new(limit: Option<u64>) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// The next contact to dial at `now`, if any.
    pub(super) fn next(&mut self, now: UnixMs) -> Option<u64> {
        if let Some(&Reverse((due, id))) = self.retries.peek() {
            if due <= now {
                self.retries.pop();
                return Some(id);
            }
        }
        let id = self.records.len() as u64;
        if self.limit.is_some_and(|l| id >= l) {
            return None;
        }
        self.records
            .push((0, ContactState::Ready { not_before: 0 }));
        Some(id)
    }

    /// When the earliest retry is due.
    pub(super) fn next_due(&self) -> Option<UnixMs> {
        self.retries.peek().map(|Reverse((due, _))| *due)
    }

    /// An attempt of `contact` leaves; returns its number (1 for the first).
    pub(super) fn launched(&mut self, contact: u64, attempt: AttemptId) -> u32 {
        let (attempts, state) = &mut self.records[contact as usize];
        *attempts += 1;
        *state = ContactState::InFlight { attempt };
        *attempts
    }

    /// The attempt of `contact` ended with `code`: final, or due again per the campaign.
    pub(super) fn ended(
        &mut self,
        campaign: &Campaign,
        job: JobId,
        contact: u64,
        code: CompletionCode,
        now: UnixMs,
    ) {
        let (attempts, state) = &mut self.records[contact as usize];
        let record = Contact {
            id: ContactId(contact),
            job,
            phone: String::new(),
            tz: None,
            fields: BTreeMap::new(),
            attempts: *attempts,
            state: *state,
            last_code: None,
        };
        *state = outdial_core::campaign::retry::decide(campaign, &record, code, now);
        if let ContactState::Ready { not_before } = *state {
            self.retries.push(Reverse((not_before, contact)));
        }
    }

    /// Puts `contact` back in the list, due at `at`, whatever its state: only the chaos
    /// tests' deliberate redial bug does this.
    pub(super) fn due_again(&mut self, contact: u64, at: UnixMs) {
        self.retries.push(Reverse((at, contact)));
    }

    pub(super) fn tally(&self) -> ContactTally {
        let mut t = ContactTally {
            final_: 0,
            retry: 0,
            in_flight: 0,
        };
        for (_, state) in &self.records {
            match state {
                ContactState::Final { .. } => t.final_ += 1,
                ContactState::Ready { .. } => t.retry += 1,
                ContactState::InFlight { .. } => t.in_flight += 1,
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_retries_come_first_then_new_contacts_up_to_the_limit() {
        let mut c = Contacts::new(Some(3));
        assert_eq!(c.next(1_000), Some(0));
        assert_eq!(c.next(1_000), Some(1));
        c.retries.push(Reverse((500, 0)));
        c.retries.push(Reverse((5_000, 1)));
        assert_eq!(c.next(1_000), Some(0), "due retry first");
        assert_eq!(c.next(1_000), Some(2));
        assert_eq!(c.next(1_000), None, "list exhausted, retry not due");
        assert_eq!(c.next_due(), Some(5_000));
        assert_eq!(c.next(5_000), Some(1));
    }

    #[test]
    fn an_ended_attempt_follows_the_campaigns_retry_rules() {
        let campaign = outdial_core::campaign::CampaignSpec::from_toml(
            "name = \"t\"\nmode = \"progressive\"\n[calling_hours]\nstart = \"00:00\"\nend = \"00:00\"\n",
        )
        .unwrap()
        .resolve()
        .unwrap();
        let mut c = Contacts::new(None);
        let now = 1_000_000;
        let a = c.next(now).unwrap();
        assert_eq!(c.launched(a, AttemptId(1)), 1);
        assert_eq!(c.tally().in_flight, 1);
        // No answer: retried 30 minutes later (the default rule).
        c.ended(&campaign, JobId(1), a, CompletionCode::NoAnswer, now);
        assert_eq!(c.next_due(), Some(now + 30 * 60_000));
        let b = c.next(now).unwrap();
        c.launched(b, AttemptId(2));
        c.ended(&campaign, JobId(1), b, CompletionCode::AnsweredHuman, now);
        let t = c.tally();
        assert_eq!((t.final_, t.retry, t.in_flight), (1, 1, 0));
    }
}
