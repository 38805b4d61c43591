package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
)

// openSetupLink redeems a setup link: a tenant's link starts a session on that tenant's
// pages, a console link (one-time) a console session. Unknown links get 404 and expired
// or revoked ones 410, both with a page that shows nothing of any tenant.
func (h *Handler) openSetupLink(w http.ResponseWriter, r *http.Request) {
	l, err := h.store.RedeemSetupLink(r.Context(), r.PathValue("secret"))
	switch {
	case errors.Is(err, appstore.ErrLinkGone):
		h.message(w, r, http.StatusGone, "This link has expired",
			"Setup links work for a limited time. Ask your vendor for a new one.")
		return
	case errors.Is(err, errkind.NotFound):
		h.message(w, r, http.StatusNotFound, "This link is not valid",
			"Check that you copied the whole link, or ask your vendor for a new one.")
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	if err := h.startSession(w, r, l.TenantID, appstore.SetupLinkActor(l.ID)); err != nil {
		h.fail(w, r, err)
		return
	}
	if l.TenantID == "" {
		http.Redirect(w, r, "/console", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, tenantPath(l.TenantID, "okta"), http.StatusSeeOther)
}

type signInData struct {
	Token string // the CSRF value of the sign-in form
}

func (h *Handler) signInForm(w http.ResponseWriter, r *http.Request) {
	v := randomString()
	http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: v, Path: "/console/sign-in", HttpOnly: true, Secure: h.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	h.render(w, r, http.StatusOK, "signin", page{Title: "Sign in", Tenant: "-", Data: signInData{Token: v}})
}

// signIn checks an API key (or the admin token) and starts a console session.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	c, err := r.Cookie(signInCookie)
	if err != nil || !sameSecret(r.PostFormValue("csrf"), c.Value) {
		h.message(w, r, http.StatusForbidden, "This form has expired",
			"The request did not carry this page's security token. Go back, reload the page and try again.")
		return
	}
	actor, err := h.consoleActor(r, r.PostFormValue("key"))
	if err != nil {
		if !errors.Is(err, errkind.Unauthorized) {
			h.fail(w, r, err)
			return
		}
		v := randomString()
		http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: v, Path: "/console/sign-in", HttpOnly: true, Secure: h.secure,
			SameSite: http.SameSiteStrictMode, MaxAge: 3600})
		h.render(w, r, http.StatusUnauthorized, "signin", page{Title: "Sign in", Tenant: "-",
			Error: "That key was not accepted. Use an API key of this server, or its OKTASYNC_ADMIN_TOKEN.", Data: signInData{Token: v}})
		return
	}
	if err := h.startSession(w, r, "", actor); err != nil {
		h.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: signInCookie, Path: "/console/sign-in", MaxAge: -1})
	http.Redirect(w, r, "/console", http.StatusSeeOther)
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request, s *session) {
	h.endSession(w, r)
	h.message(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, (*session)(nil))), http.StatusOK, "You are signed out", "You can close this window.")
}

// tenantPath is the URL of one of a tenant's pages.
func tenantPath(tenant string, parts ...string) string {
	p := "/portal/" + tenant
	for _, s := range parts {
		p += "/" + s
	}
	return p
}

// consoleActor names who a console key belongs to: an API key of the vendor API, or
// OKTASYNC_ADMIN_TOKEN.
func (h *Handler) consoleActor(r *http.Request, key string) (string, error) {
	id, err := h.m.AuthenticateAPI(r.Context(), key)
	if err != nil {
		return "", err
	}
	return appstore.APIKeyActor(id), nil
}
