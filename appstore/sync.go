package appstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/event"
)

// The reconciliation worker's part of the store: each tenant's Okta connection, the
// last synchronised state of every linked user, the change counters that make an
// incremental sync O(changed), the run history and the per-tenant run lock.

// OktaConnection is how the reconciliation worker reaches a tenant's Okta org.
type OktaConnection struct {
	TenantID string
	OrgURL   string
	AppID    string
	// EncryptedToken is the API token as sealed by the caller; the store keeps the bytes
	// as given and never sees the token itself.
	EncryptedToken []byte
	Created        time.Time
	Updated        time.Time
}

// SyncUser is a user with its change counters: AppRev counts writes made in the app
// (any actor but "scim" and "syncer"), SyncedRev is the AppRev last synchronised.
type SyncUser struct {
	User
	AppRev    int64
	SyncedRev int64
	// AppChanged names the top-level attributes ("userName", "active", "name",
	// "emails", "title", an extension URN...) that app writes changed since the last
	// sync; nil means unknown, to be taken as all of them.
	AppChanged []string
}

// AppEdited reports whether app writes since the last sync may have changed attr.
func (u SyncUser) AppEdited(attr string) bool {
	if u.AppChanged == nil {
		return true
	}
	for _, a := range u.AppChanged {
		if a == attr {
			return true
		}
	}
	return false
}

// Dirty reports whether the user has app changes that were not synchronised yet (or has
// never been looked at by the worker).
func (u SyncUser) Dirty() bool { return u.AppRev > u.SyncedRev }

// SyncState is what the worker remembers about a user between runs.
type SyncState struct {
	TenantID   string
	UserID     string
	OktaUserID string
	// Snapshot holds the mapped attributes as last agreed by both sides, keyed by the
	// AppUser profile name; it is the base of the three-way merge.
	Snapshot map[string]any
	// OktaStatus is the AppUser status as last seen ("" when never linked).
	OktaStatus string
	// LastError is the last failure synchronising this user ("" after a success).
	LastError string
	// Unmatched is set when the user could not be matched to an Okta user and the
	// tenant's policy forbids creating one.
	Unmatched bool
	Updated   time.Time
}

// ScanQuery selects users for the worker, in id order (keyset paging).
type ScanQuery struct {
	AfterID string // only ids greater than this
	Limit   int    // 0 means 500
	Dirty   bool   // only users with AppRev > SyncedRev
	Linked  bool   // only users linked to an Okta user
}

// Sync run statuses.
const (
	RunRunning     = "running"
	RunSucceeded   = "succeeded"
	RunFailed      = "failed"
	RunInterrupted = "interrupted" // the process died or was stopped mid-run
)

// SyncRun is one run of the reconciliation worker for a tenant.
type SyncRun struct {
	ID       int64
	TenantID string
	Trigger  string // "schedule", "cli", "api"
	Mode     string // "incremental" or "full"
	DryRun   bool
	Status   string
	// Processed and Total measure progress; Total is 0 while unknown.
	Processed int64
	Total     int64
	// Counts holds the number of actions by name (e.g. "okta.assign", "app.update").
	Counts   map[string]int64
	Error    string
	Started  time.Time
	Updated  time.Time
	Finished time.Time // zero while running
}

// SyncRunError is one user's failure in a run.
type SyncRunError struct {
	RunID    int64
	UserID   string
	UserName string
	Action   string
	Message  string
	Time     time.Time
}

// Lookup keys for FindSyncUsers.
const (
	ByID         = "id"
	ByOktaUserID = "okta_user_id"
	ByExternalID = "external_id"
)

// appActor reports whether writes by a count as changes made in the app: everything
// but the SCIM endpoint (changes that came from the identity provider) and the worker
// itself. It is what keeps changes from echoing back to Okta.
func appActor(a Actor) bool { return a.Kind != "scim" && a.Kind != "syncer" }

// bumpAppRev counts an app write of user id inside tx and adds the attributes it
// changed to the user's app_changed set.
func (s *sqlStore) bumpAppRev(ctx context.Context, tx *sqlx.Tx, id string, changes map[string]Change) error {
	const op = "appstore.bumpAppRev"
	if !appActor(ActorFrom(ctx)) {
		return nil
	}
	var cur sql.NullString
	if err := tx.GetContext(ctx, &cur, s.q(`SELECT app_changed FROM users WHERE id = ?`), id); err != nil {
		return s.wrap(op, err)
	}
	set := map[string]bool{}
	if cur.Valid {
		var old []string
		if err := json.Unmarshal([]byte(cur.String), &old); err != nil {
			cur.Valid = false // unreadable: unknown, so everything counts as changed
		}
		for _, k := range old {
			set[k] = true
		}
	}
	var val any // NULL stays NULL: unknown already means everything
	if cur.Valid || len(changes) > 0 {
		for k := range changes {
			set[k] = true
		}
		list := make([]string, 0, len(set))
		for k := range set {
			list = append(list, k)
		}
		sort.Strings(list)
		b, _ := json.Marshal(list)
		val = string(b)
	}
	_, err := tx.ExecContext(ctx, s.q(`UPDATE users SET app_rev = app_rev + 1, app_changed = ? WHERE id = ?`), val, id)
	return s.wrap(op, err)
}

type syncUserRow struct {
	userRow
	AppRev     int64          `db:"app_rev"`
	SyncedRev  int64          `db:"synced_rev"`
	AppChanged sql.NullString `db:"app_changed"`
}

const syncUserCols = userCols + `, users.app_rev, users.synced_rev, users.app_changed`

func (r syncUserRow) syncUser() (SyncUser, error) {
	u, err := r.user()
	su := SyncUser{User: u, AppRev: r.AppRev, SyncedRev: r.SyncedRev}
	if r.AppChanged.Valid {
		su.AppChanged = []string{}
		if json.Unmarshal([]byte(r.AppChanged.String), &su.AppChanged) != nil {
			su.AppChanged = nil
		}
	}
	return su, err
}

func (s *sqlStore) ScanSyncUsers(ctx context.Context, tenantID string, q ScanQuery) ([]SyncUser, error) {
	if q.Limit <= 0 {
		q.Limit = 500
	}
	where := `users.tenant_id = ? AND users.deleted_at IS NULL AND users.id > ?`
	if q.Dirty {
		where += ` AND users.app_rev > users.synced_rev`
	}
	if q.Linked {
		where += ` AND users.okta_user_id IS NOT NULL`
	}
	var rows []syncUserRow
	if err := s.rdb.SelectContext(ctx, &rows, s.q(`SELECT `+syncUserCols+` FROM users WHERE `+where+` ORDER BY users.id LIMIT ?`),
		tenantID, q.AfterID, q.Limit); err != nil {
		return nil, s.wrap("appstore.ScanSyncUsers", err)
	}
	out := make([]SyncUser, 0, len(rows))
	for _, r := range rows {
		u, err := r.syncUser()
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

func (s *sqlStore) CountSyncUsers(ctx context.Context, tenantID string, q ScanQuery) (int64, error) {
	where := `users.tenant_id = ? AND users.deleted_at IS NULL AND users.id > ?`
	if q.Dirty {
		where += ` AND users.app_rev > users.synced_rev`
	}
	if q.Linked {
		where += ` AND users.okta_user_id IS NOT NULL`
	}
	var n int64
	if err := s.rdb.GetContext(ctx, &n, s.q(`SELECT count(*) FROM users WHERE `+where), tenantID, q.AfterID); err != nil {
		return 0, s.wrap("appstore.CountSyncUsers", err)
	}
	return n, nil
}

func (s *sqlStore) FindSyncUsers(ctx context.Context, tenantID, by string, values []string) (map[string]SyncUser, error) {
	const op = "appstore.FindSyncUsers"
	switch by {
	case ByID, ByOktaUserID, ByExternalID:
	default:
		return nil, errkind.Errorf(op, errkind.Invalid, "cannot look users up by %q", by)
	}
	out := map[string]SyncUser{}
	for len(values) > 0 {
		chunk := values
		if len(chunk) > 500 {
			chunk = chunk[:500]
		}
		values = values[len(chunk):]
		args := withIDs(chunk, tenantID)
		var rows []syncUserRow
		// No ORDER BY: with one, SQLite prefers walking an index in id order over all
		// the tenant's users to looking each value up (measured: seconds per call at a
		// million users).
		if err := s.rdb.SelectContext(ctx, &rows, s.q(`SELECT `+syncUserCols+` FROM users WHERE users.tenant_id = ? AND users.deleted_at IS NULL AND users.`+by+` IN (`+placeholders(len(chunk))+`)`), args...); err != nil {
			return nil, s.wrap(op, err)
		}
		for _, r := range rows {
			u, err := r.syncUser()
			if err != nil {
				return nil, err
			}
			key := map[string]string{ByID: u.ID, ByOktaUserID: u.OktaUserID, ByExternalID: u.ExternalID}[by]
			if o, dup := out[key]; !dup || u.ID < o.ID { // the smallest id wins when a value is shared
				out[key] = u
			}
		}
	}
	return out, nil
}

type syncStateRow struct {
	UserID     string `db:"user_id"`
	TenantID   string `db:"tenant_id"`
	OktaUserID string `db:"okta_user_id"`
	Snapshot   string `db:"snapshot"`
	OktaStatus string `db:"okta_status"`
	LastError  string `db:"last_error"`
	Unmatched  bool   `db:"unmatched"`
	UpdatedAt  int64  `db:"updated_at"`
}

func (s *sqlStore) SyncStates(ctx context.Context, tenantID string, userIDs []string) (map[string]SyncState, error) {
	out := map[string]SyncState{}
	for len(userIDs) > 0 {
		chunk := userIDs
		if len(chunk) > 500 {
			chunk = chunk[:500]
		}
		userIDs = userIDs[len(chunk):]
		args := withIDs(chunk, tenantID)
		var rows []syncStateRow
		if err := s.rdb.SelectContext(ctx, &rows, s.q(`SELECT user_id, tenant_id, okta_user_id, snapshot, okta_status, last_error, unmatched, updated_at
			FROM sync_state WHERE tenant_id = ? AND user_id IN (`+placeholders(len(chunk))+`)`), args...); err != nil {
			return nil, s.wrap("appstore.SyncStates", err)
		}
		for _, r := range rows {
			snap, err := decodeAttrs(r.Snapshot)
			if err != nil {
				return nil, err
			}
			out[r.UserID] = SyncState{TenantID: r.TenantID, UserID: r.UserID, OktaUserID: r.OktaUserID, Snapshot: snap,
				OktaStatus: r.OktaStatus, LastError: r.LastError, Unmatched: r.Unmatched, Updated: fromMicros(r.UpdatedAt)}
		}
	}
	return out, nil
}

func (s *sqlStore) SaveSyncState(ctx context.Context, st SyncState, syncedRev int64) error {
	const op = "appstore.SaveSyncState"
	if st.UserID == "" || st.TenantID == "" {
		return errkind.Errorf(op, errkind.Invalid, "sync state needs a tenant and a user")
	}
	snap, err := marshalJSON(st.Snapshot)
	if err != nil {
		return err
	}
	if st.Snapshot == nil {
		snap = "{}"
	}
	return s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO sync_state (user_id, tenant_id, okta_user_id, snapshot, okta_status, last_error, unmatched, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET okta_user_id = excluded.okta_user_id, snapshot = excluded.snapshot,
			okta_status = excluded.okta_status, last_error = excluded.last_error, unmatched = excluded.unmatched, updated_at = excluded.updated_at`),
			st.UserID, st.TenantID, st.OktaUserID, snap, st.OktaStatus, st.LastError, st.Unmatched, s.micros()); err != nil {
			return s.wrap(op, err)
		}
		if syncedRev < 0 {
			return nil
		}
		// Only forward: an app write after the worker read the user keeps app_rev ahead,
		// so the user stays dirty for the next run.
		// The set of changed attributes is emptied only if no app write came since.
		_, err := tx.ExecContext(ctx, s.q(`UPDATE users SET synced_rev = ?, app_changed = CASE WHEN app_rev = ? THEN '[]' ELSE app_changed END
			WHERE tenant_id = ? AND id = ? AND synced_rev < ?`),
			syncedRev, syncedRev, st.TenantID, st.UserID, syncedRev)
		return s.wrap(op, err)
	})
}

func (s *sqlStore) SetOktaConnection(ctx context.Context, c OktaConnection) (OktaConnection, error) {
	const op = "appstore.SetOktaConnection"
	if c.OrgURL == "" || c.AppID == "" || len(c.EncryptedToken) == 0 {
		return OktaConnection{}, errkind.Errorf(op, errkind.Invalid, "an Okta connection needs an org URL, an app id and a token")
	}
	now := s.micros()
	err := s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		t, err := s.getTenant(ctx, tx, c.TenantID, false)
		if err != nil {
			return err
		}
		before, err := s.tenantData(ctx, tx, t)
		if err != nil {
			return err
		}
		old, err := s.getOktaConnection(ctx, tx, c.TenantID)
		if err != nil && !errors.Is(err, errkind.NotFound) {
			return err
		}
		created := now
		if err == nil {
			created = old.Created.UnixMicro()
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO okta_connections (tenant_id, org_url, app_id, token_enc, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id) DO UPDATE SET org_url = excluded.org_url, app_id = excluded.app_id, token_enc = excluded.token_enc, updated_at = excluded.updated_at`),
			c.TenantID, c.OrgURL, c.AppID, encodeBytes(c.EncryptedToken), created, now); err != nil {
			return s.wrap(op, err)
		}
		c.Created, c.Updated = fromMicros(created), fromMicros(now)
		// The token is a secret: the audit trail says it changed, never what it is.
		ch := map[string]Change{"orgUrl": {Old: old.OrgURL, New: c.OrgURL}, "appId": {Old: old.AppID, New: c.AppID}, "apiToken": {New: "(set)"}}
		if err := s.audit(ctx, tx, c.TenantID, "okta.connection.set", "Tenant", c.TenantID, ch); err != nil {
			return err
		}
		after := before
		after.OktaConnection = &event.OktaConnection{OrgURL: c.OrgURL, AppID: c.AppID, Updated: c.Updated}
		return s.emitDiff(ctx, tx, event.TenantUpdated, c.TenantID, before, after)
	})
	if err != nil {
		return OktaConnection{}, err
	}
	return c, nil
}

type oktaConnRow struct {
	TenantID  string `db:"tenant_id"`
	OrgURL    string `db:"org_url"`
	AppID     string `db:"app_id"`
	TokenEnc  string `db:"token_enc"`
	CreatedAt int64  `db:"created_at"`
	UpdatedAt int64  `db:"updated_at"`
}

func (r oktaConnRow) conn() (OktaConnection, error) {
	b, err := decodeBytes(r.TokenEnc)
	if err != nil {
		return OktaConnection{}, errkind.E("appstore.OktaConnection", errkind.Permanent, "corrupt stored token", err)
	}
	return OktaConnection{TenantID: r.TenantID, OrgURL: r.OrgURL, AppID: r.AppID, EncryptedToken: b,
		Created: fromMicros(r.CreatedAt), Updated: fromMicros(r.UpdatedAt)}, nil
}

const oktaConnCols = `tenant_id, org_url, app_id, token_enc, created_at, updated_at`

func (s *sqlStore) getOktaConnection(ctx context.Context, q sqlx.QueryerContext, tenantID string) (OktaConnection, error) {
	var r oktaConnRow
	if err := sqlx.GetContext(ctx, q, &r, s.q(`SELECT `+oktaConnCols+` FROM okta_connections WHERE tenant_id = ?`), tenantID); err != nil {
		if s.wrapKind(err) == errkind.NotFound {
			return OktaConnection{}, errkind.Errorf("appstore.GetOktaConnection", errkind.NotFound, "tenant %q has no Okta connection", tenantID)
		}
		return OktaConnection{}, s.wrap("appstore.GetOktaConnection", err)
	}
	return r.conn()
}

func (s *sqlStore) GetOktaConnection(ctx context.Context, tenantID string) (OktaConnection, error) {
	return s.getOktaConnection(ctx, s.rdb, tenantID)
}

func (s *sqlStore) ListOktaConnections(ctx context.Context) ([]OktaConnection, error) {
	var rows []oktaConnRow
	if err := s.rdb.SelectContext(ctx, &rows, `SELECT `+oktaConnCols+` FROM okta_connections ORDER BY tenant_id`); err != nil {
		return nil, s.wrap("appstore.ListOktaConnections", err)
	}
	out := make([]OktaConnection, 0, len(rows))
	for _, r := range rows {
		c, err := r.conn()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (s *sqlStore) DeleteOktaConnection(ctx context.Context, tenantID string) error {
	const op = "appstore.DeleteOktaConnection"
	return s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		t, err := s.getTenant(ctx, tx, tenantID, false)
		if err != nil {
			return err
		}
		before, err := s.tenantData(ctx, tx, t)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM okta_connections WHERE tenant_id = ?`), tenantID)
		if err != nil {
			return s.wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errkind.Errorf(op, errkind.NotFound, "tenant %q has no Okta connection", tenantID)
		}
		if err := s.audit(ctx, tx, tenantID, "okta.connection.delete", "Tenant", tenantID, nil); err != nil {
			return err
		}
		after := before
		after.OktaConnection = nil
		return s.emitDiff(ctx, tx, event.TenantUpdated, tenantID, before, after)
	})
}

func encodeBytes(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func decodeBytes(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// SyncStore is the part of Store the reconciliation worker uses (see package syncer).
type SyncStore interface {
	// SetOktaConnection creates or replaces a tenant's Okta connection.
	SetOktaConnection(ctx context.Context, c OktaConnection) (OktaConnection, error)
	// GetOktaConnection returns a tenant's Okta connection, or NotFound.
	GetOktaConnection(ctx context.Context, tenantID string) (OktaConnection, error)
	// ListOktaConnections returns every tenant's Okta connection.
	ListOktaConnections(ctx context.Context) ([]OktaConnection, error)
	// DeleteOktaConnection removes a tenant's Okta connection.
	DeleteOktaConnection(ctx context.Context, tenantID string) error

	// ScanSyncUsers returns up to q.Limit users after q.AfterID in id order, so that a
	// caller can walk any number of users in bounded memory.
	ScanSyncUsers(ctx context.Context, tenantID string, q ScanQuery) ([]SyncUser, error)
	// CountSyncUsers counts the users ScanSyncUsers would walk (q.Limit is ignored).
	CountSyncUsers(ctx context.Context, tenantID string, q ScanQuery) (int64, error)
	// FindSyncUsers returns the users whose column by (ByID, ByOktaUserID or
	// ByExternalID) is one of values, keyed by that value.
	FindSyncUsers(ctx context.Context, tenantID, by string, values []string) (map[string]SyncUser, error)
	// SyncStates returns the stored sync state of the given users, keyed by user id.
	SyncStates(ctx context.Context, tenantID string, userIDs []string) (map[string]SyncState, error)
	// SaveSyncState stores a user's sync state and, when syncedRev >= 0, records in the
	// same transaction that the user's app changes up to syncedRev are synchronised.
	SaveSyncState(ctx context.Context, st SyncState, syncedRev int64) error

	// CreateSyncRun records the start of a run and returns it with its id.
	CreateSyncRun(ctx context.Context, r SyncRun) (SyncRun, error)
	// UpdateSyncRun stores a run's progress, counts, status and end.
	UpdateSyncRun(ctx context.Context, r SyncRun) error
	GetSyncRun(ctx context.Context, tenantID string, id int64) (SyncRun, error)
	// ListSyncRuns returns the latest runs, newest first ("" for every tenant).
	ListSyncRuns(ctx context.Context, tenantID string, limit int) ([]SyncRun, error)
	// InterruptSyncRuns marks the tenant's runs still "running", other than exceptID,
	// as interrupted. Called by the holder of the tenant's sync lock, it closes the
	// records of runs whose process died.
	InterruptSyncRuns(ctx context.Context, tenantID string, exceptID int64) (int, error)
	// AddSyncRunError records one user's failure in a run.
	AddSyncRunError(ctx context.Context, e SyncRunError) error
	// ListSyncRunErrors returns a run's failures in the order they happened.
	ListSyncRunErrors(ctx context.Context, runID int64, limit int) ([]SyncRunError, error)

	// LockTenantSync takes the tenant's sync lock, or fails with Conflict when another
	// run holds it. The returned func releases it. On PostgreSQL the lock is a session
	// advisory lock shared by every process on the database and released by the
	// server if the holder dies; on SQLite it is held in this process plus a lock
	// file beside the database (flock, released when the holder dies).
	LockTenantSync(ctx context.Context, tenantID string) (unlock func(), err error)
}
