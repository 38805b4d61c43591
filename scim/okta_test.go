package scim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/appstore/storetest"
)

// TestOktaUserLifecycle replays the requests Okta's provisioning engine sends for a user,
// in order: the connection test, the existence check, create, get, GET-then-PUT update,
// PATCH deactivate and reactivate.
func TestOktaUserLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)

		// "Test API Credentials".
		r := e.must(http.StatusOK, "GET", "/Users?startIndex=1&count=2", "")
		m := r.obj(t)
		if got := intField(t, m, "totalResults"); got != 0 {
			t.Errorf("totalResults = %d, want 0", got)
		}
		intField(t, m, "itemsPerPage")
		intField(t, m, "startIndex")
		if len(resources(t, m)) != 0 {
			t.Errorf("Resources not empty: %s", r.body)
		}

		// Existence check, with the space as "+" and as "%20": empty before create.
		for _, q := range []string{
			`/Users?filter=userName+eq+%22Jane.Doe%40example.com%22&startIndex=1&count=100`,
			`/Users?filter=userName%20eq%20%22Jane.Doe%40example.com%22&startIndex=1&count=100`,
		} {
			m := e.must(http.StatusOK, "GET", q, "").obj(t)
			if intField(t, m, "totalResults") != 0 {
				t.Fatalf("%s: user found before it was created", q)
			}
		}

		// Create: 201 with the full user, Location and ETag; password not echoed.
		r = e.must(http.StatusCreated, "POST", "/Users", oktaUserJSON("Jane.Doe@example.com", "Jane", "Doe"),
			hdr{"Content-Type", "application/json"})
		u := r.obj(t)
		id := str(u, "id")
		if id == "" || str(u, "userName") != "Jane.Doe@example.com" || u["active"] != true {
			t.Fatalf("created user: %s", r.body)
		}
		if str(u, "name.givenName") != "Jane" || str(u, "externalId") != "00uJane.Doe_example.com" {
			t.Errorf("created user lost attributes: %s", r.body)
		}
		if _, ok := u["password"]; ok {
			t.Errorf("password returned: %s", r.body)
		}
		if loc := r.header.Get("Location"); loc != e.base+"/Users/"+id || str(u, "meta.location") != loc {
			t.Errorf("Location %q, meta.location %q, want %q", loc, str(u, "meta.location"), e.base+"/Users/"+id)
		}
		if r.header.Get("ETag") != str(u, "meta.version") || !strings.HasPrefix(r.header.Get("ETag"), `W/"`) {
			t.Errorf("ETag %q, meta.version %q", r.header.Get("ETag"), str(u, "meta.version"))
		}

		// Existence check again, in another letter case: found, case preserved.
		for _, q := range []string{
			`/Users?filter=userName+eq+%22jane.doe%40EXAMPLE.com%22&startIndex=1&count=100`,
			`/Users?filter=userName%20eq%20%22JANE.DOE%40example.com%22&startIndex=1&count=100`,
		} {
			m := e.must(http.StatusOK, "GET", q, "").obj(t)
			rs := resources(t, m)
			if intField(t, m, "totalResults") != 1 || len(rs) != 1 || str(rs[0], "userName") != "Jane.Doe@example.com" {
				t.Fatalf("%s: %v", q, m)
			}
		}

		// A second create in another case is a 409 uniqueness.
		r = e.must(http.StatusConflict, "POST", "/Users", oktaUserJSON("JANE.DOE@example.com", "J", "D"))
		checkError(t, r, http.StatusConflict, "uniqueness")

		// Get, then PUT the whole object back with changes (id, meta, groups and password
		// included, as Okta sends them).
		r = e.must(http.StatusOK, "GET", "/Users/"+id, "")
		u = r.obj(t)
		u["name"] = map[string]any{"givenName": "Janet", "familyName": "Doe"}
		u["displayName"] = "Janet Doe"
		u["password"] = "secret"
		u["title"] = "Engineer"
		u["groups"] = []any{}
		r = e.must(http.StatusOK, "PUT", "/Users/"+id, mustJSON(t, u))
		u = r.obj(t)
		if str(u, "name.givenName") != "Janet" || str(u, "title") != "Engineer" || str(u, "displayName") != "Janet Doe" {
			t.Fatalf("PUT result: %s", r.body)
		}

		// PATCH deactivate, Okta's form: no path. The user and its data stay.
		deactivate := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`
		r = e.must(http.StatusOK, "PATCH", "/Users/"+id, deactivate)
		if u := r.obj(t); u["active"] != false || str(u, "name.givenName") != "Janet" {
			t.Fatalf("deactivated user: %s", r.body)
		}
		r = e.must(http.StatusOK, "GET", "/Users/"+id, "")
		if u := r.obj(t); u["active"] != false || str(u, "title") != "Engineer" {
			t.Fatalf("deactivated user on GET: %s", r.body)
		}
		m = e.must(http.StatusOK, "GET", `/Users?filter=userName+eq+%22jane.doe%40example.com%22&startIndex=1&count=100`, "").obj(t)
		if intField(t, m, "totalResults") != 1 {
			t.Fatalf("deactivated user not found by userName: %v", m)
		}

		// Reactivate.
		r = e.must(http.StatusOK, "PATCH", "/Users/"+id, strings.Replace(deactivate, "false", "true", 1))
		if u := r.obj(t); u["active"] != true || str(u, "title") != "Engineer" {
			t.Fatalf("reactivated user: %s", r.body)
		}

		// Password sync: accepted and discarded.
		r = e.must(http.StatusOK, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"password":"n3wPassw0rd"}}]}`)
		if strings.Contains(string(r.body), "n3wPassw0rd") {
			t.Fatalf("password echoed: %s", r.body)
		}

		// Deactivation by PUT also keeps the user.
		u = e.must(http.StatusOK, "GET", "/Users/"+id, "").obj(t)
		u["active"] = false
		r = e.must(http.StatusOK, "PUT", "/Users/"+id, mustJSON(t, u))
		if u := r.obj(t); u["active"] != false || str(u, "title") != "Engineer" {
			t.Fatalf("PUT active:false: %s", r.body)
		}

		// Unknown ids, UUID or not, are 404 with a SCIM error.
		for _, bad := range []string{"010101001010101011001010101011", "8f3c3b38-4a6b-4b88-9d0e-1c6f8c1b2a11"} {
			checkError(t, e.do("GET", "/Users/"+bad, ""), http.StatusNotFound, "")
		}

		// DELETE: 204, then 404 and gone from listings.
		e.must(http.StatusNoContent, "DELETE", "/Users/"+id, "")
		checkError(t, e.do("GET", "/Users/"+id, ""), http.StatusNotFound, "")
		m = e.must(http.StatusOK, "GET", "/Users?startIndex=1&count=100", "").obj(t)
		if intField(t, m, "totalResults") != 0 {
			t.Fatalf("deleted user still listed: %v", m)
		}
	})
}

// TestOktaImportPaging replays Okta's import: pages of 100 until totalResults, checking
// integer fields and a stable order with no duplicates or gaps.
func TestOktaImportPaging(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		const n = 250
		want := map[string]bool{}
		for i := range n {
			want[e.createUser(fmt.Sprintf("user%03d@example.com", i))] = true
		}
		seen := map[string]bool{}
		var order []string
		for start := 1; ; start += 100 {
			m := e.must(http.StatusOK, "GET", fmt.Sprintf("/Users?startIndex=%d&count=100", start), "").obj(t)
			total := intField(t, m, "totalResults")
			per := intField(t, m, "itemsPerPage")
			if got := intField(t, m, "startIndex"); got != start {
				t.Fatalf("startIndex = %d, want %d", got, start)
			}
			rs := resources(t, m)
			if total != n || per != len(rs) {
				t.Fatalf("page at %d: totalResults %d itemsPerPage %d with %d resources", start, total, per, len(rs))
			}
			for _, u := range rs {
				id := str(u, "id")
				if seen[id] {
					t.Fatalf("user %s on two pages", id)
				}
				seen[id] = true
				order = append(order, id)
			}
			if start+100 > total {
				break
			}
		}
		if len(seen) != n {
			t.Fatalf("import saw %d users, want %d", len(seen), n)
		}
		// The same walk again gives the same order.
		var again []string
		for start := 1; start <= n; start += 100 {
			for _, u := range resources(t, e.must(http.StatusOK, "GET", fmt.Sprintf("/Users?startIndex=%d&count=100", start), "").obj(t)) {
				again = append(again, str(u, "id"))
			}
		}
		if strings.Join(order, ",") != strings.Join(again, ",") {
			t.Fatal("order differs between two imports")
		}
	})
}

// TestOktaGroupPush replays Okta's group push: create, lookup by displayName, rename
// with the id inside the value, member add/remove/replace, PUT, delete.
func TestOktaGroupPush(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		u1, u2, u3 := e.createUser("a@example.com"), e.createUser("b@example.com"), e.createUser("c@example.com")

		r := e.must(http.StatusCreated, "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Engineering","members":[]}`)
		g := r.obj(t)
		gid := str(g, "id")
		if r.header.Get("Location") != e.base+"/Groups/"+gid || str(g, "displayName") != "Engineering" {
			t.Fatalf("created group: %s %v", r.body, r.header)
		}
		checkError(t, e.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"engineering"}`), http.StatusConflict, "uniqueness")

		m := e.must(http.StatusOK, "GET", "/Groups?filter="+url.QueryEscape(`displayName eq "Engineering"`)+"&startIndex=1&count=100", "").obj(t)
		if rs := resources(t, m); len(rs) != 1 || str(rs[0], "id") != gid {
			t.Fatalf("lookup by displayName: %v", m)
		}

		patch := func(ops string) {
			t.Helper()
			e.must(http.StatusOK, "PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`+ops+`]}`)
		}
		members := func() []string {
			t.Helper()
			g := e.must(http.StatusOK, "GET", "/Groups/"+gid, "").obj(t)
			var ids []string
			list, _ := g["members"].([]any)
			for _, m := range list {
				ids = append(ids, str(m.(map[string]any), "value"))
			}
			return ids
		}

		patch(`{"op":"replace","value":{"id":"` + gid + `","displayName":"Engineering Team"}}`)
		if g := e.must(http.StatusOK, "GET", "/Groups/"+gid, "").obj(t); str(g, "displayName") != "Engineering Team" {
			t.Fatalf("rename: %v", g)
		}
		// An id inside the value that is not the group's own is a mutability error.
		checkError(t, e.do("PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"id":"other","displayName":"X"}}]}`), http.StatusBadRequest, "mutability")

		patch(`{"op":"add","path":"members","value":[{"value":"` + u1 + `","display":"a@example.com"},{"value":"` + u2 + `","display":"b@example.com"}]}`)
		if got := members(); !sameSet(got, u1, u2) {
			t.Fatalf("after add: %v", got)
		}
		patch(`{"op":"remove","path":"members[value eq \"` + u1 + `\"]"}`)
		if got := members(); !sameSet(got, u2) {
			t.Fatalf("after remove: %v", got)
		}
		// Removing a member that is no longer there is a no-op, not an error.
		patch(`{"op":"remove","path":"members[value eq \"` + u1 + `\"]"}`)
		patch(`{"op":"replace","path":"members","value":[{"value":"` + u1 + `"},{"value":"` + u3 + `"}]}`)
		if got := members(); !sameSet(got, u1, u3) {
			t.Fatalf("after replace: %v", got)
		}
		// The user shows its group, read-only.
		u := e.must(http.StatusOK, "GET", "/Users/"+u1, "").obj(t)
		if gs, _ := u["groups"].([]any); len(gs) != 1 || str(gs[0].(map[string]any), "value") != gid || str(gs[0].(map[string]any), "display") != "Engineering Team" {
			t.Fatalf("user groups: %v", u["groups"])
		}
		// An unknown member is refused.
		checkError(t, e.do("PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"8f3c3b38-4a6b-4b88-9d0e-1c6f8c1b2a11"}]}]}`), http.StatusBadRequest, "invalidValue")

		// Some apps get a PUT of the whole group.
		r = e.must(http.StatusOK, "PUT", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"`+gid+`","displayName":"Eng","members":[{"value":"`+u2+`"}]}`)
		if g := r.obj(t); str(g, "displayName") != "Eng" {
			t.Fatalf("PUT group: %s", r.body)
		}
		if got := members(); !sameSet(got, u2) {
			t.Fatalf("after PUT: %v", got)
		}

		// Import of groups pages the same way as users.
		m = e.must(http.StatusOK, "GET", "/Groups?startIndex=1&count=100", "").obj(t)
		if intField(t, m, "totalResults") != 1 {
			t.Fatalf("group list: %v", m)
		}
		m = e.must(http.StatusOK, "GET", "/Groups?excludedAttributes=members", "").obj(t)
		if rs := resources(t, m); len(rs) != 1 || rs[0]["members"] != nil {
			t.Fatalf("excludedAttributes=members: %v", m)
		}

		e.must(http.StatusNoContent, "DELETE", "/Groups/"+gid, "")
		checkError(t, e.do("GET", "/Groups/"+gid, ""), http.StatusNotFound, "")
		checkError(t, e.do("DELETE", "/Groups/"+gid, ""), http.StatusNotFound, "")
	})
}

func sameSet(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	m := map[string]bool{}
	for _, g := range got {
		m[g] = true
	}
	for _, w := range want {
		if !m[w] {
			return false
		}
	}
	return true
}

// checkError checks that r is a SCIM error with the given status and scimType.
func checkError(t testing.TB, r *response, status int, scimType string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != MediaType {
		t.Errorf("error Content-Type %q, want %q", ct, MediaType)
	}
	m := r.obj(t)
	schemas, _ := m["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != ErrorURN {
		t.Errorf("error schemas = %v", m["schemas"])
	}
	if s, ok := m["status"].(string); !ok || s != fmt.Sprint(status) {
		t.Errorf("error status = %#v, want the string %q", m["status"], fmt.Sprint(status))
	}
	if got := str(m, "scimType"); got != scimType {
		t.Errorf("scimType = %q, want %q (detail %q)", got, scimType, str(m, "detail"))
	}
	if str(m, "detail") == "" {
		t.Errorf("error without detail: %s", r.body)
	}
	return m
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := jsonMarshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
