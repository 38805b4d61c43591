-- The display a SCIM client sent for a member (Okta sends the member's login), kept with
-- the membership; '' when none was sent, and the member's own name is shown instead.
ALTER TABLE group_members ADD COLUMN display TEXT NOT NULL DEFAULT '';

-- Entra's existence check `externalId eq "…"` is answered from these, through a
-- condition on the key alone: no other index matches it, so the index is the plan even
-- while the planner has no statistics (a table bulk-loaded after the migration), when
-- the indexes built on the empty table all look alike. Tenant ids contain no '/'.
CREATE INDEX users_external_key ON users ((tenant_id || '/' || external_id), created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX groups_external_key ON groups ((tenant_id || '/' || external_id), created_at, id);
