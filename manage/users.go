package manage

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/resource"
	"github.com/oktasync/oktasync/scimfilter"
	"github.com/oktasync/oktasync/scimschema"
)

// UserQuery selects and pages a tenant's users.
type UserQuery struct {
	Filter       string // SCIM filter grammar (RFC 7644 §3.4.2.2); "" for all
	Source       string // "scim", "app" or "okta"; "" for any
	Active       *bool
	Group        string // only direct members of this group id
	UpdatedSince time.Time
	// Limit is the page size: 0 means DefaultLimit, a negative value every match.
	Limit int
	// After is the cursor a previous page returned as Next.
	After string
	// WithTotal counts every match (Page.Total).
	WithTotal bool
}

// Sources a user can come from.
var sources = []string{appstore.SourceSCIM, appstore.SourceApp, appstore.SourceOkta}

func parseFilter(op, filter string) (scimfilter.Expr, error) {
	if filter == "" {
		return nil, nil
	}
	ex, err := scimfilter.Parse(filter)
	if err != nil {
		return nil, errkind.InvalidField(op, "filter", "%v", err)
	}
	return ex, nil
}

// ListUsers returns a page of the tenant's users in creation order, each with its
// groups. Pages are cut by position (keyset), so paging through while users are added or
// removed neither repeats nor skips a user that stays.
func (m *Manager) ListUsers(ctx context.Context, tenant string, q UserQuery) (Page[resource.User], error) {
	const op = "manage.ListUsers"
	var page Page[resource.User]
	ex, err := parseFilter(op, q.Filter)
	if err != nil {
		return page, err
	}
	if q.Source != "" && !oneOf(q.Source, sources) {
		return page, errkind.InvalidField(op, "source", "source must be one of %s, not %q", strings.Join(sources, ", "), q.Source)
	}
	after, err := decodePosition(op, q.After)
	if err != nil {
		return page, err
	}
	if _, err := m.tenant(ctx, tenant); err != nil {
		return page, err
	}
	if q.Group != "" {
		if _, err := m.store.GetGroup(ctx, tenant, q.Group, false); err != nil {
			return page, err
		}
	}
	limit := pageSize(q.Limit)
	sq := storeQuery(limit, after, q.WithTotal)
	sq.Filter, sq.Source, sq.Active, sq.MemberOf, sq.UpdatedSince = ex, q.Source, q.Active, q.Group, q.UpdatedSince
	res, err := m.store.ListUsers(ctx, tenant, sq)
	if err != nil {
		if errkind.Of(err) == errkind.Invalid && errkind.FieldOf(err) == "" && ex != nil {
			return page, errkind.InvalidField(op, "filter", "%s", errkind.Message(err))
		}
		return page, err
	}
	items, next := cut(res.Items, limit, func(u appstore.User) string { return positionCursor(u.Created, u.ID) })
	page.Next, page.Total = next, res.Total
	page.Items, err = m.usersWithGroups(ctx, tenant, items)
	return page, err
}

func (m *Manager) usersWithGroups(ctx context.Context, tenant string, users []appstore.User) ([]resource.User, error) {
	out := make([]resource.User, len(users))
	if len(users) == 0 {
		return out, nil
	}
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	groups, err := m.store.UserGroups(ctx, tenant, ids)
	if err != nil {
		return nil, err
	}
	for i, u := range users {
		out[i] = appstore.UserResource(u)
		out[i].Groups = []resource.GroupRef{}
		for _, g := range groups[u.ID] {
			out[i].Groups = append(out[i].Groups, resource.GroupRef{ID: g.ID, DisplayName: g.DisplayName})
		}
	}
	return out, nil
}

// GetUser returns one of the tenant's users, with its groups.
func (m *Manager) GetUser(ctx context.Context, tenant, id string) (resource.User, error) {
	if _, err := m.tenant(ctx, tenant); err != nil {
		return resource.User{}, err
	}
	u, err := m.store.GetUser(ctx, tenant, id)
	if err != nil {
		return resource.User{}, err
	}
	return m.userResource(ctx, tenant, u)
}

func (m *Manager) userResource(ctx context.Context, tenant string, u appstore.User) (resource.User, error) {
	list, err := m.usersWithGroups(ctx, tenant, []appstore.User{u})
	if err != nil {
		return resource.User{}, err
	}
	return list[0], nil
}

// FindUser resolves a user by id or, failing that, by userName (in any letter case).
func (m *Manager) FindUser(ctx context.Context, tenant, ref string) (resource.User, error) {
	u, err := m.findUser(ctx, tenant, ref)
	if err != nil {
		return resource.User{}, err
	}
	return m.userResource(ctx, tenant, u)
}

func (m *Manager) findUser(ctx context.Context, tenant, ref string) (appstore.User, error) {
	if _, err := m.tenant(ctx, tenant); err != nil {
		return appstore.User{}, err
	}
	u, err := m.store.GetUser(ctx, tenant, ref)
	if errors.Is(err, errkind.NotFound) {
		u, err = m.store.GetUserByUserName(ctx, tenant, ref)
	}
	if errors.Is(err, errkind.NotFound) {
		return u, errkind.Errorf("manage.FindUser", errkind.NotFound, "tenant %q has no user %q", tenant, ref)
	}
	return u, err
}

// UserFields are the profile fields the app writes on its users; nil fields are left
// as they are (on create: unset).
type UserFields struct {
	UserName    *string
	GivenName   *string
	FamilyName  *string
	DisplayName *string
	Email       *string // the primary work email
	Title       *string
	Department  *string // enterprise extension
	Locale      *string
	Phone       *string // the primary work phone number
	Active      *bool
	// Attributes sets the tenant's custom attributes by name.
	Attributes map[string]any
}

// Empty reports whether f sets nothing.
func (f UserFields) Empty() bool {
	return f.UserName == nil && f.GivenName == nil && f.FamilyName == nil && f.DisplayName == nil && f.Email == nil &&
		f.Title == nil && f.Department == nil && f.Locale == nil && f.Phone == nil && f.Active == nil && len(f.Attributes) == 0
}

// apply writes the fields that are set onto u.
func (f UserFields) apply(op string, u *appstore.User, custom []scimschema.CustomAttr) error {
	if u.Attrs == nil {
		u.Attrs = map[string]any{}
	}
	if f.UserName != nil {
		u.UserName = strings.TrimSpace(*f.UserName)
		if u.UserName == "" {
			return errkind.InvalidField(op, "userName", "userName must not be empty")
		}
	}
	if f.Active != nil {
		u.Active = *f.Active
	}
	name, _ := u.Attrs["name"].(map[string]any)
	if name == nil {
		name = map[string]any{}
	}
	if f.GivenName != nil {
		name["givenName"] = *f.GivenName
	}
	if f.FamilyName != nil {
		name["familyName"] = *f.FamilyName
	}
	if len(name) > 0 {
		u.Attrs["name"] = name
	}
	for _, simple := range []struct {
		attr string
		val  *string
	}{{"displayName", f.DisplayName}, {"title", f.Title}, {"locale", f.Locale}} {
		if simple.val != nil {
			u.Attrs[simple.attr] = *simple.val
		}
	}
	if f.Email != nil {
		u.Attrs["emails"] = []any{map[string]any{"value": *f.Email, "type": "work", "primary": true}}
	}
	if f.Phone != nil {
		u.Attrs["phoneNumbers"] = []any{map[string]any{"value": *f.Phone, "type": "work", "primary": true}}
	}
	if f.Department != nil {
		ent, _ := u.Attrs[scimschema.EnterpriseURN].(map[string]any)
		if ent == nil {
			ent = map[string]any{}
		}
		ent["department"] = *f.Department
		u.Attrs[scimschema.EnterpriseURN] = ent
	}
	for k, v := range f.Attributes {
		known := ""
		for _, c := range custom {
			if strings.EqualFold(c.Name, k) {
				known = c.Name
			}
		}
		if known == "" {
			return errkind.InvalidField(op, "attributes."+k, "the tenant has no custom attribute %q", k)
		}
		ext, _ := u.Attrs[scimschema.CustomURN].(map[string]any)
		if ext == nil {
			ext = map[string]any{}
		}
		ext[known] = v
		u.Attrs[scimschema.CustomURN] = ext
	}
	return nil
}

// CreateUser creates a user as the app does (source "app"), active unless f says
// otherwise; the sync worker then pushes it to Okta. A userName taken in any letter case
// is a Conflict; an empty one is Invalid.
func (m *Manager) CreateUser(ctx context.Context, tenant string, f UserFields) (resource.User, error) {
	const op = "manage.CreateUser"
	if f.UserName == nil || strings.TrimSpace(*f.UserName) == "" {
		return resource.User{}, errkind.InvalidField(op, "userName", "userName is required")
	}
	if _, err := m.tenant(ctx, tenant); err != nil {
		return resource.User{}, err
	}
	custom, err := m.customFor(ctx, tenant, f)
	if err != nil {
		return resource.User{}, err
	}
	u := appstore.User{TenantID: tenant, Active: true, Source: appstore.SourceApp}
	if err := f.apply(op, &u, custom); err != nil {
		return resource.User{}, err
	}
	u, err = m.store.CreateUser(ctx, u)
	if err != nil {
		return resource.User{}, err
	}
	return m.userResource(ctx, tenant, u)
}

func (m *Manager) customFor(ctx context.Context, tenant string, f UserFields) ([]scimschema.CustomAttr, error) {
	if len(f.Attributes) == 0 {
		return nil, nil
	}
	return m.store.ListAttributes(ctx, tenant)
}

// UpdateUser changes the fields f sets on a user (by id or userName), as the app does;
// the sync worker pushes the change to Okta.
func (m *Manager) UpdateUser(ctx context.Context, tenant, ref string, f UserFields) (resource.User, error) {
	old, err := m.findUser(ctx, tenant, ref)
	if err != nil {
		return resource.User{}, err
	}
	return m.updateUser(ctx, tenant, old.ID, f)
}

// UpdateUserByID is UpdateUser for a caller that names users by id alone (the API):
// a userName is never taken for an id.
func (m *Manager) UpdateUserByID(ctx context.Context, tenant, id string, f UserFields) (resource.User, error) {
	if _, err := m.tenant(ctx, tenant); err != nil {
		return resource.User{}, err
	}
	return m.updateUser(ctx, tenant, id, f)
}

func (m *Manager) updateUser(ctx context.Context, tenant, id string, f UserFields) (resource.User, error) {
	const op = "manage.UpdateUser"
	custom, err := m.customFor(ctx, tenant, f)
	if err != nil {
		return resource.User{}, err
	}
	u, err := m.store.UpdateUser(ctx, tenant, id, func(u *appstore.User) error { return f.apply(op, u, custom) })
	if err != nil {
		return resource.User{}, err
	}
	return m.userResource(ctx, tenant, u)
}

// SetUserActive deactivates or reactivates a user (by id or userName), as the app does.
func (m *Manager) SetUserActive(ctx context.Context, tenant, ref string, active bool) (resource.User, error) {
	return m.UpdateUser(ctx, tenant, ref, UserFields{Active: &active})
}

func oneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}
