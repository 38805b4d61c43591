package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/resource"
)

type oktaData struct {
	TenantRes resource.Tenant
	SCIMURL   string
	Tokens    []resource.Credential
	Basic     []resource.Credential
	MaxTokens int
	// LastRequest is the newest request of the SCIM request log, if any.
	LastRequest *appstore.SCIMRequest
	// NewSecret is a token just generated or renewed, shown this once.
	NewSecret string
	NewPrefix string
}

func (h *Handler) oktaPage(w http.ResponseWriter, r *http.Request, status int, p page, newCred *resource.Credential) {
	tenant := r.PathValue("tenant")
	ctx := r.Context()
	t, err := h.m.GetTenant(ctx, tenant)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	creds, err := h.m.ListCredentials(ctx, tenant, "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := oktaData{TenantRes: t, SCIMURL: h.m.SCIMURL(), MaxTokens: appstore.MaxTokens}
	for _, c := range creds {
		if c.Kind == manage.KindToken {
			d.Tokens = append(d.Tokens, c)
		} else {
			d.Basic = append(d.Basic, c)
		}
	}
	if newCred != nil {
		d.NewSecret, d.NewPrefix = newCred.Secret, newCred.Prefix
	}
	last, err := h.m.ListSCIMRequests(ctx, manage.SCIMRequestQuery{Tenant: tenant, Limit: 1})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(last.Items) > 0 {
		d.LastRequest = &last.Items[0]
	}
	p.Title, p.Section, p.Data = "Okta provisioning", "okta", d
	h.render(w, r, status, "okta", p)
}

func (h *Handler) provisioning(w http.ResponseWriter, r *http.Request, s *session) {
	h.oktaPage(w, r, http.StatusOK, page{Flash: h.takeFlash(w, r)}, nil)
}

// formError shows the page again with the operation's message, for failures the admin
// can fix (a third token, a taken username, a bad value).
func (h *Handler) formError(err error, show func(status int, msg string)) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, errkind.Invalid) || errors.Is(err, errkind.Conflict) {
		show(http.StatusBadRequest, errkind.Message(err))
		return true
	}
	return false
}

func (h *Handler) generateToken(w http.ResponseWriter, r *http.Request, s *session) {
	tenant := r.PathValue("tenant")
	if !h.confirmed(w, r, "Generate a new SCIM token? It is shown once; paste it into Okta as the API token.", tenantPath(tenant, "okta")) {
		return
	}
	c, err := h.m.CreateToken(r.Context(), tenant)
	if h.formError(err, func(st int, msg string) { h.oktaPage(w, r, st, page{Error: msg}, nil) }) {
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.oktaPage(w, r, http.StatusCreated, page{Flash: "Token " + c.Prefix + " generated."}, &c)
}

func (h *Handler) tokenAction(w http.ResponseWriter, r *http.Request, s *session) {
	tenant, id, action := r.PathValue("tenant"), r.PathValue("id"), r.PathValue("action")
	back := tenantPath(tenant, "okta")
	ctx := r.Context()
	switch action {
	case "activate", "deactivate":
		status := map[string]string{"activate": appstore.StatusActive, "deactivate": appstore.StatusInactive}[action]
		c, err := h.m.SetCredentialStatus(ctx, tenant, "", id, status)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.redirect(w, r, back, credName(c)+" is now "+status+".")
	case "renew":
		c, err := h.m.FindCredential(ctx, tenant, manage.KindToken, id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if !h.confirmed(w, r, "Renew token "+c.Prefix+"? Its current secret stops working at once; Okta needs the new one.", back) {
			return
		}
		c, err = h.m.RenewToken(ctx, tenant, id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.oktaPage(w, r, http.StatusOK, page{Flash: "Token renewed; the old secret no longer works."}, &c)
	case "remove":
		c, err := h.m.FindCredential(ctx, tenant, "", id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if !h.confirmed(w, r, "Remove "+credName(c)+"? Okta can no longer provision with it.", back) {
			return
		}
		if _, err := h.m.RemoveCredential(ctx, tenant, "", id); err != nil {
			h.fail(w, r, err)
			return
		}
		h.redirect(w, r, back, credName(c)+" removed.")
	default:
		h.notFound(w, r)
	}
}

func credName(c resource.Credential) string {
	if c.Kind == manage.KindBasic {
		return "Basic credentials " + c.Username
	}
	return "Token " + c.Prefix
}

func (h *Handler) createBasic(w http.ResponseWriter, r *http.Request, s *session) {
	tenant := r.PathValue("tenant")
	c, err := h.m.CreateBasic(r.Context(), tenant, strings.TrimSpace(r.PostFormValue("username")), r.PostFormValue("password"))
	if h.formError(err, func(st int, msg string) { h.oktaPage(w, r, st, page{Error: msg}, nil) }) {
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.redirect(w, r, tenantPath(tenant, "okta"), credName(c)+" created.")
}
