package appstore

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/lib/pq"

	"github.com/oktasync/oktasync/scimfilter"
	"github.com/oktasync/oktasync/scimschema"
)

// TestUserNameLookupUsesIndex checks on PostgreSQL that Okta's hot-path query, the
// existence check `userName eq "..."`, is answered from the (tenant_id, user_name_key)
// index rather than by scanning the tenant's users.
func TestUserNameLookupUsesIndex(t *testing.T) {
	s := explainStore(t)
	ctx := context.Background()
	if _, err := s.db.ExecContext(ctx, `ANALYZE users`); err != nil {
		t.Fatal(err)
	}
	f, err := scimfilter.Parse(`userName eq "USER42@example.com"`)
	if err != nil {
		t.Fatal(err)
	}
	b := &sqlBuilder{d: s.d, res: scimschema.UserResource(nil), table: "users"}
	cond, err := b.expr(f)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]any{"default"}, b.args...)
	text := explain(t, s, "auto", `SELECT `+userCols+` FROM users WHERE users.tenant_id = ? AND users.deleted_at IS NULL AND `+cond+` ORDER BY users.created_at, users.id LIMIT 100`, args...)
	if !strings.Contains(text, "users_user_name_key") || strings.Contains(text, "Seq Scan") {
		t.Fatalf("userName lookup does not use users_user_name_key:\n%s", text)
	}
	page, err := s.ListUsers(ctx, "default", Query{Filter: f, Count: 100})
	if err != nil || page.Total != 1 || page.Items[0].UserName != "User42@example.com" {
		t.Fatalf("lookup = %+v, %v", page, err)
	}
}

// TestFreshTableLookupPlans checks the hot-path reads on a table that was just loaded
// and never analyzed, as Okta's first push of a large group meets it: the existence
// check must use users_lookup (not scan the tenant through another (tenant_id, ...)
// index), and the statement's generic plan, which prepared statements end up with,
// must too.
func TestFreshTableLookupPlans(t *testing.T) {
	s := explainStore(t)
	ctx := context.Background()
	cond, args := s.d.userNameKey("default", "user42@example.com")
	query := `SELECT ` + userCols + `, ` + s.d.groupRefs("users") + ` AS groups FROM users WHERE ` + cond + ` AND deleted_at IS NULL`
	for _, mode := range []string{"auto", "force_generic_plan"} {
		text := explain(t, s, mode, query, args...)
		if !strings.Contains(text, "users_lookup") {
			t.Errorf("%s: the existence check does not use users_lookup on a fresh table:\n%s", mode, text)
		}
	}
	u, _, err := s.LookupUser(ctx, "default", "USER42@example.com")
	if err != nil || u.ID != "u42" {
		t.Fatalf("LookupUser = %+v, %v", u, err)
	}
}

// explain returns the plan of query as a prepared statement gets it under
// plan_cache_mode mode ("auto" or "force_generic_plan").
func explain(t *testing.T, s *sqlStore, mode, query string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	conn, err := s.db.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	params := make([]string, len(args))
	for i, a := range args {
		params[i] = pq.QuoteLiteral(fmt.Sprint(a))
	}
	for _, q := range []string{`SET plan_cache_mode = ` + mode, `PREPARE explained AS ` + s.q(query)} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	defer conn.ExecContext(ctx, `DEALLOCATE explained`)
	var plan []string
	if err := conn.SelectContext(ctx, &plan, `EXPLAIN EXECUTE explained(`+strings.Join(params, ", ")+`)`); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}

// explainStore opens a PostgreSQL store in a schema of its own with 20,000 users over
// two tenants, not analyzed.
func explainStore(t *testing.T) *sqlStore {
	base := os.Getenv("OKTASYNC_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("needs PostgreSQL: set OKTASYNC_TEST_POSTGRES_URL")
	}
	ctx := context.Background()
	// A schema of its own, as storetest does (storetest imports this package, so it
	// cannot be used from an internal test).
	admin, err := openPostgres(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	name := fmt.Sprintf("explain_%d", os.Getpid())
	admin.db.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+name+` CASCADE`)
	if _, err := admin.db.ExecContext(ctx, `CREATE SCHEMA `+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.db.ExecContext(context.Background(), `DROP SCHEMA `+name+` CASCADE`) })
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	st, err := Open(ctx, base+sep+"search_path="+name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := st.(*sqlStore)
	// Enough rows, spread over two tenants, that a scan would be the planner's worse choice.
	if _, err := s.db.ExecContext(ctx, `INSERT INTO tenants (id, name, provisioning_enabled, settings, created_at, updated_at) VALUES ('other', 'other', true, '{}', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO users (id, tenant_id, user_name, user_name_key, active, attrs, source, version, created_at, updated_at)
		SELECT 'u' || g, CASE WHEN g % 2 = 0 THEN 'default' ELSE 'other' END, 'User' || g || '@example.com', 'user' || g || '@example.com', true, '{}', 'scim', 1, g, g
		FROM generate_series(1, 20000) AS g`); err != nil {
		t.Fatal(err)
	}
	return s
}
