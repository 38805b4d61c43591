package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/oktasim"
)

const testKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // base64 of bytes 0..31

// TestSyncCLI walks the sync commands against an emulated Okta org: connection set up
// (token from standard input, stored encrypted), checked, mapping shown, a dry run, a
// real run, and the history.
func TestSyncCLI(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "cli.db")
	c := newCLI(t, "sqlite:"+dbPath)
	sim := oktasim.NewServer(oktasim.WithAppLabel("Acme App"))
	defer sim.Close()

	code, _, errs := c.run(sim.Token+"\n", "tenant", "okta", "set", "--org-url", sim.URL, "--app-id", sim.AppID)
	if code != 1 || !strings.Contains(errs, "refusing to store the Okta API token without encryption") {
		t.Fatalf("without a key: exit %d: %s", code, errs)
	}
	c.env["OKTASYNC_SECRET_KEY"] = testKey
	if code, _, errs := c.run("", "tenant", "okta", "set", "--org-url", sim.URL, "--app-id", sim.AppID); code != 2 || !strings.Contains(errs, "no Okta API token") {
		t.Fatalf("without a token: exit %d: %s", code, errs)
	}
	if code, _, errs := c.run(sim.Token+"\n", "tenant", "okta", "set", "--org-url", sim.URL, "--app-id", sim.AppID, "--conflict", "sometimes"); code != 2 || !strings.Contains(errs, "sync.conflict") {
		t.Fatalf("bad policy: exit %d: %s", code, errs)
	}
	code, out, errs := c.run(sim.Token+"\n", "tenant", "okta", "set", "--org-url", sim.URL, "--app-id", sim.AppID, "--schedule", "*/5 * * * *", "--conflict", "app-wins")
	if code != 0 || !strings.Contains(out, "stored encrypted") || !strings.Contains(out, "*/5 * * * *") || !strings.Contains(out, "app-wins") {
		t.Fatalf("set: exit %d\n%s%s", code, out, errs)
	}
	show := c.ok("tenant", "okta", "show")
	if strings.Contains(show+out, sim.Token) || !strings.Contains(show, sim.AppID) {
		t.Errorf("show: %s", show)
	}
	raw, _ := os.ReadFile(dbPath)
	wal, _ := os.ReadFile(dbPath + "-wal")
	if strings.Contains(string(raw)+string(wal), sim.Token) || strings.Contains(string(raw)+string(wal), base64.StdEncoding.EncodeToString([]byte(sim.Token))) {
		t.Error("the API token is stored in clear in the database")
	}
	test := c.ok("tenant", "okta", "test")
	if !strings.Contains(test, "OK:") || !strings.Contains(test, "Acme App") || !strings.Contains(test, "ACTIVE") {
		t.Errorf("test: %s", test)
	}
	pol := c.ok("tenant", "okta", "policy", "--deactivate", "ignore")
	if !strings.Contains(pol, "ignore") || !strings.Contains(pol, "app-wins") {
		t.Errorf("policy: %s", pol)
	}

	c.ok("tenant", "attributes", "add", "badge")
	mapping := c.ok("tenant", "mapping", "show")
	for _, want := range []string{"name.givenName", "givenName", "credentials.userName", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "badge", "custom attribute"} {
		if !strings.Contains(mapping, want) {
			t.Errorf("mapping lacks %q:\n%s", want, mapping)
		}
	}

	c.ok("users", "create", "zoe@example.com", "--given-name", "Zoe", "--family-name", "Xu", "--email", "zoe@example.com", "--attr", "badge=Z1")
	dry := c.ok("sync", "--dry-run")
	if !strings.Contains(dry, "Plan (dry run") || !strings.Contains(dry, "okta.create-user") || !strings.Contains(dry, "zoe@example.com") {
		t.Errorf("dry run output:\n%s", dry)
	}
	if len(sim.Sim.Users()) != 0 {
		t.Fatal("dry run created an Okta user")
	}
	real := c.ok("sync")
	if !strings.Contains(real, "succeeded") || !strings.Contains(real, "okta.assign") {
		t.Errorf("sync output:\n%s", real)
	}
	aus := sim.Sim.AppUsers(sim.AppID)
	if len(aus) != 1 || aus[0].UserName != "zoe@example.com" || aus[0].Profile["badge"] != "Z1" {
		t.Fatalf("AppUsers after sync: %+v", aus)
	}
	var rep struct {
		Status string           `json:"status"`
		Mode   string           `json:"mode"`
		Counts map[string]int64 `json:"counts"`
	}
	if err := json.Unmarshal([]byte(c.ok("sync", "--full", "--json")), &rep); err != nil || rep.Status != "succeeded" || rep.Mode != "full" {
		t.Errorf("json report %+v %v", rep, err)
	}
	hist := c.ok("sync", "history")
	if strings.Count(hist, "\n") < 4 || !strings.Contains(hist, "dry run") || !strings.Contains(hist, "okta.assign=1") {
		t.Errorf("history:\n%s", hist)
	}
	if code, _, errs := c.run("", "sync", "--tenant", "nope"); code != 1 || !strings.Contains(errs, `no tenant "nope"`) {
		t.Errorf("unknown tenant: %d %s", code, errs)
	}
	c.ok("tenant", "create", "bare")
	if code, _, errs := c.run("", "sync", "--tenant", "bare"); code != 1 || !strings.Contains(errs, "has no Okta connection") {
		t.Errorf("tenant without connection: %d %s", code, errs)
	}
}

// TestServeAdminSync: serve mounts the admin API behind OKTASYNC_ADMIN_TOKEN; a run
// started there pushes an app user into Okta, and Okta's push links back into serve.
func TestServeAdminSync(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "serve.db")
	s := startServe(t, map[string]string{"OKTASYNC_DB": dbURL, "OKTASYNC_ADMIN_TOKEN": "adm1n-token", "OKTASYNC_SECRET_KEY": testKey})
	scimURL, scimToken := bootToken(t, s.stdout.String())
	sim := oktasim.NewServer()
	defer sim.Close()
	sim.Sim.SetSCIMConnection(oktasim.SCIMConnection{BaseURL: scimURL, Token: scimToken, CreateUsers: true, UpdateUsers: true, DeactivateUsers: true})
	c := newCLI(t, dbURL)
	c.env["OKTASYNC_SECRET_KEY"] = testKey
	c.env[OktaTokenEnv] = sim.Token
	c.ok("tenant", "okta", "set", "--org-url", sim.URL, "--app-id", sim.AppID)
	c.ok("users", "create", "yan@example.com", "--given-name", "Yan", "--family-name", "Wu", "--email", "yan@example.com")

	post := func(token string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", "http://"+s.addr+"/admin/v1/tenants/default/sync", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	if code, _ := post(""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
	code, body := post("adm1n-token")
	if code != http.StatusAccepted {
		t.Fatalf("start: %d %v", code, body)
	}
	loc := body["location"].(string)
	deadline := time.Now().Add(30 * time.Second) // guards against a hang only
	for {
		req, _ := http.NewRequest("GET", "http://"+s.addr+loc, nil)
		req.Header.Set("Authorization", "Bearer adm1n-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body = map[string]any{}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if body["finished"] != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if body["status"] != "succeeded" {
		t.Fatalf("run %v", body)
	}
	aus := sim.Sim.AppUsers(sim.AppID)
	if len(aus) != 1 || aus[0].UserName != "yan@example.com" {
		t.Errorf("AppUsers %+v", aus)
	}
	// The run and its Okta calls are on /metrics.
	m := scrape(t, "http://"+s.addr+"/metrics")
	for series, want := range map[string]float64{
		`oktasync_sync_runs_total{mode="incremental",outcome="succeeded"}`: 1,
		`oktasync_sync_users_processed_total{mode="incremental"}`:          1,
		`oktasync_sync_run_duration_seconds_count{mode="incremental"}`:     1,
	} {
		if m[series] != want {
			t.Errorf("%s = %v, want %v", series, m[series], want)
		}
	}
	calls := 0.0
	for k, v := range m {
		if strings.HasPrefix(k, `oktasync_okta_requests_total{code="2`) {
			calls += v
		}
	}
	if calls == 0 {
		t.Errorf("no successful Okta API call counted")
	}
	if _, ok := m[`oktasync_okta_rate_limit_remaining{family="apps"}`]; !ok {
		t.Errorf("no X-Rate-Limit-Remaining recorded for the apps family")
	}
}
