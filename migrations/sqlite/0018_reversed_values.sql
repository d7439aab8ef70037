-- userName and the indexed multi-valued values also stored reversed (by code point, after
-- folding), so `ew` is a prefix match of the reversed text: a range search on an index
-- instead of a scan. scimd fills them on every write; rows written before are filled here
-- (SQLite has no reverse(): a recursive step per character).

ALTER TABLE resources ADD COLUMN user_name_rev TEXT;
ALTER TABLE resource_values ADD COLUMN value_rev TEXT;

UPDATE resources SET user_name_rev = (
    WITH RECURSIVE step(rest, acc) AS (
        SELECT resources.user_name_fold, ''
        UNION ALL
        SELECT substr(rest, 2), substr(rest, 1, 1) || acc FROM step WHERE rest <> ''
    )
    SELECT acc FROM step WHERE rest = ''
) WHERE user_name_fold IS NOT NULL;

UPDATE resource_values SET value_rev = (
    WITH RECURSIVE step(rest, acc) AS (
        SELECT resource_values.value_fold, ''
        UNION ALL
        SELECT substr(rest, 2), substr(rest, 1, 1) || acc FROM step WHERE rest <> ''
    )
    SELECT acc FROM step WHERE rest = ''
);

CREATE INDEX resources_user_name_rev ON resources (tenant_id, user_name_rev)
    WHERE kind = 'User' AND deleted_at IS NULL;
CREATE INDEX resource_values_suffix ON resource_values (attr, value_rev, resource_seq);
