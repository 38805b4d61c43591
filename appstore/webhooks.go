package appstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/oktasync/oktasync/errkind"
)

// WebhookEndpoint is a receiver of events. Its signing secrets are kept sealed by the
// caller (the store never sees them in clear): the current one, and after a rotation
// the previous one until OldSecretUntil.
type WebhookEndpoint struct {
	ID      string
	URL     string
	Tenants []string // empty: every tenant
	Types   []string // empty: every type
	Enabled bool

	SecretEnc      []byte
	OldSecretEnc   []byte
	OldSecretUntil time.Time

	Created time.Time
	Updated time.Time
}

// Matches reports whether the endpoint wants an event of typ in tenant.
func (w WebhookEndpoint) Matches(tenant, typ string) bool {
	return (len(w.Tenants) == 0 || contains(w.Tenants, tenant)) && (len(w.Types) == 0 || contains(w.Types, typ))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// WebhookDelivery is one event queued for one endpoint, with the state of its attempts.
type WebhookDelivery struct {
	ID         int64
	EndpointID string
	TenantID   string // "" for a ping
	EventSeq   int64  // 0 for a ping
	EventID    string
	EventType  string
	Payload    []byte // the event JSON, sent as the request body
	Status     string
	Attempts   int
	// NextAttempt is when a pending delivery is due.
	NextAttempt time.Time
	// Lease is set on a claimed delivery: until then no other worker takes it. It also
	// fences FinishDelivery, so a worker whose lease ran out cannot overwrite the
	// outcome of the one that took over.
	Lease     time.Time
	LastCode  int
	LastError string
	Created   time.Time
	Updated   time.Time
	Delivered time.Time // zero until it succeeded
}

// WebhookStore is the part of Store that holds webhook endpoints and their queue.
type WebhookStore interface {
	// CreateWebhook stores a new endpoint; ID and times are assigned by the store.
	CreateWebhook(ctx context.Context, w WebhookEndpoint) (WebhookEndpoint, error)
	GetWebhook(ctx context.Context, id string) (WebhookEndpoint, error)
	ListWebhooks(ctx context.Context) ([]WebhookEndpoint, error)
	// UpdateWebhook changes an endpoint in a read-modify-write transaction.
	UpdateWebhook(ctx context.Context, id string, fn func(*WebhookEndpoint) error) (WebhookEndpoint, error)
	// DeleteWebhook removes an endpoint and its deliveries.
	DeleteWebhook(ctx context.Context, id string) error

	// FanOutEvents queues a delivery of each event not yet fanned out to every enabled
	// endpoint that wants it, in seq order, up to limit events; it returns how many
	// events it went through. Several servers may call it at once: one works, the
	// others return 0.
	FanOutEvents(ctx context.Context, limit int) (int, error)
	// EnqueueDelivery queues a delivery that comes from no event of the feed (a ping).
	EnqueueDelivery(ctx context.Context, d WebhookDelivery) (WebhookDelivery, error)
	// ClaimDeliveries leases, for lease, the due deliveries of up to lanes lanes (an
	// endpoint and a tenant): each lane's oldest pending delivery and, behind it, up to
	// run-1 more of that lane's pending deliveries, consecutive in seq order (the run
	// ends before the first one that is not due or is leased). The result holds each
	// lane's run together and in seq order, all under one lease, so that one worker can
	// send a lane's events in order; run <= 1 claims the oldest alone.
	ClaimDeliveries(ctx context.Context, lanes, run int, lease time.Duration) ([]WebhookDelivery, error)
	// FinishDelivery records, in one transaction, the outcome of an attempt of each
	// claimed delivery of ds (its Status, Attempts, NextAttempt, LastCode, LastError, and
	// for a success Delivered, now when zero) and ends its lease; a delivery passed back
	// as it was claimed is only released. If any of ds is no longer leased as its Lease
	// says, nothing is recorded and Conflict is returned.
	FinishDelivery(ctx context.Context, ds ...WebhookDelivery) error
	// ListDeliveries returns an endpoint's deliveries, newest first.
	ListDeliveries(ctx context.Context, endpointID string, limit int) ([]WebhookDelivery, error)
	// GetDelivery returns one delivery of an endpoint.
	GetDelivery(ctx context.Context, endpointID string, id int64) (WebhookDelivery, error)
	// RetryDelivery makes a delivery pending and due now, whatever its state.
	RetryDelivery(ctx context.Context, endpointID string, id int64) (WebhookDelivery, error)
	// DeliveryBacklog returns the number of pending deliveries and the creation time of
	// the oldest (zero when none).
	DeliveryBacklog(ctx context.Context) (int, time.Time, error)
}

type webhookRow struct {
	ID             string `db:"id"`
	URL            string `db:"url"`
	Tenants        string `db:"tenants"`
	Types          string `db:"types"`
	Enabled        bool   `db:"enabled"`
	SecretEnc      string `db:"secret_enc"`
	OldSecretEnc   string `db:"old_secret_enc"`
	OldSecretUntil int64  `db:"old_secret_until"`
	CreatedAt      int64  `db:"created_at"`
	UpdatedAt      int64  `db:"updated_at"`
}

const webhookCols = `id, url, tenants, types, enabled, secret_enc, old_secret_enc, old_secret_until, created_at, updated_at`

func (r webhookRow) endpoint() (WebhookEndpoint, error) {
	w := WebhookEndpoint{ID: r.ID, URL: r.URL, Enabled: r.Enabled, OldSecretUntil: fromMicros(r.OldSecretUntil),
		Created: fromMicros(r.CreatedAt), Updated: fromMicros(r.UpdatedAt)}
	err := json.Unmarshal([]byte(r.Tenants), &w.Tenants)
	if err == nil {
		err = json.Unmarshal([]byte(r.Types), &w.Types)
	}
	if err == nil {
		w.SecretEnc, err = decodeBytes(r.SecretEnc)
	}
	if err == nil && r.OldSecretEnc != "" {
		w.OldSecretEnc, err = decodeBytes(r.OldSecretEnc)
	}
	if err != nil {
		return w, errkind.E("appstore.WebhookEndpoint", errkind.Permanent, "corrupt webhook endpoint", err)
	}
	return w, nil
}

func (s *sqlStore) validateWebhook(op string, w *WebhookEndpoint) error {
	w.URL = strings.TrimSpace(w.URL)
	if w.URL == "" {
		return errkind.Errorf(op, errkind.Invalid, "url is required")
	}
	if len(w.SecretEnc) == 0 {
		return errkind.Errorf(op, errkind.Invalid, "a webhook endpoint needs a sealed secret")
	}
	if w.Tenants == nil {
		w.Tenants = []string{}
	}
	if w.Types == nil {
		w.Types = []string{}
	}
	for _, t := range w.Tenants {
		if err := ValidateTenantID(t); err != nil {
			return err
		}
	}
	return validTypes(op, w.Types)
}

func (s *sqlStore) webhookArgs(w WebhookEndpoint) (tenants, types string, err error) {
	if tenants, err = marshalJSON(w.Tenants); err != nil {
		return
	}
	types, err = marshalJSON(w.Types)
	return
}

func (s *sqlStore) CreateWebhook(ctx context.Context, w WebhookEndpoint) (WebhookEndpoint, error) {
	const op = "appstore.CreateWebhook"
	if err := s.validateWebhook(op, &w); err != nil {
		return WebhookEndpoint{}, err
	}
	if w.ID == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		w.ID = "wh_" + hex.EncodeToString(b)
	}
	now := s.micros()
	w.Created, w.Updated = fromMicros(now), fromMicros(now)
	tenants, types, err := s.webhookArgs(w)
	if err != nil {
		return WebhookEndpoint{}, err
	}
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO webhook_endpoints (`+webhookCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		w.ID, w.URL, tenants, types, w.Enabled, encodeBytes(w.SecretEnc), encodeOptional(w.OldSecretEnc), optMicros(w.OldSecretUntil), now, now)
	if s.d.isUnique(err) {
		return WebhookEndpoint{}, errkind.Errorf(op, errkind.Conflict, "webhook %q already exists", w.ID)
	}
	if err != nil {
		return WebhookEndpoint{}, s.wrap(op, err)
	}
	return w, nil
}

func encodeOptional(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return encodeBytes(b)
}

// optMicros is t in microseconds, or 0 for the zero time.
func optMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func (s *sqlStore) getWebhook(ctx context.Context, q sqlx.QueryerContext, id string, lock bool) (WebhookEndpoint, error) {
	var r webhookRow
	query := `SELECT ` + webhookCols + ` FROM webhook_endpoints WHERE id = ?`
	if lock {
		query += s.d.forUpdate()
	}
	if err := sqlx.GetContext(ctx, q, &r, s.q(query), id); err != nil {
		if s.wrapKind(err) == errkind.NotFound {
			return WebhookEndpoint{}, errkind.Errorf("appstore.GetWebhook", errkind.NotFound, "no webhook %q", id)
		}
		return WebhookEndpoint{}, s.wrap("appstore.GetWebhook", err)
	}
	return r.endpoint()
}

func (s *sqlStore) GetWebhook(ctx context.Context, id string) (WebhookEndpoint, error) {
	return s.getWebhook(ctx, s.db, id, false)
}

func (s *sqlStore) listWebhooks(ctx context.Context, q sqlx.QueryerContext, where string) ([]WebhookEndpoint, error) {
	var rows []webhookRow
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT `+webhookCols+` FROM webhook_endpoints`+where+` ORDER BY created_at, id`); err != nil {
		return nil, s.wrap("appstore.ListWebhooks", err)
	}
	out := make([]WebhookEndpoint, 0, len(rows))
	for _, r := range rows {
		w, err := r.endpoint()
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

func (s *sqlStore) ListWebhooks(ctx context.Context) ([]WebhookEndpoint, error) {
	return s.listWebhooks(ctx, s.db, "")
}

func (s *sqlStore) UpdateWebhook(ctx context.Context, id string, fn func(*WebhookEndpoint) error) (WebhookEndpoint, error) {
	const op = "appstore.UpdateWebhook"
	var out WebhookEndpoint
	err := s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		old, err := s.getWebhook(ctx, tx, id, true)
		if err != nil {
			return err
		}
		w := old
		w.Tenants = append([]string(nil), old.Tenants...)
		w.Types = append([]string(nil), old.Types...)
		if err := fn(&w); err != nil {
			return err
		}
		w.ID, w.Created = old.ID, old.Created
		if err := s.validateWebhook(op, &w); err != nil {
			return err
		}
		w.Updated = fromMicros(s.micros())
		tenants, types, err := s.webhookArgs(w)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE webhook_endpoints SET url = ?, tenants = ?, types = ?, enabled = ?, secret_enc = ?, old_secret_enc = ?, old_secret_until = ?, updated_at = ? WHERE id = ?`),
			w.URL, tenants, types, w.Enabled, encodeBytes(w.SecretEnc), encodeOptional(w.OldSecretEnc), optMicros(w.OldSecretUntil), w.Updated.UnixMicro(), id); err != nil {
			return s.wrap(op, err)
		}
		out = w
		return nil
	})
	return out, err
}

func (s *sqlStore) DeleteWebhook(ctx context.Context, id string) error {
	const op = "appstore.DeleteWebhook"
	return s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM webhook_deliveries WHERE endpoint_id = ?`), id); err != nil {
			return s.wrap(op, err)
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM webhook_endpoints WHERE id = ?`), id)
		if err != nil {
			return s.wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errkind.Errorf(op, errkind.NotFound, "no webhook %q", id)
		}
		return nil
	})
}

const deliveryInsert = `INSERT INTO webhook_deliveries (endpoint_id, tenant_id, event_seq, event_id, event_type, payload, status, attempts, next_attempt, lease_until, last_code, last_error, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, 0, 0, '', ?, ?)`

func (s *sqlStore) FanOutEvents(ctx context.Context, limit int) (int, error) {
	const op = "appstore.FanOutEvents"
	if limit <= 0 {
		limit = 500
	}
	// Only events below the feed's horizon are fanned out, so that none is passed.
	horizon, err := s.safeHorizon(ctx)
	if err != nil {
		return 0, err
	}
	// Most calls find nothing new: a plain read says so without taking the write lock.
	var news []int64
	if err := s.db.SelectContext(ctx, &news, s.q(`SELECT seq FROM events WHERE seq > (SELECT seq FROM event_marks WHERE name = 'fanout') AND seq <= ? ORDER BY seq LIMIT 1`), horizon); err != nil {
		return 0, s.wrap(op, err)
	}
	if len(news) == 0 {
		return 0, nil
	}
	var n int
	err = s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		// One fan-out at a time: a second server skips the locked mark and returns.
		lock := s.d.forUpdate()
		if lock != "" {
			lock += " SKIP LOCKED"
		}
		var mark []int64
		if err := tx.SelectContext(ctx, &mark, s.q(`SELECT seq FROM event_marks WHERE name = 'fanout'`+lock)); err != nil {
			return s.wrap(op, err)
		}
		if len(mark) == 0 {
			return nil
		}
		var rows []struct {
			Seq    int64  `db:"seq"`
			ID     string `db:"id"`
			Tenant string `db:"tenant_id"`
			Type   string `db:"type"`
			At     int64  `db:"at"`
			Body   string `db:"body"`
		}
		if err := tx.SelectContext(ctx, &rows, s.q(`SELECT seq, id, tenant_id, type, at, body FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`), mark[0], horizon, limit); err != nil {
			return s.wrap(op, err)
		}
		if len(rows) == 0 {
			return nil
		}
		hooks, err := s.listWebhooks(ctx, tx, " WHERE enabled")
		if err != nil {
			return err
		}
		now := s.micros()
		var ins *sqlx.Stmt
		for _, r := range rows {
			for _, w := range hooks {
				// An endpoint gets the events committed after it was created.
				if r.At < w.Created.UnixMicro() || !w.Matches(r.Tenant, r.Type) {
					continue
				}
				if ins == nil {
					if ins, err = tx.PreparexContext(ctx, s.q(deliveryInsert)); err != nil {
						return s.wrap(op, err)
					}
					defer ins.Close()
				}
				if _, err := ins.ExecContext(ctx, w.ID, r.Tenant, r.Seq, r.ID, r.Type, r.Body, now, now, now); err != nil {
					return s.wrap(op, err)
				}
			}
		}
		n = len(rows)
		_, err = tx.ExecContext(ctx, s.q(`UPDATE event_marks SET seq = ? WHERE name = 'fanout'`), rows[len(rows)-1].Seq)
		return s.wrap(op, err)
	})
	return n, err
}

func (s *sqlStore) EnqueueDelivery(ctx context.Context, d WebhookDelivery) (WebhookDelivery, error) {
	const op = "appstore.EnqueueDelivery"
	now := s.micros()
	if d.EventID == "" || d.EventType == "" || len(d.Payload) == 0 {
		return d, errkind.Errorf(op, errkind.Invalid, "a delivery needs an event id, type and payload")
	}
	if _, err := s.GetWebhook(ctx, d.EndpointID); err != nil {
		return d, err
	}
	err := s.db.GetContext(ctx, &d.ID, s.q(deliveryInsert+` RETURNING id`),
		d.EndpointID, d.TenantID, d.EventSeq, d.EventID, d.EventType, string(d.Payload), now, now, now)
	if err != nil {
		return d, s.wrap(op, err)
	}
	d.Status, d.NextAttempt, d.Created, d.Updated = DeliveryPending, fromMicros(now), fromMicros(now), fromMicros(now)
	return d, nil
}

type deliveryRow struct {
	ID          int64         `db:"id"`
	EndpointID  string        `db:"endpoint_id"`
	TenantID    string        `db:"tenant_id"`
	EventSeq    int64         `db:"event_seq"`
	EventID     string        `db:"event_id"`
	EventType   string        `db:"event_type"`
	Payload     string        `db:"payload"`
	Status      string        `db:"status"`
	Attempts    int           `db:"attempts"`
	NextAttempt int64         `db:"next_attempt"`
	LeaseUntil  int64         `db:"lease_until"`
	LastCode    int           `db:"last_code"`
	LastError   string        `db:"last_error"`
	CreatedAt   int64         `db:"created_at"`
	UpdatedAt   int64         `db:"updated_at"`
	DeliveredAt sql.NullInt64 `db:"delivered_at"`
}

const deliveryCols = `d.id, d.endpoint_id, d.tenant_id, d.event_seq, d.event_id, d.event_type, d.payload, d.status, d.attempts, d.next_attempt, d.lease_until, d.last_code, d.last_error, d.created_at, d.updated_at, d.delivered_at`

func (r deliveryRow) delivery() WebhookDelivery {
	return WebhookDelivery{ID: r.ID, EndpointID: r.EndpointID, TenantID: r.TenantID, EventSeq: r.EventSeq, EventID: r.EventID,
		EventType: r.EventType, Payload: []byte(r.Payload), Status: r.Status, Attempts: r.Attempts, NextAttempt: fromMicros(r.NextAttempt),
		Lease: fromMicros(r.LeaseUntil), LastCode: r.LastCode, LastError: r.LastError, Created: fromMicros(r.CreatedAt),
		Updated: fromMicros(r.UpdatedAt), Delivered: nullMicros(r.DeliveredAt)}
}

func (s *sqlStore) ClaimDeliveries(ctx context.Context, lanes, run int, lease time.Duration) ([]WebhookDelivery, error) {
	const op = "appstore.ClaimDeliveries"
	if lanes <= 0 {
		lanes = 16
	}
	run = max(run, 1)
	var out []WebhookDelivery
	err := s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		now := s.micros()
		lock := ""
		if s.d.forUpdate() != "" {
			lock = " FOR UPDATE OF d SKIP LOCKED"
		}
		// The head of each endpoint+tenant lane: its oldest pending delivery, found by
		// one pass over the pending index. A head another worker holds is locked
		// (skipped) or leased (not due), and the rows behind it wait, which is what
		// keeps a lane in order. The conditions on d itself are checked again by
		// PostgreSQL on the row it locks, so a head another worker finished meanwhile
		// is not taken.
		var heads []deliveryRow
		if err := tx.SelectContext(ctx, &heads, s.q(`SELECT `+deliveryCols+` FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id
			WHERE d.id IN (SELECT min(id) FROM webhook_deliveries WHERE status = 'pending' GROUP BY endpoint_id, tenant_id)
			AND d.status = 'pending' AND d.next_attempt <= ? AND d.lease_until <= ? AND w.enabled
			ORDER BY d.next_attempt, d.id LIMIT ?`+lock), now, now, lanes); err != nil {
			return s.wrap(op, err)
		}
		var ids []any
		for _, h := range heads {
			rows := []deliveryRow{h}
			if run > 1 {
				more, err := s.laneRun(ctx, tx, h, run-1, now)
				if err != nil {
					return err
				}
				rows = append(rows, more...)
			}
			for _, r := range rows {
				ids = append(ids, r.ID)
				out = append(out, r.delivery())
			}
		}
		if len(ids) == 0 {
			return nil
		}
		until := now + lease.Microseconds()
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE webhook_deliveries SET lease_until = ? WHERE id IN (`+placeholders(len(ids))+`)`), append([]any{until}, ids...)...); err != nil {
			return s.wrap(op, err)
		}
		for i := range out {
			out[i].Lease = fromMicros(until)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// laneRun locks up to n pending deliveries of head's lane that follow head, as long as
// they are consecutive, due and not leased. Each row carries its place among the
// lane's pending rows as the statement saw them (rn); a row another worker has locked
// is skipped by SKIP LOCKED, and one it finished meanwhile fails the recheck of
// d.status, so either leaves a gap in rn, and the run ends before it: a run never
// jumps over a delivery of its lane.
func (s *sqlStore) laneRun(ctx context.Context, tx *sqlx.Tx, head deliveryRow, n int, now int64) ([]deliveryRow, error) {
	lock := ""
	if s.d.forUpdate() != "" {
		lock = " FOR UPDATE OF d SKIP LOCKED"
	}
	var rows []struct {
		deliveryRow
		RN int `db:"rn"`
	}
	if err := tx.SelectContext(ctx, &rows, s.q(`SELECT `+deliveryCols+`, r.rn FROM webhook_deliveries d
		JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM (SELECT id FROM webhook_deliveries
			WHERE endpoint_id = ? AND tenant_id = ? AND status = 'pending' AND id > ? ORDER BY id LIMIT ?) l) r ON r.id = d.id
		WHERE d.status = 'pending' ORDER BY d.id`+lock), head.EndpointID, head.TenantID, head.ID, n); err != nil {
		return nil, s.wrap("appstore.ClaimDeliveries", err)
	}
	var out []deliveryRow
	for i, r := range rows {
		if r.RN != i+1 || r.NextAttempt > now || r.LeaseUntil > now {
			break
		}
		out = append(out, r.deliveryRow)
	}
	return out, nil
}

func (s *sqlStore) FinishDelivery(ctx context.Context, ds ...WebhookDelivery) error {
	const op = "appstore.FinishDelivery"
	if len(ds) == 0 {
		return nil
	}
	const update = `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt = ?, lease_until = 0, last_code = ?, last_error = ?, updated_at = ?, delivered_at = ?
		WHERE id = ? AND lease_until = ?`
	now := s.micros()
	args := func(d WebhookDelivery) []any {
		var delivered any
		if d.Status == DeliverySucceeded {
			delivered = now
			if !d.Delivered.IsZero() {
				delivered = d.Delivered.UnixMicro()
			}
		}
		next := d.NextAttempt.UnixMicro()
		if d.NextAttempt.IsZero() {
			next = now
		}
		return []any{d.Status, d.Attempts, next, d.LastCode, d.LastError, now, delivered, d.ID, d.Lease.UnixMicro()}
	}
	conflict := func(d WebhookDelivery) error {
		return errkind.Errorf(op, errkind.Conflict, "delivery %d is no longer leased to this worker", d.ID)
	}
	if len(ds) == 1 {
		// One statement is its own transaction.
		res, err := s.db.ExecContext(ctx, s.q(update), args(ds[0])...)
		if err != nil {
			return s.wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return conflict(ds[0])
		}
		return nil
	}
	return s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		st, err := tx.PreparexContext(ctx, s.q(update))
		if err != nil {
			return s.wrap(op, err)
		}
		defer st.Close()
		for _, d := range ds {
			res, err := st.ExecContext(ctx, args(d)...)
			if err != nil {
				return s.wrap(op, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return conflict(d)
			}
		}
		return nil
	})
}

func (s *sqlStore) ListDeliveries(ctx context.Context, endpointID string, limit int) ([]WebhookDelivery, error) {
	if limit <= 0 {
		limit = 100
	}
	if _, err := s.GetWebhook(ctx, endpointID); err != nil {
		return nil, err
	}
	var rows []deliveryRow
	if err := s.db.SelectContext(ctx, &rows, s.q(`SELECT `+deliveryCols+` FROM webhook_deliveries d WHERE d.endpoint_id = ? ORDER BY d.id DESC LIMIT ?`), endpointID, limit); err != nil {
		return nil, s.wrap("appstore.ListDeliveries", err)
	}
	out := make([]WebhookDelivery, len(rows))
	for i, r := range rows {
		out[i] = r.delivery()
	}
	return out, nil
}

func (s *sqlStore) GetDelivery(ctx context.Context, endpointID string, id int64) (WebhookDelivery, error) {
	var r deliveryRow
	if err := s.db.GetContext(ctx, &r, s.q(`SELECT `+deliveryCols+` FROM webhook_deliveries d WHERE d.endpoint_id = ? AND d.id = ?`), endpointID, id); err != nil {
		if s.wrapKind(err) == errkind.NotFound {
			return WebhookDelivery{}, errkind.Errorf("appstore.GetDelivery", errkind.NotFound, "webhook %q has no delivery %d", endpointID, id)
		}
		return WebhookDelivery{}, s.wrap("appstore.GetDelivery", err)
	}
	return r.delivery(), nil
}

func (s *sqlStore) RetryDelivery(ctx context.Context, endpointID string, id int64) (WebhookDelivery, error) {
	const op = "appstore.RetryDelivery"
	now := s.micros()
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE webhook_deliveries SET status = 'pending', next_attempt = ?, updated_at = ? WHERE endpoint_id = ? AND id = ? AND lease_until <= ?`),
		now, now, endpointID, id, now)
	if err != nil {
		return WebhookDelivery{}, s.wrap(op, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		d, err := s.GetDelivery(ctx, endpointID, id)
		if err != nil {
			return d, err
		}
		return d, errkind.Errorf(op, errkind.Conflict, "delivery %d is being sent right now", id)
	}
	return s.GetDelivery(ctx, endpointID, id)
}

func (s *sqlStore) DeliveryBacklog(ctx context.Context) (int, time.Time, error) {
	var r struct {
		N      int           `db:"n"`
		Oldest sql.NullInt64 `db:"oldest"`
	}
	if err := s.db.GetContext(ctx, &r, `SELECT count(*) AS n, min(created_at) AS oldest FROM webhook_deliveries WHERE status = 'pending'`); err != nil {
		return 0, time.Time{}, s.wrap("appstore.DeliveryBacklog", err)
	}
	return r.N, nullMicros(r.Oldest), nil
}
