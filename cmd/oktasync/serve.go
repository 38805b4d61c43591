package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/config"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/mailer"
	"github.com/oktasync/oktasync/metrics"
	"github.com/oktasync/oktasync/requestid"
	"github.com/oktasync/oktasync/scim"
	"github.com/oktasync/oktasync/scimlog"
)

func runServe(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "serve", "[flags]", append([]string{"db", "listen", "public-url", "log-level", "log-format", "smtp-url", "smtp-from", "admin-token", "secret-key", "scim-log-retention", "metrics-listen", "metrics-per-tenant", "request-timeout"}, eventSettings...)...)
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, ""); err != nil {
		return err
	}
	cfg, err := f.config()
	if err != nil {
		return err
	}
	// Every line logged with a request's context carries its id.
	log := slog.New(requestid.Handler(cfg.Logger(e.stderr).Handler()))
	store, err := appstore.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	met := metrics.New(metrics.Options{Version: version, PerTenant: cfg.MetricsPerTenantOn()})
	met.DB(store.Backend(), appstore.SQLDB(store))
	met.MailQueue(store.QueuedMail)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (OKTASYNC_LISTEN): %w", cfg.Listen, err)
	}
	if err := bootstrap(ctx, e, cfg, store); err != nil {
		ln.Close()
		return err
	}

	var wg sync.WaitGroup
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	mux := http.NewServeMux()
	scimHandler, stopSCIMLog := newSCIMHandler(cfg, store, log, met)
	defer stopSCIMLog() // after the server's shutdown below, so that its last requests are written
	mux.Handle("/scim/v2/", scimHandler)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("/readyz", readiness(store, log))
	if err := setupSync(runCtx, &wg, cfg, store, log, mux, met); err != nil {
		ln.Close()
		return err
	}
	metricsSrv, err := serveMetrics(cfg, mux, met, log)
	if err != nil {
		ln.Close()
		return err
	}
	startEvents(runCtx, &wg, cfg, store, log, met)
	if cfg.SMTPURL != "" {
		m := mailer.New(store, mailer.Options{SMTPURL: cfg.SMTPURL, From: cfg.SMTPFrom, Logger: log, OnAttempt: met.MailAttempt})
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("mailer stopped", "err", err)
			}
		}()
	}

	srv := &http.Server{
		Handler:           requestid.Middleware(logRequests(log, mux)),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("serving", "listen", ln.Addr().String(), "scim_url", cfg.SCIMURL(), "db", store.Backend())

	select {
	case err := <-errc:
		cancel()
		wg.Wait()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
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

// serveMetrics mounts /metrics on the main mux, or serves it on OKTASYNC_METRICS_LISTEN
// when that is set, with /debug/pprof/; the separate server, if any, is returned for
// shutdown.
func serveMetrics(cfg config.Config, mux *http.ServeMux, met *metrics.Metrics, log *slog.Logger) (*http.Server, error) {
	if cfg.MetricsListen == "" {
		mux.Handle("/metrics", met.Handler())
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsListen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (OKTASYNC_METRICS_LISTEN): %w", cfg.MetricsListen, err)
	}
	mm := http.NewServeMux()
	mm.Handle("/metrics", met.Handler())
	// The operator's own port also carries the Go profiler, never the public one.
	mm.HandleFunc("/debug/pprof/", pprof.Index)
	mm.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Handler: mm, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go srv.Serve(ln)
	log.Info("serving metrics", "listen", ln.Addr().String())
	return srv, nil
}

// newSCIMHandler is the SCIM endpoint, behind the request log unless its retention is 0.
// stop writes what the log still holds and stops its writer.
func newSCIMHandler(cfg config.Config, store appstore.Store, log *slog.Logger, met *metrics.Metrics) (h http.Handler, stop func()) {
	h = http.StripPrefix("/scim/v2", met.SCIM(scim.RouteTemplate, scim.New(store, scim.Options{
		BaseURL: cfg.SCIMURL(), Logger: log,
		OnAuthenticated: func(ctx context.Context, tenantID, credentialID string) {
			scimlog.Authenticated(ctx, tenantID, credentialID)
			met.Authenticated(ctx, tenantID, credentialID)
		},
		OnAuthFailure:  met.AuthFailure,
		RequestTimeout: cfg.RequestTimeoutDuration(),
	})))
	retention := cfg.SCIMLogRetentionDuration()
	if retention == 0 {
		return h, func() {}
	}
	reqLog := scimlog.New(store, scimlog.Options{Retention: retention, Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		reqLog.Run(ctx)
	}()
	return reqLog.Handler(h), func() {
		cancel()
		<-done
	}
}

// bootstrap makes a fresh install usable in one step: when the default tenant has no
// token yet, it enables provisioning, generates a token and prints the Target SCIM URL
// and the token (once) for the admin to paste into Okta.
func bootstrap(ctx context.Context, e *env, cfg config.Config, store appstore.Store) error {
	ctx = appstore.WithActor(ctx, appstore.Actor{Kind: "system", ID: "first-start"})
	creds, err := store.ListCredentials(ctx, appstore.DefaultTenant)
	if err != nil {
		return err
	}
	for _, c := range creds {
		if c.Kind == appstore.CredentialBearer {
			return nil
		}
	}
	if _, err := store.UpdateTenant(ctx, appstore.DefaultTenant, func(t *appstore.Tenant) error {
		t.ProvisioningEnabled = true
		return nil
	}); err != nil {
		return err
	}
	_, secret, err := store.CreateToken(ctx, appstore.DefaultTenant)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, `
oktasync is ready for Okta. In your Okta app's Provisioning > Integration settings use:

  SCIM connector base URL:  %s
  Unique identifier field:  userName
  Authentication mode:      HTTP Header (Bearer)
  API token:                %s

The token is shown only now. Manage tokens with 'oktasync token list|create|renew'.

`, cfg.SCIMURL(), secret)
	return nil
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

// readiness answers /readyz: 200 "ok" while the store is ready (database reachable,
// schema present and current, SQLite file still in place), 503 with the reason
// otherwise. A change of state is logged once, not at every probe.
func readiness(store appstore.Store, log *slog.Logger) http.Handler {
	var mu sync.Mutex
	last := ""
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		reason := ""
		if err := store.Ready(ctx); err != nil {
			reason = errkind.Message(err)
			if reason == "" {
				reason = "database unreachable"
			}
		}
		mu.Lock()
		if reason != last {
			if reason != "" {
				log.Warn("not ready", "reason", reason)
			} else {
				log.Info("ready again")
			}
			last = reason
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if reason != "" {
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready: "+reason)
			return
		}
		fmt.Fprintln(w, "ok")
	})
}
