package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/event"
	"github.com/oktasync/oktasync/scimfilter"
	"github.com/oktasync/oktasync/scimschema"
)

// Run runs the conformance suite against stores made by open. Each subtest gets a
// fresh store.
func Run(t *testing.T, open func(t testing.TB) appstore.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s appstore.Store)
	}{
		{"Tenants", testTenants},
		{"Attributes", testAttributes},
		{"UserCRUD", testUserCRUD},
		{"UserNameUniqueRace", testUserNameRace},
		{"LostUpdateRace", testLostUpdate},
		{"UpdateRollsBack", testUpdateRollsBack},
		{"SoftDelete", testSoftDelete},
		{"TenantIsolation", testTenantIsolation},
		{"LookupUserWithGroups", testLookupUser},
		{"ListPagingAndSort", testListPaging},
		{"Filters", testFilters},
		{"Groups", testGroups},
		{"MemberDisplay", testMemberDisplay},
		{"GroupMemberRace", testGroupMemberRace},
		{"MemberAddVsUserDelete", testMemberAddVsUserDelete},
		{"MemberAddVsGroupDelete", testMemberAddVsGroupDelete},
		{"GroupRenameVsCreate", testGroupRenameVsCreate},
		{"UserRenameVsCreate", testUserRenameVsCreate},
		{"TokenCreateVsRemove", testTokenCreateVsRemove},
		{"ReadsDuringWrite", testReadsDuringWrite},
		{"QueriesHonourDeadline", testQueriesHonourDeadline},
		{"Tokens", testTokens},
		{"TokenCountRace", testTokenRace},
		{"Basic", testBasic},
		{"Audit", testAudit},
		{"Mail", testMail},
	}
	tests = append(tests, syncTests...)
	tests = append(tests, portalTests...)
	tests = append(tests, scimLogTests...)
	tests = append(tests, eventTests...)
	tests = append(tests, emailDomainTests...)
	tests = append(tests, manageTests...)
	tests = append(tests, authCheckTests...)
	tests = append(tests, writeMailTests...)
	tests = append(tests, groupAnswerTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func ctxT() context.Context {
	return appstore.WithActor(context.Background(), appstore.Actor{Kind: "test", ID: "conformance"})
}

func mustKind(t *testing.T, err error, k errkind.Kind) {
	t.Helper()
	if !errors.Is(err, k) {
		t.Fatalf("got error %v (kind %v), want kind %v", err, errkind.Of(err), k)
	}
}

func mustUser(t *testing.T, s appstore.Store, tenant, userName string, attrs map[string]any) appstore.User {
	t.Helper()
	u, err := s.CreateUser(ctxT(), appstore.User{TenantID: tenant, UserName: userName, Active: true, Attrs: attrs, Source: appstore.SourceSCIM})
	if err != nil {
		t.Fatalf("create user %q: %v", userName, err)
	}
	return u
}

func testTenants(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	def, err := s.GetTenant(ctx, appstore.DefaultTenant)
	if err != nil {
		t.Fatalf("default tenant missing after migration: %v", err)
	}
	if def.ProvisioningEnabled {
		t.Error("default tenant should start with provisioning disabled")
	}
	acme, err := s.CreateTenant(ctx, appstore.Tenant{ID: "acme", Name: "Acme Inc"})
	if err != nil {
		t.Fatal(err)
	}
	if acme.Created.IsZero() {
		t.Error("created time not set")
	}
	_, err = s.CreateTenant(ctx, appstore.Tenant{ID: "acme"})
	mustKind(t, err, errkind.Conflict)
	for _, bad := range []string{"", "Acme", "a b", "-x", strings.Repeat("a", 64), "x/y"} {
		_, err = s.CreateTenant(ctx, appstore.Tenant{ID: bad})
		mustKind(t, err, errkind.Invalid)
	}
	_, err = s.GetTenant(ctx, "nope")
	mustKind(t, err, errkind.NotFound)
	up, err := s.UpdateTenant(ctx, "acme", func(t *appstore.Tenant) error {
		t.ProvisioningEnabled = true
		t.Settings.InviteUsers = true
		t.Settings.Extra = map[string]string{"conflictPolicy": "app-wins"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetTenant(ctx, "acme")
	if !got.ProvisioningEnabled || !got.Settings.InviteUsers || got.Settings.Extra["conflictPolicy"] != "app-wins" || got.Name != "Acme Inc" {
		t.Errorf("update not persisted: %+v (returned %+v)", got, up)
	}
	_, err = s.UpdateTenant(ctx, "nope", func(*appstore.Tenant) error { return nil })
	mustKind(t, err, errkind.NotFound)
	list, err := s.ListTenants(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "acme" || list[1].ID != "default" {
		t.Fatalf("ListTenants = %v, %v; want acme, default", list, err)
	}
}

func testAttributes(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	if err := s.AddAttribute(ctx, "default", scimschema.CustomAttr{Name: "favoriteColor"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAttribute(ctx, "default", scimschema.CustomAttr{Name: "level", Type: scimschema.Integer}); err != nil {
		t.Fatal(err)
	}
	mustKind(t, s.AddAttribute(ctx, "default", scimschema.CustomAttr{Name: "FavoriteColor"}), errkind.Conflict)
	mustKind(t, s.AddAttribute(ctx, "default", scimschema.CustomAttr{Name: "9lives"}), errkind.Invalid)
	mustKind(t, s.AddAttribute(ctx, "default", scimschema.CustomAttr{Name: "x", Type: "blob"}), errkind.Invalid)
	mustKind(t, s.AddAttribute(ctx, "nope", scimschema.CustomAttr{Name: "x"}), errkind.NotFound)
	got, err := s.ListAttributes(ctx, "default")
	if err != nil || len(got) != 2 || got[0].Name != "favoriteColor" || got[0].Type != scimschema.String || got[1].Type != scimschema.Integer {
		t.Fatalf("ListAttributes = %+v, %v", got, err)
	}
	if err := s.RemoveAttribute(ctx, "default", "FAVORITECOLOR"); err != nil {
		t.Fatal(err)
	}
	mustKind(t, s.RemoveAttribute(ctx, "default", "favoriteColor"), errkind.NotFound)
}

func testUserCRUD(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	u := mustUser(t, s, "default", "Alice@Example.com", map[string]any{
		"displayName": "Alice", "name": map[string]any{"givenName": "Alice", "familyName": "Smith"},
		"EMAILS": []any{map[string]any{"Value": "alice@example.com", "primary": true, "type": "work"}},
	})
	if u.ID == "" || u.Version != 1 || u.Created.IsZero() {
		t.Fatalf("created user lacks id/version/created: %+v", u)
	}
	got, err := s.GetUser(ctx, "default", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserName != "Alice@Example.com" {
		t.Errorf("userName case not preserved: %q", got.UserName)
	}
	if got.PrimaryEmail() != "alice@example.com" {
		t.Errorf("attribute names not stored in schema spelling: %#v", got.Attrs)
	}
	byName, err := s.GetUserByUserName(ctx, "default", "alice@EXAMPLE.com")
	if err != nil || byName.ID != u.ID {
		t.Fatalf("GetUserByUserName case-insensitive: %v %v", byName.ID, err)
	}
	_, err = s.CreateUser(ctx, appstore.User{TenantID: "default", UserName: "ALICE@example.COM"})
	mustKind(t, err, errkind.Conflict)
	_, err = s.CreateUser(ctx, appstore.User{TenantID: "default", UserName: "  "})
	mustKind(t, err, errkind.Invalid)
	_, err = s.CreateUser(ctx, appstore.User{TenantID: "nope", UserName: "x"})
	mustKind(t, err, errkind.NotFound)
	for _, id := range []string{"010101001010101011001010101011", "", "00000000-0000-0000-0000-000000000000"} {
		_, err = s.GetUser(ctx, "default", id)
		mustKind(t, err, errkind.NotFound)
	}

	up, err := s.UpdateUser(ctx, "default", u.ID, func(u *appstore.User) error {
		u.Active = false
		u.Attrs["title"] = "Engineer"
		u.ID = "hijack" // ignored: identity belongs to the store
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.ID != u.ID || up.Version != 2 || up.Active || up.Attrs["title"] != "Engineer" {
		t.Fatalf("update result wrong: %+v", up)
	}
	same, err := s.UpdateUser(ctx, "default", u.ID, func(u *appstore.User) error { return nil })
	if err != nil || same.Version != 2 {
		t.Fatalf("no-op update changed the version: %d %v", same.Version, err)
	}
	other := mustUser(t, s, "default", "bob@example.com", nil)
	_, err = s.UpdateUser(ctx, "default", other.ID, func(u *appstore.User) error { u.UserName = "ALICE@example.com"; return nil })
	mustKind(t, err, errkind.Conflict)
	_, err = s.UpdateUser(ctx, "default", "missing", func(u *appstore.User) error { return nil })
	mustKind(t, err, errkind.NotFound)
	// Deactivated users still read back.
	if g, err := s.GetUser(ctx, "default", u.ID); err != nil || g.Active {
		t.Fatalf("deactivated user: %+v %v", g, err)
	}
}

func testUserNameRace(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	const n = 50
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "race@example.com"
			if i%2 == 1 {
				name = "RACE@example.com"
			}
			_, err := s.CreateUser(ctx, appstore.User{TenantID: "default", UserName: name, Active: true})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, errkind.Conflict):
				conflicts.Add(1)
			default:
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("unexpected error: %v", err)
	}
	if wins.Load() != 1 || conflicts.Load() != n-1 {
		t.Fatalf("wins=%d conflicts=%d, want 1 and %d", wins.Load(), conflicts.Load(), n-1)
	}
	page, err := s.ListUsers(ctx, "default", appstore.Query{Count: -1})
	if err != nil || page.Total != 1 {
		t.Fatalf("users after race: %d %v", page.Total, err)
	}
}

func testLostUpdate(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	u := mustUser(t, s, "default", "counter@example.com", map[string]any{"nickName": ""})
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, err := s.UpdateUser(ctx, "default", u.ID, func(u *appstore.User) error {
					u.Attrs["nickName"] = u.Attrs["nickName"].(string) + fmt.Sprintf("[%d]", i)
					return nil
				})
				if errors.Is(err, errkind.Transient) {
					continue // busy database: retry as a caller would
				}
				if err != nil {
					t.Error(err)
				}
				return
			}
		}()
	}
	wg.Wait()
	got, err := s.GetUser(ctx, "default", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	nick := got.Attrs["nickName"].(string)
	for i := range n {
		if !strings.Contains(nick, fmt.Sprintf("[%d]", i)) {
			t.Errorf("update %d lost: %q", i, nick)
		}
	}
	if got.Version != n+1 {
		t.Errorf("version = %d, want %d", got.Version, n+1)
	}
}

func testUpdateRollsBack(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	u := mustUser(t, s, "default", "rb@example.com", map[string]any{"title": "Before"})
	boom := errors.New("boom")
	_, err := s.UpdateUser(ctx, "default", u.ID, func(u *appstore.User) error {
		u.Attrs["title"] = "After"
		u.Active = false
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("fn error not returned: %v", err)
	}
	got, _ := s.GetUser(ctx, "default", u.ID)
	if got.Attrs["title"] != "Before" || !got.Active || got.Version != 1 {
		t.Fatalf("aborted update left changes: %+v", got)
	}
	events, _ := s.ListAudit(ctx, appstore.AuditQuery{ResourceID: u.ID})
	if len(events) != 1 || events[0].Operation != "user.create" {
		t.Fatalf("aborted update left audit events: %+v", events)
	}
	// A group update that names an unknown member changes nothing, not even the name.
	g, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "G", Members: []appstore.Member{{Value: u.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdateGroup(ctx, "default", g.ID, func(g *appstore.Group) error {
		g.DisplayName = "Renamed"
		g.Members = append(g.Members, appstore.Member{Value: "ghost"})
		return nil
	})
	mustKind(t, err, errkind.Invalid)
	after, _ := s.GetGroup(ctx, "default", g.ID, true)
	if after.DisplayName != "G" || len(after.Members) != 1 || after.Version != 1 {
		t.Fatalf("failed group update left changes: %+v", after)
	}
}

func testSoftDelete(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	u := mustUser(t, s, "default", "gone@example.com", nil)
	g, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "Team", Members: []appstore.Member{{Value: u.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "default", u.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetUser(ctx, "default", u.ID)
	mustKind(t, err, errkind.NotFound)
	mustKind(t, s.DeleteUser(ctx, "default", u.ID), errkind.NotFound)
	g2, _ := s.GetGroup(ctx, "default", g.ID, true)
	if len(g2.Members) != 0 || g2.Version != 2 {
		t.Fatalf("deleted user still a member: %+v", g2)
	}
	events, _ := s.ListAudit(ctx, appstore.AuditQuery{ResourceID: u.ID})
	if len(events) == 0 || events[0].Operation != "user.delete" {
		t.Fatalf("no audit record of the delete: %+v", events)
	}
	// The userName is free again.
	if _, err := s.CreateUser(ctx, appstore.User{TenantID: "default", UserName: "GONE@example.com"}); err != nil {
		t.Fatalf("userName of a deleted user not reusable: %v", err)
	}
}

func testTenantIsolation(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	if _, err := s.CreateTenant(ctx, appstore.Tenant{ID: "other"}); err != nil {
		t.Fatal(err)
	}
	a := mustUser(t, s, "default", "same@example.com", nil)
	b := mustUser(t, s, "other", "same@example.com", nil) // same userName, other tenant: fine
	if _, err := s.GetUser(ctx, "other", a.ID); !errors.Is(err, errkind.NotFound) {
		t.Fatalf("tenant other sees default's user: %v", err)
	}
	_, err := s.UpdateUser(ctx, "other", a.ID, func(*appstore.User) error { return nil })
	mustKind(t, err, errkind.NotFound)
	mustKind(t, s.DeleteUser(ctx, "other", a.ID), errkind.NotFound)
	_, err = s.CreateGroup(ctx, appstore.Group{TenantID: "other", DisplayName: "X", Members: []appstore.Member{{Value: a.ID}}})
	mustKind(t, err, errkind.Invalid)
	page, _ := s.ListUsers(ctx, "other", appstore.Query{Count: -1})
	if page.Total != 1 || page.Items[0].ID != b.ID {
		t.Fatalf("other's listing = %+v", page)
	}
	c, _, err := s.CreateToken(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.SetCredentialStatus(ctx, "default", c.ID, appstore.StatusInactive)
	mustKind(t, err, errkind.NotFound)
	mustKind(t, s.RemoveCredential(ctx, "default", c.ID), errkind.NotFound)
}

// testLookupUser checks the existence-check read: by userName in any case, within the
// tenant, with the user's direct groups ordered by displayName.
func testLookupUser(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	if _, err := s.CreateTenant(ctx, appstore.Tenant{ID: "other"}); err != nil {
		t.Fatal(err)
	}
	a := mustUser(t, s, "default", "Lookup@Example.com", nil)
	b := mustUser(t, s, "other", "lookup@example.com", nil)
	loner := mustUser(t, s, "default", "loner@example.com", nil)
	for _, name := range []string{"b-team", "A-team"} {
		if _, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: name, Members: []appstore.Member{{Value: a.ID}}}); err != nil {
			t.Fatal(err)
		}
	}
	u, groups, err := s.LookupUser(ctx, "default", "LOOKUP@example.COM")
	if err != nil || u.ID != a.ID || u.UserName != "Lookup@Example.com" {
		t.Fatalf("LookupUser(default) = %+v, %v; want %s", u, err, a.ID)
	}
	if len(groups) != 2 || groups[0].DisplayName != "A-team" || groups[1].DisplayName != "b-team" || groups[0].ID == "" {
		t.Fatalf("groups = %+v, want A-team then b-team", groups)
	}
	u, groups, err = s.LookupUser(ctx, "other", "Lookup@Example.com")
	if err != nil || u.ID != b.ID || len(groups) != 0 {
		t.Fatalf("LookupUser(other) = %+v, %+v, %v; want %s without groups", u, groups, err, b.ID)
	}
	if _, groups, err = s.LookupUser(ctx, "default", "loner@example.com"); err != nil || len(groups) != 0 {
		t.Fatalf("LookupUser(loner) groups = %+v, %v", groups, err)
	}
	if err := s.DeleteUser(ctx, "default", loner.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.LookupUser(ctx, "default", "loner@example.com")
	mustKind(t, err, errkind.NotFound)
	_, _, err = s.LookupUser(ctx, "nope", "lookup@example.com")
	mustKind(t, err, errkind.NotFound)
}

func testListPaging(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	const n = 25
	for i := range n {
		mustUser(t, s, "default", fmt.Sprintf("user%02d@example.com", (i*7)%n), map[string]any{"title": fmt.Sprintf("t%02d", n-i)})
	}
	var seen []string
	for start := 1; start <= n; start += 10 {
		page, err := s.ListUsers(ctx, "default", appstore.Query{StartIndex: start, Count: 10})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != n {
			t.Fatalf("total = %d", page.Total)
		}
		for _, u := range page.Items {
			seen = append(seen, u.ID)
		}
	}
	all, _ := s.ListUsers(ctx, "default", appstore.Query{Count: -1})
	if len(seen) != n || len(all.Items) != n {
		t.Fatalf("paging saw %d users, want %d", len(seen), n)
	}
	for i := range all.Items {
		if all.Items[i].ID != seen[i] {
			t.Fatalf("paged order differs from full order at %d", i)
		}
	}
	only, _ := s.ListUsers(ctx, "default", appstore.Query{Count: 0})
	if only.Total != n || len(only.Items) != 0 {
		t.Fatalf("count=0: %+v", only)
	}
	past, _ := s.ListUsers(ctx, "default", appstore.Query{StartIndex: n + 5, Count: 10})
	if past.Total != n || len(past.Items) != 0 {
		t.Fatalf("past the end: %+v", past)
	}
	sorted, err := s.ListUsers(ctx, "default", appstore.Query{SortBy: "userName", Count: -1})
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, n)
	for _, u := range sorted.Items {
		names = append(names, u.UserName)
	}
	if !sort.StringsAreSorted(names) {
		t.Fatalf("sortBy userName not sorted: %v", names)
	}
	desc, err := s.ListUsers(ctx, "default", appstore.Query{SortBy: "title", SortDesc: true, Count: 3})
	if err != nil || desc.Items[0].Attrs["title"] != "t25" || desc.Items[2].Attrs["title"] != "t23" {
		t.Fatalf("sortBy title descending: %+v %v", desc.Items, err)
	}
	_, err = s.ListUsers(ctx, "default", appstore.Query{SortBy: "nosuch", Count: 1})
	mustKind(t, err, errkind.Invalid)
}

func testFilters(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	if err := s.AddAttribute(ctx, "default", scimschema.CustomAttr{Name: "favoriteColor"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAttribute(ctx, "default", scimschema.CustomAttr{Name: "level", Type: scimschema.Integer}); err != nil {
		t.Fatal(err)
	}
	alice := mustUser(t, s, "default", "Alice@Example.com", map[string]any{
		"displayName": "Alice Smith",
		"name":        map[string]any{"givenName": "Alice", "familyName": "Smith"},
		"emails": []any{
			map[string]any{"value": "alice@example.com", "type": "work", "primary": true},
			map[string]any{"value": "alice@home.org", "type": "home"},
		},
		"title":                  "Engineer",
		scimschema.EnterpriseURN: map[string]any{"department": "R&D", "employeeNumber": "42"},
		scimschema.CustomURN:     map[string]any{"favoriteColor": "Blue", "level": 7},
	})
	bob := mustUser(t, s, "default", "bob@example.com", map[string]any{
		"displayName":        "Bob Jones",
		"emails":             []any{map[string]any{"value": "bob@other.com", "type": "work"}},
		scimschema.CustomURN: map[string]any{"level": 3},
	})
	carol := mustUser(t, s, "default", "carol@example.com", nil)
	if _, err := s.UpdateUser(ctx, "default", carol.ID, func(u *appstore.User) error { u.Active = false; u.ExternalID = "ext-C"; return nil }); err != nil {
		t.Fatal(err)
	}
	g, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "Admins", Members: []appstore.Member{{Value: bob.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	A, B, C := alice.ID, bob.ID, carol.ID
	cases := []struct {
		filter string
		want   []string
	}{
		{`userName eq "alice@example.com"`, []string{A}},
		{`USERNAME EQ "ALICE@EXAMPLE.COM"`, []string{A}},
		{`userName sw "B"`, []string{B}},
		{`userName ew "@example.com"`, []string{A, B, C}},
		{`userName co "ROL"`, []string{C}},
		{`userName ne "bob@example.com"`, []string{A, C}},
		{`userName gt "b"`, []string{B, C}},
		{`active eq false`, []string{C}},
		{`active eq "True"`, []string{A, B}},
		{`externalId eq "ext-C"`, []string{C}},
		{`externalId eq "EXT-C"`, nil}, // externalId is case-exact
		{`externalId pr`, []string{C}},
		{`id eq "` + B + `"`, []string{B}},
		{`displayName co "smith"`, []string{A}},
		{`name.givenName eq "alice"`, []string{A}},
		{`name.familyName pr`, []string{A}},
		{`name pr`, []string{A}},
		{`title pr`, []string{A}},
		{`not (title pr)`, []string{B, C}},
		{`title ne "Engineer"`, []string{B, C}},
		{`emails eq "bob@other.com"`, []string{B}},
		{`emails.value co "example.com"`, []string{A}},
		{`emails.type eq "home"`, []string{A}},
		{`emails[type eq "work" and value co "@other.com"]`, []string{B}},
		{`emails[type eq "home" and value co "@other.com"]`, nil},
		{`emails[primary eq true]`, []string{A}},
		{`emails pr`, []string{A, B}},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob@example.com"`, []string{B}},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "r&d"`, []string{A}},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "42"`, []string{A}},
		{`urn:ietf:params:scim:schemas:extension:oktasync:2.0:User:favoriteColor eq "blue"`, []string{A}},
		{`urn:ietf:params:scim:schemas:extension:oktasync:2.0:User:level gt 5`, []string{A}},
		{`urn:ietf:params:scim:schemas:extension:oktasync:2.0:User:level le 3`, []string{B}},
		{`groups.value eq "` + g.ID + `"`, []string{B}},
		{`groups[display eq "admins"]`, []string{B}},
		{`meta.created gt "2000-01-01T00:00:00Z"`, []string{A, B, C}},
		{`meta.lastModified lt "2000-01-01T00:00:00Z"`, nil},
		{`meta.resourceType eq "User"`, []string{A, B, C}},
		{`userName eq "alice@example.com" or userName eq "bob@example.com" and active eq false`, []string{A}},
		{`(userName eq "alice@example.com" or userName eq "bob@example.com") and active eq true`, []string{A, B}},
		{`title eq null`, []string{B, C}},
		{`userName eq "x' OR '1'='1"`, nil},
		// Entra's unquoted values and attribute names in any case.
		{`userName sw A`, []string{A}},
		{`name.FamilyName eq Smith and (emails.Value co example.com or emails.Value co example.org)`, []string{A}},
		{`emails.VALUE co other.com`, []string{B}},
		{`meta.Created gt 2015-10-10T14:38:21.8617979-07:00`, []string{A, B, C}},
		{`meta.created lt 2015-10-10T14:38:21.861797912345-07:00`, nil},
		{`Meta.LastModified ge 2015-10-10`, []string{A, B, C}},
		{`EMAILS[TYPE eq home]`, []string{A}},
		{`ExternalID eq ext-C`, []string{C}},
	}
	for _, tc := range cases {
		t.Run(tc.filter, func(t *testing.T) {
			f, err := scimfilter.Parse(tc.filter)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			page, err := s.ListUsers(ctx, "default", appstore.Query{Filter: f, Count: -1})
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			var got []string
			for _, u := range page.Items {
				got = append(got, u.ID)
			}
			sort.Strings(got)
			want := append([]string(nil), tc.want...)
			sort.Strings(want)
			if strings.Join(got, ",") != strings.Join(want, ",") || page.Total != len(want) {
				t.Fatalf("got %v (total %d), want %v", got, page.Total, want)
			}
		})
	}
	bad := []string{
		`nosuch eq "x"`,
		`name eq "x"`,
		`active sw "t"`,
		`active eq "maybe"`,
		`urn:ietf:params:scim:schemas:extension:oktasync:2.0:User:level co "1"`,
		`meta.created gt "yesterday"`,
		`emails[nosuch eq "x"]`,
		`password eq "x"`,
	}
	for _, b := range bad {
		f, err := scimfilter.Parse(b)
		if err != nil {
			t.Fatalf("parse %q: %v", b, err)
		}
		_, err = s.ListUsers(ctx, "default", appstore.Query{Filter: f, Count: 1})
		if !errors.Is(err, errkind.Invalid) || errkind.Message(err) == "" {
			t.Errorf("filter %q: got %v, want an Invalid error with a message", b, err)
		}
	}
	for _, tc := range []struct {
		filter string
		want   int
	}{
		{`displayName eq "ADMINS"`, 1},
		{`members.value eq "` + bob.ID + `"`, 1},
		{`members[value eq "` + alice.ID + `"]`, 0},
		{`displayName sw "Ad" and members pr`, 1},
	} {
		f, err := scimfilter.Parse(tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		page, err := s.ListGroups(ctx, "default", appstore.Query{Filter: f, Count: -1})
		if err != nil || page.Total != tc.want {
			t.Errorf("groups %q: total %d, err %v; want %d", tc.filter, page.Total, err, tc.want)
		}
	}
}

func testGroups(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	a := mustUser(t, s, "default", "a@example.com", map[string]any{"displayName": "Ann"})
	b := mustUser(t, s, "default", "b@example.com", nil)
	g, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "Engineering", Source: appstore.SourceSCIM, SourceCredential: "cred1",
		Members: []appstore.Member{{Value: a.ID}, {Value: b.ID, Type: "user"}, {Value: a.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Members) != 2 {
		t.Fatalf("duplicate member not collapsed: %+v", g.Members)
	}
	disp := map[string]string{}
	for _, m := range g.Members {
		disp[m.Value] = m.Display
	}
	if disp[a.ID] != "Ann" || disp[b.ID] != "b@example.com" {
		t.Errorf("member displays = %v", disp)
	}
	_, err = s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "ENGINEERING"})
	mustKind(t, err, errkind.Conflict)
	_, err = s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: ""})
	mustKind(t, err, errkind.Invalid)
	other, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdateGroup(ctx, "default", other.ID, func(g *appstore.Group) error { g.DisplayName = "engineering"; return nil })
	mustKind(t, err, errkind.Conflict)
	up, err := s.UpdateGroup(ctx, "default", g.ID, func(g *appstore.Group) error {
		g.DisplayName = "Eng"
		g.Members = []appstore.Member{{Value: b.ID}, {Value: other.ID, Type: "Group"}}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.DisplayName != "Eng" || len(up.Members) != 2 || up.Version != 2 {
		t.Fatalf("update: %+v", up)
	}
	refs, err := s.UserGroups(ctx, "default", []string{a.ID, b.ID})
	if err != nil || len(refs[a.ID]) != 0 || len(refs[b.ID]) != 1 || refs[b.ID][0].DisplayName != "Eng" {
		t.Fatalf("UserGroups = %+v %v", refs, err)
	}
	noMembers, _ := s.GetGroup(ctx, "default", g.ID, false)
	if noMembers.Members != nil {
		t.Error("GetGroup without members loaded members")
	}
	list, err := s.ListGroups(ctx, "default", appstore.Query{Count: -1, WithMembers: true})
	if err != nil || list.Total != 2 || len(list.Items[0].Members) != 2 {
		t.Fatalf("ListGroups = %+v %v", list, err)
	}
	if err := s.DeleteGroup(ctx, "default", other.ID); err != nil {
		t.Fatal(err)
	}
	after, _ := s.GetGroup(ctx, "default", g.ID, true)
	if len(after.Members) != 1 {
		t.Fatalf("deleted group still a member: %+v", after.Members)
	}
	mustKind(t, s.DeleteGroup(ctx, "default", other.ID), errkind.NotFound)
	_, err = s.GetGroup(ctx, "default", "not-a-uuid", true)
	mustKind(t, err, errkind.NotFound)
}

func testGroupMemberRace(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	g, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "Crowd"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 30
	ids := make([]string, n)
	for i := range n {
		ids[i] = mustUser(t, s, "default", fmt.Sprintf("m%d@example.com", i), nil).ID
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, err := s.UpdateGroup(ctx, "default", g.ID, func(g *appstore.Group) error {
					g.Members = append(g.Members, appstore.Member{Value: id})
					return nil
				})
				if errors.Is(err, errkind.Transient) {
					continue
				}
				if err != nil {
					t.Error(err)
				}
				return
			}
		}()
	}
	wg.Wait()
	got, _ := s.GetGroup(ctx, "default", g.ID, true)
	if len(got.Members) != n {
		t.Fatalf("members = %d, want %d: concurrent adds lost members", len(got.Members), n)
	}
}

// raceIterations is how many times each two-writer race below is run: enough for the
// writers to interleave in every order on a busy machine.
const raceIterations = 60

// race runs a and b at the same moment and returns their errors, retrying either on a
// Transient error as a client would on a 503.
func race(a, b func() error) (errA, errB error) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	run := func(fn func() error, out *error) {
		defer wg.Done()
		<-start
		for {
			if *out = fn(); !errors.Is(*out, errkind.Transient) {
				return
			}
		}
	}
	wg.Add(2)
	go run(a, &errA)
	go run(b, &errB)
	close(start)
	wg.Wait()
	return errA, errB
}

func addMember(ctx context.Context, s appstore.Store, groupID string, m appstore.Member) func() error {
	return func() error {
		_, err := s.UpdateGroup(ctx, "default", groupID, func(g *appstore.Group) error {
			g.Members = append(g.Members, m)
			return nil
		})
		return err
	}
}

// A user deleted while a group gains it as a member is never left in the group: either
// the add comes first and the delete removes the membership, or the add finds no user.
func testMemberAddVsUserDelete(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	g, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "Racers"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range raceIterations {
		u := mustUser(t, s, "default", fmt.Sprintf("racer%d@example.com", i), nil)
		addErr, delErr := race(addMember(ctx, s, g.ID, appstore.Member{Value: u.ID}),
			func() error { return s.DeleteUser(ctx, "default", u.ID) })
		if delErr != nil {
			t.Fatalf("delete: %v", delErr)
		}
		if addErr != nil {
			mustKind(t, addErr, errkind.Invalid)
		}
		got, err := s.GetGroup(ctx, "default", g.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range got.Members {
			if m.Value == u.ID {
				t.Fatalf("iteration %d: deleted user %s is still a member of the group (add error %v)", i, u.ID, addErr)
			}
		}
		found, err := s.ListGroups(ctx, "default", appstore.Query{Filter: mustParse(t, fmt.Sprintf(`members.value eq %q`, u.ID)), Count: 10})
		if err != nil {
			t.Fatal(err)
		}
		if found.Total != 0 {
			t.Fatalf("iteration %d: members.value eq the deleted user finds %d groups", i, found.Total)
		}
	}
}

// A group deleted while another group gains it as a member is never left a member.
func testMemberAddVsGroupDelete(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	parent, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "Parent"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range raceIterations {
		child, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: fmt.Sprintf("Child %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		addErr, delErr := race(addMember(ctx, s, parent.ID, appstore.Member{Value: child.ID, Type: "Group"}),
			func() error { return s.DeleteGroup(ctx, "default", child.ID) })
		if delErr != nil {
			t.Fatalf("delete: %v", delErr)
		}
		if addErr != nil {
			mustKind(t, addErr, errkind.Invalid)
		}
		got, err := s.GetGroup(ctx, "default", parent.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range got.Members {
			if m.Value == child.ID {
				t.Fatalf("iteration %d: deleted group is still a member (add error %v)", i, addErr)
			}
		}
	}
}

// A group renamed to a name another group is being created with: exactly one of them
// gets the name.
func testGroupRenameVsCreate(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	for i := range raceIterations {
		g, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: fmt.Sprintf("Old %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("Wanted %d", i)
		renameErr, createErr := race(func() error {
			_, err := s.UpdateGroup(ctx, "default", g.ID, func(g *appstore.Group) error { g.DisplayName = name; return nil })
			return err
		}, func() error {
			_, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: strings.ToUpper(name)})
			return err
		})
		if (renameErr == nil) == (createErr == nil) {
			t.Fatalf("iteration %d: rename error %v, create error %v: want exactly one to win", i, renameErr, createErr)
		}
		mustKind(t, errors.Join(renameErr, createErr), errkind.Conflict)
		page, err := s.ListGroups(ctx, "default", appstore.Query{Filter: mustParse(t, fmt.Sprintf(`displayName eq %q`, name)), Count: 10})
		if err != nil || page.Total != 1 {
			t.Fatalf("iteration %d: %d groups named %q (%v)", i, page.Total, name, err)
		}
	}
}

// A user renamed to a userName another user is being created with: exactly one wins.
func testUserRenameVsCreate(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	for i := range raceIterations {
		u := mustUser(t, s, "default", fmt.Sprintf("old%d@example.com", i), nil)
		name := fmt.Sprintf("wanted%d@example.com", i)
		renameErr, createErr := race(func() error {
			_, err := s.UpdateUser(ctx, "default", u.ID, func(u *appstore.User) error { u.UserName = name; return nil })
			return err
		}, func() error {
			_, err := s.CreateUser(ctx, appstore.User{TenantID: "default", UserName: strings.ToUpper(name), Active: true})
			return err
		})
		if (renameErr == nil) == (createErr == nil) {
			t.Fatalf("iteration %d: rename error %v, create error %v: want exactly one to win", i, renameErr, createErr)
		}
		mustKind(t, errors.Join(renameErr, createErr), errkind.Conflict)
	}
}

// Removing a token while another is created never leaves more than MaxTokens, and the
// freed slot can be used.
func testTokenCreateVsRemove(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	if _, err := s.UpdateTenant(ctx, "default", func(t *appstore.Tenant) error { t.ProvisioningEnabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	for range appstore.MaxTokens {
		if _, _, err := s.CreateToken(ctx, "default"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range raceIterations {
		list, err := s.ListCredentials(ctx, "default")
		if err != nil || len(list) != appstore.MaxTokens {
			t.Fatalf("iteration %d: %d credentials (%v), want %d", i, len(list), err, appstore.MaxTokens)
		}
		victim := list[i%len(list)].ID
		var secret string
		createErr, removeErr := race(func() error {
			var err error
			_, secret, err = s.CreateToken(ctx, "default")
			return err
		}, func() error { return s.RemoveCredential(ctx, "default", victim) })
		if removeErr != nil {
			t.Fatalf("iteration %d: remove: %v", i, removeErr)
		}
		if createErr != nil {
			// The create came first and found both slots taken; it works now.
			mustKind(t, createErr, errkind.Conflict)
			if _, secret, err = s.CreateToken(ctx, "default"); err != nil {
				t.Fatalf("iteration %d: create after remove: %v", i, err)
			}
		}
		if _, _, err := s.AuthenticateToken(ctx, secret); err != nil {
			t.Fatalf("iteration %d: the new token does not authenticate: %v", i, err)
		}
	}
}

// Reads are served while a write transaction is open: a slow writer (or a slow query)
// does not queue every request behind it.
func testReadsDuringWrite(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	if _, err := s.UpdateTenant(ctx, "default", func(t *appstore.Tenant) error { t.ProvisioningEnabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	_, secret, err := s.CreateToken(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	u := mustUser(t, s, "default", "reader@example.com", nil)
	inWrite, release := make(chan struct{}), make(chan struct{})
	wrote := make(chan error, 1)
	go func() {
		_, err := s.UpdateUser(ctx, "default", u.ID, func(u *appstore.User) error {
			close(inWrite)
			<-release
			u.Attrs["title"] = "Written"
			return nil
		})
		wrote <- err
	}()
	<-inWrite
	read := make(chan error, 1)
	go func() {
		got, err := s.GetUser(ctx, "default", u.ID)
		if err == nil && got.Attrs["title"] != nil {
			err = fmt.Errorf("read saw the uncommitted write: %v", got.Attrs)
		}
		if err == nil {
			_, err = s.ListUsers(ctx, "default", appstore.Query{Filter: mustParse(t, `userName sw "reader"`), Count: 10})
		}
		if err == nil {
			_, _, err = s.AuthenticateToken(ctx, secret)
		}
		read <- err
	}()
	select {
	case err := <-read:
		if err != nil {
			t.Fatalf("read during a write: %v", err)
		}
	case <-time.After(20 * time.Second):
		close(release)
		t.Fatal("reads waited for an open write transaction")
	}
	close(release)
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetUser(ctx, "default", u.ID); err != nil || got.Attrs["title"] != "Written" {
		t.Fatalf("after the write: %v %v", got.Attrs, err)
	}
}

// A query whose context has run out is stopped and reported as Transient (503 to a
// SCIM client), on reads and writes alike, and the store keeps working afterwards.
func testQueriesHonourDeadline(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	mustUser(t, s, "default", "deadline@example.com", nil)
	expired, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	_, err := s.ListUsers(expired, "default", appstore.Query{Filter: mustParse(t, `title co "x"`), Count: 10})
	mustKind(t, err, errkind.Transient)
	_, err = s.CreateUser(expired, appstore.User{TenantID: "default", UserName: "late@example.com", Active: true})
	mustKind(t, err, errkind.Transient)
	if _, err := s.GetUserByUserName(ctx, "default", "late@example.com"); !errors.Is(err, errkind.NotFound) {
		t.Fatalf("the write cut off by its deadline was stored: %v", err)
	}
	if _, err := s.GetUserByUserName(ctx, "default", "deadline@example.com"); err != nil {
		t.Fatalf("store unusable after a deadline: %v", err)
	}
}

func testTokens(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	if _, err := s.UpdateTenant(ctx, "default", func(t *appstore.Tenant) error { t.ProvisioningEnabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	c1, sec1, err := s.CreateToken(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	_, sec2, err := s.CreateToken(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if len(sec1) < 43 || sec1 == sec2 || !strings.HasPrefix(sec1, c1.Prefix) {
		t.Fatalf("secrets look wrong: %q %q (prefix %q)", sec1, sec2, c1.Prefix)
	}
	_, _, err = s.CreateToken(ctx, "default")
	mustKind(t, err, errkind.Conflict)
	if !strings.Contains(errkind.Message(err), "remove or renew") {
		t.Errorf("third-token message does not say what to do: %v", err)
	}
	_, _, err = s.CreateToken(ctx, "nope")
	mustKind(t, err, errkind.NotFound)

	tn, cred, err := s.AuthenticateToken(ctx, sec1)
	if err != nil || tn.ID != "default" || cred.ID != c1.ID || cred.LastUsed.IsZero() {
		t.Fatalf("authenticate: %+v %+v %v", tn, cred, err)
	}
	flipped := sec1[:len(sec1)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(sec1, "A")]
	for _, bad := range []string{"", "non-token", sec1 + "x", flipped, c1.Prefix + "_" + strings.Repeat("A", 43)} {
		_, _, err := s.AuthenticateToken(ctx, bad)
		mustKind(t, err, errkind.Unauthorized)
	}
	if _, err := s.SetCredentialStatus(ctx, "default", c1.ID, appstore.StatusInactive); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.AuthenticateToken(ctx, sec1)
	mustKind(t, err, errkind.Unauthorized)
	_, err = s.SetCredentialStatus(ctx, "default", c1.ID, "paused")
	mustKind(t, err, errkind.Invalid)
	if _, err := s.SetCredentialStatus(ctx, "default", c1.ID, appstore.StatusActive); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetCredentialStatus(ctx, "default", c1.ID, appstore.StatusInactive); err != nil {
		t.Fatal(err)
	}
	renewed, sec1b, err := s.RenewToken(ctx, "default", c1.ID)
	if err != nil || renewed.ID != c1.ID || sec1b == sec1 || renewed.Status != appstore.StatusActive {
		t.Fatalf("renew of an inactive token: %+v %v (want it active with a new secret)", renewed, err)
	}
	_, _, err = s.AuthenticateToken(ctx, sec1)
	mustKind(t, err, errkind.Unauthorized)
	if _, _, err := s.AuthenticateToken(ctx, sec1b); err != nil {
		t.Fatalf("renewed token refused: %v", err)
	}
	// A disabled tenant's credentials are refused.
	s.UpdateTenant(ctx, "default", func(t *appstore.Tenant) error { t.ProvisioningEnabled = false; return nil })
	_, _, err = s.AuthenticateToken(ctx, sec2)
	mustKind(t, err, errkind.Unauthorized)
	s.UpdateTenant(ctx, "default", func(t *appstore.Tenant) error { t.ProvisioningEnabled = true; return nil })

	list, err := s.ListCredentials(ctx, "default")
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := s.RemoveCredential(ctx, "default", c1.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.AuthenticateToken(ctx, sec1b)
	mustKind(t, err, errkind.Unauthorized)
	if _, _, err := s.CreateToken(ctx, "default"); err != nil {
		t.Fatalf("token after removal: %v", err)
	}
	events, _ := s.ListAudit(ctx, appstore.AuditQuery{TenantID: "default", Limit: 100})
	for _, e := range events {
		for k, ch := range e.Changes {
			for _, sec := range []string{sec1, sec1b, sec2} {
				if strings.Contains(fmt.Sprint(ch.Old, ch.New), sec[len(c1.Prefix):]) {
					t.Errorf("audit event %s %s leaks a secret", e.Operation, k)
				}
			}
		}
	}
}

func testTokenRace(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	var ok, conflict atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, _, err := s.CreateToken(ctx, "default")
				switch {
				case errors.Is(err, errkind.Transient):
					continue
				case err == nil:
					ok.Add(1)
				case errors.Is(err, errkind.Conflict):
					conflict.Add(1)
				default:
					t.Error(err)
				}
				return
			}
		}()
	}
	wg.Wait()
	if ok.Load() != appstore.MaxTokens || conflict.Load() != 10-appstore.MaxTokens {
		t.Fatalf("created %d tokens (%d refused), want exactly %d", ok.Load(), conflict.Load(), appstore.MaxTokens)
	}
}

func testBasic(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	s.UpdateTenant(ctx, "default", func(t *appstore.Tenant) error { t.ProvisioningEnabled = true; return nil })
	c, err := s.CreateBasic(ctx, "default", "okta", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateBasic(ctx, "default", "okta", "another long password")
	mustKind(t, err, errkind.Conflict)
	_, err = s.CreateBasic(ctx, "default", "short", "pw")
	mustKind(t, err, errkind.Invalid)
	for range 2 { // the second time from the verification cache
		tn, cred, err := s.AuthenticateBasic(ctx, "okta", "correct horse battery")
		if err != nil || tn.ID != "default" || cred.ID != c.ID {
			t.Fatalf("basic auth: %v", err)
		}
	}
	_, _, err = s.AuthenticateBasic(ctx, "okta", "wrong horse battery")
	mustKind(t, err, errkind.Unauthorized)
	_, _, err = s.AuthenticateBasic(ctx, "nobody", "correct horse battery")
	mustKind(t, err, errkind.Unauthorized)
	s.SetCredentialStatus(ctx, "default", c.ID, appstore.StatusInactive)
	_, _, err = s.AuthenticateBasic(ctx, "okta", "correct horse battery")
	mustKind(t, err, errkind.Unauthorized)
}

func testAudit(t *testing.T, s appstore.Store) {
	ctx := appstore.WithActor(context.Background(), appstore.Actor{Kind: "scim", ID: "cred-9"})
	u := mustUser(t, s, "default", "audited@example.com", map[string]any{"title": "A"})
	if _, err := s.UpdateUser(ctx, "default", u.ID, func(u *appstore.User) error { u.Attrs["title"] = "B"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(ctx, "default", u.ID, func(u *appstore.User) error { u.Active = false; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordAudit(ctx, appstore.AuditEvent{TenantID: "default", Operation: "sync.conflict", ResourceType: "User", ResourceID: u.ID,
		Changes: map[string]appstore.Change{"title": {Old: "app", New: "okta"}}}); err != nil {
		t.Fatal(err)
	}
	events, err := s.ListAudit(ctx, appstore.AuditQuery{ResourceID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	ops := []string{}
	for _, e := range events {
		ops = append(ops, e.Operation)
	}
	if strings.Join(ops, ",") != "sync.conflict,user.deactivate,user.update,user.create" {
		t.Fatalf("operations = %v", ops)
	}
	if events[2].Actor != "scim:cred-9" || events[2].Changes["title"].Old != "A" || events[2].Changes["title"].New != "B" {
		t.Fatalf("update event = %+v", events[2])
	}
	if events[3].Actor != "test:conformance" {
		t.Fatalf("create actor = %q", events[3].Actor)
	}
	other, _ := s.ListAudit(ctx, appstore.AuditQuery{TenantID: "nope"})
	if len(other) != 0 {
		t.Fatalf("tenant filter leaked %d events", len(other))
	}
}

func testMail(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	if err := s.EnqueueMail(ctx, appstore.Mail{TenantID: "default", To: "a@example.com", Subject: "Welcome", Body: "Hi"}); err != nil {
		t.Fatal(err)
	}
	mustKind(t, s.EnqueueMail(ctx, appstore.Mail{TenantID: "default"}), errkind.Invalid)
	due, err := s.DueMail(ctx, 10)
	if err != nil || len(due) != 1 || due[0].To != "a@example.com" {
		t.Fatalf("due = %+v %v", due, err)
	}
	m := due[0]
	m.Attempts, m.LastError, m.NextAttempt = 1, "connection refused", m.Created.Add(1e12)
	if err := s.MarkMail(ctx, m); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueMail(ctx, 10); len(due) != 0 {
		t.Fatalf("mail due again before its next attempt: %+v", due)
	}
	m.NextAttempt = m.Created
	s.MarkMail(ctx, m)
	due, _ = s.DueMail(ctx, 10)
	if len(due) != 1 || due[0].Attempts != 1 || due[0].LastError != "connection refused" {
		t.Fatalf("retry state lost: %+v", due)
	}
	m.Sent = m.Created
	s.MarkMail(ctx, m)
	if due, _ := s.DueMail(ctx, 10); len(due) != 0 {
		t.Fatalf("sent mail still due: %+v", due)
	}
	// An abandoned mail is never due again, whatever its next attempt says.
	if err := s.EnqueueMail(ctx, appstore.Mail{TenantID: "default", To: "b@example.com", Subject: "Welcome", Body: "Hi"}); err != nil {
		t.Fatal(err)
	}
	due, _ = s.DueMail(ctx, 10)
	if len(due) != 1 {
		t.Fatalf("due = %+v", due)
	}
	m = due[0]
	m.Attempts, m.LastError, m.GaveUp, m.NextAttempt = 8, "550 no such user", m.Created, m.Created
	if err := s.MarkMail(ctx, m); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueMail(ctx, 10); len(due) != 0 {
		t.Fatalf("abandoned mail still due: %+v", due)
	}
}

func mustParse(t *testing.T, filter string) scimfilter.Expr {
	t.Helper()
	f, err := scimfilter.Parse(filter)
	if err != nil {
		t.Fatalf("parse %q: %v", filter, err)
	}
	return f
}

// testMemberDisplay: a member's display sent by the client is kept with the membership;
// without one the member's displayName, then userName, is shown and marked derived, and
// a derived display written back is not stored (it follows the user's later renames).
func testMemberDisplay(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	ann := mustUser(t, s, "default", "ann@example.com", map[string]any{"displayName": "Ann"})
	bob := mustUser(t, s, "default", "bob@example.com", nil)
	displays := func(g appstore.Group) map[string]string {
		out := map[string]string{}
		for _, m := range g.Members {
			d := m.Display
			if m.DisplayDerived {
				d = "derived:" + d
			}
			out[m.Value] = d
		}
		return out
	}
	expect := func(what string, g appstore.Group, want map[string]string) {
		t.Helper()
		got := displays(g)
		if len(got) != len(want) {
			t.Fatalf("%s: displays %v, want %v", what, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("%s: displays %v, want %v", what, got, want)
			}
		}
	}
	g, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "Displays",
		Members: []appstore.Member{{Value: ann.ID, Display: "ann.login"}, {Value: bob.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ann.ID: "ann.login", bob.ID: "derived:bob@example.com"}
	expect("create", g, want)
	got, err := s.GetGroup(ctx, "default", g.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	expect("get", got, want)

	// Writing the members back unchanged changes nothing.
	same, err := s.UpdateGroup(ctx, "default", g.ID, func(*appstore.Group) error { return nil })
	if err != nil || same.Version != g.Version {
		t.Fatalf("no-op update: version %d (was %d), %v", same.Version, g.Version, err)
	}
	// A new display for a present member is a change, with its event: group.updated
	// with an empty previous, since no field of the group itself changed.
	f := &Feed{S: s}
	f.Next(t)
	up, err := s.UpdateGroup(ctx, "default", g.ID, func(g *appstore.Group) error {
		for i, m := range g.Members {
			if m.Value == ann.ID {
				g.Members[i].Display, g.Members[i].DisplayDerived = "ann.new", false
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want[ann.ID] = "ann.new"
	expect("new display", up, want)
	ExpectEvents(t, "new display", f.Next(t), Want{event.GroupUpdated, `{}`})
	if up.Version != g.Version+1 {
		t.Errorf("new display: version %d, want %d", up.Version, g.Version+1)
	}
	if _, err := s.UpdateUser(ctx, "default", bob.ID, func(u *appstore.User) error {
		u.Attrs = map[string]any{"displayName": "Bob B"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetGroup(ctx, "default", g.ID, true)
	want[bob.ID] = "derived:Bob B"
	expect("after the user's rename", got, want)
	page, err := s.ListGroups(ctx, "default", appstore.Query{Count: -1, WithMembers: true})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("list: %+v %v", page, err)
	}
	expect("list", page.Items[0], want)
	// Dropping a sent display falls back to the derived one.
	up, err = s.UpdateGroup(ctx, "default", g.ID, func(g *appstore.Group) error {
		g.Members = []appstore.Member{{Value: ann.ID}, {Value: bob.ID}}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	expect("display dropped", up, map[string]string{ann.ID: "derived:Ann", bob.ID: "derived:Bob B"})
}
