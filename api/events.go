package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/oktasync/oktasync/event"
	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/resource"
)

// EventQuery are the query parameters of the feed.
type EventQuery struct {
	After int64    `query:"after" minimum:"0" doc:"the seq of the last event read: events after it (0: from the oldest kept)"`
	Limit int      `query:"limit" default:"100" minimum:"1" maximum:"1000" doc:"page size"`
	Types []string `query:"types" explode:"false" doc:"only events of these types, comma-separated"`
}

// EventList is a page of the feed. Next is the cursor to read on from: the seq of the
// last event in data, or after when data is empty (poll again with it).
type EventList struct {
	Data []event.Event `json:"data"`
	Next int64         `json:"next"`
}

// goneError is the 410 of a cursor older than the oldest kept event; oldest is the
// cursor to restart from.
type goneError struct {
	huma.ErrorModel
	Oldest int64 `json:"oldest" doc:"the oldest cursor still served: read again with after=oldest"`
}

func (e *goneError) GetStatus() int { return http.StatusGone }

func eventsPage(ctx context.Context, m *manage.Manager, tenant string, in EventQuery) (*bodyOutput[EventList], error) {
	p, err := m.ListEvents(ctx, manage.EventQuery{After: in.After, Limit: in.Limit, Tenant: tenant, Types: in.Types})
	var old *manage.CursorTooOld
	if errors.As(err, &old) {
		return nil, &goneError{ErrorModel: huma.ErrorModel{Type: "about:blank", Title: http.StatusText(http.StatusGone), Status: http.StatusGone,
			Detail: old.Error()}, Oldest: old.Oldest}
	}
	if err != nil {
		return nil, fail(err)
	}
	out := EventList{Data: p.Events, Next: p.Next}
	if out.Data == nil {
		out.Data = []event.Event{}
	}
	return &bodyOutput[EventList]{Body: out}, nil
}

func eventEndpoints(api huma.API, m *manage.Manager) {
	huma.Register(api, op("listEvents", http.MethodGet, "/events", "Read the change feed of every tenant, in seq order", "events"),
		func(ctx context.Context, in *struct {
			EventQuery
			Tenant string `query:"tenant" doc:"only this tenant's events"`
		}) (*bodyOutput[EventList], error) {
			return eventsPage(ctx, m, in.Tenant, in.EventQuery)
		})
	huma.Register(api, op("listTenantEvents", http.MethodGet, "/tenants/{tenant}/events", "Read a tenant's change feed, in seq order", "events"),
		func(ctx context.Context, in *struct {
			TenantPath
			EventQuery
		}) (*bodyOutput[EventList], error) {
			return eventsPage(ctx, m, in.Tenant, in.EventQuery)
		})
}

type WebhookPath struct {
	ID string `path:"id" doc:"webhook id"`
}

func webhookEndpoints(api huma.API, m *manage.Manager) {
	huma.Register(api, created(op("createWebhook", http.MethodPost, "/webhooks", "Create a webhook endpoint (its signing secret is shown only here)", "webhooks")),
		func(ctx context.Context, in *struct {
			Body struct {
				URL     string   `json:"url" doc:"http or https; private, loopback and link-local hosts are refused unless OKTASYNC_WEBHOOK_ALLOW_PRIVATE=true"`
				Tenants []string `json:"tenants,omitempty" doc:"only these tenants' events; empty for all"`
				Types   []string `json:"types,omitempty" doc:"only these event types; empty for all"`
			}
		}) (*bodyOutput[resource.Webhook], error) {
			return body(m.CreateWebhook(ctx, manage.NewWebhook{URL: in.Body.URL, Tenants: in.Body.Tenants, Types: in.Body.Types}))
		})
	huma.Register(api, op("listWebhooks", http.MethodGet, "/webhooks", "List webhook endpoints", "webhooks"),
		func(ctx context.Context, in *struct{}) (*listOutput[resource.Webhook], error) {
			list, err := m.ListWebhooks(ctx)
			if err != nil {
				return nil, fail(err)
			}
			return listOf(list, ""), nil
		})
	huma.Register(api, op("getWebhook", http.MethodGet, "/webhooks/{id}", "Get a webhook endpoint", "webhooks"),
		func(ctx context.Context, in *WebhookPath) (*bodyOutput[resource.Webhook], error) {
			return body(m.GetWebhook(ctx, in.ID))
		})
	huma.Register(api, op("updateWebhook", http.MethodPatch, "/webhooks/{id}", "Change a webhook endpoint's url, tenants, types or enabled state", "webhooks"),
		func(ctx context.Context, in *struct {
			WebhookPath
			Body struct {
				URL     *string   `json:"url,omitempty"`
				Tenants *[]string `json:"tenants,omitempty"`
				Types   *[]string `json:"types,omitempty"`
				Enabled *bool     `json:"enabled,omitempty"`
			}
		}) (*bodyOutput[resource.Webhook], error) {
			b := in.Body
			return body(m.UpdateWebhook(ctx, in.ID, manage.WebhookChanges{URL: b.URL, Tenants: b.Tenants, Types: b.Types, Enabled: b.Enabled}))
		})
	huma.Register(api, op("deleteWebhook", http.MethodDelete, "/webhooks/{id}", "Remove a webhook endpoint and its queued deliveries", "webhooks"),
		func(ctx context.Context, in *WebhookPath) (*struct{}, error) {
			return noContent(m.DeleteWebhook(ctx, in.ID))
		})
	huma.Register(api, op("rotateWebhookSecret", http.MethodPost, "/webhooks/{id}/rotate-secret", "Give the endpoint a new signing secret; the old one keeps signing for 24 h", "webhooks"),
		func(ctx context.Context, in *WebhookPath) (*bodyOutput[resource.Webhook], error) {
			return body(m.RotateWebhookSecret(ctx, in.ID))
		})
	huma.Register(api, created(op("testWebhook", http.MethodPost, "/webhooks/{id}/test", "Send the endpoint a ping event", "webhooks")),
		func(ctx context.Context, in *WebhookPath) (*bodyOutput[resource.Delivery], error) {
			return body(m.TestWebhook(ctx, in.ID))
		})
	huma.Register(api, op("listDeliveries", http.MethodGet, "/webhooks/{id}/deliveries", "List the endpoint's deliveries, newest first", "webhooks"),
		func(ctx context.Context, in *struct {
			WebhookPath
			Limit int `query:"limit" default:"100" minimum:"1" maximum:"1000" doc:"how many"`
		}) (*listOutput[resource.Delivery], error) {
			list, err := m.ListDeliveries(ctx, in.ID, in.Limit)
			if err != nil {
				return nil, fail(err)
			}
			return listOf(list, ""), nil
		})
	huma.Register(api, op("retryDelivery", http.MethodPost, "/webhooks/{id}/deliveries/{delivery}/retry", "Send a delivery again now", "webhooks"),
		func(ctx context.Context, in *struct {
			WebhookPath
			Delivery int64 `path:"delivery" doc:"delivery id"`
		}) (*bodyOutput[resource.Delivery], error) {
			return body(m.RetryDelivery(ctx, in.ID, in.Delivery))
		})
}
