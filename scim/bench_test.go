package scim

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
)

// BenchmarkHotPath measures Okta's hot path through real HTTP against a seeded store:
// the userName existence check, user creation and PATCH deactivation, on every backend
// storetest offers, with 10k users (and 100k with OKTASYNC_BENCH_LARGE=1). It reports
// requests per second and the p50 and p99 latency of one request.
//
//	go test ./scim -run '^$' -bench HotPath -benchtime 2000x
func BenchmarkHotPath(b *testing.B) {
	sizes := []int{10_000}
	if os.Getenv("OKTASYNC_BENCH_LARGE") == "1" {
		sizes = append(sizes, 100_000)
	} else {
		b.Log("100k-user benchmarks skipped: set OKTASYNC_BENCH_LARGE=1 to run them")
	}
	for _, backend := range storetest.Backends(b) {
		b.Run(backend.Name, func(b *testing.B) {
			for _, n := range sizes {
				b.Run(fmt.Sprintf("users=%dk", n/1000), func(b *testing.B) {
					dbURL := backend.URL(b)
					st, err := appstore.Open(context.Background(), dbURL)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { st.Close() })
					start := time.Now()
					ids := seedUsers(b, st, n)
					analyze(b, backend.Name, dbURL)
					b.Logf("seeded %d users on %s in %s", n, backend.Name, time.Since(start).Round(time.Millisecond))
					e := newEnvOn(b, st)
					client := e.srv.Client()
					client.Transport.(*http.Transport).MaxIdleConnsPerHost = 16

					b.Run("lookup", func(b *testing.B) {
						measure(b, func(i int) (*http.Request, int) {
							// Okta's existence check, in another letter case than stored.
							name := strings.ToUpper(seedName(rand.IntN(n)))
							q := "filter=" + url.QueryEscape(`userName eq "`+name+`"`) + "&startIndex=1&count=100"
							return e.request("GET", "/Users?"+q, ""), http.StatusOK
						}, client)
					})
					var created atomic.Int64
					b.Run("create", func(b *testing.B) {
						measure(b, func(i int) (*http.Request, int) {
							k := created.Add(1)
							return e.request("POST", "/Users", oktaUserJSON(fmt.Sprintf("new%07d@example.com", k), "New", "User")), http.StatusCreated
						}, client)
					})
					b.Run("deactivate", func(b *testing.B) {
						measure(b, func(i int) (*http.Request, int) {
							id := ids[rand.IntN(len(ids))]
							return e.request("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`), http.StatusOK
						}, client)
					})
				})
			}
		})
	}
}

// measure sends b.N requests one after another, as one Okta connection does, and
// reports throughput and latency percentiles.
func measure(b *testing.B, next func(i int) (*http.Request, int), client *http.Client) {
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		req, want := next(i)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(t0))
		if resp.StatusCode != want {
			b.Fatalf("%s %s: status %d, want %d", req.Method, req.URL.Path, resp.StatusCode, want)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// request builds a request with Okta's headers.
func (e *testEnv) request(method, path, body string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.base+path, rd)
	req.Header.Set("User-Agent", oktaUA)
	req.Header.Set("Accept", "application/scim+json")
	req.Header.Set("Authorization", "Bearer "+e.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// analyze refreshes PostgreSQL's planner statistics after the bulk load, as autovacuum
// does within a minute of one: with the statistics of an empty table the planner picks
// a scan over the tenant's users even for primary-key lookups.
func analyze(b *testing.B, backend, dbURL string) {
	if backend != "postgres" {
		return
	}
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`ANALYZE`); err != nil {
		b.Fatal(err)
	}
}

func seedName(i int) string { return fmt.Sprintf("user%07d@example.com", i) }

// seedUsers creates n users through the store, in parallel on backends that write
// concurrently (PostgreSQL); SQLite takes one writer at a time anyway.
func seedUsers(b *testing.B, st appstore.Store, n int) []string {
	b.Helper()
	ctx := context.Background()
	workers := 1
	if st.Backend() == "postgres" {
		workers = 8
	}
	ids := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				name := seedName(i)
				u, err := st.CreateUser(ctx, appstore.User{
					TenantID: appstore.DefaultTenant, UserName: name, ExternalID: fmt.Sprintf("00u%07d", i), Active: true,
					Source: appstore.SourceSCIM,
					Attrs: map[string]any{
						"name":        map[string]any{"givenName": "Seed", "familyName": fmt.Sprint(i)},
						"displayName": "Seed " + fmt.Sprint(i),
						"emails":      []any{map[string]any{"value": name, "type": "work", "primary": true}},
						"locale":      "en-US",
					},
				})
				if err != nil {
					errs <- err
					return
				}
				ids[i] = u.ID
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatalf("seeding: %v", err)
	}
	return ids
}
