package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/event"
)

// tailEvents runs `events tail` with args and decodes its JSON lines.
func tailEvents(t *testing.T, c *cli, args ...string) []event.Event {
	t.Helper()
	out := c.ok(append([]string{"events", "tail"}, args...)...)
	var evs []event.Event
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var e event.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("events tail printed %q: %v", line, err)
		}
		evs = append(evs, e)
	}
	return evs
}

// TestCLIWritesEmitEventsAndTail: app writes through the CLI emit events with source
// cli, and `events tail` prints them as JSON lines, filtered, and follows new ones.
func TestCLIWritesEmitEventsAndTail(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			c := newCLI(t, b.URL(t))
			last := tailEvents(t, c, "--after", "0")
			after := "0"
			if len(last) > 0 {
				after = itoaSeq(last[len(last)-1].Seq)
			}
			c.ok("users", "create", "cli@example.com", "--title", "Engineer")
			c.ok("users", "update", "cli@example.com", "--title", "CTO")
			c.ok("users", "deactivate", "cli@example.com")
			c.ok("tenant", "set", "default", "--invite-users", "true")
			c.ok("token", "create")
			evs := tailEvents(t, c, "--after", after)
			var got []string
			for _, e := range evs {
				got = append(got, e.Type+"/"+e.Source+" "+string(e.Previous))
			}
			want := []string{
				"user.created/cli {}",
				`user.updated/cli {"attributes":{"title":"Engineer"}}`,
				`user.deactivated/cli {"active":true}`,
				`tenant.updated/cli {"inviteUsers":false}`,
				"token.created/cli {}",
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("events of the CLI writes:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			typed := tailEvents(t, c, "--after", after, "--types", "user.updated,token.created", "--tenant", "default")
			if len(typed) != 2 || typed[0].Type != event.UserUpdated || typed[1].Type != event.TokenCreated {
				t.Fatalf("filtered tail: %+v", typed)
			}
			if n := len(tailEvents(t, c)); n == 0 || n > 10 {
				t.Fatalf("tail without --after printed %d events, want the last few (at most 10)", n)
			}
			code, _, errs := c.run("", "events", "tail", "--types", "user.exploded")
			if code != 2 || !strings.Contains(errs, "--types") || !strings.Contains(errs, "unknown event type") {
				t.Fatalf("bad --types: exit %d, %q", code, errs)
			}

			// --follow keeps printing what is committed after it started.
			ctx, cancel := context.WithCancel(context.Background())
			out := &syncBuffer{}
			e := &env{stdin: strings.NewReader(""), stdout: out, stderr: &bytes.Buffer{}, getenv: func(k string) string { return c.env[k] }}
			done := make(chan int)
			go func() { done <- run(ctx, e, []string{"events", "tail", "--follow", "--types", "user.created"}) }()
			time.Sleep(300 * time.Millisecond)
			c.ok("users", "create", "followed@example.com")
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(out.String(), "followed@example.com") {
				if time.Now().After(deadline) {
					t.Fatalf("--follow did not print the new user: %s", out.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			cancel()
			if code := <-done; code != 0 {
				t.Fatalf("events tail --follow exited %d", code)
			}
		})
	}
}

func itoaSeq(n int64) string { return strconv.FormatInt(n, 10) }

// TestWebhookCLI: add (secret on the last line), list, test, deliveries, remove; a
// private URL is refused without OKTASYNC_WEBHOOK_ALLOW_PRIVATE, as is a webhook
// without OKTASYNC_SECRET_KEY.
func TestWebhookCLI(t *testing.T) {
	c := newCLI(t, "")
	rcv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer rcv.Close()
	code, _, errs := c.run("", "webhook", "add", rcv.URL)
	if code == 0 || !strings.Contains(errs, "OKTASYNC_SECRET_KEY") {
		t.Fatalf("add without a key: exit %d, %q", code, errs)
	}
	c.env["OKTASYNC_SECRET_KEY"] = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	code, _, errs = c.run("", "webhook", "add", rcv.URL)
	if code != 2 || !strings.Contains(errs, "loopback") || !strings.Contains(errs, "OKTASYNC_WEBHOOK_ALLOW_PRIVATE") {
		t.Fatalf("add of a loopback URL: exit %d, %q", code, errs)
	}
	c.env["OKTASYNC_WEBHOOK_ALLOW_PRIVATE"] = "true"
	code, _, errs = c.run("", "webhook", "add", rcv.URL, "--types", "user.nope")
	if code != 2 || !strings.Contains(errs, "--types") {
		t.Fatalf("add with a bad type: exit %d, %q", code, errs)
	}
	out := c.ok("webhook", "add", rcv.URL, "--tenant", "default", "--types", "user.created,user.updated")
	if secret := lastLine(out); !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("add printed %q, want the secret last", out)
	}
	var hooks []struct {
		ID      string   `json:"id"`
		URL     string   `json:"url"`
		Types   []string `json:"types"`
		Tenants []string `json:"tenants"`
		Secret  string   `json:"secret"`
	}
	if err := json.Unmarshal([]byte(c.ok("webhook", "list", "--json")), &hooks); err != nil || len(hooks) != 1 {
		t.Fatalf("list: %v %+v", err, hooks)
	}
	h := hooks[0]
	if h.URL != rcv.URL || len(h.Types) != 2 || h.Tenants[0] != "default" || h.Secret != "" {
		t.Fatalf("listed %+v", h)
	}
	if table := c.ok("webhook", "list"); !strings.Contains(table, h.ID) || !strings.Contains(table, "user.created,user.updated") {
		t.Fatalf("list table:\n%s", table)
	}
	if out := c.ok("webhook", "test", h.ID); !strings.Contains(out, "queued ping") {
		t.Fatalf("test: %s", out)
	}
	if out := c.ok("webhook", "deliveries", h.ID); !strings.Contains(out, "ping") || !strings.Contains(out, "pending") {
		t.Fatalf("deliveries:\n%s", out)
	}
	c.ok("webhook", "remove", h.ID)
	code, _, errs = c.run("", "webhook", "remove", h.ID)
	if code != 1 || !strings.Contains(errs, "no webhook") {
		t.Fatalf("remove again: exit %d, %q", code, errs)
	}
	code, _, _ = c.run("", "webhook", "add")
	if code != 2 {
		t.Fatalf("add without a URL: exit %d", code)
	}
}
