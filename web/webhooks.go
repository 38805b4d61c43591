package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/resource"
)

type webhooksData struct {
	Webhooks []resource.Webhook
	// New is an endpoint just created, with its signing secret shown this once.
	New *resource.Webhook
	// The form's values after a refused create.
	URL, Tenants, Types string
}

func (h *Handler) webhooksPage(w http.ResponseWriter, r *http.Request, status int, p page, d webhooksData) {
	list, err := h.m.ListWebhooks(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.Webhooks = list
	p.Title, p.Tenant, p.Data = "Webhooks", "-", d
	h.render(w, r, status, "webhooks", p)
}

func (h *Handler) webhooks(w http.ResponseWriter, r *http.Request, s *session) {
	h.webhooksPage(w, r, http.StatusOK, page{Flash: h.takeFlash(w, r)}, webhooksData{})
}

func (h *Handler) createWebhook(w http.ResponseWriter, r *http.Request, s *session) {
	d := webhooksData{URL: r.PostFormValue("url"), Tenants: r.PostFormValue("tenants"), Types: r.PostFormValue("types")}
	wh, err := h.m.CreateWebhook(r.Context(), manage.NewWebhook{URL: strings.TrimSpace(d.URL), Tenants: splitList(d.Tenants), Types: splitList(d.Types)})
	if h.formError(err, func(st int, msg string) { h.webhooksPage(w, r, st, page{Error: msg}, d) }) {
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.webhooksPage(w, r, http.StatusCreated, page{Flash: "Webhook " + wh.ID + " created."}, webhooksData{New: &wh})
}

type webhookData struct {
	Webhook    resource.Webhook
	Deliveries []resource.Delivery
}

func (h *Handler) webhookPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	wh, err := h.m.GetWebhook(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ds, err := h.m.ListDeliveries(ctx, wh.ID, 50)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "webhook", page{Title: "Webhook " + wh.ID, Tenant: "-", Flash: h.takeFlash(w, r), Data: webhookData{Webhook: wh, Deliveries: ds}})
}

func (h *Handler) webhookAction(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	id := r.PathValue("id")
	back := "/console/webhooks/" + id
	switch r.PathValue("action") {
	case "test":
		if _, err := h.m.TestWebhook(ctx, id); err != nil {
			h.fail(w, r, err)
			return
		}
		h.redirect(w, r, back, "A test event is queued for delivery.")
	case "enable", "disable":
		on := r.PathValue("action") == "enable"
		if _, err := h.m.UpdateWebhook(ctx, id, manage.WebhookChanges{Enabled: &on}); err != nil {
			h.fail(w, r, err)
			return
		}
		h.redirect(w, r, back, "Webhook "+r.PathValue("action")+"d.")
	case "retry":
		n, err := strconv.ParseInt(r.PostFormValue("delivery"), 10, 64)
		if err != nil {
			h.notFound(w, r)
			return
		}
		if _, err := h.m.RetryDelivery(ctx, id, n); err != nil {
			h.fail(w, r, err)
			return
		}
		h.redirect(w, r, back, "Delivery "+strconv.FormatInt(n, 10)+" sent again.")
	case "remove":
		if !h.confirmed(w, r, "Remove webhook "+id+"? Its pending deliveries are dropped.", back) {
			return
		}
		if err := h.m.DeleteWebhook(ctx, id); err != nil {
			h.fail(w, r, err)
			return
		}
		h.redirect(w, r, "/console/webhooks", "Webhook "+id+" removed.")
	default:
		h.notFound(w, r)
	}
}
