-- The document as filters and sorting see it: every case-insensitive string case-folded
-- (full Unicode folding of NFC text), compared byte-wise, so "case-insensitive" means the
-- same on SQLite, on PostgreSQL and in the in-memory evaluator. Folding needs the schema, so
-- scimd fills the column for existing rows when it opens the database.

ALTER TABLE resources ADD COLUMN doc_fold TEXT;
