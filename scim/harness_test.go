package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
)

// oktaUA is the User-Agent Okta's provisioning engine sends.
const oktaUA = "Okta SCIM Client 1.0.0"

// testEnv is a store on one backend behind the SCIM handler, mounted exactly as
// `oktasync serve` mounts it, on a real HTTP server.
type testEnv struct {
	t     testing.TB
	store appstore.Store
	srv   *httptest.Server
	token string
	base  string // srv.URL + "/scim/v2"
}

// forEachBackend runs fn as a subtest on every backend storetest offers (SQLite, and
// PostgreSQL when OKTASYNC_TEST_POSTGRES_URL is set).
func forEachBackend(t *testing.T, fn func(t *testing.T, b storetest.Backend)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, b) })
	}
}

func newEnv(t testing.TB, b storetest.Backend, opts ...func(*Options)) *testEnv {
	t.Helper()
	st := b.Open(t)
	return newEnvOn(t, st, opts...)
}

func newEnvOn(t testing.TB, st appstore.Store, opts ...func(*Options)) *testEnv {
	t.Helper()
	ctx := context.Background()
	if _, err := st.UpdateTenant(ctx, appstore.DefaultTenant, func(tn *appstore.Tenant) error {
		tn.ProvisioningEnabled = true
		return nil
	}); err != nil {
		t.Fatalf("enable provisioning: %v", err)
	}
	_, secret, err := st.CreateToken(ctx, appstore.DefaultTenant)
	if err != nil {
		t.Fatalf("create token: %v", err)
	}
	o := Options{}
	for _, f := range opts {
		f(&o)
	}
	srv := httptest.NewServer(http.StripPrefix("/scim/v2", New(st, o)))
	t.Cleanup(srv.Close)
	return &testEnv{t: t, store: st, srv: srv, token: secret, base: srv.URL + "/scim/v2"}
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// obj decodes the body as a JSON object, failing the test if it is not one.
func (r *response) obj(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("response body is not a JSON object (%v): %s", err, r.body)
	}
	return m
}

// hdr is one request header.
type hdr struct{ k, v string }

// do sends a request as Okta does: its User-Agent, Accept application/scim+json, a
// bearer token, and for bodies Content-Type application/scim+json; charset=utf-8.
// Extra headers override these; an empty value removes one.
func (e *testEnv) do(method, path, body string, headers ...hdr) *response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatalf("new request: %v", err)
	}
	req.Header.Set("User-Agent", oktaUA)
	req.Header.Set("Accept", "application/scim+json")
	req.Header.Set("Authorization", "Bearer "+e.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	for _, h := range headers {
		if h.v == "" {
			req.Header.Del(h.k)
		} else {
			req.Header.Set(h.k, h.v)
		}
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}
}

// must sends a request and fails the test unless the status is want.
func (e *testEnv) must(want int, method, path, body string, headers ...hdr) *response {
	e.t.Helper()
	r := e.do(method, path, body, headers...)
	if r.status != want {
		e.t.Fatalf("%s %s: status %d, want %d; body: %s", method, path, r.status, want, r.body)
	}
	if want != http.StatusNoContent && want != http.StatusNotModified {
		if ct := r.header.Get("Content-Type"); ct != MediaType {
			e.t.Fatalf("%s %s: Content-Type %q, want %q", method, path, ct, MediaType)
		}
	}
	return r
}

// createUser POSTs a user as Okta does and returns its id.
func (e *testEnv) createUser(userName string) string {
	e.t.Helper()
	r := e.must(http.StatusCreated, "POST", "/Users", oktaUserJSON(userName, "Given", "Family"))
	return str(r.obj(e.t), "id")
}

// createGroup POSTs a group and returns its id.
func (e *testEnv) createGroup(name string, memberIDs ...string) string {
	e.t.Helper()
	var ms []string
	for _, id := range memberIDs {
		ms = append(ms, `{"value":"`+id+`"}`)
	}
	r := e.must(http.StatusCreated, "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"`+name+`","members":[`+strings.Join(ms, ",")+`]}`)
	return str(r.obj(e.t), "id")
}

// oktaUserJSON is the body of Okta's POST /Users (password and groups included, as Okta
// sends them).
func oktaUserJSON(userName, given, family string) string {
	b, _ := json.Marshal(map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName":    userName,
		"name":        map[string]any{"givenName": given, "familyName": family},
		"emails":      []any{map[string]any{"primary": true, "value": userName, "type": "work"}},
		"displayName": given + " " + family,
		"locale":      "en-US",
		"externalId":  "00u" + strings.ReplaceAll(userName, "@", "_"),
		"groups":      []any{},
		"password":    "1mz050nq",
		"active":      true,
	})
	return string(b)
}

// str reads a string at a dotted path of a decoded JSON object ("" when absent).
func str(m map[string]any, path string) string {
	v, _ := get(m, path).(string)
	return v
}

// get reads a value at a dotted path; a key may be a URN (matched before splitting).
func get(m map[string]any, path string) any {
	var cur any = m
	for path != "" {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if v, ok := mm[path]; ok {
			return v
		}
		key, rest := path, ""
		for k := range mm {
			if strings.HasPrefix(path, k+".") {
				key, rest = k, path[len(k)+1:]
				break
			}
		}
		if key == path {
			if i := strings.IndexByte(path, '.'); i >= 0 {
				key, rest = path[:i], path[i+1:]
			}
		}
		cur = mm[key]
		path = rest
	}
	return cur
}

func resources(t testing.TB, m map[string]any) []map[string]any {
	t.Helper()
	list, ok := m["Resources"].([]any)
	if !ok {
		t.Fatalf("no Resources array in %v", m)
	}
	out := make([]map[string]any, len(list))
	for i, e := range list {
		out[i] = e.(map[string]any)
	}
	return out
}

func intField(t testing.TB, m map[string]any, key string) int {
	t.Helper()
	n, ok := m[key].(json.Number)
	if !ok {
		t.Fatalf("%s is %T (%v), want a JSON integer", key, m[key], m[key])
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("%s = %s is not an integer", key, n)
	}
	return int(i)
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
