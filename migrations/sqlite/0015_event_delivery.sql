-- SCIM events (RFC 9967) are read from the audit log: every committed write of a User, Group
-- or License has its line there, written in the write's transaction, so the log is the
-- outbox and nothing is written twice. These tables remember how far each receiver got.

-- Push subscriptions (RFC 8935): scimd POSTs each event, signed with `secret`, to `endpoint`.
-- `cursor` is the audit position of the last event delivered or given up on; a failing
-- event is retried (`attempts`, `retry_at`) before the next one is sent, so a receiver gets
-- every resource's events in commit order. `lease_until` keeps two scimd processes sharing
-- the database from delivering one subscription at once.
CREATE TABLE subscriptions (
    id            TEXT PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    endpoint      TEXT NOT NULL,
    event_types   TEXT NOT NULL,
    secret        TEXT NOT NULL,
    created       TEXT NOT NULL,
    cursor        INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    retry_at      TEXT,
    delivered     INTEGER NOT NULL DEFAULT 0,
    last_delivery TEXT,
    last_error    TEXT,
    last_error_at TEXT,
    lease_owner   TEXT,
    lease_until   TEXT
);
CREATE INDEX subscriptions_tenant ON subscriptions (tenant_id);

-- Events a subscription gave up on: refused by the receiver, or failing past the retries.
CREATE TABLE dead_letters (
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    event_seq       INTEGER NOT NULL,
    jti             TEXT NOT NULL,
    error           TEXT NOT NULL,
    at              TEXT NOT NULL,
    PRIMARY KEY (subscription_id, event_seq)
);

-- Poll streams (RFC 8936), one per token that polls: events after `cursor` are pending
-- unless their position is in `acked` (a JSON array, the acknowledgements ahead of the
-- cursor, which moves over them once nothing before them is pending).
CREATE TABLE poll_streams (
    token_id  INTEGER PRIMARY KEY REFERENCES tokens(id) ON DELETE CASCADE,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    cursor    INTEGER NOT NULL,
    acked     TEXT NOT NULL
);
