-- The SCIM request log: one row per request to /scim/v2, written in batches off the
-- request path and pruned after the retention period. tenant_id is '' when no
-- credential told the tenant (a 401). Bodies are stored redacted and capped.
CREATE TABLE scim_requests (
    id                 BIGSERIAL PRIMARY KEY,
    at                 BIGINT NOT NULL,
    tenant_id          TEXT NOT NULL DEFAULT '',
    credential_id      TEXT NOT NULL DEFAULT '',
    method             TEXT NOT NULL,
    path               TEXT NOT NULL,
    status             INTEGER NOT NULL,
    duration_us        BIGINT NOT NULL,
    user_agent         TEXT NOT NULL DEFAULT '',
    request_id         TEXT NOT NULL DEFAULT '',
    scim_type          TEXT NOT NULL DEFAULT '',
    detail             TEXT NOT NULL DEFAULT '',
    request_body       TEXT NOT NULL DEFAULT '',
    request_truncated  BOOLEAN NOT NULL DEFAULT FALSE,
    response_body      TEXT NOT NULL DEFAULT '',
    response_truncated BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX scim_requests_tenant ON scim_requests (tenant_id, id);
CREATE INDEX scim_requests_at ON scim_requests (at);
