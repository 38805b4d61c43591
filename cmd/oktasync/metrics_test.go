package main

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/requestid"
)

// scrape reads a /metrics page into series ("name{labels}" as exposed) and values.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad metrics line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// scimGet sends one SCIM request with the given Authorization and returns the answer.
func scimGet(t *testing.T, url, auth, reqID string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if reqID != "" {
		req.Header.Set(requestid.Header, reqID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// TestMetricsAfterTraffic reads /metrics before and after SCIM traffic, on both
// backends, and checks that each series the traffic touches moved.
func TestMetricsAfterTraffic(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := startServe(t, map[string]string{"OKTASYNC_DB": b.URL(t)})
			scimURL, token := bootToken(t, s.stdout.String())
			before := scrape(t, "http://"+s.addr+"/metrics")
			ok200 := `oktasync_scim_requests_total{code="200",method="GET",route="/Users"}`
			for range 3 {
				if resp, body := scimGet(t, scimURL+"/Users?filter="+`userName%20eq%20"nobody"`, "Bearer "+token, ""); resp.StatusCode != 200 {
					t.Fatalf("lookup: %d %s", resp.StatusCode, body)
				}
			}
			scimGet(t, scimURL+"/Users", "", "")
			scimGet(t, scimURL+"/Users/abc", "Bearer oks_0123456789_wrong", "")
			scimGet(t, scimURL+"/Users", "Digest x", "")
			after := scrape(t, "http://"+s.addr+"/metrics")

			moved := []struct {
				series string
				by     float64
			}{
				{ok200, 3},
				{`oktasync_scim_request_duration_seconds_count{method="GET",route="/Users"}`, 5},
				{`oktasync_scim_requests_total{code="401",method="GET",route="/Users/{id}"}`, 1},
				{`oktasync_scim_auth_failures_total{reason="missing"}`, 1},
				{`oktasync_scim_auth_failures_total{reason="invalid_credentials"}`, 1},
				{`oktasync_scim_auth_failures_total{reason="unsupported_scheme"}`, 1},
				{`oktasync_scim_auth_failures_total{reason="tenant_disabled"}`, 0},
			}
			for _, m := range moved {
				if got := after[m.series] - before[m.series]; got != m.by {
					t.Errorf("%s moved by %v, want %v", m.series, got, m.by)
				}
			}
			present := []string{
				`go_sql_max_open_connections{db_name="` + b.Name + `"}`,
				`oktasync_mail_queue_depth`,
				`go_goroutines`,
				`process_resident_memory_bytes`,
				`oktasync_build_info{goversion="` + strings.Fields(runtimeVersion())[0] + `",version="dev"}`,
			}
			if b.Name == "sqlite" { // its readers are a pool of their own
				present = append(present, `go_sql_max_open_connections{db_name="sqlite_readers"}`)
			}
			for _, present := range present {
				if _, ok := after[present]; !ok {
					t.Errorf("/metrics lacks %s", present)
				}
			}
			for k := range after {
				if strings.Contains(k, "tenant=") || strings.Contains(k, token) {
					t.Errorf("series %s names a tenant or token without OKTASYNC_METRICS_PER_TENANT", k)
				}
			}
		})
	}
}

// TestMetricsPerTenantAndOwnListener: OKTASYNC_METRICS_LISTEN moves /metrics off the
// main listener; OKTASYNC_METRICS_PER_TENANT adds the per-tenant counter; the mail queue
// depth follows invitations queued by SCIM creates.
func TestMetricsPerTenantAndOwnListener(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	maddr := freeAddr(t)
	s := startServe(t, map[string]string{"OKTASYNC_DB": dbURL, "OKTASYNC_METRICS_LISTEN": maddr, "OKTASYNC_METRICS_PER_TENANT": "true"})
	scimURL, token := bootToken(t, s.stdout.String())
	if resp, _ := scimGet(t, "http://"+s.addr+"/metrics", "", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("main listener /metrics: %d, want 404 with OKTASYNC_METRICS_LISTEN set", resp.StatusCode)
	}
	if resp, _ := scimGet(t, "http://"+s.addr+"/debug/pprof/", "", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("main listener /debug/pprof/: %d, want 404", resp.StatusCode)
	}
	if resp, _ := scimGet(t, "http://"+maddr+"/debug/pprof/", "", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("metrics listener /debug/pprof/: %d, want 200", resp.StatusCode)
	}
	newCLI(t, dbURL).ok("tenant", "set", "default", "--invite-users", "true")
	scimGet(t, scimURL+"/Users", "Bearer "+token, "")
	req, _ := http.NewRequest("POST", scimURL+"/Users", strings.NewReader(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"mia@example.com","emails":[{"value":"mia@example.com","primary":true}],"active":true}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %v %v", resp, err)
	}
	resp.Body.Close()
	m := scrape(t, "http://"+maddr+"/metrics")
	if got := m[`oktasync_scim_tenant_requests_total{tenant="default"}`]; got != 2 {
		t.Errorf("per-tenant requests = %v, want 2", got)
	}
	if got := m[`oktasync_scim_requests_total{code="201",method="POST",route="/Users"}`]; got != 1 {
		t.Errorf("creates = %v, want 1", got)
	}
	if got := m["oktasync_mail_queue_depth"]; got != 1 {
		t.Errorf("mail queue depth = %v, want 1 (the invitation, no SMTP server set)", got)
	}
}

// TestRequestIDs: every answer carries X-Request-Id (the client's when sane), and a 500
// names it in its detail and in the log line of the failure.
func TestRequestIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	s := startServe(t, map[string]string{"OKTASYNC_DB": "sqlite:" + path, "OKTASYNC_LOG_LEVEL": "debug", "OKTASYNC_LOG_FORMAT": "json"})
	scimURL, token := bootToken(t, s.stdout.String())
	resp, _ := scimGet(t, scimURL+"/Users", "Bearer "+token, "client-id-1")
	if got := resp.Header.Get(requestid.Header); got != "client-id-1" {
		t.Errorf("sane client id answered as %q", got)
	}
	resp, _ = scimGet(t, scimURL+"/Users", "Bearer "+token, "bad id with spaces")
	made := resp.Header.Get(requestid.Header)
	if made == "" || made == "bad id with spaces" || !requestid.Sane(made) {
		t.Errorf("insane client id answered as %q", made)
	}
	if resp, _ := scimGet(t, "http://"+s.addr+"/healthz", "", ""); resp.Header.Get(requestid.Header) == "" {
		t.Error("/healthz answer has no request id")
	}

	// Break the database under the server: every user query now fails.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`ALTER TABLE users RENAME TO users_gone`); err != nil {
		t.Fatal(err)
	}
	resp, body := scimGet(t, scimURL+"/Users?filter="+`userName%20eq%20"x"`, "Bearer "+token, "support-me-42")
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("broken database: %d %s", resp.StatusCode, body)
	}
	var e struct{ Detail string }
	json.Unmarshal([]byte(body), &e)
	if !strings.Contains(e.Detail, "support-me-42") {
		t.Errorf("500 detail %q does not name the request id", e.Detail)
	}
	var failure, access bool
	for _, line := range strings.Split(s.stderr.String(), "\n") {
		if !strings.Contains(line, `"request_id":"support-me-42"`) {
			continue
		}
		failure = failure || strings.Contains(line, "scim: request failed")
		access = access || strings.Contains(line, `"msg":"request"`)
	}
	if !failure || !access {
		t.Errorf("log lines of the failed request lack its id (failure %v, access %v):\n%s", failure, access, s.stderr.String())
	}
}

func runtimeVersion() string { return goruntime.Version() }
