package syncer_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/scimschema"
	"github.com/oktasync/oktasync/syncer"
)

// TestImportNewUserLinksWithoutDuplicate: a user created in the app becomes an
// AppUser; Okta's resulting SCIM push (existence check, then update) links to the
// existing app user instead of creating a second one, and nothing echoes back.
func TestImportNewUserLinksWithoutDuplicate(t *testing.T) {
	forBackends(t, func(t *testing.T, b storetest.Backend) {
		h := newHarness(t, b, harnessOpts{})
		u := h.appCreate("ann@example.com", "Ann", "Lee", map[string]any{"title": "Engineer",
			scimschema.EnterpriseURN: map[string]any{"department": "R&D"}})

		rep := h.sync(false)
		if rep.Run.Counts[syncer.ActOktaCreate] != 1 || rep.Run.Counts[syncer.ActOktaAssign] != 1 {
			t.Fatalf("counts %v, want one Okta user created and assigned", rep.Run.Counts)
		}
		got := h.user(u.ID)
		if got.OktaUserID == "" {
			t.Fatal("app user not linked")
		}
		au, ok := h.appUser(got.OktaUserID)
		if !ok {
			t.Fatal("no AppUser in Okta")
		}
		if au.UserName != "ann@example.com" || au.Profile["givenName"] != "Ann" || au.Profile["familyName"] != "Lee" ||
			au.Profile["title"] != "Engineer" || au.Profile["department"] != "R&D" || au.Profile["email"] != "ann@example.com" {
			t.Errorf("AppUser = %s %v", au.UserName, au.Profile)
		}
		ou, err := h.sim.GetUser(got.OktaUserID)
		if err != nil || ou.Status != "STAGED" {
			t.Errorf("Okta user %v status %q, want STAGED (created without activation email)", err, ou.Status)
		}
		if n := h.countUsers("ann@example.com"); n != 1 {
			t.Fatalf("%d app users named ann@example.com, want 1", n)
		}

		// Okta provisions a STAGED user once activated: its push must link, not create.
		before := len(h.sim.Pushes())
		if err := h.sim.ActivateUser(got.OktaUserID); err != nil {
			t.Fatal(err)
		}
		h.idle()
		pushes := h.pushesAfter(before)
		for _, p := range pushes {
			if p.Method == http.MethodPost {
				t.Errorf("push engine created a user: %s", describe(pushes))
			}
		}
		if len(pushes) == 0 || !strings.Contains(pushes[0].Path, "filter=") {
			t.Errorf("pushes after activation = %s, want an existence check first", describe(pushes))
		}
		if n := h.countUsers("ann@example.com"); n != 1 {
			t.Fatalf("%d app users after Okta's push, want 1", n)
		}
		linked := h.user(u.ID)
		if linked.ExternalID != got.OktaUserID {
			t.Errorf("externalId %q, want the Okta id %q set by Okta's push", linked.ExternalID, got.OktaUserID)
		}

		// The next syncs have nothing to do: no Okta write, no new push cycle.
		pushesBefore := len(h.sim.Pushes())
		_, w0 := h.calls.snapshot()
		h.sync(false)
		h.sync(true)
		h.sync(false)
		if _, w := h.calls.snapshot(); w != w0 {
			t.Errorf("%d Okta writes after the import settled, want 0 (%v)", w-w0, h.calls.byPath)
		}
		if p := h.pushesAfter(pushesBefore); len(p) != 0 {
			t.Errorf("second push cycle: %s", describe(p))
		}
	})
}

// TestImportMatchesExistingOktaUser: an app user whose login (or primary email) an Okta
// user already has is assigned, not created again; the push links immediately.
func TestImportMatchesExistingOktaUser(t *testing.T) {
	forBackends(t, func(t *testing.T, b storetest.Backend) {
		h := newHarness(t, b, harnessOpts{})
		byLogin := h.oktaUser("bob@example.com", "Bob", "Okta")
		byEmail, err := h.sim.CreateUser(map[string]any{"login": "carol.login@example.com", "email": "carol@example.com", "firstName": "Carol", "lastName": "Okta"}, true)
		if err != nil {
			t.Fatal(err)
		}
		bob := h.appCreate("bob@example.com", "Bob", "App", nil)
		carol := h.appCreate("carol@example.com", "Carol", "App", nil)
		before := len(h.sim.Pushes())
		rep := h.sync(false)
		if rep.Run.Counts[syncer.ActOktaCreate] != 0 || rep.Run.Counts[syncer.ActOktaAssign] != 2 {
			t.Fatalf("counts %v", rep.Run.Counts)
		}
		if got := h.user(bob.ID).OktaUserID; got != byLogin.ID {
			t.Errorf("bob linked to %q, want %q (by login)", got, byLogin.ID)
		}
		if got := h.user(carol.ID).OktaUserID; got != byEmail.ID {
			t.Errorf("carol linked to %q, want %q (by email)", got, byEmail.ID)
		}
		au, _ := h.appUser(byLogin.ID)
		if au.Profile["familyName"] != "App" || au.UserName != "bob@example.com" {
			t.Errorf("AppUser profile %v: the app's values should be assigned", au.Profile)
		}
		for _, p := range h.pushesAfter(before) {
			if p.Method == http.MethodPost {
				t.Errorf("push engine created a user: %s", describe(h.pushesAfter(before)))
			}
		}
		if h.countUsers("bob@example.com") != 1 || h.countUsers("carol@example.com") != 1 {
			t.Error("duplicate app users")
		}
	})
}

// TestOktaAssignmentIsLinked: a user assigned in Okta is pushed by SCIM and the next
// incremental sync links it with one read and no write.
func TestOktaAssignmentIsLinked(t *testing.T) {
	forBackends(t, func(t *testing.T, b storetest.Backend) {
		h := newHarness(t, b, harnessOpts{})
		ou := h.oktaUser("dan@example.com", "Dan", "Smith")
		if _, err := h.sim.AssignUser(h.appID, ou.ID, "", nil); err != nil {
			t.Fatal(err)
		}
		h.idle()
		u := h.userByName("dan@example.com")
		if u.Source != appstore.SourceSCIM || u.OktaUserID != "" {
			t.Fatalf("pushed user: source %q link %q", u.Source, u.OktaUserID)
		}
		r0, w0 := h.calls.snapshot()
		rep := h.sync(false)
		r1, w1 := h.calls.snapshot()
		if got := h.user(u.ID).OktaUserID; got != ou.ID {
			t.Fatalf("linked to %q, want %q (counts %v)", got, ou.ID, rep.Run.Counts)
		}
		if w1 != w0 || r1-r0 != 1 {
			t.Errorf("linking cost %d reads and %d writes, want 1 and 0", r1-r0, w1-w0)
		}
		r0, w0 = h.calls.snapshot()
		h.sync(false)
		if r, w := h.calls.snapshot(); r != r0 || w != w0 {
			t.Errorf("idle incremental sync made %d reads, %d writes; want none", r-r0, w-w0)
		}
	})
}

// TestProfileEditsBothWays: an app edit reaches the AppUser; an Okta edit reaches the
// app through Okta's push and is not pushed back; an Okta edit whose push never came
// is repaired by the drift check.
func TestProfileEditsBothWays(t *testing.T) {
	forBackends(t, func(t *testing.T, b storetest.Backend) {
		h := newHarness(t, b, harnessOpts{})
		u := h.appCreate("eve@example.com", "Eve", "Adams", nil)
		h.sync(false)
		oktaID := h.user(u.ID).OktaUserID
		if err := h.sim.ActivateUser(oktaID); err != nil { // provisioned, so Okta pushes updates
			t.Fatal(err)
		}
		h.idle()

		// App → Okta.
		h.appUpdate(u.ID, func(u *appstore.User) {
			u.Attrs["title"] = "CTO"
			u.Attrs["name"].(map[string]any)["familyName"] = "Brown"
		})
		_, w0 := h.calls.snapshot()
		rep := h.sync(false)
		if rep.Run.Counts[syncer.ActOktaUpdate] != 1 {
			t.Fatalf("counts %v", rep.Run.Counts)
		}
		au, _ := h.appUser(oktaID)
		if au.Profile["title"] != "CTO" || au.Profile["familyName"] != "Brown" {
			t.Errorf("AppUser profile %v", au.Profile)
		}
		if _, w := h.calls.snapshot(); w-w0 != 1 {
			t.Errorf("%d writes for one edit, want 1", w-w0)
		}

		// Okta → app by SCIM: no echo.
		if _, err := h.sim.UpdateAppUser(h.appID, oktaID, "", map[string]any{"givenName": "Evelyn"}); err != nil {
			t.Fatal(err)
		}
		h.idle()
		if g := h.user(u.ID).Attrs["name"].(map[string]any)["givenName"]; g != "Evelyn" {
			t.Fatalf("Okta's push did not arrive: givenName %v", g)
		}
		_, w0 = h.calls.snapshot()
		rep = h.sync(false)
		rep2 := h.sync(true)
		if _, w := h.calls.snapshot(); w != w0 {
			t.Errorf("an Okta change was pushed back: %d writes (%v / %v)", w-w0, rep.Run.Counts, rep2.Run.Counts)
		}

		// Okta → app with the push lost: the drift check repairs it.
		h.setPush(true, false, true)
		if _, err := h.sim.UpdateAppUser(h.appID, oktaID, "", map[string]any{"title": "CEO"}); err != nil {
			t.Fatal(err)
		}
		h.idle()
		if h.user(u.ID).Attrs["title"] != "CTO" {
			t.Fatal("the update was pushed although the push was off")
		}
		h.sync(false)
		if h.user(u.ID).Attrs["title"] != "CTO" {
			t.Fatal("the incremental sync listed Okta")
		}
		rep = h.sync(true)
		if got := h.user(u.ID).Attrs["title"]; got != "CEO" || rep.Run.Counts[syncer.ActAppUpdate] != 1 {
			t.Errorf("after the drift check title %v, counts %v", got, rep.Run.Counts)
		}
		_, w0 = h.calls.snapshot()
		h.sync(true)
		if _, w := h.calls.snapshot(); w != w0 {
			t.Errorf("repaired value pushed back: %d writes", w-w0)
		}
	})
}

// TestConflictPolicies: a value changed on both sides since the last sync is settled
// by the tenant's policy and recorded in the audit trail with both values.
func TestConflictPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy    string
		oktaFirst bool // for newest-wins: which side changed last
		want      string
	}{
		{"okta-wins", false, "okta"},
		{"app-wins", false, "app"},
		{"newest-wins", false, "okta"},
		{"newest-wins", true, "app"},
		{"", false, "okta"}, // the default
	} {
		name := tc.policy
		if name == "" {
			name = "default"
		}
		if tc.oktaFirst {
			name += "-app-last"
		}
		t.Run(name, func(t *testing.T) {
			forBackends(t, func(t *testing.T, b storetest.Backend) {
				pol := map[string]string{}
				if tc.policy != "" {
					pol[syncer.SettingConflict] = tc.policy
				}
				h := newHarness(t, b, harnessOpts{policy: pol})
				u := h.appCreate("fay@example.com", "Fay", "Wong", map[string]any{"title": "base"})
				h.sync(false)
				oktaID := h.user(u.ID).OktaUserID
				h.setPush(true, false, true) // Okta's update push would settle it on its own

				oktaEdit := func() {
					if _, err := h.sim.UpdateAppUser(h.appID, oktaID, "", map[string]any{"title": "okta"}); err != nil {
						t.Fatal(err)
					}
				}
				appEdit := func() { h.appUpdate(u.ID, func(u *appstore.User) { u.Attrs["title"] = "app" }) }
				if tc.oktaFirst {
					oktaEdit()
					waitTick(h)
					appEdit()
				} else {
					appEdit()
					waitTick(h)
					oktaEdit()
				}
				rep := h.sync(true)
				if rep.Run.Counts[syncer.ActConflict] != 1 {
					t.Fatalf("counts %v, want one conflict", rep.Run.Counts)
				}
				au, _ := h.appUser(oktaID)
				appTitle := h.user(u.ID).Attrs["title"]
				if appTitle != tc.want || au.Profile["title"] != tc.want {
					t.Errorf("after the sync app %v, Okta %v; want both %q", appTitle, au.Profile["title"], tc.want)
				}
				evs, err := h.store.ListAudit(h.ctx, appstore.AuditQuery{TenantID: tenant, ResourceID: u.ID})
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, e := range evs {
					if e.Operation == "sync.conflict" {
						found = true
						c := e.Changes["title"]
						if c.Old != "app" || c.New != "okta" || e.Changes["title.winner"].New != tc.want || !strings.HasPrefix(e.Actor, "syncer") {
							t.Errorf("audit event %+v", e)
						}
					}
				}
				if !found {
					t.Error("no sync.conflict audit event")
				}
				// Settled: the next drift check finds nothing.
				if rep := h.sync(true); rep.Run.Counts[syncer.ActConflict] != 0 || rep.Run.Counts[syncer.ActOktaUpdate] != 0 || rep.Run.Counts[syncer.ActAppUpdate] != 0 {
					t.Errorf("second run: %v", rep.Run.Counts)
				}
			})
		})
	}
}

// waitTick lets the clock move past the last change, so newest-wins can tell the two
// edits apart (both sides keep millisecond timestamps).
func waitTick(h *harness) {
	start := h.sim.Now()
	for !h.sim.Now().After(start.Add(2e6)) {
	}
}

// TestDeactivateReactivate covers both directions under the deactivation policies.
func TestDeactivateReactivate(t *testing.T) {
	forBackends(t, func(t *testing.T, b storetest.Backend) {
		for _, pol := range []string{"unassign", "deactivate", "ignore"} {
			t.Run("app-side-"+pol, func(t *testing.T) {
				h := newHarness(t, b, harnessOpts{policy: map[string]string{syncer.SettingDeactivate: pol}})
				u := h.appCreate("gus@example.com", "Gus", "Hale", nil)
				h.sync(false)
				oktaID := h.user(u.ID).OktaUserID
				if err := h.sim.ActivateUser(oktaID); err != nil {
					t.Fatal(err)
				}
				h.idle()

				h.appUpdate(u.ID, func(u *appstore.User) { u.Active = false })
				h.sync(false)
				_, assigned := h.appUser(oktaID)
				ou, _ := h.sim.GetUser(oktaID)
				switch pol {
				case "unassign":
					if assigned || ou.Status != "ACTIVE" {
						t.Errorf("unassign: assigned %v status %s", assigned, ou.Status)
					}
				case "deactivate":
					if assigned || ou.Status != "DEPROVISIONED" {
						t.Errorf("deactivate: assigned %v status %s", assigned, ou.Status)
					}
				case "ignore":
					if !assigned || ou.Status != "ACTIVE" {
						t.Errorf("ignore: assigned %v status %s", assigned, ou.Status)
					}
				}
				if h.user(u.ID).Active {
					t.Error("Okta's answer reactivated the app user")
				}
				_, w0 := h.calls.snapshot()
				h.sync(true)
				if _, w := h.calls.snapshot(); w != w0 {
					t.Errorf("deactivation repeated: %d writes", w-w0)
				}

				h.appUpdate(u.ID, func(u *appstore.User) { u.Active = true })
				h.sync(false)
				_, assigned = h.appUser(oktaID)
				ou, _ = h.sim.GetUser(oktaID)
				if !assigned || ou.Status == "DEPROVISIONED" {
					t.Errorf("after reactivation assigned %v status %s", assigned, ou.Status)
				}
				if !h.user(u.ID).Active || h.countUsers("gus@example.com") != 1 {
					t.Error("app user inactive or duplicated after reactivation")
				}
			})
		}

		t.Run("okta-side", func(t *testing.T) {
			h := newHarness(t, b, harnessOpts{})
			ou := h.oktaUser("hal@example.com", "Hal", "Ito")
			if _, err := h.sim.AssignUser(h.appID, ou.ID, "", nil); err != nil {
				t.Fatal(err)
			}
			h.idle()
			h.sync(false)
			u := h.userByName("hal@example.com")

			// Unassigned in Okta: the push deactivates; the worker has nothing to add.
			if err := h.sim.UnassignUser(h.appID, ou.ID); err != nil {
				t.Fatal(err)
			}
			h.idle()
			if h.user(u.ID).Active {
				t.Fatal("push did not deactivate")
			}
			_, w0 := h.calls.snapshot()
			h.sync(true)
			if _, w := h.calls.snapshot(); w != w0 || h.user(u.ID).Active {
				t.Errorf("after sync: writes %d, active %v", w-w0, h.user(u.ID).Active)
			}
			// Assigned again: the push reactivates.
			if _, err := h.sim.AssignUser(h.appID, ou.ID, "", nil); err != nil {
				t.Fatal(err)
			}
			h.idle()
			h.sync(true)
			if !h.user(u.ID).Active || h.countUsers("hal@example.com") != 1 {
				t.Errorf("reassignment: active %v, %d users", h.user(u.ID).Active, h.countUsers("hal@example.com"))
			}

			// Unassigned with the push lost: the drift check deactivates, never deletes.
			h.setPush(true, true, false)
			if err := h.sim.UnassignUser(h.appID, ou.ID); err != nil {
				t.Fatal(err)
			}
			h.idle()
			h.sync(false)
			if !h.user(u.ID).Active {
				t.Fatal("incremental sync saw an Okta change it cannot know about")
			}
			rep := h.sync(true)
			got := h.user(u.ID)
			if got.Active || rep.Run.Counts[syncer.ActAppDeactivate] != 1 {
				t.Errorf("after drift check: active %v counts %v", got.Active, rep.Run.Counts)
			}
		})
	})
}

// TestDriftCheckRepairsMissedPush: an AppUser whose SCIM push never arrived gets an
// app user from the drift check; a later push links to it.
func TestDriftCheckRepairsMissedPush(t *testing.T) {
	forBackends(t, func(t *testing.T, b storetest.Backend) {
		h := newHarness(t, b, harnessOpts{noPush: true})
		ou := h.oktaUser("ivy@example.com", "Ivy", "Jones")
		if _, err := h.sim.AssignUser(h.appID, ou.ID, "", map[string]any{"title": "Ops"}); err != nil {
			t.Fatal(err)
		}
		if h.countUsers("ivy@example.com") != 0 {
			t.Fatal("pushed without a connection")
		}
		rep := h.sync(false)
		if h.countUsers("ivy@example.com") != 0 {
			t.Fatalf("incremental sync listed Okta: %v", rep.Run.Counts)
		}
		rep = h.sync(true)
		if rep.Run.Counts[syncer.ActAppCreate] != 1 {
			t.Fatalf("counts %v", rep.Run.Counts)
		}
		u := h.userByName("ivy@example.com")
		if u.OktaUserID != ou.ID || u.Source != appstore.SourceOkta || u.Attrs["title"] != "Ops" || !u.Active {
			t.Errorf("created user %+v", u)
		}
		// Provisioning turned on afterwards: Okta's push finds the user, links, and
		// creates nothing.
		h.setPush(true, true, true)
		if err := h.sim.ForceSync(h.appID); err != nil {
			t.Fatal(err)
		}
		h.idle()
		if n := h.countUsers("ivy@example.com"); n != 1 {
			t.Fatalf("%d users after Okta's push", n)
		}
		for _, p := range h.sim.Pushes() {
			if p.Method == http.MethodPost {
				t.Errorf("push created a user: %s", describe(h.sim.Pushes()))
			}
		}
		_, w0 := h.calls.snapshot()
		h.sync(true)
		if _, w := h.calls.snapshot(); w != w0 {
			t.Errorf("%d writes after repair", w-w0)
		}
	})
}

// TestUnmatchedReport: with the report policy an unmatched app user is reported, not
// created in Okta.
func TestUnmatchedReport(t *testing.T) {
	h := newHarness(t, storetest.SQLite, harnessOpts{policy: map[string]string{syncer.SettingUnmatched: "report"}})
	u := h.appCreate("jo@example.com", "Jo", "King", nil)
	rep := h.sync(false)
	if rep.Run.Counts[syncer.ActUnmatched] != 1 || rep.Run.Counts[syncer.ActOktaCreate] != 0 || len(h.sim.Users()) != 0 {
		t.Fatalf("counts %v, %d Okta users", rep.Run.Counts, len(h.sim.Users()))
	}
	st, _ := h.store.SyncStates(h.ctx, tenant, []string{u.ID})
	if !st[u.ID].Unmatched {
		t.Error("not marked unmatched")
	}
	// Once an Okta user appears with that login, an app edit (or a full run) links it.
	h.oktaUser("jo@example.com", "Jo", "King")
	h.appUpdate(u.ID, func(u *appstore.User) { u.Attrs["title"] = "x" })
	rep = h.sync(false)
	if h.user(u.ID).OktaUserID == "" {
		t.Errorf("not linked after the Okta user appeared: %v", rep.Run.Counts)
	}
}

// TestDryRunChangesNothing: a dry run plans every kind of action and writes nothing on
// either side.
func TestDryRunChangesNothing(t *testing.T) {
	forBackends(t, func(t *testing.T, b storetest.Backend) {
		h := newHarness(t, b, harnessOpts{})
		// A linked user with an app edit, and one with an Okta edit whose push was lost.
		edited := h.appCreate("kim@example.com", "Kim", "Lo", nil)
		drifted := h.appCreate("lea@example.com", "Lea", "Ma", nil)
		h.sync(false)
		h.setPush(false, false, false)
		if _, err := h.sim.UpdateAppUser(h.appID, h.user(drifted.ID).OktaUserID, "", map[string]any{"title": "okta"}); err != nil {
			t.Fatal(err)
		}
		// A new app user, an AppUser never pushed, and a linked user unassigned.
		h.appCreate("max@example.com", "Max", "No", nil)
		ou := h.oktaUser("ned@example.com", "Ned", "Oz")
		if _, err := h.sim.AssignUser(h.appID, ou.ID, "", nil); err != nil {
			t.Fatal(err)
		}
		gone := h.appCreate("ora@example.com", "Ora", "Pi", nil)
		h.setPush(true, true, true)
		h.sync(false)
		h.setPush(false, false, false)
		if err := h.sim.UnassignUser(h.appID, h.user(gone.ID).OktaUserID); err != nil {
			t.Fatal(err)
		}
		h.appCreate("max2@example.com", "Max", "Two", nil)
		h.appUpdate(edited.ID, func(u *appstore.User) { u.Attrs["title"] = "new" })

		storeBefore, oktaBefore := h.dump(), h.oktaDump()
		_, w0 := h.calls.snapshot()
		rep, err := h.syncer.Run(h.ctx, tenant, syncer.RunOptions{Full: true, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, w := h.calls.snapshot(); w != w0 {
			t.Errorf("dry run made %d Okta writes", w-w0)
		}
		if after := h.dump(); after != storeBefore {
			t.Errorf("dry run changed the store:\nbefore %s\nafter  %s", storeBefore, after)
		}
		if after := h.oktaDump(); after != oktaBefore {
			t.Errorf("dry run changed Okta")
		}
		want := map[string]int64{syncer.ActOktaCreate: 1, syncer.ActOktaAssign: 1, syncer.ActOktaUpdate: 1,
			syncer.ActAppUpdate: 1, syncer.ActAppCreate: 1, syncer.ActAppDeactivate: 1}
		for k, v := range want {
			if rep.Run.Counts[k] != v {
				t.Errorf("planned %s = %d, want %d (counts %v)", k, rep.Run.Counts[k], v, rep.Run.Counts)
			}
		}
		if !rep.Run.DryRun || len(rep.Plan) == 0 {
			t.Errorf("report %+v", rep.Run)
		}
		// The real run does what was planned.
		real := h.sync(true)
		for k, v := range want {
			if real.Run.Counts[k] != v {
				t.Errorf("real run %s = %d, want %d (counts %v)", k, real.Run.Counts[k], v, real.Run.Counts)
			}
		}
	})
}

// TestRunHistoryAndLock: runs are recorded with counts; a second run of the same
// tenant while one holds the lock is refused.
func TestRunHistoryAndLock(t *testing.T) {
	forBackends(t, func(t *testing.T, b storetest.Backend) {
		h := newHarness(t, b, harnessOpts{})
		h.appCreate("pam@example.com", "Pam", "Qi", nil)
		r, err := h.syncer.Begin(h.ctx, tenant, syncer.RunOptions{Trigger: syncer.TriggerAPI})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.syncer.Begin(h.ctx, tenant, syncer.RunOptions{}); err == nil || !strings.Contains(err.Error(), "already running") {
			t.Fatalf("second run while the first holds the lock: %v", err)
		}
		rep, err := r.Execute(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		runs, err := h.store.ListSyncRuns(h.ctx, tenant, 10)
		if err != nil || len(runs) != 1 {
			t.Fatalf("runs %v %v", runs, err)
		}
		got := runs[0]
		if got.ID != rep.Run.ID || got.Status != appstore.RunSucceeded || got.Trigger != "api" || got.Counts[syncer.ActOktaAssign] != 1 || got.Finished.IsZero() {
			t.Errorf("recorded run %+v", got)
		}
		// The lock is free again.
		h.sync(false)
	})
}

// TestPushThenCrashKeepsNewerEdit: a run pushed an app edit to Okta and died before
// storing the new snapshot; the app was edited again. The next run must recognise
// Okta's value as its own earlier write (written ahead in the snapshot), not as an Okta
// change that conflicts with, and under okta-wins undoes, the newer edit.
func TestPushThenCrashKeepsNewerEdit(t *testing.T) {
	forBackends(t, func(t *testing.T, b storetest.Backend) {
		h := newHarness(t, b, harnessOpts{})
		u := h.appCreate("sam@example.com", "Sam", "Tao", map[string]any{"title": "t0"})
		h.sync(false)
		oktaID := h.user(u.ID).OktaUserID
		st, _ := h.store.SyncStates(h.ctx, tenant, []string{u.ID})
		// The crashed run: edit t1 written ahead, pushed, snapshot not stored.
		h.appUpdate(u.ID, func(u *appstore.User) { u.Attrs["title"] = "t1" })
		ahead := st[u.ID]
		ahead.Snapshot["_pending"] = map[string]any{"title": "t1"}
		if err := h.store.SaveSyncState(h.ctx, ahead, -1); err != nil {
			t.Fatal(err)
		}
		if _, err := h.sim.UpdateAppUser(h.appID, oktaID, "", map[string]any{"title": "t1"}); err != nil {
			t.Fatal(err)
		}
		h.idle()
		// The newer edit, then the next run.
		h.appUpdate(u.ID, func(u *appstore.User) { u.Attrs["title"] = "t2" })
		rep := h.sync(false)
		au, _ := h.appUser(oktaID)
		if got := h.user(u.ID).Attrs["title"]; got != "t2" || au.Profile["title"] != "t2" || rep.Run.Counts[syncer.ActConflict] != 0 {
			t.Errorf("app %v, Okta %v, counts %v; want t2 on both sides and no conflict", got, au.Profile["title"], rep.Run.Counts)
		}
	})
}

// editingStore makes an app edit just before the worker's next write of a user, as a
// user of the app saving a form in the middle of a run would.
type editingStore struct {
	appstore.Store
	userID string
	edit   func(u *appstore.User)
	done   bool
}

func (s *editingStore) UpdateUser(ctx context.Context, tenantID, id string, fn func(*appstore.User) error, opts ...appstore.WriteOption) (appstore.User, error) {
	if !s.done && id == s.userID && appstore.ActorFrom(ctx).Kind == "syncer" {
		s.done = true
		if _, err := s.Store.UpdateUser(appCtx(), tenantID, id, func(u *appstore.User) error { s.edit(u); return nil }); err != nil {
			return appstore.User{}, err
		}
	}
	return s.Store.UpdateUser(ctx, tenantID, id, fn, opts...)
}

// TestAppEditDuringRunIsKept: the app edits a value at the moment the worker writes
// Okta's value of it; the app's edit stays, and the next run settles it as a conflict.
func TestAppEditDuringRunIsKept(t *testing.T) {
	h := newHarness(t, storetest.SQLite, harnessOpts{policy: map[string]string{syncer.SettingConflict: "app-wins"}})
	u := h.appCreate("tia@example.com", "Tia", "Ung", map[string]any{"title": "t0"})
	h.sync(false)
	oktaID := h.user(u.ID).OktaUserID
	h.setPush(true, false, true)
	if _, err := h.sim.UpdateAppUser(h.appID, oktaID, "", map[string]any{"title": "okta"}); err != nil {
		t.Fatal(err)
	}
	es := &editingStore{Store: h.store, userID: u.ID, edit: func(u *appstore.User) { u.Attrs["title"] = "app" }}
	sy := *h.syncer
	sy.Store = es
	if _, err := sy.Run(h.ctx, tenant, syncer.RunOptions{Full: true}); err != nil {
		t.Fatal(err)
	}
	if !es.done {
		t.Fatal("the worker never wrote the user")
	}
	if got := h.user(u.ID).Attrs["title"]; got != "app" {
		t.Fatalf("the app's edit during the run was overwritten: title %v", got)
	}
	rep := h.sync(true)
	au, _ := h.appUser(oktaID)
	if au.Profile["title"] != "app" || h.user(u.ID).Attrs["title"] != "app" || rep.Run.Counts[syncer.ActConflict] != 1 {
		t.Errorf("after the next run: Okta %v, app %v, counts %v", au.Profile["title"], h.user(u.ID).Attrs["title"], rep.Run.Counts)
	}
}
