-- The reconciliation worker's state. app_rev counts writes made in the app (not by SCIM
-- and not by the worker); synced_rev is the app_rev the worker last synchronised, so a
-- user needs syncing when app_rev > synced_rev. New users start at -1 so each one is
-- looked at once, whoever created it.
ALTER TABLE users ADD COLUMN app_rev BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN synced_rev BIGINT NOT NULL DEFAULT -1;
CREATE INDEX users_sync_dirty ON users (tenant_id, id) WHERE app_rev > synced_rev AND deleted_at IS NULL;
CREATE INDEX users_linked ON users (tenant_id, id) WHERE okta_user_id IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE okta_connections (
    tenant_id  TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    org_url    TEXT NOT NULL,
    app_id     TEXT NOT NULL,
    token_enc  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE sync_state (
    user_id      TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    okta_user_id TEXT NOT NULL DEFAULT '',
    snapshot     TEXT NOT NULL DEFAULT '{}',
    okta_status  TEXT NOT NULL DEFAULT '',
    last_error   TEXT NOT NULL DEFAULT '',
    unmatched    BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX sync_state_tenant ON sync_state (tenant_id, user_id);

CREATE TABLE sync_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT NOT NULL,
    run_trigger TEXT NOT NULL,
    mode        TEXT NOT NULL,
    dry_run     BOOLEAN NOT NULL DEFAULT FALSE,
    status      TEXT NOT NULL,
    processed   BIGINT NOT NULL DEFAULT 0,
    total       BIGINT NOT NULL DEFAULT 0,
    counts      TEXT NOT NULL DEFAULT '{}',
    error       TEXT NOT NULL DEFAULT '',
    started_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX sync_runs_tenant ON sync_runs (tenant_id, id);

CREATE TABLE sync_run_errors (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id    BIGINT NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL DEFAULT '',
    user_name TEXT NOT NULL DEFAULT '',
    action    TEXT NOT NULL DEFAULT '',
    message   TEXT NOT NULL,
    at        BIGINT NOT NULL
);
CREATE INDEX sync_run_errors_run ON sync_run_errors (run_id, id);
