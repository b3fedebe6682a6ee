//! The simulated contact list: compact records, due retries first, then new contacts. It
//! stands where the node's store is: the ledger's writes say what becomes of each contact.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use outdial_core::domain::{Contact, ContactId, ContactState, UnixMs};
use outdial_core::store::Write;

use super::run::JOB;

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
    pub(super) fn next(&mut self, now: UnixMs) -> Option<Contact> {
        let id = match self.retries.peek() {
            Some(&Reverse((due, id))) if due <= now => {
                self.retries.pop();
                id
            }
            _ => {
                let id = self.records.len() as u64;
                if self.limit.is_some_and(|l| id >= l) {
                    return None;
                }
                self.records
                    .push((0, ContactState::Ready { not_before: 0 }));
                id
            }
        };
        let (attempts, state) = self.records[id as usize];
        Some(Contact {
            id: ContactId(id),
            job: JOB,
            phone: String::new(),
            tz: None,
            fields: BTreeMap::new(),
            attempts,
            state,
            last_code: None,
        })
    }

    /// When the earliest retry is due.
    pub(super) fn next_due(&self) -> Option<UnixMs> {
        self.retries.peek().map(|Reverse((due, _))| *due)
    }

    /// Applies a batch the ledger wrote, as a store would: each contact's attempts and state,
    /// and the contacts due again queue up for their time.
    pub(super) fn apply(&mut self, writes: &[Write]) {
        for w in writes {
            let Write::Contact { contact, .. } = w else {
                continue;
            };
            let Some(record) = self.records.get_mut(contact.id.0 as usize) else {
                continue;
            };
            *record = (contact.attempts, contact.state);
            if let ContactState::Ready { not_before } = contact.state {
                self.retries.push(Reverse((not_before, contact.id.0)));
            }
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
    use outdial_core::attempt::ledger::{LedgerEntry, Origin};
    use outdial_core::campaign::CampaignSpec;
    use outdial_core::domain::{AttemptId, AttemptState, CompletionCode};

    #[test]
    fn due_retries_come_first_then_new_contacts_up_to_the_limit() {
        let mut c = Contacts::new(Some(3));
        assert_eq!(c.next(1_000).map(|c| c.id.0), Some(0));
        assert_eq!(c.next(1_000).map(|c| c.id.0), Some(1));
        c.retries.push(Reverse((500, 0)));
        c.retries.push(Reverse((5_000, 1)));
        assert_eq!(c.next(1_000).map(|c| c.id.0), Some(0), "due retry first");
        assert_eq!(c.next(1_000).map(|c| c.id.0), Some(2));
        assert!(c.next(1_000).is_none(), "list exhausted, retry not due");
        assert_eq!(c.next_due(), Some(5_000));
        assert_eq!(c.next(5_000).map(|c| c.id.0), Some(1));
    }

    #[test]
    fn the_ledgers_writes_follow_the_campaigns_retry_rules() {
        let campaign = CampaignSpec::from_toml(
            "name = \"t\"\nmode = \"progressive\"\nload_test = true\ntest_ranges = [\"+1555\"]\n[calling_hours]\nstart = \"00:00\"\nend = \"00:00\"\n",
        )
        .unwrap()
        .resolve()
        .unwrap();
        let origin = Origin {
            node: "sim".into(),
            epoch: 0,
        };
        let mut c = Contacts::new(None);
        let now = 1_000_000;
        let a = c.next(now).unwrap();
        let (mut e, w) = LedgerEntry::open(a, AttemptId(1), &origin, AttemptState::Dialing, now);
        c.apply(&w);
        assert_eq!(c.tally().in_flight, 1);
        // No answer: retried 30 minutes later (the default rule).
        c.apply(&e.close(Some(&campaign), CompletionCode::NoAnswer, None, now));
        assert_eq!(c.next_due(), Some(now + 30 * 60_000));
        let b = c.next(now).unwrap();
        let (mut e, w) = LedgerEntry::open(b, AttemptId(2), &origin, AttemptState::Dialing, now);
        c.apply(&w);
        c.apply(&e.close(Some(&campaign), CompletionCode::AnsweredHuman, None, now));
        let t = c.tally();
        assert_eq!((t.final_, t.retry, t.in_flight), (1, 1, 0));
    }
}
