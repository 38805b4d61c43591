package syncer

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/requestid"
)

// Admin serves the sync part of the admin API, under /admin/v1:
//
//	POST /admin/v1/tenants/{tenant}/sync?full=true&dryRun=true   start a run → 202 RunJSON
//	GET  /admin/v1/tenants/{tenant}/sync                         recent runs → {"runs":[RunJSON...]}
//	GET  /admin/v1/tenants/{tenant}/sync/{run}                   one run, with its errors (and,
//	                                                             while this process remembers it,
//	                                                             its plan)
//
// Every request needs "Authorization: Bearer <OKTASYNC_ADMIN_TOKEN>"; anything else is
// 401. Runs started here go on after the request, on the server's context.
type Admin struct {
	Syncer *Syncer
	// Token is the admin bearer token; an empty token refuses every request.
	Token string
	// BaseCtx is the context runs started through the API live in (the server's).
	BaseCtx context.Context

	mu      sync.Mutex
	reports map[int64]*Report // finished runs started here, newest kept
	order   []int64
}

// RunJSON is a run as the admin API shows it.
type RunJSON struct {
	ID        int64            `json:"id"`
	Tenant    string           `json:"tenant"`
	Trigger   string           `json:"trigger"`
	Mode      string           `json:"mode"`
	DryRun    bool             `json:"dryRun"`
	Status    string           `json:"status"`
	Processed int64            `json:"processed"`
	Total     int64            `json:"total"`
	Counts    map[string]int64 `json:"counts"`
	Error     string           `json:"error,omitempty"`
	Started   time.Time        `json:"started"`
	Updated   time.Time        `json:"updated"`
	Finished  *time.Time       `json:"finished"`
	Location  string           `json:"location"`
	Errors    []RunErrorJSON   `json:"errors,omitempty"`
	Plan      []PlanItem       `json:"plan,omitempty"`
}

// RunErrorJSON is one user's failure in a run.
type RunErrorJSON struct {
	UserID   string    `json:"userId,omitempty"`
	UserName string    `json:"userName,omitempty"`
	Action   string    `json:"action"`
	Message  string    `json:"message"`
	Time     time.Time `json:"time"`
}

// RunToJSON renders a run record.
func RunToJSON(r appstore.SyncRun) RunJSON {
	out := RunJSON{ID: r.ID, Tenant: r.TenantID, Trigger: r.Trigger, Mode: r.Mode, DryRun: r.DryRun, Status: r.Status,
		Processed: r.Processed, Total: r.Total, Counts: r.Counts, Error: r.Error, Started: r.Started, Updated: r.Updated,
		Location: "/admin/v1/tenants/" + r.TenantID + "/sync/" + strconv.FormatInt(r.ID, 10)}
	if out.Counts == nil {
		out.Counts = map[string]int64{}
	}
	if !r.Finished.IsZero() {
		f := r.Finished
		out.Finished = &f
	}
	return out
}

func (a *Admin) authorized(r *http.Request) bool {
	if a.Token == "" {
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	// Hashing first makes the comparison constant-time in the length too.
	x, y := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(a.Token))
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1
}

// ServeHTTP implements http.Handler.
func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !a.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="oktasync admin"`)
		writeErr(w, http.StatusUnauthorized, "missing or wrong admin token (Authorization: Bearer $OKTASYNC_ADMIN_TOKEN)")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/admin/v1/tenants/")
	parts := strings.Split(rest, "/")
	if !ok || len(parts) < 2 || parts[1] != "sync" || parts[0] == "" || len(parts) > 3 {
		writeErr(w, http.StatusNotFound, "no such admin endpoint")
		return
	}
	tenant := parts[0]
	switch {
	case len(parts) == 2 && r.Method == http.MethodPost:
		a.start(w, r, tenant)
	case len(parts) == 2 && r.Method == http.MethodGet:
		a.list(w, r, tenant)
	case len(parts) == 3 && r.Method == http.MethodGet:
		id, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil {
			writeErr(w, http.StatusNotFound, "no such run")
			return
		}
		a.get(w, r, tenant, id)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeErr(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

func (a *Admin) start(w http.ResponseWriter, r *http.Request, tenant string) {
	var body struct {
		Full   bool `json:"full"`
		DryRun bool `json:"dryRun"`
	}
	if r.ContentLength > 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
			writeErr(w, http.StatusBadRequest, "body must be JSON like {\"full\":true,\"dryRun\":false}")
			return
		}
	}
	q := r.URL.Query()
	body.Full = body.Full || q.Get("full") == "true" || q.Get("full") == "1"
	body.DryRun = body.DryRun || q.Get("dryRun") == "true" || q.Get("dryRun") == "1"
	out, err := a.Start(r.Context(), tenant, RunOptions{Full: body.Full, DryRun: body.DryRun, Trigger: TriggerAPI})
	if err != nil {
		writeKind(w, r, err)
		return
	}
	w.Header().Set("Location", out.Location)
	writeJSON(w, http.StatusAccepted, out)
}

// Start begins a run of the tenant's sync that goes on after ctx ends, on BaseCtx, and
// returns its record as it stands. A run already going is a Conflict; an unknown tenant
// NotFound; a tenant without an Okta connection Invalid.
func (a *Admin) Start(ctx context.Context, tenant string, opts RunOptions) (RunJSON, error) {
	base := a.BaseCtx
	if base == nil {
		base = context.Background()
	}
	run, err := a.Syncer.Begin(ctx, tenant, opts)
	if err != nil {
		return RunJSON{}, err
	}
	go func() {
		rep, _ := run.Execute(base)
		a.remember(&rep)
	}()
	return RunToJSON(run.Record()), nil
}

func (a *Admin) remember(rep *Report) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.reports == nil {
		a.reports = map[int64]*Report{}
	}
	a.reports[rep.Run.ID] = rep
	a.order = append(a.order, rep.Run.ID)
	for len(a.order) > 20 {
		delete(a.reports, a.order[0])
		a.order = a.order[1:]
	}
}

func (a *Admin) list(w http.ResponseWriter, r *http.Request, tenant string) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	runs, err := a.Runs(r.Context(), tenant, limit, 0)
	if err != nil {
		writeKind(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Runs []RunJSON `json:"runs"`
	}{Runs: runs})
}

// Runs returns the tenant's recent runs, newest first (every tenant's when tenant is
// ""); limit 0 means the store's default. Runs that failed or had users fail carry up
// to withErrors of their errors.
func (a *Admin) Runs(ctx context.Context, tenant string, limit, withErrors int) ([]RunJSON, error) {
	st := a.Syncer.Store
	if tenant != "" {
		if _, err := st.GetTenant(ctx, tenant); err != nil {
			return nil, err
		}
	}
	runs, err := st.ListSyncRuns(ctx, tenant, limit)
	if err != nil {
		return nil, err
	}
	out := []RunJSON{}
	for _, run := range runs {
		j := RunToJSON(run)
		if withErrors > 0 && (run.Counts[ActError] > 0 || run.Status == appstore.RunFailed) {
			if err := a.addErrors(ctx, &j, withErrors); err != nil {
				return nil, err
			}
		}
		out = append(out, j)
	}
	return out, nil
}

func (a *Admin) addErrors(ctx context.Context, j *RunJSON, limit int) error {
	errs, err := a.Syncer.Store.ListSyncRunErrors(ctx, j.ID, limit)
	if err != nil {
		return err
	}
	for _, e := range errs {
		j.Errors = append(j.Errors, RunErrorJSON{UserID: e.UserID, UserName: e.UserName, Action: e.Action, Message: e.Message, Time: e.Time})
	}
	return nil
}

func (a *Admin) get(w http.ResponseWriter, r *http.Request, tenant string, id int64) {
	out, err := a.Run(r.Context(), tenant, id)
	if err != nil {
		writeKind(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// Run returns one run of the tenant with up to 100 of its errors and, while this
// process remembers it, its plan.
func (a *Admin) Run(ctx context.Context, tenant string, id int64) (RunJSON, error) {
	run, err := a.Syncer.Store.GetSyncRun(ctx, tenant, id)
	if err != nil {
		return RunJSON{}, err
	}
	out := RunToJSON(run)
	if err := a.addErrors(ctx, &out, 100); err != nil {
		return RunJSON{}, err
	}
	a.mu.Lock()
	if rep := a.reports[id]; rep != nil && rep.Run.TenantID == tenant {
		out.Plan = rep.Plan
	}
	a.mu.Unlock()
	return out, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"status": status, "error": msg})
}

// writeKind maps an error's kind to a status once, here at the edge.
func writeKind(w http.ResponseWriter, r *http.Request, err error) {
	status := errkind.HTTPStatus(err)
	msg := errkind.Message(err)
	if msg == "" || errors.Is(err, errkind.Other) {
		msg = err.Error()
	}
	if id := requestid.FromContext(r.Context()); id != "" && status >= 500 {
		msg += " (request id " + id + ")" // support finds the request's log lines by it
	}
	writeErr(w, status, msg)
}
