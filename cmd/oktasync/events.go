package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/config"
	"github.com/oktasync/oktasync/delivery"
	"github.com/oktasync/oktasync/metrics"
)

// eventSettings are the settings serve takes for the change feed and webhooks.
var eventSettings = []string{"event-retention", "webhook-allow-private", "webhook-retry-for"}

// startEvents runs, until ctx ends, the webhook delivery worker and the pruning of
// events older than the retention.
func startEvents(ctx context.Context, wg *sync.WaitGroup, cfg config.Config, store appstore.Store, log *slog.Logger, met *metrics.Metrics) {
	key, keyErr := cfg.Key()
	if keyErr != nil {
		key = nil
		if hooks, err := store.ListWebhooks(ctx); err == nil && len(hooks) > 0 {
			log.Warn("webhook deliveries cannot be signed without OKTASYNC_SECRET_KEY: they stay queued until it is set", "endpoints", len(hooks))
		}
	}
	w := delivery.New(store, delivery.Options{Key: key, AllowPrivate: cfg.AllowPrivateWebhooks(), RetryFor: cfg.WebhookRetryDuration(), Logger: log,
		Observe: met.Webhooks(store.DeliveryBacklog)})
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := w.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("webhook delivery stopped", "err", err)
		}
	}()
	retention := cfg.EventRetentionDuration()
	if retention == 0 {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if n, err := store.PruneEvents(ctx, time.Now().Add(-retention)); err != nil && ctx.Err() == nil {
				log.Warn("pruning events", "err", err)
			} else if n > 0 {
				log.Info("pruned events", "count", n, "retention", retention.String())
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Hour):
			}
		}
	}()
}
