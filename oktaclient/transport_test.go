package oktaclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// answer is one canned outcome of the fake base transport.
type answer struct {
	status int
	header http.Header
	err    error
}

// scripted is a base RoundTripper that replays answers and records request bodies.
type scripted struct {
	mu      sync.Mutex
	answers []answer
	bodies  []string
}

func (s *scripted) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var body string
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		body = string(b)
	}
	s.bodies = append(s.bodies, body)
	if len(s.answers) == 0 {
		return nil, errors.New("script exhausted")
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	if a.err != nil {
		return nil, a.err
	}
	h := a.header
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{
		StatusCode: a.status,
		Header:     h,
		Body:       io.NopCloser(strings.NewReader(`{}`)),
		Request:    req,
	}, nil
}

func newTestTransport(clk Clock, base http.RoundTripper, retries int) *transport {
	return &transport{
		base:           base,
		pacer:          newPacer(clk, 0.02, 500*time.Millisecond),
		clock:          clk,
		sem:            make(chan struct{}, 4),
		maxRetries:     retries,
		attemptTimeout: time.Minute,
		minBackoff:     250 * time.Millisecond,
		maxBackoff:     4 * time.Second,
		jitter:         func() float64 { return 0.5 },
	}
}

var (
	errDial = &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	errRead = &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
)

func TestTransportRetries(t *testing.T) {
	h429 := rateHeaders(100, 0, t0.Add(20*time.Second), t0)
	tests := []struct {
		name       string
		method     string
		retries    int
		answers    []answer
		wantStatus int // 0: an error is expected
		wantTries  int // requests that reached the base transport
		wantSleeps []time.Duration
	}{
		{"503s then success, GET", "GET", 6,
			[]answer{{status: 503}, {status: 503}, {status: 200}},
			200, 3, []time.Duration{187500 * time.Microsecond, 375 * time.Millisecond}},
		{"503 is retried for writes: not applied", "POST", 6,
			[]answer{{status: 503}, {status: 200}},
			200, 2, []time.Duration{187500 * time.Microsecond}},
		{"503 Retry-After honoured", "POST", 6,
			[]answer{{status: 503, header: http.Header{"Retry-After": {"3"}}}, {status: 200}},
			200, 2, []time.Duration{3 * time.Second}},
		{"500 on a write is not retried: it may have been applied", "POST", 6,
			[]answer{{status: 500}},
			500, 1, nil},
		{"500 and 502 on a read are retried", "GET", 6,
			[]answer{{status: 500}, {status: 502}, {status: 200}},
			200, 3, []time.Duration{187500 * time.Microsecond, 375 * time.Millisecond}},
		{"429 waits for the reset plus pad", "POST", 6,
			[]answer{{status: 429, header: h429}, {status: 200}},
			200, 2, []time.Duration{20*time.Second + 500*time.Millisecond}},
		{"429 without headers backs off", "POST", 6,
			[]answer{{status: 429}, {status: 200}},
			200, 2, []time.Duration{187500 * time.Microsecond}},
		{"retries are bounded", "GET", 2,
			[]answer{{status: 503}, {status: 503}, {status: 503}, {status: 200}},
			503, 3, []time.Duration{187500 * time.Microsecond, 375 * time.Millisecond}},
		{"backoff is capped", "GET", 6,
			[]answer{{status: 503}, {status: 503}, {status: 503}, {status: 503}, {status: 503}, {status: 503}, {status: 200}},
			200, 7, []time.Duration{187500 * time.Microsecond, 375 * time.Millisecond, 750 * time.Millisecond,
				1500 * time.Millisecond, 3 * time.Second, 3 * time.Second}},
		{"no retries configured", "GET", 0,
			[]answer{{status: 503}},
			503, 1, nil},
		{"dial failure is retried even for writes", "POST", 6,
			[]answer{{err: errDial}, {status: 201}},
			201, 2, []time.Duration{187500 * time.Microsecond}},
		{"broken connection on a write is not retried", "POST", 6,
			[]answer{{err: errRead}},
			0, 1, nil},
		{"broken connection on a read is retried", "GET", 6,
			[]answer{{err: errRead}, {status: 200}},
			200, 2, []time.Duration{187500 * time.Microsecond}},
		{"EOF on a write is not retried", "POST", 6,
			[]answer{{err: io.EOF}},
			0, 1, nil},
		{"404 is final", "GET", 6,
			[]answer{{status: 404}},
			404, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock(t0)
			base := &scripted{answers: tt.answers}
			tr := newTestTransport(clk, base, tt.retries)
			ctx, st := withCallState(context.Background())
			req, err := http.NewRequestWithContext(ctx, tt.method, "https://example.okta.com/api/v1/apps/0oa1/users/00u1", bytes.NewBufferString(`{"profile":{"a":1}}`))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tr.RoundTrip(req)
			switch {
			case tt.wantStatus == 0 && err == nil:
				t.Fatalf("got status %d, want an error", resp.StatusCode)
			case tt.wantStatus != 0 && err != nil:
				t.Fatalf("got error %v, want status %d", err, tt.wantStatus)
			case tt.wantStatus != 0 && resp.StatusCode != tt.wantStatus:
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if resp != nil {
				resp.Body.Close()
			}
			if len(base.bodies) != tt.wantTries {
				t.Errorf("tries = %d, want %d", len(base.bodies), tt.wantTries)
			}
			for i, b := range base.bodies {
				if b != `{"profile":{"a":1}}` {
					t.Errorf("try %d sent body %q", i, b)
				}
			}
			if got := clk.takeSleeps(); !equalDurations(got, tt.wantSleeps) {
				t.Errorf("sleeps = %v, want %v", got, tt.wantSleeps)
			}
			if _, _, attempts := st.snapshot(); attempts != tt.wantTries {
				t.Errorf("call state attempts = %d, want %d", attempts, tt.wantTries)
			}
			if err != nil && errors.Is(err, io.EOF) {
				t.Errorf("error %v unwraps to io.EOF; the SDK would retry it forever", err)
			}
		})
	}
}

func TestTransportGivesUpOn429RecordsReset(t *testing.T) {
	clk := newFakeClock(t0)
	reset := t0.Add(40 * time.Second)
	base := &scripted{answers: []answer{{status: 429, header: rateHeaders(100, 0, reset, t0)}}}
	tr := newTestTransport(clk, base, 0)
	ctx, st := withCallState(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", "https://example.okta.com/api/v1/apps/0oa1/users", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	status, retryAt, _ := st.snapshot()
	if status != 429 || !retryAt.Equal(reset.Add(500*time.Millisecond)) {
		t.Errorf("call state = %d, %v; want 429, %v", status, retryAt, reset.Add(500*time.Millisecond))
	}
}

func TestTransportBoundsConcurrency(t *testing.T) {
	const limit = 3
	var mu sync.Mutex
	inflight, peak := 0, 0
	release := make(chan struct{})
	base := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		inflight++
		peak = max(peak, inflight)
		mu.Unlock()
		<-release
		mu.Lock()
		inflight--
		mu.Unlock()
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(""))}, nil
	})
	tr := newTestTransport(newFakeClock(t0), base, 0)
	tr.sem = make(chan struct{}, limit)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", "https://example.okta.com/api/v1/users/00u1", nil)
			resp, err := tr.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
		})
	}
	for range 10 {
		release <- struct{}{}
	}
	wg.Wait()
	if peak > limit {
		t.Errorf("peak concurrency %d, want at most %d", peak, limit)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTransportObservesEveryAttempt: Observe sees each attempt, retries included, with
// its family, status (0 without an answer) and X-Rate-Limit-Remaining (-1 without one).
func TestTransportObservesEveryAttempt(t *testing.T) {
	clk := newFakeClock(t0)
	base := &scripted{answers: []answer{
		{err: errDial},
		{status: 429, header: rateHeaders(100, 0, t0.Add(time.Second), t0)},
		{status: 200, header: rateHeaders(100, 57, t0.Add(time.Minute), t0)},
	}}
	tr := newTestTransport(clk, base, 3)
	var seen []Attempt
	tr.observe = func(a Attempt) { seen = append(seen, a) }
	req, _ := http.NewRequest("GET", "https://example.okta.com/api/v1/apps/0oa1/users", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := []Attempt{{"apps", 0, -1}, {"apps", 429, 0}, {"apps", 200, 57}}
	if len(seen) != len(want) {
		t.Fatalf("observed %+v, want %+v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Errorf("attempt %d observed as %+v, want %+v", i+1, seen[i], want[i])
		}
	}
}
