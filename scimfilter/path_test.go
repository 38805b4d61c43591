package scimfilter

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		in   string
		want Path
	}{
		{`members`, Path{AttrPath: attr("members")}},
		{`userName`, Path{AttrPath: attr("userName")}},
		{`name.givenName`, Path{AttrPath: AttrPath{Attr: "name", Sub: "givenName"}}},
		{`members.$ref`, Path{AttrPath: AttrPath{Attr: "members", Sub: "$ref"}}},
		{`members[value eq "x"]`, Path{AttrPath: attr("members"), Filter: cmp(attr("value"), "eq", "x")}},
		{`members[value eq "2819c223-7f76-453a-919d-413861904646"]`, Path{AttrPath: attr("members"),
			Filter: cmp(attr("value"), "eq", "2819c223-7f76-453a-919d-413861904646")}},
		{`emails[type eq "work"].value`, Path{AttrPath: AttrPath{Attr: "emails", Sub: "value"}, Filter: cmp(attr("type"), "eq", "work")}},
		{`addresses[type eq "work" and primary eq true].streetAddress`, Path{AttrPath: AttrPath{Attr: "addresses", Sub: "streetAddress"},
			Filter: and(cmp(attr("type"), "eq", "work"), cmp(attr("primary"), "eq", true))}},
		{`members[value eq "x"].$ref`, Path{AttrPath: AttrPath{Attr: "members", Sub: "$ref"}, Filter: cmp(attr("value"), "eq", "x")}},
		{`emails[not (type eq "work")]`, Path{AttrPath: attr("emails"), Filter: &Not{X: cmp(attr("type"), "eq", "work")}}},
		{`  members  `, Path{AttrPath: attr("members")}},

		// URN-qualified paths.
		{coreUser + `:name.familyName`, Path{AttrPath: AttrPath{URN: coreUser, Attr: "name", Sub: "familyName"}}},
		{coreUser + `:userName`, Path{AttrPath: AttrPath{URN: coreUser, Attr: "userName"}}},
		{enterprise + `:manager`, Path{AttrPath: AttrPath{URN: enterprise, Attr: "manager"}}},
		{enterprise + `:manager.value`, Path{AttrPath: AttrPath{URN: enterprise, Attr: "manager", Sub: "value"}}},
		{custom + `:favoriteColor`, Path{AttrPath: AttrPath{URN: custom, Attr: "favoriteColor"}}},
		{coreUser + `:emails[type eq "work"].value`, Path{AttrPath: AttrPath{URN: coreUser, Attr: "emails", Sub: "value"},
			Filter: cmp(attr("type"), "eq", "work")}},

		// A schema URN alone names the whole extension.
		{enterprise, Path{AttrPath: AttrPath{URN: enterprise}}},
		{custom, Path{AttrPath: AttrPath{URN: custom}}},
		{`urn:example:scim:1.0:Device`, Path{AttrPath: AttrPath{URN: "urn:example:scim:1.0:Device"}}},
		// Without a version segment the last segment is the attribute.
		{`urn:example:scim:color`, Path{AttrPath: AttrPath{URN: "urn:example:scim", Attr: "color"}}},
		// With a filter the last segment is always the attribute.
		{`urn:example:1.0:things[value pr]`, Path{AttrPath: AttrPath{URN: "urn:example:1.0", Attr: "things"}, Filter: cmp(attr("value"), "pr", nil)}},
	}
	for _, tt := range tests {
		got, err := ParsePath(tt.in)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParsePath(%q) = %#v (%s), want %#v", tt.in, got.AttrPath, dump(got.Filter), tt.want.AttrPath)
			continue
		}
		s := got.String()
		if want := strings.TrimSpace(tt.in); s != want && !strings.Contains(tt.in, "not") {
			t.Errorf("ParsePath(%q).String() = %q, want %q", tt.in, s, want)
		}
		again, err := ParsePath(s)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("ParsePath(%q).String() = %q, which reparses to %#v, %v", tt.in, s, again, err)
		}
	}
}

func TestParsePathErrors(t *testing.T) {
	tests := []struct {
		in     string
		detail string
		pos    int
	}{
		{``, `path is empty`, 0},
		{` `, `path is empty`, 0},
		{`members[`, `unexpected end of input at position 8`, 8},
		{`members[value eq "x"`, `missing closing bracket for the "[" at position 7`, 20},
		{`members[]`, `unexpected "]" at position 8`, 8},
		{`a..b`, `missing sub-attribute name at position 2`, 2},
		{`a.b.c`, `at most one sub-attribute`, 3},
		{`.a`, `missing attribute name at position 0`, 0},
		{`a.`, `missing sub-attribute name at position 2`, 2},
		{`[x eq 1]`, `expected an attribute path at position 0, found "["`, 0},
		{`emails[type eq "work"]x`, `unexpected "x" after "]" at position 22`, 22},
		{`emails[type eq "work"] x`, `unexpected "x" after "]" at position 23`, 23},
		{`emails[type eq "work"].`, `missing sub-attribute name at position 23`, 23},
		{`emails[type eq "work"].value.x`, `at most one sub-attribute`, 28},
		{`emails[type eq "work"].1x`, `invalid sub-attribute name "1x"`, 23},
		{`emails[type eq "work"][value pr]`, `unexpected "[" after "]"`, 22},
		{`emails.value[type eq "work"]`, `not the sub-attribute "emails.value"`, 12},
		{`emails[type eq "work"`, `missing closing bracket`, 21},
		{`emails[type[value pr]]`, `value filters cannot be nested`, 11},
		{`emails[type eqq "work"]`, `unknown operator "eqq" at position 12`, 12},
		{`name givenName`, `unexpected "givenName" at position 5`, 5},
		{`name eq "x"`, `unexpected "eq" at position 5`, 5},
		{`(members)`, `expected an attribute path at position 0, found "("`, 0},
		{`"members"`, `found a string`, 0},
		{`1abc`, `invalid attribute name "1abc"`, 0},
		{`1abc def`, `invalid attribute name "1abc"`, 0},
		{`urn:ab:c:`, `missing attribute name after schema URN`, 9},
		{`urn:x`, `invalid schema URN "urn"`, 0},
		{`urn:a::2.0:User`, `invalid schema URN`, 0},
		{`members+`, `"+" is not whitespace`, 7},
		{strings.Repeat("a", MaxFilterLength+1), `path is 4097 bytes long`, MaxFilterLength},
		{"a\xc3", `not valid UTF-8 at position 1`, 1},
		{`emails[` + strings.Repeat("(", MaxDepth) + `a pr` + strings.Repeat(")", MaxDepth) + `]`, `more than 32 levels deep`, 7 + MaxDepth - 1},
	}
	for _, tt := range tests {
		got, err := ParsePath(tt.in)
		if err == nil {
			t.Errorf("ParsePath(%q) = %#v, want an error", tt.in, got)
			continue
		}
		var pe *Error
		if !errors.As(err, &pe) || pe.Detail == "" {
			t.Errorf("ParsePath(%q) error %#v, want *Error with a Detail", tt.in, err)
			continue
		}
		if !strings.Contains(pe.Detail, tt.detail) {
			t.Errorf("ParsePath(%q) Detail = %q, want it to contain %q", tt.in, pe.Detail, tt.detail)
		}
		if tt.pos >= 0 && pe.Pos != tt.pos {
			t.Errorf("ParsePath(%q) Pos = %d, want %d (%s)", tt.in, pe.Pos, tt.pos, pe.Detail)
		}
	}
}
