package appstore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/oktasync/oktasync/scimfilter"
	"github.com/oktasync/oktasync/scimschema"
)

// sqlBuilder translates a parsed SCIM filter into an SQL condition over users or groups.
// Attribute names are resolved against the resource's schema (case-insensitively) and
// rendered from the schema's own spelling, so nothing a client sends is ever written
// into the SQL text: every value travels as a bound parameter.
type sqlBuilder struct {
	d     dialect
	res   *scimschema.Resource
	table string // "users" or "groups"
	args  []any
	n     int // alias counter
	cost  int // the filter's cost so far; see MaxFilterCost
}

// MaxFilterCost bounds what one filter may ask of the database. A comparison costs 1,
// and 2 when it reads a value out of the JSON document; each multi-valued attribute
// searched costs 6 more for its JSON array (2 for group memberships, a join), because
// every row's array is expanded. Okta's and Entra's filters cost 1 to 10. A filter above
// the bound is refused (400 invalidFilter) rather than left to occupy the database for
// seconds: it scales with the number of users times the number of such terms.
const MaxFilterCost = 40

// Filter costs, as MaxFilterCost describes them.
const (
	costCompare   = 1
	costJSONValue = 1
	costJSONArray = 6
	costJoin      = 2
)

// accessor is how one attribute value is read in SQL.
type accessor struct {
	typ      string
	text     string // text value (strings, references, JSON dateTimes)
	num      string // numeric value
	isTrue   string // boolean conditions
	isFalse  string
	micros   bool   // text is a column of microseconds since the epoch (meta dates)
	keyed    bool   // text is already case-folded with normalizeKey
	ci       bool   // compare case-insensitively
	constant string // meta.resourceType: compared in Go
	notNull  bool   // the column is NOT NULL, so comparisons are never NULL
	json     bool   // the value is read out of the JSON document
}

// elements is a multi-valued attribute seen as rows: EXISTS (SELECT 1 FROM from WHERE corr AND ...).
type elements struct {
	from  string
	corr  string
	attr  *scimschema.Attribute
	field func(sub *scimschema.Attribute) (accessor, error)
}

func (b *sqlBuilder) alias() string {
	b.n++
	return fmt.Sprintf("e%d", b.n)
}

func (b *sqlBuilder) bind(fragment string, v any) string {
	for i := strings.Count(fragment, "?"); i > 0; i-- {
		b.args = append(b.args, v)
	}
	return fragment
}

func (b *sqlBuilder) expr(e scimfilter.Expr) (string, error) {
	return b.exprIn(e, nil)
}

// exprIn translates e; inside a value path, el is the multi-valued attribute whose
// elements the relative attribute names refer to.
func (b *sqlBuilder) exprIn(e scimfilter.Expr, el *elements) (string, error) {
	switch n := e.(type) {
	case *scimfilter.Logical:
		l, err := b.exprIn(n.Left, el)
		if err != nil {
			return "", err
		}
		r, err := b.exprIn(n.Right, el)
		if err != nil {
			return "", err
		}
		op := " AND "
		if strings.EqualFold(n.Op, "or") {
			op = " OR "
		}
		return "(" + l + op + r + ")", nil
	case *scimfilter.Not:
		x, err := b.exprIn(n.X, el)
		if err != nil {
			return "", err
		}
		return "(NOT " + x + ")", nil
	case *scimfilter.ValuePath:
		if el != nil {
			return "", fmt.Errorf("value paths cannot be nested: %s", n.Path)
		}
		els, err := b.elementsOf(n.Path)
		if err != nil {
			return "", err
		}
		inner, err := b.exprIn(n.Filter, els)
		if err != nil {
			return "", err
		}
		return "EXISTS (SELECT 1 FROM " + els.from + " WHERE " + els.corr + " AND " + inner + ")", nil
	case *scimfilter.Compare:
		if el != nil {
			if n.Path.URN != "" || n.Path.Sub != "" {
				return "", fmt.Errorf("inside %s[...] name a sub-attribute of %s, not %s", el.attr.Name, el.attr.Name, n.Path)
			}
			sub := el.attr.Sub(n.Path.Attr)
			if sub == nil {
				return "", fmt.Errorf("%s has no sub-attribute %q", el.attr.Name, n.Path.Attr)
			}
			acc, err := el.field(sub)
			if err != nil {
				return "", err
			}
			return b.compare(acc, n, el.attr.Name+"."+sub.Name)
		}
		return b.compareTop(n)
	default:
		return "", fmt.Errorf("unsupported filter expression")
	}
}

// compareTop translates a comparison whose attribute path is relative to the resource.
func (b *sqlBuilder) compareTop(c *scimfilter.Compare) (string, error) {
	owner, a := b.res.Lookup(c.Path.URN, c.Path.Attr)
	if a == nil {
		return "", fmt.Errorf("unknown attribute %q", c.Path.String())
	}
	if a.MultiValued {
		els, err := b.elementsOf(scimfilter.AttrPath{URN: c.Path.URN, Attr: c.Path.Attr})
		if err != nil {
			return "", err
		}
		subName := c.Path.Sub
		var acc accessor
		if a.Type == scimschema.Complex {
			if subName == "" {
				subName = "value"
			}
			sub := a.Sub(subName)
			if sub == nil {
				return "", fmt.Errorf("%s has no sub-attribute %q", a.Name, subName)
			}
			acc, err = els.field(sub)
		} else {
			if subName != "" {
				return "", fmt.Errorf("%s has no sub-attributes", a.Name)
			}
			acc, err = els.field(a)
		}
		if err != nil {
			return "", err
		}
		cond, err := b.compare(acc, c, c.Path.String())
		if err != nil {
			return "", err
		}
		return "EXISTS (SELECT 1 FROM " + els.from + " WHERE " + els.corr + " AND " + cond + ")", nil
	}
	if a.Type == scimschema.Complex && c.Path.Sub == "" {
		if strings.EqualFold(c.Op, "pr") {
			// A complex attribute is present when any of its sub-attributes is.
			var parts []string
			for _, sub := range a.SubAttributes {
				part, err := b.compareTop(&scimfilter.Compare{Path: scimfilter.AttrPath{URN: c.Path.URN, Attr: a.Name, Sub: sub.Name}, Op: "pr"})
				if err != nil {
					return "", err
				}
				parts = append(parts, part)
			}
			return "(" + strings.Join(parts, " OR ") + ")", nil
		}
		return "", fmt.Errorf("%s is complex: filter on a sub-attribute such as %s.%s", a.Name, a.Name, a.SubAttributes[0].Name)
	}
	acc, err := b.single(owner, a, c.Path.Sub)
	if err != nil {
		return "", err
	}
	return b.compare(acc, c, c.Path.String())
}

// single returns the accessor of a single-valued attribute (or sub-attribute).
func (b *sqlBuilder) single(owner *scimschema.Schema, a *scimschema.Attribute, subName string) (accessor, error) {
	t := b.table
	target := a
	if subName != "" {
		if a.Type != scimschema.Complex {
			return accessor{}, fmt.Errorf("%s has no sub-attributes", a.Name)
		}
		target = a.Sub(subName)
		if target == nil {
			return accessor{}, fmt.Errorf("%s has no sub-attribute %q", a.Name, subName)
		}
	}
	if owner == nil { // id, externalId, meta
		switch a.Name {
		case "id":
			return accessor{typ: scimschema.String, text: t + ".id", notNull: true}, nil
		case "externalId":
			return accessor{typ: scimschema.String, text: t + ".external_id"}, nil
		case "meta":
			switch target.Name {
			case "created":
				return accessor{typ: scimschema.DateTime, text: t + ".created_at", micros: true, notNull: true}, nil
			case "lastModified":
				return accessor{typ: scimschema.DateTime, text: t + ".updated_at", micros: true, notNull: true}, nil
			case "resourceType":
				return accessor{typ: scimschema.String, constant: b.res.Name}, nil
			}
		}
		return accessor{}, fmt.Errorf("filtering on %s.%s is not supported", a.Name, target.Name)
	}
	switch {
	case b.table == "users" && owner == scimschema.User && a.Name == "userName":
		return accessor{typ: scimschema.String, text: "users.user_name_key", keyed: true, ci: true, notNull: true}, nil
	case b.table == "users" && owner == scimschema.User && a.Name == "active":
		return accessor{typ: scimschema.Boolean, isTrue: "(users.active)", isFalse: "(NOT users.active)", notNull: true}, nil
	case b.table == "users" && owner == scimschema.User && a.Name == "password":
		return accessor{}, fmt.Errorf("password cannot be filtered on")
	case b.table == "groups" && a.Name == "displayName":
		return accessor{typ: scimschema.String, text: "groups.display_name_key", keyed: true, ci: true, notNull: true}, nil
	case b.table == "groups":
		return accessor{}, fmt.Errorf("filtering on %s is not supported", a.Name)
	}
	keys := []string{}
	if owner != scimschema.User {
		keys = append(keys, owner.ID)
	}
	keys = append(keys, a.Name)
	if target != a {
		keys = append(keys, target.Name)
	}
	return b.jsonAccessor(target, "users.attrs", keys...), nil
}

func (b *sqlBuilder) jsonAccessor(a *scimschema.Attribute, doc string, keys ...string) accessor {
	return accessor{typ: a.Type, ci: !a.CaseExact, json: true,
		text:    b.d.jsonText(doc, keys...),
		num:     b.d.jsonNumber(doc, keys...),
		isTrue:  b.d.jsonIs(doc, "true", keys...),
		isFalse: b.d.jsonIs(doc, "false", keys...)}
}

// elementsOf returns the rows of a multi-valued attribute.
func (b *sqlBuilder) elementsOf(p scimfilter.AttrPath) (*elements, error) {
	owner, a := b.res.Lookup(p.URN, p.Attr)
	if a == nil {
		return nil, fmt.Errorf("unknown attribute %q", p.String())
	}
	if !a.MultiValued {
		return nil, fmt.Errorf("%s is not multi-valued", a.Name)
	}
	al := b.alias()
	b.cost += costJoin
	switch {
	case b.table == "groups" && a.Name == "members":
		return &elements{attr: a,
			from: "group_members " + al,
			corr: al + ".group_id = groups.id",
			field: func(sub *scimschema.Attribute) (accessor, error) {
				switch sub.Name {
				case "value":
					return accessor{typ: scimschema.String, text: al + ".member_id", notNull: true}, nil
				case "type":
					return accessor{typ: scimschema.String, text: al + ".member_type", notNull: true}, nil
				}
				return accessor{}, fmt.Errorf("filtering on members.%s is not supported", sub.Name)
			}}, nil
	case b.table == "users" && owner == scimschema.User && a.Name == "groups":
		g := al + "g"
		return &elements{attr: a,
			from: "group_members " + al + " JOIN groups " + g + " ON " + g + ".id = " + al + ".group_id",
			corr: al + ".member_id = users.id",
			field: func(sub *scimschema.Attribute) (accessor, error) {
				switch sub.Name {
				case "value":
					return accessor{typ: scimschema.String, text: al + ".group_id", notNull: true}, nil
				case "display":
					return accessor{typ: scimschema.String, text: g + ".display_name_key", keyed: true, ci: true, notNull: true}, nil
				}
				return accessor{}, fmt.Errorf("filtering on groups.%s is not supported", sub.Name)
			}}, nil
	case b.table != "users":
		return nil, fmt.Errorf("filtering on %s is not supported", a.Name)
	}
	keys := []string{}
	if owner != scimschema.User {
		keys = append(keys, owner.ID)
	}
	keys = append(keys, a.Name)
	b.cost += costJSONArray - costJoin
	return &elements{attr: a,
		from: b.d.jsonElements("users.attrs", al, keys...),
		corr: "1=1",
		field: func(sub *scimschema.Attribute) (accessor, error) {
			if sub == a { // simple multi-valued: the element itself
				return accessor{typ: a.Type, ci: !a.CaseExact, json: true, text: b.d.elemText(al), num: b.d.elemNumber(al),
					isTrue: b.d.elemIs(al, "true"), isFalse: b.d.elemIs(al, "false")}, nil
			}
			return b.jsonAccessor(sub, b.d.elemDoc(al), sub.Name), nil
		}}, nil
}

// compare renders one comparison. NULL (an absent attribute) never matches a positive
// test, and "ne" is the negation of "eq", so that absent attributes are "not equal".
func (b *sqlBuilder) compare(acc accessor, c *scimfilter.Compare, name string) (string, error) {
	op := strings.ToLower(c.Op)
	b.cost += costCompare
	if acc.json {
		b.cost += costJSONValue
	}
	if acc.constant != "" {
		return b.compareConstant(acc.constant, op, c.Value, name)
	}
	present := func() string {
		switch acc.typ {
		case scimschema.Boolean:
			return "(" + acc.isTrue + " OR " + acc.isFalse + ")"
		case scimschema.Integer, scimschema.Decimal:
			return "(" + acc.num + " IS NOT NULL)"
		case scimschema.DateTime:
			if acc.micros {
				return "(" + acc.text + " IS NOT NULL)"
			}
		}
		return "COALESCE(" + acc.text + " <> '', FALSE)"
	}
	if op == "pr" {
		return present(), nil
	}
	if c.Value == nil {
		switch op {
		case "eq":
			return "(NOT " + present() + ")", nil
		case "ne":
			return present(), nil
		}
		return "", fmt.Errorf("%q cannot be compared with null using %q", name, op)
	}
	negate := op == "ne"
	if negate {
		op = "eq"
	}
	var cond string
	switch acc.typ {
	case scimschema.Boolean:
		v, ok := boolValue(c.Value)
		if !ok {
			return "", fmt.Errorf("%s is a boolean: compare it with true or false", name)
		}
		if op != "eq" {
			return "", fmt.Errorf("%s is a boolean: only eq, ne and pr apply", name)
		}
		cond = acc.isFalse
		if v {
			cond = acc.isTrue
		}
	case scimschema.Integer, scimschema.Decimal:
		n, ok := numberValue(c.Value)
		if !ok {
			return "", fmt.Errorf("%s is a number: compare it with a number", name)
		}
		sqlOp, ok := orderOps[op]
		if !ok {
			return "", fmt.Errorf("%s is a number: %q does not apply", name, op)
		}
		cond = b.bind("("+acc.num+" "+sqlOp+" CAST(? AS NUMERIC))", n)
	default:
		s, ok := stringValue(c.Value)
		if !ok {
			return "", fmt.Errorf("%s is a %s: compare it with a string", name, acc.typ)
		}
		if acc.micros {
			t, err := parseTime(s)
			if err != nil {
				return "", fmt.Errorf("%s is a dateTime: %q is not an RFC 3339 date and time", name, s)
			}
			sqlOp, ok := orderOps[op]
			if !ok {
				return "", fmt.Errorf("%s is a dateTime: %q does not apply", name, op)
			}
			cond = b.bind("("+acc.text+" "+sqlOp+" ?)", t.UnixMicro())
			break
		}
		lhs := acc.text
		if acc.ci {
			s = normalizeKey(s)
			if !acc.keyed {
				lhs = "lower(" + lhs + ")"
			}
		}
		switch op {
		case "co":
			cond = b.bind(b.d.contains(lhs, "?"), s)
		case "sw":
			cond = b.bind(b.d.startsWith(lhs, "?"), s)
		case "ew":
			cond = b.bind(b.d.endsWith(lhs, "?"), s)
		default:
			sqlOp, ok := orderOps[op]
			if !ok {
				return "", fmt.Errorf("unsupported operator %q", op)
			}
			cond = b.bind("("+lhs+" "+sqlOp+" ?)", s)
		}
	}
	// Make an absent value (NULL) a plain false, so that NOT and ne treat it as "not
	// equal". "x AND lhs IS NOT NULL" does that while keeping "column = ?" visible to
	// the planner, which COALESCE would hide from the userName index.
	switch {
	case acc.notNull:
	case acc.typ == scimschema.Boolean:
		cond = "COALESCE(" + cond + ", FALSE)"
	case acc.typ == scimschema.Integer || acc.typ == scimschema.Decimal:
		cond = "(" + cond + " AND " + acc.num + " IS NOT NULL)"
	default:
		cond = "(" + cond + " AND " + acc.text + " IS NOT NULL)"
	}
	if negate {
		return "(NOT " + cond + ")", nil
	}
	return cond, nil
}

var orderOps = map[string]string{"eq": "=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}

func (b *sqlBuilder) compareConstant(constant, op string, v any, name string) (string, error) {
	s, ok := stringValue(v)
	if op != "pr" && !ok {
		return "", fmt.Errorf("%s is a string: compare it with a string", name)
	}
	var match bool
	switch op {
	case "pr":
		match = true
	case "eq":
		match = strings.EqualFold(constant, s)
	case "ne":
		match = !strings.EqualFold(constant, s)
	case "co":
		match = strings.Contains(strings.ToLower(constant), strings.ToLower(s))
	case "sw":
		match = strings.HasPrefix(strings.ToLower(constant), strings.ToLower(s))
	case "ew":
		match = strings.HasSuffix(strings.ToLower(constant), strings.ToLower(s))
	default:
		return "", fmt.Errorf("%q does not apply to %s", op, name)
	}
	if match {
		return "(1=1)", nil
	}
	return "(1=0)", nil
}

func boolValue(v any) (bool, bool) {
	switch t := v.(type) {
	case bool:
		return t, true
	case string: // Entra sends booleans as strings
		switch strings.ToLower(t) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

func numberValue(v any) (string, bool) {
	switch t := v.(type) {
	case json.Number:
		return t.String(), true
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	case string:
		if _, err := strconv.ParseFloat(t, 64); err == nil {
			return t, true
		}
	}
	return "", false
}

func stringValue(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	}
	return "", false
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", s)
}

// orderBy renders the ORDER BY clause: the sort attribute (absent values last when
// ascending, first when descending, as RFC 7644 §3.4.2.3 says), then creation order and
// id so that the order is total and stable across pages.
func (b *sqlBuilder) orderBy(sortBy string, desc bool) (string, error) {
	tail := b.table + ".created_at, " + b.table + ".id"
	if sortBy == "" {
		return tail, nil
	}
	p, err := scimfilter.ParsePath(sortBy)
	if err != nil || p.Filter != nil {
		return "", fmt.Errorf("sortBy %q is not an attribute path", sortBy)
	}
	owner, a := b.res.Lookup(p.URN, p.Attr)
	if a == nil {
		return "", fmt.Errorf("sortBy names an unknown attribute %q", sortBy)
	}
	var acc accessor
	switch {
	case b.table == "users" && owner == scimschema.User && a.Name == "emails" && (p.Sub == "" || strings.EqualFold(p.Sub, "value")):
		acc = accessor{typ: scimschema.String, text: "users.email", keyed: true, ci: true} // the primary email
	case a.MultiValued || (a.Type == scimschema.Complex && p.Sub == ""):
		return "", fmt.Errorf("cannot sort by %q: name a single-valued attribute", sortBy)
	default:
		acc, err = b.single(owner, a, p.Sub)
		if err != nil {
			return "", fmt.Errorf("cannot sort by %q: %v", sortBy, err)
		}
	}
	var expr string
	switch {
	case acc.constant != "":
		return tail, nil
	case acc.typ == scimschema.Boolean:
		expr = "(CASE WHEN " + acc.isTrue + " THEN 1 WHEN " + acc.isFalse + " THEN 0 END)"
	case acc.typ == scimschema.Integer || acc.typ == scimschema.Decimal:
		expr = acc.num
	case acc.ci && !acc.keyed:
		expr = "lower(" + acc.text + ")"
	default:
		expr = acc.text
	}
	if desc {
		return "(" + expr + " IS NULL) DESC, " + expr + " DESC, " + tail, nil
	}
	return "(" + expr + " IS NULL), " + expr + ", " + tail, nil
}

// listWhere returns the condition selecting the tenant's rows of table ("users" or
// "groups") for a listing, its arguments, and q with what is left of the filter to
// translate.
//
// A filter that is exactly `externalId eq "x"` (Entra's existence check) becomes a
// condition on the key tenant_id || '/' || external_id alone, the key the
// users_external_key and groups_external_key indexes are built on. With no separate
// tenant_id condition no other index matches, so that index is the plan whatever the
// table's statistics say: right after a bulk load, before any ANALYZE, every index
// built on the empty table looks equally cheap and a plain tenant_id condition could
// send the look-up through any of them (users_lookup does the same for userName).
// Tenant ids cannot contain '/'.
func listWhere(table, tenantID string, q Query) (string, []any, Query) {
	live := ""
	if table == "users" {
		live = " AND users.deleted_at IS NULL"
	}
	if id, ok := externalIDEq(q.Filter); ok {
		q.Filter = nil
		return "(" + table + ".tenant_id || '/' || " + table + ".external_id) = ?" + live, []any{tenantID + "/" + id}, q
	}
	return table + ".tenant_id = ?" + live, []any{tenantID}, q
}

// externalIDEq reports whether f is exactly `externalId eq "<string>"`.
func externalIDEq(f scimfilter.Expr) (string, bool) {
	c, ok := f.(*scimfilter.Compare)
	if !ok || c.Op != "eq" || c.Path.Sub != "" || c.Path.URN != "" || !strings.EqualFold(c.Path.Attr, "externalId") {
		return "", false
	}
	v, ok := c.Value.(string)
	return v, ok
}
