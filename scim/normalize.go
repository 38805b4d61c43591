package scim

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/oktasync/oktasync/scimschema"
)

// A resource document is the JSON object form of a User or Group as a generic map:
// core attributes at the top level, extension attributes nested under their schema URN,
// every key spelled as in the schema. Input is brought to this canonical form by
// normalize, PATCH operations act on it, and responses are rendered from it.

// normalize checks doc against the resource's schemas and returns its canonical form:
// attribute names spelled as in the schema, values converted to their declared types
// (accepting "True"/"false" strings for booleans, as Entra sends them), unassigned
// (null or empty) values dropped. Read-only and write-only attributes (id, meta, groups,
// password) and attributes no schema defines are dropped rather than refused, because
// Okta sends them back on PUT. A value of the wrong type is 400 invalidValue.
func normalize(res *scimschema.Resource, doc map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		if err := normalizeTop(res, out, k, v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// normalizeTop normalizes one top-level key of a document into out.
func normalizeTop(res *scimschema.Resource, out map[string]any, key string, v any) error {
	if strings.EqualFold(key, "schemas") {
		return nil
	}
	if hasURNPrefix(key) {
		if strings.EqualFold(key, res.Schema.ID) {
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			for k2, v2 := range m {
				if err := normalizeTop(res, out, k2, v2); err != nil {
					return err
				}
			}
			return nil
		}
		if ext := res.Extension(key); ext != nil {
			m, ok := v.(map[string]any)
			if v == nil {
				return nil
			}
			if !ok {
				return badRequest(typeInvalidValue, "%s must be a JSON object", ext.ID)
			}
			for k2, v2 := range m {
				a := ext.Attr(k2)
				if a == nil || !writable(a) {
					continue
				}
				if err := setNormalized(out, ext, a, v2, ext.ID+":"+a.Name); err != nil {
					return err
				}
			}
			return nil
		}
		// A URN-qualified attribute name, e.g. "urn:...:enterprise:2.0:User:department".
		if i := strings.LastIndexByte(key, ':'); i > 0 {
			urn, name := key[:i], key[i+1:]
			sch, a := res.Lookup(urn, name)
			if a != nil && writable(a) {
				if sch == nil {
					return setCommon(out, a, v)
				}
				return setNormalized(out, sch, a, v, key)
			}
		}
		return nil // an extension this server does not know: ignored
	}
	sch, a := res.Lookup("", key)
	if a == nil || !writable(a) {
		return nil
	}
	if sch == nil {
		return setCommon(out, a, v)
	}
	return setNormalized(out, sch, a, v, a.Name)
}

// writable reports whether a client may set a: readOnly attributes are the server's and
// writeOnly ones (password) are accepted and discarded.
func writable(a *scimschema.Attribute) bool {
	return a.Mutability != "readOnly" && a.Mutability != "writeOnly"
}

// setCommon sets a common attribute (only externalId is writable).
func setCommon(out map[string]any, a *scimschema.Attribute, v any) error {
	nv, err := normValue(a, v, a.Name)
	if err != nil {
		return err
	}
	if nv == nil {
		delete(out, a.Name)
		return nil
	}
	out[a.Name] = nv
	return nil
}

// setNormalized stores the normalized v for attribute a of schema sch in doc.
func setNormalized(doc map[string]any, sch *scimschema.Schema, a *scimschema.Attribute, v any, where string) error {
	nv, err := normValue(a, v, where)
	if err != nil {
		return err
	}
	setAttr(doc, sch, a, nv)
	return nil
}

// container returns the map holding sch's attributes in doc: doc itself for a core
// schema, doc[URN] for an extension (created when create is set; nil otherwise).
func container(doc map[string]any, sch *scimschema.Schema, create bool) map[string]any {
	if sch == nil || !isExtension(sch) {
		return doc
	}
	m, _ := doc[sch.ID].(map[string]any)
	if m == nil && create {
		m = map[string]any{}
		doc[sch.ID] = m
	}
	return m
}

func isExtension(sch *scimschema.Schema) bool {
	return sch.ID != scimschema.UserURN && sch.ID != scimschema.GroupURN
}

// setAttr sets (or, for nil, removes) a canonical value, dropping an extension object
// left empty.
func setAttr(doc map[string]any, sch *scimschema.Schema, a *scimschema.Attribute, v any) {
	if v == nil {
		c := container(doc, sch, false)
		if c == nil {
			return
		}
		delete(c, a.Name)
		if sch != nil && isExtension(sch) && len(c) == 0 {
			delete(doc, sch.ID)
		}
		return
	}
	container(doc, sch, true)[a.Name] = v
}

// getAttr returns the current value of a in doc, or nil.
func getAttr(doc map[string]any, sch *scimschema.Schema, a *scimschema.Attribute) any {
	c := container(doc, sch, false)
	if c == nil {
		return nil
	}
	return c[a.Name]
}

func hasURNPrefix(s string) bool {
	return len(s) >= 4 && strings.EqualFold(s[:4], "urn:")
}

// normValue converts v to the canonical form of attribute a; nil means unassigned.
func normValue(a *scimschema.Attribute, v any, where string) (any, error) {
	if v == nil {
		return nil, nil
	}
	if a.MultiValued {
		list, ok := v.([]any)
		if !ok {
			// One complex value where a list is expected (a PATCH adding one email)
			// is a list of one, and so is one member id (see normComplex); anything
			// else is the wrong type, not a value to guess.
			_, isObj := v.(map[string]any)
			_, isStr := v.(string)
			if !(isObj && a.Type == scimschema.Complex) && !(isStr && isMembers(a)) {
				return nil, badRequest(typeInvalidValue, "attribute %q must be an array, got %s", where, jsonKind(v))
			}
			list = []any{v}
		}
		out := make([]any, 0, len(list))
		for _, e := range list {
			ne, err := normSingle(a, e, where)
			if err != nil {
				return nil, err
			}
			if ne != nil {
				out = append(out, ne)
			}
		}
		if len(out) == 0 {
			return nil, nil
		}
		if a.Sub("primary") != nil {
			onePrimary(out)
		}
		return out, nil
	}
	return normSingle(a, v, where)
}

// onePrimary keeps "primary": true on the last value that has it and drops it from the
// others: RFC 7643 §2.4 allows one primary value, and a client that sends two (a work
// and a home email both marked primary) would otherwise read back a list no consumer
// can resolve. The last one wins, as with a PATCH that sets a new primary value.
func onePrimary(list []any) {
	for i := len(list) - 1; i >= 0; i-- {
		if isPrimary(list[i]) {
			clearPrimary(list, i)
			return
		}
	}
}

// normSingle converts one (not multi-valued) value of a.
func normSingle(a *scimschema.Attribute, v any, where string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch a.Type {
	case scimschema.String, scimschema.Reference, scimschema.Binary:
		if x, ok := v.(string); ok {
			return x, nil
		}
	case scimschema.Boolean:
		if b, ok := toBool(v); ok {
			return b, nil
		}
	case scimschema.Integer:
		if n, ok := toInt(v); ok {
			return n, nil
		}
	case scimschema.Decimal:
		if f, ok := toFloat(v); ok {
			return f, nil
		}
	case scimschema.DateTime:
		if s, ok := v.(string); ok {
			if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return s, nil
			}
			return nil, badRequest(typeInvalidValue, "attribute %q must be an RFC 3339 date-time, got %q", where, s)
		}
	case scimschema.Complex:
		return normComplex(a, v, where)
	}
	return nil, badRequest(typeInvalidValue, "attribute %q must be of type %s, got %s", where, typeName(a), jsonKind(v))
}

func typeName(a *scimschema.Attribute) string {
	if a.Type == scimschema.Reference || a.Type == scimschema.Binary {
		return "string"
	}
	return a.Type
}

// normComplex normalizes a complex value's sub-attributes. A bare string stands for the
// "value" sub-attribute in two documented leniencies: a single-valued attribute (Entra
// sends the enterprise manager as the manager's id) and a group member (Entra's
// reference tests add members as bare ids, `"value":"<id>"` or a list of ids). Any other
// element of a multi-valued attribute must be an object, and a number or a boolean is
// never an id.
func normComplex(a *scimschema.Attribute, v any, where string) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		if s, isStr := v.(string); isStr && a.Sub("value") != nil && (!a.MultiValued || isMembers(a)) {
			if s == "" {
				return nil, nil
			}
			return map[string]any{"value": s}, nil
		}
		return nil, badRequest(typeInvalidValue, "attribute %q must be a JSON object, got %s", where, jsonKind(v))
	}
	out := make(map[string]any, len(m))
	for k, sv := range m {
		sub := a.Sub(k)
		if sub == nil || !writable(sub) {
			continue
		}
		ns, err := normValue(sub, sv, where+"."+sub.Name)
		if err != nil {
			return nil, err
		}
		if ns != nil {
			out[sub.Name] = ns
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// isMembers reports whether a is a group's members attribute.
func isMembers(a *scimschema.Attribute) bool {
	return a == scimschema.Group.Attr("members")
}

func toBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch {
		case strings.EqualFold(x, "true"):
			return true, true
		case strings.EqualFold(x, "false"):
			return false, true
		}
	}
	return false, false
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		n, err := strconv.ParseInt(string(x), 10, 64)
		return n, err == nil
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number, float64, int64, int:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "an unsupported value"
}

// deepCopy copies a JSON-like value so that edits to the copy leave the original alone.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}
