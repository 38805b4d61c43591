package scim

import (
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"testing"

	"github.com/oktasync/oktasync/appstore/storetest"
)

// TestProjection checks attributes and excludedAttributes (RFC 7644 §3.9), on GET of
// one user and of a list: sub-attributes, URN-qualified names, and the attributes that
// are always returned.
func TestProjection(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
		r := e.must(http.StatusCreated, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","`+ent+`"],
			"userName":"p@example.com","displayName":"P","title":"T",
			"name":{"givenName":"G","familyName":"F"},
			"emails":[{"value":"p@example.com","type":"work","primary":true},{"value":"p@home.example","type":"home"}],
			"`+ent+`":{"department":"D","costCenter":"C"}}`)
		id := str(r.obj(t), "id")
		gid := e.createGroup("PG", id)

		tests := []struct {
			query string
			keys  []string          // top-level keys expected, sorted
			check map[string]string // dotted path -> expected string value ("" = absent)
		}{
			{"attributes=userName", []string{"id", "meta", "schemas", "userName"}, map[string]string{"meta.resourceType": "User", "meta.location": ""}},
			{"attributes=USERNAME,displayName", []string{"displayName", "id", "meta", "schemas", "userName"}, nil},
			{"attributes=name.givenName", []string{"id", "meta", "name", "schemas"}, map[string]string{"name.givenName": "G", "name.familyName": ""}},
			{"attributes=emails.value", []string{"emails", "id", "meta", "schemas"}, nil},
			{"attributes=" + url.QueryEscape(ent+":department"), []string{ent, "id", "meta", "schemas"}, map[string]string{ent + ".department": "D", ent + ".costCenter": ""}},
			{"attributes=" + url.QueryEscape(ent), []string{ent, "id", "meta", "schemas"}, map[string]string{ent + ".costCenter": "C"}},
			{"attributes=department", []string{ent, "id", "meta", "schemas"}, map[string]string{ent + ".department": "D"}},
			{"attributes=" + url.QueryEscape("urn:ietf:params:scim:schemas:core:2.0:User:title"), []string{"id", "meta", "schemas", "title"}, nil},
			{"attributes=groups", []string{"groups", "id", "meta", "schemas"}, nil},
			{"attributes=meta.version", []string{"id", "meta", "schemas"}, map[string]string{"meta.resourceType": "User", "meta.created": ""}},
			{"excludedAttributes=emails,name.familyName,groups", []string{"active", "displayName", ent, "id", "meta", "name", "schemas", "title", "userName"}, map[string]string{"name.givenName": "G", "name.familyName": ""}},
			{"excludedAttributes=id,schemas", nil, map[string]string{"id": id}},
			{"excludedAttributes=meta", nil, map[string]string{"meta.resourceType": "User", "meta.location": ""}},
			{"excludedAttributes=" + url.QueryEscape(ent+":costCenter"), nil, map[string]string{ent + ".department": "D", ent + ".costCenter": ""}},
			{"excludedAttributes=" + url.QueryEscape(ent), nil, map[string]string{ent + ".department": ""}},
			{"attributes=noSuchThing", []string{"id", "meta", "schemas"}, nil},
			// A value filter in a name (Entra sends one) selects the attribute, all of it.
			{"attributes=" + url.QueryEscape(`emails[type eq "work"]`), []string{"emails", "id", "meta", "schemas"}, nil},
			{"attributes=" + url.QueryEscape(`userName,emails[type eq "work" or value co ","].value,title`), []string{"emails", "id", "meta", "schemas", "title", "userName"}, nil},
			{"excludedAttributes=" + url.QueryEscape(`emails[type eq "home"]`), nil, map[string]string{"emails": "", "userName": "p@example.com"}},
		}
		for _, tt := range tests {
			t.Run(tt.query, func(t *testing.T) {
				one := e.must(http.StatusOK, "GET", "/Users/"+id+"?"+tt.query, "").obj(t)
				list := e.must(http.StatusOK, "GET", "/Users?filter="+url.QueryEscape(`userName eq "p@example.com"`)+"&"+tt.query, "").obj(t)
				for _, u := range []map[string]any{one, resources(t, list)[0]} {
					if tt.keys != nil {
						var keys []string
						for k := range u {
							keys = append(keys, k)
						}
						sort.Strings(keys)
						want := append([]string(nil), tt.keys...)
						sort.Strings(want)
						if !reflect.DeepEqual(keys, want) {
							t.Fatalf("keys = %v, want %v", keys, want)
						}
					}
					for path, want := range tt.check {
						if got := get(u, path); (want == "" && got != nil) || (want != "" && got != want) {
							t.Fatalf("%s = %v, want %q", path, got, want)
						}
					}
				}
			})
		}
		// emails.value keeps only value in each element.
		u := e.must(http.StatusOK, "GET", "/Users/"+id+"?attributes=emails.value", "").obj(t)
		for _, em := range u["emails"].([]any) {
			if m := em.(map[string]any); len(m) != 1 || m["value"] == nil {
				t.Fatalf("emails.value projection: %v", u["emails"])
			}
		}
		// A value filter in attributes selects every value of the attribute, whole.
		u = e.must(http.StatusOK, "GET", "/Users/"+id+"?attributes="+url.QueryEscape(`emails[type eq "work"]`), "").obj(t)
		if ems, _ := u["emails"].([]any); len(ems) != 2 || len(ems[0].(map[string]any)) < 2 {
			t.Fatalf("attributes=emails[type eq \"work\"]: %v", u["emails"])
		}
		// Projection on write responses too.
		r = e.must(http.StatusOK, "PATCH", "/Users/"+id+"?attributes=title", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"T2"}]}`)
		if u := r.obj(t); str(u, "title") != "T2" || u["emails"] != nil {
			t.Fatalf("PATCH with attributes: %s", r.body)
		}
		// Groups: members excluded or selected.
		g := e.must(http.StatusOK, "GET", "/Groups/"+gid+"?attributes=displayName", "").obj(t)
		if g["members"] != nil || str(g, "displayName") != "PG" {
			t.Fatalf("group attributes=displayName: %v", g)
		}
		g = e.must(http.StatusOK, "GET", "/Groups/"+gid+"?attributes=members.value", "").obj(t)
		if ms, _ := g["members"].([]any); len(ms) != 1 || len(ms[0].(map[string]any)) != 1 {
			t.Fatalf("group attributes=members.value: %v", g)
		}
	})
}

// TestETags checks meta.version as a weak ETag, If-None-Match → 304 and If-Match on
// writes ("*" matches anything).
func TestETags(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		id := e.createUser("etag@example.com")
		r := e.must(http.StatusOK, "GET", "/Users/"+id, "")
		v1 := r.header.Get("ETag")
		if v1 == "" || v1 != str(r.obj(t), "meta.version") {
			t.Fatalf("ETag %q vs meta.version %q", v1, str(r.obj(t), "meta.version"))
		}
		r = e.must(http.StatusNotModified, "GET", "/Users/"+id, "", hdr{"If-None-Match", v1})
		if len(r.body) != 0 || r.header.Get("ETag") != v1 {
			t.Fatalf("304 body %q, ETag %q", r.body, r.header.Get("ETag"))
		}
		e.must(http.StatusOK, "GET", "/Users/"+id, "", hdr{"If-None-Match", `W/"12345"`})

		patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"x"}]}`
		tests := []struct {
			ifMatch string
			status  int
		}{
			{v1, 200},      // current version: applies
			{v1, 412},      // now stale
			{`W/"0"`, 412}, // never valid
			{"*", 200},     // anything
			{`"nope", *`, 200},
		}
		for _, tt := range tests {
			r := e.do("PATCH", "/Users/"+id, patch, hdr{"If-Match", tt.ifMatch})
			if r.status != tt.status {
				t.Fatalf("If-Match %s: status %d, want %d: %s", tt.ifMatch, r.status, tt.status, r.body)
			}
		}
		cur := e.must(http.StatusOK, "GET", "/Users/"+id, "").header.Get("ETag")
		if cur == v1 {
			t.Fatal("version did not change on write")
		}
		// The strong form of the same tag matches too (weak comparison).
		e.must(http.StatusOK, "PUT", "/Users/"+id, `{"userName":"etag@example.com"}`, hdr{"If-Match", cur[2:]})

		gid := e.createGroup("ETagGroup")
		g := e.must(http.StatusOK, "GET", "/Groups/"+gid, "")
		gv := g.header.Get("ETag")
		e.must(http.StatusNotModified, "GET", "/Groups/"+gid, "", hdr{"If-None-Match", gv})
		checkError(t, e.do("DELETE", "/Groups/"+gid, "", hdr{"If-Match", `W/"99"`}), 412, "")
		r = e.must(http.StatusOK, "PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"E2"}]}`, hdr{"If-Match", gv})
		if r.header.Get("ETag") != str(r.obj(t), "meta.version") {
			t.Fatalf("group PATCH ETag %q, meta.version %q", r.header.Get("ETag"), str(r.obj(t), "meta.version"))
		}
		if r.header.Get("ETag") == gv || r.header.Get("ETag") == "" {
			t.Fatalf("group PATCH ETag %q (was %q)", r.header.Get("ETag"), gv)
		}
		e.must(http.StatusNoContent, "DELETE", "/Groups/"+gid, "", hdr{"If-Match", r.header.Get("ETag")})
	})
}

func TestSplitList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"userName, emails ,,title", []string{"userName", "emails", "title"}},
		{`emails[type eq "work"]`, []string{`emails[type eq "work"]`}},
		{`emails[value co ","],userName`, []string{`emails[value co ","]`, "userName"}},
		{`emails[value co "]"],userName`, []string{`emails[value co "]"]`, "userName"}},
		{`emails[value co "\",x"],userName`, []string{`emails[value co "\",x"]`, "userName"}},
		{`emails[type eq "work"].value,name`, []string{`emails[type eq "work"].value`, "name"}},
	} {
		if got := splitList(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitList(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWithoutValueFilter(t *testing.T) {
	for in, want := range map[string]string{
		"emails":                          "emails",
		`emails[type eq "work"]`:          "emails",
		`emails[type eq "work"].value`:    "emails.value",
		`emails[value eq "a]b"].display`:  "emails.display",
		`emails[type eq "work"`:           "emails",
		`urn:x:y:2.0:User:emails[a pr].v`: "urn:x:y:2.0:User:emails.v",
	} {
		if got := withoutValueFilter(in); got != want {
			t.Errorf("withoutValueFilter(%q) = %q, want %q", in, got, want)
		}
	}
}
