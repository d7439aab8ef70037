-- userName and the indexed multi-valued values also stored reversed (by code point, after
-- folding), so `ew` is a prefix match of the reversed text: a range search on an index
-- instead of a scan. scimd fills them on every write; rows written before are filled here.
-- Collation "C" compares code points, so a range holds exactly the texts with a prefix.

ALTER TABLE resources ADD COLUMN user_name_rev TEXT COLLATE "C";
ALTER TABLE resource_values ADD COLUMN value_rev TEXT COLLATE "C";

UPDATE resources SET user_name_rev = reverse(user_name_fold) WHERE user_name_fold IS NOT NULL;
UPDATE resource_values SET value_rev = reverse(value_fold);

CREATE INDEX resources_user_name_rev ON resources (tenant_id, user_name_rev)
    WHERE kind = 'User' AND deleted_at IS NULL;
CREATE INDEX resource_values_suffix ON resource_values (attr, value_rev, resource_seq);
