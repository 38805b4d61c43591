package api

import (
	"context"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/oktasync/oktasync/manage"
	"github.com/oktasync/oktasync/resource"
	"github.com/oktasync/oktasync/syncer"
)

// AuditInput selects audit events.
type AuditInput struct {
	TenantPath
	Paging
	Resource string    `query:"resource" doc:"only events about this resource id"`
	Actor    string    `query:"actor" doc:"kind:id (api:KEYID, scim:CREDENTIAL) or a kind alone (scim, app, api, cli, syncer, system)"`
	Since    time.Time `query:"since" doc:"only events at or after this time"`
	Until    time.Time `query:"until" doc:"only events before this time"`
	Format   string    `query:"format" enum:"json,csv" default:"json" doc:"csv streams every matching event (limit and after ignored) with a header row"`
}

func auditEndpoints(api huma.API, m *manage.Manager) {
	o := op("listAudit", http.MethodGet, "/tenants/{tenant}/audit", "List the tenant's audit trail, newest first, as JSON pages or streamed CSV", "audit")
	listSchema := api.OpenAPI().Components.Schemas.Schema(reflect.TypeOf(List[resource.AuditEvent]{}), true, "")
	o.Responses = map[string]*huma.Response{
		"200": {Description: "a page of events, or with format=csv every event", Content: map[string]*huma.MediaType{
			"application/json": {Schema: listSchema},
			"text/csv":         {Schema: &huma.Schema{Type: "string"}},
		}},
	}
	huma.Register(api, o, func(ctx context.Context, in *AuditInput) (*huma.StreamResponse, error) {
		q := manage.AuditQuery{Tenant: in.Tenant, Resource: in.Resource, Actor: in.Actor, Since: in.Since, Until: in.Until, Limit: in.Limit, After: in.After}
		page, err := m.ListAudit(ctx, q) // also checks the tenant and the cursor before anything is written
		if err != nil {
			return nil, fail(err)
		}
		return &huma.StreamResponse{Body: func(hc huma.Context) {
			if in.Format == "csv" {
				hc.SetHeader("Content-Type", "text/csv; charset=utf-8")
				hc.SetHeader("Content-Disposition", `attachment; filename="audit-`+in.Tenant+`.csv"`)
				q.After = ""
				_ = m.WriteAuditCSV(ctx, hc.BodyWriter(), q)
				return
			}
			hc.SetHeader("Content-Type", "application/json")
			_ = huma.DefaultJSONFormat.Marshal(hc.BodyWriter(), listOf(page.Items, page.Next).Body)
		}}, nil
	})
}

type syncRunOutput struct {
	Location string `header:"Location"`
	Body     syncer.RunJSON
}

// apiRun points a run's location at this API.
func apiRun(r syncer.RunJSON) syncer.RunJSON {
	r.Location = Prefix + "/tenants/" + r.Tenant + "/sync/" + strconv.FormatInt(r.ID, 10)
	return r
}

func syncEndpoints(api huma.API, m *manage.Manager) {
	o := op("startSync", http.MethodPost, "/tenants/{tenant}/sync", "Start a sync with Okta (incremental, or the full drift check); it runs on after the answer", "sync")
	o.DefaultStatus = http.StatusAccepted
	huma.Register(api, o, func(ctx context.Context, in *struct {
		TenantPath
		Full   bool `query:"full" doc:"the full drift check instead of the incremental sync"`
		DryRun bool `query:"dryRun" doc:"compute the plan; change nothing"`
		Body   *struct {
			Full   bool `json:"full,omitempty"`
			DryRun bool `json:"dryRun,omitempty"`
		} `required:"false"`
	}) (*syncRunOutput, error) {
		full, dry := in.Full, in.DryRun
		if in.Body != nil {
			full, dry = full || in.Body.Full, dry || in.Body.DryRun
		}
		run, err := m.StartSync(ctx, in.Tenant, full, dry, syncer.TriggerAPI)
		if err != nil {
			return nil, fail(err)
		}
		run = apiRun(run)
		return &syncRunOutput{Location: run.Location, Body: run}, nil
	})
	huma.Register(api, op("listSyncRuns", http.MethodGet, "/tenants/{tenant}/sync", "List the tenant's recent sync runs, newest first", "sync"),
		func(ctx context.Context, in *struct {
			TenantPath
			Limit int `query:"limit" default:"20" minimum:"1" maximum:"1000"`
		}) (*listOutput[syncer.RunJSON], error) {
			runs, err := m.ListSyncRuns(ctx, in.Tenant, in.Limit, 0)
			if err != nil {
				return nil, fail(err)
			}
			for i := range runs {
				runs[i] = apiRun(runs[i])
			}
			return listOf(runs, ""), nil
		})
	huma.Register(api, op("getSyncRun", http.MethodGet, "/tenants/{tenant}/sync/{id}", "Get a sync run with its progress, errors and (while the server remembers it) its plan", "sync"),
		func(ctx context.Context, in *struct {
			TenantPath
			ID int64 `path:"id"`
		}) (*bodyOutput[syncer.RunJSON], error) {
			run, err := m.GetSyncRun(ctx, in.Tenant, in.ID)
			if err != nil {
				return nil, fail(err)
			}
			return &bodyOutput[syncer.RunJSON]{Body: apiRun(run)}, nil
		})
}
