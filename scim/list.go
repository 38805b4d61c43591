package scim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/scimfilter"
	"github.com/oktasync/oktasync/scimschema"
)

// ListResponseURN and SearchRequestURN are the schemas of list responses and of
// POST .search requests (RFC 7644 §3.4.2, §3.4.3).
const (
	ListResponseURN  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	SearchRequestURN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
)

// listParams are the query parameters of a list or search request.
type listParams struct {
	filter     scimfilter.Expr
	sortBy     string
	sortDesc   bool
	startIndex int
	count      int
	attributes []string
	excluded   []string
}

// listResponse is a SCIM ListResponse. totalResults, itemsPerPage and startIndex are
// JSON integers (Okta rejects them as strings).
type listResponse struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	ItemsPerPage int      `json:"itemsPerPage"`
	StartIndex   int      `json:"startIndex"`
	Resources    []any    `json:"Resources"`
}

func (s *server) listParamsFromQuery(q url.Values) (listParams, error) {
	p := listParams{startIndex: 1, count: s.opts.MaxPageSize}
	if err := s.setFilter(&p, q.Get("filter"), q.Has("filter")); err != nil {
		return p, err
	}
	if v := q.Get("startIndex"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return p, badRequest(typeInvalidValue, "startIndex must be an integer, got %q", v)
		}
		p.startIndex = n
	}
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return p, badRequest(typeInvalidValue, "count must be an integer, got %q", v)
		}
		p.count = n
	}
	if err := p.setSort(q.Get("sortBy"), q.Get("sortOrder")); err != nil {
		return p, err
	}
	p.attributes = splitList(q.Get("attributes"))
	p.excluded = splitList(q.Get("excludedAttributes"))
	s.clamp(&p)
	return p, nil
}

// listParamsFromBody reads a POST .search request (RFC 7644 §3.4.3).
func (s *server) listParamsFromBody(w http.ResponseWriter, r *request) (listParams, error) {
	p := listParams{startIndex: 1, count: s.opts.MaxPageSize}
	body, err := s.readJSON(w, r)
	if err != nil {
		return p, err
	}
	if sc, ok := getFold(body, "schemas"); ok && !containsString(sc, SearchRequestURN) {
		return p, badRequest(typeInvalidSyntax, "schemas must be [%q]", SearchRequestURN)
	}
	str := func(key string) (string, error) {
		v, ok := getFold(body, key)
		if !ok || v == nil {
			return "", nil
		}
		sv, ok := v.(string)
		if !ok {
			return "", badRequest(typeInvalidValue, "%s must be a string", key)
		}
		return sv, nil
	}
	num := func(key string, dst *int) error {
		v, ok := getFold(body, key)
		if !ok || v == nil {
			return nil
		}
		n, isNum := v.(json.Number)
		if !isNum {
			return badRequest(typeInvalidValue, "%s must be an integer", key)
		}
		i, err := strconv.Atoi(n.String())
		if err != nil {
			return badRequest(typeInvalidValue, "%s must be an integer", key)
		}
		*dst = i
		return nil
	}
	names := func(key string) ([]string, error) {
		v, ok := getFold(body, key)
		if !ok || v == nil {
			return nil, nil
		}
		switch x := v.(type) {
		case string:
			return splitList(x), nil
		case []any:
			var out []string
			for _, e := range x {
				sv, ok := e.(string)
				if !ok {
					return nil, badRequest(typeInvalidValue, "%s must be an array of strings", key)
				}
				out = append(out, splitList(sv)...)
			}
			return out, nil
		}
		return nil, badRequest(typeInvalidValue, "%s must be an array of strings", key)
	}
	f, err := str("filter")
	if err != nil {
		return p, err
	}
	_, hasFilter := getFold(body, "filter")
	if err := s.setFilter(&p, f, hasFilter && f != ""); err != nil {
		return p, err
	}
	if err := num("startIndex", &p.startIndex); err != nil {
		return p, err
	}
	if err := num("count", &p.count); err != nil {
		return p, err
	}
	sortBy, err := str("sortBy")
	if err != nil {
		return p, err
	}
	sortOrder, err := str("sortOrder")
	if err != nil {
		return p, err
	}
	if err := p.setSort(sortBy, sortOrder); err != nil {
		return p, err
	}
	if p.attributes, err = names("attributes"); err != nil {
		return p, err
	}
	if p.excluded, err = names("excludedAttributes"); err != nil {
		return p, err
	}
	s.clamp(&p)
	return p, nil
}

func (s *server) setFilter(p *listParams, f string, present bool) error {
	if !present {
		return nil
	}
	if strings.TrimSpace(f) == "" {
		return badRequest(typeInvalidFilter, "filter is empty")
	}
	if len(f) > s.opts.MaxFilterLength {
		return badRequest(typeInvalidFilter, "filter is %d bytes long; the limit is %d bytes", len(f), s.opts.MaxFilterLength)
	}
	e, err := scimfilter.Parse(f)
	if err != nil {
		return err // a *scimfilter.Error: 400 invalidFilter
	}
	p.filter = e
	return nil
}

func (p *listParams) setSort(by, order string) error {
	p.sortBy = strings.TrimSpace(by)
	switch strings.ToLower(strings.TrimSpace(order)) {
	case "", "ascending":
	case "descending":
		p.sortDesc = true
	default:
		return badRequest(typeInvalidValue, "sortOrder must be \"ascending\" or \"descending\", got %q", order)
	}
	return nil
}

// clamp applies RFC 7644 §3.4.2.4: startIndex below 1 is 1, a negative count is 0, and
// count is capped at the advertised maximum page size.
func (s *server) clamp(p *listParams) {
	if p.startIndex < 1 {
		p.startIndex = 1
	}
	if p.count < 0 {
		p.count = 0
	}
	if p.count > s.opts.MaxPageSize {
		p.count = s.opts.MaxPageSize
	}
}

// splitList splits a comma-separated list of attribute names. A comma inside a value
// filter's brackets or a quoted string does not split: `emails[value co ","]` is one
// name (see parseProjection).
func splitList(s string) []string {
	var out []string
	for _, e := range splitOutside(s, ',') {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// splitOutside splits s at sep where sep is neither inside a quoted string (with
// backslash escapes, as in RFC 9110 §5.6.4 and JSON) nor inside brackets.
func splitOutside(s string, sep byte) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// list serves GET /Users, GET /Groups and their POST .search forms.
func (s *server) list(w http.ResponseWriter, r *request, kind resourceKind, p listParams) error {
	ctx := r.Context()
	// The tenant's custom extension matters only to sorting and projection; the hot
	// path (Okta's userName lookup) skips loading it.
	res := scimschema.UserResource(nil)
	needsResource := kind == groupKind || p.sortBy != "" || len(p.attributes) > 0 || len(p.excluded) > 0
	if _, lookup := userNameEq(p.filter); needsResource || !lookup {
		if err := s.confirmAuth(r); err != nil {
			return err
		}
	}
	if needsResource {
		var err error
		if res, err = s.resource(ctx, r, kind); err != nil {
			return err
		}
	}
	if p.sortBy != "" {
		urn, rest := splitURN(res, p.sortBy)
		attr, _, _ := strings.Cut(rest, ".")
		if _, a := res.Lookup(urn, attr); a == nil {
			return badRequest(typeInvalidValue, "sortBy names no attribute of a %s: %q", res.Name, p.sortBy)
		}
	}
	proj := projectionFor(res, p.attributes, p.excluded)
	q := appstore.Query{Filter: p.filter, SortBy: p.sortBy, SortDesc: p.sortDesc, StartIndex: p.startIndex, Count: p.count}
	resp := listResponse{Schemas: []string{ListResponseURN}, StartIndex: p.startIndex, Resources: []any{}}
	if kind == userKind {
		page, groups, err := s.listUsers(ctx, r, q)
		if err != nil {
			return listError(err)
		}
		resp.TotalResults = page.Total
		if groups == nil && len(page.Items) > 0 && proj.wants("groups") {
			ids := make([]string, len(page.Items))
			for i, u := range page.Items {
				ids[i] = u.ID
			}
			if groups, err = s.store.UserGroups(ctx, r.tenant.ID, ids); err != nil {
				return err
			}
		}
		for _, u := range page.Items {
			resp.Resources = append(resp.Resources, proj.apply(res, userDoc(r.base, u, groups[u.ID])))
		}
	} else {
		q.WithMembers = proj.wants("members")
		page, err := s.store.ListGroups(ctx, r.tenant.ID, q)
		if err != nil {
			return listError(err)
		}
		resp.TotalResults = page.Total
		for _, g := range page.Items {
			resp.Resources = append(resp.Resources, proj.apply(res, groupDoc(r.base, g)))
		}
	}
	resp.ItemsPerPage = len(resp.Resources)
	s.writeJSON(w, http.StatusOK, resp)
	return nil
}

// listUsers runs a user query. Okta's existence check (userName eq "x", sent before
// every create) is answered by the store's unique-key lookup, groups included, rather
// than by a general filter query: it is the hottest request the endpoint serves. groups
// is nil when the caller must read them.
func (s *server) listUsers(ctx context.Context, r *request, q appstore.Query) (appstore.Page[appstore.User], map[string][]appstore.GroupRef, error) {
	name, ok := userNameEq(q.Filter)
	if !ok {
		page, err := s.store.ListUsers(ctx, r.tenant.ID, q)
		return page, nil, err
	}
	var page appstore.Page[appstore.User]
	u, groups, err := s.store.LookupUser(ctx, r.tenant.ID, name)
	if errors.Is(err, appstore.ErrAuthStale) {
		if err := s.reauthenticate(r); err != nil {
			return page, nil, err
		}
		u, groups, err = s.store.LookupUser(ctx, r.tenant.ID, name)
	}
	switch {
	case errors.Is(err, errkind.NotFound):
		return page, nil, nil
	case err != nil:
		return page, nil, err
	}
	page.Total = 1
	if q.StartIndex <= 1 && q.Count > 0 {
		page.Items = []appstore.User{u}
	}
	return page, map[string][]appstore.GroupRef{u.ID: groups}, nil
}

// userNameEq reports whether f is exactly `userName eq "<string>"`.
func userNameEq(f scimfilter.Expr) (string, bool) {
	c, ok := f.(*scimfilter.Compare)
	if !ok || c.Op != "eq" || c.Path.Sub != "" || !strings.EqualFold(c.Path.Attr, "userName") {
		return "", false
	}
	if c.Path.URN != "" && !strings.EqualFold(c.Path.URN, scimschema.UserURN) {
		return "", false
	}
	v, ok := c.Value.(string)
	return v, ok
}

// listError maps the store's refusal of a filter it cannot translate (an unknown
// attribute, an operator that does not fit the type) to 400 invalidFilter.
func listError(err error) error {
	se := asSCIMError(err)
	if se.Status == http.StatusBadRequest && se.ScimType == typeInvalidValue {
		return badRequest(typeInvalidFilter, "%s", se.Detail)
	}
	return err
}

// projectionFor parses the attributes / excludedAttributes parameters (RFC 7644 §3.9).
func projectionFor(res *scimschema.Resource, attributes, excluded []string) *projection {
	// When both are given, attributes wins: it already names everything returned.
	switch {
	case len(attributes) > 0:
		return parseProjection(res, attributes, true)
	case len(excluded) > 0:
		return parseProjection(res, excluded, false)
	}
	return nil
}
