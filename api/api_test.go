package api_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/oktasync/oktasync/appstore/storetest"
)

func TestNoKeyAtAllAnswers404(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, "")
			for _, p := range []string{"/api/v1/tenants", "/api/v1/openapi.json", "/api/v1/nosuch"} {
				if r := e.doKey("anything", "GET", p, ""); r.status != 404 {
					t.Fatalf("GET %s without any key configured: %d, want 404", p, r.status)
				}
			}
			_, secret, err := e.store.CreateAPIKey(context.Background(), "ci")
			if err != nil {
				t.Fatal(err)
			}
			if r := e.doKey("", "GET", "/api/v1/tenants", ""); r.status != 401 {
				t.Fatalf("once a key exists, no key: %d, want 401", r.status)
			}
			if r := e.doKey(secret, "GET", "/api/v1/tenants", ""); r.status != 200 {
				t.Fatalf("with the API key: %d %s", r.status, r.body)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		_, secret, err := e.store.CreateAPIKey(context.Background(), "app")
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, key string
			want      int
		}{
			{"no key", "", 401},
			{"wrong key", "oka_0123456789_nope", 401},
			{"admin token with a byte more", adminToken + "x", 401},
			{"a SCIM token is no API key", "oks_0123456789_nope", 401},
			{"admin token", adminToken, 200},
			{"API key", secret, 200},
		} {
			for _, p := range []string{"/api/v1/tenants", "/api/v1/tenants/default/users", "/api/v1/openapi.json"} {
				r := e.doKey(tc.key, "GET", p, "")
				if r.status != tc.want {
					t.Errorf("%s: GET %s = %d, want %d", tc.name, p, r.status, tc.want)
				}
				if tc.want == 401 && (!strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") || r.header.Get("WWW-Authenticate") == "") {
					t.Errorf("%s: 401 without problem+json or WWW-Authenticate: %v", tc.name, r.header)
				}
			}
		}
		// A removed key stops working at once; writes are attributed to the key.
		e.key = secret
		e.must(201, "POST", "/api/v1/tenants", `{"id":"byapi"}`)
		audit := e.must(200, "GET", "/api/v1/tenants/byapi/audit?actor=api", "")
		if data, _ := audit.list(t); len(data) != 1 || !strings.HasPrefix(data[0]["actor"].(string), "api:") {
			t.Fatalf("audit of an API write: %s", audit.body)
		}
		keys, _ := e.store.ListAPIKeys(context.Background())
		if err := e.store.RemoveAPIKey(context.Background(), keys[0].ID); err != nil {
			t.Fatal(err)
		}
		if r := e.do("GET", "/api/v1/tenants", ""); r.status != 401 {
			t.Fatalf("removed key: %d", r.status)
		}
	})
}

func TestTenants(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		c := e.must(201, "POST", "/api/v1/tenants", `{"id":"acme","name":"Acme"}`).json(t)
		if c["id"] != "acme" || c["scimUrl"] != "https://scim.example.com/scim/v2" || c["provisioningEnabled"] != false {
			t.Fatalf("created tenant: %v", c)
		}
		e.problem(409, "POST", "/api/v1/tenants", `{"id":"acme"}`, "already exists")
		e.problem(400, "POST", "/api/v1/tenants", `{"id":"Bad Id"}`, "body.id")
		e.problem(400, "POST", "/api/v1/tenants", `{"id":"x1","colour":"red"}`, "colour")
		e.problem(400, "POST", "/api/v1/tenants", `{"name":"no id"}`, "id")
		e.problem(400, "POST", "/api/v1/tenants", `{"id":7}`, "body.id")
		p := e.must(200, "PATCH", "/api/v1/tenants/acme", `{"name":"Acme Inc","provisioningEnabled":true,"inviteUsers":true,"allowedEmailDomains":["Acme.com"]}`).json(t)
		if p["name"] != "Acme Inc" || p["provisioningEnabled"] != true || p["inviteUsers"] != true || fmt.Sprint(p["allowedEmailDomains"]) != "[acme.com]" {
			t.Fatalf("patched tenant: %v", p)
		}
		e.problem(400, "PATCH", "/api/v1/tenants/acme", `{"allowedEmailDomains":["acme.com","not a domain"]}`, "allowedEmailDomains[1]")
		e.problem(400, "PATCH", "/api/v1/tenants/acme", `{"scimUrl":"https://evil"}`, "scimUrl")
		e.problem(404, "PATCH", "/api/v1/tenants/nope", `{"name":"x"}`, "nope")
		e.problem(404, "GET", "/api/v1/tenants/nope", "", "nope")
		g := e.must(200, "GET", "/api/v1/tenants/acme", "").json(t)
		if g["userCount"] != 0.0 || g["groupCount"] != 0.0 {
			t.Fatalf("counts: %v", g)
		}
		for i := range 3 {
			e.must(201, "POST", "/api/v1/tenants", fmt.Sprintf(`{"id":"t%d"}`, i))
		}
		var ids []string
		next := ""
		for {
			r := e.must(200, "GET", "/api/v1/tenants?limit=2&after="+url.QueryEscape(next), "")
			data, n := r.list(t)
			for _, d := range data {
				ids = append(ids, d["id"].(string))
			}
			if next = n; next == "" {
				break
			}
		}
		if fmt.Sprint(ids) != "[acme default t0 t1 t2]" {
			t.Fatalf("tenant pages: %v", ids)
		}
		e.problem(400, "GET", "/api/v1/tenants?limit=1001", "", "limit")
		e.problem(400, "GET", "/api/v1/tenants?after=garbage!", "", "query.after")
		e.must(204, "DELETE", "/api/v1/tenants/t0", "")
		e.problem(404, "DELETE", "/api/v1/tenants/t0", "")
		e.problem(409, "DELETE", "/api/v1/tenants/default", "", "cannot be deleted")
	})
}

func TestTokensAndBasicCredentials(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.must(201, "POST", "/api/v1/tenants", `{"id":"acme","provisioningEnabled":true}`)
		tok := e.must(201, "POST", "/api/v1/tenants/acme/tokens", "").json(t)
		secret, id := tok["secret"].(string), tok["id"].(string)
		if !strings.HasPrefix(secret, "oks_") || tok["status"] != "active" || !strings.HasPrefix(secret, tok["prefix"].(string)) {
			t.Fatalf("created token: %v", tok)
		}
		if r := e.scim(secret, "GET", "/Users", ""); r.status != 200 {
			t.Fatalf("new token refused by SCIM: %d", r.status)
		}
		e.must(201, "POST", "/api/v1/tenants/acme/tokens", "")
		e.problem(409, "POST", "/api/v1/tenants/acme/tokens", "", "remove")
		list := e.must(200, "GET", "/api/v1/tenants/acme/tokens", "")
		data, next := list.list(t)
		if len(data) != 2 || next != "" || strings.Contains(string(list.body), secret[len(tok["prefix"].(string)):]) || strings.Contains(string(list.body), "secret") {
			t.Fatalf("token list shows %d tokens or a secret: %s", len(data), list.body)
		}
		for _, k := range []string{"prefix", "status", "created", "lastUsed"} {
			if _, ok := data[0][k]; !ok {
				t.Fatalf("token without %s: %v", k, data[0])
			}
		}
		e.must(200, "PATCH", "/api/v1/tenants/acme/tokens/"+id, `{"status":"inactive"}`)
		if r := e.scim(secret, "GET", "/Users", ""); r.status != 401 {
			t.Fatalf("inactive token: %d", r.status)
		}
		e.problem(400, "PATCH", "/api/v1/tenants/acme/tokens/"+id, `{"status":"paused"}`, "body.status")
		e.must(200, "PATCH", "/api/v1/tenants/acme/tokens/"+id, `{"status":"active"}`)
		renewed := e.must(200, "POST", "/api/v1/tenants/acme/tokens/"+id+"/renew", "").json(t)
		if renewed["id"] != id || renewed["secret"] == secret {
			t.Fatalf("renewed: %v", renewed)
		}
		if r := e.scim(secret, "GET", "/Users", ""); r.status != 401 {
			t.Fatalf("old secret after renew: %d", r.status)
		}
		if r := e.scim(renewed["secret"].(string), "GET", "/Users", ""); r.status != 200 {
			t.Fatalf("renewed secret: %d", r.status)
		}
		e.problem(404, "POST", "/api/v1/tenants/acme/tokens/nope/renew", "")
		e.problem(404, "GET", "/api/v1/tenants/nope/tokens", "")
		// Tokens of another tenant are not found under this one.
		e.problem(404, "DELETE", "/api/v1/tenants/default/tokens/"+id, "")
		e.must(204, "DELETE", "/api/v1/tenants/acme/tokens/"+id, "")
		e.must(201, "POST", "/api/v1/tenants/acme/tokens", "")

		b := e.must(201, "POST", "/api/v1/tenants/acme/basic-credentials", `{"username":"okta","password":"a long enough password"}`).json(t)
		if b["username"] != "okta" || b["kind"] != "basic" {
			t.Fatalf("basic: %v", b)
		}
		e.problem(400, "POST", "/api/v1/tenants/acme/basic-credentials", `{"username":"okta2","password":"short"}`, "body.password")
		e.problem(409, "POST", "/api/v1/tenants/acme/basic-credentials", `{"username":"okta","password":"a long enough password"}`, "already in use")
		if data, _ := e.must(200, "GET", "/api/v1/tenants/acme/basic-credentials", "").list(t); len(data) != 1 {
			t.Fatalf("basic list: %v", data)
		}
		// A Basic credential is not a token, and the other way round.
		e.problem(404, "PATCH", "/api/v1/tenants/acme/tokens/"+b["id"].(string), `{"status":"inactive"}`)
		e.must(200, "PATCH", "/api/v1/tenants/acme/basic-credentials/"+b["id"].(string), `{"status":"inactive"}`)
		e.must(204, "DELETE", "/api/v1/tenants/acme/basic-credentials/"+b["id"].(string), "")
	})
}

func TestAttributes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a := e.must(201, "POST", "/api/v1/tenants/default/attributes", `{"name":"level","type":"integer"}`).json(t)
		if a["name"] != "level" || a["type"] != "integer" {
			t.Fatalf("attribute: %v", a)
		}
		e.must(201, "POST", "/api/v1/tenants/default/attributes", `{"name":"color"}`)
		e.problem(409, "POST", "/api/v1/tenants/default/attributes", `{"name":"LEVEL"}`, "already has")
		e.problem(400, "POST", "/api/v1/tenants/default/attributes", `{"name":"9bad"}`, "body.name")
		e.problem(400, "POST", "/api/v1/tenants/default/attributes", `{"name":"x","type":"float"}`, "body.type")
		if data, _ := e.must(200, "GET", "/api/v1/tenants/default/attributes", "").list(t); len(data) != 2 || data[0]["name"] != "color" {
			t.Fatalf("attributes: %v", data)
		}
		e.must(204, "DELETE", "/api/v1/tenants/default/attributes/level", "")
		e.problem(404, "DELETE", "/api/v1/tenants/default/attributes/level", "")
		e.problem(404, "GET", "/api/v1/tenants/nope/attributes", "")
	})
}

func TestUsers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.must(201, "POST", "/api/v1/tenants/default/attributes", `{"name":"level"}`)
		u := e.must(201, "POST", "/api/v1/tenants/default/users", `{"userName":"Jane@example.com","givenName":"Jane","familyName":"Doe","email":"jane@example.com","department":"R&D","attributes":{"level":"3"}}`).json(t)
		id := u["id"].(string)
		if u["source"] != "app" || u["active"] != true || u["email"] != "jane@example.com" || u["name"].(map[string]any)["givenName"] != "Jane" {
			t.Fatalf("created user: %v", u)
		}
		e.problem(409, "POST", "/api/v1/tenants/default/users", `{"userName":"JANE@EXAMPLE.COM"}`, "already taken")
		e.problem(400, "POST", "/api/v1/tenants/default/users", `{"userName":""}`, "userName")
		e.problem(400, "POST", "/api/v1/tenants/default/users", `{"userName":"   "}`, "body.userName")
		e.problem(400, "POST", "/api/v1/tenants/default/users", `{"givenName":"x"}`, "userName")
		e.problem(400, "POST", "/api/v1/tenants/default/users", `{"userName":"x@example.com","shoe":9}`, "shoe")
		e.problem(400, "POST", "/api/v1/tenants/default/users", `{"userName":"x@example.com","attributes":{"shoeSize":"9"}}`, "body.attributes.shoeSize")
		e.problem(404, "POST", "/api/v1/tenants/nope/users", `{"userName":"x@example.com"}`)
		p := e.must(200, "PATCH", "/api/v1/tenants/default/users/"+id, `{"title":"CTO","active":false}`).json(t)
		if p["active"] != false || p["attributes"].(map[string]any)["title"] != "CTO" || p["version"] != 2.0 {
			t.Fatalf("patched user: %v", p)
		}
		e.problem(404, "PATCH", "/api/v1/tenants/default/users/Jane@example.com", `{"title":"x"}`)
		e.problem(404, "GET", "/api/v1/tenants/default/users/00000000-0000-0000-0000-000000000000", "")
		e.problem(400, "PATCH", "/api/v1/tenants/default/users/"+id, `{"userName":""}`, "userName")
		// Okta provisions a second user through SCIM.
		tok := e.must(201, "POST", "/api/v1/tenants/default/tokens", "").json(t)["secret"].(string)
		e.must(200, "PATCH", "/api/v1/tenants/default", `{"provisioningEnabled":true}`)
		req := e.scimUA(tok, "Okta SCIM Client 1.0.0", "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob@example.com"}`)
		if req.status != 201 {
			t.Fatalf("SCIM create: %d %s", req.status, req.body)
		}
		bob := req.json(t)["id"].(string)
		g := e.scimUA(tok, "Okta SCIM Client 1.0.0", "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Eng","members":[{"value":"`+bob+`"}]}`).json(t)
		gb := e.must(200, "GET", "/api/v1/tenants/default/users/"+bob, "").json(t)
		if gb["source"] != "scim" || gb["sourceClient"] != "okta" || len(gb["groups"].([]any)) != 1 {
			t.Fatalf("SCIM user through the API: %v", gb)
		}
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"", []string{id, bob}},
			{"source=app", []string{id}},
			{"source=scim", []string{bob}},
			{"active=false", []string{id}},
			{"group=" + g["id"].(string), []string{bob}},
			{"filter=" + url.QueryEscape(`userName sw "bob"`), []string{bob}},
			{"updatedSince=2999-01-01T00:00:00Z", nil},
		} {
			data, _ := e.must(200, "GET", "/api/v1/tenants/default/users?"+tc.query, "").list(t)
			var got []string
			for _, d := range data {
				got = append(got, d["id"].(string))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("users?%s = %v, want %v", tc.query, got, tc.want)
			}
		}
		e.problem(400, "GET", "/api/v1/tenants/default/users?filter="+url.QueryEscape(`userName eq`), "", "query.filter")
		e.problem(400, "GET", "/api/v1/tenants/default/users?source=ldap", "", "source")
		e.problem(404, "GET", "/api/v1/tenants/default/users?group=nope", "")
		e.problem(404, "GET", "/api/v1/tenants/nope/users", "")
	})
}

// The tenant's email-domain allow-list holds for the app's writes through the API too.
func TestUsersOutsideAllowedDomains(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.must(200, "PATCH", "/api/v1/tenants/default", `{"allowedEmailDomains":["example.com"]}`)
		e.problem(400, "POST", "/api/v1/tenants/default/users", `{"userName":"eve@evil.test"}`, "body.userName", "evil.test")
		id := e.must(201, "POST", "/api/v1/tenants/default/users", `{"userName":"ok@EXAMPLE.com"}`).json(t)["id"].(string)
		e.problem(400, "PATCH", "/api/v1/tenants/default/users/"+id, `{"email":"ok@sub.example.com"}`, "body.email", "sub.example.com")
		e.must(200, "PATCH", "/api/v1/tenants/default", `{"allowedEmailDomains":[]}`)
		e.must(201, "POST", "/api/v1/tenants/default/users", `{"userName":"eve@evil.test"}`)
	})
}

func (e *env) scimUA(token, ua, method, path, body string) resp {
	e.t.Helper()
	return e.scimWith(token, ua, method, path, body)
}

// Paging through users while others create and delete users neither repeats a user nor
// skips one that stays.
func TestUserPagesStableUnderWrites(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		stay := map[string]bool{}
		var gone []string
		for i := range 30 {
			id := e.must(201, "POST", "/api/v1/tenants/default/users", fmt.Sprintf(`{"userName":"u%02d@example.com"}`, i)).json(t)["id"].(string)
			if i%3 == 0 {
				gone = append(gone, id)
			} else {
				stay[id] = true
			}
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, id := range gone {
				e.do("POST", "/api/v1/tenants/default/users", fmt.Sprintf(`{"userName":"late%02d@example.com"}`, i))
				if err := e.store.DeleteUser(context.Background(), "default", id); err != nil {
					t.Error(err)
				}
			}
		}()
		seen := map[string]bool{}
		next, pages := "", 0
		for {
			data, n := e.must(200, "GET", "/api/v1/tenants/default/users?limit=4&after="+url.QueryEscape(next), "").list(t)
			pages++
			for _, d := range data {
				id := d["id"].(string)
				if seen[id] {
					t.Fatalf("user %s on two pages", d["userName"])
				}
				seen[id] = true
			}
			if next = n; next == "" {
				break
			}
		}
		wg.Wait()
		for id := range stay {
			if !seen[id] {
				t.Fatalf("a user that stayed was skipped: %s", id)
			}
		}
		if pages < 8 {
			t.Fatalf("only %d pages of 4 for 30+ users", pages)
		}
	})
}

func TestGroupsAndTenantIsolation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		tokens := map[string]string{}
		users := map[string]string{}
		groups := map[string]string{}
		for _, tn := range []string{"a", "b"} {
			e.must(201, "POST", "/api/v1/tenants", `{"id":"`+tn+`","provisioningEnabled":true}`)
			tokens[tn] = e.must(201, "POST", "/api/v1/tenants/"+tn+"/tokens", "").json(t)["secret"].(string)
			var members []string
			for i := range 5 {
				r := e.scim(tokens[tn], "POST", "/Users", fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s%d@example.com"}`, tn, i))
				id := r.json(t)["id"].(string)
				users[tn] = id
				members = append(members, `{"value":"`+id+`"}`)
			}
			r := e.scim(tokens[tn], "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"All","members":[`+strings.Join(members, ",")+`]}`)
			groups[tn] = r.json(t)["id"].(string)
		}
		data, _ := e.must(200, "GET", "/api/v1/tenants/a/groups", "").list(t)
		if len(data) != 1 || data[0]["memberCount"] != 5.0 || data[0]["displayName"] != "All" {
			t.Fatalf("groups of a: %v", data)
		}
		if g := e.must(200, "GET", "/api/v1/tenants/a/groups/"+groups["a"], "").json(t); g["memberCount"] != 5.0 {
			t.Fatalf("group: %v", g)
		}
		var got []string
		next := ""
		for {
			d, n := e.must(200, "GET", "/api/v1/tenants/a/groups/"+groups["a"]+"/members?limit=2&after="+url.QueryEscape(next), "").list(t)
			for _, m := range d {
				got = append(got, m["id"].(string))
			}
			if next = n; next == "" {
				break
			}
		}
		if len(got) != 5 {
			t.Fatalf("members paged: %v", got)
		}
		if tn := e.must(200, "GET", "/api/v1/tenants/a", "").json(t); tn["userCount"] != 5.0 || tn["groupCount"] != 1.0 {
			t.Fatalf("tenant counts: %v", tn)
		}
		e.problem(404, "GET", "/api/v1/tenants/b/groups/"+groups["a"], "")
		e.problem(404, "GET", "/api/v1/tenants/b/groups/"+groups["a"]+"/members", "")
		e.problem(404, "GET", "/api/v1/tenants/b/users/"+users["a"], "")
		e.problem(404, "GET", "/api/v1/tenants/nope/groups", "")
		// Through SCIM, b's token never sees or touches a's users or groups.
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/Users/" + users["a"], ""},
			{"PUT", "/Users/" + users["a"], `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"hijack@example.com"}`},
			{"PATCH", "/Users/" + users["a"], `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`},
			{"DELETE", "/Users/" + users["a"], ""},
			{"GET", "/Groups/" + groups["a"], ""},
			{"DELETE", "/Groups/" + groups["a"], ""},
		} {
			if r := e.scim(tokens["b"], c.method, c.path, c.body); r.status != 404 {
				t.Errorf("b's token %s %s: %d, want 404", c.method, c.path, r.status)
			}
		}
		if r := e.scim(tokens["b"], "GET", "/Users?filter="+url.QueryEscape(`userName sw "a"`), ""); !strings.Contains(string(r.body), `"totalResults":0`) {
			t.Errorf("b's token lists a's users: %s", r.body)
		}
		if u := e.must(200, "GET", "/api/v1/tenants/a/users/"+users["a"], "").json(t); u["active"] != true || u["userName"] != "a4@example.com" {
			t.Fatalf("a's user touched through b: %v", u)
		}
	})
}

func TestAudit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.must(201, "POST", "/api/v1/tenants/default/users", `{"userName":"audit@example.com"}`).json(t)["id"].(string)
		for i := range 4 {
			e.must(200, "PATCH", "/api/v1/tenants/default/users/"+id, fmt.Sprintf(`{"title":"t%d"}`, i))
		}
		data, next := e.must(200, "GET", "/api/v1/tenants/default/audit?resource="+id+"&limit=3", "").list(t)
		if len(data) != 3 || next == "" || data[0]["operation"] != "user.update" {
			t.Fatalf("audit page: %v %q", data, next)
		}
		rest, last := e.must(200, "GET", "/api/v1/tenants/default/audit?resource="+id+"&limit=3&after="+url.QueryEscape(next), "").list(t)
		if len(rest) != 2 || last != "" || rest[1]["operation"] != "user.create" {
			t.Fatalf("audit second page: %v %q", rest, last)
		}
		if d, _ := e.must(200, "GET", "/api/v1/tenants/default/audit?actor=cli", "").list(t); len(d) != 0 {
			t.Fatalf("actor filter: %v", d)
		}
		if d, _ := e.must(200, "GET", "/api/v1/tenants/default/audit?until=2000-01-01T00:00:00Z", "").list(t); len(d) != 0 {
			t.Fatalf("until filter: %v", d)
		}
		csv := e.must(200, "GET", "/api/v1/tenants/default/audit?format=csv&resource="+id+"&limit=1", "")
		lines := strings.Split(strings.TrimSpace(string(csv.body)), "\n")
		if !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") || lines[0] != "id,time,tenant,actor,operation,resourceType,resourceId,changes" || len(lines) != 6 {
			t.Fatalf("csv (%s):\n%s", csv.header.Get("Content-Type"), csv.body)
		}
		e.problem(400, "GET", "/api/v1/tenants/default/audit?format=xml", "", "format")
		e.problem(404, "GET", "/api/v1/tenants/nope/audit?format=csv", "")
	})
}

func TestSync(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.problem(400, "POST", "/api/v1/tenants/default/sync", "", "Okta")
		e.problem(404, "POST", "/api/v1/tenants/nope/sync?full=true", "")
		if data, next := e.must(200, "GET", "/api/v1/tenants/default/sync", "").list(t); len(data) != 0 || next != "" {
			t.Fatalf("runs: %v", data)
		}
		e.problem(404, "GET", "/api/v1/tenants/default/sync/12345", "")
		e.problem(404, "GET", "/api/v1/tenants/nope/sync", "")
		e.problem(400, "POST", "/api/v1/tenants/default/sync", `{"full":true,"fast":true}`, "fast")
	})
}
