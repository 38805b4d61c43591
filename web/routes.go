package web

import "net/http"

func (h *Handler) routes() {
	m := h.mux
	m.HandleFunc("GET /console/sign-in", h.signInForm)
	m.HandleFunc("POST /console/sign-in", h.signIn)
	m.HandleFunc("POST /sign-out", h.signedIn(false, h.signOut))
	m.HandleFunc("GET /console", h.signedIn(true, h.consoleHome))
	m.HandleFunc("GET /portal/{tenant}/okta", h.signedIn(false, h.provisioning))
}

func (h *Handler) consoleHome(w http.ResponseWriter, r *http.Request, s *session) {
	h.render(w, r, http.StatusOK, "console", page{Title: "Tenants", Tenant: "-"})
}

func (h *Handler) provisioning(w http.ResponseWriter, r *http.Request, s *session) {
	h.render(w, r, http.StatusOK, "okta", page{Title: "Okta provisioning", Section: "okta"})
}
