package scim

import (
	"net/http"
	"strings"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/errkind"
)

// authenticate resolves the request's credential to its tenant. Okta sends
// "Authorization: Bearer <token>"; Basic credentials are accepted for clients configured
// that way. Every failure (missing header, unknown scheme, wrong, inactive or unknown
// credential, disabled tenant) is the same 401, so that a caller learns nothing about
// which part was wrong. Secrets are never logged.
func (s *server) authenticate(r *http.Request) (appstore.Tenant, appstore.Credential, error) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, rest, _ := strings.Cut(h, " ")
	rest = strings.TrimSpace(rest)
	var (
		t   appstore.Tenant
		c   appstore.Credential
		err error
	)
	switch {
	case h == "":
		return t, c, unauthorized("missing Authorization header")
	case strings.EqualFold(scheme, "Bearer") && rest != "":
		t, c, err = s.store.AuthenticateToken(r.Context(), rest)
	case strings.EqualFold(scheme, "Basic") && rest != "":
		user, pass, ok := r.BasicAuth()
		if !ok {
			return t, c, unauthorized("malformed Basic credentials")
		}
		t, c, err = s.store.AuthenticateBasic(r.Context(), user, pass)
	default:
		return t, c, unauthorized("unsupported Authorization scheme: use Bearer or Basic")
	}
	if err != nil {
		if errkind.Of(err) == errkind.Unauthorized {
			return t, c, unauthorized("invalid or inactive credentials")
		}
		return t, c, err
	}
	if !t.ProvisioningEnabled {
		// The store refuses disabled tenants already; this keeps the rule here too.
		return t, c, unauthorized("invalid or inactive credentials")
	}
	return t, c, nil
}

func unauthorized(detail string) *Error {
	return errorf(http.StatusUnauthorized, "", "%s", detail)
}
