-- Keys of the vendor API (/api/v1): only the SHA-256 of each key is stored (and found),
-- with a short non-secret prefix that shows it in listings.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL DEFAULT '',
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE UNIQUE INDEX api_keys_prefix ON api_keys (prefix);
CREATE UNIQUE INDEX api_keys_secret_hash ON api_keys (secret_hash);

-- The SCIM client (okta, entra, other) that created a user, told by its User-Agent.
ALTER TABLE users ADD COLUMN source_client TEXT NOT NULL DEFAULT '';

