package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/requestid"
	"github.com/oktasync/oktasync/web"
)

// TestFailedPageNamesTheRequestID: a page that fails for a reason inside the server says
// so without internals, and names the request id its log line carries.
func TestFailedPageNamesTheRequestID(t *testing.T) {
	r := newRig(t, storetest.SQLite, "")
	srv := httptest.NewServer(requestid.Middleware(web.New(web.Options{Manager: r.m, PublicURL: r.srv.URL})))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	link := strings.Replace(r.link("default", time.Now().Add(time.Hour)), r.srv.URL, srv.URL, 1)
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	r.store.Close() // every read from here on fails inside the server
	req, _ := http.NewRequest("GET", srv.URL+"/portal/default/okta", nil)
	req.Header.Set(requestid.Header, "page-req-7")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), "page-req-7") {
		t.Fatalf("status %d, body lacks the request id:\n%s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "sql") || strings.Contains(string(body), "appstore") {
		t.Errorf("the page shows internals:\n%s", body)
	}
}
