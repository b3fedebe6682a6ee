//! The cluster store: [`Store`] and [`Coordination`] on a PostgreSQL database shared by every
//! node. It owns the schema (migrations shipped in `pg_store/migrations/`, applied at
//! start-up) and a few worker threads that own the connections (see `pool`).
//!
//! Tables. Ids and Unix-ms times are BIGINT holding the u64's bits, so they read back
//! exactly; records read back whole from a JSON `body`, and the columns queries select on are
//! real, indexed columns:
//!
//! | table | key | holds |
//! | --- | --- | --- |
//! | `campaigns` | `id` | [`CampaignRecord`] as columns |
//! | `jobs` | `id` | [`Job`] as columns (`state` in kebab-case) |
//! | `contacts` | `job, id` | [`Contact`] (`body` JSON), `state`, `not_before` (the Ready index `contacts_ready`: `job, not_before, id` where Ready), the claim `claimed_by` until `claim_until` |
//! | `contact_counts` | `job, node` | deltas of total, ready, in-flight, final written by each node; a job's counts are the sums |
//! | `attempts` | `job, id` | [`Attempt`] (`body` JSON), `transient` (indexed where true) |
//! | `zone_owners` | `zone` | [`ZoneOwner`] as columns |
//! | `id_counters` | `kind` | the next id to hand out |
//! | `leases` | `name` | holder `node` (NULL once released), fencing `epoch`, `expires_at` |
//! | `nodes` | `node` | the last heartbeat: `api`, `state`, `seen_at` |
//! | `assignments` | `zone` | `node`, `preferred`, `updated_at` |
//! | `users`, `api_tokens`, `audit_log` | `name`, `id`, `seq` | who may use the nodes and what they did (storage::access) |
//! | `schema_migrations` | `version` | the migrations applied |
//!
//! Every deadline (leases, heartbeats, contact claims) is kept by the database's clock
//! (`clock_timestamp()`), never a node's. A commit is one transaction with
//! `synchronous_commit` left on: durable and atomic when it returns `Ok`.
//!
//! Claims: `due_contacts` claims the contacts it returns for this node for
//! [`PgOptions::claim_ttl`]; other nodes skip them until then. Writing a contact (any
//! `Write::Contact`) clears its claim; so does [`PgStore::release_claims`]. A claim that is
//! neither written nor released (the node died, or kept the contact queued past the TTL
//! without asking for due contacts again, which renews its claims) runs out and the contact
//! can go to another node.

use std::sync::Arc;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::FromSql;
use postgres::Row;
use serde::de::DeserializeOwned;
use serde::Serialize;

mod access;
mod batch;
mod pool;
mod sql;

use super::{CampaignRecord, ContactCounts, Job, Store, StoreError, StoreResult, Write, ZoneOwner};
use crate::cluster::coordination::{Assignment, Coordination, LeaseRow, NodeBeat, NodeRow};
use batch::Encoded;
use outdial_core::compliance::NumberHistory;
use outdial_core::domain::{Attempt, CampaignId, Contact, ContactId, ContactState, JobId, UnixMs};
use pool::Pool;
use sql::pg_err;

/// Contacts per round trip of `for_each_contact`.
const PAGE: i64 = 2_000;

/// A commit that hit a deadlock or a serialisation failure (rolled back by the server) is
/// tried again, this many times in all.
const COMMIT_TRIES: u32 = 3;

/// How a [`PgStore`] runs. `Default` is what a node uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgOptions {
    /// Worker threads, each with its own connection: the calls that can run at once.
    /// Default 4, at least 1.
    pub workers: usize,
    /// How long `due_contacts` claims a contact for this node (database clock). Default 60 s.
    pub claim_ttl: Duration,
    /// The longest a call waits for its answer before failing with `StoreError::Io` (a hung
    /// server must not hang the node). Default 60 s.
    pub call_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            workers: 4,
            claim_ttl: Duration::from_secs(60),
            call_timeout: Duration::from_secs(60),
        }
    }
}

/// The PostgreSQL [`Store`] and [`Coordination`]. Safe to share between threads and to call
/// from inside an async runtime (no caller thread ever touches a connection); each call
/// blocks its caller until the database answers or [`PgOptions::call_timeout`] passes.
///
/// An `Err(StoreError::Io)` does not always mean "not done": a call that timed out may still
/// run on its worker, and a commit whose connection broke during `COMMIT` may have landed
/// (as with any database client). `Ok` always means done and durable.
pub struct PgStore {
    pool: Pool,
    node: Arc<str>,
    claim_ttl: Duration,
}

impl PgStore {
    /// Connects to the database at `url` (a libpq-style string, e.g. `host=10.0.0.5
    /// port=5432 user=outdial dbname=outdial connect_timeout=2`) as node `node`, bringing
    /// the schema up to date. Several nodes may connect at once.
    pub fn connect(url: &str, node: &str) -> StoreResult<PgStore> {
        Self::connect_with(url, node, PgOptions::default())
    }

    /// As [`PgStore::connect`], with `opts`.
    pub fn connect_with(url: &str, node: &str, opts: PgOptions) -> StoreResult<PgStore> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| StoreError::io("postgres: connection string", e))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        if config.get_tcp_user_timeout().is_none() {
            // Unacknowledged writes to a vanished server fail after this, not after minutes.
            config.tcp_user_timeout(Duration::from_secs(30));
        }
        if config.get_keepalives_idle() == Duration::from_secs(2 * 60 * 60) {
            // The libpq default (2 h) would leave a call to a vanished host hanging that long.
            config.keepalives_idle(Duration::from_secs(15));
        }
        if config.get_application_name().is_none() {
            config.application_name(&format!("outdial {node}"));
        }
        let store = PgStore {
            pool: Pool::start(config, opts.workers, opts.call_timeout)?,
            node: Arc::from(node),
            claim_ttl: opts.claim_ttl,
        };
        // Connecting (and migrating) now makes a wrong URL or an unreachable server an error
        // of `connect`, not of the first call.
        store.pool.run("connect", |_| Ok(()))?;
        Ok(store)
    }

    /// This node's name, as contact claims record it.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Gives up this node's claims on `job`'s contacts (a graceful stop, a job paused), so
    /// other nodes may dial them at once. Returns how many it released.
    pub fn release_claims(&self, job: JobId) -> StoreResult<u64> {
        let params = (to_db(job.0), self.node.to_string());
        self.execute("release_claims", |s| &s.release_claims, params)
    }

    /// Runs `stmt` (picked from the prepared statements) with `params` and returns its rows.
    fn query<P>(
        &self,
        what: &'static str,
        stmt: fn(&sql::Statements) -> &postgres::Statement,
        params: P,
    ) -> StoreResult<Vec<Row>>
    where
        P: Params,
    {
        self.pool.run(what, move |c| {
            c.client.query(stmt(&c.st), &params.refs()).map_err(pg_err)
        })
    }

    /// Runs `stmt` with `params` and returns the rows it changed.
    fn execute<P: Params>(
        &self,
        what: &'static str,
        stmt: fn(&sql::Statements) -> &postgres::Statement,
        params: P,
    ) -> StoreResult<u64> {
        self.pool.run(what, move |c| {
            c.client
                .execute(stmt(&c.st), &params.refs())
                .map_err(pg_err)
        })
    }
}

/// Owned query parameters that can move to a worker thread.
trait Params: Send + 'static {
    fn refs(&self) -> Vec<&(dyn postgres::types::ToSql + Sync)>;
}

macro_rules! params_tuple {
    ($($t:ident $i:tt),*) => {
        impl<$($t: postgres::types::ToSql + Sync + Send + 'static),*> Params for ($($t,)*) {
            fn refs(&self) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
                vec![$(&self.$i),*]
            }
        }
    };
}

params_tuple!();
params_tuple!(A 0);
params_tuple!(A 0, B 1);
params_tuple!(A 0, B 1, C 2);
params_tuple!(A 0, B 1, C 2, D 3);
params_tuple!(A 0, B 1, C 2, D 3, E 4);

impl Store for PgStore {
    fn commit(&self, batch: &[Write]) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let enc = Encoded::new(batch)?;
        let node = Arc::clone(&self.node);
        self.pool.run("commit", move |c| {
            let mut tries = 0;
            loop {
                tries += 1;
                let outcome = (|| {
                    let mut tx = c.client.transaction()?;
                    if let Some(stale) = enc.apply(&mut tx, &c.st, &node)? {
                        // Dropping `tx` rolls the batch back: nothing of it lands.
                        return Ok(Some(stale.clone()));
                    }
                    tx.commit()?;
                    Ok(None)
                })();
                match outcome {
                    Ok(None) => return Ok(()),
                    Ok(Some(f)) => {
                        return Err(StoreError::Fenced {
                            lease: f.lease,
                            node: f.node,
                            epoch: f.epoch,
                        })
                    }
                    Err(e) if tries < COMMIT_TRIES && retryable(&e) => {
                        tracing::debug!(error = %e, tries, "commit rolled back by the server; again");
                    }
                    Err(e) => return Err(pg_err(e)),
                }
            }
        })
    }

    fn campaign(&self, id: CampaignId) -> StoreResult<Option<CampaignRecord>> {
        let rows = self.query("campaign", |s| &s.campaign, (to_db(id.0),))?;
        rows.first().map(decode_campaign).transpose()
    }

    fn campaigns(&self) -> StoreResult<Vec<CampaignRecord>> {
        let rows = self.query("campaigns", |s| &s.campaigns, ())?;
        rows.iter().map(decode_campaign).collect()
    }

    fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        let rows = self.query("job", |s| &s.job, (to_db(id.0),))?;
        rows.first().map(decode_job).transpose()
    }

    fn jobs(&self) -> StoreResult<Vec<Job>> {
        let rows = self.query("jobs", |s| &s.jobs, ())?;
        rows.iter().map(decode_job).collect()
    }

    fn number_history(&self, number: &str) -> StoreResult<NumberHistory> {
        let rows = self.query(
            "number history",
            |s| &s.number_history,
            (number.to_owned(),),
        )?;
        match rows.first() {
            Some(r) => decode_body(r, &format!("number_history/{number}")),
            None => Ok(NumberHistory::default()),
        }
    }

    fn contact(&self, job: JobId, id: ContactId) -> StoreResult<Option<Contact>> {
        let rows = self.query("contact", |s| &s.contact, (to_db(job.0), to_db(id.0)))?;
        let c = rows.first().map(|r| decode_contact(job, r)).transpose()?;
        match c {
            Some(c) if c.id != id => Err(StoreError::Corrupt {
                key: contact_key(job, id),
                why: format!("holds contact {} of job {}", c.id, c.job),
            }),
            other => Ok(other),
        }
    }

    fn due_contacts(&self, job: JobId, now: UnixMs, limit: usize) -> StoreResult<Vec<Contact>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let params = (
            to_db(job.0),
            to_db_time(now),
            self.node.to_string(),
            i64::try_from(limit).unwrap_or(i64::MAX),
            self.claim_ttl.as_secs_f64(),
        );
        let rows = self.query("due_contacts", |s| &s.claim_due, params)?;
        let mut due = Vec::with_capacity(rows.len());
        for c in contacts_from(job, &rows)? {
            match c.state {
                ContactState::Ready { not_before } => due.push((not_before, c)),
                other => {
                    return Err(StoreError::Corrupt {
                        key: contact_key(job, c.id),
                        why: format!("indexed as ready but its record is {other:?}"),
                    })
                }
            }
        }
        // RETURNING gives no order: oldest due first, then by id, as the index has them.
        due.sort_by_key(|(not_before, c)| (*not_before, c.id));
        Ok(due.into_iter().map(|(_, c)| c).collect())
    }

    fn next_due(&self, job: JobId) -> StoreResult<Option<UnixMs>> {
        let rows = self.query("next_due", |s| &s.next_due, (to_db(job.0),))?;
        Ok(contacts_from(job, &rows)?
            .first()
            .and_then(|c| match c.state {
                ContactState::Ready { not_before } => Some(not_before),
                _ => None,
            }))
    }

    fn contact_counts(&self, job: JobId) -> StoreResult<ContactCounts> {
        let rows = self.query("contact_counts", |s| &s.counts, (to_db(job.0),))?;
        let Some(r) = rows.first() else {
            return Ok(ContactCounts::default());
        };
        // Sums of every node's deltas; a caller's wrong `was` could take one below 0.
        let n = |i| col::<i64>(r, i, "contact_counts").map(|v| u64::try_from(v).unwrap_or(0));
        Ok(ContactCounts {
            total: n(0)?,
            ready: n(1)?,
            in_flight: n(2)?,
            final_: n(3)?,
        })
    }

    fn attempts(&self, job: JobId) -> StoreResult<Vec<Attempt>> {
        let rows = self.query("attempts", |s| &s.attempts, (to_db(job.0),))?;
        rows.iter()
            .map(|r| decode_body(r, &format!("attempts/{job}")))
            .collect()
    }

    fn transient_attempts(&self) -> StoreResult<Vec<Attempt>> {
        let rows = self.query("transient_attempts", |s| &s.transient_attempts, ())?;
        rows.iter()
            .map(|r| {
                let a: Attempt = decode_body(r, "attempts (transient)")?;
                if !a.state.is_transient() {
                    return Err(StoreError::Corrupt {
                        key: format!("attempts/{}/{}", a.job, a.id),
                        why: format!("indexed as transient but it is {:?}", a.state),
                    });
                }
                Ok(a)
            })
            .collect()
    }

    fn zone_owner(&self, zone: &str) -> StoreResult<Option<ZoneOwner>> {
        let rows = self.query("zone_owner", |s| &s.zone_owner, (zone.to_owned(),))?;
        rows.first()
            .map(|r| {
                let key = "zone_owners";
                Ok(ZoneOwner {
                    zone: col(r, 0, key)?,
                    node: col(r, 1, key)?,
                    epoch: from_db(col(r, 2, key)?),
                    since: from_db(col(r, 3, key)?),
                })
            })
            .transpose()
    }

    fn allocate_ids(&self, kind: &str, n: u64) -> StoreResult<u64> {
        let key = format!("id_counters/{kind}");
        let Ok(n) = i64::try_from(n) else {
            return Err(StoreError::Corrupt {
                key,
                why: format!("cannot hand out {n} ids at once"),
            });
        };
        let (k, kind) = (key.clone(), kind.to_owned());
        let rows = self.pool.run("allocate_ids", move |c| {
            match c.client.query(&c.st.allocate_ids, &[&kind, &n]) {
                Ok(rows) => Ok(rows),
                Err(e) if e.code() == Some(&SqlState::NUMERIC_VALUE_OUT_OF_RANGE) => {
                    Err(StoreError::Corrupt {
                        key: k,
                        why: format!("the counter cannot hand out {n} more ids"),
                    })
                }
                Err(e) => Err(pg_err(e)),
            }
        })?;
        let first: i64 = rows
            .first()
            .map(|r| col(r, 0, &key))
            .transpose()?
            .ok_or_else(|| {
                StoreError::io_failed(format!("postgres: {key}: the upsert returned no row"))
            })?;
        Ok(from_db(first))
    }

    fn for_each_contact(&self, job: JobId, f: &mut dyn FnMut(&Contact)) -> StoreResult<()> {
        // Keyset pages, decoded and visited on the caller's thread: memory stays one page.
        let mut from = i64::MIN;
        loop {
            let rows = self.query(
                "for_each_contact",
                |s| &s.contacts_page,
                (to_db(job.0), from, PAGE),
            )?;
            let page = contacts_from(job, &rows)?;
            for c in &page {
                f(c);
            }
            let last = match page.last() {
                Some(c) if page.len() as i64 == PAGE => to_db(c.id.0),
                _ => return Ok(()),
            };
            match last.checked_add(1) {
                Some(next) => from = next,
                None => return Ok(()),
            }
        }
    }
}

impl Coordination for PgStore {
    fn acquire(
        &self,
        lease: &str,
        node: &str,
        ttl: Duration,
        dead: &[String],
    ) -> StoreResult<Option<u64>> {
        let params = (
            lease.to_owned(),
            node.to_owned(),
            ttl.as_secs_f64(),
            dead.to_vec(),
        );
        let rows = self.query("acquire", |s| &s.acquire, params)?;
        rows.first()
            .map(|r| col::<i64>(r, 0, &format!("leases/{lease}")).map(from_db))
            .transpose()
    }

    fn renew(&self, lease: &str, node: &str, epoch: u64, ttl: Duration) -> StoreResult<bool> {
        let params = (
            lease.to_owned(),
            node.to_owned(),
            to_db(epoch),
            ttl.as_secs_f64(),
        );
        Ok(self.execute("renew", |s| &s.renew, params)? > 0)
    }

    fn release(&self, lease: &str, node: &str, epoch: u64) -> StoreResult<()> {
        let params = (lease.to_owned(), node.to_owned(), to_db(epoch));
        self.execute("release", |s| &s.release, params).map(drop)
    }

    fn leases(&self) -> StoreResult<Vec<LeaseRow>> {
        let rows = self.query("leases", |s| &s.leases, ())?;
        rows.iter()
            .map(|r| {
                let key = "leases";
                Ok(LeaseRow {
                    name: col(r, 0, key)?,
                    node: col(r, 1, key)?,
                    epoch: from_db(col(r, 2, key)?),
                    remaining_ms: u64::try_from(col::<i64>(r, 3, key)?).unwrap_or(0),
                })
            })
            .collect()
    }

    fn heartbeat(&self, beat: &NodeBeat) -> StoreResult<()> {
        let params = (beat.node.clone(), beat.api.clone(), beat.state.clone());
        self.execute("heartbeat", |s| &s.heartbeat, params)
            .map(drop)
    }

    fn nodes(&self) -> StoreResult<Vec<NodeRow>> {
        let rows = self.query("nodes", |s| &s.nodes, ())?;
        rows.iter()
            .map(|r| {
                let key = "nodes";
                Ok(NodeRow {
                    node: col(r, 0, key)?,
                    api: col(r, 1, key)?,
                    state: col(r, 2, key)?,
                    silent_ms: u64::try_from(col::<i64>(r, 3, key)?).unwrap_or(0),
                })
            })
            .collect()
    }

    fn add_do_not_call(&self, numbers: &[String]) -> StoreResult<()> {
        self.execute("add_do_not_call", |s| &s.add_dnc, (numbers.to_vec(),))
            .map(drop)
    }

    fn do_not_call_since(&self, after: u64) -> StoreResult<(Vec<String>, u64)> {
        let rows = self.query("do_not_call_since", |s| &s.dnc_since, (to_db(after),))?;
        let mut last = after;
        let mut numbers = Vec::with_capacity(rows.len());
        for r in &rows {
            numbers.push(col::<String>(r, 0, "do_not_call")?);
            last = last.max(u64::try_from(col::<i64>(r, 1, "do_not_call")?).unwrap_or(0));
        }
        Ok((numbers, last))
    }

    fn take_claims(&self, job: JobId) -> StoreResult<u64> {
        let params = (to_db(job.0), self.node.to_string());
        self.execute("take_claims", |s| &s.take_claims, params)
    }

    fn seed_assignment(&self, zone: &str, node: &str) -> StoreResult<()> {
        let params = (zone.to_owned(), node.to_owned());
        self.execute("seed_assignment", |s| &s.seed_assignment, params)
            .map(drop)
    }

    fn assign(&self, zone: &str, node: &str) -> StoreResult<()> {
        let params = (zone.to_owned(), node.to_owned());
        self.execute("assign", |s| &s.assign, params).map(drop)
    }

    fn prefer(&self, zone: &str, node: &str) -> StoreResult<()> {
        let params = (zone.to_owned(), node.to_owned());
        self.execute("prefer", |s| &s.prefer, params).map(drop)
    }

    fn assignments(&self) -> StoreResult<Vec<Assignment>> {
        let rows = self.query("assignments", |s| &s.assignments, ())?;
        rows.iter()
            .map(|r| {
                let key = "assignments";
                Ok(Assignment {
                    zone: col(r, 0, key)?,
                    node: col(r, 1, key)?,
                    preferred: col(r, 2, key)?,
                    updated_at: u64::try_from(col::<i64>(r, 3, key)?).unwrap_or(0),
                })
            })
            .collect()
    }
}

/// Whether the server rolled a transaction back for a reason that trying again can cure.
fn retryable(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    )
}

/// A u64 as the BIGINT with the same bits: exact both ways, ordered for values below 2^63.
pub(super) fn to_db(v: u64) -> i64 {
    v as i64
}

/// The inverse of [`to_db`].
pub(super) fn from_db(v: i64) -> u64 {
    v as u64
}

/// A Unix-ms time as a BIGINT to compare with: saturated, so "the end of time" stays last.
pub(super) fn to_db_time(t: UnixMs) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

fn contact_key(job: JobId, id: ContactId) -> String {
    format!("contacts/{job}/{id}")
}

/// Column `i` of `r`; a type the schema does not promise is corruption under `key`.
fn col<'a, T: FromSql<'a>>(r: &'a Row, i: usize, key: &str) -> StoreResult<T> {
    r.try_get(i).map_err(|e| StoreError::Corrupt {
        key: key.to_owned(),
        why: format!("column {i}: {e}"),
    })
}

/// The JSON record in column 0.
fn decode_body<T: DeserializeOwned>(r: &Row, key: &str) -> StoreResult<T> {
    let body: &str = col(r, 0, key)?;
    serde_json::from_str(body).map_err(|e| StoreError::Corrupt {
        key: key.to_owned(),
        why: e.to_string(),
    })
}

fn contacts_from(job: JobId, rows: &[Row]) -> StoreResult<Vec<Contact>> {
    rows.iter().map(|r| decode_contact(job, r)).collect()
}

fn decode_contact(job: JobId, r: &Row) -> StoreResult<Contact> {
    let c: Contact = decode_body(r, &format!("contacts/{job}"))?;
    if c.job != job {
        return Err(StoreError::Corrupt {
            key: format!("contacts/{job}/{}", c.id),
            why: format!("holds contact {} of job {}", c.id, c.job),
        });
    }
    Ok(c)
}

fn decode_campaign(r: &Row) -> StoreResult<CampaignRecord> {
    let key = "campaigns";
    Ok(CampaignRecord {
        id: CampaignId(from_db(col(r, 0, key)?)),
        name: col(r, 1, key)?,
        spec: col(r, 2, key)?,
        created_at: from_db(col(r, 3, key)?),
    })
}

fn decode_job(r: &Row) -> StoreResult<Job> {
    let id = JobId(from_db(col(r, 0, "jobs")?));
    let key = format!("jobs/{id}");
    let state: String = col(r, 3, &key)?;
    Ok(Job {
        id,
        campaign: CampaignId(from_db(col(r, 1, &key)?)),
        zone: col(r, 2, &key)?,
        state: serde_json::from_value(serde_json::Value::String(state)).map_err(|e| {
            StoreError::Corrupt {
                key: key.clone(),
                why: format!("state: {e}"),
            }
        })?,
        created_at: from_db(col(r, 4, &key)?),
        updated_at: from_db(col(r, 5, &key)?),
    })
}

pub(super) fn encode_json<T: Serialize>(v: &T) -> StoreResult<String> {
    // Our own plain-data types always serialise; this maps the impossible case anyway.
    serde_json::to_string(v).map_err(|e| StoreError::io("encode", e))
}

/// The serde name of a unit enum variant (`JobState::Running` → `running`).
pub(super) fn enum_name<T: Serialize>(v: &T) -> StoreResult<String> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        Ok(other) => Err(StoreError::io_failed(format!(
            "encode: {other} is not a name"
        ))),
        Err(e) => Err(StoreError::io("encode", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_their_bits_and_times_saturate() {
        for v in [0, 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX] {
            assert_eq!(from_db(to_db(v)), v);
        }
        assert_eq!(to_db_time(5), 5);
        assert_eq!(to_db_time(u64::MAX), i64::MAX);
        assert!(to_db_time(u64::MAX) > to_db_time(i64::MAX as u64 - 1));
    }

    #[test]
    fn job_states_are_stored_by_their_names() {
        use crate::storage::JobState;
        assert_eq!(enum_name(&JobState::Running).expect("name"), "running");
        assert!(enum_name(&Job {
            id: JobId(1),
            campaign: CampaignId(1),
            zone: String::new(),
            state: JobState::Created,
            created_at: 0,
            updated_at: 0,
        })
        .is_err());
    }

    #[test]
    fn an_unreachable_server_or_a_bad_url_is_an_error_not_a_panic() {
        // Port 1 on loopback: refused at once.
        let opts = PgOptions {
            workers: 2,
            call_timeout: Duration::from_secs(10),
            ..PgOptions::default()
        };
        let url = "host=127.0.0.1 port=1 user=outdial dbname=outdial connect_timeout=2";
        match PgStore::connect_with(url, "n1", opts) {
            Err(StoreError::Io { what, .. }) => assert!(what.starts_with("postgres:"), "{what}"),
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("connected to port 1"),
        }
        assert!(matches!(
            PgStore::connect("port=notanumber", "n1"),
            Err(StoreError::Io { .. })
        ));
    }

    #[test]
    fn connecting_from_inside_an_async_runtime_does_not_panic() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let r = rt.block_on(async {
            PgStore::connect(
                "host=127.0.0.1 port=1 user=x dbname=x connect_timeout=2",
                "n1",
            )
            .map(drop)
        });
        assert!(matches!(r, Err(StoreError::Io { .. })), "{r:?}");
    }
}
