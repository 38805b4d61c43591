package appstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/oktasync/oktasync/errkind"
)

//go:embed migrations
var migrationFiles embed.FS

// migration is one schema step; after, if set, runs in the same transaction once the
// SQL has been applied (for data that needs Go, such as timestamps).
type migration struct {
	version int
	name    string
	sql     string
	after   func(ctx context.Context, s *sqlStore, tx *sqlx.Tx) error
}

// afterHooks add data to a migration's transaction, by version.
var afterHooks = map[int]func(ctx context.Context, s *sqlStore, tx *sqlx.Tx) error{
	1: func(ctx context.Context, s *sqlStore, tx *sqlx.Tx) error {
		now := s.micros()
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO tenants (id, name, provisioning_enabled, settings, created_at, updated_at) VALUES (?, ?, ?, '{}', ?, ?)`),
			DefaultTenant, "Default", false, now, now)
		return err
	},
}

// migrations reads the backend's migration files: NNNN_name.sql, applied in order.
func migrations(backend string) ([]migration, error) {
	dir := path.Join("migrations", backend)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", e.Name())
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(body), after: afterHooks[v]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations for %s are not numbered 1..n: found %d at position %d", backend, m.version, i+1)
		}
	}
	return out, nil
}

// LatestVersion is the schema version this binary's migrations reach.
func LatestVersion() int {
	ms, err := migrations("sqlite")
	if err != nil {
		return 0
	}
	return len(ms)
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)`

// currentVersion returns the highest applied migration, 0 for an empty database.
func (s *sqlStore) currentVersion(ctx context.Context, q sqlx.QueryerContext) (int, error) {
	var exists int
	var err error
	if s.d.name() == "postgres" {
		err = sqlx.GetContext(ctx, q, &exists, `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'`)
	} else {
		err = sqlx.GetContext(ctx, q, &exists, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`)
	}
	if err != nil || exists == 0 {
		return 0, err
	}
	var v int
	err = sqlx.GetContext(ctx, q, &v, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`)
	return v, err
}

// checkSchemaVersion refuses a database that a newer binary has migrated: running old
// code against a newer schema could corrupt data the newer code relies on.
func (s *sqlStore) checkSchemaVersion(ctx context.Context) error {
	v, err := s.currentVersion(ctx, s.db)
	if err != nil {
		return s.wrap("appstore.Open", err)
	}
	if latest := LatestVersion(); v > latest {
		return errkind.Errorf("appstore.Open", errkind.Permanent,
			"database schema version %d is newer than this oktasync supports (%d); run a newer oktasync", v, latest)
	}
	return nil
}

// Migrate applies pending migrations, each in its own transaction, and returns how many
// it applied. Several processes may call it at once: PostgreSQL serialises them with an
// advisory lock, SQLite with its write lock.
func Migrate(ctx context.Context, st Store) (int, error) {
	s, ok := st.(*sqlStore)
	if !ok {
		return 0, errkind.Errorf("appstore.Migrate", errkind.Invalid, "not a SQL store")
	}
	ms, err := migrations(s.d.name())
	if err != nil {
		return 0, errkind.E("appstore.Migrate", errkind.Permanent, "reading migrations", err)
	}
	if _, err := s.db.ExecContext(ctx, createMigrationsTable); err != nil && !s.d.isUnique(err) {
		// Two processes creating the table at once may collide on PostgreSQL's catalog;
		// the loser sees a unique violation and can go on.
		return 0, s.wrap("appstore.Migrate", err)
	}
	applied := 0
	for _, m := range ms {
		did := false
		err := s.inTx(ctx, "appstore.Migrate", func(tx *sqlx.Tx) error {
			if s.d.name() == "postgres" {
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7236001)`); err != nil {
					return err
				}
			}
			cur, err := s.currentVersion(ctx, tx)
			if err != nil {
				return err
			}
			if cur >= m.version {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
			}
			if m.after != nil {
				if err := m.after(ctx, s, tx); err != nil {
					return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
				}
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`), m.version, m.name, s.micros()); err != nil {
				return err
			}
			did = true
			return nil
		})
		if err != nil {
			return applied, s.wrap("appstore.Migrate", err)
		}
		if did {
			applied++
		}
	}
	return applied, nil
}

// SchemaVersion returns the database's applied schema version and the latest this
// binary knows.
func SchemaVersion(ctx context.Context, st Store) (current, latest int, err error) {
	s, ok := st.(*sqlStore)
	if !ok {
		return 0, 0, errkind.Errorf("appstore.SchemaVersion", errkind.Invalid, "not a SQL store")
	}
	current, err = s.currentVersion(ctx, s.db)
	return current, LatestVersion(), s.wrap("appstore.SchemaVersion", err)
}
