package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/oktasync/oktasync/appstore/storetest"
)

// The routes the API serves, as the README documents them.
var documented = []string{
	"GET /api/v1/tenants", "POST /api/v1/tenants",
	"GET /api/v1/tenants/{tenant}", "PATCH /api/v1/tenants/{tenant}", "DELETE /api/v1/tenants/{tenant}",
	"GET /api/v1/tenants/{tenant}/tokens", "POST /api/v1/tenants/{tenant}/tokens",
	"PATCH /api/v1/tenants/{tenant}/tokens/{id}", "DELETE /api/v1/tenants/{tenant}/tokens/{id}", "POST /api/v1/tenants/{tenant}/tokens/{id}/renew",
	"GET /api/v1/tenants/{tenant}/basic-credentials", "POST /api/v1/tenants/{tenant}/basic-credentials",
	"PATCH /api/v1/tenants/{tenant}/basic-credentials/{id}", "DELETE /api/v1/tenants/{tenant}/basic-credentials/{id}",
	"GET /api/v1/tenants/{tenant}/attributes", "POST /api/v1/tenants/{tenant}/attributes", "DELETE /api/v1/tenants/{tenant}/attributes/{name}",
	"GET /api/v1/tenants/{tenant}/users", "POST /api/v1/tenants/{tenant}/users",
	"GET /api/v1/tenants/{tenant}/users/{id}", "PATCH /api/v1/tenants/{tenant}/users/{id}",
	"GET /api/v1/tenants/{tenant}/groups", "GET /api/v1/tenants/{tenant}/groups/{id}", "GET /api/v1/tenants/{tenant}/groups/{id}/members",
	"GET /api/v1/tenants/{tenant}/audit",
	"GET /api/v1/tenants/{tenant}/scim-requests",
	"POST /api/v1/tenants/{tenant}/sync", "GET /api/v1/tenants/{tenant}/sync", "GET /api/v1/tenants/{tenant}/sync/{id}",
	"POST /api/v1/tenants/{tenant}/setup-links", "GET /api/v1/tenants/{tenant}/setup-links", "DELETE /api/v1/tenants/{tenant}/setup-links/{id}",
	"GET /api/v1/events", "GET /api/v1/tenants/{tenant}/events",
	"POST /api/v1/webhooks", "GET /api/v1/webhooks", "GET /api/v1/webhooks/{id}", "PATCH /api/v1/webhooks/{id}", "DELETE /api/v1/webhooks/{id}",
	"POST /api/v1/webhooks/{id}/rotate-secret", "POST /api/v1/webhooks/{id}/test",
	"GET /api/v1/webhooks/{id}/deliveries", "POST /api/v1/webhooks/{id}/deliveries/{delivery}/retry",
}

func TestOpenAPIDocumentMatchesRoutes(t *testing.T) {
	e := newEnv(t, storetest.SQLite, adminToken)
	r := e.must(200, "GET", "/api/v1/openapi.json", "")
	doc, err := libopenapi.NewDocument(r.body)
	if err != nil {
		t.Fatal(err)
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		t.Fatalf("OpenAPI version %q, want 3.1.0", v)
	}
	if _, err := doc.BuildV3Model(); err != nil {
		t.Fatalf("the document does not build: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, ve := range verrs {
			t.Errorf("invalid OpenAPI 3.1: %s: %s", ve.Message, ve.Reason)
		}
	}

	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &spec); err != nil {
		t.Fatal(err)
	}
	inSpec := map[string]bool{}
	for path, ops := range spec.Paths {
		for method := range ops {
			inSpec[strings.ToUpper(method)+" "+path] = true
		}
	}
	for _, route := range documented {
		if !inSpec[route] {
			t.Errorf("served route %s is not in openapi.json", route)
		}
	}
	// Every operation in the document is served: a request to it reaches an operation
	// (the answer is about the resource, never "no such endpoint" or 405).
	fill := strings.NewReplacer("{tenant}", "nosuchtenant", "{id}", "1", "{name}", "x")
	for route := range inSpec {
		method, path, _ := strings.Cut(route, " ")
		res := e.do(method, fill.Replace(path), "")
		if res.status == 405 || strings.Contains(string(res.body), "no such endpoint") {
			t.Errorf("%s in openapi.json is not served: %d %s", route, res.status, res.body)
		}
		if !contains(documented, route) {
			t.Errorf("%s is in openapi.json but not in the documented routes", route)
		}
	}
	// And something not in the document is not served.
	if res := e.do("GET", "/api/v1/nosuch", ""); res.status != 404 || !strings.Contains(string(res.body), "no such endpoint") {
		t.Fatalf("unknown path: %d %s", res.status, res.body)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
