package storetest

import (
	"errors"
	"testing"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/scimschema"
)

var authCheckTests = []struct {
	name string
	fn   func(t *testing.T, s appstore.Store)
}{
	{"DeferredAuthCheck", testDeferredAuthCheck},
	{"AttributesUnderAuthCheck", testAttributesUnderAuthCheck},
	{"EmailDomainsUnderAuthCheck", testEmailDomainsUnderAuthCheck},
}

// testEmailDomainsUnderAuthCheck: SCIM writes may check the allow-list as cached under
// the epoch they authenticated under, but a change to it is enforced on the next
// request at once.
func testEmailDomainsUnderAuthCheck(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	_, secret := provisionedToken(t, s)
	create := func(userName string) error {
		t.Helper()
		rctx, _ := appstore.WithAuthCheck(ctx, false)
		if _, _, err := s.AuthenticateToken(rctx, secret); err != nil {
			t.Fatal(err)
		}
		_, err := s.CreateUser(rctx, appstore.User{TenantID: "default", UserName: userName, Active: true, Source: appstore.SourceSCIM})
		return err
	}
	setDomains := func(d ...string) {
		t.Helper()
		if _, err := s.UpdateTenant(ctx, "default", func(t *appstore.Tenant) error { t.Settings.AllowedEmailDomains = d; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		set     bool // set the allow-list to domains before the request
		domains []string
		user    string
		refused bool
	}{
		{false, nil, "a@evil.com", false},
		{false, nil, "b@evil.com", false}, // the empty list, from the cache
		{true, []string{"example.com"}, "c@evil.com", true},
		{false, []string{"example.com"}, "d@example.com", false},
		{true, nil, "e@evil.com", false},
	} {
		if step.set {
			setDomains(step.domains...)
		}
		err := create(step.user)
		if step.refused != (err != nil) || (err != nil && !errors.Is(err, errkind.Invalid)) {
			t.Fatalf("create %s with allowed domains %v: %v (refused: want %v)", step.user, step.domains, err, step.refused)
		}
	}
}

// testAttributesUnderAuthCheck: a request that authenticated under an AuthCheck may be
// served the tenant's custom attributes from the cache, but an attribute added or
// removed (by any process) is seen by the next request that authenticates.
func testAttributesUnderAuthCheck(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	_, secret := provisionedToken(t, s)
	request := func() []string {
		t.Helper()
		rctx, _ := appstore.WithAuthCheck(ctx, false)
		if _, _, err := s.AuthenticateToken(rctx, secret); err != nil {
			t.Fatal(err)
		}
		var names []string
		for range 2 { // the second read comes from the cache
			attrs, err := s.ListAttributes(rctx, "default")
			if err != nil {
				t.Fatal(err)
			}
			names = names[:0]
			for _, a := range attrs {
				names = append(names, a.Name)
			}
		}
		return names
	}
	if got := request(); len(got) != 0 {
		t.Fatalf("attributes before any: %v", got)
	}
	if err := s.AddAttribute(ctx, "default", scimschema.CustomAttr{Name: "costCenter", Type: scimschema.String}); err != nil {
		t.Fatal(err)
	}
	if got := request(); len(got) != 1 || got[0] != "costCenter" {
		t.Fatalf("attributes after AddAttribute: %v, want [costCenter]", got)
	}
	if err := s.RemoveAttribute(ctx, "default", "costCenter"); err != nil {
		t.Fatal(err)
	}
	if got := request(); len(got) != 0 {
		t.Fatalf("attributes after RemoveAttribute: %v, want none", got)
	}
}

// testDeferredAuthCheck: an authentication answered from the cache under
// a deferrable AuthCheck is confirmed by the next LookupUser, found or not, and a credential
// change made in between (it moves the database's auth epoch by trigger, whichever
// process writes) makes that look-up answer ErrAuthStale instead of the user.
func testDeferredAuthCheck(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	cred, secret := provisionedToken(t, s)
	u := mustUser(t, s, "default", "deferred@example.com", nil)

	// A cold cache checks as usual: nothing is left pending.
	dctx, check := appstore.WithAuthCheck(ctx, true)
	if _, _, err := s.AuthenticateToken(dctx, secret); err != nil || check.Pending() {
		t.Fatalf("cold AuthenticateToken: %v, pending %v; want nil, false", err, check.Pending())
	}
	for _, name := range []string{"DEFERRED@example.com", "nobody@example.com", "bad\x00name"} {
		dctx, check := appstore.WithAuthCheck(ctx, true)
		tn, _, err := s.AuthenticateToken(dctx, secret)
		if err != nil || tn.ID != "default" || !check.Pending() {
			t.Fatalf("warm AuthenticateToken: %s, %v, pending %v; want default, nil, true", tn.ID, err, check.Pending())
		}
		got, _, err := s.LookupUser(dctx, "default", name)
		if check.Pending() {
			t.Errorf("LookupUser(%q) left the check pending", name)
		}
		if name == "DEFERRED@example.com" && (err != nil || got.ID != u.ID) {
			t.Errorf("LookupUser(%q) = %s, %v; want %s", name, got.ID, err, u.ID)
		}
		if name != "DEFERRED@example.com" && errkind.Of(err) != errkind.NotFound {
			t.Errorf("LookupUser(%q) = %v; want NotFound", name, err)
		}
	}

	dctx, check = appstore.WithAuthCheck(ctx, true)
	if _, _, err := s.AuthenticateToken(dctx, secret); err != nil || !check.Pending() {
		t.Fatalf("warm AuthenticateToken: %v, pending %v", err, check.Pending())
	}
	if _, err := s.SetCredentialStatus(ctx, "default", cred.ID, appstore.StatusInactive); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.LookupUser(dctx, "default", "deferred@example.com"); !errors.Is(err, appstore.ErrAuthStale) {
		t.Fatalf("LookupUser after the token was deactivated the token = %v; want ErrAuthStale", err)
	}
	// Authenticating again under the same context checks against the database.
	if _, _, err := s.AuthenticateToken(dctx, secret); !errors.Is(err, appstore.ErrCredentialInactive) {
		t.Fatalf("AuthenticateToken after the stale check = %v; want ErrCredentialInactive", err)
	}
}

// provisionedToken turns provisioning on for the default tenant and gives it a token.
func provisionedToken(t *testing.T, s appstore.Store) (appstore.Credential, string) {
	t.Helper()
	ctx := ctxT()
	if _, err := s.UpdateTenant(ctx, "default", func(t *appstore.Tenant) error { t.ProvisioningEnabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	cred, secret, err := s.CreateToken(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	return cred, secret
}
