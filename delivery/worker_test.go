package delivery_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/delivery"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/event"
	"github.com/oktasync/oktasync/seal"
	"github.com/oktasync/oktasync/webhook"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// receiver is a real HTTP server that checks every delivery's signature with our
// package and with the Standard Webhooks library, and records what it accepted.
type receiver struct {
	t       testing.TB
	secrets []string
	addr    string

	mu       sync.Mutex
	mode     int // http status to answer
	srv      *http.Server
	got      []event.Event // accepted (2xx) deliveries, in arrival order
	attempts int
	bad      []string
	headers  []http.Header
}

func newReceiver(t testing.TB, secrets ...string) *receiver {
	r := &receiver{t: t, secrets: secrets, mode: http.StatusOK}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.serve(ln)
	t.Cleanup(r.stop)
	return r
}

func (r *receiver) url() string { return "http://" + r.addr + "/hook" }

func (r *receiver) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(r.handle)}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go srv.Serve(ln)
}

// stop closes the listener: connections are refused until start.
func (r *receiver) stop() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

func (r *receiver) start() {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port was just released
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatalf("listen again on %s: %v", r.addr, err)
	}
	r.serve(ln)
}

func (r *receiver) setMode(code int) {
	r.mu.Lock()
	r.mode = code
	r.mu.Unlock()
}

func (r *receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	r.headers = append(r.headers, req.Header.Clone())
	for _, s := range r.secrets {
		if err := webhook.Verify(s, req.Header, body); err != nil {
			r.bad = append(r.bad, "ours: "+err.Error())
		}
		wh, _ := standardwebhooks.NewWebhook(s)
		if err := wh.Verify(body, req.Header); err != nil {
			r.bad = append(r.bad, "standard library: "+err.Error())
		}
	}
	var e event.Event
	if err := json.Unmarshal(body, &e); err != nil || req.Header.Get("Content-Type") != "application/json" ||
		req.Header.Get("Oktasync-Event-Type") != e.Type || req.Header.Get(webhook.HeaderID) != e.ID {
		r.bad = append(r.bad, fmt.Sprintf("malformed delivery: %v %v", err, req.Header))
	}
	if r.mode/100 != 2 {
		w.WriteHeader(r.mode)
		return
	}
	r.got = append(r.got, e)
	w.WriteHeader(r.mode)
}

func (r *receiver) accepted() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Event(nil), r.got...)
}

func sealedSecret(t testing.TB, id string) (string, []byte) {
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	enc, err := seal.Seal(testKey, delivery.SecretOwner(id), secret)
	if err != nil {
		t.Fatal(err)
	}
	return secret, enc
}

func addEndpoint(t testing.TB, s appstore.Store, url string, secretFor func(id string) []byte) appstore.WebhookEndpoint {
	const id = "wh_test"
	w, err := s.CreateWebhook(context.Background(), appstore.WebhookEndpoint{ID: id, URL: url, Enabled: true, SecretEnc: secretFor(id)})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func runWorker(t testing.TB, s appstore.Store, o delivery.Options) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		delivery.New(s, o).Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func fastOptions() delivery.Options {
	return delivery.Options{Key: testKey, AllowPrivate: true, Poll: 10 * time.Millisecond, FirstRetry: 40 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond, Timeout: 2 * time.Second}
}

func waitFor(t testing.TB, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDeliveryThroughOutages: the receiver answers 503 for a while, then refuses
// connections, then comes back. It gets every event, each tenant's in seq order, with
// signatures that verify with both our package and the Standard Webhooks library.
func TestDeliveryThroughOutages(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			ctx := context.Background()
			if _, err := s.CreateTenant(ctx, appstore.Tenant{ID: "acme"}); err != nil {
				t.Fatal(err)
			}
			var secret string
			var r *receiver
			r = newReceiver(t)
			w := addEndpoint(t, s, r.url(), func(id string) []byte {
				var enc []byte
				secret, enc = sealedSecret(t, id)
				return enc
			})
			r.secrets = []string{secret}
			// The endpoint gets the events committed after it was made (not the
			// tenant.created of acme).
			since, err := s.LastEventSeq(ctx)
			if err != nil {
				t.Fatal(err)
			}
			runWorker(t, s, fastOptions())

			write := func(n int, tag string) {
				for i := 0; i < n; i++ {
					for _, tn := range []string{"default", "acme"} {
						if _, err := s.CreateUser(ctx, appstore.User{TenantID: tn, UserName: fmt.Sprintf("%s%d@%s.com", tag, i, tn), Active: true}); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			write(5, "ok")
			waitFor(t, "the first events", 10*time.Second, func() bool { return len(r.accepted()) == 10 })

			r.setMode(http.StatusServiceUnavailable)
			write(5, "busy")
			time.Sleep(500 * time.Millisecond)
			ds, _ := s.ListDeliveries(ctx, w.ID, 100)
			retried := false
			for _, d := range ds {
				retried = retried || (d.Status == appstore.DeliveryPending && d.Attempts >= 2 && d.LastCode == 503 && d.LastError != "")
			}
			if !retried {
				t.Fatalf("no delivery shows retries of a 503: %+v", ds[:2])
			}

			r.stop()
			r.setMode(http.StatusOK)
			write(5, "down")
			time.Sleep(500 * time.Millisecond)
			ds, _ = s.ListDeliveries(ctx, w.ID, 100)
			if d := oldestPending(ds); d == nil || d.LastCode != 0 || !strings.Contains(d.LastError, "refused") {
				t.Fatalf("while refused, the head delivery shows %+v", d)
			}
			r.start()

			want, err := s.ListEvents(ctx, appstore.EventQuery{After: since, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "every event after the outage", 30*time.Second, func() bool {
				return len(unique(r.accepted())) == len(want.Events)
			})
			got := r.accepted()
			last := map[string]int64{}
			for _, e := range got {
				if e.Seq < last[e.Tenant] {
					t.Fatalf("tenant %s: seq %d accepted after %d", e.Tenant, e.Seq, last[e.Tenant])
				}
				last[e.Tenant] = e.Seq
			}
			r.mu.Lock()
			bad, attempts := r.bad, r.attempts
			r.mu.Unlock()
			if len(bad) > 0 {
				t.Fatalf("receiver refused deliveries: %v", bad[:min(3, len(bad))])
			}
			t.Logf("%d events, %d accepted deliveries (%d duplicates), %d attempts", len(want.Events), len(got), len(got)-len(unique(got)), attempts)
		})
	}
}

// A delivery that fails in the middle of a lane's run stops the run: the lane's later
// events are not attempted until it has succeeded, and each attempt, retries included,
// reaches the receiver in seq order.
func TestDeliveryFailureMidRunHoldsBackTheRest(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			ctx := context.Background()
			var mu sync.Mutex
			var attempts []int64 // the seq of every request, in arrival order
			var failSeq int64
			fails := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				var e event.Event
				body, _ := io.ReadAll(req.Body)
				_ = json.Unmarshal(body, &e)
				mu.Lock()
				defer mu.Unlock()
				attempts = append(attempts, e.Seq)
				if e.Seq == failSeq && fails < 2 {
					fails++
					w.WriteHeader(http.StatusServiceUnavailable)
				}
			}))
			t.Cleanup(srv.Close)
			addEndpoint(t, s, srv.URL, func(id string) []byte { _, enc := sealedSecret(t, id); return enc })
			for i := 0; i < 20; i++ {
				mustCreate(t, s, fmt.Sprintf("run%d@example.com", i))
			}
			page, err := s.ListEvents(ctx, appstore.EventQuery{Limit: 100})
			if err != nil || len(page.Events) != 20 {
				t.Fatalf("events = %d %v", len(page.Events), err)
			}
			var want []int64
			for i, e := range page.Events {
				want = append(want, e.Seq)
				if i == 4 {
					want = append(want, e.Seq, e.Seq)
				}
			}
			mu.Lock()
			failSeq = page.Events[4].Seq
			mu.Unlock()
			runWorker(t, s, fastOptions())
			waitFor(t, "every event", 10*time.Second, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(attempts) >= len(want)
			})
			time.Sleep(100 * time.Millisecond) // an attempt too many would arrive now
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(attempts) != fmt.Sprint(want) {
				t.Fatalf("attempts in order of arrival:\n%v\nwant\n%v", attempts, want)
			}
		})
	}
}

func oldestPending(ds []appstore.WebhookDelivery) *appstore.WebhookDelivery {
	var out *appstore.WebhookDelivery
	for i := range ds {
		if ds[i].Status == appstore.DeliveryPending {
			out = &ds[i]
		}
	}
	return out
}

func unique(es []event.Event) map[string]bool {
	m := map[string]bool{}
	for _, e := range es {
		m[e.ID] = true
	}
	return m
}

// A delivery that keeps failing past RetryFor is marked failed, and the lane moves on.
func TestDeliveryGivesUp(t *testing.T) {
	s := storetest.SQLite.Open(t)
	ctx := context.Background()
	r := newReceiver(t)
	r.setMode(http.StatusInternalServerError)
	w := addEndpoint(t, s, r.url(), func(id string) []byte { _, enc := sealedSecret(t, id); return enc })
	o := fastOptions()
	o.RetryFor = 300 * time.Millisecond
	runWorker(t, s, o)
	if _, err := s.CreateUser(ctx, appstore.User{TenantID: "default", UserName: "gone@example.com", Active: true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the delivery to be marked failed", 10*time.Second, func() bool {
		ds, _ := s.ListDeliveries(ctx, w.ID, 10)
		return len(ds) == 1 && ds[0].Status == appstore.DeliveryFailed
	})
	ds, _ := s.ListDeliveries(ctx, w.ID, 10)
	if ds[0].Attempts < 2 || ds[0].LastCode != 500 || !ds[0].NextAttempt.Before(time.Now().Add(time.Second)) {
		t.Fatalf("failed delivery = %+v", ds[0])
	}
	r.setMode(http.StatusOK)
	if _, err := s.RetryDelivery(ctx, w.ID, ds[0].ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the manual retry", 10*time.Second, func() bool { return len(r.accepted()) == 1 })
}

// During a rotation the old secret signs too; when its 24 hours are over it stops.
func TestDeliverySignsWithBothSecretsDuringRotation(t *testing.T) {
	s := storetest.SQLite.Open(t)
	ctx := context.Background()
	r := newReceiver(t)
	var oldSecret, newSecret string
	w := addEndpoint(t, s, r.url(), func(id string) []byte {
		var enc []byte
		oldSecret, enc = sealedSecret(t, id)
		return enc
	})
	var newEnc []byte
	newSecret, newEnc = sealedSecret(t, w.ID)
	if _, err := s.UpdateWebhook(ctx, w.ID, func(w *appstore.WebhookEndpoint) error {
		w.OldSecretEnc, w.SecretEnc, w.OldSecretUntil = w.SecretEnc, newEnc, time.Now().Add(24*time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r.secrets = []string{oldSecret, newSecret}
	runWorker(t, s, fastOptions())
	mustCreate(t, s, "rot1@example.com")
	waitFor(t, "the delivery", 10*time.Second, func() bool { return len(r.accepted()) == 1 })
	if _, err := s.UpdateWebhook(ctx, w.ID, func(w *appstore.WebhookEndpoint) error { w.OldSecretUntil = time.Now().Add(-time.Second); return nil }); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.secrets = []string{newSecret}
	r.mu.Unlock()
	mustCreate(t, s, "rot2@example.com")
	waitFor(t, "the second delivery", 10*time.Second, func() bool { return len(r.accepted()) == 2 })
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bad) > 0 {
		t.Fatalf("bad deliveries: %v", r.bad)
	}
	if n := len(strings.Fields(r.headers[0].Get(webhook.HeaderSignature))); n != 2 {
		t.Fatalf("during rotation %d signatures, want 2", n)
	}
	if n := len(strings.Fields(r.headers[1].Get(webhook.HeaderSignature))); n != 1 {
		t.Fatalf("after rotation %d signatures, want 1", n)
	}
	if err := webhook.Verify(oldSecret, r.headers[1], nil); !errors.Is(err, webhook.ErrNoMatch) {
		t.Fatalf("old secret after its 24 h: %v", err)
	}
}

func mustCreate(t testing.TB, s appstore.Store, userName string) {
	t.Helper()
	if _, err := s.CreateUser(context.Background(), appstore.User{TenantID: "default", UserName: userName, Active: true}); err != nil {
		t.Fatal(err)
	}
}

// Without OKTASYNC_WEBHOOK_ALLOW_PRIVATE a delivery to a loopback address is refused
// when dialled, and the receiver never hears of it.
func TestDeliveryRefusesPrivateAddresses(t *testing.T) {
	s := storetest.SQLite.Open(t)
	ctx := context.Background()
	r := newReceiver(t)
	w := addEndpoint(t, s, r.url(), func(id string) []byte { _, enc := sealedSecret(t, id); return enc })
	o := fastOptions()
	o.AllowPrivate = false
	runWorker(t, s, o)
	mustCreate(t, s, "ssrf@example.com")
	waitFor(t, "a refused attempt", 10*time.Second, func() bool {
		ds, _ := s.ListDeliveries(ctx, w.ID, 10)
		return len(ds) == 1 && ds[0].Attempts > 0
	})
	ds, _ := s.ListDeliveries(ctx, w.ID, 10)
	if !strings.Contains(ds[0].LastError, "loopback") {
		t.Fatalf("last error %q, want the loopback refusal", ds[0].LastError)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.attempts != 0 {
		t.Fatalf("receiver got %d requests", r.attempts)
	}
}

func TestCheckURL(t *testing.T) {
	cases := []struct {
		url          string
		allowPrivate bool
		ok           bool
	}{
		{"https://93.184.215.14/hook", false, true},
		{"http://[2606:4700::1111]/hook", false, true},
		{"ftp://93.184.215.14/", false, false},
		{"/relative", false, false},
		{"https://", false, false},
		{"http://127.0.0.1:8080/", false, false},
		{"http://localhost/", false, false},
		{"http://10.1.2.3/", false, false},
		{"http://172.16.0.1/", false, false},
		{"http://192.168.1.1/", false, false},
		{"http://169.254.169.254/latest/meta-data", false, false},
		{"http://[::1]/", false, false},
		{"http://[fe80::1]/", false, false},
		{"http://[fd00::1]/", false, false},
		{"http://0.0.0.0/", false, false},
		{"http://[::ffff:127.0.0.1]/", false, false},
		{"http://127.0.0.1:8080/", true, true},
		{"ftp://127.0.0.1/", true, false},
	}
	for _, c := range cases {
		err := delivery.CheckURL(context.Background(), c.url, c.allowPrivate)
		if (err == nil) != c.ok {
			t.Errorf("CheckURL(%q, allowPrivate=%v) = %v, want ok=%v", c.url, c.allowPrivate, err, c.ok)
		}
		if err != nil && !errors.Is(err, errkind.Invalid) {
			t.Errorf("CheckURL(%q): kind %v, want invalid", c.url, errkind.Of(err))
		}
	}
}

func TestBackoff(t *testing.T) {
	for n := 1; n <= 30; n++ {
		d := delivery.Backoff(n, delivery.DefaultFirstRetry, delivery.DefaultMaxBackoff)
		hi := delivery.DefaultFirstRetry << min(n-1, 20)
		hi = min(hi, delivery.DefaultMaxBackoff)
		if d < hi/2 || d > hi {
			t.Errorf("Backoff(%d) = %v, want within [%v, %v]", n, d, hi/2, hi)
		}
	}
	if d := delivery.Backoff(1, delivery.DefaultFirstRetry, delivery.DefaultMaxBackoff); d > 10*time.Second {
		t.Errorf("first retry after %v, want within 10 s", d)
	}
}
