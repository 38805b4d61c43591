package oktaclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktasync/oktasync/errkind"
)

// canned is one scripted answer of the fake Okta server.
type canned struct {
	status int
	body   string
	header map[string]string
}

// fakeOkta serves canned answers and records requests.
type fakeOkta struct {
	mu       sync.Mutex
	answers  []canned
	requests []recorded
}

type recorded struct {
	Method, Path, RawPath, Query, Auth, Body string
}

func (f *fakeOkta) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, recorded{r.Method, r.URL.Path, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Authorization"), string(body)})
	a := canned{status: 500, body: `{"errorCode":"E0000009","errorSummary":"no script"}`}
	if len(f.answers) > 0 {
		a = f.answers[0]
		f.answers = f.answers[1:]
	}
	f.mu.Unlock()
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	if a.body != "" && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func (f *fakeOkta) last() recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		return recorded{}
	}
	return f.requests[len(f.requests)-1]
}

func newFake(t *testing.T, answers ...canned) (*fakeOkta, *SDKClient) {
	t.Helper()
	f := &fakeOkta{answers: answers}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := New(Config{OrgURL: srv.URL + "/", APIToken: "test-token", AppID: "0oa1", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func TestErrorMapping(t *testing.T) {
	reset := time.Now().Add(30 * time.Second).Truncate(time.Second)
	tests := []struct {
		name     string
		answer   canned
		wantKind errkind.Kind
		wantMsg  string // substring of the message
	}{
		{"not found", canned{404, `{"errorCode":"E0000007","errorSummary":"Not found: Resource not found: 00u1 (AppUser)"}`, nil},
			errkind.NotFound, "Resource not found"},
		{"validation", canned{400, `{"errorCode":"E0000001","errorSummary":"Api validation failed: profile","errorCauses":[{"errorSummary":"email: Does not match required pattern"}]}`, nil},
			errkind.Invalid, "email: Does not match required pattern"},
		{"already exists", canned{400, `{"errorCode":"E0000001","errorSummary":"Api validation failed: login","errorCauses":[{"errorSummary":"login: An object with this field already exists in the current organization"}]}`, nil},
			errkind.Conflict, "already exists"},
		{"invalid token", canned{401, `{"errorCode":"E0000011","errorSummary":"Invalid token provided"}`, nil},
			errkind.Unauthorized, "Invalid token"},
		{"forbidden", canned{403, `{"errorCode":"E0000006","errorSummary":"You do not have permission to perform the requested action"}`, nil},
			errkind.Unauthorized, "permission"},
		{"rate limited", canned{429, `{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."}`,
			map[string]string{"X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": fmt.Sprint(reset.Unix())}},
			errkind.RateLimited, "rate limit"},
		{"rate limited without headers", canned{429, `{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."}`, nil},
			errkind.RateLimited, "rate limit"},
		{"server error", canned{500, `{"errorCode":"E0000009","errorSummary":"Internal Server Error"}`, nil},
			errkind.Transient, "Internal Server Error"},
		{"unavailable", canned{503, `{"errorCode":"E0000010","errorSummary":"Service is in read only mode"}`, nil},
			errkind.Transient, "read only"},
		{"method not allowed", canned{405, `{"errorCode":"E0000022","errorSummary":"The endpoint does not support the provided HTTP method"}`, nil},
			errkind.Permanent, "does not support"},
		{"login page instead of the API", canned{200, "<html></html>", map[string]string{"Content-Type": "text/html"}},
			errkind.Permanent, "unexpected answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newFake(t, tt.answer)
			_, err := c.GetAppUser(context.Background(), "00u1")
			t.Log(err)
			var e *errkind.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *errkind.Error", err, err)
			}
			if e.Kind != tt.wantKind {
				t.Errorf("kind = %v, want %v (%v)", e.Kind, tt.wantKind, err)
			}
			if !errors.Is(err, tt.wantKind) {
				t.Errorf("errors.Is(err, %v) = false", tt.wantKind)
			}
			if !strings.Contains(e.Msg, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", e.Msg, tt.wantMsg)
			}
			var ae *APIError
			if tt.name == "not found" && (!errors.As(err, &ae) || ae.Code != "E0000007" || ae.Status != 404) {
				t.Errorf("no APIError with Okta's code in the chain of %v", err)
			}
			if e.Op != "oktaclient.GetAppUser" {
				t.Errorf("op = %q", e.Op)
			}
			// The reset is read against the server's Date, which has whole seconds, and
			// is padded: it may land up to a second after reset+pad, never before.
			if from := reset.Add(DefaultResetPad); tt.name == "rate limited" &&
				(e.RetryAfter.Before(from) || e.RetryAfter.After(from.Add(time.Second))) {
				t.Errorf("RetryAfter = %v, want within a second after %v", e.RetryAfter, from)
			}
			if strings.Contains(err.Error(), "test-token") {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestNoAnswerIsTransient(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	c, err := New(Config{OrgURL: url, APIToken: "t", AppID: "a", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetUser(context.Background(), "00u1")
	if !errors.Is(err, errkind.Transient) {
		t.Errorf("err = %v, want Transient", err)
	}
}

func TestRequests(t *testing.T) {
	appUser := `{"id":"00u1","externalId":"ext","scope":"USER","status":"PROVISIONED","syncState":"SYNCHRONIZED",` +
		`"created":"2026-01-02T03:04:05.000Z","credentials":{"userName":"a@b.c"},"profile":{"email":"a@b.c","n":1}}`
	user := `{"id":"00u1","status":"STAGED","profile":{"login":"a@b.c","email":"a@b.c","firstName":"A","lastName":"B"}}`
	tests := []struct {
		name        string
		call        func(c *SDKClient) error
		answers     []canned
		wantMethod  string
		wantPath    string // escaped path
		wantQuery   string
		wantBody    map[string]any // nil: no body expected
		wantErrKind errkind.Kind
	}{
		{"get app user",
			func(c *SDKClient) error {
				au, err := c.GetAppUser(context.Background(), "00u1")
				if err == nil && (au.UserName != "a@b.c" || au.ExternalID != "ext" || au.Profile["n"] != 1.0 || au.Created.IsZero()) {
					return fmt.Errorf("decoded %+v", au)
				}
				return err
			},
			[]canned{{200, appUser, nil}}, "GET", "/api/v1/apps/0oa1/users/00u1", "", nil, 0},
		{"assign",
			func(c *SDKClient) error {
				_, err := c.AssignUser(context.Background(), Assignment{UserID: "00u1", UserName: "a@b.c", Profile: map[string]any{"email": "a@b.c"}})
				return err
			},
			[]canned{{200, appUser, nil}}, "POST", "/api/v1/apps/0oa1/users", "",
			map[string]any{"id": "00u1", "scope": "USER", "credentials": map[string]any{"userName": "a@b.c"}, "profile": map[string]any{"email": "a@b.c"}}, 0},
		{"profile-only update leaves credentials out",
			func(c *SDKClient) error {
				_, err := c.UpdateAppUser(context.Background(), "00u1", AppUserUpdate{Profile: map[string]any{"n": 2}})
				return err
			},
			[]canned{{200, appUser, nil}}, "POST", "/api/v1/apps/0oa1/users/00u1", "",
			map[string]any{"profile": map[string]any{"n": 2.0}}, 0},
		{"user name update",
			func(c *SDKClient) error {
				_, err := c.UpdateAppUser(context.Background(), "00u1", AppUserUpdate{UserName: "new@b.c"})
				return err
			},
			[]canned{{200, appUser, nil}}, "POST", "/api/v1/apps/0oa1/users/00u1", "",
			map[string]any{"credentials": map[string]any{"userName": "new@b.c"}}, 0},
		{"empty update is refused locally",
			func(c *SDKClient) error {
				_, err := c.UpdateAppUser(context.Background(), "00u1", AppUserUpdate{})
				return err
			},
			nil, "", "", "", nil, errkind.Invalid},
		{"unassign",
			func(c *SDKClient) error { return c.UnassignUser(context.Background(), "00u1") },
			[]canned{{204, "", nil}}, "DELETE", "/api/v1/apps/0oa1/users/00u1", "sendEmail=false", nil, 0},
		{"id is escaped into the path",
			func(c *SDKClient) error { _, err := c.GetUser(context.Background(), "a/b?c@d.e"); return err },
			[]canned{{200, user, nil}}, "GET", "/api/v1/users/a%2Fb%3Fc@d.e", "", nil, 0},
		{"empty id is refused locally",
			func(c *SDKClient) error { _, err := c.GetUser(context.Background(), " "); return err },
			nil, "", "", "", nil, errkind.Invalid},
		{"find by login uses an escaped filter",
			func(c *SDKClient) error {
				u, err := c.FindUserByLogin(context.Background(), `o"b\x@e.com`)
				if err == nil && (u.Login != "a@b.c" || u.FirstName != "A") {
					return fmt.Errorf("decoded %+v", u)
				}
				return err
			},
			[]canned{{200, "[" + user + "]", nil}}, "GET", "/api/v1/users",
			"filter=profile.login+eq+%22o%5C%22b%5C%5Cx%40e.com%22&limit=2", nil, 0},
		{"find by login, none",
			func(c *SDKClient) error { _, err := c.FindUserByLogin(context.Background(), "x@y.z"); return err },
			[]canned{{200, "[]", nil}}, "GET", "/api/v1/users", "filter=profile.login+eq+%22x%40y.z%22&limit=2", nil, errkind.NotFound},
		{"find by email",
			func(c *SDKClient) error {
				us, err := c.FindUsersByEmail(context.Background(), "a@b.c")
				if err == nil && len(us) != 2 {
					return fmt.Errorf("got %d users", len(us))
				}
				return err
			},
			[]canned{{200, "[" + user + "," + user + "]", nil}}, "GET", "/api/v1/users", "filter=profile.email+eq+%22a%40b.c%22&limit=200", nil, 0},
		{"login with a control character is refused",
			func(c *SDKClient) error { _, err := c.FindUserByLogin(context.Background(), "a\nb"); return err },
			nil, "", "", "", nil, errkind.Invalid},
		{"create staged",
			func(c *SDKClient) error {
				_, err := c.CreateUser(context.Background(), NewUser{Login: "a@b.c", Email: "a@b.c", FirstName: "A", LastName: "B", Profile: map[string]any{"title": "x"}})
				return err
			},
			[]canned{{200, user, nil}}, "POST", "/api/v1/users", "activate=false",
			map[string]any{"profile": map[string]any{"login": "a@b.c", "email": "a@b.c", "firstName": "A", "lastName": "B", "title": "x"}}, 0},
		{"create active without email: staged, activated silently, read back",
			func(c *SDKClient) error {
				u, err := c.CreateUser(context.Background(), NewUser{Login: "a@b.c", Email: "a@b.c", Activate: true})
				if err == nil && u.Status != "ACTIVE" {
					return fmt.Errorf("status %s", u.Status)
				}
				return err
			},
			[]canned{{200, user, nil}, {200, `{}`, nil}, {200, strings.Replace(user, "STAGED", "ACTIVE", 1), nil}},
			"GET", "/api/v1/users/00u1", "", nil, 0},
		{"activate without email",
			func(c *SDKClient) error { return c.ActivateUser(context.Background(), "00u1", LifecycleOptions{}) },
			[]canned{{200, `{}`, nil}}, "POST", "/api/v1/users/00u1/lifecycle/activate", "sendEmail=false", nil, 0},
		{"deactivate",
			func(c *SDKClient) error { return c.DeactivateUser(context.Background(), "00u1", LifecycleOptions{}) },
			[]canned{{200, "", nil}}, "POST", "/api/v1/users/00u1/lifecycle/deactivate", "sendEmail=false", nil, 0},
		{"check",
			func(c *SDKClient) error {
				r, err := c.Check(context.Background())
				if err == nil && (r.AppLabel != "L" || r.Users != 1 || r.More) {
					return fmt.Errorf("check = %+v", r)
				}
				return err
			},
			[]canned{{200, `{"id":"0oa1","name":"scim2","label":"L","status":"ACTIVE"}`, nil}, {200, "[" + appUser + "]", nil}},
			"GET", "/api/v1/apps/0oa1/users", "limit=200", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newFake(t, tt.answers...)
			err := tt.call(c)
			if tt.wantErrKind != 0 {
				if !errors.Is(err, tt.wantErrKind) {
					t.Fatalf("err = %v, want kind %v", err, tt.wantErrKind)
				}
			} else if err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.wantMethod == "" {
				if n := len(f.requests); n != 0 {
					t.Errorf("%d requests sent, want none", n)
				}
				return
			}
			r := f.last()
			if r.Method != tt.wantMethod || r.RawPath != tt.wantPath || r.Query != tt.wantQuery {
				t.Errorf("request = %s %s ?%s, want %s %s ?%s", r.Method, r.RawPath, r.Query, tt.wantMethod, tt.wantPath, tt.wantQuery)
			}
			if r.Auth != "SSWS test-token" {
				t.Errorf("Authorization = %q", r.Auth)
			}
			if tt.wantBody != nil {
				var got map[string]any
				if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
					t.Fatalf("body %q: %v", r.Body, err)
				}
				if g, w := fmt.Sprint(got), fmt.Sprint(tt.wantBody); g != w {
					t.Errorf("body = %s, want %s", g, w)
				}
			}
		})
	}
}

func TestListAppUsersPages(t *testing.T) {
	page := func(ids ...string) string {
		var parts []string
		for _, id := range ids {
			parts = append(parts, fmt.Sprintf(`{"id":%q,"credentials":{"userName":"%s@x"}}`, id, id))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	f := &fakeOkta{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery})
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		base := "http://" + r.Host + r.URL.Path
		w.Header().Add("Link", "<"+base+"?limit=2>; rel=\"self\"")
		switch r.URL.Query().Get("after") {
		case "":
			w.Header().Add("Link", "<"+base+"?after=c1&limit=2>; rel=\"next\"")
			io.WriteString(w, page("u1", "u2"))
		case "c1":
			w.Header().Add("Link", "<"+base+"?after=c2&limit=2>; rel=\"next\"")
			io.WriteString(w, page("u3", "u4"))
		default:
			io.WriteString(w, page("u5"))
		}
	}))
	defer srv.Close()
	c, err := New(Config{OrgURL: srv.URL, APIToken: "t", AppID: "0oa1"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var cursors []string
	err = c.ListAppUsers(context.Background(), ListOptions{Limit: 2, Query: "u"}, func(p []AppUser, after string) error {
		for _, u := range p {
			got = append(got, u.ID+"/"+u.UserName)
		}
		cursors = append(cursors, after)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "[u1/u1@x u2/u2@x u3/u3@x u4/u4@x u5/u5@x]"; fmt.Sprint(got) != want {
		t.Errorf("users = %v, want %s", got, want)
	}
	if want := "[c1 c2 ]"; fmt.Sprint(cursors) != want {
		t.Errorf("cursors = %q, want %s", cursors, want)
	}
	if q := f.requests[0].Query; q != "limit=2&q=u" {
		t.Errorf("first query = %q", q)
	}
	// The original q is kept on later pages.
	if q := f.requests[2].Query; !strings.Contains(q, "q=u") || !strings.Contains(q, "after=c2") {
		t.Errorf("third query = %q", q)
	}

	stop := errors.New("stop")
	calls := 0
	err = c.ListAppUsers(context.Background(), ListOptions{Limit: 2}, func([]AppUser, string) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("callback error: err = %v after %d calls", err, calls)
	}
	for _, limit := range []int{-1, 501} {
		if err := c.ListAppUsers(context.Background(), ListOptions{Limit: limit}, nil); !errors.Is(err, errkind.Invalid) {
			t.Errorf("limit %d: err = %v, want Invalid", limit, err)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	ok := Config{OrgURL: "https://example.okta.com", APIToken: "t", AppID: "a"}
	tests := []struct {
		name   string
		edit   func(*Config)
		wantOK bool
	}{
		{"https", func(*Config) {}, true},
		{"trailing slash", func(c *Config) { c.OrgURL += "/" }, true},
		{"loopback http", func(c *Config) { c.OrgURL = "http://127.0.0.1:8080" }, true},
		{"localhost http", func(c *Config) { c.OrgURL = "http://localhost:8080" }, true},
		{"ipv6 loopback http", func(c *Config) { c.OrgURL = "http://[::1]:8080" }, true},
		{"remote http", func(c *Config) { c.OrgURL = "http://example.okta.com" }, false},
		{"path", func(c *Config) { c.OrgURL = "https://example.okta.com/api/v1" }, false},
		{"no scheme", func(c *Config) { c.OrgURL = "example.okta.com" }, false},
		{"admin domain", func(c *Config) { c.OrgURL = "https://example-admin.okta.com" }, false},
		{"no token", func(c *Config) { c.APIToken = "" }, false},
		{"no app", func(c *Config) { c.AppID = "" }, false},
		{"no org", func(c *Config) { c.OrgURL = "" }, false},
		{"bad proxy", func(c *Config) { c.ProxyURL = "::" }, false},
		{"reserve too high", func(c *Config) { c.Reserve = 1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			_, err := New(cfg)
			if (err == nil) != tt.wantOK {
				t.Fatalf("New: err = %v, want ok=%v", err, tt.wantOK)
			}
			if err != nil && !errors.Is(err, errkind.Invalid) {
				t.Errorf("err = %v, want Invalid", err)
			}
		})
	}
}

func TestConfigRedactsToken(t *testing.T) {
	cfg := Config{OrgURL: "https://example.okta.com", APIToken: "s3cr3t-token", AppID: "0oa1"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("tenant", "okta", cfg)
	outputs := []string{
		fmt.Sprint(cfg), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg), fmt.Sprintf("%v", &cfg), buf.String(),
	}
	for _, s := range outputs {
		if strings.Contains(s, "s3cr3t") {
			t.Errorf("token leaked: %s", s)
		}
	}
	if !strings.Contains(buf.String(), "example.okta.com") {
		t.Errorf("log lacks the org URL: %s", buf.String())
	}
}

// TestEnvironmentDoesNotLeak sets the SDK's environment variables and a proxy to values
// that would break the request if honoured.
func TestEnvironmentDoesNotLeak(t *testing.T) {
	t.Setenv("OKTA_CLIENT_TOKEN", "env-token")
	t.Setenv("OKTA_CLIENT_ORGURL", "https://env.okta.com")
	t.Setenv("OKTA_CLIENT_AUTHORIZATIONMODE", "Bearer")
	t.Setenv("OKTA_CLIENT_CACHE_ENABLED", "true")
	t.Setenv("OKTA_CLIENT_RATE_LIMIT_MAX_RETRIES", "9")
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	user := `{"id":"00u1","status":"ACTIVE","profile":{"login":"a@b.c"}}`
	f, c := newFake(t, canned{200, user, nil}, canned{200, strings.Replace(user, "ACTIVE", "SUSPENDED", 1), nil})
	for _, want := range []string{"ACTIVE", "SUSPENDED"} {
		u, err := c.GetUser(context.Background(), "00u1")
		if err != nil {
			t.Fatal(err)
		}
		// A cache would serve the first answer twice.
		if u.Status != want {
			t.Errorf("status = %s, want %s", u.Status, want)
		}
	}
	if r := f.last(); r.Auth != "SSWS test-token" {
		t.Errorf("Authorization = %q", r.Auth)
	}
	if _, err := New(Config{OrgURL: "https://example.okta.com", AppID: "a"}); !errors.Is(err, errkind.Invalid) {
		t.Errorf("New without a token took one from the environment: err = %v", err)
	}
}

// TestDroppedConnectionsEnd checks that a server dropping every connection yields a
// Transient error after the configured retries, not the SDK's endless EOF loop.
func TestDroppedConnectionsEnd(t *testing.T) {
	var mu sync.Mutex
	attempts := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		attempts++
		mu.Unlock()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer srv.Close()
	for _, method := range []string{"GET", "POST"} {
		mu.Lock()
		attempts = 0
		mu.Unlock()
		c, err := New(Config{OrgURL: srv.URL, APIToken: "t", AppID: "a", MaxRetries: 2, MaxBackoff: 10 * time.Millisecond, CallTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if method == "GET" {
			_, err = c.GetUser(context.Background(), "00u1")
		} else {
			_, err = c.UpdateAppUser(context.Background(), "00u1", AppUserUpdate{Profile: map[string]any{"a": 1}})
		}
		if !errors.Is(err, errkind.Transient) {
			t.Errorf("%s: err = %v, want Transient", method, err)
		}
		mu.Lock()
		// Reads are retried (net/http may add one retry of its own on a reused
		// connection); a write whose connection broke may have been applied: one try.
		if method == "GET" && (attempts < 3 || attempts > 6) || method == "POST" && attempts > 2 {
			t.Errorf("%s: %d attempts", method, attempts)
		}
		mu.Unlock()
	}
}
