// Package filter parses SCIM 2.0 filter expressions (RFC 7644 §3.4.2.2) and
// PATCH operation paths (RFC 7644 §3.5.2) into a small syntax tree.
//
// The parser only checks syntax; it knows nothing about schemas. Attribute
// names keep the case in which they were written, and callers match them
// case-insensitively as RFC 7643 §2.1 requires. Operators and the literals
// true, false and null are case-insensitive and are normalized to lower case.
//
// The grammar is RFC 7644's, with two tolerances: spaces and tabs may be
// repeated, and may be left out where nothing is ambiguous, as in
// `not(x pr)` or `(a pr)and(b pr)`. A "+" is never whitespace; callers
// decode the query string first. At the start of an expression "not" is
// always the negation keyword, never an attribute name.
//
// Every node renders canonical filter text with String, and parsing that
// text again yields an equal tree.
package scimfilter

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// AttrPath names an attribute: an optional schema URN, an attribute name and
// an optional sub-attribute name.
type AttrPath struct {
	URN  string // e.g. "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"; "" when not qualified
	Attr string // e.g. "emails", "userName", "name"
	Sub  string // e.g. "value", "givenName"; "" when none
}

// String returns the canonical text form of the path, qualified with its
// URN when URN is not empty. A path with a URN and no attribute (a PATCH
// path naming a whole extension) renders as the URN alone.
func (p AttrPath) String() string {
	var b strings.Builder
	p.write(&b)
	return b.String()
}

func (p AttrPath) write(b *strings.Builder) {
	if p.URN != "" {
		b.WriteString(p.URN)
		if p.Attr != "" {
			b.WriteByte(':')
		}
	}
	b.WriteString(p.Attr)
	if p.Sub != "" {
		b.WriteByte('.')
		b.WriteString(p.Sub)
	}
}

// Expr is a filter expression node: *Compare, *Logical, *Not or *ValuePath.
type Expr interface{ expr() }

// Compare is `attrPath op value` or `attrPath pr`.
type Compare struct {
	Path  AttrPath
	Op    string // lower-case: "eq","ne","co","sw","ew","gt","ge","lt","le","pr"
	Value any    // string, bool, json.Number, or nil (JSON null, and for "pr")
}

// Logical is `left and right` or `left or right`.
type Logical struct {
	Op          string // "and" or "or"
	Left, Right Expr
}

// Not is `not (x)`.
type Not struct{ X Expr }

// ValuePath is `attr[filter]`, e.g. emails[type eq "work" and value co "@x.com"].
// Paths inside Filter are relative to the element: AttrPath{Attr: "type"}
// (URN "", Sub "").
type ValuePath struct {
	Path   AttrPath // the multi-valued attribute (Sub is "")
	Filter Expr
}

func (*Compare) expr()   {}
func (*Logical) expr()   {}
func (*Not) expr()       {}
func (*ValuePath) expr() {}

// Path is a PATCH operation path: an attribute path, or a value path with an
// optional trailing sub-attribute, e.g. `members[value eq "2819c223"]`,
// `emails[type eq "work"].value`, `name.givenName`,
// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`,
// or just the schema URN of an extension meaning the whole extension
// (Attr "").
type Path struct {
	AttrPath      // URN, Attr, Sub (Sub from `a.b` or from the part after `]`)
	Filter   Expr // non-nil for a valuePath
}

// String returns the canonical text form of the PATCH path.
func (p Path) String() string {
	if p.Filter == nil {
		return p.AttrPath.String()
	}
	var b strings.Builder
	AttrPath{URN: p.URN, Attr: p.Attr}.write(&b)
	b.WriteByte('[')
	writeExpr(&b, p.Filter)
	b.WriteByte(']')
	if p.Sub != "" {
		b.WriteByte('.')
		b.WriteString(p.Sub)
	}
	return b.String()
}

// String renders the comparison as canonical filter text.
func (c *Compare) String() string { return exprString(c) }

// String renders the logical expression as canonical filter text, adding
// parentheses only where the tree shape requires them.
func (l *Logical) String() string { return exprString(l) }

// String renders the negation as canonical filter text.
func (n *Not) String() string { return exprString(n) }

// String renders the value path as canonical filter text.
func (v *ValuePath) String() string { return exprString(v) }

func exprString(e Expr) string {
	var b strings.Builder
	writeExpr(&b, e)
	return b.String()
}

// writeExpr is nil-safe so that String never panics on a hand-built tree
// with missing children; such a tree renders as text that does not parse.
func writeExpr(b *strings.Builder, e Expr) {
	switch n := e.(type) {
	case *Compare:
		if n == nil {
			return
		}
		n.Path.write(b)
		op := strings.ToLower(n.Op)
		b.WriteByte(' ')
		b.WriteString(op)
		if op != "pr" {
			b.WriteByte(' ')
			writeValue(b, n.Value)
		}
	case *Logical:
		if n == nil {
			return
		}
		op := strings.ToLower(n.Op)
		writeOperand(b, op, n.Left, false)
		b.WriteByte(' ')
		b.WriteString(op)
		b.WriteByte(' ')
		writeOperand(b, op, n.Right, true)
	case *Not:
		if n == nil {
			return
		}
		b.WriteString("not (")
		writeExpr(b, n.X)
		b.WriteByte(')')
	case *ValuePath:
		if n == nil {
			return
		}
		AttrPath{URN: n.Path.URN, Attr: n.Path.Attr, Sub: n.Path.Sub}.write(b)
		b.WriteByte('[')
		writeExpr(b, n.Filter)
		b.WriteByte(']')
	}
}

// writeOperand parenthesizes a child of a logical node when leaving the
// parentheses out would parse differently: an "or" under an "and" (and binds
// tighter), and a right child with the parent's own operator (both operators
// associate to the left).
func writeOperand(b *strings.Builder, parent string, child Expr, right bool) {
	paren := false
	if l, ok := child.(*Logical); ok && l != nil {
		op := strings.ToLower(l.Op)
		paren = (parent == "and" && op == "or") || (right && op == parent)
	}
	if paren {
		b.WriteByte('(')
	}
	writeExpr(b, child)
	if paren {
		b.WriteByte(')')
	}
}

func writeValue(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		writeString(b, v)
	case json.Number:
		b.WriteString(string(v))
	default:
		fmt.Fprint(b, v)
	}
}

// writeString writes s as a JSON string literal. Invalid UTF-8 (possible
// only in a hand-built tree) becomes \ufffd so the output always parses.
func writeString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteString(`\t`)
			case c < 0x20 || c == 0x7f:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(`\ufffd`)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}

// Walk calls fn for e and then, if fn returns true, for each of e's children
// in order: both operands of a *Logical, the operand of a *Not, and the filter
// of a *ValuePath. It does nothing for a nil e.
func Walk(e Expr, fn func(Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	switch n := e.(type) {
	case *Logical:
		if n != nil {
			Walk(n.Left, fn)
			Walk(n.Right, fn)
		}
	case *Not:
		if n != nil {
			Walk(n.X, fn)
		}
	case *ValuePath:
		if n != nil {
			Walk(n.Filter, fn)
		}
	}
}
