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
		ds, err := s.ClaimDeliveries(ctx, 10, lease)
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

// testWebhookConcurrentClaims: four workers claim and finish at once; each delivery is
// claimed by one of them only, and only once every earlier delivery of its lane has
// succeeded.
func testWebhookConcurrentClaims(t *testing.T, s appstore.Store) {
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
				ds, err := s.ClaimDeliveries(ctx, 2, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					idle++
					time.Sleep(5 * time.Millisecond)
					continue
				}
				all, err := s.ListDeliveries(ctx, hook.ID, 1000)
				if err != nil {
					t.Error(err)
					return
				}
				for _, d := range ds {
					for _, o := range all {
						if o.TenantID == d.TenantID && o.EventSeq < d.EventSeq && o.Status != appstore.DeliverySucceeded {
							t.Errorf("delivery of seq %d claimed while seq %d of tenant %s is %s", d.EventSeq, o.EventSeq, d.TenantID, o.Status)
						}
					}
					d.Status, d.Attempts = appstore.DeliverySucceeded, 1
					if err := s.FinishDelivery(ctx, d); err != nil {
						t.Errorf("finish %d: %v", d.ID, err)
						return
					}
					mu.Lock()
					done[d.ID]++
					mu.Unlock()
				}
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
