package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/event"
)

func mustWebhook(t *testing.T, s appstore.Store, w appstore.WebhookEndpoint) appstore.WebhookEndpoint {
	t.Helper()
	if w.SecretEnc == nil {
		w.SecretEnc = []byte("sealed-secret")
	}
	w.Enabled = true
	out, err := s.CreateWebhook(ctxT(), w)
	if err != nil {
		t.Fatalf("create webhook: %v", err)
	}
	return out
}

func testWebhookEndpoints(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	for _, bad := range []appstore.WebhookEndpoint{
		{URL: "", SecretEnc: []byte("x")},
		{URL: "https://a.example", SecretEnc: nil},
		{URL: "https://a.example", SecretEnc: []byte("x"), Types: []string{"user.exploded"}},
		{URL: "https://a.example", SecretEnc: []byte("x"), Tenants: []string{"Not A Tenant"}},
	} {
		_, err := s.CreateWebhook(ctx, bad)
		mustKind(t, err, errkind.Invalid)
	}
	w := mustWebhook(t, s, appstore.WebhookEndpoint{URL: "https://a.example/hook", Types: []string{event.UserCreated}})
	got, err := s.GetWebhook(ctx, w.ID)
	if err != nil || got.URL != w.URL || !got.Enabled || len(got.Types) != 1 || len(got.Tenants) != 0 || string(got.SecretEnc) != "sealed-secret" {
		t.Fatalf("get = %+v %v", got, err)
	}
	until := time.Now().Add(24 * time.Hour).Truncate(time.Microsecond)
	up, err := s.UpdateWebhook(ctx, w.ID, func(w *appstore.WebhookEndpoint) error {
		w.Enabled, w.Tenants = false, []string{"acme"}
		w.OldSecretEnc, w.SecretEnc, w.OldSecretUntil = w.SecretEnc, []byte("new-secret"), until
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetWebhook(ctx, w.ID)
	if got.Enabled || got.Tenants[0] != "acme" || string(got.OldSecretEnc) != "sealed-secret" || string(got.SecretEnc) != "new-secret" || !got.OldSecretUntil.Equal(until) || !got.Updated.Equal(up.Updated) {
		t.Fatalf("after update = %+v", got)
	}
	_, err = s.UpdateWebhook(ctx, w.ID, func(w *appstore.WebhookEndpoint) error { w.Types = []string{"nope"}; return nil })
	mustKind(t, err, errkind.Invalid)
	list, _ := s.ListWebhooks(ctx)
	if len(list) != 1 {
		t.Fatalf("list = %+v", list)
	}
	if err := s.DeleteWebhook(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	mustKind(t, s.DeleteWebhook(ctx, w.ID), errkind.NotFound)
	_, err = s.GetWebhook(ctx, w.ID)
	mustKind(t, err, errkind.NotFound)
}

func testWebhookFanOut(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	if _, err := s.CreateTenant(ctx, appstore.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	mustUser(t, s, "default", "before@example.com", nil) // before any endpoint: never delivered
	all := mustWebhook(t, s, appstore.WebhookEndpoint{URL: "https://all.example"})
	acme := mustWebhook(t, s, appstore.WebhookEndpoint{URL: "https://acme.example", Tenants: []string{"acme"}, Types: []string{event.UserCreated}})
	off := mustWebhook(t, s, appstore.WebhookEndpoint{URL: "https://off.example"})
	if _, err := s.UpdateWebhook(ctx, off.ID, func(w *appstore.WebhookEndpoint) error { w.Enabled = false; return nil }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	u := mustUser(t, s, "acme", "a@acme.com", nil)
	mustUser(t, s, "default", "d@example.com", nil)
	if _, err := s.UpdateUser(ctx, "acme", u.ID, func(u *appstore.User) error { u.Active = false; return nil }); err != nil {
		t.Fatal(err)
	}
	n, err := s.FanOutEvents(ctx, 2)
	if err != nil || n != 2 {
		t.Fatalf("first fan-out = %d %v", n, err)
	}
	for {
		n, err := s.FanOutEvents(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	count := func(id string) []string {
		ds, err := s.ListDeliveries(ctx, id, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i := len(ds) - 1; i >= 0; i-- {
			out = append(out, ds[i].TenantID+" "+ds[i].EventType)
		}
		return out
	}
	if got := fmt.Sprint(count(all.ID)); got != "[acme user.created default user.created acme user.deactivated]" {
		t.Fatalf("all-tenants endpoint got %s", got)
	}
	if got := fmt.Sprint(count(acme.ID)); got != "[acme user.created]" {
		t.Fatalf("acme endpoint got %s", got)
	}
	if got := count(off.ID); len(got) != 0 {
		t.Fatalf("disabled endpoint got %v", got)
	}
	ds, _ := s.ListDeliveries(ctx, acme.ID, 10)
	if d := ds[0]; d.Status != appstore.DeliveryPending || d.EventSeq == 0 || len(d.Payload) == 0 || d.EventID == "" {
		t.Fatalf("queued delivery = %+v", d)
	}
	if n, oldest, err := s.DeliveryBacklog(ctx); err != nil || n != 4 || oldest.IsZero() {
		t.Fatalf("backlog = %d %v %v", n, oldest, err)
	}
	_, err = s.ListDeliveries(ctx, "wh_nope", 10)
	mustKind(t, err, errkind.NotFound)
}

// testWebhookQueueOrder: a lane (endpoint + tenant) is served head first, one at a
// time; a failing head holds its lane back while other lanes go on.
func testWebhookQueueOrder(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	if _, err := s.CreateTenant(ctx, appstore.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	w := mustWebhook(t, s, appstore.WebhookEndpoint{URL: "https://all.example"})
	time.Sleep(2 * time.Millisecond)
	for i := 0; i < 3; i++ {
		mustUser(t, s, "default", fmt.Sprintf("d%d@example.com", i), nil)
		mustUser(t, s, "acme", fmt.Sprintf("a%d@acme.com", i), nil)
	}
	if _, err := s.FanOutEvents(ctx, 100); err != nil {
		t.Fatal(err)
	}
	lease := time.Minute
	claim := func() []appstore.WebhookDelivery {
		ds, err := s.ClaimDeliveries(ctx, 10, 1, lease)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	first := claim()
	if len(first) != 2 || first[0].TenantID == first[1].TenantID {
		t.Fatalf("first claim = %+v, want one head per tenant", first)
	}
	if again := claim(); len(again) != 0 {
		t.Fatalf("claimed again while leased: %+v", again)
	}
	var def, acme appstore.WebhookDelivery
	for _, d := range first {
		if d.TenantID == "default" {
			def = d
		} else {
			acme = d
		}
	}
	// A stale lease cannot record an outcome.
	stale := def
	stale.Lease = stale.Lease.Add(-time.Second)
	stale.Status = appstore.DeliverySucceeded
	mustKind(t, s.FinishDelivery(ctx, stale), errkind.Conflict)

	// default's head fails and waits; acme's head succeeds.
	def.Attempts, def.Status, def.LastCode, def.LastError, def.NextAttempt = 1, appstore.DeliveryPending, 503, "HTTP 503", time.Now().Add(time.Hour)
	if err := s.FinishDelivery(ctx, def); err != nil {
		t.Fatal(err)
	}
	acme.Attempts, acme.Status, acme.LastCode = 1, appstore.DeliverySucceeded, 200
	if err := s.FinishDelivery(ctx, acme); err != nil {
		t.Fatal(err)
	}
	next := claim()
	if len(next) != 1 || next[0].TenantID != "acme" || next[0].EventSeq <= acme.EventSeq {
		t.Fatalf("after a failure in default: %+v, want only acme's next", next)
	}
	// A manual retry makes the failed head due now, and the lane goes on.
	r, err := s.RetryDelivery(ctx, w.ID, def.ID)
	if err != nil || r.Status != appstore.DeliveryPending || r.Attempts != 1 || r.LastCode != 503 {
		t.Fatalf("retry = %+v %v", r, err)
	}
	if got := claim(); len(got) != 1 || got[0].ID != def.ID {
		t.Fatalf("after retry: %+v", got)
	}
	_, err = s.RetryDelivery(ctx, w.ID, 999999)
	mustKind(t, err, errkind.NotFound)

	// Pings queue on a lane of their own.
	p, err := s.EnqueueDelivery(ctx, appstore.WebhookDelivery{EndpointID: w.ID, EventID: "evt_ping", EventType: event.Ping, Payload: []byte(`{"type":"ping"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if got := claim(); len(got) != 1 || got[0].ID != p.ID {
		t.Fatalf("ping claim = %+v", got)
	}
	// Removing an endpoint removes its queue.
	if err := s.DeleteWebhook(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := s.DeliveryBacklog(ctx); n != 0 {
		t.Fatalf("backlog after delete = %d", n)
	}
}

// testWebhookConcurrentClaims: four workers claim and finish lane heads at once; each
// delivery is claimed by one of them only, and only once every earlier delivery of its
// lane has succeeded.
func testWebhookConcurrentClaims(t *testing.T, s appstore.Store) { concurrentClaims(t, s, 1) }

// testWebhookConcurrentRuns is testWebhookConcurrentClaims with runs of up to 5 of a
// lane's deliveries, each run finished in one call: a run is claimed by one worker only,
// and only once every earlier delivery of its lane outside the run has succeeded.
func testWebhookConcurrentRuns(t *testing.T, s appstore.Store) { concurrentClaims(t, s, 5) }

func concurrentClaims(t *testing.T, s appstore.Store, run int) {
	ctx := ctxT()
	if _, err := s.CreateTenant(ctx, appstore.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	hook := mustWebhook(t, s, appstore.WebhookEndpoint{URL: "https://all.example"})
	time.Sleep(2 * time.Millisecond)
	const per = 40
	for i := 0; i < per; i++ {
		mustUser(t, s, "default", fmt.Sprintf("d%d@example.com", i), nil)
		mustUser(t, s, "acme", fmt.Sprintf("a%d@acme.com", i), nil)
	}
	if _, err := s.FanOutEvents(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	done := map[int64]int{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for idle := 0; idle < 20; {
				ds, err := s.ClaimDeliveries(ctx, 2, run, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					idle++
					time.Sleep(5 * time.Millisecond)
					continue
				}
				if len(ds) > 2*run {
					t.Errorf("claimed %d deliveries, want at most %d", len(ds), 2*run)
				}
				all, err := s.ListDeliveries(ctx, hook.ID, 1000)
				if err != nil {
					t.Error(err)
					return
				}
				claimed := map[int64]bool{}
				for _, d := range ds {
					claimed[d.ID] = true
				}
				for _, d := range ds {
					for _, o := range all {
						if o.TenantID == d.TenantID && o.EventSeq < d.EventSeq && !claimed[o.ID] && o.Status != appstore.DeliverySucceeded {
							t.Errorf("delivery of seq %d claimed while seq %d of tenant %s is %s", d.EventSeq, o.EventSeq, d.TenantID, o.Status)
						}
					}
				}
				for i := range ds {
					ds[i].Status, ds[i].Attempts = appstore.DeliverySucceeded, 1
				}
				finish := [][]appstore.WebhookDelivery{ds}
				if run == 1 {
					finish = nil
					for _, d := range ds {
						finish = append(finish, []appstore.WebhookDelivery{d})
					}
				}
				for _, f := range finish {
					if err := s.FinishDelivery(ctx, f...); err != nil {
						t.Errorf("finish %d: %v", f[0].ID, err)
						return
					}
				}
				mu.Lock()
				for _, d := range ds {
					done[d.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(done) != 2*per {
		t.Fatalf("%d deliveries finished, want %d", len(done), 2*per)
	}
	for id, n := range done {
		if n != 1 {
			t.Fatalf("delivery %d claimed %d times", id, n)
		}
	}
}

// testWebhookClaimRuns: a claim takes a run of each lane's consecutive deliveries, in
// seq order, under one lease; a second claimer gets none of them while they are
// leased; a failed delivery holds back the rest of its lane; a run never passes over a
// delivery of its lane that is leased elsewhere.
func testWebhookClaimRuns(t *testing.T, s appstore.Store) {
	ctx := ctxT()
	if _, err := s.CreateTenant(ctx, appstore.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	w := mustWebhook(t, s, appstore.WebhookEndpoint{URL: "https://all.example"})
	time.Sleep(2 * time.Millisecond)
	for i := 0; i < 6; i++ {
		mustUser(t, s, "default", fmt.Sprintf("d%d@example.com", i), nil)
	}
	for i := 0; i < 2; i++ {
		mustUser(t, s, "acme", fmt.Sprintf("a%d@acme.com", i), nil)
	}
	fanOut := func() {
		t.Helper()
		if _, err := s.FanOutEvents(ctx, 100); err != nil {
			t.Fatal(err)
		}
	}
	fanOut()
	claim := func(run int) []appstore.WebhookDelivery {
		t.Helper()
		ds, err := s.ClaimDeliveries(ctx, 10, run, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	// lanes splits a claim into its runs, checking that each lane's run is together
	// and in seq order.
	lanes := func(ds []appstore.WebhookDelivery) map[string][]appstore.WebhookDelivery {
		t.Helper()
		out := map[string][]appstore.WebhookDelivery{}
		prev := ""
		for _, d := range ds {
			run := out[d.TenantID]
			if len(run) > 0 && prev != d.TenantID {
				t.Fatalf("tenant %s's run is split in the claim", d.TenantID)
			}
			if len(run) > 0 && run[len(run)-1].EventSeq >= d.EventSeq {
				t.Fatalf("tenant %s: seq %d claimed after %d", d.TenantID, d.EventSeq, run[len(run)-1].EventSeq)
			}
			if !d.Lease.Equal(ds[0].Lease) || !d.Lease.After(time.Now()) {
				t.Fatalf("leases %v and %v in one claim", d.Lease, ds[0].Lease)
			}
			out[d.TenantID] = append(run, d)
			prev = d.TenantID
		}
		return out
	}
	seqs := func(ds []appstore.WebhookDelivery) []int64 {
		var out []int64
		for _, d := range ds {
			out = append(out, d.EventSeq)
		}
		return out
	}
	pending, _ := s.ListDeliveries(ctx, w.ID, 100)
	var defSeqs []int64
	for i := len(pending) - 1; i >= 0; i-- {
		if pending[i].TenantID == "default" {
			defSeqs = append(defSeqs, pending[i].EventSeq)
		}
	}

	first := lanes(claim(4))
	def, acme := first["default"], first["acme"]
	if len(first) != 2 || len(def) != 4 || len(acme) != 2 || fmt.Sprint(seqs(def)) != fmt.Sprint(defSeqs[:4]) {
		t.Fatalf("first claim: default %v, acme %v; want default's first four %v and acme's two", seqs(def), seqs(acme), defSeqs[:4])
	}
	if again := claim(50); len(again) != 0 {
		t.Fatalf("a second claimer got %v while the runs are leased", seqs(again))
	}

	// One stale lease among the outcomes: nothing is recorded.
	ok := acme[0]
	ok.Status, ok.Attempts, ok.LastCode = appstore.DeliverySucceeded, 1, 200
	stale := acme[1]
	stale.Lease = stale.Lease.Add(-time.Second)
	stale.Status, stale.Attempts, stale.LastCode = appstore.DeliverySucceeded, 1, 200
	mustKind(t, s.FinishDelivery(ctx, ok, stale), errkind.Conflict)
	if d, _ := s.GetDelivery(ctx, w.ID, ok.ID); d.Status != appstore.DeliveryPending || d.Lease.IsZero() {
		t.Fatalf("after a conflicting finish the other delivery is %+v", d)
	}
	for i := range acme {
		acme[i].Status, acme[i].Attempts, acme[i].LastCode = appstore.DeliverySucceeded, 1, 200
	}
	if err := s.FinishDelivery(ctx, acme...); err != nil {
		t.Fatal(err)
	}

	// default: the first succeeds, the second fails and waits an hour, the other two
	// were never sent and are handed back as claimed, in the same call.
	at := time.Now().Add(-time.Minute).Truncate(time.Microsecond)
	def[0].Status, def[0].Attempts, def[0].LastCode, def[0].Delivered = appstore.DeliverySucceeded, 1, 204, at
	def[1].Status, def[1].Attempts, def[1].LastCode, def[1].LastError, def[1].NextAttempt = appstore.DeliveryPending, 1, 503, "HTTP 503", time.Now().Add(time.Hour)
	if err := s.FinishDelivery(ctx, def...); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.GetDelivery(ctx, w.ID, def[0].ID); d.Status != appstore.DeliverySucceeded || d.LastCode != 204 || !d.Delivered.Equal(at) || !d.Lease.IsZero() {
		t.Fatalf("succeeded delivery = %+v", d)
	}
	if d, _ := s.GetDelivery(ctx, w.ID, def[2].ID); d.Status != appstore.DeliveryPending || d.Attempts != 0 || !d.Lease.IsZero() || !d.NextAttempt.Equal(def[2].NextAttempt) {
		t.Fatalf("released delivery = %+v", d)
	}
	// The failed delivery holds back default's later ones; acme's new event goes on.
	if got := claim(50); len(got) != 0 {
		t.Fatalf("claimed %v behind a failed delivery", seqs(got))
	}
	mustUser(t, s, "acme", "a2@acme.com", nil)
	fanOut()
	if got := claim(50); len(got) != 1 || got[0].TenantID != "acme" {
		t.Fatalf("after a failure in default: %+v, want only acme's new event", got)
	} else {
		got[0].Status, got[0].Attempts = appstore.DeliverySucceeded, 1
		if err := s.FinishDelivery(ctx, got[0]); err != nil {
			t.Fatal(err)
		}
	}

	// Retried, the failed delivery heads a run of the rest of its lane again.
	if _, err := s.RetryDelivery(ctx, w.ID, def[1].ID); err != nil {
		t.Fatal(err)
	}
	rest := lanes(claim(2))["default"]
	if fmt.Sprint(seqs(rest)) != fmt.Sprint(defSeqs[1:3]) || rest[0].Attempts != 1 {
		t.Fatalf("after the retry: %v, want %v", seqs(rest), defSeqs[1:3])
	}
	// rest[0] fails for good; the lane goes on behind it with rest[1] leased...
	rest[0].Status, rest[0].Attempts = appstore.DeliveryFailed, 2
	if err := s.FinishDelivery(ctx, rest[0]); err != nil {
		t.Fatal(err)
	}
	// ...and a manual retry of rest[0] makes it the lane's head again: its run stops
	// before rest[1], which is still leased, instead of passing over it.
	if _, err := s.RetryDelivery(ctx, w.ID, rest[0].ID); err != nil {
		t.Fatal(err)
	}
	if got := claim(50); len(got) != 1 || got[0].ID != rest[0].ID {
		t.Fatalf("claimed %v past a leased delivery of the lane", seqs(got))
	}
}
