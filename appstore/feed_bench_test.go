package appstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
)

// BenchmarkConcurrentCreates is the store's part of a SCIM create (CreateUser: the
// user, its audit row and its event, numbered at commit) from 16 writers at once, on
// each backend. It is what the single-row event counter serialises: the tail of every
// writing transaction, its commit included. Reported: creates per second.
func BenchmarkConcurrentCreates(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			s := be.Open(b)
			ctx := appstore.WithActor(context.Background(), appstore.Actor{Kind: "scim", ID: "bench"})
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < 16; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						if _, err := s.CreateUser(ctx, appstore.User{TenantID: "default", UserName: fmt.Sprintf("c%d@example.com", i), Active: true,
							Attrs: map[string]any{"name": map[string]any{"givenName": "C", "familyName": "D"}}}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
		})
	}
}
