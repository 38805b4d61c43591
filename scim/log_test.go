package scim

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/oktasync/oktasync/appstore/storetest"
)

// lockedBuffer is a log destination safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The documented 501 of /Bulk and /Me is an answer, not a server failure: it is not
// logged at ERROR, while a real failure still is.
func TestNotImplementedIsNotAnError(t *testing.T) {
	var out lockedBuffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	e := newEnvOn(t, busyStore{storetest.SQLite.Open(t)}, func(o *Options) { o.Logger = log })
	checkError(t, e.do("POST", "/Bulk", `{}`), http.StatusNotImplemented, "")
	checkError(t, e.do("GET", "/Me", ""), http.StatusNotImplemented, "")
	if strings.Contains(out.String(), "level=ERROR") {
		t.Fatalf("501 logged as an error:\n%s", out.String())
	}
	checkError(t, e.do("POST", "/Users", `{"userName":"busy@example.com"}`), http.StatusServiceUnavailable, "")
	if !strings.Contains(out.String(), "level=ERROR") {
		t.Fatalf("a 503 was not logged at ERROR:\n%s", out.String())
	}
}
