package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
)

// manageTests are the parts of the Store the management layer and the vendor API rely
// on: keyset paging, listing filters, member counts and pages, tenant deletion, API keys
// and audit filters.
var manageTests = []struct {
	name string
	fn   func(t *testing.T, s appstore.Store)
}{
	{"KeysetPagingUnderWrites", testKeysetPaging},
	{"ListFilters", testListFilters},
	{"MemberCountsAndPages", testMemberPages},
	{"DeleteTenant", testDeleteTenant},
	{"APIKeys", testAPIKeys},
	{"AuditFilters", testAuditFilters},
}

func testKeysetPaging(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	const n = 23
	want := map[string]bool{}
	for i := range n {
		want[mustUser(t, s, "default", fmt.Sprintf("k%02d@example.com", i), nil).ID] = true
	}
	seen := map[string]bool{}
	var after *appstore.Position
	for pages := 0; ; pages++ {
		page, err := s.ListUsers(ctx, "default", appstore.Query{Count: 5, After: after, NoTotal: true})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != -1 {
			t.Fatalf("NoTotal counted: %d", page.Total)
		}
		if len(page.Items) == 0 {
			break
		}
		for _, u := range page.Items {
			if seen[u.ID] {
				t.Fatalf("user %s seen twice", u.UserName)
			}
			seen[u.ID] = true
		}
		// Writes between the first pages: a user before the cursor goes, a new one comes.
		if pages < 3 {
			if err := s.DeleteUser(ctx, "default", page.Items[0].ID); err != nil {
				t.Fatal(err)
			}
			want[mustUser(t, s, "default", fmt.Sprintf("new%02d@example.com", pages), nil).ID] = true
		}
		if pages > n {
			t.Fatal("paging does not end")
		}
		last := page.Items[len(page.Items)-1]
		after = &appstore.Position{Created: last.Created, ID: last.ID}
	}
	for id := range want {
		if !seen[id] {
			t.Fatalf("user %s never seen while paging", id)
		}
	}
	_, err := s.ListUsers(ctx, "default", appstore.Query{Count: 5, After: after, SortBy: "userName"})
	mustKind(t, err, errkind.Invalid)
}

func testListFilters(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	a := mustUser(t, s, "default", "a@example.com", nil)
	b, err := s.CreateUser(ctx, appstore.User{TenantID: "default", UserName: "b@example.com", Active: false, Source: appstore.SourceApp})
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "G", Members: []appstore.Member{{Value: b.ID, Type: "User"}}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	mid := time.Now()
	if _, err := s.UpdateUser(ctx, "default", a.ID, func(u *appstore.User) error { u.Attrs["title"] = "x"; return nil }); err != nil {
		t.Fatal(err)
	}
	f, tr := false, true
	for _, tc := range []struct {
		name string
		q    appstore.Query
		want []string
	}{
		{"source app", appstore.Query{Source: appstore.SourceApp}, []string{b.ID}},
		{"source scim", appstore.Query{Source: appstore.SourceSCIM}, []string{a.ID}},
		{"inactive", appstore.Query{Active: &f}, []string{b.ID}},
		{"active", appstore.Query{Active: &tr}, []string{a.ID}},
		{"member of", appstore.Query{MemberOf: g.ID}, []string{b.ID}},
		{"updated since", appstore.Query{UpdatedSince: mid}, []string{a.ID}},
	} {
		tc.q.Count = -1
		page, err := s.ListUsers(ctx, "default", tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, u := range page.Items {
			got = append(got, u.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || page.Total != len(tc.want) {
			t.Errorf("%s: got %v (total %d), want %v", tc.name, got, page.Total, tc.want)
		}
	}
}

func testMemberPages(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	var members []appstore.Member
	for i := range 7 {
		members = append(members, appstore.Member{Value: mustUser(t, s, "default", fmt.Sprintf("m%d@example.com", i), nil).ID, Type: "User"})
	}
	g, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "Seven", Members: members})
	if err != nil {
		t.Fatal(err)
	}
	empty, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "Empty"})
	if err != nil {
		t.Fatal(err)
	}
	counts, err := s.MemberCounts(ctx, "default", []string{g.ID, empty.ID})
	if err != nil || counts[g.ID] != 7 || counts[empty.ID] != 0 {
		t.Fatalf("member counts %v %v", counts, err)
	}
	if other, _ := s.MemberCounts(ctx, "nope", []string{g.ID}); other[g.ID] != 0 {
		t.Fatal("member counts cross tenants")
	}
	seen := map[string]bool{}
	after := ""
	for {
		page, err := s.ListMembers(ctx, "default", g.ID, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			if seen[m.Value] || m.Display == "" {
				t.Fatalf("member %+v seen twice or without display", m)
			}
			seen[m.Value] = true
		}
		after = page[len(page)-1].Value
	}
	if len(seen) != 7 {
		t.Fatalf("paged %d members, want 7", len(seen))
	}
	_, err = s.ListMembers(ctx, "default", "no-such-group", "", 3)
	mustKind(t, err, errkind.NotFound)
}

func testDeleteTenant(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	if _, err := s.CreateTenant(ctx, appstore.Tenant{ID: "gone", ProvisioningEnabled: true}); err != nil {
		t.Fatal(err)
	}
	u := mustUser(t, s, "gone", "u@example.com", nil)
	if _, err := s.CreateGroup(ctx, appstore.Group{TenantID: "gone", DisplayName: "G", Members: []appstore.Member{{Value: u.ID, Type: "User"}}}); err != nil {
		t.Fatal(err)
	}
	_, secret, err := s.CreateToken(ctx, "gone")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTenant(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetTenant(ctx, "gone")
	mustKind(t, err, errkind.NotFound)
	_, _, err = s.AuthenticateToken(ctx, secret)
	mustKind(t, err, errkind.Unauthorized)
	mustKind(t, s.DeleteTenant(ctx, "gone"), errkind.NotFound)
	// The id is free again, and the new tenant starts empty.
	if _, err := s.CreateTenant(ctx, appstore.Tenant{ID: "gone"}); err != nil {
		t.Fatal(err)
	}
	if page, _ := s.ListUsers(ctx, "gone", appstore.Query{Count: 0}); page.Total != 0 {
		t.Fatalf("a recreated tenant has %d users", page.Total)
	}
	events, _ := s.ListAudit(ctx, appstore.AuditQuery{TenantID: "gone", Limit: 100})
	found := false
	for _, e := range events {
		found = found || e.Operation == "tenant.delete"
	}
	if !found {
		t.Fatal("no tenant.delete audit event")
	}
}

func testAPIKeys(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	if has, err := s.HasAPIKeys(ctx); err != nil || has {
		t.Fatalf("fresh store has API keys: %v %v", has, err)
	}
	k, secret, err := s.CreateAPIKey(ctx, " ci ")
	if err != nil || k.Name != "ci" || len(secret) < 40 || secret[:len(k.Prefix)] != k.Prefix {
		t.Fatalf("create: %+v %q %v", k, secret, err)
	}
	if has, _ := s.HasAPIKeys(ctx); !has {
		t.Fatal("HasAPIKeys after create is false")
	}
	got, err := s.AuthenticateAPIKey(ctx, secret)
	if err != nil || got.ID != k.ID || got.LastUsed.IsZero() {
		t.Fatalf("authenticate: %+v %v", got, err)
	}
	flipped := "A"
	if secret[len(secret)-1] == 'A' {
		flipped = "B"
	}
	for _, bad := range []string{"", secret + "x", secret[:len(secret)-1] + flipped, "oks_" + secret[4:], k.Prefix} {
		_, err := s.AuthenticateAPIKey(ctx, bad)
		mustKind(t, err, errkind.Unauthorized)
	}
	list, err := s.ListAPIKeys(ctx)
	if err != nil || len(list) != 1 || list[0].Prefix != k.Prefix {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := s.RemoveAPIKey(ctx, k.Prefix); err != nil {
		t.Fatal(err)
	}
	_, err = s.AuthenticateAPIKey(ctx, secret)
	mustKind(t, err, errkind.Unauthorized)
	mustKind(t, s.RemoveAPIKey(ctx, k.ID), errkind.NotFound)
}

func testAuditFilters(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	cli := appstore.WithActor(ctx, appstore.Actor{Kind: "cli"})
	api := appstore.WithActor(ctx, appstore.Actor{Kind: "api", ID: "k1"})
	u, err := s.CreateUser(cli, appstore.User{TenantID: "default", UserName: "audited@example.com", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	mid := time.Now()
	for i := range 3 {
		if _, err := s.UpdateUser(api, "default", u.ID, func(x *appstore.User) error { x.Attrs["title"] = fmt.Sprint(i); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	count := func(q appstore.AuditQuery) int {
		t.Helper()
		q.Limit = 100
		events, err := s.ListAudit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return len(events)
	}
	for _, tc := range []struct {
		name string
		q    appstore.AuditQuery
		want int
	}{
		{"actor kind", appstore.AuditQuery{ResourceID: u.ID, Actor: "api"}, 3},
		{"actor kind:id", appstore.AuditQuery{ResourceID: u.ID, Actor: "api:k1"}, 3},
		{"other actor id", appstore.AuditQuery{ResourceID: u.ID, Actor: "api:k2"}, 0},
		{"kind is not a prefix of another kind", appstore.AuditQuery{ResourceID: u.ID, Actor: "ap"}, 0},
		{"cli", appstore.AuditQuery{ResourceID: u.ID, Actor: "cli"}, 1},
		{"since", appstore.AuditQuery{ResourceID: u.ID, Since: mid}, 3},
		{"until", appstore.AuditQuery{ResourceID: u.ID, Until: mid}, 1},
	} {
		if got := count(tc.q); got != tc.want {
			t.Errorf("%s: %d events, want %d", tc.name, got, tc.want)
		}
	}
	first, _ := s.ListAudit(ctx, appstore.AuditQuery{ResourceID: u.ID, Limit: 2})
	rest, _ := s.ListAudit(ctx, appstore.AuditQuery{ResourceID: u.ID, Limit: 10, BeforeID: first[1].ID})
	if len(first) != 2 || len(rest) != 2 || rest[0].ID >= first[1].ID {
		t.Fatalf("paging backwards: %d then %d", len(first), len(rest))
	}
}
