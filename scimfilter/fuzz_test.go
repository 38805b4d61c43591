package scimfilter

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

var fuzzSeeds = []string{
	`userName eq "bjensen"`,
	`userName EQ "x@y.com"`,
	`externalId eq "6f8e2a34-1b1c-4e6d-9a1e-3c2b7f0d5e44"`,
	`displayName eq "Group Name"`,
	`name.familyName co "O'Malley"`,
	`userName sw "J" and userName ew "n"`,
	`title pr`,
	`title pr and userType eq "Employee"`,
	`meta.lastModified gt "2011-05-13T04:42:34Z" or meta.lastModified le "2011-05-13T04:42:34Z"`,
	`age ge -1.5e+3 and age lt 0 and age ne 10`,
	`active eq TRUE or manager eq null or x eq False`,
	`a eq 1 or b eq 2 and c eq 3`,
	`(a eq 1 or b eq 2) and not (c eq 3)`,
	`not(a pr)`,
	`emails[type eq "work" and value co "@example.com"]`,
	`members[value eq "abc"]`,
	`emails[type eq "work" or (primary eq true and not (value ew ".org"))]`,
	`members[$ref sw "https://"] and members.$ref pr`,
	`urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "Jensen"`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915"`,
	`urn:ietf:params:scim:schemas:extension:oktasync:2.0:User:favoriteColor eq "blue"`,
	`s eq "\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\ud800"`,
	"a\teq\t1",
	`userName+eq+"x"`,
	`userName eqq "x"`,
	`((((a pr))))`,
	`emails[type eq "work"].value eq "x"`,
	`a eq 01`,
	`s eq "unterminated`,
	`userName sw O`,
	`meta.created gt 2015-10-10T14:38:21.8617979-07:00`,
	`name.familyName eq Employee and (emails.value co example.com or emails.value co example.org)`,
	`emails[type eq work]`,
	`a eq 2015-10-10 and b eq and`,
	`a eq O'Malley`,
}

var fuzzPathSeeds = []string{
	`members`,
	`members[value eq "x"]`,
	`members[value eq "2819c223-7f76-453a-919d-413861904646"]`,
	`emails[type eq "work"].value`,
	`emails[type eq "work" and not (primary eq false)].display`,
	`members[value eq "x"].$ref`,
	`name.givenName`,
	`urn:ietf:params:scim:schemas:core:2.0:User:name.givenName`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`,
	`urn:ietf:params:scim:schemas:extension:oktasync:2.0:User:favoriteColor`,
	`urn:example:1.0:things[value pr]`,
	`members[`,
	`a..b`,
	`[x eq 1]`,
	`emails[type eq "work"]x`,
	`members[value eq 2819c223]`,
	`emails[type eq work].value`,
}

// checkError verifies the error contract: every failure is an *Error with a
// Detail and a position inside (or just past the end of) the input.
func checkError(t *testing.T, fn, s string, err error) {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) || pe == nil {
		t.Fatalf("%s(%q) error %T %v, want *Error", fn, s, err, err)
	}
	if pe.Detail == "" {
		t.Fatalf("%s(%q): empty Detail", fn, s)
	}
	if pe.Pos < 0 || pe.Pos > len(s) {
		t.Fatalf("%s(%q): Pos %d outside the input (%s)", fn, s, pe.Pos, pe.Detail)
	}
}

// checkTree verifies the promises the tree makes to its consumers (the SQL
// translator and the in-memory matcher): no nil nodes, lower-case operators,
// only the documented value types, the operator/value combinations the
// parser rejects never appear, and paths inside brackets are plain names.
func checkTree(t *testing.T, src string, e Expr, inBracket bool) {
	t.Helper()
	switch n := e.(type) {
	case *Compare:
		if n == nil {
			t.Fatalf("%q: nil *Compare", src)
		}
		checkAttrPath(t, src, n.Path, inBracket)
		switch n.Op {
		case "pr":
			if n.Value != nil {
				t.Fatalf("%q: pr with value %#v", src, n.Value)
			}
		case "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le":
		default:
			t.Fatalf("%q: operator %q", src, n.Op)
		}
		switch v := n.Value.(type) {
		case nil, bool, json.Number:
			if n.Op == "co" || n.Op == "sw" || n.Op == "ew" {
				t.Fatalf("%q: %s with non-string %#v", src, n.Op, v)
			}
			if _, ok := v.(json.Number); !ok && n.Op != "eq" && n.Op != "ne" && n.Op != "pr" {
				t.Fatalf("%q: %s with %#v", src, n.Op, v)
			}
		case string:
		default:
			t.Fatalf("%q: value of type %T", src, v)
		}
	case *Logical:
		if n == nil || n.Left == nil || n.Right == nil || (n.Op != "and" && n.Op != "or") {
			t.Fatalf("%q: bad logical node %#v", src, n)
		}
		checkTree(t, src, n.Left, inBracket)
		checkTree(t, src, n.Right, inBracket)
	case *Not:
		if n == nil || n.X == nil {
			t.Fatalf("%q: bad not node", src)
		}
		checkTree(t, src, n.X, inBracket)
	case *ValuePath:
		if n == nil || n.Filter == nil || inBracket || n.Path.Sub != "" {
			t.Fatalf("%q: bad value path %#v", src, n)
		}
		checkAttrPath(t, src, n.Path, false)
		checkTree(t, src, n.Filter, true)
	default:
		t.Fatalf("%q: node of type %T", src, e)
	}
}

func checkAttrPath(t *testing.T, src string, p AttrPath, inBracket bool) {
	t.Helper()
	if !isAttrName(p.Attr) && !(inBracket && isRef(p.Attr)) {
		t.Fatalf("%q: attribute name %q", src, p.Attr)
	}
	if p.Sub != "" && !isAttrName(p.Sub) && !isRef(p.Sub) {
		t.Fatalf("%q: sub-attribute name %q", src, p.Sub)
	}
	if p.URN != "" && !isURN(p.URN) {
		t.Fatalf("%q: URN %q", src, p.URN)
	}
	if inBracket && (p.URN != "" || p.Sub != "") {
		t.Fatalf("%q: qualified path %#v inside brackets", src, p)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			checkError(t, "Parse", s, err)
			return
		}
		if e == nil {
			t.Fatalf("Parse(%q) returned neither a tree nor an error", s)
		}
		checkTree(t, s, e, false)
		canon := e.(interface{ String() string }).String()
		// Canonical text puts a space around every operator, so input that
		// leaves spaces out ("not(", `eq"x"`) can come back longer; past the
		// length limit the reparse would fail for that reason alone.
		if len(canon) > MaxFilterLength {
			return
		}
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q, which fails to parse: %v", s, canon, err)
		}
		if !reflect.DeepEqual(e, again) {
			t.Fatalf("Parse(%q).String() = %q, which parses to %s, not %s", s, canon, dump(again), dump(e))
		}
		if c2 := again.(interface{ String() string }).String(); c2 != canon {
			t.Fatalf("canonical text is not stable: %q then %q", canon, c2)
		}
	})
}

func FuzzParsePath(f *testing.F) {
	for _, s := range fuzzPathSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			checkError(t, "ParsePath", s, err)
			return
		}
		if p.Attr == "" {
			if p.URN == "" || p.Sub != "" || p.Filter != nil || !isURN(p.URN) {
				t.Fatalf("ParsePath(%q) = %#v: no attribute, yet not a bare schema URN", s, p)
			}
		} else {
			checkAttrPath(t, s, p.AttrPath, false)
		}
		if p.Filter != nil {
			checkTree(t, s, p.Filter, true)
		}
		canon := p.String()
		if len(canon) > MaxFilterLength {
			return
		}
		again, err := ParsePath(canon)
		if err != nil {
			t.Fatalf("ParsePath(%q).String() = %q, which fails to parse: %v", s, canon, err)
		}
		if !reflect.DeepEqual(p, again) {
			t.Fatalf("ParsePath(%q).String() = %q, which parses to %#v, not %#v", s, canon, again, p)
		}
	})
}
