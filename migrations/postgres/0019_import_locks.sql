-- A sync of an HR source holds its lock while it runs, so two runs of one source never
-- overlap, also from different machines on one PostgreSQL database. The expiry (milliseconds
-- since the Unix epoch) frees the lock of a run that was killed.

CREATE TABLE import_locks (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
