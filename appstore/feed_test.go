package appstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/event"
)

// TestFeedConcurrentWritersPostgres runs 16 writers for 10 s (2 s with -short) while a
// reader follows the feed with after=cursor. On PostgreSQL transactions commit in any
// order, so a feed that numbered events before commit would let the reader pass a seq
// that commits later. The reader must see every committed event exactly once, in seq
// order, and nothing of the writes that were refused.
func TestFeedConcurrentWritersPostgres(t *testing.T) {
	s := storetest.Postgres.Open(t)
	dur := 10 * time.Second
	if testing.Short() {
		dur = 2 * time.Second
	}
	ctx := appstore.WithActor(context.Background(), appstore.Actor{Kind: "scim", ID: "load"})
	stop := make(chan struct{})
	var committed sync.Map // user id -> number of committed writes (create + updates)
	var refused atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				u, err := s.CreateUser(ctx, appstore.User{TenantID: "default", UserName: fmt.Sprintf("w%d-%d@example.com", w, i), Active: true})
				if err != nil {
					t.Errorf("create: %v", err)
					return
				}
				n := int64(1)
				// A refused duplicate, and an update whose transaction is held open a
				// little so that commits interleave.
				if _, err := s.CreateUser(ctx, appstore.User{TenantID: "default", UserName: u.UserName, Active: true}); errkind.Of(err) != errkind.Conflict {
					t.Errorf("duplicate create: %v", err)
					return
				}
				refused.Add(1)
				if _, err := s.UpdateUser(ctx, "default", u.ID, func(u *appstore.User) error {
					time.Sleep(time.Duration(i%3) * time.Millisecond)
					u.Attrs["title"] = fmt.Sprint("t", i)
					return nil
				}); err != nil {
					t.Errorf("update: %v", err)
					return
				}
				n++
				committed.Store(u.ID, n)
			}
		}()
	}

	var seen []event.Event
	var cursor int64
	read := func() {
		p, err := s.ListEvents(ctx, appstore.EventQuery{After: cursor, Limit: 500})
		if err != nil {
			t.Fatalf("read after %d: %v", cursor, err)
		}
		seen = append(seen, p.Events...)
		cursor = p.Next
	}
	deadline := time.After(dur)
follow:
	for {
		select {
		case <-deadline:
			break follow
		default:
			read()
		}
	}
	close(stop)
	wg.Wait()
	for {
		before := len(seen)
		read()
		if len(seen) == before {
			break
		}
	}

	perUser := map[string]int64{}
	ids := map[string]bool{}
	for i, e := range seen {
		if i > 0 && e.Seq <= seen[i-1].Seq {
			t.Fatalf("seq %d after %d: not increasing", e.Seq, seen[i-1].Seq)
		}
		if ids[e.ID] {
			t.Fatalf("event %s seen twice", e.ID)
		}
		ids[e.ID] = true
		var d struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		perUser[d.ID]++
	}
	users := 0
	committed.Range(func(k, v any) bool {
		users++
		if perUser[k.(string)] != v.(int64) {
			t.Errorf("user %s: %d committed writes, %d events seen", k, v, perUser[k.(string)])
		}
		delete(perUser, k.(string))
		return true
	})
	if len(perUser) != 0 {
		t.Errorf("events of writes never committed: %v", perUser)
	}
	// The live reader's sequence is exactly the feed as it stands after the fact.
	all := &storetest.Feed{S: s}
	if got := all.Next(t); len(got) != len(seen) {
		t.Fatalf("live reader saw %d events, the feed holds %d", len(seen), len(got))
	}
	t.Logf("%d users, %d events followed live, %d refused writes, over %v", users, len(seen), refused.Load(), dur)
	if users < 100 {
		t.Fatalf("only %d users written: the test did not load the store", users)
	}
}
