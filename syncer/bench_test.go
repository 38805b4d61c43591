package syncer_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/oktaclient"
	"github.com/oktasync/oktasync/oktasim"
	"github.com/oktasync/oktasync/syncer"
)

// Benchmarks of the worker (see BENCHMARKS.md, "syncer"). They seed large data sets,
// so they run only with -bench; sizes can be changed with OKTASYNC_BENCH_N.

func benchN(def int) int {
	if v, err := strconv.Atoi(os.Getenv("OKTASYNC_BENCH_N")); err == nil && v > 0 {
		return v
	}
	return def
}

// seedLinked creates n Okta users assigned to the app and n app users linked to them,
// in agreement, with their sync snapshots: a tenant that is fully synchronised.
func seedLinked(b *testing.B, h *harness, n int) {
	b.Helper()
	start := time.Now()
	users := make([]appstore.BulkUser, 0, n)
	for i := 0; i < n; i++ {
		login := fmt.Sprintf("user%07d@example.com", i)
		ou, err := h.sim.CreateUser(map[string]any{"login": login, "email": login, "firstName": "First", "lastName": fmt.Sprintf("L%07d", i)}, true)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := h.sim.AssignUser(h.appID, ou.ID, login, nil); err != nil {
			b.Fatal(err)
		}
		users = append(users, appstore.BulkUser{
			User: appstore.User{TenantID: tenant, UserName: login, Active: true, OktaUserID: ou.ID, ExternalID: ou.ID, Source: appstore.SourceApp,
				Attrs: map[string]any{"name": map[string]any{"givenName": "First", "familyName": fmt.Sprintf("L%07d", i)},
					"emails": []any{map[string]any{"value": login, "type": "work", "primary": true}}}},
			Snapshot: map[string]any{syncer.KeyUserName: login, syncer.KeyActive: true, "givenName": "First", "familyName": fmt.Sprintf("L%07d", i), "email": login},
		})
	}
	if err := appstore.BulkInsertUsers(h.ctx, h.store, users); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d linked users in %s", n, time.Since(start).Round(time.Millisecond))
}

// BenchmarkIncrementalNoChange: an incremental sync of a synchronised tenant of 100k
// linked users must make no Okta request at all.
func BenchmarkIncrementalNoChange(b *testing.B) {
	n := benchN(100_000)
	h := newHarness(b, storetest.SQLite, harnessOpts{noPush: true})
	seedLinked(b, h, n)
	r0, w0 := h.calls.snapshot()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := h.syncer.Run(h.ctx, tenant, syncer.RunOptions{})
		if err != nil || rep.Run.Processed != 0 {
			b.Fatalf("run: %v processed %d", err, rep.Run.Processed)
		}
	}
	b.StopTimer()
	r, w := h.calls.snapshot()
	b.ReportMetric(float64(r-r0)/float64(b.N), "okta-reads/op")
	b.ReportMetric(float64(w-w0)/float64(b.N), "okta-writes/op")
	b.ReportMetric(float64(n), "users")
}

// BenchmarkFullDriftCheck: a full drift check of 100k AppUsers in agreement with the
// app: ceil(N/500) list calls, no write on either side.
func BenchmarkFullDriftCheck(b *testing.B) {
	n := benchN(100_000)
	h := newHarness(b, storetest.SQLite, harnessOpts{noPush: true, sim: []oktasim.Option{oktasim.WithRateLimitMultiplier(1000)}})
	seedLinked(b, h, n)
	lists0 := h.calls.count("GET /api/v1/apps/{id}/users")
	r0, w0 := h.calls.snapshot()
	var peak atomic.Uint64
	stop := sampleHeap(&peak)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := h.syncer.Run(h.ctx, tenant, syncer.RunOptions{Full: true})
		if err != nil || len(rep.Plan) != 0 {
			b.Fatalf("run: %v, %d actions (%v)", err, len(rep.Plan), rep.Run.Counts)
		}
	}
	b.StopTimer()
	stop()
	r, w := h.calls.snapshot()
	lists := h.calls.count("GET /api/v1/apps/{id}/users") - lists0
	b.ReportMetric(float64(lists)/float64(b.N), "list-calls/op")
	b.ReportMetric(float64(r-r0-lists)/float64(b.N), "other-reads/op")
	b.ReportMetric(float64(w-w0)/float64(b.N), "okta-writes/op")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
}

// BenchmarkPushEdits: 5,000 linked users edited in the app, pushed in one incremental
// run under a limit of L requests per window on the apps family (each user costs a
// GetAppUser and an UpdateAppUser). Okta's one-minute window is scaled down so a run
// takes seconds; the client's reset pad is scaled with it.
func BenchmarkPushEdits(b *testing.B) {
	n := benchN(5_000)
	const limit, window = 500, 2 * time.Second
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		h := newHarness(b, storetest.SQLite, harnessOpts{noPush: true, clientFn: func(c *oktaclient.Config) {
			c.ResetPad = window / 60
		}})
		seedLinked(b, h, n)
		page, err := h.store.ListUsers(h.ctx, tenant, appstore.Query{Count: -1})
		if err != nil {
			b.Fatal(err)
		}
		for _, u := range page.Items {
			h.appUpdate(u.ID, func(u *appstore.User) { u.Attrs["title"] = "edited" })
		}
		h.sim.SetRateLimits(oktasim.RateLimits{oktasim.FamilyApps: limit}, 1, window)
		r0, w0 := h.calls.snapshot()
		t429 := h.calls.statusCount(http.StatusTooManyRequests)
		b.StartTimer()
		start := time.Now()
		rep, err := h.syncer.Run(h.ctx, tenant, syncer.RunOptions{})
		elapsed := time.Since(start)
		b.StopTimer()
		if err != nil || rep.Run.Counts[syncer.ActOktaUpdate] != int64(n) {
			b.Fatalf("run: %v %v", err, rep.Run.Counts)
		}
		r, w := h.calls.snapshot()
		calls := float64(r - r0 + w - w0)
		rate := calls / elapsed.Seconds()
		lps := float64(limit) / window.Seconds()
		b.ReportMetric(calls, "apps-calls")
		b.ReportMetric(rate, "calls/s")
		b.ReportMetric(lps, "L/s")
		b.ReportMetric(rate/lps, "rate/L")
		b.ReportMetric(float64(h.calls.statusCount(http.StatusTooManyRequests)-t429), "429s")
	}
}

// sampleHeap records the peak HeapInuse every 10 ms until stop is called.
func sampleHeap(peak *atomic.Uint64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var ms runtime.MemStats
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

// BenchmarkFullReconcileMemory measures the peak memory (maximum resident set size, as
// the kernel reports it for the child process) of `oktasync sync --full` over N store
// users (1,000,000 by default; OKTASYNC_BENCH_N changes it) and N AppUsers. The
// AppUsers are served page by page by a small HTTP endpoint that generates them, since
// holding a million users in the emulator would measure the emulator; the real client
// and the real binary do the work. The store is seeded in bulk in one transaction.
func BenchmarkFullReconcileMemory(b *testing.B) {
	if os.Getenv("OKTASYNC_BENCH_1M") == "" {
		b.Skip("seeds a million users (minutes): set OKTASYNC_BENCH_1M=1 to run")
	}
	n := benchN(1_000_000)
	bin := oktasyncBinary(&testing.T{})
	dir := b.TempDir()
	dbURL := "sqlite:" + filepath.Join(dir, "big.db")
	ctx := context.Background()
	store, err := appstore.Open(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	start := time.Now()
	for lo := 0; lo < n; lo += 100_000 {
		var users []appstore.BulkUser
		for i := lo; i < min(lo+100_000, n); i++ {
			login := fmt.Sprintf("user%07d@example.com", i)
			id := fmt.Sprintf("00u%017d", i)
			users = append(users, appstore.BulkUser{
				User: appstore.User{TenantID: tenant, UserName: login, Active: true, OktaUserID: id, ExternalID: id, Source: appstore.SourceApp,
					Attrs: map[string]any{"name": map[string]any{"givenName": "First", "familyName": "Last"},
						"emails": []any{map[string]any{"value": login, "type": "work", "primary": true}}}},
				Snapshot: map[string]any{syncer.KeyUserName: login, syncer.KeyActive: true, "givenName": "First", "familyName": "Last", "email": login},
			})
		}
		if err := appstore.BulkInsertUsers(ctx, store, users); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded %d store users in %s", n, time.Since(start).Round(time.Second))

	var lists atomic.Int64
	okta := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lists.Add(1)
		after := -1
		if a := r.URL.Query().Get("after"); a != "" {
			after, _ = strconv.Atoi(a[3:])
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Rate-Limit-Limit", "100000")
		w.Header().Set("X-Rate-Limit-Remaining", "99999")
		w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10))
		var page []map[string]any
		for i := after + 1; i <= after+500 && i < n; i++ {
			login := fmt.Sprintf("user%07d@example.com", i)
			page = append(page, map[string]any{"id": fmt.Sprintf("00u%017d", i), "externalId": fmt.Sprintf("00u%017d", i), "scope": "USER", "status": "ACTIVE",
				"credentials": map[string]any{"userName": login}, "profile": map[string]any{"givenName": "First", "familyName": "Last", "email": login}})
		}
		if last := after + 500; last < n-1 {
			w.Header().Add("Link", fmt.Sprintf(`<http://%s%s?limit=500&after=00u%017d>; rel="next"`, r.Host, r.URL.Path, last))
		}
		json.NewEncoder(w).Encode(page)
	}))
	defer okta.Close()
	key := make([]byte, 32)
	sealed, _ := syncer.Seal(key, tenant, "bench-token")
	if _, err := store.SetOktaConnection(ctx, appstore.OktaConnection{TenantID: tenant, OrgURL: okta.URL, AppID: "0oabench", EncryptedToken: sealed}); err != nil {
		b.Fatal(err)
	}
	store.Close()
	// The peak is read by /usr/bin/time: the rusage of a child forked by this (large)
	// test process would count the parent's pages the child held before exec.
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		b.Skip("needs /usr/bin/time (GNU time) to read the child's peak RSS")
	}
	for i := 0; i < b.N; i++ {
		cmd := exec.Command("/usr/bin/time", "-f", "maxrss-kb=%M", bin, "sync", "--full", "--quiet", "--json")
		cmd.Env = append(os.Environ(), "OKTASYNC_DB="+dbURL, "OKTASYNC_SECRET_KEY="+base64.StdEncoding.EncodeToString(key))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		t0 := time.Now()
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("sync: %v\n%s%s", err, out, stderr.String())
		}
		var rep struct {
			Status    string           `json:"status"`
			Processed int64            `json:"processed"`
			Counts    map[string]int64 `json:"counts"`
		}
		json.Unmarshal(out, &rep)
		var kb int64
		if i := strings.LastIndex(stderr.String(), "maxrss-kb="); i >= 0 {
			fmt.Sscan(stderr.String()[i+len("maxrss-kb="):], &kb)
		}
		b.ReportMetric(float64(kb)/1024, "maxRSS-MB")
		b.ReportMetric(float64(lists.Load()), "list-calls")
		b.ReportMetric(time.Since(t0).Seconds(), "run-s")
		b.Logf("run: %s, %d users, %v in %s, max RSS %d MB, %d list calls", rep.Status, rep.Processed, rep.Counts, time.Since(t0).Round(time.Second), kb/1024, lists.Load())
		lists.Store(0)
	}
}
