package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/manage"
)

// setupLinkEndpoints serve the links that open a tenant's setup pages for the customer's
// administrator.
func setupLinkEndpoints(api huma.API, m *manage.Manager) {
	huma.Register(api, created(op("createSetupLink", http.MethodPost, "/tenants/{tenant}/setup-links", "Make a setup link (its URL is shown only here)", "setup links")),
		func(ctx context.Context, in *struct {
			TenantPath
			Body *struct {
				TTL string `json:"ttl,omitempty" doc:"how long the link works, a Go duration from 1m to 720h (default 24h)"`
			} `required:"false"`
		}) (*bodyOutput[manage.SetupLink], error) {
			ttl := manage.DefaultSetupLinkTTL
			if in.Body != nil && in.Body.TTL != "" {
				d, err := time.ParseDuration(in.Body.TTL)
				if err != nil {
					return nil, fail(errkind.InvalidField("api.createSetupLink", "ttl", "%q is not a duration such as 24h or 30m", in.Body.TTL))
				}
				ttl = d
			}
			return body(m.CreateSetupLink(ctx, in.Tenant, ttl))
		})
	huma.Register(api, op("listSetupLinks", http.MethodGet, "/tenants/{tenant}/setup-links", "List the tenant's setup links that still work (without their URLs)", "setup links"),
		func(ctx context.Context, in *TenantPath) (*listOutput[manage.SetupLink], error) {
			list, err := m.ListSetupLinks(ctx, in.Tenant)
			if err != nil {
				return nil, fail(err)
			}
			return listOf(list, ""), nil
		})
	huma.Register(api, op("deleteSetupLink", http.MethodDelete, "/tenants/{tenant}/setup-links/{id}", "Revoke a setup link and end the sessions it opened", "setup links"),
		func(ctx context.Context, in *struct {
			TenantPath
			ID string `path:"id" doc:"setup link id"`
		}) (*struct{}, error) {
			return noContent(m.RevokeSetupLink(ctx, in.Tenant, in.ID))
		})
}
