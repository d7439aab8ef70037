-- Tenants, their tokens, resources (JSONB document plus promoted, indexed columns) and
-- group membership in its own table. Partial indexes skip soft-deleted rows, so a
-- deleted user holds no name and lookups never touch it. Timestamps are fixed-width
-- UTC text, as in the SQLite schema, so both stores share their queries.

CREATE TABLE tenants (
    id      BIGSERIAL PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
);

CREATE TABLE tokens (
    id          BIGSERIAL PRIMARY KEY,
    tenant_id   BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,
    created     TEXT NOT NULL,
    expires     TEXT,
    last_used   TEXT,
    revoked     TEXT
);

CREATE TABLE resources (
    -- Assigned once and never changed: the order of every list, so paging is stable.
    seq               BIGSERIAL PRIMARY KEY,
    id                TEXT NOT NULL UNIQUE,
    tenant_id         BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind              TEXT NOT NULL,
    user_name         TEXT,
    user_name_fold    TEXT,
    external_id       TEXT,
    display_name      TEXT,
    display_name_fold TEXT,
    doc               JSONB NOT NULL,
    password_hash     TEXT,
    version           BIGINT NOT NULL,
    created           TEXT NOT NULL,
    last_modified     TEXT NOT NULL,
    deleted_at        TEXT
);

CREATE UNIQUE INDEX resources_user_name ON resources (tenant_id, user_name_fold)
    WHERE kind = 'User' AND deleted_at IS NULL;
CREATE INDEX resources_list ON resources (tenant_id, kind, seq) WHERE deleted_at IS NULL;
CREATE INDEX resources_external_id ON resources (tenant_id, kind, external_id) WHERE deleted_at IS NULL;
CREATE INDEX resources_display_name ON resources (tenant_id, kind, display_name_fold) WHERE deleted_at IS NULL;
CREATE INDEX resources_doc ON resources USING GIN (doc jsonb_path_ops);

CREATE TABLE members (
    group_seq  BIGINT NOT NULL REFERENCES resources(seq) ON DELETE CASCADE,
    member_seq BIGINT NOT NULL REFERENCES resources(seq) ON DELETE CASCADE,
    PRIMARY KEY (group_seq, member_seq)
);

CREATE INDEX members_member ON members (member_seq);
