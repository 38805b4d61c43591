package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/oktaclient"
	"github.com/oktasync/oktasync/syncer"
)

type importData struct {
	Connected  bool
	Connection manage.OktaConnection
	Policy     syncer.Policy
	Check      *oktaclient.CheckResult
	Runs       []syncer.RunJSON
	Running    *syncer.RunJSON
	Conflicts  []string
	Unmatched  []string
	Deactivate []string
}

func (h *Handler) importPage(w http.ResponseWriter, r *http.Request, status int, p page, check *oktaclient.CheckResult) {
	tenant := r.PathValue("tenant")
	ctx := r.Context()
	conn, err := h.m.GetOktaConnection(ctx, tenant)
	d := importData{Connected: err == nil, Connection: conn, Check: check,
		Conflicts:  []string{string(syncer.OktaWins), string(syncer.AppWins), string(syncer.NewestWins)},
		Unmatched:  []string{string(syncer.CreateUnmatched), string(syncer.ReportUnmatched)},
		Deactivate: []string{string(syncer.Unassign), string(syncer.DeactivateUser), string(syncer.IgnoreDeactivation)}}
	if err != nil && !errors.Is(err, errkind.NotFound) {
		h.fail(w, r, err)
		return
	}
	if d.Policy, err = h.m.Policy(ctx, tenant); err != nil && !errors.Is(err, errkind.Invalid) {
		h.fail(w, r, err)
		return
	}
	if d.Runs, err = h.m.ListSyncRuns(ctx, tenant, 20, 20); err != nil {
		h.fail(w, r, err)
		return
	}
	for i := range d.Runs {
		if d.Runs[i].Status == "running" {
			d.Running = &d.Runs[i]
			break
		}
	}
	p.Title, p.Section, p.Data = "Import to Okta", "import", d
	h.render(w, r, status, "import", p)
}

func (h *Handler) importOkta(w http.ResponseWriter, r *http.Request, s *session) {
	h.importPage(w, r, http.StatusOK, page{Flash: h.takeFlash(w, r)}, nil)
}

func (h *Handler) connectOkta(w http.ResponseWriter, r *http.Request, s *session) {
	tenant := r.PathValue("tenant")
	_, err := h.m.SetOktaConnection(r.Context(), tenant, manage.NewOktaConnection{
		OrgURL: strings.TrimSpace(r.PostFormValue("orgUrl")), AppID: strings.TrimSpace(r.PostFormValue("appId")),
		APIToken: r.PostFormValue("apiToken")})
	if h.formError(err, func(st int, msg string) { h.importPage(w, r, st, page{Error: msg}, nil) }) {
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.redirect(w, r, tenantPath(tenant, "import"), "Connected to Okta. Test the connection, then run a sync.")
}

func (h *Handler) testOkta(w http.ResponseWriter, r *http.Request, s *session) {
	_, res, err := h.m.TestOktaConnection(r.Context(), r.PathValue("tenant"))
	if err != nil {
		msg := errkind.Message(err)
		if msg == "" {
			msg = "The connection test failed."
		}
		h.importPage(w, r, http.StatusOK, page{Error: msg}, nil)
		return
	}
	h.importPage(w, r, http.StatusOK, page{Flash: "Okta answered: the connection works."}, &res)
}

func (h *Handler) savePolicy(w http.ResponseWriter, r *http.Request, s *session) {
	tenant := r.PathValue("tenant")
	f := r.PostFormValue
	_, err := h.m.SetPolicy(r.Context(), tenant, manage.PolicyChanges{Conflict: f("conflict"), Unmatched: f("unmatched"),
		Deactivate: f("deactivate"), Schedule: strings.TrimSpace(f("schedule")), FullSchedule: strings.TrimSpace(f("fullSchedule"))})
	if h.formError(err, func(st int, msg string) { h.importPage(w, r, st, page{Error: msg}, nil) }) {
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.redirect(w, r, tenantPath(tenant, "import"), "Policies saved.")
}

func (h *Handler) startSync(w http.ResponseWriter, r *http.Request, s *session) {
	tenant := r.PathValue("tenant")
	run, err := h.m.StartSync(r.Context(), tenant, r.PostFormValue("full") == "on", r.PostFormValue("dryRun") == "yes", "web")
	if h.formError(err, func(st int, msg string) { h.importPage(w, r, st, page{Error: msg}, nil) }) {
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.redirect(w, r, tenantPath(tenant, "import", "runs", strconv.FormatInt(run.ID, 10)), "")
}

type runData struct {
	Run     syncer.RunJSON
	JSONURL string
}

// syncRun shows one run; with ?format=json it answers the run as JSON for the page's
// live progress.
func (h *Handler) syncRun(w http.ResponseWriter, r *http.Request, s *session) {
	tenant := r.PathValue("tenant")
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.notFound(w, r)
		return
	}
	run, err := h.m.GetSyncRun(r.Context(), tenant, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if r.URL.Query().Get("format") == "json" {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(struct {
			Status    string `json:"status"`
			Processed int64  `json:"processed"`
			Total     int64  `json:"total"`
		}{run.Status, run.Processed, run.Total})
		return
	}
	path := tenantPath(tenant, "import", "runs", strconv.FormatInt(id, 10))
	h.render(w, r, http.StatusOK, "run", page{Title: "Sync run " + strconv.FormatInt(id, 10), Section: "import",
		Data: runData{Run: run, JSONURL: path + "?format=json"}})
}
