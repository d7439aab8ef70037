-- Token ids are never handed out twice: with a plain INTEGER PRIMARY KEY, SQLite gives the
-- next token the id of the last one deleted (a removed tenant's), so logs and scripts naming a
-- token would point at another. AUTOINCREMENT keeps a high-water mark. No table refers to
-- tokens, so the table is rebuilt in place.
CREATE TABLE tokens_autoincrement (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,
    created     TEXT NOT NULL,
    expires     TEXT,
    last_used   TEXT,
    revoked     TEXT,
    rate_limit  INTEGER
);
INSERT INTO tokens_autoincrement (id, tenant_id, name, secret_hash, scopes, created, expires, last_used, revoked, rate_limit)
    SELECT id, tenant_id, name, secret_hash, scopes, created, expires, last_used, revoked, rate_limit FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_autoincrement RENAME TO tokens;
