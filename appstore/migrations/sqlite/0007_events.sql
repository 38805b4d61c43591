-- Change events, written in the transaction of each change; seq comes from the
-- single-row counter at the end of the writing transaction (SQLite has one writer
-- at a time, so seq order is commit order).
CREATE TABLE events (
    seq       INTEGER PRIMARY KEY,
    id        TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    type      TEXT NOT NULL,
    at        BIGINT NOT NULL,
    body      TEXT NOT NULL
);
CREATE INDEX events_tenant ON events (tenant_id, seq);

CREATE TABLE event_counter (
    id       INTEGER PRIMARY KEY,
    last_seq BIGINT NOT NULL
);
INSERT INTO event_counter (id, last_seq) VALUES (1, 0);

-- Cursors and horizons of the feed's consumers: 'pruned' (every seq up to it was
-- removed by retention) and 'fanout' (every seq up to it was queued for webhooks).
CREATE TABLE event_marks (
    name TEXT PRIMARY KEY,
    seq  BIGINT NOT NULL
);
INSERT INTO event_marks (name, seq) VALUES ('pruned', 0), ('fanout', 0);

CREATE TABLE webhook_endpoints (
    id               TEXT PRIMARY KEY,
    url              TEXT NOT NULL,
    tenants          TEXT NOT NULL DEFAULT '[]',
    types            TEXT NOT NULL DEFAULT '[]',
    enabled          BOOLEAN NOT NULL DEFAULT TRUE,
    secret_enc       TEXT NOT NULL,
    old_secret_enc   TEXT NOT NULL DEFAULT '',
    old_secret_until BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id  TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    tenant_id    TEXT NOT NULL,
    event_seq    BIGINT NOT NULL,
    event_id     TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    payload      TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt BIGINT NOT NULL,
    lease_until  BIGINT NOT NULL DEFAULT 0,
    last_code    INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX webhook_deliveries_lane ON webhook_deliveries (endpoint_id, tenant_id, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
