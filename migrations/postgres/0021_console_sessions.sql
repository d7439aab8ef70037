-- Admin-center sessions, shared by every process on the database and kept across restarts.
-- A session is found by the SHA-256 of its id (the cookie's value, never stored), like a
-- token by its secret's hash. expires_at (Unix milliseconds) is when it ends unless used; a
-- token's sessions go with the token.

CREATE TABLE console_sessions (
    id_hash    TEXT PRIMARY KEY,
    token_id   BIGINT NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    flash      TEXT,
    created    TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_by_token ON console_sessions (token_id, expires_at);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
