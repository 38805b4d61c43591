package syncer_test

import (
	"testing"

	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/event"
)

// TestSyncWritesEmitEvents: the sync worker's writes to app users carry source "sync",
// each run ends with sync.run_finished, and a dry run writes nothing but that.
func TestSyncWritesEmitEvents(t *testing.T) {
	forBackends(t, func(t *testing.T, b storetest.Backend) {
		h := newHarness(t, b, harnessOpts{})
		feed := &storetest.Feed{S: h.store}
		feed.Next(t) // the harness's setup: token, Okta connection
		u := h.appCreate("evt@example.com", "Eve", "Tee", nil)
		storetest.ExpectEvents(t, "app create", feed.Next(t), storetest.Want{Type: event.UserCreated, Previous: `{}`})

		h.sync(false)
		evs := feed.Next(t)
		var sawLink, sawFinish bool
		for _, e := range evs {
			switch e.Type {
			case event.UserUpdated:
				if e.Source != event.SourceSync || e.Actor.Kind != "syncer" {
					t.Fatalf("sync write with source %q actor %+v", e.Source, e.Actor)
				}
				sawLink = sawLink || string(e.Previous) == `{"oktaUserId":null}`
			case event.SyncRunFinished:
				sawFinish = true
			default:
				t.Errorf("unexpected %s after a sync: %s", e.Type, e.Data)
			}
		}
		if !sawLink || !sawFinish || evs[len(evs)-1].Type != event.SyncRunFinished {
			t.Fatalf("after the first sync: %d events %v, want the link of %s and sync.run_finished last", len(evs), types(evs), u.ID)
		}
		// Okta's push that follows the activation changes the user: a SCIM write.
		if err := h.sim.ActivateUser(h.user(u.ID).OktaUserID); err != nil {
			t.Fatal(err)
		}
		h.idle()
		for _, e := range feed.Next(t) {
			if e.Source != event.SourceSCIM {
				t.Errorf("Okta's push wrote %s with source %q", e.Type, e.Source)
			}
		}
		h.sync(false) // nothing to do: only the run's end
		storetest.ExpectEvents(t, "idle sync", feed.Next(t), storetest.Want{Type: event.SyncRunFinished, Previous: `{}`})
	})
}

func types(es []event.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Type)
	}
	return out
}
