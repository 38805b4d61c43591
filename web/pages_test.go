package web_test

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/resource"
	"github.com/oktasync/oktasync/web"
	"github.com/oktasync/oktasync/web/browsertest"

	"github.com/chromedp/chromedp"
)

func TestMain(m *testing.M) { os.Exit(browsertest.Run(m)) }

type rig struct {
	t     *testing.T
	store appstore.Store
	m     *manage.Manager
	srv   *httptest.Server
}

// newRig serves the pages alone over a fresh store, with the management layer they use.
func newRig(t *testing.T, b storetest.Backend, publicURL string) *rig {
	st := b.Open(t)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	if publicURL == "" {
		publicURL = srv.URL
	}
	m := manage.New(st, manage.Options{SCIMURL: publicURL + "/scim/v2", PublicURL: publicURL, AdminToken: "admin-secret"})
	h = web.New(web.Options{Manager: m, PublicURL: publicURL})
	return &rig{t: t, store: st, m: m, srv: srv}
}

func (r *rig) link(tenant string, expires time.Time) string {
	r.t.Helper()
	ctx := appstore.WithActor(context.Background(), appstore.Actor{Kind: "test"})
	if time.Until(expires) >= manage.MinSetupLinkTTL {
		l, err := r.m.CreateSetupLink(ctx, tenant, time.Until(expires))
		if err != nil {
			r.t.Fatal(err)
		}
		return l.URL
	}
	// Shorter than a link may be made for: straight into the store.
	_, secret, err := r.store.CreateSetupLink(ctx, appstore.SetupLink{TenantID: tenant, Expires: expires})
	if err != nil {
		r.t.Fatal(err)
	}
	return r.srv.URL + "/setup/" + secret
}

func TestSetupLinkOpensTenantPages(t *testing.T) {
	r := newRig(t, storetest.SQLite, "")
	tb := browsertest.NewTab(t)
	if st := tb.Open(r.link("default", time.Now().Add(time.Hour))); st != http.StatusOK {
		t.Fatalf("setup link answered %d", st)
	}
	if got, want := tb.Location(), r.srv.URL+"/portal/default/okta"; got != want {
		t.Fatalf("landed on %s, want %s", got, want)
	}
	if h := tb.Text("h1"); h != "Okta provisioning" {
		t.Fatalf("heading %q", h)
	}
	cookies := browsertest.Eval[string](tb, `document.cookie`)
	if strings.Contains(cookies, "oktasync_session") {
		t.Errorf("session cookie readable from JavaScript: %q", cookies)
	}
}

func TestLinksThatShowNothing(t *testing.T) {
	r := newRig(t, storetest.SQLite, "")
	expired := r.link("default", time.Now().Add(200*time.Millisecond))
	ctx := appstore.WithActor(context.Background(), appstore.Actor{Kind: "test"})
	revoked, err := r.m.CreateSetupLink(ctx, "default", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.m.RevokeSetupLink(ctx, "default", revoked.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	tb := browsertest.NewTab(t)
	for _, c := range []struct {
		name, url string
		status    int64
		heading   string
	}{
		{"expired", expired, http.StatusGone, "This link has expired"},
		{"revoked", revoked.URL, http.StatusGone, "This link has expired"},
		{"made up", r.srv.URL + "/setup/osl_madeup", http.StatusNotFound, "This link is not valid"},
	} {
		if st := tb.Open(c.url); st != c.status {
			t.Errorf("%s link: status %d, want %d", c.name, st, c.status)
		}
		if h := tb.Text("h1"); h != c.heading {
			t.Errorf("%s link: heading %q, want %q", c.name, h, c.heading)
		}
		body := tb.Text("body")
		if strings.Contains(body, "default") || strings.Contains(body, "Okta provisioning") || strings.Contains(body, "Sign out") {
			t.Errorf("%s link page shows something of a tenant: %q", c.name, body)
		}
		if st := tb.Open(r.srv.URL + "/portal/default/okta"); st != http.StatusUnauthorized {
			t.Errorf("after the %s link, the tenant's page answered %d, want 401", c.name, st)
		}
	}
}

// client is a plain HTTP client with a cookie jar that has opened a setup link.
func (r *rig) client(tenant string) *http.Client {
	r.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(r.link(tenant, time.Now().Add(time.Hour)))
	if err != nil {
		r.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		r.t.Fatalf("setup link: %d", resp.StatusCode)
	}
	return c
}

func TestSecurityHeadersAndCookie(t *testing.T) {
	r := newRig(t, storetest.SQLite, "")
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(r.link("default", time.Now().Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/portal/default/okta" {
		t.Fatalf("setup link: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sc *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "oktasync_session" {
			sc = ck
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure on http", sc)
	}
	for _, path := range []string{"/portal/default/okta", "/setup/nope", "/console/sign-in"} {
		resp, err := c.Get(r.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: X-Frame-Options %q, Referrer-Policy %q", path, resp.Header.Get("X-Frame-Options"), resp.Header.Get("Referrer-Policy"))
		}
	}
}

func TestSecureCookieOnHTTPS(t *testing.T) {
	r := newRig(t, storetest.SQLite, "https://sync.example.com")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(strings.Replace(r.link("default", time.Now().Add(time.Hour)), "https://sync.example.com", r.srv.URL, 1))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "oktasync_session" && !ck.Secure {
			t.Errorf("session cookie not Secure behind an https public URL")
		}
	}
}

func TestFormWithoutCSRFTokenIs403(t *testing.T) {
	r := newRig(t, storetest.SQLite, "")
	c := r.client("default")
	resp, err := c.PostForm(r.srv.URL+"/sign-out", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-out without CSRF token: %d, want 403", resp.StatusCode)
	}
	resp, err = c.PostForm(r.srv.URL+"/sign-out", url.Values{"csrf": {"forged"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-out with a forged CSRF token: %d, want 403", resp.StatusCode)
	}
	// Still signed in: the refused forms changed nothing.
	resp, err = c.Get(r.srv.URL + "/portal/default/okta")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after refused forms the session is gone: %d", resp.StatusCode)
	}
}

func TestConsoleSignIn(t *testing.T) {
	r := newRig(t, storetest.SQLite, "")
	tb := browsertest.NewTab(t)
	tb.Open(r.srv.URL + "/console")
	if got := tb.Location(); got != r.srv.URL+"/console/sign-in" {
		t.Fatalf("console without a session went to %s", got)
	}
	if st := tb.Click(browsertest.Button("Sign in"), chromedp.SendKeys(chromedp.ID("key"), "wrong")); st != http.StatusUnauthorized {
		t.Errorf("wrong key: status %d, want 401", st)
	}
	if msg := tb.Text(".notice.err"); !strings.Contains(msg, "not accepted") {
		t.Fatalf("wrong key: %q", msg)
	}
	tb.Click(browsertest.Button("Sign in"), chromedp.SendKeys(chromedp.ID("key"), "admin-secret"))
	if got := tb.Location(); got != r.srv.URL+"/console" {
		t.Fatalf("after sign-in: %s", got)
	}
	tb.Click(browsertest.Button("Sign out"))
	if h := tb.Text("h1"); h != "You are signed out" {
		t.Fatalf("after sign-out: %q", h)
	}
	tb.Open(r.srv.URL + "/console")
	if got := tb.Location(); got != r.srv.URL+"/console/sign-in" {
		t.Fatalf("console after sign-out went to %s", got)
	}

	// An API key of the vendor API signs in too; removing the key ends its session.
	key, err := r.m.CreateAPIKey(context.Background(), "support")
	if err != nil {
		t.Fatal(err)
	}
	tb.Click(browsertest.Button("Sign in"), chromedp.SendKeys(chromedp.ID("key"), key.Secret))
	if got := tb.Location(); got != r.srv.URL+"/console" {
		t.Fatalf("after sign-in with an API key: %s", got)
	}
	if err := r.m.RemoveAPIKey(context.Background(), key.ID); err != nil {
		t.Fatal(err)
	}
	tb.Open(r.srv.URL + "/console")
	if got := tb.Location(); got != r.srv.URL+"/console/sign-in" {
		t.Fatalf("console after its API key was removed went to %s", got)
	}
	if st := tb.Click(browsertest.Button("Sign in"), chromedp.SendKeys(chromedp.ID("key"), key.Secret)); st != http.StatusUnauthorized {
		t.Errorf("removed API key: status %d, want 401", st)
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// get fetches a page and returns its status and body.
func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestTenantSessionSeesNoOtherTenant opens acme's setup link and tries every page and
// form of another tenant by URL, and other's ids under acme's own URLs.
func TestTenantSessionSeesNoOtherTenant(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			r := newRig(t, b, "")
			ctx := manage.AsCLI(context.Background())
			for _, id := range []string{"acme", "other"} {
				if _, err := r.m.CreateTenant(ctx, manage.NewTenant{ID: id, ProvisioningEnabled: true}); err != nil {
					t.Fatal(err)
				}
			}
			name := "secret.person@other.example"
			u, err := r.m.CreateUser(ctx, "other", manage.UserFields{UserName: &name})
			if err != nil {
				t.Fatal(err)
			}
			g, err := r.store.CreateGroup(ctx, appstore.Group{TenantID: "other", DisplayName: "Other's admins", Members: []appstore.Member{{Value: u.ID, Type: "User"}}})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := r.m.CreateToken(ctx, "other")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.m.AddAttribute(ctx, "other", resource.Attribute{Name: "otherSecretAttr"}); err != nil {
				t.Fatal(err)
			}

			c := r.client("acme")
			st, body := get(t, c, r.srv.URL+"/portal/acme/okta")
			m := csrfField.FindStringSubmatch(body)
			if st != http.StatusOK || m == nil {
				t.Fatalf("acme's own page: %d, csrf found %v", st, m != nil)
			}
			csrf := m[1]
			for _, path := range []string{
				"/portal/other", "/portal/other/okta", "/portal/other/users", "/portal/other/users/" + u.ID,
				"/portal/other/groups", "/portal/other/groups/" + g.ID, "/portal/other/settings", "/portal/other/import",
				"/portal/other/activity", "/portal/other/activity.csv",
				"/portal/acme/users/" + u.ID, "/portal/acme/groups/" + g.ID, "/console",
			} {
				st, body := get(t, c, r.srv.URL+path)
				if st != http.StatusNotFound {
					t.Errorf("GET %s: %d, want 404", path, st)
				}
				for _, leak := range []string{"secret.person", "Other's admins", tok.Prefix, "otherSecretAttr"} {
					if strings.Contains(body, leak) {
						t.Errorf("GET %s shows %q", path, leak)
					}
				}
			}
			for _, path := range []string{
				"/portal/other/okta/tokens", "/portal/other/okta/tokens/" + tok.ID + "/deactivate",
				"/portal/acme/okta/tokens/" + tok.ID + "/deactivate", "/portal/acme/okta/tokens/" + tok.ID + "/remove",
				"/portal/other/settings", "/portal/other/settings/attributes", "/portal/acme/settings/attributes/otherSecretAttr/remove",
				"/portal/other/import/sync", "/console/tenants/other/disable", "/console/tenants/other/setup-links",
			} {
				resp, err := c.PostForm(r.srv.URL+path, url.Values{"csrf": {csrf}, "confirm": {"yes"}, "name": {"x"}, "inviteUsers": {"on"}})
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("POST %s: %d, want 404", path, resp.StatusCode)
				}
			}
			creds, err := r.m.ListCredentials(ctx, "other", "")
			if err != nil || len(creds) != 1 || creds[0].Status != "active" {
				t.Errorf("other's tokens changed: %+v %v", creds, err)
			}
			other, err := r.m.GetTenant(ctx, "other")
			if err != nil || !other.ProvisioningEnabled || other.InviteUsers {
				t.Errorf("other's settings changed: %+v %v", other, err)
			}
			attrs, _ := r.m.ListAttributes(ctx, "other")
			if len(attrs) != 1 {
				t.Errorf("other's attributes changed: %+v", attrs)
			}
		})
	}
}

// TestTokensWithoutJavaScript posts the token forms as a browser without the pages'
// script would: the server asks to confirm on a page of its own, and a third token is
// refused with what to do.
func TestTokensWithoutJavaScript(t *testing.T) {
	r := newRig(t, storetest.SQLite, "")
	c := r.client("default")
	_, body := get(t, c, r.srv.URL+"/portal/default/okta")
	csrf := csrfField.FindStringSubmatch(body)[1]
	post := func(vals url.Values) (int, string) {
		t.Helper()
		vals.Set("csrf", csrf)
		resp, err := c.PostForm(r.srv.URL+"/portal/default/okta/tokens", vals)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	st, body := post(url.Values{})
	if st != http.StatusOK || !strings.Contains(body, "Please confirm") {
		t.Fatalf("unconfirmed generate: %d, confirmation page %v", st, strings.Contains(body, "Please confirm"))
	}
	if creds, _ := r.m.ListCredentials(context.Background(), "default", manage.KindToken); len(creds) != 0 {
		t.Fatalf("a token was made without confirmation: %+v", creds)
	}
	for i := range 2 {
		st, body := post(url.Values{"confirm": {"yes"}})
		if st != http.StatusCreated || !strings.Contains(body, `id="new-secret">oks_`) {
			t.Fatalf("token %d: %d", i+1, st)
		}
	}
	st, body = post(url.Values{"confirm": {"yes"}})
	if st != http.StatusBadRequest || !strings.Contains(body, "remove or renew one first") {
		t.Fatalf("third token: %d, message shown %v", st, strings.Contains(body, "remove or renew"))
	}
}

func TestActivityCSV(t *testing.T) {
	r := newRig(t, storetest.SQLite, "")
	ctx := manage.AsCLI(context.Background())
	if _, err := r.m.CreateToken(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	name := "zoe@example.com"
	if _, err := r.m.CreateUser(ctx, "default", manage.UserFields{UserName: &name}); err != nil {
		t.Fatal(err)
	}
	c := r.client("default")
	resp, err := c.Get(r.srv.URL + "/portal/default/activity.csv?actor=cli")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("CSV: %v, %q", err, resp.Header.Get("Content-Type"))
	}
	if len(rows) != 3 || rows[0][4] != "operation" || rows[1][4] != "user.create" || rows[2][4] != "token.create" {
		t.Fatalf("rows %q, want the header, user.create and token.create (newest first)", rows)
	}
	if !strings.Contains(rows[1][7], "zoe@example.com") {
		t.Errorf("user.create's changes: %q", rows[1][7])
	}
	for _, row := range rows[1:] {
		if !strings.HasPrefix(row[3], "cli") {
			t.Errorf("the actor filter let %q through", row[3])
		}
	}
}
