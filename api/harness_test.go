package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/config"
	"github.com/oktasync/oktasync/server"
)

const adminToken = "test-admin-token-0123456789"

// env is `oktasync serve`'s real handler on one backend, on a real HTTP server.
type env struct {
	t     *testing.T
	store appstore.Store
	srv   *httptest.Server
	key   string // the bearer key requests send
}

func forEachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, newEnv(t, b, adminToken)) })
	}
}

func newEnv(t *testing.T, b storetest.Backend, admin string, mods ...func(*config.Config)) *env {
	st := b.Open(t)
	cfg := config.Config{DB: "unused", Listen: "127.0.0.1:8080", PublicURL: "https://scim.example.com", AdminToken: admin, SCIMLogRetention: "0"}
	for _, m := range mods {
		m(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := server.New(ctx, cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)), server.Options{Version: "test"})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); s.Close(); cancel() })
	return &env{t: t, store: st, srv: srv, key: admin}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object (%v): %s", err, r.body)
	}
	return m
}

// list decodes a {"data":[…],"next":…} page.
func (r resp) list(t *testing.T) ([]map[string]any, string) {
	t.Helper()
	var l struct {
		Data []map[string]any `json:"data"`
		Next *string          `json:"next"`
	}
	if err := json.Unmarshal(r.body, &l); err != nil || l.Data == nil {
		t.Fatalf("body is not a list (%v): %s", err, r.body)
	}
	if l.Next == nil {
		return l.Data, ""
	}
	return l.Data, *l.Next
}

// do sends a request with the env's key (key "" sends none).
func (e *env) do(method, path, body string) resp {
	e.t.Helper()
	return e.doKey(e.key, method, path, body)
}

func (e *env) doKey(key, method, path, body string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// must sends a request that must answer want, and returns the answer.
func (e *env) must(want int, method, path, body string) resp {
	e.t.Helper()
	r := e.do(method, path, body)
	if r.status != want {
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, r.status, r.body, want)
	}
	return r
}

// problem checks an RFC 9457 answer of the given status whose detail mentions each of want.
func (e *env) problem(want int, method, path, body string, mentions ...string) map[string]any {
	e.t.Helper()
	r := e.must(want, method, path, body)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		e.t.Fatalf("%s %s: Content-Type %q, want application/problem+json", method, path, ct)
	}
	p := r.json(e.t)
	for _, k := range []string{"type", "title", "status", "detail"} {
		if _, ok := p[k]; !ok {
			e.t.Fatalf("%s %s: problem without %q: %s", method, path, k, r.body)
		}
	}
	for _, m := range mentions {
		if !bytes.Contains(r.body, []byte(m)) {
			e.t.Fatalf("%s %s: problem does not mention %q: %s", method, path, m, r.body)
		}
	}
	return p
}

// scim sends a SCIM request with a tenant's token.
func (e *env) scim(token, method, path, body string) resp {
	e.t.Helper()
	return e.doKey(token, method, "/scim/v2"+path, body)
}

func (e *env) scimWith(token, ua, method, path, body string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.srv.URL+"/scim/v2"+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}
