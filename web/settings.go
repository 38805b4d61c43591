package web

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/resource"
	"github.com/oktasync/oktasync/scimschema"
)

type settingsData struct {
	TenantRes  resource.Tenant
	Domains    string // one per line
	Attributes []resource.Attribute
	Types      []string
	Variables  []string // the ${name}s an invitation may use
	// The form's values: the stored ones, or what was typed when a save was refused.
	InviteUsers   bool
	Subject, Text string
}

func (h *Handler) settingsPage(w http.ResponseWriter, r *http.Request, status int, p page) {
	tenant := r.PathValue("tenant")
	ctx := r.Context()
	t, err := h.m.GetTenant(ctx, tenant)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	attrs, err := h.m.ListAttributes(ctx, tenant)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	vars, err := h.m.InvitationVariables(ctx, tenant)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := settingsData{TenantRes: t, Domains: strings.Join(t.AllowedEmailDomains, "\n"), Attributes: attrs,
		Types: scimschema.CustomTypes, Variables: vars, InviteUsers: t.InviteUsers, Subject: t.InviteSubject, Text: t.InviteText}
	if r.Method == http.MethodPost && r.PostForm.Has("subject") {
		d.InviteUsers = r.PostFormValue("inviteUsers") == "on"
		d.Subject, d.Text, d.Domains = r.PostFormValue("subject"), r.PostFormValue("text"), r.PostFormValue("domains")
	}
	p.Title, p.Section, p.Data = "Settings", "settings", d
	h.render(w, r, status, "settings", p)
}

func (h *Handler) settings(w http.ResponseWriter, r *http.Request, s *session) {
	h.settingsPage(w, r, http.StatusOK, page{Flash: h.takeFlash(w, r)})
}

// splitList reads a list typed one per line or separated by commas or spaces.
func splitList(s string) []string {
	out := []string{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		out = append(out, f)
	}
	return out
}

func (h *Handler) saveSettings(w http.ResponseWriter, r *http.Request, s *session) {
	tenant := r.PathValue("tenant")
	invite := r.PostFormValue("inviteUsers") == "on"
	domains := splitList(r.PostFormValue("domains"))
	subject, text := r.PostFormValue("subject"), r.PostFormValue("text")
	_, err := h.m.UpdateTenant(r.Context(), tenant, manage.TenantChanges{InviteUsers: &invite, AllowedEmailDomains: &domains,
		InviteSubject: &subject, InviteText: &text})
	if h.formError(err, func(st int, msg string) { h.settingsPage(w, r, st, page{Error: msg}) }) {
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.redirect(w, r, tenantPath(tenant, "settings"), "Settings saved.")
}

func (h *Handler) addAttribute(w http.ResponseWriter, r *http.Request, s *session) {
	tenant := r.PathValue("tenant")
	a := resource.Attribute{Name: strings.TrimSpace(r.PostFormValue("name")), Type: r.PostFormValue("type"),
		MultiValued: r.PostFormValue("multiValued") == "on", Description: strings.TrimSpace(r.PostFormValue("description"))}
	_, err := h.m.AddAttribute(r.Context(), tenant, a)
	if h.formError(err, func(st int, msg string) { h.settingsPage(w, r, st, page{Error: msg}) }) {
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.redirect(w, r, tenantPath(tenant, "settings"), "Attribute "+a.Name+" added.")
}

func (h *Handler) removeAttribute(w http.ResponseWriter, r *http.Request, s *session) {
	tenant, name := r.PathValue("tenant"), r.PathValue("name")
	back := tenantPath(tenant, "settings")
	if !h.confirmed(w, r, "Remove the attribute "+name+"? Values stored under it stay, but SCIM clients can no longer set it.", back) {
		return
	}
	if err := h.m.RemoveAttribute(r.Context(), tenant, name); err != nil {
		h.fail(w, r, err)
		return
	}
	h.redirect(w, r, back, "Attribute "+name+" removed.")
}

func indentJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}
