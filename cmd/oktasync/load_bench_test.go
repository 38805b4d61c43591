package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/scimload"
)

// BenchmarkServeOktaCreateLoad drives a running `oktasync serve` the way Okta's
// provisioning engine does when many users are assigned at once: concurrent clients
// each send the existence check (GET /Users?filter=userName eq "…") and then the create
// (POST /Users). It reports requests per second and client-side p50/p99 latency per
// request, on every backend storetest offers. b.N is the number of users created.
func BenchmarkServeOktaCreateLoad(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			createLoad(b, map[string]string{"OKTASYNC_DB": be.URL(b)})
		})
	}
}

// createLoad drives a serve started with vars as BenchmarkServeOktaCreateLoad says.
func createLoad(b *testing.B, vars map[string]string) {
	const clients = 50
	s := startServe(b, vars)
	scimURL, token := bootToken(b, s.stdout.String())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var next, failures atomic.Int64
	var mu sync.Mutex
	lat := make([]time.Duration, 0, 2*b.N)
	do := func(req *http.Request, want int) {
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("User-Agent", "Okta SCIM Client 1.0.0")
		start := time.Now()
		resp, err := client.Do(req)
		d := time.Since(start)
		if err != nil || resp.StatusCode != want {
			failures.Add(1)
		}
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		mu.Lock()
		lat = append(lat, d)
		mu.Unlock()
	}
	b.ResetTimer()
	began := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				name := fmt.Sprintf("load%d.%d@example.com", began.UnixNano()%100000, i)
				req, _ := http.NewRequest("GET", scimURL+"/Users?filter="+url.QueryEscape(`userName eq "`+name+`"`)+"&startIndex=1&count=100", nil)
				do(req, http.StatusOK)
				body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + name + `","name":{"givenName":"Load","familyName":"Test"},` +
					`"emails":[{"primary":true,"value":"` + name + `","type":"work"}],"active":true,"groups":[],"password":"x"}`
				req, _ = http.NewRequest("POST", scimURL+"/Users", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
				do(req, http.StatusCreated)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	b.StopTimer()
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d requests failed", n)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkSCIMLoadBulkSeeded runs cmd/scimload's mix (Okta's: 80% existence checks, 10%
// creates, 10% deactivations; 16 clients, 15 s) against a running `oktasync serve` whose
// store was filled in bulk with OKTASYNC_BENCH_USERS users (default 1,000,000) and never
// analyzed, on every backend. It is gated by OKTASYNC_BENCH_LARGE=1: the bulk load alone
// takes minutes.
func BenchmarkSCIMLoadBulkSeeded(b *testing.B) {
	if os.Getenv("OKTASYNC_BENCH_LARGE") != "1" {
		b.Skip("set OKTASYNC_BENCH_LARGE=1 to run the bulk-seeded load (minutes)")
	}
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("OKTASYNC_BENCH_USERS")); err == nil && v > 0 {
		n = v
	}
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			url := be.URL(b)
			st, err := appstore.Open(ctx, url)
			if err != nil {
				b.Fatal(err)
			}
			existing := make([]scimload.User, 0, n)
			began := time.Now()
			for start := 0; start < n; start += 50_000 {
				batch := make([]appstore.BulkUser, 0, 50_000)
				for i := start; i < min(start+50_000, n); i++ {
					name := fmt.Sprintf("bulk%07d@example.com", i)
					u := appstore.User{TenantID: appstore.DefaultTenant, UserName: name, Active: true, Source: appstore.SourceSCIM,
						Attrs: map[string]any{"displayName": "Bulk User", "emails": []any{map[string]any{"value": name, "primary": true, "type": "work"}}}}
					batch = append(batch, appstore.BulkUser{User: u})
				}
				if err := appstore.BulkInsertUsers(ctx, st, batch); err != nil {
					b.Fatal(err)
				}
				for _, u := range batch {
					existing = append(existing, scimload.User{ID: u.ID, UserName: u.UserName})
				}
			}
			st.Close()
			b.Logf("%s: bulk-loaded %d users in %s", be.Name, n, time.Since(began).Round(time.Second))
			s := startServe(b, map[string]string{"OKTASYNC_DB": url})
			scimURL, token := bootToken(b, s.stdout.String())
			for range b.N {
				rep, err := scimload.Run(ctx, scimload.Config{URL: scimURL, Token: token, Existing: existing, Clients: 16, Duration: 15 * time.Second})
				if err != nil {
					b.Fatal(err)
				}
				var out strings.Builder
				rep.Print(&out)
				b.Logf("%s, %d users:\n%s", be.Name, n, out.String())
				b.ReportMetric(rep.Total.PerSec, "req/s")
				b.ReportMetric(float64(rep.Ops[0].P99.Microseconds())/1000, "lookup-p99-ms")
				if rep.Total.Failures > 0 {
					b.Fatalf("%d failed requests: %v", rep.Total.Failures, rep.FirstErrors)
				}
			}
		})
	}
}
