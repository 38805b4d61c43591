-- The credential cache of every process sharing the database is valid while this number
-- stays the same; any change to a credential's secret, status or slot, and to a tenant,
-- moves it in the same transaction (last_used_at bookkeeping does not).
CREATE TABLE auth_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO auth_epoch (id, n) VALUES (1, 0);

CREATE TRIGGER credentials_auth_epoch_ins AFTER INSERT ON credentials BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER credentials_auth_epoch_del AFTER DELETE ON credentials BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER credentials_auth_epoch_upd AFTER UPDATE OF tenant_id, kind, status, prefix, username, secret_hash ON credentials
    BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER tenants_auth_epoch_ins AFTER INSERT ON tenants BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER tenants_auth_epoch_del AFTER DELETE ON tenants BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER tenants_auth_epoch_upd AFTER UPDATE ON tenants BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;
