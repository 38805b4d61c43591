// Package schema holds the SCIM 2.0 schema definitions (RFC 7643) that oktasync serves:
// the core User and Group schemas, the Enterprise User extension and a tenant's custom
// attribute extension. Both the SCIM handlers and the store's filter translation read
// attribute characteristics (type, multiplicity, case sensitivity) from here, so the two
// always agree on what an attribute is.
package scimschema

import (
	"strings"
)

// Schema URNs used by oktasync.
const (
	UserURN       = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupURN      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	// CustomURN is the extension under which a tenant's custom user attributes travel.
	CustomURN = "urn:ietf:params:scim:schemas:extension:oktasync:2.0:User"
)

// Attribute types (RFC 7643 §2.3).
const (
	String    = "string"
	Boolean   = "boolean"
	Decimal   = "decimal"
	Integer   = "integer"
	DateTime  = "dateTime"
	Binary    = "binary"
	Reference = "reference"
	Complex   = "complex"
)

// Attribute describes one attribute or sub-attribute (RFC 7643 §7).
type Attribute struct {
	Name            string       `json:"name"`
	Type            string       `json:"type"`
	SubAttributes   []*Attribute `json:"subAttributes,omitempty"`
	MultiValued     bool         `json:"multiValued"`
	Description     string       `json:"description,omitempty"`
	Required        bool         `json:"required"`
	CanonicalValues []string     `json:"canonicalValues,omitempty"`
	CaseExact       bool         `json:"caseExact"`
	Mutability      string       `json:"mutability"`
	Returned        string       `json:"returned"`
	Uniqueness      string       `json:"uniqueness"`
	ReferenceTypes  []string     `json:"referenceTypes,omitempty"`
}

// Sub returns the sub-attribute with the given name (case-insensitive), or nil.
func (a *Attribute) Sub(name string) *Attribute {
	for _, s := range a.SubAttributes {
		if strings.EqualFold(s.Name, name) {
			return s
		}
	}
	return nil
}

// Schema is a SCIM schema resource (RFC 7643 §7).
type Schema struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Attributes  []*Attribute `json:"attributes"`
}

// Attr returns the top-level attribute with the given name (case-insensitive), or nil.
func (s *Schema) Attr(name string) *Attribute {
	for _, a := range s.Attributes {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

func attr(name, typ string, opts ...func(*Attribute)) *Attribute {
	a := &Attribute{Name: name, Type: typ, Mutability: "readWrite", Returned: "default", Uniqueness: "none"}
	for _, o := range opts {
		o(a)
	}
	return a
}

func multi(a *Attribute)     { a.MultiValued = true }
func required(a *Attribute)  { a.Required = true }
func caseExact(a *Attribute) { a.CaseExact = true }
func readOnly(a *Attribute)  { a.Mutability = "readOnly" }
func immutable(a *Attribute) { a.Mutability = "immutable" }
func writeOnly(a *Attribute) { a.Mutability = "writeOnly"; a.Returned = "never" }
func always(a *Attribute)    { a.Returned = "always" }
func server(a *Attribute)    { a.Uniqueness = "server" }
func desc(d string) func(*Attribute) {
	return func(a *Attribute) { a.Description = d }
}
func canon(v ...string) func(*Attribute) {
	return func(a *Attribute) { a.CanonicalValues = v }
}
func refs(v ...string) func(*Attribute) {
	return func(a *Attribute) { a.ReferenceTypes = v }
}
func subs(s ...*Attribute) func(*Attribute) {
	return func(a *Attribute) { a.SubAttributes = s }
}

// multiValuedSubs are the common sub-attributes of multi-valued attributes (RFC 7643 §2.4).
func multiValuedSubs(types ...string) func(*Attribute) {
	return subs(
		attr("value", String),
		attr("display", String),
		attr("type", String, canon(types...)),
		attr("primary", Boolean),
	)
}

// CommonAttributes are id, externalId and meta, present on every resource (RFC 7643 §3.1).
// They are not part of any schema's attribute list but are filterable and sortable.
var CommonAttributes = []*Attribute{
	attr("id", String, caseExact, readOnly, always, server),
	attr("externalId", String, caseExact),
	attr("meta", Complex, readOnly, subs(
		attr("resourceType", String, caseExact, readOnly),
		attr("created", DateTime, readOnly),
		attr("lastModified", DateTime, readOnly),
		attr("location", Reference, caseExact, readOnly, refs("uri")),
		attr("version", String, caseExact, readOnly),
	)),
}

// User is the core User schema (RFC 7643 §4.1).
var User = &Schema{
	ID:          UserURN,
	Name:        "User",
	Description: "User Account",
	Attributes: []*Attribute{
		attr("userName", String, required, server, desc("Unique identifier for the User, typically used to sign in. Unique per tenant, case-insensitively.")),
		attr("name", Complex, subs(
			attr("formatted", String),
			attr("familyName", String),
			attr("givenName", String),
			attr("middleName", String),
			attr("honorificPrefix", String),
			attr("honorificSuffix", String),
		)),
		attr("displayName", String),
		attr("nickName", String),
		attr("profileUrl", Reference, refs("external")),
		attr("title", String),
		attr("userType", String),
		attr("preferredLanguage", String),
		attr("locale", String),
		attr("timezone", String),
		attr("active", Boolean),
		attr("password", String, writeOnly, desc("Accepted and discarded: passwords are never stored.")),
		attr("emails", Complex, multi, multiValuedSubs("work", "home", "other")),
		attr("phoneNumbers", Complex, multi, multiValuedSubs("work", "home", "mobile", "fax", "pager", "other")),
		attr("ims", Complex, multi, multiValuedSubs("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo")),
		attr("photos", Complex, multi, subs(
			attr("value", Reference, refs("external")),
			attr("display", String),
			attr("type", String, canon("photo", "thumbnail")),
			attr("primary", Boolean),
		)),
		attr("addresses", Complex, multi, subs(
			attr("formatted", String),
			attr("streetAddress", String),
			attr("locality", String),
			attr("region", String),
			attr("postalCode", String),
			attr("country", String),
			attr("type", String, canon("work", "home", "other")),
			attr("primary", Boolean),
		)),
		attr("groups", Complex, multi, readOnly, subs(
			attr("value", String, readOnly),
			attr("$ref", Reference, readOnly, refs("User", "Group")),
			attr("display", String, readOnly),
			attr("type", String, readOnly, canon("direct", "indirect")),
		)),
		attr("entitlements", Complex, multi, multiValuedSubs()),
		attr("roles", Complex, multi, multiValuedSubs()),
		attr("x509Certificates", Complex, multi, subs(
			attr("value", Binary),
			attr("display", String),
			attr("type", String),
			attr("primary", Boolean),
		)),
	},
}

// Enterprise is the Enterprise User extension (RFC 7643 §4.3).
var Enterprise = &Schema{
	ID:          EnterpriseURN,
	Name:        "EnterpriseUser",
	Description: "Enterprise User",
	Attributes: []*Attribute{
		attr("employeeNumber", String),
		attr("costCenter", String),
		attr("organization", String),
		attr("division", String),
		attr("department", String),
		attr("manager", Complex, subs(
			attr("value", String),
			attr("$ref", Reference, refs("User")),
			attr("displayName", String, readOnly),
		)),
	},
}

// Group is the core Group schema (RFC 7643 §4.2).
var Group = &Schema{
	ID:          GroupURN,
	Name:        "Group",
	Description: "Group",
	Attributes: []*Attribute{
		attr("displayName", String, required, server, desc("A human-readable name for the Group, unique per tenant.")),
		attr("members", Complex, multi, subs(
			attr("value", String, immutable),
			attr("$ref", Reference, immutable, refs("User", "Group")),
			attr("display", String),
			attr("type", String, immutable, canon("User", "Group")),
		)),
	},
}

// CustomAttr describes one tenant-defined custom user attribute.
type CustomAttr struct {
	Name        string
	Type        string // String, Boolean, Integer, Decimal or DateTime
	MultiValued bool
	Description string
}

// CustomTypes are the types a custom attribute may have.
var CustomTypes = []string{String, Boolean, Integer, Decimal, DateTime}

// Custom builds the tenant's custom-attribute extension schema.
func Custom(attrs []CustomAttr) *Schema {
	s := &Schema{ID: CustomURN, Name: "CustomUser", Description: "Tenant-defined custom user attributes"}
	for _, c := range attrs {
		a := attr(c.Name, c.Type, desc(c.Description))
		a.MultiValued = c.MultiValued
		s.Attributes = append(s.Attributes, a)
	}
	return s
}

// ValidName reports whether s is a valid SCIM attribute name (RFC 7643 §2.1:
// ALPHA *(nameChar), nameChar = "-" / "_" / DIGIT / ALPHA).
func ValidName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '_'):
		default:
			return false
		}
	}
	return true
}

// Resource is a resource type together with its schemas, as a store or handler sees it.
type Resource struct {
	Name       string // "User" or "Group"
	Schema     *Schema
	Extensions []*Schema
}

// UserResource returns the User resource type with the Enterprise extension and, when
// custom is non-nil, the tenant's custom extension.
func UserResource(custom *Schema) *Resource {
	r := &Resource{Name: "User", Schema: User, Extensions: []*Schema{Enterprise}}
	if custom != nil {
		r.Extensions = append(r.Extensions, custom)
	}
	return r
}

// GroupResource returns the Group resource type.
func GroupResource() *Resource { return &Resource{Name: "Group", Schema: Group} }

// Lookup finds a top-level attribute by optional schema URN and name. It returns the
// schema the attribute belongs to (nil for the common attributes id, externalId, meta)
// and the attribute, or nil when there is no such attribute. Matching is
// case-insensitive, as RFC 7643 §2.1 requires.
func (r *Resource) Lookup(urn, name string) (*Schema, *Attribute) {
	if urn == "" || strings.EqualFold(urn, r.Schema.ID) {
		for _, a := range CommonAttributes {
			if strings.EqualFold(a.Name, name) {
				return nil, a
			}
		}
		if a := r.Schema.Attr(name); a != nil {
			return r.Schema, a
		}
		if urn != "" {
			return nil, nil
		}
	}
	for _, ext := range r.Extensions {
		if urn != "" && !strings.EqualFold(urn, ext.ID) {
			continue
		}
		if a := ext.Attr(name); a != nil {
			return ext, a
		}
	}
	return nil, nil
}

// Extension returns the extension schema with the given URN (case-insensitive), or nil.
func (r *Resource) Extension(urn string) *Schema {
	for _, ext := range r.Extensions {
		if strings.EqualFold(urn, ext.ID) {
			return ext
		}
	}
	return nil
}
