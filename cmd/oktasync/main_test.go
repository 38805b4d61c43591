package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
)

// cli runs oktasync command lines in-process against one database.
type cli struct {
	t   *testing.T
	env map[string]string
}

func newCLI(t *testing.T, dbURL string) *cli {
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(t.TempDir(), "cli.db")
	}
	return &cli{t: t, env: map[string]string{"OKTASYNC_DB": dbURL}}
}

func (c *cli) run(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(k string) string { return c.env[k] }}
	code = run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

// ok runs a command that must succeed and returns its standard output.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	code, out, errs := c.run("", args...)
	if code != 0 {
		c.t.Fatalf("oktasync %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestExitCodesAndMessages(t *testing.T) {
	c := newCLI(t, "")
	c.ok("token", "create")
	c.ok("token", "create")
	cases := []struct {
		env  map[string]string
		args []string
		code int
		want string
	}{
		{nil, []string{"bogus"}, 2, `unknown command "bogus"`},
		{nil, []string{}, 2, "usage: oktasync"},
		{nil, []string{"token"}, 2, "missing subcommand"},
		{nil, []string{"token", "explode"}, 2, `unknown subcommand "explode"`},
		{nil, []string{"token", "create", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{map[string]string{"OKTASYNC_DB": "mysql://u:pw@x/db"}, []string{"tenant", "list"}, 2, "OKTASYNC_DB: unsupported database URL"},
		{nil, []string{"tenant", "list", "--db", "oktasync.db"}, 2, "--db: unsupported database URL"},
		{nil, []string{"tenant", "enable", "nope"}, 1, `no tenant "nope"`},
		{nil, []string{"token", "list", "--tenant", "nope"}, 1, `no tenant "nope"`},
		{nil, []string{"token", "create"}, 1, "already has 2 tokens: remove or renew one"},
		{nil, []string{"token", "remove", "does-not-exist"}, 1, `has no token "does-not-exist"`},
		{nil, []string{"tenant", "create", "Bad Name"}, 2, "invalid tenant id"},
		{nil, []string{"tenant", "create"}, 2, "missing tenant ID"},
		{nil, []string{"tenant", "create", "default"}, 1, `tenant "default" already exists`},
		{nil, []string{"tenant", "set", "default", "--invite-users", "maybe"}, 2, "--invite-users"},
		{nil, []string{"users", "update", "nobody@example.com", "--title", "x"}, 1, `has no user "nobody@example.com"`},
		{nil, []string{"users", "update", "nobody@example.com"}, 2, "nothing to update"},
		{nil, []string{"serve", "--listen", "nonsense"}, 2, `--listen: "nonsense" is not host:port`},
		{nil, []string{"audit", "list", "--limit", "0"}, 2, "--limit"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			saved := c.env
			if tc.env != nil {
				c.env = tc.env
			}
			code, _, errs := c.run("", tc.args...)
			c.env = saved
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, errs, tc.code, tc.want)
			}
			if strings.Contains(errs, "pw@") {
				t.Fatalf("stderr leaks a password: %q", errs)
			}
			if n := strings.Count(strings.TrimSpace(errs), "\n"); n > 0 && tc.code == 1 {
				t.Fatalf("runtime error is not one line: %q", errs)
			}
		})
	}
}

func TestTokenLifecycle(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			c := newCLI(t, b.URL(t))
			c.ok("tenant", "create", "acme", "--name", "Acme", "--enable")
			secret := lastLine(c.ok("token", "create", "--tenant", "acme"))
			if !strings.HasPrefix(secret, "oks_") || len(secret) < 50 {
				t.Fatalf("last line is not the secret: %q", secret)
			}
			var list []credOut
			if err := json.Unmarshal([]byte(c.ok("token", "list", "--tenant", "acme", "--json")), &list); err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 || list[0].Status != "active" || !strings.HasPrefix(secret, list[0].Prefix) || list[0].Token != "" {
				t.Fatalf("token list = %+v", list)
			}
			table := c.ok("token", "list", "--tenant", "acme")
			if strings.Contains(table, secret[len(list[0].Prefix):]) {
				t.Fatal("token list shows the secret")
			}
			id := list[0].ID
			c.ok("token", "deactivate", id, "--tenant", "acme")
			c.ok("token", "activate", "--tenant", "acme", list[0].Prefix) // by prefix, flags first
			renewed := lastLine(c.ok("token", "renew", id, "--tenant", "acme"))
			if renewed == secret || !strings.HasPrefix(renewed, "oks_") {
				t.Fatalf("renew printed %q", renewed)
			}
			var created credOut
			if err := json.Unmarshal([]byte(c.ok("token", "create", "--tenant", "acme", "--json")), &created); err != nil || created.Token == "" {
				t.Fatalf("token create --json: %+v %v", created, err)
			}
			if code, _, errs := c.run("", "token", "create", "--tenant", "acme"); code != 1 || !strings.Contains(errs, "remove or renew") {
				t.Fatalf("third token: exit %d %q", code, errs)
			}
			c.ok("token", "remove", id, "--tenant", "acme")
			c.ok("token", "create", "--tenant", "acme")
			code, _, errs := c.run("short pw\n", "token", "basic", "okta", "--tenant", "acme")
			if code != 1 || !strings.Contains(errs, "at least 12") {
				t.Fatalf("weak basic password: exit %d %q", code, errs)
			}
			if code, _, errs := c.run("a long enough password\n", "token", "basic", "okta", "--tenant", "acme"); code != 0 {
				t.Fatalf("basic: %d %s", code, errs)
			}
			audit := c.ok("audit", "list", "--tenant", "acme", "--limit", "100")
			for _, op := range []string{"token.create", "credential.deactivate", "credential.activate", "token.renew", "credential.remove", "basic.create"} {
				if !strings.Contains(audit, op) {
					t.Errorf("audit list lacks %s:\n%s", op, audit)
				}
			}
			if strings.Contains(audit, secret) || strings.Contains(audit, renewed) {
				t.Error("audit list shows a secret")
			}
		})
	}
}

func TestTenantsAttributesUsers(t *testing.T) {
	c := newCLI(t, "")
	c.ok("tenant", "create", "acme")
	c.ok("tenant", "set", "acme", "--invite-users", "true", "--name", "Acme Corp")
	var tenants []tenantOut
	json.Unmarshal([]byte(c.ok("tenant", "list", "--json")), &tenants)
	if len(tenants) != 2 || tenants[0].ID != "acme" || !tenants[0].InviteUsers || tenants[0].Name != "Acme Corp" || tenants[0].ProvisioningEnabled {
		t.Fatalf("tenants = %+v", tenants)
	}
	c.ok("tenant", "enable", "acme")
	if !strings.Contains(c.ok("tenant", "list"), "acme     Acme Corp  enabled") {
		t.Fatalf("enabled tenant not shown as enabled:\n%s", c.ok("tenant", "list"))
	}
	c.ok("tenant", "attributes", "add", "favoriteColor", "--tenant", "acme", "--description", "UI theme")
	c.ok("tenant", "attributes", "add", "level", "--type", "integer", "--tenant", "acme")
	if code, _, errs := c.run("", "tenant", "attributes", "add", "level", "--tenant", "acme"); code != 1 || !strings.Contains(errs, "already has an attribute") {
		t.Fatalf("duplicate attribute: %d %q", code, errs)
	}
	attrs := c.ok("tenant", "attributes", "list", "--tenant", "acme")
	if !strings.Contains(attrs, "favoriteColor") || !strings.Contains(attrs, "integer") {
		t.Fatalf("attributes list:\n%s", attrs)
	}
	c.ok("users", "create", "jane@example.com", "--tenant", "acme", "--email", "jane@example.com", "--given-name", "Jane", "--family-name", "Doe",
		"--display-name", "Jane Doe", "--department", "R&D", "--attr", "favoriteColor=green")
	if code, _, errs := c.run("", "users", "create", "JANE@example.com", "--tenant", "acme"); code != 1 || !strings.Contains(errs, "already taken") {
		t.Fatalf("duplicate userName: %d %q", code, errs)
	}
	if code, _, errs := c.run("", "users", "create", "x@example.com", "--tenant", "acme", "--attr", "shoeSize=9"); code != 2 || !strings.Contains(errs, `no custom attribute "shoeSize"`) {
		t.Fatalf("unknown attribute: %d %q", code, errs)
	}
	c.ok("users", "update", "jane@example.com", "--tenant", "acme", "--title", "CTO")
	c.ok("users", "deactivate", "jane@example.com", "--tenant", "acme")
	var users []userOut
	json.Unmarshal([]byte(c.ok("users", "list", "--tenant", "acme", "--json")), &users)
	if len(users) != 1 {
		t.Fatalf("users = %+v", users)
	}
	u := users[0]
	if u.Active || u.Source != "app" || u.DisplayName != "Jane Doe" || u.Email != "jane@example.com" || u.Attributes["title"] != "CTO" || u.Version != 3 {
		t.Fatalf("user = %+v", u)
	}
	list := c.ok("users", "list", "--tenant", "acme", "--filter", `userName sw "JANE"`)
	if !strings.Contains(list, "SOURCE") || !strings.Contains(list, "jane@example.com") || !strings.Contains(list, " app ") {
		t.Fatalf("users list table:\n%s", list)
	}
	if code, _, errs := c.run("", "users", "list", "--tenant", "acme", "--filter", `userName eq`); code != 2 || !strings.Contains(errs, "--filter") {
		t.Fatalf("bad filter: %d %q", code, errs)
	}
	c.ok("users", "reactivate", u.ID, "--tenant", "acme")
	c.ok("tenant", "attributes", "remove", "level", "--tenant", "acme")
	c.ok("tenant", "disable", "acme")
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// server is an in-process `oktasync serve`.
type server struct {
	addr   string
	stdout *syncBuffer
	stderr *syncBuffer // the server's log
	cancel context.CancelFunc
	done   chan int
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs `oktasync serve` in-process and waits until /healthz answers.
func startServe(t testing.TB, vars map[string]string) *server {
	t.Helper()
	s := &server{addr: freeAddr(t), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan int, 1)}
	full := map[string]string{"OKTASYNC_LISTEN": s.addr, "OKTASYNC_LOG_LEVEL": "warn"}
	for k, v := range vars {
		full[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	e := &env{stdin: strings.NewReader(""), stdout: s.stdout, stderr: s.stderr, getenv: func(k string) string { return full[k] }}
	go func() { s.done <- run(ctx, e, []string{"serve"}) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + s.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case code := <-s.done:
			t.Fatalf("serve exited with %d before listening", code)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop shuts the server down as SIGTERM would and returns its exit code.
func (s *server) stop(t testing.TB) int {
	if s.cancel == nil {
		return 0
	}
	s.cancel()
	s.cancel = nil
	select {
	case code := <-s.done:
		return code
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not shut down")
		return -1
	}
}

// bootToken extracts the token printed on first start.
func bootToken(t testing.TB, out string) (scimURL, token string) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "SCIM connector base URL:"); ok {
			scimURL = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "API token:"); ok {
			token = strings.TrimSpace(v)
		}
	}
	if scimURL == "" || token == "" {
		t.Fatalf("first start did not print the SCIM URL and token:\n%s", out)
	}
	return scimURL, token
}

func TestServeFirstStartHealthAndShutdown(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			vars := map[string]string{"OKTASYNC_DB": b.URL(t)}
			s := startServe(t, vars)
			scimURL, token := bootToken(t, s.stdout.String())
			if scimURL != "http://"+s.addr+"/scim/v2" {
				t.Fatalf("SCIM URL = %q, want http://%s/scim/v2", scimURL, s.addr)
			}
			for path, want := range map[string]int{"/healthz": 200, "/readyz": 200} {
				resp, err := http.Get("http://" + s.addr + path)
				if err != nil || resp.StatusCode != want {
					t.Fatalf("GET %s: %v %v", path, resp, err)
				}
				resp.Body.Close()
			}
			// Okta's "Test API Credentials" call with the printed token.
			req, _ := http.NewRequest("GET", scimURL+"/Users?startIndex=1&count=2", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("User-Agent", "Okta SCIM Client 1.0.0")
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/scim+json") {
				t.Fatalf("SCIM connection test: %v %v", resp, err)
			}
			resp.Body.Close()
			if code := s.stop(t); code != 0 {
				t.Fatalf("graceful shutdown exit code %d", code)
			}
			// A second start keeps the token and prints none.
			s2 := startServe(t, vars)
			if strings.Contains(s2.stdout.String(), "API token") {
				t.Fatalf("second start printed a token again:\n%s", s2.stdout.String())
			}
			req, _ = http.NewRequest("GET", "http://"+s2.addr+"/scim/v2/Users?startIndex=1&count=2", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err = http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("token from first start refused after restart: %v %v", resp, err)
			}
			resp.Body.Close()
		})
	}
}

func TestServeRefusesBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := newCLI(t, "")
	c.env["OKTASYNC_LISTEN"] = ln.Addr().String()
	code, _, errs := c.run("", "serve")
	if code != 1 || !strings.Contains(errs, "OKTASYNC_LISTEN") {
		t.Fatalf("busy port: exit %d, %q", code, errs)
	}
}

func TestVersionAndMigrate(t *testing.T) {
	c := newCLI(t, "")
	out := c.ok("migrate")
	n := appstore.LatestVersion()
	if want := fmt.Sprintf("applied %d migration(s); schema version %d", n, n); n < 1 || !strings.Contains(out, want) {
		t.Fatalf("migrate on a new database: %q, want %q", out, want)
	}
	again := c.ok("migrate")
	if !strings.Contains(again, "applied 0 migration") {
		t.Fatalf("second migrate: %q", again)
	}
	if v := c.ok("version"); !strings.HasPrefix(v, "oktasync ") || !strings.Contains(v, "schema version") {
		t.Fatalf("version: %q", v)
	}
	if h := c.ok("help"); !strings.Contains(h, "serve") || !strings.Contains(h, "token") {
		t.Fatalf("help: %q", h)
	}
}
