-- Which top-level attributes app writes changed since the last sync, as a JSON array of
-- names (userName, active, name, emails, title, extension URNs...). NULL means unknown
-- (rows older than this column): every attribute counts as changed. The worker pushes
-- to Okta only what the app changed, never values that arrived through SCIM.
ALTER TABLE users ADD COLUMN app_changed TEXT;
