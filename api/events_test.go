package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/config"
	"github.com/oktasync/oktasync/webhook"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// withKey gives the server a secret key, which webhooks need.
func withKey(c *config.Config) {
	c.SecretKey = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
}

// eventList decodes a page of the feed.
func eventList(t *testing.T, r resp) ([]map[string]any, int64) {
	t.Helper()
	var l struct {
		Data []map[string]any `json:"data"`
		Next *int64           `json:"next"`
	}
	if err := json.Unmarshal(r.body, &l); err != nil || l.Data == nil || l.Next == nil {
		t.Fatalf("not a page of events (%v): %s", err, r.body)
	}
	return l.Data, *l.Next
}

func typesOf(evs []map[string]any) string {
	var out []string
	for _, e := range evs {
		out = append(out, e["type"].(string)+"/"+e["source"].(string))
	}
	return strings.Join(out, " ")
}

// TestEventsFeed: API writes emit events with source api and the right previous; the
// feed pages with after and limit, filters by tenant and types, refuses unknown types
// and tenants, and answers 410 with the oldest cursor for a pruned one.
func TestEventsFeed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		_, start := eventList(t, e.must(200, "GET", "/api/v1/events", ""))
		for { // read up to the end of what setup wrote
			evs, next := eventList(t, e.must(200, "GET", "/api/v1/events?after="+itoa(start), ""))
			if len(evs) == 0 {
				break
			}
			start = next
		}
		e.must(201, "POST", "/api/v1/tenants", `{"id":"acme"}`)
		u := e.must(201, "POST", "/api/v1/tenants/acme/users", `{"userName":"ev@acme.com","title":"Engineer"}`).json(t)
		e.must(200, "PATCH", "/api/v1/tenants/acme/users/"+u["id"].(string), `{"title":"CTO","active":false}`)
		e.problem(409, "POST", "/api/v1/tenants/acme/users", `{"userName":"EV@acme.com"}`, "already taken")
		e.must(200, "PATCH", "/api/v1/tenants/acme", `{"inviteUsers":true}`)
		e.must(201, "POST", "/api/v1/tenants/acme/tokens", "")

		evs, next := eventList(t, e.must(200, "GET", "/api/v1/events?after="+itoa(start), ""))
		if got := typesOf(evs); got != "tenant.created/api user.created/api user.deactivated/api user.updated/api tenant.updated/api token.created/api" {
			t.Fatalf("events of the API writes: %s", got)
		}
		if p, _ := json.Marshal(evs[3]["previous"]); string(p) != `{"attributes":{"title":"Engineer"}}` {
			t.Fatalf("user.updated previous = %s", p)
		}
		if evs[0]["tenant"] != "acme" || evs[0]["actor"].(map[string]any)["kind"] != "api" || !strings.HasPrefix(evs[0]["id"].(string), "evt_") {
			t.Fatalf("envelope = %v", evs[0])
		}
		if int64(evs[5]["seq"].(float64)) != next {
			t.Fatalf("next %d, last seq %v", next, evs[5]["seq"])
		}
		page, pnext := eventList(t, e.must(200, "GET", "/api/v1/events?limit=2&after="+itoa(start), ""))
		if len(page) != 2 || pnext != int64(page[1]["seq"].(float64)) {
			t.Fatalf("limit 2: %d events, next %d", len(page), pnext)
		}
		typed, _ := eventList(t, e.must(200, "GET", "/api/v1/tenants/acme/events?types=user.updated,token.created&after="+itoa(start), ""))
		if got := typesOf(typed); got != "user.updated/api token.created/api" {
			t.Fatalf("types filter: %s", got)
		}
		other, _ := eventList(t, e.must(200, "GET", "/api/v1/events?tenant=default&after="+itoa(start), ""))
		if len(other) != 0 {
			t.Fatalf("tenant filter let through %s", typesOf(other))
		}
		empty, enext := eventList(t, e.must(200, "GET", "/api/v1/events?after="+itoa(next), ""))
		if len(empty) != 0 || enext != next {
			t.Fatalf("after the last: %d events, next %d", len(empty), enext)
		}
		e.problem(400, "GET", "/api/v1/events?types=user.exploded", "", "types")
		e.problem(400, "GET", "/api/v1/events?after=-1", "", "after")
		e.problem(404, "GET", "/api/v1/tenants/nope/events", "")

		if _, err := e.store.PruneEvents(t.Context(), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		first := int64(evs[0]["seq"].(float64))
		gone := e.problem(410, "GET", "/api/v1/events?after="+itoa(first), "", "older than the oldest kept event")
		if gone["oldest"] != float64(next) {
			t.Fatalf("410 body %v, want oldest %d", gone, next)
		}
		e.must(200, "GET", "/api/v1/events?after="+itoa(next), "")
	})
}

// TestWebhooksAPI: create (secret shown once), list, get, patch, rotate, test,
// deliveries and retry, with the request-forgery guard and field errors.
func TestWebhooksAPI(t *testing.T) {
	// Without OKTASYNC_SECRET_KEY the secret could not be stored: refused, saying so.
	noKey := newEnv(t, storetest.SQLite, adminToken)
	noKey.problem(400, "POST", "/api/v1/webhooks", `{"url":"https://93.184.215.14/h"}`, "OKTASYNC_SECRET_KEY")
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { testWebhooksAPI(t, newEnv(t, b, adminToken, withKey)) })
	}
}

func testWebhooksAPI(t *testing.T, e *env) {
	{
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		defer rcv.Close()
		e.problem(400, "POST", "/api/v1/webhooks", `{"url":"ftp://example.com/x"}`, "body.url")
		e.problem(400, "POST", "/api/v1/webhooks", `{"url":"`+rcv.URL+`"}`, "body.url", "loopback", "OKTASYNC_WEBHOOK_ALLOW_PRIVATE")
		e.problem(400, "POST", "/api/v1/webhooks", `{"url":"https://93.184.215.14/h","types":["user.exploded"]}`, "body.types")
		e.problem(400, "POST", "/api/v1/webhooks", `{"url":"https://93.184.215.14/h","tenants":["nope"]}`, "body.tenants")
		w := e.must(201, "POST", "/api/v1/webhooks", `{"url":"https://93.184.215.14/h","tenants":["default"],"types":["user.created"]}`).json(t)
		id, secret := w["id"].(string), w["secret"].(string)
		if !strings.HasPrefix(secret, webhook.SecretPrefix) || w["enabled"] != true {
			t.Fatalf("created webhook = %v", w)
		}
		got := e.must(200, "GET", "/api/v1/webhooks/"+id, "").json(t)
		if _, shown := got["secret"]; shown || got["url"] != "https://93.184.215.14/h" {
			t.Fatalf("GET shows %v", got)
		}
		list, _ := e.must(200, "GET", "/api/v1/webhooks", "").list(t)
		if len(list) != 1 || list[0]["secret"] != nil {
			t.Fatalf("list = %v", list)
		}
		p := e.must(200, "PATCH", "/api/v1/webhooks/"+id, `{"enabled":false,"types":[]}`).json(t)
		if p["enabled"] != false || len(p["types"].([]any)) != 0 || p["tenants"].([]any)[0] != "default" {
			t.Fatalf("patched = %v", p)
		}
		e.problem(400, "PATCH", "/api/v1/webhooks/"+id, `{"url":"http://169.254.169.254/"}`, "body.url", "link-local")
		r := e.must(200, "POST", "/api/v1/webhooks/"+id+"/rotate-secret", "").json(t)
		if r["secret"] == secret || r["previousSecretExpires"] == nil {
			t.Fatalf("rotated = %v", r)
		}
		d := e.must(201, "POST", "/api/v1/webhooks/"+id+"/test", "").json(t)
		if d["type"] != "ping" || d["status"] != "pending" {
			t.Fatalf("test delivery = %v", d)
		}
		ds, _ := e.must(200, "GET", "/api/v1/webhooks/"+id+"/deliveries", "").list(t)
		if len(ds) != 1 || ds[0]["event"] != d["event"] || ds[0]["attempts"] != 0.0 {
			t.Fatalf("deliveries = %v", ds)
		}
		e.must(200, "POST", "/api/v1/webhooks/"+id+"/deliveries/"+itoa(int64(d["id"].(float64)))+"/retry", "")
		e.problem(404, "POST", "/api/v1/webhooks/"+id+"/deliveries/999999/retry", "")
		e.must(204, "DELETE", "/api/v1/webhooks/"+id, "")
		e.problem(404, "GET", "/api/v1/webhooks/"+id, "")
		e.problem(404, "GET", "/api/v1/webhooks/"+id+"/deliveries", "")
	}
}
