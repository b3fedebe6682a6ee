//! A batch of writes turned into column arrays, one multi-row upsert per kind of record
//! (`INSERT ... SELECT * FROM UNNEST(...)`): a few round trips whatever the batch's size.
//!
//! Encoding (JSON, the per-job counter deltas) happens on the caller's thread, so the worker
//! that owns the connection only ships arrays. Within a batch the last write of a key wins,
//! as if applied in order; rows go to the server sorted by key, so two concurrent commits
//! lock shared rows in the same order and cannot deadlock on them.

use std::collections::BTreeMap;

use postgres::types::ToSql;
use postgres::{Statement, Transaction};

use super::sql::Statements;
use super::{encode_json, enum_name, to_db, to_db_time};
use crate::storage::{apply_history, Fence, StoreResult, Write};
use outdial_core::compliance::NumberHistory;
use outdial_core::domain::ContactState;

/// Everything a commit sends, owned so it can move to a worker thread.
#[derive(Default)]
pub(super) struct Encoded {
    fences: Vec<Fence>,
    campaigns: CampaignCols,
    jobs: JobCols,
    contacts: ContactCols,
    attempts: AttemptCols,
    zones: ZoneCols,
    counts: CountCols,
    /// Per number (in key order), the history writes to apply to it in the transaction.
    histories: BTreeMap<String, Vec<Write>>,
}

#[derive(Default)]
struct CampaignCols {
    id: Vec<i64>,
    name: Vec<String>,
    spec: Vec<String>,
    created_at: Vec<i64>,
}

#[derive(Default)]
struct JobCols {
    id: Vec<i64>,
    campaign: Vec<i64>,
    zone: Vec<String>,
    state: Vec<String>,
    created_at: Vec<i64>,
    updated_at: Vec<i64>,
}

#[derive(Default)]
struct ContactCols {
    job: Vec<i64>,
    id: Vec<i64>,
    state: Vec<&'static str>,
    not_before: Vec<Option<i64>>,
    body: Vec<String>,
}

#[derive(Default)]
struct AttemptCols {
    job: Vec<i64>,
    id: Vec<i64>,
    transient: Vec<bool>,
    body: Vec<String>,
}

#[derive(Default)]
struct ZoneCols {
    zone: Vec<String>,
    node: Vec<String>,
    epoch: Vec<i64>,
    since: Vec<i64>,
}

/// Per job, the deltas of its counters.
#[derive(Default)]
struct CountCols {
    job: Vec<i64>,
    total: Vec<i64>,
    ready: Vec<i64>,
    in_flight: Vec<i64>,
    final_: Vec<i64>,
}

impl Encoded {
    pub(super) fn new(batch: &[Write]) -> StoreResult<Encoded> {
        // Last write per key wins; BTreeMaps also give the key order rows are sent in.
        let mut campaigns = BTreeMap::new();
        let mut jobs = BTreeMap::new();
        let mut contacts = BTreeMap::new();
        let mut attempts = BTreeMap::new();
        let mut zones = BTreeMap::new();
        let mut deltas: BTreeMap<i64, [i64; 4]> = BTreeMap::new();
        let mut e = Encoded::default();
        for w in batch {
            match w {
                // Merged batches repeat the same fence: check each once.
                Write::Fence(f) => {
                    if !e.fences.contains(f) {
                        e.fences.push(f.clone());
                    }
                }
                Write::Campaign(c) => {
                    campaigns.insert(to_db(c.id.0), c);
                }
                Write::Job(j) => {
                    jobs.insert(to_db(j.id.0), j);
                }
                Write::ZoneOwner(z) => {
                    zones.insert(z.zone.as_str(), z);
                }
                Write::Attempt(a) => {
                    attempts.insert((to_db(a.job.0), to_db(a.id.0)), a);
                }
                Write::Dialed { number, .. } | Write::Ended { number, .. } => {
                    e.histories
                        .entry(number.clone())
                        .or_default()
                        .push(w.clone());
                }
                Write::Contact { contact, was } => {
                    // Every write moves the counters, as the embedded store's do.
                    let d = deltas.entry(to_db(contact.job.0)).or_default();
                    match was {
                        None => d[0] += 1,
                        Some(s) => d[bucket(s)] -= 1,
                    }
                    d[bucket(&contact.state)] += 1;
                    contacts.insert((to_db(contact.job.0), to_db(contact.id.0)), contact);
                }
            }
        }
        for (id, c) in campaigns {
            let k = &mut e.campaigns;
            k.id.push(id);
            k.name.push(c.name.clone());
            k.spec.push(c.spec.clone());
            k.created_at.push(to_db(c.created_at));
        }
        for (id, j) in jobs {
            let k = &mut e.jobs;
            k.id.push(id);
            k.campaign.push(to_db(j.campaign.0));
            k.zone.push(j.zone.clone());
            k.state.push(enum_name(&j.state)?);
            k.created_at.push(to_db(j.created_at));
            k.updated_at.push(to_db(j.updated_at));
        }
        for ((job, id), c) in contacts {
            let (state, not_before) = match c.state {
                ContactState::Ready { not_before } => ("ready", Some(to_db_time(not_before))),
                ContactState::InFlight { .. } => ("in-flight", None),
                ContactState::Final { .. } => ("final", None),
            };
            let k = &mut e.contacts;
            k.job.push(job);
            k.id.push(id);
            k.state.push(state);
            k.not_before.push(not_before);
            k.body.push(encode_json(c)?);
        }
        for ((job, id), a) in attempts {
            let k = &mut e.attempts;
            k.job.push(job);
            k.id.push(id);
            k.transient.push(a.state.is_transient());
            k.body.push(encode_json(a)?);
        }
        for (zone, z) in zones {
            let k = &mut e.zones;
            k.zone.push(zone.to_owned());
            k.node.push(z.node.clone());
            k.epoch.push(to_db(z.epoch));
            k.since.push(to_db(z.since));
        }
        for (job, d) in deltas {
            if d == [0; 4] {
                continue;
            }
            let k = &mut e.counts;
            k.job.push(job);
            k.total.push(d[0]);
            k.ready.push(d[1]);
            k.in_flight.push(d[2]);
            k.final_.push(d[3]);
        }
        Ok(e)
    }

    /// Checks the fences (holding each lease row until commit), then writes everything;
    /// returns the first fence that failed, having written nothing. The caller commits the
    /// transaction, or drops it to roll back.
    pub(super) fn apply(
        &self,
        tx: &mut Transaction<'_>,
        st: &Statements,
        node: &str,
    ) -> Result<Option<&Fence>, postgres::Error> {
        for f in &self.fences {
            let held = tx.query_opt(&st.fence, &[&f.lease, &f.node, &to_db(f.epoch)])?;
            if held.is_none() {
                return Ok(Some(f));
            }
        }
        let run = |tx: &mut Transaction<'_>, stmt: &Statement, params: &[&(dyn ToSql + Sync)]| {
            tx.execute(stmt, params).map(drop)
        };
        let c = &self.campaigns;
        if !c.id.is_empty() {
            run(
                tx,
                &st.put_campaigns,
                &[&c.id, &c.name, &c.spec, &c.created_at],
            )?;
        }
        let j = &self.jobs;
        if !j.id.is_empty() {
            let p: [&(dyn ToSql + Sync); 6] = [
                &j.id,
                &j.campaign,
                &j.zone,
                &j.state,
                &j.created_at,
                &j.updated_at,
            ];
            run(tx, &st.put_jobs, &p)?;
        }
        let k = &self.contacts;
        if !k.id.is_empty() {
            let p: [&(dyn ToSql + Sync); 5] = [&k.job, &k.id, &k.state, &k.not_before, &k.body];
            run(tx, &st.put_contacts, &p)?;
        }
        let a = &self.attempts;
        if !a.id.is_empty() {
            run(
                tx,
                &st.put_attempts,
                &[&a.job, &a.id, &a.transient, &a.body],
            )?;
        }
        let z = &self.zones;
        if !z.zone.is_empty() {
            run(
                tx,
                &st.put_zone_owners,
                &[&z.zone, &z.node, &z.epoch, &z.since],
            )?;
        }
        for (number, writes) in &self.histories {
            let row = tx.query_opt(&st.lock_number, &[number])?;
            let mut h: NumberHistory = row
                .and_then(|r| r.try_get::<_, String>(0).ok())
                .and_then(|body| serde_json::from_str(&body).ok())
                .unwrap_or_default();
            for w in writes {
                apply_history(&mut h, w);
            }
            // INVARIANT: NumberHistory is plain data that always serializes.
            let body = serde_json::to_string(&h).unwrap_or_default();
            run(tx, &st.put_number, &[number, &body])?;
        }
        let n = &self.counts;
        if !n.job.is_empty() {
            let p: [&(dyn ToSql + Sync); 6] =
                [&node, &n.job, &n.total, &n.ready, &n.in_flight, &n.final_];
            run(tx, &st.add_counts, &p)?;
        }
        Ok(None)
    }
}

/// Index of a state's counter in `[total, ready, in_flight, final]`.
fn bucket(s: &ContactState) -> usize {
    match s {
        ContactState::Ready { .. } => 1,
        ContactState::InFlight { .. } => 2,
        ContactState::Final { .. } => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Job, JobState};
    use outdial_core::domain::CampaignId;
    use outdial_core::domain::{CompletionCode, Contact, ContactId, JobId};

    fn contact(job: u64, id: u64, state: ContactState) -> Contact {
        Contact {
            id: ContactId(id),
            job: JobId(job),
            phone: format!("+1555{id:07}"),
            tz: None,
            fields: BTreeMap::new(),
            attempts: 0,
            state,
            last_code: None,
        }
    }

    #[test]
    fn last_write_of_a_key_wins_rows_go_in_key_order_and_every_write_counts() {
        let ready = ContactState::Ready { not_before: 7 };
        let done = ContactState::Final {
            code: CompletionCode::Busy,
        };
        let job = |state| {
            Write::Job(Job {
                id: JobId(1),
                campaign: CampaignId(1),
                zone: "east".into(),
                state,
                created_at: 0,
                updated_at: 0,
            })
        };
        let e = Encoded::new(&[
            Write::Contact {
                contact: contact(2, 9, ready),
                was: None,
            },
            job(JobState::Running),
            Write::Contact {
                contact: contact(1, 3, ready),
                was: None,
            },
            Write::Contact {
                contact: contact(2, 9, done),
                was: Some(ready),
            },
            job(JobState::Paused),
        ])
        .expect("encode");
        assert_eq!(e.contacts.job, vec![1, 2]);
        assert_eq!(e.contacts.id, vec![3, 9]);
        assert_eq!(e.contacts.state, vec!["ready", "final"]);
        assert_eq!(e.contacts.not_before, vec![Some(7), None]);
        assert_eq!(e.jobs.state, vec!["paused".to_string()]);
        // Job 2: one new contact, ready then final; job 1: one new ready contact.
        assert_eq!(e.counts.job, vec![1, 2]);
        assert_eq!(e.counts.total, vec![1, 1]);
        assert_eq!(e.counts.ready, vec![1, 0]);
        assert_eq!(e.counts.final_, vec![0, 1]);
    }

    #[test]
    fn a_reschedule_moves_no_counter_and_sends_none() {
        let c = contact(1, 1, ContactState::Ready { not_before: 9 });
        let e = Encoded::new(&[Write::Contact {
            contact: c,
            was: Some(ContactState::Ready { not_before: 1 }),
        }])
        .expect("encode");
        assert!(e.counts.job.is_empty());
        assert_eq!(e.contacts.id, vec![1]);
    }

    #[test]
    fn a_due_time_past_i64_saturates_for_the_index() {
        let c = contact(
            1,
            u64::MAX,
            ContactState::Ready {
                not_before: u64::MAX,
            },
        );
        let e = Encoded::new(&[Write::Contact {
            contact: c,
            was: None,
        }])
        .expect("encode");
        assert_eq!(e.contacts.not_before, vec![Some(i64::MAX)]);
        assert_eq!(e.contacts.id, vec![-1], "ids keep their bits");
    }
}
