package scim

import (
	"errors"
	"testing"

	"github.com/oktasync/oktasync/scimschema"
)

// FuzzPatch feeds arbitrary PATCH request bodies through parsing, application and
// validation, for a user and for a group. It must never panic, every rejection must be
// a SCIM 400, and an accepted result must be a stable canonical document.
func FuzzPatch(f *testing.F) {
	seeds := []string{
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"id":"` + testID + `","displayName":"x"}}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"u1\"]"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"u3","display":"c"}]}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"members","value":[{"value":"u2"}]}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[type eq \"work\"].value","value":"a@b"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"phoneNumbers[type eq \"mobile\" and primary eq true].value","value":"1"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"x","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"m"}}}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:oktasync:2.0:User:level","value":3}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"name","value":{"givenName":null}},{"op":"remove","path":"emails[not (type eq \"work\")]"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"emails","value":{"value":"x","primary":"true"}}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[value co \"@\"]","value":{"type":"home"}}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"userName"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]}`,
		`{"Operations":null}`,
		`[]`,
		`{`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	user := testUserResource()
	group := scimschema.GroupResource()
	const userDoc = `{"userName":"bjensen","active":true,"displayName":"Babs",
		"name":{"givenName":"Barbara","familyName":"Jensen"},
		"emails":[{"value":"b@work.example","type":"work","primary":true},{"value":"b@home.example","type":"home"}],
		"phoneNumbers":[{"value":"1","type":"mobile"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Eng","manager":{"value":"m1"}},
		"urn:ietf:params:scim:schemas:extension:oktasync:2.0:User":{"level":1,"tags":["a"]}}`
	const groupDoc = `{"displayName":"G","members":[{"value":"u1","type":"User"},{"value":"u2","type":"User"}]}`

	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(err error) {
			if err == nil {
				return
			}
			var se *Error
			if !errors.As(err, &se) || se.Status != 400 || se.Detail == "" {
				t.Fatalf("rejection is not a SCIM 400: %#v", err)
			}
		}
		req, err := decodeObject(body)
		if err != nil {
			check(err)
			return
		}
		ops, err := parsePatch(req, 100)
		if err != nil {
			check(err)
			return
		}
		for _, c := range []struct {
			res   *scimschema.Resource
			start string
			split func(map[string]any) error
		}{
			{user, userDoc, func(d map[string]any) error { _, err := splitUser(d); return err }},
			{group, groupDoc, func(d map[string]any) error { _, err := splitGroup(d); return err }},
		} {
			doc := decodeDoc(t, c.start)
			if err := applyPatch(c.res, doc, testID, ops); err != nil {
				check(err)
				continue
			}
			n, err := normalize(c.res, doc)
			if err != nil {
				check(err)
				continue
			}
			if err := c.split(n); err != nil {
				check(err)
				continue
			}
			again, err := normalize(c.res, deepCopy(n).(map[string]any))
			if err != nil {
				t.Fatalf("canonical document does not normalize again: %v", err)
			}
			if canonicalJSON(t, again) != canonicalJSON(t, n) {
				t.Fatalf("normalize is not stable:\n%s\n%s", canonicalJSON(t, n), canonicalJSON(t, again))
			}
		}
	})
}
