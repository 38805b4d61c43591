package oktaclient

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// family is a group of endpoints that Okta rate-limits as one bucket. Okta keeps a
// separate budget per endpoint family, so each is paced on its own: spending the app-user
// budget must not slow down user look-ups.
type family int

const (
	famOther       family = iota // anything not listed below
	famApps                      // /api/v1/apps*, app users included
	famUsersList                 // GET /api/v1/users (filter, search, list)
	famUsersCreate               // POST /api/v1/users
	famUserItem                  // /api/v1/users/{id}...
	famGroups                    // /api/v1/groups*
	numFamilies
)

var familyNames = [numFamilies]string{"other", "apps", "users-list", "users-create", "user-item", "groups"}

func (f family) String() string {
	if f >= 0 && f < numFamilies {
		return familyNames[f]
	}
	return "family(" + strconv.Itoa(int(f)) + ")"
}

// classify maps a request to the Okta rate-limit family it is counted against.
func classify(method, path string) family {
	p := strings.TrimSuffix(path, "/")
	switch {
	case p == "/api/v1/apps" || strings.HasPrefix(p, "/api/v1/apps/"):
		return famApps
	case p == "/api/v1/users":
		switch method {
		case http.MethodGet, http.MethodHead:
			return famUsersList
		case http.MethodPost:
			return famUsersCreate
		}
		return famOther
	case strings.HasPrefix(p, "/api/v1/users/"):
		return famUserItem
	case p == "/api/v1/groups" || strings.HasPrefix(p, "/api/v1/groups/"):
		return famGroups
	}
	return famOther
}

// rateInfo is what one response says about its rate-limit bucket.
type rateInfo struct {
	limit     int
	remaining int
	reset     int64     // unix seconds on the server's clock when the window ends
	date      time.Time // the server's Date header; zero when absent or unparsable
}

// parseRate reads X-Rate-Limit-* and Date. ok is false when the rate headers are absent
// or malformed (the Date header alone is optional).
func parseRate(h http.Header) (ri rateInfo, ok bool) {
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		ri.date = d
	}
	limit, err1 := strconv.Atoi(strings.TrimSpace(h.Get("X-Rate-Limit-Limit")))
	rem, err2 := strconv.Atoi(strings.TrimSpace(h.Get("X-Rate-Limit-Remaining")))
	reset, err3 := strconv.ParseInt(strings.TrimSpace(h.Get("X-Rate-Limit-Reset")), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || limit <= 0 || rem < 0 {
		return ri, false
	}
	ri.limit, ri.remaining, ri.reset = limit, rem, reset
	return ri, true
}

// skew estimates the offset between the server's clock and ours (server minus local).
//
// Date has one-second resolution, so a single response only bounds the offset:
// a response sent at local time s and received at r with Date D satisfies
// D-r <= offset < D+1s-s. The largest lower bound seen converges on the true offset as
// responses land just after the server's second ticks. Using the lower bound puts our idea
// of the reset at or after the server's, so we never send into an exhausted window early.
type skew struct {
	lo, hi time.Duration
	known  bool
}

func (s *skew) observe(date, sent, recv time.Time) {
	if date.IsZero() {
		return
	}
	lo := date.Sub(recv)
	hi := date.Add(time.Second).Sub(sent)
	if !s.known || lo > s.hi || hi < s.lo {
		// First sample, or one inconsistent with what we knew: a clock was stepped.
		s.lo, s.hi, s.known = lo, hi, true
		return
	}
	s.lo = max(s.lo, lo)
	s.hi = min(s.hi, hi)
}

// local converts a server unix time to our clock, conservatively late.
func (s *skew) local(serverUnix int64) time.Time {
	t := time.Unix(serverUnix, 0)
	if s.known {
		t = t.Add(-s.lo)
	}
	return t
}

// bucket is our model of one family's server-side budget.
type bucket struct {
	known     bool      // a response with rate headers has been seen
	rolled    bool      // the window ended locally and no response from the next one yet
	limit     int       // X-Rate-Limit-Limit
	remaining int       // lowest X-Rate-Limit-Remaining seen in the current window
	reset     int64     // server reset of the current window; identifies it
	resetAt   time.Time // local time the current window ends
	inflight  int       // reserved or sent requests whose response has not been seen
	next      time.Time // earliest start of the next request (spreads the budget)
}

// pacer spaces requests per family so that a long run uses close to the allowed rate
// without drawing 429s. Okta's SDK only reacts to 429 and never reads
// X-Rate-Limit-Remaining; the pacer reads it from every response.
type pacer struct {
	clock    Clock
	reserve  float64       // fraction of the limit held back for other clients and estimation error
	resetPad time.Duration // extra wait after a window's reset before spending the next one

	mu      sync.Mutex
	skew    skew
	buckets [numFamilies]bucket
}

// rolledPoll is how long to wait before looking again when the budget assumed for a new
// window is used up before any of its responses arrived.
const rolledPoll = 50 * time.Millisecond

func newPacer(clock Clock, reserve float64, resetPad time.Duration) *pacer {
	return &pacer{clock: clock, reserve: reserve, resetPad: resetPad}
}

// held is the number of requests of a window the pacer never spends.
func (p *pacer) held(limit int) int {
	return max(1, int(math.Ceil(float64(limit)*p.reserve)))
}

// plan decides, under p.mu, when a request of family f may start. It returns either
// a start time (and counts the request as in flight) or, when the window's budget is
// spent, wait=true and the time to look again.
func (p *pacer) plan(f family, now time.Time) (start time.Time, wait bool) {
	b := &p.buckets[f]
	if b.known && !b.rolled && !now.Before(b.resetAt.Add(p.resetPad)) {
		// The window is over on the server too. Its successor's remaining budget and
		// reset are unknown until a response arrives; assume a full budget.
		b.rolled = true
		b.remaining = b.limit
		b.next = now
	}
	if !b.known {
		b.inflight++
		return now, false
	}
	if b.rolled {
		// Without a reset to spread over, send what the last known limit allows and
		// let the first answer from the new window set the pace.
		if b.limit-b.inflight-p.held(b.limit) <= 0 {
			return now.Add(rolledPoll), true
		}
		b.inflight++
		return now, false
	}
	avail := b.remaining - b.inflight - p.held(b.limit)
	if avail <= 0 {
		return b.resetAt.Add(p.resetPad), true
	}
	interval := b.resetAt.Sub(now) / time.Duration(avail)
	start = now
	if b.next.After(start) {
		start = b.next
	}
	b.next = start.Add(interval)
	b.inflight++
	return start, false
}

// acquire waits until a request of family f may be sent. On success the request is
// counted as in flight and the caller must call observe or release exactly once.
func (p *pacer) acquire(ctx context.Context, f family) error {
	for {
		now := p.clock.Now()
		p.mu.Lock()
		start, wait := p.plan(f, now)
		p.mu.Unlock()
		if wait && !fitsDeadline(ctx, start.Sub(now)) {
			// Waiting for the reset would outlast the caller's deadline: say so now,
			// with the time to come back, instead of failing with a timeout later.
			return &budgetSpentError{family: f, until: start}
		}
		if err := p.clock.Sleep(ctx, start.Sub(now)); err != nil {
			if !wait {
				p.release(f)
			}
			return err
		}
		if !wait {
			return nil
		}
	}
}

// budgetSpentError reports that a family's budget is spent until a time past the
// caller's deadline.
type budgetSpentError struct {
	family family
	until  time.Time
}

func (e *budgetSpentError) Error() string {
	return fmt.Sprintf("rate limit budget of %s requests spent until %s", e.family, e.until.UTC().Format(time.RFC3339))
}

// release gives back a slot whose request got no response (cancelled or failed to connect).
func (p *pacer) release(f family) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := &p.buckets[f]; b.inflight > 0 {
		b.inflight--
	}
}

// observe records a response of family f, sent at sent and received at recv.
func (p *pacer) observe(f family, h http.Header, sent, recv time.Time) {
	ri, ok := parseRate(h)
	p.mu.Lock()
	defer p.mu.Unlock()
	b := &p.buckets[f]
	if b.inflight > 0 {
		b.inflight--
	}
	p.skew.observe(ri.date, sent, recv)
	if !ok {
		return
	}
	if b.known && ri.remaining == 0 && ri.limit != b.limit {
		// A 429 for too many concurrent requests carries the concurrency limit, not the
		// window's, and says nothing about the window's budget. The semaphore and the
		// transport's retry deal with it.
		return
	}
	switch {
	case !b.known || ri.reset > b.reset:
		// A newer window.
		b.known, b.rolled = true, false
		b.limit, b.remaining, b.reset = ri.limit, ri.remaining, ri.reset
		b.resetAt = p.skew.local(ri.reset)
	case ri.reset == b.reset && !b.rolled:
		// Responses of one window can arrive out of order: the lowest remaining is the latest.
		b.limit = ri.limit
		b.remaining = min(b.remaining, ri.remaining)
		b.resetAt = p.skew.local(ri.reset)
	}
	// Anything else is a late answer from a window already over.
}

// retryAt returns the local time, padded, after which a request answered 429 with
// headers h may be tried again, and whether the headers said.
func (p *pacer) retryAt(h http.Header) (time.Time, bool) {
	if d, ok := retryAfter(h); ok {
		return p.clock.Now().Add(d), true
	}
	ri, ok := parseRate(h)
	if !ok {
		return time.Time{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.skew.local(ri.reset).Add(p.resetPad), true
}
