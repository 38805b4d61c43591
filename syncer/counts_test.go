package syncer_test

import (
	"context"
	"sync"
	"testing"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/syncer"
)

// recordingStore remembers every run record stored.
type recordingStore struct {
	appstore.Store
	mu   sync.Mutex
	puts []appstore.SyncRun
}

func (s *recordingStore) UpdateSyncRun(ctx context.Context, r appstore.SyncRun) error {
	s.mu.Lock()
	s.puts = append(s.puts, r)
	s.mu.Unlock()
	return s.Store.UpdateSyncRun(ctx, r)
}

// The run record is stored with its counts after each user's commit, not once a second
// or per batch: a run killed between two users still shows in `sync history` what it
// did up to there.
func TestRunCountsStoredWithEachUser(t *testing.T) {
	forBackends(t, func(t *testing.T, b storetest.Backend) {
		h := newHarness(t, b, harnessOpts{})
		const n = 3
		for _, name := range []string{"c1@example.com", "c2@example.com", "c3@example.com"} {
			h.appCreate(name, "C", "One", nil)
		}
		rec := &recordingStore{Store: h.store}
		s := *h.syncer
		s.Store, s.Workers = rec, 1
		rep, err := s.Run(h.ctx, tenant, syncer.RunOptions{Trigger: syncer.TriggerCLI})
		if err != nil || rep.Run.Counts[syncer.ActOktaCreate] != n {
			t.Fatalf("run: %v, counts %v", err, rep.Run.Counts)
		}
		stored := map[int64]bool{}
		for _, r := range rec.puts {
			stored[r.Counts[syncer.ActOktaCreate]] = true
		}
		for k := int64(1); k <= n; k++ {
			if !stored[k] {
				t.Errorf("no run record was stored with %d users created: a run killed then would show less", k)
			}
		}
	})
}
