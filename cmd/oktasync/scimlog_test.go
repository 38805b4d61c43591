package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

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
