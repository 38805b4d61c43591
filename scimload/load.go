// Package scimload drives a SCIM 2.0 endpoint the way Okta's provisioning engine does:
// it seeds users through POST /Users, then runs a weighted mix of existence checks,
// creates and deactivations from concurrent clients for a fixed time, and reports
// per-operation throughput, latency percentiles and failures. cmd/scimload is its
// command line; `make bench-scim` compares oktasync with it against two in-memory peers
// of this package: MemoryHandler (a map behind bare HTTP) and ElimityHandler (a SCIM
// server on github.com/elimity-com/scim).
package scimload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Operation names of the mix.
const (
	OpLookup     = "lookup"     // GET /Users?filter=userName eq "…" of a seeded user
	OpCreate     = "create"     // POST /Users of a new user
	OpDeactivate = "deactivate" // PATCH /Users/{id} replacing active (false, then true on the next round)
)

// Ops lists the operations in report order.
var Ops = []string{OpLookup, OpCreate, OpDeactivate}

// DefaultMix is Okta's provisioning mix: mostly existence checks.
const DefaultMix = "lookup=80,create=10,deactivate=10"

// Config is one load run.
type Config struct {
	// URL is the SCIM base, e.g. http://127.0.0.1:8080/scim/v2.
	URL string
	// Token is the bearer token sent on every request.
	Token string
	// Users is how many users to seed before the timed run.
	Users int
	// Existing, when set, are users already in the store (seeded in bulk by other
	// means): nothing is seeded, and lookups and deactivations pick from these.
	Existing []User
	// SeedClients is the concurrency of seeding; 0 means Clients.
	SeedClients int
	// Clients is the number of concurrent clients of the timed run.
	Clients int
	// Duration of the timed run.
	Duration time.Duration
	// Mix weights each operation; see ParseMix.
	Mix map[string]int
	// Prefix starts every userName this run creates, so that runs against one database
	// do not collide; empty means a prefix made from the clock.
	Prefix string
	// Progress, when set, receives a line now and then while seeding, and one when the
	// timed run starts.
	Progress io.Writer
}

// ParseMix reads "lookup=80,create=10,deactivate=10". Every weight is a non-negative
// integer, at least one is positive, and only the operations in Ops are known.
func ParseMix(s string) (map[string]int, error) {
	mix := map[string]int{}
	total := 0
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok || !slices.Contains(Ops, name) {
			return nil, fmt.Errorf("mix entry %q: want NAME=WEIGHT with NAME one of %s", part, strings.Join(Ops, ", "))
		}
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("mix entry %q: the weight must be a non-negative integer", part)
		}
		mix[name] += n
		total += n
	}
	if total == 0 {
		return nil, errors.New("mix has no positive weight")
	}
	return mix, nil
}

// OpStats are one operation's figures.
type OpStats struct {
	Op       string
	Requests int
	Failures int
	PerSec   float64
	P50, P99 time.Duration
}

// Report is the outcome of a run.
type Report struct {
	Seeded      int
	SeedTime    time.Duration
	Elapsed     time.Duration
	Ops         []OpStats // in Ops order, operations with zero weight left out
	Total       OpStats
	FirstErrors []string // a few failure descriptions, for the operator
}

// User is a user the run looks up and deactivates.
type User struct {
	ID, UserName string
}

type sample struct {
	op  int
	d   time.Duration
	bad bool
}

// runner holds the state shared by the clients of one run.
type runner struct {
	cfg    Config
	client *http.Client

	mu     sync.Mutex
	users  []User
	errs   []string
	nextID atomic.Int64 // names of created users
	deact  atomic.Int64 // deactivation cursor over users
}

// Run seeds cfg.Users users and then drives the mix for cfg.Duration.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.URL == "" || cfg.Token == "" {
		return Report{}, errors.New("a SCIM URL and a token are required")
	}
	if cfg.Clients < 1 {
		cfg.Clients = 1
	}
	if cfg.SeedClients < 1 {
		cfg.SeedClients = cfg.Clients
	}
	if cfg.Mix == nil {
		cfg.Mix, _ = ParseMix(DefaultMix)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "load" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	}
	cfg.URL = strings.TrimSuffix(cfg.URL, "/")
	conns := max(cfg.Clients, cfg.SeedClients)
	r := &runner{cfg: cfg, client: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns},
	}}
	defer r.client.CloseIdleConnections()

	var rep Report
	began := time.Now()
	if cfg.Existing != nil {
		r.users = slices.Clone(cfg.Existing)
	} else if err := r.seed(ctx); err != nil {
		return rep, err
	}
	if cfg.Existing == nil {
		rep.Seeded, rep.SeedTime = len(r.users), time.Since(began)
	}
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "%d users; timed run started\n", len(r.users))
	}
	if (cfg.Mix[OpLookup] > 0 || cfg.Mix[OpDeactivate] > 0) && len(r.users) == 0 {
		return rep, errors.New("lookups and deactivations need seeded users: set the user count above 0")
	}
	// Deactivations walk a shuffled order so that each round changes every user once.
	rand.Shuffle(len(r.users), func(i, j int) { r.users[i], r.users[j] = r.users[j], r.users[i] })

	var weights []int
	for _, op := range Ops {
		weights = append(weights, cfg.Mix[op])
	}
	samples := make([][]sample, cfg.Clients)
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), uint64(start.UnixNano())))
			for runCtx.Err() == nil {
				op := pick(rng, weights)
				t0 := time.Now()
				err := r.do(runCtx, rng, Ops[op])
				d := time.Since(t0)
				if runCtx.Err() != nil {
					return // cut off by the end of the run: not counted
				}
				if err != nil {
					r.noteError(Ops[op], err)
				}
				samples[c] = append(samples[c], sample{op: op, d: d, bad: err != nil})
			}
		}()
	}
	wg.Wait()
	rep.Elapsed = time.Since(start)
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	rep.Ops, rep.Total = summarize(samples, weights, rep.Elapsed)
	rep.FirstErrors = r.errs
	return rep, nil
}

func pick(rng *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := rng.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

func summarize(samples [][]sample, weights []int, elapsed time.Duration) ([]OpStats, OpStats) {
	per := make([][]time.Duration, len(Ops))
	fails := make([]int, len(Ops))
	var all []time.Duration
	allFails := 0
	for _, ss := range samples {
		for _, s := range ss {
			per[s.op] = append(per[s.op], s.d)
			all = append(all, s.d)
			if s.bad {
				fails[s.op]++
				allFails++
			}
		}
	}
	stats := func(op string, ds []time.Duration, f int) OpStats {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		st := OpStats{Op: op, Requests: len(ds), Failures: f, PerSec: float64(len(ds)) / elapsed.Seconds()}
		if len(ds) > 0 {
			st.P50, st.P99 = ds[len(ds)/2], ds[min(len(ds)-1, len(ds)*99/100)]
		}
		return st
	}
	var out []OpStats
	for i, op := range Ops {
		if weights[i] > 0 {
			out = append(out, stats(op, per[i], fails[i]))
		}
	}
	return out, stats("total", all, allFails)
}

func (r *runner) noteError(op string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) < 5 {
		r.errs = append(r.errs, op+": "+err.Error())
	}
}

// seed creates cfg.Users users with cfg.SeedClients concurrent clients.
func (r *runner) seed(ctx context.Context) error {
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.users = make([]User, 0, r.cfg.Users)
	var wg sync.WaitGroup
	for range r.cfg.SeedClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sctx.Err() == nil {
				i := next.Add(1)
				if i > int64(r.cfg.Users) {
					return
				}
				name := fmt.Sprintf("%s.seed%d@example.com", r.cfg.Prefix, i)
				id, err := r.create(sctx, name)
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("seeding user %d: %w", i, err); cancel() })
					return
				}
				r.mu.Lock()
				r.users = append(r.users, User{ID: id, UserName: name})
				n := len(r.users)
				r.mu.Unlock()
				if r.cfg.Progress != nil && n%5000 == 0 {
					fmt.Fprintf(r.cfg.Progress, "seeded %d of %d users\n", n, r.cfg.Users)
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// do runs one operation of the mix.
func (r *runner) do(ctx context.Context, rng *rand.Rand, op string) error {
	switch op {
	case OpLookup:
		u := r.users[rng.IntN(len(r.users))]
		body, err := r.send(ctx, http.MethodGet, "/Users?filter="+url.QueryEscape(`userName eq "`+u.UserName+`"`)+"&startIndex=1&count=100", "", http.StatusOK)
		if err == nil && !bytes.Contains(body, []byte(`"totalResults":1`)) {
			err = fmt.Errorf("existence check of %s did not find it", u.UserName)
		}
		return err
	case OpCreate:
		_, err := r.create(ctx, fmt.Sprintf("%s.new%d@example.com", r.cfg.Prefix, r.nextID.Add(1)))
		return err
	default:
		n := r.deact.Add(1) - 1
		u := r.users[n%int64(len(r.users))]
		active := (n/int64(len(r.users)))%2 == 1 // first round deactivates, the next reactivates
		_, err := r.send(ctx, http.MethodPatch, "/Users/"+u.ID,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":`+strconv.FormatBool(active)+`}}]}`,
			http.StatusOK)
		return err
	}
}

// create posts a user the way Okta does and returns its id.
func (r *runner) create(ctx context.Context, name string) (string, error) {
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + name + `",` +
		`"name":{"givenName":"Load","familyName":"Test"},"emails":[{"primary":true,"value":"` + name + `","type":"work"}],` +
		`"displayName":"Load Test","locale":"en-US","externalId":"00u` + strconv.FormatUint(rand.Uint64(), 36) + `","groups":[],"password":"x","active":true}`
	resp, err := r.send(ctx, http.MethodPost, "/Users", body, http.StatusCreated)
	if err != nil {
		return "", err
	}
	id, ok := jsonString(resp, "id")
	if !ok {
		return "", errors.New("201 without an id")
	}
	return id, nil
}

// jsonString finds the first top-level-looking "key":"value" in a body; enough for the
// id of a SCIM resource, which the server writes before any nested object.
func jsonString(body []byte, key string) (string, bool) {
	k := []byte(`"` + key + `":"`)
	i := bytes.Index(body, k)
	if i < 0 {
		return "", false
	}
	rest := body[i+len(k):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", false
	}
	return string(rest[:j]), true
}

func (r *runner) send(ctx context.Context, method, path, body string, want int) ([]byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.cfg.URL+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+r.cfg.Token)
	req.Header.Set("Accept", "application/scim+json")
	req.Header.Set("User-Agent", "Okta SCIM Client 1.0.0")
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return b, fmt.Errorf("%s %s: status %d, want %d: %.200s", method, strings.SplitN(path, "?", 2)[0], resp.StatusCode, want, b)
	}
	return b, nil
}

// Print writes the report as an aligned table followed by the total: line.
func (rep Report) Print(w io.Writer) {
	if rep.Seeded > 0 {
		fmt.Fprintf(w, "seeded %d users in %.1fs (%.0f users/s)\n", rep.Seeded, rep.SeedTime.Seconds(), float64(rep.Seeded)/rep.SeedTime.Seconds())
	}
	fmt.Fprintf(w, "%-11s %9s %9s %9s %9s %9s\n", "operation", "requests", "req/s", "p50_ms", "p99_ms", "failures")
	line := func(label string, s OpStats) {
		fmt.Fprintf(w, "%-11s %9d %9.0f %9.2f %9.2f %9d\n", label, s.Requests, s.PerSec, ms(s.P50), ms(s.P99), s.Failures)
	}
	for _, s := range rep.Ops {
		line(s.Op, s)
	}
	line("total:", rep.Total)
	for _, e := range rep.FirstErrors {
		fmt.Fprintf(w, "failure: %s\n", e)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
