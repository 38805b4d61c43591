package scim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
)

// bulkSeed stores n users with Okta-shaped attributes in tenant, in one transaction.
func bulkSeed(t testing.TB, st appstore.Store, tenant string, n int) {
	t.Helper()
	users := make([]appstore.BulkUser, n)
	for i := range users {
		name := fmt.Sprintf("storm%07d@%s.example.com", i, tenant)
		users[i].User = appstore.User{TenantID: tenant, UserName: name, Active: true, Source: appstore.SourceSCIM,
			Attrs: map[string]any{
				"name":        map[string]any{"givenName": "Storm", "familyName": strconv.Itoa(i)},
				"displayName": "Storm " + strconv.Itoa(i),
				"emails":      []any{map[string]any{"value": name, "type": "work", "primary": true}},
				"title":       "Engineer",
			}}
	}
	if err := appstore.BulkInsertUsers(context.Background(), st, users); err != nil {
		t.Fatalf("seed: %v", err)
	}
}

// costlyFilter is a filter of terms that each expand every user's emails array.
func costlyFilter(terms int) string {
	parts := make([]string, terms)
	for i := range parts {
		parts[i] = fmt.Sprintf(`emails[value co "nobody%d" or type co "none%d"]`, i, i)
	}
	return strings.Join(parts, " or ")
}

// A filter whose cost grows with every user times each term is refused with a 400 that
// says why, before it reaches the database; the filters Okta and Entra send are served.
func TestCostlyFilterRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.createUser("cheap@example.com")
		names := make([]string, 40)
		for i := range names {
			names[i] = fmt.Sprintf(`userName eq "u%d@example.com"`, i)
		}
		cases := []struct {
			filter string
			status int
		}{
			{`userName eq "cheap@example.com"`, 200},
			{`emails[type eq "work"].value eq "cheap@example.com"`, 200},
			{`externalId eq "x" or userName eq "cheap@example.com"`, 200},
			{strings.Join(names, " or "), 200},
			{costlyFilter(4), 200},
			{costlyFilter(5), 400},
			{costlyFilter(40), 400}, // the 1.7 KB filter that stalled a 62,000-user SQLite store
			{strings.Join(append(names, `title eq "x"`), " or "), 400},
		}
		for _, tc := range cases {
			r := e.do("GET", "/Users?filter="+url.QueryEscape(tc.filter), "")
			if r.status != tc.status {
				t.Errorf("%.80s…: status %d, want %d; %s", tc.filter, r.status, tc.status, r.body)
				continue
			}
			if tc.status == 400 {
				m := checkError(t, r, 400, "invalidFilter")
				if d := str(m, "detail"); !strings.Contains(d, "too costly") || !strings.Contains(d, "split it") {
					t.Errorf("detail does not say why: %q", d)
				}
			}
		}
	})
}

// A request still running at its deadline is cut off, its query interrupted (SQLite) or
// cancelled (PostgreSQL), and answers 503 with Retry-After; the store serves the next
// request as usual.
func TestRequestDeadlineInterruptsQuery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		st := b.Open(t)
		bulkSeed(t, st, appstore.DefaultTenant, 20000)
		e := newEnvOn(t, st, func(o *Options) { o.RequestTimeout = 20 * time.Millisecond })
		r := e.do("GET", "/Users?count=1000&filter="+url.QueryEscape(costlyFilter(4)), "")
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Fatalf("filter over 20,000 users with a 20ms deadline: %d (Retry-After %q); %s", r.status, r.header.Get("Retry-After"), r.body)
		}
		checkError(t, r, http.StatusServiceUnavailable, "")
		e2 := newEnvOn(t, st)
		e2.must(http.StatusOK, "GET", "/Users?filter="+url.QueryEscape(`userName eq "storm0000001@default.example.com"`), "")
	})
}

// BenchmarkFilterStorm measures what a storm of the costliest filters the server accepts,
// sent by one tenant, does to another tenant's existence checks (Okta's GET
// /Users?filter=userName eq). It reports the existence check's median and 95th
// percentile with the storm running and without it. OKTASYNC_BENCH_LARGE=1 seeds the
// storming tenant with 62,000 users (else 10,000).
func BenchmarkFilterStorm(b *testing.B) {
	n := 10000
	if os.Getenv("OKTASYNC_BENCH_LARGE") != "" {
		n = 62000
	}
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			st := be.Open(b)
			if _, err := st.CreateTenant(ctx, appstore.Tenant{ID: "storm", ProvisioningEnabled: true}); err != nil {
				b.Fatal(err)
			}
			bulkSeed(b, st, "storm", n)
			bulkSeed(b, st, appstore.DefaultTenant, 1000)
			_, stormToken, err := st.CreateToken(ctx, "storm")
			if err != nil {
				b.Fatal(err)
			}
			e := newEnvOn(b, st)
			check := func() time.Duration {
				start := time.Now()
				e.must(http.StatusOK, "GET", "/Users?filter="+url.QueryEscape(`userName eq "storm0000500@default.example.com"`)+"&startIndex=1&count=100", "")
				return time.Since(start)
			}
			// k checks 10ms apart, so that the sample spans the storm's queries.
			measure := func(k int) (p50, p95 time.Duration) {
				d := make([]time.Duration, k)
				for i := range d {
					d[i] = check()
					time.Sleep(10 * time.Millisecond)
				}
				slices.Sort(d)
				return d[k/2], d[k*95/100]
			}
			stormFilter := "/Users?count=100&filter=" + url.QueryEscape(costlyFilter(4))
			single := time.Now()
			e.must(http.StatusOK, "GET", stormFilter, "", hdr{"Authorization", "Bearer " + stormToken})
			b.Logf("%s: one storm filter over %d users takes %s", be.Name, n, time.Since(single).Round(time.Millisecond))
			b.ResetTimer()
			for b.Loop() {
				idle50, idle95 := measure(200)
				var stop atomic.Bool
				var storms atomic.Int64
				var wg sync.WaitGroup
				for range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for !stop.Load() {
							r := e.do("GET", stormFilter, "", hdr{"Authorization", "Bearer " + stormToken})
							if r.status != http.StatusOK && r.status != http.StatusServiceUnavailable {
								b.Errorf("storm filter: %d %s", r.status, r.body)
								return
							}
							storms.Add(1)
						}
					}()
				}
				time.Sleep(200 * time.Millisecond)
				storm50, storm95 := measure(200)
				stop.Store(true)
				wg.Wait()
				b.ReportMetric(float64(idle50.Microseconds())/1000, "idle-p50-ms")
				b.ReportMetric(float64(idle95.Microseconds())/1000, "idle-p95-ms")
				b.ReportMetric(float64(storm50.Microseconds())/1000, "storm-p50-ms")
				b.ReportMetric(float64(storm95.Microseconds())/1000, "storm-p95-ms")
				b.ReportMetric(float64(storms.Load()), "storm-requests")
			}
		})
	}
}
