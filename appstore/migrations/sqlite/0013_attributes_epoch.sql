-- A tenant's custom attributes are cached under the auth epoch too (a SCIM write reads
-- them for its schema), so any change to them moves it, in the same transaction.
CREATE TRIGGER tenant_attributes_auth_epoch_ins AFTER INSERT ON tenant_attributes BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER tenant_attributes_auth_epoch_del AFTER DELETE ON tenant_attributes BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER tenant_attributes_auth_epoch_upd AFTER UPDATE ON tenant_attributes BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;
