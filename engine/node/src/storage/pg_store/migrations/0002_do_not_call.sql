-- outdial schema 2: the cluster's shared do-not-call list. Every node's rule engine reads the
-- rows added after the last one it has (`seq`), so a number added through any node's API is
-- blocked by all of them.

CREATE TABLE do_not_call (
    number TEXT   PRIMARY KEY,
    seq    BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
);
