// Package api serves the vendor API, /api/v1: JSON over HTTP for the app's developers,
// a thin adapter over the management layer (package manage). Handlers are typed Go
// functions registered with github.com/danielgtaylor/huma/v2, which derives the OpenAPI
// 3.1 document (GET /api/v1/openapi.json) from them, validates input against it (unknown
// JSON fields are refused) and answers errors as RFC 9457 problem+json.
//
// Conventions every endpoint follows:
//   - Auth: "Authorization: Bearer <key>", a key being OKTASYNC_ADMIN_TOKEN or one made
//     by `oktasync apikey create`. A missing or wrong key gets 401; while no key exists
//     at all, every path answers 404, as if the API were not there.
//   - Errors: application/problem+json with type, title, status and detail; a 400 names
//     the field at fault in detail and in errors[].location ("body.userName",
//     "query.filter"). Validation failures are 400, not 422.
//   - Lists: ?limit=N (default 100, at most 1000) and ?after=CURSOR give
//     {"data":[…],"next":"CURSOR"}, next null on the last page. Cursors are positions,
//     so paging is stable while writes happen.
//   - Shapes: the types of package resource, which events carry too.
//
// Adding an endpoint group: write one function `func xEndpoints(api huma.API, m
// *manage.Manager)` that calls huma.Register for each operation (paths written in full,
// "/api/v1/…"; handlers call m and return fail(err) on error), and add it to Groups below
// (or pass it to New). Nothing else needs to change: auth, errors and the OpenAPI
// document follow.
package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/manage"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

// Group registers one group of endpoints on the API.
type Group func(api huma.API, m *manage.Manager)

// Groups are the endpoint groups every API serves.
var Groups = []Group{tenantEndpoints, credentialEndpoints, attributeEndpoints, userEndpoints, groupEndpoints, auditEndpoints, scimRequestEndpoints, syncEndpoints, setupLinkEndpoints, eventEndpoints, webhookEndpoints}

// Handler is the vendor API over m: the Groups and any extra ones.
type Handler struct {
	m    *manage.Manager
	huma huma.API
	mux  *http.ServeMux
}

// New returns the API over m, serving Groups and extra.
func New(m *manage.Manager, extra ...Group) *Handler {
	mux := http.NewServeMux()
	cfg := huma.DefaultConfig("oktasync vendor API", "1.0.0")
	cfg.Info.Description = "Tenants, SCIM credentials, users, groups, the audit trail and sync runs of an oktasync server."
	cfg.OpenAPIPath = Prefix + "/openapi"
	cfg.DocsPath = ""
	cfg.SchemasPath = ""
	cfg.CreateHooks = nil // no $schema links in bodies: responses are the resource shapes alone
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "OKTASYNC_ADMIN_TOKEN or a key from `oktasync apikey create`"},
	}
	cfg.Security = []map[string][]string{{"bearer": {}}}
	h := &Handler{m: m, mux: mux, huma: humago.New(mux, cfg)}
	for _, g := range append(append([]Group{}, Groups...), extra...) {
		g(h.huma, m)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return h
}

// OpenAPI is the API's OpenAPI document.
func (h *Handler) OpenAPI() *huma.OpenAPI { return h.huma.OpenAPI() }

// ServeHTTP authenticates the request and serves it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	on, err := h.m.APIEnabled(ctx)
	if err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "the database is unavailable")
		return
	}
	if !on {
		http.NotFound(w, r)
		return
	}
	scheme, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		secret = ""
	}
	keyID, err := h.m.AuthenticateAPI(ctx, secret)
	if err != nil {
		if errkind.Of(err) != errkind.Unauthorized {
			writeProblem(w, http.StatusServiceUnavailable, "the database is unavailable")
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="oktasync api"`)
		writeProblem(w, http.StatusUnauthorized, "missing or wrong API key (Authorization: Bearer <OKTASYNC_ADMIN_TOKEN or a key from oktasync apikey create>)")
		return
	}
	h.mux.ServeHTTP(w, r.WithContext(manage.AsAPI(ctx, keyID)))
}

func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"type":"about:blank","title":%q,"status":%d,"detail":%q}`+"\n", http.StatusText(status), status, detail)
}

func init() {
	// Every problem has a type (RFC 9457's about:blank), validation failures are 400,
	// and the detail names the fields at fault.
	base := huma.NewError
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		if status == http.StatusUnprocessableEntity {
			status = http.StatusBadRequest
		}
		se := base(status, msg, errs...)
		if em, ok := se.(*huma.ErrorModel); ok {
			em.Type = "about:blank"
			if status == http.StatusBadRequest && len(em.Errors) > 0 && em.Errors[0].Location != "" && !strings.Contains(em.Detail, em.Errors[0].Location) {
				var parts []string
				for _, d := range em.Errors {
					parts = append(parts, d.Location+": "+d.Message)
				}
				em.Detail += ": " + strings.Join(parts, "; ")
			}
		}
		return se
	}
}

// queryFields are the fields errors name that come from the query string.
var queryFields = map[string]bool{"filter": true, "source": true, "active": true, "group": true, "updatedSince": true,
	"limit": true, "after": true, "resource": true, "actor": true, "since": true, "until": true, "format": true, "status": true}

// fail turns a management-layer error into the problem the API answers.
func fail(err error) error {
	status := errkind.HTTPStatus(err)
	msg := errkind.Message(err)
	if status == http.StatusInternalServerError || msg == "" {
		msg = http.StatusText(status)
	}
	if f := errkind.FieldOf(err); f != "" && status == http.StatusBadRequest {
		head, _, _ := strings.Cut(f, ".")
		loc := "body." + f
		if queryFields[head] {
			loc = "query." + f
		}
		return huma.NewError(status, loc+": "+msg, &huma.ErrorDetail{Message: msg, Location: loc})
	}
	return huma.NewError(status, msg)
}

// List is one page of a listing.
type List[T any] struct {
	Data []T `json:"data"`
	// Next is the cursor of the next page (pass it as ?after=), null on the last page.
	Next *string `json:"next" nullable:"true"`
}

type listOutput[T any] struct {
	Body List[T]
}

func listOf[T any](items []T, next string) *listOutput[T] {
	out := &listOutput[T]{Body: List[T]{Data: items}}
	if out.Body.Data == nil {
		out.Body.Data = []T{}
	}
	if next != "" {
		out.Body.Next = &next
	}
	return out
}

func pageOf[T any](p manage.Page[T], err error) (*listOutput[T], error) {
	if err != nil {
		return nil, fail(err)
	}
	return listOf(p.Items, p.Next), nil
}

// Paging are the query parameters of a paged listing.
type Paging struct {
	Limit int    `query:"limit" default:"100" minimum:"1" maximum:"1000" doc:"page size"`
	After string `query:"after" doc:"the next cursor of the previous page"`
}

type bodyOutput[T any] struct {
	Body T
}

func body[T any](v T, err error) (*bodyOutput[T], error) {
	if err != nil {
		return nil, fail(err)
	}
	return &bodyOutput[T]{Body: v}, nil
}

func noContent(err error) (*struct{}, error) {
	if err != nil {
		return nil, fail(err)
	}
	return nil, nil
}

// op is an operation with the conventions of this API.
func op(id, method, path, summary string, tags ...string) huma.Operation {
	o := huma.Operation{OperationID: id, Method: method, Path: Prefix + path, Summary: summary, Tags: tags}
	switch method {
	case http.MethodDelete:
		o.DefaultStatus = http.StatusNoContent
	}
	return o
}

func created(o huma.Operation) huma.Operation {
	o.DefaultStatus = http.StatusCreated
	return o
}
