package scim

import (
	"context"
	"fmt"
	"testing"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
)

// A user created through SCIM records which client created it, told by its User-Agent.
func TestSourceClientFromUserAgent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		for i, tc := range []struct{ userAgent, want string }{
			{oktaUA, appstore.SCIMClientOkta},
			{"Microsoft.Identity.Provisioning/1.0", appstore.SCIMClientEntra},
			{"Azure AD SCIM Provisioning", appstore.SCIMClientEntra},
			{"curl/8.5.0", appstore.SCIMClientOther},
			{"", appstore.SCIMClientOther},
		} {
			userName := fmt.Sprintf("client%d@example.com", i)
			r := e.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+userName+`"}`, hdr{"User-Agent", tc.userAgent})
			if r.status != 201 {
				t.Fatalf("create with User-Agent %q: %d %s", tc.userAgent, r.status, r.body)
			}
			u, err := e.store.GetUserByUserName(context.Background(), appstore.DefaultTenant, userName)
			if err != nil {
				t.Fatal(err)
			}
			if u.Source != appstore.SourceSCIM || u.SourceClient != tc.want {
				t.Errorf("User-Agent %q: source %q client %q, want scim %q", tc.userAgent, u.Source, u.SourceClient, tc.want)
			}
		}
	})
}
