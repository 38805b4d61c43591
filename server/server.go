// Package server assembles what `oktasync serve` runs: the HTTP handler (SCIM under
// /scim/v2, /healthz, /readyz, /metrics, /admin/v1, the vendor API under /api/v1, and
// the middleware around them) and the background workers (the sync scheduler, the
// mailer, webhook delivery, event pruning).
//
// Adding a part of the server:
//   - an HTTP handler: one line in (*Server).routes, in routes.go, mounting it at its
//     prefix (for example /console/ or /setup/). Handlers reach the management layer
//     through s.Manager; endpoints of the vendor API are added in package api instead
//     (see its package doc), under /api/v1.
//   - a middleware around every request: (*Server).middleware, in routes.go.
//   - a background worker: one entry in (*Server).workers, in workers.go. Workers run
//     on the server's context and must return when it is cancelled; Serve waits for them.
//   - a setting serve takes: its flag name in Settings below (and in package config).
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/config"
	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/metrics"
	"github.com/oktasync/oktasync/oktaclient"
)

// Settings are the settings (config flag names) `oktasync serve` takes.
var Settings = []string{"db", "listen", "public-url", "log-level", "log-format", "smtp-url", "smtp-from", "admin-token", "secret-key",
	"scim-log-retention", "metrics-listen", "metrics-per-tenant", "request-timeout", "event-retention", "webhook-allow-private", "webhook-retry-for", "console-link"}

// Options are what New needs besides the configuration.
type Options struct {
	Version string // the binary's version, shown in metrics
}

// Server is the HTTP server and background workers of `oktasync serve`.
type Server struct {
	// Manager is the management layer every adapter calls.
	Manager *manage.Manager
	Store   appstore.Store
	Config  config.Config
	Log     *slog.Logger
	Metrics *metrics.Metrics

	ctx     context.Context // the server's: runs started through APIs live in it
	mux     *http.ServeMux
	scim    http.Handler // the SCIM endpoint, also reached before the mux (see scimFirst)
	handler http.Handler
	closers []func()
}

// Worker is a background job of the server.
type Worker struct {
	Name string
	// Run works until ctx is cancelled; an error other than ctx's ends only this worker.
	Run func(ctx context.Context) error
}

// New builds the server over an open store. ctx is the server's life: background work
// started by requests (such as sync runs) goes on in it after the request ends.
func New(ctx context.Context, cfg config.Config, store appstore.Store, log *slog.Logger, o Options) *Server {
	key, keyErr := cfg.Key()
	if keyErr != nil {
		key = nil
	}
	met := metrics.New(metrics.Options{Version: o.Version, PerTenant: cfg.MetricsPerTenantOn()})
	met.DB(store.Backend(), appstore.SQLDB(store))
	met.DB(store.Backend()+"_readers", appstore.SQLReaderDB(store))
	met.MailQueue(store.QueuedMail)
	m := manage.New(store, manage.Options{SCIMURL: cfg.SCIMURL(), PublicURL: cfg.BaseURL(), Key: key, KeyErr: keyErr, AdminToken: cfg.AdminToken, WebhookAllowPrivate: cfg.AllowPrivateWebhooks(), BaseCtx: ctx, Log: log})
	sy := m.Syncer()
	sy.OnOktaAttempt = func(a oktaclient.Attempt) { met.OktaAttempt(a.Family, a.Status, a.Remaining) }
	sy.OnRunFinished = func(rec appstore.SyncRun) {
		met.SyncRun(rec.Mode, rec.Status, rec.Processed, rec.Finished.Sub(rec.Started))
	}
	s := &Server{Manager: m, Store: store, Config: cfg, Log: log, Metrics: met, ctx: ctx, mux: http.NewServeMux()}
	s.routes()
	s.handler = s.middleware(s.mux)
	return s
}

// onClose registers fn to run on Close, after the last request.
func (s *Server) onClose(fn func()) { s.closers = append(s.closers, fn) }

// Close stops what New started for the handler (such as the SCIM request log's writer,
// which first writes what it holds). Serve calls it after shutting down; a caller that
// only uses Handler calls it when done.
func (s *Server) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// Handler is the server's whole HTTP handler, middleware included.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve starts the workers and serves HTTP on ln until ctx is cancelled, then shuts
// down gracefully: requests in flight get up to 20 seconds, and the workers stop.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	defer s.Close() // after the shutdown below, so that the last requests are logged
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	metricsSrv, err := s.serveMetrics()
	if err != nil {
		ln.Close()
		return err
	}
	var wg sync.WaitGroup
	for _, w := range s.workers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
				s.Log.Error(w.Name+" stopped", "err", err)
			}
		}()
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.Log.Info("serving", "listen", ln.Addr().String(), "scim_url", s.Config.SCIMURL(), "db", s.Store.Backend())
	select {
	case err := <-errc:
		cancel()
		wg.Wait()
		return err
	case <-ctx.Done():
	}
	s.Log.Info("shutting down")
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer scancel()
	err = srv.Shutdown(sctx)
	if metricsSrv != nil {
		metricsSrv.Shutdown(sctx)
	}
	wg.Wait()
	return err
}

// logRequests logs each request's method, path, status and duration. Query strings
// (which carry userNames in filters) and headers (which carry credentials) are not logged.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &metrics.StatusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		level := slog.LevelDebug
		if sw.Status >= 500 {
			level = slog.LevelError
		}
		log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "status", sw.Status,
			"duration_ms", float64(time.Since(start).Microseconds())/1000, "user_agent", r.UserAgent())
	})
}
