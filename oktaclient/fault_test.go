package oktaclient_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/oktaclient"
	"github.com/oktasync/oktasync/oktasim"
)

// writeCounter counts, per app user, the profile updates the emulator answered 200,
// i.e. the ones it applied, and every status it answered.
type writeCounter struct {
	next    http.Handler
	mu      sync.Mutex
	applied map[string]int
	status  map[int]int
}

func newWriteCounter(next http.Handler) *writeCounter {
	return &writeCounter{next: next, applied: map[string]int{}, status: map[int]int{}}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (c *writeCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	c.next.ServeHTTP(rec, r)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status[rec.status]++
	// POST /api/v1/apps/{app}/users/{user}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if r.Method == http.MethodPost && len(parts) == 6 && parts[2] == "apps" && parts[4] == "users" && rec.status == http.StatusOK {
		c.applied[parts[5]]++
	}
}

// TestFaultsEveryUpdateAppliedOnce pushes 2,000 app-user profile updates through a 10%
// share of 503s and a forced 429 window: every update must succeed and be applied once.
func TestFaultsEveryUpdateAppliedOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("long fault run")
	}
	const (
		n       = 2000
		workers = 8
	)
	sim := oktasim.New(
		oktasim.WithSeed(7),
		// A one-second window with a tenth of Okta's per-minute app budget keeps the run
		// short while it still spends whole windows and paces within them.
		oktasim.WithRateLimitWindow(time.Second),
		oktasim.WithRateLimits(oktasim.RateLimits{oktasim.FamilyApps: 400}),
		oktasim.WithFaults(oktasim.Faults{ErrorRate: 0.10, ErrorStatuses: []int{http.StatusServiceUnavailable}}),
	)
	defer sim.Close()
	counter := newWriteCounter(sim.Handler())
	srv := httptest.NewServer(counter)
	defer srv.Close()

	ids := make([]string, n)
	for i := range ids {
		u, err := sim.CreateUser(map[string]any{
			"login": fmt.Sprintf("fault%04d@example.com", i), "email": fmt.Sprintf("fault%04d@example.com", i),
			"firstName": "Fault", "lastName": fmt.Sprint(i),
		}, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sim.AssignUser(sim.AppID(), u.ID, u.Profile["login"].(string), nil); err != nil {
			t.Fatal(err)
		}
		ids[i] = u.ID
	}

	c, err := oktaclient.New(oktaclient.Config{
		OrgURL: srv.URL, APIToken: sim.Token(), AppID: sim.AppID(),
		ResetPad: 50 * time.Millisecond, MaxBackoff: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var done atomic.Int64
	var forced sync.Once
	jobs := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				_, err := c.UpdateAppUser(ctx, ids[i], oktaclient.AppUserUpdate{Profile: map[string]any{"title": fmt.Sprintf("v2-%d", i)}})
				if err != nil {
					errs <- fmt.Errorf("update %d: %w", i, err)
				}
				// A quarter of the way in, Okta answers 429 to everything for 1.5s.
				if done.Add(1) == n/4 {
					forced.Do(func() { sim.Force429(1500 * time.Millisecond) })
				}
			}
		})
	}
	start := time.Now()
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	counter.mu.Lock()
	defer counter.mu.Unlock()
	t.Logf("%d updates in %v; answers by status: %v", n, time.Since(start).Round(time.Millisecond), counter.status)
	for i, id := range ids {
		if got := counter.applied[id]; got != 1 {
			t.Errorf("user %d: update applied %d times, want once", i, got)
		}
		au, err := sim.AppUser(sim.AppID(), id)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("v2-%d", i); au.Profile["title"] != want {
			t.Errorf("user %d: title %v, want %s", i, au.Profile["title"], want)
		}
	}
	if counter.status[http.StatusServiceUnavailable] == 0 || counter.status[http.StatusTooManyRequests] == 0 {
		t.Errorf("the run met no 503 or no 429 (%v): the faults were not exercised", counter.status)
	}
}

// TestFaultsRateLimitedPastDeadline checks that a 429 whose reset lies beyond the call's
// deadline ends the call with RateLimited and the reset time rather than a timeout, and
// that later calls of the family fail the same way without being sent.
func TestFaultsRateLimitedPastDeadline(t *testing.T) {
	sim := oktasim.New()
	defer sim.Close()
	counter := newWriteCounter(sim.Handler())
	srv := httptest.NewServer(counter)
	defer srv.Close()
	c, err := oktaclient.New(oktaclient.Config{OrgURL: srv.URL, APIToken: sim.Token(), AppID: sim.AppID()})
	if err != nil {
		t.Fatal(err)
	}
	sim.Force429(time.Hour)
	for i := range 2 {
		_, err = c.Check(context.Background())
		var e *errkind.Error
		if !errors.As(err, &e) || e.Kind != errkind.RateLimited {
			t.Fatalf("call %d: err = %v, want RateLimited", i, err)
		}
		if until := time.Until(e.RetryAfter); until < 59*time.Minute || until > 62*time.Minute {
			t.Errorf("call %d: RetryAfter in %v, want about an hour", i, until)
		}
	}
	counter.mu.Lock()
	defer counter.mu.Unlock()
	if n := counter.status[http.StatusTooManyRequests]; n != 1 {
		t.Errorf("%d requests answered 429, want 1: the second call should not be sent", n)
	}
}
