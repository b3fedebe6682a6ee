-- outdial schema 3: each number's recent attempts and outcomes, across jobs: what the law's
-- redial lock-outs and daily caps are judged on. `body` is JSON of
-- compliance::NumberHistory, rewritten under a row lock by every commit that dials or ends a
-- call to the number.

CREATE TABLE number_history (
    number TEXT PRIMARY KEY,
    body   TEXT NOT NULL
);
