-- The display a client gave a member, kept with the membership; rendered in place of the
-- member's own name when set (RFC 7643 §2.4: display is immutable, set by the client).

ALTER TABLE members ADD COLUMN display TEXT;
