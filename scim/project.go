package scim

import (
	"strings"

	"github.com/oktasync/oktasync/scimschema"
)

// projection is a parsed attributes or excludedAttributes parameter (RFC 7644 §3.9).
// Keys are lower-cased "urn|attr" with an optional ".sub"; an empty attr means a whole
// extension.
type projection struct {
	include bool                       // attributes= (true) or excludedAttributes= (false)
	whole   map[string]bool            // "urn|attr" selected as a whole ("urn|" for a whole extension)
	subs    map[string]map[string]bool // "urn|attr" -> lower-cased sub-attribute names
}

// parseProjection parses a list of attribute names: "userName", "name.givenName",
// "emails.value", "urn:...:enterprise:2.0:User:department", or an extension URN alone.
// Names no schema defines are kept, so that they simply select nothing. A value filter
// in a name, which the attribute syntax of RFC 7644 §3.10 has no place for but Entra's
// reference tests send (`emails[type eq "work"]`), is dropped: the name selects the
// attribute, all of its values.
func parseProjection(res *scimschema.Resource, names []string, include bool) *projection {
	p := &projection{include: include, whole: map[string]bool{}, subs: map[string]map[string]bool{}}
	any := false
	for _, n := range names {
		n = strings.TrimSpace(withoutValueFilter(n))
		if n == "" {
			continue
		}
		any = true
		urn, rest := splitURN(res, n)
		attr, sub, _ := strings.Cut(rest, ".")
		if urn == "" && attr != "" {
			// An unqualified name may belong to an extension (e.g. "department").
			if sch, a := res.Lookup("", attr); a != nil && sch != nil && isExtension(sch) {
				urn = sch.ID
			}
		}
		key := strings.ToLower(urn) + "|" + strings.ToLower(attr)
		if sub == "" || attr == "" {
			p.whole[key] = true
			continue
		}
		if p.subs[key] == nil {
			p.subs[key] = map[string]bool{}
		}
		p.subs[key][strings.ToLower(sub)] = true
	}
	if !any {
		return nil
	}
	return p
}

// withoutValueFilter removes a bracketed value filter from an attribute name:
// `emails[type eq "work"].value` is `emails.value`. Brackets inside a quoted string of
// the filter do not end it; an unclosed filter runs to the end of the name.
func withoutValueFilter(n string) string {
	open := strings.IndexByte(n, '[')
	if open < 0 {
		return n
	}
	quoted := false
	for i := open + 1; i < len(n); i++ {
		switch c := n[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == ']' && !quoted:
			return n[:open] + withoutValueFilter(n[i+1:])
		}
	}
	return n[:open]
}

// splitURN splits a name into the URN of a known schema (the core schema's URN becomes
// "") and the rest.
func splitURN(res *scimschema.Resource, n string) (urn, rest string) {
	if !hasURNPrefix(n) {
		return "", n
	}
	schemas := append([]*scimschema.Schema{res.Schema}, res.Extensions...)
	for _, s := range schemas {
		switch {
		case strings.EqualFold(n, s.ID):
			if s == res.Schema {
				return "", ""
			}
			return s.ID, ""
		case len(n) > len(s.ID) && strings.EqualFold(n[:len(s.ID)], s.ID) && n[len(s.ID)] == ':':
			if s == res.Schema {
				return "", n[len(s.ID)+1:]
			}
			return s.ID, n[len(s.ID)+1:]
		}
	}
	i := strings.LastIndexByte(n, ':')
	return n[:i], n[i+1:]
}

// apply returns the projected copy of a rendered resource document. id, schemas and
// meta.resourceType are always returned (RFC 7643 "returned": "always").
func (p *projection) apply(res *scimschema.Resource, doc map[string]any) map[string]any {
	if p == nil {
		return doc
	}
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		switch {
		case k == "id" || k == "schemas":
			out[k] = v
		case k == "meta":
			if p.include && !p.whole["|meta"] {
				if m, ok := v.(map[string]any); ok {
					mm := map[string]any{"resourceType": m["resourceType"]}
					for s := range p.subs["|meta"] {
						for mk, mv := range m {
							if strings.EqualFold(mk, s) {
								mm[mk] = mv
							}
						}
					}
					out[k] = mm
				}
				continue
			}
			if !p.include && (p.whole["|meta"] || len(p.subs["|meta"]) > 0) {
				if m, ok := v.(map[string]any); ok {
					mm := map[string]any{"resourceType": m["resourceType"]}
					if !p.whole["|meta"] {
						for mk, mv := range m {
							if !p.subs["|meta"][strings.ToLower(mk)] {
								mm[mk] = mv
							}
						}
					}
					out[k] = mm
				}
				continue
			}
			out[k] = v
		case res.Extension(k) != nil:
			ext, _ := v.(map[string]any)
			urn := strings.ToLower(k)
			if p.whole[urn+"|"] {
				if p.include {
					out[k] = v
				}
				continue
			}
			em := map[string]any{}
			for ak, av := range ext {
				if pv, ok := p.attr(urn, ak, av); ok {
					em[ak] = pv
				}
			}
			if len(em) > 0 {
				out[k] = em
			}
		default:
			if pv, ok := p.attr("", k, v); ok {
				out[k] = pv
			}
		}
	}
	return out
}

// attr projects one attribute value; ok is false when it is left out.
func (p *projection) attr(urn, name string, v any) (any, bool) {
	key := urn + "|" + strings.ToLower(name)
	whole := p.whole[key]
	subs := p.subs[key]
	if p.include {
		switch {
		case whole:
			return v, true
		case len(subs) > 0:
			return pickSubs(v, func(s string) bool { return subs[strings.ToLower(s)] })
		}
		return nil, false
	}
	switch {
	case whole:
		return nil, false
	case len(subs) > 0:
		return pickSubs(v, func(s string) bool { return !subs[strings.ToLower(s)] })
	}
	return v, true
}

// pickSubs keeps the sub-attributes keep accepts, in a complex value or in each element
// of a multi-valued one.
func pickSubs(v any, keep func(string) bool) (any, bool) {
	pick := func(m map[string]any) map[string]any {
		out := map[string]any{}
		for k, x := range m {
			if keep(k) {
				out[k] = x
			}
		}
		return out
	}
	switch x := v.(type) {
	case map[string]any:
		m := pick(x)
		return m, len(m) > 0
	case []any:
		var out []any
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				if pm := pick(m); len(pm) > 0 {
					out = append(out, pm)
				}
			}
		}
		return out, len(out) > 0
	}
	return nil, false
}

// wants reports whether the projection returns attribute name of the core schema (used
// to skip loading group memberships or members nobody asked for).
func (p *projection) wants(name string) bool {
	if p == nil {
		return true
	}
	key := "|" + strings.ToLower(name)
	if p.include {
		return p.whole[key] || len(p.subs[key]) > 0
	}
	return !p.whole[key]
}
