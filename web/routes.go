package web

import "net/http"

func (h *Handler) routes() {
	m := h.mux
	m.HandleFunc("GET /console/sign-in", h.signInForm)
	m.HandleFunc("POST /console/sign-in", h.signIn)
	m.HandleFunc("POST /sign-out", h.signedIn(false, h.signOut))

	m.HandleFunc("GET /console", h.signedIn(true, h.consoleHome))
	m.HandleFunc("POST /console/tenants", h.signedIn(true, h.createTenant))
	m.HandleFunc("POST /console/tenants/{tenant}/{action}", h.signedIn(true, func(w http.ResponseWriter, r *http.Request, s *session) {
		switch r.PathValue("action") {
		case "enable", "disable":
			h.setProvisioning(w, r, s)
		case "setup-links":
			h.makeSetupLink(w, r, s)
		default:
			h.notFound(w, r)
		}
	}))

	m.HandleFunc("GET /console/webhooks", h.signedIn(true, h.webhooks))
	m.HandleFunc("POST /console/webhooks", h.signedIn(true, h.createWebhook))
	m.HandleFunc("GET /console/webhooks/{id}", h.signedIn(true, h.webhookPage))
	m.HandleFunc("POST /console/webhooks/{id}/{action}", h.signedIn(true, h.webhookAction))

	t := func(pattern string, fn func(w http.ResponseWriter, r *http.Request, s *session)) {
		m.HandleFunc(pattern, h.signedIn(false, fn))
	}
	t("GET /portal/{tenant}", func(w http.ResponseWriter, r *http.Request, s *session) {
		h.redirect(w, r, tenantPath(r.PathValue("tenant"), "okta"), "")
	})
	t("GET /portal/{tenant}/okta", h.provisioning)
	t("POST /portal/{tenant}/okta/tokens", h.generateToken)
	t("POST /portal/{tenant}/okta/tokens/{id}/{action}", h.tokenAction)
	t("POST /portal/{tenant}/okta/basic", h.createBasic)
	t("GET /portal/{tenant}/users", h.usersPage)
	t("GET /portal/{tenant}/users/{id}", h.userPage)
	t("GET /portal/{tenant}/groups", h.groupsPage)
	t("GET /portal/{tenant}/groups/{id}", h.groupPage)
	t("GET /portal/{tenant}/settings", h.settings)
	t("POST /portal/{tenant}/settings", h.saveSettings)
	t("POST /portal/{tenant}/settings/attributes", h.addAttribute)
	t("POST /portal/{tenant}/settings/attributes/{name}/remove", h.removeAttribute)
	t("GET /portal/{tenant}/import", h.importOkta)
	t("POST /portal/{tenant}/import/connection", h.connectOkta)
	t("POST /portal/{tenant}/import/test", h.testOkta)
	t("POST /portal/{tenant}/import/policy", h.savePolicy)
	t("POST /portal/{tenant}/import/sync", h.startSync)
	t("GET /portal/{tenant}/import/runs/{id}", h.syncRun)
	t("GET /portal/{tenant}/activity", h.activity)
	t("GET /portal/{tenant}/activity.csv", h.activityCSV)
}
