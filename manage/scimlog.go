package manage

import (
	"context"
	"strconv"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
)

// SCIMRequestQuery selects entries of the SCIM request log, newest first.
type SCIMRequestQuery struct {
	// Tenant is the tenant whose requests to list; "" lists every tenant's, and the
	// requests refused before a credential told the tenant.
	Tenant string
	// StatusClass is "2xx", "4xx", … ("" for all).
	StatusClass  string
	Since, Until time.Time // Since inclusive, Until exclusive; zero for open
	Limit        int       // 0 means DefaultLimit
	After        string    // the cursor a previous page returned as Next
}

// ListSCIMRequests returns a page of the SCIM request log (bodies redacted when they
// were logged), newest first.
func (m *Manager) ListSCIMRequests(ctx context.Context, q SCIMRequestQuery) (Page[appstore.SCIMRequest], error) {
	const op = "manage.ListSCIMRequests"
	page := Page[appstore.SCIMRequest]{Total: -1}
	if q.Tenant != "" {
		if _, err := m.tenant(ctx, q.Tenant); err != nil {
			return page, err
		}
	}
	sq := appstore.SCIMRequestQuery{TenantID: q.Tenant, Since: q.Since, Until: q.Until, Limit: pageSize(q.Limit)}
	if q.StatusClass != "" {
		c, err := appstore.ParseStatusClass(q.StatusClass)
		if err != nil {
			return page, errkind.InvalidField(op, "status", "%s", errkind.Message(err))
		}
		sq.StatusClass = c
	}
	if q.After != "" {
		p, err := decodeCursor(op, q.After, 1)
		if err != nil {
			return page, err
		}
		if sq.After, err = strconv.ParseInt(p[0], 10, 64); err != nil || sq.After <= 0 {
			return page, errkind.InvalidField(op, "after", "%q is not a cursor this listing returned", q.After)
		}
	}
	res, err := m.store.ListSCIMRequests(ctx, sq)
	if err != nil {
		return page, err
	}
	page.Items = res.Items
	if res.Next != 0 {
		page.Next = encodeCursor(strconv.FormatInt(res.Next, 10))
	}
	return page, nil
}
