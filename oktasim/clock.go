package oktasim

import (
	"context"
	"sync"
	"time"
)

// ManualClock is a Clock and Sleeper whose time moves only when told to:
// by Advance or Set, or by Sleep, which moves it forward by the duration
// asked for and returns at once. Give it to WithClock to run time-driven
// behaviour (rate-limit windows, push retry waits) without real waiting.
type ManualClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

// NewManualClock returns a ManualClock reading start.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{t: start} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Sleep advances the clock by d, records d and returns, unless ctx is
// already done.
func (c *ManualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.t = c.t.Add(d)
	}
	c.slept = append(c.slept, d)
	return nil
}

// Slept returns the durations passed to Sleep so far.
func (c *ManualClock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}
