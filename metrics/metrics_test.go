package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func page(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestSeriesFollowTheHooks(t *testing.T) {
	m := New(Options{Version: "v1.2.3"})
	h := m.SCIM(func(p string) string { return "/Users" }, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "PATCH" {
			w.WriteHeader(http.StatusConflict)
		}
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, method := range []string{"GET", "PATCH", "BREW"} {
		req, _ := http.NewRequest(method, srv.URL+"/Users", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	m.AuthFailure(context.Background(), "invalid_credentials")
	m.Authenticated(context.Background(), "acme", "cred") // per-tenant is off: no series
	m.OktaAttempt("apps", 200, 99)
	m.OktaAttempt("apps", 429, 0)
	m.OktaAttempt("users-list", 0, -1)
	m.SyncRun("full", "partial", 7, 2*time.Second)
	m.MailAttempt(nil, false)
	m.MailAttempt(errors.New("busy"), false)
	m.MailAttempt(errors.New("no such mailbox"), true)
	m.MailQueue(func(context.Context) (int, error) { return 4, nil })

	got := page(t, m)
	for _, want := range []string{
		`oktasync_scim_requests_total{code="200",method="GET",route="/Users"} 1`,
		`oktasync_scim_requests_total{code="409",method="PATCH",route="/Users"} 1`,
		`oktasync_scim_requests_total{code="200",method="other",route="/Users"} 1`,
		`oktasync_scim_request_duration_seconds_count{method="GET",route="/Users"} 1`,
		`oktasync_scim_auth_failures_total{reason="invalid_credentials"} 1`,
		`oktasync_scim_auth_failures_total{reason="missing"} 0`,
		`oktasync_okta_requests_total{code="429",family="apps"} 1`,
		`oktasync_okta_requests_total{code="none",family="users-list"} 1`,
		`oktasync_okta_rate_limited_total{family="apps"} 1`,
		`oktasync_okta_rate_limit_remaining{family="apps"} 0`,
		`oktasync_sync_runs_total{mode="full",outcome="partial"} 1`,
		`oktasync_sync_users_processed_total{mode="full"} 7`,
		`oktasync_sync_run_duration_seconds_sum{mode="full"} 2`,
		`oktasync_mail_sent_total 1`,
		`oktasync_mail_send_failures_total 2`,
		`oktasync_mail_given_up_total 1`,
		`oktasync_mail_queue_depth 4`,
		`oktasync_build_info{goversion="`,
		`version="v1.2.3"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(got, `oktasync_okta_rate_limit_remaining{family="users-list"}`) {
		t.Error("an answer without X-Rate-Limit-Remaining set the gauge")
	}
	if strings.Contains(got, "acme") {
		t.Error("a tenant id is in /metrics with per-tenant counting off")
	}
}

func TestPerTenantCounter(t *testing.T) {
	m := New(Options{PerTenant: true})
	m.Authenticated(context.Background(), "acme", "cred")
	m.Authenticated(context.Background(), "acme", "cred")
	if got := page(t, m); !strings.Contains(got, `oktasync_scim_tenant_requests_total{tenant="acme"} 2`) {
		t.Errorf("per-tenant counter missing:\n%s", got)
	}
}
