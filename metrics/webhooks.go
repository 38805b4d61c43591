package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// WebhookOutcomes are the outcomes of a delivery attempt, pre-set to zero.
var WebhookOutcomes = []string{"succeeded", "retry", "failed"}

// Webhooks registers the webhook delivery series — attempts by outcome, the lag from an
// event to its delivery, the queue's depth and the age of its oldest pending delivery
// (both read by backlog at each scrape) — and returns the function the delivery worker
// calls after each attempt (delivery.Options.Observe).
func (m *Metrics) Webhooks(backlog func(ctx context.Context) (int, time.Time, error)) func(outcome string, lag time.Duration) {
	attempts := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oktasync_webhook_deliveries_total",
		Help: "Webhook delivery attempts by outcome: succeeded, retry (failed, to be tried again), failed (given up)."}, []string{"outcome"})
	lag := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "oktasync_webhook_delivery_lag_seconds",
		Help: "Time from an event's commit to its successful delivery.", Buckets: prometheus.ExponentialBuckets(0.01, 3, 12)})
	read := func() (int, time.Time, bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, oldest, err := backlog(ctx)
		return n, oldest, err == nil
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "oktasync_webhook_queue_depth",
		Help: "Webhook deliveries waiting to be sent (pending, retries included)."}, func() float64 {
		n, _, ok := read()
		if !ok {
			return -1
		}
		return float64(n)
	})
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "oktasync_webhook_oldest_pending_seconds",
		Help: "Age of the oldest pending webhook delivery (0 when none)."}, func() float64 {
		_, oldest, ok := read()
		if !ok || oldest.IsZero() {
			return 0
		}
		return time.Since(oldest).Seconds()
	})
	m.reg.MustRegister(attempts, lag, depth, age)
	for _, o := range WebhookOutcomes {
		attempts.WithLabelValues(o)
	}
	return func(outcome string, d time.Duration) {
		attempts.WithLabelValues(outcome).Inc()
		if outcome == "succeeded" {
			lag.Observe(d.Seconds())
		}
	}
}
