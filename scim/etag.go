package scim

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/oktasync/oktasync/errkind"
)

// etag renders a resource version as the weak ETag that is also meta.version
// (RFC 7644 §3.14).
func etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// etagMatches reports whether a If-Match or If-None-Match header value lists the
// version. "*" matches any; the weak indicator is ignored (weak comparison), since
// every ETag this server issues is weak.
func etagMatches(header string, version int64) bool {
	want := `"` + strconv.FormatInt(version, 10) + `"`
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		t = strings.TrimPrefix(t, "W/")
		if t == want {
			return true
		}
	}
	return false
}

// preconditionFailed is what an Update fn returns when If-Match does not hold; the store
// passes it through unchanged and it renders as 412.
func preconditionFailed(version int64) error {
	return errkind.Errorf("scim", errkind.PreconditionFailed, "If-Match does not match the current version %s", etag(version))
}

// checkIfMatch enforces If-Match against the current version.
func checkIfMatch(r *http.Request, version int64) error {
	h := r.Header.Get("If-Match")
	if h == "" || etagMatches(h, version) {
		return nil
	}
	return preconditionFailed(version)
}

// notModified reports whether a GET's If-None-Match lists the current version (304).
func notModified(r *http.Request, version int64) bool {
	h := r.Header.Get("If-None-Match")
	return h != "" && etagMatches(h, version)
}

// timeFormat is how meta.created and meta.lastModified render: RFC 3339 in UTC with
// milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

func meta(resourceType, location string, created, updated time.Time, version int64) map[string]any {
	return map[string]any{
		"resourceType": resourceType,
		"created":      created.UTC().Format(timeFormat),
		"lastModified": updated.UTC().Format(timeFormat),
		"location":     location,
		"version":      etag(version),
	}
}
