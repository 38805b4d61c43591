package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/resource"
)

const pageSize = 25

// sourceLabel names where a user came from, as the admin knows the systems.
func sourceLabel(u resource.User) string {
	switch u.Source {
	case "scim":
		switch u.SourceClient {
		case "okta":
			return "SCIM Okta"
		case "entra":
			return "SCIM Entra ID"
		}
		return "SCIM"
	case "app":
		return "App"
	case "okta":
		return "Okta import"
	}
	return u.Source
}

// quoteSCIM writes s as a SCIM filter string literal (JSON string rules).
func quoteSCIM(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

// searchFilter is the SCIM filter of the users page's search box: userName, email or name.
func searchFilter(q string) string {
	q = strings.TrimSpace(q)
	if q == "" {
		return ""
	}
	v := quoteSCIM(q)
	return "userName co " + v + " or emails.value co " + v + " or displayName co " + v +
		" or name.givenName co " + v + " or name.familyName co " + v
}

type userRow struct {
	resource.User
	SourceLabel string
}

type usersData struct {
	Query string
	Users []userRow
	Total int
	Next  string // the cursor of the next page, "" on the last
	Start int    // 1-based position of the first row
}

func (h *Handler) usersPage(w http.ResponseWriter, r *http.Request, s *session) {
	tenant := r.PathValue("tenant")
	q := r.URL.Query()
	start, _ := strconv.Atoi(q.Get("start"))
	if start < 1 {
		start = 1
	}
	pg, err := h.m.ListUsers(r.Context(), tenant, manage.UserQuery{Filter: searchFilter(q.Get("q")), Limit: pageSize, After: q.Get("after"), WithTotal: true})
	if h.formError(err, func(st int, msg string) {
		h.render(w, r, st, "users", page{Title: "Users", Section: "users", Error: msg, Data: usersData{Query: q.Get("q")}})
	}) {
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := usersData{Query: q.Get("q"), Total: pg.Total, Next: pg.Next, Start: start}
	for _, u := range pg.Items {
		d.Users = append(d.Users, userRow{User: u, SourceLabel: sourceLabel(u)})
	}
	h.render(w, r, http.StatusOK, "users", page{Title: "Users", Section: "users", Data: d})
}

type userData struct {
	User        userRow
	Attributes  string // the SCIM attributes, as indented JSON
	Audit       []resource.AuditEvent
	OktaUserURL string
}

func (h *Handler) userPage(w http.ResponseWriter, r *http.Request, s *session) {
	tenant := r.PathValue("tenant")
	ctx := r.Context()
	u, err := h.m.GetUser(ctx, tenant, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	audit, err := h.m.ListAudit(ctx, manage.AuditQuery{Tenant: tenant, Resource: u.ID, Limit: 50})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := userData{User: userRow{User: u, SourceLabel: sourceLabel(u)}, Attributes: indentJSON(u.Attributes), Audit: audit.Items}
	h.render(w, r, http.StatusOK, "user", page{Title: u.UserName, Section: "users", Data: d})
}

type groupsData struct {
	Groups []resource.Group
	Total  int
	Next   string
}

func (h *Handler) groupsPage(w http.ResponseWriter, r *http.Request, s *session) {
	tenant := r.PathValue("tenant")
	pg, err := h.m.ListGroups(r.Context(), tenant, manage.GroupQuery{Limit: pageSize, After: r.URL.Query().Get("after"), WithTotal: true})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "groups", page{Title: "Groups", Section: "groups", Data: groupsData{Groups: pg.Items, Total: pg.Total, Next: pg.Next}})
}

type groupData struct {
	Group   resource.Group
	Members []resource.Member
	Next    string
}

func (h *Handler) groupPage(w http.ResponseWriter, r *http.Request, s *session) {
	tenant := r.PathValue("tenant")
	ctx := r.Context()
	g, err := h.m.GetGroup(ctx, tenant, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	members, err := h.m.ListMembers(ctx, tenant, g.ID, pageSize, r.URL.Query().Get("after"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "group", page{Title: g.DisplayName, Section: "groups", Data: groupData{Group: g, Members: members.Items, Next: members.Next}})
}
