package scim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/scimschema"
)

// TestListParameters checks paging rules (RFC 7644 §3.4.2.4), sorting and .search.
func TestListParameters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, func(o *Options) { o.MaxPageSize = 3 })
		for _, n := range []string{"carol", "alice", "bob", "dave", "erin"} {
			e.createUser(n + "@example.com")
		}
		names := func(m map[string]any) []string {
			var out []string
			for _, r := range resources(t, m) {
				out = append(out, strings.TrimSuffix(str(r, "userName"), "@example.com"))
			}
			return out
		}
		tests := []struct {
			query             string
			total, per, start int
			want              []string // nil: only the count matters
		}{
			{"count=0", 5, 0, 1, []string{}},
			{"count=-4", 5, 0, 1, []string{}},
			{"startIndex=0&count=2", 5, 2, 1, []string{"carol", "alice"}},
			{"startIndex=-7&count=1", 5, 1, 1, []string{"carol"}},
			{"startIndex=4&count=2", 5, 2, 4, []string{"dave", "erin"}},
			{"startIndex=5&count=3", 5, 1, 5, []string{"erin"}},
			{"startIndex=9&count=3", 5, 0, 9, []string{}},
			{"count=500", 5, 3, 1, []string{"carol", "alice", "bob"}}, // clamped to the max page size
			{"", 5, 3, 1, []string{"carol", "alice", "bob"}},          // default page size is the max
			{"sortBy=userName&count=3", 5, 3, 1, []string{"alice", "bob", "carol"}},
			{"sortBy=userName&sortOrder=descending&count=2", 5, 2, 1, []string{"erin", "dave"}},
			{"sortBy=userName&sortOrder=ascending&startIndex=3&count=3", 5, 3, 3, []string{"carol", "dave", "erin"}},
			{"filter=" + url.QueryEscape(`userName sw "b" or userName sw "d"`) + "&sortBy=userName", 2, 2, 1, []string{"bob", "dave"}},
			// Okta's existence check takes a fast path that must page the same way.
			{"filter=" + url.QueryEscape(`userName eq "BOB@example.com"`) + "&startIndex=1&count=100", 1, 1, 1, []string{"bob"}},
			{"filter=" + url.QueryEscape(`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob@example.com"`), 1, 1, 1, []string{"bob"}},
			{"filter=" + url.QueryEscape(`userName eq "bob@example.com"`) + "&count=0", 1, 0, 1, []string{}},
			{"filter=" + url.QueryEscape(`userName eq "bob@example.com"`) + "&startIndex=2", 1, 0, 2, []string{}},
			{"filter=" + url.QueryEscape(`userName eq "nobody@example.com"`), 0, 0, 1, []string{}},
		}
		for _, tt := range tests {
			t.Run(tt.query, func(t *testing.T) {
				m := e.must(http.StatusOK, "GET", "/Users?"+tt.query, "").obj(t)
				if got := []int{intField(t, m, "totalResults"), intField(t, m, "itemsPerPage"), intField(t, m, "startIndex")}; !reflect.DeepEqual(got, []int{tt.total, tt.per, tt.start}) {
					t.Fatalf("totalResults, itemsPerPage, startIndex = %v, want %v", got, []int{tt.total, tt.per, tt.start})
				}
				if got := names(m); tt.want != nil && strings.Join(got, ",") != strings.Join(tt.want, ",") {
					t.Fatalf("users = %v, want %v", got, tt.want)
				}
			})
		}
		t.Run(".search", func(t *testing.T) {
			m := e.must(http.StatusOK, "POST", "/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
				"filter":"userName ew \"example.com\"","sortBy":"userName","sortOrder":"descending","startIndex":1,"count":2,
				"attributes":["userName"]}`).obj(t)
			if got := names(m); strings.Join(got, ",") != "erin,dave" || intField(t, m, "totalResults") != 5 {
				t.Fatalf(".search: %v", m)
			}
			if r := resources(t, m)[0]; r["emails"] != nil || r["id"] == nil {
				t.Fatalf(".search attributes not applied: %v", r)
			}
			checkError(t, e.do("POST", "/Users/.search", `{"schemas":["urn:x"]}`), 400, "invalidSyntax")
			checkError(t, e.do("POST", "/Users/.search", `{"filter":"userName eq"}`), 400, "invalidFilter")
			checkError(t, e.do("POST", "/Users/.search", `{"count":"ten"}`), 400, "invalidValue")
			gid := e.createGroup("Searchable")
			m = e.must(http.StatusOK, "POST", "/Groups/.search", `{"filter":"displayName eq \"searchable\""}`).obj(t)
			if rs := resources(t, m); len(rs) != 1 || str(rs[0], "id") != gid {
				t.Fatalf("group .search: %v", m)
			}
		})
	})
}

// TestServiceProviderConfigAdvertisesLimits checks that the caps enforced are the ones
// advertised.
func TestServiceProviderConfigAdvertisesLimits(t *testing.T) {
	e := newEnv(t, storetest.SQLite, func(o *Options) { o.MaxPageSize = 77; o.MaxFilterLength = 300 })
	m := e.must(http.StatusOK, "GET", "/ServiceProviderConfig", "").obj(t)
	if intField(t, m["filter"].(map[string]any), "maxResults") != 77 {
		t.Errorf("filter.maxResults: %v", m["filter"])
	}
	if get(m, "patch.supported") != true || get(m, "bulk.supported") != false || get(m, "etag.supported") != true || get(m, "sort.supported") != true {
		t.Errorf("features: %v", m)
	}
	limits := m[LimitsURN].(map[string]any)
	if intField(t, limits, "maxFilterLength") != 300 || intField(t, limits, "maxPayloadSize") != DefaultMaxBodyBytes {
		t.Errorf("limits: %v", limits)
	}
	schemes, _ := m["authenticationSchemes"].([]any)
	if len(schemes) != 2 {
		t.Errorf("authenticationSchemes: %v", m["authenticationSchemes"])
	}
}

// TestCustomAttributes checks a tenant's custom attributes end to end: accepted under the
// custom extension, type-checked, stored, returned, filterable, described in /Schemas.
func TestCustomAttributes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		for _, a := range []scimschema.CustomAttr{
			{Name: "costCode", Type: scimschema.String, Description: "Internal cost code"},
			{Name: "clearance", Type: scimschema.Integer},
			{Name: "contractor", Type: scimschema.Boolean},
		} {
			if err := e.store.AddAttribute(ctx, appstore.DefaultTenant, a); err != nil {
				t.Fatal(err)
			}
		}
		const c = scimschema.CustomURN
		r := e.must(http.StatusCreated, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","`+c+`"],
			"userName":"custom@example.com","`+c+`":{"costCode":"CC-1","clearance":3,"contractor":"True","unknownThing":"dropped"}}`)
		u := r.obj(t)
		id := str(u, "id")
		if str(u, c+".costCode") != "CC-1" || get(u, c+".clearance") == nil || get(u, c+".contractor") != true || get(u, c+".unknownThing") != nil {
			t.Fatalf("custom attributes on create: %s", r.body)
		}
		if schemas, _ := u["schemas"].([]any); len(schemas) != 2 || schemas[1] != c {
			t.Errorf("schemas = %v", u["schemas"])
		}
		checkError(t, e.do("POST", "/Users", `{"userName":"bad@example.com","`+c+`":{"clearance":"top"}}`), 400, "invalidValue")
		checkError(t, e.do("POST", "/Users", `{"userName":"bad@example.com","`+c+`":"x"}`), 400, "invalidValue")

		u = e.must(http.StatusOK, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"`+c+`:clearance","value":5}]}`).obj(t)
		if fmt.Sprint(get(u, c+".clearance")) != "5" {
			t.Fatalf("PATCH custom: %v", u[c])
		}
		e.createUser("plain@example.com")
		for _, f := range []string{c + `:costCode eq "CC-1"`, c + `:clearance gt 4`, c + `:contractor eq true`} {
			m := e.must(http.StatusOK, "GET", "/Users?filter="+url.QueryEscape(f), "").obj(t)
			if rs := resources(t, m); len(rs) != 1 || str(rs[0], "id") != id {
				t.Fatalf("filter %s: %v", f, m)
			}
		}
		m := e.must(http.StatusOK, "GET", "/Users?sortBy="+url.QueryEscape(c+":costCode"), "").obj(t)
		if intField(t, m, "totalResults") != 2 {
			t.Fatalf("sort by custom: %v", m)
		}

		sc := e.must(http.StatusOK, "GET", "/Schemas/"+c, "").obj(t)
		attrs, _ := sc["attributes"].([]any)
		types := map[string]string{}
		for _, a := range attrs {
			types[str(a.(map[string]any), "name")] = str(a.(map[string]any), "type")
		}
		if want := map[string]string{"costCode": "string", "clearance": "integer", "contractor": "boolean"}; !reflect.DeepEqual(types, want) {
			t.Fatalf("custom schema attributes %v, want %v", types, want)
		}
		rt := e.must(http.StatusOK, "GET", "/ResourceTypes/User", "").obj(t)
		if exts, _ := rt["schemaExtensions"].([]any); len(exts) != 2 || str(exts[1].(map[string]any), "schema") != c {
			t.Fatalf("User resource type: %v", rt)
		}
	})
}

// TestDiscovery checks /Schemas and /ResourceTypes listings.
func TestDiscovery(t *testing.T) {
	e := newEnv(t, storetest.SQLite)
	m := e.must(http.StatusOK, "GET", "/Schemas", "").obj(t)
	var ids []string
	for _, r := range resources(t, m) {
		ids = append(ids, str(r, "id"))
		if str(r, "meta.resourceType") != "Schema" || !strings.HasSuffix(str(r, "meta.location"), "/Schemas/"+str(r, "id")) {
			t.Errorf("schema meta: %v", r["meta"])
		}
	}
	if want := []string{scimschema.UserURN, scimschema.EnterpriseURN, scimschema.GroupURN}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("schemas = %v, want %v (no custom extension without custom attributes)", ids, want)
	}
	if intField(t, m, "totalResults") != 3 {
		t.Fatalf("totalResults: %v", m["totalResults"])
	}
	u := e.must(http.StatusOK, "GET", "/Schemas/"+scimschema.UserURN, "").obj(t)
	if attrs, _ := u["attributes"].([]any); len(attrs) < 20 {
		t.Fatalf("User schema attributes: %d", len(attrs))
	}
	m = e.must(http.StatusOK, "GET", "/ResourceTypes", "").obj(t)
	rs := resources(t, m)
	if len(rs) != 2 || str(rs[0], "endpoint") != "/Users" || str(rs[1], "endpoint") != "/Groups" || str(rs[1], "schema") != scimschema.GroupURN {
		t.Fatalf("resource types: %v", m)
	}
	g := e.must(http.StatusOK, "GET", "/ResourceTypes/Group", "").obj(t)
	if str(g, "id") != "Group" || str(g, "meta.location") != e.base+"/ResourceTypes/Group" {
		t.Fatalf("Group resource type: %v", g)
	}
}

// TestBaseURL checks that meta.location and Location use Options.BaseURL when set.
func TestBaseURL(t *testing.T) {
	e := newEnv(t, storetest.SQLite, func(o *Options) { o.BaseURL = "https://scim.example.com/scim/v2/" })
	r := e.must(http.StatusCreated, "POST", "/Users", `{"userName":"loc@example.com"}`)
	id := str(r.obj(t), "id")
	want := "https://scim.example.com/scim/v2/Users/" + id
	if r.header.Get("Location") != want || str(r.obj(t), "meta.location") != want {
		t.Fatalf("Location %q, meta.location %q, want %q", r.header.Get("Location"), str(r.obj(t), "meta.location"), want)
	}
}
