-- (PostgreSQL keeps its `resources_id`: there, migration 0005's reason still holds.)

-- A lookup by id on SQLite always takes the unique index on `id` alone (one row at most), so
-- `resources_id (tenant_id, kind, id)` was never read, and each create paid one more insert at a
-- random place for it.
DROP INDEX resources_id;
