package scim

import (
	"errors"
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
		return t, c, unauthorized(AuthFailureMissing, "missing Authorization header")
	case strings.EqualFold(scheme, "Bearer") && rest != "":
		t, c, err = s.store.AuthenticateToken(r.Context(), rest)
	case strings.EqualFold(scheme, "Basic") && rest != "":
		user, pass, ok := r.BasicAuth()
		if !ok {
			return t, c, unauthorized(AuthFailureMalformed, "malformed Basic credentials")
		}
		t, c, err = s.store.AuthenticateBasic(r.Context(), user, pass)
	default:
		return t, c, unauthorized(AuthFailureScheme, "unsupported Authorization scheme: use Bearer or Basic")
	}
	if err != nil {
		if errkind.Of(err) == errkind.Unauthorized {
			reason := AuthFailureInvalid
			switch {
			case errors.Is(err, appstore.ErrCredentialInactive):
				reason = AuthFailureInactive
			case errors.Is(err, appstore.ErrTenantDisabled):
				reason = AuthFailureTenantDisabled
			}
			return t, c, unauthorized(reason, "invalid or inactive credentials")
		}
		return t, c, err
	}
	if !t.ProvisioningEnabled {
		// The store refuses disabled tenants already; this keeps the rule here too.
		return t, c, unauthorized(AuthFailureTenantDisabled, "invalid or inactive credentials")
	}
	return t, c, nil
}

// Reasons of refused authentications, as Options.OnAuthFailure reports them.
const (
	AuthFailureMissing        = "missing"            // no Authorization header
	AuthFailureScheme         = "unsupported_scheme" // neither Bearer nor Basic
	AuthFailureMalformed      = "malformed"          // Basic credentials that do not decode
	AuthFailureInvalid        = "invalid_credentials"
	AuthFailureInactive       = "inactive_credential"
	AuthFailureTenantDisabled = "tenant_disabled"
)

// authError is a 401 with the reason it is reported under.
type authError struct {
	se     *Error
	reason string
}

func (e *authError) Error() string { return e.se.Error() }
func (e *authError) Unwrap() error { return e.se }

func unauthorized(reason, detail string) error {
	return &authError{se: errorf(http.StatusUnauthorized, "", "%s", detail), reason: reason}
}
