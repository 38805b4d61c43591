package web_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/web"

	"github.com/chromedp/chromedp"
)

type rig struct {
	t     *testing.T
	store appstore.Store
	srv   *httptest.Server
}

func newRig(t *testing.T, b storetest.Backend) *rig {
	st := b.Open(t)
	h := web.New(web.Options{Store: st, AdminToken: "admin-secret"})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &rig{t: t, store: st, srv: srv}
}

func (r *rig) link(tenant string, expires time.Time) string {
	r.t.Helper()
	ctx := appstore.WithActor(context.Background(), appstore.Actor{Kind: "test"})
	_, secret, err := r.store.CreateSetupLink(ctx, appstore.SetupLink{TenantID: tenant, Expires: expires})
	if err != nil {
		r.t.Fatal(err)
	}
	return r.srv.URL + "/setup/" + secret
}

func TestSetupLinkOpensTenantPages(t *testing.T) {
	r := newRig(t, storetest.SQLite)
	tb := newTab(t)
	if st := tb.open(r.link("default", time.Now().Add(time.Hour))); st != http.StatusOK {
		t.Fatalf("setup link answered %d", st)
	}
	if got, want := tb.location(), r.srv.URL+"/portal/default/okta"; got != want {
		t.Fatalf("landed on %s, want %s", got, want)
	}
	if h := tb.text("h1"); h != "Okta provisioning" {
		t.Fatalf("heading %q", h)
	}
	cookies := eval[string](tb, `document.cookie`)
	if strings.Contains(cookies, "oktasync_session") {
		t.Errorf("session cookie readable from JavaScript: %q", cookies)
	}
}

func TestLinksThatShowNothing(t *testing.T) {
	r := newRig(t, storetest.SQLite)
	expired := r.link("default", time.Now().Add(200*time.Millisecond))
	ctx := appstore.WithActor(context.Background(), appstore.Actor{Kind: "test"})
	l, secret, err := r.store.CreateSetupLink(ctx, appstore.SetupLink{TenantID: "default", Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.store.RevokeSetupLink(ctx, "default", l.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	tb := newTab(t)
	for _, c := range []struct {
		name, url string
		status    int64
		heading   string
	}{
		{"expired", expired, http.StatusGone, "This link has expired"},
		{"revoked", r.srv.URL + "/setup/" + secret, http.StatusGone, "This link has expired"},
		{"made up", r.srv.URL + "/setup/osl_madeup", http.StatusNotFound, "This link is not valid"},
	} {
		if st := tb.open(c.url); st != c.status {
			t.Errorf("%s link: status %d, want %d", c.name, st, c.status)
		}
		if h := tb.text("h1"); h != c.heading {
			t.Errorf("%s link: heading %q, want %q", c.name, h, c.heading)
		}
		body := tb.text("body")
		if strings.Contains(body, "default") || strings.Contains(body, "Okta provisioning") || strings.Contains(body, "Sign out") {
			t.Errorf("%s link page shows something of a tenant: %q", c.name, body)
		}
		if st := tb.open(r.srv.URL + "/portal/default/okta"); st != http.StatusUnauthorized {
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
	r := newRig(t, storetest.SQLite)
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
	st := storetest.SQLite.Open(t)
	srv := httptest.NewServer(web.New(web.Options{Store: st, PublicURL: "https://sync.example.com"}))
	t.Cleanup(srv.Close)
	ctx := appstore.WithActor(context.Background(), appstore.Actor{Kind: "test"})
	_, secret, err := st.CreateSetupLink(ctx, appstore.SetupLink{TenantID: "default", Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(srv.URL + "/setup/" + secret)
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
	r := newRig(t, storetest.SQLite)
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
	r := newRig(t, storetest.SQLite)
	tb := newTab(t)
	tb.open(r.srv.URL + "/console")
	if got := tb.location(); got != r.srv.URL+"/console/sign-in" {
		t.Fatalf("console without a session went to %s", got)
	}
	if st := tb.click(button("Sign in"), chromedp.SendKeys(chromedp.ID("key"), "wrong")); st != http.StatusUnauthorized {
		t.Errorf("wrong key: status %d, want 401", st)
	}
	if msg := tb.text(".notice.err"); !strings.Contains(msg, "not accepted") {
		t.Fatalf("wrong key: %q", msg)
	}
	tb.click(button("Sign in"), chromedp.SendKeys(chromedp.ID("key"), "admin-secret"))
	if got := tb.location(); got != r.srv.URL+"/console" {
		t.Fatalf("after sign-in: %s", got)
	}
	tb.click(button("Sign out"))
	if h := tb.text("h1"); h != "You are signed out" {
		t.Fatalf("after sign-out: %q", h)
	}
	tb.open(r.srv.URL + "/console")
	if got := tb.location(); got != r.srv.URL+"/console/sign-in" {
		t.Fatalf("console after sign-out went to %s", got)
	}
}
