package scim

import (
	"errors"
	"strings"

	"github.com/oktasync/oktasync/scimfilter"
	"github.com/oktasync/oktasync/scimschema"
)

// PatchOpURN is the schema of a PATCH request body (RFC 7644 §3.5.2).
const PatchOpURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// patchOp is one PATCH operation.
type patchOp struct {
	Op       string // "add", "remove" or "replace", lower-cased (Entra sends "Replace")
	Path     string // "" when absent
	Value    any
	HasValue bool
}

// parsePatch reads a PatchOp request body. Keys are matched case-insensitively.
// A missing "schemas" is tolerated although RFC 7644 requires it: Microsoft's SCIM
// validator sends PATCH bodies with only "Operations", and refusing them fails its
// user update tests. A "schemas" that names something else is still refused.
func parsePatch(body map[string]any, maxOps int) ([]patchOp, error) {
	if schemas, ok := getFold(body, "schemas"); ok && !containsString(schemas, PatchOpURN) {
		return nil, badRequest(typeInvalidSyntax, "schemas must be [%q]", PatchOpURN)
	}
	raw, ok := getFold(body, "Operations")
	if !ok || raw == nil {
		return nil, badRequest(typeInvalidSyntax, "Operations is missing")
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, badRequest(typeInvalidSyntax, "Operations must be an array")
	}
	// An empty list breaks RFC 7644's "one or more", but Microsoft's SCIM validator sends
	// one and expects success: it is taken as a request that changes nothing.
	if len(list) > maxOps {
		return nil, badRequest(typeTooMany, "a PATCH request may carry at most %d operations, got %d", maxOps, len(list))
	}
	ops := make([]patchOp, 0, len(list))
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, badRequest(typeInvalidSyntax, "operation %d must be a JSON object", i)
		}
		var op patchOp
		opv, _ := getFold(m, "op")
		s, _ := opv.(string)
		op.Op = strings.ToLower(s)
		switch op.Op {
		case "add", "remove", "replace":
		default:
			return nil, badRequest(typeInvalidSyntax, "operation %d: op must be \"add\", \"remove\" or \"replace\", got %s", i, describe(opv))
		}
		if p, ok := getFold(m, "path"); ok && p != nil {
			ps, ok := p.(string)
			if !ok {
				return nil, badRequest(typeInvalidPath, "operation %d: path must be a string", i)
			}
			op.Path = strings.TrimSpace(ps)
		}
		op.Value, op.HasValue = getFold(m, "value")
		ops = append(ops, op)
	}
	return ops, nil
}

func describe(v any) string {
	if s, ok := v.(string); ok {
		return `"` + s + `"`
	}
	return jsonKind(v)
}

// getFold returns m[key], matching the key case-insensitively when there is no exact hit.
func getFold(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func containsString(v any, want string) bool {
	list, _ := v.([]any)
	for _, e := range list {
		if s, ok := e.(string); ok && strings.EqualFold(s, want) {
			return true
		}
	}
	return false
}

// patcher applies PATCH operations to a canonical resource document.
type patcher struct {
	res *scimschema.Resource
	doc map[string]any
	id  string // the resource's id: an "id" equal to it inside a value is tolerated
}

// applyPatch applies ops to doc in order. doc is changed in place, so callers pass a
// copy and keep it only when every operation succeeded: that is what makes a request's
// operations all-or-nothing. Every error is a *Error with status 400.
func applyPatch(res *scimschema.Resource, doc map[string]any, id string, ops []patchOp) error {
	p := &patcher{res: res, doc: doc, id: id}
	for i, op := range ops {
		if err := p.apply(op); err != nil {
			var se *Error
			if errors.As(err, &se) {
				return &Error{Status: se.Status, ScimType: se.ScimType, Detail: "operation " + itoa(i) + ": " + se.Detail}
			}
			return err
		}
	}
	return nil
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// target is what a PATCH path designates.
type target struct {
	ext    *scimschema.Schema    // a whole extension, when the path is its URN alone
	sch    *scimschema.Schema    // the attribute's schema; nil for id, externalId, meta
	attr   *scimschema.Attribute // the attribute
	sub    *scimschema.Attribute // the sub-attribute, or nil
	filter scimfilter.Expr       // the value filter, or nil
	text   string
}

func (p *patcher) resolve(path string) (target, error) {
	fp, err := scimfilter.ParsePath(path)
	if err != nil {
		var fe *scimfilter.Error
		if errors.As(err, &fe) {
			return target{}, badRequest(typeInvalidPath, "invalid path %q: %s", path, fe.Detail)
		}
		return target{}, badRequest(typeInvalidPath, "invalid path %q", path)
	}
	t := target{text: path, filter: fp.Filter}
	if fp.URN != "" && fp.Sub == "" && fp.Filter == nil {
		whole := fp.URN
		if fp.Attr != "" {
			whole += ":" + fp.Attr
		}
		if ext := p.res.Extension(whole); ext != nil {
			t.ext = ext
			return t, nil
		}
	}
	if fp.Attr == "" {
		return t, badRequest(typeInvalidPath, "path %q names no attribute", path)
	}
	t.sch, t.attr = p.res.Lookup(fp.URN, fp.Attr)
	if t.attr == nil {
		return t, badRequest(typeInvalidPath, "path %q names no attribute of a %s", path, p.res.Name)
	}
	if fp.Sub != "" {
		if t.attr.Type != scimschema.Complex {
			return t, badRequest(typeInvalidPath, "%q has no sub-attributes", t.attr.Name)
		}
		if t.sub = t.attr.Sub(fp.Sub); t.sub == nil {
			return t, badRequest(typeInvalidPath, "%q has no sub-attribute %q", t.attr.Name, fp.Sub)
		}
	}
	if fp.Filter != nil && !t.attr.MultiValued {
		return t, badRequest(typeInvalidPath, "a value filter applies only to multi-valued attributes; %q is single-valued", t.attr.Name)
	}
	return t, nil
}

func (p *patcher) apply(op patchOp) error {
	if op.Path == "" {
		if op.Op == "remove" {
			return badRequest(typeNoTarget, "remove requires a path")
		}
		if !op.HasValue {
			return badRequest(typeInvalidValue, "%s without a path requires a value", op.Op)
		}
		m, ok := op.Value.(map[string]any)
		if !ok {
			return badRequest(typeInvalidValue, "%s without a path requires an object value, got %s", op.Op, jsonKind(op.Value))
		}
		return p.applyObject(op.Op, nil, m)
	}
	t, err := p.resolve(op.Path)
	if err != nil {
		return err
	}
	if op.Op == "remove" {
		return p.remove(t, op)
	}
	if !op.HasValue {
		return badRequest(typeInvalidValue, "%s of %q requires a value", op.Op, op.Path)
	}
	if t.ext != nil {
		m, ok := op.Value.(map[string]any)
		if !ok {
			if op.Value == nil && op.Op == "replace" {
				delete(p.doc, t.ext.ID)
				return nil
			}
			return badRequest(typeInvalidValue, "the value for %q must be an object", t.ext.ID)
		}
		return p.applyObject(op.Op, t.ext, m)
	}
	if ok, err := p.checkMutable(t, op.Value); !ok || err != nil {
		return err
	}
	switch {
	case t.filter != nil:
		return p.setFiltered(op.Op, t, op.Value)
	case t.sub != nil:
		return p.setSub(t, op.Value)
	}
	return p.setAttr(op.Op, t.sch, t.attr, op.Value)
}

// checkMutable refuses writes to read-only attributes. It reports false (with a nil
// error) for writes that are accepted and ignored: a password (never stored) and an id
// equal to the resource's own, which Okta sends inside a group rename.
func (p *patcher) checkMutable(t target, v any) (bool, error) {
	a := t.attr
	switch {
	case a.Mutability == "writeOnly":
		return false, nil
	case a.Mutability == "readOnly":
		if t.sch == nil && a.Name == "id" && t.sub == nil && t.filter == nil {
			if s, ok := v.(string); ok && s == p.id {
				return false, nil
			}
		}
		return false, badRequest(typeMutability, "attribute %q is read-only", a.Name)
	case t.sub != nil && t.sub.Mutability == "readOnly":
		return false, badRequest(typeMutability, "attribute %q is read-only", a.Name+"."+t.sub.Name)
	}
	return true, nil
}

// applyObject applies an add or replace whose value is an object of attributes: the
// no-path form Okta uses ({"op":"replace","value":{"active":false}}), or a whole
// extension (ext non-nil). Keys may be URN-qualified attribute names or extension URNs
// with nested objects.
func (p *patcher) applyObject(op string, ext *scimschema.Schema, m map[string]any) error {
	for k, v := range m {
		if ext != nil {
			a := ext.Attr(k)
			if a == nil {
				continue
			}
			if err := p.applyKey(op, ext, a, v); err != nil {
				return err
			}
			continue
		}
		if strings.EqualFold(k, "schemas") {
			continue
		}
		if hasURNPrefix(k) {
			if e := p.res.Extension(k); e != nil {
				sub, ok := v.(map[string]any)
				if !ok {
					if v == nil && op == "replace" {
						delete(p.doc, e.ID)
						continue
					}
					return badRequest(typeInvalidValue, "the value for %q must be an object", e.ID)
				}
				if err := p.applyObject(op, e, sub); err != nil {
					return err
				}
				continue
			}
			if strings.EqualFold(k, p.res.Schema.ID) {
				sub, ok := v.(map[string]any)
				if !ok {
					return badRequest(typeInvalidValue, "the value for %q must be an object", p.res.Schema.ID)
				}
				if err := p.applyObject(op, nil, sub); err != nil {
					return err
				}
				continue
			}
			i := strings.LastIndexByte(k, ':')
			sch, a := p.res.Lookup(k[:i], k[i+1:])
			if a == nil {
				if isPathKey(k[i+1:]) {
					if err := p.apply(patchOp{Op: op, Path: k, Value: v, HasValue: true}); err != nil {
						return err
					}
				}
				continue // an attribute of a schema this server does not know: ignored
			}
			if err := p.applyKey(op, sch, a, v); err != nil {
				return err
			}
			continue
		}
		sch, a := p.res.Lookup("", k)
		if a == nil {
			// Some clients put paths where attribute names go: {"name.givenName": "x"}
			// or {"emails[type eq \"work\"].value": "x"}; each is applied as its path.
			if isPathKey(k) {
				if err := p.apply(patchOp{Op: op, Path: k, Value: v, HasValue: true}); err != nil {
					return err
				}
			}
			continue // unknown attributes are ignored, as on PUT
		}
		if err := p.applyKey(op, sch, a, v); err != nil {
			return err
		}
	}
	return nil
}

// isPathKey reports whether a key of a value object is a path rather than a name.
func isPathKey(k string) bool { return strings.ContainsAny(k, ".[") }

func (p *patcher) applyKey(op string, sch *scimschema.Schema, a *scimschema.Attribute, v any) error {
	if ok, err := p.checkMutable(target{sch: sch, attr: a}, v); !ok || err != nil {
		return err
	}
	return p.setAttr(op, sch, a, v)
}

// setAttr adds or replaces a whole attribute. Replacing or adding a complex value merges
// the given sub-attributes (RFC 7644 §3.5.2.1, §3.5.2.3); adding to a multi-valued
// attribute appends the values not already present; replacing it swaps the list.
func (p *patcher) setAttr(op string, sch *scimschema.Schema, a *scimschema.Attribute, v any) error {
	nv, err := normValue(a, v, a.Name)
	if err != nil {
		return err
	}
	cur := getAttr(p.doc, sch, a)
	switch {
	case nv == nil:
		if op == "replace" {
			setAttr(p.doc, sch, a, nil)
		}
		return nil
	case a.MultiValued && op == "add":
		list, _ := cur.([]any)
		for _, e := range nv.([]any) {
			if i := indexOf(a, list, e); i >= 0 {
				if em, ok := e.(map[string]any); ok {
					if lm, ok := list[i].(map[string]any); ok {
						for k, x := range em {
							lm[k] = x
						}
					}
				}
				if isPrimary(e) {
					clearPrimary(list, i)
				}
				continue
			}
			list = append(list, e)
			if isPrimary(e) {
				clearPrimary(list, len(list)-1)
			}
		}
		setAttr(p.doc, sch, a, list)
		return nil
	case a.MultiValued:
		list := nv.([]any)
		for i := len(list) - 1; i >= 0; i-- {
			if isPrimary(list[i]) {
				clearPrimary(list, i)
				break
			}
		}
		setAttr(p.doc, sch, a, list)
		return nil
	case a.Type == scimschema.Complex:
		if cm, ok := cur.(map[string]any); ok {
			for k, x := range nv.(map[string]any) {
				cm[k] = x
			}
			return nil
		}
	}
	setAttr(p.doc, sch, a, nv)
	return nil
}

// setSub sets one sub-attribute of a complex attribute (name.givenName), or of every
// element of a multi-valued one when no filter narrows it.
func (p *patcher) setSub(t target, v any) error {
	nv, err := normValue(t.sub, v, t.attr.Name+"."+t.sub.Name)
	if err != nil {
		return err
	}
	cur := getAttr(p.doc, t.sch, t.attr)
	if t.attr.MultiValued {
		list, _ := cur.([]any)
		if len(list) == 0 {
			if nv == nil {
				return nil
			}
			setAttr(p.doc, t.sch, t.attr, []any{map[string]any{t.sub.Name: nv}})
			return nil
		}
		for _, e := range list {
			if m, ok := e.(map[string]any); ok {
				setOrDelete(m, t.sub.Name, nv)
			}
		}
		setAttr(p.doc, t.sch, t.attr, compact(list))
		return nil
	}
	m, _ := cur.(map[string]any)
	if m == nil {
		if nv == nil {
			return nil
		}
		m = map[string]any{}
	}
	setOrDelete(m, t.sub.Name, nv)
	if len(m) == 0 {
		setAttr(p.doc, t.sch, t.attr, nil)
		return nil
	}
	setAttr(p.doc, t.sch, t.attr, m)
	return nil
}

// setFiltered adds or replaces through a value filter: emails[type eq "work"].value or
// members[value eq "x"]. When the filter matches nothing the value is added as a new
// element carrying the filter's eq constraints (replace-as-add, which Entra relies on).
func (p *patcher) setFiltered(op string, t target, v any) error {
	if t.sub != nil && t.sub.Mutability == "immutable" && op == "replace" {
		return badRequest(typeMutability, "attribute %q is immutable", t.attr.Name+"."+t.sub.Name)
	}
	list, _ := getAttr(p.doc, t.sch, t.attr).([]any)
	matched, err := p.match(t, list)
	if err != nil {
		return err
	}
	var nv any
	if t.sub != nil {
		nv, err = normValue(t.sub, v, t.attr.Name+"."+t.sub.Name)
	} else {
		nv, err = normSingle(t.attr, v, t.attr.Name)
	}
	if err != nil {
		return err
	}
	if len(matched) == 0 {
		if nv == nil {
			return nil
		}
		elem := map[string]any{}
		eqConstraints(t.attr, t.filter, elem)
		if t.sub != nil {
			elem[t.sub.Name] = nv
		} else if m, ok := nv.(map[string]any); ok {
			for k, x := range m {
				elem[k] = x
			}
		}
		list = append(list, elem)
		if isPrimary(elem) {
			clearPrimary(list, len(list)-1)
		}
		setAttr(p.doc, t.sch, t.attr, list)
		return nil
	}
	for _, i := range matched {
		m, _ := list[i].(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		switch {
		case t.sub != nil:
			setOrDelete(m, t.sub.Name, nv)
		case op == "add":
			if nm, ok := nv.(map[string]any); ok {
				for k, x := range nm {
					m[k] = x
				}
			}
		default:
			// Replace swaps the element, keeping what the filter pinned it by.
			nm := map[string]any{}
			eqConstraints(t.attr, t.filter, nm)
			if x, ok := nv.(map[string]any); ok {
				for k, e := range x {
					nm[k] = e
				}
			}
			m = nm
		}
		list[i] = m
		if isPrimary(m) {
			clearPrimary(list, i)
		}
	}
	setAttr(p.doc, t.sch, t.attr, compact(list))
	return nil
}

// remove applies a remove operation (RFC 7644 §3.5.2.2).
func (p *patcher) remove(t target, op patchOp) error {
	if t.ext != nil {
		delete(p.doc, t.ext.ID)
		return nil
	}
	a := t.attr
	if a.Mutability == "writeOnly" {
		return nil
	}
	if a.Mutability == "readOnly" || (t.sub != nil && t.sub.Mutability == "readOnly") {
		return badRequest(typeMutability, "attribute %q is read-only", t.text)
	}
	if a.Required && t.sub == nil && t.filter == nil {
		return badRequest(typeMutability, "attribute %q is required and cannot be removed", a.Name)
	}
	list, _ := getAttr(p.doc, t.sch, a).([]any)
	switch {
	case t.filter != nil:
		matched, err := p.match(t, list)
		if err != nil {
			return err
		}
		if len(matched) == 0 {
			// Removing a group member that is not there is a no-op: Okta unassigns
			// members that may already be gone (deleted users leave their groups), and
			// failing would stall its group push. Other filtered targets must exist.
			if a.Name == "members" {
				return nil
			}
			return badRequest(typeNoTarget, "path %q matches no value", t.text)
		}
		drop := make(map[int]bool, len(matched))
		for _, i := range matched {
			drop[i] = true
		}
		out := list[:0:0]
		for i, e := range list {
			if !drop[i] {
				out = append(out, e)
				continue
			}
			if t.sub != nil {
				if m, ok := e.(map[string]any); ok {
					delete(m, t.sub.Name)
					out = append(out, m)
				}
			}
		}
		setAttr(p.doc, t.sch, a, compact(out))
	case t.sub != nil && a.MultiValued:
		for _, e := range list {
			if m, ok := e.(map[string]any); ok {
				delete(m, t.sub.Name)
			}
		}
		setAttr(p.doc, t.sch, a, compact(list))
	case t.sub != nil:
		m, _ := getAttr(p.doc, t.sch, a).(map[string]any)
		if m != nil {
			delete(m, t.sub.Name)
			if len(m) == 0 {
				setAttr(p.doc, t.sch, a, nil)
			}
		}
	case a.MultiValued && op.HasValue && op.Value != nil:
		// Entra removes members by listing them: {"op":"Remove","path":"members",
		// "value":[{"value":"id"}]}.
		nv, err := normValue(a, op.Value, a.Name)
		if err != nil {
			return err
		}
		vals, _ := nv.([]any)
		out := list[:0:0]
		for _, e := range list {
			if indexOf(a, vals, e) < 0 {
				out = append(out, e)
			}
		}
		setAttr(p.doc, t.sch, a, compact(out))
	default:
		setAttr(p.doc, t.sch, a, nil)
	}
	return nil
}

// match returns the indexes of the elements of list that t's filter selects.
func (p *patcher) match(t target, list []any) ([]int, error) {
	var out []int
	for i, e := range list {
		ok, err := matchElem(t.attr, e, t.filter)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, i)
		}
	}
	if len(list) == 0 {
		// Validate the filter's attributes even with nothing to match against.
		if _, err := matchElem(t.attr, map[string]any{}, t.filter); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func indexOf(a *scimschema.Attribute, list []any, e any) int {
	for i, x := range list {
		if sameElement(a, x, e) {
			return i
		}
	}
	return -1
}

func isPrimary(e any) bool {
	m, _ := e.(map[string]any)
	b, _ := m["primary"].(bool)
	return b
}

// clearPrimary unsets primary on every element but keep: at most one value may be
// primary (RFC 7643 §2.4), and the one just written wins.
func clearPrimary(list []any, keep int) {
	for i, e := range list {
		if i == keep {
			continue
		}
		if m, ok := e.(map[string]any); ok {
			if b, _ := m["primary"].(bool); b {
				delete(m, "primary")
			}
		}
	}
}

func setOrDelete(m map[string]any, k string, v any) {
	if v == nil {
		delete(m, k)
		return
	}
	m[k] = v
}

// compact drops elements left empty; nil when none remain (the attribute is unassigned).
func compact(list []any) any {
	out := list[:0]
	for _, e := range list {
		if m, ok := e.(map[string]any); ok && len(m) == 0 {
			continue
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
