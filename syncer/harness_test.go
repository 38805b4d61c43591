package syncer_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/oktaclient"
	"github.com/oktasync/oktasync/oktasim"
	"github.com/oktasync/oktasync/scim"
	"github.com/oktasync/oktasync/syncer"
)

const tenant = appstore.DefaultTenant

// harness is an app (store + the SCIM endpoint exactly as serve mounts it) wired to an
// emulated Okta org both ways: oktasim pushes SCIM into the app, and the worker talks to
// oktasim's management API through the real client over HTTP.
type harness struct {
	t       testing.TB
	ctx     context.Context
	store   appstore.Store
	sim     *oktasim.Sim
	appID   string
	oktaURL string
	scimURL string
	scimTok string
	key     []byte
	syncer  *syncer.Syncer
	calls   *callCounter
	dbURL   string
}

// callCounter counts the management API requests oktasim receives.
type callCounter struct {
	mu     sync.Mutex
	reads  int
	writes int
	byPath map[string]int
	status map[int]int
}

func (c *callCounter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusRecorder{ResponseWriter: w, status: 200}
		next.ServeHTTP(sw, r)
		if !strings.HasPrefix(r.URL.Path, "/api/v1/") {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if r.Method == http.MethodGet {
			c.reads++
		} else {
			c.writes++
		}
		c.byPath[r.Method+" "+shape(r.URL.Path)]++
		c.status[sw.status]++
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

// shape replaces ids in a path by {id} so calls can be counted by endpoint.
func shape(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if i > 3 && s != "users" && s != "lifecycle" && s != "activate" && s != "deactivate" && s != "" {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}

func (c *callCounter) snapshot() (reads, writes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads, c.writes
}

func (c *callCounter) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byPath[key]
}

func (c *callCounter) statusCount(code int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status[code]
}

type harnessOpts struct {
	sim      []oktasim.Option
	noPush   bool
	clientFn func(*oktaclient.Config)
	policy   map[string]string
}

func newHarness(t testing.TB, b storetest.Backend, o harnessOpts) *harness {
	t.Helper()
	url := b.URL(t)
	return newHarnessAt(t, url, o)
}

func newHarnessAt(t testing.TB, dbURL string, o harnessOpts) *harness {
	t.Helper()
	ctx := context.Background()
	store, err := appstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h := &harness{t: t, ctx: ctx, store: store, dbURL: dbURL, calls: &callCounter{byPath: map[string]int{}, status: map[int]int{}}}
	if _, err := store.UpdateTenant(ctx, tenant, func(tn *appstore.Tenant) error {
		tn.ProvisioningEnabled = true
		if tn.Settings.Extra == nil {
			tn.Settings.Extra = map[string]string{}
		}
		for k, v := range o.policy {
			tn.Settings.Extra[k] = v
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, tok, err := store.CreateToken(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	h.scimTok = tok
	scimSrv := httptest.NewServer(http.StripPrefix("/scim/v2", scim.New(store, scim.Options{})))
	t.Cleanup(scimSrv.Close)
	h.scimURL = scimSrv.URL + "/scim/v2"

	opts := append([]oktasim.Option{oktasim.WithRateLimitMultiplier(20)}, o.sim...)
	h.sim = oktasim.New(opts...)
	oktaSrv := httptest.NewServer(h.calls.wrap(h.sim.Handler()))
	t.Cleanup(func() { oktaSrv.Close(); h.sim.Close() })
	h.appID, h.oktaURL = h.sim.AppID(), oktaSrv.URL
	if !o.noPush {
		h.setPush(true, true, true)
	}

	h.key = make([]byte, 32)
	rand.Read(h.key)
	sealed, err := syncer.Seal(h.key, tenant, h.sim.Token())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SetOktaConnection(ctx, appstore.OktaConnection{TenantID: tenant, OrgURL: h.oktaURL, AppID: h.appID, EncryptedToken: sealed}); err != nil {
		t.Fatal(err)
	}
	h.syncer = &syncer.Syncer{Store: store, Key: h.key, Workers: 4, NewClient: func(cfg oktaclient.Config) (oktaclient.Client, error) {
		cfg.MaxBackoff = 2 * time.Second
		if o.clientFn != nil {
			o.clientFn(&cfg)
		}
		return oktaclient.New(cfg)
	}}
	return h
}

func (h *harness) setPush(create, update, deactivate bool) {
	h.sim.SetSCIMConnection(oktasim.SCIMConnection{BaseURL: h.scimURL, Token: h.scimTok, CreateUsers: create, UpdateUsers: update, DeactivateUsers: deactivate})
}

func appCtx() context.Context {
	return appstore.WithActor(context.Background(), appstore.Actor{Kind: "app", ID: "test"})
}

// appCreate creates a user in the app, as its UI would.
func (h *harness) appCreate(userName, given, family string, extra map[string]any) appstore.User {
	h.t.Helper()
	attrs := map[string]any{
		"name":   map[string]any{"givenName": given, "familyName": family},
		"emails": []any{map[string]any{"value": userName, "type": "work", "primary": true}},
	}
	for k, v := range extra {
		attrs[k] = v
	}
	u, err := h.store.CreateUser(appCtx(), appstore.User{TenantID: tenant, UserName: userName, Active: true, Attrs: attrs, Source: appstore.SourceApp})
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}

// appUpdate edits a user in the app.
func (h *harness) appUpdate(id string, fn func(u *appstore.User)) appstore.User {
	h.t.Helper()
	u, err := h.store.UpdateUser(appCtx(), tenant, id, func(u *appstore.User) error { fn(u); return nil })
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}

func (h *harness) sync(full bool) syncer.Report {
	h.t.Helper()
	rep, err := h.syncer.Run(h.ctx, tenant, syncer.RunOptions{Full: full, Trigger: syncer.TriggerCLI})
	if err != nil {
		h.t.Fatalf("sync (full=%v): %v", full, err)
	}
	if rep.Run.Counts[syncer.ActError] > 0 {
		h.t.Fatalf("sync (full=%v) had errors: %+v", full, rep.Errors)
	}
	h.idle()
	return rep
}

func (h *harness) idle() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, 30*time.Second)
	defer cancel()
	if err := h.sim.WaitIdle(ctx); err != nil {
		h.t.Fatalf("push engine not idle: %v", err)
	}
}

func (h *harness) user(id string) appstore.User {
	h.t.Helper()
	u, err := h.store.GetUser(h.ctx, tenant, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}

func (h *harness) userByName(name string) appstore.User {
	h.t.Helper()
	u, err := h.store.GetUserByUserName(h.ctx, tenant, name)
	if err != nil {
		h.t.Fatalf("user %s: %v", name, err)
	}
	return u
}

// countUsers counts the tenant's users whose userName is name in any case.
func (h *harness) countUsers(name string) int {
	h.t.Helper()
	page, err := h.store.ListUsers(h.ctx, tenant, appstore.Query{Count: -1})
	if err != nil {
		h.t.Fatal(err)
	}
	n := 0
	for _, u := range page.Items {
		if strings.EqualFold(u.UserName, name) {
			n++
		}
	}
	return n
}

// oktaUser creates an Okta user (ACTIVE) in the emulated org.
func (h *harness) oktaUser(login, first, last string) oktasim.User {
	h.t.Helper()
	u, err := h.sim.CreateUser(map[string]any{"login": login, "email": login, "firstName": first, "lastName": last}, true)
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}

func (h *harness) appUser(oktaID string) (oktasim.AppUser, bool) {
	au, err := h.sim.AppUser(h.appID, oktaID)
	return au, err == nil
}

// dump renders the app's users and their sync state, for before/after comparisons.
func (h *harness) dump() string {
	h.t.Helper()
	page, err := h.store.ListUsers(h.ctx, tenant, appstore.Query{Count: -1})
	if err != nil {
		h.t.Fatal(err)
	}
	var ids []string
	for _, u := range page.Items {
		ids = append(ids, u.ID)
	}
	states, err := h.store.SyncStates(h.ctx, tenant, ids)
	if err != nil {
		h.t.Fatal(err)
	}
	revs, err := h.store.FindSyncUsers(h.ctx, tenant, appstore.ByID, ids)
	if err != nil {
		h.t.Fatal(err)
	}
	var b strings.Builder
	for _, u := range page.Items {
		j, _ := json.Marshal(u)
		s, _ := json.Marshal(states[u.ID])
		fmt.Fprintf(&b, "%s rev=%d/%d state=%s\n", j, revs[u.ID].AppRev, revs[u.ID].SyncedRev, s)
	}
	return b.String()
}

// oktaDump renders the emulated org's users and app users.
func (h *harness) oktaDump() string {
	users, _ := json.Marshal(h.sim.Users())
	aus := h.sim.AppUsers(h.appID)
	sort.Slice(aus, func(i, j int) bool { return aus[i].UserID < aus[j].UserID })
	ausj, _ := json.Marshal(aus)
	return string(users) + "\n" + string(ausj)
}

// pushesAfter returns the SCIM exchanges after the first n.
func (h *harness) pushesAfter(n int) []oktasim.Push {
	p := h.sim.Pushes()
	if n > len(p) {
		return nil
	}
	return p[n:]
}

func describe(ps []oktasim.Push) string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s %s -> %d", p.Method, p.Path, p.Status))
	}
	return strings.Join(out, "; ")
}

func forBackends(t *testing.T, fn func(t *testing.T, b storetest.Backend)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, b) })
	}
}
