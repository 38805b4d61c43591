package appstore

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/oktasync/oktasync/errkind"
)

// MaxIndexedBytes bounds every string the store keeps in an index (userName, externalId,
// a group's displayName, a Basic username, an Okta user id). PostgreSQL refuses an index
// row of more than about 2,700 bytes and SQLite has no such limit; one bound, checked
// before any SQL runs, makes both backends answer a long value alike.
const MaxIndexedBytes = 512

// validText reports whether s is text both backends store and look up alike: valid UTF-8
// without NUL. PostgreSQL's text and jsonb refuse NUL and invalid UTF-8 where SQLite keeps
// them, so a value outside this rule never reaches the database: a write holding one is
// Invalid, a look-up by one finds nothing, a credential holding one is Unauthorized.
func validText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// lookupable reports whether every key can name a stored row; a key that cannot is
// answered as not found without asking the database.
func lookupable(keys ...string) bool {
	for _, k := range keys {
		if !validText(k) {
			return false
		}
	}
	return true
}

// checkText refuses a value that breaks validText, naming the attribute.
func checkText(op, attr, s string) error {
	if validText(s) {
		return nil
	}
	if !utf8.ValidString(s) {
		return errkind.InvalidField(op, attr, "%s is not valid UTF-8", attr)
	}
	return errkind.InvalidField(op, attr, "%s contains a NUL character (U+0000)", attr)
}

// checkIndexed is checkText plus the MaxIndexedBytes bound.
func checkIndexed(op, attr, s string) error {
	if err := checkText(op, attr, s); err != nil {
		return err
	}
	if len(s) > MaxIndexedBytes {
		return errkind.InvalidField(op, attr, "%s is %d bytes long; the limit is %d bytes", attr, len(s), MaxIndexedBytes)
	}
	return nil
}

// checkJSONText applies checkText to every string (keys included) inside a JSON-shaped
// value, naming the attribute path of the first offender.
func checkJSONText(op, attr string, v any) error {
	switch x := v.(type) {
	case string:
		return checkText(op, attr, x)
	case []any:
		for i, e := range x {
			if err := checkJSONText(op, fmt.Sprintf("%s[%d]", attr, i), e); err != nil {
				return err
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys) // the same offender named every time
		for _, k := range keys {
			name := k
			if attr != "" {
				name = attr + "." + k
			}
			if err := checkText(op, "an attribute name in "+orTop(attr), k); err != nil {
				return err
			}
			if err := checkJSONText(op, name, x[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

func orTop(attr string) string {
	if attr == "" {
		return "the resource"
	}
	return attr
}
