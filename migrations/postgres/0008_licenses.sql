-- Licenses (SKUs with seats) are resources of kind 'License'. Their part number lives in
-- the user_name columns, which hold the name that is unique in a tenant for every kind
-- that has one. seats and consumed are columns so that taking a seat is one guarded
-- UPDATE (consumed < seats) that concurrent writers cannot both pass.

ALTER TABLE resources ADD COLUMN seats BIGINT;
ALTER TABLE resources ADD COLUMN consumed BIGINT NOT NULL DEFAULT 0;

CREATE UNIQUE INDEX resources_part_number ON resources (tenant_id, user_name_fold)
    WHERE kind = 'License' AND deleted_at IS NULL;

-- Which live user holds a seat of which license: the truth consumed counts.
CREATE TABLE user_licenses (
    user_seq    BIGINT NOT NULL REFERENCES resources(seq) ON DELETE CASCADE,
    license_seq BIGINT NOT NULL REFERENCES resources(seq) ON DELETE CASCADE,
    PRIMARY KEY (user_seq, license_seq)
);

CREATE INDEX user_licenses_license ON user_licenses (license_seq);
