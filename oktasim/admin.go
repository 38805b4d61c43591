package oktasim

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// adminPrefix is where the emulator's own endpoints live. Okta has no
// paths outside /api, /oauth2 and the sign-in pages that start with it.
const adminPrefix = "/_sim/"

// adminHandler serves the admin endpoints (see the package documentation).
// They take the org's API token, as "SSWS <token>" or "Bearer <token>".
func (s *Sim) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sim/info", s.adminInfo)
	mux.HandleFunc("GET /_sim/pushes", func(w http.ResponseWriter, r *http.Request) {
		since, _ := strconv.Atoi(r.URL.Query().Get("since"))
		out := []Push{}
		for _, p := range s.Pushes() {
			if p.Seq > since {
				out = append(out, p)
			}
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("DELETE /_sim/pushes", func(w http.ResponseWriter, r *http.Request) {
		s.ClearPushes()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/scim", func(w http.ResponseWriter, r *http.Request) {
		conn, ok := s.SCIMConnectionOf(s.adminApp(r))
		if !ok {
			writeJSON(w, http.StatusOK, map[string]any{"enabled": false})
			return
		}
		conn.Token = "" // never echo the secret
		writeJSON(w, http.StatusOK, map[string]any{"enabled": true, "connection": conn})
	})
	mux.HandleFunc("POST /_sim/scim", func(w http.ResponseWriter, r *http.Request) {
		var conn SCIMConnection
		if e := decodeBody(r, &conn); e != nil {
			writeError(w, e)
			return
		}
		if err := s.SetAppSCIMConnection(s.adminApp(r), conn); err != nil {
			writeGoError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Latency       string  `json:"latency"`
			ErrorRate     float64 `json:"errorRate"`
			ErrorStatuses []int   `json:"errorStatuses"`
			PathPrefix    string  `json:"pathPrefix"`
		}
		if e := decodeBody(r, &body); e != nil {
			writeError(w, e)
			return
		}
		lat, ok := parseDur(w, "latency", body.Latency)
		if !ok {
			return
		}
		s.SetFaults(Faults{Latency: lat, ErrorRate: body.ErrorRate, ErrorStatuses: body.ErrorStatuses, PathPrefix: body.PathPrefix})
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sim/faults/fail-next", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Count  int `json:"count"`
			Status int `json:"status"`
		}
		if e := decodeBody(r, &body); e != nil {
			writeError(w, e)
			return
		}
		if body.Status == 0 {
			body.Status = http.StatusInternalServerError
		}
		s.FailNext(body.Count, body.Status)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sim/faults/force-429", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Duration string `json:"duration"`
		}
		if e := decodeBody(r, &body); e != nil {
			writeError(w, e)
			return
		}
		d, ok := parseDur(w, "duration", body.Duration)
		if !ok {
			return
		}
		s.Force429(d)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sim/ratelimits", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Limits      RateLimits `json:"limits"`
			Multiplier  float64    `json:"multiplier"`
			Window      string     `json:"window"`
			Concurrency *int       `json:"concurrency"`
		}
		if e := decodeBody(r, &body); e != nil {
			writeError(w, e)
			return
		}
		win, ok := parseDur(w, "window", body.Window)
		if !ok {
			return
		}
		s.SetRateLimits(body.Limits, body.Multiplier, win)
		if body.Concurrency != nil {
			s.SetConcurrencyLimit(*body.Concurrency)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sim/groups/{id}/push", func(w http.ResponseWriter, r *http.Request) {
		if err := s.PushGroup(s.adminApp(r), r.PathValue("id")); err != nil {
			writeGoError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /_sim/groups/{id}/push", func(w http.ResponseWriter, r *http.Request) {
		del := r.URL.Query().Get("deleteInApp") == "true"
		if err := s.UnpushGroup(s.adminApp(r), r.PathValue("id"), del); err != nil {
			writeGoError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sim/force-sync", func(w http.ResponseWriter, r *http.Request) {
		if err := s.ForceSync(s.adminApp(r)); err != nil {
			writeGoError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sim/test-credentials", func(w http.ResponseWriter, r *http.Request) {
		if err := s.TestConnection(r.Context(), s.adminApp(r)); err != nil {
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	})
	mux.HandleFunc("POST /_sim/import", func(w http.ResponseWriter, r *http.Request) {
		res, err := s.Import(r.Context(), s.adminApp(r))
		if err != nil {
			writeJSON(w, http.StatusBadGateway, map[string]any{"error": err.Error(), "users": res.Users, "groups": res.Groups})
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
	mux.HandleFunc("POST /_sim/wait-idle", func(w http.ResponseWriter, r *http.Request) {
		timeout, ok := parseDur(w, "timeout", r.URL.Query().Get("timeout"))
		if !ok {
			return
		}
		if timeout == 0 {
			timeout = 30 * time.Second
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		if err := s.WaitIdle(ctx); err != nil {
			writeJSON(w, http.StatusGatewayTimeout, map[string]any{"idle": false, "error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"idle": true})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errNotFound("AdminEndpoint", r.URL.Path))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		tok := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(h, "SSWS "), "Bearer "))
		if h == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.token)) != 1 {
			writeError(w, &Error{Status: http.StatusUnauthorized, Code: "E0000011", Summary: "Invalid token provided"})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (s *Sim) adminApp(r *http.Request) string {
	if id := r.URL.Query().Get("appId"); id != "" {
		return id
	}
	return s.appID
}

func (s *Sim) adminInfo(w http.ResponseWriter, r *http.Request) {
	conn, ok := s.SCIMConnectionOf(s.appID)
	info := map[string]any{"orgUrl": orgURL(r), "appId": s.appID}
	if ok {
		conn.Token = ""
		info["scim"] = conn
	}
	s.mu.Lock()
	info["users"], info["groups"], info["apps"] = len(s.users), len(s.groups), len(s.apps)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, info)
}

func parseDur(w http.ResponseWriter, field, v string) (time.Duration, bool) {
	if v == "" {
		return 0, true
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		writeError(w, errValidation(field, field+": not a duration like \"250ms\" or \"30s\""))
		return 0, false
	}
	return d, true
}

func writeGoError(w http.ResponseWriter, err error) {
	if e, ok := errAs(err); ok {
		writeError(w, e)
		return
	}
	writeError(w, &Error{Status: http.StatusInternalServerError, Code: "E0000009", Summary: err.Error()})
}
