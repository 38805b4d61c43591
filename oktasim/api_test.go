package oktasim_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/okta/okta-sdk-golang/v2/okta"
	"github.com/okta/okta-sdk-golang/v2/okta/query"

	"github.com/oktasync/oktasync/oktasim"
)

// newSDK returns a v2 SDK client for srv, configured as oktasync must
// configure it (no cache, a request timeout, plain http allowed).
func newSDK(t testing.TB, srv *oktasim.Server, token string, retries int32) *okta.Client {
	t.Helper()
	t.Setenv("HOME", t.TempDir()) // keep a developer's ~/.okta/okta.yaml out
	_, c, err := okta.NewClient(context.Background(),
		okta.WithOrgUrl(srv.URL), okta.WithToken(token), okta.WithCache(false),
		okta.WithTestingDisableHttpsCheck(true), okta.WithRequestTimeout(10),
		okta.WithRateLimitMaxRetries(retries), okta.WithRateLimitMaxBackOff(5))
	if err != nil {
		t.Fatalf("okta.NewClient: %v", err)
	}
	return c
}

func startSim(t testing.TB, opts ...oktasim.Option) (*oktasim.Server, *okta.Client) {
	t.Helper()
	srv := oktasim.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv, newSDK(t, srv, srv.Token, 0)
}

func profile(login, first, last string) map[string]any {
	return map[string]any{"login": login, "email": login, "firstName": first, "lastName": last}
}

func oktaErr(t *testing.T, err error) *okta.Error {
	t.Helper()
	var oe *okta.Error
	if !errors.As(err, &oe) {
		t.Fatalf("error %v (%T) is not *okta.Error", err, err)
	}
	return oe
}

// rawDo sends a request to the management API with the given token and
// returns status, headers and body.
func rawDo(t *testing.T, srv *oktasim.Server, method, path, token, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "SSWS "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func TestAuth(t *testing.T) {
	srv, _ := startSim(t, oktasim.WithAPIToken("good-token"))
	tests := []struct {
		name   string
		token  string
		status int
	}{
		{"right token", "good-token", http.StatusOK},
		{"wrong token", "bad-token", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newSDK(t, srv, tc.token, 0)
			_, resp, err := c.User.ListUsers(context.Background(), nil)
			if resp == nil || resp.StatusCode != tc.status {
				t.Fatalf("status = %v, want %d (err %v)", resp, tc.status, err)
			}
			if tc.status == http.StatusUnauthorized {
				oe := oktaErr(t, err)
				if oe.ErrorCode != "E0000011" || oe.ErrorSummary != "Invalid token provided" {
					t.Errorf("error = %+v", oe)
				}
			}
		})
	}
	// No Authorization header at all.
	st, h, body := rawDo(t, srv, "GET", "/api/v1/users", "", "")
	if st != http.StatusUnauthorized || !strings.Contains(string(body), "E0000011") || h.Get("Content-Type") != "application/json" {
		t.Errorf("no token: %d %s %q", st, h.Get("Content-Type"), body)
	}
}

func TestUserLifecycleAndErrors(t *testing.T) {
	srv, c := startSim(t)
	ctx := context.Background()
	f := false
	staged, _, err := c.User.CreateUser(ctx, okta.CreateUserRequest{Profile: (*okta.UserProfile)(&map[string]any{
		"login": "ann@example.com", "email": "ann@example.com", "firstName": "Ann", "lastName": "Lee", "department": "R&D"}),
	}, &query.Params{Activate: &f})
	if err != nil {
		t.Fatal(err)
	}
	if staged.Status != "STAGED" || len(staged.Id) != 20 || !strings.HasPrefix(staged.Id, "00u") {
		t.Fatalf("staged user = %s %q", staged.Status, staged.Id)
	}
	if (*staged.Profile)["department"] != "R&D" {
		t.Errorf("custom attribute lost: %v", *staged.Profile)
	}

	tr := true
	_, resp, err := c.User.CreateUser(ctx, okta.CreateUserRequest{Profile: (*okta.UserProfile)(&map[string]any{
		"login": "ANN@example.com", "email": "x@example.com", "firstName": "A", "lastName": "B"}),
	}, &query.Params{Activate: &tr})
	oe := oktaErr(t, err)
	if resp.StatusCode != 400 || oe.ErrorCode != "E0000001" || len(oe.ErrorCauses) != 1 ||
		oe.ErrorCauses[0]["errorSummary"] != "login: An object with this field already exists in the current organization" {
		t.Errorf("duplicate login: %d %+v", resp.StatusCode, oe)
	}
	_, resp, err = c.User.CreateUser(ctx, okta.CreateUserRequest{Profile: (*okta.UserProfile)(&map[string]any{"login": "nofirst@example.com"})}, nil)
	if oe := oktaErr(t, err); resp.StatusCode != 400 || oe.ErrorCode != "E0000001" || len(oe.ErrorCauses) == 0 {
		t.Errorf("missing fields: %d %+v", resp.StatusCode, oe)
	}

	// Lookup by login needs escaping; by id works too.
	for _, key := range []string{staged.Id, url.PathEscape("ann@example.com")} {
		got, _, err := c.User.GetUser(ctx, key)
		if err != nil || got.Id != staged.Id {
			t.Errorf("GetUser(%s) = %v, %v", key, got, err)
		}
	}
	// A login with characters that need escaping, sent escaped.
	plus, err := srv.Sim.CreateUser(profile("a+b@example.com", "A", "B"), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"a%2Bb%40example.com", "a+b@example.com", "A+B@EXAMPLE.COM"} {
		st, _, body := rawDo(t, srv, "GET", "/api/v1/users/"+key, srv.Token, "")
		if st != 200 || !strings.Contains(string(body), plus.ID) {
			t.Errorf("GET /api/v1/users/%s: %d %s", key, st, body)
		}
	}
	_, resp, err = c.User.GetUser(ctx, "00unknown")
	if oe := oktaErr(t, err); resp.StatusCode != 404 || oe.ErrorCode != "E0000007" {
		t.Errorf("unknown user: %d %+v", resp.StatusCode, oe)
	}

	// Partial update keeps the rest; full update replaces.
	up, _, err := c.User.PartialUpdateUser(ctx, staged.Id, okta.User{Profile: &okta.UserProfile{"firstName": "Anna"}}, nil)
	if err != nil || (*up.Profile)["firstName"] != "Anna" || (*up.Profile)["department"] != "R&D" {
		t.Fatalf("partial update: %v %v", up, err)
	}
	full, _, err := c.User.UpdateUser(ctx, staged.Id, okta.User{Profile: (*okta.UserProfile)(&map[string]any{
		"login": "ann@example.com", "email": "ann@example.com", "firstName": "Anna", "lastName": "Lee"})}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := (*full.Profile)["department"]; ok {
		t.Errorf("PUT kept department: %v", *full.Profile)
	}

	steps := []struct {
		op      string
		status  string // expected user status after, "" if the call fails
		errCode string
	}{
		{"activate", "ACTIVE", ""},
		{"activate", "", "E0000016"},
		{"suspend", "SUSPENDED", ""},
		{"suspend", "", "E0000001"},
		{"unsuspend", "ACTIVE", ""},
		{"deactivate", "DEPROVISIONED", ""},
		{"reactivate", "", "E0000038"},
		{"activate", "ACTIVE", ""},
	}
	for i, st := range steps {
		var err error
		switch st.op {
		case "activate":
			_, _, err = c.User.ActivateUser(ctx, staged.Id, nil)
		case "reactivate":
			_, _, err = c.User.ReactivateUser(ctx, staged.Id, nil)
		case "suspend":
			_, err = c.User.SuspendUser(ctx, staged.Id)
		case "unsuspend":
			_, err = c.User.UnsuspendUser(ctx, staged.Id)
		case "deactivate":
			_, err = c.User.DeactivateUser(ctx, staged.Id, nil)
		}
		if st.errCode != "" {
			if oe := oktaErr(t, err); oe.ErrorCode != st.errCode {
				t.Errorf("step %d %s: code %s, want %s", i, st.op, oe.ErrorCode, st.errCode)
			}
			continue
		}
		if err != nil {
			t.Fatalf("step %d %s: %v", i, st.op, err)
		}
		u, _, _ := c.User.GetUser(ctx, staged.Id)
		if u.Status != st.status {
			t.Errorf("step %d %s: status %s, want %s", i, st.op, u.Status, st.status)
		}
	}

	// DELETE twice: deactivate, then delete.
	if _, err := c.User.DeactivateOrDeleteUser(ctx, staged.Id, nil); err != nil {
		t.Fatal(err)
	}
	u, _, err := c.User.GetUser(ctx, staged.Id)
	if err != nil || u.Status != "DEPROVISIONED" {
		t.Fatalf("after first DELETE: %v %v", u, err)
	}
	if resp, err := c.User.DeactivateOrDeleteUser(ctx, staged.Id, nil); err != nil || resp.StatusCode != 204 {
		t.Fatalf("second DELETE: %v %v", resp, err)
	}
	if _, resp, _ := c.User.GetUser(ctx, staged.Id); resp.StatusCode != 404 {
		t.Errorf("after second DELETE: %d", resp.StatusCode)
	}
}

// listAll pages through users with the SDK's HasNextPage/Next.
func listAll(t *testing.T, c *okta.Client, qp *query.Params) []string {
	t.Helper()
	ctx := context.Background()
	users, resp, err := c.User.ListUsers(ctx, qp)
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	var ids []string
	for {
		for _, u := range users {
			ids = append(ids, u.Id)
		}
		if !resp.HasNextPage() {
			return ids
		}
		var next []*okta.User
		if resp, err = resp.Next(ctx, &next); err != nil {
			t.Fatalf("Next: %v", err)
		}
		users = next
		if len(ids) > 1000 {
			t.Fatal("pagination does not end")
		}
	}
}

func TestUserPagination(t *testing.T) {
	srv, c := startSim(t)
	var want []string
	for i := range 7 {
		u, err := srv.Sim.CreateUser(profile(fmt.Sprintf("u%d@example.com", i), "F", "L"), true)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, u.ID)
	}
	got := listAll(t, c, &query.Params{Limit: 3})
	if !slices.Equal(got, want) {
		t.Fatalf("paged ids = %v, want %v", got, want)
	}

	// One Link header per rel, never joined with commas.
	_, h, _ := rawDo(t, srv, "GET", "/api/v1/users?limit=3", srv.Token, "")
	links := h.Values("Link")
	if len(links) != 2 || !strings.HasSuffix(links[0], `rel="self"`) || !strings.HasSuffix(links[1], `rel="next"`) ||
		!strings.Contains(links[1], "after="+want[2]) || !strings.Contains(links[1], "limit=3") {
		t.Errorf("Link headers = %q", links)
	}
	_, h, _ = rawDo(t, srv, "GET", "/api/v1/users", srv.Token, "")
	if links := h.Values("Link"); len(links) != 1 || !strings.Contains(links[0], `rel="self"`) {
		t.Errorf("last page Link headers = %q", links)
	}
}

func TestPaginationStableUnderWrites(t *testing.T) {
	srv, c := startSim(t)
	ctx := context.Background()
	var ids []string
	for i := range 6 {
		u, _ := srv.Sim.CreateUser(profile(fmt.Sprintf("w%d@example.com", i), "F", "L"), true)
		ids = append(ids, u.ID)
	}
	page, resp, err := c.User.ListUsers(ctx, &query.Params{Limit: 2})
	if err != nil || len(page) != 2 {
		t.Fatal(err)
	}
	seen := []string{page[0].Id, page[1].Id}
	// Delete the item the cursor points at and one not yet listed, and
	// add a new user: the listing must neither repeat nor skip survivors.
	if err := srv.Sim.DeleteUser(ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := srv.Sim.DeleteUser(ids[4]); err != nil {
		t.Fatal(err)
	}
	added, _ := srv.Sim.CreateUser(profile("late@example.com", "F", "L"), true)
	for resp.HasNextPage() {
		var next []*okta.User
		if resp, err = resp.Next(ctx, &next); err != nil {
			t.Fatal(err)
		}
		for _, u := range next {
			seen = append(seen, u.Id)
		}
	}
	want := []string{ids[0], ids[1], ids[2], ids[3], ids[5], added.ID}
	if !slices.Equal(seen, want) {
		t.Errorf("seen %v, want %v", seen, want)
	}
}

func TestUserFilterSearchQ(t *testing.T) {
	clk := oktasim.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	srv, c := startSim(t, oktasim.WithClock(clk))
	mk := func(login, first, last string, active bool) string {
		u, err := srv.Sim.CreateUser(profile(login, first, last), active)
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
		return u.ID
	}
	ann := mk("ann@example.com", "Ann", "Lee", true)
	bob := mk("bob@example.com", "Bob", "Stone", false)
	cat := mk("cat@other.org", "Cat", "Lee", true)
	dan := mk("dan@example.com", "Dan", "Brown", true)
	if err := srv.Sim.DeactivateUser(dan); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		qp   query.Params
		want []string
	}{
		{"plain list hides deprovisioned", query.Params{}, []string{ann, bob, cat}},
		{"filter status", query.Params{Filter: `status eq "STAGED"`}, []string{bob}},
		{"filter deprovisioned", query.Params{Filter: `status eq "DEPROVISIONED"`}, []string{dan}},
		{"filter login any case", query.Params{Filter: `profile.login eq "ANN@example.com"`}, []string{ann}},
		{"filter email", query.Params{Filter: `profile.email eq "cat@other.org"`}, []string{cat}},
		{"filter id", query.Params{Filter: `id eq "` + bob + `"`}, []string{bob}},
		{"filter lastName or", query.Params{Filter: `profile.lastName eq "Lee" or profile.firstName eq "Bob"`}, []string{ann, bob, cat}},
		{"filter and", query.Params{Filter: `profile.lastName eq "Lee" and status eq "ACTIVE"`}, []string{ann, cat}},
		{"filter lastUpdated gt", query.Params{Filter: `lastUpdated gt "2026-01-01T00:00:30.000Z"`}, []string{bob, cat, dan}},
		{"filter lastUpdated lt", query.Params{Filter: `lastUpdated lt "2026-01-01T00:01:30.000Z"`}, []string{ann, bob}},
		{"search sw", query.Params{Search: `profile.login sw "ann" or profile.email sw "cat"`}, []string{ann, cat}},
		{"search pr and eq", query.Params{Search: `profile.firstName pr and (status eq "STAGED" or status eq "DEPROVISIONED")`}, []string{bob, dan}},
		{"search custom parens", query.Params{Search: `(profile.lastName eq "lee") and profile.email sw "cat"`}, []string{cat}},
		{"q prefix", query.Params{Q: "Le"}, []string{ann, cat}},
		{"q no match", query.Params{Q: "zzz"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			qp := tc.qp
			got := listAll(t, c, &qp)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	// q answers 10 users unless a limit is given.
	for i := range 12 {
		mk(fmt.Sprintf("qq%02d@example.com", i), "Quinn", "Q", true)
	}
	if page, _, err := c.User.ListUsers(context.Background(), &query.Params{Q: "Quinn"}); err != nil || len(page) != 10 {
		t.Errorf("q default limit: %d users, %v", len(page), err)
	}
	if page, _, err := c.User.ListUsers(context.Background(), &query.Params{Q: "Quinn", Limit: 50}); err != nil || len(page) != 12 {
		t.Errorf("q with limit: %d users, %v", len(page), err)
	}

	bad := []query.Params{
		{Filter: `profile.city eq "x"`},
		{Filter: `profile.login sw "a"`},
		{Filter: `status eq`},
		{Search: `profile.login eq "unterminated`},
		{Filter: `lastUpdated gt "yesterday"`},
	}
	for _, qp := range bad {
		_, resp, err := c.User.ListUsers(context.Background(), &qp)
		if oe := oktaErr(t, err); resp.StatusCode != 400 || oe.ErrorCode != "E0000031" {
			t.Errorf("%+v: %d %+v", qp, resp.StatusCode, oe)
		}
	}
}

func TestAppsAndAppUsers(t *testing.T) {
	srv, c := startSim(t, oktasim.WithAppID("0oafixedappid000001"))
	ctx := context.Background()
	apps, _, err := c.Application.ListApplications(ctx, nil)
	if err != nil || len(apps) != 1 {
		t.Fatalf("apps = %v, %v", apps, err)
	}
	if got := apps[0].(*okta.Application).Id; got != "0oafixedappid000001" {
		t.Errorf("app id = %s", got)
	}
	if _, _, err := c.Application.GetApplication(ctx, srv.AppID, okta.NewApplication(), nil); err != nil {
		t.Errorf("GetApplication: %v", err)
	}
	if _, resp, err := c.Application.GetApplication(ctx, "0oanope", okta.NewApplication(), nil); resp.StatusCode != 404 || oktaErr(t, err).ErrorCode != "E0000007" {
		t.Errorf("unknown app: %v", err)
	}

	var ids []string
	for i, name := range []string{"ann", "bob", "cat", "dan", "eve"} {
		u, err := srv.Sim.CreateUser(profile(name+"@example.com", strings.ToUpper(name[:1])+name[1:], fmt.Sprint("Last", i)), true)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	for i, id := range ids {
		au, _, err := c.Application.AssignUserToApplication(ctx, srv.AppID, okta.AppUser{
			Id: id, Scope: "USER", Credentials: &okta.AppUserCredentials{UserName: fmt.Sprintf("app-%d@example.com", i)},
			Profile: map[string]any{"department": "D" + strconv.Itoa(i)},
			// Read-only fields must be ignored.
			Status: "IMPLICIT", SyncState: "ERROR", ExternalId: "forged",
		})
		if err != nil {
			t.Fatal(err)
		}
		if au.Id != id || au.Scope != "USER" || au.ExternalId != "" || au.Status != "ACTIVE" || au.SyncState != "DISABLED" {
			t.Errorf("assigned = %+v", au)
		}
		links, _ := au.Links.(map[string]any)
		if links["app"] == nil || links["user"] == nil {
			t.Errorf("links = %v", au.Links)
		}
	}

	// Pagination with limit 2 and expand=user.
	page, resp, err := c.Application.ListApplicationUsers(ctx, srv.AppID, &query.Params{Limit: 2, Expand: "user"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		for _, au := range page {
			got = append(got, au.Id)
			emb, _ := au.Embedded.(map[string]any)
			if u, _ := emb["user"].(map[string]any); u["id"] != au.Id {
				t.Errorf("embedded user of %s = %v", au.Id, emb)
			}
		}
		if !resp.HasNextPage() {
			break
		}
		page = nil
		if resp, err = resp.Next(ctx, &page); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(got, ids) {
		t.Errorf("app users = %v, want %v", got, ids)
	}

	// q is a prefix match on userName, names and email.
	for _, tc := range []struct {
		q    string
		want []string
	}{{"app-3", ids[3:4]}, {"Bo", ids[1:2]}, {"last", ids}, {"nobody", nil}} {
		page, _, err := c.Application.ListApplicationUsers(ctx, srv.AppID, &query.Params{Q: tc.q})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, au := range page {
			got = append(got, au.Id)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("q=%s: %v, want %v", tc.q, got, tc.want)
		}
	}

	// Profile update merges; Credentials left nil keeps the userName.
	up, _, err := c.Application.UpdateApplicationUser(ctx, srv.AppID, ids[0], okta.AppUser{Profile: map[string]any{"title": "Boss"}})
	if err != nil {
		t.Fatal(err)
	}
	p := up.Profile.(map[string]any)
	if p["title"] != "Boss" || p["department"] != "D0" || up.Credentials.UserName != "app-0@example.com" {
		t.Errorf("updated = %+v %v", up, p)
	}
	up, _, err = c.Application.UpdateApplicationUser(ctx, srv.AppID, ids[0], okta.AppUser{Credentials: &okta.AppUserCredentials{UserName: "renamed@example.com"}})
	if err != nil || up.Credentials.UserName != "renamed@example.com" {
		t.Errorf("rename: %v %v", up, err)
	}

	// Assigning again answers with the (updated) assignment.
	again, resp, err := c.Application.AssignUserToApplication(ctx, srv.AppID, okta.AppUser{Id: ids[1], Scope: "USER",
		Credentials: &okta.AppUserCredentials{UserName: "app-1@example.com"}, Profile: map[string]any{"department": "X"}})
	if err != nil || resp.StatusCode != 200 || again.Profile.(map[string]any)["department"] != "X" {
		t.Errorf("re-assign: %v %v", again, err)
	}
	if n := len(srv.Sim.AppUsers(srv.AppID)); n != 5 {
		t.Errorf("%d app users after re-assign", n)
	}

	// Unassign: 204 with an empty body, then 404.
	resp, err = c.Application.DeleteApplicationUser(ctx, srv.AppID, ids[2], nil)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("unassign: %v %v", resp, err)
	}
	if b, _ := io.ReadAll(resp.Body); len(b) != 0 {
		t.Errorf("unassign body %q", b)
	}
	_, resp, err = c.Application.GetApplicationUser(ctx, srv.AppID, ids[2], nil)
	if resp.StatusCode != 404 || oktaErr(t, err).ErrorCode != "E0000007" {
		t.Errorf("after unassign: %v", err)
	}
	_, resp, err = c.Application.AssignUserToApplication(ctx, srv.AppID, okta.AppUser{Id: "00unobody", Scope: "USER"})
	if resp.StatusCode != 404 || oktaErr(t, err).ErrorCode != "E0000007" {
		t.Errorf("assign unknown user: %v", err)
	}

	// Deactivating a user removes its assignments, as Okta does.
	if err := srv.Sim.DeactivateUser(ids[3]); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Sim.AppUser(srv.AppID, ids[3]); err == nil {
		t.Error("deactivated user still assigned")
	}
	_, resp, err = c.Application.AssignUserToApplication(ctx, srv.AppID, okta.AppUser{Id: ids[3], Scope: "USER"})
	if resp.StatusCode != 400 || oktaErr(t, err).ErrorCode != "E0000001" {
		t.Errorf("assign deactivated user: %v", err)
	}
}

func TestGroupsAndGroupAssignment(t *testing.T) {
	srv, c := startSim(t)
	ctx := context.Background()
	g, _, err := c.Group.CreateGroup(ctx, okta.Group{Profile: &okta.GroupProfile{Name: "Engineering", Description: "eng"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(g.Id, "00g") || g.Type != "OKTA_GROUP" {
		t.Errorf("group = %+v", g)
	}
	_, resp, err := c.Group.CreateGroup(ctx, okta.Group{Profile: &okta.GroupProfile{Name: "engineering"}})
	if resp.StatusCode != 400 || oktaErr(t, err).ErrorCode != "E0000001" {
		t.Errorf("duplicate group: %v", err)
	}
	ann, _ := srv.Sim.CreateUser(profile("ann@example.com", "Ann", "Lee"), true)
	bob, _ := srv.Sim.CreateUser(profile("bob@example.com", "Bob", "Ray"), true)
	for _, u := range []string{ann.ID, bob.ID} {
		if _, err := c.Group.AddUserToGroup(ctx, g.Id, u); err != nil {
			t.Fatal(err)
		}
	}
	members, _, err := c.Group.ListGroupUsers(ctx, g.Id, nil)
	if err != nil || len(members) != 2 {
		t.Fatalf("members = %v %v", members, err)
	}

	// Bob is also assigned directly before the group is.
	if _, err := srv.Sim.AssignUser(srv.AppID, bob.ID, "", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Application.CreateApplicationGroupAssignment(ctx, srv.AppID, g.Id, okta.ApplicationGroupAssignment{}); err != nil {
		t.Fatal(err)
	}
	assigned, _, err := c.Application.ListApplicationGroupAssignments(ctx, srv.AppID, nil)
	if err != nil || len(assigned) != 1 || assigned[0].Id != g.Id {
		t.Fatalf("app groups = %v %v", assigned, err)
	}
	scopes := func() map[string]string {
		out := map[string]string{}
		for _, au := range srv.Sim.AppUsers(srv.AppID) {
			out[au.UserID] = au.Scope
		}
		return out
	}
	if got := scopes(); got[ann.ID] != "GROUP" || got[bob.ID] != "USER" {
		t.Errorf("scopes = %v", got)
	}
	au, _ := srv.Sim.AppUser(srv.AppID, ann.ID)
	if au.UserName != "ann@example.com" || au.Profile["givenName"] != "Ann" || au.Profile["email"] != "ann@example.com" {
		t.Errorf("group-assigned app user = %+v", au)
	}

	// Assigning a group-scoped user again keeps scope GROUP; an update
	// with scope USER converts it.
	if again, _, err := c.Application.AssignUserToApplication(ctx, srv.AppID, okta.AppUser{Id: ann.ID, Scope: "USER",
		Credentials: &okta.AppUserCredentials{UserName: "ann@example.com"}}); err != nil || again.Scope != "GROUP" {
		t.Errorf("re-assign group-scoped: %+v %v", again, err)
	}
	if conv, _, err := c.Application.UpdateApplicationUser(ctx, srv.AppID, ann.ID, okta.AppUser{Scope: "USER"}); err != nil || conv.Scope != "USER" {
		t.Errorf("convert to USER: %+v %v", conv, err)
	}
	if conv, _, err := c.Application.UpdateApplicationUser(ctx, srv.AppID, ann.ID, okta.AppUser{Scope: "GROUP"}); err != nil || conv.Scope != "GROUP" {
		t.Errorf("convert back to GROUP: %+v %v", conv, err)
	}

	// Removing Bob's direct assignment leaves the group one.
	if _, err := c.Application.DeleteApplicationUser(ctx, srv.AppID, bob.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got := scopes(); got[bob.ID] != "GROUP" {
		t.Errorf("after unassign, scopes = %v", got)
	}
	// Leaving the group ends the assignment.
	if _, err := c.Group.RemoveUserFromGroup(ctx, g.Id, bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := scopes()[bob.ID]; ok {
		t.Error("bob still assigned after leaving the group")
	}
	// Unassigning the group removes the rest.
	if _, err := c.Application.DeleteApplicationGroupAssignment(ctx, srv.AppID, g.Id); err != nil {
		t.Fatal(err)
	}
	if n := len(scopes()); n != 0 {
		t.Errorf("%d app users left", n)
	}

	g.Profile.Name = "Eng"
	if up, _, err := c.Group.UpdateGroup(ctx, g.Id, *g); err != nil || up.Profile.Name != "Eng" {
		t.Errorf("rename: %v %v", up, err)
	}
	list, _, err := c.Group.ListGroups(ctx, &query.Params{Q: "En"})
	if err != nil || len(list) != 1 {
		t.Errorf("groups q: %v %v", list, err)
	}
	if _, err := c.Group.DeleteGroup(ctx, g.Id); err != nil {
		t.Fatal(err)
	}
	if _, resp, _ := c.Group.GetGroup(ctx, g.Id); resp.StatusCode != 404 {
		t.Errorf("deleted group: %d", resp.StatusCode)
	}
}

func TestHeadersOnEveryResponse(t *testing.T) {
	clk := oktasim.NewManualClock(time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC))
	srv, _ := startSim(t, oktasim.WithClock(clk))
	u, _ := srv.Sim.CreateUser(profile("h@example.com", "H", "H"), true)
	tests := []struct {
		method, path, token, body string
		status                    int
		family                    int // expected X-Rate-Limit-Limit
	}{
		{"GET", "/api/v1/users", srv.Token, "", 200, 600},
		{"GET", "/api/v1/users/" + u.ID, srv.Token, "", 200, 600},
		{"GET", "/api/v1/users/00unknown", srv.Token, "", 404, 600},
		{"GET", "/api/v1/apps", srv.Token, "", 200, 100},
		{"GET", "/api/v1/apps/" + srv.AppID + "/users", srv.Token, "", 200, 100},
		{"GET", "/api/v1/groups", srv.Token, "", 200, 500},
		{"POST", "/api/v1/users", srv.Token, "{not json", 400, 600},
		{"GET", "/api/v1/users", "wrong", "", 401, 600},
		{"GET", "/api/v1/nothing-here", srv.Token, "", 404, 600},
		{"PATCH", "/api/v1/users/" + u.ID, srv.Token, "{}", 405, 600},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			st, h, body := rawDo(t, srv, tc.method, tc.path, tc.token, tc.body)
			if st != tc.status {
				t.Errorf("status %d, want %d: %s", st, tc.status, body)
			}
			if len(body) > 0 && h.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", h.Get("Content-Type"))
			}
			if st >= 400 {
				var e map[string]any
				if err := json.Unmarshal(body, &e); err != nil || e["errorCode"] == nil || e["errorSummary"] == nil ||
					e["errorLink"] == nil || e["errorId"] == nil || e["errorCauses"] == nil {
					t.Errorf("error body %s", body)
				}
			}
			if h.Get("Date") != "Sun, 01 Mar 2026 12:00:30 GMT" {
				t.Errorf("Date %q", h.Get("Date"))
			}
			if h.Get("X-Rate-Limit-Limit") != strconv.Itoa(tc.family) || h.Get("X-Rate-Limit-Remaining") == "" {
				t.Errorf("limit headers %v", h)
			}
			if want := strconv.FormatInt(time.Date(2026, 3, 1, 12, 1, 0, 0, time.UTC).Unix(), 10); h.Get("X-Rate-Limit-Reset") != want {
				t.Errorf("reset %s, want %s", h.Get("X-Rate-Limit-Reset"), want)
			}
		})
	}
}

func TestRateLimitWindow(t *testing.T) {
	clk := oktasim.NewManualClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	srv, c := startSim(t, oktasim.WithClock(clk), oktasim.WithRateLimits(oktasim.RateLimits{oktasim.FamilyApps: 4}),
		oktasim.WithRateLimitMultiplier(0.5), oktasim.WithRateLimitWindow(10*time.Second))
	ctx := context.Background()
	for i := range 2 {
		_, resp, err := c.Application.ListApplicationUsers(ctx, srv.AppID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Get("X-Rate-Limit-Remaining"); got != strconv.Itoa(1-i) {
			t.Errorf("remaining %s", got)
		}
	}
	// Other families are counted apart.
	if _, _, err := c.User.ListUsers(ctx, nil); err != nil {
		t.Fatalf("users family limited too: %v", err)
	}
	_, resp, err := c.Application.ListApplicationUsers(ctx, srv.AppID, nil)
	if err == nil || err.Error() != "too many requests" || resp != nil {
		t.Fatalf("third call: %v %v", resp, err)
	}
	st, h, body := rawDo(t, srv, "GET", "/api/v1/apps", srv.Token, "")
	if st != 429 || !strings.Contains(string(body), "E0000047") || h.Get("X-Rate-Limit-Remaining") != "0" ||
		h.Get("X-Rate-Limit-Reset") != strconv.FormatInt(clk.Now().Add(10*time.Second).Unix(), 10) {
		t.Errorf("429: %d %v %s", st, h, body)
	}
	clk.Advance(10 * time.Second)
	if _, _, err := c.Application.ListApplicationUsers(ctx, srv.AppID, nil); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

// TestSDKRetriesAfter429 uses a real one-second window: the SDK waits
// X-Rate-Limit-Reset - Date + 1 seconds of real time and then succeeds.
func TestSDKRetriesAfter429(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for real rate-limit windows (a few seconds)")
	}
	srv := oktasim.NewServer(oktasim.WithRateLimits(oktasim.RateLimits{oktasim.FamilyUsers: 2}), oktasim.WithRateLimitWindow(time.Second))
	t.Cleanup(srv.Close)
	c := newSDK(t, srv, srv.Token, 5)
	for i := range 5 {
		if _, _, err := c.User.ListUsers(context.Background(), nil); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

func TestForced429AndFaults(t *testing.T) {
	clk := oktasim.NewManualClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	srv, c := startSim(t, oktasim.WithClock(clk))
	ctx := context.Background()

	srv.Sim.Force429(90 * time.Second)
	st, h, body := rawDo(t, srv, "GET", "/api/v1/users", srv.Token, "")
	if st != 429 || !strings.Contains(string(body), "E0000047") || h.Get("X-Rate-Limit-Remaining") != "0" ||
		h.Get("X-Rate-Limit-Reset") != strconv.FormatInt(clk.Now().Add(90*time.Second).Unix(), 10) || h.Get("Date") == "" {
		t.Errorf("forced 429: %d %v %s", st, h, body)
	}
	clk.Advance(90 * time.Second)
	if _, _, err := c.User.ListUsers(ctx, nil); err != nil {
		t.Errorf("after forced window: %v", err)
	}

	for _, status := range []int{500, 503} {
		srv.Sim.FailNext(1, status)
		_, resp, err := c.User.ListUsers(ctx, nil)
		oe := oktaErr(t, err)
		if resp.StatusCode != status || oe.ErrorCode == "" {
			t.Errorf("fail-next %d: %d %+v", status, resp.StatusCode, oe)
		}
		if _, _, err := c.User.ListUsers(ctx, nil); err != nil {
			t.Errorf("after fail-next %d: %v", status, err)
		}
	}

	srv.Sim.SetFaults(oktasim.Faults{ErrorRate: 1, ErrorStatuses: []int{502}, PathPrefix: "/api/v1/apps"})
	if _, resp, err := c.Application.ListApplicationUsers(ctx, srv.AppID, nil); err == nil || resp.StatusCode != 502 {
		t.Errorf("error rate 1: %v", err)
	}
	if _, _, err := c.User.ListUsers(ctx, nil); err != nil {
		t.Errorf("path prefix ignored: %v", err)
	}

	srv.Sim.SetFaults(oktasim.Faults{Latency: 3 * time.Second})
	if _, _, err := c.User.ListUsers(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if slept := clk.Slept(); len(slept) != 1 || slept[0] != 3*time.Second {
		t.Errorf("latency sleeps = %v", slept)
	}
}

// blockingSleeper holds every sleeper until release is closed.
type blockingSleeper struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingSleeper) Sleep(ctx context.Context, d time.Duration) error {
	b.entered <- struct{}{}
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestConcurrencyLimit(t *testing.T) {
	bs := &blockingSleeper{entered: make(chan struct{}, 1), release: make(chan struct{})}
	srv, _ := startSim(t, oktasim.WithSleeper(bs), oktasim.WithConcurrencyLimit(1),
		oktasim.WithFaults(oktasim.Faults{Latency: time.Second}))
	var wg sync.WaitGroup
	wg.Add(1)
	var first int
	go func() {
		defer wg.Done()
		first, _, _ = rawDo(t, srv, "GET", "/api/v1/users", srv.Token, "")
	}()
	<-bs.entered // the first request is in flight
	st, h, body := rawDo(t, srv, "GET", "/api/v1/users", srv.Token, "")
	close(bs.release)
	wg.Wait()
	if first != 200 {
		t.Errorf("first request %d", first)
	}
	if st != 429 || !strings.Contains(string(body), "E0000047") || h.Get("X-Rate-Limit-Limit") != "1" || h.Get("X-Rate-Limit-Reset") == "" {
		t.Errorf("second request: %d %v %s", st, h, body)
	}
}

func TestTLSServerWithSDK(t *testing.T) {
	srv := oktasim.NewTLSServer()
	t.Cleanup(srv.Close)
	t.Setenv("HOME", t.TempDir())
	_, c, err := okta.NewClient(context.Background(), okta.WithOrgUrl(srv.URL), okta.WithToken(srv.Token),
		okta.WithCache(false), okta.WithHttpClientPtr(srv.Client()), okta.WithRequestTimeout(10), okta.WithRateLimitMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(srv.URL, "https://") {
		t.Fatalf("URL %s", srv.URL)
	}
	app, _, err := c.Application.GetApplication(context.Background(), srv.AppID, okta.NewApplication(), nil)
	if err != nil || app.(*okta.Application).Id != srv.AppID {
		t.Errorf("GetApplication over TLS: %v %v", app, err)
	}
}

func TestAppProfileSchema(t *testing.T) {
	srv, c := startSim(t, oktasim.WithAppProfileAttributes("givenName", "familyName", "email", "department"))
	ctx := context.Background()
	u, _ := srv.Sim.CreateUser(profile("ann@example.com", "Ann", "Lee"), true)
	_, resp, err := c.Application.AssignUserToApplication(ctx, srv.AppID, okta.AppUser{Id: u.ID, Scope: "USER",
		Credentials: &okta.AppUserCredentials{UserName: "ann@example.com"}, Profile: map[string]any{"role": "x", "department": "R&D"}})
	oe := oktaErr(t, err)
	if resp.StatusCode != 400 || oe.ErrorCode != "E0000001" || oe.ErrorSummary != "Api validation failed: assignment" ||
		len(oe.ErrorCauses) != 1 || oe.ErrorCauses[0]["errorSummary"] != "Property 'role' not found" {
		t.Errorf("unknown attribute: %d %+v", resp.StatusCode, oe)
	}
	if _, _, err := c.Application.AssignUserToApplication(ctx, srv.AppID, okta.AppUser{Id: u.ID, Scope: "USER",
		Credentials: &okta.AppUserCredentials{UserName: "ann@example.com"}, Profile: map[string]any{"department": "R&D"}}); err != nil {
		t.Errorf("known attribute: %v", err)
	}
	if _, resp, err := c.Application.UpdateApplicationUser(ctx, srv.AppID, u.ID, okta.AppUser{Profile: map[string]any{"nope": 1}}); resp.StatusCode != 400 || err == nil {
		t.Errorf("update with unknown attribute: %v", err)
	}
}
