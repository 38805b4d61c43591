package appstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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
	queries := map[string]string{
		"existence check":                 `SELECT ` + userCols + `, ` + s.d.groupRefs("users") + ` AS groups FROM users WHERE ` + cond + ` AND deleted_at IS NULL`,
		"existence check with auth epoch": lookupWithEpochQuery(cond, s.d.groupRefs("users")),
	}
	for name, query := range queries {
		for _, mode := range []string{"auto", "force_generic_plan"} {
			text := explain(t, s, mode, query, args...)
			if !strings.Contains(text, "users_lookup") {
				t.Errorf("%s, %s: does not use users_lookup on a fresh table:\n%s", name, mode, text)
			}
		}
	}
	// The user's groups come from group_members by member, never from a walk of
	// the tenant's groups (which their display order would invite).
	for name, query := range map[string]string{
		"groups of a looked-up user": `SELECT ` + s.d.groupRefs("users") + ` FROM users WHERE ` + cond,
		"UserGroups":                 `SELECT gm.member_id, g.id, g.display_name FROM ` + s.d.memberGroups() + ` WHERE g.tenant_id = ? AND gm.member_id IN (?) ORDER BY g.display_name_key, g.id`,
	} {
		qargs := args
		if name == "UserGroups" {
			qargs = []any{"default", "u42"}
		}
		for _, mode := range []string{"auto", "force_generic_plan"} {
			if text := explain(t, s, mode, query, qargs...); !strings.Contains(text, "group_members_member") {
				t.Errorf("%s, %s: does not read group_members by member:\n%s", name, mode, text)
			}
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

// explainStore opens a PostgreSQL store in a schema of its own with 20,000 users and
// 20,000 groups over two tenants, each with an externalId "ext<n>", not analyzed.
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
	if _, err := s.db.ExecContext(ctx, `INSERT INTO users (id, tenant_id, user_name, user_name_key, external_id, active, attrs, source, version, created_at, updated_at)
		SELECT 'u' || g, CASE WHEN g % 2 = 0 THEN 'default' ELSE 'other' END, 'User' || g || '@example.com', 'user' || g || '@example.com', 'ext' || g, true, '{}', 'scim', 1, g, g
		FROM generate_series(1, 20000) AS g`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO groups (id, tenant_id, display_name, display_name_key, external_id, source, version, created_at, updated_at)
		SELECT 'g' || g, CASE WHEN g % 2 = 0 THEN 'default' ELSE 'other' END, 'Group ' || g, 'group ' || g, 'ext' || g, 'scim', 1, g, g
		FROM generate_series(1, 20000) AS g`); err != nil {
		t.Fatal(err)
	}
	return s
}

// externalIDCases are Entra's existence checks by externalId, on users and groups, and
// the index each must be answered from.
var externalIDCases = []struct {
	table, index string
}{
	{"users", "users_external_key"},
	{"groups", "groups_external_key"},
}

// listQueries returns a listing's count and page queries with their arguments, as
// ListUsers and ListGroups run them for filter on table in the default tenant.
func listQueries(t *testing.T, s *sqlStore, table, filter string) (count, page string, countArgs, pageArgs []any) {
	t.Helper()
	f, err := scimfilter.Parse(filter)
	if err != nil {
		t.Fatal(err)
	}
	cols, res := userCols, scimschema.UserResource(nil)
	if table == "groups" {
		cols, res = groupCols, scimschema.GroupResource()
	}
	b := &sqlBuilder{d: s.d, res: res, table: table}
	where, args, q := listWhere(table, "default", Query{Filter: f})
	count, page, args, err = listSQL(b, cols, where, args, q)
	if err != nil {
		t.Fatal(err)
	}
	return count, page, args, append(args[:len(args):len(args)], 100, 0)
}

// TestExternalIDLookupUsesIndex checks on PostgreSQL that `externalId eq "..."` on users
// and groups, counted and paged, is answered from the external-key indexes, never by a
// scan or through another index, on a freshly loaded table that has no statistics yet
// (as a custom and as a generic plan) and after ANALYZE.
func TestExternalIDLookupUsesIndex(t *testing.T) {
	s := explainStore(t)
	ctx := context.Background()
	for _, stats := range []string{"fresh", "analyzed"} {
		if stats == "analyzed" {
			for _, q := range []string{`ANALYZE users`, `ANALYZE groups`} {
				if _, err := s.db.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, tc := range externalIDCases {
			count, page, countArgs, pageArgs := listQueries(t, s, tc.table, `externalId eq "ext42"`)
			for _, mode := range []string{"auto", "force_generic_plan"} {
				for _, plan := range []string{explain(t, s, mode, count, countArgs...), explain(t, s, mode, page, pageArgs...)} {
					if !strings.Contains(plan, tc.index) || strings.Contains(plan, "Seq Scan") {
						t.Errorf("%s, %s, %s: externalId lookup is not answered from %s:\n%s", stats, mode, tc.table, tc.index, plan)
					}
				}
			}
		}
	}
	f, err := scimfilter.Parse(`externalId eq "ext42"`)
	if err != nil {
		t.Fatal(err)
	}
	users, err := s.ListUsers(ctx, "default", Query{Filter: f, Count: 100})
	if err != nil || users.Total != 1 || users.Items[0].ID != "u42" {
		t.Fatalf("user lookup = %+v, %v", users, err)
	}
	groups, err := s.ListGroups(ctx, "default", Query{Filter: f, Count: 100})
	if err != nil || groups.Total != 1 || groups.Items[0].ID != "g42" {
		t.Fatalf("group lookup = %+v, %v", groups, err)
	}
	// The key is the tenant's: another tenant's externalId is not found.
	if other, err := s.ListUsers(ctx, "default", Query{Filter: mustParse(t, `externalId eq "ext43"`), Count: 100}); err != nil || other.Total != 0 {
		t.Fatalf("another tenant's externalId = %+v, %v", other, err)
	}
}

// TestLookupPlansSQLite checks the externalId look-ups and a user's groups on SQLite.
func TestLookupPlansSQLite(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "explain.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*sqlStore)
	// SQLite has no generate_series without an extension: a recursive CTE stands in.
	for _, q := range []string{
		`INSERT INTO tenants (id, name, provisioning_enabled, settings, created_at, updated_at) VALUES ('other', 'other', true, '{}', 0, 0)`,
		`INSERT INTO users (id, tenant_id, user_name, user_name_key, external_id, active, attrs, source, version, created_at, updated_at)
		WITH RECURSIVE gen(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM gen WHERE g < 2000)
		SELECT 'u' || g, CASE WHEN g % 2 = 0 THEN 'default' ELSE 'other' END, 'User' || g || '@example.com', 'user' || g || '@example.com', 'ext' || g, true, '{}', 'scim', 1, g, g FROM gen`,
		`INSERT INTO groups (id, tenant_id, display_name, display_name_key, external_id, source, version, created_at, updated_at)
		WITH RECURSIVE gen(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM gen WHERE g < 2000)
		SELECT 'g' || g, CASE WHEN g % 2 = 0 THEN 'default' ELSE 'other' END, 'Group ' || g, 'group ' || g, 'ext' || g, 'scim', 1, g, g FROM gen`,
	} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	explainSQLite := func(query string, args []any) string {
		t.Helper()
		rows, err := s.db.QueryContext(ctx, `EXPLAIN QUERY PLAN `+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, detail)
		}
		return strings.Join(lines, "\n")
	}
	for _, tc := range externalIDCases {
		count, page, countArgs, pageArgs := listQueries(t, s, tc.table, `externalId eq "ext42"`)
		for _, plan := range []string{explainSQLite(count, countArgs), explainSQLite(page, pageArgs)} {
			if !strings.Contains(plan, "SEARCH "+tc.table+" USING INDEX "+tc.index+" ") && !strings.Contains(plan, "SEARCH "+tc.table+" USING COVERING INDEX "+tc.index+" ") {
				t.Errorf("%s: externalId lookup is not answered from %s:\n%s", tc.table, tc.index, plan)
			}
		}
	}
	// A user's groups are read from the member's rows, not by walking the tenant's
	// 1,000 groups in display order and probing each.
	cond, args := s.d.userNameKey("default", "user42@example.com")
	for name, tc := range map[string]struct {
		query string
		args  []any
	}{
		"existence check":                 {`SELECT ` + userCols + `, ` + s.d.groupRefs("users") + ` AS groups FROM users WHERE ` + cond + ` AND deleted_at IS NULL`, args},
		"existence check with auth epoch": {lookupWithEpochQuery(cond, s.d.groupRefs("users")), args},
		"UserGroups": {`SELECT gm.member_id, g.id, g.display_name FROM ` + s.d.memberGroups() +
			` WHERE g.tenant_id = ? AND gm.member_id IN (?) ORDER BY g.display_name_key, g.id`, []any{"default", "u42"}},
	} {
		if plan := explainSQLite(tc.query, tc.args); !strings.Contains(plan, "SEARCH gm USING INDEX group_members_member") {
			t.Errorf("%s: the user's groups are not read by member:\n%s", name, plan)
		}
	}
}

func mustParse(t *testing.T, filter string) scimfilter.Expr {
	t.Helper()
	f, err := scimfilter.Parse(filter)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
