package scim

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/scimschema"
)

const testID = "2819c223-7f76-453a-919d-413861904646"

// testUserResource is the User resource with a custom extension of every custom type.
func testUserResource() *scimschema.Resource {
	return scimschema.UserResource(scimschema.Custom([]scimschema.CustomAttr{
		{Name: "favoriteColor", Type: scimschema.String},
		{Name: "vip", Type: scimschema.Boolean},
		{Name: "level", Type: scimschema.Integer},
		{Name: "score", Type: scimschema.Decimal},
		{Name: "hired", Type: scimschema.DateTime},
		{Name: "tags", Type: scimschema.String, MultiValued: true},
	}))
}

func decodeDoc(t testing.TB, s string) map[string]any {
	t.Helper()
	m, err := decodeObject([]byte(s))
	if err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

// canonicalJSON renders a document with numbers normalized, for comparison.
func canonicalJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var x any
	json.Unmarshal(b, &x)
	b, _ = json.Marshal(x)
	return string(b)
}

func TestApplyPatch(t *testing.T) {
	const (
		ent    = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
		custom = "urn:ietf:params:scim:schemas:extension:oktasync:2.0:User"
	)
	start := `{"userName":"bjensen","active":true,"displayName":"Babs",
		"name":{"givenName":"Barbara","familyName":"Jensen"},
		"emails":[{"value":"b@work.example","type":"work","primary":true},{"value":"b@home.example","type":"home"}],
		"` + ent + `":{"department":"Eng","manager":{"value":"m1"}}}`
	tests := []struct {
		name     string
		ops      string // the Operations array
		want     string // the resulting document; "" when an error is expected
		status   int
		scimType string
	}{
		{name: "okta deactivate, no path",
			ops:  `[{"op":"replace","value":{"active":false}}]`,
			want: strings.Replace(start, `"active":true`, `"active":false`, 1)},
		{name: "entra capitalised op and string boolean",
			ops:  `[{"op":"Replace","path":"active","value":"False"}]`,
			want: strings.Replace(start, `"active":true`, `"active":false`, 1)},
		{name: "no-path value with URN-qualified key",
			ops:  `[{"op":"replace","value":{"` + ent + `:department":"Sales"}}]`,
			want: strings.Replace(start, `"department":"Eng"`, `"department":"Sales"`, 1)},
		{name: "no-path value with nested extension object",
			ops:  `[{"op":"add","value":{"` + ent + `":{"costCenter":"42"}}}]`,
			want: strings.Replace(start, `"department":"Eng"`, `"department":"Eng","costCenter":"42"`, 1)},
		{name: "id equal to the resource's is tolerated",
			ops:  `[{"op":"replace","value":{"id":"` + testID + `","displayName":"B"}}]`,
			want: strings.Replace(start, `"Babs"`, `"B"`, 1)},
		{name: "password is accepted and discarded",
			ops:  `[{"op":"replace","value":{"password":"x"}},{"op":"replace","path":"password","value":"y"}]`,
			want: start},
		{name: "paths as keys of a no-path value",
			ops:  `[{"op":"replace","value":{"name.givenName":"Barb","emails[type eq \"home\"].value":"new@home.example","` + ent + `:manager.value":"m2"}}]`,
			want: strings.Replace(strings.Replace(strings.Replace(start, `"Barbara"`, `"Barb"`, 1), `b@home.example`, `new@home.example`, 1), `"m1"`, `"m2"`, 1)},
		{name: "a bad path as a key is refused",
			ops: `[{"op":"replace","value":{"name.shoe":"x"}}]`, status: 400, scimType: "invalidPath"},
		{name: "replace complex merges sub-attributes",
			ops:  `[{"op":"replace","path":"name","value":{"givenName":"Barb"}}]`,
			want: strings.Replace(start, `"Barbara"`, `"Barb"`, 1)},
		{name: "sub-attribute path",
			ops:  `[{"op":"replace","path":"name.familyName","value":"J"}]`,
			want: strings.Replace(start, `"Jensen"`, `"J"`, 1)},
		{name: "filtered sub-attribute replace",
			ops:  `[{"op":"replace","path":"emails[type eq \"home\"].value","value":"new@home.example"}]`,
			want: strings.Replace(start, `b@home.example`, `new@home.example`, 1)},
		{name: "filter is case-insensitive on type",
			ops:  `[{"op":"replace","path":"emails[type eq \"HOME\"].value","value":"new@home.example"}]`,
			want: strings.Replace(start, `b@home.example`, `new@home.example`, 1)},
		{name: "replace through unmatched filter adds",
			ops:  `[{"op":"replace","path":"emails[type eq \"other\"].value","value":"o@x.example"}]`,
			want: strings.Replace(start, `{"value":"b@home.example","type":"home"}]`, `{"value":"b@home.example","type":"home"},{"type":"other","value":"o@x.example"}]`, 1)},
		{name: "add with primary clears the old primary",
			ops:  `[{"op":"add","path":"emails","value":[{"value":"n@x.example","type":"other","primary":true}]}]`,
			want: strings.Replace(strings.Replace(start, `"type":"work","primary":true`, `"type":"work"`, 1), `"type":"home"}]`, `"type":"home"},{"value":"n@x.example","type":"other","primary":true}]`, 1)},
		{name: "adding an existing value as primary moves primary to it",
			ops:  `[{"op":"add","path":"emails","value":[{"value":"b@home.example","type":"home","primary":true}]}]`,
			want: strings.Replace(strings.Replace(start, `"type":"work","primary":true`, `"type":"work"`, 1), `"type":"home"}`, `"type":"home","primary":true}`, 1)},
		{name: "add an existing value changes nothing",
			ops:  `[{"op":"add","path":"emails","value":[{"value":"b@home.example","type":"home"}]}]`,
			want: start},
		{name: "remove filtered element",
			ops:  `[{"op":"remove","path":"emails[type eq \"home\"]"}]`,
			want: strings.Replace(start, `,{"value":"b@home.example","type":"home"}`, ``, 1)},
		{name: "remove filtered sub-attribute",
			ops:  `[{"op":"remove","path":"emails[type eq \"work\"].primary"}]`,
			want: strings.Replace(start, `"type":"work","primary":true`, `"type":"work"`, 1)},
		{name: "remove whole attribute",
			ops:  `[{"op":"remove","path":"emails"}]`,
			want: strings.Replace(start, `"emails":[{"value":"b@work.example","type":"work","primary":true},{"value":"b@home.example","type":"home"}],`, ``, 1)},
		{name: "remove an unset attribute is a no-op",
			ops:  `[{"op":"remove","path":"title"}]`,
			want: start},
		{name: "remove whole extension",
			ops: `[{"op":"remove","path":"` + ent + `"}]`,
			want: `{"userName":"bjensen","active":true,"displayName":"Babs",
				"name":{"givenName":"Barbara","familyName":"Jensen"},
				"emails":[{"value":"b@work.example","type":"work","primary":true},{"value":"b@home.example","type":"home"}]}`},
		{name: "manager as a bare id (Entra)",
			ops:  `[{"op":"replace","path":"` + ent + `:manager","value":"m2"}]`,
			want: strings.Replace(start, `"m1"`, `"m2"`, 1)},
		{name: "custom attributes typed",
			ops:  `[{"op":"add","value":{"` + custom + `":{"favoriteColor":"blue","vip":"true","level":3,"score":1.5,"hired":"2024-01-02T03:04:05Z","tags":["a","b"]}}}]`,
			want: strings.Replace(start, `}}}`, `}},"`+custom+`":{"favoriteColor":"blue","vip":true,"level":3,"score":1.5,"hired":"2024-01-02T03:04:05Z","tags":["a","b"]}}`, 1)},
		{name: "custom attribute by path",
			ops:  `[{"op":"add","path":"` + custom + `:level","value":7}]`,
			want: strings.Replace(start, `}}}`, `}},"`+custom+`":{"level":7}}`, 1)},
		{name: "atomic: a later failure undoes nothing in the caller's copy",
			ops: `[{"op":"replace","path":"displayName","value":"X"},{"op":"replace","path":"meta.version","value":"1"}]`, status: 400, scimType: "mutability"},

		{name: "remove without path", ops: `[{"op":"remove"}]`, status: 400, scimType: "noTarget"},
		{name: "remove unmatched filter", ops: `[{"op":"remove","path":"emails[type eq \"fax\"]"}]`, status: 400, scimType: "noTarget"},
		{name: "unknown attribute path", ops: `[{"op":"replace","path":"shoeSize","value":"9"}]`, status: 400, scimType: "invalidPath"},
		{name: "unknown sub-attribute", ops: `[{"op":"replace","path":"name.shoe","value":"9"}]`, status: 400, scimType: "invalidPath"},
		{name: "filter on single-valued", ops: `[{"op":"replace","path":"name[givenName eq \"x\"]","value":{}}]`, status: 400, scimType: "invalidPath"},
		{name: "unknown attribute in filter", ops: `[{"op":"replace","path":"emails[shoe eq \"x\"].value","value":"v"}]`, status: 400, scimType: "invalidPath"},
		{name: "malformed path", ops: `[{"op":"replace","path":"emails[type eq","value":"v"}]`, status: 400, scimType: "invalidPath"},
		{name: "path not a string", ops: `[{"op":"replace","path":7,"value":"v"}]`, status: 400, scimType: "invalidPath"},
		{name: "wrong type", ops: `[{"op":"replace","path":"active","value":"yes"}]`, status: 400, scimType: "invalidValue"},
		{name: "wrong type in complex", ops: `[{"op":"replace","path":"name","value":{"givenName":true}}]`, status: 400, scimType: "invalidValue"},
		{name: "custom type checked", ops: `[{"op":"replace","path":"` + custom + `:level","value":"high"}]`, status: 400, scimType: "invalidValue"},
		{name: "custom date checked", ops: `[{"op":"replace","path":"` + custom + `:hired","value":"yesterday"}]`, status: 400, scimType: "invalidValue"},
		{name: "no-path value not an object", ops: `[{"op":"replace","value":"x"}]`, status: 400, scimType: "invalidValue"},
		{name: "add without value", ops: `[{"op":"add","path":"title"}]`, status: 400, scimType: "invalidValue"},
		{name: "id differs", ops: `[{"op":"replace","value":{"id":"other"}}]`, status: 400, scimType: "mutability"},
		{name: "meta is read-only", ops: `[{"op":"replace","path":"meta","value":{}}]`, status: 400, scimType: "mutability"},
		{name: "groups are read-only", ops: `[{"op":"add","path":"groups","value":[{"value":"g"}]}]`, status: 400, scimType: "mutability"},
		{name: "manager.displayName is read-only", ops: `[{"op":"replace","path":"` + ent + `:manager.displayName","value":"x"}]`, status: 400, scimType: "mutability"},
		{name: "userName cannot be removed", ops: `[{"op":"remove","path":"userName"}]`, status: 400, scimType: "mutability"},
		{name: "unknown op", ops: `[{"op":"move","path":"title","value":"x"}]`, status: 400, scimType: "invalidSyntax"},
		{name: "operation not an object", ops: `["replace"]`, status: 400, scimType: "invalidSyntax"},
		{name: "empty operations change nothing (Microsoft's validator sends them)", ops: `[]`, want: start},
	}
	res := testUserResource()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := decodeDoc(t, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":`+tt.ops+`}`)
			doc := decodeDoc(t, start)
			before := canonicalJSON(t, doc)
			err := func() error {
				ops, err := parsePatch(body, 10)
				if err != nil {
					return err
				}
				work := deepCopy(doc).(map[string]any)
				if err := applyPatch(res, work, testID, ops); err != nil {
					return err
				}
				n, err := normalize(res, work)
				doc = n
				return err
			}()
			if tt.want == "" {
				var se *Error
				if !errors.As(err, &se) || se.Status != tt.status || se.ScimType != tt.scimType {
					t.Fatalf("error = %v, want %d %s", err, tt.status, tt.scimType)
				}
				if canonicalJSON(t, doc) != before {
					t.Fatalf("failed PATCH changed the document")
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got, want := canonicalJSON(t, doc), canonicalJSON(t, decodeDoc(t, tt.want)); got != want {
				t.Fatalf("document:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestApplyPatchGroupMembers(t *testing.T) {
	res := scimschema.GroupResource()
	start := `{"displayName":"G","members":[{"value":"u1","type":"User"},{"value":"u2","type":"User"}]}`
	tests := []struct {
		name, ops string
		want      []string // member values after
		err       string   // scimType when an error is expected
	}{
		{"okta remove by filter", `[{"op":"remove","path":"members[value eq \"u1\"]"}]`, []string{"u2"}, ""},
		{"remove absent member is a no-op", `[{"op":"remove","path":"members[value eq \"u9\"]"}]`, []string{"u1", "u2"}, ""},
		{"okta add", `[{"op":"add","path":"members","value":[{"value":"u3","display":"c"}]}]`, []string{"u1", "u2", "u3"}, ""},
		{"add existing member changes nothing", `[{"op":"add","path":"members","value":[{"value":"u1"}]}]`, []string{"u1", "u2"}, ""},
		{"okta replace", `[{"op":"replace","path":"members","value":[{"value":"u3"}]}]`, []string{"u3"}, ""},
		{"entra remove by value list", `[{"op":"Remove","path":"members","value":[{"value":"u2"}]}]`, []string{"u1"}, ""},
		{"remove all", `[{"op":"remove","path":"members"}]`, nil, ""},
		{"no-path rename leaves members alone", `[{"op":"replace","value":{"displayName":"H"}}]`, []string{"u1", "u2"}, ""},
		{"okta rename with explicit empty members empties", `[{"op":"replace","value":{"id":"` + testID + `","displayName":"G","members":[]}}]`, nil, ""},
		{"several ops in order", `[{"op":"add","path":"members","value":[{"value":"u3"}]},{"op":"remove","path":"members[value eq \"u1\"]"}]`, []string{"u2", "u3"}, ""},
		{"member without value", `[{"op":"add","path":"members","value":[{"display":"x"}]}]`, nil, "invalidValue"},
		{"member value is immutable", `[{"op":"replace","path":"members[value eq \"u1\"].value","value":"u5"}]`, nil, "mutability"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := parsePatch(decodeDoc(t, `{"schemas":["`+PatchOpURN+`"],"Operations":`+tt.ops+`}`), 10)
			if err != nil {
				t.Fatal(err)
			}
			doc := decodeDoc(t, start)
			err = applyPatch(res, doc, testID, ops)
			var f groupFields
			if err == nil {
				if doc, err = normalize(res, doc); err == nil {
					f, err = splitGroup(doc)
				}
			}
			if tt.err != "" {
				var se *Error
				if !errors.As(err, &se) || se.ScimType != tt.err {
					t.Fatalf("error = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range f.members {
				got = append(got, m.Value)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("members = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParsePatchRequest(t *testing.T) {
	tests := []struct{ name, body, scimType string }{
		{"schemas not a list", `{"schemas":"` + PatchOpURN + `","Operations":[{"op":"add","path":"title","value":"x"}]}`, "invalidSyntax"},
		{"wrong schemas", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"Operations":[{"op":"add","path":"title","value":"x"}]}`, "invalidSyntax"},
		{"missing Operations", `{"schemas":["` + PatchOpURN + `"]}`, "invalidSyntax"},
		{"Operations not a list", `{"schemas":["` + PatchOpURN + `"],"Operations":{}}`, "invalidSyntax"},
		{"too many operations", `{"schemas":["` + PatchOpURN + `"],"Operations":[{"op":"add","path":"a","value":1},{"op":"add","path":"a","value":1},{"op":"add","path":"a","value":1}]}`, "tooMany"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parsePatch(decodeDoc(t, tt.body), 2)
			var se *Error
			if !errors.As(err, &se) || se.Status != 400 || se.ScimType != tt.scimType {
				t.Fatalf("error = %v, want 400 %s", err, tt.scimType)
			}
		})
	}
	// Without schemas, as Microsoft's SCIM validator sends it, the request is accepted.
	if ops, err := parsePatch(decodeDoc(t, `{"Operations":[{"op":"Replace","path":"title","value":"x"}]}`), 2); err != nil || len(ops) != 1 {
		t.Fatalf("PATCH without schemas: ops = %+v, err = %v", ops, err)
	}
	// Lower-case keys are accepted.
	ops, err := parsePatch(decodeDoc(t, `{"schemas":["`+PatchOpURN+`"],"operations":[{"OP":"Add","Path":"title","Value":"x"}]}`), 2)
	if err != nil || len(ops) != 1 || ops[0].Op != "add" || ops[0].Path != "title" || ops[0].Value != "x" {
		t.Fatalf("ops = %+v, err = %v", ops, err)
	}
}
