package syncer_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/syncer"
)

// fakeClock is a Clock moved by hand; After registers a waiter and says so on
// registered, so a test knows the scheduler is waiting before it moves time.
type fakeClock struct {
	mu         sync.Mutex
	now        time.Time
	waiters    []fakeWaiter
	registered chan struct{}
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(t time.Time) *fakeClock {
	return &fakeClock{now: t, registered: make(chan struct{}, 100)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
	} else {
		c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	}
	c.mu.Unlock()
	c.registered <- struct{}{}
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// TestSchedulerFiresOnCron drives the scheduler through 41 minutes of fake time: the
// full run fires at 03:00 (alone, though the incremental one is due too), incremental
// runs at :15 and :30, a tenant without a connection never runs, and a tenant whose
// schedule is "off" runs only its full check.
func TestSchedulerFiresOnCron(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := storetest.SQLite.Open(t)
	key := make([]byte, 32)
	for _, tn := range []struct{ id, sched string }{{"acme", ""}, {"quiet", "off"}, {"unconnected", ""}} {
		if tn.id != "unconnected" {
			if _, err := store.CreateTenant(ctx, appstore.Tenant{ID: tn.id, Name: tn.id}); err != nil {
				t.Fatal(err)
			}
			sealed, _ := syncer.Seal(key, tn.id, "tok")
			if _, err := store.SetOktaConnection(ctx, appstore.OktaConnection{TenantID: tn.id, OrgURL: "https://x.okta.com", AppID: "0oa", EncryptedToken: sealed}); err != nil {
				t.Fatal(err)
			}
		}
		if tn.sched != "" {
			if _, err := store.UpdateTenant(ctx, tn.id, func(t *appstore.Tenant) error {
				t.Settings.Extra = map[string]string{syncer.SettingSchedule: tn.sched}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	clock := newFakeClock(time.Date(2026, 1, 5, 2, 50, 0, 0, time.Local))
	var mu sync.Mutex
	var got []string
	var inFlight sync.WaitGroup
	s := &syncer.Scheduler{Syncer: &syncer.Syncer{Store: store, Key: key}, Clock: clock,
		RunFunc: func(ctx context.Context, tenant string, full bool) error { return nil },
		OnStart: func(tenant string, full bool, at time.Time) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, fmt.Sprintf("%s %s full=%v", at.Format("15:04"), tenant, full))
			inFlight.Add(1)
		},
		OnFinish: func(string, bool) { inFlight.Done() }}
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	for i := 0; i < 41; i++ {
		<-clock.registered
		// Let the runs of this minute end, as they would long before the next one.
		inFlight.Wait()
		clock.Advance(time.Minute)
	}
	<-clock.registered
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"03:00 acme full=true": true, "03:15 acme full=false": true, "03:30 acme full=false": true,
		"03:00 quiet full=true": true,
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("runs %v, want %v", got, want)
	}
	for _, g := range got {
		if !want[g] {
			t.Errorf("unexpected run %q (all: %v)", g, got)
		}
	}
}

// TestSchedulerSkipsBusyTenant: a run due while the tenant's previous run is still
// going is skipped, not queued or run twice.
func TestSchedulerSkipsBusyTenant(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := storetest.SQLite.Open(t)
	key := make([]byte, 32)
	sealed, _ := syncer.Seal(key, tenant, "tok")
	if _, err := store.SetOktaConnection(ctx, appstore.OktaConnection{TenantID: tenant, OrgURL: "https://x.okta.com", AppID: "0oa", EncryptedToken: sealed}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.UpdateTenant(ctx, tenant, func(t *appstore.Tenant) error {
		t.Settings.Extra = map[string]string{syncer.SettingSchedule: "@every 1m", syncer.SettingFullSchedule: "off"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock(time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC))
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	s := &syncer.Scheduler{Syncer: &syncer.Syncer{Store: store, Key: key}, Clock: clock,
		RunFunc: func(ctx context.Context, tenant string, full bool) error {
			started <- struct{}{}
			<-release
			return nil
		}}
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	<-clock.registered
	clock.Advance(time.Minute) // 12:01: first run starts and blocks
	<-started
	for i := 0; i < 3; i++ { // 12:02..12:04 are due while it runs
		<-clock.registered
		clock.Advance(time.Minute)
	}
	<-clock.registered
	close(release)
	cancel()
	<-done
	if n := len(started); n != 0 {
		t.Errorf("%d runs started while the first was going, want 0", n)
	}
}
