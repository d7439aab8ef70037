-- Lookups name the tenant, the resource type and one attribute. Indexes on exactly those
-- columns are chosen by the planner even before the table has statistics, where a shorter
-- index (on id alone) could lose to a longer one that matches only tenant and type.

DROP INDEX resources_user_name;
CREATE UNIQUE INDEX resources_user_name ON resources (tenant_id, kind, user_name_fold)
    WHERE kind = 'User' AND deleted_at IS NULL;
CREATE INDEX resources_id ON resources (tenant_id, kind, id) WHERE deleted_at IS NULL;
