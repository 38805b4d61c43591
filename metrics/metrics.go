// Package metrics is oktasync's Prometheus instrumentation: the series /metrics serves
// and the hooks that feed them. Lower packages never import it: they expose hooks
// (scim.Options.OnAuthFailure, oktaclient.Config.Observe, syncer.Syncer.OnRunFinished,
// mailer.Options.OnAttempt) that the server connects to the methods here, which take
// plain values. No tenant, user or token is a label unless per-tenant counting is on.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configures the metrics.
type Options struct {
	// Version is reported by oktasync_build_info.
	Version string
	// PerTenant adds oktasync_scim_tenant_requests_total{tenant}.
	PerTenant bool
}

// Metrics holds the registry and every series oktasync exports.
type Metrics struct {
	reg       *prometheus.Registry
	perTenant bool

	scimRequests  *prometheus.CounterVec
	scimDuration  *prometheus.HistogramVec
	tenantReqs    *prometheus.CounterVec
	authFailures  *prometheus.CounterVec
	oktaRequests  *prometheus.CounterVec
	oktaLimited   *prometheus.CounterVec
	oktaRemaining *prometheus.GaugeVec
	syncRuns      *prometheus.CounterVec
	syncUsers     *prometheus.CounterVec
	syncDuration  *prometheus.HistogramVec
	mailSent      prometheus.Counter
	mailFailures  prometheus.Counter
	mailGivenUp   prometheus.Counter
}

// latencyBuckets cover a cached lookup (well under a millisecond) to a slow write.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// AuthFailureReasons are pre-set to zero so that dashboards see every reason.
var AuthFailureReasons = []string{"missing", "unsupported_scheme", "malformed", "invalid_credentials", "inactive_credential", "tenant_disabled"}

// New registers oktasync's series, the Go runtime and process collectors and the build
// info on a registry of its own.
func New(opts Options) *Metrics {
	reg := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{reg: reg, perTenant: opts.PerTenant}
	m.scimRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oktasync_scim_requests_total",
		Help: "SCIM requests by route template, method and status code."}, []string{"route", "method", "code"})
	m.scimDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "oktasync_scim_request_duration_seconds",
		Help: "Time to answer a SCIM request, by route template and method.", Buckets: latencyBuckets}, []string{"route", "method"})
	m.authFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oktasync_scim_auth_failures_total",
		Help: "Refused SCIM authentications by reason."}, []string{"reason"})
	m.oktaRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oktasync_okta_requests_total",
		Help: "HTTP attempts to the Okta API (retries included) by endpoint family and status code (\"none\" when no answer came)."}, []string{"family", "code"})
	m.oktaLimited = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oktasync_okta_rate_limited_total",
		Help: "Okta API answers with status 429, by endpoint family."}, []string{"family"})
	m.oktaRemaining = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "oktasync_okta_rate_limit_remaining",
		Help: "The last X-Rate-Limit-Remaining Okta sent, by endpoint family."}, []string{"family"})
	m.syncRuns = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oktasync_sync_runs_total",
		Help: "Finished sync runs by mode (incremental, full) and outcome (succeeded, partial, failed, interrupted)."}, []string{"mode", "outcome"})
	m.syncUsers = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oktasync_sync_users_processed_total",
		Help: "Users processed by sync runs, by mode."}, []string{"mode"})
	m.syncDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "oktasync_sync_run_duration_seconds",
		Help: "Duration of finished sync runs, by mode.", Buckets: prometheus.ExponentialBuckets(0.1, 3, 10)}, []string{"mode"})
	m.mailSent = prometheus.NewCounter(prometheus.CounterOpts{Name: "oktasync_mail_sent_total", Help: "Invitation mails delivered."})
	m.mailFailures = prometheus.NewCounter(prometheus.CounterOpts{Name: "oktasync_mail_send_failures_total", Help: "Failed invitation mail delivery attempts."})
	m.mailGivenUp = prometheus.NewCounter(prometheus.CounterOpts{Name: "oktasync_mail_given_up_total", Help: "Invitation mails abandoned after their last attempt."})
	for _, c := range []prometheus.Collector{m.scimRequests, m.scimDuration, m.authFailures, m.oktaRequests, m.oktaLimited,
		m.oktaRemaining, m.syncRuns, m.syncUsers, m.syncDuration, m.mailSent, m.mailFailures, m.mailGivenUp} {
		f(c)
	}
	if opts.PerTenant {
		m.tenantReqs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oktasync_scim_tenant_requests_total",
			Help: "Authenticated SCIM requests by tenant."}, []string{"tenant"})
		f(m.tenantReqs)
	}
	for _, r := range AuthFailureReasons {
		m.authFailures.WithLabelValues(r)
	}
	version := opts.Version
	if version == "" {
		version = "dev"
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{Name: "oktasync_build_info", Help: "Always 1; the labels say which build runs.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()}})
	info.Set(1)
	f(info)
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f(collectors.NewBuildInfoCollector())
	return m
}

// Registry is where the series live, for collectors of other parts.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// SCIM wraps the SCIM handler, counting and timing each request under the route
// template route gives for its path (the path below the SCIM base).
func (m *Metrics) SCIM(route func(path string) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &StatusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.Status == 0 {
			sw.Status = http.StatusOK
		}
		rt, method := route(r.URL.Path), methodLabel(r.Method)
		m.scimRequests.WithLabelValues(rt, method, strconv.Itoa(sw.Status)).Inc()
		m.scimDuration.WithLabelValues(rt, method).Observe(time.Since(start).Seconds())
	})
}

// methodLabel keeps the method label to the methods SCIM serves.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead, http.MethodOptions:
		return m
	}
	return "other"
}

// Authenticated counts an authenticated SCIM request of a tenant (when per-tenant
// counting is on); it has scim.Options.OnAuthenticated's shape.
func (m *Metrics) Authenticated(_ context.Context, tenantID, _ string) {
	if m.tenantReqs != nil {
		m.tenantReqs.WithLabelValues(tenantID).Inc()
	}
}

// AuthFailure counts a refused authentication; it has scim.Options.OnAuthFailure's shape.
func (m *Metrics) AuthFailure(_ context.Context, reason string) {
	m.authFailures.WithLabelValues(reason).Inc()
}

// OktaAttempt records one HTTP attempt to Okta: status 0 means no answer, remaining
// below 0 that the answer had no X-Rate-Limit-Remaining.
func (m *Metrics) OktaAttempt(family string, status, remaining int) {
	code := "none"
	if status > 0 {
		code = strconv.Itoa(status)
	}
	m.oktaRequests.WithLabelValues(family, code).Inc()
	if status == http.StatusTooManyRequests {
		m.oktaLimited.WithLabelValues(family).Inc()
	}
	if remaining >= 0 {
		m.oktaRemaining.WithLabelValues(family).Set(float64(remaining))
	}
}

// SyncRun records a finished sync run.
func (m *Metrics) SyncRun(mode, outcome string, processed int64, d time.Duration) {
	m.syncRuns.WithLabelValues(mode, outcome).Inc()
	m.syncUsers.WithLabelValues(mode).Add(float64(processed))
	m.syncDuration.WithLabelValues(mode).Observe(d.Seconds())
}

// MailAttempt records a delivery attempt; it has mailer.Options.OnAttempt's shape.
func (m *Metrics) MailAttempt(err error, gaveUp bool) {
	switch {
	case err == nil:
		m.mailSent.Inc()
	default:
		m.mailFailures.Inc()
	}
	if gaveUp {
		m.mailGivenUp.Inc()
	}
}

// MailQueue exports the mail queue's depth, read by depth at each scrape.
func (m *Metrics) MailQueue(depth func(ctx context.Context) (int, error)) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "oktasync_mail_queue_depth",
		Help: "Invitation mails waiting for delivery (neither sent nor given up)."}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := depth(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))
}

// DB exports a connection pool's statistics (go_sql_* series) under db_name name.
func (m *Metrics) DB(name string, db *sql.DB) {
	if db != nil {
		m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
	}
}

// StatusWriter records the status code a handler wrote (0 until it writes); the access
// log uses it too.
type StatusWriter struct {
	http.ResponseWriter
	Status int
}

// WriteHeader records the first status written.
func (w *StatusWriter) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records 200 when no status was written before.
func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
