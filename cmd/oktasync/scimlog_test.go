package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
)

// TestServeKeepsSCIMRequestLog: serve logs every SCIM request, 401s included, and writes
// what it still holds when it shuts down; a retention of 0 turns the log off.
func TestServeKeepsSCIMRequestLog(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			for _, tc := range []struct {
				retention string
				want      int
			}{{"", 3}, {"0", 0}} {
				url := b.URL(t)
				s := startServe(t, map[string]string{"OKTASYNC_DB": url, "OKTASYNC_SCIM_LOG_RETENTION": tc.retention})
				scimURL, token := bootToken(t, s.stdout.String())
				for _, auth := range []string{"Bearer " + token, "Bearer wrong", ""} {
					req, _ := http.NewRequest("GET", scimURL+"/Users?count=1", nil)
					if auth != "" {
						req.Header.Set("Authorization", auth)
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
				}
				if code := s.stop(t); code != 0 {
					t.Fatalf("serve exited with %d", code)
				}
				st, err := appstore.Open(context.Background(), url)
				if err != nil {
					t.Fatal(err)
				}
				page, err := st.ListSCIMRequests(context.Background(), appstore.SCIMRequestQuery{})
				st.Close()
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Items) != tc.want {
					t.Fatalf("retention %q: %d entries after shutdown, want %d", tc.retention, len(page.Items), tc.want)
				}
				var statuses []string
				for _, r := range page.Items {
					statuses = append(statuses, http.StatusText(r.Status))
				}
				if tc.want > 0 && strings.Join(statuses, ",") != "Unauthorized,Unauthorized,OK" {
					t.Fatalf("statuses newest first: %v", statuses)
				}
			}
		})
	}
}

func TestSCIMLogCommand(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			url := b.URL(t)
			c := newCLI(t, url)
			c.ok("tenant", "create", "acme")
			st, err := appstore.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			err = st.AppendSCIMRequests(context.Background(), []appstore.SCIMRequest{
				{Time: now.Add(-3 * time.Minute), TenantID: "acme", Method: "POST", Path: "/scim/v2/Users", Status: 201, Duration: 2 * time.Millisecond,
					UserAgent: "Okta SCIM Client 1.0.0", RequestID: "req-1", RequestBody: `{"userName":"a@acme.com","password":"[REDACTED]"}`},
				{Time: now.Add(-2 * time.Minute), TenantID: "acme", Method: "POST", Path: "/scim/v2/Users", Status: 409, ScimType: "uniqueness",
					Detail: `userName "a@acme.com" is already taken`, UserAgent: "Okta SCIM Client 1.0.0", RequestID: "req-2"},
				{Time: now.Add(-time.Minute), Method: "GET", Path: "/scim/v2/Users", Status: 401, Detail: "missing Authorization header", RequestID: "req-3"},
			})
			st.Close()
			if err != nil {
				t.Fatal(err)
			}
			all := c.ok("scim-log")
			if n := strings.Count(all, "\n"); n != 4 || !strings.Contains(all, "req-3") || !strings.Contains(all, "uniqueness userName") {
				t.Fatalf("scim-log: want a header and 3 rows:\n%s", all)
			}
			if strings.Index(all, "req-3") > strings.Index(all, "req-1") {
				t.Fatalf("not newest first:\n%s", all)
			}
			if out := c.ok("scim-log", "--tenant", "acme", "--status", "4xx"); !strings.Contains(out, "req-2") || strings.Contains(out, "req-1") || strings.Contains(out, "req-3") {
				t.Fatalf("--tenant acme --status 4xx:\n%s", out)
			}
			if out := c.ok("scim-log", "--limit", "1"); !strings.Contains(out, "req-3") || strings.Contains(out, "req-2") {
				t.Fatalf("--limit 1:\n%s", out)
			}
			var entries []map[string]any
			if err := json.Unmarshal([]byte(c.ok("scim-log", "--tenant", "acme", "--json")), &entries); err != nil || len(entries) != 2 {
				t.Fatalf("--json: %v %v", entries, err)
			}
			if entries[1]["requestBody"] != `{"userName":"a@acme.com","password":"[REDACTED]"}` || entries[0]["scimType"] != "uniqueness" {
				t.Fatalf("--json entries: %v", entries)
			}
			for _, tc := range []struct {
				args []string
				code int
				want string
			}{
				{[]string{"scim-log", "--status", "404"}, 2, "--status"},
				{[]string{"scim-log", "--limit", "0"}, 2, "--limit"},
				{[]string{"scim-log", "--tenant", "nope"}, 1, `no tenant "nope"`},
			} {
				code, _, errs := c.run("", tc.args...)
				if code != tc.code || !strings.Contains(errs, tc.want) {
					t.Errorf("%v: exit %d, %q; want exit %d naming %q", tc.args, code, errs, tc.code, tc.want)
				}
			}
		})
	}
}
