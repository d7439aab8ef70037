-- A tenant's stored HR sources: a name, the column map its exports are read through (the
-- JSON as given, checked when added), and the valve (`10%` or `25`) a sync of it runs with,
-- so that `POST /Admin/Import?mode=sync&source=NAME` needs only the file.

CREATE TABLE import_sources (
    tenant_id      BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    column_map     TEXT NOT NULL,
    max_deactivate TEXT NOT NULL,
    created        TEXT NOT NULL,
    updated        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
