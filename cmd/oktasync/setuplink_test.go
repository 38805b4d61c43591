package main

import (
	"strings"
	"testing"
)

func TestTenantSetupLinkCLI(t *testing.T) {
	c := newCLI(t, "")
	c.env["OKTASYNC_PUBLIC_URL"] = "https://sync.example.com"
	c.ok("tenant", "create", "acme")
	out := c.ok("tenant", "setup-link", "acme", "--ttl", "30m")
	link := lastLine(out)
	if !strings.HasPrefix(link, "https://sync.example.com/setup/osl_") || !strings.Contains(out, "valid until") {
		t.Fatalf("setup-link output:\n%s", out)
	}
	if again := lastLine(c.ok("tenant", "setup-link", "acme")); again == link {
		t.Fatal("two setup links share a secret")
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"tenant", "setup-link", "acme", "--ttl", "10s"}, 2, "--ttl: ttl must be between 1m0s and 720h0m0s"},
		{[]string{"tenant", "setup-link", "acme", "--ttl", "soon"}, 2, "invalid value \"soon\" for flag -ttl"},
		{[]string{"tenant", "setup-link", "nope"}, 1, "no tenant \"nope\""},
	} {
		code, _, errs := c.run("", tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("%v: exit %d, %q; want exit %d saying %q", tc.args, code, errs, tc.code, tc.msg)
		}
	}
}
