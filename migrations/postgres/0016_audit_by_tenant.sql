-- Event delivery and polling read a tenant's audit lines after a position; without this index
-- a quiet tenant's reader would walk every other tenant's lines since its position, on each
-- round. Lines go in at the end of it: one more append per write.
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, seq);
