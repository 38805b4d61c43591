package syncer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/requestid"
	"github.com/oktasync/oktasync/syncer"
)

func TestAdminAPI(t *testing.T) {
	h := newHarness(t, storetest.SQLite, harnessOpts{})
	h.appCreate("rae@example.com", "Rae", "Su", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	admin := &syncer.Admin{Syncer: h.syncer, Token: "s3cret-admin", BaseCtx: ctx}
	srv := httptest.NewServer(admin)
	defer srv.Close()

	do := func(method, path, token string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
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
	for _, tc := range []struct{ name, token string }{{"none", ""}, {"wrong", "s3cret-admiN"}, {"prefix", "s3cret"}} {
		if st, _ := do("POST", "/admin/v1/tenants/default/sync", tc.token); st != http.StatusUnauthorized {
			t.Errorf("token %s: status %d, want 401", tc.name, st)
		}
	}
	if st, _ := do("POST", "/admin/v1/tenants/nope/sync", "s3cret-admin"); st != http.StatusNotFound {
		t.Errorf("unknown tenant: %d", st)
	}

	// Another run holds the lock: 409.
	held, err := h.syncer.Begin(h.ctx, tenant, syncer.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st, body := do("POST", "/admin/v1/tenants/default/sync", "s3cret-admin"); st != http.StatusConflict {
		t.Errorf("while locked: %d %v", st, body)
	}
	held.Abandon(h.ctx, "test")

	st, body := do("POST", "/admin/v1/tenants/default/sync?full=true", "s3cret-admin")
	if st != http.StatusAccepted || body["id"] == nil || body["mode"] != "full" || body["trigger"] != "api" {
		t.Fatalf("start: %d %v", st, body)
	}
	loc := body["location"].(string)
	if want := fmt.Sprintf("/admin/v1/tenants/default/sync/%v", body["id"]); loc != want {
		t.Errorf("location %q, want %q", loc, want)
	}
	// Poll until the run finishes; the deadline only guards against a hang.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, body = do("GET", loc, "s3cret-admin")
		if st != http.StatusOK {
			t.Fatalf("get: %d %v", st, body)
		}
		if body["finished"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run never finished: %v", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	counts := body["counts"].(map[string]any)
	if body["status"] != "succeeded" || counts["okta.assign"] != float64(1) {
		t.Errorf("finished run %v", body)
	}
	if st, body := do("GET", "/admin/v1/tenants/default/sync", "s3cret-admin"); st != 200 || len(body["runs"].([]any)) != 2 {
		t.Errorf("list: %d %v", st, body)
	}
	if st, _ := do("GET", "/admin/v1/tenants/default/sync/99999", "s3cret-admin"); st != http.StatusNotFound {
		t.Errorf("unknown run: %d", st)
	}
	if st, _ := do("DELETE", "/admin/v1/tenants/default/sync", "s3cret-admin"); st != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d", st)
	}
	if st, _ := do("GET", "/admin/v1/other", "s3cret-admin"); st != http.StatusNotFound {
		t.Errorf("unknown path: %d", st)
	}
	if strings.Contains(fmt.Sprint(body), h.sim.Token()) {
		t.Error("API token in an admin response")
	}
	// An empty configured token refuses everything.
	off := httptest.NewServer(&syncer.Admin{Syncer: h.syncer})
	defer off.Close()
	req, _ := http.NewRequest("GET", off.URL+"/admin/v1/tenants/default/sync", nil)
	req.Header.Set("Authorization", "Bearer ")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("empty token configured: %d", resp.StatusCode)
	}
}

// TestAdminServerErrorNamesRequestID: an answer the server could not give (its database
// gone) names the request id, so that support can find the request's log lines.
func TestAdminServerErrorNamesRequestID(t *testing.T) {
	h := newHarness(t, storetest.SQLite, harnessOpts{})
	admin := &syncer.Admin{Syncer: h.syncer, Token: "s3cret-admin", BaseCtx: context.Background()}
	srv := httptest.NewServer(requestid.Middleware(admin))
	defer srv.Close()
	h.syncer.Store.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/admin/v1/tenants/default/sync", nil)
	req.Header.Set("Authorization", "Bearer s3cret-admin")
	req.Header.Set(requestid.Header, "adm-req-9")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Error string }
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode < 500 || !strings.Contains(body.Error, "adm-req-9") {
		t.Fatalf("status %d, error %q; want a 5xx naming the request id", resp.StatusCode, body.Error)
	}
}
