package syncer_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/internal/testbin"
	"github.com/oktasync/oktasync/oktasim"
	"github.com/oktasync/oktasync/syncer"
)

// The fault tests run one scenario (seed, sync, edits on both sides, sync) under
// faults and compare the end state with the same scenario run without them.

const scenarioUsers = 24

// seedScenario creates app users (some matching existing Okta users by login or by
// email) and users assigned in Okta (pushed into the app by SCIM).
func seedScenario(h *harness) {
	h.t.Helper()
	for i := 0; i < scenarioUsers; i++ {
		name := fmt.Sprintf("u%02d@example.com", i)
		switch i % 6 {
		case 1:
			h.oktaUser(name, "Okta", fmt.Sprintf("U%02d", i))
		case 2:
			if _, err := h.sim.CreateUser(map[string]any{"login": fmt.Sprintf("login%02d@example.com", i), "email": name,
				"firstName": "Okta", "lastName": "E"}, true); err != nil {
				h.t.Fatal(err)
			}
		}
		h.appCreate(name, "Given", fmt.Sprintf("Family%02d", i), map[string]any{"title": "t0"})
	}
	for i := 0; i < 4; i++ {
		ou := h.oktaUser(fmt.Sprintf("okta%02d@example.com", i), "From", fmt.Sprintf("Okta%02d", i))
		if _, err := h.sim.AssignUser(h.appID, ou.ID, "", nil); err != nil {
			h.t.Fatal(err)
		}
	}
	h.idle()
}

// editScenario changes users on both sides after the first sync.
func editScenario(h *harness) {
	h.t.Helper()
	for i := 0; i < scenarioUsers; i++ {
		u := h.userByName(fmt.Sprintf("u%02d@example.com", i))
		switch {
		case i%7 == 0:
			h.appUpdate(u.ID, func(u *appstore.User) { u.Active = false })
		case i%3 == 0:
			h.appUpdate(u.ID, func(u *appstore.User) {
				u.Attrs["title"] = "t1"
				u.Attrs["name"].(map[string]any)["givenName"] = "Edited"
			})
		}
	}
	for i := 0; i < 2; i++ {
		u := h.userByName(fmt.Sprintf("okta%02d@example.com", i))
		if _, err := h.sim.UpdateAppUser(h.appID, u.OktaUserID, "", map[string]any{"title": "o1"}); err != nil {
			h.t.Fatal(err)
		}
	}
	h.idle()
}

// state renders the end state without ids and times: the app's users (and whether each
// is linked to an AppUser of the same name), the AppUsers and the Okta users' statuses.
func (h *harness) state() string {
	h.t.Helper()
	page, err := h.store.ListUsers(h.ctx, tenant, appstore.Query{Count: -1})
	if err != nil {
		h.t.Fatal(err)
	}
	aus := map[string]oktasim.AppUser{}
	for _, au := range h.sim.AppUsers(h.appID) {
		aus[au.UserID] = au
	}
	var lines []string
	for _, u := range page.Items {
		attrs, _ := json.Marshal(u.Attrs)
		au, ok := aus[u.OktaUserID]
		linked := ok && au.UserName == u.UserName
		lines = append(lines, fmt.Sprintf("app %s active=%v source=%s linked=%v okta=%v %s", u.UserName, u.Active, u.Source, linked, u.OktaUserID != "", attrs))
	}
	for _, au := range aus {
		p, _ := json.Marshal(au.Profile)
		ou, _ := h.sim.GetUser(au.UserID)
		lines = append(lines, fmt.Sprintf("appuser %s %s user=%s %s", au.UserName, au.Status, ou.Status, p))
	}
	lines = append(lines, fmt.Sprintf("okta users %d", len(h.sim.Users())))
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// settle runs syncs until one finishes without failures (at most 10). A run refused
// because the tenant's sync lock is held is tried again, not counted: after a process
// is killed, PostgreSQL releases its lock only once it notices the session has ended,
// which on a busy machine takes a moment.
func (h *harness) settle(full bool) {
	h.t.Helper()
	lockWait := time.Now().Add(30 * time.Second)
	for i := 0; i < 10; i++ {
		rep, err := h.syncer.Run(h.ctx, tenant, syncer.RunOptions{Full: full})
		if errors.Is(err, errkind.Conflict) && time.Now().Before(lockWait) {
			i--
			time.Sleep(100 * time.Millisecond)
			continue
		}
		h.idle()
		if err == nil && rep.Run.Counts[syncer.ActError] == 0 {
			return
		}
		h.t.Logf("run %d not clean (%v): %v", i, err, rep.Run.Counts)
	}
	h.t.Fatal("no clean run after 10 tries")
}

var referenceOnce sync.Map // backend name -> string

// referenceState is the end state of the scenario without faults, with the given number
// of killEdit edits made before the second sync.
func referenceState(t *testing.T, b storetest.Backend, killEdits int) string {
	key := fmt.Sprintf("%s/%d", b.Name, killEdits)
	if s, ok := referenceOnce.Load(key); ok {
		return s.(string)
	}
	h := newHarness(t, b, harnessOpts{sim: []oktasim.Option{oktasim.WithSeed(1)}})
	seedScenario(h)
	h.sync(true)
	editScenario(h)
	for i := 0; i < killEdits; i++ {
		killEdit(h, i)
	}
	h.sync(true)
	s := h.state()
	referenceOnce.Store(key, s)
	return s
}

func checkSameState(t *testing.T, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	in := func(l []string, s string) bool {
		for _, x := range l {
			if x == s {
				return true
			}
		}
		return false
	}
	for _, l := range gl {
		if !in(wl, l) {
			t.Errorf("unexpected: %s", l)
		}
	}
	for _, l := range wl {
		if !in(gl, l) {
			t.Errorf("missing:    %s", l)
		}
	}
}

// TestRateLimitStorm: every request is refused with 429 for a while, twice, and the
// rate limit is tight; the runs wait (the client paces, the worker retries) and end
// where an undisturbed run ends.
func TestRateLimitStorm(t *testing.T) {
	forBackends(t, func(t *testing.T, b storetest.Backend) {
		want := referenceState(t, b, 0)
		h := newHarness(t, b, harnessOpts{sim: []oktasim.Option{oktasim.WithSeed(2)}})
		seedScenario(h)
		h.sim.SetRateLimits(oktasim.RateLimits{"apps": 40, "users": 40, "userById": 40}, 1, time.Second)
		h.sim.Force429(1500 * time.Millisecond)
		rep := h.sync(true)
		editScenario(h)
		h.sim.Force429(1500 * time.Millisecond)
		rep2 := h.sync(true)
		checkSameState(t, h.state(), want)
		if n := h.calls.statusCount(http.StatusTooManyRequests); n == 0 {
			t.Error("no 429 was served: the storm did not happen")
		}
		t.Logf("429s served: %d; runs %v / %v", h.calls.statusCount(429), rep.Run.Counts, rep2.Run.Counts)
	})
}

// TestServerErrorBursts: a share of requests fail with 500 or 503; failed users are
// retried by later runs, and the end state is the undisturbed one.
func TestServerErrorBursts(t *testing.T) {
	forBackends(t, func(t *testing.T, b storetest.Backend) {
		want := referenceState(t, b, 0)
		h := newHarness(t, b, harnessOpts{sim: []oktasim.Option{oktasim.WithSeed(3)}})
		seedScenario(h)
		h.sim.SetFaults(oktasim.Faults{ErrorRate: 0.25, ErrorStatuses: []int{500, 503}})
		h.settle(true)
		h.sim.FailNext(5, http.StatusInternalServerError)
		editScenario(h)
		h.settle(true)
		h.sim.SetFaults(oktasim.Faults{})
		h.settle(true) // a clean pass, then compare
		checkSameState(t, h.state(), want)
		if n := h.calls.statusCount(500) + h.calls.statusCount(503); n == 0 {
			t.Error("no 5xx was served")
		}
	})
}

// killEdits is how many killed runs the kill test makes per phase.
func killEdits() int {
	kills := 20
	if v := os.Getenv("OKTASYNC_KILL_RUNS"); v != "" {
		fmt.Sscan(v, &kills)
	}
	return kills
}

// killEdit is the app edit made before the i-th killed run of the second phase, so that
// edits land between (and during) interrupted runs; the reference makes them all
// before its one run.
func killEdit(h *harness, i int) {
	u := h.userByName(fmt.Sprintf("u%02d@example.com", (i*5)%scenarioUsers))
	h.appUpdate(u.ID, func(u *appstore.User) { u.Attrs["title"] = fmt.Sprintf("k%d", i) })
}

// oktasyncBinary builds cmd/oktasync once per test process.
func oktasyncBinary(t *testing.T) string {
	return testbin.Build(t, "github.com/oktasync/oktasync/cmd/oktasync")
}

// TestKilledSyncResumes kills `oktasync sync` processes with SIGKILL at random points
// (20 times per phase by default; OKTASYNC_KILL_RUNS changes it) and checks that a
// final clean run ends exactly where an uninterrupted run ends: no duplicate AppUser
// or app user, no lost edit. Okta answers with some latency so that kills land inside
// runs rather than before or after them.
func TestKilledSyncResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the oktasync binary; skipped with -short")
	}
	kills := killEdits()
	bin := oktasyncBinary(t)
	forBackends(t, func(t *testing.T, b storetest.Backend) {
		want := referenceState(t, b, kills)
		h := newHarness(t, b, harnessOpts{sim: []oktasim.Option{oktasim.WithSeed(4)}})
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 4))
		seedScenario(h)
		h.sim.SetFaults(oktasim.Faults{Latency: 40 * time.Millisecond})
		env := append(os.Environ(), "OKTASYNC_DB="+h.dbURL, "OKTASYNC_SECRET_KEY="+base64.StdEncoding.EncodeToString(h.key), "OKTASYNC_LOG_LEVEL=error")
		phase := func(name string, edit bool) {
			killed, finished := 0, 0
			for i := 0; i < kills; i++ {
				if edit {
					killEdit(h, i)
				}
				cmd := exec.Command(bin, "sync", "--full", "--quiet")
				cmd.Env = env
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				delay := time.Duration(rng.IntN(600)) * time.Millisecond
				select {
				case <-done:
					finished++
				case <-time.After(delay):
					cmd.Process.Signal(syscall.SIGKILL)
					<-done
					killed++
				}
				h.idle()
			}
			t.Logf("%s: %d processes killed, %d finished before the kill", name, killed, finished)
			if killed == 0 {
				t.Errorf("%s: no process was killed mid-run", name)
			}
		}
		phase("first sync", false)
		h.sim.SetFaults(oktasim.Faults{})
		h.settle(true)
		editScenario(h)
		h.sim.SetFaults(oktasim.Faults{Latency: 40 * time.Millisecond})
		phase("second sync", true)
		h.sim.SetFaults(oktasim.Faults{})
		h.settle(true)
		checkSameState(t, h.state(), want)
		runs, err := h.store.ListSyncRuns(context.Background(), tenant, 200)
		if err != nil {
			t.Fatal(err)
		}
		interrupted := 0
		for _, r := range runs {
			if r.Status == appstore.RunInterrupted {
				interrupted++
			}
			if r.Status == appstore.RunRunning {
				t.Errorf("run %d still marked running after later runs", r.ID)
			}
		}
		if interrupted == 0 {
			t.Error("no killed run was recorded as interrupted")
		}
	})
}
