//! A worker's connection: it applies the schema migrations, then prepares every statement the
//! store runs. The SQL lives here, one constant per statement, parameters cast explicitly.

use postgres::{Client, NoTls, Statement};

use crate::storage::{StoreError, StoreResult};

/// The schema, in order. A version is applied once, in one transaction, and recorded in
/// `schema_migrations`; never edit a shipped one, add the next.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_init.sql")),
    (2, include_str!("migrations/0002_do_not_call.sql")),
    (3, include_str!("migrations/0003_number_history.sql")),
    (4, include_str!("migrations/0004_access.sql")),
];

/// Serialises migrations across nodes starting at once (`pg_advisory_xact_lock` key:
/// "outdial" in ASCII, then 1).
const MIGRATION_LOCK: i64 = 0x6f75_7464_6961_6c01;

/// One open connection and its prepared statements.
pub(super) struct Conn {
    pub(super) client: Client,
    pub(super) st: Statements,
}

impl Conn {
    /// Connects, brings the schema up to date, prepares the statements.
    pub(super) fn open(config: &postgres::Config) -> StoreResult<Conn> {
        let mut client = config.connect(NoTls).map_err(pg_err)?;
        migrate(&mut client)?;
        let st = Statements::prepare(&mut client).map_err(pg_err)?;
        Ok(Conn { client, st })
    }
}

/// Applies the migrations this database lacks; returns how many it applied.
fn migrate(client: &mut Client) -> StoreResult<usize> {
    let mut applied = 0;
    for &(version, sql) in MIGRATIONS {
        let mut tx = client.transaction().map_err(pg_err)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1::bigint)",
            &[&MIGRATION_LOCK],
        )
        .map_err(pg_err)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    BIGINT      PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
             )",
        )
        .map_err(pg_err)?;
        let done = tx
            .query_opt(
                "SELECT 1 FROM schema_migrations WHERE version = $1::bigint",
                &[&version],
            )
            .map_err(pg_err)?
            .is_some();
        if !done {
            tx.batch_execute(sql).map_err(|e| StoreError::Io {
                what: format!("migration {version}: {}", describe(&e)),
                source: Some(std::sync::Arc::new(e)),
            })?;
            tx.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1::bigint)",
                &[&version],
            )
            .map_err(pg_err)?;
            applied += 1;
        }
        tx.commit().map_err(pg_err)?;
    }
    if applied > 0 {
        tracing::info!(applied, "postgres schema migrated");
    }
    Ok(applied)
}

/// A postgres error as the store reports it, with the server's SQLSTATE when it sent one.
pub(super) fn pg_err(e: postgres::Error) -> StoreError {
    StoreError::Io {
        what: describe(&e),
        source: Some(std::sync::Arc::new(e)),
    }
}

fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("postgres: {db} (SQLSTATE {})", db.code().code());
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("postgres: {e}: {cause}"),
        None => format!("postgres: {e}"),
    }
}

macro_rules! statements {
    ($($(#[$m:meta])* $name:ident = $sql:expr;)*) => {
        /// Every statement the store runs, prepared once per connection.
        pub(super) struct Statements {
            $($(#[$m])* pub(super) $name: Statement,)*
        }

        impl Statements {
            fn prepare(client: &mut Client) -> Result<Statements, postgres::Error> {
                Ok(Statements { $($name: client.prepare($sql)?,)* })
            }
        }
    };
}

statements! {
    /// Holds the lease row (shared) until the batch commits, so a takeover waits for it.
    fence = "SELECT 1 FROM leases
             WHERE name = $1::text AND node = $2::text AND epoch = $3::bigint FOR SHARE";
    put_campaigns = "INSERT INTO campaigns (id, name, spec, created_at)
             SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::bigint[])
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, spec = EXCLUDED.spec,
                 created_at = EXCLUDED.created_at";
    put_jobs = "INSERT INTO jobs (id, campaign, zone, state, created_at, updated_at)
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[],
                                  $5::bigint[], $6::bigint[])
             ON CONFLICT (id) DO UPDATE SET campaign = EXCLUDED.campaign, zone = EXCLUDED.zone,
                 state = EXCLUDED.state, created_at = EXCLUDED.created_at,
                 updated_at = EXCLUDED.updated_at";
    /// A contact write clears any claim on it.
    put_contacts = "INSERT INTO contacts (job, id, state, not_before, body)
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[])
             ON CONFLICT (job, id) DO UPDATE SET state = EXCLUDED.state,
                 not_before = EXCLUDED.not_before, body = EXCLUDED.body,
                 claimed_by = NULL, claim_until = NULL";
    put_attempts = "INSERT INTO attempts (job, id, transient, body)
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bool[], $4::text[])
             ON CONFLICT (job, id) DO UPDATE SET transient = EXCLUDED.transient,
                 body = EXCLUDED.body";
    /// A number's history, locked until the batch commits.
    lock_number = "SELECT body FROM number_history WHERE number = $1::text FOR UPDATE";
    put_number = "INSERT INTO number_history (number, body) VALUES ($1::text, $2::text)
             ON CONFLICT (number) DO UPDATE SET body = EXCLUDED.body";
    number_history = "SELECT body FROM number_history WHERE number = $1::text";
    put_zone_owners = "INSERT INTO zone_owners (zone, node, epoch, since)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[])
             ON CONFLICT (zone) DO UPDATE SET node = EXCLUDED.node, epoch = EXCLUDED.epoch,
                 since = EXCLUDED.since";
    add_counts = "INSERT INTO contact_counts (job, node, total, ready, in_flight, final_)
             SELECT t.job, $1::text, t.total, t.ready, t.in_flight, t.final_
             FROM UNNEST($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
                 AS t(job, total, ready, in_flight, final_)
             ON CONFLICT (job, node) DO UPDATE SET
                 total = contact_counts.total + EXCLUDED.total,
                 ready = contact_counts.ready + EXCLUDED.ready,
                 in_flight = contact_counts.in_flight + EXCLUDED.in_flight,
                 final_ = contact_counts.final_ + EXCLUDED.final_";

    campaign = "SELECT id, name, spec, created_at FROM campaigns WHERE id = $1::bigint";
    campaigns = "SELECT id, name, spec, created_at FROM campaigns ORDER BY id";
    job = "SELECT id, campaign, zone, state, created_at, updated_at FROM jobs
             WHERE id = $1::bigint";
    jobs = "SELECT id, campaign, zone, state, created_at, updated_at FROM jobs ORDER BY id";
    contact = "SELECT body FROM contacts WHERE job = $1::bigint AND id = $2::bigint";
    /// Claims up to $4 due contacts of job $1 for node $3 for $5 seconds (database clock),
    /// skipping rows another transaction holds: two nodes never get the same contact.
    claim_due = "WITH t AS (SELECT clock_timestamp() AS now),
             picked AS (
                 SELECT c.job, c.id FROM contacts c, t
                 WHERE c.job = $1::bigint AND c.state = 'ready' AND c.not_before <= $2::bigint
                   AND (c.claimed_by IS NULL OR c.claimed_by = $3::text OR c.claim_until < t.now)
                 ORDER BY c.not_before, c.id
                 LIMIT $4::bigint
                 FOR UPDATE OF c SKIP LOCKED)
             UPDATE contacts c SET claimed_by = $3::text,
                 claim_until = (SELECT now FROM t) + $5::float8 * interval '1 second'
             FROM picked WHERE c.job = picked.job AND c.id = picked.id
             RETURNING c.body";
    release_claims = "UPDATE contacts SET claimed_by = NULL, claim_until = NULL
             WHERE job = $1::bigint AND claimed_by = $2::text";
    /// Every other node's claims on job $1's contacts, given up for node $2.
    take_claims = "UPDATE contacts SET claimed_by = NULL, claim_until = NULL
             WHERE job = $1::bigint AND claimed_by IS NOT NULL AND claimed_by <> $2::text";
    next_due = "SELECT body FROM contacts WHERE job = $1::bigint AND state = 'ready'
             ORDER BY not_before, id LIMIT 1";
    counts = "SELECT COALESCE(SUM(total), 0)::bigint, COALESCE(SUM(ready), 0)::bigint,
                     COALESCE(SUM(in_flight), 0)::bigint, COALESCE(SUM(final_), 0)::bigint
             FROM contact_counts WHERE job = $1::bigint";
    attempts = "SELECT body FROM attempts WHERE job = $1::bigint ORDER BY id";
    transient_attempts = "SELECT body FROM attempts WHERE transient ORDER BY id, job";
    zone_owner = "SELECT zone, node, epoch, since FROM zone_owners WHERE zone = $1::text";
    /// Returns the first id of a block of $2 (ids start at 1).
    allocate_ids = "INSERT INTO id_counters (kind, next) VALUES ($1::text, 1 + $2::bigint)
             ON CONFLICT (kind) DO UPDATE SET next = id_counters.next + $2::bigint
             RETURNING next - $2::bigint";
    /// Keyset pages of a job's contacts in id order, from id $2 on.
    contacts_page = "SELECT body FROM contacts WHERE job = $1::bigint AND id >= $2::bigint
             ORDER BY id LIMIT $3::bigint";

    acquire = "INSERT INTO leases AS l (name, node, epoch, expires_at)
             VALUES ($1::text, $2::text, 1, clock_timestamp() + $3::float8 * interval '1 second')
             ON CONFLICT (name) DO UPDATE SET node = EXCLUDED.node, epoch = l.epoch + 1,
                 expires_at = EXCLUDED.expires_at
             WHERE l.node IS NULL OR l.expires_at <= clock_timestamp()
                OR l.node = EXCLUDED.node OR l.node = ANY($4::text[])
             RETURNING epoch";
    renew = "UPDATE leases SET expires_at = clock_timestamp() + $4::float8 * interval '1 second'
             WHERE name = $1::text AND node = $2::text AND epoch = $3::bigint";
    release = "UPDATE leases SET node = NULL, expires_at = '-infinity'
             WHERE name = $1::text AND node = $2::text AND epoch = $3::bigint";
    leases = "WITH t AS (SELECT clock_timestamp() AS now)
             SELECT l.name, l.node, l.epoch,
                    CASE WHEN l.node IS NULL OR l.expires_at <= t.now THEN 0::bigint
                         ELSE CEIL(EXTRACT(EPOCH FROM (l.expires_at - t.now)) * 1000)::bigint
                    END
             FROM leases l, t ORDER BY l.name";
    heartbeat = "INSERT INTO nodes (node, api, state, seen_at)
             VALUES ($1::text, $2::text, $3::text, clock_timestamp())
             ON CONFLICT (node) DO UPDATE SET api = EXCLUDED.api, state = EXCLUDED.state,
                 seen_at = EXCLUDED.seen_at";
    nodes = "WITH t AS (SELECT clock_timestamp() AS now)
             SELECT n.node, n.api, n.state,
                    GREATEST(0, FLOOR(EXTRACT(EPOCH FROM (t.now - n.seen_at)) * 1000))::bigint
             FROM nodes n, t ORDER BY n.node";
    add_dnc = "INSERT INTO do_not_call (number) SELECT * FROM UNNEST($1::text[])
             ON CONFLICT (number) DO NOTHING";
    /// The numbers added after row $1, oldest first.
    dnc_since = "SELECT number, seq FROM do_not_call WHERE seq > $1::bigint ORDER BY seq";
    seed_assignment = "INSERT INTO assignments (zone, node, preferred, updated_at)
             VALUES ($1::text, $2::text, NULL,
                     (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint)
             ON CONFLICT (zone) DO NOTHING";
    assign = "INSERT INTO assignments (zone, node, preferred, updated_at)
             VALUES ($1::text, $2::text, NULL,
                     (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint)
             ON CONFLICT (zone) DO UPDATE SET node = EXCLUDED.node,
                 updated_at = EXCLUDED.updated_at";
    prefer = "INSERT INTO assignments (zone, node, preferred, updated_at)
             VALUES ($1::text, $2::text, $2::text,
                     (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint)
             ON CONFLICT (zone) DO UPDATE SET preferred = EXCLUDED.preferred,
                 updated_at = EXCLUDED.updated_at";
    assignments = "SELECT zone, node, preferred, updated_at FROM assignments ORDER BY zone";

    put_user = "INSERT INTO users (name, body) VALUES ($1::text, $2::text)
             ON CONFLICT (name) DO UPDATE SET body = EXCLUDED.body";
    user = "SELECT body FROM users WHERE name = $1::text";
    users = "SELECT body FROM users ORDER BY name";
    remove_user = "DELETE FROM users WHERE name = $1::text";
    insert_token = "INSERT INTO api_tokens (id, body) VALUES ($1::text, $2::text)
             ON CONFLICT (id) DO NOTHING";
    /// The first revocation's time is kept.
    revoke_token = "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2::bigint)
             WHERE id = $1::text";
    tokens = "SELECT body, revoked_at FROM api_tokens ORDER BY id";
    append_audit = "INSERT INTO audit_log (body) VALUES ($1::text) RETURNING seq";
    audit = "SELECT body, seq FROM audit_log WHERE seq > $1::bigint ORDER BY seq LIMIT $2::bigint";
}
