package manage

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/resource"
)

// AuditQuery selects audit events, newest first.
type AuditQuery struct {
	Tenant   string // "" for every tenant
	Resource string // a resource id; "" for all
	// Actor is "kind:id" (such as "api:KEYID") or a kind alone ("scim", "cli", "app",
	// "api", "syncer", "system") for every actor of that kind.
	Actor        string
	Since, Until time.Time // Since inclusive, Until exclusive; zero for open
	Limit        int       // 0 means DefaultLimit
	After        string    // the cursor a previous page returned as Next
}

func (q AuditQuery) store(op string) (appstore.AuditQuery, error) {
	sq := appstore.AuditQuery{TenantID: q.Tenant, ResourceID: q.Resource, Actor: q.Actor, Since: q.Since, Until: q.Until}
	if q.After != "" {
		p, err := decodeCursor(op, q.After, 1)
		if err != nil {
			return sq, err
		}
		if sq.BeforeID, err = strconv.ParseInt(p[0], 10, 64); err != nil || sq.BeforeID <= 0 {
			return sq, errkind.InvalidField(op, "after", "%q is not a cursor this listing returned", q.After)
		}
	}
	return sq, nil
}

// ListAudit returns a page of the audit trail, newest first.
func (m *Manager) ListAudit(ctx context.Context, q AuditQuery) (Page[resource.AuditEvent], error) {
	const op = "manage.ListAudit"
	page := Page[resource.AuditEvent]{Total: -1}
	sq, err := q.store(op)
	if err != nil {
		return page, err
	}
	if q.Tenant != "" {
		if _, err := m.tenant(ctx, q.Tenant); err != nil {
			return page, err
		}
	}
	limit := pageSize(q.Limit)
	sq.Limit = limit + 1
	events, err := m.store.ListAudit(ctx, sq)
	if err != nil {
		return page, err
	}
	events, page.Next = cut(events, limit, func(e appstore.AuditEvent) string { return encodeCursor(strconv.FormatInt(e.ID, 10)) })
	page.Items = make([]resource.AuditEvent, len(events))
	for i, e := range events {
		page.Items[i] = appstore.AuditResource(e)
	}
	return page, nil
}

// EachAudit calls fn for every event q selects, newest first, reading the trail in
// batches so that a trail of any size streams in bounded memory. q.Limit is ignored.
func (m *Manager) EachAudit(ctx context.Context, q AuditQuery, fn func(resource.AuditEvent) error) error {
	q.Limit = 500
	for {
		page, err := m.ListAudit(ctx, q)
		if err != nil {
			return err
		}
		for _, e := range page.Items {
			if err := fn(e); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		q.After = page.Next
	}
}

// AuditCSVHeader is the header row of the audit trail as CSV.
var AuditCSVHeader = []string{"id", "time", "tenant", "actor", "operation", "resourceType", "resourceId", "changes"}

// WriteAuditCSV writes every event q selects to w as CSV with a header row, newest
// first, streaming: rows are written (and flushed) batch by batch, never all held.
// changes is the JSON of the changed attributes.
func (m *Manager) WriteAuditCSV(ctx context.Context, w io.Writer, q AuditQuery) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(AuditCSVHeader); err != nil {
		return err
	}
	n := 0
	err := m.EachAudit(ctx, q, func(e resource.AuditEvent) error {
		ch, err := json.Marshal(e.Changes)
		if err != nil {
			return err
		}
		if err := cw.Write([]string{strconv.FormatInt(e.ID, 10), e.Time.UTC().Format(time.RFC3339Nano), e.Tenant, e.Actor, e.Operation,
			e.ResourceType, e.ResourceID, string(ch)}); err != nil {
			return err
		}
		if n++; n%500 == 0 {
			cw.Flush()
			if f, ok := w.(interface{ Flush() error }); ok {
				_ = f.Flush()
			} else if f, ok := w.(interface{ Flush() }); ok {
				f.Flush()
			}
		}
		return cw.Error()
	})
	cw.Flush()
	if err != nil {
		return err
	}
	return cw.Error()
}
