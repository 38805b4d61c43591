package scimlog

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore/storetest"
)

// lookupResponse is the size and shape of the answer to Okta's existence check.
var lookupResponse = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"startIndex":1,"itemsPerPage":1,"Resources":[{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"8d0f7a3e-2b1c-4f5e-9a6b-1c2d3e4f5a6b","userName":"seed01234@example.com","name":{"givenName":"Seed","familyName":"1234"},"emails":[{"value":"seed01234@example.com","primary":true,"type":"work"}],"active":true,"groups":[],"meta":{"resourceType":"User","created":"2026-12-01T09:00:00Z","lastModified":"2026-12-01T09:00:00Z","location":"http://127.0.0.1:8080/scim/v2/Users/8d0f7a3e-2b1c-4f5e-9a6b-1c2d3e4f5a6b","version":"W/\"1\""}}]}`

// BenchmarkCapture is the middleware's cost on the request path: capturing one
// existence check's exchange and queueing it (the queue is drained by a writer that
// drops everything, so that only the capture is measured).
func BenchmarkCapture(b *testing.B) {
	l := New(nil, Options{QueueSize: 1 << 16})
	h := l.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Authenticated(r.Context(), "default", "cred")
		w.Header().Set("Content-Type", "application/scim+json")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(lookupResponse))
	}))
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-l.queue:
			case <-done:
				return
			}
		}
	}()
	defer close(done)
	req := httptest.NewRequest("GET", `/scim/v2/Users?filter=userName%20eq%20%22SEED01234%40EXAMPLE.COM%22&startIndex=1&count=100`, nil)
	req.Header.Set("User-Agent", "Okta SCIM Client 1.0.0")
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// BenchmarkWrite is the writer's cost per entry, off the request path: redacting and
// inserting batches of DefaultBatchSize existence-check entries, on every backend.
func BenchmarkWrite(b *testing.B) {
	for _, backend := range storetest.Backends(b) {
		b.Run(backend.Name, func(b *testing.B) {
			st := backend.Open(b)
			l := New(st, Options{})
			batch := make([]*entry, DefaultBatchSize)
			for i := range batch {
				batch[i] = &entry{start: time.Now(), duration: time.Millisecond, method: "GET", path: "/scim/v2/Users",
					rawQuery: `filter=userName%20eq%20%22SEED01234%40EXAMPLE.COM%22&startIndex=1&count=100`, userAgent: "Okta SCIM Client 1.0.0",
					requestID: strings.Repeat("a", 32), status: 200, tenantID: "default", credentialID: "8d0f7a3e-2b1c-4f5e-9a6b-1c2d3e4f5a6b",
					respBody: []byte(lookupResponse)}
			}
			cpu0 := cpuTime()
			b.ResetTimer()
			for range b.N {
				l.write(context.Background(), batch)
			}
			b.StopTimer()
			// This process's CPU time (on SQLite, the database's too): steadier than the
			// wall clock on a shared machine.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N*len(batch)), "cpu-µs/entry")
			if l.Dropped() > 0 {
				b.Fatalf("%d entries dropped", l.Dropped())
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(batch)), "µs/entry")
		})
	}
}

// cpuTime is the user and system CPU time the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
