-- Setup links give a customer's administrator a short-lived URL to the tenant's pages;
-- a link with no tenant is a one-time sign-in to the vendor's console. Only the SHA-256
-- of each secret is stored.
CREATE TABLE setup_links (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT REFERENCES tenants(id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL,
    one_time    BOOLEAN NOT NULL DEFAULT FALSE,
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    revoked_at  BIGINT
);
CREATE UNIQUE INDEX setup_links_secret ON setup_links (secret_hash);
CREATE INDEX setup_links_tenant ON setup_links (tenant_id, created_at);

-- Server-side sessions of the web pages: scoped to one tenant, or to the console when
-- tenant_id is NULL. idle_until moves forward on use, never past expires_at.
CREATE TABLE web_sessions (
    id          TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    tenant_id   TEXT REFERENCES tenants(id) ON DELETE CASCADE,
    actor       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    seen_at     BIGINT NOT NULL,
    idle_until  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX web_sessions_secret ON web_sessions (secret_hash);
CREATE INDEX web_sessions_idle ON web_sessions (idle_until);
