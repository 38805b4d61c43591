package appstore

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/scimfilter"
	"github.com/oktasync/oktasync/scimschema"
)

// TestUserNameLookupUsesIndex checks on PostgreSQL that Okta's hot-path query, the
// existence check `userName eq "..."`, is answered from the (tenant_id, user_name_key)
// index rather than by scanning the tenant's users.
func TestUserNameLookupUsesIndex(t *testing.T) {
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
	defer admin.Close()
	name := fmt.Sprintf("explain_%d", os.Getpid())
	admin.db.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+name+` CASCADE`)
	if _, err := admin.db.ExecContext(ctx, `CREATE SCHEMA `+name); err != nil {
		t.Fatal(err)
	}
	defer admin.db.ExecContext(context.Background(), `DROP SCHEMA `+name+` CASCADE`)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	st, err := Open(ctx, base+sep+"search_path="+name)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
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
	query := s.q(`EXPLAIN SELECT ` + userCols + ` FROM users WHERE users.tenant_id = ? AND users.deleted_at IS NULL AND ` + cond + ` ORDER BY users.created_at, users.id LIMIT 100`)
	var plan []string
	if err := s.db.SelectContext(ctx, &plan, query, args...); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, "users_user_name_key") || strings.Contains(text, "Seq Scan") {
		t.Fatalf("userName lookup does not use users_user_name_key:\n%s", text)
	}
	page, err := st.ListUsers(ctx, "default", Query{Filter: f, Count: 100})
	if err != nil || page.Total != 1 || page.Items[0].UserName != "User42@example.com" {
		t.Fatalf("lookup = %+v, %v", page, err)
	}
}
