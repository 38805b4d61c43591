package syncer

import (
	"context"
	"errors"
	"time"

	"github.com/oktasync/oktasync/errkind"
)

// Clock is the worker's time source: the scheduler waits on it and retries back off on
// it, so tests drive time by hand instead of sleeping.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

// WallClock is the real clock.
type WallClock struct{}

// Now returns the current time.
func (WallClock) Now() time.Time { return time.Now() }

// After is time.After.
func (WallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

func (s *Syncer) after(d time.Duration) <-chan time.Time {
	if s.Clock == nil {
		return time.After(d)
	}
	return s.Clock.After(d)
}

// maxAttempts bounds the attempts of one Okta call by the worker, on top of the
// client's own retries: a rate-limit storm longer than the client's patience is waited
// out here rather than failing the user at the first RateLimited error.
const maxAttempts = 5

// retry runs an idempotent Okta call, waiting and trying again while it fails with
// RateLimited (until the reset Okta named) or Transient (doubling from one second).
func (r *Run) retry(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt >= maxAttempts || ctx.Err() != nil {
			return err
		}
		var wait time.Duration
		switch errkind.Of(err) {
		case errkind.RateLimited:
			wait = 5 * time.Second
			var ke *errkind.Error
			if errors.As(err, &ke) && !ke.RetryAfter.IsZero() {
				wait = ke.RetryAfter.Sub(r.s.now())
			}
			wait = max(wait, 100*time.Millisecond)
		case errkind.Transient:
			wait = time.Second << (attempt - 1)
		default:
			return err
		}
		r.mu.Lock()
		r.rec.Counts["retry"]++
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return err
		case <-r.s.after(wait):
		}
	}
}
