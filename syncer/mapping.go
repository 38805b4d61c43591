package syncer

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/oktaclient"
	"github.com/oktasync/oktasync/scimschema"
)

// Keys of the two values that are not AppUser profile attributes but are merged like
// them: the app user name (credentials.userName in Okta, userName in SCIM) and whether
// the user is active (assigned in Okta, active in the app).
const (
	KeyUserName = "credentials.userName"
	KeyActive   = "active"
)

// Field maps one app attribute (a SCIM path) to one AppUser profile attribute.
type Field struct {
	// Okta is the AppUser profile attribute, as Okta's SCIM 2.0 app profile names it.
	Okta string `json:"okta"`
	// SCIM is the attribute in the app, as a SCIM path.
	SCIM string `json:"scim"`
	// Custom marks a tenant-defined attribute of the oktasync extension.
	Custom bool `json:"custom,omitempty"`
	// Attr is the top-level attribute of the app user that holds the value ("name",
	// "emails", an extension URN...), as the store tracks app changes by it.
	Attr string `json:"-"`

	get func(u *appstore.User) any
	set func(u *appstore.User, v any)
}

// Mapping is a tenant's attribute mapping between the app's users and the AppUser.
type Mapping struct {
	Fields []Field
}

// simple addresses a value nested in objects: keys[0] in Attrs, keys[1] inside it, ...
func simple(okta, scimPath string, keys ...string) Field {
	return Field{Okta: okta, SCIM: scimPath, Attr: keys[0],
		get: func(u *appstore.User) any {
			var cur any = u.Attrs
			for _, k := range keys {
				m, _ := cur.(map[string]any)
				if m == nil {
					return nil
				}
				cur = m[k]
			}
			return cur
		},
		set: func(u *appstore.User, v any) {
			if u.Attrs == nil {
				u.Attrs = map[string]any{}
			}
			m := u.Attrs
			for _, k := range keys[:len(keys)-1] {
				next, _ := m[k].(map[string]any)
				if next == nil {
					if empty(v) {
						return
					}
					next = map[string]any{}
					m[k] = next
				}
				m = next
			}
			last := keys[len(keys)-1]
			if empty(v) {
				delete(m, last)
			} else {
				m[last] = v
			}
			// Drop containers left empty, so a cleared name does not linger as {}.
			if len(keys) > 1 && len(m) == 0 {
				delete(u.Attrs, keys[0])
			}
		}}
}

// multi addresses sub in the element of the multi-valued attribute attr that pick
// chooses; setting a value creates the element (with the fields of fresh) if needed,
// and clearing the last sub-attribute of an element removes it.
func multi(okta, scimPath, attr, sub string, pick func(elems []any) int, fresh map[string]any) Field {
	return Field{Okta: okta, SCIM: scimPath, Attr: attr,
		get: func(u *appstore.User) any {
			list, _ := u.Attrs[attr].([]any)
			if i := pick(list); i >= 0 {
				m, _ := list[i].(map[string]any)
				return m[sub]
			}
			return nil
		},
		set: func(u *appstore.User, v any) {
			if u.Attrs == nil {
				u.Attrs = map[string]any{}
			}
			list, _ := u.Attrs[attr].([]any)
			i := pick(list)
			if i < 0 {
				if empty(v) {
					return
				}
				m := map[string]any{}
				for k, fv := range fresh {
					m[k] = fv
				}
				list = append(list, m)
				i = len(list) - 1
			}
			m, _ := list[i].(map[string]any)
			if m == nil {
				m = map[string]any{}
				list[i] = m
			}
			if empty(v) {
				delete(m, sub)
				meaningful := false
				for k := range m {
					if k != "type" && k != "primary" {
						meaningful = true
					}
				}
				if !meaningful {
					list = append(list[:i], list[i+1:]...)
				}
			} else {
				m[sub] = v
			}
			if len(list) == 0 {
				delete(u.Attrs, attr)
			} else {
				u.Attrs[attr] = list
			}
		}}
}

// primaryOrFirst picks the element marked primary, else the first.
func primaryOrFirst(list []any) int {
	for i, e := range list {
		if m, _ := e.(map[string]any); m != nil && m["primary"] == true {
			return i
		}
	}
	if len(list) > 0 {
		return 0
	}
	return -1
}

// ofType picks the element of the given type; for "work" an element without a type
// that is primary counts too, as many clients leave the type out.
func ofType(typ string) func([]any) int {
	return func(list []any) int {
		for i, e := range list {
			if m, _ := e.(map[string]any); m != nil && strings.EqualFold(str(m["type"]), typ) {
				return i
			}
		}
		if typ == "work" {
			for i, e := range list {
				if m, _ := e.(map[string]any); m != nil && str(m["type"]) == "" && m["primary"] == true {
					return i
				}
			}
		}
		return -1
	}
}

func str(v any) string { s, _ := v.(string); return s }

// DefaultMapping is the mapping of Okta's SCIM 2.0 app template, plus one field for
// each of the tenant's custom attributes (same name on both sides).
func DefaultMapping(custom []scimschema.CustomAttr) Mapping {
	ent := scimschema.EnterpriseURN
	work := map[string]any{"type": "work"}
	fields := []Field{
		simple("givenName", "name.givenName", "name", "givenName"),
		simple("familyName", "name.familyName", "name", "familyName"),
		simple("middleName", "name.middleName", "name", "middleName"),
		simple("honorificPrefix", "name.honorificPrefix", "name", "honorificPrefix"),
		simple("honorificSuffix", "name.honorificSuffix", "name", "honorificSuffix"),
		multi("email", `emails[primary eq true].value`, "emails", "value", primaryOrFirst, map[string]any{"type": "work", "primary": true}),
		simple("displayName", "displayName", "displayName"),
		simple("nickName", "nickName", "nickName"),
		simple("profileUrl", "profileUrl", "profileUrl"),
		simple("title", "title", "title"),
		simple("userType", "userType", "userType"),
		simple("preferredLanguage", "preferredLanguage", "preferredLanguage"),
		simple("locale", "locale", "locale"),
		simple("timezone", "timezone", "timezone"),
		multi("primaryPhone", `phoneNumbers[type eq "work"].value`, "phoneNumbers", "value", ofType("work"), map[string]any{"type": "work", "primary": true}),
		multi("mobilePhone", `phoneNumbers[type eq "mobile"].value`, "phoneNumbers", "value", ofType("mobile"), map[string]any{"type": "mobile"}),
		multi("streetAddress", `addresses[type eq "work"].streetAddress`, "addresses", "streetAddress", ofType("work"), work),
		multi("locality", `addresses[type eq "work"].locality`, "addresses", "locality", ofType("work"), work),
		multi("region", `addresses[type eq "work"].region`, "addresses", "region", ofType("work"), work),
		multi("postalCode", `addresses[type eq "work"].postalCode`, "addresses", "postalCode", ofType("work"), work),
		multi("countryCode", `addresses[type eq "work"].country`, "addresses", "country", ofType("work"), work),
		simple("employeeNumber", ent+":employeeNumber", ent, "employeeNumber"),
		simple("costCenter", ent+":costCenter", ent, "costCenter"),
		simple("organization", ent+":organization", ent, "organization"),
		simple("division", ent+":division", ent, "division"),
		simple("department", ent+":department", ent, "department"),
	}
	taken := map[string]bool{}
	for _, f := range fields {
		taken[strings.ToLower(f.Okta)] = true
	}
	for _, c := range custom {
		if taken[strings.ToLower(c.Name)] {
			continue // a custom attribute never shadows a standard one
		}
		f := simple(c.Name, scimschema.CustomURN+":"+c.Name, scimschema.CustomURN, c.Name)
		f.Custom = true
		fields = append(fields, f)
	}
	return Mapping{Fields: fields}
}

// Keys lists every merged key: the user name, active, then the profile attributes.
func (m Mapping) Keys() []string {
	keys := []string{KeyUserName, KeyActive}
	for _, f := range m.Fields {
		keys = append(keys, f.Okta)
	}
	return keys
}

// AppValues returns the user's merged values keyed as in Keys; absent and empty values
// are left out.
func (m Mapping) AppValues(u *appstore.User) map[string]any {
	out := map[string]any{KeyUserName: u.UserName, KeyActive: u.Active}
	for _, f := range m.Fields {
		if v := f.get(u); !empty(v) {
			out[f.Okta] = normalize(v)
		}
	}
	return out
}

// AttrOf returns the app user's top-level attribute behind a merged key.
func (m Mapping) AttrOf(key string) string {
	switch key {
	case KeyUserName:
		return "userName"
	case KeyActive:
		return "active"
	}
	for _, f := range m.Fields {
		if f.Okta == key {
			return f.Attr
		}
	}
	return key
}

// Profile returns the AppUser profile for the user: the mapped attributes that have a
// value.
func (m Mapping) Profile(u *appstore.User) map[string]any {
	return m.ProfileOf(u, nil)
}

// ProfileOf is Profile limited to the fields whose top-level attribute keep accepts
// (all when keep is nil).
func (m Mapping) ProfileOf(u *appstore.User, keep func(attr string) bool) map[string]any {
	out := map[string]any{}
	for _, f := range m.Fields {
		if keep != nil && !keep(f.Attr) {
			continue
		}
		if v := f.get(u); !empty(v) {
			out[f.Okta] = normalize(v)
		}
	}
	return out
}

// OktaValues returns an AppUser's merged values keyed as in Keys.
func (m Mapping) OktaValues(au *oktaclient.AppUser) map[string]any {
	out := map[string]any{KeyUserName: au.UserName, KeyActive: true}
	for _, f := range m.Fields {
		if v, ok := au.Profile[f.Okta]; ok && !empty(v) {
			out[f.Okta] = normalize(v)
		}
	}
	return out
}

// Apply writes merged values (keyed as in Keys; nil clears) onto a user.
func (m Mapping) Apply(u *appstore.User, values map[string]any) {
	for k, v := range values {
		switch k {
		case KeyUserName:
			if s := str(v); s != "" {
				u.UserName = s
			}
		case KeyActive:
			b, _ := v.(bool)
			u.Active = b
		default:
			for _, f := range m.Fields {
				if f.Okta == k {
					f.set(u, v)
				}
			}
		}
	}
}

// empty reports whether v counts as no value: nil, "", or an empty list or object.
func empty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}

// normalize turns a value into its plain JSON form (json.Number and float64 alike),
// so that values read from the database, Okta and snapshots compare equal.
func normalize(v any) any {
	switch v.(type) {
	case nil, string, bool, json.Number:
		return v // already plain (the common case: most attributes are strings)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if dec.Decode(&out) != nil {
		return v
	}
	return out
}

// same reports whether two merged values are equal; absent and empty are equal.
func same(a, b any) bool {
	if empty(a) || empty(b) {
		return empty(a) && empty(b)
	}
	if sa, ok := a.(string); ok {
		if sb, ok := b.(string); ok {
			return sa == sb
		}
	}
	if ba, ok := a.(bool); ok {
		if bb, ok := b.(bool); ok {
			return ba == bb
		}
	}
	ja, err1 := json.Marshal(normalize(a))
	jb, err2 := json.Marshal(normalize(b))
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}
