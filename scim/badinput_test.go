package scim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
)

// userBody is Okta's create body with the given top-level attributes replaced (a value
// of nil removes the attribute).
func userBody(t testing.TB, userName string, set map[string]any) string {
	t.Helper()
	m := map[string]any{}
	if err := json.Unmarshal([]byte(oktaUserJSON(userName, "Given", "Family")), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := jsonMarshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Bytes no backend can store alike (NUL, invalid UTF-8), values too long for an index,
// and values of the wrong JSON type get the same clear answer on every backend, never a
// 500: 401 in credentials, 404 for an id that cannot exist, 400 naming the attribute in
// bodies, 400 invalidFilter in filters.
func TestBadInputAnsweredAlike(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		uid := e.createUser("member@example.com")
		gid := e.createGroup("Existing")
		basic := func(userPass string) hdr {
			return hdr{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))}
		}
		long := strings.Repeat("x", 2800)
		q := url.QueryEscape
		cases := []struct {
			name, method, path, body string
			headers                  []hdr
			status                   int
			scimType, detail         string // substrings the error must carry ("" skips)
		}{
			// credentials
			{name: "basic username with NUL", method: "GET", path: "/Users", headers: []hdr{basic("a\x00b:pw")}, status: 401},
			{name: "basic username not UTF-8", method: "GET", path: "/Users", headers: []hdr{basic("\xff:pw")}, status: 401},
			{name: "basic password with NUL", method: "GET", path: "/Users", headers: []hdr{basic("okta:pw\x00")}, status: 401},
			{name: "bearer prefix not UTF-8", method: "GET", path: "/Users", headers: []hdr{{"Authorization", "Bearer oks_" + strings.Repeat("\xff", 10) + "_" + strings.Repeat("A", 43)}}, status: 401},
			// ids that cannot exist
			{name: "user id NUL", method: "GET", path: "/Users/%00", status: 404},
			{name: "user id not UTF-8", method: "GET", path: "/Users/%ff", status: 404},
			{name: "group id not UTF-8", method: "GET", path: "/Groups/%ff", status: 404},
			{name: "group id NUL", method: "GET", path: "/Groups/%00", status: 404},
			{name: "delete user id NUL", method: "DELETE", path: "/Users/%00", status: 404},
			{name: "replace user id not UTF-8", method: "PUT", path: "/Users/%ff", body: oktaUserJSON("put@example.com", "P", "Q"), status: 404},
			{name: "patch group id NUL", method: "PATCH", path: "/Groups/%00", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"displayName":"x"}}]}`, status: 404},
			// NUL in bodies
			{name: "userName with NUL", method: "POST", path: "/Users", body: userBody(t, "a\x00b@example.com", nil), status: 400, scimType: "invalidValue", detail: "userName"},
			{name: "title with NUL", method: "POST", path: "/Users", body: userBody(t, "t@example.com", map[string]any{"title": "CEO\x00"}), status: 400, scimType: "invalidValue", detail: "title"},
			{name: "externalId with NUL", method: "POST", path: "/Users", body: userBody(t, "x@example.com", map[string]any{"externalId": "\x00"}), status: 400, scimType: "invalidValue", detail: "externalId"},
			{name: "email with NUL", method: "POST", path: "/Users", body: userBody(t, "e@example.com", map[string]any{"emails": []any{map[string]any{"value": "e\x00@example.com", "type": "work"}}}), status: 400, scimType: "invalidValue", detail: "emails[0].value"},
			{name: "group displayName with NUL", method: "POST", path: "/Groups", body: `{"displayName":"a\u0000b"}`, status: 400, scimType: "invalidValue", detail: "displayName"},
			{name: "member value with NUL", method: "PATCH", path: "/Groups/" + gid, body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"\u0000"}]}]}`, status: 400, scimType: "invalidValue", detail: "member"},
			{name: "member display with NUL", method: "PATCH", path: "/Groups/" + gid, body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"` + uid + `","display":"a\u0000b"}]}]}`, status: 400, scimType: "invalidValue", detail: "display"},
			{name: "PATCH displayName with NUL", method: "PATCH", path: "/Users/" + uid, body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"displayName":"\u0000"}}]}`, status: 400, scimType: "invalidValue", detail: "displayName"},
			// NUL and invalid UTF-8 in filters
			{name: "filter with escaped NUL", method: "GET", path: "/Users?filter=" + q(`userName eq "\u0000"`), status: 400, scimType: "invalidFilter", detail: "NUL"},
			{name: "filter with raw NUL", method: "GET", path: "/Users?filter=" + q("userName eq \"\x00\""), status: 400, scimType: "invalidFilter"},
			{name: "filter not UTF-8", method: "GET", path: "/Users?filter=" + q("userName eq \"\xff\""), status: 400, scimType: "invalidFilter", detail: "UTF-8"},
			{name: "member filter with escaped NUL", method: "GET", path: "/Groups?filter=" + q(`members[value eq "\u0000"]`), status: 400, scimType: "invalidFilter"},
			{name: "search filter with escaped NUL", method: "POST", path: "/Users/.search", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"externalId eq \"\\u0000\""}`, status: 400, scimType: "invalidFilter"},
			{name: "PATCH path filter with escaped NUL", method: "PATCH", path: "/Groups/" + gid, body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"\\u0000\"]"}]}`, status: 400},
			// indexed strings are bounded
			{name: "userName of 513 bytes", method: "POST", path: "/Users", body: userBody(t, strings.Repeat("u", 513), nil), status: 400, scimType: "invalidValue", detail: "userName"},
			{name: "user externalId of 2800 bytes", method: "POST", path: "/Users", body: userBody(t, "long@example.com", map[string]any{"externalId": long}), status: 400, scimType: "invalidValue", detail: "externalId is 2800 bytes long; the limit is 512"},
			{name: "user externalId of 512 bytes", method: "POST", path: "/Users", body: userBody(t, "fits@example.com", map[string]any{"externalId": strings.Repeat("e", appstore.MaxIndexedBytes)}), status: 201},
			{name: "group displayName of 2800 bytes", method: "POST", path: "/Groups", body: `{"displayName":"` + long + `"}`, status: 400, scimType: "invalidValue", detail: "displayName is 2800 bytes long"},
			{name: "group externalId of 2800 bytes", method: "POST", path: "/Groups", body: `{"displayName":"Long ext","externalId":"` + long + `"}`, status: 400, scimType: "invalidValue", detail: "externalId"},
			{name: "group renamed to 2800 bytes", method: "PATCH", path: "/Groups/" + gid, body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"displayName":"` + long + `"}}]}`, status: 400, scimType: "invalidValue", detail: "displayName"},
			// values of the wrong JSON type
			{name: "userName a number", method: "POST", path: "/Users", body: userBody(t, "n@example.com", map[string]any{"userName": 123}), status: 400, scimType: "invalidValue", detail: `"userName" must be of type string, got a number`},
			{name: "emails a string", method: "POST", path: "/Users", body: userBody(t, "s@example.com", map[string]any{"emails": "x"}), status: 400, scimType: "invalidValue", detail: `"emails" must be an array`},
			{name: "phoneNumbers a string", method: "POST", path: "/Users", body: userBody(t, "p@example.com", map[string]any{"phoneNumbers": "x"}), status: 400, scimType: "invalidValue", detail: `"phoneNumbers" must be an array`},
			{name: "email element a string", method: "POST", path: "/Users", body: userBody(t, "el@example.com", map[string]any{"emails": []any{"x@example.com"}}), status: 400, scimType: "invalidValue", detail: `"emails" must be a JSON object`},
			{name: "name.givenName a number", method: "POST", path: "/Users", body: userBody(t, "g@example.com", map[string]any{"name": map[string]any{"givenName": 5}}), status: 400, scimType: "invalidValue", detail: `"name.givenName" must be of type string`},
			{name: "timezone a number", method: "POST", path: "/Users", body: userBody(t, "tz@example.com", map[string]any{"timezone": 5}), status: 400, scimType: "invalidValue", detail: `"timezone"`},
			{name: "group displayName a number", method: "POST", path: "/Groups", body: `{"displayName":5}`, status: 400, scimType: "invalidValue", detail: `"displayName" must be of type string`},
			{name: "PATCH userName a number", method: "PATCH", path: "/Users/" + uid, body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"userName","value":7}]}`, status: 400, scimType: "invalidValue", detail: "userName"},
			// the documented leniencies stay
			{name: "active as the string False", method: "POST", path: "/Users", body: userBody(t, "entra@example.com", map[string]any{"active": "False"}), status: 201},
			{name: "manager as a bare id", method: "POST", path: "/Users", body: userBody(t, "report@example.com", map[string]any{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"manager": uid}}), status: 201},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do(tc.method, tc.path, tc.body, tc.headers...)
				if r.status != tc.status {
					t.Fatalf("status %d, want %d; body %s", r.status, tc.status, r.body)
				}
				if tc.status < 300 {
					return
				}
				m := r.obj(t)
				if !containsString(m["schemas"], ErrorURN) || str(m, "status") != itoa(tc.status) {
					t.Fatalf("not a SCIM error with status %d: %s", tc.status, r.body)
				}
				if got := str(m, "scimType"); tc.scimType != "" && got != tc.scimType {
					t.Errorf("scimType %q, want %q (%s)", got, tc.scimType, r.body)
				}
				if tc.detail != "" && !strings.Contains(str(m, "detail"), tc.detail) {
					t.Errorf("detail %q does not mention %q", str(m, "detail"), tc.detail)
				}
			})
		}
		// Nothing refused was stored: the member, and the three accepted creates.
		list := e.must(http.StatusOK, "GET", "/Users?count=0", "").obj(t)
		if n := intField(t, list, "totalResults"); n != 4 {
			t.Errorf("%d users stored, want 4", n)
		}
		u := e.must(http.StatusOK, "GET", "/Users?filter="+q(`userName eq "entra@example.com"`), "").obj(t)
		if rs := resources(t, u); len(rs) != 1 || rs[0]["active"] != false {
			t.Errorf(`active "False" not read as false: %v`, rs)
		}
	})
}
