package api_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/config"
)

func TestSCIMRequests(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, adminToken, func(c *config.Config) { c.SCIMLogRetention = "7d" })
			e.must(201, "POST", "/api/v1/tenants", `{"id":"acme","provisioningEnabled":true}`)
			token := e.must(201, "POST", "/api/v1/tenants/acme/tokens", "").json(t)["secret"].(string)
			start := time.Now().Add(-time.Second)
			user := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@example.com","password":"Sup3r-s3cret"}`
			for _, c := range []struct {
				token, method, path, body string
				status                    int
			}{
				{token, "POST", "/Users", user, 201},
				{token, "POST", "/Users", user, 409},
				{token, "GET", "/Users?filter=" + url.QueryEscape(`userName eq "ada@example.com"`), "", 200},
				{"oks_wrong", "GET", "/Users", "", 401}, // kept under no tenant
			} {
				if r := e.scim(c.token, c.method, c.path, c.body); r.status != c.status {
					t.Fatalf("SCIM %s %s: %d %s", c.method, c.path, r.status, r.body)
				}
			}
			// The log is written off the request path: wait for it.
			var all []map[string]any
			for deadline := time.Now().Add(10 * time.Second); ; {
				all, _ = e.must(200, "GET", "/api/v1/tenants/acme/scim-requests", "").list(t)
				if len(all) >= 3 || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if len(all) != 3 {
				t.Fatalf("acme's SCIM requests: %d entries, want 3: %v", len(all), all)
			}
			var statuses []float64
			for _, r := range all {
				statuses = append(statuses, r["status"].(float64))
				if r["tenant"] != "acme" || r["userAgent"] == "" || r["requestId"] == "" || r["time"] == nil {
					t.Errorf("entry %v", r)
				}
			}
			if statuses[0] != 200 || statuses[1] != 409 || statuses[2] != 201 {
				t.Fatalf("statuses newest first: %v", statuses)
			}
			created := all[2]
			if body := created["requestBody"].(string); strings.Contains(body, "Sup3r-s3cret") || !strings.Contains(body, `"password":"[REDACTED]"`) {
				t.Fatalf("request body not redacted: %s", body)
			}
			if !strings.Contains(created["responseBody"].(string), `"userName":"ada@example.com"`) || created["path"] != "/scim/v2/Users" {
				t.Fatalf("created entry: %v", created)
			}
			if all[1]["scimType"] != "uniqueness" || all[1]["detail"] == "" {
				t.Fatalf("409 entry: %v", all[1])
			}
			// Filters.
			for _, c := range []struct {
				query string
				want  int
			}{
				{"status=4xx", 1},
				{"status=2xx", 2},
				{"status=5xx", 0},
				{"since=" + url.QueryEscape(start.UTC().Format(time.RFC3339Nano)), 3},
				{"since=" + url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), 0},
				{"until=" + url.QueryEscape(start.UTC().Format(time.RFC3339Nano)), 0},
			} {
				if got, _ := e.must(200, "GET", "/api/v1/tenants/acme/scim-requests?"+c.query, "").list(t); len(got) != c.want {
					t.Errorf("?%s: %d entries, want %d", c.query, len(got), c.want)
				}
			}
			// Pages of one, newest first, the same entries as the whole list.
			var paged []any
			next := ""
			for {
				d, n := e.must(200, "GET", "/api/v1/tenants/acme/scim-requests?limit=1&after="+url.QueryEscape(next), "").list(t)
				for _, r := range d {
					paged = append(paged, r["id"])
				}
				if next = n; next == "" {
					break
				}
			}
			if len(paged) != 3 || paged[0] != all[0]["id"] || paged[2] != all[2]["id"] {
				t.Fatalf("paged ids %v, listed %v %v %v", paged, all[0]["id"], all[1]["id"], all[2]["id"])
			}
			// Another tenant sees none of them; errors name what is wrong.
			if d, _ := e.must(200, "GET", "/api/v1/tenants/default/scim-requests", "").list(t); len(d) != 0 {
				t.Fatalf("default tenant sees %d of acme's requests", len(d))
			}
			e.problem(400, "GET", "/api/v1/tenants/acme/scim-requests?status=404", "", "status")
			e.problem(400, "GET", "/api/v1/tenants/acme/scim-requests?after=bogus", "", "after")
			e.problem(404, "GET", "/api/v1/tenants/nope/scim-requests", "")
			if r := e.doKey("", "GET", "/api/v1/tenants/acme/scim-requests", ""); r.status != 401 {
				t.Fatalf("without a key: %d", r.status)
			}
		})
	}
}
