package scim

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
)

// TestAllowedEmailDomains: with the tenant's allow-list set, a create or update through
// SCIM that brings a userName or email at another domain gets 400 invalidValue naming
// the domain; values already there are not checked again.
func TestAllowedEmailDomains(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		legacyID := e.createUser("legacy@elsewhere.net")
		if _, err := e.store.UpdateTenant(context.Background(), appstore.DefaultTenant, func(tn *appstore.Tenant) error {
			tn.Settings.AllowedEmailDomains = []string{"example.com", "eu.example.com"}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		adaID := e.createUser("ada@example.com")
		cases := []struct {
			name, method, path, body string
			status                   int
			domain                   string // named in the detail of a refusal
		}{
			{"create at an allowed domain, any case", "POST", "/Users", oktaUserJSON("Grace@Example.COM", "G", "H"), 201, ""},
			{"create at a listed subdomain", "POST", "/Users", oktaUserJSON("eu@eu.example.com", "E", "U"), 201, ""},
			{"create at an unlisted subdomain", "POST", "/Users", oktaUserJSON("us@us.example.com", "U", "S"), 400, "us.example.com"},
			{"create at another domain", "POST", "/Users", oktaUserJSON("eve@evil.com", "E", "V"), 400, "evil.com"},
			{"create with a look-alike domain", "POST", "/Users", oktaUserJSON("eve@example.com.evil.com", "E", "V"), 400, "example.com.evil.com"},
			{"create with a second email elsewhere", "POST", "/Users",
				`{"userName":"bob@example.com","emails":[{"value":"bob@example.com","primary":true},{"value":"bob@gmail.com","type":"home"}]}`, 400, "gmail.com"},
			{"create without @ and an email elsewhere", "POST", "/Users", `{"userName":"carol","emails":[{"value":"carol@evil.org"}]}`, 400, "evil.org"},
			{"create without @ nor emails", "POST", "/Users", `{"userName":"dave"}`, 201, ""},
			{"PUT moving the userName away", "PUT", "/Users/" + adaID, `{"userName":"ada@evil.com","emails":[{"value":"ada@example.com"}]}`, 400, "evil.com"},
			{"PATCH adding an email elsewhere", "PATCH", "/Users/" + adaID,
				`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"emails","value":[{"value":"ada@evil.com","type":"home"}]}]}`, 400, "evil.com"},
			{"PATCH replacing the userName", "PATCH", "/Users/" + adaID,
				`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"userName":"ada@EVIL.com"}}]}`, 400, "evil.com"},
			{"PATCH of an allowed user", "PATCH", "/Users/" + adaID,
				`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"CTO"}]}`, 200, ""},
			{"deactivating a user from before the list", "PATCH", "/Users/" + legacyID,
				`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`, 200, ""},
		}
		for _, tc := range cases {
			r := e.do(tc.method, tc.path, tc.body)
			if r.status != tc.status {
				t.Errorf("%s: status %d, want %d: %s", tc.name, r.status, tc.status, r.body)
				continue
			}
			if tc.status != http.StatusBadRequest {
				continue
			}
			m := r.obj(t)
			if str(m, "scimType") != "invalidValue" || !strings.Contains(str(m, "detail"), `"`+tc.domain+`"`) {
				t.Errorf("%s: scimType %q detail %q; want invalidValue naming %q", tc.name, str(m, "scimType"), str(m, "detail"), tc.domain)
			}
		}
		u, err := e.store.GetUser(context.Background(), appstore.DefaultTenant, adaID)
		if err != nil || u.UserName != "ada@example.com" || len(u.Attrs["emails"].([]any)) != 1 {
			t.Fatalf("a refused update changed the user: %+v %v", u, err)
		}
	})
}
