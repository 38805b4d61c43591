package oktaclient

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

func TestClassify(t *testing.T) {
	tests := []struct {
		method, path string
		want         family
	}{
		{"GET", "/api/v1/apps", famApps},
		{"GET", "/api/v1/apps/0oa1", famApps},
		{"GET", "/api/v1/apps/0oa1/users", famApps},
		{"POST", "/api/v1/apps/0oa1/users/00u1", famApps},
		{"DELETE", "/api/v1/apps/0oa1/users/00u1", famApps},
		{"GET", "/api/v1/users", famUsersList},
		{"GET", "/api/v1/users/", famUsersList},
		{"POST", "/api/v1/users", famUsersCreate},
		{"DELETE", "/api/v1/users", famOther},
		{"GET", "/api/v1/users/00u1", famUserItem},
		{"POST", "/api/v1/users/00u1/lifecycle/activate", famUserItem},
		{"GET", "/api/v1/groups", famGroups},
		{"PUT", "/api/v1/groups/00g1/users/00u1", famGroups},
		{"GET", "/api/v1/applications", famOther},
		{"GET", "/api/v1/usersx", famOther},
		{"GET", "/api/v1/logs", famOther},
		{"GET", "/", famOther},
	}
	for _, tt := range tests {
		if got := classify(tt.method, tt.path); got != tt.want {
			t.Errorf("classify(%s %s) = %v, want %v", tt.method, tt.path, got, tt.want)
		}
	}
}

// rateHeaders builds the headers Okta sends.
func rateHeaders(limit, remaining int, reset time.Time, date time.Time) http.Header {
	h := http.Header{}
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(limit))
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(remaining))
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(reset.Unix(), 10))
	if !date.IsZero() {
		h.Set("Date", date.UTC().Format(http.TimeFormat))
	}
	return h
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		name   string
		h      http.Header
		wantOK bool
		want   rateInfo
	}{
		{"complete", rateHeaders(600, 12, t0.Add(time.Minute), t0), true,
			rateInfo{limit: 600, remaining: 12, reset: t0.Add(time.Minute).Unix(), date: t0}},
		{"no date", rateHeaders(100, 0, t0, time.Time{}), true, rateInfo{limit: 100, remaining: 0, reset: t0.Unix()}},
		{"none", http.Header{}, false, rateInfo{}},
		{"garbage", http.Header{"X-Rate-Limit-Limit": {"x"}, "X-Rate-Limit-Remaining": {"1"}, "X-Rate-Limit-Reset": {"1"}}, false, rateInfo{}},
		{"zero limit", rateHeaders(0, 0, t0, t0), false, rateInfo{date: t0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseRate(tt.h)
			if ok != tt.wantOK || (ok && got != tt.want) {
				t.Errorf("parseRate = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// step is one request in a pacer scenario: the wait the pacer imposes before it, then
// the answer the server gives.
type step struct {
	fam       family
	wantWait  time.Duration // wait before the request may start
	remaining int           // X-Rate-Limit-Remaining of the answer; -1: no headers; -2: concurrency 429
	reset     time.Duration // reset of the answer, relative to t0
	serverLag time.Duration // server clock minus ours
}

func TestPacer(t *testing.T) {
	const limit = 100 // held back: 2 (2%)
	tests := []struct {
		name  string
		steps []step
	}{
		{"unknown bucket sends at once", []step{
			{famApps, 0, -1, 0, 0},
			{famApps, 0, -1, 0, 0},
		}},
		{"spreads the remaining budget over the window", []step{
			{famApps, 0, 50, 48 * time.Second, 0},           // 50 left, 2 held back: 48 over 48s
			{famApps, 0, 49, 48 * time.Second, 0},           // the first paced request starts at once
			{famApps, time.Second, 48, 48 * time.Second, 0}, // then one per second
			{famApps, 48 * time.Second / 47, 47, 48 * time.Second, 0},
		}},
		{"exhausted budget waits for the reset plus pad", []step{
			{famApps, 0, 2, 10 * time.Second, 0},
			{famApps, 10*time.Second + 500*time.Millisecond, 99, 70 * time.Second, 0},
			// after the roll the first answer sets a new pace: 70s-10.5s over 97
		}},
		{"429 answer (remaining 0) holds further requests", []step{
			{famApps, 0, 0, 30 * time.Second, 0},
			{famApps, 30*time.Second + 500*time.Millisecond, -1, 0, 0},
		}},
		{"families are paced apart", []step{
			{famApps, 0, 0, 30 * time.Second, 0},
			{famUserItem, 0, 500, 60 * time.Second, 0},
			{famUsersList, 0, -1, 0, 0},
		}},
		{"server clock ahead: reset read against its Date", []step{
			{famApps, 0, 2, 40 * time.Second, 30 * time.Second}, // reset is 10s away
			{famApps, 10*time.Second + 500*time.Millisecond, -1, 0, 0},
		}},
		{"concurrency 429 (other limit) leaves the window's budget alone", []step{
			{famApps, 0, 50, 48 * time.Second, 0},
			{famApps, 0, -2, 48 * time.Second, 0}, // limit 75, remaining 0, same reset
			{famApps, time.Second, -1, 0, 0},
		}},
		{"stale answer from an earlier window is ignored", []step{
			{famApps, 0, 50, 60 * time.Second, 0},
			{famApps, 0, 0, 0, 0}, // reset t0: a window already over
			{famApps, 60 * time.Second / 48, -1, 0, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock(t0)
			p := newPacer(clk, 0.02, 500*time.Millisecond)
			ctx := context.Background()
			for i, s := range tt.steps {
				before := clk.Now()
				if err := p.acquire(ctx, s.fam); err != nil {
					t.Fatalf("step %d: acquire: %v", i, err)
				}
				if got := clk.Now().Sub(before); got != s.wantWait {
					t.Errorf("step %d: waited %v, want %v", i, got, s.wantWait)
				}
				h := http.Header{}
				if s.remaining == -2 {
					h = rateHeaders(75, 0, t0.Add(s.reset), clk.Now())
				}
				if s.remaining >= 0 {
					now := clk.Now()
					h = rateHeaders(limit, s.remaining, t0.Add(s.reset), now.Add(s.serverLag))
				}
				p.observe(s.fam, h, clk.Now(), clk.Now())
			}
		})
	}
}

func TestPacerRollsIntoNextWindow(t *testing.T) {
	clk := newFakeClock(t0)
	p := newPacer(clk, 0.02, 0)
	ctx := context.Background()
	if err := p.acquire(ctx, famApps); err != nil {
		t.Fatal(err)
	}
	p.observe(famApps, rateHeaders(10, 1, t0.Add(5*time.Second), t0), t0, t0)
	// Budget spent (1 left = held back): the next request waits for the reset, and
	// requests of the new window go without pacing until an answer tells its reset.
	for i, want := range []time.Duration{5 * time.Second, 0, 0} {
		before := clk.Now()
		if err := p.acquire(ctx, famApps); err != nil {
			t.Fatal(err)
		}
		if got := clk.Now().Sub(before); got != want {
			t.Errorf("request %d waited %v, want %v", i, got, want)
		}
	}
}

func TestPacerCancelReleasesSlot(t *testing.T) {
	clk := newFakeClock(t0)
	p := newPacer(clk, 0.02, 0)
	p.observe(famApps, rateHeaders(100, 3, t0.Add(time.Minute), t0), t0, t0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.acquire(ctx, famApps); err == nil {
		t.Fatal("acquire with a cancelled context succeeded")
	}
	if got := p.buckets[famApps].inflight; got != 0 {
		t.Errorf("inflight after cancel = %d, want 0", got)
	}
}

func TestSkew(t *testing.T) {
	tests := []struct {
		name    string
		samples [][3]time.Duration // date, sent, recv relative to t0
		wantLo  time.Duration
	}{
		{"one sample", [][3]time.Duration{{0, 0, 100 * time.Millisecond}}, -100 * time.Millisecond},
		// The server's second ticked between 0.9 and 1.0 local: Date 1s seen at 1.0.
		{"converges on the tick", [][3]time.Duration{
			{0, 0, 100 * time.Millisecond},
			{time.Second, 900 * time.Millisecond, time.Second},
		}, 0},
		{"stepped clock restarts", [][3]time.Duration{
			{0, 0, 0},
			{time.Hour, time.Second, time.Second},
		}, time.Hour - time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s skew
			for _, smp := range tt.samples {
				s.observe(t0.Add(smp[0]), t0.Add(smp[1]), t0.Add(smp[2]))
			}
			if s.lo != tt.wantLo {
				t.Errorf("lo = %v, want %v", s.lo, tt.wantLo)
			}
		})
	}
}

// simServer is a model of Okta's fixed-window limiter on a fake clock.
type simServer struct {
	clk    *fakeClock
	limit  int
	window time.Duration
	skew   time.Duration // server clock minus client clock
	start  time.Time
	count  int
	served int
	denied int
}

func (s *simServer) answer() http.Header {
	now := s.clk.Now().Add(s.skew)
	start := now.Truncate(s.window)
	if !start.Equal(s.start) {
		s.start, s.count = start, 0
	}
	reset := start.Add(s.window)
	if s.count >= s.limit {
		s.denied++
		return rateHeaders(s.limit, 0, reset, now.Truncate(time.Second))
	}
	s.count++
	s.served++
	return rateHeaders(s.limit, s.limit-s.count, reset, now.Truncate(time.Second))
}

// TestPacerSimulatedRun runs a long serial workload against the model server: the pacer
// must draw no 429 and use at least 95% of the allowed rate.
func TestPacerSimulatedRun(t *testing.T) {
	tests := []struct {
		name   string
		limit  int
		window time.Duration
		skew   time.Duration
		rtt    time.Duration
	}{
		{"okta apps", 50, time.Minute, 0, 80 * time.Millisecond},
		{"okta users, skewed clock", 300, time.Minute, 7300 * time.Millisecond, 40 * time.Millisecond},
		{"fast emulator", 600, 10 * time.Second, 0, 2 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock(t0.Add(1234 * time.Millisecond))
			p := newPacer(clk, 0.02, 50*time.Millisecond)
			srv := &simServer{clk: clk, limit: tt.limit, window: tt.window, skew: tt.skew}
			ctx := context.Background()
			begin := clk.Now()
			for srv.served < tt.limit*10 {
				if err := p.acquire(ctx, famApps); err != nil {
					t.Fatal(err)
				}
				sent := clk.Now()
				clk.Advance(tt.rtt / 2)
				h := srv.answer()
				clk.Advance(tt.rtt / 2)
				p.observe(famApps, h, sent, clk.Now())
			}
			elapsed := clk.Now().Sub(begin)
			rate := float64(srv.served) / elapsed.Seconds()
			allowed := float64(tt.limit) / tt.window.Seconds()
			t.Logf("served %d in %v: %.1f%% of the limit, %d denied", srv.served, elapsed, 100*rate/allowed, srv.denied)
			if srv.denied != 0 {
				t.Errorf("%d requests drew a 429", srv.denied)
			}
			if rate < 0.95*allowed {
				t.Errorf("achieved %.2f req/s, want at least 95%% of %.2f", rate, allowed)
			}
		})
	}
}

func TestPacerFailsFastPastDeadline(t *testing.T) {
	clk := newFakeClock(t0)
	p := newPacer(clk, 0.02, 0)
	p.observe(famApps, rateHeaders(100, 0, t0.Add(time.Hour), t0), t0, t0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := p.acquire(ctx, famApps)
	var spent *budgetSpentError
	if !errors.As(err, &spent) || !spent.until.Equal(t0.Add(time.Hour)) {
		t.Fatalf("acquire = %v, want the budget spent until %v", err, t0.Add(time.Hour))
	}
	if got := clk.takeSleeps(); len(got) != 0 {
		t.Errorf("slept %v before failing", got)
	}
}
