package manage

import (
	"context"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/resource"
	"github.com/oktasync/oktasync/scimschema"
)

// Credential kinds and statuses.
const (
	KindToken      = appstore.CredentialBearer
	KindBasic      = appstore.CredentialBasic
	StatusActive   = appstore.StatusActive
	StatusInactive = appstore.StatusInactive
)

// CreateToken generates a SCIM bearer token for the tenant; the result's Secret is the
// only time the token is shown. A tenant holding appstore.MaxTokens tokens gets a
// Conflict that says to remove or renew one.
func (m *Manager) CreateToken(ctx context.Context, tenant string) (resource.Credential, error) {
	c, secret, err := m.store.CreateToken(ctx, tenant)
	if err != nil {
		return resource.Credential{}, err
	}
	r := appstore.CredentialResource(c)
	r.Secret = secret
	return r, nil
}

// CreateBasic stores HTTP Basic credentials for the tenant (the password hashed).
func (m *Manager) CreateBasic(ctx context.Context, tenant, username, password string) (resource.Credential, error) {
	c, err := m.store.CreateBasic(ctx, tenant, username, password)
	if err != nil {
		return resource.Credential{}, err
	}
	return appstore.CredentialResource(c), nil
}

// ListCredentials returns the tenant's credentials of one kind (KindToken, KindBasic),
// or of every kind for "".
func (m *Manager) ListCredentials(ctx context.Context, tenant, kind string) ([]resource.Credential, error) {
	creds, err := m.store.ListCredentials(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := []resource.Credential{}
	for _, c := range creds {
		if kind == "" || c.Kind == kind {
			out = append(out, appstore.CredentialResource(c))
		}
	}
	return out, nil
}

// FindCredential resolves a reference to one of the tenant's credentials of the given
// kind ("" for any): its id, a token's prefix or a Basic username.
func (m *Manager) FindCredential(ctx context.Context, tenant, kind, ref string) (resource.Credential, error) {
	creds, err := m.ListCredentials(ctx, tenant, kind)
	if err != nil {
		return resource.Credential{}, err
	}
	for _, c := range creds {
		if c.ID == ref || (c.Prefix != "" && c.Prefix == ref) || (c.Username != "" && c.Username == ref) {
			return c, nil
		}
	}
	what := "token"
	if kind == KindBasic {
		what = "basic credential"
	}
	return resource.Credential{}, errkind.Errorf("manage.FindCredential", errkind.NotFound, "tenant %q has no %s %q", tenant, what, ref)
}

// SetCredentialStatus activates or deactivates a credential (status "active" or
// "inactive"); an inactive one gets 401 from SCIM but keeps its slot.
func (m *Manager) SetCredentialStatus(ctx context.Context, tenant, kind, ref, status string) (resource.Credential, error) {
	if status != appstore.StatusActive && status != appstore.StatusInactive {
		return resource.Credential{}, errkind.InvalidField("manage.SetCredentialStatus", "status", "status must be %q or %q, not %q", appstore.StatusActive, appstore.StatusInactive, status)
	}
	c, err := m.FindCredential(ctx, tenant, kind, ref)
	if err != nil {
		return resource.Credential{}, err
	}
	out, err := m.store.SetCredentialStatus(ctx, tenant, c.ID, status)
	if err != nil {
		return resource.Credential{}, err
	}
	return appstore.CredentialResource(out), nil
}

// RenewToken gives a token a new secret in the same slot; the old secret stops working
// at once. The result's Secret is the only time the new one is shown.
func (m *Manager) RenewToken(ctx context.Context, tenant, ref string) (resource.Credential, error) {
	c, err := m.FindCredential(ctx, tenant, KindToken, ref)
	if err != nil {
		return resource.Credential{}, err
	}
	out, secret, err := m.store.RenewToken(ctx, tenant, c.ID)
	if err != nil {
		return resource.Credential{}, err
	}
	r := appstore.CredentialResource(out)
	r.Secret = secret
	return r, nil
}

// RemoveCredential removes a credential, freeing its slot.
func (m *Manager) RemoveCredential(ctx context.Context, tenant, kind, ref string) (resource.Credential, error) {
	c, err := m.FindCredential(ctx, tenant, kind, ref)
	if err != nil {
		return resource.Credential{}, err
	}
	return c, m.store.RemoveCredential(ctx, tenant, c.ID)
}

// AddAttribute defines a custom user attribute of the tenant (type string when none
// is given); SCIM clients send it under scimschema.CustomURN.
func (m *Manager) AddAttribute(ctx context.Context, tenant string, a resource.Attribute) (resource.Attribute, error) {
	if a.Type == "" {
		a.Type = scimschema.String
	}
	ca := scimschema.CustomAttr{Name: a.Name, Type: a.Type, MultiValued: a.MultiValued, Description: a.Description}
	if err := m.store.AddAttribute(ctx, tenant, ca); err != nil {
		return resource.Attribute{}, err
	}
	return appstore.AttributeResource(ca), nil
}

// ListAttributes returns the tenant's custom attributes, by name.
func (m *Manager) ListAttributes(ctx context.Context, tenant string) ([]resource.Attribute, error) {
	if _, err := m.tenant(ctx, tenant); err != nil {
		return nil, err
	}
	attrs, err := m.store.ListAttributes(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]resource.Attribute, len(attrs))
	for i, a := range attrs {
		out[i] = appstore.AttributeResource(a)
	}
	return out, nil
}

// RemoveAttribute removes a custom attribute; stored values are kept but no longer served.
func (m *Manager) RemoveAttribute(ctx context.Context, tenant, name string) error {
	if _, err := m.tenant(ctx, tenant); err != nil {
		return err
	}
	return m.store.RemoveAttribute(ctx, tenant, name)
}
