-- The display a SCIM client sent for a member (Okta sends the member's login), kept with
-- the membership; '' when none was sent, and the member's own name is shown instead.
ALTER TABLE group_members ADD COLUMN display TEXT NOT NULL DEFAULT '';
