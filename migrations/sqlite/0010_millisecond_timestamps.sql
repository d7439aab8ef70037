-- Resource timestamps to the millisecond, as they are rendered (`meta.created`,
-- `meta.lastModified`): stored values were finer, so a filter on a value a client had read
-- (`meta.lastModified le "…"`) missed the very resource it came from. The text form keeps its
-- fixed width (YYYY-MM-DDTHH:MM:SS.ffffffZ), so text order stays time order.
UPDATE resources
SET created = substr(created, 1, 23) || '000Z',
    last_modified = substr(last_modified, 1, 23) || '000Z'
WHERE substr(created, 24, 3) <> '000' OR substr(last_modified, 24, 3) <> '000';
