package manage

import (
	"context"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/resource"
)

// GroupQuery selects and pages a tenant's groups.
type GroupQuery struct {
	Filter string // SCIM filter grammar; "" for all
	// Limit is the page size: 0 means DefaultLimit, a negative value every match.
	Limit     int
	After     string
	WithTotal bool
}

// ListGroups returns a page of the tenant's groups in creation order, each with its
// memberCount; pages are cut by position, as ListUsers's are.
func (m *Manager) ListGroups(ctx context.Context, tenant string, q GroupQuery) (Page[resource.Group], error) {
	const op = "manage.ListGroups"
	var page Page[resource.Group]
	ex, err := parseFilter(op, q.Filter)
	if err != nil {
		return page, err
	}
	after, err := decodePosition(op, q.After)
	if err != nil {
		return page, err
	}
	if _, err := m.tenant(ctx, tenant); err != nil {
		return page, err
	}
	limit := pageSize(q.Limit)
	sq := storeQuery(limit, after, q.WithTotal)
	sq.Filter = ex
	res, err := m.store.ListGroups(ctx, tenant, sq)
	if err != nil {
		return page, err
	}
	items, next := cut(res.Items, limit, func(g appstore.Group) string { return positionCursor(g.Created, g.ID) })
	page.Next, page.Total = next, res.Total
	ids := make([]string, len(items))
	for i, g := range items {
		ids[i] = g.ID
	}
	counts, err := m.store.MemberCounts(ctx, tenant, ids)
	if err != nil {
		return page, err
	}
	page.Items = make([]resource.Group, len(items))
	for i, g := range items {
		page.Items[i] = appstore.GroupResource(g, counts[g.ID])
	}
	return page, nil
}

// GetGroup returns one of the tenant's groups with its memberCount.
func (m *Manager) GetGroup(ctx context.Context, tenant, id string) (resource.Group, error) {
	if _, err := m.tenant(ctx, tenant); err != nil {
		return resource.Group{}, err
	}
	g, err := m.store.GetGroup(ctx, tenant, id, false)
	if err != nil {
		return resource.Group{}, err
	}
	counts, err := m.store.MemberCounts(ctx, tenant, []string{id})
	if err != nil {
		return resource.Group{}, err
	}
	return appstore.GroupResource(g, counts[id]), nil
}

// ListMembers returns a page of a group's members in member id order.
func (m *Manager) ListMembers(ctx context.Context, tenant, groupID string, limit int, after string) (Page[resource.Member], error) {
	const op = "manage.ListMembers"
	page := Page[resource.Member]{Total: -1}
	afterID := ""
	if after != "" {
		p, err := decodeCursor(op, after, 1)
		if err != nil {
			return page, err
		}
		afterID = p[0]
	}
	if _, err := m.tenant(ctx, tenant); err != nil {
		return page, err
	}
	limit = pageSize(limit)
	if limit < 0 {
		limit = 1 << 30
	}
	ms, err := m.store.ListMembers(ctx, tenant, groupID, afterID, limit+1)
	if err != nil {
		return page, err
	}
	ms, page.Next = cut(ms, limit, func(mb appstore.Member) string { return encodeCursor(mb.Value) })
	page.Items = make([]resource.Member, len(ms))
	for i, mb := range ms {
		page.Items[i] = appstore.MemberResource(mb)
	}
	return page, nil
}
