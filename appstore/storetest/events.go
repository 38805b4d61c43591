package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/event"
	"github.com/oktasync/oktasync/scimschema"
)

// eventTests are the conformance tests of the change feed.
var eventTests = []struct {
	name string
	fn   func(t *testing.T, s appstore.Store)
}{
	{"EventsUsers", testEventsUsers},
	{"EventsGroups", testEventsGroups},
	{"EventsTokens", testEventsTokens},
	{"EventsTenant", testEventsTenant},
	{"EventsSyncRuns", testEventsSyncRuns},
	{"EventsFeed", testEventsFeed},
	{"EventsOfLargeWrites", testEventsOfLargeWrites},
	{"EventsRetention", testEventsRetention},
	{"WebhookEndpoints", testWebhookEndpoints},
	{"WebhookFanOut", testWebhookFanOut},
	{"WebhookQueueOrder", testWebhookQueueOrder},
	{"WebhookConcurrentClaims", testWebhookConcurrentClaims},
	{"WebhookClaimRuns", testWebhookClaimRuns},
	{"WebhookConcurrentRuns", testWebhookConcurrentRuns},
}

// Feed reads every event after *cursor and moves the cursor past them.
type Feed struct {
	S      appstore.Store
	Cursor int64
}

// Next returns the events committed since the last call.
func (f *Feed) Next(t testing.TB) []event.Event {
	t.Helper()
	var out []event.Event
	for {
		p, err := f.S.ListEvents(ctxT(), appstore.EventQuery{After: f.Cursor, Limit: 1000})
		if err != nil {
			t.Fatalf("list events after %d: %v", f.Cursor, err)
		}
		out = append(out, p.Events...)
		f.Cursor = p.Next
		if len(p.Events) < 1000 {
			return out
		}
	}
}

// Want is an expected event: its type and, when not empty, its previous as JSON.
type Want struct {
	Type     string
	Previous string
}

// ExpectEvents checks that got are exactly the wanted events, in order.
func ExpectEvents(t testing.TB, what string, got []event.Event, want ...Want) {
	t.Helper()
	var g, w []string
	for _, e := range got {
		g = append(g, e.Type+" "+string(e.Previous))
	}
	for i, x := range want {
		p := x.Previous
		if p == "" && i < len(got) {
			p = string(got[i].Previous)
		}
		w = append(w, x.Type+" "+p)
	}
	if strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Fatalf("%s: events\n%s\nwant\n%s", what, strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
}

func dataOf(t testing.TB, e event.Event) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Data, &m); err != nil {
		t.Fatalf("event %s data: %v", e.Type, err)
	}
	return m
}

func testEventsUsers(t *testing.T, s appstore.Store) {
	ctx := actorCtx("scim")
	f := &Feed{S: s}
	u, err := s.CreateUser(ctx, appstore.User{TenantID: "default", UserName: "ev@example.com", Active: true, Source: appstore.SourceSCIM,
		Attrs: map[string]any{"title": "Engineer", "name": map[string]any{"givenName": "Eve"}}})
	if err != nil {
		t.Fatal(err)
	}
	evs := f.Next(t)
	ExpectEvents(t, "create", evs, Want{event.UserCreated, `{}`})
	e := evs[0]
	if !strings.HasPrefix(e.ID, "evt_") || e.Seq <= 0 || e.Tenant != "default" || e.Source != event.SourceSCIM || e.Actor.Kind != "scim" || e.Time.IsZero() {
		t.Fatalf("event envelope = %+v", e)
	}
	if d := dataOf(t, e); d["id"] != u.ID || d["userName"] != "ev@example.com" || d["active"] != true {
		t.Fatalf("user.created data = %v", d)
	}

	// Refused writes leave nothing: a taken userName, an invalid one, a failing fn.
	_, err = s.CreateUser(ctx, appstore.User{TenantID: "default", UserName: "EV@example.com", Active: true})
	mustKind(t, err, errkind.Conflict)
	_, err = s.UpdateUser(ctx, "default", u.ID, func(u *appstore.User) error { u.UserName = " "; return nil })
	mustKind(t, err, errkind.Invalid)
	_, err = s.UpdateUser(ctx, "default", u.ID, func(u *appstore.User) error {
		u.Attrs["title"] = "never"
		return errkind.Errorf("test", errkind.PreconditionFailed, "version mismatch")
	})
	mustKind(t, err, errkind.PreconditionFailed)
	other := mustUser(t, s, "default", "other@example.com", nil)
	f.Next(t)
	_, err = s.UpdateUser(ctx, "default", other.ID, func(o *appstore.User) error { o.UserName = "ev@example.com"; return nil })
	mustKind(t, err, errkind.Conflict)
	// A write that changes nothing is no event either.
	if _, err := s.UpdateUser(ctx, "default", u.ID, func(u *appstore.User) error { u.Attrs["title"] = "Engineer"; return nil }); err != nil {
		t.Fatal(err)
	}
	ExpectEvents(t, "refused and empty writes", f.Next(t))

	steps := []struct {
		name string
		fn   func(u *appstore.User)
		want []Want
	}{
		{"title", func(u *appstore.User) { u.Attrs["title"] = "CTO" },
			[]Want{{event.UserUpdated, `{"attributes":{"title":"Engineer"}}`}}},
		{"new attribute", func(u *appstore.User) { u.Attrs["nickName"] = "evie" },
			[]Want{{event.UserUpdated, `{"attributes":{"nickName":null}}`}}},
		{"deactivate and retitle", func(u *appstore.User) { u.Active = false; u.Attrs["title"] = "Ex" },
			[]Want{{event.UserDeactivated, `{"active":true}`}, {event.UserUpdated, `{"attributes":{"title":"CTO"}}`}}},
		{"reactivate", func(u *appstore.User) { u.Active = true },
			[]Want{{event.UserReactivated, `{"active":false}`}}},
		{"given name", func(u *appstore.User) { u.Attrs["name"] = map[string]any{"givenName": "Eva"} },
			[]Want{{event.UserUpdated, `{"attributes":{"name":{"givenName":"Eve"}},"name":{"givenName":"Eve"}}`}}},
		{"link", func(u *appstore.User) { u.OktaUserID = "00u1" },
			[]Want{{event.UserUpdated, `{"oktaUserId":null}`}}},
	}
	for _, st := range steps {
		if _, err := s.UpdateUser(ctx, "default", u.ID, func(u *appstore.User) error { st.fn(u); return nil }); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		ExpectEvents(t, st.name, f.Next(t), st.want...)
	}

	// Deleting a user removes it from its groups: one member_removed per group.
	g1, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "One", Members: []appstore.Member{{Value: u.ID}, {Value: other.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "Two", Members: []appstore.Member{{Value: u.ID}}}); err != nil {
		t.Fatal(err)
	}
	f.Next(t)
	if err := s.DeleteUser(ctx, "default", u.ID); err != nil {
		t.Fatal(err)
	}
	evs = f.Next(t)
	ExpectEvents(t, "delete", evs, Want{event.GroupMemberRemoved, `{}`}, Want{event.GroupMemberRemoved, `{}`}, Want{event.UserDeleted, `{}`})
	for _, e := range evs[:2] {
		d := dataOf(t, e)
		m, g := d["member"].(map[string]any), d["group"].(map[string]any)
		if m["id"] != u.ID || m["type"] != "User" {
			t.Fatalf("member_removed member = %v", m)
		}
		if g["id"] == g1.ID && g["memberCount"] != 1.0 {
			t.Fatalf("member_removed group after the removal = %v", g)
		}
	}
	mustKind(t, s.DeleteUser(ctx, "default", u.ID), errkind.NotFound)
	ExpectEvents(t, "delete again", f.Next(t))

	// The source follows the actor.
	for _, c := range []struct{ kind, id, source string }{
		{"syncer", "run-1", event.SourceSync}, {"app", "cli", event.SourceCLI}, {"cli", "", event.SourceCLI},
		{"api", "key-1", event.SourceAPI}, {"app", "", event.SourceApp},
	} {
		actx := appstore.WithActor(ctx, appstore.Actor{Kind: c.kind, ID: c.id})
		if _, err := s.UpdateUser(actx, "default", other.ID, func(o *appstore.User) error { o.Attrs["title"] = c.kind + c.id; return nil }); err != nil {
			t.Fatal(err)
		}
		evs := f.Next(t)
		if len(evs) != 1 || evs[0].Source != c.source || evs[0].Actor.Kind != c.kind || evs[0].Actor.ID != c.id {
			t.Fatalf("actor %s:%s: events %+v, want source %s", c.kind, c.id, evs, c.source)
		}
	}
}

func testEventsGroups(t *testing.T, s appstore.Store) {
	ctx := actorCtx("scim")
	f := &Feed{S: s}
	a := mustUser(t, s, "default", "a@example.com", map[string]any{"displayName": "Ann"})
	b := mustUser(t, s, "default", "b@example.com", nil)
	c := mustUser(t, s, "default", "c@example.com", nil)
	f.Next(t)

	_, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "Bad", Members: []appstore.Member{{Value: "nobody"}}})
	mustKind(t, err, errkind.Invalid)
	ExpectEvents(t, "refused create", f.Next(t))

	g, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "Eng", Members: []appstore.Member{{Value: a.ID}, {Value: b.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	evs := f.Next(t)
	ExpectEvents(t, "create", evs, Want{event.GroupCreated, `{}`}, Want{event.GroupMemberAdded, `{}`}, Want{event.GroupMemberAdded, `{}`})
	if d := dataOf(t, evs[0]); d["displayName"] != "Eng" || d["memberCount"] != 2.0 {
		t.Fatalf("group.created data = %v", d)
	}
	added := map[string]string{}
	for _, e := range evs[1:] {
		m := dataOf(t, e)["member"].(map[string]any)
		added[m["id"].(string)], _ = m["display"].(string)
	}
	if added[a.ID] != "Ann" || added[b.ID] != "b@example.com" {
		t.Fatalf("member_added members = %v", added)
	}

	_, err = s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "eng"})
	mustKind(t, err, errkind.Conflict)
	_, err = s.UpdateGroup(ctx, "default", g.ID, func(g *appstore.Group) error {
		g.Members = append(g.Members, appstore.Member{Value: "ghost"})
		return nil
	})
	mustKind(t, err, errkind.Invalid)
	ExpectEvents(t, "refused writes", f.Next(t))

	// A rename with one member out and one in: three events.
	if _, err := s.UpdateGroup(ctx, "default", g.ID, func(g *appstore.Group) error {
		g.DisplayName = "Engineering"
		g.Members = []appstore.Member{{Value: a.ID}, {Value: c.ID}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	evs = f.Next(t)
	ExpectEvents(t, "update", evs, Want{event.GroupUpdated, `{"displayName":"Eng"}`}, Want{event.GroupMemberRemoved, `{}`}, Want{event.GroupMemberAdded, `{}`})
	if m := dataOf(t, evs[1])["member"].(map[string]any); m["id"] != b.ID {
		t.Fatalf("removed %v, want %s", m, b.ID)
	}
	if m := dataOf(t, evs[2])["member"].(map[string]any); m["id"] != c.ID {
		t.Fatalf("added %v, want %s", m, c.ID)
	}
	if _, err := s.UpdateGroup(ctx, "default", g.ID, func(g *appstore.Group) error { return nil }); err != nil {
		t.Fatal(err)
	}
	ExpectEvents(t, "no-op update", f.Next(t))

	if err := s.DeleteGroup(ctx, "default", g.ID); err != nil {
		t.Fatal(err)
	}
	evs = f.Next(t)
	ExpectEvents(t, "delete", evs, Want{event.GroupDeleted, `{}`})
	if d := dataOf(t, evs[0]); d["displayName"] != "Engineering" || d["memberCount"] != 2.0 {
		t.Fatalf("group.deleted data = %v", d)
	}
}

func testEventsTokens(t *testing.T, s appstore.Store) {
	ctx := actorCtx("cli")
	f := &Feed{S: s}
	c1, _, err := s.CreateToken(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateToken(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	evs := f.Next(t)
	ExpectEvents(t, "create", evs, Want{event.TokenCreated, `{}`}, Want{event.TokenCreated, `{}`})
	if d := dataOf(t, evs[0]); d["id"] != c1.ID || d["prefix"] != c1.Prefix || d["secret"] != nil || d["status"] != "active" {
		t.Fatalf("token.created data = %v", d)
	}
	_, _, err = s.CreateToken(ctx, "default")
	mustKind(t, err, errkind.Conflict)
	_, err = s.SetCredentialStatus(ctx, "default", c1.ID, "paused")
	mustKind(t, err, errkind.Invalid)
	ExpectEvents(t, "refused", f.Next(t))

	if _, err := s.SetCredentialStatus(ctx, "default", c1.ID, appstore.StatusInactive); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetCredentialStatus(ctx, "default", c1.ID, appstore.StatusInactive); err != nil {
		t.Fatal(err)
	}
	ExpectEvents(t, "deactivate twice", f.Next(t), Want{event.TokenStatus, `{"status":"active"}`})
	renewed, _, err := s.RenewToken(ctx, "default", c1.ID)
	if err != nil {
		t.Fatal(err)
	}
	evs = f.Next(t)
	ExpectEvents(t, "renew", evs, Want{event.TokenRenewed, ""})
	var prev map[string]any
	json.Unmarshal(evs[0].Previous, &prev)
	if prev["prefix"] != c1.Prefix || dataOf(t, evs[0])["prefix"] != renewed.Prefix {
		t.Fatalf("token.renewed previous %v, data %v", prev, dataOf(t, evs[0]))
	}
	if _, err := s.CreateBasic(ctx, "default", "okta", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveCredential(ctx, "default", c1.ID); err != nil {
		t.Fatal(err)
	}
	ExpectEvents(t, "basic and remove", f.Next(t), Want{event.TokenCreated, `{}`}, Want{event.TokenRemoved, `{}`})
	mustKind(t, s.RemoveCredential(ctx, "default", c1.ID), errkind.NotFound)
	ExpectEvents(t, "remove again", f.Next(t))
}

func testEventsTenant(t *testing.T, s appstore.Store) {
	ctx := actorCtx("cli")
	f := &Feed{S: s}
	if _, err := s.UpdateTenant(ctx, "default", func(t *appstore.Tenant) error { t.Settings.InviteUsers = true; return nil }); err != nil {
		t.Fatal(err)
	}
	ExpectEvents(t, "invite", f.Next(t), Want{event.TenantUpdated, `{"inviteUsers":false}`})
	if _, err := s.UpdateTenant(ctx, "default", func(t *appstore.Tenant) error { return nil }); err != nil {
		t.Fatal(err)
	}
	_, err := s.UpdateTenant(ctx, "default", func(t *appstore.Tenant) error { t.Name = "x"; return errkind.Errorf("test", errkind.Invalid, "no") })
	mustKind(t, err, errkind.Invalid)
	ExpectEvents(t, "no-op and refused", f.Next(t))

	if err := s.AddAttribute(ctx, "default", scimschema.CustomAttr{Name: "badge", Type: scimschema.String}); err != nil {
		t.Fatal(err)
	}
	mustKind(t, s.AddAttribute(ctx, "default", scimschema.CustomAttr{Name: "Badge"}), errkind.Conflict)
	mustKind(t, s.AddAttribute(ctx, "default", scimschema.CustomAttr{Name: "x", Type: "blob"}), errkind.Invalid)
	if err := s.RemoveAttribute(ctx, "default", "badge"); err != nil {
		t.Fatal(err)
	}
	mustKind(t, s.RemoveAttribute(ctx, "default", "badge"), errkind.NotFound)
	ExpectEvents(t, "attributes", f.Next(t),
		Want{event.TenantUpdated, `{"attributes":[]}`},
		Want{event.TenantUpdated, `{"attributes":[{"name":"badge","type":"string","multiValued":false}]}`})

	if _, err := s.SetOktaConnection(ctx, appstore.OktaConnection{TenantID: "default", OrgURL: "https://a.okta.com", AppID: "0oa1", EncryptedToken: []byte("sealed")}); err != nil {
		t.Fatal(err)
	}
	evs := f.Next(t)
	ExpectEvents(t, "connect", evs, Want{event.TenantUpdated, `{"oktaConnection":null}`})
	if c, _ := dataOf(t, evs[0])["oktaConnection"].(map[string]any); c["orgUrl"] != "https://a.okta.com" || c["appId"] != "0oa1" || strings.Contains(string(evs[0].Data), "sealed") {
		t.Fatalf("tenant.updated data = %s", evs[0].Data)
	}
	if err := s.DeleteOktaConnection(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	evs = f.Next(t)
	ExpectEvents(t, "disconnect", evs, Want{event.TenantUpdated, ""})
	if !strings.Contains(string(evs[0].Previous), `"orgUrl":"https://a.okta.com"`) || dataOf(t, evs[0])["oktaConnection"] != nil {
		t.Fatalf("disconnect event = %s / %s", evs[0].Data, evs[0].Previous)
	}
	mustKind(t, s.DeleteOktaConnection(ctx, "default"), errkind.NotFound)
	ExpectEvents(t, "disconnect again", f.Next(t))
}

func testEventsSyncRuns(t *testing.T, s appstore.Store) {
	ctx := actorCtx("syncer")
	f := &Feed{S: s}
	r, err := s.CreateSyncRun(ctx, appstore.SyncRun{TenantID: "default", Trigger: "cli", Mode: "incremental"})
	if err != nil {
		t.Fatal(err)
	}
	r.Processed, r.Counts = 3, map[string]int64{"okta.assign": 3}
	if err := s.UpdateSyncRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	ExpectEvents(t, "progress", f.Next(t))
	r.Status, r.Finished = appstore.RunSucceeded, time.Now()
	if err := s.UpdateSyncRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateSyncRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	evs := f.Next(t)
	ExpectEvents(t, "finish", evs, Want{event.SyncRunFinished, `{}`})
	if d := dataOf(t, evs[0]); d["status"] != "succeeded" || d["id"] != float64(r.ID) || evs[0].Source != event.SourceSync {
		t.Fatalf("sync.run_finished = %s", evs[0].Data)
	}
	dead, _ := s.CreateSyncRun(ctx, appstore.SyncRun{TenantID: "default", Trigger: "schedule", Mode: "full"})
	if n, err := s.InterruptSyncRuns(ctx, "default", 0); err != nil || n != 1 {
		t.Fatalf("interrupt = %d %v", n, err)
	}
	evs = f.Next(t)
	ExpectEvents(t, "interrupted", evs, Want{event.SyncRunFinished, `{}`})
	if d := dataOf(t, evs[0]); d["status"] != appstore.RunInterrupted || d["id"] != float64(dead.ID) {
		t.Fatalf("interrupted run event = %s", evs[0].Data)
	}
}

func testEventsFeed(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	if _, err := s.CreateTenant(ctx, appstore.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	created, err := s.ListEvents(ctx, appstore.EventQuery{})
	if err != nil || len(created.Events) != 1 || created.Events[0].Type != event.TenantCreated || created.Events[0].Tenant != "acme" {
		t.Fatalf("events of CreateTenant = %+v, %v; want one tenant.created", created.Events, err)
	}
	start := created.Next
	for i := 0; i < 5; i++ {
		for _, tn := range []string{"default", "acme"} {
			if _, err := s.CreateUser(ctx, appstore.User{TenantID: tn, UserName: fmt.Sprintf("u%d@%s.com", i, tn), Active: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	all, err := s.ListEvents(ctx, appstore.EventQuery{After: start})
	if err != nil || len(all.Events) != 10 {
		t.Fatalf("all = %d events, %v", len(all.Events), err)
	}
	for i, e := range all.Events {
		if i > 0 && e.Seq != all.Events[i-1].Seq+1 {
			t.Fatalf("seq %d after %d: want consecutive", e.Seq, all.Events[i-1].Seq)
		}
	}
	if last, _ := s.LastEventSeq(ctx); last != all.Next || all.Next != all.Events[9].Seq {
		t.Fatalf("last seq %d, next %d", last, all.Next)
	}
	p, _ := s.ListEvents(ctx, appstore.EventQuery{After: all.Events[3].Seq, Limit: 2})
	if len(p.Events) != 2 || p.Events[0].Seq != all.Events[4].Seq || p.Next != all.Events[5].Seq {
		t.Fatalf("page after %d = %+v", all.Events[3].Seq, p)
	}
	acme, _ := s.ListEvents(ctx, appstore.EventQuery{Tenant: "acme", After: start})
	if len(acme.Events) != 5 {
		t.Fatalf("acme events = %d", len(acme.Events))
	}
	for _, e := range acme.Events {
		if e.Tenant != "acme" {
			t.Fatalf("tenant filter let through %+v", e)
		}
	}
	typed, _ := s.ListEvents(ctx, appstore.EventQuery{Types: []string{event.UserDeleted, event.TenantUpdated}})
	if len(typed.Events) != 0 || typed.Next != 0 {
		t.Fatalf("types filter = %+v", typed)
	}
	empty, _ := s.ListEvents(ctx, appstore.EventQuery{After: all.Next})
	// Deleting a tenant is in the feed too, with the tenant as it was.
	if err := s.DeleteTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	gone, _ := s.ListEvents(ctx, appstore.EventQuery{After: all.Next})
	if len(gone.Events) != 1 || gone.Events[0].Type != event.TenantDeleted || dataOf(t, gone.Events[0])["id"] != "acme" {
		t.Fatalf("events of DeleteTenant = %+v; want one tenant.deleted of acme", gone.Events)
	}
	if len(empty.Events) != 0 || empty.Next != all.Next {
		t.Fatalf("after the last = %+v", empty)
	}
	_, err = s.ListEvents(ctx, appstore.EventQuery{After: -1})
	mustKind(t, err, errkind.Invalid)
}

func testEventsRetention(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	for i := 0; i < 4; i++ {
		mustUser(t, s, "default", fmt.Sprintf("r%d@example.com", i), nil)
	}
	all, _ := s.ListEvents(ctx, appstore.EventQuery{})
	if n, err := s.PruneEvents(ctx, all.Events[0].Time.Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("prune of nothing old = %d %v", n, err)
	}
	if n, err := s.PruneEvents(ctx, time.Now().Add(time.Hour)); err != nil || n != 4 {
		t.Fatalf("prune all = %d %v", n, err)
	}
	mustUser(t, s, "default", "after@example.com", nil)
	_, err := s.ListEvents(ctx, appstore.EventQuery{After: all.Events[1].Seq})
	var gone *appstore.CursorTooOldError
	if !errors.As(err, &gone) || gone.Oldest != all.Events[3].Seq {
		t.Fatalf("cursor into pruned events: %v, want CursorTooOldError with oldest %d", err, all.Events[3].Seq)
	}
	// From the oldest cursor, or from the start, the reader goes on.
	for _, after := range []int64{0, gone.Oldest} {
		p, err := s.ListEvents(ctx, appstore.EventQuery{After: after})
		if err != nil || len(p.Events) != 1 || p.Events[0].Seq != all.Events[3].Seq+1 {
			t.Fatalf("after %d: %+v %v", after, p, err)
		}
	}
}

// testEventsOfLargeWrites: a write with many events (a group created with 600 members,
// more than one multi-row insert holds) numbers them in the order they were emitted,
// each event's own seq is the one the feed pages by, and paging one event at a time
// meets every one of them.
func testEventsOfLargeWrites(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	start, err := s.LastEventSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var members []appstore.Member
	for i := 0; i < 600; i++ {
		u := mustUser(t, s, "default", fmt.Sprintf("m%03d@example.com", i), nil)
		members = append(members, appstore.Member{Value: u.ID})
	}
	f := &Feed{S: s, Cursor: start}
	f.Next(t)
	g, err := s.CreateGroup(ctx, appstore.Group{TenantID: "default", DisplayName: "Everyone", Members: members})
	if err != nil {
		t.Fatal(err)
	}
	all := f.Next(t)
	if len(all) != 601 || all[0].Type != event.GroupCreated {
		t.Fatalf("events of the create: %d, first %v; want group.created and 600 group.member_added", len(all), all[0].Type)
	}
	seen := map[string]bool{}
	for i, e := range all[1:] {
		if e.Type != event.GroupMemberAdded || e.Seq <= all[i].Seq {
			t.Fatalf("event %d: %s with seq %d after seq %d", i+1, e.Type, e.Seq, all[i].Seq)
		}
		d := dataOf(t, e)
		if d["group"].(map[string]any)["id"] != g.ID {
			t.Fatalf("event %d is of group %v, want %s", i+1, d["group"], g.ID)
		}
		seen[d["member"].(map[string]any)["id"].(string)] = true
	}
	if len(seen) != 600 {
		t.Fatalf("member_added events name %d members, want 600", len(seen))
	}
	after := all[0].Seq - 1
	for i := range all {
		p, err := s.ListEvents(ctx, appstore.EventQuery{After: after, Limit: 1})
		if err != nil || len(p.Events) != 1 || p.Events[0].ID != all[i].ID || p.Next != all[i].Seq {
			t.Fatalf("page %d after %d = %+v, %v; want event %s with next %d", i, after, p, err, all[i].ID, all[i].Seq)
		}
		after = p.Next
	}
}
