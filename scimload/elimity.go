package scimload

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	"github.com/google/uuid"
	scimfilter "github.com/scim2/filter-parser/v2"
)

// ElimityHandler is the second comparison peer of `make bench-scim`: a SCIM server built
// on github.com/elimity-com/scim, the library the throughput targets were first measured
// against, with Users kept in maps. Unlike MemoryHandler it goes through a SCIM library's
// whole request path: schema validation of every body, the filter parser and validator,
// PATCH validation, and the library's response encoding. It serves Users (create with
// userName uniqueness, get, replace, patch, delete, and list with filters and paging)
// behind a bearer check. Mount it at the SCIM base path.
func ElimityHandler(token string) (http.Handler, error) {
	users := &elimityUsers{byID: map[string]*elimityUser{}, byName: map[string]*elimityUser{}}
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{
			SupportFiltering: true,
			SupportPatch:     true,
			MaxResults:       200,
			AuthenticationSchemes: []scim.AuthenticationScheme{{
				Type: scim.AuthenticationTypeOauthBearerToken, Name: "Bearer token",
				Description: "Authentication with the peer's bearer token", Primary: true,
			}},
		},
		ResourceTypes: []scim.ResourceType{{
			ID: optional.NewString("User"), Name: "User", Endpoint: "/Users",
			Description: optional.NewString("User Account"),
			Schema:      schema.CoreUserSchema(),
			Handler:     users,
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("elimity SCIM server: %w", err)
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			body, _ := json.Marshal(map[string]any{"schemas": []string{memErrorURN}, "status": "401", "detail": "invalid credentials"})
			w.Header().Set("Content-Type", "application/scim+json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write(body)
			return
		}
		// The library reads bodies whole; bound them as MemoryHandler does.
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		srv.ServeHTTP(w, r)
	}), nil
}

// elimityUsers is the ResourceHandler of Users: every user by id and by lower-cased
// userName (userName is case-insensitive in RFC 7643), and the ids in creation order so
// that unfiltered pages are stable.
type elimityUsers struct {
	mu     sync.RWMutex
	byID   map[string]*elimityUser
	byName map[string]*elimityUser
	order  []string
}

type elimityUser struct {
	id       string
	attrs    scim.ResourceAttributes
	created  time.Time
	modified time.Time
	version  int
}

// resource copies the user's state into what the library encodes; the attributes map is
// shared, which is safe because it is replaced, never changed in place, once stored.
func (u *elimityUser) resource() scim.Resource {
	created, modified := u.created, u.modified
	res := scim.Resource{ID: u.id, Attributes: u.attrs,
		Meta: scim.Meta{Created: &created, LastModified: &modified, Version: `W/"` + strconv.Itoa(u.version) + `"`}}
	if ext, ok := u.attrs["externalId"].(string); ok {
		res.ExternalID = optional.NewString(ext)
	}
	return res
}

func userNameKey(attrs scim.ResourceAttributes) (string, bool) {
	name, ok := attrs["userName"].(string)
	if !ok || strings.TrimSpace(name) == "" {
		return "", false
	}
	return strings.ToLower(name), true
}

// stored drops what a SCIM server never returns: the password (writeOnly) and group
// memberships, which belong to Groups.
func stored(attrs scim.ResourceAttributes) scim.ResourceAttributes {
	out := make(scim.ResourceAttributes, len(attrs))
	for k, v := range attrs {
		switch strings.ToLower(k) {
		case "password", "groups", "id", "meta", "schemas":
		default:
			out[k] = v
		}
	}
	return out
}

// Create stores a new user; a userName already taken answers 409 uniqueness.
func (h *elimityUsers) Create(_ *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	key, ok := userNameKey(attrs)
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorBadRequest("userName is required")
	}
	now := time.Now().UTC()
	u := &elimityUser{id: uuid.NewString(), attrs: stored(attrs), created: now, modified: now, version: 1}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, taken := h.byName[key]; taken {
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	h.byID[u.id], h.byName[key] = u, u
	h.order = append(h.order, u.id)
	return u.resource(), nil
}

// Get answers one user, or 404.
func (h *elimityUsers) Get(_ *http.Request, id string) (scim.Resource, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	u, ok := h.byID[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	return u.resource(), nil
}

// GetAll answers a page of the users that pass the filter. The existence check
// `userName eq "…"` is a map probe, as any store with a unique index on userName would
// make it; every other filter is evaluated by the library's validator on each user.
func (h *elimityUsers) GetAll(_ *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var matched []*elimityUser
	switch {
	case params.FilterValidator == nil:
		matched = make([]*elimityUser, 0, len(h.order))
		for _, id := range h.order {
			matched = append(matched, h.byID[id])
		}
	default:
		if name, ok := userNameEq(params.FilterValidator.GetFilter()); ok {
			if u, found := h.byName[strings.ToLower(name)]; found {
				matched = append(matched, u)
			}
			break
		}
		for _, id := range h.order {
			u := h.byID[id]
			doc := make(map[string]any, len(u.attrs)+1)
			for k, v := range u.attrs {
				doc[k] = v
			}
			doc["id"] = u.id
			if params.FilterValidator.PassesFilter(doc) == nil {
				matched = append(matched, u)
			}
		}
	}
	page := scim.Page{TotalResults: len(matched), Resources: []scim.Resource{}}
	start := min(max(params.StartIndex, 1)-1, len(matched))
	end := min(start+max(params.Count, 0), len(matched))
	for _, u := range matched[start:end] {
		page.Resources = append(page.Resources, u.resource())
	}
	return page, nil
}

// userNameEq recognises `userName eq "…"` (the attribute name case-insensitively, as
// RFC 7644 compares attribute names).
func userNameEq(exp scimfilter.Expression) (string, bool) {
	ae, ok := exp.(*scimfilter.AttributeExpression)
	if !ok {
		return "", false
	}
	p := ae.AttributePath
	if !strings.EqualFold(string(ae.Operator), string(scimfilter.EQ)) || p.SubAttribute != nil || !strings.EqualFold(p.AttributeName, "userName") ||
		(p.URIPrefix != nil && *p.URIPrefix != schema.UserSchema) {
		return "", false
	}
	name, ok := ae.CompareValue.(string)
	return name, ok
}

// Replace puts new attributes in place of a user's; taking another user's userName
// answers 409.
func (h *elimityUsers) Replace(_ *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	key, ok := userNameKey(attrs)
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorBadRequest("userName is required")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	u, ok := h.byID[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	if other, taken := h.byName[key]; taken && other != u {
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	oldKey, _ := userNameKey(u.attrs)
	next := *u
	next.attrs, next.modified, next.version = stored(attrs), time.Now().UTC(), u.version+1
	delete(h.byName, oldKey)
	h.byID[id], h.byName[key] = &next, &next
	return next.resource(), nil
}

// Delete removes a user, or answers 404.
func (h *elimityUsers) Delete(_ *http.Request, id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	u, ok := h.byID[id]
	if !ok {
		return scimerrors.ScimErrorResourceNotFound(id)
	}
	key, _ := userNameKey(u.attrs)
	delete(h.byID, id)
	delete(h.byName, key)
	if i := slices.Index(h.order, id); i >= 0 {
		h.order = slices.Delete(h.order, i, i+1)
	}
	return nil
}

// Patch applies the operations the library validated to a copy of the user's
// attributes: add and replace without a path merge the value's attributes (Okta's
// `{"op":"replace","value":{"active":false}}`), with a path of an attribute or
// sub-attribute they set it (add appends to a multi-valued one), and remove drops it.
// Paths with a value filter (emails[type eq "work"]) are not served.
func (h *elimityUsers) Patch(_ *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u, ok := h.byID[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	attrs := cloneAttrs(u.attrs)
	for _, op := range ops {
		if op.Path == nil {
			values, ok := op.Value.(map[string]any)
			if !ok || op.Op == scim.PatchOperationRemove {
				return scim.Resource{}, scimerrors.ScimErrorInvalidValue
			}
			for k, v := range values {
				p, err := scimfilter.ParseAttrPath([]byte(k))
				if err != nil {
					return scim.Resource{}, scimerrors.ScimErrorInvalidPath
				}
				setAttr(attrs, p.AttributeName, p.SubAttribute, v, op.Op == scim.PatchOperationAdd)
			}
			continue
		}
		if op.Path.ValueExpression != nil || op.Path.SubAttribute != nil {
			return scim.Resource{}, scimerrors.ScimErrorNoTarget
		}
		p := op.Path.AttributePath
		if op.Op == scim.PatchOperationRemove {
			removeAttr(attrs, p.AttributeName, p.SubAttribute)
			continue
		}
		setAttr(attrs, p.AttributeName, p.SubAttribute, op.Value, op.Op == scim.PatchOperationAdd)
	}
	key, ok := userNameKey(attrs)
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorInvalidValue
	}
	oldKey, _ := userNameKey(u.attrs)
	if other, taken := h.byName[key]; taken && other != u {
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	next := *u
	next.attrs, next.modified, next.version = attrs, time.Now().UTC(), u.version+1
	delete(h.byName, oldKey)
	h.byID[id], h.byName[key] = &next, &next
	return next.resource(), nil
}

// cloneAttrs copies the top level and the complex attributes one level down, which is
// as deep as setAttr and removeAttr write.
func cloneAttrs(attrs scim.ResourceAttributes) scim.ResourceAttributes {
	out := make(scim.ResourceAttributes, len(attrs))
	for k, v := range attrs {
		if m, ok := v.(map[string]any); ok {
			c := make(map[string]any, len(m))
			for mk, mv := range m {
				c[mk] = mv
			}
			v = c
		}
		out[k] = v
	}
	return out
}

// attrKey finds the key of m that names attribute name, case-insensitively.
func attrKey(m map[string]any, name string) string {
	if _, ok := m[name]; ok {
		return name
	}
	for k := range m {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return name
}

func setAttr(attrs scim.ResourceAttributes, name string, sub *string, value any, add bool) {
	k := attrKey(attrs, name)
	if sub != nil {
		m, _ := attrs[k].(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		m[attrKey(m, *sub)] = value
		attrs[k] = m
		return
	}
	if list, ok := value.([]any); ok && add {
		if old, ok := attrs[k].([]any); ok {
			value = append(slices.Clone(old), list...)
		}
	}
	attrs[k] = value
}

func removeAttr(attrs scim.ResourceAttributes, name string, sub *string) {
	k := attrKey(attrs, name)
	if sub == nil {
		delete(attrs, k)
		return
	}
	if m, ok := attrs[k].(map[string]any); ok {
		delete(m, attrKey(m, *sub))
	}
}
