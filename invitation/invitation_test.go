package invitation

import (
	"strings"
	"testing"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/scimschema"
)

var custom = []scimschema.CustomAttr{{Name: "costCode", Type: scimschema.String}, {Name: "regions", Type: scimschema.String, MultiValued: true}}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		text    string
		problem string // "" when the template is accepted
	}{
		{"Welcome, ${givenName} ${familyName}", ""},
		{"${userName} / ${email} / ${displayName}", ""},
		{"Your cost code is ${costCode}", ""},
		{"${ COSTCODE } is matched in any case", ""},
		{"No variables at all", ""},
		{"Hello ${firstName}", "unknown variable ${firstName}"},
		{"Hello ${givenName", "never closed"},
		{"${}", "unknown variable ${}"},
	} {
		err := Check("invitation text", c.text, custom)
		switch {
		case c.problem == "" && err != nil:
			t.Errorf("%q refused: %v", c.text, err)
		case c.problem != "" && (err == nil || !strings.Contains(err.Error(), c.problem)):
			t.Errorf("%q: error %v, want one saying %q", c.text, err, c.problem)
		}
	}
}

func TestCompose(t *testing.T) {
	u := appstore.User{UserName: "ann@example.com", Attrs: map[string]any{
		"name":               map[string]any{"givenName": "Ann", "familyName": "Lee"},
		"emails":             []any{map[string]any{"value": "ann.lee@example.com", "primary": true}},
		scimschema.CustomURN: map[string]any{"costCode": "CC-7", "regions": []any{"EU", "US"}},
	}}
	tn := appstore.Tenant{ID: "acme", Name: "Acme"}
	subject, text := Compose(tn, u)
	if subject != "Welcome to Acme" || !strings.Contains(text, "Your username is ann@example.com") {
		t.Errorf("standard mail: %q / %q", subject, text)
	}
	tn.Settings.InviteSubject = "Hi ${givenName}, welcome\nto Acme"
	tn.Settings.InviteText = "Dear ${givenName} ${familyName} (${email}), cost code ${costCode}, regions ${regions}, title ${title}."
	subject, text = Compose(tn, u)
	if subject != "Hi Ann, welcome to Acme" {
		t.Errorf("subject %q", subject)
	}
	if want := "Dear Ann Lee (ann.lee@example.com), cost code CC-7, regions EU, US, title ."; text != want {
		t.Errorf("text %q, want %q", text, want)
	}
}
