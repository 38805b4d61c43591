package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"time"

	"github.com/oktasync/oktasync/api"
	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/requestid"
	"github.com/oktasync/oktasync/scim"
	"github.com/oktasync/oktasync/scimlog"
	"github.com/oktasync/oktasync/web"
)

// routes mounts every HTTP handler the server answers. Add a new part with one line
// here, at its own prefix.
func (s *Server) routes() {
	s.scim = s.scimHandler()
	s.mux.Handle("/scim/v2/", s.scim)
	s.mux.HandleFunc("/healthz", s.healthz)
	s.mux.Handle("/", web.New(web.Options{Manager: s.Manager, PublicURL: s.Config.BaseURL(), Logger: s.Log}))
	s.mux.Handle("/readyz", readiness(s.Store, s.Log))
	if s.Config.MetricsListen == "" { // else on its own listener, see serveMetrics
		s.mux.Handle("/metrics", s.Metrics.Handler())
	}
	s.mux.Handle(api.Prefix+"/", api.New(s.Manager))
	if s.Config.AdminToken != "" {
		s.mux.Handle("/admin/v1/", s.Manager.Admin())
	} else {
		s.Log.Info("admin API off: set OKTASYNC_ADMIN_TOKEN to enable /admin/v1")
	}
}

// middleware wraps every request, outermost first.
func (s *Server) middleware(h http.Handler) http.Handler {
	return requestid.Middleware(logRequests(s.Log, scimFirst(s.scim, h)))
}

// scimFirst hands every path under /scim/v2/ to the SCIM handler as it came, before the
// mux's path cleaning: Okta configured with a base URL ending in "/" requests
// /scim/v2//Users, which the mux would answer with a bare redirect and no SCIM body.
func scimFirst(scimHandler, rest http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/scim/v2/") {
			scimHandler.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})
}

// serveMetrics mounts /metrics on the main mux, or serves it on OKTASYNC_METRICS_LISTEN
// when that is set, with /debug/pprof/; the separate server, if any, is returned for
// shutdown.
func (s *Server) serveMetrics() (*http.Server, error) {
	if s.Config.MetricsListen == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", s.Config.MetricsListen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (OKTASYNC_METRICS_LISTEN): %w", s.Config.MetricsListen, err)
	}
	mm := http.NewServeMux()
	mm.Handle("/metrics", s.Metrics.Handler())
	// The operator's own port also carries the Go profiler, never the public one.
	mm.HandleFunc("/debug/pprof/", pprof.Index)
	mm.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Handler: mm, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn)}
	go srv.Serve(ln)
	s.Log.Info("serving metrics", "listen", ln.Addr().String())
	return srv, nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// scimHandler is the SCIM endpoint, behind the request log unless its retention is 0.
// Close writes what the log still holds and stops its writer.
func (s *Server) scimHandler() http.Handler {
	met := s.Metrics
	h := http.StripPrefix("/scim/v2", met.SCIM(scim.RouteTemplate, scim.New(s.Store, scim.Options{
		BaseURL: s.Config.SCIMURL(), Logger: s.Log,
		OnAuthenticated: func(ctx context.Context, tenantID, credentialID string) {
			scimlog.Authenticated(ctx, tenantID, credentialID)
			met.Authenticated(ctx, tenantID, credentialID)
		},
		OnAuthFailure:  met.AuthFailure,
		RequestTimeout: s.Config.RequestTimeoutDuration(),
	})))
	retention := s.Config.SCIMLogRetentionDuration()
	if retention == 0 {
		return h
	}
	reqLog := scimlog.New(s.Store, scimlog.Options{Retention: retention, Logger: s.Log})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		reqLog.Run(ctx)
	}()
	s.onClose(func() {
		cancel()
		<-done
	})
	return reqLog.Handler(h)
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
