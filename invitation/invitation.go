// Package invitation is the welcome mail a tenant sends to the people its identity
// provider provisions: a subject and a text in which ${attributeName} variables stand
// for the user's values. Templates are checked when a tenant saves them, so that a
// misspelt name is refused with that name rather than mailed as is, and filled for each
// user when the mail is queued.
package invitation

import (
	"fmt"
	"strings"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/scimschema"
)

// Standard are the variables every tenant's templates may use.
var Standard = []string{"userName", "givenName", "familyName", "displayName", "email"}

// Variables returns the names a tenant's templates may use: Standard, then the tenant's
// custom attributes.
func Variables(custom []scimschema.CustomAttr) []string {
	out := append([]string{}, Standard...)
	for _, a := range custom {
		out = append(out, a.Name)
	}
	return out
}

// names returns the variables of a template in order, or an error for a "${" that is
// never closed.
func names(text string) ([]string, error) {
	var out []string
	for rest := text; ; {
		i := strings.Index(rest, "${")
		if i < 0 {
			return out, nil
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return out, fmt.Errorf("a variable opened with ${ is never closed with }")
		}
		out = append(out, strings.TrimSpace(rest[i+2:i+j]))
		rest = rest[i+j+1:]
	}
}

// Check reports whether every variable of text is one the tenant has; what names the
// template in the message ("invitation subject", "invitation text").
func Check(what, text string, custom []scimschema.CustomAttr) error {
	const op = "invitation.Check"
	used, err := names(text)
	if err != nil {
		return errkind.Errorf(op, errkind.Invalid, "%s: %v", what, err)
	}
	known := Variables(custom)
	for _, n := range used {
		ok := false
		for _, k := range known {
			ok = ok || strings.EqualFold(n, k)
		}
		if !ok {
			return errkind.Errorf(op, errkind.Invalid, "%s: unknown variable ${%s}; use one of ${%s}", what, n, strings.Join(known, "}, ${"))
		}
	}
	return nil
}

// value is a user's value for a variable; "" when the user has none.
func value(u appstore.User, name string) string {
	switch strings.ToLower(name) {
	case "username":
		return u.UserName
	case "email":
		return u.PrimaryEmail()
	case "displayname":
		return u.DisplayName()
	case "givenname", "familyname":
		n, _ := u.Attrs["name"].(map[string]any)
		for k, v := range n {
			if strings.EqualFold(k, name) {
				s, _ := v.(string)
				return s
			}
		}
		return ""
	}
	for urn, ext := range u.Attrs {
		if !strings.EqualFold(urn, scimschema.CustomURN) {
			continue
		}
		m, _ := ext.(map[string]any)
		for k, v := range m {
			if strings.EqualFold(k, name) && v != nil {
				if list, ok := v.([]any); ok {
					parts := make([]string, len(list))
					for i, x := range list {
						parts[i] = fmt.Sprint(x)
					}
					return strings.Join(parts, ", ")
				}
				return fmt.Sprint(v)
			}
		}
	}
	return ""
}

// Fill replaces each ${name} of text with the user's value (a name the user has no
// value for becomes empty).
func Fill(text string, u appstore.User) string {
	var b strings.Builder
	for rest := text; ; {
		i := strings.Index(rest, "${")
		j := -1
		if i >= 0 {
			j = strings.IndexByte(rest[i:], '}')
		}
		if i < 0 || j < 0 {
			b.WriteString(rest)
			return b.String()
		}
		b.WriteString(rest[:i])
		b.WriteString(value(u, strings.TrimSpace(rest[i+2:i+j])))
		rest = rest[i+j+1:]
	}
}

// Compose returns the subject and text of the welcome mail a tenant sends a user: the
// tenant's templates filled for the user, or the standard mail where a template is empty.
func Compose(t appstore.Tenant, u appstore.User) (subject, text string) {
	tenantName := t.Name
	if tenantName == "" {
		tenantName = t.ID
	}
	subject = "Welcome to " + tenantName
	if s := strings.TrimSpace(t.Settings.InviteSubject); s != "" {
		subject = strings.Join(strings.Fields(Fill(s, u)), " ")
	}
	name := u.DisplayName()
	if name == "" {
		name = u.UserName
	}
	text = "Hello " + name + ",\n\n" +
		"An account at " + tenantName + " has been set up for you.\n" +
		"Your username is " + u.UserName + ".\n"
	if strings.TrimSpace(t.Settings.InviteText) != "" {
		text = Fill(t.Settings.InviteText, u)
	}
	return subject, text
}
