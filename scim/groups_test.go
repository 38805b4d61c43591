package scim

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/oktasync/oktasync/appstore/storetest"
)

const patchURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

func patchBody(ops string) string {
	return `{"schemas":["` + patchURN + `"],"Operations":[` + ops + `]}`
}

// memberDisplays maps member ids to their display in a group document; it fails the
// test when members is not a list.
func memberDisplays(t *testing.T, g map[string]any) map[string]string {
	t.Helper()
	list, ok := g["members"].([]any)
	if !ok {
		t.Fatalf("members is %#v, want a list: %v", g["members"], g)
	}
	out := map[string]string{}
	for _, e := range list {
		m := e.(map[string]any)
		out[str(m, "value")] = str(m, "display")
	}
	return out
}

func TestGroupMemberDisplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		jane := e.createUser("jane@example.com") // displayName "Given Family"
		bare := str(e.must(http.StatusCreated, "POST", "/Users", `{"userName":"bare@example.com"}`).obj(t), "id")
		third := e.createUser("third@example.com")

		// Okta sends the member's login as display; it is kept. Without one the user's
		// displayName is shown, then its userName. A sub-attribute the schema does not
		// define (displayName on a member) is ignored.
		r := e.must(http.StatusCreated, "POST", "/Groups", `{"displayName":"Display Keepers","members":[
			{"value":"`+jane+`","display":"jane@example.com"},{"value":"`+bare+`","displayName":"Not Kept"},{"value":"`+third+`"}]}`)
		g := r.obj(t)
		gid := str(g, "id")
		want := map[string]string{jane: "jane@example.com", bare: "bare@example.com", third: "Given Family"}
		check := func(what string, g map[string]any, want map[string]string) {
			t.Helper()
			got := memberDisplays(t, g)
			if len(got) != len(want) {
				t.Fatalf("%s: members %v, want %v", what, got, want)
			}
			for id, d := range want {
				if got[id] != d {
					t.Fatalf("%s: member %s display %q, want %q (all: %v)", what, id, got[id], d, got)
				}
			}
		}
		check("POST", g, want)
		check("GET", e.must(http.StatusOK, "GET", "/Groups/"+gid, "").obj(t), want)
		list := resources(t, e.must(http.StatusOK, "GET", "/Groups?filter="+url.QueryEscape(`displayName eq "Display Keepers"`), "").obj(t))
		if len(list) != 1 {
			t.Fatalf("list: %v", list)
		}
		check("list", list[0], want)

		// Adding a member again with a new display updates it, and the version.
		v := r.header.Get("ETag")
		r = e.must(http.StatusOK, "PATCH", "/Groups/"+gid, patchBody(`{"op":"add","path":"members","value":[{"value":"`+jane+`","display":"jane.doe@example.com"}]}`))
		want[jane] = "jane.doe@example.com"
		check("PATCH add", r.obj(t), want)
		if r.header.Get("ETag") == v {
			t.Errorf("a new member display left the version at %s", v)
		}

		// A rename writes the members back: the sent display stays, a derived one is not
		// frozen but follows the user's own rename.
		r = e.must(http.StatusOK, "PATCH", "/Groups/"+gid, patchBody(`{"op":"replace","value":{"displayName":"Display Keepers 2"}}`))
		check("PATCH rename", r.obj(t), want)
		e.must(http.StatusOK, "PATCH", "/Users/"+third, patchBody(`{"op":"replace","path":"displayName","value":"Third Person"}`))
		want[third] = "Third Person"
		check("after the user's rename", e.must(http.StatusOK, "GET", "/Groups/"+gid, "").obj(t), want)

		// PUT replaces the members: one sent without display falls back again.
		r = e.must(http.StatusOK, "PUT", "/Groups/"+gid, `{"displayName":"Display Keepers 2","members":[{"value":"`+jane+`"},{"value":"`+bare+`","display":"B"}]}`)
		check("PUT", r.obj(t), map[string]string{jane: "Given Family", bare: "B"})
		check("GET after PUT", e.must(http.StatusOK, "GET", "/Groups/"+gid, "").obj(t), map[string]string{jane: "Given Family", bare: "B"})
	})
}

func TestPatchAnswers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		u1, u2 := e.createUser("p1@example.com"), e.createUser("p2@example.com")
		gid := e.createGroup("Patched", u1)
		add := patchBody(`{"op":"add","path":"members","value":[{"value":"` + u2 + `"}]}`)

		// 200 with the group and its members, ETag equal to meta.version.
		r := e.must(http.StatusOK, "PATCH", "/Groups/"+gid, add)
		g := r.obj(t)
		if ms := memberDisplays(t, g); len(ms) != 2 || str(g, "displayName") != "Patched" || r.header.Get("ETag") != str(g, "meta.version") {
			t.Fatalf("PATCH answer: %s (ETag %s)", r.body, r.header.Get("ETag"))
		}
		if r.header.Get("Preference-Applied") != "" {
			t.Errorf("Preference-Applied %q without a Prefer header", r.header.Get("Preference-Applied"))
		}
		// excludedAttributes and attributes shape the answer.
		g = e.must(http.StatusOK, "PATCH", "/Groups/"+gid+"?excludedAttributes=members", patchBody(`{"op":"replace","path":"displayName","value":"Patched 2"}`)).obj(t)
		if _, has := g["members"]; has || str(g, "displayName") != "Patched 2" {
			t.Fatalf("excludedAttributes=members: %v", g)
		}
		g = e.must(http.StatusOK, "PATCH", "/Groups/"+gid+"?attributes=members", add).obj(t)
		if _, has := g["displayName"]; has || len(memberDisplays(t, g)) != 2 || str(g, "id") != gid {
			t.Fatalf("attributes=members: %v", g)
		}

		// Prefer: return=minimal (RFC 7240) gets 204 with the new ETag and no body; the
		// change is made all the same.
		for _, tc := range []struct {
			name, path, body, prefer string
		}{
			{"group", "/Groups/" + gid, patchBody(`{"op":"remove","path":"members[value eq \"` + u1 + `\"]"}`), "return=minimal"},
			{"group, several preferences", "/Groups/" + gid, patchBody(`{"op":"replace","path":"displayName","value":"Patched 3"}`), `respond-async, return="minimal"; x=1`},
			{"user", "/Users/" + u1, patchBody(`{"op":"replace","value":{"active":false}}`), "Return=Minimal"},
		} {
			before := e.must(http.StatusOK, "GET", tc.path, "")
			r := e.must(http.StatusNoContent, "PATCH", tc.path, tc.body, hdr{"Prefer", tc.prefer})
			after := e.must(http.StatusOK, "GET", tc.path, "")
			if len(r.body) != 0 || r.header.Get("Preference-Applied") != "return=minimal" || r.header.Get("ETag") != after.header.Get("ETag") || after.header.Get("ETag") == before.header.Get("ETag") {
				t.Errorf("%s: 204 with body %q, Preference-Applied %q, ETag %q (before %q, after %q)", tc.name, r.body,
					r.header.Get("Preference-Applied"), r.header.Get("ETag"), before.header.Get("ETag"), after.header.Get("ETag"))
			}
		}
		if g := e.must(http.StatusOK, "GET", "/Groups/"+gid, "").obj(t); str(g, "displayName") != "Patched 3" || len(memberDisplays(t, g)) != 1 {
			t.Errorf("minimal PATCHes not applied: %v", g)
		}
		// return=representation is the default answer.
		r = e.must(http.StatusOK, "PATCH", "/Users/"+u1, patchBody(`{"op":"replace","value":{"active":true}}`), hdr{"Prefer", "return=representation"})
		if u := r.obj(t); u["active"] != true || str(u, "userName") != "p1@example.com" {
			t.Errorf("user PATCH answer: %s", r.body)
		}
	})
}

func TestGroupEmptyMembers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		u := e.createUser("only@example.com")
		empty := func(what string, g map[string]any) {
			t.Helper()
			if ms := memberDisplays(t, g); len(ms) != 0 {
				t.Fatalf("%s: members %v, want []", what, ms)
			}
		}
		r := e.must(http.StatusCreated, "POST", "/Groups", `{"displayName":"Empty","members":[]}`)
		gid := str(r.obj(t), "id")
		empty("POST", r.obj(t))
		empty("GET", e.must(http.StatusOK, "GET", "/Groups/"+gid, "").obj(t))
		e.must(http.StatusOK, "PATCH", "/Groups/"+gid, patchBody(`{"op":"add","path":"members","value":[{"value":"`+u+`"}]}`))
		empty("PATCH removing the last member", e.must(http.StatusOK, "PATCH", "/Groups/"+gid, patchBody(`{"op":"remove","path":"members[value eq \"`+u+`\"]"}`)).obj(t))
		empty("GET after the last member left", e.must(http.StatusOK, "GET", "/Groups/"+gid, "").obj(t))
		e.must(http.StatusOK, "PATCH", "/Groups/"+gid, patchBody(`{"op":"add","path":"members","value":[{"value":"`+u+`"}]}`))
		empty("PUT with members []", e.must(http.StatusOK, "PUT", "/Groups/"+gid, `{"displayName":"Empty","members":[]}`).obj(t))
		rs := resources(t, e.must(http.StatusOK, "GET", "/Groups", "").obj(t))
		if len(rs) != 1 {
			t.Fatalf("list: %v", rs)
		}
		empty("list", rs[0])
		// Excluded, it stays out.
		if g := e.must(http.StatusOK, "GET", "/Groups/"+gid+"?excludedAttributes=members", "").obj(t); g["members"] != nil {
			t.Fatalf("excludedAttributes=members: %v", g)
		}
		if g := e.must(http.StatusOK, "GET", "/Groups/"+gid+"?attributes=displayName", "").obj(t); g["members"] != nil {
			t.Fatalf("attributes=displayName: %v", g)
		}
	})
}

func TestGroupBareMemberIDs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		u1, u2, u3 := e.createUser("s1@example.com"), e.createUser("s2@example.com"), e.createUser("s3@example.com")
		gid := e.createGroup("Bare IDs")
		steps := []struct {
			name, ops string
			want      []string
		}{
			{"add one id string", `{"op":"add","path":"members","value":"` + u1 + `"}`, []string{u1}},
			{"add a list of id strings", `{"op":"add","path":"members","value":["` + u2 + `","` + u3 + `"]}`, []string{u1, u2, u3}},
			{"remove by id strings", `{"op":"remove","path":"members","value":["` + u2 + `"]}`, []string{u1, u3}},
			{"replace with id strings", `{"op":"replace","path":"members","value":["` + u2 + `"]}`, []string{u2}},
			{"add inside a value object", `{"op":"add","value":{"members":["` + u3 + `"]}}`, []string{u2, u3}},
		}
		for _, st := range steps {
			g := e.must(http.StatusOK, "PATCH", "/Groups/"+gid, patchBody(st.ops)).obj(t)
			got := memberDisplays(t, g)
			if len(got) != len(st.want) {
				t.Fatalf("%s: members %v, want %v", st.name, got, st.want)
			}
			for _, id := range st.want {
				if got[id] != "Given Family" {
					t.Fatalf("%s: members %v, want %v with their displayName", st.name, got, st.want)
				}
			}
		}
		// A POST may list ids as strings too.
		r := e.must(http.StatusCreated, "POST", "/Groups", `{"displayName":"Bare POST","members":["`+u1+`"]}`)
		if got := memberDisplays(t, r.obj(t)); len(got) != 1 || got[u1] == "" {
			t.Fatalf("POST with an id string: %s", r.body)
		}
		// A number is not an id: refused, and nothing changes.
		for _, v := range []string{`42`, `[42]`, `[true]`} {
			checkError(t, e.do("PATCH", "/Groups/"+gid, patchBody(`{"op":"add","path":"members","value":`+v+`}`)), http.StatusBadRequest, "invalidValue")
		}
		if got := memberDisplays(t, e.must(http.StatusOK, "GET", "/Groups/"+gid, "").obj(t)); len(got) != 2 {
			t.Fatalf("after refused adds: %v", got)
		}
	})
}

func TestPrefersMinimal(t *testing.T) {
	for _, tc := range []struct {
		headers []string
		want    bool
	}{
		{nil, false},
		{[]string{"return=minimal"}, true},
		{[]string{"RETURN = minimal"}, true},
		{[]string{`return="minimal"`}, true},
		{[]string{"return=minimal; foo=bar"}, true},
		{[]string{"respond-async, wait=10, return=minimal"}, true},
		{[]string{"respond-async", "return=minimal"}, true},
		{[]string{"return=representation"}, false},
		{[]string{"return=representation, return=minimal"}, false}, // the first one counts
		{[]string{"returns=minimal"}, false},
		{[]string{`foo="a, return=minimal"`}, false}, // inside a quoted string
		{[]string{"minimal"}, false},
	} {
		r := httptest.NewRequest("PATCH", "/Users/x", nil)
		for _, h := range tc.headers {
			r.Header.Add("Prefer", h)
		}
		if got := prefersMinimal(r); got != tc.want {
			t.Errorf("Prefer %q: minimal = %v, want %v", tc.headers, got, tc.want)
		}
	}
}
