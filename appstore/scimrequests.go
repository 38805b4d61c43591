package appstore

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/resource"
)

// SCIMRequest is one request to the SCIM endpoint, as the request log keeps it. Bodies are
// stored as given: the log's writer redacts and caps them before they get here.
type SCIMRequest struct {
	ID           int64
	Time         time.Time
	TenantID     string // "" when no credential told the tenant (a 401)
	CredentialID string // the credential that authenticated the request, if any
	Method       string
	Path         string // the path below the server root, with the query string
	Status       int
	Duration     time.Duration
	UserAgent    string
	RequestID    string
	// ScimType and Detail are those of the SCIM error answered, if any.
	ScimType          string
	Detail            string
	RequestBody       string
	RequestTruncated  bool // the request body was longer than what is kept
	ResponseBody      string
	ResponseTruncated bool
}

// SCIMRequestQuery selects entries of the SCIM request log, newest first.
type SCIMRequestQuery struct {
	TenantID string // "" for every tenant and for requests of none
	NoTenant bool   // only requests no credential told the tenant of (TenantID is ignored)
	// StatusClass selects statuses 100·N to 100·N+99 (4 for 4xx); 0 selects all.
	StatusClass int
	Since       time.Time // zero for no lower bound; inclusive
	Until       time.Time // zero for no upper bound; exclusive
	// After is the cursor: the ID of the last entry of the previous page (0 for the first
	// page). Entries are listed newest first, so a page holds smaller IDs than After.
	After int64
	Limit int // 0 means 100
}

// SCIMRequestPage is one page of the SCIM request log.
type SCIMRequestPage struct {
	Items []SCIMRequest
	Next  int64 // the cursor of the next page; 0 on the last page
}

// SCIMLogStore keeps the SCIM request log.
type SCIMLogStore interface {
	// AppendSCIMRequests inserts a batch of log entries in one transaction; their IDs
	// and Time, when zero, are assigned by the store.
	AppendSCIMRequests(ctx context.Context, reqs []SCIMRequest) error
	ListSCIMRequests(ctx context.Context, q SCIMRequestQuery) (SCIMRequestPage, error)
	// PruneSCIMRequests deletes up to limit entries older than before and returns how
	// many it deleted; callers repeat until it returns fewer than limit, so that no one
	// statement holds the database for long.
	PruneSCIMRequests(ctx context.Context, before time.Time, limit int) (int, error)
}

// ParseStatusClass reads a status class such as "4xx" (or "4"), for SCIMRequestQuery.
func ParseStatusClass(s string) (int, error) {
	t := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "xx")
	if len(t) == 1 && t[0] >= '1' && t[0] <= '5' {
		return int(t[0] - '0'), nil
	}
	return 0, errkind.Errorf("appstore.ParseStatusClass", errkind.Invalid, "status class %q: want 1xx, 2xx, 3xx, 4xx or 5xx", s)
}

const scimRequestCols = `at, tenant_id, credential_id, method, path, status, duration_us, user_agent, request_id, scim_type, detail, request_body, request_truncated, response_body, response_truncated`

// scimRequestsPerInsert bounds the rows of one INSERT (16 columns each), well under both
// backends' limits on bound parameters.
const scimRequestsPerInsert = 100

func (s *sqlStore) AppendSCIMRequests(ctx context.Context, reqs []SCIMRequest) error {
	const op = "appstore.AppendSCIMRequests"
	if len(reqs) == 0 {
		return nil
	}
	// On SQLite, the statement of a full chunk is prepared once and cached (outside the
	// transaction, which holds the only connection): parsing an INSERT of 1500
	// parameters is a large share of its cost in the process. PostgreSQL parses it in
	// the server, and a statement prepared on another connection would cost the
	// transaction an extra round trip per chunk.
	full := s.q(scimRequestInsert(scimRequestsPerInsert))
	cached := s.d.name() == "sqlite" && len(reqs) >= scimRequestsPerInsert
	if cached {
		if _, err := s.prepared(ctx, s.db, full); err != nil {
			return s.wrap(op, err)
		}
	}
	now := s.micros()
	return s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		for start := 0; start < len(reqs); start += scimRequestsPerInsert {
			chunk := reqs[start:min(start+scimRequestsPerInsert, len(reqs))]
			args := make([]any, 0, 15*len(chunk))
			for _, r := range chunk {
				at := now
				if !r.Time.IsZero() {
					at = r.Time.UnixMicro()
				}
				args = append(args, at, dbText(r.TenantID), dbText(r.CredentialID), dbText(r.Method), dbText(r.Path), r.Status,
					r.Duration.Microseconds(), dbText(r.UserAgent), dbText(r.RequestID), dbText(r.ScimType), dbText(r.Detail),
					dbText(r.RequestBody), r.RequestTruncated, dbText(r.ResponseBody), r.ResponseTruncated)
			}
			var err error
			if cached && len(chunk) == scimRequestsPerInsert {
				var st *sqlx.Stmt
				if st, err = s.prepared(ctx, tx, full); err == nil {
					_, err = st.ExecContext(ctx, args...)
				}
			} else {
				_, err = tx.ExecContext(ctx, s.q(scimRequestInsert(len(chunk))), args...)
			}
			if err != nil {
				return s.wrap(op, err)
			}
		}
		return nil
	})
}

// scimRequestInsert is the INSERT of n log entries.
func scimRequestInsert(n int) string {
	row := "(" + placeholders(15) + ")"
	return `INSERT INTO scim_requests (` + scimRequestCols + `) VALUES ` + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// dbText makes s storable as TEXT on both backends: PostgreSQL refuses NUL bytes and
// invalid UTF-8, and a log entry must never fail its batch over the bytes a client sent.
func dbText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return s
}

type scimRequestRow struct {
	ID                int64  `db:"id"`
	At                int64  `db:"at"`
	TenantID          string `db:"tenant_id"`
	CredentialID      string `db:"credential_id"`
	Method            string `db:"method"`
	Path              string `db:"path"`
	Status            int    `db:"status"`
	DurationUS        int64  `db:"duration_us"`
	UserAgent         string `db:"user_agent"`
	RequestID         string `db:"request_id"`
	ScimType          string `db:"scim_type"`
	Detail            string `db:"detail"`
	RequestBody       string `db:"request_body"`
	RequestTruncated  bool   `db:"request_truncated"`
	ResponseBody      string `db:"response_body"`
	ResponseTruncated bool   `db:"response_truncated"`
}

func (s *sqlStore) ListSCIMRequests(ctx context.Context, q SCIMRequestQuery) (SCIMRequestPage, error) {
	const op = "appstore.ListSCIMRequests"
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.StatusClass < 0 || q.StatusClass > 5 {
		return SCIMRequestPage{}, errkind.Errorf(op, errkind.Invalid, "status class %d: want 1 to 5", q.StatusClass)
	}
	var where []string
	var args []any
	switch {
	case q.NoTenant:
		where = append(where, "tenant_id = ''")
	case q.TenantID != "":
		where = append(where, "tenant_id = ?")
		args = append(args, q.TenantID)
	}
	if q.StatusClass != 0 {
		where = append(where, "status >= ? AND status < ?")
		args = append(args, 100*q.StatusClass, 100*q.StatusClass+100)
	}
	if !q.Since.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, q.Since.UnixMicro())
	}
	if !q.Until.IsZero() {
		where = append(where, "at < ?")
		args = append(args, q.Until.UnixMicro())
	}
	if q.After > 0 {
		where = append(where, "id < ?")
		args = append(args, q.After)
	}
	cond := "1=1"
	if len(where) > 0 {
		cond = strings.Join(where, " AND ")
	}
	var rows []scimRequestRow
	if err := s.rdb.SelectContext(ctx, &rows, s.q(`SELECT id, `+scimRequestCols+` FROM scim_requests WHERE `+cond+` ORDER BY id DESC LIMIT ?`),
		append(args, q.Limit+1)...); err != nil {
		return SCIMRequestPage{}, s.wrap(op, err)
	}
	page := SCIMRequestPage{Items: make([]SCIMRequest, 0, min(len(rows), q.Limit))}
	for i, r := range rows {
		if i == q.Limit {
			page.Next = page.Items[i-1].ID
			break
		}
		page.Items = append(page.Items, SCIMRequest{ID: r.ID, Time: fromMicros(r.At), TenantID: r.TenantID, CredentialID: r.CredentialID,
			Method: r.Method, Path: r.Path, Status: r.Status, Duration: time.Duration(r.DurationUS) * time.Microsecond,
			UserAgent: r.UserAgent, RequestID: r.RequestID, ScimType: r.ScimType, Detail: r.Detail,
			RequestBody: r.RequestBody, RequestTruncated: r.RequestTruncated, ResponseBody: r.ResponseBody, ResponseTruncated: r.ResponseTruncated})
	}
	return page, nil
}

func (s *sqlStore) PruneSCIMRequests(ctx context.Context, before time.Time, limit int) (int, error) {
	const op = "appstore.PruneSCIMRequests"
	if limit <= 0 {
		return 0, errkind.Errorf(op, errkind.Invalid, "prune limit %d: want a positive number", limit)
	}
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM scim_requests WHERE id IN (SELECT id FROM scim_requests WHERE at < ? ORDER BY at LIMIT ?)`),
		before.UnixMicro(), limit)
	if err != nil {
		return 0, s.wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.wrap(op, fmt.Errorf("rows affected: %w", err))
	}
	return int(n), nil
}

// SCIMRequestResource is r as the API shows it.
func SCIMRequestResource(r SCIMRequest) resource.SCIMRequest {
	return resource.SCIMRequest{ID: r.ID, Time: r.Time, Tenant: r.TenantID, Credential: r.CredentialID, Method: r.Method,
		Path: r.Path, Status: r.Status, DurationMs: float64(r.Duration.Microseconds()) / 1000, UserAgent: r.UserAgent,
		RequestID: r.RequestID, ScimType: r.ScimType, Detail: r.Detail, RequestBody: r.RequestBody, RequestTruncated: r.RequestTruncated,
		ResponseBody: r.ResponseBody, ResponseTruncated: r.ResponseTruncated}
}
