package oktaclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// transport is the http.RoundTripper under the SDK. It paces requests per endpoint
// family, bounds concurrency, and retries 429 and transient failures when that is safe.
//
// Retries live here rather than in the SDK because the SDK retries only 429, reads only
// the reset header, and loses the response after its last try; its own retry loop is
// switched off (WithRateLimitMaxRetries(0)) so attempts do not multiply.
type transport struct {
	base           http.RoundTripper
	pacer          *pacer
	clock          Clock
	sem            chan struct{} // bounds requests in flight; Okta allows ~75 per org
	maxRetries     int
	attemptTimeout time.Duration
	minBackoff     time.Duration
	maxBackoff     time.Duration
	jitter         func() float64 // in [0,1); injectable so backoff is testable
	observe        func(Attempt)  // Config.Observe
}

// callState lets the wrapper learn what happened below the SDK during one call: the SDK
// drops the response of a 429 it gives up on, and with it the reset time.
type callState struct {
	mu       sync.Mutex
	attempts int
	status   int       // status of the last response, 0 if the last attempt got none
	retryAt  time.Time // after a 429: when the window reopens; zero if unknown
}

type callStateKey struct{}

// withCallState returns a context carrying a fresh callState for one API call.
func withCallState(ctx context.Context) (context.Context, *callState) {
	st := &callState{}
	return context.WithValue(ctx, callStateKey{}, st), st
}

func callStateFrom(ctx context.Context) *callState {
	st, _ := ctx.Value(callStateKey{}).(*callState)
	return st
}

func (st *callState) record(status int, retryAt time.Time) {
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.attempts++
	st.status = status
	st.retryAt = retryAt
}

// snapshot returns the last status and retry time.
func (st *callState) snapshot() (status int, retryAt time.Time, attempts int) {
	if st == nil {
		return 0, time.Time{}, 0
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.status, st.retryAt, st.attempts
}

// roundTripError is a failure to get any HTTP answer.
type roundTripError struct {
	Method, Path string
	Attempts     int
	Err          error
}

func (e *roundTripError) Error() string {
	return fmt.Sprintf("%s %s: no answer after %d attempt(s): %v", e.Method, e.Path, e.Attempts, e.Err)
}

// Unwrap exposes the cause, except io.EOF: the SDK retries an EOF at once and without
// counting, looping until its request timeout, so an EOF must not be visible to it.
func (e *roundTripError) Unwrap() error {
	if errors.Is(e.Err, io.EOF) {
		return nil
	}
	return e.Err
}

// Timeout reports whether the cause was a timeout, as net.Error does.
func (e *roundTripError) Timeout() bool {
	var ne net.Error
	return errors.Is(e.Err, context.DeadlineExceeded) || (errors.As(e.Err, &ne) && ne.Timeout())
}

// Temporary is part of net.Error; every failure to get an answer may pass.
func (e *roundTripError) Temporary() bool { return true }

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	st := callStateFrom(ctx)
	fam := classify(req.Method, req.URL.Path)
	getBody, err := bodyFactory(req)
	if err != nil {
		return nil, &roundTripError{Method: req.Method, Path: req.URL.Path, Err: err}
	}
	// Only reads may be repeated after an ambiguous failure: a write that timed out or
	// got a 500 may have been applied, and repeating it would apply it twice.
	idempotent := req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == http.MethodOptions

	for attempt := 0; ; attempt++ {
		resp, err := t.try(ctx, req, fam, getBody)
		last := attempt >= t.maxRetries
		var wait time.Duration
		switch {
		case err != nil:
			var spent *budgetSpentError
			if errors.As(err, &spent) {
				// Not sent at all, for want of budget: report it as Okta would have.
				st.record(http.StatusTooManyRequests, spent.until)
				return nil, &roundTripError{Method: req.Method, Path: req.URL.Path, Attempts: attempt, Err: err}
			}
			st.record(0, time.Time{})
			if ctx.Err() != nil || last || !(idempotent || notSent(err)) {
				return nil, &roundTripError{Method: req.Method, Path: req.URL.Path, Attempts: attempt + 1, Err: err}
			}
			wait = t.backoff(attempt)

		case resp.StatusCode == http.StatusTooManyRequests:
			// A 429 means the request was not applied, so any method may be retried.
			now := t.clock.Now()
			at, ok := t.pacer.retryAt(resp.Header)
			if ok {
				wait = max(0, at.Sub(now))
			} else {
				wait = t.backoff(attempt)
				at = now.Add(wait)
			}
			st.record(resp.StatusCode, at)
			if last || !fitsDeadline(ctx, wait) {
				return resp, nil
			}
			drain(resp)

		case resp.StatusCode == http.StatusServiceUnavailable ||
			idempotent && (resp.StatusCode == http.StatusInternalServerError ||
				resp.StatusCode == http.StatusBadGateway ||
				resp.StatusCode == http.StatusGatewayTimeout):
			// A 503 is an answer from a server that did not take the request on.
			st.record(resp.StatusCode, time.Time{})
			wait = t.backoff(attempt)
			if d, ok := retryAfter(resp.Header); ok && resp.StatusCode == http.StatusServiceUnavailable {
				wait = d
			}
			if last || !fitsDeadline(ctx, wait) {
				return resp, nil
			}
			drain(resp)

		default:
			st.record(resp.StatusCode, time.Time{})
			return resp, nil
		}
		if err := t.clock.Sleep(ctx, wait); err != nil {
			return nil, &roundTripError{Method: req.Method, Path: req.URL.Path, Attempts: attempt + 1, Err: err}
		}
	}
}

// try makes one paced attempt.
func (t *transport) try(ctx context.Context, req *http.Request, fam family, getBody func() io.ReadCloser) (*http.Response, error) {
	if err := t.pacer.acquire(ctx, fam); err != nil {
		return nil, err
	}
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		t.pacer.release(fam)
		return nil, ctx.Err()
	}
	actx, cancel := context.WithTimeout(ctx, t.attemptTimeout)
	r := req.Clone(actx)
	if getBody != nil {
		r.Body = getBody()
	}
	sent := t.clock.Now()
	resp, err := t.base.RoundTrip(r)
	<-t.sem
	t.observeAttempt(fam, resp)
	if err != nil {
		cancel()
		t.pacer.release(fam)
		return nil, err
	}
	t.pacer.observe(fam, resp.Header, sent, t.clock.Now())
	// The attempt's deadline must cover reading the body, which the SDK does later.
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// observeAttempt reports one attempt to the Observe hook.
func (t *transport) observeAttempt(fam family, resp *http.Response) {
	if t.observe == nil {
		return
	}
	a := Attempt{Family: fam.String(), Remaining: -1}
	if resp != nil {
		a.Status = resp.StatusCode
		if n, err := strconv.Atoi(resp.Header.Get("X-Rate-Limit-Remaining")); err == nil {
			a.Remaining = n
		}
	}
	t.observe(a)
}

// backoff is capped exponential backoff with jitter in [d/2, d).
func (t *transport) backoff(attempt int) time.Duration {
	d := t.minBackoff << min(attempt, 20)
	if d <= 0 || d > t.maxBackoff {
		d = t.maxBackoff
	}
	return d/2 + time.Duration(t.jitter()*float64(d/2))
}

// bodyFactory returns a function that yields a fresh copy of req's body per attempt.
func bodyFactory(req *http.Request) (func() io.ReadCloser, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	if req.GetBody != nil {
		return func() io.ReadCloser {
			b, err := req.GetBody()
			if err != nil {
				return io.NopCloser(errReader{err})
			}
			return b
		}, nil
	}
	buf, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	return func() io.ReadCloser { return io.NopCloser(bytes.NewReader(buf)) }, nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// notSent reports whether err shows the request never reached the server, so that even a
// write may be repeated.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// fitsDeadline reports whether waiting d still leaves ctx time for another attempt.
func fitsDeadline(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > d
}

// retryAfter parses an integer Retry-After header.
func retryAfter(h http.Header) (time.Duration, bool) {
	s := strings.TrimSpace(h.Get("Retry-After"))
	if s == "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// drain reads a little of a discarded response so its connection can be reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// defaultJitter is the production source of jitter.
func defaultJitter() float64 { return rand.Float64() }
