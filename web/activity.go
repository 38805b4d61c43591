package web

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/resource"
)

type activityData struct {
	Actor, Resource, Since string
	Audit                  []resource.AuditEvent
	Next                   string
	CSVURL                 string
	// The SCIM request log, filtered by status class.
	Status       string
	Requests     []appstore.SCIMRequest
	RequestsNext string
}

// auditQuery reads the activity page's filters.
func auditQuery(r *http.Request) (manage.AuditQuery, error) {
	q := r.URL.Query()
	aq := manage.AuditQuery{Tenant: r.PathValue("tenant"), Actor: strings.TrimSpace(q.Get("actor")),
		Resource: strings.TrimSpace(q.Get("resource")), After: q.Get("after"), Limit: 50}
	if s := q.Get("since"); s != "" {
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			return aq, err
		}
		aq.Since = t
	}
	return aq, nil
}

func (h *Handler) activity(w http.ResponseWriter, r *http.Request, s *session) {
	tenant := r.PathValue("tenant")
	q := r.URL.Query()
	d := activityData{Actor: q.Get("actor"), Resource: q.Get("resource"), Since: q.Get("since")}
	aq, err := auditQuery(r)
	if err != nil {
		h.render(w, r, http.StatusBadRequest, "activity", page{Title: "Activity", Section: "activity", Error: "Since must be a date such as 2026-01-31.", Data: d})
		return
	}
	// failed answers a bad filter with the page and its message, anything else as a
	// failure; it reports whether the request was answered.
	failed := func(err error) bool {
		if h.formError(err, func(st int, msg string) {
			h.render(w, r, st, "activity", page{Title: "Activity", Section: "activity", Error: msg, Data: d})
		}) {
			return true
		}
		if err != nil {
			h.fail(w, r, err)
			return true
		}
		return false
	}
	pg, err := h.m.ListAudit(r.Context(), aq)
	if failed(err) {
		return
	}
	d.Audit, d.Next = pg.Items, pg.Next
	d.Status = q.Get("status")
	reqs, err := h.m.ListSCIMRequests(r.Context(), manage.SCIMRequestQuery{Tenant: tenant, StatusClass: d.Status, Limit: 25, After: q.Get("scimAfter")})
	if failed(err) {
		return
	}
	d.Requests, d.RequestsNext = reqs.Items, reqs.Next
	csvq := q
	csvq.Del("after")
	d.CSVURL = tenantPath(tenant, "activity.csv") + "?" + csvq.Encode()
	h.render(w, r, http.StatusOK, "activity", page{Title: "Activity", Section: "activity", Data: d})
}

// activityCSV streams the filtered audit trail as CSV.
func (h *Handler) activityCSV(w http.ResponseWriter, r *http.Request, s *session) {
	aq, err := auditQuery(r)
	if err != nil {
		h.message(w, r, http.StatusBadRequest, "That did not work", "Since must be a date such as 2026-01-31.")
		return
	}
	// Check the query before the first byte, so an error can still be a page.
	if _, err := h.m.ListAudit(r.Context(), manage.AuditQuery{Tenant: aq.Tenant, Limit: 1}); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="oktasync-`+aq.Tenant+`-audit.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "time", "tenant", "actor", "operation", "resourceType", "resourceId", "changes"})
	err = h.m.EachAudit(r.Context(), aq, func(e resource.AuditEvent) error {
		changes, _ := json.Marshal(e.Changes)
		return cw.Write([]string{strconv.FormatInt(e.ID, 10), e.Time.UTC().Format(time.RFC3339Nano), e.Tenant, e.Actor,
			e.Operation, e.ResourceType, e.ResourceID, string(changes)})
	})
	cw.Flush()
	if err != nil {
		h.o.Logger.Error("audit CSV cut short", "tenant", aq.Tenant, "err", err)
	}
}
