package scim

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/oktasync/oktasync/appstore/storetest"
)

// TestEntraUserFlow replays Microsoft Entra ID's provisioning requests for a user: its
// create body, path-based PATCHes with capitalised ops and string booleans, the
// enterprise manager as a bare id, replace-as-add through a filter.
func TestEntraUserFlow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		entra := []hdr{{"User-Agent", "Azure AD SCIM Provisioning"}, {"Accept", "application/scim+json"}, {"Content-Type", "application/scim+json"}}

		m := e.must(http.StatusOK, "GET", "/Users?filter="+url.QueryEscape(`userName eq "Test_User_00aa00aa"`), "", entra...).obj(t)
		if intField(t, m, "totalResults") != 0 {
			t.Fatalf("probe found a user: %v", m)
		}
		mgr := e.createUser("manager@example.com")
		r := e.must(http.StatusCreated, "POST", "/Users", `{
			"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			"externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
			"userName":"Test_User_ab6490ee@testuser.com",
			"active":true,
			"emails":[{"primary":true,"type":"work","value":"Test_User_fd0ea19b@testuser.com"}],
			"meta":{"resourceType":"User"},
			"name":{"formatted":"givenName familyName","familyName":"familyName","givenName":"givenName"},
			"roles":[],
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Eng","employeeNumber":"42"}
		}`, entra...)
		u := r.obj(t)
		id := str(u, "id")
		if str(u, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department") != "Eng" {
			t.Fatalf("enterprise extension lost: %s", r.body)
		}
		if schemas, _ := u["schemas"].([]any); len(schemas) != 2 {
			t.Errorf("schemas = %v, want core and enterprise", u["schemas"])
		}

		patch := func(ops string) map[string]any {
			t.Helper()
			return e.must(http.StatusOK, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`+ops+`]}`, entra...).obj(t)
		}
		u = patch(`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"updated@testuser.com"},
			{"op":"Replace","path":"name.familyName","value":"updatedFamilyName"}`)
		emails := u["emails"].([]any)
		if len(emails) != 1 || str(emails[0].(map[string]any), "value") != "updated@testuser.com" || emails[0].(map[string]any)["primary"] != true {
			t.Fatalf("email replace: %v", u["emails"])
		}
		if str(u, "name.familyName") != "updatedFamilyName" || str(u, "name.givenName") != "givenName" {
			t.Fatalf("name replace: %v", u["name"])
		}

		// Replace through a filter that matches nothing adds the value.
		u = patch(`{"op":"Replace","path":"phoneNumbers[type eq \"mobile\"].value","value":"+1 555 0100"}`)
		phones, _ := u["phoneNumbers"].([]any)
		if len(phones) != 1 || str(phones[0].(map[string]any), "type") != "mobile" || str(phones[0].(map[string]any), "value") != "+1 555 0100" {
			t.Fatalf("replace-as-add: %v", u["phoneNumbers"])
		}

		const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
		u = patch(`{"op":"Add","path":"` + ent + `:manager","value":"` + mgr + `"},{"op":"Replace","path":"` + ent + `:department","value":"Sales"}`)
		if str(u, ent+".manager.value") != mgr || str(u, ent+".manager.$ref") != e.base+"/Users/"+mgr || str(u, ent+".department") != "Sales" {
			t.Fatalf("manager/department: %v", u[ent])
		}
		u = patch(`{"op":"Remove","path":"` + ent + `:manager"}`)
		if get(u, ent+".manager") != nil || str(u, ent+".employeeNumber") != "42" {
			t.Fatalf("remove manager: %v", u[ent])
		}

		// Disable with a string boolean, then enable.
		u = patch(`{"op":"Replace","path":"active","value":"False"}`)
		if u["active"] != false {
			t.Fatalf("active after \"False\": %v", u["active"])
		}
		u = patch(`{"op":"Replace","path":"active","value":"True"}`)
		if u["active"] != true {
			t.Fatalf("active after \"True\": %v", u["active"])
		}
		u = patch(`{"op":"Replace","value":{"active":"false","displayName":"Entra User"}}`)
		if u["active"] != false || str(u, "displayName") != "Entra User" {
			t.Fatalf("no-path replace with a string boolean: %v", u)
		}
		// A non-boolean string is refused.
		checkError(t, e.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"maybe"}]}`, entra...), http.StatusBadRequest, "invalidValue")
	})
}

// TestEntraGroupFlow replays Entra's group requests: lookup with
// excludedAttributes=members, rename by path, members added and removed by value lists.
func TestEntraGroupFlow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		u1, u2 := e.createUser("x@example.com"), e.createUser("y@example.com")
		gid := e.createGroup("Entra Group", u1)

		m := e.must(http.StatusOK, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "Entra Group"`), "").obj(t)
		rs := resources(t, m)
		if len(rs) != 1 || rs[0]["members"] != nil || str(rs[0], "id") != gid || str(rs[0], "meta.resourceType") != "Group" {
			t.Fatalf("lookup: %v", m)
		}
		g := e.must(http.StatusOK, "GET", "/Groups/"+gid+"?excludedAttributes=members", "").obj(t)
		if g["members"] != nil || str(g, "displayName") != "Entra Group" {
			t.Fatalf("get with excludedAttributes=members: %v", g)
		}

		patch := func(ops string) {
			t.Helper()
			e.must(http.StatusOK, "PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`+ops+`]}`)
		}
		patch(`{"op":"Replace","path":"displayName","value":"Renamed"}`)
		patch(`{"op":"Add","path":"members","value":[{"value":"` + u2 + `"}]}`)
		patch(`{"op":"Remove","path":"members","value":[{"value":"` + u1 + `"}]}`)
		g = e.must(http.StatusOK, "GET", "/Groups/"+gid, "").obj(t)
		ms, _ := g["members"].([]any)
		if str(g, "displayName") != "Renamed" || len(ms) != 1 || str(ms[0].(map[string]any), "value") != u2 {
			t.Fatalf("after Entra patches: %v", g)
		}
		// With attributes asked for, PATCH answers 200 with the group.
		r := e.must(http.StatusOK, "PATCH", "/Groups/"+gid+"?attributes=displayName", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"members"}]}`)
		if g := r.obj(t); str(g, "displayName") != "Renamed" || g["members"] != nil {
			t.Fatalf("PATCH with attributes: %s", r.body)
		}
	})
}
