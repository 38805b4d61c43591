package scim

import (
	"context"
	"net/http"
	"sort"
	"strings"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/scimschema"
)

// userDoc renders a user as its SCIM representation. schemas lists the core schema and
// every extension the user has values for.
func userDoc(base string, u appstore.User, groups []appstore.GroupRef) map[string]any {
	doc := make(map[string]any, len(u.Attrs)+8)
	schemas := []string{scimschema.UserURN}
	var exts []string
	for k, v := range u.Attrs {
		doc[k] = v
		if hasURNPrefix(k) {
			exts = append(exts, k)
		}
	}
	sort.Strings(exts)
	// The manager's $ref is derived from its id rather than stored.
	if ent, ok := doc[scimschema.EnterpriseURN].(map[string]any); ok {
		if mgr, ok := ent["manager"].(map[string]any); ok {
			if v, ok := mgr["value"].(string); ok && v != "" {
				m := make(map[string]any, len(mgr)+1)
				for k, x := range mgr {
					m[k] = x
				}
				m["$ref"] = base + "/Users/" + v
				e := make(map[string]any, len(ent))
				for k, x := range ent {
					e[k] = x
				}
				e["manager"] = m
				doc[scimschema.EnterpriseURN] = e
			}
		}
	}
	doc["schemas"] = append(schemas, exts...)
	doc["id"] = u.ID
	doc["userName"] = u.UserName
	doc["active"] = u.Active
	if u.ExternalID != "" {
		doc["externalId"] = u.ExternalID
	}
	if len(groups) > 0 {
		list := make([]any, len(groups))
		for i, g := range groups {
			list[i] = map[string]any{
				"value":   g.ID,
				"display": g.DisplayName,
				"$ref":    base + "/Groups/" + g.ID,
				"type":    "direct",
			}
		}
		doc["groups"] = list
	}
	doc["meta"] = meta("User", base+"/Users/"+u.ID, u.Created, u.Updated, u.Version)
	return doc
}

// userState is the writable part of a user as a canonical document, for PATCH to act on.
func userState(u *appstore.User) map[string]any {
	doc, _ := deepCopy(u.Attrs).(map[string]any)
	if doc == nil {
		doc = map[string]any{}
	}
	doc["userName"] = u.UserName
	doc["active"] = u.Active
	if u.ExternalID != "" {
		doc["externalId"] = u.ExternalID
	}
	return doc
}

// userFields is a validated user document split into the store's fields.
type userFields struct {
	userName   string
	externalID string
	active     *bool // nil when the document does not say
	attrs      map[string]any
}

// splitUser validates a canonical user document and splits it into the store's fields.
func splitUser(doc map[string]any) (userFields, error) {
	var f userFields
	un, _ := doc["userName"].(string)
	f.userName = strings.TrimSpace(un)
	if f.userName == "" {
		return f, badRequest(typeInvalidValue, "userName is required")
	}
	f.externalID, _ = doc["externalId"].(string)
	if b, ok := doc["active"].(bool); ok {
		f.active = &b
	}
	f.attrs = make(map[string]any, len(doc))
	for k, v := range doc {
		switch k {
		case "userName", "externalId", "active":
		default:
			f.attrs[k] = v
		}
	}
	return f, nil
}

// readUser reads a POST or PUT body as a user of the tenant's User resource type,
// normalised and split into the store's fields.
func (s *server) readUser(w http.ResponseWriter, r *request) (*scimschema.Resource, userFields, error) {
	body, err := s.readJSON(w, r)
	if err != nil {
		return nil, userFields{}, err
	}
	res, err := s.resource(r.Context(), r, userKind)
	if err != nil {
		return nil, userFields{}, err
	}
	doc, err := normalize(res, body)
	if err != nil {
		return nil, userFields{}, err
	}
	f, err := splitUser(doc)
	return res, f, err
}

func (s *server) createUser(w http.ResponseWriter, r *request) error {
	ctx := r.Context()
	res, f, err := s.readUser(w, r)
	if err != nil {
		return err
	}
	u := appstore.User{
		TenantID:         r.tenant.ID,
		UserName:         f.userName,
		ExternalID:       f.externalID,
		Active:           f.active == nil || *f.active, // provisioned users are active unless told otherwise
		Attrs:            f.attrs,
		Source:           appstore.SourceSCIM,
		SourceCredential: r.cred.ID,
		SourceClient:     clientOf(r.UserAgent()),
	}
	created, err := s.store.CreateUser(ctx, u, s.welcome(r))
	if err != nil {
		return err
	}
	s.writeResource(w, r, res, http.StatusCreated, userDoc(r.base, created, nil), created.Version)
	return nil
}

func (s *server) getUser(w http.ResponseWriter, r *request, id string) error {
	ctx := r.Context()
	u, err := s.store.GetUser(ctx, r.tenant.ID, id)
	if err != nil {
		return err
	}
	if notModified(r.Request, u.Version) {
		w.Header().Set("ETag", etag(u.Version))
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	res, err := s.viewResource(ctx, r)
	if err != nil {
		return err
	}
	return s.respondUser(w, r, res, http.StatusOK, u)
}

// viewResource is the User resource as far as rendering needs it: the tenant's custom
// extension matters only to a projection, so without one the lookup is skipped.
func (s *server) viewResource(ctx context.Context, r *request) (*scimschema.Resource, error) {
	q := r.URL.Query()
	if q.Get("attributes") == "" && q.Get("excludedAttributes") == "" {
		return scimschema.UserResource(nil), nil
	}
	return s.resource(ctx, r, userKind)
}

// respondUser renders a user with its groups (unless the projection leaves them out).
func (s *server) respondUser(w http.ResponseWriter, r *request, res *scimschema.Resource, status int, u appstore.User) error {
	ctx := r.Context()
	var groups []appstore.GroupRef
	if requestProjection(r, res).wants("groups") {
		m, err := s.store.UserGroups(ctx, r.tenant.ID, []string{u.ID})
		if err != nil {
			return err
		}
		groups = m[u.ID]
	}
	s.writeResource(w, r, res, status, userDoc(r.base, u, groups), u.Version)
	return nil
}

func (s *server) replaceUser(w http.ResponseWriter, r *request, id string) error {
	ctx := r.Context()
	res, f, err := s.readUser(w, r)
	if err != nil {
		return err
	}
	u, err := s.store.UpdateUser(ctx, r.tenant.ID, id, func(u *appstore.User) error {
		if err := checkIfMatch(r.Request, u.Version); err != nil {
			return err
		}
		u.UserName = f.userName
		u.ExternalID = f.externalID
		u.Attrs = f.attrs
		// PUT replaces the resource, but an omitted active keeps its state rather than
		// silently flipping the account.
		if f.active != nil {
			u.Active = *f.active
		}
		return nil
	}, s.welcome(r))
	if err != nil {
		return err
	}
	return s.respondUser(w, r, res, http.StatusOK, u)
}

// patchUser applies a PATCH to a user and answers 200 with the user, or 204 to a client
// that sends Prefer: return=minimal.
func (s *server) patchUser(w http.ResponseWriter, r *request, id string) error {
	ctx := r.Context()
	body, err := s.readJSON(w, r)
	if err != nil {
		return err
	}
	ops, err := parsePatch(body, s.opts.MaxPatchOperations)
	if err != nil {
		return err
	}
	res, err := s.resource(ctx, r, userKind)
	if err != nil {
		return err
	}
	u, err := s.store.UpdateUser(ctx, r.tenant.ID, id, func(u *appstore.User) error {
		if err := checkIfMatch(r.Request, u.Version); err != nil {
			return err
		}
		f, err := patchUserFields(res, u, ops)
		if err != nil {
			return err
		}
		u.UserName, u.ExternalID, u.Attrs = f.userName, f.externalID, f.attrs
		if f.active != nil {
			u.Active = *f.active
		}
		return nil
	}, s.welcome(r))
	if err != nil {
		return err
	}
	if prefersMinimal(r.Request) {
		writeMinimal(w, u.Version)
		return nil
	}
	return s.respondUser(w, r, res, http.StatusOK, u)
}

// patchUserFields applies ops to a copy of u's state and validates the result. u is not
// changed: a failing operation leaves nothing half-applied.
func patchUserFields(res *scimschema.Resource, u *appstore.User, ops []patchOp) (userFields, error) {
	doc := userState(u)
	if err := applyPatch(res, doc, u.ID, ops); err != nil {
		return userFields{}, err
	}
	doc, err := normalize(res, doc)
	if err != nil {
		return userFields{}, err
	}
	return splitUser(doc)
}

func (s *server) deleteUser(w http.ResponseWriter, r *request, id string) error {
	ctx := r.Context()
	if r.Header.Get("If-Match") != "" {
		u, err := s.store.GetUser(ctx, r.tenant.ID, id)
		if err != nil {
			return err
		}
		if err := checkIfMatch(r.Request, u.Version); err != nil {
			return err
		}
	}
	if err := s.store.DeleteUser(ctx, r.tenant.ID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// clientOf tells the SCIM client from its User-Agent: Okta's provisioning engine sends
// "Okta SCIM Client …"; Entra ID's sends "Microsoft.Identity…" or names Azure.
func clientOf(userAgent string) string {
	ua := strings.ToLower(userAgent)
	switch {
	case strings.HasPrefix(ua, "okta scim client"), strings.HasPrefix(ua, "okta "):
		return appstore.SCIMClientOkta
	case strings.HasPrefix(ua, "microsoft.identity"), strings.Contains(ua, "azure"), strings.Contains(ua, "entra"):
		return appstore.SCIMClientEntra
	default:
		return appstore.SCIMClientOther
	}
}
