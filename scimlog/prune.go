package scimlog

import (
	"context"
	"time"
)

// pruneChunk is how many entries one delete statement removes: small enough that
// SQLite's single writer is never held for long while SCIM requests wait.
const pruneChunk = 1000

// Prune deletes every entry older than the retention period and returns how many it
// deleted.
func (l *Log) Prune(ctx context.Context) (int, error) {
	before := time.Now().Add(-l.opts.Retention)
	total := 0
	for {
		n, err := l.store.PruneSCIMRequests(ctx, before, pruneChunk)
		total += n
		if err != nil || n < pruneChunk {
			return total, err
		}
	}
}

// pruneLoop prunes at start and then every PruneInterval until ctx is done.
func (l *Log) pruneLoop(ctx context.Context) {
	t := time.NewTicker(l.opts.PruneInterval)
	defer t.Stop()
	for {
		n, err := l.Prune(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			l.log.Warn("scim request log: pruning failed", "err", err)
		case n > 0:
			l.log.Debug("scim request log: pruned", "entries", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
