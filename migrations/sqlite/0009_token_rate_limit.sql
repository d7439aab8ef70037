-- A token's own request rate (requests per second), overriding the server's --rate-limit;
-- NULL takes the server's.
ALTER TABLE tokens ADD COLUMN rate_limit INTEGER;
