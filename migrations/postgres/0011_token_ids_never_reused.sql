-- Token ids are never handed out twice. PostgreSQL's BIGSERIAL never reuses a value already;
-- this migration keeps the numbering in step with SQLite's, which needed a rebuild.
SELECT 1;
