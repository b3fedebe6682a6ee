-- outdial schema 1: the engine's records (what `Store` persists) and the cluster's
-- coordination (what `Coordination` agrees on). Ids and times are BIGINT: a u64 is stored
-- as the i64 with the same bits, so ids read back exactly (and sort numerically below 2^63).

CREATE TABLE campaigns (
    id         BIGINT PRIMARY KEY,
    name       TEXT   NOT NULL,
    -- The definition as the user gave it (JSON of campaign::CampaignSpec).
    spec       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE jobs (
    id         BIGINT PRIMARY KEY,
    campaign   BIGINT NOT NULL,
    zone       TEXT   NOT NULL,
    -- JobState in kebab-case: created, running, paused, stopped, finished.
    state      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Contacts: `body` is the whole record (JSON of domain::Contact), the one read back; `state`
-- and `not_before` repeat what queries select on. Claims (`claimed_by` until `claim_until`,
-- by the database clock) keep two nodes from dialing one contact; a contact write clears them.
CREATE TABLE contacts (
    job         BIGINT NOT NULL,
    id          BIGINT NOT NULL,
    state       TEXT   NOT NULL CHECK (state IN ('ready', 'in-flight', 'final')),
    -- Set iff state = 'ready' (saturated at 2^63-1).
    not_before  BIGINT CHECK ((state = 'ready') = (not_before IS NOT NULL)),
    body        TEXT   NOT NULL,
    claimed_by  TEXT,
    claim_until TIMESTAMPTZ,
    PRIMARY KEY (job, id)
) WITH (fillfactor = 90);

-- The Ready index, oldest due first.
CREATE INDEX contacts_ready ON contacts (job, not_before, id) WHERE state = 'ready';

-- Contact counters as deltas, one row per job and writing node (so nodes never queue on one
-- hot row); a job's counts are the sums, floored at 0.
CREATE TABLE contact_counts (
    job       BIGINT NOT NULL,
    node      TEXT   NOT NULL,
    total     BIGINT NOT NULL,
    ready     BIGINT NOT NULL,
    in_flight BIGINT NOT NULL,
    final_    BIGINT NOT NULL,
    PRIMARY KEY (job, node)
);

-- Attempts: `body` is JSON of domain::Attempt; `transient` = not Completed.
CREATE TABLE attempts (
    job       BIGINT  NOT NULL,
    id        BIGINT  NOT NULL,
    transient BOOLEAN NOT NULL,
    body      TEXT    NOT NULL,
    PRIMARY KEY (job, id)
);

CREATE INDEX attempts_transient ON attempts (id, job) WHERE transient;

CREATE TABLE zone_owners (
    zone  TEXT   PRIMARY KEY,
    node  TEXT   NOT NULL,
    epoch BIGINT NOT NULL,
    since BIGINT NOT NULL
);

-- allocate_ids: the next id to hand out per kind.
CREATE TABLE id_counters (
    kind TEXT   PRIMARY KEY,
    next BIGINT NOT NULL
);

-- Leases with fencing epochs; `node` NULL and `expires_at` -infinity once released.
CREATE TABLE leases (
    name       TEXT        PRIMARY KEY,
    node       TEXT,
    epoch      BIGINT      NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- Heartbeats, stamped by the database clock.
CREATE TABLE nodes (
    node    TEXT        PRIMARY KEY,
    api     TEXT        NOT NULL,
    state   TEXT        NOT NULL,
    seen_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE assignments (
    zone       TEXT   PRIMARY KEY,
    node       TEXT   NOT NULL,
    preferred  TEXT,
    -- Unix ms by the database clock.
    updated_at BIGINT NOT NULL
);
