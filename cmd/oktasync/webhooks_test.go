package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/delivery"
	"github.com/oktasync/oktasync/event"
	"github.com/oktasync/oktasync/internal/testbin"
	"github.com/oktasync/oktasync/seal"
	"github.com/oktasync/oktasync/webhook"
)

// binary is the oktasync binary, for tests that need a real process.
func binary(t testing.TB) string {
	return testbin.Build(t, "github.com/oktasync/oktasync/cmd/oktasync")
}

// proc is `oktasync serve` running as its own process.
type proc struct {
	cmd    *exec.Cmd
	addr   string
	stdout *syncBuffer
}

func startProc(t testing.TB, vars map[string]string) *proc {
	t.Helper()
	p := &proc{addr: freeAddr(t), stdout: &syncBuffer{}}
	p.cmd = exec.Command(binary(t), "serve")
	p.cmd.Env = []string{"OKTASYNC_LISTEN=" + p.addr, "OKTASYNC_LOG_LEVEL=warn", "PATH=" + os.Getenv("PATH")}
	for k, v := range vars {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + p.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %v\n%s", err, p.stdout.String())
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL: no shutdown code runs.
func (p *proc) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

// hookReceiver is a real HTTP receiver that verifies signatures and counts deliveries
// of each event.
type hookReceiver struct {
	srv    *httptest.Server
	secret string
	delay  time.Duration

	mu    sync.Mutex
	count map[string]int
	order map[string][]int64 // tenant -> seqs in order of first arrival
	bad   []string
}

func newHookReceiver(t testing.TB, secret string, delay time.Duration) *hookReceiver {
	r := &hookReceiver{secret: secret, delay: delay, count: map[string]int{}, order: map[string][]int64{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		time.Sleep(r.delay)
		var e event.Event
		err := webhook.Verify(r.secret, req.Header, body)
		if err == nil {
			err = json.Unmarshal(body, &e)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil {
			r.bad = append(r.bad, err.Error())
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		// A repeat is a duplicate (counted by stats), not an arrival out of order: after
		// a kill the deliveries not yet recorded are sent again from the first of them.
		if r.count[e.ID] == 0 {
			r.order[e.Tenant] = append(r.order[e.Tenant], e.Seq)
		}
		r.count[e.ID]++
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) stats() (unique, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.count {
		unique++
		total += n
	}
	return
}

// check fails the test on a bad signature or a tenant whose events first arrived out
// of seq order.
func (r *hookReceiver) check(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bad) > 0 {
		t.Fatalf("receiver refused %d deliveries: %v", len(r.bad), r.bad[0])
	}
	for tn, seqs := range r.order {
		for i := 1; i < len(seqs); i++ {
			if seqs[i] < seqs[i-1] {
				t.Fatalf("tenant %s: seq %d arrived after %d", tn, seqs[i], seqs[i-1])
			}
		}
	}
}

// webhookSetup opens the database, creates an endpoint for url with a fresh secret
// sealed under a fresh key, and returns the key (as OKTASYNC_SECRET_KEY) and secret.
func webhookSetup(t testing.TB, dbURL string, receiverURL func(secret string) string) (store appstore.Store, keyB64 string) {
	t.Helper()
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i * 7)
	}
	store, err := appstore.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	secret, _ := webhook.NewSecret()
	enc, err := seal.Seal(key, delivery.SecretOwner("wh_e2e"), secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateWebhook(context.Background(), appstore.WebhookEndpoint{ID: "wh_e2e", URL: receiverURL(secret), Enabled: true, SecretEnc: enc}); err != nil {
		t.Fatal(err)
	}
	return store, base64.StdEncoding.EncodeToString(key)
}

// createUsers POSTs n users through SCIM with 8 concurrent clients.
func createUsers(t testing.TB, scimURL, token, prefix string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	next := make(chan int)
	go func() {
		for i := 0; i < n; i++ {
			next <- i
		}
		close(next)
	}()
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s%d@example.com","active":true}`, prefix, i)
				req, _ := http.NewRequest("POST", scimURL+"/Users", bytes.NewBufferString(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/scim+json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Errorf("create: %v", err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					t.Errorf("create: status %d", resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
}

func feedLen(t testing.TB, s appstore.Store) int {
	f := &storetest.Feed{S: s}
	return len(f.Next(t))
}

func waitUntil(t testing.TB, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWebhooksSurviveSIGKILL kills `oktasync serve` with SIGKILL while deliveries are
// in flight and starts it again: the receiver gets every event, first in order per
// tenant. Deliveries that were in flight or not yet recorded are sent again (at least
// once); the test reports how many arrived twice.
func TestWebhooksSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and waits out a delivery lease (about 20 s)")
	}
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dbURL := b.URL(t)
			var r *hookReceiver
			store, key := webhookSetup(t, dbURL, func(secret string) string {
				r = newHookReceiver(t, secret, 20*time.Millisecond)
				return r.srv.URL
			})
			vars := map[string]string{"OKTASYNC_DB": dbURL, "OKTASYNC_SECRET_KEY": key, "OKTASYNC_WEBHOOK_ALLOW_PRIVATE": "true"}
			p := startProc(t, vars)
			waitUntil(t, "the first start's token", 10*time.Second, func() bool { return strings.Contains(p.stdout.String(), "API token:") })
			scimURL, token := bootToken(t, p.stdout.String())
			const users = 300
			createUsers(t, scimURL, token, "k", users)
			waitUntil(t, "some deliveries before the kill", 30*time.Second, func() bool { u, _ := r.stats(); return u >= 30 })
			p.kill()
			before, _ := r.stats()
			want := feedLen(t, store)
			if before >= want {
				t.Fatalf("every delivery was done before the kill (%d of %d): the test proves nothing", before, want)
			}
			startProc(t, vars)
			waitUntil(t, "every event after the restart", 90*time.Second, func() bool { u, _ := r.stats(); return u == want })
			time.Sleep(200 * time.Millisecond)
			r.check(t)
			unique, total := r.stats()
			if unique != want {
				t.Fatalf("receiver got %d distinct events, the feed has %d", unique, want)
			}
			t.Logf("%d events; %d delivered before SIGKILL; after restart all delivered, %d duplicate(s)", want, before, total-unique)
		})
	}
}

// TestTwoServersShareTheQueue runs two `oktasync serve` processes on one PostgreSQL
// database: each event reaches the endpoint exactly once.
func TestTwoServersShareTheQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs two servers")
	}
	dbURL := storetest.Postgres.URL(t)
	var r *hookReceiver
	store, key := webhookSetup(t, dbURL, func(secret string) string {
		r = newHookReceiver(t, secret, 5*time.Millisecond)
		return r.srv.URL
	})
	vars := map[string]string{"OKTASYNC_DB": dbURL, "OKTASYNC_SECRET_KEY": key, "OKTASYNC_WEBHOOK_ALLOW_PRIVATE": "true"}
	p1 := startProc(t, vars)
	// The child's output reaches the buffer through a pipe, possibly after /healthz answers.
	waitUntil(t, "the first start's token", 10*time.Second, func() bool { return strings.Contains(p1.stdout.String(), "API token:") })
	scimURL, token := bootToken(t, p1.stdout.String())
	p2 := startProc(t, vars)
	if strings.Contains(p2.stdout.String(), "API token:") {
		t.Fatal("the second server bootstrapped again")
	}
	// Each server takes half the writes.
	var wg sync.WaitGroup
	for i, addr := range []string{p1.addr, p2.addr} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			createUsers(t, "http://"+addr+"/scim/v2", token, fmt.Sprintf("s%d-", i), 200)
		}()
	}
	wg.Wait()
	_ = scimURL
	want := feedLen(t, store)
	waitUntil(t, "every event", 60*time.Second, func() bool { u, _ := r.stats(); return u == want })
	time.Sleep(500 * time.Millisecond) // a duplicate would arrive now
	r.check(t)
	unique, total := r.stats()
	if unique != want || total != want {
		t.Fatalf("%d events in the feed; receiver got %d distinct in %d deliveries, want each exactly once", want, unique, total)
	}
	t.Logf("%d events, each delivered once by two servers", want)
}

// BenchmarkServeOktaCreateLoadWithWebhook is BenchmarkServeOktaCreateLoad with one
// webhook endpoint configured: a local receiver that answers 200 at once, so the
// delivery worker sends every event while the SCIM load runs.
func BenchmarkServeOktaCreateLoadWithWebhook(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			dbURL := be.URL(b)
			var r *hookReceiver
			_, key := webhookSetup(b, dbURL, func(secret string) string {
				r = newHookReceiver(b, secret, 0)
				return r.srv.URL
			})
			createLoad(b, map[string]string{"OKTASYNC_DB": dbURL, "OKTASYNC_SECRET_KEY": key, "OKTASYNC_WEBHOOK_ALLOW_PRIVATE": "true"})
			u, _ := r.stats()
			b.ReportMetric(float64(u), "delivered-during-load")
		})
	}
}
