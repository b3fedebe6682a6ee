//! The attempt ledger: every change of an attempt or of its contact is one method here, and
//! each returns the writes that record it. The zone core opens entries, the call that runs
//! an attempt carries its entry to the end, recovery closes what a dead process left open;
//! none of them assembles a contact transition or a `Write` by hand.

use crate::campaign::{retry, Campaign};
use crate::domain::{
    AmdOutcome, Attempt, AttemptId, AttemptState, CompletionCode, Contact, ContactState, UnixMs,
};
use crate::store::Write;

/// Who places an attempt: the node's name and the fencing epoch it masters the zone under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub node: String,
    pub epoch: u64,
}

/// One attempt and its contact as the attempt left it: what the call that runs it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    attempt: Attempt,
    contact: Contact,
}

impl LedgerEntry {
    /// Takes `contact` into a new attempt `id`, starting in `state` (`Dialing`, or for a
    /// preview the same once accepted). The contact is in flight on this attempt from now.
    pub fn open(
        mut contact: Contact,
        id: AttemptId,
        origin: &Origin,
        state: AttemptState,
        now: UnixMs,
    ) -> (Self, Vec<Write>) {
        let was = contact.state;
        contact.attempts += 1;
        contact.state = ContactState::InFlight { attempt: id };
        let attempt = new_attempt(id, &contact, origin, state, now);
        let writes = vec![
            Write::Attempt(attempt.clone()),
            Write::Contact {
                contact: contact.clone(),
                was: Some(was),
            },
            Write::Dialed {
                number: contact.phone.clone(),
                at: now,
            },
        ];
        (Self { attempt, contact }, writes)
    }

    /// An attempt that ends the moment it is taken, before any call (no media server had a
    /// port): recorded as one completed attempt, and the contact follows `code`'s rule.
    pub fn unplaced(
        mut contact: Contact,
        id: AttemptId,
        origin: &Origin,
        campaign: &Campaign,
        code: CompletionCode,
        now: UnixMs,
    ) -> (Contact, Vec<Write>) {
        let was = contact.state;
        contact.attempts += 1;
        contact.last_code = Some(code);
        contact.state = retry::decide(campaign, &contact, code, now);
        let attempt = new_attempt(id, &contact, origin, AttemptState::Completed(code), now);
        let writes = vec![
            Write::Attempt(attempt),
            Write::Contact {
                contact: contact.clone(),
                was: Some(was),
            },
        ];
        (contact, writes)
    }

    /// An entry read back from storage (recovery of what a dead process left in flight).
    pub fn stored(attempt: Attempt, contact: Contact) -> Self {
        Self { attempt, contact }
    }

    pub fn attempt(&self) -> &Attempt {
        &self.attempt
    }

    pub fn contact(&self) -> &Contact {
        &self.contact
    }

    pub fn id(&self) -> AttemptId {
        self.attempt.id
    }

    /// A step on the way (`Ringing`, `Answered`, `Connected`). Recovery treats these like
    /// `Dialing`, so the write need not be awaited.
    pub fn advance(&mut self, state: AttemptState, now: UnixMs) -> Write {
        self.attempt.state = state;
        self.attempt.history.push((now, state));
        Write::Attempt(self.attempt.clone())
    }

    /// The answering-machine detector's verdict (or, later, the end of the machine's beep):
    /// kept on the attempt. Not awaited, like the steps on the way.
    pub fn classify(&mut self, outcome: AmdOutcome) -> Write {
        self.attempt.amd = Some(outcome);
        Write::Attempt(self.attempt.clone())
    }

    /// The attempt ended with `code`. The contact moves only if it still waits on this
    /// attempt: to the agent's callback time when one was given (a promise to the customer
    /// outranks the retry rule), else by `code`'s rule in `campaign` (or, without the
    /// campaign, dialable again at once rather than lost).
    pub fn close(
        &mut self,
        campaign: Option<&Campaign>,
        code: CompletionCode,
        callback_at: Option<UnixMs>,
        now: UnixMs,
    ) -> Vec<Write> {
        let mut writes = vec![
            close_attempt(&mut self.attempt, code, now),
            Write::Ended {
                number: self.contact.phone.clone(),
                at: now,
                code,
            },
        ];
        let waiting_on_us = self.contact.state
            == (ContactState::InFlight {
                attempt: self.attempt.id,
            });
        if waiting_on_us {
            let was = self.contact.state;
            self.contact.last_code = Some(code);
            self.contact.state = match (callback_at, campaign) {
                (Some(at), _) => ContactState::Ready { not_before: at },
                (None, Some(c)) => retry::decide(c, &self.contact, code, now),
                (None, None) => ContactState::Ready { not_before: now },
            };
            writes.push(Write::Contact {
                contact: self.contact.clone(),
                was: Some(was),
            });
        }
        writes
    }
}

fn new_attempt(
    id: AttemptId,
    contact: &Contact,
    origin: &Origin,
    state: AttemptState,
    now: UnixMs,
) -> Attempt {
    Attempt {
        id,
        job: contact.job,
        contact: contact.id,
        number: contact.attempts,
        state,
        history: vec![(now, state)],
        sip_status: None,
        node: origin.node.clone(),
        epoch: origin.epoch,
        amd: None,
    }
}

/// Closes an attempt record alone, with `code` (its contact moves on elsewhere, or is gone).
pub fn close_attempt(attempt: &mut Attempt, code: CompletionCode, now: UnixMs) -> Write {
    attempt.state = AttemptState::Completed(code);
    attempt.history.push((now, attempt.state));
    Write::Attempt(attempt.clone())
}

/// A contact that must not be dialed (do-not-call): final, `blocked`.
pub fn block(mut contact: Contact) -> Write {
    let was = contact.state;
    contact.last_code = Some(CompletionCode::Blocked);
    contact.state = ContactState::Final {
        code: CompletionCode::Blocked,
    };
    Write::Contact {
        contact,
        was: Some(was),
    }
}

/// A contact put off until `not_before` without an attempt (closed calling hours, a skipped
/// preview).
pub fn defer(mut contact: Contact, not_before: UnixMs) -> Write {
    let was = contact.state;
    contact.state = ContactState::Ready { not_before };
    Write::Contact {
        contact,
        was: Some(was),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::campaign::CampaignSpec;
    use crate::domain::{ContactId, JobId};

    fn campaign() -> Campaign {
        CampaignSpec::from_toml(
            "name = \"t\"\nmode = \"progressive\"\nload_test = true\ntest_ranges = [\"+1555\"]\n[calling_hours]\nstart = \"00:00\"\nend = \"00:00\"\n",
        )
        .unwrap()
        .resolve()
        .unwrap()
    }

    fn contact() -> Contact {
        Contact {
            id: ContactId(3),
            job: JobId(1),
            phone: "+15551234567".into(),
            tz: None,
            fields: BTreeMap::new(),
            attempts: 0,
            state: ContactState::Ready { not_before: 0 },
            last_code: None,
        }
    }

    fn origin() -> Origin {
        Origin {
            node: "n1".into(),
            epoch: 4,
        }
    }

    fn contact_write(w: &[Write]) -> Option<&Contact> {
        w.iter().find_map(|w| match w {
            Write::Contact { contact, .. } => Some(contact),
            _ => None,
        })
    }

    #[test]
    fn open_puts_the_contact_in_flight_and_records_both() {
        let (e, w) =
            LedgerEntry::open(contact(), AttemptId(9), &origin(), AttemptState::Dialing, 5);
        assert_eq!(e.contact().attempts, 1);
        assert_eq!(
            e.contact().state,
            ContactState::InFlight {
                attempt: AttemptId(9)
            }
        );
        assert_eq!(e.attempt().number, 1);
        assert_eq!(e.attempt().epoch, 4);
        assert_eq!(
            w.len(),
            3,
            "the attempt, its contact, and the number's history"
        );
        assert!(matches!(
            &w[1],
            Write::Contact {
                was: Some(ContactState::Ready { .. }),
                ..
            }
        ));
    }

    #[test]
    fn close_applies_the_retry_rule_or_the_callback() {
        let c = campaign();
        let (mut e, _) =
            LedgerEntry::open(contact(), AttemptId(9), &origin(), AttemptState::Dialing, 5);
        let w = e.close(Some(&c), CompletionCode::NoAnswer, None, 1_000);
        // The default no-answer rule: again in 30 minutes.
        assert_eq!(
            contact_write(&w).map(|c| c.state),
            Some(ContactState::Ready {
                not_before: 1_000 + 30 * 60_000
            })
        );
        let (mut e, _) = LedgerEntry::open(
            contact(),
            AttemptId(10),
            &origin(),
            AttemptState::Dialing,
            5,
        );
        let w = e.close(Some(&c), CompletionCode::AnsweredHuman, Some(77_000), 1_000);
        assert_eq!(
            contact_write(&w).map(|c| c.state),
            Some(ContactState::Ready { not_before: 77_000 })
        );
        assert_eq!(
            contact_write(&w).and_then(|c| c.last_code),
            Some(CompletionCode::AnsweredHuman)
        );
    }

    #[test]
    fn closing_an_attempt_the_contact_no_longer_waits_on_moves_only_the_attempt() {
        let mut moved_on = contact();
        moved_on.state = ContactState::InFlight {
            attempt: AttemptId(11),
        };
        let mut e = LedgerEntry::stored(
            new_attempt(AttemptId(9), &moved_on, &origin(), AttemptState::Dialing, 1),
            moved_on,
        );
        let w = e.close(None, CompletionCode::RecoveredAfterFailover, None, 9);
        assert_eq!(
            w.len(),
            2,
            "the attempt and the number's history, not the contact"
        );
        assert!(
            matches!(&w[0], Write::Attempt(a) if a.state == AttemptState::Completed(CompletionCode::RecoveredAfterFailover))
        );
    }

    #[test]
    fn unplaced_counts_the_attempt_and_follows_the_code() {
        let c = campaign();
        let (contact, w) = LedgerEntry::unplaced(
            contact(),
            AttemptId(9),
            &origin(),
            &c,
            CompletionCode::NoMediaResource,
            1_000,
        );
        assert_eq!(contact.attempts, 1);
        assert_eq!(contact.last_code, Some(CompletionCode::NoMediaResource));
        assert!(matches!(&w[0], Write::Attempt(a) if a.history.len() == 1));
    }

    #[test]
    fn block_and_defer() {
        let w = block(contact());
        assert!(
            matches!(&w, Write::Contact { contact, .. } if contact.state == ContactState::Final { code: CompletionCode::Blocked })
        );
        let w = defer(contact(), 42);
        assert!(
            matches!(&w, Write::Contact { contact, .. } if contact.state == ContactState::Ready { not_before: 42 })
        );
    }
}
