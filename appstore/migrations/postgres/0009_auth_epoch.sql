-- Okta's existence check by an expression only this index serves: on a freshly loaded
-- table without statistics the planner otherwise picks any (tenant_id, ...) index and
-- scans the tenant's users for the name.
CREATE INDEX users_lookup ON users ((tenant_id || '/' || user_name_key)) WHERE deleted_at IS NULL;

-- The credential cache of every server sharing the database is valid while this number
-- stays the same; any change to a credential's secret, status or slot, and to a tenant,
-- moves it in the same transaction (last_used_at bookkeeping does not).
CREATE TABLE auth_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO auth_epoch (id, n) VALUES (1, 0);

CREATE FUNCTION bump_auth_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER credentials_auth_epoch AFTER INSERT OR DELETE OR UPDATE OF tenant_id, kind, status, prefix, username, secret_hash ON credentials
    FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER tenants_auth_epoch AFTER INSERT OR DELETE OR UPDATE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
