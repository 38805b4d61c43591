package appstore

import (
	"strings"

	"github.com/oktasync/oktasync/scimschema"
)

// canonicalAttrs renames attribute keys to their schema spelling ("EMAILS" → "emails",
// an extension URN in any case → the URN as defined), recursively through complex and
// multi-valued attributes. SCIM attribute names are case-insensitive, while filters are
// translated to JSON lookups by exact key, so the stored document must use one spelling.
// Keys the schema does not know are kept as they are.
func canonicalAttrs(res *scimschema.Resource, attrs map[string]any) map[string]any {
	out := make(map[string]any, len(attrs))
	for k, v := range attrs {
		if ext := res.Extension(k); ext != nil {
			if m, ok := v.(map[string]any); ok {
				out[ext.ID] = canonicalObject(ext.Attributes, m)
				continue
			}
			out[ext.ID] = v
			continue
		}
		if a := res.Schema.Attr(k); a != nil {
			out[a.Name] = canonicalValue(a, v)
			continue
		}
		out[k] = v
	}
	return out
}

func canonicalObject(defs []*scimschema.Attribute, m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		var def *scimschema.Attribute
		for _, d := range defs {
			if strings.EqualFold(d.Name, k) {
				def = d
				break
			}
		}
		if def == nil {
			out[k] = v
			continue
		}
		out[def.Name] = canonicalValue(def, v)
	}
	return out
}

func canonicalValue(a *scimschema.Attribute, v any) any {
	if a.Type != scimschema.Complex {
		return v
	}
	switch t := v.(type) {
	case map[string]any:
		return canonicalObject(a.SubAttributes, t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			if m, ok := e.(map[string]any); ok {
				out[i] = canonicalObject(a.SubAttributes, m)
			} else {
				out[i] = e
			}
		}
		return out
	}
	return v
}
