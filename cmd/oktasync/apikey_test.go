package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
)

func TestAPIKeysGroupsAndAuditCSV(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			url := b.URL(t)
			c := newCLI(t, url)
			out := c.ok("apikey", "create", "--name", "ci")
			secret := lastLine(out)
			if !strings.HasPrefix(secret, "oka_") {
				t.Fatalf("last line is not the key: %q", out)
			}
			list := c.ok("apikey", "list")
			if !strings.Contains(list, "ci") || strings.Contains(list, secret[15:]) {
				t.Fatalf("apikey list:\n%s", list)
			}
			var keys []struct{ ID, Prefix string }
			json.Unmarshal([]byte(c.ok("apikey", "list", "--json")), &keys)
			if len(keys) != 1 || !strings.HasPrefix(secret, keys[0].Prefix) {
				t.Fatalf("apikey list --json: %+v", keys)
			}
			c.ok("apikey", "remove", keys[0].ID)
			if code, _, errs := c.run("", "apikey", "remove", keys[0].ID); code != 1 || !strings.Contains(errs, "no API key") {
				t.Fatalf("removing twice: %d %q", code, errs)
			}

			c.ok("users", "create", "g1@example.com")
			s, err := appstore.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			u, _ := s.GetUserByUserName(context.Background(), "default", "g1@example.com")
			g, err := s.CreateGroup(context.Background(), appstore.Group{TenantID: "default", DisplayName: "Engineering", Members: []appstore.Member{{Value: u.ID, Type: "User"}}})
			s.Close()
			if err != nil {
				t.Fatal(err)
			}
			if l := c.ok("groups", "list"); !strings.Contains(l, "Engineering") || !strings.Contains(l, "MEMBERS") {
				t.Fatalf("groups list:\n%s", l)
			}
			if sh := c.ok("groups", "show", g.ID); !strings.Contains(sh, "1 members") || !strings.Contains(sh, "g1@example.com") {
				t.Fatalf("groups show:\n%s", sh)
			}
			if code, _, errs := c.run("", "groups", "show", "nope"); code != 1 || !strings.Contains(errs, "nope") {
				t.Fatalf("unknown group: %d %q", code, errs)
			}
			if out := c.ok("tenant", "set", "--allowed-email-domains", "Example.com, acme.io"); !strings.Contains(out, "example.com, acme.io") {
				t.Fatalf("tenant set --allowed-email-domains: %q", out)
			}
			if code, _, errs := c.run("", "users", "create", "x@evil.test"); code != 1 || !strings.Contains(errs, "evil.test") {
				t.Fatalf("user outside the allowed domains: %d %q", code, errs)
			}
			if code, _, errs := c.run("", "tenant", "set", "--allowed-email-domains", "not a domain"); code != 2 || !strings.Contains(errs, "--allowed-email-domains") {
				t.Fatalf("bad domain: %d %q", code, errs)
			}
			c.ok("tenant", "set", "--allowed-email-domains=")
			c.ok("users", "create", "x@evil.test")
			csv := c.ok("audit", "list", "--csv")
			lines := strings.Split(strings.TrimSpace(csv), "\n")
			if lines[0] != "id,time,tenant,actor,operation,resourceType,resourceId,changes" || len(lines) < 4 || !strings.Contains(csv, "user.create") {
				t.Fatalf("audit list --csv:\n%s", csv)
			}
		})
	}
}
