package oktasim

import (
	"math"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Rate-limit endpoint families. Okta counts requests per endpoint family
// and per window; the names are the keys of RateLimits.
const (
	// FamilyApps is /api/v1/apps and everything under it, app users and
	// app groups included.
	FamilyApps = "apps"
	// FamilyUsers is GET and POST /api/v1/users (list, search, create).
	FamilyUsers = "users"
	// FamilyUser is /api/v1/users/{id} and everything under it.
	FamilyUser = "user"
	// FamilyGroups is GET and POST /api/v1/groups.
	FamilyGroups = "groups"
	// FamilyGroup is /api/v1/groups/{id} and everything under it.
	FamilyGroup = "group"
	// FamilyOther is any other /api/v1 path.
	FamilyOther = "other"
)

// RateLimits maps an endpoint family to its request limit per window.
type RateLimits map[string]int

// DefaultRateLimits returns Okta's per-minute defaults for an Enterprise
// org: apps 100, users 600, user 600, groups 500, group 1000, other 600.
func DefaultRateLimits() RateLimits {
	return RateLimits{FamilyApps: 100, FamilyUsers: 600, FamilyUser: 600, FamilyGroups: 500, FamilyGroup: 1000, FamilyOther: 600}
}

// familyOf classifies a management API path.
func familyOf(path string) string {
	rest, ok := strings.CutPrefix(path, "/api/v1/")
	if !ok {
		return FamilyOther
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	switch parts[0] {
	case "apps":
		return FamilyApps
	case "users":
		if len(parts) == 1 {
			return FamilyUsers
		}
		return FamilyUser
	case "groups":
		if len(parts) == 1 {
			return FamilyGroups
		}
		return FamilyGroup
	}
	return FamilyOther
}

type bucket struct {
	start time.Time
	count int
}

// limiter counts requests per family in fixed windows aligned to the
// window length, as Okta's per-minute windows are aligned to the minute.
type limiter struct {
	mu         sync.Mutex
	limits     RateLimits
	multiplier float64
	window     time.Duration
	buckets    map[string]*bucket
}

func newLimiter(l RateLimits, multiplier float64, window time.Duration) *limiter {
	if window <= 0 {
		window = time.Minute
	}
	if multiplier <= 0 {
		multiplier = 1
	}
	lim := RateLimits{}
	for k, v := range l {
		lim[k] = v
	}
	return &limiter{limits: lim, multiplier: multiplier, window: window, buckets: map[string]*bucket{}}
}

func (l *limiter) limitOf(family string) int {
	base, ok := l.limits[family]
	if !ok {
		base = l.limits[FamilyOther]
	}
	if base <= 0 {
		return 0
	}
	return max(1, int(math.Floor(float64(base)*l.multiplier)))
}

// take counts one request at now and reports the limit, what remains and
// when the window resets; ok is false when the limit is exhausted.
func (l *limiter) take(family string, now time.Time) (limit, remaining int, reset time.Time, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := now.Truncate(l.window)
	reset = start.Add(l.window)
	limit = l.limitOf(family)
	if limit == 0 {
		return 0, 0, reset, true
	}
	b := l.buckets[family]
	if b == nil || !b.start.Equal(start) {
		b = &bucket{start: start}
		l.buckets[family] = b
	}
	if b.count >= limit {
		return limit, 0, reset, false
	}
	b.count++
	return limit, limit - b.count, reset, true
}

// set changes limits, multiplier or window at run time; zero values keep
// the current setting.
func (l *limiter) set(limits RateLimits, multiplier float64, window time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, v := range limits {
		l.limits[k] = v
	}
	if multiplier > 0 {
		l.multiplier = multiplier
	}
	if window > 0 {
		l.window = window
	}
	l.buckets = map[string]*bucket{}
}

// SetRateLimits changes rate limits at run time: limits for the named
// families, and the multiplier and window if they are above zero. Counters
// start afresh.
func (s *Sim) SetRateLimits(limits RateLimits, multiplier float64, window time.Duration) {
	s.limiter.set(limits, multiplier, window)
}

// SetConcurrencyLimit changes the concurrent-request limit; 0 or less
// disables it.
func (s *Sim) SetConcurrencyLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.concurrency = n
}

// unixCeil returns t in unix seconds, rounded up so a client waiting until
// then is past the window.
func unixCeil(t time.Time) int64 {
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	return sec
}

// Faults are injected failures of the management API. They are always
// HTTP answers with Okta error JSON: the Okta SDK retries a dropped
// connection forever, so the emulator never drops one.
type Faults struct {
	// Latency is added to every matching request before it is answered.
	Latency time.Duration `json:"latency"`
	// ErrorRate is the share (0 to 1) of matching requests answered with
	// one of ErrorStatuses.
	ErrorRate float64 `json:"errorRate"`
	// ErrorStatuses are the statuses used for ErrorRate; 500 and 503 if
	// empty.
	ErrorStatuses []int `json:"errorStatuses,omitempty"`
	// PathPrefix limits the faults to paths starting with it; all of
	// /api/v1 if empty.
	PathPrefix string `json:"pathPrefix,omitempty"`
}

type faultState struct {
	cfg         Faults
	failNext    int
	failStatus  int
	forcedUntil time.Time
}

// SetFaults replaces the injected faults.
func (s *Sim) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.cfg = f
}

// FailNext makes the next n management API requests fail with status
// (500, 503, 429 or any other), whatever the error rate.
func (s *Sim) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.failNext, s.faults.failStatus = n, status
}

// Force429 answers every management API request with 429 for d from now,
// with rate-limit headers whose reset is the end of that period.
func (s *Sim) Force429(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.forcedUntil = s.clock.Now().Add(d)
}

type faultDecision struct {
	latency     time.Duration
	status      int
	forcedUntil time.Time
}

// decideFault picks what fault, if any, applies to a request.
func (s *Sim) decideFault(path string) faultDecision {
	s.mu.Lock()
	defer s.mu.Unlock()
	var d faultDecision
	if now := s.clock.Now(); now.Before(s.faults.forcedUntil) {
		d.forcedUntil = s.faults.forcedUntil
		return d
	}
	if s.faults.failNext > 0 {
		s.faults.failNext--
		d.status = s.faults.failStatus
		return d
	}
	f := s.faults.cfg
	if f.PathPrefix != "" && !strings.HasPrefix(path, f.PathPrefix) {
		return d
	}
	d.latency = f.Latency
	if f.ErrorRate > 0 && s.rng.Float64() < f.ErrorRate {
		st := f.ErrorStatuses
		if len(st) == 0 {
			st = []int{http.StatusInternalServerError, http.StatusServiceUnavailable}
		}
		d.status = st[s.rng.IntN(len(st))]
	}
	return d
}

// faultError is the Okta error for an injected status.
func faultError(status int) *Error {
	switch status {
	case http.StatusTooManyRequests:
		return errRateLimit()
	case http.StatusServiceUnavailable:
		return &Error{Status: status, Code: "E0000010", Summary: "Service is in read only mode"}
	case http.StatusInternalServerError:
		return &Error{Status: status, Code: "E0000009", Summary: "Internal Server Error"}
	}
	return &Error{Status: status, Code: "E0000009", Summary: http.StatusText(status)}
}

func errRateLimit() *Error {
	return &Error{Status: http.StatusTooManyRequests, Code: "E0000047", Summary: "API call exceeded rate limit due to too many requests."}
}
