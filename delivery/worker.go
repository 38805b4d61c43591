// Package delivery sends the events of the feed to webhook endpoints: it fans new
// events out into the durable delivery queue in seq order, then sends each queued
// delivery as a Standard Webhooks request, with retries and exponential backoff.
// It runs in `oktasync serve`, never in the request that made the change, so a slow or
// dead receiver never slows the SCIM endpoint. Several servers on one PostgreSQL
// database share the queue: each delivery is leased by one of them at a time.
package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/seal"
	"github.com/oktasync/oktasync/webhook"
)

// Defaults of Options.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultRetryFor    = 72 * time.Hour
	DefaultPoll        = 250 * time.Millisecond
	DefaultConcurrency = 8
	// DefaultBatch is how many of one lane's consecutive deliveries are claimed at
	// once.
	DefaultBatch = 50
	// DefaultFirstRetry bounds the wait before the first retry; each later wait
	// doubles, up to DefaultMaxBackoff, with random jitter so that many failing
	// deliveries spread out.
	DefaultFirstRetry = 10 * time.Second
	DefaultMaxBackoff = time.Hour
)

// Options configure a Worker.
type Options struct {
	// Key is the server's secret key, which opens the endpoints' sealed secrets.
	Key []byte
	// AllowPrivate lets deliveries reach loopback, link-local and private addresses.
	AllowPrivate bool
	// Timeout is how long a receiver has to answer 2xx (DefaultTimeout).
	Timeout time.Duration
	// RetryFor is how long a failing delivery is retried before it is marked failed
	// (DefaultRetryFor).
	RetryFor time.Duration
	// Poll is how often the queue is checked when idle (DefaultPoll).
	Poll time.Duration
	// Concurrency is how many deliveries are sent at once (DefaultConcurrency): one
	// at a time from each of that many lanes (an endpoint and a tenant).
	Concurrency int
	// Batch is how many of a lane's consecutive deliveries are claimed under one lease
	// and sent in order, one after the other (DefaultBatch); 1 claims each on its own.
	Batch int
	// FirstRetry and MaxBackoff shape the backoff (DefaultFirstRetry, DefaultMaxBackoff).
	FirstRetry, MaxBackoff time.Duration
	Logger                 *slog.Logger
	// Observe, when set, is told the outcome of each attempt ("succeeded", "retry",
	// "failed") and, on success, the time from the event to its delivery.
	Observe func(outcome string, lag time.Duration)
}

// Worker fans events out and sends deliveries.
type Worker struct {
	store  appstore.Store
	o      Options
	client *http.Client
}

// SecretOwner is what an endpoint's secret is sealed for (see package seal).
func SecretOwner(endpointID string) string { return "webhook/" + endpointID }

// New returns a worker over store.
func New(store appstore.Store, o Options) *Worker {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.RetryFor <= 0 {
		o.RetryFor = DefaultRetryFor
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.FirstRetry <= 0 {
		o.FirstRetry = DefaultFirstRetry
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	dialer := &net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}
	if !o.AllowPrivate {
		dialer.Control = guardedControl
	}
	transport := &http.Transport{
		Proxy:               nil, // a proxy would dial for us, out of the guard's sight
		DialContext:         dialer.DialContext,
		MaxIdleConnsPerHost: o.Concurrency,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: o.Timeout,
	}
	client := &http.Client{
		Transport: transport,
		Timeout:   o.Timeout,
		// Redirects are not followed: a 3xx is a failed attempt, and a receiver cannot
		// point the server somewhere else.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Worker{store: store, o: o, client: client}
}

// Run fans out and delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	for {
		n, err := w.Step(ctx)
		if err != nil && ctx.Err() == nil {
			w.o.Logger.Warn("webhook delivery", "err", err)
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(w.o.Poll):
		}
	}
}

// leaseSlack is how much longer than a send's timeout a claim's lease lasts: the time
// left to record the outcome of a send begun at the claim. A run sends its later
// deliveries only while the lease still outlasts a send's timeout by half of it, so
// that none is in flight when the lease ends and another server may take it.
const leaseSlack = 5 * time.Second

// Step fans out what is new, then claims and sends one batch of deliveries: a run of
// consecutive deliveries from each of up to Concurrency lanes, the lanes at once and
// each run in order. It returns how many deliveries it attempted.
func (w *Worker) Step(ctx context.Context) (int, error) {
	for {
		n, err := w.store.FanOutEvents(ctx, 500)
		if err != nil {
			return 0, fmt.Errorf("fan out: %w", err)
		}
		if n < 500 {
			break
		}
	}
	claimed, err := w.store.ClaimDeliveries(ctx, w.o.Concurrency, w.o.Batch, w.o.Timeout+leaseSlack)
	if err != nil || len(claimed) == 0 {
		return 0, err
	}
	endpoints := map[string]appstore.WebhookEndpoint{}
	list, err := w.store.ListWebhooks(ctx)
	if err != nil {
		return 0, err
	}
	for _, e := range list {
		endpoints[e.ID] = e
	}
	runs := lanes(claimed)
	var wg sync.WaitGroup
	errs := make([]error, len(runs))
	sent := make([]int, len(runs))
	for i, run := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent[i], errs[i] = w.sendRun(ctx, endpoints[run[0].EndpointID], run)
		}()
	}
	wg.Wait()
	n := 0
	for _, k := range sent {
		n += k
	}
	return n, errors.Join(errs...)
}

// lanes splits a claim into its lanes' runs, which the store returns each together.
func lanes(ds []appstore.WebhookDelivery) [][]appstore.WebhookDelivery {
	var out [][]appstore.WebhookDelivery
	for i, d := range ds {
		if i == 0 || d.EndpointID != ds[i-1].EndpointID || d.TenantID != ds[i-1].TenantID {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], d)
	}
	return out
}

// result is the outcome of one attempt, waiting to be recorded; release marks a
// delivery of the run that was not sent and is handed back as claimed.
type result struct {
	d       appstore.WebhookDelivery
	outcome string
	lag     time.Duration
	release bool
}

// sendRun sends a lane's run in order, one delivery at a time, and stops at the first
// failure: the lane's later deliveries wait for its retry (they are handed back, and
// the failed one, pending and not yet due, heads the lane). Outcomes are recorded while
// the run goes on, each commit taking every outcome that arrived during the previous
// one, so a fast receiver costs a commit per several deliveries rather than two per
// delivery. A kill before a commit loses nothing: the deliveries it would have
// recorded are still pending and are sent again once the lease runs out.
func (w *Worker) sendRun(ctx context.Context, ep appstore.WebhookEndpoint, run []appstore.WebhookDelivery) (int, error) {
	results := make(chan result, len(run))
	var lost atomic.Bool
	recorded := make(chan error, 1)
	go func() { recorded <- w.record(context.WithoutCancel(ctx), results, &lost) }()
	sent := 0
	for _, d := range run {
		if sent > 0 && (lost.Load() || time.Until(d.Lease) < w.o.Timeout+leaseSlack/2) {
			break
		}
		code, err := w.attempt(ctx, ep, d)
		if ctx.Err() != nil {
			// Shutting down: the lease runs out and the delivery is attempted again.
			break
		}
		r := w.outcome(d, code, err)
		sent++
		results <- r
		if r.outcome != "succeeded" {
			break
		}
	}
	if ctx.Err() == nil {
		for _, d := range run[sent:] {
			results <- result{d: d, release: true}
		}
	}
	close(results)
	return sent, <-recorded
}

// outcome is d after an attempt that answered code and err.
func (w *Worker) outcome(d appstore.WebhookDelivery, code int, err error) result {
	now := time.Now()
	d.Attempts++
	d.LastCode = code
	d.LastError = ""
	r := result{outcome: "succeeded"}
	switch {
	case err == nil:
		d.Status, d.Delivered = appstore.DeliverySucceeded, now
		r.lag = now.Sub(eventTime(d))
	case now.Sub(d.Created) >= w.o.RetryFor:
		d.Status, d.LastError, r.outcome = appstore.DeliveryFailed, err.Error(), "failed"
	default:
		d.Status, d.LastError, r.outcome = appstore.DeliveryPending, err.Error(), "retry"
		d.NextAttempt = now.Add(Backoff(d.Attempts, w.o.FirstRetry, w.o.MaxBackoff))
	}
	r.d = d
	return r
}

// record commits the results of a run as they come: each commit takes every result
// waiting. After a commit fails it records nothing more and sets lost, which stops the
// run: what it did not record is sent again once the lease runs out, in order.
func (w *Worker) record(ctx context.Context, results <-chan result, lost *atomic.Bool) error {
	var failure error
	for r := range results {
		batch := []result{r}
	more:
		for {
			select {
			case r, ok := <-results:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		if lost.Load() {
			continue
		}
		ds := make([]appstore.WebhookDelivery, len(batch))
		for i, r := range batch {
			ds[i] = r.d
		}
		if err := w.store.FinishDelivery(ctx, ds...); err != nil {
			lost.Store(true)
			failure = fmt.Errorf("deliveries %d to %d: %w", ds[0].ID, ds[len(ds)-1].ID, err)
			continue
		}
		for _, r := range batch {
			if r.release {
				continue
			}
			if w.o.Observe != nil {
				w.o.Observe(r.outcome, r.lag)
			}
			if r.outcome != "succeeded" {
				d := r.d
				w.o.Logger.Info("webhook delivery failed", "endpoint", d.EndpointID, "event", d.EventID, "attempt", d.Attempts, "status", d.Status, "err", d.LastError)
			}
		}
	}
	return failure
}

// eventTime is when the delivered event happened (the delivery's creation for a ping).
func eventTime(d appstore.WebhookDelivery) time.Time {
	var e struct {
		Time time.Time `json:"time"`
	}
	if json.Unmarshal(d.Payload, &e) == nil && !e.Time.IsZero() {
		return e.Time
	}
	return d.Created
}

// attempt sends d once; a nil error means the receiver answered 2xx in time.
func (w *Worker) attempt(ctx context.Context, ep appstore.WebhookEndpoint, d appstore.WebhookDelivery) (int, error) {
	if ep.ID == "" {
		return 0, errors.New("the endpoint was removed")
	}
	if !w.o.AllowPrivate {
		if err := CheckURL(ctx, ep.URL, false); err != nil {
			return 0, err
		}
	}
	secrets, err := w.secrets(ep)
	if err != nil {
		return 0, fmt.Errorf("cannot sign: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, strings.NewReader(string(d.Payload)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "oktasync-webhooks/1")
	req.Header.Set("Oktasync-Event-Type", d.EventType)
	if err := webhook.SetHeaders(req.Header, d.EventID, time.Now(), d.Payload, secrets...); err != nil {
		return 0, fmt.Errorf("cannot sign: %w", err)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("HTTP %s", resp.Status)
	}
	return resp.StatusCode, nil
}

// secrets opens the endpoint's current secret and, during a rotation, the previous one.
func (w *Worker) secrets(ep appstore.WebhookEndpoint) ([]string, error) {
	cur, err := seal.Open(w.o.Key, SecretOwner(ep.ID), ep.SecretEnc)
	if err != nil {
		return nil, err
	}
	out := []string{cur}
	if len(ep.OldSecretEnc) > 0 && time.Now().Before(ep.OldSecretUntil) {
		// A previous secret sealed under a key since replaced cannot sign any more; the
		// current one still does.
		if old, err := seal.Open(w.o.Key, SecretOwner(ep.ID), ep.OldSecretEnc); err == nil {
			out = append(out, old)
		}
	}
	return out, nil
}

// Backoff is the wait before retry n (n = 1 after the first failed attempt): first
// doubled n-1 times, at most max, of which a random part up to half is taken off.
func Backoff(n int, first, max time.Duration) time.Duration {
	d := first
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d/2 + rand.N(d/2+1)
}
