package scim

import (
	"net/http"
	"strings"
)

// prefersMinimal reports whether the request asks for `return=minimal` in its Prefer
// headers (RFC 7240 §4.2): the client wants the write's status and no representation.
// Preference names and the return values are matched case-insensitively; a quoted
// value is unquoted; when a preference is given more than once only the first counts
// (RFC 7240 §2).
func prefersMinimal(r *http.Request) bool {
	for _, h := range r.Header.Values("Prefer") {
		for _, pref := range splitOutside(h, ',') {
			// A preference is token [= word] followed by ";"-separated parameters.
			head, _, _ := strings.Cut(pref, ";")
			name, value, _ := strings.Cut(head, "=")
			if !strings.EqualFold(strings.TrimSpace(name), "return") {
				continue
			}
			value = strings.TrimSpace(value)
			if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			return strings.EqualFold(value, "minimal")
		}
	}
	return false
}

// writeMinimal answers a write whose client asked for return=minimal: 204 with the new
// version's ETag and no body.
func writeMinimal(w http.ResponseWriter, version int64) {
	h := w.Header()
	h.Set("ETag", etag(version))
	h.Set("Preference-Applied", "return=minimal")
	w.WriteHeader(http.StatusNoContent)
}
