package scim

import (
	"net/http"
	"strings"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/scimschema"
)

// groupDoc renders a group as its SCIM representation; members are included when the
// group was read with them, as an empty list for a group without any (Okta's group
// tests read "members": [] after the last member is removed).
func groupDoc(base string, g appstore.Group) map[string]any {
	doc := map[string]any{
		"schemas":     []string{scimschema.GroupURN},
		"id":          g.ID,
		"displayName": g.DisplayName,
		"meta":        meta("Group", base+"/Groups/"+g.ID, g.Created, g.Updated, g.Version),
	}
	if g.ExternalID != "" {
		doc["externalId"] = g.ExternalID
	}
	if g.Members != nil {
		list := make([]any, len(g.Members))
		for i, m := range g.Members {
			typ := m.Type
			if typ == "" {
				typ = "User"
			}
			e := map[string]any{"value": m.Value, "type": typ, "$ref": base + "/" + typ + "s/" + m.Value}
			if m.Display != "" {
				e["display"] = m.Display
			}
			list[i] = e
		}
		doc["members"] = list
	}
	return doc
}

// groupState is the writable part of a group as a canonical document, for PATCH. A
// member's display is there only when a client sent it: a derived one is not written
// back as if it had been.
func groupState(g *appstore.Group) map[string]any {
	doc := map[string]any{"displayName": g.DisplayName}
	if g.ExternalID != "" {
		doc["externalId"] = g.ExternalID
	}
	if len(g.Members) > 0 {
		list := make([]any, len(g.Members))
		for i, m := range g.Members {
			e := map[string]any{"value": m.Value}
			if m.Type != "" {
				e["type"] = m.Type
			}
			if m.Display != "" && !m.DisplayDerived {
				e["display"] = m.Display
			}
			list[i] = e
		}
		doc["members"] = list
	}
	return doc
}

// groupFields is a validated group document split into the store's fields.
type groupFields struct {
	displayName string
	externalID  string
	members     []appstore.Member
}

func splitGroup(doc map[string]any) (groupFields, error) {
	var f groupFields
	dn, _ := doc["displayName"].(string)
	f.displayName = strings.TrimSpace(dn)
	if f.displayName == "" {
		return f, badRequest(typeInvalidValue, "displayName is required")
	}
	f.externalID, _ = doc["externalId"].(string)
	list, _ := doc["members"].([]any)
	f.members = make([]appstore.Member, 0, len(list))
	seen := make(map[string]bool, len(list))
	for _, e := range list {
		m, _ := e.(map[string]any)
		v, _ := m["value"].(string)
		if v == "" {
			return f, badRequest(typeInvalidValue, "every member needs a value (the member's id)")
		}
		if seen[strings.ToLower(v)] {
			continue
		}
		seen[strings.ToLower(v)] = true
		typ, _ := m["type"].(string)
		display, _ := m["display"].(string)
		f.members = append(f.members, appstore.Member{Value: v, Type: typ, Display: display})
	}
	return f, nil
}

func (s *server) createGroup(w http.ResponseWriter, r *request) error {
	ctx := r.Context()
	body, err := s.readJSON(w, r)
	if err != nil {
		return err
	}
	res := scimschema.GroupResource()
	doc, err := normalize(res, body)
	if err != nil {
		return err
	}
	f, err := splitGroup(doc)
	if err != nil {
		return err
	}
	g, err := s.store.CreateGroup(ctx, appstore.Group{
		TenantID:         r.tenant.ID,
		DisplayName:      f.displayName,
		ExternalID:       f.externalID,
		Members:          f.members,
		Source:           appstore.SourceSCIM,
		SourceCredential: r.cred.ID,
	})
	if err != nil {
		return err
	}
	s.writeResource(w, r, res, http.StatusCreated, groupDoc(r.base, g), g.Version)
	return nil
}

func (s *server) getGroup(w http.ResponseWriter, r *request, id string) error {
	res := scimschema.GroupResource()
	g, err := s.store.GetGroup(r.Context(), r.tenant.ID, id, requestProjection(r, res).wants("members"))
	if err != nil {
		return err
	}
	if notModified(r.Request, g.Version) {
		w.Header().Set("ETag", etag(g.Version))
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	s.writeResource(w, r, res, http.StatusOK, groupDoc(r.base, g), g.Version)
	return nil
}

func (s *server) replaceGroup(w http.ResponseWriter, r *request, id string) error {
	body, err := s.readJSON(w, r)
	if err != nil {
		return err
	}
	res := scimschema.GroupResource()
	doc, err := normalize(res, body)
	if err != nil {
		return err
	}
	f, err := splitGroup(doc)
	if err != nil {
		return err
	}
	g, err := s.store.UpdateGroup(r.Context(), r.tenant.ID, id, func(g *appstore.Group) error {
		if err := checkIfMatch(r.Request, g.Version); err != nil {
			return err
		}
		g.DisplayName, g.ExternalID, g.Members = f.displayName, f.externalID, f.members
		return nil
	})
	if err != nil {
		return err
	}
	s.writeResource(w, r, res, http.StatusOK, groupDoc(r.base, g), g.Version)
	return nil
}

// patchGroup applies a PATCH to a group and answers 200 with the group, projected by
// attributes / excludedAttributes (excludedAttributes=members keeps a large group's
// answer small), as Okta's SCIM reference does; a client that sends
// Prefer: return=minimal gets 204 instead (RFC 7644 §3.5.2 allows either).
func (s *server) patchGroup(w http.ResponseWriter, r *request, id string) error {
	body, err := s.readJSON(w, r)
	if err != nil {
		return err
	}
	ops, err := parsePatch(body, s.opts.MaxPatchOperations)
	if err != nil {
		return err
	}
	res := scimschema.GroupResource()
	g, err := s.store.UpdateGroup(r.Context(), r.tenant.ID, id, func(g *appstore.Group) error {
		if err := checkIfMatch(r.Request, g.Version); err != nil {
			return err
		}
		f, err := patchGroupFields(res, g, ops)
		if err != nil {
			return err
		}
		g.DisplayName, g.ExternalID, g.Members = f.displayName, f.externalID, f.members
		return nil
	})
	if err != nil {
		return err
	}
	if prefersMinimal(r.Request) {
		writeMinimal(w, g.Version)
		return nil
	}
	s.writeResource(w, r, res, http.StatusOK, groupDoc(r.base, g), g.Version)
	return nil
}

// patchGroupFields applies ops to a copy of g's state and validates the result.
func patchGroupFields(res *scimschema.Resource, g *appstore.Group, ops []patchOp) (groupFields, error) {
	doc := groupState(g)
	if err := applyPatch(res, doc, g.ID, ops); err != nil {
		return groupFields{}, err
	}
	doc, err := normalize(res, doc)
	if err != nil {
		return groupFields{}, err
	}
	return splitGroup(doc)
}

func (s *server) deleteGroup(w http.ResponseWriter, r *request, id string) error {
	ctx := r.Context()
	if r.Header.Get("If-Match") != "" {
		g, err := s.store.GetGroup(ctx, r.tenant.ID, id, false)
		if err != nil {
			return err
		}
		if err := checkIfMatch(r.Request, g.Version); err != nil {
			return err
		}
	}
	if err := s.store.DeleteGroup(ctx, r.tenant.ID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
