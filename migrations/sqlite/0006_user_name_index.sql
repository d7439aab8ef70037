-- The partial unique index already implies kind = 'User', and PostgreSQL then leaves kind out
-- of the index condition: with kind as the middle column it scanned every user of the tenant.
-- Back to (tenant_id, user_name_fold), which both databases search directly.

DROP INDEX resources_user_name;
CREATE UNIQUE INDEX resources_user_name ON resources (tenant_id, user_name_fold)
    WHERE kind = 'User' AND deleted_at IS NULL;
