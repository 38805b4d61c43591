package appstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/event"
)

// Every write that changes a tenant's users, groups, memberships, credentials, settings,
// attributes or Okta connection, and the end of every sync run, emits its events inside
// its own transaction: emit collects them while the write runs and inTx inserts them
// just before the commit, so a write that fails or is refused leaves none.
//
// A reader must never pass a seq whose transaction may still commit. On SQLite, with one
// writer at a time, a counter row incremented at that last moment gives seq in commit
// order. On PostgreSQL transactions commit in any order, and a counter whose row lock
// ordered the commits would serialise every writer's commit (and its WAL flush):
// measured, it cut concurrent creates by half or more (BENCHMARKS.md). So there seq
// comes from a sequence, taken at insert time, and readers serve only up to a horizon:
// the sequence's last value read at some moment, once every transaction that was
// writing events at that moment has ended (safeHorizon). Any event with a seq at or
// below it is then committed or gone for good, so reading "after < seq <= horizon"
// never skips one.

const (
	eventCounterBump = `UPDATE event_counter SET last_seq = last_seq + ? WHERE id = 1 RETURNING last_seq`
	eventInsert      = `INSERT INTO events (seq, id, tenant_id, type, at, body) VALUES (?, ?, ?, ?, ?, ?)`
	// On PostgreSQL one statement draws the seq and inserts the event, writing the seq
	// into the body's first "seq" (the event's own: it follows "id"). The statement
	// locks the table before it runs, so every transaction holding a seq shows in
	// pg_locks until it ends (see safeHorizon).
	pgEventInsert = `WITH n AS (SELECT nextval('events_seq') AS seq)
		INSERT INTO events (seq, id, tenant_id, type, at, body)
		SELECT n.seq, $1, $2, $3, $4, regexp_replace($5, '"seq":0,', '"seq":' || n.seq || ',') FROM n RETURNING seq`
	// pgAuditEventInsert is pgEventInsert with the transaction's first audit row
	// written by the same statement.
	pgAuditEventInsert = `WITH a AS (INSERT INTO audit_events (at, tenant_id, actor, operation, resource_type, resource_id, changes)
		VALUES ($6, $7, $8, $9, $10, $11, $12)), n AS (SELECT nextval('events_seq') AS seq)
		INSERT INTO events (seq, id, tenant_id, type, at, body)
		SELECT n.seq, $1, $2, $3, $4, regexp_replace($5, '"seq":0,', '"seq":' || n.seq || ',') FROM n RETURNING seq`
)

// eventStatements are the statements flushEvents runs, prepared at open.
func (s *sqlStore) eventStatements() []string {
	if s.d.name() == "postgres" {
		return []string{pgEventInsert, pgAuditEventInsert}
	}
	return []string{eventCounterBump, eventInsert}
}

// pendingEvents are the events a transaction emitted, inserted at its commit, and on
// PostgreSQL its audit rows, inserted with them.
type pendingEvents struct {
	list   []event.Event
	audits []auditRow
}

// pendingOf returns tx's pending events and audit rows.
func (s *sqlStore) pendingOf(tx *sqlx.Tx) *pendingEvents {
	v, _ := s.pending.LoadOrStore(tx, &pendingEvents{})
	return v.(*pendingEvents)
}

// emit records an event of the running transaction tx. data is the resource after the
// change; previous holds the old values of what changed (nil for none).
func (s *sqlStore) emit(ctx context.Context, tx *sqlx.Tx, typ, tenantID string, data any, previous map[string]any) error {
	d, err := json.Marshal(data)
	if err != nil {
		return errkind.E("appstore.emit", errkind.Permanent, "encoding event data", err)
	}
	if previous == nil {
		previous = map[string]any{}
	}
	p, err := json.Marshal(previous)
	if err != nil {
		return errkind.E("appstore.emit", errkind.Permanent, "encoding event data", err)
	}
	a := ActorFrom(ctx)
	ea := event.Actor{Kind: a.Kind, ID: a.ID}
	e := event.Event{ID: event.NewID(), Type: typ, Tenant: tenantID, Time: s.now().UTC().Truncate(time.Microsecond),
		Source: event.SourceOf(ea), Actor: ea, Data: d, Previous: p}
	pe := s.pendingOf(tx)
	pe.list = append(pe.list, e)
	return nil
}

// emitDiff emits typ with previous computed from the old and new resources; nothing
// is emitted when they do not differ (ignoring the fields in skip).
func (s *sqlStore) emitDiff(ctx context.Context, tx *sqlx.Tx, typ, tenantID string, old, cur any, skip ...string) error {
	prev, err := event.Diff(old, cur)
	if err != nil {
		return errkind.E("appstore.emit", errkind.Permanent, "comparing event data", err)
	}
	for _, k := range skip {
		delete(prev, k)
	}
	if len(prev) == 0 {
		return nil
	}
	return s.emit(ctx, tx, typ, tenantID, cur, prev)
}

// flushEvents inserts the events tx emitted, numbering them from the counter.
func (s *sqlStore) flushEvents(ctx context.Context, tx *sqlx.Tx) error {
	const op = "appstore.flushEvents"
	v, ok := s.pending.LoadAndDelete(tx)
	if !ok {
		return nil
	}
	pe := v.(*pendingEvents)
	list, audits := pe.list, pe.audits
	if s.d.name() == "postgres" {
		// The first event takes the table's lock and its seq in one statement (see
		// pgEventInsert); a long list's others then draw their seqs in one statement
		// and go in as a few multi-row inserts, the lock held all along.
		single := list
		if len(list) > 1+eventBatchMin {
			single = list[:1]
		}
		for i := range single {
			e := &list[i]
			body, err := json.Marshal(e) // "seq":0, filled in by the insert
			if err != nil {
				return errkind.E(op, errkind.Permanent, "encoding event", err)
			}
			args := []any{e.ID, e.Tenant, e.Type, e.Time.UnixMicro(), string(body)}
			query := pgEventInsert
			if i == 0 && len(audits) > 0 {
				query, args = pgAuditEventInsert, append(args, audits[0].args()...)
				audits = audits[1:]
			}
			ins, err := s.prepared(ctx, tx, query)
			if err != nil {
				return s.wrap(op, err)
			}
			if err := ins.GetContext(ctx, &e.Seq, args...); err != nil {
				return s.wrap(op, err)
			}
		}
		if rest := list[len(single):]; len(rest) > 0 {
			var seqs []int64
			if err := tx.SelectContext(ctx, &seqs, `SELECT nextval('events_seq') FROM generate_series(1, $1)`, len(rest)); err != nil {
				return s.wrap(op, err)
			}
			if len(seqs) != len(rest) {
				return errkind.Errorf(op, errkind.Permanent, "drew %d seqs for %d events", len(seqs), len(rest))
			}
			slices.Sort(seqs)
			for i := range rest {
				rest[i].Seq = seqs[i]
			}
			if err := s.insertEventRows(ctx, tx, rest); err != nil {
				return err
			}
		}
		for _, a := range audits {
			if err := s.insertAudit(ctx, tx, a); err != nil {
				return err
			}
		}
		return nil
	}
	if len(list) == 0 {
		return nil
	}
	bump, err := s.prepared(ctx, tx, s.q(eventCounterBump))
	if err != nil {
		return s.wrap(op, err)
	}
	var last int64
	if err := bump.GetContext(ctx, &last, len(list)); err != nil {
		return s.wrap(op, err)
	}
	for i := range list {
		list[i].Seq = last - int64(len(list)-1-i)
	}
	if len(list) > eventBatchMin {
		return s.insertEventRows(ctx, tx, list)
	}
	ins, err := s.prepared(ctx, tx, s.q(eventInsert))
	if err != nil {
		return s.wrap(op, err)
	}
	for i := range list {
		e := &list[i]
		body, err := json.Marshal(e)
		if err != nil {
			return errkind.E(op, errkind.Permanent, "encoding event", err)
		}
		if _, err := ins.ExecContext(ctx, e.Seq, e.ID, e.Tenant, e.Type, e.Time.UnixMicro(), string(body)); err != nil {
			return s.wrap(op, err)
		}
	}
	return nil
}

// eventBatchMin is how many events a transaction must emit (beyond its first, on
// PostgreSQL) before they are inserted by multi-row statements instead of one by one.
const eventBatchMin = 3

// eventsPerInsert bounds the rows of one multi-row event insert (6 parameters each).
const eventsPerInsert = 500

// insertEventRows inserts events whose seqs are set, in multi-row statements.
func (s *sqlStore) insertEventRows(ctx context.Context, tx *sqlx.Tx, list []event.Event) error {
	const op = "appstore.flushEvents"
	for start := 0; start < len(list); start += eventsPerInsert {
		chunk := list[start:min(start+eventsPerInsert, len(list))]
		args := make([]any, 0, 6*len(chunk))
		rows := make([]string, len(chunk))
		for i := range chunk {
			e := &chunk[i]
			body, err := json.Marshal(e)
			if err != nil {
				return errkind.E(op, errkind.Permanent, "encoding event", err)
			}
			args = append(args, e.Seq, e.ID, e.Tenant, e.Type, e.Time.UnixMicro(), string(body))
			rows[i] = "(" + placeholders(6) + ")"
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO events (seq, id, tenant_id, type, at, body) VALUES `+strings.Join(rows, ", ")), args...); err != nil {
			return s.wrap(op, err)
		}
	}
	return nil
}

// safeHorizon is the highest seq a reader may serve: every event at or below it has
// committed or never will. On SQLite that is the counter. On PostgreSQL it reads the
// sequence's last value L, then the transactions writing events (those holding a row
// exclusive lock on the table), and waits until they have all ended: a transaction
// holding a seq <= L drew it before L was read, with its lock already held, so it is
// among them. Only event writers are waited for, and they are short; if one stays open
// past the wait, the last horizon proven is served instead, so the feed lags but never
// skips.
func (s *sqlStore) safeHorizon(ctx context.Context) (int64, error) {
	const op = "appstore.safeHorizon"
	if s.d.name() != "postgres" {
		var n int64
		if err := s.db.GetContext(ctx, &n, `SELECT last_seq FROM event_counter WHERE id = 1`); err != nil {
			return 0, s.wrap(op, err)
		}
		return n, nil
	}
	var seq struct {
		Last   int64 `db:"last_value"`
		Called bool  `db:"is_called"`
	}
	if err := s.db.GetContext(ctx, &seq, `SELECT last_value, is_called FROM events_seq`); err != nil {
		return 0, s.wrap(op, err)
	}
	last := seq.Last
	if !seq.Called {
		last--
	}
	if last <= s.horizon.Load() {
		return s.horizon.Load(), nil
	}
	// The writers, read once from the lock manager, are then watched in
	// pg_stat_activity (cheap: no lock-manager locks) by backend and transaction start.
	var writers []struct {
		PID   int       `db:"pid"`
		Start time.Time `db:"xact_start"`
	}
	if err := s.db.SelectContext(ctx, &writers, `SELECT pid, xact_start FROM pg_stat_activity WHERE xact_start IS NOT NULL AND pid IN
		(SELECT pid FROM pg_locks WHERE locktype = 'relation' AND relation = 'events'::regclass AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid())`); err != nil {
		return 0, s.wrap(op, err)
	}
	pids := make(pq.Int64Array, len(writers))
	starts := make(pq.StringArray, len(writers))
	for i, w := range writers {
		pids[i], starts[i] = int64(w.PID), w.Start.Format(time.RFC3339Nano)
	}
	wait := time.Millisecond
	deadline := time.Now().Add(5 * time.Second)
	for {
		done := len(writers) == 0
		if !done {
			if err := s.db.GetContext(ctx, &done, `SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity a JOIN unnest($1::int[], $2::timestamptz[]) AS w(pid, start)
				ON a.pid = w.pid AND a.xact_start = w.start)`, pids, starts); err != nil {
				return 0, s.wrap(op, err)
			}
		}
		if done {
			for {
				h := s.horizon.Load()
				if last <= h || s.horizon.CompareAndSwap(h, last) {
					break
				}
			}
			return s.horizon.Load(), nil
		}
		if time.Now().After(deadline) {
			return s.horizon.Load(), nil
		}
		select {
		case <-ctx.Done():
			return 0, s.wrap(op, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// dropEvents forgets the events of a transaction that rolls back.
func (s *sqlStore) dropEvents(tx *sqlx.Tx) { s.pending.Delete(tx) }

// EventQuery selects events of the feed.
type EventQuery struct {
	// After is the cursor: only events with a greater seq. 0 starts at the oldest kept.
	After int64
	// Limit caps the page; 0 means 100, and at most 1000 are returned.
	Limit int
	// Tenant, when set, keeps only that tenant's events.
	Tenant string
	// Types, when not empty, keeps only events of these types.
	Types []string
}

// EventPage is a page of the feed. Next is the cursor to read on from: the seq of the
// last event returned, or After when there were none.
type EventPage struct {
	Events []event.Event
	Next   int64
}

// CursorTooOldError is returned for a cursor older than the oldest kept event:
// retention removed events after it. Oldest is the cursor to restart from.
type CursorTooOldError struct {
	After  int64
	Oldest int64
}

func (e *CursorTooOldError) Error() string {
	return fmt.Sprintf("cursor %d is older than the oldest kept event: read from after=%d (events up to it were removed by retention)", e.After, e.Oldest)
}

// Is makes the error match errkind.Invalid.
func (e *CursorTooOldError) Is(target error) bool { return target == errkind.Invalid }

// MaxEventPage is the largest page ListEvents returns.
const MaxEventPage = 1000

func (s *sqlStore) ListEvents(ctx context.Context, q EventQuery) (EventPage, error) {
	const op = "appstore.ListEvents"
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Limit = min(q.Limit, MaxEventPage)
	if q.After < 0 {
		return EventPage{}, errkind.Errorf(op, errkind.Invalid, "after must not be negative")
	}
	horizon, err := s.safeHorizon(ctx)
	if err != nil {
		return EventPage{}, err
	}
	where, args := "seq > ? AND seq <= ?", []any{q.After, horizon}
	if q.Tenant != "" {
		where += " AND tenant_id = ?"
		args = append(args, q.Tenant)
	}
	if len(q.Types) > 0 {
		where += " AND type IN (" + placeholders(len(q.Types)) + ")"
		for _, t := range q.Types {
			args = append(args, t)
		}
	}
	var bodies []string
	if err := s.rdb.SelectContext(ctx, &bodies, s.q(`SELECT body FROM events WHERE `+where+` ORDER BY seq LIMIT ?`), append(args, q.Limit)...); err != nil {
		return EventPage{}, s.wrap(op, err)
	}
	// The horizon is read after the events: a prune committed in between shows in it,
	// so a page with a hole is never served.
	if q.After > 0 {
		pruned, err := s.eventMark(ctx, s.rdb, "pruned")
		if err != nil {
			return EventPage{}, err
		}
		if q.After < pruned {
			return EventPage{}, &CursorTooOldError{After: q.After, Oldest: pruned}
		}
	}
	page := EventPage{Events: make([]event.Event, 0, len(bodies)), Next: q.After}
	for _, b := range bodies {
		var e event.Event
		if err := json.Unmarshal([]byte(b), &e); err != nil {
			return EventPage{}, errkind.E(op, errkind.Permanent, "corrupt stored event", err)
		}
		page.Events = append(page.Events, e)
		page.Next = e.Seq
	}
	return page, nil
}

// LastEventSeq returns the seq of the newest committed event (0 when none).
func (s *sqlStore) LastEventSeq(ctx context.Context) (int64, error) {
	return s.safeHorizon(ctx)
}

func (s *sqlStore) eventMark(ctx context.Context, q sqlx.QueryerContext, name string) (int64, error) {
	var n int64
	if err := sqlx.GetContext(ctx, q, &n, s.q(`SELECT seq FROM event_marks WHERE name = ?`), name); err != nil {
		return 0, s.wrap("appstore.eventMark", err)
	}
	return n, nil
}

// PruneEvents removes the events older than before, oldest first, and moves the
// feed's horizon so that a cursor into the removed part gets CursorTooOldError.
func (s *sqlStore) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	const op = "appstore.PruneEvents"
	const batch = 1000
	cutoff := before.UnixMicro()
	var total int64
	for {
		var n int
		err := s.inTx(ctx, op, func(tx *sqlx.Tx) error {
			var pruned int64
			if err := tx.GetContext(ctx, &pruned, s.q(`SELECT seq FROM event_marks WHERE name = 'pruned'`+s.d.forUpdate())); err != nil {
				return s.wrap(op, err)
			}
			var rows []struct {
				Seq int64 `db:"seq"`
				At  int64 `db:"at"`
			}
			if err := tx.SelectContext(ctx, &rows, s.q(`SELECT seq, at FROM events WHERE seq > ? ORDER BY seq LIMIT ?`), pruned, batch); err != nil {
				return s.wrap(op, err)
			}
			// Only a prefix in seq order goes, so that the horizon has no holes behind it.
			upTo := pruned
			for _, r := range rows {
				if r.At >= cutoff {
					break
				}
				upTo = r.Seq
				n++
			}
			if n == 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM events WHERE seq > ? AND seq <= ?`), pruned, upTo); err != nil {
				return s.wrap(op, err)
			}
			_, err := tx.ExecContext(ctx, s.q(`UPDATE event_marks SET seq = ? WHERE name = 'pruned'`), upTo)
			return s.wrap(op, err)
		})
		if err != nil {
			return total, err
		}
		total += int64(n)
		if n < batch {
			return total, nil
		}
	}
}

// typesArg validates a list of event types.
func validTypes(op string, types []string) error {
	for _, t := range types {
		if !event.Known(t) {
			return errkind.Errorf(op, errkind.Invalid, "unknown event type %q: want one of %s", t, strings.Join(event.Types, ", "))
		}
	}
	return nil
}
