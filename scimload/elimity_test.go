package scimload

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func mountElimity(t *testing.T, token string) string {
	t.Helper()
	h, err := ElimityHandler(token)
	if err != nil {
		t.Fatal(err)
	}
	return mount(t, h)
}

func TestRunAgainstElimityPeer(t *testing.T) {
	base := mountElimity(t, "secret")
	mix, _ := ParseMix(DefaultMix)
	// Enough users and time for deactivations to wrap into a second round (reactivations).
	rep, err := Run(context.Background(), Config{URL: base, Token: "secret", Users: 30, Clients: 4, Duration: 400 * time.Millisecond, Mix: mix})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Seeded != 30 {
		t.Errorf("seeded %d users, want 30", rep.Seeded)
	}
	if len(rep.Ops) != 3 {
		t.Fatalf("report has %d operations, want 3: %+v", len(rep.Ops), rep.Ops)
	}
	for _, s := range rep.Ops {
		if s.Requests == 0 || s.Failures != 0 {
			t.Errorf("%s: %+v; want requests and no failures (first errors: %v)", s.Op, s, rep.FirstErrors)
		}
	}
	if rep.Total.Failures != 0 {
		t.Errorf("total %+v, first errors %v", rep.Total, rep.FirstErrors)
	}
	// Repeating the creates of a prefix fails with the library's 409 uniqueness.
	cfg := Config{URL: base, Token: "secret", Clients: 2, Duration: 100 * time.Millisecond, Mix: map[string]int{OpCreate: 1}, Prefix: "twice"}
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	again, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if again.Total.Failures == 0 || len(again.FirstErrors) == 0 || !strings.Contains(again.FirstErrors[0], "409") {
		t.Errorf("repeated creates: %+v, errors %v; want 409 failures", again.Total, again.FirstErrors)
	}
}

// call sends one request to the peer and returns the status and body.
func call(t *testing.T, method, u, token, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestElimityPeerUsers(t *testing.T) {
	base := mountElimity(t, "tok")
	const user = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Ann@example.com","name":{"givenName":"Ann","familyName":"Lee"},"password":"x","groups":[],"active":true}`
	lookup := func(filter string) string {
		return base + "/Users?filter=" + url.QueryEscape(filter) + "&startIndex=1&count=100"
	}
	if code, _ := call(t, http.MethodGet, base+"/Users", "wrong", ""); code != http.StatusUnauthorized {
		t.Errorf("wrong token: status %d, want 401", code)
	}
	code, body := call(t, http.MethodPost, base+"/Users", "tok", user)
	if code != http.StatusCreated || strings.Contains(body, "password") {
		t.Fatalf("create: %d %s; want 201 without the password", code, body)
	}
	id, _ := jsonString([]byte(body), "id")
	if code, body := call(t, http.MethodPost, base+"/Users", "tok", strings.Replace(user, "Ann@", "ann@", 1)); code != http.StatusConflict || !strings.Contains(body, "uniqueness") {
		t.Errorf("create of a taken userName (other case): %d %s; want 409 uniqueness", code, body)
	}
	if code, body := call(t, http.MethodGet, lookup(`userName eq "ANN@example.com"`), "tok", ""); code != http.StatusOK || !strings.Contains(body, `"totalResults":1`) || !strings.Contains(body, id) {
		t.Errorf("existence check: %d %s", code, body)
	}
	if code, body := call(t, http.MethodGet, lookup(`userName eq "nobody@example.com"`), "tok", ""); code != http.StatusOK || !strings.Contains(body, `"totalResults":0`) {
		t.Errorf("existence check of an unknown user: %d %s", code, body)
	}
	if code, body := call(t, http.MethodGet, lookup(`name.givenName eq "Ann"`), "tok", ""); code != http.StatusOK || !strings.Contains(body, `"totalResults":1`) {
		t.Errorf("filter on another attribute: %d %s", code, body)
	}
	code, body = call(t, http.MethodPatch, base+"/Users/"+id, "tok",
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`)
	if code != http.StatusOK || !strings.Contains(body, `"active":false`) {
		t.Errorf("deactivating PATCH: %d %s", code, body)
	}
	code, body = call(t, http.MethodPatch, base+"/Users/"+id, "tok",
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"name.givenName","value":"Anne"}]}`)
	if code != http.StatusOK || !strings.Contains(body, `"givenName":"Anne"`) || !strings.Contains(body, `"familyName":"Lee"`) {
		t.Errorf("PATCH of a sub-attribute: %d %s", code, body)
	}
	code, body = call(t, http.MethodPut, base+"/Users/"+id, "tok", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann.lee@example.com","active":true}`)
	if code != http.StatusOK || !strings.Contains(body, `"userName":"ann.lee@example.com"`) || strings.Contains(body, "givenName") {
		t.Errorf("replace: %d %s", code, body)
	}
	if code, body := call(t, http.MethodGet, lookup(`userName eq "Ann@example.com"`), "tok", ""); !strings.Contains(body, `"totalResults":0`) {
		t.Errorf("the old userName after replace: %d %s; want it free", code, body)
	}
	if code, body := call(t, http.MethodGet, base+"/Users/"+id, "tok", ""); code != http.StatusOK || !strings.Contains(body, `"active":true`) {
		t.Errorf("get: %d %s", code, body)
	}
	for _, n := range []string{"b", "c", "d"} {
		if code, body := call(t, http.MethodPost, base+"/Users", "tok", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+n+`@example.com"}`); code != http.StatusCreated {
			t.Fatalf("create %s: %d %s", n, code, body)
		}
	}
	code, body = call(t, http.MethodGet, base+"/Users?startIndex=2&count=2", "tok", "")
	if code != http.StatusOK || !strings.Contains(body, `"totalResults":4`) || !strings.Contains(body, "b@example.com") || !strings.Contains(body, "c@example.com") ||
		strings.Contains(body, "ann.lee@") || strings.Contains(body, "d@example.com") {
		t.Errorf("second page of two: %d %s", code, body)
	}
	if code, _ := call(t, http.MethodDelete, base+"/Users/"+id, "tok", ""); code != http.StatusNoContent {
		t.Errorf("delete: %d, want 204", code)
	}
	if code, _ := call(t, http.MethodGet, base+"/Users/"+id, "tok", ""); code != http.StatusNotFound {
		t.Errorf("get after delete: %d, want 404", code)
	}
	if code, _ := call(t, http.MethodPatch, base+"/Users/"+id, "tok", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":true}}]}`); code != http.StatusNotFound {
		t.Errorf("PATCH after delete: %d, want 404", code)
	}
}
