package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/scimload"
)

func TestUsageErrors(t *testing.T) {
	env := func(token string) func(string) string {
		return func(k string) string {
			if k == "OKTASYNC_SCIM_TOKEN" {
				return token
			}
			return ""
		}
	}
	cases := []struct {
		args  []string
		token string
		want  string
	}{
		{nil, "", "OKTASYNC_SCIM_TOKEN is not set"},
		{[]string{"--mix", "lookup=1,bogus=2"}, "t", "--mix:"},
		{[]string{"--clients", "0"}, "t", "--clients must be at least 1"},
		{[]string{"--duration", "0s"}, "t", "--duration must be positive"},
		{[]string{"--users", "-1"}, "t", "--users must not be negative"},
		{[]string{"extra"}, "t", `unexpected argument "extra"`},
		{[]string{"--bogus"}, "t", "flag provided but not defined"},
		{[]string{"--serve-memory", "127.0.0.1:0", "--serve-elimity", "127.0.0.1:0"}, "", "exclude each other"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		if code := run(context.Background(), c.args, env(c.token), &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("scimload %v: exit %d, stderr %q; want 2 and %q", c.args, code, errb.String(), c.want)
		}
	}
}

func TestRunPrintsTotal(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/", http.StripPrefix("/scim/v2", scimload.MemoryHandler("tok")))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	var out, errb bytes.Buffer
	getenv := func(k string) string { return map[string]string{"OKTASYNC_SCIM_TOKEN": "tok"}[k] }
	code := run(context.Background(), []string{"--url", srv.URL + "/scim/v2", "--users", "20", "--clients", "2", "--duration", "200ms"}, getenv, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"seeded 20 users", "lookup ", "create ", "deactivate ", "total: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestServeElimityPeer starts the elimity peer as bench-scim does, reads its URL and
// token from what it prints, and runs the mix against it over HTTP.
func TestServeElimityPeer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		code := run(ctx, []string{"--serve-elimity", "127.0.0.1:0"}, func(string) string { return "" }, pw, &errb)
		pw.Close()
		done <- code
	}()
	var base, token string
	sc := bufio.NewScanner(pr)
	for (base == "" || token == "") && sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 5 && f[0] == "SCIM":
			base = f[4]
		case len(f) == 3 && f[0] == "API":
			token = f[2]
		}
	}
	go io.Copy(io.Discard, pr)
	if base == "" || !strings.HasPrefix(token, "eli_") {
		t.Fatalf("peer printed URL %q and token %q", base, token)
	}
	var out, loadErr bytes.Buffer
	getenv := func(k string) string { return map[string]string{"OKTASYNC_SCIM_TOKEN": token}[k] }
	if code := run(context.Background(), []string{"--url", base, "--users", "20", "--clients", "2", "--duration", "200ms"}, getenv, &out, &loadErr); code != 0 {
		t.Fatalf("load against the elimity peer: exit %d: %s\n%s", code, loadErr.String(), out.String())
	}
	if !strings.Contains(out.String(), "total: ") {
		t.Errorf("output lacks the total: line:\n%s", out.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("peer exit %d: %s", code, errb.String())
	}
}
