CREATE TABLE tenants (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    provisioning_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    settings             TEXT NOT NULL DEFAULT '{}',
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);

CREATE TABLE tenant_attributes (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    type         TEXT NOT NULL,
    multi_valued BOOLEAN NOT NULL DEFAULT FALSE,
    description  TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name_key)
);

CREATE TABLE users (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_name         TEXT NOT NULL,
    user_name_key     TEXT NOT NULL,
    external_id       TEXT,
    active            BOOLEAN NOT NULL,
    display_name      TEXT NOT NULL DEFAULT '',
    email             TEXT NOT NULL DEFAULT '',
    attrs             JSONB NOT NULL,
    source            TEXT NOT NULL,
    source_credential TEXT NOT NULL DEFAULT '',
    okta_user_id      TEXT,
    version           BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    deleted_at        BIGINT
);
CREATE UNIQUE INDEX users_user_name_key ON users (tenant_id, user_name_key) WHERE deleted_at IS NULL;
CREATE INDEX users_created ON users (tenant_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX users_external_id ON users (tenant_id, external_id) WHERE deleted_at IS NULL;
CREATE INDEX users_okta_user_id ON users (tenant_id, okta_user_id) WHERE deleted_at IS NULL;

CREATE TABLE groups (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    display_name      TEXT NOT NULL,
    display_name_key  TEXT NOT NULL,
    external_id       TEXT,
    source            TEXT NOT NULL,
    source_credential TEXT NOT NULL DEFAULT '',
    version           BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE UNIQUE INDEX groups_display_name_key ON groups (tenant_id, display_name_key);
CREATE INDEX groups_created ON groups (tenant_id, created_at, id);

CREATE TABLE group_members (
    group_id    TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    member_id   TEXT NOT NULL,
    member_type TEXT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_members_member ON group_members (member_id);

CREATE TABLE credentials (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    slot         INTEGER,
    status       TEXT NOT NULL,
    prefix       TEXT NOT NULL DEFAULT '',
    username     TEXT NOT NULL DEFAULT '',
    secret_hash  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE UNIQUE INDEX credentials_slot ON credentials (tenant_id, kind, slot);
CREATE UNIQUE INDEX credentials_prefix ON credentials (prefix) WHERE kind = 'bearer';
CREATE UNIQUE INDEX credentials_username ON credentials (username) WHERE kind = 'basic';

CREATE TABLE audit_events (
    id            BIGSERIAL PRIMARY KEY,
    at            BIGINT NOT NULL,
    tenant_id     TEXT NOT NULL,
    actor         TEXT NOT NULL,
    operation     TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    changes       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, id);
CREATE INDEX audit_events_resource ON audit_events (resource_id, id);

CREATE TABLE mail_queue (
    id           BIGSERIAL PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    subject      TEXT NOT NULL,
    body         TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt BIGINT NOT NULL,
    last_error   TEXT NOT NULL DEFAULT '',
    sent_at      BIGINT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX mail_queue_due ON mail_queue (next_attempt) WHERE sent_at IS NULL;
