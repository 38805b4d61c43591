package oktasim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// expr is a parsed Okta filter or search expression. resolve returns an
// attribute's value for the object under test (nil when absent).
type expr interface {
	match(resolve func(attr string) any) bool
}

type andExpr struct{ l, r expr }
type orExpr struct{ l, r expr }
type notExpr struct{ e expr }
type cmpExpr struct {
	attr, op string
	val      any
}

func (e andExpr) match(r func(string) any) bool { return e.l.match(r) && e.r.match(r) }
func (e orExpr) match(r func(string) any) bool  { return e.l.match(r) || e.r.match(r) }
func (e notExpr) match(r func(string) any) bool { return !e.e.match(r) }

func (e cmpExpr) match(resolve func(string) any) bool {
	v := resolve(e.attr)
	if e.op == "pr" {
		return v != nil && v != ""
	}
	if v == nil {
		return e.op == "ne"
	}
	c, ok := compare(v, e.val, e.op)
	if !ok {
		return false
	}
	switch e.op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	case "sw":
		return strings.HasPrefix(strings.ToLower(fmt.Sprint(v)), strings.ToLower(fmt.Sprint(e.val)))
	case "co":
		return strings.Contains(strings.ToLower(fmt.Sprint(v)), strings.ToLower(fmt.Sprint(e.val)))
	case "ew":
		return strings.HasSuffix(strings.ToLower(fmt.Sprint(v)), strings.ToLower(fmt.Sprint(e.val)))
	}
	return false
}

// compare orders an attribute value against a literal: times as times,
// numbers as numbers, strings case-insensitively (Okta matches logins and
// emails without regard to case).
func compare(v, lit any, op string) (int, bool) {
	switch x := v.(type) {
	case time.Time:
		s, ok := lit.(string)
		if !ok {
			return 0, false
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return 0, false
		}
		return x.Compare(t), true
	case bool:
		b, ok := lit.(bool)
		if !ok {
			return 0, false
		}
		if x == b {
			return 0, true
		}
		return 1, true
	case float64, int, int64:
		f, _ := strconv.ParseFloat(fmt.Sprint(x), 64)
		g, err := strconv.ParseFloat(fmt.Sprint(lit), 64)
		if err != nil {
			return 0, false
		}
		switch {
		case f < g:
			return -1, true
		case f > g:
			return 1, true
		}
		return 0, true
	}
	if op == "sw" || op == "co" || op == "ew" {
		return 0, true
	}
	a, b := strings.ToLower(fmt.Sprint(v)), strings.ToLower(fmt.Sprint(lit))
	return strings.Compare(a, b), true
}

type token struct {
	kind string // "word", "string", "(", ")"
	text string
}

func tokenize(s string) ([]token, error) {
	var out []token
	i := 0
	for i < len(s) {
		c := rune(s[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '(' || c == ')':
			out = append(out, token{kind: string(c)})
			i++
		case c == '"':
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				if s[i] == '\\' && i+1 < len(s) {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if s[i] == '"' {
					closed = true
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, fmt.Errorf("unterminated string")
			}
			out = append(out, token{kind: "string", text: b.String()})
		default:
			j := i
			for j < len(s) && !unicode.IsSpace(rune(s[j])) && s[j] != '(' && s[j] != ')' && s[j] != '"' {
				j++
			}
			out = append(out, token{kind: "word", text: s[i:j]})
			i = j
		}
	}
	return out, nil
}

// exprRules restricts what a parsed expression may use: Okta's filter
// parameter allows fewer attributes and operators than search.
type exprRules struct {
	attrs map[string]map[string]bool // attribute -> allowed operators; nil allows any
	ops   map[string]bool
}

type parser struct {
	toks  []token
	pos   int
	rules exprRules
}

// parseExpr parses an Okta filter/search expression under rules.
func parseExpr(s string, rules exprRules) (expr, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty expression")
	}
	p := &parser{toks: toks, rules: rules}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos].text)
	}
	return e, nil
}

func (p *parser) peekWord(w string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == "word" && strings.EqualFold(p.toks[p.pos].text, w)
}

func (p *parser) or() (expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peekWord("or") {
		p.pos++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = orExpr{l, r}
	}
	return l, nil
}

func (p *parser) and() (expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.peekWord("and") {
		p.pos++
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = andExpr{l, r}
	}
	return l, nil
}

func (p *parser) unary() (expr, error) {
	if p.peekWord("not") && p.rules.ops == nil {
		p.pos++
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notExpr{e}, nil
	}
	if p.pos < len(p.toks) && p.toks[p.pos].kind == "(" {
		p.pos++
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos].kind != ")" {
			return nil, fmt.Errorf("missing )")
		}
		p.pos++
		return e, nil
	}
	return p.comparison()
}

var searchOps = map[string]bool{"eq": true, "ne": true, "sw": true, "ew": true, "co": true, "pr": true, "gt": true, "ge": true, "lt": true, "le": true}

func (p *parser) comparison() (expr, error) {
	if p.pos+1 >= len(p.toks) || p.toks[p.pos].kind != "word" || p.toks[p.pos+1].kind != "word" {
		return nil, fmt.Errorf("expected attribute and operator")
	}
	attr := p.toks[p.pos].text
	op := strings.ToLower(p.toks[p.pos+1].text)
	p.pos += 2
	if !searchOps[op] {
		return nil, fmt.Errorf("unknown operator %q", op)
	}
	if p.rules.ops != nil && !p.rules.ops[op] {
		return nil, fmt.Errorf("operator %q not allowed", op)
	}
	if p.rules.attrs != nil {
		ops, ok := p.rules.attrs[attr]
		if !ok {
			return nil, fmt.Errorf("attribute %q not allowed", attr)
		}
		if ops != nil && !ops[op] {
			return nil, fmt.Errorf("operator %q not allowed on %q", op, attr)
		}
	}
	if op == "pr" {
		return cmpExpr{attr: attr, op: op}, nil
	}
	if p.pos >= len(p.toks) {
		return nil, fmt.Errorf("missing value for %q", attr)
	}
	t := p.toks[p.pos]
	p.pos++
	switch t.kind {
	case "string":
		if timeAttrs[attr] {
			// Okta rejects dates it cannot read rather than matching nothing.
			if _, err := time.Parse(time.RFC3339Nano, t.text); err != nil {
				return nil, fmt.Errorf("%q is not a date for %q", t.text, attr)
			}
		}
		return cmpExpr{attr: attr, op: op, val: t.text}, nil
	case "word":
		switch strings.ToLower(t.text) {
		case "true":
			return cmpExpr{attr: attr, op: op, val: true}, nil
		case "false":
			return cmpExpr{attr: attr, op: op, val: false}, nil
		case "null":
			return cmpExpr{attr: attr, op: op, val: nil}, nil
		}
		if f, err := strconv.ParseFloat(t.text, 64); err == nil {
			return cmpExpr{attr: attr, op: op, val: f}, nil
		}
	}
	return nil, fmt.Errorf("bad value for %q", attr)
}

var timeAttrs = map[string]bool{"created": true, "lastUpdated": true, "activated": true, "statusChanged": true,
	"passwordChanged": true, "lastMembershipUpdated": true}

var (
	eqOnly  = map[string]bool{"eq": true}
	timeOps = map[string]bool{"eq": true, "gt": true, "ge": true, "lt": true, "le": true}
)

// userFilterRules are the attributes and operators the users filter
// parameter supports.
var userFilterRules = exprRules{
	attrs: map[string]map[string]bool{
		"status": eqOnly, "id": eqOnly, "lastUpdated": timeOps, "created": timeOps,
		"profile.login": eqOnly, "profile.email": eqOnly, "profile.firstName": eqOnly, "profile.lastName": eqOnly,
	},
	ops: timeOps,
}

// groupFilterRules are what the groups filter parameter supports.
var groupFilterRules = exprRules{
	attrs: map[string]map[string]bool{
		"type": eqOnly, "id": eqOnly, "lastUpdated": timeOps, "lastMembershipUpdated": timeOps, "created": timeOps,
		"profile.name": eqOnly,
	},
	ops: timeOps,
}

// searchRules allow any attribute and operator, and "not".
var searchRules = exprRules{}

func (s *Sim) userResolver(u *user) func(string) any {
	return func(attr string) any {
		if k, ok := strings.CutPrefix(attr, "profile."); ok {
			return u.profile[k]
		}
		switch attr {
		case "id":
			return u.id
		case "status":
			return u.status
		case "created":
			return u.created
		case "lastUpdated":
			return u.lastUpdated
		case "activated":
			if u.activated != nil {
				return *u.activated
			}
		case "statusChanged":
			if u.statusChanged != nil {
				return *u.statusChanged
			}
		case "passwordChanged":
			if u.passwordChanged != nil {
				return *u.passwordChanged
			}
		case "type.id":
			return userTypeID
		}
		return nil
	}
}

func groupResolver(g *group) func(string) any {
	return func(attr string) any {
		switch attr {
		case "id":
			return g.id
		case "type":
			return "OKTA_GROUP"
		case "profile.name":
			return g.name
		case "profile.description":
			return g.description
		case "created":
			return g.created
		case "lastUpdated":
			return g.lastUpdated
		case "lastMembershipUpdated":
			return g.lastMembershipUpdated
		}
		return nil
	}
}
