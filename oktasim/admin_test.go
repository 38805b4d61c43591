package oktasim_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/oktasim"
)

func adminDo(t *testing.T, srv *oktasim.Server, method, path, body string) (int, map[string]any, []byte) {
	t.Helper()
	st, _, b := rawDo(t, srv, method, path, srv.Token, body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return st, m, b
}

func TestAdminEndpoints(t *testing.T) {
	scim := newSCIMServer(t)
	srv := oktasim.NewServer()
	t.Cleanup(srv.Close)

	if st, _, _ := rawDo(t, srv, "GET", "/_sim/info", "wrong", ""); st != http.StatusUnauthorized {
		t.Errorf("admin without the token: %d", st)
	}
	st, info, _ := adminDo(t, srv, "GET", "/_sim/info", "")
	if st != 200 || info["appId"] != srv.AppID || info["orgUrl"] != srv.URL {
		t.Errorf("info = %d %v", st, info)
	}
	conn := `{"baseUrl":"` + scim.URL() + `","token":"scim-secret","createUsers":true,"updateUsers":true,"deactivateUsers":true,"groupPush":true}`
	if st, _, b := adminDo(t, srv, "POST", "/_sim/scim", conn); st != http.StatusNoContent {
		t.Fatalf("set scim: %d %s", st, b)
	}
	st, got, b := adminDo(t, srv, "GET", "/_sim/scim", "")
	if st != 200 || got["enabled"] != true || strings.Contains(string(b), "scim-secret") {
		t.Errorf("get scim: %d %s", st, b)
	}

	// Act as an admin through the API, then wait for the pushes.
	st, _, b = rawDo(t, srv, "POST", "/api/v1/users?activate=true", srv.Token,
		`{"profile":{"login":"ann@example.com","email":"ann@example.com","firstName":"Ann","lastName":"Lee"}}`)
	var u map[string]any
	if err := json.Unmarshal(b, &u); st != 200 || err != nil {
		t.Fatalf("create user: %d %s", st, b)
	}
	st, _, b = rawDo(t, srv, "POST", "/api/v1/apps/"+srv.AppID+"/users", srv.Token,
		`{"id":"`+u["id"].(string)+`","scope":"USER","credentials":{"userName":"ann@example.com"}}`)
	if st != 200 {
		t.Fatalf("assign: %d %s", st, b)
	}
	if st, m, b := adminDo(t, srv, "POST", "/_sim/wait-idle?timeout=10s", ""); st != 200 || m["idle"] != true {
		t.Fatalf("wait-idle: %d %s", st, b)
	}
	var pushes []oktasim.Push
	_, _, b = adminDo(t, srv, "GET", "/_sim/pushes", "")
	if err := json.Unmarshal(b, &pushes); err != nil {
		t.Fatal(err)
	}
	var got2 []string
	for _, p := range pushes {
		got2 = append(got2, p.Method+" "+strings.SplitN(p.Path, "?", 2)[0])
	}
	if !slices.Equal(got2, []string{"GET /Users", "POST /Users"}) || pushes[1].Status != 201 || !strings.Contains(pushes[1].RequestBody, `"userName":"ann@example.com"`) {
		t.Errorf("pushes = %+v", pushes)
	}
	if st, _, _ := adminDo(t, srv, "DELETE", "/_sim/pushes", ""); st != http.StatusNoContent || len(srv.Sim.Pushes()) != 0 {
		t.Errorf("clear pushes: %d", st)
	}

	if st, m, b := adminDo(t, srv, "POST", "/_sim/test-credentials", ""); st != 200 || m["ok"] != true {
		t.Errorf("test-credentials: %d %s", st, b)
	}
	st, m, b := adminDo(t, srv, "POST", "/_sim/import", "")
	if users, _ := m["users"].([]any); st != 200 || len(users) != 1 {
		t.Errorf("import: %d %s", st, b)
	}

	g, _ := srv.Sim.CreateGroup("Eng", "")
	if st, _, b := adminDo(t, srv, "POST", "/_sim/groups/"+g.ID+"/push", ""); st != http.StatusNoContent {
		t.Errorf("push group: %d %s", st, b)
	}
	adminDo(t, srv, "POST", "/_sim/wait-idle", "")
	if id := srv.Sim.PushedGroups(srv.AppID)[g.ID]; id == "" {
		t.Error("group not pushed")
	}
	if st, _, b := adminDo(t, srv, "DELETE", "/_sim/groups/"+g.ID+"/push?deleteInApp=true", ""); st != http.StatusNoContent {
		t.Errorf("unpush group: %d %s", st, b)
	}

	faults := []struct {
		path, body string
		want       int
	}{
		{"/_sim/faults/fail-next", `{"count":1,"status":503}`, 503},
		{"/_sim/faults/force-429", `{"duration":"1h"}`, 429},
	}
	for _, f := range faults {
		if st, _, b := adminDo(t, srv, "POST", f.path, f.body); st != http.StatusNoContent {
			t.Fatalf("%s: %d %s", f.path, st, b)
		}
		if st, _, _ := rawDo(t, srv, "GET", "/api/v1/users", srv.Token, ""); st != f.want {
			t.Errorf("after %s: %d, want %d", f.path, st, f.want)
		}
	}
	if st, _, _ := adminDo(t, srv, "POST", "/_sim/faults/force-429", `{"duration":"0s"}`); st != http.StatusNoContent {
		t.Error("clear forced 429")
	}
	if st, _, b := adminDo(t, srv, "POST", "/_sim/ratelimits", `{"limits":{"users":1},"window":"1h"}`); st != http.StatusNoContent {
		t.Fatalf("ratelimits: %d %s", st, b)
	}
	rawDo(t, srv, "GET", "/api/v1/users", srv.Token, "")
	if st, _, _ := rawDo(t, srv, "GET", "/api/v1/users", srv.Token, ""); st != 429 {
		t.Errorf("limit 1 per window: second request %d", st)
	}
	if st, _, _ := adminDo(t, srv, "POST", "/_sim/faults", `{"latency":"soon"}`); st != 400 {
		t.Errorf("bad latency accepted: %d", st)
	}
}
