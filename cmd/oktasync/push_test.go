package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/oktasim"
)

// pushRig is oktasim's push engine wired to a running `oktasync serve`, as an Okta admin
// would wire a real org: SCIM base URL and token on the app's Provisioning tab.
type pushRig struct {
	t     *testing.T
	sim   *oktasim.Server
	store appstore.Store
	serve *server
}

func newPushRig(t *testing.T, b storetest.Backend) *pushRig {
	dbURL := b.URL(t)
	s := startServe(t, map[string]string{"OKTASYNC_DB": dbURL})
	scimURL, token := bootToken(t, s.stdout.String())
	sim := oktasim.NewServer()
	t.Cleanup(sim.Close)
	sim.Sim.SetSCIMConnection(oktasim.SCIMConnection{BaseURL: scimURL, Token: token,
		CreateUsers: true, UpdateUsers: true, DeactivateUsers: true, GroupPush: true})
	st, err := appstore.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &pushRig{t: t, sim: sim, store: st, serve: s}
}

func (r *pushRig) wait() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.sim.Sim.WaitIdle(ctx); err != nil {
		r.t.Fatalf("push queue did not drain: %v", err)
	}
	for _, p := range r.sim.Sim.Pushes() {
		if p.Status >= 400 || p.Error != "" {
			r.t.Fatalf("push %s %s failed: %d %s %s\nrequest: %s", p.Method, p.Path, p.Status, p.Error, p.ResponseBody, p.RequestBody)
		}
	}
}

// exchanges returns "METHOD path" of the pushes since the last call.
func (r *pushRig) exchanges() []string {
	var out []string
	for _, p := range r.sim.Sim.Pushes() {
		path, _ := url.PathUnescape(p.Path)
		out = append(out, p.Method+" "+path)
	}
	r.sim.Sim.ClearPushes()
	return out
}

func (r *pushRig) user(userName string) appstore.User {
	r.t.Helper()
	u, err := r.store.GetUserByUserName(context.Background(), appstore.DefaultTenant, userName)
	if err != nil {
		r.t.Fatalf("user %q not in the app: %v", userName, err)
	}
	return u
}

func (r *pushRig) oktaUser(login, first, last string) oktasim.User {
	r.t.Helper()
	u, err := r.sim.Sim.CreateUser(map[string]any{"login": login, "email": login, "firstName": first, "lastName": last}, true)
	if err != nil {
		r.t.Fatal(err)
	}
	return u
}

func hasPrefixes(got []string, want ...string) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d exchanges %q, want %d %q", len(got), got, len(want), want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			return fmt.Errorf("exchange %d = %q, want prefix %q (all: %q)", i, got[i], want[i], got)
		}
	}
	return nil
}

func TestOktaPushesIntoServe(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			r := newPushRig(t, b)
			ctx := context.Background()

			// Test API Credentials.
			if err := r.sim.Sim.TestConnection(ctx, r.sim.AppID); err != nil {
				t.Fatalf("Test API Credentials failed: %v", err)
			}
			if err := hasPrefixes(r.exchanges(), "GET /Users?startIndex=1&count=2"); err != nil {
				t.Fatal(err)
			}

			// Assign → existence check, then create.
			ann := r.oktaUser("Ann.Lee@example.com", "Ann", "Lee")
			if _, err := r.sim.Sim.AssignUser(r.sim.AppID, ann.ID, "", nil); err != nil {
				t.Fatal(err)
			}
			r.wait()
			if err := hasPrefixes(r.exchanges(), `GET /Users?filter=userName eq "Ann.Lee@example.com"`, "POST /Users"); err != nil {
				t.Fatal(err)
			}
			u := r.user("ann.lee@example.com")
			if u.UserName != "Ann.Lee@example.com" || !u.Active || u.Source != appstore.SourceSCIM || u.SourceCredential == "" {
				t.Fatalf("provisioned user = %+v", u)
			}
			if name, _ := u.Attrs["name"].(map[string]any); name["familyName"] != "Lee" {
				t.Fatalf("name not stored: %#v", u.Attrs)
			}
			au, err := r.sim.Sim.AppUser(r.sim.AppID, ann.ID)
			if err != nil || au.ExternalID != u.ID || au.SyncState != "SYNCHRONIZED" {
				t.Fatalf("AppUser after push = %+v, %v; want externalId %s", au, err, u.ID)
			}

			// Profile change → GET then PUT.
			if _, err := r.sim.Sim.UpdateUserProfile(ann.ID, map[string]any{"lastName": "Lee-Smith"}, true); err != nil {
				t.Fatal(err)
			}
			r.wait()
			if err := hasPrefixes(r.exchanges(), "GET /Users/"+u.ID, "PUT /Users/"+u.ID); err != nil {
				t.Fatal(err)
			}
			u = r.user("ann.lee@example.com")
			if name, _ := u.Attrs["name"].(map[string]any); name["familyName"] != "Lee-Smith" {
				t.Fatalf("profile update not applied: %#v", u.Attrs["name"])
			}

			// Deactivate → PATCH active:false; the user stays, readable.
			if err := r.sim.Sim.DeactivateUser(ann.ID); err != nil {
				t.Fatal(err)
			}
			r.wait()
			if err := hasPrefixes(r.exchanges(), "PATCH /Users/"+u.ID); err != nil {
				t.Fatal(err)
			}
			if u = r.user("ann.lee@example.com"); u.Active {
				t.Fatal("deactivation not applied")
			}
			// Okta drops a deactivated user's direct assignments; reactivating the user
			// and assigning the app again reactivates the same account: PATCH active:true.
			if err := r.sim.Sim.ActivateUser(ann.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := r.sim.Sim.AssignUser(r.sim.AppID, ann.ID, "", nil); err != nil {
				t.Fatal(err)
			}
			r.wait()
			if ex := r.exchanges(); len(ex) == 0 || ex[0] != "PATCH /Users/"+u.ID {
				t.Fatalf("reassignment exchanges = %q, want a PATCH of %s first", ex, u.ID)
			}
			if !r.user("ann.lee@example.com").Active {
				t.Fatal("reactivation not applied")
			}

			// A user that already exists in the app is linked, not duplicated.
			pre, err := r.store.CreateUser(ctx, appstore.User{TenantID: appstore.DefaultTenant, UserName: "bo@example.com", Active: true, Source: appstore.SourceApp,
				Attrs: map[string]any{"title": "Designer"}})
			if err != nil {
				t.Fatal(err)
			}
			bo := r.oktaUser("BO@example.com", "Bo", "Ng")
			if _, err := r.sim.Sim.AssignUser(r.sim.AppID, bo.ID, "", nil); err != nil {
				t.Fatal(err)
			}
			r.wait()
			for _, ex := range r.exchanges() {
				if strings.HasPrefix(ex, "POST /Users") {
					t.Fatalf("existing user was created again: %s", ex)
				}
			}
			page, _ := r.store.ListUsers(ctx, appstore.DefaultTenant, appstore.Query{Count: -1})
			if page.Total != 2 {
				t.Fatalf("app has %d users, want 2", page.Total)
			}
			if au, _ := r.sim.Sim.AppUser(r.sim.AppID, bo.ID); au.ExternalID != pre.ID {
				t.Fatalf("AppUser externalId = %q, want the existing user %q", au.ExternalID, pre.ID)
			}

			// Unassign → active:false, never a DELETE.
			if err := r.sim.Sim.UnassignUser(r.sim.AppID, bo.ID); err != nil {
				t.Fatal(err)
			}
			r.wait()
			for _, ex := range r.exchanges() {
				if strings.HasPrefix(ex, "DELETE") {
					t.Fatalf("unassignment deleted the user: %s", ex)
				}
			}
			if r.user("bo@example.com").Active {
				t.Fatal("unassignment did not deactivate the user")
			}

			// Group push: create with members, rename, member removal, delete.
			g, err := r.sim.Sim.CreateGroup("Engineering", "")
			if err != nil {
				t.Fatal(err)
			}
			if err := r.sim.Sim.AddGroupMember(g.ID, ann.ID); err != nil {
				t.Fatal(err)
			}
			if err := r.sim.Sim.PushGroup(r.sim.AppID, g.ID); err != nil {
				t.Fatal(err)
			}
			r.wait()
			groups, _ := r.store.ListGroups(ctx, appstore.DefaultTenant, appstore.Query{Count: -1, WithMembers: true})
			if groups.Total != 1 || groups.Items[0].DisplayName != "Engineering" || len(groups.Items[0].Members) != 1 || groups.Items[0].Members[0].Value != u.ID {
				t.Fatalf("pushed group = %+v", groups.Items)
			}
			gid := groups.Items[0].ID
			if err := r.sim.Sim.RenameGroup(g.ID, "Eng"); err != nil {
				t.Fatal(err)
			}
			if err := r.sim.Sim.RemoveGroupMember(g.ID, ann.ID); err != nil {
				t.Fatal(err)
			}
			r.wait()
			got, err := r.store.GetGroup(ctx, appstore.DefaultTenant, gid, true)
			if err != nil || got.DisplayName != "Eng" || len(got.Members) != 0 {
				t.Fatalf("group after rename and removal = %+v, %v", got, err)
			}
			if err := r.sim.Sim.UnpushGroup(r.sim.AppID, g.ID, true); err != nil {
				t.Fatal(err)
			}
			r.wait()
			if _, err := r.store.GetGroup(ctx, appstore.DefaultTenant, gid, false); err == nil {
				t.Fatal("unpushed group with delete still in the app")
			}

			// Import pulls every user back, in pages.
			res, err := r.sim.Sim.Import(ctx, r.sim.AppID)
			if err != nil || len(res.Users) != 2 {
				t.Fatalf("import = %d users, %v", len(res.Users), err)
			}
			raw, _ := json.Marshal(res.Users)
			if !strings.Contains(string(raw), "Ann.Lee@example.com") {
				t.Fatalf("import lacks the provisioned user: %s", raw)
			}
			events, _ := r.store.ListAudit(ctx, appstore.AuditQuery{ResourceID: u.ID})
			if len(events) < 4 || !strings.HasPrefix(events[0].Actor, "scim:") {
				t.Fatalf("audit trail of the pushed user = %+v", events)
			}
		})
	}
}
