// Package scimlog keeps the SCIM request log: every request to /scim/v2 with its status,
// timing, client, error and redacted, capped bodies, so that an app's support team can
// see what an identity provider sent. A middleware captures each exchange and hands it
// to a bounded in-memory queue; one goroutine redacts the queued entries and inserts
// them in batches, and another prunes entries older than the retention period. Neither
// the queue nor the database is ever on the request's critical path: a full queue or a
// failed insert drops entries (counted, and logged at warn at most once a minute) and
// never fails or delays the request.
package scimlog

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oktasync/oktasync/appstore"
)

// Defaults for zero Options fields.
const (
	DefaultRetention     = 7 * 24 * time.Hour
	DefaultQueueSize     = 4096
	DefaultBatchSize     = 1000
	DefaultFlushInterval = 200 * time.Millisecond
	DefaultMaxBodyBytes  = 64 << 10
)

// Options configures a Log. Zero values take the documented defaults.
type Options struct {
	// Retention is how long entries are kept; default DefaultRetention.
	Retention time.Duration
	// QueueSize bounds the entries waiting to be written; default DefaultQueueSize.
	QueueSize int
	// BatchSize bounds the entries of one insert; default DefaultBatchSize.
	BatchSize int
	// FlushInterval is the longest an entry waits for its batch to fill before it is
	// written; default DefaultFlushInterval.
	FlushInterval time.Duration
	// MaxBodyBytes caps each stored body, after redaction; default DefaultMaxBodyBytes.
	MaxBodyBytes int
	// PruneInterval is the time between pruning passes; default an hour, or a tenth of
	// Retention when that is shorter (but at least a minute).
	PruneInterval time.Duration
	// Logger receives dropped-entry warnings and pruning failures; nil discards them.
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.PruneInterval <= 0 {
		o.PruneInterval = min(time.Hour, max(o.Retention/10, time.Minute))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// warnEvery is the least time between two warnings about dropped entries.
const warnEvery = time.Minute

// writeTimeout bounds one batch insert, so that a hung database drops a batch instead
// of letting the queue fill behind it for good.
const writeTimeout = 10 * time.Second

// Log is the SCIM request log: Handler captures, Run writes and prunes.
type Log struct {
	store appstore.SCIMLogStore
	opts  Options
	log   *slog.Logger

	queue   chan *entry
	flushes chan chan struct{}

	dropped  atomic.Int64
	lastWarn atomic.Int64 // unix nanoseconds of the last dropped-entry warning
}

// New returns a Log writing into store. Call Run to write and prune.
func New(store appstore.SCIMLogStore, opts Options) *Log {
	opts.setDefaults()
	return &Log{store: store, opts: opts, log: opts.Logger,
		queue: make(chan *entry, opts.QueueSize), flushes: make(chan chan struct{})}
}

// Dropped is how many entries were lost so far, to a full queue or a failed insert.
func (l *Log) Dropped() int64 { return l.dropped.Load() }

// enqueue hands e to the writer without ever blocking.
func (l *Log) enqueue(e *entry) {
	select {
	case l.queue <- e:
	default:
		l.drop(1, "queue full", nil)
	}
}

// drop counts n lost entries and warns, at most once per warnEvery.
func (l *Log) drop(n int, why string, err error) {
	total := l.dropped.Add(int64(n))
	now := time.Now().UnixNano()
	last := l.lastWarn.Load()
	if now-last < int64(warnEvery) || !l.lastWarn.CompareAndSwap(last, now) {
		return
	}
	args := []any{"reason", why, "dropped", n, "dropped_total", total}
	if err != nil {
		args = append(args, "err", err)
	}
	l.log.Warn("scim request log: entries dropped", args...)
}

// Run writes queued entries in batches and prunes old ones until ctx is done; then it
// writes what is still queued (for at most writeTimeout) and returns.
func (l *Log) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		l.pruneLoop(ctx)
	}()
	defer wg.Wait()
	batch := make([]*entry, 0, l.opts.BatchSize)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	wctx := context.WithoutCancel(ctx)
	for {
		select {
		case e := <-l.queue:
			// Collect for up to FlushInterval, or until the batch is full: fewer, larger
			// transactions cost the database far less than one per request.
			batch = append(batch[:0], e)
			linger.Reset(l.opts.FlushInterval)
		collect:
			for len(batch) < l.opts.BatchSize {
				select {
				case e := <-l.queue:
					batch = append(batch, e)
				case <-linger.C:
					break collect
				case done := <-l.flushes:
					l.write(wctx, batch)
					l.drain(wctx, batch)
					close(done)
					batch = batch[:0]
					break collect
				case <-ctx.Done():
					l.write(wctx, batch)
					l.drain(wctx, batch)
					return nil
				}
			}
			linger.Stop()
			l.write(wctx, batch)
		case done := <-l.flushes:
			l.drain(wctx, batch)
			close(done)
		case <-ctx.Done():
			l.drain(wctx, batch)
			return nil
		}
	}
}

// fill adds queued entries to batch without waiting, up to the batch size.
func (l *Log) fill(batch []*entry) []*entry {
	for len(batch) < l.opts.BatchSize {
		select {
		case e := <-l.queue:
			batch = append(batch, e)
		default:
			return batch
		}
	}
	return batch
}

// drain writes everything queued now.
func (l *Log) drain(ctx context.Context, batch []*entry) {
	for {
		batch = l.fill(batch[:0])
		if len(batch) == 0 {
			return
		}
		l.write(ctx, batch)
	}
}

// Flush waits until every entry queued before the call is written or dropped. Run must
// be running.
func (l *Log) Flush(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case l.flushes <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// write redacts and inserts one batch.
func (l *Log) write(ctx context.Context, batch []*entry) {
	reqs := make([]appstore.SCIMRequest, len(batch))
	for i, e := range batch {
		reqs[i] = e.record(l.opts.MaxBodyBytes)
	}
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	if err := l.store.AppendSCIMRequests(ctx, reqs); err != nil {
		l.drop(len(batch), "write failed", err)
	}
}
