-- What a sync of an HR source last applied to each user: the hash of the row and the user's
-- version right after. A later sync whose row hashes the same, for a user still at that
-- version, knows the row changes nothing without computing its PATCH. Any other write moves
-- the version on, so the user's next row is compared in full again.

CREATE TABLE import_fingerprints (
    resource_seq BIGINT PRIMARY KEY REFERENCES resources(seq) ON DELETE CASCADE,
    source       TEXT NOT NULL,
    row_hash     TEXT NOT NULL,
    version      BIGINT NOT NULL
);
