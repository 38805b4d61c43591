package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/resource"
)

func scimRequestEndpoints(api huma.API, m *manage.Manager) {
	huma.Register(api, op("listSCIMRequests", http.MethodGet, "/tenants/{tenant}/scim-requests",
		"List the SCIM requests the tenant's identity provider sent, newest first, with their redacted bodies", "scim-requests"),
		func(ctx context.Context, in *struct {
			TenantPath
			Paging
			Status string    `query:"status" doc:"only this status class: 1xx, 2xx, 3xx, 4xx or 5xx"`
			Since  time.Time `query:"since" doc:"only requests at or after this time"`
			Until  time.Time `query:"until" doc:"only requests before this time"`
		}) (*listOutput[resource.SCIMRequest], error) {
			page, err := m.ListSCIMRequests(ctx, manage.SCIMRequestQuery{Tenant: in.Tenant, StatusClass: in.Status, Since: in.Since, Until: in.Until,
				Limit: in.Limit, After: in.After})
			if err != nil {
				return nil, fail(err)
			}
			return listOf(scimRequestResources(page.Items), page.Next), nil
		})
}

func scimRequestResources(rs []appstore.SCIMRequest) []resource.SCIMRequest {
	out := make([]resource.SCIMRequest, len(rs))
	for i, r := range rs {
		out[i] = appstore.SCIMRequestResource(r)
	}
	return out
}
