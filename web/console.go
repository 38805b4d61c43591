package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/resource"
	"github.com/oktasync/oktasync/syncer"
)

type tenantRow struct {
	resource.Tenant
	LastSync    *syncer.RunJSON
	LastRequest *appstore.SCIMRequest
}

type consoleData struct {
	Tenants []tenantRow
	// NewLink is a setup link just made, shown this once.
	NewLink       *manage.SetupLink
	NewLinkTenant string
	NewID         string // the id typed into a refused create form
}

func (h *Handler) consolePage(w http.ResponseWriter, r *http.Request, status int, p page, d consoleData) {
	ctx := r.Context()
	ts, err := h.m.ListTenants(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	runs, err := h.m.ListSyncRuns(ctx, "", 500, 0)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	last := map[string]*syncer.RunJSON{}
	for i := range runs {
		if last[runs[i].Tenant] == nil {
			last[runs[i].Tenant] = &runs[i]
		}
	}
	for _, t := range ts {
		full, err := h.m.GetTenant(ctx, t.ID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		row := tenantRow{Tenant: full, LastSync: last[t.ID]}
		reqs, err := h.m.ListSCIMRequests(ctx, manage.SCIMRequestQuery{Tenant: t.ID, Limit: 1})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if len(reqs.Items) > 0 {
			row.LastRequest = &reqs.Items[0]
		}
		d.Tenants = append(d.Tenants, row)
	}
	p.Title, p.Tenant, p.Data = "Tenants", "-", d
	h.render(w, r, status, "console", p)
}

func (h *Handler) consoleHome(w http.ResponseWriter, r *http.Request, s *session) {
	h.consolePage(w, r, http.StatusOK, page{Flash: h.takeFlash(w, r)}, consoleData{})
}

func (h *Handler) createTenant(w http.ResponseWriter, r *http.Request, s *session) {
	id := strings.TrimSpace(r.PostFormValue("id"))
	t, err := h.m.CreateTenant(r.Context(), manage.NewTenant{ID: id, Name: r.PostFormValue("name"),
		ProvisioningEnabled: r.PostFormValue("enable") == "on"})
	if h.formError(err, func(st int, msg string) { h.consolePage(w, r, st, page{Error: msg}, consoleData{NewID: id}) }) {
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.redirect(w, r, "/console", "Tenant "+t.ID+" created.")
}

func (h *Handler) setProvisioning(w http.ResponseWriter, r *http.Request, s *session) {
	tenant := r.PathValue("tenant")
	on := r.PathValue("action") == "enable"
	if !on && !h.confirmed(w, r, "Turn provisioning off for "+tenant+"? Okta's requests with its credentials are refused until it is on again.", "/console") {
		return
	}
	if _, err := h.m.UpdateTenant(r.Context(), tenant, manage.TenantChanges{ProvisioningEnabled: &on}); err != nil {
		h.fail(w, r, err)
		return
	}
	state := "off"
	if on {
		state = "on"
	}
	h.redirect(w, r, "/console", "Provisioning is "+state+" for "+tenant+".")
}

func (h *Handler) makeSetupLink(w http.ResponseWriter, r *http.Request, s *session) {
	tenant := r.PathValue("tenant")
	ttl, err := time.ParseDuration(strings.TrimSpace(r.PostFormValue("ttl")))
	if err != nil {
		h.consolePage(w, r, http.StatusBadRequest, page{Error: "Valid for: use a duration such as 24h or 30m."}, consoleData{})
		return
	}
	l, err := h.m.CreateSetupLink(r.Context(), tenant, ttl)
	if h.formError(err, func(st int, msg string) { h.consolePage(w, r, st, page{Error: msg}, consoleData{}) }) {
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.consolePage(w, r, http.StatusCreated, page{Flash: "Setup link made for " + tenant + "."}, consoleData{NewLink: &l, NewLinkTenant: tenant})
}
