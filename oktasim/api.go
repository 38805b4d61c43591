package oktasim

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

const userTypeID = "oty1a2b3c4d5e6f7g8h9"

func (s *Sim) routes() http.Handler {
	api := http.NewServeMux()
	// anyMethod holds every route's path without its method, to tell a
	// wrong method (405) from an unknown path (404).
	anyMethod := http.NewServeMux()
	seen := map[string]bool{}
	handle := func(pattern string, h http.HandlerFunc) {
		api.HandleFunc(pattern, h)
		_, path, _ := strings.Cut(pattern, " ")
		if !seen[path] {
			seen[path] = true
			anyMethod.HandleFunc(path, func(http.ResponseWriter, *http.Request) {})
		}
	}
	// Users.
	handle("GET /api/v1/users", s.listUsers)
	handle("POST /api/v1/users", s.createUserHTTP)
	handle("GET /api/v1/users/{id}", s.getUserHTTP)
	handle("POST /api/v1/users/{id}", s.updateUserHTTP(true))
	handle("PUT /api/v1/users/{id}", s.updateUserHTTP(false))
	handle("DELETE /api/v1/users/{id}", s.deleteUserHTTP)
	handle("POST /api/v1/users/{id}/lifecycle/{op}", s.lifecycleHTTP)
	handle("GET /api/v1/users/{id}/groups", s.userGroupsHTTP)
	// Apps.
	handle("GET /api/v1/apps", s.listAppsHTTP)
	handle("GET /api/v1/apps/{appId}", s.getAppHTTP)
	handle("GET /api/v1/apps/{appId}/users", s.listAppUsersHTTP)
	handle("POST /api/v1/apps/{appId}/users", s.assignUserHTTP)
	handle("GET /api/v1/apps/{appId}/users/{userId}", s.getAppUserHTTP)
	handle("POST /api/v1/apps/{appId}/users/{userId}", s.updateAppUserHTTP)
	handle("DELETE /api/v1/apps/{appId}/users/{userId}", s.unassignUserHTTP)
	handle("GET /api/v1/apps/{appId}/groups", s.listAppGroupsHTTP)
	handle("GET /api/v1/apps/{appId}/groups/{groupId}", s.getAppGroupHTTP)
	handle("PUT /api/v1/apps/{appId}/groups/{groupId}", s.assignGroupHTTP)
	handle("DELETE /api/v1/apps/{appId}/groups/{groupId}", s.unassignGroupHTTP)
	// Groups.
	handle("GET /api/v1/groups", s.listGroupsHTTP)
	handle("POST /api/v1/groups", s.createGroupHTTP)
	handle("GET /api/v1/groups/{id}", s.getGroupHTTP)
	handle("PUT /api/v1/groups/{id}", s.updateGroupHTTP)
	handle("DELETE /api/v1/groups/{id}", s.deleteGroupHTTP)
	handle("GET /api/v1/groups/{id}/users", s.listMembersHTTP)
	handle("PUT /api/v1/groups/{id}/users/{userId}", s.addMemberHTTP)
	handle("DELETE /api/v1/groups/{id}/users/{userId}", s.removeMemberHTTP)
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := anyMethod.Handler(r); pattern != "" {
			writeError(w, &Error{Status: http.StatusMethodNotAllowed, Code: "E0000022",
				Summary: "The endpoint does not support the provided HTTP method"})
			return
		}
		writeError(w, errNotFound("Resource", r.URL.Path))
	})

	root := http.NewServeMux()
	root.Handle("/api/v1/", s.apiMiddleware(api))
	root.Handle(adminPrefix, s.adminHandler())
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errNotFound("Resource", r.URL.Path))
	})
	return root
}

// writeJSON writes v as JSON with Okta's content type.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes e as Okta's error JSON.
func writeError(w http.ResponseWriter, e *Error) {
	causes := []map[string]string{}
	for _, c := range e.Causes {
		causes = append(causes, map[string]string{"errorSummary": c})
	}
	writeJSON(w, e.Status, map[string]any{
		"errorCode":    e.Code,
		"errorSummary": e.Summary,
		"errorLink":    e.Code,
		"errorId":      "oae" + randToken(22),
		"errorCauses":  causes,
	})
}

func (s *Sim) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "SSWS ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.cfg.token)) == 1
}

// apiMiddleware applies, in Okta's order, the concurrency limit, forced
// 429 windows, the per-family rate limit, authentication and injected
// faults, and sets the headers every Okta response carries.
func (s *Sim) apiMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := s.clock.Now()
		h := w.Header()
		h.Set("Date", now.UTC().Format(http.TimeFormat))
		h.Set("X-Okta-Request-Id", randToken(27))

		s.mu.Lock()
		conc := s.cfg.concurrency
		s.mu.Unlock()
		n := s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		if conc > 0 && int(n) > conc {
			// Okta reports the concurrent values instead of the window's
			// when the concurrent limit is exceeded; the reset is a guess.
			setRateHeaders(h, conc, 0, now.Add(time.Second))
			writeError(w, errRateLimit())
			return
		}

		fault := s.decideFault(r.URL.Path)
		family := familyOf(r.URL.Path)
		if !fault.forcedUntil.IsZero() {
			limit := s.limiter.limitOf(family)
			setRateHeaders(h, limit, 0, fault.forcedUntil)
			writeError(w, errRateLimit())
			return
		}
		limit, remaining, reset, ok := s.limiter.take(family, now)
		if limit > 0 {
			setRateHeaders(h, limit, remaining, reset)
		}
		if !ok {
			writeError(w, errRateLimit())
			return
		}
		if !s.authorized(r) {
			writeError(w, &Error{Status: http.StatusUnauthorized, Code: "E0000011", Summary: "Invalid token provided"})
			return
		}
		if fault.latency > 0 {
			if err := s.sleeper.Sleep(r.Context(), fault.latency); err != nil {
				return
			}
		}
		if fault.status != 0 {
			if fault.status == http.StatusTooManyRequests {
				setRateHeaders(h, limit, 0, reset)
			}
			writeError(w, faultError(fault.status))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func setRateHeaders(h http.Header, limit, remaining int, reset time.Time) {
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(limit))
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(remaining))
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(unixCeil(reset), 10))
}

// orgURL is the org's base URL as the client reached it.
func orgURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func fmtPTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return fmtTime(*t)
}

func href(u string) map[string]any { return map[string]any{"href": u} }

func decodeBody(r *http.Request, v any) *Error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil || len(strings.TrimSpace(string(b))) == 0 {
		if err == nil {
			return nil
		}
		return &Error{Status: http.StatusBadRequest, Code: "E0000003", Summary: "The request body was not well-formed."}
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &Error{Status: http.StatusBadRequest, Code: "E0000003", Summary: "The request body was not well-formed."}
	}
	return nil
}

// ---- pagination ----

// pageInfo is what a list request asks for: a page size and the cursor to
// continue after.
type pageInfo struct {
	limit int
	after string
}

// parseLimit reads limit and after; invalid or out-of-range limits fall
// back to the default or are clamped to the maximum, as Okta does.
func parseLimit(r *http.Request, def, maxLimit int) pageInfo {
	q := r.URL.Query()
	l := def
	if v := q.Get("limit"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			l = n
		}
	}
	if maxLimit > 0 && l > maxLimit {
		l = maxLimit
	}
	return pageInfo{limit: l, after: q.Get("after")}
}

// paginate returns the items after the cursor (items are in seq order) and
// whether more remain. The cursor is the id of the last item returned;
// an id's sequence number outlives the object, so a listing survives the
// deletion of the item it stopped at, and items created meanwhile come
// after every pre-existing one.
func paginate[T any](s *Sim, items []T, idOf func(T) string, pi pageInfo) ([]T, string) {
	start := 0
	if pi.after != "" {
		after, ok := s.seqOf[pi.after]
		if !ok {
			return nil, ""
		}
		start = sort.Search(len(items), func(i int) bool { return s.seqOf[idOf(items[i])] > after })
	}
	end := min(start+pi.limit, len(items))
	out := items[start:end]
	next := ""
	if end < len(items) && len(out) > 0 {
		next = idOf(out[len(out)-1])
	}
	return out, next
}

// setLinks writes one Link header per rel, never comma-joined: the Okta
// SDK reads each header line separately.
func setLinks(w http.ResponseWriter, r *http.Request, next string) {
	base := orgURL(r) + r.URL.Path
	self := r.URL.Query()
	w.Header().Add("Link", "<"+withQuery(base, self)+`>; rel="self"`)
	if next != "" {
		q := r.URL.Query()
		q.Set("after", next)
		w.Header().Add("Link", "<"+withQuery(base, q)+`>; rel="next"`)
	}
}

func withQuery(base string, q url.Values) string {
	if len(q) == 0 {
		return base
	}
	return base + "?" + q.Encode()
}

// ---- users ----

func (s *Sim) userJSON(base string, u *user) map[string]any {
	self := base + "/api/v1/users/" + u.id
	creds := map[string]any{"provider": map[string]any{"type": "OKTA", "name": "OKTA"}}
	if u.password {
		creds["password"] = map[string]any{}
	}
	if e := str(u.profile, "email"); e != "" {
		creds["emails"] = []any{map[string]any{"value": e, "status": "VERIFIED", "type": "PRIMARY"}}
	}
	links := map[string]any{"self": href(self), "type": href(base + "/api/v1/meta/types/user/" + userTypeID)}
	switch u.status {
	case StatusStaged, StatusProvisioned:
		links["activate"] = map[string]any{"href": self + "/lifecycle/activate", "method": "POST"}
		links["deactivate"] = map[string]any{"href": self + "/lifecycle/deactivate", "method": "POST"}
	case StatusActive:
		links["suspend"] = map[string]any{"href": self + "/lifecycle/suspend", "method": "POST"}
		links["deactivate"] = map[string]any{"href": self + "/lifecycle/deactivate", "method": "POST"}
	case StatusSuspended:
		links["unsuspend"] = map[string]any{"href": self + "/lifecycle/unsuspend", "method": "POST"}
		links["deactivate"] = map[string]any{"href": self + "/lifecycle/deactivate", "method": "POST"}
	case StatusDeprovisioned:
		links["activate"] = map[string]any{"href": self + "/lifecycle/activate", "method": "POST"}
	}
	return map[string]any{
		"id":              u.id,
		"status":          u.status,
		"created":         fmtTime(u.created),
		"activated":       fmtPTime(u.activated),
		"statusChanged":   fmtPTime(u.statusChanged),
		"lastLogin":       fmtPTime(u.lastLogin),
		"lastUpdated":     fmtTime(u.lastUpdated),
		"passwordChanged": fmtPTime(u.passwordChanged),
		"type":            map[string]any{"id": userTypeID},
		"profile":         cloneMap(u.profile),
		"credentials":     creds,
		"_links":          links,
	}
}

func (s *Sim) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var match func(*user) bool
	var indexed expr // a filter or search an index answers (see indexedUsers)
	switch {
	case q.Get("search") != "":
		e, err := parseExpr(q.Get("search"), searchRules)
		if err != nil {
			writeError(w, &Error{Status: http.StatusBadRequest, Code: "E0000031", Summary: "Invalid search criteria."})
			return
		}
		match = func(u *user) bool { return e.match(s.userResolver(u)) }
		indexed = e
	case q.Get("filter") != "":
		e, err := parseExpr(q.Get("filter"), userFilterRules)
		if err != nil {
			writeError(w, &Error{Status: http.StatusBadRequest, Code: "E0000031", Summary: "Invalid search criteria."})
			return
		}
		match = func(u *user) bool { return e.match(s.userResolver(u)) }
		indexed = e
	case q.Get("q") != "":
		prefix := strings.ToLower(q.Get("q"))
		match = func(u *user) bool {
			if u.status == StatusDeprovisioned {
				return false
			}
			for _, k := range []string{"login", "firstName", "lastName", "email"} {
				if strings.HasPrefix(strings.ToLower(str(u.profile, k)), prefix) {
					return true
				}
			}
			return false
		}
	default:
		// A plain listing leaves out deactivated users, as Okta's does.
		match = func(u *user) bool { return u.status != StatusDeprovisioned }
	}
	def := 200
	if q.Get("q") != "" && q.Get("search") == "" && q.Get("filter") == "" {
		def = 10 // Okta's q returns 10 users unless a limit is given
	}
	pi := parseLimit(r, def, 200)
	s.mu.Lock()
	candidates, ok := s.indexedUsers(indexed)
	if !ok {
		candidates = s.sortedUsers()
	}
	var all []*user
	for _, u := range candidates {
		if match(u) {
			all = append(all, u)
		}
	}
	page, next := paginate(s, all, func(u *user) string { return u.id }, pi)
	base := orgURL(r)
	out := make([]any, 0, len(page))
	for _, u := range page {
		out = append(out, s.userJSON(base, u))
	}
	s.mu.Unlock()
	setLinks(w, r, next)
	writeJSON(w, http.StatusOK, out)
}

type userBody struct {
	Profile     map[string]any `json:"profile"`
	Credentials *struct {
		Password *struct {
			Value string `json:"value"`
		} `json:"password"`
	} `json:"credentials"`
}

func (s *Sim) createUserHTTP(w http.ResponseWriter, r *http.Request) {
	var body userBody
	if e := decodeBody(r, &body); e != nil {
		writeError(w, e)
		return
	}
	activate := true
	if v := r.URL.Query().Get("activate"); v != "" {
		activate = v != "false"
	}
	password := body.Credentials != nil && body.Credentials.Password != nil && body.Credentials.Password.Value != ""
	s.mu.Lock()
	u, e := s.createUserLocked(body.Profile, password, activate)
	var out map[string]any
	if e == nil {
		out = s.userJSON(orgURL(r), u)
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) getUserHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	u := s.findUser(r.PathValue("id"))
	var out map[string]any
	if u != nil {
		out = s.userJSON(orgURL(r), u)
	}
	s.mu.Unlock()
	if u == nil {
		writeError(w, errNotFound("User", r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) updateUserHTTP(partial bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body userBody
		if e := decodeBody(r, &body); e != nil {
			writeError(w, e)
			return
		}
		s.mu.Lock()
		u := s.findUser(r.PathValue("id"))
		var e *Error
		var out map[string]any
		if u == nil {
			e = errNotFound("User", r.PathValue("id"))
		} else if body.Profile != nil || !partial {
			e = s.updateUserLocked(u, body.Profile, partial)
		}
		if e == nil && body.Credentials != nil && body.Credentials.Password != nil && body.Credentials.Password.Value != "" {
			u.password = true
			u.passwordChanged = ptime(s.now())
		}
		if e == nil {
			out = s.userJSON(orgURL(r), u)
		}
		s.mu.Unlock()
		if e != nil {
			writeError(w, e)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *Sim) deleteUserHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	u := s.findUser(r.PathValue("id"))
	if u != nil {
		// Okta deletes in two steps: the first DELETE deactivates.
		if u.status != StatusDeprovisioned {
			_ = s.lifecycleLocked(u, "deactivate")
		} else {
			s.deleteUserLocked(u)
		}
	}
	s.mu.Unlock()
	if u == nil {
		writeError(w, errNotFound("User", r.PathValue("id")))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) lifecycleHTTP(w http.ResponseWriter, r *http.Request) {
	op := r.PathValue("op")
	switch op {
	case "activate", "deactivate", "reactivate", "suspend", "unsuspend":
	default:
		writeError(w, errNotFound("Operation", op))
		return
	}
	s.mu.Lock()
	u := s.findUser(r.PathValue("id"))
	var e *Error
	if u == nil {
		e = errNotFound("User", r.PathValue("id"))
	} else {
		e = s.lifecycleLocked(u, op)
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	if (op == "activate" || op == "reactivate") && r.URL.Query().Get("sendEmail") == "false" {
		// Without the email Okta returns the activation link and token.
		writeJSON(w, http.StatusOK, map[string]any{
			"activationUrl":   orgURL(r) + "/welcome/" + u.id,
			"activationToken": u.id,
		})
		return
	}
	if op == "activate" || op == "reactivate" {
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Sim) userGroupsHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	u := s.findUser(r.PathValue("id"))
	var out []any
	if u != nil {
		base := orgURL(r)
		for _, g := range s.sortedGroups() {
			if g.members[u.id] {
				out = append(out, s.groupJSON(base, g))
			}
		}
	}
	s.mu.Unlock()
	if u == nil {
		writeError(w, errNotFound("User", r.PathValue("id")))
		return
	}
	if out == nil {
		out = []any{}
	}
	writeJSON(w, http.StatusOK, out)
}

// ---- apps ----

func (s *Sim) appJSON(base string, a *app) map[string]any {
	self := base + "/api/v1/apps/" + a.id
	features := []string{}
	if c := a.conn; c != nil {
		features = append(features, "IMPORT_NEW_USERS", "IMPORT_PROFILE_UPDATES")
		if c.CreateUsers {
			features = append(features, "PUSH_NEW_USERS")
		}
		if c.UpdateUsers {
			features = append(features, "PUSH_PROFILE_UPDATES")
		}
		if c.DeactivateUsers {
			features = append(features, "PUSH_USER_DEACTIVATION", "REACTIVATE_USERS")
		}
		if c.GroupPush {
			features = append(features, "GROUP_PUSH")
		}
	}
	return map[string]any{
		"id":            a.id,
		"name":          a.name,
		"label":         a.label,
		"status":        "ACTIVE",
		"created":       fmtTime(a.created),
		"lastUpdated":   fmtTime(a.lastUpdated),
		"signOnMode":    "AUTO_LOGIN",
		"features":      features,
		"accessibility": map[string]any{"selfService": false, "errorRedirectUrl": nil, "loginRedirectUrl": nil},
		"visibility": map[string]any{"autoSubmitToolbar": false,
			"hide": map[string]any{"iOS": false, "web": false}, "appLinks": map[string]any{"login": true}},
		"credentials": map[string]any{"scheme": "EDIT_USERNAME_AND_PASSWORD",
			"userNameTemplate": map[string]any{"template": "${source.login}", "type": "BUILT_IN"}},
		"settings": map[string]any{"app": map[string]any{}},
		"_links": map[string]any{
			"self":   href(self),
			"users":  href(self + "/users"),
			"groups": href(self + "/groups"),
		},
	}
}

func (s *Sim) listAppsHTTP(w http.ResponseWriter, r *http.Request) {
	pi := parseLimit(r, 20, 200)
	prefix := strings.ToLower(r.URL.Query().Get("q"))
	s.mu.Lock()
	var all []*app
	for _, a := range s.sortedApps() {
		if prefix == "" || strings.HasPrefix(strings.ToLower(a.label), prefix) || strings.HasPrefix(strings.ToLower(a.name), prefix) {
			all = append(all, a)
		}
	}
	page, next := paginate(s, all, func(a *app) string { return a.id }, pi)
	out := make([]any, 0, len(page))
	for _, a := range page {
		out = append(out, s.appJSON(orgURL(r), a))
	}
	s.mu.Unlock()
	setLinks(w, r, next)
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) getAppHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a, e := s.getApp(r.PathValue("appId"))
	var out map[string]any
	if e == nil {
		out = s.appJSON(orgURL(r), a)
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) appUserJSON(base string, a *app, au *appUser, expandUser bool) map[string]any {
	m := map[string]any{
		"id":              au.userID,
		"externalId":      nilIfEmpty(au.externalID),
		"created":         fmtTime(au.created),
		"lastUpdated":     fmtTime(au.lastUpdated),
		"scope":           au.scope(),
		"status":          au.status,
		"statusChanged":   fmtTime(au.statusChanged),
		"passwordChanged": nil,
		"syncState":       au.syncState,
		"lastSync":        fmtPTime(au.lastSync),
		"credentials":     map[string]any{"userName": au.userName},
		"profile":         cloneMap(au.profile),
		"_links": map[string]any{
			"app":  href(base + "/api/v1/apps/" + a.id),
			"user": href(base + "/api/v1/users/" + au.userID),
		},
	}
	if expandUser {
		if u := s.users[au.userID]; u != nil {
			m["_embedded"] = map[string]any{"user": s.userJSON(base, u)}
		}
	}
	return m
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Sim) listAppUsersHTTP(w http.ResponseWriter, r *http.Request) {
	pi := parseLimit(r, 50, 500)
	q := r.URL.Query()
	prefix := strings.ToLower(q.Get("q"))
	expand := q.Get("expand") == "user"
	s.mu.Lock()
	a, e := s.getApp(r.PathValue("appId"))
	var out []any
	var next string
	if e == nil {
		all := s.sortedAppUsers(a)
		if prefix != "" {
			var matching []*appUser
			for _, au := range all {
				if appUserMatchesQ(au, prefix) {
					matching = append(matching, au)
				}
			}
			all = matching
		}
		var page []*appUser
		page, next = paginate(s, all, func(au *appUser) string { return au.userID }, pi)
		out = make([]any, 0, len(page))
		for _, au := range page {
			out = append(out, s.appUserJSON(orgURL(r), a, au, expand))
		}
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	setLinks(w, r, next)
	writeJSON(w, http.StatusOK, out)
}

// appUserMatchesQ is Okta's q on app users: a prefix of the app username
// or of the app profile's first name, last name or email.
func appUserMatchesQ(au *appUser, prefix string) bool {
	if strings.HasPrefix(strings.ToLower(au.userName), prefix) {
		return true
	}
	for _, k := range []string{"givenName", "familyName", "firstName", "lastName", "email"} {
		if strings.HasPrefix(strings.ToLower(str(au.profile, k)), prefix) {
			return true
		}
	}
	return false
}

func (s *Sim) getAppUserHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a, e := s.getApp(r.PathValue("appId"))
	var out map[string]any
	if e == nil {
		if au := a.users[r.PathValue("userId")]; au == nil {
			e = errNotFound("AppUser", r.PathValue("userId"))
		} else {
			out = s.appUserJSON(orgURL(r), a, au, r.URL.Query().Get("expand") == "user")
		}
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

type appUserBody struct {
	ID          string `json:"id"`
	Scope       string `json:"scope"`
	Credentials *struct {
		UserName string `json:"userName"`
	} `json:"credentials"`
	Profile map[string]any `json:"profile"`
}

func (b appUserBody) userName() string {
	if b.Credentials == nil {
		return ""
	}
	return b.Credentials.UserName
}

func (s *Sim) assignUserHTTP(w http.ResponseWriter, r *http.Request) {
	var body appUserBody
	if e := decodeBody(r, &body); e != nil {
		writeError(w, e)
		return
	}
	if body.ID == "" {
		writeError(w, errValidation("id", "id: The field cannot be left blank"))
		return
	}
	if body.Scope != "" && body.Scope != "USER" {
		writeError(w, errValidation("scope", "scope: Does not match required pattern"))
		return
	}
	s.mu.Lock()
	a, e := s.getApp(r.PathValue("appId"))
	var out map[string]any
	if e == nil {
		var au *appUser
		// status, syncState and externalId in the body are read-only and
		// ignored, as Okta ignores them.
		au, _, e = s.assignLocked(a, body.ID, body.userName(), body.Profile)
		if e == nil {
			out = s.appUserJSON(orgURL(r), a, au, false)
		}
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) updateAppUserHTTP(w http.ResponseWriter, r *http.Request) {
	var body appUserBody
	if e := decodeBody(r, &body); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	a, e := s.getApp(r.PathValue("appId"))
	var out map[string]any
	if e == nil {
		var au *appUser
		au, e = s.updateAppUserLocked(a, r.PathValue("userId"), body.userName(), body.Scope, body.Profile)
		if e == nil {
			out = s.appUserJSON(orgURL(r), a, au, false)
		}
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) unassignUserHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a, e := s.getApp(r.PathValue("appId"))
	if e == nil {
		e = s.unassignLocked(a, r.PathValue("userId"))
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) appGroupJSON(base string, a *app, ag *appGroup) map[string]any {
	return map[string]any{
		"id":          ag.groupID,
		"lastUpdated": fmtTime(ag.lastUpdated),
		"priority":    ag.priority,
		"profile":     cloneMap(ag.profile),
		"_links": map[string]any{
			"app":   href(base + "/api/v1/apps/" + a.id),
			"group": href(base + "/api/v1/groups/" + ag.groupID),
		},
	}
}

func (s *Sim) listAppGroupsHTTP(w http.ResponseWriter, r *http.Request) {
	pi := parseLimit(r, 20, 200)
	s.mu.Lock()
	a, e := s.getApp(r.PathValue("appId"))
	var out []any
	var next string
	if e == nil {
		var all []*appGroup
		for _, gid := range sortedKeys(a.groups) {
			all = append(all, a.groups[gid])
		}
		sortBySeq(s, all, func(ag *appGroup) string { return ag.groupID })
		var page []*appGroup
		page, next = paginate(s, all, func(ag *appGroup) string { return ag.groupID }, pi)
		out = make([]any, 0, len(page))
		for _, ag := range page {
			out = append(out, s.appGroupJSON(orgURL(r), a, ag))
		}
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	setLinks(w, r, next)
	writeJSON(w, http.StatusOK, out)
}

// sortBySeq orders items by the creation sequence of their ids.
func sortBySeq[T any](s *Sim, items []T, idOf func(T) string) {
	slices.SortFunc(items, func(a, b T) int { return cmpU64(s.seqOf[idOf(a)], s.seqOf[idOf(b)]) })
}

func (s *Sim) getAppGroupHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a, e := s.getApp(r.PathValue("appId"))
	var out map[string]any
	if e == nil {
		if ag := a.groups[r.PathValue("groupId")]; ag == nil {
			e = errNotFound("AppGroup", r.PathValue("groupId"))
		} else {
			out = s.appGroupJSON(orgURL(r), a, ag)
		}
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) assignGroupHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Priority int64          `json:"priority"`
		Profile  map[string]any `json:"profile"`
	}
	if e := decodeBody(r, &body); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	a, e := s.getApp(r.PathValue("appId"))
	var out map[string]any
	if e == nil {
		if g := s.groups[r.PathValue("groupId")]; g == nil {
			e = errNotFound("Group", r.PathValue("groupId"))
		} else {
			out = s.appGroupJSON(orgURL(r), a, s.assignGroupLocked(a, g, body.Priority, body.Profile))
		}
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) unassignGroupHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a, e := s.getApp(r.PathValue("appId"))
	if e == nil {
		g := s.groups[r.PathValue("groupId")]
		if g == nil || a.groups[g.id] == nil {
			e = errNotFound("AppGroup", r.PathValue("groupId"))
		} else {
			s.unassignGroupLocked(a, g)
		}
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- groups ----

func (s *Sim) groupJSON(base string, g *group) map[string]any {
	self := base + "/api/v1/groups/" + g.id
	return map[string]any{
		"id":                    g.id,
		"created":               fmtTime(g.created),
		"lastUpdated":           fmtTime(g.lastUpdated),
		"lastMembershipUpdated": fmtTime(g.lastMembershipUpdated),
		"objectClass":           []string{"okta:user_group"},
		"type":                  "OKTA_GROUP",
		"profile":               map[string]any{"name": g.name, "description": g.description},
		"_links": map[string]any{
			"self":  href(self),
			"users": href(self + "/users"),
			"apps":  href(self + "/apps"),
		},
	}
}

func (s *Sim) listGroupsHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var match func(*group) bool
	switch {
	case q.Get("search") != "" || q.Get("filter") != "":
		src, rules := q.Get("search"), searchRules
		if src == "" {
			src, rules = q.Get("filter"), groupFilterRules
		}
		e, err := parseExpr(src, rules)
		if err != nil {
			writeError(w, &Error{Status: http.StatusBadRequest, Code: "E0000031", Summary: "Invalid search criteria."})
			return
		}
		match = func(g *group) bool { return e.match(groupResolver(g)) }
	case q.Get("q") != "":
		prefix := strings.ToLower(q.Get("q"))
		match = func(g *group) bool { return strings.HasPrefix(strings.ToLower(g.name), prefix) }
	default:
		match = func(*group) bool { return true }
	}
	pi := parseLimit(r, 10000, 10000)
	s.mu.Lock()
	var all []*group
	for _, g := range s.sortedGroups() {
		if match(g) {
			all = append(all, g)
		}
	}
	page, next := paginate(s, all, func(g *group) string { return g.id }, pi)
	out := make([]any, 0, len(page))
	for _, g := range page {
		out = append(out, s.groupJSON(orgURL(r), g))
	}
	s.mu.Unlock()
	setLinks(w, r, next)
	writeJSON(w, http.StatusOK, out)
}

type groupBody struct {
	Profile struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"profile"`
}

func (s *Sim) createGroupHTTP(w http.ResponseWriter, r *http.Request) {
	var body groupBody
	if e := decodeBody(r, &body); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	g, e := s.createGroupLocked(body.Profile.Name, body.Profile.Description)
	var out map[string]any
	if e == nil {
		out = s.groupJSON(orgURL(r), g)
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) withGroup(w http.ResponseWriter, r *http.Request, fn func(g *group) (any, *Error)) {
	s.mu.Lock()
	g := s.groups[r.PathValue("id")]
	var out any
	var e *Error
	if g == nil {
		e = errNotFound("Group", r.PathValue("id"))
	} else {
		out, e = fn(g)
	}
	s.mu.Unlock()
	switch {
	case e != nil:
		writeError(w, e)
	case out == nil:
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *Sim) getGroupHTTP(w http.ResponseWriter, r *http.Request) {
	s.withGroup(w, r, func(g *group) (any, *Error) { return s.groupJSON(orgURL(r), g), nil })
}

func (s *Sim) updateGroupHTTP(w http.ResponseWriter, r *http.Request) {
	var body groupBody
	if e := decodeBody(r, &body); e != nil {
		writeError(w, e)
		return
	}
	s.withGroup(w, r, func(g *group) (any, *Error) {
		if e := s.updateGroupLocked(g, body.Profile.Name, body.Profile.Description); e != nil {
			return nil, e
		}
		return s.groupJSON(orgURL(r), g), nil
	})
}

func (s *Sim) deleteGroupHTTP(w http.ResponseWriter, r *http.Request) {
	s.withGroup(w, r, func(g *group) (any, *Error) {
		s.deleteGroupLocked(g)
		return nil, nil
	})
}

func (s *Sim) listMembersHTTP(w http.ResponseWriter, r *http.Request) {
	pi := parseLimit(r, 1000, 10000)
	var next string
	var out []any
	s.mu.Lock()
	g := s.groups[r.PathValue("id")]
	if g != nil {
		var all []*user
		for _, id := range s.memberIDs(g) {
			all = append(all, s.users[id])
		}
		var page []*user
		page, next = paginate(s, all, func(u *user) string { return u.id }, pi)
		out = make([]any, 0, len(page))
		for _, u := range page {
			out = append(out, s.userJSON(orgURL(r), u))
		}
	}
	s.mu.Unlock()
	if g == nil {
		writeError(w, errNotFound("Group", r.PathValue("id")))
		return
	}
	setLinks(w, r, next)
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) addMemberHTTP(w http.ResponseWriter, r *http.Request) {
	s.withGroup(w, r, func(g *group) (any, *Error) {
		u := s.users[r.PathValue("userId")]
		if u == nil {
			return nil, errNotFound("User", r.PathValue("userId"))
		}
		s.addMemberLocked(g, u)
		return nil, nil
	})
}

func (s *Sim) removeMemberHTTP(w http.ResponseWriter, r *http.Request) {
	s.withGroup(w, r, func(g *group) (any, *Error) {
		u := s.users[r.PathValue("userId")]
		if u == nil {
			return nil, errNotFound("User", r.PathValue("userId"))
		}
		s.removeMemberLocked(g, u)
		return nil, nil
	})
}

// errAs is errors.As for *Error.
func errAs(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
