package manage

import (
	"context"
	"strings"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/event"
)

// EventQuery selects events of the change feed.
type EventQuery struct {
	After  int64    // cursor: events with a greater seq; 0 starts at the oldest kept
	Limit  int      // 0: DefaultLimit; at most MaxLimit
	Tenant string   // "" for every tenant
	Types  []string // empty for every type
}

// EventPage is a page of the feed; Next is the cursor to read on from (the last
// event's seq, or After when the page is empty).
type EventPage struct {
	Events []event.Event
	Next   int64
}

// CursorTooOld is returned (wrapped) for a cursor older than the oldest kept event.
type CursorTooOld = appstore.CursorTooOldError

// ListEvents reads the change feed in seq order.
func (m *Manager) ListEvents(ctx context.Context, q EventQuery) (EventPage, error) {
	const op = "manage.ListEvents"
	if q.After < 0 {
		return EventPage{}, errkind.InvalidField(op, "after", "after must be a seq (0 or more)")
	}
	if q.Limit < 0 || q.Limit > MaxLimit {
		return EventPage{}, errkind.InvalidField(op, "limit", "limit must be between 1 and %d", MaxLimit)
	}
	types, err := eventTypes(op, q.Types)
	if err != nil {
		return EventPage{}, err
	}
	if q.Tenant != "" {
		if _, err := m.tenant(ctx, q.Tenant); err != nil {
			return EventPage{}, err
		}
	}
	p, err := m.store.ListEvents(ctx, appstore.EventQuery{After: q.After, Limit: pageSize(q.Limit), Tenant: q.Tenant, Types: types})
	if err != nil { // a *CursorTooOld among them
		return EventPage{}, err
	}
	return EventPage{Events: p.Events, Next: p.Next}, nil
}

// LastEventSeq is the seq of the newest event (0 when there is none).
func (m *Manager) LastEventSeq(ctx context.Context) (int64, error) { return m.store.LastEventSeq(ctx) }

// eventTypes checks a list of event types ("a,b" items are split), naming the field.
func eventTypes(op string, in []string) ([]string, error) {
	var out []string
	for _, s := range in {
		for _, t := range strings.Split(s, ",") {
			t = strings.TrimSpace(t)
			if t == "" {
				continue
			}
			if !event.Known(t) {
				return nil, errkind.InvalidField(op, "types", "unknown event type %q: want one of %s", t, strings.Join(event.Types, ", "))
			}
			out = append(out, t)
		}
	}
	return out, nil
}
