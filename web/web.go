// Package web serves oktasync's pages: the setup portal that a customer's IT
// administrator reaches through a setup link (/setup/SECRET, then /portal/TENANT/...),
// and the vendor's console at /console. Pages are rendered on the server with
// html/template from embedded files, work as plain links and forms, and use a little
// JavaScript of their own (copy buttons, confirmation dialogs, live sync progress) when
// it runs. Every operation goes through package manage; this package only adapts HTTP
// to it, and keeps the browser sessions.
package web

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/manage"
)

//go:embed assets templates
var files embed.FS

// Session lifetimes: a session ends after an hour unused, and after twelve hours in any case.
const (
	SessionIdle     = time.Hour
	SessionAbsolute = 12 * time.Hour
)

// Options configure the pages.
type Options struct {
	// Manager performs every operation; its store also keeps the browser sessions.
	Manager *manage.Manager
	// PublicURL is the base URL browsers reach the server at; an https URL makes the
	// session cookie Secure.
	PublicURL string
	Logger    *slog.Logger
}

// Handler serves every page, the embedded assets and the setup links.
type Handler struct {
	o      Options
	m      *manage.Manager
	store  appstore.PortalStore
	mux    *http.ServeMux
	pages  map[string]*pageTemplate
	secure bool
}

// New returns the pages' handler. It answers /setup/, /portal/, /console and /assets/,
// and redirects / to the console.
func New(o Options) *Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{o: o, m: o.Manager, store: o.Manager.Store(), mux: http.NewServeMux(), pages: parsePages(),
		secure: strings.HasPrefix(strings.ToLower(o.PublicURL), "https://")}
	assets, _ := fs.Sub(files, "assets")
	h.mux.Handle("GET /assets/", http.StripPrefix("/assets/", cacheAssets(http.FileServerFS(assets))))
	h.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console", http.StatusSeeOther)
	})
	h.mux.HandleFunc("GET /setup/{secret}", h.openSetupLink)
	h.routes()
	return h
}

// ServeHTTP sets the security headers every page carries and dispatches the request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Frame-Options", "DENY")
	// The setup secret is in the URL: it must never leave in a Referer header.
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	if !strings.HasPrefix(r.URL.Path, "/assets/") {
		hd.Set("Cache-Control", "no-store")
	}
	h.mux.ServeHTTP(w, r)
}

func cacheAssets(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}
