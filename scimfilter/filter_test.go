package scimfilter

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const (
	coreUser   = "urn:ietf:params:scim:schemas:core:2.0:User"
	enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	custom     = "urn:ietf:params:scim:schemas:extension:oktasync:2.0:User"
)

func attr(name string) AttrPath { return AttrPath{Attr: name} }

func cmp(p AttrPath, op string, v any) *Compare { return &Compare{Path: p, Op: op, Value: v} }

func and(l, r Expr) *Logical { return &Logical{Op: "and", Left: l, Right: r} }

func or(l, r Expr) *Logical { return &Logical{Op: "or", Left: l, Right: r} }

func num(s string) json.Number { return json.Number(s) }

func TestParse(t *testing.T) {
	a := cmp(attr("a"), "eq", num("1"))
	b := cmp(attr("b"), "eq", num("2"))
	c := cmp(attr("c"), "eq", num("3"))
	d := cmp(attr("d"), "eq", num("4"))

	tests := []struct {
		in   string
		want Expr
	}{
		// Every operator.
		{`userName eq "bjensen"`, cmp(attr("userName"), "eq", "bjensen")},
		{`userName ne "bjensen"`, cmp(attr("userName"), "ne", "bjensen")},
		{`name.familyName co "O'Malley"`, cmp(AttrPath{Attr: "name", Sub: "familyName"}, "co", "O'Malley")},
		{`userName sw "J"`, cmp(attr("userName"), "sw", "J")},
		{`userName ew "son"`, cmp(attr("userName"), "ew", "son")},
		{`title pr`, cmp(attr("title"), "pr", nil)},
		{`meta.lastModified gt "2011-05-13T04:42:34Z"`, cmp(AttrPath{Attr: "meta", Sub: "lastModified"}, "gt", "2011-05-13T04:42:34Z")},
		{`meta.lastModified ge "2011-05-13T04:42:34Z"`, cmp(AttrPath{Attr: "meta", Sub: "lastModified"}, "ge", "2011-05-13T04:42:34Z")},
		{`meta.lastModified lt "2011-05-13T04:42:34Z"`, cmp(AttrPath{Attr: "meta", Sub: "lastModified"}, "lt", "2011-05-13T04:42:34Z")},
		{`meta.lastModified le "2011-05-13T04:42:34Z"`, cmp(AttrPath{Attr: "meta", Sub: "lastModified"}, "le", "2011-05-13T04:42:34Z")},
		{`age gt 30`, cmp(attr("age"), "gt", num("30"))},

		// What identity providers actually send.
		{`userName eq "x@y.com"`, cmp(attr("userName"), "eq", "x@y.com")},
		{`externalId eq "6f8e2a34-1b1c-4e6d-9a1e-3c2b7f0d5e44"`, cmp(attr("externalId"), "eq", "6f8e2a34-1b1c-4e6d-9a1e-3c2b7f0d5e44")},
		{`displayName eq "Group Name"`, cmp(attr("displayName"), "eq", "Group Name")},
		{`id eq "2819c223-7f76-453a-919d-413861904646" and members[value eq "abc"]`,
			and(cmp(attr("id"), "eq", "2819c223-7f76-453a-919d-413861904646"),
				&ValuePath{Path: attr("members"), Filter: cmp(attr("value"), "eq", "abc")})},

		// Unquoted values, as Entra's reference tests send them: read as strings where
		// the grammar would otherwise fail (a dateTime for dateTime attributes).
		{`userName sw O`, cmp(attr("userName"), "sw", "O")},
		{`userName eq bjensen`, cmp(attr("userName"), "eq", "bjensen")},
		{`a eq NaN`, cmp(attr("a"), "eq", "NaN")},
		{`a eq tru`, cmp(attr("a"), "eq", "tru")},
		{`userName eq Ünïcode`, cmp(attr("userName"), "eq", "Ünïcode")},
		{`name.familyName co O'Malley`, cmp(AttrPath{Attr: "name", Sub: "familyName"}, "co", "O'Malley")},
		{`meta.created gt 2015-10-10T14:38:21.8617979-07:00`, cmp(AttrPath{Attr: "meta", Sub: "created"}, "gt", "2015-10-10T14:38:21.8617979-07:00")},
		{`meta.created gt 2015-10-10T14:38:21.861797912345678Z`, cmp(AttrPath{Attr: "meta", Sub: "created"}, "gt", "2015-10-10T14:38:21.861797912345678Z")},
		{`meta.created ge 2015-10-10T14:38:21`, cmp(AttrPath{Attr: "meta", Sub: "created"}, "ge", "2015-10-10T14:38:21")},
		{`meta.created lt 2015-10-10`, cmp(AttrPath{Attr: "meta", Sub: "created"}, "lt", "2015-10-10")},
		{`name.familyName eq Employee and (emails.value co example.com or emails.value co example.org)`,
			and(cmp(AttrPath{Attr: "name", Sub: "familyName"}, "eq", "Employee"),
				or(cmp(AttrPath{Attr: "emails", Sub: "value"}, "co", "example.com"), cmp(AttrPath{Attr: "emails", Sub: "value"}, "co", "example.org")))},
		{`emails[type eq work and value co example.com]`, &ValuePath{Path: attr("emails"),
			Filter: and(cmp(attr("type"), "eq", "work"), cmp(attr("value"), "co", "example.com"))}},
		// Literals and numbers keep their meaning.
		{`active eq True`, cmp(attr("active"), "eq", true)},
		{`manager eq NULL`, cmp(attr("manager"), "eq", nil)},
		{`age eq 2015`, cmp(attr("age"), "eq", num("2015"))},

		// Case-insensitive keywords and literals; names keep their case.
		{`userName EQ "x"`, cmp(attr("userName"), "eq", "x")},
		{`USERNAME Eq "x"`, cmp(attr("USERNAME"), "eq", "x")},
		{`title PR`, cmp(attr("title"), "pr", nil)},
		{`a eq 1 AND b eq 2 Or c eq 3`, or(and(a, b), c)},
		{`NOT (a eq 1)`, &Not{X: a}},
		{`Not(a eq 1)`, &Not{X: a}},
		{`active eq TRUE`, cmp(attr("active"), "eq", true)},
		{`active eq False`, cmp(attr("active"), "eq", false)},
		{`manager eq NULL`, cmp(attr("manager"), "eq", nil)},
		{`manager ne null`, cmp(attr("manager"), "ne", nil)},

		// Precedence and associativity.
		{`a eq 1 or b eq 2 and c eq 3`, or(a, and(b, c))},
		{`a eq 1 and b eq 2 or c eq 3`, or(and(a, b), c)},
		{`a eq 1 and b eq 2 and c eq 3`, and(and(a, b), c)},
		{`a eq 1 or b eq 2 or c eq 3`, or(or(a, b), c)},
		{`a eq 1 or b eq 2 and c eq 3 or d eq 4`, or(or(a, and(b, c)), d)},
		{`not (a eq 1) and b eq 2`, and(&Not{X: a}, b)},
		{`not (a eq 1 or b eq 2) and c eq 3`, and(&Not{X: or(a, b)}, c)},

		// Parentheses.
		{`(a eq 1)`, a},
		{`((a eq 1))`, a},
		{`(a eq 1 or b eq 2) and c eq 3`, and(or(a, b), c)},
		{`a eq 1 and (b eq 2 or c eq 3)`, and(a, or(b, c))},
		{`a eq 1 and (b eq 2 and c eq 3)`, and(a, and(b, c))},
		{`(a eq 1 or b eq 2) and (c eq 3 or d eq 4)`, and(or(a, b), or(c, d))},
		{`not (not (a eq 1))`, &Not{X: &Not{X: a}}},
		{`( a eq 1 )`, a},

		// Value paths.
		{`emails[type eq "work" and value co "@example.com"]`, &ValuePath{Path: attr("emails"),
			Filter: and(cmp(attr("type"), "eq", "work"), cmp(attr("value"), "co", "@example.com"))}},
		{`members[value eq "abc"]`, &ValuePath{Path: attr("members"), Filter: cmp(attr("value"), "eq", "abc")}},
		{`emails[type eq "work" or (primary eq true and not (value ew ".org"))]`, &ValuePath{Path: attr("emails"),
			Filter: or(cmp(attr("type"), "eq", "work"), and(cmp(attr("primary"), "eq", true), &Not{X: cmp(attr("value"), "ew", ".org")}))}},
		{`emails[ type pr ]`, &ValuePath{Path: attr("emails"), Filter: cmp(attr("type"), "pr", nil)}},
		{`members[$ref sw "https://"]`, &ValuePath{Path: attr("members"), Filter: cmp(attr("$ref"), "sw", "https://")}},
		{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
			and(cmp(attr("userType"), "eq", "Employee"), or(cmp(attr("emails"), "co", "example.com"), cmp(AttrPath{Attr: "emails", Sub: "value"}, "co", "example.org")))},
		{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
			and(cmp(attr("userType"), "eq", "Employee"), &ValuePath{Path: attr("emails"),
				Filter: and(cmp(attr("type"), "eq", "work"), cmp(attr("value"), "co", "@example.com"))})},
		{`emails[type eq "work"] or ims[type eq "xmpp"]`, or(
			&ValuePath{Path: attr("emails"), Filter: cmp(attr("type"), "eq", "work")},
			&ValuePath{Path: attr("ims"), Filter: cmp(attr("type"), "eq", "xmpp")})},
		{`not (emails[type eq "work"])`, &Not{X: &ValuePath{Path: attr("emails"), Filter: cmp(attr("type"), "eq", "work")}}},
		// Entra's work-email match: a sub-attribute after the value filter.
		{`emails[type eq "work"].value eq "x@y.com"`, &ValuePath{Path: attr("emails"),
			Filter: and(cmp(attr("type"), "eq", "work"), cmp(attr("value"), "eq", "x@y.com"))}},
		{`emails[type eq "work" or type eq "home"].value co "@y.com" and userName pr`, and(&ValuePath{Path: attr("emails"),
			Filter: and(or(cmp(attr("type"), "eq", "work"), cmp(attr("type"), "eq", "home")), cmp(attr("value"), "co", "@y.com"))},
			cmp(attr("userName"), "pr", nil))},
		{enterprise + `:emails[value pr]`, &ValuePath{Path: AttrPath{URN: enterprise, Attr: "emails"}, Filter: cmp(attr("value"), "pr", nil)}},

		// Sub-attributes and $ref.
		{`name.givenName eq "Barbara"`, cmp(AttrPath{Attr: "name", Sub: "givenName"}, "eq", "Barbara")},
		{`members.$ref eq "https://example.com/v2/Users/1"`, cmp(AttrPath{Attr: "members", Sub: "$ref"}, "eq", "https://example.com/v2/Users/1")},
		{`x-custom_attr1 eq "v"`, cmp(attr("x-custom_attr1"), "eq", "v")},

		// URN-qualified names: the attribute follows the last ':'.
		{coreUser + `:name.familyName eq "Jensen"`, cmp(AttrPath{URN: coreUser, Attr: "name", Sub: "familyName"}, "eq", "Jensen")},
		{coreUser + `:userName sw "b"`, cmp(AttrPath{URN: coreUser, Attr: "userName"}, "sw", "b")},
		{enterprise + `:employeeNumber eq "701984"`, cmp(AttrPath{URN: enterprise, Attr: "employeeNumber"}, "eq", "701984")},
		{enterprise + `:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`, cmp(AttrPath{URN: enterprise, Attr: "manager", Sub: "value"}, "eq", "26118915-6090-4610-87e4-49d8ca9f808d")},
		{custom + `:favoriteColor eq "blue"`, cmp(AttrPath{URN: custom, Attr: "favoriteColor"}, "eq", "blue")},
		{`URN:IETF:params:scim:schemas:core:2.0:User:userName eq "x"`, cmp(AttrPath{URN: "URN:IETF:params:scim:schemas:core:2.0:User", Attr: "userName"}, "eq", "x")},
		{`urn:ab:c:d pr`, cmp(AttrPath{URN: "urn:ab:c", Attr: "d"}, "pr", nil)},

		// Numbers are kept as written.
		{`n eq 0`, cmp(attr("n"), "eq", num("0"))},
		{`n eq -0`, cmp(attr("n"), "eq", num("-0"))},
		{`n ge -12.5`, cmp(attr("n"), "ge", num("-12.5"))},
		{`n lt 1e10`, cmp(attr("n"), "lt", num("1e10"))},
		{`n le 1.5E+3`, cmp(attr("n"), "le", num("1.5E+3"))},
		{`n ne 2.25e-7`, cmp(attr("n"), "ne", num("2.25e-7"))},
		{`n eq 12345678901234567890123`, cmp(attr("n"), "eq", num("12345678901234567890123"))},

		// Strings and escapes.
		{`s eq ""`, cmp(attr("s"), "eq", "")},
		{`s eq "a\"b"`, cmp(attr("s"), "eq", `a"b`)},
		{`s eq "a\\b"`, cmp(attr("s"), "eq", `a\b`)},
		{`s eq "a\/b"`, cmp(attr("s"), "eq", `a/b`)},
		{`s eq "\b\f\n\r\t"`, cmp(attr("s"), "eq", "\b\f\n\r\t")},
		{`s eq "\u00e9t\u00C9"`, cmp(attr("s"), "eq", "étÉ")},
		{`s eq "\ud83d\ude00"`, cmp(attr("s"), "eq", "😀")},
		{`s eq "\ud83d"`, cmp(attr("s"), "eq", "\uFFFD")},
		{`s eq "\ud83dx"`, cmp(attr("s"), "eq", "\uFFFDx")},
		{`s eq "\ude00\u0041"`, cmp(attr("s"), "eq", "\uFFFDA")},
		{`s eq "ünïcödé ✓"`, cmp(attr("s"), "eq", "ünïcödé ✓")},
		{`s eq "(not) [a] and or"`, cmp(attr("s"), "eq", "(not) [a] and or")},
		{`s co "+"`, cmp(attr("s"), "co", "+")},

		// Whitespace: runs of spaces and tabs, leading and trailing.
		{"  userName   eq \t \"x\"  ", cmp(attr("userName"), "eq", "x")},
		{"a eq 1\tand\tb eq 2", and(a, b)},
		{`(a eq 1)and(b eq 2)`, and(a, b)},
		{`not(a eq 1)or(b eq 2)`, or(&Not{X: a}, b)},

		// Words that are keywords elsewhere are attribute names where an
		// attribute is expected.
		{`and eq 1 or or pr`, or(cmp(attr("and"), "eq", num("1")), cmp(attr("or"), "pr", nil))},
		{`eq eq "eq"`, cmp(attr("eq"), "eq", "eq")},
		{`notes pr`, cmp(attr("notes"), "pr", nil)},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q)\n got %s\nwant %s", tt.in, dump(got), dump(tt.want))
			continue
		}
		checkRoundTrip(t, tt.in, got)
	}
}

// dump renders a tree with its shape visible, for failure messages.
func dump(e Expr) string {
	switch n := e.(type) {
	case *Compare:
		return "Compare{" + n.Path.String() + " " + n.Op + " " + valueDump(n.Value) + "}"
	case *Logical:
		return n.Op + "(" + dump(n.Left) + ", " + dump(n.Right) + ")"
	case *Not:
		return "not(" + dump(n.X) + ")"
	case *ValuePath:
		return "VP{" + n.Path.String() + " [" + dump(n.Filter) + "]}"
	}
	return "<nil>"
}

func valueDump(v any) string {
	b, _ := json.Marshal(v)
	return string(b) + "(" + reflect.TypeOf(v).String() + ")"
}

func checkRoundTrip(t *testing.T, in string, e Expr) {
	t.Helper()
	s := e.(interface{ String() string }).String()
	again, err := Parse(s)
	if err != nil {
		t.Errorf("Parse(%q).String() = %q, which does not parse: %v", in, s, err)
		return
	}
	if !reflect.DeepEqual(e, again) {
		t.Errorf("Parse(%q).String() = %q, which parses to %s, not %s", in, s, dump(again), dump(e))
	}
}

func TestString(t *testing.T) {
	tests := []struct{ in, want string }{
		{`userName EQ "x"`, `userName eq "x"`},
		{`title Pr`, `title pr`},
		{`a eq 1 or b eq 2 and c eq 3`, `a eq 1 or b eq 2 and c eq 3`},
		{`(a eq 1 or b eq 2) and c eq 3`, `(a eq 1 or b eq 2) and c eq 3`},
		{`a eq 1 and (b eq 2 and c eq 3)`, `a eq 1 and (b eq 2 and c eq 3)`},
		{`(a eq 1 and b eq 2) and c eq 3`, `a eq 1 and b eq 2 and c eq 3`},
		{`a eq 1 or (b eq 2 or c eq 3)`, `a eq 1 or (b eq 2 or c eq 3)`},
		{`a eq 1 or (b eq 2 and c eq 3)`, `a eq 1 or b eq 2 and c eq 3`},
		{`not(a eq 1 or b eq 2)`, `not (a eq 1 or b eq 2)`},
		{`emails[type eq "work" and value co "@x.com"]`, `emails[type eq "work" and value co "@x.com"]`},
		{`s eq "\u00e9\/\"\\\n\u0001"`, `s eq "é/\"\\\n\u0001"`},
		{`b eq TRUE and n eq NULL`, `b eq true and n eq null`},
		{custom + `:favoriteColor eq "blue"`, custom + `:favoriteColor eq "blue"`},
	}
	for _, tt := range tests {
		e, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := e.(interface{ String() string }).String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStringHandBuilt(t *testing.T) {
	// Trees built by hand may be incomplete or hold other value types;
	// rendering them must not panic.
	for _, e := range []interface{ String() string }{
		&Logical{Op: "and"},
		&Not{},
		&ValuePath{},
		(*Compare)(nil),
		cmp(attr("n"), "eq", 42),
		cmp(attr("s"), "eq", "bad \xff utf8"),
	} {
		_ = e.String()
	}
	if got, want := cmp(attr("s"), "eq", "bad \xff").String(), `s eq "bad \ufffd"`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestAttrPathString(t *testing.T) {
	tests := []struct {
		p    AttrPath
		want string
	}{
		{AttrPath{Attr: "userName"}, "userName"},
		{AttrPath{Attr: "name", Sub: "givenName"}, "name.givenName"},
		{AttrPath{URN: enterprise, Attr: "manager", Sub: "value"}, enterprise + ":manager.value"},
		{AttrPath{URN: enterprise}, enterprise},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in     string
		detail string // a substring of the Detail; "" to check only that there is one
		pos    int    // -1 to skip
	}{
		{``, "filter is empty", 0},
		{`   `, "filter is empty", 0},
		{`userName eqq "x"`, `unknown operator "eqq" at position 9`, 9},
		{`userName eq `, `expected a value after "eq" at position 12`, 12},
		{`userName eq`, `expected a value after "eq" at position 11`, 11},
		{`userName`, `expected an operator after "userName" at position 8`, 8},
		{`userName eq "x`, `unterminated string starting at position 12`, 12},
		{`userName eq "x\`, `unterminated string`, 12},
		{`userName eq "a\u0000b"`, `\u0000 (NUL) at position 14 is not allowed`, 14},
		{`(userName eq "x"`, `missing closing parenthesis`, 16},
		{`((a eq 1)`, `missing closing parenthesis`, 9},
		{`a eq 1)`, `unexpected ")" at position 6`, 6},
		{`(a eq 1]`, `expected ")"`, 7},
		{`emails[type eq "work"`, `missing closing bracket`, 21},
		{`emails[type eq "work")`, `expected "]"`, 21},
		{`emails[type eq "work"]]`, `unexpected "]"`, 22},
		{`a eq 1 and`, `unexpected end of input at position 10`, 10},
		{`a eq 1 or`, `unexpected end of input`, 9},
		{`and`, `expected an operator after "and"`, 3},
		{`a eq 1 b eq 2`, `expected "and" or "or" at position 7, found "b"`, 7},
		{`a eq 1 nand b eq 2`, `found "nand"`, 7},
		{`not a eq 1`, `expected "(" after "not" at position 4`, 4},
		{`not`, `expected "(" after "not" at position 3`, 3},
		{`not ()`, `unexpected ")"`, 5},
		{`()`, `unexpected ")"`, 1},
		{`(`, `unexpected end of input`, 1},
		{`)`, `unexpected ")" at position 0`, 0},
		{`"x" eq a`, `unexpected string at position 0`, 0},
		{`[a eq 1]`, `unexpected "["`, 0},
		{`eq "x"`, `expected an operator after "eq" at position 3, found a string`, 3},

		// Values.
		{`userName eq 'x'`, `invalid value "'x'"`, 12},
		{`userName eq and title pr`, `invalid value "and" at position 12`, 12},
		{`userName eq OR`, `invalid value "OR"`, 12},
		{`userName eq not`, `invalid value "not"`, 12},
		{`emails.value co @example.com`, `invalid value "@example.com"`, 16},
		{`meta.created gt 2015-13-45T14:38:21Z`, `invalid number "2015-13-45T14:38:21Z"`, 16},
		{`meta.created gt 2015-10-10T14:38:21.-07:00`, `invalid number`, 16},
		{"userName eq x\u0001y", `invalid value`, 12},
		{`a eq 01`, `invalid number "01"`, 5},
		{`a eq 1.`, `invalid number "1."`, 5},
		{`a eq .5`, `invalid number ".5"`, 5},
		{`a eq +5`, `invalid number "+5"`, 5},
		{`a eq 1e`, `invalid number`, 5},
		{`a eq 1e+`, `invalid number`, 5},
		{`a eq --1`, `invalid number`, 5},
		{`a eq 0x10`, `invalid number`, 5},
		{`a eq 1.2.3`, `invalid number`, 5},
		{`a eq (1)`, `expected a value after "eq" at position 5, found "("`, 5},
		{`a eq [1]`, `expected a value`, 5},
		{`a eq "x" "y"`, `expected "and", "or"`, 9},
		{`title pr "x"`, `unexpected value after "pr" at position 9`, 9},
		{`title pr true`, `takes no value`, 9},
		{`title pr 1`, `takes no value`, 9},
		{`title pr and`, `unexpected end of input`, 12},

		// Operator/value combinations the RFC calls invalidFilter.
		{`active gt true`, `operator "gt" cannot compare with a boolean at position 10`, 10},
		{`active GE false`, `operator "GE" cannot compare with a boolean`, 10},
		{`manager lt null`, `operator "lt" cannot compare with null at position 11`, 11},
		{`manager le null`, `cannot compare with null`, 11},
		{`name co 1`, `operator "co" needs a string value, found a number at position 8`, 8},
		{`name sw true`, `operator "sw" needs a string value, found a boolean`, 8},
		{`name ew null`, `operator "ew" needs a string value, found null`, 8},

		// Strings.
		{`s eq "a\qb"`, `invalid escape "\\q" in string at position 7`, 7},
		{`s eq "\u12"`, `invalid \u escape in string at position 6`, 6},
		{`s eq "\u12g4"`, `invalid \u escape`, 6},
		{`s eq "\ü"`, `invalid escape "\\ü"`, 6},
		{"s eq \"a\tb\"", `control character "\t" in string at position 7`, 7},
		{"s eq \"a\nb\"", `control character`, 7},

		// Attribute names.
		{`1abc eq "x"`, `invalid attribute name "1abc" at position 0`, 0},
		{`-abc eq "x"`, `invalid attribute name "-abc"`, 0},
		{`$ref eq "x"`, `invalid attribute name "$ref"`, 0},
		{`a.b.c eq "x"`, `at most one sub-attribute`, 3},
		{`a..b eq "x"`, `missing sub-attribute name at position 2`, 2},
		{`a. eq "x"`, `missing sub-attribute name at position 2`, 2},
		{`.a eq "x"`, `missing attribute name at position 0`, 0},
		{`a.1 eq "x"`, `invalid sub-attribute name "1"`, 2},
		{`a.$refx eq "x"`, `invalid sub-attribute name "$refx"`, 2},
		{`na me eq "x"`, `unknown operator "me"`, 3},
		{`nämé eq "x"`, `invalid character 'ä' in attribute path "nämé" at position 1`, 1},
		{`a,b eq "x"`, `invalid character ','`, 1},
		{`foo:bar eq "x"`, `unexpected ":" at position 3 in attribute path "foo:bar", which does not start with a schema URN`, 3},
		{`urn:bar eq "x"`, `invalid schema URN "urn"`, 0},
		{`urn:a:bar eq "x"`, `invalid schema URN "urn:a"`, 0},
		{`urn:a::b:bar eq "x"`, `invalid schema URN`, 0},
		{`urn:ab:c: eq "x"`, `missing attribute name after schema URN "urn:ab:c"`, 9},
		{`urn:a:b:c eq "x"`, `invalid schema URN "urn:a:b"`, 0},
		{`urn:-ab:b:c eq "x"`, `invalid schema URN`, 0},
		{`urn:ab:b$:c eq "x"`, `invalid schema URN`, 0},
		{`urn:` + strings.Repeat("n", 33) + `:b:c eq "x"`, `invalid schema URN`, 0},
		{coreUser + `:name.familyName.x eq "J"`, `at most one sub-attribute`, -1},
		{coreUser + `:1name eq "J"`, `invalid attribute name "1name"`, len(coreUser) + 1},

		// Value paths.
		{`emails[type eq "work"].`, `missing sub-attribute name at position 23`, 23},
		{`emails[type eq "work"].value`, `expected an operator after "value" at position 28`, 28},
		{`emails[type eq "work"].value.x eq "a"`, `at most one sub-attribute`, 28},
		{`emails[type eq "work"].value eq`, `expected a value after "eq"`, 31},
		{`emails[type eq "work"].value eq "x"]`, `unexpected "]"`, 35},
		{`emails.value[type eq "work"]`, `not the sub-attribute "emails.value"`, 12},
		{`emails[]`, `unexpected "]"`, 7},
		{`emails[type eq "work"`, `missing closing bracket for the "[" at position 6`, 21},
		{`emails[addresses[type eq "x"]]`, `value filters cannot be nested`, 16},
		{`emails[name.x eq "x"]`, `must be a plain sub-attribute name`, 7},
		{`emails[` + coreUser + `:type eq "x"]`, `must be a plain sub-attribute name`, 7},
		{`emails [type eq "work"]`, `expected an operator after "emails" at position 7, found "["`, 7},
		{`emails[type eq "work"] eq "x"`, `expected "and" or "or" at position 23, found "eq"`, 23},

		// "+" from an undecoded query string.
		{`userName+eq+"x"`, `"+" is not whitespace`, 8},
		{`userName eq "x"+and+title pr`, `"+" is not whitespace`, 15},
		{`a eq 1+`, `"+" is not whitespace`, 5},

		// Other whitespace and stray characters.
		{"a eq 1\nand b pr", `invalid number "1\nand" at position 5`, 5},
		{"a eq 1 \r", `found "\r"`, 7},
		{"a eq 1 ;", `found ";"`, 7},

		// Limits and encoding.
		{strings.Repeat("(", MaxDepth+1) + `a pr` + strings.Repeat(")", MaxDepth+1), `more than 32 levels deep at position 32`, 32},
		{strings.Repeat("not (", MaxDepth+1) + `a pr` + strings.Repeat(")", MaxDepth+1), `more than 32 levels deep`, -1},
		{strings.Repeat("(", MaxDepth) + `emails[a pr]` + strings.Repeat(")", MaxDepth), `more than 32 levels deep`, MaxDepth + 6},
		{`a eq "` + strings.Repeat("x", MaxFilterLength) + `"`, `filter is 4103 bytes long; the limit is 4096 bytes`, MaxFilterLength},
		{"a eq \"\xff\"", `filter is not valid UTF-8 at position 6`, 6},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) = %s, want an error", tt.in, dump(got))
			continue
		}
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) error %T, want *Error", tt.in, err)
			continue
		}
		if pe.Detail == "" || pe.Error() != pe.Detail {
			t.Errorf("Parse(%q): Detail %q, Error() %q", tt.in, pe.Detail, pe.Error())
		}
		if !strings.Contains(pe.Detail, tt.detail) {
			t.Errorf("Parse(%q) Detail = %q, want it to contain %q", tt.in, pe.Detail, tt.detail)
		}
		if tt.pos >= 0 && pe.Pos != tt.pos {
			t.Errorf("Parse(%q) Pos = %d, want %d (%s)", tt.in, pe.Pos, tt.pos, pe.Detail)
		}
	}
}

func TestLimitsAccepted(t *testing.T) {
	// Exactly at the limits is fine.
	deep := strings.Repeat("(", MaxDepth) + `a pr` + strings.Repeat(")", MaxDepth)
	if _, err := Parse(deep); err != nil {
		t.Errorf("Parse of %d nested parentheses: %v", MaxDepth, err)
	}
	long := `a eq "` + strings.Repeat("x", MaxFilterLength-7) + `"`
	if len(long) != MaxFilterLength {
		t.Fatalf("test input is %d bytes", len(long))
	}
	if _, err := Parse(long); err != nil {
		t.Errorf("Parse of a %d-byte filter: %v", len(long), err)
	}
	// A long flat chain is not nesting, whatever the tree's height.
	chain := "a pr" + strings.Repeat(" and a pr", 400)
	e, err := Parse(chain)
	if err != nil {
		t.Fatalf("Parse of a long chain: %v", err)
	}
	checkRoundTrip(t, chain, e)
}

func TestWalk(t *testing.T) {
	e, err := Parse(`a pr and not (b pr or emails[type eq "work"])`)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	Walk(e, func(e Expr) bool {
		switch n := e.(type) {
		case *Compare:
			seen = append(seen, n.Path.Attr)
		case *Logical:
			seen = append(seen, n.Op)
		case *Not:
			seen = append(seen, "not")
		case *ValuePath:
			seen = append(seen, n.Path.Attr+"[]")
		}
		return true
	})
	if got, want := strings.Join(seen, " "), "and a not or b emails[] type"; got != want {
		t.Errorf("Walk visited %q, want %q", got, want)
	}

	// Returning false prunes the children of that node only.
	seen = nil
	Walk(e, func(e Expr) bool {
		if _, ok := e.(*Not); ok {
			seen = append(seen, "not")
			return false
		}
		if c, ok := e.(*Compare); ok {
			seen = append(seen, c.Path.Attr)
		}
		return true
	})
	if got, want := strings.Join(seen, " "), "a not"; got != want {
		t.Errorf("pruned Walk visited %q, want %q", got, want)
	}

	Walk(nil, func(Expr) bool { t.Error("fn called for nil"); return true })
	Walk(&Logical{Op: "and"}, func(Expr) bool { return true })
	Walk((*Not)(nil), func(Expr) bool { return true })
}
