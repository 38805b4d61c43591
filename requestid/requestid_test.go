package requestid

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMiddlewareKeepsSaneIDsAndMakesOthers(t *testing.T) {
	cases := []struct {
		name, sent string
		kept       bool
	}{
		{"uuid", "0f8fad5b-d9cb-469f-a165-70867728950e", true},
		{"trace id", "Root=1-5759e988-bd862e3fe1be46a994272793", true},
		{"none", "", false},
		{"space", "a b", false},
		{"newline", "abc\ninjected=1", false},
		{"quote", `a"b`, false},
		{"too long", strings.Repeat("a", MaxLen+1), false},
		{"longest", strings.Repeat("a", MaxLen), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var seen string
			h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = FromContext(r.Context()) }))
			// Straight to the handler: net/http's client would refuse to send some of
			// these values, and a proxy in front of the server might not.
			req := httptest.NewRequest("GET", "/", nil)
			if c.sent != "" {
				req.Header[Header] = []string{c.sent}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header().Get(Header)
			if got != seen || got == "" {
				t.Fatalf("response id %q, handler saw %q", got, seen)
			}
			if c.kept != (got == c.sent) {
				t.Fatalf("sent %q, got %q; kept = %v, want %v", c.sent, got, got == c.sent, c.kept)
			}
			if !Sane(got) {
				t.Fatalf("made id %q is not sane", got)
			}
		})
	}
}

func TestNewIDsDiffer(t *testing.T) {
	if a, b := New(), New(); a == b || len(a) != 32 {
		t.Fatalf("New() = %q, %q", a, b)
	}
}

func TestHandlerAddsTheIDToEveryLine(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(Handler(slog.NewJSONHandler(&buf, nil))).With("component", "x")
	ctx := NewContext(context.Background(), "req-42")
	log.InfoContext(ctx, "first")
	log.WithGroup("g").ErrorContext(ctx, "second", "k", "v")
	log.Info("no context")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("lines: %q", lines)
	}
	for _, l := range lines[:2] {
		if !strings.Contains(l, `"request_id":"req-42"`) {
			t.Errorf("line lacks the request id: %s", l)
		}
	}
	if strings.Contains(lines[2], "request_id") {
		t.Errorf("line without a request context has an id: %s", lines[2])
	}
}
