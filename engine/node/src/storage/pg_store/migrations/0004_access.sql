-- outdial schema 4: who may use the cluster's nodes, and what they did. Users and API tokens
-- are shared by every node (a token made through one node works on all of them); secrets are
-- never stored in the clear (argon2id for passwords, SHA-256 for token secrets). The audit log
-- records every state-changing API call, in order.

CREATE TABLE users (
    name TEXT PRIMARY KEY,
    body TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id         TEXT   PRIMARY KEY,
    body       TEXT   NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE audit_log (
    seq  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    body TEXT   NOT NULL
);
