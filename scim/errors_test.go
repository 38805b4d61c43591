package scim

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/errkind"
)

// TestErrors checks every error status and scimType the endpoint produces, each a SCIM
// Error body.
func TestErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, func(o *Options) { o.MaxPatchOperations = 2; o.MaxFilterLength = 100 })
		id := e.createUser("taken@example.com")
		patchOp := func(ops string) string {
			return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":` + ops + `}`
		}
		big := `{"userName":"big@example.com","title":"` + strings.Repeat("x", 1<<20) + `"}`
		tests := []struct {
			name, method, path, body string
			headers                  []hdr
			status                   int
			scimType                 string
		}{
			{"body not JSON", "POST", "/Users", `{"userName":`, nil, 400, "invalidSyntax"},
			{"body not an object", "POST", "/Users", `["x"]`, nil, 400, "invalidSyntax"},
			{"empty body", "PUT", "/Users/" + id, ``, nil, 400, "invalidSyntax"},
			{"userName missing on create", "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"name":{"givenName":"x"}}`, nil, 400, "invalidValue"},
			{"userName missing on PUT", "PUT", "/Users/" + id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"active":true}`, nil, 400, "invalidValue"},
			{"wrong attribute type", "POST", "/Users", `{"userName":"t@example.com","active":"sometimes"}`, nil, 400, "invalidValue"},
			{"displayName missing on group", "POST", "/Groups", `{"members":[]}`, nil, 400, "invalidValue"},
			{"malformed filter", "GET", "/Users?filter=" + url.QueryEscape(`userName eq`), "", nil, 400, "invalidFilter"},
			{"filter on unknown attribute", "GET", "/Users?filter=" + url.QueryEscape(`shoeSize eq "9"`), "", nil, 400, "invalidFilter"},
			{"filter too long", "GET", "/Users?filter=" + url.QueryEscape(`userName eq "`+strings.Repeat("a", 100)+`"`), "", nil, 400, "invalidFilter"},
			{"empty filter", "GET", "/Users?filter=", "", nil, 400, "invalidFilter"},
			{"bad startIndex", "GET", "/Users?startIndex=one", "", nil, 400, "invalidValue"},
			{"bad sortOrder", "GET", "/Users?sortBy=userName&sortOrder=sideways", "", nil, 400, "invalidValue"},
			{"unknown sortBy", "GET", "/Users?sortBy=shoeSize", "", nil, 400, "invalidValue"},
			{"PATCH bad path", "PATCH", "/Users/" + id, patchOp(`[{"op":"replace","path":"emails[","value":"x"}]`), nil, 400, "invalidPath"},
			{"PATCH remove without path", "PATCH", "/Users/" + id, patchOp(`[{"op":"remove"}]`), nil, 400, "noTarget"},
			{"PATCH read-only", "PATCH", "/Users/" + id, patchOp(`[{"op":"replace","path":"id","value":"x"}]`), nil, 400, "mutability"},
			{"PATCH missing Operations", "PATCH", "/Users/" + id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`, nil, 400, "invalidSyntax"},
			{"PATCH bad schemas", "PATCH", "/Users/" + id, `{"schemas":["urn:x"],"Operations":[{"op":"add","path":"title","value":"x"}]}`, nil, 400, "invalidSyntax"},
			{"PATCH too many operations", "PATCH", "/Users/" + id, patchOp(`[{"op":"add","path":"title","value":"x"},{"op":"add","path":"title","value":"x"},{"op":"add","path":"title","value":"x"}]`), nil, 400, "tooMany"},
			{"PATCH userName to a taken one", "PATCH", "/Users/" + id, patchOp(`[{"op":"replace","path":"userName","value":"other@example.com"}]`), nil, 0, ""}, // set up below
			{"duplicate userName", "POST", "/Users", `{"userName":"TAKEN@example.com"}`, nil, 409, "uniqueness"},
			{"non-UUID id", "GET", "/Users/010101001010101011001010101011", "", nil, 404, ""},
			{"non-UUID id on PATCH", "PATCH", "/Users/010101001010101011001010101011", patchOp(`[{"op":"replace","value":{"active":false}}]`), nil, 404, ""},
			{"non-UUID id on PUT", "PUT", "/Groups/010101001010101011001010101011", `{"displayName":"x"}`, nil, 404, ""},
			{"non-UUID id on DELETE", "DELETE", "/Users/010101001010101011001010101011", "", nil, 404, ""},
			{"unknown endpoint", "GET", "/Devices", "", nil, 404, ""},
			{"nested path", "GET", "/Users/" + id + "/x", "", nil, 404, ""},
			{"unknown schema", "GET", "/Schemas/urn:x", "", nil, 404, ""},
			{"unknown resource type", "GET", "/ResourceTypes/Device", "", nil, 404, ""},
			{"filter on discovery", "GET", "/Schemas?filter=" + url.QueryEscape(`id eq "x"`), "", nil, 403, ""},
			{"DELETE on collection", "DELETE", "/Users", "", nil, 405, ""},
			{"POST on resource", "POST", "/Users/" + id, `{}`, nil, 405, ""},
			{"GET on .search", "GET", "/Users/.search", "", nil, 405, ""},
			{"POST ServiceProviderConfig", "POST", "/ServiceProviderConfig", `{}`, nil, 405, ""},
			{"PUT Schemas", "PUT", "/Schemas", `{}`, nil, 405, ""},
			{"DELETE ResourceTypes", "DELETE", "/ResourceTypes/User", "", nil, 405, ""},
			{"stale If-Match on PUT", "PUT", "/Users/" + id, `{"userName":"taken@example.com"}`, []hdr{{"If-Match", `W/"999"`}}, 412, ""},
			{"stale If-Match on PATCH", "PATCH", "/Users/" + id, patchOp(`[{"op":"replace","value":{"active":false}}]`), []hdr{{"If-Match", `W/"999"`}}, 412, ""},
			{"stale If-Match on DELETE", "DELETE", "/Users/" + id, "", []hdr{{"If-Match", `W/"999"`}}, 412, ""},
			{"body over 1 MiB", "POST", "/Users", big, nil, 413, ""},
			{"text/plain body", "POST", "/Users", `userName: p@example.com`, []hdr{{"Content-Type", "text/plain"}}, 415, ""},
			{"form body", "PATCH", "/Users/" + id, `a=b`, []hdr{{"Content-Type", "application/x-www-form-urlencoded"}}, 415, ""},
			{"bulk", "POST", "/Bulk", `{}`, nil, 501, ""},
		}
		e.createUser("other@example.com")
		tests[20].status, tests[20].scimType = 409, "uniqueness"
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := e.do(tt.method, tt.path, tt.body, tt.headers...)
				checkError(t, r, tt.status, tt.scimType)
				if tt.status == 405 && r.header.Get("Allow") == "" {
					t.Errorf("405 without Allow header")
				}
				if r.header.Get("ETag") != "" {
					t.Errorf("error response carries ETag %q", r.header.Get("ETag"))
				}
			})
		}
		// The user is unchanged by all of that.
		u := e.must(http.StatusOK, "GET", "/Users/"+id, "").obj(t)
		if u["active"] != true || str(u, "userName") != "taken@example.com" || u["title"] != nil {
			t.Fatalf("user changed by failed requests: %v", u)
		}
		// Both accepted media types, with and without charset, and JSON under another
		// label (Okta's spec test posts without setting Content-Type).
		for i, ct := range []string{"application/json", "application/json; charset=utf-8", "application/scim+json", "application/scim+json; charset=UTF-8", "text/plain; charset=utf-8", "application/x-www-form-urlencoded"} {
			e.must(http.StatusCreated, "POST", "/Users", `{"userName":"ct`+string(rune('a'+i))+`@example.com"}`, hdr{"Content-Type", ct})
		}
	})
}

// TestAuth checks the 401 variants (each a SCIM error with WWW-Authenticate) and that
// Bearer and Basic credentials work.
func TestAuth(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		if _, err := e.store.CreateBasic(ctx, appstore.DefaultTenant, "okta", "s3cret-passw0rd"); err != nil {
			t.Fatal(err)
		}
		inactive, inactiveSecret, err := e.store.CreateToken(ctx, appstore.DefaultTenant)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.SetCredentialStatus(ctx, appstore.DefaultTenant, inactive.ID, appstore.StatusInactive); err != nil {
			t.Fatal(err)
		}
		basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
		tests := []struct {
			name, auth string
			status     int
		}{
			{"no header", "", 401},
			{"not a token (Okta's own check)", "non-token", 401},
			{"bearer without token", "Bearer ", 401},
			{"unknown bearer token", "Bearer abcdefghijklmnopqrstuvwxyz0123456789", 401},
			{"inactive token", "Bearer " + inactiveSecret, 401},
			{"wrong basic password", basic("okta", "nope"), 401},
			{"unknown basic user", basic("nobody", "s3cret-passw0rd"), 401},
			{"malformed basic", "Basic !!!", 401},
			{"unknown scheme", "Digest abc", 401},
			{"bearer", "Bearer " + e.token, 200},
			{"bearer, lower-case scheme", "bearer " + e.token, 200},
			{"basic", basic("okta", "s3cret-passw0rd"), 200},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for _, path := range []string{"/Users?startIndex=1&count=2", "/ServiceProviderConfig", "/Users/010101001010101011001010101011"} {
					r := e.do("GET", path, "", hdr{"Authorization", tt.auth})
					if tt.status == 200 {
						if r.status == 401 {
							t.Fatalf("%s: 401 with valid credentials: %s", path, r.body)
						}
						continue
					}
					checkError(t, r, tt.status, "")
					if len(r.header.Values("WWW-Authenticate")) == 0 {
						t.Errorf("%s: 401 without WWW-Authenticate", path)
					}
					if strings.Contains(string(r.body), "s3cret") || strings.Contains(string(r.body), inactiveSecret) {
						t.Errorf("secret echoed: %s", r.body)
					}
				}
			})
		}
		// A disabled tenant's valid token is refused.
		if _, err := e.store.UpdateTenant(ctx, appstore.DefaultTenant, func(tn *appstore.Tenant) error {
			tn.ProvisioningEnabled = false
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		checkError(t, e.do("GET", "/Users", ""), 401, "")
	})
}

// failingStore fails ListUsers with an internal error whose text must not reach clients.
type failingStore struct{ appstore.Store }

func (failingStore) ListUsers(context.Context, string, appstore.Query) (appstore.Page[appstore.User], error) {
	return appstore.Page[appstore.User]{}, errors.New("pq: relation \"users\" does not exist at db.internal:5432")
}

func TestInternalErrorHidesDetails(t *testing.T) {
	st := storetest.SQLite.Open(t)
	e := newEnvOn(t, failingStore{st})
	r := e.do("GET", "/Users", "")
	m := checkError(t, r, 500, "")
	if strings.Contains(string(r.body), "pq") || strings.Contains(string(r.body), "db.internal") {
		t.Fatalf("internals leaked: %s", r.body)
	}
	if str(m, "detail") != "internal server error" {
		t.Fatalf("detail = %q", str(m, "detail"))
	}
}

// TestBodyLimitChunked checks the 1 MiB limit on a body sent without Content-Length.
func TestBodyLimitChunked(t *testing.T) {
	e := newEnv(t, storetest.SQLite)
	body := io.MultiReader(strings.NewReader(`{"userName":"big@example.com","title":"`), strings.NewReader(strings.Repeat("x", 1<<20)), strings.NewReader(`"}`))
	req, err := http.NewRequest("POST", e.base+"/Users", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if req.ContentLength != 0 {
		t.Fatalf("request has a Content-Length (%d); the test needs a chunked body", req.ContentLength)
	}
	checkError(t, &response{status: resp.StatusCode, header: resp.Header, body: b}, http.StatusRequestEntityTooLarge, "")
}

// busyStore fails writes as a busy database does.
type busyStore struct{ appstore.Store }

func (busyStore) CreateUser(context.Context, appstore.User, ...appstore.WriteOption) (appstore.User, error) {
	return appstore.User{}, errkind.E("appstore.CreateUser", errkind.Transient, "database busy", errors.New("SQLITE_BUSY"))
}

func TestTransientErrorIs503(t *testing.T) {
	e := newEnvOn(t, busyStore{storetest.SQLite.Open(t)})
	r := e.do("POST", "/Users", `{"userName":"busy@example.com"}`)
	checkError(t, r, http.StatusServiceUnavailable, "")
	if r.header.Get("Retry-After") == "" || strings.Contains(string(r.body), "SQLITE") {
		t.Fatalf("503: Retry-After %q, body %s", r.header.Get("Retry-After"), r.body)
	}
}

func TestRouteTemplate(t *testing.T) {
	for path, want := range map[string]string{
		"/Users":                         "/Users",
		"/users/":                        "/Users",
		"/Users/.search":                 "/Users/.search",
		"/Users/2819c223-7f76-453a-919d": "/Users/{id}",
		"/Groups/abc":                    "/Groups/{id}",
		"/ServiceProviderConfig":         "/ServiceProviderConfig",
		"/Schemas/urn:ietf:params:scim:schemas:core:2.0:User": "/Schemas/{id}",
		"/ResourceTypes/User":      "/ResourceTypes/{id}",
		"/Users/a/b":               "other",
		"/ServiceProviderConfig/x": "other",
		"/nope":                    "other",
		"/":                        "other",
	} {
		if got := RouteTemplate(path); got != want {
			t.Errorf("RouteTemplate(%q) = %q, want %q", path, got, want)
		}
	}
}
