package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/manage"
)

const (
	sessionCookie = "oktasync_session"
	// signInCookie carries the double-submitted CSRF value of the console's sign-in
	// form, which is posted before any session exists.
	signInCookie = "oktasync_signin"
)

// session is the signed-in browser of a request.
type session struct {
	appstore.Session
	csrf string
}

// console reports whether the session is the vendor's (any tenant) rather than one tenant's.
func (s *session) console() bool { return s.TenantID == "" }

// mayOpen reports whether the session may see tenant's pages.
func (s *session) mayOpen(tenant string) bool { return s.console() || s.TenantID == tenant }

type sessionKey struct{}

func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	return s
}

// csrfToken is derived from the session's secret, so it needs no storage and dies with
// the session; it cannot be computed without the cookie.
func csrfToken(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("oktasync csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func sameSecret(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func randomString() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// startSession creates a session, sets its cookie and returns it.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, tenant, actor string) error {
	s, secret, err := h.store.CreateSession(r.Context(), appstore.Session{TenantID: tenant, Actor: actor}, SessionIdle, SessionAbsolute)
	if err != nil {
		return err
	}
	if old, err := r.Cookie(sessionCookie); err == nil {
		_ = h.store.DeleteSession(r.Context(), old.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: secret, Path: "/", HttpOnly: true, Secure: h.secure,
		SameSite: http.SameSiteLaxMode, Expires: s.Expires})
	return nil
}

func (h *Handler) endSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		_ = h.store.DeleteSession(r.Context(), c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: h.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// loadSession returns the request's live session, or nil.
func (h *Handler) loadSession(r *http.Request) (*session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	s, err := h.store.TouchSession(r.Context(), c.Value, SessionIdle)
	if errors.Is(err, errkind.Unauthorized) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &session{Session: s, csrf: csrfToken(c.Value)}, nil
}

// checkCSRF reports whether a state-changing request carries the session's CSRF token,
// in the csrf form field or the X-CSRF-Token header.
func checkCSRF(r *http.Request, s *session) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return sameSecret(got, s.csrf)
}

// signedIn wraps a handler that needs a session. Tenant pages ({tenant} in the pattern)
// answer 404 to a session of another tenant, so that no URL tells whether a tenant
// exists; the console's pages need a console session. Requests other than GET and HEAD
// must carry the CSRF token (403 otherwise).
func (h *Handler) signedIn(consoleOnly bool, fn func(w http.ResponseWriter, r *http.Request, s *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := h.loadSession(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if s == nil {
			if consoleOnly || r.PathValue("tenant") == "" {
				http.Redirect(w, r, "/console/sign-in", http.StatusSeeOther)
				return
			}
			h.message(w, r, http.StatusUnauthorized, "Your session has ended",
				"Sessions end after an hour without use. Open your setup link again, or ask your vendor for a new one.")
			return
		}
		if consoleOnly && !s.console() {
			h.notFound(w, r)
			return
		}
		if t := r.PathValue("tenant"); t != "" && !s.mayOpen(t) {
			h.notFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			if !checkCSRF(r, s) {
				h.message(w, r, http.StatusForbidden, "This form has expired",
					"The request did not carry this page's security token. Go back, reload the page and try again.")
				return
			}
		}
		ctx := manage.AsWeb(context.WithValue(r.Context(), sessionKey{}, s), s.Actor)
		fn(w, r.WithContext(ctx), s)
	}
}
