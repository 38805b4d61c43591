package scimlog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/requestid"
	"github.com/oktasync/oktasync/scim"
	"github.com/oktasync/oktasync/scimlog"
)

const oktaUA = "Okta SCIM Client 1.0.0"

// env is the SCIM handler behind the request log, mounted as `oktasync serve` mounts
// them, on a real HTTP server over a store on one backend.
type env struct {
	t     *testing.T
	store appstore.Store
	log   *scimlog.Log
	srv   *httptest.Server
	token string
}

func forEachBackend(t *testing.T, fn func(t *testing.T, b storetest.Backend)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, b) })
	}
}

// newEnv serves SCIM over st with a log writing into logStore (st itself when nil).
// The log's writer runs unless opts.QueueSize is negative, which leaves it stopped.
func newEnv(t *testing.T, st appstore.Store, logStore appstore.SCIMLogStore, opts scimlog.Options) *env {
	t.Helper()
	ctx := context.Background()
	if _, err := st.UpdateTenant(ctx, appstore.DefaultTenant, func(tn *appstore.Tenant) error {
		tn.ProvisioningEnabled = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, secret, err := st.CreateToken(ctx, appstore.DefaultTenant)
	if err != nil {
		t.Fatal(err)
	}
	if logStore == nil {
		logStore = st
	}
	run := opts.QueueSize >= 0
	if !run {
		opts.QueueSize = 1
	}
	l := scimlog.New(logStore, opts)
	if run {
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { l.Run(rctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/", l.Handler(http.StripPrefix("/scim/v2", scim.New(st, scim.Options{OnAuthenticated: scimlog.Authenticated}))))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, store: st, log: l, srv: srv, token: secret}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request as Okta does; auth is the Authorization header ("" for none).
func (e *env) do(method, path, auth, body string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+"/scim/v2"+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("User-Agent", oktaUA)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, b}
}

func (e *env) bearer() string { return "Bearer " + e.token }

// entries flushes the log and returns every entry, oldest first.
func (e *env) entries() []appstore.SCIMRequest {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.log.Flush(ctx); err != nil {
		e.t.Fatal(err)
	}
	page, err := e.store.ListSCIMRequests(ctx, appstore.SCIMRequestQuery{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	out := page.Items
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func userJSON(userName, password string) string {
	b, _ := json.Marshal(map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName,
		"name":     map[string]any{"givenName": "Ada", "familyName": "Lovelace"},
		"emails":   []any{map[string]any{"primary": true, "value": userName, "type": "work"}},
		"password": password,
		"active":   true,
	})
	return string(b)
}

func TestEveryRequestIsLoggedRedacted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b.Open(t), nil, scimlog.Options{})
		const password = "s3cret-Pa55word"
		wrongToken := "oks_AAAAAAAAAA_" + strings.Repeat("x", 43)
		type sent struct {
			method, path, auth, body string
			status                   int
		}
		requests := []sent{
			{"POST", "/Users", e.bearer(), userJSON("ada@example.com", password), 201},
			{"POST", "/Users", e.bearer(), userJSON("ADA@example.com", password), 409},
			{"GET", "/Users?filter=" + `userName%20eq%20%22ada%40example.com%22` + "&startIndex=1&count=100", e.bearer(), "", 200},
			{"POST", "/Users", "Bearer " + wrongToken, userJSON("eve@example.com", password), 401},
			{"GET", "/Users?access_token=" + wrongToken, "", "", 401},
			{"PATCH", "/Users/nope", e.bearer(), `{"Operations":[{"op":"replace","value":{"password":"` + password + `"}}]}`, 404},
		}
		var ids []string
		for _, r := range requests {
			resp := e.do(r.method, r.path, r.auth, r.body)
			if resp.status != r.status {
				t.Fatalf("%s %s: status %d, want %d: %s", r.method, r.path, resp.status, r.status, resp.body)
			}
			ids = append(ids, resp.header.Get(scimlog.RequestIDHeader))
		}
		got := e.entries()
		if len(got) != len(requests) {
			t.Fatalf("%d entries for %d requests", len(got), len(requests))
		}
		for i, g := range got {
			r := requests[i]
			wantTenant := appstore.DefaultTenant
			if r.status == 401 {
				wantTenant = ""
			}
			if g.Method != r.method || g.Status != r.status || g.TenantID != wantTenant || g.UserAgent != oktaUA {
				t.Errorf("entry %d = %s %s %d tenant %q UA %q; want %s %d tenant %q", i, g.Method, g.Path, g.Status, g.TenantID, g.UserAgent, r.method, r.status, wantTenant)
			}
			if g.RequestID == "" || g.RequestID != ids[i] {
				t.Errorf("entry %d: request id %q, response header said %q", i, g.RequestID, ids[i])
			}
			if g.Duration <= 0 || time.Since(g.Time) > time.Minute {
				t.Errorf("entry %d: time %v, duration %v", i, g.Time, g.Duration)
			}
			all := strings.Join([]string{g.Path, g.RequestBody, g.ResponseBody, g.Detail, g.UserAgent}, "\n")
			for _, secret := range []string{password, e.token, wrongToken} {
				if strings.Contains(all, secret) {
					t.Errorf("entry %d keeps a secret %q:\n%s", i, secret, all)
				}
			}
			if r.body != "" && !strings.Contains(g.RequestBody, `"password":"`+scimlog.Redacted+`"`) {
				t.Errorf("entry %d: request body without the redacted password: %s", i, g.RequestBody)
			}
			if g.Status >= 400 && g.Detail == "" {
				t.Errorf("entry %d: error without detail: %s", i, g.ResponseBody)
			}
		}
		if got[0].Path != "/scim/v2/Users" || !strings.Contains(got[0].RequestBody, `"userName":"ada@example.com"`) || !strings.Contains(got[0].ResponseBody, `"id":"`) {
			t.Errorf("create entry: path %q, bodies %s / %s", got[0].Path, got[0].RequestBody, got[0].ResponseBody)
		}
		if got[0].CredentialID == "" || got[3].CredentialID != "" {
			t.Errorf("credential ids %q (authenticated), %q (refused)", got[0].CredentialID, got[3].CredentialID)
		}
		if got[1].ScimType != "uniqueness" {
			t.Errorf("409 scimType %q, want uniqueness", got[1].ScimType)
		}
		if want := "/scim/v2/Users?filter=" + `userName%20eq%20%22ada%40example.com%22` + "&startIndex=1&count=100"; got[2].Path != want {
			t.Errorf("path with query %q, want %q", got[2].Path, want)
		}
		if got[4].Path != "/scim/v2/Users?access_token=%5BREDACTED%5D" || got[4].Detail != "missing Authorization header" {
			t.Errorf("401 entry: path %q detail %q", got[4].Path, got[4].Detail)
		}
		if !strings.Contains(got[3].RequestBody, "eve@example.com") {
			t.Errorf("a 401's body is not kept: %q", got[3].RequestBody)
		}
	})
}

func TestBodiesAreCapped(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		st := b.Open(t)
		e := newEnv(t, st, nil, scimlog.Options{})
		// A request body of 200 KiB (whitespace padding is valid JSON), and a list
		// response well over 64 KiB.
		big := strings.Replace(userJSON("big@example.com", "pw-after-the-cut"), `{"active"`, `{`+strings.Repeat(" ", 200<<10)+`"active"`, 1)
		big = strings.Replace(big, `"password":"pw-after-the-cut"`, `"password":"pw-after-the-cut","title":"`+strings.Repeat("é", 10)+`"`, 1)
		if r := e.do("POST", "/Users", e.bearer(), big); r.status != 201 {
			t.Fatalf("big create: %d %s", r.status, r.body)
		}
		for i := range 150 {
			if _, err := st.CreateUser(context.Background(), appstore.User{TenantID: appstore.DefaultTenant, UserName: fmt.Sprintf("u%03d@example.com", i),
				Active: true, Attrs: map[string]any{"displayName": strings.Repeat("Name ", 100)}}); err != nil {
				t.Fatal(err)
			}
		}
		list := e.do("GET", "/Users?count=200", e.bearer(), "")
		if list.status != 200 || len(list.body) < 100<<10 {
			t.Fatalf("list: %d, %d bytes", list.status, len(list.body))
		}
		small := e.do("GET", "/Users?count=1", e.bearer(), "")
		got := e.entries()
		if len(got) != 3 {
			t.Fatalf("%d entries, want 3", len(got))
		}
		if n := len(got[0].RequestBody); n > scimlog.DefaultMaxBodyBytes || n < scimlog.DefaultMaxBodyBytes-4 || !got[0].RequestTruncated {
			t.Errorf("big request kept as %d bytes, truncated %v; want at most %d and truncated", n, got[0].RequestTruncated, scimlog.DefaultMaxBodyBytes)
		}
		if n := len(got[1].ResponseBody); n > scimlog.DefaultMaxBodyBytes || !got[1].ResponseTruncated {
			t.Errorf("big response kept as %d bytes, truncated %v", n, got[1].ResponseTruncated)
		}
		if got[1].ResponseBody != string(list.body[:len(got[1].ResponseBody)]) {
			t.Error("the kept response is not the start of the one sent")
		}
		if got[2].ResponseTruncated || got[2].ResponseBody != string(small.body) {
			t.Errorf("small response changed: truncated %v, %d of %d bytes", got[2].ResponseTruncated, len(got[2].ResponseBody), len(small.body))
		}
	})
}

func TestPruning(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		st := b.Open(t)
		ctx := context.Background()
		now := time.Now()
		var batch []appstore.SCIMRequest
		for i := range 2500 { // more than one prune chunk
			batch = append(batch, appstore.SCIMRequest{Time: now.Add(-8*24*time.Hour - time.Duration(i)*time.Second), Method: "GET", Path: "/old", Status: 200})
		}
		batch = append(batch, appstore.SCIMRequest{Time: now.Add(-6 * 24 * time.Hour), Method: "GET", Path: "/recent", Status: 200})
		if err := st.AppendSCIMRequests(ctx, batch); err != nil {
			t.Fatal(err)
		}
		// The background pruner runs when the log starts.
		e := newEnv(t, st, nil, scimlog.Options{})
		deadline := time.Now().Add(20 * time.Second)
		for {
			page, err := st.ListSCIMRequests(ctx, appstore.SCIMRequestQuery{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) == 1 {
				if page.Items[0].Path != "/recent" {
					t.Fatalf("kept %q, want the recent entry", page.Items[0].Path)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("old entries still there: %d or more", len(page.Items))
			}
			time.Sleep(20 * time.Millisecond)
		}
		// A shorter retention prunes more, on demand.
		e.do("GET", "/Users", e.bearer(), "")
		e.entries()
		short := scimlog.New(st, scimlog.Options{Retention: 24 * time.Hour})
		if n, err := short.Prune(ctx); err != nil || n != 1 {
			t.Fatalf("prune with a day's retention: %d, %v; want the 6-day-old entry", n, err)
		}
		if got := e.entries(); len(got) != 1 || got[0].Path != "/scim/v2/Users" {
			t.Fatalf("after pruning: %+v", got)
		}
	})
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestFailingLogNeverFailsSCIM(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		st := b.Open(t)
		// The log writes into a second store on the same backend that is closed: every
		// insert fails.
		broken := b.Open(t)
		broken.Close()
		var logs syncBuffer
		e := newEnv(t, st, broken, scimlog.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		for i := range 20 {
			if r := e.do("POST", "/Users", e.bearer(), userJSON(fmt.Sprintf("f%d@example.com", i), "pw")); r.status != 201 {
				t.Fatalf("create %d with a failing log: %d %s", i, r.status, r.body)
			}
			e.log.Flush(context.Background())
		}
		if d := e.log.Dropped(); d != 20 {
			t.Errorf("dropped %d entries, want 20", d)
		}
		if n := strings.Count(logs.String(), "entries dropped"); n != 1 {
			t.Errorf("%d warnings for 20 failed writes, want 1 (rate limited):\n%s", n, logs.String())
		}
		if !strings.Contains(logs.String(), "write failed") {
			t.Errorf("warning does not say why: %s", logs.String())
		}
	})
}

func TestFullQueueNeverBlocksSCIM(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		// A queue of one entry and no writer: every request after the first finds it full.
		e := newEnv(t, b.Open(t), nil, scimlog.Options{QueueSize: -1})
		for i := range 10 {
			if r := e.do("GET", "/Users?count=1", e.bearer(), ""); r.status != 200 {
				t.Fatalf("request %d: %d %s", i, r.status, r.body)
			}
		}
		if d := e.log.Dropped(); d != 9 {
			t.Errorf("dropped %d, want 9", d)
		}
	})
}

func TestAllowListRefusalIsLogged(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		st := b.Open(t)
		e := newEnv(t, st, nil, scimlog.Options{})
		if _, err := st.UpdateTenant(context.Background(), appstore.DefaultTenant, func(tn *appstore.Tenant) error {
			tn.Settings.AllowedEmailDomains = []string{"example.com"}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if r := e.do("POST", "/Users", e.bearer(), userJSON("eve@evil.com", "pw")); r.status != 400 {
			t.Fatalf("create at another domain: %d %s", r.status, r.body)
		}
		got := e.entries()
		if len(got) != 1 || got[0].Status != 400 || got[0].ScimType != "invalidValue" || !strings.Contains(got[0].Detail, `"evil.com"`) || got[0].TenantID != appstore.DefaultTenant {
			t.Fatalf("log entries: %+v", got)
		}
	})
}

func TestRequestIDFromOuterMiddleware(t *testing.T) {
	e := newEnv(t, storetest.SQLite.Open(t), nil, scimlog.Options{})
	e.srv.Config.Handler = requestid.Middleware(e.srv.Config.Handler) // as serve mounts it
	req, _ := http.NewRequest("GET", e.srv.URL+"/scim/v2/Users?count=1", nil)
	req.Header.Set("Authorization", e.bearer())
	req.Header.Set(requestid.Header, "support-case-42")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := e.entries()
	if len(got) != 1 || got[0].RequestID != "support-case-42" || resp.Header.Get(requestid.Header) != "support-case-42" {
		t.Fatalf("request id logged %+v, answered %q; want the middleware's support-case-42", got, resp.Header.Get(requestid.Header))
	}
}
