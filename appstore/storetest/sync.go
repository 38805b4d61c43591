package storetest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
)

// syncTests are the conformance tests of the reconciliation worker's store methods.
var syncTests = []struct {
	name string
	fn   func(t *testing.T, s appstore.Store)
}{
	{"SyncRevisions", testSyncRevisions},
	{"SyncScan", testSyncScan},
	{"SyncFind", testSyncFind},
	{"SyncState", testSyncState},
	{"OktaConnection", testOktaConnection},
	{"SyncRuns", testSyncRuns},
	{"SyncLock", testSyncLock},
	{"BulkInsert", testBulkInsert},
}

func actorCtx(kind string) context.Context {
	return appstore.WithActor(context.Background(), appstore.Actor{Kind: kind})
}

func syncUser(t *testing.T, s appstore.Store, id string) appstore.SyncUser {
	t.Helper()
	m, err := s.FindSyncUsers(ctxT(), appstore.DefaultTenant, appstore.ByID, []string{id})
	if err != nil {
		t.Fatal(err)
	}
	u, ok := m[id]
	if !ok {
		t.Fatalf("user %s not found", id)
	}
	return u
}

// testSyncRevisions checks the change counters: only app writes make a user dirty, and
// marking it synchronised never moves backwards.
func testSyncRevisions(t *testing.T, s appstore.Store) {
	const tn = appstore.DefaultTenant
	app, err := s.CreateUser(actorCtx("app"), appstore.User{TenantID: tn, UserName: "app@x.test", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	scim, err := s.CreateUser(actorCtx("scim"), appstore.User{TenantID: tn, UserName: "scim@x.test", Active: true, Source: appstore.SourceSCIM})
	if err != nil {
		t.Fatal(err)
	}
	if u := syncUser(t, s, app.ID); u.AppRev != 1 || !u.Dirty() || !u.AppEdited("userName") || !u.AppEdited("active") || u.AppEdited("title") {
		t.Errorf("app-created user: rev %d/%d dirty %v changed %v, want app_rev 1, dirty, userName and active changed", u.AppRev, u.SyncedRev, u.Dirty(), u.AppChanged)
	}
	if u := syncUser(t, s, scim.ID); u.AppRev != 0 || !u.Dirty() {
		t.Errorf("SCIM-created user: rev %d/%d, want app_rev 0 and dirty until looked at once", u.AppRev, u.SyncedRev)
	}
	for _, id := range []string{app.ID, scim.ID} {
		u := syncUser(t, s, id)
		if err := s.SaveSyncState(ctxT(), appstore.SyncState{TenantID: tn, UserID: id}, u.AppRev); err != nil {
			t.Fatal(err)
		}
		if syncUser(t, s, id).Dirty() {
			t.Errorf("user %s still dirty after SaveSyncState", id)
		}
	}
	edit := func(kind, id, title string) {
		t.Helper()
		if _, err := s.UpdateUser(actorCtx(kind), tn, id, func(u *appstore.User) error { u.Attrs["title"] = title; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	edit("scim", app.ID, "from okta")
	edit("syncer", app.ID, "from the worker")
	if u := syncUser(t, s, app.ID); u.Dirty() {
		t.Errorf("SCIM and worker writes made the user dirty (rev %d/%d)", u.AppRev, u.SyncedRev)
	}
	if u := syncUser(t, s, app.ID); u.AppChanged == nil || len(u.AppChanged) != 0 || u.AppEdited("title") {
		t.Errorf("changed attributes after sync and non-app writes: %v", u.AppChanged)
	}
	edit("app", app.ID, "from the app")
	u := syncUser(t, s, app.ID)
	if !u.Dirty() || u.AppRev != 2 {
		t.Errorf("app write: rev %d/%d, want app_rev 2 and dirty", u.AppRev, u.SyncedRev)
	}
	if !u.AppEdited("title") || u.AppEdited("name") || len(u.AppChanged) != 1 {
		t.Errorf("changed attributes %v, want [title]", u.AppChanged)
	}
	if _, err := s.UpdateUser(actorCtx("app"), tn, app.ID, func(u *appstore.User) error { u.Active = false; return nil }); err != nil {
		t.Fatal(err)
	}
	if u := syncUser(t, s, app.ID); !u.AppEdited("title") || !u.AppEdited("active") {
		t.Errorf("changed attributes not accumulated: %v", u.AppChanged)
	}
	if _, err := s.UpdateUser(actorCtx("app"), tn, app.ID, func(u *appstore.User) error { u.Active = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if u := syncUser(t, s, app.ID); u.AppRev != 4 {
		t.Fatalf("app_rev %d after four app writes", u.AppRev)
	}
	// A worker that read rev 4 finishes after another app edit: the user stays dirty
	// and keeps its changed attributes.
	edit("app", app.ID, "again")
	if err := s.SaveSyncState(ctxT(), appstore.SyncState{TenantID: tn, UserID: app.ID}, 4); err != nil {
		t.Fatal(err)
	}
	if u := syncUser(t, s, app.ID); !u.Dirty() || u.SyncedRev != 4 || !u.AppEdited("title") {
		t.Errorf("edit during a sync lost: rev %d/%d changed %v", u.AppRev, u.SyncedRev, u.AppChanged)
	}
	// An older rev never moves synced_rev back.
	if err := s.SaveSyncState(ctxT(), appstore.SyncState{TenantID: tn, UserID: app.ID}, 5); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSyncState(ctxT(), appstore.SyncState{TenantID: tn, UserID: app.ID}, 1); err != nil {
		t.Fatal(err)
	}
	if u := syncUser(t, s, app.ID); u.SyncedRev != 5 || u.Dirty() || len(u.AppChanged) != 0 {
		t.Errorf("synced_rev moved back: rev %d/%d changed %v", u.AppRev, u.SyncedRev, u.AppChanged)
	}
	// An unchanged update writes nothing and so counts nothing.
	edit("app", app.ID, "again")
	if u := syncUser(t, s, app.ID); u.Dirty() {
		t.Errorf("a no-op update made the user dirty (rev %d/%d)", u.AppRev, u.SyncedRev)
	}
}

func testSyncScan(t *testing.T, s appstore.Store) {
	const tn = appstore.DefaultTenant
	var ids []string
	for i := 0; i < 7; i++ {
		u, err := s.CreateUser(actorCtx("app"), appstore.User{TenantID: tn, UserName: fmt.Sprintf("u%d@x.test", i), Active: true})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	if _, err := s.CreateTenant(ctxT(), appstore.Tenant{ID: "other", Name: "Other"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(actorCtx("app"), appstore.User{TenantID: "other", UserName: "u0@x.test", Active: true}); err != nil {
		t.Fatal(err)
	}
	// Link two and mark three clean.
	for i, id := range ids[:3] {
		if i < 2 {
			if _, err := s.UpdateUser(actorCtx("syncer"), tn, id, func(u *appstore.User) error { u.OktaUserID = "00u" + fmt.Sprint(i); return nil }); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SaveSyncState(ctxT(), appstore.SyncState{TenantID: tn, UserID: id}, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteUser(ctxT(), tn, ids[6]); err != nil {
		t.Fatal(err)
	}
	walk := func(q appstore.ScanQuery) []string {
		var got []string
		q.Limit = 2
		for {
			page, err := s.ScanSyncUsers(ctxT(), tn, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > 2 {
				t.Fatalf("page of %d, limit 2", len(page))
			}
			for _, u := range page {
				got = append(got, u.ID)
				q.AfterID = u.ID
			}
			if len(page) < 2 {
				return got
			}
		}
	}
	sorted := func(in []string) string {
		c := append([]string(nil), in...)
		sort.Strings(c)
		return strings.Join(c, ",")
	}
	for _, tc := range []struct {
		name string
		q    appstore.ScanQuery
		want []string
	}{
		{"all", appstore.ScanQuery{}, ids[:6]},
		{"dirty", appstore.ScanQuery{Dirty: true}, ids[3:6]},
		{"linked", appstore.ScanQuery{Linked: true}, ids[:2]},
	} {
		if n, err := s.CountSyncUsers(ctxT(), tn, tc.q); err != nil || n != int64(len(tc.want)) {
			t.Errorf("%s: count %d %v, want %d", tc.name, n, err, len(tc.want))
		}
		got := walk(tc.q)
		if strings.Join(got, ",") != sorted(tc.want) {
			t.Errorf("%s: got %v, want %v in id order", tc.name, got, tc.want)
		}
	}
}

func testSyncFind(t *testing.T, s appstore.Store) {
	const tn = appstore.DefaultTenant
	a, err := s.CreateUser(actorCtx("scim"), appstore.User{TenantID: tn, UserName: "a@x.test", Active: true, ExternalID: "00uA", Source: appstore.SourceSCIM})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateUser(actorCtx("syncer"), appstore.User{TenantID: tn, UserName: "b@x.test", Active: true, OktaUserID: "00uB", Source: appstore.SourceOkta})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.FindSyncUsers(ctxT(), tn, appstore.ByOktaUserID, []string{"00uB", "00uA", "nope"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["00uB"].ID != b.ID {
		t.Errorf("by okta id: %v", got)
	}
	got, err = s.FindSyncUsers(ctxT(), tn, appstore.ByExternalID, []string{"00uA"})
	if err != nil {
		t.Fatal(err)
	}
	if got["00uA"].ID != a.ID {
		t.Errorf("by external id: %v", got)
	}
	if got, err := s.FindSyncUsers(ctxT(), "other-tenant", appstore.ByID, []string{a.ID}); err != nil || len(got) != 0 {
		t.Errorf("found across tenants: %v %v", got, err)
	}
	_, err = s.FindSyncUsers(ctxT(), tn, "user_name; DROP TABLE users", []string{"x"})
	mustKind(t, err, errkind.Invalid)
	// Lists longer than one chunk.
	many := make([]string, 1200)
	for i := range many {
		many[i] = fmt.Sprintf("id-%d", i)
	}
	many[1100] = b.ID
	if got, err := s.FindSyncUsers(ctxT(), tn, appstore.ByID, many); err != nil || got[b.ID].UserName != "b@x.test" {
		t.Errorf("long list: %v %v", got, err)
	}
}

func testSyncState(t *testing.T, s appstore.Store) {
	const tn = appstore.DefaultTenant
	u := mustUser(t, s, tn, "st@x.test", nil)
	st := appstore.SyncState{TenantID: tn, UserID: u.ID, OktaUserID: "00u1", OktaStatus: "PROVISIONED",
		Snapshot: map[string]any{"givenName": "Ann", "active": true, "n": 3}}
	if err := s.SaveSyncState(ctxT(), st, -1); err != nil {
		t.Fatal(err)
	}
	st.LastError, st.Unmatched = "boom", true
	st.Snapshot["givenName"] = "Anne"
	if err := s.SaveSyncState(ctxT(), st, -1); err != nil {
		t.Fatal(err)
	}
	got, err := s.SyncStates(ctxT(), tn, []string{u.ID, "missing"})
	if err != nil {
		t.Fatal(err)
	}
	g, ok := got[u.ID]
	if !ok || len(got) != 1 {
		t.Fatalf("states: %v", got)
	}
	if g.OktaUserID != "00u1" || g.OktaStatus != "PROVISIONED" || g.LastError != "boom" || !g.Unmatched ||
		g.Snapshot["givenName"] != "Anne" || g.Snapshot["active"] != true || fmt.Sprint(g.Snapshot["n"]) != "3" || g.Updated.IsZero() {
		t.Errorf("state round trip: %+v", g)
	}
	if got, _ := s.SyncStates(ctxT(), "other", []string{u.ID}); len(got) != 0 {
		t.Errorf("state visible from another tenant")
	}
	mustKind(t, s.SaveSyncState(ctxT(), appstore.SyncState{UserID: u.ID}, -1), errkind.Invalid)
}

func testOktaConnection(t *testing.T, s appstore.Store) {
	const tn = appstore.DefaultTenant
	_, err := s.GetOktaConnection(ctxT(), tn)
	mustKind(t, err, errkind.NotFound)
	secret := []byte("sealed-token-bytes\x00\xff")
	c, err := s.SetOktaConnection(ctxT(), appstore.OktaConnection{TenantID: tn, OrgURL: "https://x.okta.com", AppID: "0oa1", EncryptedToken: secret})
	if err != nil {
		t.Fatal(err)
	}
	if c.Created.IsZero() {
		t.Error("no creation time")
	}
	c2, err := s.SetOktaConnection(ctxT(), appstore.OktaConnection{TenantID: tn, OrgURL: "https://y.okta.com", AppID: "0oa2", EncryptedToken: []byte("other")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetOktaConnection(ctxT(), tn)
	if err != nil {
		t.Fatal(err)
	}
	if got.OrgURL != "https://y.okta.com" || got.AppID != "0oa2" || string(got.EncryptedToken) != "other" || !got.Created.Equal(c.Created) || got.Updated.Before(c2.Created) {
		t.Errorf("replaced connection: %+v", got)
	}
	list, err := s.ListOktaConnections(ctxT())
	if err != nil || len(list) != 1 {
		t.Errorf("list: %v %v", list, err)
	}
	_, err = s.SetOktaConnection(ctxT(), appstore.OktaConnection{TenantID: "nope", OrgURL: "https://x", AppID: "a", EncryptedToken: secret})
	mustKind(t, err, errkind.NotFound)
	_, err = s.SetOktaConnection(ctxT(), appstore.OktaConnection{TenantID: tn, OrgURL: "https://x"})
	mustKind(t, err, errkind.Invalid)
	evs, err := s.ListAudit(ctxT(), appstore.AuditQuery{TenantID: tn})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range evs {
		if e.Operation == "okta.connection.set" {
			found = true
			if strings.Contains(fmt.Sprint(e.Changes), "other") {
				t.Errorf("audit event shows the token: %v", e.Changes)
			}
		}
	}
	if !found {
		t.Error("no audit event for the connection")
	}
	if err := s.DeleteOktaConnection(ctxT(), tn); err != nil {
		t.Fatal(err)
	}
	mustKind(t, s.DeleteOktaConnection(ctxT(), tn), errkind.NotFound)
}

func testSyncRuns(t *testing.T, s appstore.Store) {
	const tn = appstore.DefaultTenant
	r1, err := s.CreateSyncRun(ctxT(), appstore.SyncRun{TenantID: tn, Trigger: "cli", Mode: "full", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.CreateSyncRun(ctxT(), appstore.SyncRun{TenantID: tn, Trigger: "schedule", Mode: "incremental"})
	if err != nil {
		t.Fatal(err)
	}
	if r1.ID == 0 || r2.ID <= r1.ID || r1.Status != appstore.RunRunning {
		t.Fatalf("run ids %d %d status %q", r1.ID, r2.ID, r1.Status)
	}
	r2.Processed, r2.Total, r2.Counts = 5, 10, map[string]int64{"okta.assign": 2}
	if err := s.UpdateSyncRun(ctxT(), r2); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSyncRunError(ctxT(), appstore.SyncRunError{RunID: r2.ID, UserID: "u1", UserName: "a@x", Action: "okta.assign", Message: "E0000001"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSyncRunError(ctxT(), appstore.SyncRunError{RunID: r2.ID, UserID: "u2", Message: "second"}); err != nil {
		t.Fatal(err)
	}
	// r2 holds the lock and closes r1, whose process died.
	if n, err := s.InterruptSyncRuns(ctxT(), tn, r2.ID); err != nil || n != 1 {
		t.Fatalf("interrupt: %d %v", n, err)
	}
	got1, err := s.GetSyncRun(ctxT(), tn, r1.ID)
	if err != nil || got1.Status != appstore.RunInterrupted || got1.Finished.IsZero() || !got1.DryRun || got1.Trigger != "cli" {
		t.Errorf("interrupted run: %+v %v", got1, err)
	}
	r2.Status, r2.Finished = appstore.RunSucceeded, r2.Started
	if err := s.UpdateSyncRun(ctxT(), r2); err != nil {
		t.Fatal(err)
	}
	got2, err := s.GetSyncRun(ctxT(), tn, r2.ID)
	if err != nil || got2.Status != appstore.RunSucceeded || got2.Counts["okta.assign"] != 2 || got2.Processed != 5 || got2.Total != 10 || got2.Finished.IsZero() {
		t.Errorf("run: %+v %v", got2, err)
	}
	list, err := s.ListSyncRuns(ctxT(), tn, 10)
	if err != nil || len(list) != 2 || list[0].ID != r2.ID {
		t.Errorf("list newest first: %v %v", list, err)
	}
	if list, _ := s.ListSyncRuns(ctxT(), "other", 10); len(list) != 0 {
		t.Errorf("runs of another tenant: %v", list)
	}
	errs, err := s.ListSyncRunErrors(ctxT(), r2.ID, 0)
	if err != nil || len(errs) != 2 || errs[0].Message != "E0000001" || errs[0].UserName != "a@x" || errs[1].UserID != "u2" {
		t.Errorf("errors: %+v %v", errs, err)
	}
	_, err = s.GetSyncRun(ctxT(), "other", r2.ID)
	mustKind(t, err, errkind.NotFound)
	mustKind(t, s.UpdateSyncRun(ctxT(), appstore.SyncRun{ID: 9999, TenantID: tn}), errkind.NotFound)
}

func testSyncLock(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	unlock, err := s.LockTenantSync(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.LockTenantSync(ctx, "default")
	mustKind(t, err, errkind.Conflict)
	other, err := s.LockTenantSync(ctx, "acme")
	if err != nil {
		t.Fatalf("another tenant's lock blocked: %v", err)
	}
	other()
	unlock()
	unlock() // idempotent
	again, err := s.LockTenantSync(ctx, "default")
	if err != nil {
		t.Fatalf("lock not released: %v", err)
	}
	again()
}

func testBulkInsert(t *testing.T, s appstore.Store) {
	const tn = appstore.DefaultTenant
	var us []appstore.BulkUser
	for i := 0; i < 1203; i++ {
		u := appstore.BulkUser{User: appstore.User{TenantID: tn, UserName: fmt.Sprintf("bulk%04d@x.test", i), Active: true,
			OktaUserID: fmt.Sprintf("00u%04d", i), Attrs: map[string]any{"displayName": "B"}}}
		if i%2 == 0 {
			u.Snapshot = map[string]any{"displayName": "B"}
		}
		us = append(us, u)
	}
	if err := appstore.BulkInsertUsers(ctxT(), s, us); err != nil {
		t.Fatal(err)
	}
	page, err := s.ListUsers(ctxT(), tn, appstore.Query{Count: 0})
	if err != nil || page.Total != 1203 {
		t.Fatalf("total %d %v", page.Total, err)
	}
	if d, _ := s.ScanSyncUsers(ctxT(), tn, appstore.ScanQuery{Dirty: true}); len(d) != 0 {
		t.Errorf("bulk users are dirty: %d", len(d))
	}
	got, err := s.FindSyncUsers(ctxT(), tn, appstore.ByOktaUserID, []string{"00u1202"})
	if err != nil || got["00u1202"].UserName != "bulk1202@x.test" {
		t.Errorf("find bulk user: %v %v", got, err)
	}
	st, _ := s.SyncStates(ctxT(), tn, []string{us[0].ID, us[1].ID})
	if len(st) != 1 || st[us[0].ID].Snapshot["displayName"] != "B" {
		t.Errorf("bulk snapshots: %v", st)
	}
	if _, err := s.CreateUser(ctxT(), appstore.User{TenantID: tn, UserName: "BULK0001@x.test"}); !errorsIsConflict(err) {
		t.Errorf("bulk userName not unique: %v", err)
	}
}

func errorsIsConflict(err error) bool { return errkind.Of(err) == errkind.Conflict }
