package web_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/web"
)

// TestConsoleWebhooks adds a webhook in the console, sees its secret once, queues a test
// event and sees the delivery; a tenant's session gets 404 for these pages.
func TestConsoleWebhooks(t *testing.T) {
	st := storetest.SQLite.Open(t)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	key, _ := base64.StdEncoding.DecodeString("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	m := manage.New(st, manage.Options{SCIMURL: srv.URL + "/scim/v2", PublicURL: srv.URL, Key: key, WebhookAllowPrivate: true})
	h = web.New(web.Options{Manager: m, PublicURL: srv.URL})
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(receiver.Close)

	ctx := manage.AsCLI(context.Background())
	link, err := m.CreateConsoleLink(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if st, _ := get(t, c, link.URL); st != http.StatusOK {
		t.Fatalf("console link: %d", st)
	}
	st0, body := get(t, c, srv.URL+"/console/webhooks")
	if st0 != http.StatusOK || !strings.Contains(body, "No webhooks yet") {
		t.Fatalf("webhooks page: %d", st0)
	}
	csrf := csrfField.FindStringSubmatch(body)[1]
	post := func(path string, vals url.Values) (int, string) {
		t.Helper()
		vals.Set("csrf", csrf)
		resp, err := c.PostForm(srv.URL+path, vals)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := post("/console/webhooks", url.Values{"url": {"ftp://nowhere"}}); st != http.StatusBadRequest || !strings.Contains(body, "ftp://nowhere") {
		t.Errorf("a bad URL: %d, typed value kept %v", st, strings.Contains(body, "ftp://nowhere"))
	}
	st1, body := post("/console/webhooks", url.Values{"url": {receiver.URL + "/hook"}, "tenants": {"default"}})
	if st1 != http.StatusCreated || !strings.Contains(body, `id="webhook-secret"`) {
		t.Fatalf("create: %d", st1)
	}
	list, err := m.ListWebhooks(ctx)
	if err != nil || len(list) != 1 || list[0].URL != receiver.URL+"/hook" || len(list[0].Tenants) != 1 {
		t.Fatalf("webhooks after create: %+v %v", list, err)
	}
	id := list[0].ID
	if _, body := get(t, c, srv.URL+"/console/webhooks"); strings.Contains(body, `id="webhook-secret"`) {
		t.Error("the signing secret is shown again")
	}
	st2, body := post("/console/webhooks/"+id+"/test", url.Values{})
	if st2 != http.StatusOK || !strings.Contains(body, "A test event is queued") || !strings.Contains(body, `<table id="deliveries">`) {
		t.Errorf("after a test event: %d, the page lacks the delivery", st2)
	}

	// A tenant's session sees none of it.
	tenant := (&rig{t: t, store: st, m: m, srv: srv}).client("default")
	for _, p := range []string{"/console/webhooks", "/console/webhooks/" + id} {
		if st, body := get(t, tenant, srv.URL+p); st != http.StatusNotFound || strings.Contains(body, receiver.URL) {
			t.Errorf("tenant session GET %s: %d", p, st)
		}
	}
}
