package scim

import (
	"context"
	"net/http"

	"github.com/oktasync/oktasync/scimschema"
)

// resource returns the schema view of a resource type for the request's tenant: the
// User type carries the tenant's custom-attribute extension.
func (s *server) resource(ctx context.Context, r *request, kind resourceKind) (*scimschema.Resource, error) {
	if kind == groupKind {
		return scimschema.GroupResource(), nil
	}
	attrs, err := s.store.ListAttributes(ctx, r.tenant.ID)
	if err != nil {
		return nil, err
	}
	var custom *scimschema.Schema
	if len(attrs) > 0 {
		custom = scimschema.Custom(attrs)
	}
	return scimschema.UserResource(custom), nil
}

// writeResource writes one resource with its ETag (and Location on 201), projected by the
// request's attributes / excludedAttributes parameters.
func (s *server) writeResource(w http.ResponseWriter, r *request, res *scimschema.Resource, status int, doc map[string]any, version int64) {
	h := w.Header()
	h.Set("ETag", etag(version))
	if status == http.StatusCreated {
		if m, ok := doc["meta"].(map[string]any); ok {
			if loc, ok := m["location"].(string); ok {
				h.Set("Location", loc)
			}
		}
	}
	proj := requestProjection(r, res)
	s.writeJSON(w, status, proj.apply(res, doc))
}

// requestProjection parses the attributes / excludedAttributes query parameters, which
// RFC 7644 §3.9 allows on every request that returns a resource.
func requestProjection(r *request, res *scimschema.Resource) *projection {
	q := r.URL.Query()
	return projectionFor(res, splitList(q.Get("attributes")), splitList(q.Get("excludedAttributes")))
}
