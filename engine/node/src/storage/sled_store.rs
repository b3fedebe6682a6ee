//! The embedded store: every record in one sled tree under key prefixes, so that a commit is
//! one atomic `apply_batch` followed by a `flush` (durable when `commit` returns).
//!
//! Key layout. Ids are 16 lower-case hex digits, so byte order is numeric order and a key
//! printed in an error is readable as it is:
//!
//! | key | value |
//! | --- | --- |
//! | `k/{campaign}` | [`CampaignRecord`] (JSON) |
//! | `j/{job}` | [`Job`] (JSON) |
//! | `c/{job}/{contact}` | [`Contact`] (compact binary, see `encode_contact`) |
//! | `r/{job}/{not_before}/{contact}` | empty: the index of Ready contacts, oldest due first |
//! | `a/{job}/{attempt}` | [`Attempt`] (JSON), under its job so `attempts(job)` is a prefix scan |
//! | `t/{attempt}` | the job id (8 bytes BE): present iff the attempt is not Completed |
//! | `n/{kind}` | the next id to hand out (8 bytes BE) |
//! | `s/{job}` | contact counters total, ready, in-flight, final (4 × 8 bytes BE) |
//! | `z/{zone}` | [`ZoneOwner`] (JSON): the node that masters the zone, and its epoch |
//! | `h/{number}` | the number's recent attempts and outcomes (JSON), for the law's lock-outs |
//! | `u/{name}`, `o/{id}`, `l/{seq}` | users, API tokens and the audit log (JSON; see `access`) |
//!
//! The Ready index and the counters are derived from each `Write::Contact`'s `was` (the
//! caller's word for the state it replaces), so a commit never reads contacts first. A
//! number's history is read and rewritten in the commit (one writer owns the store).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

mod access;
mod codec;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{
    apply_history, CampaignRecord, ContactCounts, Job, Store, StoreError, StoreResult, Write,
    ZoneOwner,
};
use codec::{decode_contact, encode_contact};
use outdial_core::compliance::NumberHistory;
use outdial_core::domain::{Attempt, CampaignId, Contact, ContactId, ContactState, JobId, UnixMs};

/// sled's page cache by default. sled's own default (1 GiB) would let a million-contact
/// import grow the process by that much; reads of a dialing job touch a small working set.
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// The embedded [`Store`] on sled 0.34. Cheap to share behind an `Arc`; safe from many
/// threads.
pub struct SledStore {
    db: sled::Db,
    /// Serialises the read-modify-write of the `s/{job}` counters with `apply_batch`, so two
    /// concurrent commits cannot both add to the same old value. The flush happens outside
    /// it: sled's log is ordered, so one flush makes every batch applied before it durable.
    counters: Mutex<()>,
}

impl SledStore {
    /// Opens (or creates) the store in `dir` with [`DEFAULT_CACHE_BYTES`] of page cache.
    pub fn open(dir: &Path) -> StoreResult<SledStore> {
        Self::open_with_cache(dir, DEFAULT_CACHE_BYTES)
    }

    /// Opens (or creates) the store in `dir` with `cache_bytes` of sled page cache.
    pub fn open_with_cache(dir: &Path, cache_bytes: u64) -> StoreResult<SledStore> {
        // sled releases its directory lock from a background thread after the last handle
        // is dropped, so reopening in the same process right after closing can find it still
        // held. Wait for it a bounded while; another process holding it is an error.
        const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
        const STEP: std::time::Duration = std::time::Duration::from_millis(10);
        let mut waited = std::time::Duration::ZERO;
        loop {
            let opened = sled::Config::new()
                .path(dir)
                .cache_capacity(cache_bytes)
                .open();
            match opened {
                Ok(db) => {
                    return Ok(SledStore {
                        db,
                        counters: Mutex::new(()),
                    })
                }
                // sled reports the held lock as an I/O error whose text names it (the OS's
                // EWOULDBLOCK is wrapped inside, not its kind).
                Err(sled::Error::Io(e))
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.to_string().contains("could not acquire lock") =>
                {
                    if waited >= LOCK_WAIT {
                        return Err(StoreError::io(
                            format!(
                                "{} is in use by another process (its lock was held for {LOCK_WAIT:?})",
                                dir.display()
                            ),
                            e,
                        ));
                    }
                    std::thread::sleep(STEP);
                    waited += STEP;
                }
                Err(e) => return Err(sled_err(e)),
            }
        }
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> StoreResult<u64> {
        self.db.size_on_disk().map_err(sled_err)
    }

    fn get_json<T: DeserializeOwned>(&self, key: &str) -> StoreResult<Option<T>> {
        match self.db.get(key.as_bytes()).map_err(sled_err)? {
            None => Ok(None),
            Some(v) => decode(key.as_bytes(), &v).map(Some),
        }
    }

    fn scan_json<T: DeserializeOwned>(&self, prefix: &str) -> StoreResult<Vec<T>> {
        let mut out = Vec::new();
        for item in self.db.scan_prefix(prefix.as_bytes()) {
            let (k, v) = item.map_err(sled_err)?;
            out.push(decode(&k, &v)?);
        }
        Ok(out)
    }

    fn read_counts(&self, job: JobId) -> StoreResult<[u64; 4]> {
        let key = counts_key(job);
        match self.db.get(key.as_bytes()).map_err(sled_err)? {
            None => Ok([0; 4]),
            Some(v) => decode_counts(key.as_bytes(), &v),
        }
    }

    /// The first entries of `job`'s Ready index that still match their contact, in index
    /// order, stopping at `not_before > now` or after `limit` contacts.
    fn scan_ready(&self, job: JobId, now: UnixMs, limit: usize) -> StoreResult<Vec<Contact>> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        for item in self.db.scan_prefix(ready_prefix(job).as_bytes()) {
            let (k, _) = item.map_err(sled_err)?;
            let (not_before, contact) = parse_ready_key(&k)?;
            if not_before > now {
                break;
            }
            match self.contact(job, contact)? {
                Some(c) if c.state == (ContactState::Ready { not_before }) => out.push(c),
                // A stale entry means a caller gave a wrong `was`: skipping it (rather than
                // returning the contact) is what keeps a contact from being dialed twice.
                found => {
                    tracing::warn!(
                        key = %String::from_utf8_lossy(&k),
                        state = ?found.map(|c| c.state),
                        "stale ready-index entry skipped"
                    );
                    continue;
                }
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }
}

impl Store for SledStore {
    fn commit(&self, batch: &[Write]) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut b = sled::Batch::default();
        // Per job: deltas of total, ready, in-flight, final.
        let mut deltas: BTreeMap<JobId, [i64; 4]> = BTreeMap::new();
        // Numbers' histories the batch touches, read once (one writer: nobody else changes
        // them between the read and the batch).
        let mut histories: BTreeMap<&str, NumberHistory> = BTreeMap::new();
        for w in batch {
            match w {
                Write::Dialed { number, .. } | Write::Ended { number, .. } => {
                    let h = match histories.entry(number.as_str()) {
                        std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                        std::collections::btree_map::Entry::Vacant(e) => {
                            e.insert(self.number_history(number)?)
                        }
                    };
                    apply_history(h, w);
                }
                Write::Campaign(c) => b.insert(campaign_key(c.id).into_bytes(), encode(c)?),
                Write::Job(j) => b.insert(job_key(j.id).into_bytes(), encode(j)?),
                Write::ZoneOwner(z) => b.insert(zone_key(&z.zone).into_bytes(), encode(z)?),
                // One process writes an embedded store: there is no other master to fence off.
                Write::Fence(_) => {}
                Write::Contact { contact, was } => {
                    let d = deltas.entry(contact.job).or_default();
                    match was {
                        None => d[0] += 1,
                        Some(s) => {
                            d[bucket(s)] -= 1;
                            if let ContactState::Ready { not_before } = s {
                                b.remove(
                                    ready_key(contact.job, *not_before, contact.id).into_bytes(),
                                );
                            }
                        }
                    }
                    d[bucket(&contact.state)] += 1;
                    if let ContactState::Ready { not_before } = contact.state {
                        b.insert(
                            ready_key(contact.job, not_before, contact.id).into_bytes(),
                            &[][..],
                        );
                    }
                    b.insert(
                        contact_key(contact.job, contact.id).into_bytes(),
                        encode_contact(contact),
                    );
                }
                Write::Attempt(a) => {
                    b.insert(attempt_key(a.job, a.id.0).into_bytes(), encode(a)?);
                    let t = transient_key(a.id.0).into_bytes();
                    if a.state.is_transient() {
                        b.insert(t, &a.job.0.to_be_bytes()[..]);
                    } else {
                        b.remove(t);
                    }
                }
            }
        }
        for (number, h) in &histories {
            b.insert(number_key(number).into_bytes(), encode(h)?);
        }
        {
            // The guarded data is `()`: a panic elsewhere while holding it leaves nothing
            // half-updated in memory, so a poisoned lock is as good as a clean one.
            let _guard = self.counters.lock().unwrap_or_else(|e| e.into_inner());
            for (job, d) in &deltas {
                let old = self.read_counts(*job)?;
                let mut new = [0u64; 4];
                for i in 0..4 {
                    let v = i128::from(old[i]) + i128::from(d[i]);
                    new[i] = u64::try_from(v).unwrap_or_else(|_| {
                        // Only a wrong `was` from a caller gets here; a count is not worth
                        // failing the commit that carries a dialing decision.
                        tracing::warn!(%job, counter = i, "contact counter would go negative; clamped to 0");
                        0
                    });
                }
                b.insert(counts_key(*job).into_bytes(), encode_counts(new));
            }
            self.db.apply_batch(b).map_err(sled_err)?;
        }
        self.db.flush().map_err(sled_err)?;
        Ok(())
    }

    fn campaign(&self, id: CampaignId) -> StoreResult<Option<CampaignRecord>> {
        self.get_json(&campaign_key(id))
    }

    fn number_history(&self, number: &str) -> StoreResult<NumberHistory> {
        Ok(self.get_json(&number_key(number))?.unwrap_or_default())
    }

    fn campaigns(&self) -> StoreResult<Vec<CampaignRecord>> {
        self.scan_json("k/")
    }

    fn zone_owner(&self, zone: &str) -> StoreResult<Option<ZoneOwner>> {
        self.get_json(&zone_key(zone))
    }

    fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        self.get_json(&job_key(id))
    }

    fn jobs(&self) -> StoreResult<Vec<Job>> {
        self.scan_json("j/")
    }

    fn contact(&self, job: JobId, id: ContactId) -> StoreResult<Option<Contact>> {
        let key = contact_key(job, id);
        let c = match self.db.get(key.as_bytes()).map_err(sled_err)? {
            None => None,
            Some(v) => Some(decode_contact(key.as_bytes(), &v)?),
        };
        match c {
            Some(c) if c.job != job || c.id != id => Err(StoreError::Corrupt {
                key,
                why: format!("holds contact {} of job {}", c.id, c.job),
            }),
            other => Ok(other),
        }
    }

    fn due_contacts(&self, job: JobId, now: UnixMs, limit: usize) -> StoreResult<Vec<Contact>> {
        self.scan_ready(job, now, limit)
    }

    fn next_due(&self, job: JobId) -> StoreResult<Option<UnixMs>> {
        Ok(self
            .scan_ready(job, UnixMs::MAX, 1)?
            .first()
            .and_then(|c| match c.state {
                ContactState::Ready { not_before } => Some(not_before),
                _ => None,
            }))
    }

    fn contact_counts(&self, job: JobId) -> StoreResult<ContactCounts> {
        let [total, ready, in_flight, final_] = self.read_counts(job)?;
        Ok(ContactCounts {
            total,
            ready,
            in_flight,
            final_,
        })
    }

    fn attempts(&self, job: JobId) -> StoreResult<Vec<Attempt>> {
        self.scan_json(&format!("a/{:016x}/", job.0))
    }

    fn transient_attempts(&self) -> StoreResult<Vec<Attempt>> {
        let mut out = Vec::new();
        for item in self.db.scan_prefix(b"t/") {
            let (k, v) = item.map_err(sled_err)?;
            let id = parse_hex(&k, 2..18)?;
            let job = JobId(decode_u64(&k, &v)?);
            let key = attempt_key(job, id);
            match self.get_json::<Attempt>(&key)? {
                Some(a) if a.state.is_transient() => out.push(a),
                Some(a) => {
                    return Err(StoreError::Corrupt {
                        key: String::from_utf8_lossy(&k).into_owned(),
                        why: format!(
                            "indexes attempt {} as transient but it is {:?}",
                            a.id, a.state
                        ),
                    })
                }
                None => {
                    return Err(StoreError::Corrupt {
                        key: String::from_utf8_lossy(&k).into_owned(),
                        why: format!("indexes missing attempt {key}"),
                    })
                }
            }
        }
        Ok(out)
    }

    fn allocate_ids(&self, kind: &str, n: u64) -> StoreResult<u64> {
        let key = format!("n/{kind}");
        loop {
            let cur = self.db.get(key.as_bytes()).map_err(sled_err)?;
            // Ids start at 1 so 0 can mean "none" wherever a caller needs it.
            let first = match &cur {
                None => 1,
                Some(v) => decode_u64(key.as_bytes(), v)?,
            };
            if n == 0 {
                return Ok(first);
            }
            let next = first.checked_add(n).ok_or_else(|| StoreError::Corrupt {
                key: key.clone(),
                why: format!("counter {first} cannot hand out {n} more ids"),
            })?;
            let swapped = self
                .db
                .compare_and_swap(key.as_bytes(), cur, Some(&next.to_be_bytes()[..]))
                .map_err(sled_err)?;
            if swapped.is_ok() {
                // Durable before the ids are used: a crash after this never hands them out again.
                self.db.flush().map_err(sled_err)?;
                return Ok(first);
            }
            // Another thread moved the counter first: read it again.
        }
    }

    fn for_each_contact(&self, job: JobId, f: &mut dyn FnMut(&Contact)) -> StoreResult<()> {
        for item in self.db.scan_prefix(format!("c/{:016x}/", job.0).as_bytes()) {
            let (k, v) = item.map_err(sled_err)?;
            let c = decode_contact(&k, &v)?;
            f(&c);
        }
        Ok(())
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

/// `z/{zone}`: zone names are operator-chosen text; nothing else shares the prefix.
fn zone_key(zone: &str) -> String {
    format!("z/{zone}")
}

/// A number's history: `h/{number}`.
fn number_key(number: &str) -> String {
    format!("h/{number}")
}

fn campaign_key(id: CampaignId) -> String {
    format!("k/{:016x}", id.0)
}

fn job_key(id: JobId) -> String {
    format!("j/{:016x}", id.0)
}

fn contact_key(job: JobId, id: ContactId) -> String {
    format!("c/{:016x}/{:016x}", job.0, id.0)
}

fn ready_prefix(job: JobId) -> String {
    format!("r/{:016x}/", job.0)
}

fn ready_key(job: JobId, not_before: UnixMs, id: ContactId) -> String {
    format!("r/{:016x}/{:016x}/{:016x}", job.0, not_before, id.0)
}

fn attempt_key(job: JobId, attempt: u64) -> String {
    format!("a/{:016x}/{:016x}", job.0, attempt)
}

fn transient_key(attempt: u64) -> String {
    format!("t/{attempt:016x}")
}

fn counts_key(job: JobId) -> String {
    format!("s/{:016x}", job.0)
}

/// `(not_before, contact)` of a key `r/{job}/{not_before}/{contact}`.
fn parse_ready_key(k: &[u8]) -> StoreResult<(UnixMs, ContactId)> {
    if k.len() != 52 {
        return Err(corrupt(
            k,
            format!("ready-index key of {} bytes, want 52", k.len()),
        ));
    }
    Ok((parse_hex(k, 19..35)?, ContactId(parse_hex(k, 36..52)?)))
}

fn parse_hex(k: &[u8], at: std::ops::Range<usize>) -> StoreResult<u64> {
    let digits = k
        .get(at.clone())
        .and_then(|d| std::str::from_utf8(d).ok())
        .ok_or_else(|| corrupt(k, format!("no id at bytes {at:?}")))?;
    u64::from_str_radix(digits, 16).map_err(|e| corrupt(k, format!("id {digits:?}: {e}")))
}

fn encode<T: Serialize>(v: &T) -> StoreResult<Vec<u8>> {
    // Our own plain-data types always serialise; this maps the impossible case anyway.
    serde_json::to_vec(v).map_err(|e| StoreError::io("encode", e))
}

fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(key, e.to_string()))
}

fn decode_u64(key: &[u8], v: &[u8]) -> StoreResult<u64> {
    let raw: [u8; 8] = v
        .try_into()
        .map_err(|_| corrupt(key, format!("{} bytes, want 8", v.len())))?;
    Ok(u64::from_be_bytes(raw))
}

fn encode_counts(c: [u64; 4]) -> Vec<u8> {
    c.iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn decode_counts(key: &[u8], v: &[u8]) -> StoreResult<[u64; 4]> {
    if v.len() != 32 {
        return Err(corrupt(
            key,
            format!("counters of {} bytes, want 32", v.len()),
        ));
    }
    let mut out = [0u64; 4];
    for (i, chunk) in v.chunks_exact(8).enumerate() {
        out[i] = decode_u64(key, chunk)?;
    }
    Ok(out)
}

fn corrupt(key: &[u8], why: String) -> StoreError {
    StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        why,
    }
}

fn sled_err(e: sled::Error) -> StoreError {
    match e {
        sled::Error::Corruption { .. } => StoreError::Corrupt {
            key: "(sled log)".into(),
            why: e.to_string(),
        },
        other => StoreError::io("sled", other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outdial_core::domain::{AttemptId, AttemptState, CompletionCode};

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

    fn store() -> (tempfile::TempDir, SledStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SledStore::open(dir.path()).expect("open");
        (dir, s)
    }

    #[test]
    fn keys_sort_numerically_and_parse_back() {
        let a = ready_key(JobId(1), 9, ContactId(255));
        let b = ready_key(JobId(1), 10, ContactId(1));
        assert!(a < b, "{a} sorts before {b}");
        assert_eq!(
            parse_ready_key(b.as_bytes()).expect("parse"),
            (10, ContactId(1))
        );
        assert!(ready_key(JobId(1), UnixMs::MAX, ContactId(u64::MAX))
            .starts_with(&ready_prefix(JobId(1))));
    }

    #[test]
    fn malformed_bytes_are_corrupt_not_panics() {
        for k in [
            &b"r/"[..],
            b"r/zzzzzzzzzzzzzzzz/zzzzzzzzzzzzzzzz/zzzzzzzzzzzzzzzz",
            &[0xff; 52],
        ] {
            assert!(matches!(
                parse_ready_key(k),
                Err(StoreError::Corrupt { .. })
            ));
        }
        assert!(matches!(
            decode_u64(b"n/x", b"123"),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            decode_counts(b"s/x", &[0; 31]),
            Err(StoreError::Corrupt { .. })
        ));
        let e = decode::<Contact>(b"c/1/2", b"{not json").expect_err("garbage");
        assert!(e.to_string().contains("c/1/2"), "{e}");
    }

    #[test]
    fn garbage_on_disk_reads_as_corrupt() {
        let (_d, s) = store();
        s.db.insert(contact_key(JobId(1), ContactId(2)), &b"\x00\x01garbage"[..])
            .expect("insert");
        s.db.insert(counts_key(JobId(1)), &b"short"[..])
            .expect("insert");
        s.db.insert(transient_key(7), &b"xx"[..]).expect("insert");
        assert!(matches!(
            s.contact(JobId(1), ContactId(2)),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            s.contact_counts(JobId(1)),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            s.transient_attempts(),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn contact_under_the_wrong_key_is_corrupt() {
        let (_d, s) = store();
        let c = contact(1, 3, ContactState::Ready { not_before: 0 });
        s.db.insert(
            contact_key(JobId(1), ContactId(2)),
            encode(&c).expect("encode"),
        )
        .expect("insert");
        assert!(matches!(
            s.contact(JobId(1), ContactId(2)),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn stale_index_entry_is_skipped_not_dialed() {
        let (_d, s) = store();
        let c = contact(1, 1, ContactState::Ready { not_before: 5 });
        s.commit(&[Write::Contact {
            contact: c.clone(),
            was: None,
        }])
        .expect("commit");
        // A wrong `was` (Ready at 0 instead of 5) leaves the entry at 5 behind.
        let mut moved = c.clone();
        moved.state = ContactState::InFlight {
            attempt: AttemptId(1),
        };
        s.commit(&[Write::Contact {
            contact: moved,
            was: Some(ContactState::Ready { not_before: 0 }),
        }])
        .expect("commit");
        assert!(s.due_contacts(JobId(1), 100, 10).expect("due").is_empty());
        assert_eq!(s.next_due(JobId(1)).expect("next"), None);
    }

    #[test]
    fn one_batch_can_move_a_contact_twice() {
        let (_d, s) = store();
        let ready = contact(1, 1, ContactState::Ready { not_before: 0 });
        let mut flying = ready.clone();
        flying.state = ContactState::InFlight {
            attempt: AttemptId(9),
        };
        let mut done = ready.clone();
        done.state = ContactState::Final {
            code: CompletionCode::Busy,
        };
        let mut attempt = Attempt {
            id: AttemptId(9),
            job: JobId(1),
            contact: ContactId(1),
            number: 1,
            state: AttemptState::Dialing,
            history: vec![],
            sip_status: None,
            node: "n1".into(),
            epoch: 1,
            amd: None,
        };
        let mut batch = vec![
            Write::Contact {
                contact: ready.clone(),
                was: None,
            },
            Write::Contact {
                contact: flying.clone(),
                was: Some(ready.state),
            },
            Write::Attempt(attempt.clone()),
        ];
        attempt.state = AttemptState::Completed(CompletionCode::Busy);
        batch.push(Write::Attempt(attempt));
        batch.push(Write::Contact {
            contact: done,
            was: Some(flying.state),
        });
        s.commit(&batch).expect("commit");
        let counts = s.contact_counts(JobId(1)).expect("counts");
        assert_eq!(
            (counts.total, counts.ready, counts.in_flight, counts.final_),
            (1, 0, 0, 1)
        );
        assert!(s.due_contacts(JobId(1), 100, 10).expect("due").is_empty());
        assert!(s.transient_attempts().expect("transient").is_empty());
    }

    #[test]
    fn counters_never_go_negative() {
        let (_d, s) = store();
        let c = contact(
            1,
            1,
            ContactState::Final {
                code: CompletionCode::Busy,
            },
        );
        s.commit(&[Write::Contact {
            contact: c,
            was: Some(ContactState::Ready { not_before: 0 }),
        }])
        .expect("commit");
        let counts = s.contact_counts(JobId(1)).expect("counts");
        assert_eq!((counts.total, counts.ready, counts.final_), (0, 0, 1));
    }
}
