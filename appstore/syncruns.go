package appstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/jmoiron/sqlx"

	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/event"
)

type syncRunRow struct {
	ID         int64         `db:"id"`
	TenantID   string        `db:"tenant_id"`
	Trigger    string        `db:"run_trigger"`
	Mode       string        `db:"mode"`
	DryRun     bool          `db:"dry_run"`
	Status     string        `db:"status"`
	Processed  int64         `db:"processed"`
	Total      int64         `db:"total"`
	Counts     string        `db:"counts"`
	Error      string        `db:"error"`
	StartedAt  int64         `db:"started_at"`
	UpdatedAt  int64         `db:"updated_at"`
	FinishedAt sql.NullInt64 `db:"finished_at"`
}

const syncRunCols = `id, tenant_id, run_trigger, mode, dry_run, status, processed, total, counts, error, started_at, updated_at, finished_at`

func (r syncRunRow) run() (SyncRun, error) {
	out := SyncRun{ID: r.ID, TenantID: r.TenantID, Trigger: r.Trigger, Mode: r.Mode, DryRun: r.DryRun, Status: r.Status,
		Processed: r.Processed, Total: r.Total, Error: r.Error, Started: fromMicros(r.StartedAt), Updated: fromMicros(r.UpdatedAt),
		Finished: nullMicros(r.FinishedAt), Counts: map[string]int64{}}
	if err := json.Unmarshal([]byte(r.Counts), &out.Counts); err != nil {
		return out, errkind.E("appstore.SyncRun", errkind.Permanent, "corrupt run counts", err)
	}
	return out, nil
}

func (s *sqlStore) CreateSyncRun(ctx context.Context, r SyncRun) (SyncRun, error) {
	const op = "appstore.CreateSyncRun"
	if r.TenantID == "" || r.Mode == "" {
		return SyncRun{}, errkind.Errorf(op, errkind.Invalid, "a run needs a tenant and a mode")
	}
	if r.Status == "" {
		r.Status = RunRunning
	}
	if r.Counts == nil {
		r.Counts = map[string]int64{}
	}
	counts, err := marshalJSON(r.Counts)
	if err != nil {
		return SyncRun{}, err
	}
	now := s.micros()
	if err := s.db.GetContext(ctx, &r.ID, s.q(`INSERT INTO sync_runs (tenant_id, run_trigger, mode, dry_run, status, processed, total, counts, error, started_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		r.TenantID, r.Trigger, r.Mode, r.DryRun, r.Status, r.Processed, r.Total, counts, r.Error, now, now); err != nil {
		return SyncRun{}, s.wrap(op, err)
	}
	r.Started, r.Updated = fromMicros(now), fromMicros(now)
	return r, nil
}

func (s *sqlStore) UpdateSyncRun(ctx context.Context, r SyncRun) error {
	const op = "appstore.UpdateSyncRun"
	counts, err := marshalJSON(r.Counts)
	if err != nil {
		return err
	}
	if r.Counts == nil {
		counts = "{}"
	}
	var fin any
	if !r.Finished.IsZero() {
		fin = r.Finished.UnixMicro()
	}
	const update = `UPDATE sync_runs SET status = ?, processed = ?, total = ?, counts = ?, error = ?, updated_at = ?, finished_at = ? WHERE id = ? AND tenant_id = ?`
	if fin == nil { // progress: no event, no transaction
		res, err := s.db.ExecContext(ctx, s.q(update), r.Status, r.Processed, r.Total, counts, r.Error, s.micros(), fin, r.ID, r.TenantID)
		if err != nil {
			return s.wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errkind.Errorf(op, errkind.NotFound, "no run %d in tenant %q", r.ID, r.TenantID)
		}
		return nil
	}
	return s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		var prev syncRunRow
		if err := tx.GetContext(ctx, &prev, s.q(`SELECT `+syncRunCols+` FROM sync_runs WHERE id = ? AND tenant_id = ?`+s.d.forUpdate()), r.ID, r.TenantID); err != nil {
			if s.wrapKind(err) == errkind.NotFound {
				return errkind.Errorf(op, errkind.NotFound, "no run %d in tenant %q", r.ID, r.TenantID)
			}
			return s.wrap(op, err)
		}
		if _, err := tx.ExecContext(ctx, s.q(update), r.Status, r.Processed, r.Total, counts, r.Error, s.micros(), fin, r.ID, r.TenantID); err != nil {
			return s.wrap(op, err)
		}
		if prev.FinishedAt.Valid { // already finished: its event was written then
			return nil
		}
		prev.Status, prev.Processed, prev.Total, prev.Counts, prev.Error = r.Status, r.Processed, r.Total, counts, r.Error
		prev.FinishedAt = sql.NullInt64{Int64: r.Finished.UnixMicro(), Valid: true}
		return s.emitRunFinished(ctx, tx, prev)
	})
}

// emitRunFinished emits sync.run_finished for a run that has just ended.
func (s *sqlStore) emitRunFinished(ctx context.Context, tx *sqlx.Tx, row syncRunRow) error {
	run, err := row.run()
	if err != nil {
		return err
	}
	return s.emit(ctx, tx, event.SyncRunFinished, run.TenantID, SyncRunResource(run), nil)
}

// SyncRunResource is r as events show it.
func SyncRunResource(r SyncRun) event.SyncRun {
	return event.SyncRun{ID: r.ID, Tenant: r.TenantID, Trigger: r.Trigger, Mode: r.Mode, DryRun: r.DryRun, Status: r.Status,
		Processed: r.Processed, Total: r.Total, Counts: r.Counts, Error: r.Error, Started: r.Started, Finished: r.Finished}
}

func (s *sqlStore) GetSyncRun(ctx context.Context, tenantID string, id int64) (SyncRun, error) {
	var r syncRunRow
	if err := s.rdb.GetContext(ctx, &r, s.q(`SELECT `+syncRunCols+` FROM sync_runs WHERE tenant_id = ? AND id = ?`), tenantID, id); err != nil {
		if s.wrapKind(err) == errkind.NotFound {
			return SyncRun{}, errkind.Errorf("appstore.GetSyncRun", errkind.NotFound, "no run %d in tenant %q", id, tenantID)
		}
		return SyncRun{}, s.wrap("appstore.GetSyncRun", err)
	}
	return r.run()
}

func (s *sqlStore) ListSyncRuns(ctx context.Context, tenantID string, limit int) ([]SyncRun, error) {
	if limit <= 0 {
		limit = 20
	}
	where, args := "1=1", []any{}
	if tenantID != "" {
		where, args = "tenant_id = ?", append(args, tenantID)
	}
	var rows []syncRunRow
	if err := s.rdb.SelectContext(ctx, &rows, s.q(`SELECT `+syncRunCols+` FROM sync_runs WHERE `+where+` ORDER BY id DESC LIMIT ?`), append(args, limit)...); err != nil {
		return nil, s.wrap("appstore.ListSyncRuns", err)
	}
	out := make([]SyncRun, 0, len(rows))
	for _, r := range rows {
		run, err := r.run()
		if err != nil {
			return nil, err
		}
		out = append(out, run)
	}
	return out, nil
}

func (s *sqlStore) InterruptSyncRuns(ctx context.Context, tenantID string, exceptID int64) (int, error) {
	const op = "appstore.InterruptSyncRuns"
	const msg = "the run stopped before finishing (process killed or shut down)"
	now := s.micros()
	var n int
	err := s.inTx(ctx, op, func(tx *sqlx.Tx) error {
		var rows []syncRunRow
		if err := tx.SelectContext(ctx, &rows, s.q(`SELECT `+syncRunCols+` FROM sync_runs WHERE tenant_id = ? AND status = ? AND id <> ? ORDER BY id`+s.d.forUpdate()),
			tenantID, RunRunning, exceptID); err != nil {
			return s.wrap(op, err)
		}
		for _, r := range rows {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE sync_runs SET status = ?, error = ?, updated_at = ?, finished_at = ? WHERE id = ?`),
				RunInterrupted, msg, now, now, r.ID); err != nil {
				return s.wrap(op, err)
			}
			r.Status, r.Error, r.UpdatedAt, r.FinishedAt = RunInterrupted, msg, now, sql.NullInt64{Int64: now, Valid: true}
			if err := s.emitRunFinished(ctx, tx, r); err != nil {
				return err
			}
		}
		n = len(rows)
		return nil
	})
	return n, err
}

func (s *sqlStore) AddSyncRunError(ctx context.Context, e SyncRunError) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO sync_run_errors (run_id, user_id, user_name, action, message, at) VALUES (?, ?, ?, ?, ?, ?)`),
		e.RunID, e.UserID, e.UserName, e.Action, e.Message, s.micros())
	return s.wrap("appstore.AddSyncRunError", err)
}

func (s *sqlStore) ListSyncRunErrors(ctx context.Context, runID int64, limit int) ([]SyncRunError, error) {
	if limit <= 0 {
		limit = 100
	}
	var rows []struct {
		RunID    int64  `db:"run_id"`
		UserID   string `db:"user_id"`
		UserName string `db:"user_name"`
		Action   string `db:"action"`
		Message  string `db:"message"`
		At       int64  `db:"at"`
	}
	if err := s.rdb.SelectContext(ctx, &rows, s.q(`SELECT run_id, user_id, user_name, action, message, at FROM sync_run_errors WHERE run_id = ? ORDER BY id LIMIT ?`), runID, limit); err != nil {
		return nil, s.wrap("appstore.ListSyncRunErrors", err)
	}
	out := make([]SyncRunError, len(rows))
	for i, r := range rows {
		out[i] = SyncRunError{RunID: r.RunID, UserID: r.UserID, UserName: r.UserName, Action: r.Action, Message: r.Message, Time: fromMicros(r.At)}
	}
	return out, nil
}

// sqliteLocks holds the in-process sync locks of SQLite stores (a lock file keeps other
// processes on the same database file out). PostgreSQL deployments may run several
// servers and use advisory locks instead.
var sqliteLocks sync.Map // "store pointer/tenant" -> struct{}

func (s *sqlStore) LockTenantSync(ctx context.Context, tenantID string) (func(), error) {
	const op = "appstore.LockTenantSync"
	busy := errkind.Errorf(op, errkind.Conflict, "a sync of tenant %q is already running", tenantID)
	if s.d.name() != "postgres" {
		key := fmt.Sprintf("%p/%s", s, tenantID)
		if _, held := sqliteLocks.LoadOrStore(key, struct{}{}); held {
			return nil, busy
		}
		// Another process on the same file (the CLI next to a running server) is kept
		// out by a lock file beside the database, which dies with its holder.
		var file string
		if err := s.rdb.GetContext(ctx, &file, `SELECT file FROM pragma_database_list WHERE name = 'main'`); err != nil {
			sqliteLocks.Delete(key)
			return nil, s.wrap(op, err)
		}
		unlockFile := func() {}
		if file != "" {
			u, err := lockFile(file + ".sync-" + tenantID + ".lock")
			if err != nil {
				sqliteLocks.Delete(key)
				if errors.Is(err, errLocked) {
					return nil, busy
				}
				return nil, errkind.E(op, errkind.Transient, "cannot take the sync lock file", err)
			}
			unlockFile = u
		}
		var once sync.Once
		return func() {
			once.Do(func() {
				unlockFile()
				sqliteLocks.Delete(key)
			})
		}, nil
	}
	// A session-level advisory lock on a connection of its own, held for the run: if the
	// process dies the session ends and PostgreSQL releases the lock, so a crashed
	// holder never blocks the other processes.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	// The key covers the schema too, so that deployments (and tests) sharing one
	// database in separate schemas do not block each other.
	const keyExpr = `hashtextextended('oktasync.sync/' || current_schema() || '/' || $1, 0)`
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(`+keyExpr+`)`, tenantID).Scan(&got); err != nil {
		conn.Close()
		return nil, s.wrap(op, err)
	}
	if !got {
		conn.Close()
		return nil, busy
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			var ok bool
			if err := conn.QueryRowContext(context.Background(), `SELECT pg_advisory_unlock(`+keyExpr+`)`, tenantID).Scan(&ok); err != nil || !ok {
				// Never hand a connection that may still hold the lock back to the pool:
				// ErrBadConn makes database/sql close it, ending the session.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
			conn.Close()
		})
	}, nil
}
