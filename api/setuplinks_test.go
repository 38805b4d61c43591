package api_test

import (
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"
)

func TestSetupLinks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.must(201, "POST", "/api/v1/tenants", `{"id":"acme","provisioningEnabled":true}`)
		l := e.must(201, "POST", "/api/v1/tenants/acme/setup-links", `{"ttl":"2h"}`).json(t)
		url, _ := l["url"].(string)
		if !strings.HasPrefix(url, "https://scim.example.com/setup/osl_") || l["id"] == "" {
			t.Fatalf("created link: %v", l)
		}
		exp, err := time.Parse(time.RFC3339Nano, l["expires"].(string))
		if err != nil || time.Until(exp).Round(time.Minute) != 2*time.Hour {
			t.Errorf("expires %v (%v), want in 2h", l["expires"], err)
		}
		def := e.must(201, "POST", "/api/v1/tenants/acme/setup-links", "").json(t)
		if exp, _ := time.Parse(time.RFC3339Nano, def["expires"].(string)); time.Until(exp).Round(time.Hour) != 24*time.Hour {
			t.Errorf("default ttl: expires %v, want in 24h", def["expires"])
		}
		e.problem(400, "POST", "/api/v1/tenants/acme/setup-links", `{"ttl":"10s"}`, "ttl")
		e.problem(400, "POST", "/api/v1/tenants/acme/setup-links", `{"ttl":"tomorrow"}`, "ttl")
		e.problem(404, "POST", "/api/v1/tenants/nope/setup-links", "")

		list := e.must(200, "GET", "/api/v1/tenants/acme/setup-links", "")
		data, _ := list.list(t)
		if len(data) != 2 || strings.Contains(string(list.body), "osl_") {
			t.Fatalf("list shows %d links, or a secret: %s", len(data), list.body)
		}

		// The link opens the tenant's pages until it is revoked.
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		local := strings.Replace(url, "https://scim.example.com", e.srv.URL, 1)
		resp, err := c.Get(local)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Request.URL.Path != "/portal/acme/okta" {
			t.Fatalf("opening the link: %d at %s", resp.StatusCode, resp.Request.URL.Path)
		}
		e.problem(404, "DELETE", "/api/v1/tenants/default/setup-links/"+l["id"].(string), "")
		e.must(204, "DELETE", "/api/v1/tenants/acme/setup-links/"+l["id"].(string), "")
		e.problem(404, "DELETE", "/api/v1/tenants/acme/setup-links/"+l["id"].(string), "")
		for _, u := range []string{local, e.srv.URL + "/portal/acme/okta"} {
			resp, err := c.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == 200 {
				t.Errorf("after revoking, %s still answers 200", u)
			}
		}
		if data, _ := e.must(200, "GET", "/api/v1/tenants/acme/setup-links", "").list(t); len(data) != 1 {
			t.Errorf("after revoking one of two: %d listed", len(data))
		}
	})
}
