// Package requestid gives every HTTP request an id: the client's X-Request-Id when it is
// sane, else a new one. The id is sent back in X-Request-Id, carried in the request's
// context, added to every log line written with that context (Handler), and quoted in
// the detail of 500 answers so that support can find the request's log lines.
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
)

// Header is the request and response header carrying the id.
const Header = "X-Request-Id"

// LogKey is the attribute name of the id in log lines.
const LogKey = "request_id"

// MaxLen bounds a client's id; longer ones are replaced.
const MaxLen = 128

type ctxKey struct{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the request id in ctx, or "".
func FromContext(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// Sane reports whether a client's id may be kept: 1 to MaxLen characters of letters,
// digits and - _ . : + = / (a UUID, a trace id, a load balancer's id), nothing that
// could forge a log line or a header.
func Sane(id string) bool {
	if id == "" || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == ':' || c == '+' || c == '=' || c == '/':
		default:
			return false
		}
	}
	return true
}

// New returns a fresh id: 16 random bytes in hex.
func New() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Middleware gives each request its id before next sees it.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(Header)
		if !Sane(id) {
			id = New()
			r.Header.Set(Header, id)
		}
		w.Header().Set(Header, id)
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
	})
}

// Handler wraps a slog.Handler so that every record logged with a context carrying a
// request id gets it as the request_id attribute.
func Handler(h slog.Handler) slog.Handler { return handler{h} }

type handler struct{ slog.Handler }

func (h handler) Handle(ctx context.Context, rec slog.Record) error {
	if id := FromContext(ctx); id != "" {
		rec.AddAttrs(slog.String(LogKey, id))
	}
	return h.Handler.Handle(ctx, rec)
}

func (h handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return handler{h.Handler.WithAttrs(attrs)}
}

func (h handler) WithGroup(name string) slog.Handler { return handler{h.Handler.WithGroup(name)} }
