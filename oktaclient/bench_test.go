package oktaclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/oktaclient"
	"github.com/oktasync/oktasync/oktasim"
)

// BenchmarkPacing runs a long paced workload against oktasim with the apps family
// limited to L requests per window, and reports the achieved rate as a share of L and the
// number of 429s drawn. Okta's one-minute window is scaled to ten seconds (and the reset
// pad with it) so one run takes forty seconds after up to ten seconds' wait for a window
// boundary; each benchmark iteration is one run.
//
//	go test -run '^$' -bench Pacing ./oktaclient
func BenchmarkPacing(b *testing.B) {
	const (
		window  = 10 * time.Second
		limit   = 1000 // L: requests per window, 100/s
		windows = 4
		workers = 8
	)
	for b.Loop() {
		sim := oktasim.New(
			oktasim.WithRateLimitWindow(window),
			oktasim.WithRateLimits(oktasim.RateLimits{oktasim.FamilyApps: limit}),
		)
		counter := newWriteCounter(sim.Handler())
		srv := httptest.NewServer(counter)
		u, err := sim.CreateUser(map[string]any{"login": "bench@example.com", "email": "bench@example.com", "firstName": "B", "lastName": "B"}, true)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sim.AssignUser(sim.AppID(), u.ID, "bench@example.com", nil); err != nil {
			b.Fatal(err)
		}
		c, err := oktaclient.New(oktaclient.Config{
			OrgURL: srv.URL, APIToken: sim.Token(), AppID: sim.AppID(),
			ResetPad: window / 60, // Okta's 1s pad, scaled
		})
		if err != nil {
			b.Fatal(err)
		}

		// Start on a window boundary so the run spans whole windows: a run begun late in a
		// window would get that window's full budget in a fraction of it and flatter the rate.
		time.Sleep(time.Until(time.Now().Truncate(window).Add(window)))
		ctx, cancel := context.WithTimeout(context.Background(), windows*window)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var ok, early, failed int
		start := time.Now()
		for range workers {
			wg.Go(func() {
				for ctx.Err() == nil {
					_, err := c.GetAppUser(ctx, u.ID)
					mu.Lock()
					switch {
					case err == nil:
						ok++
					case errors.Is(err, errkind.RateLimited):
						// The last window's budget is spent and its reset lies past
						// the run's deadline: the client says so instead of waiting.
						early++
					case ctx.Err() == nil:
						failed++
					}
					mu.Unlock()
					if err != nil && errors.Is(err, errkind.RateLimited) {
						return
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		cancel()
		srv.Close()
		sim.Close()

		counter.mu.Lock()
		served, limited := counter.status[http.StatusOK], counter.status[http.StatusTooManyRequests]
		counter.mu.Unlock()
		allowed := float64(limit) / window.Seconds()
		rate := float64(served) / elapsed.Seconds()
		b.ReportMetric(rate/allowed, "rate/L")
		b.ReportMetric(float64(limited), "429s")
		b.ReportMetric(rate, "req/s")
		b.Logf("L=%d per %v (%.0f/s): %d served in %v = %.1f/s (%.1f%% of L), %d 429s; calls: %d ok, %d refused at the end for want of budget, %d failed",
			limit, window, allowed, served, elapsed.Round(time.Millisecond), rate, 100*rate/allowed, limited, ok, early, failed)
		if failed > 0 {
			b.Errorf("%d calls failed", failed)
		}
	}
}
