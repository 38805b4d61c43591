package scimlog

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/scim"
)

// BenchmarkSCIMMix drives Okta's provisioning mix (80% userName existence checks, 10%
// creates, 10% PATCH activations and deactivations) concurrently through the real SCIM
// handler, with the request log on and off, over a freshly loaded database of 5000
// users on every backend. With the log on, the time includes writing every entry
// (the log is flushed before the clock stops).
//
//	go test ./scimlog -run '^$' -bench SCIMMix -benchtime 20000x
func BenchmarkSCIMMix(b *testing.B) {
	const users = 5000
	for _, backend := range storetest.Backends(b) {
		b.Run(backend.Name, func(b *testing.B) {
			for _, logOn := range []bool{false, true} {
				b.Run(map[bool]string{false: "log=off", true: "log=on"}[logOn], func(b *testing.B) {
					benchMix(b, backend, users, logOn)
				})
			}
		})
	}
}

func benchMix(b *testing.B, backend storetest.Backend, users int, logOn bool) {
	ctx := context.Background()
	st := backend.Open(b)
	if _, err := st.UpdateTenant(ctx, appstore.DefaultTenant, func(t *appstore.Tenant) error { t.ProvisioningEnabled = true; return nil }); err != nil {
		b.Fatal(err)
	}
	_, token, err := st.CreateToken(ctx, appstore.DefaultTenant)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, users)
	for i := range ids {
		name := fmt.Sprintf("seed%05d@example.com", i)
		u, err := st.CreateUser(ctx, appstore.User{TenantID: appstore.DefaultTenant, UserName: name, Active: true, Source: appstore.SourceSCIM,
			Attrs: map[string]any{"name": map[string]any{"givenName": "Seed", "familyName": fmt.Sprint(i)},
				"emails": []any{map[string]any{"value": name, "primary": true, "type": "work"}}}})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = u.ID
	}
	var h http.Handler = http.StripPrefix("/scim/v2", scim.New(st, scim.Options{OnAuthenticated: Authenticated}))
	var l *Log
	if logOn {
		l = New(st, Options{})
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { l.Run(rctx); close(done) }()
		b.Cleanup(func() { cancel(); <-done })
		h = l.Handler(h)
	}
	var created, failures atomic.Int64
	prefix := fmt.Sprintf("b%d", rand.Uint32())
	send := func(method, path, body string, want int) {
		var rd *strings.Reader
		if body == "" {
			rd = strings.NewReader("")
		} else {
			rd = strings.NewReader(body)
		}
		req := httptest.NewRequest(method, "http://scim.test/scim/v2"+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("User-Agent", "Okta SCIM Client 1.0.0")
		if body != "" {
			req.Header.Set("Content-Type", "application/scim+json")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != want {
			failures.Add(1)
		}
	}
	cpu0 := cpuTime()
	b.SetParallelism(4) // 4 clients per CPU, as an identity provider pushing in parallel
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			switch p := rand.IntN(100); {
			case p < 80:
				name := strings.ToUpper(fmt.Sprintf("seed%05d@example.com", rand.IntN(users)))
				send("GET", "/Users?filter="+url.QueryEscape(`userName eq "`+name+`"`)+"&startIndex=1&count=100", "", http.StatusOK)
			case p < 90:
				name := fmt.Sprintf("%s-%d@example.com", prefix, created.Add(1))
				send("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+name+
					`","name":{"givenName":"New","familyName":"User"},"emails":[{"primary":true,"value":"`+name+
					`","type":"work"}],"password":"Pa55word!","active":true}`, http.StatusCreated)
			default:
				send("PATCH", "/Users/"+ids[rand.IntN(users)], `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":`+
					fmt.Sprint(rand.IntN(2) == 0)+`}}]}`, http.StatusOK)
			}
		}
	})
	if l != nil {
		if err := l.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	// The process's CPU time per request (the handler's, the log writer's and, on
	// SQLite, the database's): steadier than req/s on a machine shared with other work.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d of %d requests got an unexpected status", n, b.N)
	}
	if l != nil && l.Dropped() > 0 {
		b.Logf("%d log entries dropped", l.Dropped())
	}
}
