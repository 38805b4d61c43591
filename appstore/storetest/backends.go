// Package storetest is the conformance suite every appstore backend must pass, and
// helpers that give tests in other packages a fresh store on each backend.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/lib/pq" // PostgreSQL driver

	"github.com/oktasync/oktasync/appstore"
)

// PostgresEnv names the environment variable holding the PostgreSQL URL tests use.
const PostgresEnv = "OKTASYNC_TEST_POSTGRES_URL"

// Backend is a database backend that tests can open fresh, empty stores on.
type Backend struct {
	Name string
	// URL returns the URL of a fresh, isolated, unmigrated database, removed when the
	// test ends.
	URL func(t testing.TB) string
}

// Open returns a fresh migrated store on b, closed when the test ends.
func (b Backend) Open(t testing.TB) appstore.Store {
	t.Helper()
	s, err := appstore.Open(context.Background(), b.URL(t))
	if err != nil {
		t.Fatalf("open %s store: %v", b.Name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// SQLite is the embedded backend, on a file in the test's temporary directory.
var SQLite = Backend{Name: "sqlite", URL: func(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "oktasync.db")
}}

// Postgres is the PostgreSQL backend: each URL names a new schema in the database at
// $OKTASYNC_TEST_POSTGRES_URL, dropped when the test ends.
var Postgres = Backend{Name: "postgres", URL: func(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skipf("PostgreSQL tests need %s (e.g. postgres://postgres@127.0.0.1:5432/oktasync_test?sslmode=disable)", PostgresEnv)
	}
	db, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	defer db.Close()
	b := make([]byte, 6)
	rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	if _, err := db.Exec(`CREATE SCHEMA ` + name); err != nil {
		t.Fatalf("create schema on %s: %v", PostgresEnv, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("postgres", base)
		if err == nil {
			db.Exec(`DROP SCHEMA ` + name + ` CASCADE`)
			db.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}}

// Backends returns SQLite, and PostgreSQL when $OKTASYNC_TEST_POSTGRES_URL is set (the
// test log says so when it is not).
func Backends(t testing.TB) []Backend {
	if os.Getenv(PostgresEnv) == "" {
		t.Logf("PostgreSQL backend skipped: set %s to run it", PostgresEnv)
		return []Backend{SQLite}
	}
	return []Backend{SQLite, Postgres}
}
