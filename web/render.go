package web

import (
	"bytes"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/requestid"
)

type pageTemplate = template.Template

// page is what every template gets: the frame (title, navigation, session) and Data.
type page struct {
	Title   string
	Section string // the navigation entry to mark as current
	Tenant  string // the tenant whose pages these are ("" on console and message pages)
	// Console is true for the vendor's session (the console link shows in the header).
	Console  bool
	SignedIn bool
	CSRF     string
	Flash    string // a one-line confirmation of what was just done
	Error    string // a one-line message about what went wrong
	Data     any
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"whenPtr": func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"join": strings.Join,
	"add":  func(a, b int) int { return a + b },
	"list": func(v ...string) []string { return v },
}

// parsePages parses each file of templates/pages with the layout and the partials.
func parsePages() map[string]*pageTemplate {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(files, "templates/*.html"))
	names, err := fs.Glob(files, "templates/pages/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*pageTemplate{}
	for _, n := range names {
		t := template.Must(template.Must(base.Clone()).ParseFS(files, n))
		out[strings.TrimSuffix(path.Base(n), ".html")] = t
	}
	return out
}

// render writes a page with status; p is filled with the session's frame.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	if s := sessionFrom(r.Context()); s != nil {
		p.SignedIn, p.Console, p.CSRF = true, s.console(), s.csrf
	}
	if p.Tenant == "" {
		p.Tenant = r.PathValue("tenant")
	}
	t, ok := h.pages[name]
	if !ok {
		panic("web: no page template " + name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		h.o.Logger.ErrorContext(r.Context(), "rendering a page", "page", name, "err", err)
		http.Error(w, "The page could not be shown."+requestRef(r), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type messageData struct {
	Heading, Text string
}

// message shows a page that says one thing (an ended session, an expired link, ...),
// and nothing of any tenant.
func (h *Handler) message(w http.ResponseWriter, r *http.Request, status int, heading, text string) {
	h.render(w, r, status, "message", page{Title: heading, Tenant: "-", Data: messageData{heading, text}})
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.message(w, r, http.StatusNotFound, "Page not found", "There is nothing here, or you cannot see it with this session.")
}

// fail answers an error from an operation: its kind picks the status, and only the
// message meant for people is shown (never internals).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errkind.NotFound):
		h.notFound(w, r)
	case errors.Is(err, errkind.Invalid), errors.Is(err, errkind.Conflict):
		h.message(w, r, http.StatusBadRequest, "That did not work", errkind.Message(err))
	default:
		h.o.Logger.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "err", err)
		h.message(w, r, http.StatusInternalServerError, "Something went wrong",
			"The server could not complete this request. Try again in a moment."+requestRef(r))
	}
}

// requestRef names the request's id for support, so that a reported failure leads to
// its log lines; empty when the request has none.
func requestRef(r *http.Request) string {
	if id := requestid.FromContext(r.Context()); id != "" {
		return " (request id " + id + ")"
	}
	return ""
}
