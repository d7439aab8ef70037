-- The audit log: one row per committed write, inserted in the write's own transaction, so the
-- log holds exactly the changes that happened. `changes` is JSON text: the attributes a write
-- changed, before and after (never a password). Rows go when their tenant does, or when they
-- are older than the retention period.

CREATE TABLE audit_events (
    seq           BIGSERIAL PRIMARY KEY,
    tenant_id     BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    at            TEXT NOT NULL,
    token_id      BIGINT,
    actor         TEXT NOT NULL,
    request_id    TEXT,
    client        TEXT,
    operation     TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    changes       TEXT NOT NULL
);

-- Two indexes only, as every write pays for each: one resource's history, and the hourly
-- purge by age. Reads of a whole tenant's log walk the table in seq order.
CREATE INDEX audit_events_resource ON audit_events (tenant_id, resource_id, seq);
CREATE INDEX audit_events_at ON audit_events (at);
