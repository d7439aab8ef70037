-- Values every scimd process sharing this database must agree on, such as the key that
-- makes paging cursors tamper-evident.

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
