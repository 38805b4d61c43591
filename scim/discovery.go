package scim

import (
	"net/http"
	"strings"

	"github.com/oktasync/oktasync/scimschema"
)

// Discovery schemas (RFC 7643 §5, §6, §7) and this server's own extension advertising
// limits RFC 7643 has no attribute for.
const (
	ServiceProviderConfigURN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	ResourceTypeURN          = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	SchemaURN                = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	// LimitsURN is the ServiceProviderConfig extension carrying maxFilterLength,
	// maxPageSize, maxPayloadSize and maxPatchOperations.
	LimitsURN = "urn:ietf:params:scim:schemas:extension:oktasync:2.0:ServiceProviderConfig"
)

func (s *server) serviceProviderConfig(w http.ResponseWriter, r *request) error {
	s.writeJSON(w, http.StatusOK, map[string]any{
		"schemas":          []string{ServiceProviderConfigURN, LimitsURN},
		"documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": s.opts.MaxBodyBytes},
		"filter":           map[string]any{"supported": true, "maxResults": s.opts.MaxPageSize},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": true},
		"etag":             map[string]any{"supported": true},
		"authenticationSchemes": []any{
			map[string]any{
				"type":        "oauthbearertoken",
				"name":        "OAuth Bearer Token",
				"description": "Authentication with a tenant's SCIM bearer token (Authorization: Bearer <token>).",
				"specUri":     "https://www.rfc-editor.org/info/rfc6750",
				"primary":     true,
			},
			map[string]any{
				"type":        "httpbasic",
				"name":        "HTTP Basic",
				"description": "Authentication with a tenant's SCIM Basic credentials.",
				"specUri":     "https://www.rfc-editor.org/info/rfc7617",
			},
		},
		LimitsURN: map[string]any{
			"maxFilterLength":    s.opts.MaxFilterLength,
			"maxPageSize":        s.opts.MaxPageSize,
			"maxPayloadSize":     s.opts.MaxBodyBytes,
			"maxPatchOperations": s.opts.MaxPatchOperations,
		},
		"meta": map[string]any{
			"resourceType": "ServiceProviderConfig",
			"location":     r.base + "/ServiceProviderConfig",
		},
	})
	return nil
}

// discoveryList answers a list of discovery resources. RFC 7644 §4 says a filter on these
// endpoints SHOULD get 403, so that a client cannot take unfiltered results as filtered.
func (s *server) discoveryList(w http.ResponseWriter, r *request, items []any) error {
	if r.URL.Query().Has("filter") {
		return errorf(http.StatusForbidden, "", "filtering is not supported on %s", r.URL.Path)
	}
	s.writeJSON(w, http.StatusOK, listResponse{
		Schemas:      []string{ListResponseURN},
		TotalResults: len(items),
		ItemsPerPage: len(items),
		StartIndex:   1,
		Resources:    items,
	})
	return nil
}

func (s *server) resourceTypes(w http.ResponseWriter, r *request, name string) error {
	user, err := s.resource(r.Context(), r, userKind)
	if err != nil {
		return err
	}
	types := []*scimschema.Resource{user, scimschema.GroupResource()}
	render := func(rt *scimschema.Resource) map[string]any {
		exts := []any{}
		for _, e := range rt.Extensions {
			exts = append(exts, map[string]any{"schema": e.ID, "required": false})
		}
		doc := map[string]any{
			"schemas":     []string{ResourceTypeURN},
			"id":          rt.Name,
			"name":        rt.Name,
			"endpoint":    "/" + rt.Name + "s",
			"description": rt.Schema.Description,
			"schema":      rt.Schema.ID,
			"meta": map[string]any{
				"resourceType": "ResourceType",
				"location":     r.base + "/ResourceTypes/" + rt.Name,
			},
		}
		if len(exts) > 0 {
			doc["schemaExtensions"] = exts
		}
		return doc
	}
	if name != "" {
		for _, rt := range types {
			if strings.EqualFold(rt.Name, name) {
				s.writeJSON(w, http.StatusOK, render(rt))
				return nil
			}
		}
		return errorf(http.StatusNotFound, "", "no resource type %q", name)
	}
	var items []any
	for _, rt := range types {
		items = append(items, render(rt))
	}
	return s.discoveryList(w, r, items)
}

// schemas serves /Schemas: the core User and Group schemas, the Enterprise extension and,
// when the tenant defines custom attributes, its custom extension.
func (s *server) schemas(w http.ResponseWriter, r *request, id string) error {
	user, err := s.resource(r.Context(), r, userKind)
	if err != nil {
		return err
	}
	all := []*scimschema.Schema{user.Schema}
	all = append(all, user.Extensions...)
	all = append(all, scimschema.Group)
	render := func(sc *scimschema.Schema) map[string]any {
		return map[string]any{
			"schemas":     []string{SchemaURN},
			"id":          sc.ID,
			"name":        sc.Name,
			"description": sc.Description,
			"attributes":  orEmpty(sc.Attributes),
			"meta": map[string]any{
				"resourceType": "Schema",
				"location":     r.base + "/Schemas/" + sc.ID,
			},
		}
	}
	if id != "" {
		for _, sc := range all {
			if strings.EqualFold(sc.ID, id) {
				s.writeJSON(w, http.StatusOK, render(sc))
				return nil
			}
		}
		return errorf(http.StatusNotFound, "", "no schema %q", id)
	}
	var items []any
	for _, sc := range all {
		items = append(items, render(sc))
	}
	return s.discoveryList(w, r, items)
}

func orEmpty(a []*scimschema.Attribute) []*scimschema.Attribute {
	if a == nil {
		return []*scimschema.Attribute{}
	}
	return a
}
