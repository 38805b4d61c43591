package appstore_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
)

func TestConformanceSQLite(t *testing.T) {
	storetest.Run(t, storetest.SQLite.Open)
}

func TestConformancePostgres(t *testing.T) {
	storetest.Run(t, storetest.Postgres.Open)
}

func TestOpenRejectsUnknownURL(t *testing.T) {
	for _, u := range []string{"mysql://x", "oktasync.db", "sqlite:"} {
		if _, err := appstore.Open(context.Background(), u); err == nil {
			t.Errorf("Open(%q) succeeded", u)
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			url := b.URL(t)
			ctx := context.Background()
			s, err := appstore.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := appstore.Migrate(ctx, s); err != nil || n != 0 {
				t.Fatalf("second migrate applied %d: %v", n, err)
			}
			if err := appstore.ExecForTest(ctx, s, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)`); err != nil {
				t.Fatal(err)
			}
			s.Close()
			_, err = appstore.Open(ctx, url)
			if err == nil || !strings.Contains(err.Error(), "newer than this oktasync") {
				t.Fatalf("newer database not refused: %v", err)
			}
		})
	}
}

// A path holding characters that are special in a SQLite URI names that very file.
func TestSQLitePathWithURICharacters(t *testing.T) {
	for _, name := range []string{"a#1.db", "b?x=1.db", "c%41.db"} {
		path := filepath.Join(t.TempDir(), name)
		s, err := appstore.Open(context.Background(), "sqlite:"+path)
		if err != nil {
			t.Fatalf("Open(%q): %v", path, err)
		}
		s.Close()
		if _, err := os.Stat(path); err != nil {
			t.Errorf("database not at %q: %v", path, err)
		}
	}
}
