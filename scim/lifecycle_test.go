package scim

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
)

// TestSourceAndAudit checks that SCIM writes record their source and credential, and
// that the audit trail names the credential as actor.
func TestSourceAndAudit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		creds, err := e.store.ListCredentials(ctx, appstore.DefaultTenant)
		if err != nil || len(creds) != 1 {
			t.Fatalf("credentials: %v %v", creds, err)
		}
		cred := creds[0].ID
		id := e.createUser("audit@example.com")
		gid := e.createGroup("Audited", id)
		u, err := e.store.GetUser(ctx, appstore.DefaultTenant, id)
		if err != nil {
			t.Fatal(err)
		}
		g, err := e.store.GetGroup(ctx, appstore.DefaultTenant, gid, false)
		if err != nil {
			t.Fatal(err)
		}
		if u.Source != appstore.SourceSCIM || u.SourceCredential != cred || g.Source != appstore.SourceSCIM || g.SourceCredential != cred {
			t.Fatalf("source: user %s/%s group %s/%s, want scim/%s", u.Source, u.SourceCredential, g.Source, g.SourceCredential, cred)
		}
		e.must(http.StatusOK, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`)
		events, err := e.store.ListAudit(ctx, appstore.AuditQuery{TenantID: appstore.DefaultTenant, ResourceID: id})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) < 2 {
			t.Fatalf("audit events for the user: %+v", events)
		}
		for _, ev := range events {
			if ev.Actor != "scim:"+cred {
				t.Errorf("event %s by %q, want %q", ev.Operation, ev.Actor, "scim:"+cred)
			}
		}
		if _, ok := events[0].Changes["active"]; !ok {
			t.Errorf("deactivation event without the active change: %+v", events[0])
		}
	})
}

// TestInvitations checks silent provisioning (the default) and invitations: a welcome
// email queued on create and on reactivation only, never on other updates, and never
// for users without email.
func TestInvitations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		due := func() []appstore.Mail {
			t.Helper()
			m, err := e.store.DueMail(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		silent := e.createUser("silent@example.com")
		if n := len(due()); n != 0 {
			t.Fatalf("silent provisioning queued %d mails", n)
		}

		if _, err := e.store.UpdateTenant(ctx, appstore.DefaultTenant, func(tn *appstore.Tenant) error {
			tn.Settings.InviteUsers = true
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		id := e.createUser("invited@example.com")
		mails := due()
		if len(mails) != 1 || mails[0].To != "invited@example.com" || mails[0].TenantID != appstore.DefaultTenant || mails[0].Subject == "" {
			t.Fatalf("after create: %+v", mails)
		}
		e.must(http.StatusCreated, "POST", "/Users", `{"userName":"noemail"}`)
		e.must(http.StatusCreated, "POST", "/Users", `{"userName":"inactive@example.com","active":false,"emails":[{"value":"inactive@example.com"}]}`)
		if n := len(due()); n != 1 {
			t.Fatalf("users without email or inactive got mail: %d queued", n)
		}
		patch := func(id string, active bool) {
			e.must(http.StatusOK, "PATCH", "/Users/"+id, fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":%v}}]}`, active))
		}
		patch(id, true) // already active: no mail
		patch(id, false)
		if n := len(due()); n != 1 {
			t.Fatalf("deactivation queued mail: %d", n)
		}
		patch(id, true)
		patch(silent, false)
		u := e.must(http.StatusOK, "GET", "/Users/"+silent, "").obj(t)
		u["active"] = true
		e.must(http.StatusOK, "PUT", "/Users/"+silent, mustJSON(t, u))
		mails = due()
		if len(mails) != 3 {
			t.Fatalf("after reactivations: %d mails, want 3", len(mails))
		}
		if mails[1].To != "invited@example.com" || mails[2].To != "silent@example.com" {
			t.Fatalf("recipients: %s, %s", mails[1].To, mails[2].To)
		}

		// The tenant's own templates, filled with the user's values.
		if _, err := e.store.UpdateTenant(ctx, appstore.DefaultTenant, func(tn *appstore.Tenant) error {
			tn.Settings.InviteSubject = "Welcome, ${givenName}"
			tn.Settings.InviteText = "Sign in as ${userName}."
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		e.must(http.StatusCreated, "POST", "/Users", `{"userName":"ann@example.com","name":{"givenName":"Ann"},"emails":[{"value":"ann@example.com"}]}`)
		mails = due()
		if last := mails[len(mails)-1]; last.Subject != "Welcome, Ann" || last.Body != "Sign in as ann@example.com." {
			t.Fatalf("templated mail: %q / %q", last.Subject, last.Body)
		}
	})
}

// TestInviteFailureDoesNotFailRequest checks that a mail queue failure leaves the SCIM
// request successful.
func TestInviteFailureDoesNotFailRequest(t *testing.T) {
	st := storetest.SQLite.Open(t)
	if _, err := st.UpdateTenant(context.Background(), appstore.DefaultTenant, func(tn *appstore.Tenant) error {
		tn.Settings.InviteUsers = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, brokenMail{st})
	e.createUser("x@example.com")
}

type brokenMail struct{ appstore.Store }

func (brokenMail) EnqueueMail(context.Context, appstore.Mail) error {
	return fmt.Errorf("mail queue unavailable")
}

// TestConcurrentCreateSameUserName checks that 50 parallel creates of one userName (in
// varying case) give exactly one 201 and 49 409 uniqueness errors.
func TestConcurrentCreateSameUserName(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		const n = 50
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := "race@example.com"
				if i%2 == 1 {
					name = "RACE@example.com"
				}
				statuses[i] = e.do("POST", "/Users", oktaUserJSON(name, "R", "C")).status
			}()
		}
		wg.Wait()
		count := map[int]int{}
		for _, s := range statuses {
			count[s]++
		}
		if count[201] != 1 || count[409] != n-1 {
			t.Fatalf("statuses: %v, want one 201 and %d 409", count, n-1)
		}
	})
}

// TestConcurrentGroupPatches checks that parallel member additions to one group (Okta
// pushes memberships in parallel) lose no member.
func TestConcurrentGroupPatches(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		gid := e.createGroup("Parallel")
		const n = 20
		ids := make([]string, n)
		for i := range n {
			ids[i] = e.createUser(fmt.Sprintf("p%02d@example.com", i))
		}
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = e.do("PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"`+ids[i]+`"}]}]}`).status
			}()
		}
		wg.Wait()
		for i, s := range statuses {
			if s != http.StatusOK {
				t.Errorf("PATCH %d: status %d", i, s)
			}
		}
		g := e.must(http.StatusOK, "GET", "/Groups/"+gid, "").obj(t)
		ms, _ := g["members"].([]any)
		var got []string
		for _, m := range ms {
			got = append(got, str(m.(map[string]any), "value"))
		}
		if !sameSet(got, ids...) {
			t.Fatalf("group has %d members, want %d", len(got), n)
		}
	})
}
