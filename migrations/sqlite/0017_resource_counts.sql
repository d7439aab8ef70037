-- How many resources each tenant holds, per kind, live and soft-deleted, so a list's
-- totalResults is a read of a few rows rather than a count of the whole tenant. Triggers keep
-- it in the transaction of every write: no write path can forget it. SQLite has one writer at
-- a time, so one row per tenant and kind (shard 0); PostgreSQL spreads writers over shards.

CREATE TABLE resource_counts (
    tenant_id INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    shard     INTEGER NOT NULL,
    live      INTEGER NOT NULL,
    deleted   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, kind, shard)
) WITHOUT ROWID;

INSERT INTO resource_counts (tenant_id, kind, shard, live, deleted)
SELECT tenant_id, kind, 0, sum(deleted_at IS NULL), sum(deleted_at IS NOT NULL)
FROM resources GROUP BY tenant_id, kind;

CREATE TRIGGER resources_count_insert AFTER INSERT ON resources BEGIN
    INSERT INTO resource_counts (tenant_id, kind, shard, live, deleted)
    VALUES (NEW.tenant_id, NEW.kind, 0, NEW.deleted_at IS NULL, NEW.deleted_at IS NOT NULL)
    ON CONFLICT (tenant_id, kind, shard)
    DO UPDATE SET live = live + excluded.live, deleted = deleted + excluded.deleted;
END;

CREATE TRIGGER resources_count_delete AFTER DELETE ON resources BEGIN
    INSERT INTO resource_counts (tenant_id, kind, shard, live, deleted)
    VALUES (OLD.tenant_id, OLD.kind, 0, -(OLD.deleted_at IS NULL), -(OLD.deleted_at IS NOT NULL))
    ON CONFLICT (tenant_id, kind, shard)
    DO UPDATE SET live = live + excluded.live, deleted = deleted + excluded.deleted;
END;

-- A soft delete or a restore; a resource never changes tenant or kind.
CREATE TRIGGER resources_count_update AFTER UPDATE OF deleted_at ON resources
WHEN (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) BEGIN
    INSERT INTO resource_counts (tenant_id, kind, shard, live, deleted)
    VALUES (NEW.tenant_id, NEW.kind, 0, (NEW.deleted_at IS NULL) - (OLD.deleted_at IS NULL),
            (NEW.deleted_at IS NOT NULL) - (OLD.deleted_at IS NOT NULL))
    ON CONFLICT (tenant_id, kind, shard)
    DO UPDATE SET live = live + excluded.live, deleted = deleted + excluded.deleted;
END;
