package oktasim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/okta/okta-sdk-golang/v2/okta"

	"github.com/oktasync/oktasync/oktasim"
)

// scimReq is one request the test SCIM server received.
type scimReq struct {
	Method   string
	Path     string // path with raw query
	Body     map[string]any
	Header   http.Header
	Response int
}

func (r scimReq) String() string { return r.Method + " " + r.Path }

// scimServer is a minimal in-memory SCIM 2.0 service provider: enough of
// Users and Groups to check the sequence and shape of Okta's requests.
type scimServer struct {
	t     *testing.T
	token string

	mu      sync.Mutex
	nextID  int
	users   map[string]map[string]any
	uorder  []string
	groups  map[string]map[string]any
	gorder  []string
	reqs    []scimReq
	fail429 int
	retry   string
	fail5xx int
	srv     *httptest.Server
}

func newSCIMServer(t *testing.T) *scimServer {
	s := &scimServer{t: t, token: "scim-secret", users: map[string]map[string]any{}, groups: map[string]map[string]any{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *scimServer) URL() string { return s.srv.URL + "/scim/v2" }

func (s *scimServer) conn() oktasim.SCIMConnection {
	return oktasim.SCIMConnection{BaseURL: s.URL(), Token: s.token, CreateUsers: true, UpdateUsers: true, DeactivateUsers: true, GroupPush: true}
}

func (s *scimServer) addUser(userName string, active bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	id := fmt.Sprintf("scim-u%03d", s.nextID)
	s.users[id] = map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:User"}, "id": id, "userName": userName,
		"active": active, "meta": map[string]any{"resourceType": "User", "version": "W/\"1\""}, "groups": []any{}}
	s.uorder = append(s.uorder, id)
	return id
}

func (s *scimServer) addGroup(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	id := fmt.Sprintf("scim-g%03d", s.nextID)
	s.groups[id] = map[string]any{"id": id, "displayName": name, "members": []any{}}
	s.gorder = append(s.gorder, id)
	return id
}

func (s *scimServer) requests() []scimReq {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

func (s *scimServer) user(id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[id]
}

func (s *scimServer) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = nil
}

var filterRE = regexp.MustCompile(`^(\w+) eq "(.*)"$`)

func (s *scimServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// body is stored and changed; recorded keeps the request as sent.
	var body, recorded map[string]any
	if b, _ := io.ReadAll(r.Body); len(b) > 0 {
		if err := json.Unmarshal(b, &body); err != nil {
			s.t.Errorf("%s %s: body is not JSON: %s", r.Method, r.URL, b)
		}
		_ = json.Unmarshal(b, &recorded)
	}
	req := scimReq{Method: r.Method, Path: strings.TrimPrefix(r.URL.RequestURI(), "/scim/v2"), Body: recorded, Header: r.Header.Clone()}
	reply := func(status int, v any) {
		req.Response = status
		s.reqs = append(s.reqs, req)
		w.Header().Set("Content-Type", "application/scim+json")
		w.WriteHeader(status)
		if v != nil {
			_ = json.NewEncoder(w).Encode(v)
		}
	}
	scimErr := func(status int, detail string) {
		reply(status, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"}, "detail": detail, "status": strconv.Itoa(status)})
	}
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		scimErr(401, "bad token")
		return
	}
	if s.fail429 > 0 {
		s.fail429--
		w.Header().Set("Retry-After", s.retry)
		scimErr(429, "slow down")
		return
	}
	if s.fail5xx > 0 {
		s.fail5xx--
		scimErr(503, "unavailable")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/scim/v2")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	var store map[string]map[string]any
	var order *[]string
	var key string
	switch parts[0] {
	case "Users":
		store, order, key = s.users, &s.uorder, "userName"
	case "Groups":
		store, order, key = s.groups, &s.gorder, "displayName"
	default:
		scimErr(404, "no such endpoint")
		return
	}
	if len(parts) == 1 {
		switch r.Method {
		case "GET":
			q := r.URL.Query()
			var match []any
			for _, id := range *order {
				obj := store[id]
				if f := q.Get("filter"); f != "" {
					m := filterRE.FindStringSubmatch(f)
					if m == nil || m[1] != key {
						scimErr(400, "bad filter "+f)
						return
					}
					if !strings.EqualFold(obj[key].(string), m[2]) {
						continue
					}
				}
				match = append(match, obj)
			}
			start, _ := strconv.Atoi(q.Get("startIndex"))
			count, _ := strconv.Atoi(q.Get("count"))
			start = max(start, 1)
			page := []any{}
			for i := start - 1; i < len(match) && len(page) < count; i++ {
				page = append(page, match[i])
			}
			reply(200, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
				"totalResults": len(match), "startIndex": start, "itemsPerPage": len(page), "Resources": page})
		case "POST":
			for _, obj := range store {
				if strings.EqualFold(obj[key].(string), fmt.Sprint(body[key])) {
					reply(409, map[string]any{"scimType": "uniqueness"})
					return
				}
			}
			s.nextID++
			id := fmt.Sprintf("scim-%c%03d", strings.ToLower(parts[0])[0], s.nextID)
			body["id"] = id
			body["meta"] = map[string]any{"resourceType": parts[0][:len(parts[0])-1]}
			delete(body, "password")
			store[id] = body
			*order = append(*order, id)
			reply(201, body)
		default:
			scimErr(405, "method")
		}
		return
	}
	id := parts[1]
	obj := store[id]
	if obj == nil {
		scimErr(404, "not found")
		return
	}
	switch r.Method {
	case "GET":
		reply(200, obj)
	case "PUT":
		store[id] = body
		reply(200, body)
	case "DELETE":
		delete(store, id)
		*order = slices.DeleteFunc(*order, func(x string) bool { return x == id })
		reply(204, nil)
	case "PATCH":
		ops, _ := body["Operations"].([]any)
		for _, o := range ops {
			op := o.(map[string]any)
			p, _ := op["path"].(string)
			switch {
			case op["op"] == "replace" && p == "":
				for k, v := range op["value"].(map[string]any) {
					if k != "id" {
						obj[k] = v
					}
				}
			case op["op"] == "add" && p == "members":
				obj["members"] = append(obj["members"].([]any), op["value"].([]any)...)
			case op["op"] == "remove" && strings.HasPrefix(p, "members[value eq "):
				v := strings.TrimSuffix(strings.TrimPrefix(p, `members[value eq "`), `"]`)
				obj["members"] = slices.DeleteFunc(obj["members"].([]any), func(m any) bool { return m.(map[string]any)["value"] == v })
			default:
				scimErr(400, "unsupported op")
				return
			}
		}
		reply(200, obj)
	default:
		scimErr(405, "method")
	}
}

func paths(reqs []scimReq) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.String())
	}
	return out
}

// pushSim is an emulated org pushing to a fresh test SCIM server, on a
// manual clock so retry waits cost nothing.
func pushSim(t *testing.T, opts ...oktasim.Option) (*oktasim.Sim, *scimServer, *oktasim.ManualClock) {
	t.Helper()
	scim := newSCIMServer(t)
	clk := oktasim.NewManualClock(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	sim := oktasim.New(append([]oktasim.Option{oktasim.WithClock(clk), oktasim.WithSCIMConnection(scim.conn())}, opts...)...)
	t.Cleanup(sim.Close)
	return sim, scim, clk
}

func waitIdle(t *testing.T, sim *oktasim.Sim) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sim.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
}

func mustUser(t *testing.T, sim *oktasim.Sim, login, first, last string, active bool) oktasim.User {
	t.Helper()
	u, err := sim.CreateUser(profile(login, first, last), active)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

const lookupAnn = `GET /Users?filter=userName%20eq%20%22ann%40example.com%22&startIndex=1&count=100`

func TestPushUserLifecycle(t *testing.T) {
	sim, scim, _ := pushSim(t)
	ann := mustUser(t, sim, "ann@example.com", "Ann", "Lee", true)
	if _, err := sim.AssignUser(sim.AppID(), ann.ID, "ann@example.com", nil); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	reqs := scim.requests()
	if got, want := paths(reqs), []string{lookupAnn, "POST /Users"}; !slices.Equal(got, want) {
		t.Fatalf("requests = %q, want %q", got, want)
	}
	for _, r := range reqs {
		if r.Header.Get("User-Agent") != "Okta SCIM Client 1.0.0" || r.Header.Get("Accept") != "application/scim+json" ||
			r.Header.Get("Authorization") != "Bearer scim-secret" {
			t.Errorf("%s headers %v", r, r.Header)
		}
	}
	if ct := reqs[1].Header.Get("Content-Type"); ct != "application/scim+json; charset=utf-8" {
		t.Errorf("POST Content-Type %q", ct)
	}
	create := reqs[1].Body
	for _, k := range []string{"schemas", "userName", "name", "emails", "displayName", "locale", "externalId", "groups", "password", "active"} {
		if _, ok := create[k]; !ok {
			t.Errorf("create body lacks %s: %v", k, create)
		}
	}
	emails := create["emails"].([]any)[0].(map[string]any)
	if create["userName"] != "ann@example.com" || create["externalId"] != ann.ID || create["active"] != true ||
		create["name"].(map[string]any)["givenName"] != "Ann" || emails["primary"] != true || emails["type"] != "work" ||
		emails["value"] != "ann@example.com" || create["displayName"] != "Ann Lee" || len(create["groups"].([]any)) != 0 {
		t.Errorf("create body = %v", create)
	}
	au, _ := sim.AppUser(sim.AppID(), ann.ID)
	scimID := "scim-u001"
	if au.ExternalID != scimID || au.SyncState != "SYNCHRONIZED" || au.Status != "PROVISIONED" || au.LastSync == nil {
		t.Errorf("app user = %+v", au)
	}
	if n := len(sim.Pushes()); n != 2 {
		t.Errorf("%d pushes recorded", n)
	}

	steps := []struct {
		name string
		do   func() error
		want []string
		// check inspects the requests of the step.
		check func(t *testing.T, reqs []scimReq)
	}{
		{"user profile change", func() error {
			_, err := sim.UpdateUserProfile(ann.ID, map[string]any{"firstName": "Anna"}, true)
			return err
		}, []string{"GET /Users/" + scimID, "PUT /Users/" + scimID}, func(t *testing.T, reqs []scimReq) {
			put := reqs[1].Body
			if put["id"] != scimID || put["meta"] == nil || put["groups"] == nil || put["name"].(map[string]any)["givenName"] != "Anna" {
				t.Errorf("PUT body = %v", put)
			}
		}},
		{"unmapped attribute change", func() error {
			_, err := sim.UpdateUserProfile(ann.ID, map[string]any{"department": "R&D"}, true)
			return err
		}, nil, nil},
		{"app profile change", func() error {
			_, err := sim.UpdateAppUser(sim.AppID(), ann.ID, "", map[string]any{"familyName": "Lee-Smith"})
			return err
		}, []string{"GET /Users/" + scimID, "PUT /Users/" + scimID}, func(t *testing.T, reqs []scimReq) {
			if reqs[1].Body["name"].(map[string]any)["familyName"] != "Lee-Smith" {
				t.Errorf("PUT body = %v", reqs[1].Body)
			}
		}},
		{"unassign", func() error { return sim.UnassignUser(sim.AppID(), ann.ID) },
			[]string{"PATCH /Users/" + scimID}, func(t *testing.T, reqs []scimReq) {
				b, _ := json.Marshal(reqs[0].Body)
				want := `{"Operations":[{"op":"replace","value":{"active":false}}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`
				if string(b) != want {
					t.Errorf("PATCH body = %s", b)
				}
			}},
		{"re-assign", func() error {
			_, err := sim.AssignUser(sim.AppID(), ann.ID, "ann@example.com", nil)
			return err
		}, []string{"PATCH /Users/" + scimID, "GET /Users/" + scimID, "PUT /Users/" + scimID}, func(t *testing.T, reqs []scimReq) {
			op := reqs[0].Body["Operations"].([]any)[0].(map[string]any)
			if op["value"].(map[string]any)["active"] != true {
				t.Errorf("PATCH body = %v", reqs[0].Body)
			}
		}},
		{"deactivate", func() error { return sim.DeactivateUser(ann.ID) }, []string{"PATCH /Users/" + scimID}, nil},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			scim.reset()
			if err := st.do(); err != nil {
				t.Fatal(err)
			}
			waitIdle(t, sim)
			reqs := scim.requests()
			if got := paths(reqs); !slices.Equal(got, st.want) {
				t.Fatalf("requests = %q, want %q", got, st.want)
			}
			if st.check != nil {
				st.check(t, reqs)
			}
		})
	}
	if u := scim.user(scimID); u["active"] != false {
		t.Errorf("SCIM user after deactivation = %v", u)
	}
}

func TestPushLinksExistingUser(t *testing.T) {
	sim, scim, _ := pushSim(t)
	existing := scim.addUser("Ann@Example.com", false)
	ann := mustUser(t, sim, "ann@example.com", "Ann", "Lee", true)
	if _, err := sim.AssignUser(sim.AppID(), ann.ID, "ann@example.com", nil); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	want := []string{lookupAnn, "GET /Users/" + existing, "PUT /Users/" + existing}
	if got := paths(scim.requests()); !slices.Equal(got, want) {
		t.Fatalf("requests = %q, want %q", got, want)
	}
	if au, _ := sim.AppUser(sim.AppID(), ann.ID); au.ExternalID != existing || au.SyncState != "SYNCHRONIZED" {
		t.Errorf("app user = %+v", au)
	}
	if u := scim.user(existing); u["active"] != true || u["externalId"] != ann.ID {
		t.Errorf("linked user = %v", u)
	}
}

func TestPushStagedUserWaitsForActivation(t *testing.T) {
	sim, scim, _ := pushSim(t)
	ann := mustUser(t, sim, "ann@example.com", "Ann", "Lee", false)
	if _, err := sim.AssignUser(sim.AppID(), ann.ID, "", nil); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	if reqs := scim.requests(); len(reqs) != 0 {
		t.Fatalf("staged user pushed: %q", paths(reqs))
	}
	if err := sim.ActivateUser(ann.ID); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	if got, want := paths(scim.requests()), []string{lookupAnn, "POST /Users"}; !slices.Equal(got, want) {
		t.Errorf("requests = %q, want %q", got, want)
	}
}

func TestPushGroupAssignmentAndFeatures(t *testing.T) {
	sim, scim, _ := pushSim(t)
	g, _ := sim.CreateGroup("Sales", "")
	ann := mustUser(t, sim, "ann@example.com", "Ann", "Lee", true)
	bob := mustUser(t, sim, "bob@example.com", "Bob", "Ray", true)
	for _, u := range []string{ann.ID, bob.ID} {
		if err := sim.AddGroupMember(g.ID, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.AssignGroup(sim.AppID(), g.ID); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	if got := paths(scim.requests()); len(got) != 4 || got[0] != lookupAnn || got[1] != "POST /Users" {
		t.Fatalf("requests = %q", got)
	}
	for _, au := range sim.AppUsers(sim.AppID()) {
		if au.Scope != "GROUP" || au.ExternalID == "" {
			t.Errorf("app user = %+v", au)
		}
	}
	scim.reset()
	if err := sim.RemoveGroupMember(g.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	if got := paths(scim.requests()); len(got) != 1 || !strings.HasPrefix(got[0], "PATCH /Users/") {
		t.Errorf("requests = %q", got)
	}

	// Provisioning features switched off send nothing.
	conn := scim.conn()
	conn.CreateUsers, conn.UpdateUsers, conn.DeactivateUsers = false, false, false
	sim.SetSCIMConnection(conn)
	scim.reset()
	cat := mustUser(t, sim, "cat@example.com", "Cat", "Ng", true)
	if _, err := sim.AssignUser(sim.AppID(), cat.ID, "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.UpdateUserProfile(ann.ID, map[string]any{"lastName": "X"}, true); err != nil {
		t.Fatal(err)
	}
	if err := sim.UnassignGroup(sim.AppID(), g.ID); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	if reqs := scim.requests(); len(reqs) != 0 {
		t.Errorf("features off, yet pushed %q", paths(reqs))
	}
	if au, _ := sim.AppUser(sim.AppID(), cat.ID); au.SyncState != "DISABLED" || au.Status != "ACTIVE" {
		t.Errorf("unpushed app user = %+v", au)
	}
}

func TestPushRetries(t *testing.T) {
	tests := []struct {
		name       string
		fail429    int
		retryAfter string
		fail5xx    int
		wantSleeps []time.Duration
		wantState  string
	}{
		{"429 twice honours Retry-After, doubling", 2, "3", 0, []time.Duration{3 * time.Second, 6 * time.Second}, "SYNCHRONIZED"},
		{"429 with a longer Retry-After", 2, "20", 0, []time.Duration{20 * time.Second, 40 * time.Second}, "SYNCHRONIZED"},
		{"429 forever gives up after 10 tries", 1000, "1", 0,
			[]time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256}, "ERROR"},
		{"5xx retried with backoff", 0, "", 2, []time.Duration{time.Second, 2 * time.Second}, "SYNCHRONIZED"},
		{"5xx forever gives up", 0, "", 1000, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, "ERROR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim, scim, clk := pushSim(t)
			scim.fail429, scim.retry, scim.fail5xx = tc.fail429, tc.retryAfter, tc.fail5xx
			ann := mustUser(t, sim, "ann@example.com", "Ann", "Lee", true)
			if _, err := sim.AssignUser(sim.AppID(), ann.ID, "", nil); err != nil {
				t.Fatal(err)
			}
			waitIdle(t, sim)
			want := tc.wantSleeps
			if tc.fail429 == 1000 {
				want = nil
				for _, s := range tc.wantSleeps {
					want = append(want, s*time.Second)
				}
			}
			if got := clk.Slept(); !slices.Equal(got, want) {
				t.Errorf("sleeps = %v, want %v", got, want)
			}
			if au, _ := sim.AppUser(sim.AppID(), ann.ID); au.SyncState != tc.wantState {
				t.Errorf("syncState = %s, want %s", au.SyncState, tc.wantState)
			}
			if tc.fail429 == 1000 && len(sim.Pushes()) != 10 {
				t.Errorf("%d attempts, want 10", len(sim.Pushes()))
			}
		})
	}
}

func TestGroupPush(t *testing.T) {
	sim, scim, _ := pushSim(t)
	ann := mustUser(t, sim, "ann@example.com", "Ann", "Lee", true)
	bob := mustUser(t, sim, "bob@example.com", "Bob", "Ray", true) // member, not assigned
	cat := mustUser(t, sim, "cat@example.com", "Cat", "Ng", true)
	for _, u := range []string{ann.ID, cat.ID} {
		if _, err := sim.AssignUser(sim.AppID(), u, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	g, _ := sim.CreateGroup("Eng", "")
	_ = sim.AddGroupMember(g.ID, ann.ID)
	_ = sim.AddGroupMember(g.ID, bob.ID)
	waitIdle(t, sim)
	annID, catID := "scim-u001", "scim-u002"
	scim.reset()

	if err := sim.PushGroup(sim.AppID(), g.ID); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	gid := sim.PushedGroups(sim.AppID())[g.ID]
	steps := []struct {
		name  string
		do    func() error
		want  []string
		check func(t *testing.T, reqs []scimReq)
	}{
		{"push", func() error { return nil }, nil, nil}, // already done above
		{"rename", func() error { return sim.RenameGroup(g.ID, "Engineering") },
			[]string{"PATCH /Groups/" + gid}, func(t *testing.T, reqs []scimReq) {
				v := reqs[0].Body["Operations"].([]any)[0].(map[string]any)
				if v["op"] != "replace" || v["value"].(map[string]any)["id"] != gid || v["value"].(map[string]any)["displayName"] != "Engineering" {
					t.Errorf("rename op = %v", v)
				}
			}},
		{"add member", func() error { return sim.AddGroupMember(g.ID, cat.ID) },
			[]string{"PATCH /Groups/" + gid}, func(t *testing.T, reqs []scimReq) {
				v := reqs[0].Body["Operations"].([]any)[0].(map[string]any)
				m := v["value"].([]any)[0].(map[string]any)
				if v["op"] != "add" || v["path"] != "members" || m["value"] != catID || m["display"] != "cat@example.com" {
					t.Errorf("add op = %v", v)
				}
			}},
		{"remove member", func() error { return sim.RemoveGroupMember(g.ID, ann.ID) },
			[]string{"PATCH /Groups/" + gid}, func(t *testing.T, reqs []scimReq) {
				v := reqs[0].Body["Operations"].([]any)[0].(map[string]any)
				if v["op"] != "remove" || v["path"] != `members[value eq "`+annID+`"]` || v["value"] != nil {
					t.Errorf("remove op = %v", v)
				}
			}},
		{"delete", func() error { return sim.DeleteGroup(g.ID) }, []string{"DELETE /Groups/" + gid}, nil},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if i == 0 {
				want := []string{`GET /Groups?filter=displayName%20eq%20%22Eng%22&startIndex=1&count=100`, "POST /Groups", "PATCH /Groups/" + gid}
				reqs := scim.requests()
				if got := paths(reqs); !slices.Equal(got, want) {
					t.Fatalf("requests = %q, want %q", got, want)
				}
				if b := reqs[1].Body; b["displayName"] != "Eng" || len(b["members"].([]any)) != 0 || b["schemas"] == nil {
					t.Errorf("POST /Groups body = %v", b)
				}
				members := reqs[2].Body["Operations"].([]any)[0].(map[string]any)["value"].([]any)
				if len(members) != 1 || members[0].(map[string]any)["value"] != annID {
					t.Errorf("initial members = %v (bob is not assigned, so not pushed)", members)
				}
				return
			}
			scim.reset()
			if err := st.do(); err != nil {
				t.Fatal(err)
			}
			waitIdle(t, sim)
			reqs := scim.requests()
			if got := paths(reqs); !slices.Equal(got, st.want) {
				t.Fatalf("requests = %q, want %q", got, st.want)
			}
			if st.check != nil {
				st.check(t, reqs)
			}
		})
	}
}

func TestGroupPushLinksExistingGroup(t *testing.T) {
	sim, scim, _ := pushSim(t)
	existing := scim.addGroup("Ops")
	g, _ := sim.CreateGroup("Ops", "")
	if err := sim.PushGroup(sim.AppID(), g.ID); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	if got := paths(scim.requests()); len(got) != 1 || !strings.HasPrefix(got[0], "GET /Groups?filter=") {
		t.Errorf("requests = %q", got)
	}
	if sim.PushedGroups(sim.AppID())[g.ID] != existing {
		t.Errorf("pushed = %v", sim.PushedGroups(sim.AppID()))
	}
}

func TestImportAndTestCredentials(t *testing.T) {
	sim, scim, _ := pushSim(t)
	for i := range 250 {
		scim.addUser(fmt.Sprintf("user%03d@example.com", i), true)
	}
	scim.addGroup("A")
	scim.addGroup("B")
	ctx := context.Background()
	if err := sim.TestConnection(ctx, sim.AppID()); err != nil {
		t.Fatal(err)
	}
	res, err := sim.Import(ctx, sim.AppID())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Users) != 250 || len(res.Groups) != 2 || res.Users[249]["userName"] != "user249@example.com" {
		t.Errorf("imported %d users, %d groups", len(res.Users), len(res.Groups))
	}
	want := []string{"GET /Users?startIndex=1&count=2", "GET /Users?startIndex=1&count=100", "GET /Users?startIndex=101&count=100",
		"GET /Users?startIndex=201&count=100", "GET /Groups?startIndex=1&count=100"}
	if got := paths(scim.requests()); !slices.Equal(got, want) {
		t.Errorf("requests = %q, want %q", got, want)
	}
	conn := scim.conn()
	conn.Token = "wrong"
	sim.SetSCIMConnection(conn)
	if err := sim.TestConnection(ctx, sim.AppID()); err == nil {
		t.Error("bad credentials passed the test")
	}
}

func TestWaitIdleHonoursContext(t *testing.T) {
	scim := newSCIMServer(t)
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-block
		scim.serve(w, r)
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(block) })
	sim := oktasim.New(oktasim.WithSCIMConnection(oktasim.SCIMConnection{BaseURL: slow.URL + "/scim/v2", Token: scim.token, CreateUsers: true}))
	t.Cleanup(sim.Close)
	ann := mustUser(t, sim, "ann@example.com", "Ann", "Lee", true)
	if _, err := sim.AssignUser(sim.AppID(), ann.ID, "", nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := sim.WaitIdle(ctx); err == nil {
		t.Error("WaitIdle returned nil while a push was blocked")
	}
}

func TestLoginChangeRenamesAppUser(t *testing.T) {
	sim, scim, _ := pushSim(t)
	ann := mustUser(t, sim, "ann@example.com", "Ann", "Lee", true)
	if _, err := sim.AssignUser(sim.AppID(), ann.ID, "", nil); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	scim.reset()
	if _, err := sim.UpdateUserProfile(ann.ID, map[string]any{"login": "anna@example.com"}, true); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	if au, _ := sim.AppUser(sim.AppID(), ann.ID); au.UserName != "anna@example.com" {
		t.Errorf("app username = %s", au.UserName)
	}
	reqs := scim.requests()
	if len(reqs) != 2 || reqs[1].Method != "PUT" || reqs[1].Body["userName"] != "anna@example.com" {
		t.Errorf("requests = %q", paths(reqs))
	}
	if _, err := sim.GetUser("ANNA@example.com"); err != nil {
		t.Errorf("lookup by new login: %v", err)
	}
	if _, err := sim.GetUser("ann@example.com"); err == nil {
		t.Error("old login still resolves")
	}
}

func TestPushedGroupGainsLaterProvisionedMember(t *testing.T) {
	sim, scim, _ := pushSim(t)
	g, _ := sim.CreateGroup("Eng", "")
	ann := mustUser(t, sim, "ann@example.com", "Ann", "Lee", true)
	_ = sim.AddGroupMember(g.ID, ann.ID)
	if err := sim.PushGroup(sim.AppID(), g.ID); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	scim.reset()
	if _, err := sim.AssignUser(sim.AppID(), ann.ID, "", nil); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	gid := sim.PushedGroups(sim.AppID())[g.ID]
	want := []string{lookupAnn, "POST /Users", "PATCH /Groups/" + gid}
	if got := paths(scim.requests()); !slices.Equal(got, want) {
		t.Errorf("requests = %q, want %q", got, want)
	}
}

// TestConcurrentAdminsAndPushes drives the API from several goroutines
// while the push engine works, then checks the app and the SCIM server
// agree. Run with -race.
func TestConcurrentAdminsAndPushes(t *testing.T) {
	scim := newSCIMServer(t)
	srv := oktasim.NewServer(oktasim.WithSCIMConnection(scim.conn()), oktasim.WithRateLimitMultiplier(10))
	t.Cleanup(srv.Close)
	c := newSDK(t, srv, srv.Token, 0)
	ctx := context.Background()
	const workers, each = 6, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				login := fmt.Sprintf("w%d-u%d@example.com", w, i)
				u, _, err := c.User.CreateUser(ctx, okta.CreateUserRequest{Profile: (*okta.UserProfile)(&map[string]any{
					"login": login, "email": login, "firstName": "W", "lastName": strconv.Itoa(i)})}, nil)
				if err != nil {
					errs <- err
					return
				}
				if _, _, err := c.Application.AssignUserToApplication(ctx, srv.AppID, okta.AppUser{Id: u.Id, Scope: "USER",
					Credentials: &okta.AppUserCredentials{UserName: login}}); err != nil {
					errs <- err
					return
				}
				if _, _, err := c.User.PartialUpdateUser(ctx, u.Id, okta.User{Profile: &okta.UserProfile{"firstName": "Changed"}}, nil); err != nil {
					errs <- err
					return
				}
				if i%3 == 0 {
					if _, err := c.Application.DeleteApplicationUser(ctx, srv.AppID, u.Id, nil); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitIdle(t, srv.Sim)
	appUsers := srv.Sim.AppUsers(srv.AppID)
	if want := workers * (each - (each+2)/3); len(appUsers) != want {
		t.Fatalf("%d app users, want %d", len(appUsers), want)
	}
	for _, au := range appUsers {
		u := scim.user(au.ExternalID)
		if au.SyncState != "SYNCHRONIZED" || u == nil || u["active"] != true ||
			u["name"].(map[string]any)["givenName"] != "Changed" {
			t.Errorf("app user %+v, SCIM user %v", au, u)
		}
	}
	// A user unassigned before its create was sent is never created; one
	// unassigned after must have been deactivated.
	scim.mu.Lock()
	active := 0
	for _, u := range scim.users {
		if u["active"] == true {
			active++
		}
	}
	scim.mu.Unlock()
	if active != len(appUsers) {
		t.Errorf("SCIM server has %d active users, want %d", active, len(appUsers))
	}
}

func TestForceSyncPushesEarlierAssignments(t *testing.T) {
	scim := newSCIMServer(t)
	sim := oktasim.New()
	t.Cleanup(sim.Close)
	ann := mustUser(t, sim, "ann@example.com", "Ann", "Lee", true)
	if _, err := sim.AssignUser(sim.AppID(), ann.ID, "", nil); err != nil {
		t.Fatal(err)
	}
	sim.SetSCIMConnection(scim.conn())
	waitIdle(t, sim)
	if n := len(scim.requests()); n != 0 {
		t.Fatalf("turning provisioning on pushed %d requests", n)
	}
	if err := sim.ForceSync(sim.AppID()); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	if got, want := paths(scim.requests()), []string{lookupAnn, "POST /Users"}; !slices.Equal(got, want) {
		t.Errorf("requests = %q, want %q", got, want)
	}
	if au, _ := sim.AppUser(sim.AppID(), ann.ID); au.ExternalID == "" || au.Status != "PROVISIONED" {
		t.Errorf("app user = %+v", au)
	}
}
