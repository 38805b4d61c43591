package filter

import (
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
		if p.Attr == "" && (p.URN == "" || p.Sub != "" || p.Filter != nil) {
			t.Fatalf("ParsePath(%q) = %#v: no attribute, yet not a bare schema URN", s, p)
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
