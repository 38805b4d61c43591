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
	// Concurrency is how many deliveries are sent at once (DefaultConcurrency).
	Concurrency int
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

// Step fans out what is new, then claims and sends one batch of deliveries; it returns
// how many deliveries it attempted.
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
	batch, err := w.store.ClaimDeliveries(ctx, w.o.Concurrency, w.o.Timeout+5*time.Second)
	if err != nil || len(batch) == 0 {
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
	var wg sync.WaitGroup
	errs := make([]error, len(batch))
	for i, d := range batch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.deliver(ctx, endpoints[d.EndpointID], d)
		}()
	}
	wg.Wait()
	return len(batch), errors.Join(errs...)
}

// deliver makes one attempt of d and records its outcome.
func (w *Worker) deliver(ctx context.Context, ep appstore.WebhookEndpoint, d appstore.WebhookDelivery) error {
	code, err := w.attempt(ctx, ep, d)
	if ctx.Err() != nil {
		// Shutting down: the lease runs out and the delivery is attempted again.
		return nil
	}
	now := time.Now()
	d.Attempts++
	d.LastCode = code
	d.LastError = ""
	outcome := "succeeded"
	switch {
	case err == nil:
		d.Status = appstore.DeliverySucceeded
	case now.Sub(d.Created) >= w.o.RetryFor:
		d.Status, d.LastError, outcome = appstore.DeliveryFailed, err.Error(), "failed"
	default:
		d.Status, d.LastError, outcome = appstore.DeliveryPending, err.Error(), "retry"
		d.NextAttempt = now.Add(Backoff(d.Attempts, w.o.FirstRetry, w.o.MaxBackoff))
	}
	if err := w.store.FinishDelivery(context.WithoutCancel(ctx), d); err != nil {
		return fmt.Errorf("delivery %d: %w", d.ID, err)
	}
	if w.o.Observe != nil {
		var lag time.Duration
		if outcome == "succeeded" {
			lag = now.Sub(eventTime(d))
		}
		w.o.Observe(outcome, lag)
	}
	if outcome != "succeeded" {
		w.o.Logger.Info("webhook delivery failed", "endpoint", d.EndpointID, "event", d.EventID, "attempt", d.Attempts, "status", d.Status, "err", d.LastError)
	}
	return nil
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
