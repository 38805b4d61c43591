package scim

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/oktasync/oktasync/scimfilter"
	"github.com/oktasync/oktasync/scimschema"
)

// matchElem evaluates a value filter (the part in brackets of a PATCH path such as
// members[value eq "x"]) against one element of the multi-valued attribute a. Attribute
// paths in the filter name a's sub-attributes. Filter errors are 400 invalidPath: the
// filter is part of the path.
func matchElem(a *scimschema.Attribute, elem any, e scimfilter.Expr) (bool, error) {
	switch n := e.(type) {
	case *scimfilter.Logical:
		l, err := matchElem(a, elem, n.Left)
		if err != nil {
			return false, err
		}
		// Both sides are evaluated so that a bad attribute on the right is reported
		// whatever the left gives.
		r, err := matchElem(a, elem, n.Right)
		if err != nil {
			return false, err
		}
		if strings.EqualFold(n.Op, "and") {
			return l && r, nil
		}
		return l || r, nil
	case *scimfilter.Not:
		m, err := matchElem(a, elem, n.X)
		return !m, err
	case *scimfilter.Compare:
		sub, val, err := subValue(a, elem, n.Path)
		if err != nil {
			return false, err
		}
		return compare(sub, val, strings.ToLower(n.Op), n.Value)
	case *scimfilter.ValuePath:
		return false, badRequest(typeInvalidPath, "a value filter cannot be nested inside another")
	}
	return false, badRequest(typeInvalidPath, "unsupported value filter")
}

// subValue returns the sub-attribute a filter path names and its value in elem.
func subValue(a *scimschema.Attribute, elem any, p scimfilter.AttrPath) (*scimschema.Attribute, any, error) {
	if p.Sub != "" || (p.URN != "" && !strings.EqualFold(p.URN, scimschema.UserURN) && !strings.EqualFold(p.URN, scimschema.GroupURN)) {
		return nil, nil, badRequest(typeInvalidPath, "%q is not a sub-attribute of %q", p.String(), a.Name)
	}
	sub := a.Sub(p.Attr)
	if sub == nil {
		return nil, nil, badRequest(typeInvalidPath, "%q has no sub-attribute %q", a.Name, p.Attr)
	}
	m, _ := elem.(map[string]any)
	return sub, m[sub.Name], nil
}

// compare applies a filter operator (RFC 7644 §3.4.2.2) to an attribute value and a
// literal. String comparisons honour the attribute's caseExact.
func compare(a *scimschema.Attribute, val any, op string, lit any) (bool, error) {
	if op == "pr" {
		switch v := val.(type) {
		case nil:
			return false, nil
		case string:
			return v != "", nil
		case []any:
			return len(v) > 0, nil
		case map[string]any:
			return len(v) > 0, nil
		}
		return true, nil
	}
	if lit == nil || val == nil {
		eq := lit == nil && val == nil
		switch op {
		case "eq":
			return eq, nil
		case "ne":
			return !eq, nil
		}
		return false, nil
	}
	switch a.Type {
	case scimschema.Boolean:
		vb, ok1 := toBool(val)
		lb, ok2 := lit.(bool)
		if !ok2 {
			lb, ok2 = toBool(lit)
		}
		if !ok1 || !ok2 {
			return false, nil
		}
		switch op {
		case "eq":
			return vb == lb, nil
		case "ne":
			return vb != lb, nil
		}
		return false, badRequest(typeInvalidPath, "operator %q does not apply to the boolean %q", op, a.Name)
	case scimschema.Integer, scimschema.Decimal:
		vf, ok1 := toFloat(val)
		lf, ok2 := toFloat(lit)
		if !ok1 || !ok2 {
			return false, nil
		}
		return ordered(op, cmp3(vf, lf))
	case scimschema.DateTime:
		vs, _ := val.(string)
		ls, _ := lit.(string)
		vt, err1 := time.Parse(time.RFC3339Nano, vs)
		lt, err2 := time.Parse(time.RFC3339Nano, ls)
		if err1 != nil || err2 != nil {
			return false, nil
		}
		return ordered(op, vt.Compare(lt))
	case scimschema.Complex:
		return false, badRequest(typeInvalidPath, "cannot compare the complex attribute %q", a.Name)
	}
	vs, ok1 := val.(string)
	ls, ok2 := lit.(string)
	if !ok2 {
		if n, isNum := lit.(json.Number); isNum {
			ls, ok2 = string(n), true
		}
	}
	if !ok1 || !ok2 {
		return false, nil
	}
	if !a.CaseExact {
		vs, ls = strings.ToLower(vs), strings.ToLower(ls)
	}
	switch op {
	case "co":
		return strings.Contains(vs, ls), nil
	case "sw":
		return strings.HasPrefix(vs, ls), nil
	case "ew":
		return strings.HasSuffix(vs, ls), nil
	}
	return ordered(op, strings.Compare(vs, ls))
}

func cmp3(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func ordered(op string, c int) (bool, error) {
	switch op {
	case "eq":
		return c == 0, nil
	case "ne":
		return c != 0, nil
	case "gt":
		return c > 0, nil
	case "ge":
		return c >= 0, nil
	case "lt":
		return c < 0, nil
	case "le":
		return c <= 0, nil
	}
	return false, badRequest(typeInvalidPath, "operator %q does not apply here", op)
}

// eqConstraints returns the sub-attribute values a filter pins with "eq" (through "and"
// only), e.g. {"type": "work"} for `type eq "work"`. A replace through a filter that
// matches nothing adds a new element carrying them, so that the element created by
// `emails[type eq "work"].value` has type "work".
func eqConstraints(a *scimschema.Attribute, e scimfilter.Expr, into map[string]any) {
	switch n := e.(type) {
	case *scimfilter.Logical:
		if strings.EqualFold(n.Op, "and") {
			eqConstraints(a, n.Left, into)
			eqConstraints(a, n.Right, into)
		}
	case *scimfilter.Compare:
		if !strings.EqualFold(n.Op, "eq") || n.Path.Sub != "" || n.Value == nil {
			return
		}
		sub := a.Sub(n.Path.Attr)
		if sub == nil || sub.MultiValued || sub.Type == scimschema.Complex {
			return
		}
		if v, err := normSingle(sub, n.Value, a.Name+"."+sub.Name); err == nil && v != nil {
			into[sub.Name] = v
		}
	}
}

// sameElement reports whether two canonical elements of a multi-valued attribute are the
// same value: by "value" (and "type" where both have one) when they carry it, else by
// deep equality. Group members are the same when their values are.
func sameElement(a *scimschema.Attribute, x, y any) bool {
	mx, ok1 := x.(map[string]any)
	my, ok2 := y.(map[string]any)
	if !ok1 || !ok2 {
		return reflect.DeepEqual(x, y)
	}
	vx, hx := mx["value"]
	vy, hy := my["value"]
	if !hx || !hy {
		return reflect.DeepEqual(mx, my)
	}
	sub := a.Sub("value")
	if sx, ok := vx.(string); ok {
		sy, ok := vy.(string)
		if !ok {
			return false
		}
		if sub != nil && !sub.CaseExact {
			if !strings.EqualFold(sx, sy) {
				return false
			}
		} else if sx != sy {
			return false
		}
	} else if !reflect.DeepEqual(vx, vy) {
		return false
	}
	if a.Name == "members" {
		return true
	}
	tx, _ := mx["type"].(string)
	ty, _ := my["type"].(string)
	return tx == "" || ty == "" || strings.EqualFold(tx, ty)
}
