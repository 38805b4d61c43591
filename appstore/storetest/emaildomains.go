package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
)

// emailDomainTests are the conformance tests of the email-domain allow-list.
var emailDomainTests = []struct {
	name string
	fn   func(t *testing.T, s appstore.Store)
}{
	{"EmailDomainsNormalised", testEmailDomainsNormalised},
	{"EmailDomainsEnforced", testEmailDomainsEnforced},
}

func testEmailDomainsNormalised(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	tn, err := s.UpdateTenant(ctx, "default", func(t *appstore.Tenant) error {
		t.Settings.AllowedEmailDomains = []string{" Example.COM ", "@corp.example.org.", "", "example.com"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tn.Settings.AllowedEmailDomains, ","); got != "example.com,corp.example.org" {
		t.Fatalf("stored allow-list %q", got)
	}
	_, err = s.UpdateTenant(ctx, "default", func(t *appstore.Tenant) error {
		t.Settings.AllowedEmailDomains = []string{"example.com", "not a domain"}
		return nil
	})
	mustKind(t, err, errkind.Invalid)
	if !strings.Contains(err.Error(), `"not a domain"`) {
		t.Fatalf("error does not name the bad entry: %v", err)
	}
	_, err = s.CreateTenant(ctx, appstore.Tenant{ID: "bad", Settings: appstore.TenantSettings{AllowedEmailDomains: []string{"x@y"}}})
	mustKind(t, err, errkind.Invalid)
}

func testEmailDomainsEnforced(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	// A user at another domain from before the list was set.
	legacy := mustUser(t, s, "default", "old@elsewhere.net", map[string]any{"emails": []any{map[string]any{"value": "old@elsewhere.net"}}})
	if _, err := s.UpdateTenant(ctx, "default", func(t *appstore.Tenant) error {
		t.Settings.AllowedEmailDomains = []string{"example.com", "eu.example.com"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	emails := func(vs ...string) map[string]any {
		var list []any
		for _, v := range vs {
			list = append(list, map[string]any{"value": v, "type": "work"})
		}
		return map[string]any{"emails": list}
	}
	creates := []struct {
		userName string
		attrs    map[string]any
		refused  string // the domain the error names; "" when allowed
	}{
		{"ada@example.com", nil, ""},
		{"ADA2@EXAMPLE.COM", nil, ""},
		{"eu@eu.example.com", nil, ""},
		{"plainname", emails("plain@example.com"), ""},
		{"nodomain", nil, ""},
		{"sub@us.example.com", nil, "us.example.com"},
		{"eve@evil.com", nil, "evil.com"},
		{"eve@example.com.evil.com", nil, "example.com.evil.com"},
		{"bob@example.com", emails("bob@example.com", "bob@gmail.com"), "gmail.com"},
		{"carol", emails("carol@Evil.org"), "evil.org"},
	}
	for _, tc := range creates {
		_, err := s.CreateUser(ctx, appstore.User{TenantID: "default", UserName: tc.userName, Active: true, Attrs: tc.attrs, Source: appstore.SourceSCIM})
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("create %s: %v", tc.userName, err)
		case tc.refused != "" && !errors.Is(err, errkind.Invalid):
			t.Errorf("create %s: got %v, want Invalid", tc.userName, err)
		case tc.refused != "" && !strings.Contains(errkind.Message(err), `"`+tc.refused+`"`):
			t.Errorf("create %s: message %q does not name %q", tc.userName, errkind.Message(err), tc.refused)
		}
	}
	if _, err := s.GetUserByUserName(ctx, "default", "eve@evil.com"); !errors.Is(err, errkind.NotFound) {
		t.Fatalf("a refused user was stored: %v", err)
	}
	ada, err := s.GetUserByUserName(ctx, "default", "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	// Updates: a new userName or email is checked; what stays is not.
	_, err = s.UpdateUser(ctx, "default", ada.ID, func(u *appstore.User) error { u.UserName = "ada@evil.com"; return nil })
	mustKind(t, err, errkind.Invalid)
	_, err = s.UpdateUser(ctx, "default", ada.ID, func(u *appstore.User) error { u.Attrs = emails("ada@example.com", "ada@evil.com"); return nil })
	mustKind(t, err, errkind.Invalid)
	if _, err := s.UpdateUser(ctx, "default", legacy.ID, func(u *appstore.User) error { u.Active = false; u.Attrs["title"] = "Gone"; return nil }); err != nil {
		t.Fatalf("deactivating a user from before the list: %v", err)
	}
	// The sync worker's imports from the tenant's own Okta org are not refused.
	syncer := appstore.WithActor(context.Background(), appstore.Actor{Kind: "syncer", ID: "run-1"})
	if _, err := s.CreateUser(syncer, appstore.User{TenantID: "default", UserName: "okta@partner.com", Active: true, Source: appstore.SourceOkta}); err != nil {
		t.Fatalf("sync import refused: %v", err)
	}
	// An empty list allows any domain again.
	if _, err := s.UpdateTenant(ctx, "default", func(t *appstore.Tenant) error { t.Settings.AllowedEmailDomains = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, appstore.User{TenantID: "default", UserName: "eve@evil.com", Active: true}); err != nil {
		t.Fatalf("empty list: %v", err)
	}
	// An unknown tenant is still NotFound.
	_, err = s.CreateUser(ctx, appstore.User{TenantID: "nope", UserName: "x@example.com"})
	mustKind(t, err, errkind.NotFound)
}
