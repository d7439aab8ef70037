-- Values of multi-valued attributes that are looked up by equality (emails.value), one row
-- each, case-folded, so `emails.value eq "…"` is an index search instead of a scan of every
-- document. Kept in step with the document by every write.

CREATE TABLE resource_values (
    resource_seq BIGINT NOT NULL REFERENCES resources(seq) ON DELETE CASCADE,
    attr         TEXT NOT NULL,
    value_fold   TEXT NOT NULL
);

CREATE INDEX resource_values_lookup ON resource_values (attr, value_fold);
CREATE INDEX resource_values_resource ON resource_values (resource_seq);

INSERT INTO resource_values (resource_seq, attr, value_fold)
SELECT r.seq, 'emails.value', lower(e.value ->> 'value')
FROM resources r, jsonb_array_elements(CASE WHEN jsonb_typeof(r.doc -> 'emails') = 'array' THEN r.doc -> 'emails' ELSE '[]'::jsonb END) e
WHERE e.value ->> 'value' IS NOT NULL;
