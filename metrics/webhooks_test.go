package metrics

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestWebhookSeries(t *testing.T) {
	m := New(Options{})
	observe := m.Webhooks(func(context.Context) (int, time.Time, error) { return 3, time.Now().Add(-time.Minute), nil })
	observe("succeeded", 200*time.Millisecond)
	observe("retry", 0)
	got := page(t, m)
	for _, want := range []string{
		`oktasync_webhook_deliveries_total{outcome="succeeded"} 1`,
		`oktasync_webhook_deliveries_total{outcome="retry"} 1`,
		`oktasync_webhook_deliveries_total{outcome="failed"} 0`,
		`oktasync_webhook_delivery_lag_seconds_count 1`,
		`oktasync_webhook_queue_depth 3`,
		`oktasync_webhook_oldest_pending_seconds 60`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("metrics page lacks %q", want)
		}
	}
}
