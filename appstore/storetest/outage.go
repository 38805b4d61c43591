package storetest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"testing"

	"github.com/lib/pq"
)

// PostgresOutage is a fresh PostgreSQL schema reached as a login role of its own, so that
// a test can take the database away from its stores alone, by ending their sessions
// (pg_terminate_backend) and refusing new ones, without stopping or restarting the
// server other tests share.
type PostgresOutage struct {
	// URL is the database URL of the schema, as the role.
	URL   string
	role  string
	admin *sql.DB
}

// NewPostgresOutage makes the role and its schema, both dropped when the test ends. It
// skips the test, saying why, when OKTASYNC_TEST_POSTGRES_URL is not set.
func NewPostgresOutage(t testing.TB) *PostgresOutage {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skipf("PostgreSQL outage tests need %s", PostgresEnv)
	}
	admin, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	o := &PostgresOutage{role: "t_outage_" + hex.EncodeToString(b), admin: admin}
	if _, err := admin.Exec(`CREATE ROLE ` + o.role + ` LOGIN`); err != nil {
		admin.Close()
		t.Fatalf("create role: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec(`ALTER ROLE ` + o.role + ` CONNECTION LIMIT -1`)
		o.Terminate(t)
		admin.Exec(`DROP SCHEMA IF EXISTS ` + o.role + ` CASCADE`)
		admin.Exec(`DROP ROLE IF EXISTS ` + o.role)
		admin.Close()
	})
	if _, err := admin.Exec(`CREATE SCHEMA ` + o.role + ` AUTHORIZATION ` + o.role); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	u.User = url.User(o.role)
	q := u.Query()
	q.Set("search_path", o.role)
	u.RawQuery = q.Encode()
	o.URL = u.String()
	return o
}

// Terminate ends every session of the role, as a server restart or a failover does to
// its clients, and returns how many it ended.
func (o *PostgresOutage) Terminate(t testing.TB) int {
	t.Helper()
	var n int
	if err := o.admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = $1`, o.role).Scan(&n); err != nil {
		t.Errorf("terminate sessions of %s: %v", o.role, err)
	}
	return n
}

// Begin starts an outage: sessions are ended and new ones refused until End.
func (o *PostgresOutage) Begin(t testing.TB) {
	t.Helper()
	if _, err := o.admin.Exec(`ALTER ROLE ` + o.role + ` CONNECTION LIMIT 0`); err != nil {
		t.Fatalf("refuse connections: %v", err)
	}
	o.Terminate(t)
}

// End ends the outage: connections are accepted again.
func (o *PostgresOutage) End(t testing.TB) {
	t.Helper()
	if _, err := o.admin.Exec(`ALTER ROLE ` + o.role + ` CONNECTION LIMIT -1`); err != nil {
		t.Fatalf("accept connections: %v", err)
	}
}

// DropSchema drops the schema and recreates it empty, as a database dropped and created
// again under a running server.
func (o *PostgresOutage) DropSchema(t testing.TB) {
	t.Helper()
	// The server's background workers keep touching the tables; the drop takes its
	// locks table by table and can deadlock with one of them, which PostgreSQL settles
	// by cancelling either side. The drop is then tried again.
	for attempt := 1; ; attempt++ {
		_, err := o.admin.Exec(`DROP SCHEMA ` + o.role + ` CASCADE`)
		if err == nil {
			break
		}
		var pe *pq.Error
		if attempt < 5 && errors.As(err, &pe) && pe.Code == "40P01" {
			continue
		}
		t.Fatalf("drop schema: %v", err)
	}
	if _, err := o.admin.Exec(`CREATE SCHEMA ` + o.role + ` AUTHORIZATION ` + o.role); err != nil {
		t.Fatalf("create schema: %v", err)
	}
}
