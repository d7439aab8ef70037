-- How many resources each tenant holds, per kind, live and soft-deleted, so a list's
-- totalResults is a read of a few rows rather than a count of the whole tenant. A trigger keeps
-- it in the transaction of every write: no write path can forget it. Concurrent writers of one
-- tenant would queue on a single row until their commits, so each connection adds to a shard
-- of its own (its backend pid modulo 16): a transaction locks one row per kind, and readers sum
-- the shards. A shard may go negative; only the sum means something.

CREATE TABLE resource_counts (
    tenant_id BIGINT NOT NULL,
    kind      TEXT NOT NULL,
    shard     INTEGER NOT NULL,
    live      BIGINT NOT NULL,
    deleted   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind, shard)
);

INSERT INTO resource_counts (tenant_id, kind, shard, live, deleted)
SELECT tenant_id, kind, 0, count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL)
FROM resources GROUP BY tenant_id, kind;

CREATE FUNCTION resources_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_live INTEGER := 0;
    was_deleted INTEGER := 0;
    is_live INTEGER := 0;
    is_deleted INTEGER := 0;
    of_tenant BIGINT;
    of_kind TEXT;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        of_tenant := OLD.tenant_id;
        of_kind := OLD.kind;
        was_live := (OLD.deleted_at IS NULL)::INTEGER;
        was_deleted := 1 - was_live;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        of_tenant := NEW.tenant_id;
        of_kind := NEW.kind;
        is_live := (NEW.deleted_at IS NULL)::INTEGER;
        is_deleted := 1 - is_live;
    END IF;
    INSERT INTO resource_counts AS c (tenant_id, kind, shard, live, deleted)
    VALUES (of_tenant, of_kind, pg_backend_pid() % 16, is_live - was_live, is_deleted - was_deleted)
    ON CONFLICT (tenant_id, kind, shard)
    DO UPDATE SET live = c.live + excluded.live, deleted = c.deleted + excluded.deleted;
    RETURN NULL;
END
$$;

CREATE TRIGGER resources_count AFTER INSERT OR DELETE ON resources
FOR EACH ROW EXECUTE FUNCTION resources_count();

-- A soft delete or a restore; a resource never changes tenant or kind.
CREATE TRIGGER resources_count_update AFTER UPDATE OF deleted_at ON resources
FOR EACH ROW WHEN ((OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL))
EXECUTE FUNCTION resources_count();
