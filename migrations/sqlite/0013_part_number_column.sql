-- A License's partNumber in columns of its own: the user_name columns hold only a User's
-- userName, so neither can be mistaken for the other. Unique per tenant, compared folded.

ALTER TABLE resources ADD COLUMN part_number TEXT;
ALTER TABLE resources ADD COLUMN part_number_fold TEXT;

UPDATE resources
SET part_number = user_name, part_number_fold = user_name_fold, user_name = NULL, user_name_fold = NULL
WHERE kind = 'License';

DROP INDEX resources_part_number;
CREATE UNIQUE INDEX resources_part_number ON resources (tenant_id, part_number_fold)
    WHERE kind = 'License' AND deleted_at IS NULL;
