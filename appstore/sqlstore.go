package appstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // PostgreSQL driver
	"modernc.org/sqlite"

	"github.com/oktasync/oktasync/errkind"
)

// sqlStore implements Store over sqlx for both backends; d carries their differences.
type sqlStore struct {
	// db runs writes, and every transaction. On SQLite it is the single writer
	// connection; rdb is the pool reads outside transactions use (the same pool as db
	// on PostgreSQL), so that a slow read never queues a write or another read.
	db  *sqlx.DB
	rdb *sqlx.DB
	d   dialect
	now func() time.Time

	// basicCache remembers recently verified Basic passwords (keyed by a hash of the
	// password and the stored hash) so that a client sending many requests pays the
	// password-hashing cost once, not per request.
	basicMu    sync.Mutex
	basicCache map[string]time.Time

	stmts   stmtCache
	rstmts  stmtCache // statements prepared on rdb when it is a pool of its own
	rebound reboundCache
	auth    authCache

	// pending holds the events of running transactions (*sqlx.Tx -> *pendingEvents).
	pending sync.Map
	// horizon is the highest event seq proven safe to serve (see safeHorizon).
	horizon atomic.Int64

	// file is the SQLite database file as opened (zero on PostgreSQL).
	file dbFile

	// heavy bounds the costly listings running at once; see heavyGate.
	heavy *heavyGate

	// bg counts background bookkeeping writes, waited for by Close.
	bg sync.WaitGroup
}

func openPostgres(ctx context.Context, url string) (*sqlStore, error) {
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		return nil, errkind.E("appstore.Open", errkind.Invalid, "bad PostgreSQL URL "+redactURL(url), err)
	}
	// As many idle connections as open ones: a burst of Okta's pushes would otherwise
	// close and reopen connections (a PostgreSQL backend each) between requests. The
	// idle time still returns them after a quiet spell.
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return finishOpen(ctx, db, postgres{})
}

func openSQLite(ctx context.Context, path string) (*sqlStore, error) {
	if path == "" {
		return nil, errkind.Errorf("appstore.Open", errkind.Invalid, "sqlite URL has no file path: want sqlite:PATH")
	}
	// One connection: SQLite allows one writer at a time, and serialising in the pool
	// rather than in the database means no SQLITE_BUSY inside this process. busy_timeout
	// covers other processes (the CLI next to a running server); IMMEDIATE transactions
	// take the write lock up front so a read-then-write cannot deadlock.
	dsn := "file:" + sqliteURIPath(path) + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sqlx.Open("sqlite", dsn)
	if err != nil {
		return nil, errkind.E("appstore.Open", errkind.Invalid, "bad SQLite path "+path, err)
	}
	db.SetMaxOpenConns(1)
	s, err := finishOpen(ctx, db, sqliteDialect{})
	if err != nil {
		return nil, err
	}
	// Readers beside the writer: WAL lets them read the last committed state while the
	// writer writes. They open the file read-only, so that one opened after the file was
	// deleted fails instead of creating an empty database.
	rdb, err := sqlx.Open("sqlite", "file:"+sqliteURIPath(path)+"?mode=ro&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		s.Close()
		return nil, errkind.E("appstore.Open", errkind.Invalid, "bad SQLite path "+path, err)
	}
	rdb.SetMaxOpenConns(SQLiteReaders)
	rdb.SetMaxIdleConns(SQLiteReaders)
	s.rdb = rdb
	// Half the readers for costly listings, one of them per tenant: the other half
	// is always free for the look-ups every request makes.
	s.heavy = newHeavyGate(SQLiteReaders/2, 1)
	// The file SQLite opened, as SQLite names it: the DSN is a URI, in which a path
	// holding '#' or '?' does not name what it seems to.
	opened := path
	if err := db.GetContext(ctx, &opened, `SELECT file FROM pragma_database_list WHERE name = 'main'`); err != nil {
		s.Close()
		return nil, s.wrap("appstore.Open", err)
	}
	if s.file, err = openedFile(opened); err != nil {
		s.Close()
		return nil, errkind.E("appstore.Open", errkind.Permanent, "reading the SQLite file "+path, err)
	}
	return s, nil
}

// sqliteURIPath escapes the characters that would end the path part of a SQLite URI
// filename, so that a path holding '?' or '#' names that very file.
func sqliteURIPath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// SQLiteReaders is the size of the SQLite store's pool of read connections.
const SQLiteReaders = 4

// postgresHeavy is how many costly listings may run at once on PostgreSQL: half its
// pool of connections (see openPostgres), a quarter of those per tenant.
const postgresHeavy = 16

func finishOpen(ctx context.Context, db *sqlx.DB, d dialect) (*sqlStore, error) {
	s := &sqlStore{db: db, rdb: db, heavy: newHeavyGate(postgresHeavy, postgresHeavy/4), d: d, now: time.Now, basicCache: map[string]time.Time{}}
	if err := s.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.checkSchemaVersion(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *sqlStore) Backend() string { return s.d.name() }

// Close releases the cached statements and the database.
func (s *sqlStore) Close() error {
	s.bg.Wait()
	s.closeStmts()
	if s.rdb != s.db {
		s.rdb.Close()
	}
	return s.db.Close()
}

// Ping checks that the database answers.
func (s *sqlStore) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return errkind.E("appstore.Ping", errkind.Transient, "database unreachable", err)
	}
	return nil
}

// Ready checks the database answers, its schema is this binary's, and its file is the
// one opened.
func (s *sqlStore) Ready(ctx context.Context) error {
	const op = "appstore.Ready"
	if err := s.Ping(ctx); err != nil {
		return err
	}
	if err := s.file.check(); err != nil {
		return err
	}
	v, err := s.currentVersion(ctx, s.db)
	if err != nil {
		return s.wrap(op, err)
	}
	if latest := LatestVersion(); v != latest {
		if v == 0 {
			return errkind.Errorf(op, errkind.Transient, "database schema missing (was the database dropped or replaced?); run oktasync migrate or restart")
		}
		return errkind.Errorf(op, errkind.Transient, "database schema at version %d, this oktasync needs %d; run oktasync migrate", v, latest)
	}
	return nil
}

// q rebinds a ?-placeholder query for the backend.
func (s *sqlStore) q(query string) string {
	if s.d.name() != "postgres" {
		return query // SQLite takes ? as written
	}
	return s.rebound.get(query, s.db.Rebind)
}

// reboundCache remembers the PostgreSQL form ($1, $2, ...) of the store's fixed
// statements, which the hot path would otherwise rewrite on every call. It stops
// growing at reboundMax entries, so queries built per request (filters) cannot fill it.
type reboundCache struct {
	mu sync.RWMutex
	m  map[string]string
}

const reboundMax = 2048

func (c *reboundCache) get(query string, rebind func(string) string) string {
	c.mu.RLock()
	r, ok := c.m[query]
	c.mu.RUnlock()
	if ok {
		return r
	}
	r = rebind(query)
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]string{}
	}
	if len(c.m) < reboundMax {
		c.m[query] = r
	}
	c.mu.Unlock()
	return r
}

// inTx runs fn in a transaction, committing when fn returns nil and rolling back otherwise.
func (s *sqlStore) inTx(ctx context.Context, op string, fn func(tx *sqlx.Tx) error) error {
	if err := s.file.check(); err != nil {
		return err
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return s.wrap(op, err)
	}
	if err := fn(tx); err != nil {
		s.dropEvents(tx)
		_ = tx.Rollback()
		return err
	}
	if err := s.flushEvents(ctx, tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.wrap(op, err)
	}
	return nil
}

// wrap turns a database error into an errkind error; errors that already carry a kind
// pass through unchanged.
func (s *sqlStore) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var ke *errkind.Error
	if errors.As(err, &ke) {
		return err
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return errkind.E(op, errkind.NotFound, "not found", err)
	case s.d.isUnique(err):
		return errkind.E(op, errkind.Conflict, "already exists", err)
	case s.d.isBadText(err):
		// validText keeps such values out; this catches any path that missed it.
		return errkind.E(op, errkind.Invalid, "a value contains a NUL character or invalid UTF-8", err)
	case s.d.isForeignKey(err):
		return errkind.E(op, errkind.Invalid, "refers to something that does not exist", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errkind.E(op, errkind.Transient, "interrupted", err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) && (se.Code()&0xff == 5 || se.Code()&0xff == 6) { // SQLITE_BUSY, SQLITE_LOCKED
		return errkind.E(op, errkind.Transient, "database busy", err)
	}
	if msg := s.d.unavailable(err); msg != "" {
		return errkind.E(op, errkind.Transient, msg, err)
	}
	if connectionLost(err) {
		return errkind.E(op, errkind.Transient, "database connection lost", err)
	}
	return errkind.E(op, errkind.Other, "", fmt.Errorf("database: %w", err))
}

// connectionLost reports whether err is the connection to the database failing (refused,
// reset, closed mid-answer) rather than the database refusing the statement: such a
// request changed nothing that was committed, and trying again may succeed.
func connectionLost(err error) bool {
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.As(err, &ne)
}

func (s *sqlStore) micros() int64 { return s.now().UnixMicro() }

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func nullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// redactURL hides a password in a database URL so it can be shown in messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// withIDs returns lead followed by ids: the arguments of a query whose last
// placeholders are IN (ids).
func withIDs(ids []string, lead ...any) []any {
	args := make([]any, 0, len(lead)+len(ids))
	args = append(args, lead...)
	for _, id := range ids {
		args = append(args, id)
	}
	return args
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

const auditInsert = `INSERT INTO audit_events (at, tenant_id, actor, operation, resource_type, resource_id, changes) VALUES (?, ?, ?, ?, ?, ?, ?)`

// audit inserts one audit event inside tx, attributed to the context's actor.
func (s *sqlStore) audit(ctx context.Context, tx *sqlx.Tx, tenantID, op, resType, resID string, changes map[string]Change) error {
	body := "{}"
	if len(changes) > 0 {
		b, err := marshalJSON(changes)
		if err != nil {
			return err
		}
		body = b
	}
	row := auditRow{s.micros(), tenantID, ActorFrom(ctx).String(), op, resType, resID, body}
	if s.d.name() == "postgres" {
		// Inserted at the commit, with the first event in the same statement
		// (flushEvents): a round trip fewer for every write.
		pe := s.pendingOf(tx)
		pe.audits = append(pe.audits, row)
		return nil
	}
	return s.insertAudit(ctx, tx, row)
}

// auditRow is one audit event's values, in auditInsert's order.
type auditRow struct {
	at                               int64
	tenantID, actor, op, resType, id string
	changes                          string
}

func (r auditRow) args() []any {
	return []any{r.at, r.tenantID, r.actor, r.op, r.resType, r.id, r.changes}
}

func (s *sqlStore) insertAudit(ctx context.Context, tx *sqlx.Tx, r auditRow) error {
	st, err := s.prepared(ctx, tx, s.q(auditInsert))
	if err != nil {
		return s.wrap("appstore.audit", err)
	}
	_, err = st.ExecContext(ctx, r.args()...)
	return s.wrap("appstore.audit", err)
}
