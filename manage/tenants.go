package manage

import (
	"context"
	"slices"
	"strings"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/resource"
)

// NewTenant is a tenant to create.
type NewTenant struct {
	ID                  string
	Name                string // default: the id
	ProvisioningEnabled bool
}

// TenantChanges are the settings a tenant update changes; nil fields stay as they are.
type TenantChanges struct {
	Name                *string
	ProvisioningEnabled *bool
	InviteUsers         *bool
	// AllowedEmailDomains replaces the list; an empty list allows every domain.
	AllowedEmailDomains *[]string
	// InviteSubject and InviteText replace the invitation's templates ("" for the
	// standard one); an ${attributeName} the tenant does not have is Invalid.
	InviteSubject, InviteText *string
}

// Empty reports whether c changes nothing.
func (c TenantChanges) Empty() bool {
	return c.Name == nil && c.ProvisioningEnabled == nil && c.InviteUsers == nil && c.AllowedEmailDomains == nil &&
		c.InviteSubject == nil && c.InviteText == nil
}

// CreateTenant creates a tenant; an existing id is a Conflict.
func (m *Manager) CreateTenant(ctx context.Context, in NewTenant) (resource.Tenant, error) {
	const op = "manage.CreateTenant"
	if err := appstore.ValidateTenantID(in.ID); err != nil {
		return resource.Tenant{}, errkind.InvalidField(op, "id", "%s", errkind.Message(err))
	}
	t, err := m.store.CreateTenant(ctx, appstore.Tenant{ID: in.ID, Name: strings.TrimSpace(in.Name), ProvisioningEnabled: in.ProvisioningEnabled})
	if err != nil {
		return resource.Tenant{}, err
	}
	return m.tenantResource(ctx, t, true)
}

// ListTenants returns every tenant, by id.
func (m *Manager) ListTenants(ctx context.Context) ([]resource.Tenant, error) {
	ts, err := m.store.ListTenants(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]resource.Tenant, 0, len(ts))
	for _, t := range ts {
		r, err := m.tenantResource(ctx, t, false)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// GetTenant returns a tenant with its counts of users and groups.
func (m *Manager) GetTenant(ctx context.Context, id string) (resource.Tenant, error) {
	t, err := m.store.GetTenant(ctx, id)
	if err != nil {
		return resource.Tenant{}, err
	}
	return m.tenantResource(ctx, t, true)
}

// UpdateTenant applies c to a tenant, in one transaction.
func (m *Manager) UpdateTenant(ctx context.Context, id string, c TenantChanges) (resource.Tenant, error) {
	const op = "manage.UpdateTenant"
	if c.AllowedEmailDomains != nil {
		if err := checkDomains(op, *c.AllowedEmailDomains); err != nil {
			return resource.Tenant{}, err
		}
	}
	if c.Name != nil && strings.TrimSpace(*c.Name) == "" {
		return resource.Tenant{}, errkind.InvalidField(op, "name", "name must not be empty")
	}
	if err := m.checkInvitation(ctx, id, c); err != nil {
		return resource.Tenant{}, err
	}
	t, err := m.store.UpdateTenant(ctx, id, func(t *appstore.Tenant) error {
		if c.Name != nil {
			t.Name = strings.TrimSpace(*c.Name)
		}
		if c.ProvisioningEnabled != nil {
			t.ProvisioningEnabled = *c.ProvisioningEnabled
		}
		if c.InviteUsers != nil {
			t.Settings.InviteUsers = *c.InviteUsers
		}
		if c.AllowedEmailDomains != nil {
			t.Settings.AllowedEmailDomains = slices.Clone(*c.AllowedEmailDomains) // the store normalises it
		}
		if c.InviteSubject != nil {
			t.Settings.InviteSubject = strings.TrimSpace(*c.InviteSubject)
		}
		if c.InviteText != nil {
			t.Settings.InviteText = strings.TrimSpace(*c.InviteText)
		}
		return nil
	})
	if err != nil {
		return resource.Tenant{}, err
	}
	return m.tenantResource(ctx, t, true)
}

// DeleteTenant removes a tenant and everything in it. The default tenant, which a fresh
// install and the CLI's defaults rely on, cannot be deleted (a Conflict).
func (m *Manager) DeleteTenant(ctx context.Context, id string) error {
	if id == appstore.DefaultTenant {
		if _, err := m.store.GetTenant(ctx, id); err != nil {
			return err
		}
		return errkind.Errorf("manage.DeleteTenant", errkind.Conflict, "the %q tenant cannot be deleted; disable its provisioning instead", id)
	}
	return m.store.DeleteTenant(ctx, id)
}

// checkDomains refuses, naming the entry, what in an allow-list is no domain; the
// store lower-cases the list and drops repeats when it saves it.
func checkDomains(op string, in []string) error {
	for i, d := range in {
		d = strings.TrimSpace(d)
		if d == "" || strings.ContainsAny(d, "@/ \t") || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") {
			return errkind.InvalidField(op, "allowedEmailDomains["+itoa(i)+"]", "%q is not a domain such as example.com", in[i])
		}
	}
	return nil
}

func (m *Manager) tenantResource(ctx context.Context, t appstore.Tenant, counts bool) (resource.Tenant, error) {
	r := appstore.TenantResource(t)
	r.SCIMURL = m.opts.SCIMURL
	if counts {
		users, err := m.store.ListUsers(ctx, t.ID, appstore.Query{Count: 0})
		if err != nil {
			return r, err
		}
		groups, err := m.store.ListGroups(ctx, t.ID, appstore.Query{Count: 0})
		if err != nil {
			return r, err
		}
		r.UserCount, r.GroupCount = &users.Total, &groups.Total
	}
	return r, nil
}

// TenantPage returns a page of tenants in id order, after the cursor a previous page
// returned as Next.
func (m *Manager) TenantPage(ctx context.Context, limit int, after string) (Page[resource.Tenant], error) {
	page := Page[resource.Tenant]{Total: -1}
	afterID := ""
	if after != "" {
		p, err := decodeCursor("manage.TenantPage", after, 1)
		if err != nil {
			return page, err
		}
		afterID = p[0]
	}
	all, err := m.ListTenants(ctx)
	if err != nil {
		return page, err
	}
	rest := all[:0:0]
	for _, t := range all {
		if t.ID > afterID {
			rest = append(rest, t)
		}
	}
	page.Items, page.Next = cut(rest, pageSize(limit), func(t resource.Tenant) string { return encodeCursor(t.ID) })
	return page, nil
}
