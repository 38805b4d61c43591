package syncer_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/syncer"
)

// TestPostgresLockSharedAndReleasedOnCrash: two stores on one PostgreSQL database stand
// for two `oktasync serve` processes. While one runs a tenant's sync the other is
// refused; when the holder's session dies (as when its process is killed) the lock is
// free again at once.
func TestPostgresLockSharedAndReleasedOnCrash(t *testing.T) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skipf("needs PostgreSQL: set %s", storetest.PostgresEnv)
	}
	ctx := context.Background()
	url := storetest.Postgres.URL(t)
	h := newHarnessAt(t, url, harnessOpts{})
	other, err := appstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	otherSyncer := &syncer.Syncer{Store: other, Key: h.key, NewClient: h.syncer.NewClient}

	run, err := h.syncer.Begin(ctx, tenant, syncer.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := otherSyncer.Begin(ctx, tenant, syncer.RunOptions{}); !errors.Is(err, errkind.Conflict) {
		t.Fatalf("second process got %v, want Conflict", err)
	}

	// The holder "crashes": its database session is terminated.
	db, err := sql.Open("postgres", os.Getenv(storetest.PostgresEnv))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND objid = (hashtextextended('oktasync.sync/' || $1 || '/' || $2, 0) & 4294967295)::oid`, schemaOf(t, url), tenant).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("terminated %d sessions holding the lock, want 1", n)
	}
	// pg_terminate_backend only signals the session; it ends (and its lock goes) a
	// moment later.
	var r2 *syncer.Run
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if r2, err = otherSyncer.Begin(ctx, tenant, syncer.RunOptions{}); err == nil || !errors.Is(err, errkind.Conflict) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("lock not released by the dead session: %v", err)
	}
	if _, err := r2.Execute(ctx); err != nil {
		t.Fatal(err)
	}
	run.Abandon(ctx, "test") // the first run's record is closed; its unlock is harmless
	runs, _ := other.ListSyncRuns(ctx, tenant, 10)
	if len(runs) != 2 || runs[0].Status != appstore.RunSucceeded {
		t.Errorf("runs %+v", runs)
	}
}

// schemaOf returns the search_path schema of a storetest PostgreSQL URL.
func schemaOf(t *testing.T, url string) string {
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var s string
	if err := db.QueryRow(`SELECT current_schema()`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSQLiteLockAcrossProcesses: two stores on one SQLite file (as `oktasync sync` next
// to a running `oktasync serve`) do not run the same tenant's sync at once; the lock
// file's lock is released with its holder (the SIGKILL test relies on that too).
func TestSQLiteLockAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	url := storetest.SQLite.URL(t)
	h := newHarnessAt(t, url, harnessOpts{})
	other, err := appstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	otherSyncer := &syncer.Syncer{Store: other, Key: h.key, NewClient: h.syncer.NewClient}
	run, err := h.syncer.Begin(ctx, tenant, syncer.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := otherSyncer.Begin(ctx, tenant, syncer.RunOptions{}); !errors.Is(err, errkind.Conflict) {
		t.Fatalf("second store got %v, want Conflict", err)
	}
	if _, err := run.Execute(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := otherSyncer.Run(ctx, tenant, syncer.RunOptions{}); err != nil {
		t.Fatalf("after the first run: %v", err)
	}
}
