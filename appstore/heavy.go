package appstore

import (
	"context"
	"sync"

	"github.com/oktasync/oktasync/scimfilter"
)

// heavyGate bounds how many costly listings (anything but a single equality on an
// indexed column) run at once, overall and per tenant. Without it a storm of costly
// filters from one tenant takes every connection (on SQLite, every reader) and every
// other request, the existence checks Okta sends before each create included, queues
// behind it. Cheap look-ups never pass the gate. Waiting honours the request's deadline.
type heavyGate struct {
	all       chan struct{}
	perTenant int
	mu        sync.Mutex
	tenants   map[string]chan struct{}
}

func newHeavyGate(all, perTenant int) *heavyGate {
	return &heavyGate{all: make(chan struct{}, all), perTenant: max(1, perTenant), tenants: map[string]chan struct{}{}}
}

// enter waits for a slot of tenant's and one of the whole store's, in that order, so
// that a tenant queueing behind its own slot holds none of the others'.
func (g *heavyGate) enter(ctx context.Context, tenant string) (release func(), err error) {
	g.mu.Lock()
	own := g.tenants[tenant]
	if own == nil {
		own = make(chan struct{}, g.perTenant)
		g.tenants[tenant] = own
	}
	g.mu.Unlock()
	select {
	case own <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case g.all <- struct{}{}:
	case <-ctx.Done():
		<-own
		return nil, ctx.Err()
	}
	return func() { <-g.all; <-own }, nil
}

// heavy reports whether a listing with filter f (of cost cost) must pass the gate: all
// but a single eq comparison on a column, which an index answers.
func heavy(f scimfilter.Expr, cost int) bool {
	c, ok := f.(*scimfilter.Compare)
	return !ok || c.Op != "eq" || cost > costCompare
}
