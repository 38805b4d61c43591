package oktasim

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"math/big"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"
)

// Clock tells the emulator what time it is. Rate-limit windows, timestamps
// and the Date header all read it, so tests can move time by hand.
type Clock interface {
	Now() time.Time
}

// Sleeper waits for a duration or until ctx is done. The push engine's retry
// waits and the injected latency go through it, so tests need not sleep.
type Sleeper interface {
	Sleep(ctx context.Context, d time.Duration) error
}

// realClock is the wall clock and a context-aware sleeper.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Option configures a Sim built by New or NewServer.
type Option func(*config)

type config struct {
	token        string
	appID        string
	appLabel     string
	clock        Clock
	sleeper      Sleeper
	limits       RateLimits
	multiplier   float64
	window       time.Duration
	concurrency  int
	faults       Faults
	seed         uint64
	seeded       bool
	conn         *SCIMConnection
	mapping      func(map[string]any) map[string]any
	appAttrs     map[string]bool
	pushRetries  int
	serverErrTry int
}

// WithAPIToken sets the SSWS API token the management API accepts.
// Without it a random token is generated (see Sim.Token).
func WithAPIToken(token string) Option { return func(c *config) { c.token = token } }

// WithAppID sets the id of the app the emulated org starts with. Without it
// an Okta-style "0oa..." id is generated.
func WithAppID(id string) Option { return func(c *config) { c.appID = id } }

// WithAppLabel sets the label of the app the emulated org starts with.
func WithAppLabel(label string) Option { return func(c *config) { c.appLabel = label } }

// WithClock makes the emulator read time from clk. If clk also implements
// Sleeper it is used for waits too, unless WithSleeper is given.
func WithClock(clk Clock) Option { return func(c *config) { c.clock = clk } }

// WithSleeper sets how the emulator waits (push retries, injected latency).
func WithSleeper(s Sleeper) Option { return func(c *config) { c.sleeper = s } }

// WithRateLimits overrides the per-window request limits of the given
// endpoint families (see DefaultRateLimits); families not named keep their
// defaults. A limit of 0 or less disables limiting for that family.
func WithRateLimits(l RateLimits) Option {
	return func(c *config) {
		for k, v := range l {
			c.limits[k] = v
		}
	}
}

// WithRateLimitMultiplier scales every family's limit, e.g. 0.5 for the share
// an API token gets by default in a real org. The result is at least 1.
func WithRateLimitMultiplier(m float64) Option { return func(c *config) { c.multiplier = m } }

// WithRateLimitWindow sets the length of a rate-limit window (Okta: one
// minute). A shorter window scales time so pacing can be exercised quickly.
func WithRateLimitWindow(d time.Duration) Option { return func(c *config) { c.window = d } }

// WithConcurrencyLimit sets how many management API requests may be in
// flight at once before the emulator answers 429 (Okta: about 75). A value
// of 0 or less disables the check.
func WithConcurrencyLimit(n int) Option { return func(c *config) { c.concurrency = n } }

// WithFaults sets the injected faults the emulator starts with.
func WithFaults(f Faults) Option { return func(c *config) { c.faults = f } }

// WithSeed makes random choices (ids, injected errors) reproducible.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed, c.seeded = seed, true } }

// WithSCIMConnection gives the default app a provisioning connection from
// the start (see Sim.SetSCIMConnection).
func WithSCIMConnection(conn SCIMConnection) Option { return func(c *config) { c.conn = &conn } }

// WithProfileMapping replaces the Okta-user-to-app-user profile mapping. It
// receives a copy of the Okta user's profile and returns the app user
// attributes it maps to; they are applied on assignment and again whenever
// the Okta user's profile changes, as Okta's profile mappings are.
func WithProfileMapping(fn func(userProfile map[string]any) map[string]any) Option {
	return func(c *config) { c.mapping = fn }
}

// WithAppProfileAttributes sets the attributes of the app user schema.
// Assignments and app profile updates naming any other attribute fail with
// 400 E0000001 "Property 'x' not found", as Okta answers. Without it any
// attribute is accepted.
func WithAppProfileAttributes(names ...string) Option {
	return func(c *config) {
		c.appAttrs = map[string]bool{}
		for _, n := range names {
			c.appAttrs[n] = true
		}
	}
}

// DefaultProfileMapping is the mapping used unless WithProfileMapping is
// given: firstName, lastName, email, displayName and locale of the Okta user
// become givenName, familyName, email, displayName and locale of the app
// user, as in Okta's SCIM 2.0 app templates. These are the attributes the
// push engine sends; a change to any other Okta user attribute changes no
// app user and so, as in Okta, pushes nothing.
func DefaultProfileMapping(p map[string]any) map[string]any {
	out := map[string]any{}
	for from, to := range map[string]string{"firstName": "givenName", "lastName": "familyName", "email": "email",
		"displayName": "displayName", "locale": "locale"} {
		if v, ok := p[from]; ok && v != nil && v != "" {
			out[to] = v
		}
	}
	return out
}

// Sim is an in-memory Okta org: the management API subset served by
// Handler, and the provisioning push engine of its apps. It is safe for
// concurrent use.
type Sim struct {
	cfg     config
	clock   Clock
	sleeper Sleeper

	mu     sync.Mutex
	rng    *mrand.Rand
	seq    uint64
	seqOf  map[string]uint64 // every id ever issued, so cursors survive deletes
	users  map[string]*user
	logins map[string]string          // lower-cased login -> user id
	emails map[string]map[string]bool // lower-cased email -> ids of the users having it
	apps   map[string]*app
	groups map[string]*group
	appID  string

	limiter  *limiter
	faults   faultState
	inFlight atomic.Int64

	push *pushEngine
}

// New builds an emulated org with one app. Call Close when done to stop the
// push worker.
func New(opts ...Option) *Sim {
	c := config{
		limits:       DefaultRateLimits(),
		multiplier:   1,
		window:       time.Minute,
		concurrency:  75,
		mapping:      DefaultProfileMapping,
		pushRetries:  10,
		serverErrTry: 3,
		appLabel:     "oktasync",
	}
	for _, o := range opts {
		o(&c)
	}
	s := &Sim{
		cfg:    c,
		seqOf:  map[string]uint64{},
		users:  map[string]*user{},
		logins: map[string]string{},
		emails: map[string]map[string]bool{},
		apps:   map[string]*app{},
		groups: map[string]*group{},
	}
	s.clock = c.clock
	if s.clock == nil {
		s.clock = realClock{}
	}
	s.sleeper = c.sleeper
	if s.sleeper == nil {
		if sl, ok := s.clock.(Sleeper); ok {
			s.sleeper = sl
		} else {
			s.sleeper = realClock{}
		}
	}
	seed := c.seed
	if !c.seeded {
		var b [8]byte
		_, _ = rand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:])
	}
	s.rng = mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	// Start the id counter at a random high value so ids look like Okta's
	// and stay ordered by creation.
	s.seq = 1_000_000_000_000 + s.rng.Uint64N(500_000_000_000)
	if s.cfg.token == "" {
		s.cfg.token = "00" + s.randString(40)
	}
	s.limiter = newLimiter(c.limits, c.multiplier, c.window)
	s.faults.cfg = c.faults
	s.appID = s.createApp(c.appID, c.appLabel)
	s.push = newPushEngine(s)
	if c.conn != nil {
		s.SetSCIMConnection(*c.conn)
	}
	return s
}

// Token returns the SSWS API token the management API accepts.
func (s *Sim) Token() string { return s.cfg.token }

// AppID returns the id of the app the org was created with.
func (s *Sim) AppID() string { return s.appID }

// Now returns the emulator's current time.
func (s *Sim) Now() time.Time { return s.clock.Now() }

// Close stops the push worker. Queued pushes not yet sent are dropped.
func (s *Sim) Close() { s.push.close() }

// Server is a Sim served over HTTP on a local port, for tests and demos.
type Server struct {
	// URL is the org URL (no trailing slash) to give the Okta SDK.
	URL string
	// Token is the SSWS API token.
	Token string
	// AppID is the id of the org's app.
	AppID string
	// Sim is the emulated org, for seeding and inspection.
	Sim *Sim

	srv *httptest.Server
}

// NewServer builds a Sim with opts and serves it over plain HTTP on a
// loopback port. The Okta SDK needs WithTestingDisableHttpsCheck(true) for
// it; see NewTLSServer otherwise.
func NewServer(opts ...Option) *Server {
	s := New(opts...)
	hs := httptest.NewServer(s.Handler())
	return &Server{URL: hs.URL, Token: s.Token(), AppID: s.AppID(), Sim: s, srv: hs}
}

// NewTLSServer is NewServer over HTTPS with a self-signed certificate;
// Client returns an HTTP client that trusts it.
func NewTLSServer(opts ...Option) *Server {
	s := New(opts...)
	hs := httptest.NewTLSServer(s.Handler())
	return &Server{URL: hs.URL, Token: s.Token(), AppID: s.AppID(), Sim: s, srv: hs}
}

// Client returns an HTTP client for the server (one that trusts the
// certificate of a NewTLSServer).
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close stops the HTTP server and the push worker.
func (s *Server) Close() {
	s.srv.Close()
	s.Sim.Close()
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randString returns n random base62 characters. Callers hold s.mu or are
// in New.
func (s *Sim) randString(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = base62[s.rng.IntN(len(base62))]
	}
	return string(b)
}

// newID returns an Okta-style 20-character id with the given 3-character
// prefix ("00u", "0oa", "00g"). The 7 characters after the prefix encode a
// counter, so ids sort in creation order like Okta's. Callers hold s.mu.
func (s *Sim) newID(prefix string) (string, uint64) {
	s.seq++
	n := new(big.Int).SetUint64(s.seq)
	enc := make([]byte, 7)
	for i := 6; i >= 0; i-- {
		m := new(big.Int)
		n.DivMod(n, big.NewInt(62), m)
		enc[i] = base62[m.Int64()]
	}
	id := prefix + string(enc) + s.randString(10)
	s.seqOf[id] = s.seq
	return id, s.seq
}

// nextSeq issues a sequence number for an id chosen by the caller.
func (s *Sim) nextSeq(id string) uint64 {
	s.seq++
	s.seqOf[id] = s.seq
	return s.seq
}

// now returns the clock's time truncated to milliseconds, as Okta reports.
func (s *Sim) now() time.Time { return s.clock.Now().UTC().Truncate(time.Millisecond) }

// Handler returns the HTTP handler serving the management API at /api/v1
// and the emulator's admin endpoints at /_sim.
func (s *Sim) Handler() http.Handler { return s.routes() }

// randToken returns n random base62 characters from crypto/rand, for
// values that need no reproducibility (error ids, request ids).
func randToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = base62[int(b[i])%len(base62)]
	}
	return string(b)
}
