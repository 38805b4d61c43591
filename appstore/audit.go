package appstore

import (
	"github.com/jmoiron/sqlx"

	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/oktasync/oktasync/errkind"
)

func (s *sqlStore) RecordAudit(ctx context.Context, e AuditEvent) error {
	if e.Actor == "" {
		e.Actor = ActorFrom(ctx).String()
	}
	at := s.micros()
	if !e.Time.IsZero() {
		at = e.Time.UnixMicro()
	}
	body := "{}"
	if len(e.Changes) > 0 {
		b, err := marshalJSON(e.Changes)
		if err != nil {
			return err
		}
		body = b
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO audit_events (at, tenant_id, actor, operation, resource_type, resource_id, changes) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		at, e.TenantID, e.Actor, e.Operation, e.ResourceType, e.ResourceID, body)
	return s.wrap("appstore.RecordAudit", err)
}

func (s *sqlStore) ListAudit(ctx context.Context, q AuditQuery) ([]AuditEvent, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	where := "1=1"
	var args []any
	if q.TenantID != "" {
		where += " AND tenant_id = ?"
		args = append(args, q.TenantID)
	}
	if q.ResourceID != "" {
		where += " AND resource_id = ?"
		args = append(args, q.ResourceID)
	}
	if q.Actor != "" {
		if strings.Contains(q.Actor, ":") {
			where += " AND actor = ?"
			args = append(args, q.Actor)
		} else { // a kind: every actor of it
			where += " AND (actor = ? OR substr(actor, 1, ?) = ?)"
			args = append(args, q.Actor, len(q.Actor)+1, q.Actor+":")
		}
	}
	if !q.Since.IsZero() {
		where += " AND at >= ?"
		args = append(args, q.Since.UnixMicro())
	}
	if !q.Until.IsZero() {
		where += " AND at < ?"
		args = append(args, q.Until.UnixMicro())
	}
	if q.BeforeID > 0 {
		where += " AND id < ?"
		args = append(args, q.BeforeID)
	}
	var rows []struct {
		ID           int64  `db:"id"`
		At           int64  `db:"at"`
		TenantID     string `db:"tenant_id"`
		Actor        string `db:"actor"`
		Operation    string `db:"operation"`
		ResourceType string `db:"resource_type"`
		ResourceID   string `db:"resource_id"`
		Changes      string `db:"changes"`
	}
	if err := s.rdb.SelectContext(ctx, &rows, s.q(`SELECT id, at, tenant_id, actor, operation, resource_type, resource_id, changes FROM audit_events WHERE `+where+` ORDER BY id DESC LIMIT ?`),
		append(args, q.Limit)...); err != nil {
		return nil, s.wrap("appstore.ListAudit", err)
	}
	out := make([]AuditEvent, 0, len(rows))
	for _, r := range rows {
		e := AuditEvent{ID: r.ID, Time: fromMicros(r.At), TenantID: r.TenantID, Actor: r.Actor, Operation: r.Operation,
			ResourceType: r.ResourceType, ResourceID: r.ResourceID}
		if err := json.Unmarshal([]byte(r.Changes), &e.Changes); err != nil {
			return nil, errkind.E("appstore.ListAudit", errkind.Permanent, "corrupt audit event", err)
		}
		out = append(out, e)
	}
	return out, nil
}

func (s *sqlStore) EnqueueMail(ctx context.Context, m Mail) error {
	return s.insertMail(ctx, s.db, m)
}

func (s *sqlStore) insertMail(ctx context.Context, q sqlx.ExecerContext, m Mail) error {
	if m.To == "" {
		return errkind.Errorf("appstore.EnqueueMail", errkind.Invalid, "mail has no recipient")
	}
	now := s.micros()
	next := now
	if !m.NextAttempt.IsZero() {
		next = m.NextAttempt.UnixMicro()
	}
	_, err := q.ExecContext(ctx, s.q(`INSERT INTO mail_queue (tenant_id, recipient, subject, body, attempts, next_attempt, last_error, created_at) VALUES (?, ?, ?, ?, 0, ?, '', ?)`),
		m.TenantID, m.To, m.Subject, m.Body, next, now)
	return s.wrap("appstore.EnqueueMail", err)
}

// WriteOption adds work to a user write (CreateUser, UpdateUser), done inside its
// transaction.
type WriteOption func(*writeOptions)

type writeOptions struct {
	mail []func(old *User, u User) (Mail, bool)
}

// WithMail queues the mail compose returns for the user as written (old is the user
// before an update, nil on a create) in the write's own transaction, so that the write
// and its mail commit together or not at all: a server killed in between loses
// neither. compose answering false queues nothing; an update that changes nothing
// calls it not at all.
func WithMail(compose func(old *User, u User) (Mail, bool)) WriteOption {
	return func(o *writeOptions) { o.mail = append(o.mail, compose) }
}

// queueMail runs the WithMail options of a user write in its transaction.
func (s *sqlStore) queueMail(ctx context.Context, tx *sqlx.Tx, old *User, u User, opts []WriteOption) error {
	var o writeOptions
	for _, opt := range opts {
		opt(&o)
	}
	for _, compose := range o.mail {
		if m, ok := compose(old, u); ok {
			if err := s.insertMail(ctx, tx, m); err != nil {
				return err
			}
		}
	}
	return nil
}

type mailRow struct {
	ID          int64  `db:"id"`
	TenantID    string `db:"tenant_id"`
	To          string `db:"recipient"`
	Subject     string `db:"subject"`
	Body        string `db:"body"`
	Attempts    int    `db:"attempts"`
	NextAttempt int64  `db:"next_attempt"`
	LastError   string `db:"last_error"`
	SentAt      *int64 `db:"sent_at"`
	CreatedAt   int64  `db:"created_at"`
}

func (s *sqlStore) DueMail(ctx context.Context, limit int) ([]Mail, error) {
	if limit <= 0 {
		limit = 50
	}
	var rows []mailRow
	if err := s.rdb.SelectContext(ctx, &rows, s.q(`SELECT id, tenant_id, recipient, subject, body, attempts, next_attempt, last_error, sent_at, created_at
		FROM mail_queue WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_attempt <= ? ORDER BY next_attempt, id LIMIT ?`), s.micros(), limit); err != nil {
		return nil, s.wrap("appstore.DueMail", err)
	}
	out := make([]Mail, len(rows))
	for i, r := range rows {
		out[i] = Mail{ID: r.ID, TenantID: r.TenantID, To: r.To, Subject: r.Subject, Body: r.Body, Attempts: r.Attempts,
			NextAttempt: fromMicros(r.NextAttempt), LastError: r.LastError, Created: fromMicros(r.CreatedAt)}
	}
	return out, nil
}

// QueuedMail counts the mails neither sent nor given up: the mail queue's depth.
func (s *sqlStore) QueuedMail(ctx context.Context) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM mail_queue WHERE sent_at IS NULL AND gave_up_at IS NULL`); err != nil {
		return 0, s.wrap("appstore.QueuedMail", err)
	}
	return n, nil
}

// MarkMail stores the outcome of a delivery attempt: m.Sent set means delivered,
// m.GaveUp set means abandoned; otherwise m.Attempts, m.LastError and m.NextAttempt say
// when to try again.
func (s *sqlStore) MarkMail(ctx context.Context, m Mail) error {
	var sent, gaveUp any
	if !m.Sent.IsZero() {
		sent = m.Sent.UnixMicro()
	}
	if !m.GaveUp.IsZero() {
		gaveUp = m.GaveUp.UnixMicro()
	}
	next := m.NextAttempt
	if next.IsZero() {
		next = time.UnixMicro(s.micros())
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE mail_queue SET attempts = ?, last_error = ?, next_attempt = ?, sent_at = ?, gave_up_at = ? WHERE id = ?`),
		m.Attempts, m.LastError, next.UnixMicro(), sent, gaveUp, m.ID)
	if err != nil {
		return s.wrap("appstore.MarkMail", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errkind.Errorf("appstore.MarkMail", errkind.NotFound, "no mail %d", m.ID)
	}
	return nil
}
