-- A tenant's custom attributes are cached under the auth epoch too (a SCIM write reads
-- them for its schema), so any change to them moves it, in the same transaction.
CREATE TRIGGER tenant_attributes_auth_epoch AFTER INSERT OR DELETE OR UPDATE ON tenant_attributes
    FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
