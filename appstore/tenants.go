package appstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/event"
	"github.com/oktasync/oktasync/resource"
	"github.com/oktasync/oktasync/scimschema"
)

var tenantIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

type tenantRow struct {
	ID                  string `db:"id"`
	Name                string `db:"name"`
	ProvisioningEnabled bool   `db:"provisioning_enabled"`
	Settings            string `db:"settings"`
	CreatedAt           int64  `db:"created_at"`
	UpdatedAt           int64  `db:"updated_at"`
}

const tenantCols = `id, name, provisioning_enabled, settings, created_at, updated_at`

func (r tenantRow) tenant() (Tenant, error) {
	t := Tenant{ID: r.ID, Name: r.Name, ProvisioningEnabled: r.ProvisioningEnabled,
		Created: fromMicros(r.CreatedAt), Updated: fromMicros(r.UpdatedAt)}
	if err := json.Unmarshal([]byte(r.Settings), &t.Settings); err != nil {
		return t, errkind.E("appstore.tenant", errkind.Permanent, "corrupt tenant settings", err)
	}
	return t, nil
}

// ValidateTenantID reports whether id can name a tenant: lower-case letters, digits and
// dashes, starting with a letter or digit, at most 63 characters.
func ValidateTenantID(id string) error {
	if !tenantIDPattern.MatchString(id) {
		return errkind.Errorf("appstore.ValidateTenantID", errkind.Invalid,
			"invalid tenant id %q: use lower-case letters, digits and dashes (at most 63), starting with a letter or digit", id)
	}
	return nil
}

func (s *sqlStore) CreateTenant(ctx context.Context, t Tenant) (Tenant, error) {
	const op = "appstore.CreateTenant"
	if err := ValidateTenantID(t.ID); err != nil {
		return Tenant{}, err
	}
	if t.Name == "" {
		t.Name = t.ID
	}
	if err := checkText(op, "name", t.Name); err != nil {
		return Tenant{}, err
	}
	domains, err := normalizeEmailDomains(op, t.Settings.AllowedEmailDomains)
	if err != nil {
		return Tenant{}, err
	}
	t.Settings.AllowedEmailDomains = domains
	settings, err := marshalJSON(t.Settings)
	if err != nil {
		return Tenant{}, err
	}
	now := s.micros()
	t.Created, t.Updated = fromMicros(now), fromMicros(now)
	err = s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO tenants (`+tenantCols+`) VALUES (?, ?, ?, ?, ?, ?)`),
			t.ID, t.Name, t.ProvisioningEnabled, settings, now, now)
		if s.d.isUnique(err) {
			return errkind.Errorf(op, errkind.Conflict, "tenant %q already exists", t.ID)
		}
		if err != nil {
			return s.wrap(op, err)
		}
		if err := s.audit(ctx, tx, t.ID, "tenant.create", "Tenant", t.ID, map[string]Change{
			"name": {New: t.Name}, "provisioningEnabled": {New: t.ProvisioningEnabled}}); err != nil {
			return err
		}
		data, err := s.tenantData(ctx, tx, t)
		if err != nil {
			return err
		}
		return s.emit(ctx, tx, event.TenantCreated, t.ID, data, nil)
	})
	return t, err
}

func (s *sqlStore) getTenant(ctx context.Context, q sqlx.QueryerContext, id string, lock bool) (Tenant, error) {
	var r tenantRow
	query := `SELECT ` + tenantCols + ` FROM tenants WHERE id = ?`
	if lock {
		query += s.d.forUpdate()
	}
	err := sql.ErrNoRows
	if lookupable(id) {
		err = sqlx.GetContext(ctx, q, &r, s.q(query), id)
	}
	if err != nil {
		if s.wrapKind(err) == errkind.NotFound {
			return Tenant{}, errkind.Errorf("appstore.GetTenant", errkind.NotFound, "no tenant %q", id)
		}
		return Tenant{}, s.wrap("appstore.GetTenant", err)
	}
	return r.tenant()
}

func (s *sqlStore) wrapKind(err error) errkind.Kind { return errkind.Of(s.wrap("", err)) }

func (s *sqlStore) GetTenant(ctx context.Context, id string) (Tenant, error) {
	return s.getTenant(ctx, s.rdb, id, false)
}

func (s *sqlStore) ListTenants(ctx context.Context) ([]Tenant, error) {
	var rows []tenantRow
	if err := s.rdb.SelectContext(ctx, &rows, `SELECT `+tenantCols+` FROM tenants ORDER BY id`); err != nil {
		return nil, s.wrap("appstore.ListTenants", err)
	}
	out := make([]Tenant, 0, len(rows))
	for _, r := range rows {
		t, err := r.tenant()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func (s *sqlStore) UpdateTenant(ctx context.Context, id string, fn func(*Tenant) error) (Tenant, error) {
	const op = "appstore.UpdateTenant"
	var out Tenant
	err := s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		old, err := s.getTenant(ctx, tx, id, true)
		if err != nil {
			return err
		}
		before, err := s.tenantData(ctx, tx, old)
		if err != nil {
			return err
		}
		t := old
		t.Settings.Extra = cloneStringMap(old.Settings.Extra)
		t.Settings.AllowedEmailDomains = slices.Clone(old.Settings.AllowedEmailDomains)
		if err := fn(&t); err != nil {
			return err
		}
		t.ID, t.Created = old.ID, old.Created
		if err := checkText(op, "name", t.Name); err != nil {
			return err
		}
		if t.Settings.AllowedEmailDomains, err = normalizeEmailDomains(op, t.Settings.AllowedEmailDomains); err != nil {
			return err
		}
		t.Updated = fromMicros(s.micros())
		settings, err := marshalJSON(t.Settings)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE tenants SET name = ?, provisioning_enabled = ?, settings = ?, updated_at = ? WHERE id = ?`),
			t.Name, t.ProvisioningEnabled, settings, t.Updated.UnixMicro(), id); err != nil {
			return s.wrap(op, err)
		}
		changes := map[string]Change{}
		if old.Name != t.Name {
			changes["name"] = Change{Old: old.Name, New: t.Name}
		}
		if old.ProvisioningEnabled != t.ProvisioningEnabled {
			changes["provisioningEnabled"] = Change{Old: old.ProvisioningEnabled, New: t.ProvisioningEnabled}
		}
		oldSettings, _ := marshalJSON(old.Settings)
		if oldSettings != settings {
			changes["settings"] = Change{Old: json.RawMessage(oldSettings), New: json.RawMessage(settings)}
		}
		out = t
		if err := s.audit(ctx, tx, id, "tenant.update", "Tenant", id, changes); err != nil {
			return err
		}
		// Attributes and connection are untouched here: only the tenant's fields change.
		return s.emitDiff(ctx, tx, event.TenantUpdated, id, before, withTenant(before, t))
	})
	return out, err
}

func cloneStringMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

type attrRow struct {
	Name        string `db:"name"`
	Type        string `db:"type"`
	MultiValued bool   `db:"multi_valued"`
	Description string `db:"description"`
}

func (s *sqlStore) AddAttribute(ctx context.Context, tenantID string, a scimschema.CustomAttr) error {
	const op = "appstore.AddAttribute"
	if !scimschema.ValidName(a.Name) {
		return errkind.InvalidField(op, "name", "invalid attribute name %q: start with a letter, then letters, digits, '-' or '_' (at most 64)", a.Name)
	}
	if a.Type == "" {
		a.Type = scimschema.String
	}
	valid := false
	for _, t := range scimschema.CustomTypes {
		if t == a.Type {
			valid = true
		}
	}
	if !valid {
		return errkind.InvalidField(op, "type", "invalid attribute type %q: want one of %s", a.Type, strings.Join(scimschema.CustomTypes, ", "))
	}
	return s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		t, err := s.getTenant(ctx, tx, tenantID, false)
		if err != nil {
			return err
		}
		before, err := s.tenantData(ctx, tx, t)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO tenant_attributes (tenant_id, name, name_key, type, multi_valued, description, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			tenantID, a.Name, normalizeKey(a.Name), a.Type, a.MultiValued, a.Description, s.micros())
		if s.d.isUnique(err) {
			return errkind.Errorf(op, errkind.Conflict, "tenant %q already has an attribute %q", tenantID, a.Name)
		}
		if err != nil {
			return s.wrap(op, err)
		}
		if err := s.audit(ctx, tx, tenantID, "attribute.add", "Attribute", a.Name, map[string]Change{"type": {New: a.Type}}); err != nil {
			return err
		}
		return s.emitTenantChange(ctx, tx, before, t)
	})
}

func (s *sqlStore) ListAttributes(ctx context.Context, tenantID string) ([]scimschema.CustomAttr, error) {
	// A request that authenticated under a checked auth epoch reads the attributes
	// cached under that epoch: any change to them moves it (migration 0013).
	epoch, ok := confirmedEpoch(ctx)
	if ok {
		if a, hit := s.auth.tenantAttrs(epoch, tenantID); hit {
			return a, nil
		}
	}
	a, err := s.listAttributes(ctx, s.rdb, tenantID)
	if err == nil && ok {
		s.auth.putTenantAttrs(epoch, tenantID, a)
	}
	return a, err
}

func (s *sqlStore) listAttributes(ctx context.Context, q sqlx.QueryerContext, tenantID string) ([]scimschema.CustomAttr, error) {
	var rows []attrRow
	st, err := s.prepared(ctx, q, s.q(`SELECT name, type, multi_valued, description FROM tenant_attributes WHERE tenant_id = ? ORDER BY name_key`))
	if err == nil {
		err = st.SelectContext(ctx, &rows, tenantID)
	}
	if err != nil {
		return nil, s.wrap("appstore.ListAttributes", err)
	}
	out := make([]scimschema.CustomAttr, len(rows))
	for i, r := range rows {
		out[i] = scimschema.CustomAttr{Name: r.Name, Type: r.Type, MultiValued: r.MultiValued, Description: r.Description}
	}
	return out, nil
}

func (s *sqlStore) RemoveAttribute(ctx context.Context, tenantID, name string) error {
	const op = "appstore.RemoveAttribute"
	return s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		t, err := s.getTenant(ctx, tx, tenantID, false)
		if err != nil {
			return err
		}
		before, err := s.tenantData(ctx, tx, t)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM tenant_attributes WHERE tenant_id = ? AND name_key = ?`), tenantID, normalizeKey(name))
		if err != nil {
			return s.wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errkind.Errorf(op, errkind.NotFound, "tenant %q has no attribute %q", tenantID, name)
		}
		if err := s.audit(ctx, tx, tenantID, "attribute.remove", "Attribute", name, nil); err != nil {
			return err
		}
		return s.emitTenantChange(ctx, tx, before, t)
	})
}

// tenantData is t as tenant.updated events show it, read inside tx.
func (s *sqlStore) tenantData(ctx context.Context, tx *sqlx.Tx, t Tenant) (event.Tenant, error) {
	d := event.Tenant{Tenant: TenantResource(t), Attributes: []resource.Attribute{}}
	attrs, err := s.listAttributes(ctx, tx, t.ID)
	if err != nil {
		return d, err
	}
	for _, a := range attrs {
		d.Attributes = append(d.Attributes, AttributeResource(a))
	}
	d = withTenant(d, t)
	c, err := s.getOktaConnection(ctx, tx, t.ID)
	switch {
	case err == nil:
		d.OktaConnection = &event.OktaConnection{OrgURL: c.OrgURL, AppID: c.AppID, Updated: c.Updated}
	case !errors.Is(err, errkind.NotFound):
		return d, err
	}
	return d, nil
}

// withTenant is d with the tenant's own fields and policies taken from t.
func withTenant(d event.Tenant, t Tenant) event.Tenant {
	d.Tenant, d.Policies = TenantResource(t), nil
	if len(t.Settings.Extra) > 0 {
		d.Policies = t.Settings.Extra
	}
	return d
}

// emitTenantChange emits tenant.updated when the tenant t, re-read with its
// attributes and connection, differs from before.
func (s *sqlStore) emitTenantChange(ctx context.Context, tx *sqlx.Tx, before event.Tenant, t Tenant) error {
	after, err := s.tenantData(ctx, tx, t)
	if err != nil {
		return err
	}
	return s.emitDiff(ctx, tx, event.TenantUpdated, t.ID, before, after)
}

// userResource is the tenant's User resource type, with its custom extension.
func (s *sqlStore) userResource(ctx context.Context, q sqlx.QueryerContext, tenantID string) (*scimschema.Resource, error) {
	attrs, err := s.listAttributes(ctx, q, tenantID)
	if err != nil {
		return nil, err
	}
	var custom *scimschema.Schema
	if len(attrs) > 0 {
		custom = scimschema.Custom(attrs)
	}
	return scimschema.UserResource(custom), nil
}

// writeResource is the User resource that attrs are canonicalised against on a write.
// The tenant's custom attributes are read only when attrs carry the custom extension,
// which keeps the common write (Okta's create and update) to the queries it needs.
func (s *sqlStore) writeResource(ctx context.Context, q sqlx.QueryerContext, tenantID string, attrs map[string]any) (*scimschema.Resource, error) {
	for k := range attrs {
		if strings.EqualFold(k, scimschema.CustomURN) {
			return s.userResource(ctx, q, tenantID)
		}
	}
	return scimschema.UserResource(nil), nil
}

// DeleteTenant removes a tenant with its users, groups, credentials, custom attributes,
// Okta connection, sync history and queued mail. The audit trail keeps its events, and
// records the deletion.
func (s *sqlStore) DeleteTenant(ctx context.Context, id string) error {
	const op = "appstore.DeleteTenant"
	return s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		t, err := s.getTenant(ctx, tx, id, true)
		if err != nil {
			return err
		}
		data, err := s.tenantData(ctx, tx, t)
		if err != nil {
			return err
		}
		if err := s.emit(ctx, tx, event.TenantDeleted, id, data, nil); err != nil {
			return err
		}
		// Tables that reference the tenant without a foreign key are cleared by hand;
		// the rest follow the tenant row by ON DELETE CASCADE.
		for _, q := range []string{
			`DELETE FROM group_members WHERE group_id IN (SELECT id FROM groups WHERE tenant_id = ?)`,
			`DELETE FROM sync_run_errors WHERE run_id IN (SELECT id FROM sync_runs WHERE tenant_id = ?)`,
			`DELETE FROM sync_runs WHERE tenant_id = ?`,
			`DELETE FROM mail_queue WHERE tenant_id = ?`,
			`DELETE FROM tenants WHERE id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, s.q(q), id); err != nil {
				return s.wrap(op, err)
			}
		}
		return s.audit(ctx, tx, id, "tenant.delete", "Tenant", id, map[string]Change{"name": {Old: t.Name}})
	})
}
