package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/oktasync/oktasync/delivery"
	"github.com/oktasync/oktasync/mailer"
	"github.com/oktasync/oktasync/syncer"
)

// workers are the background jobs Serve runs. Add a worker with one entry here.
func (s *Server) workers() []Worker {
	var ws []Worker
	key, keyErr := s.Config.Key()
	if keyErr == nil {
		sched := &syncer.Scheduler{Syncer: s.Manager.Syncer(), Log: s.Log}
		ws = append(ws, Worker{Name: "sync scheduler", Run: sched.Run})
	} else {
		key = nil
		// The server still serves SCIM; syncs fail with a message naming the setting.
		// That is only worth a warning when some tenant is connected to Okta already.
		level := slog.LevelInfo
		if conns, lerr := s.Store.ListOktaConnections(s.ctx); lerr == nil && len(conns) > 0 {
			level = slog.LevelWarn
		}
		s.Log.Log(s.ctx, level, "sync with Okta is off until OKTASYNC_SECRET_KEY is set", "reason", keyErr.Error())
		if hooks, err := s.Store.ListWebhooks(s.ctx); err == nil && len(hooks) > 0 {
			s.Log.Warn("webhook deliveries cannot be signed without OKTASYNC_SECRET_KEY: they stay queued until it is set", "endpoints", len(hooks))
		}
	}
	if s.Config.SMTPURL != "" {
		m := mailer.New(s.Store, mailer.Options{SMTPURL: s.Config.SMTPURL, From: s.Config.SMTPFrom, Logger: s.Log, OnAttempt: s.Metrics.MailAttempt})
		ws = append(ws, Worker{Name: "mailer", Run: m.Run})
	}
	d := delivery.New(s.Store, delivery.Options{Key: key, AllowPrivate: s.Config.AllowPrivateWebhooks(), RetryFor: s.Config.WebhookRetryDuration(), Logger: s.Log,
		Observe: s.Metrics.Webhooks(s.Store.DeliveryBacklog)})
	ws = append(ws, Worker{Name: "webhook delivery", Run: d.Run})
	if retention := s.Config.EventRetentionDuration(); retention > 0 {
		ws = append(ws, Worker{Name: "event pruning", Run: func(ctx context.Context) error { return s.pruneEvents(ctx, retention) }})
	}
	return ws
}

// pruneEvents deletes, every hour, events older than the retention.
func (s *Server) pruneEvents(ctx context.Context, retention time.Duration) error {
	for {
		if n, err := s.Store.PruneEvents(ctx, time.Now().Add(-retention)); err != nil && ctx.Err() == nil {
			s.Log.Warn("pruning events", "err", err)
		} else if n > 0 {
			s.Log.Info("pruned events", "count", n, "retention", retention.String())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Hour):
		}
	}
}
