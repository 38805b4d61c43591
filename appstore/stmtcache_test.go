package appstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/appstore/storetest"
)

// TestFirstStatementsUnderConcurrentWrites: a fresh store's first reads (which prepare
// and cache their statements) running alongside writes (whose transactions use cached
// statements) all finish. On SQLite's single connection, preparing while holding the
// cache's lock would wait for the connection a transaction holds while that transaction
// waits for the lock.
func TestFirstStatementsUnderConcurrentWrites(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			for round := range 10 {
				st := b.Open(t)
				ctx := appstore.WithActor(context.Background(), appstore.Actor{Kind: "test"})
				done := make(chan struct{})
				go func() {
					defer close(done)
					var wg sync.WaitGroup
					for g := range 8 {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for i := range 5 {
								u, err := st.CreateUser(ctx, appstore.User{TenantID: appstore.DefaultTenant, UserName: fmt.Sprintf("r%d-g%d-%d@example.com", round, g, i), Active: true})
								if err != nil {
									t.Error(err)
									return
								}
								if _, err := st.UserGroups(ctx, appstore.DefaultTenant, []string{u.ID}); err != nil {
									t.Error(err)
								}
								if _, err := st.GetUserByUserName(ctx, appstore.DefaultTenant, u.UserName); err != nil {
									t.Error(err)
								}
							}
						}()
					}
					wg.Wait()
				}()
				select {
				case <-done:
				case <-time.After(60 * time.Second):
					// A deadlocked store cannot be closed: stop here, with every goroutine's stack.
					panic(fmt.Sprintf("round %d: concurrent first reads and writes did not finish (deadlock)", round))
				}
				st.Close()
			}
		})
	}
}
