// Package oktaclienttest holds the contract every oktaclient.Client must meet, as one
// suite that runs against the oktasim emulator and, given credentials, a real Okta org.
package oktaclienttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/oktaclient"
)

// Harness is the org a contract run talks to.
type Harness struct {
	// New returns a Client for the org and app under test.
	New func(t *testing.T) oktaclient.Client
	// NewWithToken returns a Client for the same org and app that presents token
	// instead of the real one.
	NewWithToken func(t *testing.T, token string) oktaclient.Client
	// DeleteUser deletes a deactivated user for good, so a run against a real org
	// leaves nothing behind. Optional: without it users are only deactivated.
	DeleteUser func(ctx context.Context, userID string) error
	// Timeout bounds each subtest. Default one minute (a real org may rate-limit).
	Timeout time.Duration
	// ProfileAttribute is a string attribute of the app user profile that Okta's
	// profile mappings do not overwrite; the suite writes it. Default "email".
	ProfileAttribute string
}

// RunContract runs the suite. Every object it needs it creates through the Client, with
// names unique to the run, and removes when the subtest ends.
func RunContract(t *testing.T, h Harness) {
	if h.Timeout == 0 {
		h.Timeout = time.Minute
	}
	if h.ProfileAttribute == "" {
		h.ProfileAttribute = "email"
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s *suite)
	}{
		{"Check", testCheck},
		{"Unauthorized", testUnauthorized},
		{"CreateAndGetUser", testCreateAndGetUser},
		{"CreateActiveUser", testCreateActiveUser},
		{"DuplicateLogin", testDuplicateLogin},
		{"Lifecycle", testLifecycle},
		{"FindUserByLogin", testFindUserByLogin},
		{"FindUsersByEmail", testFindUsersByEmail},
		{"UnknownIDs", testUnknownIDs},
		{"AssignUpdateUnassign", testAssignUpdateUnassign},
		{"ListAppUsersPages", testListAppUsersPages},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
			defer cancel()
			s := &suite{h: h, c: h.New(t), ctx: ctx, run: runID()}
			t.Cleanup(func() { s.cleanup(t) })
			tt.fn(t, s)
		})
	}
}

type suite struct {
	h       Harness
	c       oktaclient.Client
	ctx     context.Context
	run     string
	n       int
	created []string // user ids, for clean-up
}

func runID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// login returns a login unique to this run; local may add characters under test.
func (s *suite) login(local string) string {
	s.n++
	return fmt.Sprintf("oktasync-ct-%s-%d%s@example.com", s.run, s.n, local)
}

// createUser creates a STAGED user and registers it for clean-up.
func (s *suite) createUser(t *testing.T, nu oktaclient.NewUser) oktaclient.User {
	t.Helper()
	if nu.Login == "" {
		nu.Login = s.login("")
	}
	if nu.Email == "" {
		nu.Email = nu.Login
	}
	if nu.FirstName == "" {
		nu.FirstName = "Contract"
	}
	if nu.LastName == "" {
		nu.LastName = "Test " + s.run
	}
	u, err := s.c.CreateUser(s.ctx, nu)
	if u.ID != "" {
		s.created = append(s.created, u.ID)
	}
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", nu.Login, err)
	}
	return u
}

// assign creates a user and assigns it to the app.
func (s *suite) assign(t *testing.T, profile map[string]any) (oktaclient.User, oktaclient.AppUser) {
	t.Helper()
	u := s.createUser(t, oktaclient.NewUser{})
	au, err := s.c.AssignUser(s.ctx, oktaclient.Assignment{UserID: u.ID, UserName: u.Login, Profile: profile})
	if err != nil {
		t.Fatalf("AssignUser(%s): %v", u.ID, err)
	}
	return u, au
}

func (s *suite) cleanup(t *testing.T) {
	// A fresh context: the subtest's may have run out.
	ctx, cancel := context.WithTimeout(context.Background(), s.h.Timeout)
	defer cancel()
	for _, id := range s.created {
		if err := s.c.UnassignUser(ctx, id); err != nil && !errors.Is(err, errkind.NotFound) {
			t.Logf("clean-up: unassign %s: %v", id, err)
		}
		if err := s.c.DeactivateUser(ctx, id, oktaclient.LifecycleOptions{}); err != nil && !errors.Is(err, errkind.NotFound) {
			t.Logf("clean-up: deactivate %s: %v", id, err)
		}
		if s.h.DeleteUser != nil {
			if err := s.h.DeleteUser(ctx, id); err != nil && !errors.Is(err, errkind.NotFound) {
				t.Logf("clean-up: delete %s: %v", id, err)
			}
		}
	}
}

// wantKind fails unless err has one of kinds.
func wantKind(t *testing.T, what string, err error, kinds ...errkind.Kind) {
	t.Helper()
	for _, k := range kinds {
		if errors.Is(err, k) {
			var e *errkind.Error
			if !errors.As(err, &e) {
				t.Errorf("%s: %v is not an *errkind.Error", what, err)
			}
			return
		}
	}
	t.Errorf("%s: err = %v (kind %v), want one of %v", what, err, errkind.Of(err), kinds)
}

func testCheck(t *testing.T, s *suite) {
	r, err := s.c.Check(s.ctx)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if r.AppID == "" || r.AppStatus == "" || r.Users < 0 {
		t.Errorf("Check = %+v, want the app's id and status", r)
	}
}

func testUnauthorized(t *testing.T, s *suite) {
	if s.h.NewWithToken == nil {
		t.Skip("harness cannot build a client with another token")
	}
	c := s.h.NewWithToken(t, "00not-a-valid-token-"+s.run)
	_, err := c.Check(s.ctx)
	wantKind(t, "Check with a wrong token", err, errkind.Unauthorized)
}

func testCreateAndGetUser(t *testing.T, s *suite) {
	login := s.login("")
	u := s.createUser(t, oktaclient.NewUser{Login: login, Email: login, FirstName: "Ada", LastName: "Lovelace"})
	if u.ID == "" || u.Status != "STAGED" || u.Login != login || u.Email != login || u.FirstName != "Ada" || u.LastName != "Lovelace" {
		t.Errorf("CreateUser = %+v, want a STAGED user with the given profile", u)
	}
	got, err := s.c.GetUser(s.ctx, u.ID)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if got.ID != u.ID || got.Login != login || got.Status != "STAGED" || got.Created.IsZero() {
		t.Errorf("GetUser = %+v, want %+v", got, u)
	}
}

func testCreateActiveUser(t *testing.T, s *suite) {
	u := s.createUser(t, oktaclient.NewUser{Activate: true})
	// Okta leaves a user without a password PROVISIONED until they set one.
	if u.Status != "ACTIVE" && u.Status != "PROVISIONED" {
		t.Errorf("status = %s, want ACTIVE or PROVISIONED", u.Status)
	}
}

func testDuplicateLogin(t *testing.T, s *suite) {
	u := s.createUser(t, oktaclient.NewUser{})
	dup, err := s.c.CreateUser(s.ctx, oktaclient.NewUser{Login: u.Login, Email: u.Email, FirstName: "Dup", LastName: "Licate"})
	if dup.ID != "" {
		s.created = append(s.created, dup.ID)
	}
	wantKind(t, "CreateUser with a taken login", err, errkind.Conflict)
	if m := errkind.Message(err); !strings.Contains(m, "already exists") {
		t.Errorf("message %q does not carry Okta's cause", m)
	}
}

func testLifecycle(t *testing.T, s *suite) {
	u := s.createUser(t, oktaclient.NewUser{})
	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{"activate", func() error { return s.c.ActivateUser(s.ctx, u.ID, oktaclient.LifecycleOptions{}) }, []string{"ACTIVE", "PROVISIONED"}},
		{"deactivate", func() error { return s.c.DeactivateUser(s.ctx, u.ID, oktaclient.LifecycleOptions{}) }, []string{"DEPROVISIONED"}},
		{"reactivate", func() error { return s.c.ActivateUser(s.ctx, u.ID, oktaclient.LifecycleOptions{}) }, []string{"ACTIVE", "PROVISIONED"}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got, err := s.c.GetUser(s.ctx, u.ID)
		if err != nil {
			t.Fatalf("%s: GetUser: %v", st.name, err)
		}
		if !slices.Contains(st.want, got.Status) {
			t.Errorf("after %s: status %s, want one of %v", st.name, got.Status, st.want)
		}
	}
}

func testFindUserByLogin(t *testing.T, s *suite) {
	// '+' must reach Okta encoded, or it arrives as a space.
	a := s.createUser(t, oktaclient.NewUser{Login: s.login("+tag")})
	b := s.createUser(t, oktaclient.NewUser{Login: s.login("")})
	for _, u := range []oktaclient.User{a, b} {
		got, err := s.c.FindUserByLogin(s.ctx, u.Login)
		if err != nil {
			t.Fatalf("FindUserByLogin(%s): %v", u.Login, err)
		}
		if got.ID != u.ID || got.Login != u.Login {
			t.Errorf("FindUserByLogin(%s) = %s %s, want %s", u.Login, got.ID, got.Login, u.ID)
		}
	}
	_, err := s.c.FindUserByLogin(s.ctx, s.login("-nobody"))
	wantKind(t, "FindUserByLogin of an unknown login", err, errkind.NotFound)

	// A quote in the value must not end the string and turn the rest into filter.
	injected := `nobody@example.com" or profile.login eq "` + a.Login
	got, err := s.c.FindUserByLogin(s.ctx, injected)
	if err == nil {
		t.Errorf("FindUserByLogin(%q) = %s: the value escaped its quotes", injected, got.ID)
	} else {
		wantKind(t, "FindUserByLogin with quotes", err, errkind.NotFound, errkind.Invalid)
	}
}

func testFindUsersByEmail(t *testing.T, s *suite) {
	email := s.login("-shared")
	a := s.createUser(t, oktaclient.NewUser{Email: email})
	b := s.createUser(t, oktaclient.NewUser{Email: email})
	got, err := s.c.FindUsersByEmail(s.ctx, email)
	if err != nil {
		t.Fatalf("FindUsersByEmail: %v", err)
	}
	var ids []string
	for _, u := range got {
		ids = append(ids, u.ID)
		if u.Email != email {
			t.Errorf("user %s has email %s, want %s", u.ID, u.Email, email)
		}
	}
	slices.Sort(ids)
	want := []string{a.ID, b.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("FindUsersByEmail = %v, want %v", ids, want)
	}
	none, err := s.c.FindUsersByEmail(s.ctx, s.login("-none"))
	if err != nil || len(none) != 0 {
		t.Errorf("FindUsersByEmail of an unused email = %v, %v; want none, nil", none, err)
	}
}

func testUnknownIDs(t *testing.T, s *suite) {
	const unknown = "00u0000000000000000x"
	_, err := s.c.GetUser(s.ctx, unknown)
	wantKind(t, "GetUser", err, errkind.NotFound)
	_, err = s.c.GetAppUser(s.ctx, unknown)
	wantKind(t, "GetAppUser", err, errkind.NotFound)
	_, err = s.c.UpdateAppUser(s.ctx, unknown, oktaclient.AppUserUpdate{Profile: map[string]any{"email": "x@example.com"}})
	wantKind(t, "UpdateAppUser", err, errkind.NotFound)
	err = s.c.UnassignUser(s.ctx, unknown)
	wantKind(t, "UnassignUser", err, errkind.NotFound)
	err = s.c.ActivateUser(s.ctx, unknown, oktaclient.LifecycleOptions{})
	wantKind(t, "ActivateUser", err, errkind.NotFound)
	_, err = s.c.AssignUser(s.ctx, oktaclient.Assignment{UserID: unknown, UserName: "x@example.com"})
	wantKind(t, "AssignUser", err, errkind.NotFound, errkind.Invalid)
}

func testAssignUpdateUnassign(t *testing.T, s *suite) {
	attr := s.h.ProfileAttribute
	first, second := s.login("-first"), s.login("-second")
	u, au := s.assign(t, map[string]any{attr: first})
	if au.ID != u.ID || au.UserName != u.Login || au.Scope != oktaclient.ScopeUser || au.Status == "" {
		t.Errorf("AssignUser = %+v, want id %s, user name %s, scope USER", au, u.ID, u.Login)
	}
	got, err := s.c.GetAppUser(s.ctx, u.ID)
	if err != nil {
		t.Fatalf("GetAppUser: %v", err)
	}
	if got.ID != u.ID || got.UserName != u.Login || got.Profile[attr] != first || got.Created.IsZero() {
		t.Errorf("GetAppUser = %+v, want user name %s and %s %s", got, u.Login, attr, first)
	}

	// A profile-only update must leave the user name alone.
	upd, err := s.c.UpdateAppUser(s.ctx, u.ID, oktaclient.AppUserUpdate{Profile: map[string]any{attr: second}})
	if err != nil {
		t.Fatalf("UpdateAppUser(profile): %v", err)
	}
	if upd.UserName != u.Login || upd.Profile[attr] != second {
		t.Errorf("after profile update: user name %q, %s %v; want %q, %s", upd.UserName, attr, upd.Profile[attr], u.Login, second)
	}

	newName := s.login("-renamed")
	upd, err = s.c.UpdateAppUser(s.ctx, u.ID, oktaclient.AppUserUpdate{UserName: newName})
	if err != nil {
		t.Fatalf("UpdateAppUser(user name): %v", err)
	}
	if upd.UserName != newName || upd.Profile[attr] != second {
		t.Errorf("after rename: user name %q, %s %v; want %q, %s", upd.UserName, attr, upd.Profile[attr], newName, second)
	}
	got, err = s.c.GetAppUser(s.ctx, u.ID)
	if err != nil || got.UserName != newName {
		t.Errorf("GetAppUser after rename = %q, %v; want %q", got.UserName, err, newName)
	}

	if err := s.c.UnassignUser(s.ctx, u.ID); err != nil {
		t.Fatalf("UnassignUser: %v", err)
	}
	_, err = s.c.GetAppUser(s.ctx, u.ID)
	wantKind(t, "GetAppUser after unassign", err, errkind.NotFound)
}

func testListAppUsersPages(t *testing.T, s *suite) {
	const n, limit = 5, 2
	mine := map[string]bool{}
	for range n {
		u, _ := s.assign(t, nil)
		mine[u.ID] = true
	}

	seen := map[string]int{}
	var firstAfter string
	var firstPage []string
	pages := 0
	err := s.c.ListAppUsers(s.ctx, oktaclient.ListOptions{Limit: limit}, func(page []oktaclient.AppUser, after string) error {
		pages++
		if len(page) > limit {
			t.Errorf("page %d has %d users, limit %d", pages, len(page), limit)
		}
		for _, au := range page {
			seen[au.ID]++
			if pages == 1 {
				firstPage = append(firstPage, au.ID)
			}
		}
		if pages == 1 {
			firstAfter = after
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ListAppUsers: %v", err)
	}
	for id := range mine {
		if seen[id] != 1 {
			t.Errorf("user %s listed %d times, want once", id, seen[id])
		}
	}
	if pages < (n+limit-1)/limit {
		t.Errorf("%d pages for at least %d users at %d a page", pages, n, limit)
	}

	// Resuming after the first page lists everything but the first page.
	if firstAfter == "" {
		t.Fatal("first page handed no cursor")
	}
	rest := map[string]bool{}
	err = s.c.ListAppUsers(s.ctx, oktaclient.ListOptions{Limit: limit, After: firstAfter}, func(page []oktaclient.AppUser, _ string) error {
		for _, au := range page {
			rest[au.ID] = true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ListAppUsers(after): %v", err)
	}
	for _, id := range firstPage {
		if rest[id] {
			t.Errorf("user %s of the first page listed again after its cursor", id)
		}
	}
	for id := range mine {
		if !rest[id] && !slices.Contains(firstPage, id) {
			t.Errorf("user %s missing after resuming", id)
		}
	}

	// An error from the callback stops the listing and comes back unchanged.
	stop := errors.New("stop")
	calls := 0
	err = s.c.ListAppUsers(s.ctx, oktaclient.ListOptions{Limit: limit}, func([]oktaclient.AppUser, string) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("callback error: got %v after %d calls, want stop after 1", err, calls)
	}
}
