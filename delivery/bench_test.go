package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
	"github.com/oktasync/oktasync/delivery"
	"github.com/oktasync/oktasync/event"
)

// lagReceiver answers 200 at once and records, per delivery, the time from the event
// to its arrival.
type lagReceiver struct {
	mu   sync.Mutex
	seen map[string]bool
	lags []time.Duration
	all  chan struct{}
	want int
}

func (l *lagReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var e event.Event
	json.Unmarshal(body, &e)
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.seen[e.ID] {
		l.seen[e.ID] = true
		l.lags = append(l.lags, time.Since(e.Time))
		if len(l.seen) == l.want {
			close(l.all)
		}
	}
}

// BenchmarkDelivery measures the delivery worker against a local receiver, on each
// backend: "backlog" queues b.N events first (over 1 or 8 tenants) and times sending
// them all; "live" writes b.N users at 200 a second while the worker runs and reports
// the lag from each event's commit to its arrival.
func BenchmarkDelivery(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		for _, mode := range []struct {
			name    string
			tenants int
			live    bool
		}{{"backlog-1-tenant", 1, false}, {"backlog-8-tenants", 8, false}, {"live-8-tenants", 8, true}} {
			b.Run(be.Name+"/"+mode.name, func(b *testing.B) {
				s := be.Open(b)
				ctx := context.Background()
				tenants := []string{"default"}
				for i := 1; i < mode.tenants; i++ {
					id := fmt.Sprintf("t%d", i)
					if _, err := s.CreateTenant(ctx, appstore.Tenant{ID: id}); err != nil {
						b.Fatal(err)
					}
					tenants = append(tenants, id)
				}
				rcv := &lagReceiver{seen: map[string]bool{}, all: make(chan struct{}), want: b.N}
				srv := httptest.NewServer(rcv)
				defer srv.Close()
				addEndpoint(b, s, srv.URL, func(id string) []byte { _, enc := sealedSecret(b, id); return enc })
				o := delivery.Options{Key: testKey, AllowPrivate: true} // the default poll and concurrency, as serve runs it
				write := func(i int) {
					if _, err := s.CreateUser(ctx, appstore.User{TenantID: tenants[i%len(tenants)], UserName: fmt.Sprintf("b%d@example.com", i), Active: true}); err != nil {
						b.Fatal(err)
					}
				}
				if !mode.live {
					for i := 0; i < b.N; i++ {
						write(i)
					}
				}
				b.ResetTimer()
				start := time.Now()
				runCtx, cancel := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() { defer close(done); delivery.New(s, o).Run(runCtx) }()
				if mode.live {
					tick := time.NewTicker(5 * time.Millisecond)
					for i := 0; i < b.N; i++ {
						<-tick.C
						write(i)
					}
					tick.Stop()
				}
				select {
				case <-rcv.all:
				case <-time.After(5 * time.Minute):
					b.Fatal("deliveries did not finish")
				}
				elapsed := time.Since(start)
				b.StopTimer()
				cancel()
				<-done
				rcv.mu.Lock()
				defer rcv.mu.Unlock()
				sort.Slice(rcv.lags, func(i, j int) bool { return rcv.lags[i] < rcv.lags[j] })
				if mode.live {
					b.ReportMetric(float64(rcv.lags[len(rcv.lags)/2].Microseconds())/1000, "lag-p50-ms")
					b.ReportMetric(float64(rcv.lags[len(rcv.lags)*99/100].Microseconds())/1000, "lag-p99-ms")
				} else {
					b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
				}
			})
		}
	}
}
